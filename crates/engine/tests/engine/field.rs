//! What real networks send besides text (issue #17): a flash message, binary data to an application port, a WAP
//! push, a voicemail indication and a PDU cut short, delivered by the simulator over a real pseudo-terminal and
//! read back as a client sees them: `/ws` events, `GET /api/messages/{id}` and `GET /api/modems`.

use std::time::Duration;

use serde_json::Value;
use simrelay_engine::Config;
use simrelay_modem::{SimOptions, Simulator};
use simrelay_protocol::{Message, ModemList, WaitingKind};
use simrelay_testkit::pdu::{
    binary_to_port, deliver, flash, mms_notification, truncated, voicemail_indication, SENDER,
};
use simrelay_testkit::ws::WsClient;

use crate::common::{self, eventually, get_json};

/// The voicemail system's number, as networks send indications from it.
const VOICEMAIL: &str = "+491710000000";

/// Delivers `pdu` to the simulated modem and returns the message the engine published for it on `/ws`.
async fn through(sim: &Simulator, ws: &mut WsClient, pdu: Vec<u8>) -> Message {
    sim.deliver(pdu);
    ws.next_sms(Duration::from_secs(60))
        .await
        .expect("the message reaches /ws")
}

async fn detail(engine: &simrelay_engine::Engine, id: i64) -> Value {
    get_json(engine, &format!("/api/messages/{id}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flash_binary_push_voicemail_and_cut_pdus_reach_clients_as_what_they_are() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = Simulator::start(SimOptions::default())
        .await
        .expect("simulator");
    let engine = common::start(Config {
        modems: vec![sim.path().to_string_lossy().into_owned()],
        ..common::config(&dir.path().join("field.db"))
    })
    .await;
    let mut ws = common::ws(&engine).await;

    // Flash: marked, and its code found like any text's.
    let m = through(&sim, &mut ws, flash(SENDER, "Your code is 4711")).await;
    assert!(m.flash && !m.truncated, "{m:?}");
    assert_eq!(m.code.as_deref(), Some("4711"));
    assert_eq!(detail(&engine, m.id).await["flash"], true);

    // Binary data to a port: no text, no code, a description, and its bytes in hex in the detail.
    let data: Vec<u8> = (0u8..97).map(|b| b.wrapping_mul(37) | 0x80).collect();
    let m = through(&sim, &mut ws, binary_to_port(SENDER, 5499, &data)).await;
    assert_eq!((m.text.as_str(), m.code.as_deref()), ("", None));
    assert_eq!(
        m.description(),
        Some("binary message to port 5499, 97 bytes")
    );
    let d = detail(&engine, m.id).await;
    assert_eq!(d["content"]["kind"], "binary");
    assert_eq!(d["content"]["port"], 5499);
    assert_eq!(d["content"]["source_port"], 9200);
    assert_eq!(d["content"]["length"], 97);
    assert_eq!(d["data"], hex::encode_upper(&data));
    assert_eq!(d["pdus"].as_array().map(Vec::len), Some(1));

    // A WAP push (an MMS notification): named by its content type.
    let m = through(&sim, &mut ws, mms_notification(SENDER, 60)).await;
    let d = detail(&engine, m.id).await;
    assert_eq!(d["content"]["kind"], "wap_push");
    assert_eq!(d["content"]["port"], 2948);
    assert_eq!(
        d["content"]["content_type"],
        "application/vnd.wap.mms-message"
    );
    assert_eq!(
        m.description(),
        Some("WAP push (application/vnd.wap.mms-message), 64 bytes")
    );

    // A PDU shorter than its header says: what is there, flagged.
    let cut = truncated(
        deliver(SENDER, "Your verification code is 482913, valid 5 min"),
        4,
    );
    let m = through(&sim, &mut ws, cut).await;
    assert!(m.truncated, "{m:?}");
    assert!(m.text.starts_with("Your verification code is 482913"));
    assert_eq!(m.code.as_deref(), Some("482913"));
    assert_eq!(detail(&engine, m.id).await["truncated"], true);

    // Voicemail: kept as a message with its indication, and the modem's status says what waits.
    let m = through(&sim, &mut ws, voicemail_indication(VOICEMAIL, 2)).await;
    assert!(m.is_pure_indication(), "{m:?}");
    assert_eq!(m.indication_summaries(), vec!["Voicemail: 2 waiting"]);
    let waiting = || async {
        let list: ModemList = get_json(&engine, "/api/modems").await;
        list.modems
            .into_iter()
            .flat_map(|modem| modem.waiting)
            .map(|w| (w.kind, w.count))
            .collect::<Vec<_>>()
    };
    eventually("the modem's status shows 2 voicemails", || async {
        waiting().await == vec![(WaitingKind::Voicemail, Some(2))]
    })
    .await;
    // Cleared by the network: the status no longer shows it.
    through(&sim, &mut ws, voicemail_indication(VOICEMAIL, 0)).await;
    eventually("the voicemail indication is cleared", || async {
        waiting().await.is_empty()
    })
    .await;

    // Everything is one message each in history; nothing became text it is not.
    let page: Value = get_json(&engine, "/api/messages?limit=50").await;
    let messages = page["messages"].as_array().cloned().unwrap_or_default();
    assert_eq!(messages.len(), 6, "{page}");
    assert!(messages
        .iter()
        .all(|m| !m["text"].as_str().unwrap_or_default().contains("8-bit")));
    engine.shutdown().await;
}
