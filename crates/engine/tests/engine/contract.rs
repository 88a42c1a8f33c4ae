//! The wire contract, engine side: every body the UI sends is accepted, and every body the engine answers (and
//! every `/ws` frame) round-trips through the `simrelay-protocol` type the UI reads it with, without losing or
//! inventing a field. `tests/data/contract/bodies.json` holds one example of each; the UI's own test
//! (`src/contract_tests.rs`) checks that its code builds exactly those requests and reads those answers. Here the
//! real answers must have no field the examples lack, so a field added on one side shows up on the other.
//!
//! `SIMRELAY_BLESS=1` updates the examples from this run, keeping fields it did not see (then review the diff).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use simrelay_engine::{Config, Engine};
use simrelay_modem::{SimOptions, Simulator};
use simrelay_protocol::{
    AddModem, ApiError, CallPage, Claimed, CodeChoice, CodeCorrection, DeviceList, Health, Message,
    MessageDetail, MessagePage, ModemList, ModemState, ModemStatus, NewDevice, PairClaim, Pairing,
    PairingCode, PairingRequest, PinRejected, PinRequest, PortList, PortReport, ProbeRequest,
    RemovedModem, SendAccepted, SendRequest, SendStatus, SentMessage, ServerFrame, Settings,
    SettingsPatch, UssdReply, UssdRequest,
};
use simrelay_protocol::{ConversationPage, MarkRead, ReadState, ThreadPage};
use simrelay_testkit::pdu::{deliver, SENDER};
use simrelay_testkit::ws::WsClient;

use crate::common::{self, eventually, url};

/// The examples, relative to this file.
const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/data/contract/bodies.json"
);

/// Every request body the UI sends, by name, as the examples hold them.
fn requests(examples: &Value) -> BTreeMap<String, Value> {
    examples["requests"]
        .as_object()
        .map(|m| m.clone().into_iter().collect())
        .unwrap_or_default()
}

/// `value` as `T` and back: it must come out the same, so `T` neither drops nor adds anything.
fn round_trips<T: DeserializeOwned + Serialize>(name: &str, value: &Value) {
    let typed: T = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("{name} does not read as its protocol type: {e}\n{value}"));
    let again = serde_json::to_value(&typed).expect("serialises");
    assert_eq!(&again, value, "{name} changed in a round trip");
}

/// Every object key in `real` is in `example` too (recursively; arrays by their first element).
fn keys_known(path: &str, real: &Value, example: &Value) {
    match (real, example) {
        (Value::Object(real), Value::Object(example)) => {
            for (key, value) in real {
                let Some(known) = example.get(key) else {
                    panic!("{path}.{key} is not in {EXAMPLES}: add it there (SIMRELAY_BLESS=1)")
                };
                keys_known(&format!("{path}.{key}"), value, known);
            }
        }
        (Value::Array(real), Value::Array(example)) => {
            if let (Some(real), Some(example)) = (real.first(), example.first()) {
                keys_known(&format!("{path}[0]"), real, example);
            }
        }
        _ => {}
    }
}

/// `value` with long strings (QR code SVGs) cut short, so the examples stay readable: only their shape counts.
fn shortened(value: Value) -> Value {
    match value {
        Value::String(text) if text.chars().count() > 100 => {
            Value::String(text.chars().take(60).collect::<String>() + "…")
        }
        Value::Array(items) => Value::Array(items.into_iter().map(shortened).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| (key, shortened(value)))
                .collect(),
        ),
        other => other,
    }
}

/// `real`, keeping the fields `example` has that it lacks (an optional field absent this run stays in the
/// examples).
fn merged(example: Value, real: Value) -> Value {
    match (example, real) {
        (Value::Object(mut example), Value::Object(real)) => {
            for (key, value) in real {
                let old = example.remove(&key).unwrap_or(Value::Null);
                example.insert(key, merged(old, value));
            }
            Value::Object(example)
        }
        (Value::Array(example), Value::Array(mut real)) => {
            if let (Some(old), Some(first)) = (example.into_iter().next(), real.first_mut()) {
                *first = merged(old, first.take());
            }
            Value::Array(real)
        }
        (_, real) => real,
    }
}

/// What a run saw: answers and frames by name.
#[derive(Default)]
struct Seen {
    responses: Map<String, Value>,
    frames: Map<String, Value>,
}

impl Seen {
    fn response<T: DeserializeOwned + Serialize>(&mut self, name: &str, body: Value) -> T {
        round_trips::<T>(name, &body);
        self.responses.insert(name.to_owned(), body.clone());
        serde_json::from_value(body).expect("read above")
    }

    /// Reads frames until one of type `kind`, keeping the first of each type.
    async fn frame(&mut self, ws: &mut WsClient, kind: &str) -> ServerFrame {
        loop {
            let text = ws
                .next_text(Duration::from_secs(20))
                .await
                .expect("a frame in time")
                .expect("the socket stays open");
            let value: Value = serde_json::from_str(&text).expect("JSON");
            let this = value["type"].as_str().unwrap_or_default().to_owned();
            round_trips::<ServerFrame>(&format!("the {this} frame"), &value);
            self.frames.entry(this.clone()).or_insert(value.clone());
            if this == kind {
                return serde_json::from_value(value).expect("read above");
            }
        }
    }
}

async fn send(request: reqwest::RequestBuilder, body: &Value) -> (u16, Value) {
    let response = request.json(body).send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn get(engine: &Engine, path: &str) -> Value {
    common::get_json(engine, path).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_body_round_trips_through_the_protocol_types() {
    let examples: Value = std::fs::read_to_string(EXAMPLES)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_else(|| serde_json::json!({"requests": {}, "responses": {}, "frames": {}}));
    let requests = requests(&examples);
    let request = |name: &str| -> Value {
        requests
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("no request {name:?} in {EXAMPLES}"))
    };
    // Every request body reads as its protocol type and back unchanged.
    round_trips::<SendRequest>("the send request", &request("send"));
    round_trips::<AddModem>("the add-demo request", &request("add_demo"));
    round_trips::<AddModem>("the add-port request", &request("add_port"));
    round_trips::<ProbeRequest>("the probe request", &request("probe"));
    round_trips::<PairingRequest>("the device request", &request("pair_device"));
    round_trips::<PairingRequest>("the pairing request", &request("pair_phone"));
    round_trips::<PairClaim>("the claim", &request("claim"));
    round_trips::<SendRequest>("the reply request", &request("reply"));
    round_trips::<MarkRead>("the mark-read request", &request("mark_read"));
    round_trips::<CodeChoice>("the code choice", &request("choose_code"));
    round_trips::<PinRequest>("the PIN request", &request("enter_pin"));
    round_trips::<UssdRequest>("the USSD request", &request("ussd"));
    for section in ["notifications", "retention", "hooks", "lan_on", "lan_off"] {
        round_trips::<SettingsPatch>(&format!("the {section} patch"), &request(section));
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let sim = Simulator::start(SimOptions::default())
        .await
        .expect("simulator");
    let lan = simrelay_testkit::lan_ip()
        .expect("this machine needs a LAN address: pairing is checked over it");
    let engine = common::start(Config {
        modems: vec![sim.path().to_string_lossy().into_owned()],
        // The simulator's pseudo-terminal may be probed; this machine's LAN address may be shared.
        allowed_ports: vec!["/dev/pts/*".into(), "/dev/simrelay-contract-missing".into()],
        lan_addresses: vec![lan.into()],
        ..common::config(&dir.path().join("contract.db"))
    })
    .await;
    let http = common::client(&engine);
    let mut seen = Seen::default();
    let mut ws = common::ws_before_hello(&engine).await;
    seen.frame(&mut ws, "hello").await;
    seen.response::<Health>("health", get(&engine, "/api/health").await);

    // Two messages with codes, so a search has a next page and highlights.
    for text in [
        "Your code is 482913",
        "Code 7351 for your login. Your code expires soon.",
    ] {
        sim.deliver(deliver(SENDER, text));
        seen.frame(&mut ws, "sms").await;
    }
    let page: MessagePage = seen.response(
        "messages",
        get(&engine, "/api/messages?q=code&limit=1").await,
    );
    assert!(page.next.is_some() && !page.highlights.is_empty());
    let id = page.messages[0].id;
    seen.response::<MessageDetail>(
        "message",
        get(&engine, &format!("/api/messages/{id}")).await,
    );
    seen.response::<Message>("code", get(&engine, "/api/codes/latest").await);

    // A message with two codes: the user picks the other one, remembers it for the sender, and forgets it again.
    sim.deliver(deliver(
        SENDER,
        "Security code: 55102288\nVerification code: 482913",
    ));
    let two = match seen.frame(&mut ws, "sms").await {
        ServerFrame::Event(simrelay_protocol::ServerEvent::Sms { message }) => message,
        other => panic!("not an sms frame: {other:?}"),
    };
    assert_eq!(two.alternatives[0].code, "55102288");
    let (status, body) = send(
        http.put(url(&engine, &format!("/api/messages/{}/code", two.id))),
        &request("choose_code"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let chosen: Message = seen.response("chosen", body);
    assert_eq!(chosen.code.as_deref(), Some("55102288"));
    seen.frame(&mut ws, "code_changed").await;
    let corrections: Vec<CodeCorrection> =
        seen.response("corrections", get(&engine, "/api/corrections").await);
    assert_eq!(corrections[0].sender, SENDER);
    let forgotten = http
        .delete(url(
            &engine,
            &format!("/api/corrections/{}", SENDER.replace('+', "%2B")),
        ))
        .send()
        .await
        .expect("delete");
    assert_eq!(forgotten.status(), 204);
    let hub = engine.hub().clone();
    eventually("the modem to report its network", || {
        let known = hub.modems().iter().any(|m| m.operator.is_some());
        async move { known }
    })
    .await;
    // Two calls (the caller hangs up in between, so the second is a call of its own): the `call` frame, a page
    // of the calls with a cursor to the next; then the network's answer to a USSD code, as the Modems screen asks.
    let mut called = String::new();
    for caller in [SENDER, "+4915112345678"] {
        sim.call(Some(caller), 1, Duration::from_millis(100));
        match seen.frame(&mut ws, "call").await {
            ServerFrame::Notice(simrelay_protocol::ServerNotice::Call(call)) => {
                assert_eq!(call.from, caller);
                called = call.modem;
            }
            other => panic!("not a call frame: {other:?}"),
        }
        sim.inject(b"\r\nNO CARRIER\r\n");
    }
    let calls: CallPage = seen.response(
        "calls",
        get(&engine, &format!("/api/calls?modem={called}&limit=1")).await,
    );
    assert!(
        calls.calls.len() == 1 && calls.next_before.is_some(),
        "{calls:?}"
    );
    let (status, body) = send(
        http.post(url(&engine, &format!("/api/modems/{called}/ussd"))),
        &request("ussd"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let reply: UssdReply = seen.response("ussd", body);
    assert!(!reply.reply.is_empty());
    seen.response::<ModemList>("modems", get(&engine, "/api/modems").await);
    seen.response::<PortList>("ports", get(&engine, "/api/ports?probe=false").await);
    let (status, body) = send(
        http.post(url(&engine, "/api/ports/probe")),
        &request("probe"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    seen.response::<PortReport>("probe", body);

    // A SIM that waits for its PIN: a wrong one is answered with the tries left, the right one (as the Modems
    // screen sends it) with the unlocked modem's status.
    let locked = Simulator::start(SimOptions {
        pin: Some("4711".into()),
        imei: "490154203237518".into(),
        ..SimOptions::default()
    })
    .await
    .expect("simulator");
    let locked_port = locked.path().to_string_lossy().into_owned();
    let (status, body) = send(
        http.post(url(&engine, "/api/modems")),
        &serde_json::json!({ "port": locked_port }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let waiting = || {
        hub.modems()
            .into_iter()
            .find(|m| m.port == locked_port && m.state == ModemState::PinRequired)
    };
    eventually("the added modem to wait for its PIN", || {
        let found = waiting().is_some();
        async move { found }
    })
    .await;
    let locked_id = waiting().expect("waiting").id;
    let pin_path = format!("/api/modems/{locked_id}/pin");
    let (status, body) = send(
        http.post(url(&engine, &pin_path)),
        &serde_json::json!({ "pin": "0000" }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let rejected: PinRejected = seen.response("pin_rejected", body);
    assert_eq!(rejected.attempts_left, Some(2));
    let (status, body) = send(http.post(url(&engine, &pin_path)), &request("enter_pin")).await;
    assert_eq!(status, 200, "{body}");
    let unlocked: ModemStatus = seen.response("unlocked", body);
    assert_ne!(unlocked.state, ModemState::PinRequired);
    let removed = http
        .delete(url(&engine, &format!("/api/modems/{locked_id}")))
        .send()
        .await
        .expect("delete");
    assert_eq!(removed.status(), 200);
    locked.shutdown().await;

    // The demo modem comes and goes; a port that is not there is refused by name, not as a bad body.
    let (status, body) = send(http.post(url(&engine, "/api/modems")), &request("add_demo")).await;
    assert_eq!(status, 201, "{body}");
    let demo: ModemStatus = seen.response("added", body);
    seen.frame(&mut ws, "modem").await;
    let (status, body) = send(http.post(url(&engine, "/api/modems")), &request("add_port")).await;
    assert_eq!(status, 404, "{body}");
    let error: ApiError = seen.response("error", body);
    assert_eq!(error.error, "port_not_found");
    let removed = http
        .delete(url(&engine, &format!("/api/modems/{}", demo.id)))
        .send()
        .await
        .expect("delete");
    assert_eq!(removed.status(), 200);
    seen.response::<RemovedModem>("removed", removed.json().await.expect("json"));
    seen.frame(&mut ws, "modem_removed").await;

    // Sending, followed to `sent` on the API and in frames.
    let (status, body) = send(http.post(url(&engine, "/api/send")), &request("send")).await;
    assert_eq!(status, 202, "{body}");
    let accepted: SendAccepted = seen.response("accepted", body);
    loop {
        if let ServerFrame::Notice(simrelay_protocol::ServerNotice::Sent { sent }) =
            seen.frame(&mut ws, "sent").await
        {
            if sent.status == SendStatus::Sent {
                break;
            }
        }
    }
    seen.response::<SentMessage>(
        "sent",
        get(&engine, &format!("/api/sent/{}", accepted.id)).await,
    );

    // Conversations: the messages above came from the number the message was sent to, so its thread has both.
    let list: ConversationPage =
        seen.response("conversations", get(&engine, "/api/conversations").await);
    assert_eq!(list.conversations[0].peer, SENDER);
    let thread = format!("/api/conversations/%2B{}", &SENDER[1..]);
    let page: ThreadPage =
        seen.response("thread", get(&engine, &format!("{thread}?limit=2")).await);
    assert!(page.next.is_some() && page.entries.len() == 2);
    let (status, body) = send(
        http.post(url(&engine, &format!("{thread}/read"))),
        &request("mark_read"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    seen.response::<ReadState>("read", body);

    // Settings, each section as the Settings screen sends it.
    seen.response::<Settings>("settings", get(&engine, "/api/settings").await);
    for section in ["notifications", "retention", "hooks"] {
        let (status, body) =
            send(http.patch(url(&engine, "/api/settings")), &request(section)).await;
        assert_eq!(status, 200, "{section}: {body}");
        seen.response::<Settings>("settings", body);
        seen.frame(&mut ws, "settings").await;
    }

    // Devices, and pairing where this machine has a LAN address to share on.
    let (status, body) = send(
        http.post(url(&engine, "/api/devices")),
        &request("pair_device"),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    seen.response::<NewDevice>("new_device", body);
    seen.response::<DeviceList>("devices", get(&engine, "/api/devices").await);
    let (status, body) = send(
        http.patch(url(&engine, "/api/settings")),
        &request("lan_on"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    seen.response::<Pairing>("pairing", get(&engine, "/api/pair").await);
    // A phone paired by a one-time code: the code as the Settings screen asks for it, the exchange as the
    // phone's page makes it (on any listener; here this machine's).
    let (status, body) = send(http.post(url(&engine, "/api/pair")), &request("pair_phone")).await;
    assert_eq!(status, 201, "{body}");
    let code: PairingCode = seen.response("pairing_code", body);
    let claim = serde_json::to_value(PairClaim { code: code.code }).expect("json");
    let (status, body) = send(
        reqwest::Client::new().post(url(&engine, "/api/pair/claim")),
        &claim,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    seen.response::<Claimed>("claimed", body);
    let (status, body) = send(
        http.patch(url(&engine, "/api/settings")),
        &request("lan_off"),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // A frame the server takes no command from gets an error frame.
    ws.send_text("hello?").await.expect("send");
    seen.frame(&mut ws, "error").await;

    if std::env::var_os("SIMRELAY_BLESS").is_some() {
        let mut blessed = examples.clone();
        for (name, value) in seen.responses {
            let old = blessed["responses"][&name].take();
            blessed["responses"][name] = merged(old, shortened(value));
        }
        for (name, value) in seen.frames {
            let old = blessed["frames"][&name].take();
            blessed["frames"][name] = merged(old, shortened(value));
        }
        let text = serde_json::to_string_pretty(&blessed).expect("JSON") + "\n";
        std::fs::write(EXAMPLES, text).expect("write the examples");
    } else {
        for (kind, real) in [("responses", &seen.responses), ("frames", &seen.frames)] {
            for (name, value) in real {
                let example = &examples[kind][name];
                assert!(
                    !example.is_null(),
                    "no example of the {name} {kind}: add it"
                );
                keys_known(name, value, example);
            }
        }
    }
    // The examples themselves read as the protocol types (what the UI's test relies on).
    for (name, value) in examples["frames"].as_object().into_iter().flatten() {
        round_trips::<ServerFrame>(name, value);
    }
    engine.shutdown().await;
    sim.shutdown().await;
}
