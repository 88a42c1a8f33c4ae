//! The wire contract, UI side: `tests/data/contract/bodies.json` holds one example of every body the UI and the
//! engine exchange, and the engine's contract test checks its requests against a real engine and its answers and
//! frames against the real ones. Here: this UI's code builds exactly those requests, and reads every example answer
//! and frame with the types it uses, losing and adding nothing.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use simrelay_protocol::{
    ApiError, Claimed, CodeCorrection, DeviceList, Health, Message, MessageDetail, MessagePage,
    ModemList, ModemStatus, NewDevice, Pairing, PairingCode, PortList, PortReport, RemovedModem,
    SendAccepted, SentMessage, Settings,
};
use wasm_bindgen_test::wasm_bindgen_test;

use crate::api::body;
use crate::connection::Frame;
use crate::views::settings::form::{Draft, Section};

const EXAMPLES: &str = include_str!("../tests/data/contract/bodies.json");

fn examples() -> Value {
    serde_json::from_str(EXAMPLES).expect("the examples are JSON")
}

fn json(body: impl Serialize) -> Value {
    serde_json::to_value(body).expect("serialises")
}

/// The example `name` of `kind`, read as `T` and written back unchanged.
fn reads<T: DeserializeOwned + Serialize>(examples: &Value, name: &str) {
    let example = &examples["responses"][name];
    assert!(!example.is_null(), "no example {name}");
    let typed: T = serde_json::from_value(example.clone())
        .unwrap_or_else(|e| panic!("the UI cannot read {name}: {e}"));
    assert_eq!(&json(typed), example, "{name} changed when read");
}

#[wasm_bindgen_test]
fn the_ui_reads_every_answer_and_frame_the_engine_sends() {
    let e = examples();
    reads::<Health>(&e, "health");
    reads::<MessagePage>(&e, "messages");
    reads::<MessageDetail>(&e, "message");
    reads::<Message>(&e, "code");
    reads::<ModemList>(&e, "modems");
    reads::<ModemStatus>(&e, "added");
    reads::<RemovedModem>(&e, "removed");
    reads::<PortList>(&e, "ports");
    reads::<PortReport>(&e, "probe");
    reads::<SendAccepted>(&e, "accepted");
    reads::<SentMessage>(&e, "sent");
    reads::<Settings>(&e, "settings");
    reads::<NewDevice>(&e, "new_device");
    reads::<DeviceList>(&e, "devices");
    reads::<Pairing>(&e, "pairing");
    reads::<PairingCode>(&e, "pairing_code");
    reads::<Claimed>(&e, "claimed");
    reads::<ApiError>(&e, "error");
    reads::<simrelay_protocol::ConversationPage>(&e, "conversations");
    reads::<simrelay_protocol::ThreadPage>(&e, "thread");
    reads::<simrelay_protocol::ReadState>(&e, "read");
    reads::<Message>(&e, "chosen");
    reads::<Vec<CodeCorrection>>(&e, "corrections");
    reads::<ModemStatus>(&e, "unlocked");
    // A rejected PIN: the Modems screen shows its `detail`, which counts the tries left.
    reads::<simrelay_protocol::PinRejected>(&e, "pin_rejected");
    // History's Calls and the Modems screen's recent calls; the USSD field's answer.
    reads::<simrelay_protocol::CallPage>(&e, "calls");
    reads::<simrelay_protocol::UssdReply>(&e, "ussd");
    let frames = e["frames"].as_object().expect("frames");
    for kind in [
        "hello",
        "sms",
        "modem",
        "modem_removed",
        "modem_event",
        "sent",
        "settings",
        "error",
        "code_changed",
        "call",
    ] {
        let frame = frames
            .get(kind)
            .unwrap_or_else(|| panic!("no {kind} frame"));
        assert!(
            Frame::parse(&frame.to_string()).is_some(),
            "the UI skips the {kind} frame: {frame}"
        );
    }
}

#[wasm_bindgen_test]
fn the_ui_builds_exactly_the_requests_the_engine_accepts() {
    let e = examples();
    let request = |name: &str| e["requests"][name].clone();
    assert_eq!(
        json(body::send("+4915123456789", "Hello from SimRelay")),
        request("send")
    );
    assert_eq!(json(body::demo_modem()), request("add_demo"));
    assert_eq!(
        json(body::serial_modem(
            "/dev/simrelay-contract-missing",
            Some("Work SIM")
        )),
        request("add_port")
    );
    assert_eq!(
        json(body::probe("/dev/simrelay-contract-missing")),
        request("probe")
    );
    assert_eq!(
        json(body::pairing("Anna's phone", true)),
        request("pair_phone")
    );
    assert_eq!(
        json(body::claim("0123456789abcdef0123456789abcdef")),
        request("claim")
    );
    assert_eq!(
        json(body::code_choice(Some("55102288"), true)),
        request("choose_code")
    );
    assert_eq!(
        json(body::reply(
            "+15555550100",
            "Yes, at eight",
            Some("twilio-us")
        )),
        request("reply")
    );
    assert_eq!(json(body::mark_read()), request("mark_read"));
    assert_eq!(json(body::pin("4711")), request("enter_pin"));
    assert_eq!(json(body::ussd("*100#")), request("ussd"));
    assert_eq!(json(body::lan(true)), request("lan_on"));
    assert_eq!(json(body::lan(false)), request("lan_off"));

    // The Settings screen's sections, for a form showing these settings.
    let draft = Draft::from_settings(&crate::views::settings::form::tests::example());
    for (section, name) in [
        (Section::Notifications, "notifications"),
        (Section::Retention, "retention"),
        (Section::Hooks, "hooks"),
    ] {
        assert_eq!(
            json(draft.patch(section).expect("valid")),
            request(name),
            "{name}"
        );
    }
}
