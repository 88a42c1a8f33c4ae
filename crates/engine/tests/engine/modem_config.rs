//! Per-modem configuration on the real path: a SIM PIN from `modem_pins` unlocks the SIM, and a wrong one stops
//! that modem with an error that says what to fix, after exactly one try (more would lock the SIM into PUK).

use std::collections::BTreeMap;
use std::time::Duration;

use simrelay_engine::{Config, Engine};
use simrelay_modem::{SimOptions, Simulator};
use simrelay_protocol::ModemState;
use simrelay_testkit::pdu::{deliver_at, SENDER};

use crate::common::{self, next_sms};

/// A modem whose SIM wants `pin`.
async fn sim_with_pin(pin: &str) -> Simulator {
    Simulator::start(SimOptions {
        pin: Some(pin.into()),
        ..SimOptions::default()
    })
    .await
    .expect("simulator")
}

async fn engine_with_pin(sim: &Simulator, pin: &str, dir: &std::path::Path) -> Engine {
    let port = sim.path().to_string_lossy().into_owned();
    common::start(Config {
        modems: vec![port.clone()],
        modem_pins: BTreeMap::from([(port, pin.to_owned())]),
        ..common::config(&dir.join("pin.db"))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_pin_unlocks_the_sim_and_messages_arrive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim_with_pin("4711").await;
    let engine = engine_with_pin(&sim, "4711", dir.path()).await;
    let mut events = engine.subscribe();
    sim.deliver(deliver_at(
        SENDER,
        "Your code is 880341",
        "2026-11-22T09:58:00+01:00",
    ));
    let message = next_sms(&mut events).await;
    assert_eq!(message.code.as_deref(), Some("880341"));
    assert_eq!(sim.pin_attempts(), 1);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_pin_is_tried_once_and_the_modem_waits_for_the_right_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim_with_pin("4711").await;
    let engine = engine_with_pin(&sim, "0000", dir.path()).await;
    let mut failed = None;
    for _ in 0..200 {
        if let Some(status) = engine
            .hub()
            .modems()
            .into_iter()
            .find(|m| m.state == ModemState::PinRequired)
        {
            failed = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = failed.expect("the modem waits for its PIN");
    assert_eq!(status.pin_attempts_left, Some(2), "{status:?}");
    let error = status.last_error.unwrap_or_default();
    assert!(
        error.contains("modem_pins") && error.contains("rejected"),
        "{error}"
    );
    assert!(
        !error.contains("0000"),
        "the PIN must not be echoed: {error}"
    );
    // Well past any reconnect backoff: still one try.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sim.pin_attempts(), 1);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modem_that_appears_after_start_up_is_listed_once_under_its_imei_and_reachable_by_its_port(
) {
    let dir = tempfile::tempdir().expect("tempdir");
    // The configured path (as /dev/serial/by-id/... would be) does not exist yet: the modem is unplugged.
    let link = dir.path().join("late-modem");
    let port = link.to_string_lossy().into_owned();
    let engine = common::start(Config {
        modems: vec![port.clone()],
        ..common::config(&dir.path().join("late.db"))
    })
    .await;
    // The first start-up fails (no port), so the driver settles on the port path as the id for now.
    let mut waited = 0;
    while !engine.hub().modems().iter().any(|m| m.id == port) {
        waited += 1;
        assert!(
            waited < 300,
            "the absent modem was never listed under its port"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let sim = Simulator::start(SimOptions {
        link: Some(link.clone()),
        ..SimOptions::default()
    })
    .await
    .expect("simulator");
    let mut listed = Vec::new();
    for _ in 0..300 {
        listed = engine.hub().modems();
        if listed.iter().any(|m| m.state == ModemState::Connected) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ids: Vec<&str> = listed.iter().map(|m| m.id.as_str()).collect();
    assert!(
        matches!(ids.as_slice(), [id] if id.starts_with("imei:")),
        "one entry, under the IMEI: {ids:?}"
    );

    // A client that still names it by its port reaches it; the message is recorded under the IMEI.
    let response = common::client(&engine)
        .post(common::url(&engine, "/api/send"))
        .json(&serde_json::json!({"to": "+4915123456789", "text": "hi", "modem": port}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 202);
    let body: serde_json::Value = response.json().await.expect("json");
    let id = body["id"].as_i64().expect("id");
    for _ in 0..300 {
        if !sim.sent().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sim.sent().len(), 1, "the modem got the message");
    let sent = engine
        .store()
        .get_sent(id)
        .await
        .expect("store")
        .expect("recorded");
    assert_eq!(sent.modem, ids[0]);
    engine.shutdown().await;
    drop(sim);
}
