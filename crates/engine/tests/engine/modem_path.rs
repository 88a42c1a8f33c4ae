//! The whole receive path on a real pseudo-terminal: modem simulator → driver → decode → OTP → SQLite →
//! SIM delete → hub → WebSocket. Nothing in between is replaced.

use std::time::Duration;

use simrelay_engine::{Config, Engine, DEMO_MODEM_ID};
use simrelay_modem::{SimOptions, Simulator};
use simrelay_protocol::{ModemState, SendStatus, ServerEvent, ServerFrame, ServerNotice};
use simrelay_testkit::pdu::{deliver_at as pdu, status_report};

use crate::common::{self, eventually, next_sms, ws_before_hello};

async fn engine_on(sim: &Simulator, db: &std::path::Path) -> Engine {
    common::start(Config {
        // The stable link when there is one, as a user would name a USB modem by /dev/serial/by-id/...
        modems: vec![sim
            .link()
            .unwrap_or(sim.path())
            .to_string_lossy()
            .into_owned()],
        ..common::config(db)
    })
    .await
}

/// Waits until the engine's modem is connected, so that what a test sends goes out at once.
async fn until_connected(engine: &Engine) {
    let hub = engine.hub().clone();
    eventually("the modem to connect", || {
        let connected = hub
            .modems()
            .iter()
            .any(|m| m.state == ModemState::Connected);
        async move { connected }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_and_live_messages_are_committed_deleted_and_published() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("path.db");
    // The modem id is its port path, part of the dedup key: give it a stable name across restarts.
    let link = dir.path().join("modem0");
    let with_link = || SimOptions {
        link: Some(link.clone()),
        ..SimOptions::default()
    };
    let sim = Simulator::start(with_link()).await.expect("simulator");
    // Waiting on the SIM before SimRelay starts: must be drained.
    let stored = pdu(
        "+4915123456789",
        "Your Example verification code is 730164.",
        "2026-11-22T09:58:00+01:00",
    );
    sim.store(stored.clone());

    let engine = engine_on(&sim, &db).await;
    let mut events = engine.subscribe();
    let store = engine.store().clone();
    eventually("the stored message to be drained", || {
        let store = store.clone();
        async move { store.count().await.expect("count") == 1 }
    })
    .await;
    let drained = store.recent(1).await.expect("recent").remove(0);
    assert_eq!(drained.code.as_deref(), Some("730164"));
    assert_eq!(drained.sender, "+4915123456789");
    assert_eq!(drained.sent_at.to_rfc3339(), "2026-11-22T09:58:00+01:00");
    assert_eq!(store.raw_pdus(drained.id).await.expect("raw"), vec![stored]);

    // A WebSocket client gets the drained message in hello ...
    let mut ws = ws_before_hello(&engine).await;
    let ServerEvent::Hello { recent, modems } = ws.event_in_time().await else {
        panic!("hello first")
    };
    assert_eq!(recent, vec![drained.clone()]);
    assert_eq!(modems.len(), 1);
    assert_eq!(modems[0].port, link.to_string_lossy());

    // ... and a live message as an sms event, as does the in-process subscriber.
    let live = pdu(
        "ExampleBank",
        "ExampleBank: 591 027 is your login code. Do not share it.",
        "2026-11-22T10:00:05+01:00",
    );
    sim.deliver(live.clone());
    // The drained message may or may not have been published before we subscribed; skip it.
    let message = loop {
        let message = next_sms(&mut events).await;
        if message.id != drained.id {
            break message;
        }
    };
    assert_eq!(
        (message.sender.as_str(), message.code.as_deref()),
        ("ExampleBank", Some("591027"))
    );
    // The delete follows the publish (it only has to follow the commit), so the SIM empties right after.
    eventually("the SIM to be empty", || {
        let empty = sim.stored().is_empty();
        async move { empty }
    })
    .await;
    let from_ws = loop {
        match ws.event_in_time().await {
            ServerEvent::Sms { message } => break message,
            ServerEvent::Modem { .. } => continue,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(from_ws, message);
    assert_eq!(store.count().await.expect("count"), 2);
    let modem_state = engine.hub().modems()[0].state;
    assert_eq!(modem_state, ModemState::Connected);
    engine.shutdown().await;

    // Crash replay: the live message is back on a SIM (as if the delete never happened). After a restart
    // on the same database it is read, recognised as already stored, and deleted - not stored twice.
    let sim2 = Simulator::start(with_link()).await.expect("simulator");
    sim2.store(live);
    let engine = engine_on(&sim2, &db).await;
    eventually("the replayed slot to be deleted", || {
        let empty = sim2.stored().is_empty();
        async move { empty }
    })
    .await;
    assert_eq!(engine.store().count().await.expect("count"), 2);
    engine.shutdown().await;
    sim.shutdown().await;
    sim2.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_pdu_is_kept_and_deleted_from_the_sim() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = Simulator::start(SimOptions::default())
        .await
        .expect("simulator");
    let engine = engine_on(&sim, &dir.path().join("bad.db")).await;
    let mut events = engine.subscribe();
    // A DELIVER cut off in the middle of its sender address.
    let garbage = vec![
        0x07, 0x91, 0x44, 0x77, 0x58, 0x10, 0x06, 0x50, 0x04, 0x0B, 0x91,
    ];
    sim.deliver(garbage.clone());
    let message = next_sms(&mut events).await;
    assert!(message.decode_error.is_some(), "{message:?}");
    assert_eq!(message.text, hex::encode_upper(&garbage));
    assert_eq!(
        engine.store().raw_pdus(message.id).await.expect("raw"),
        vec![garbage]
    );
    eventually("the undecodable slot to be deleted", || {
        let empty = sim.stored().is_empty();
        async move { empty }
    })
    .await;
    engine.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_mode_delivers_labelled_messages_through_the_real_driver() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = common::start(Config {
        demo: true,
        demo_interval_secs: 1,
        ..common::config(&dir.path().join("demo.db"))
    })
    .await;
    let mut events = engine.subscribe();
    let first = next_sms(&mut events).await;
    assert_eq!(first.modem, DEMO_MODEM_ID);
    assert!(first.text.contains("DEMO"), "{}", first.text);
    let second = next_sms(&mut events).await;
    assert!(second.id > first.id);
    let modems = engine.hub().modems();
    assert_eq!(modems.len(), 1);
    assert!(
        modems[0].demo && modems[0].state == ModemState::Connected,
        "{modems:?}"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_goes_out_through_the_modem_and_reports_progress() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = Simulator::start(SimOptions::default())
        .await
        .expect("simulator");
    let engine = engine_on(&sim, &dir.path().join("send.db")).await;
    until_connected(&engine).await;
    let mut ws = ws_before_hello(&engine).await;
    let mut in_process = engine.subscribe_sent();
    let http = common::client(&engine);
    let base = format!("http://{}", engine.local_addr());
    let text = "Hello from SimRelay 👋";
    let accepted = http
        .post(format!("{base}/api/send"))
        .json(&serde_json::json!({"to": "+4915123456789", "text": text}))
        .send()
        .await
        .expect("post");
    assert_eq!(accepted.status(), 202);
    let accepted: serde_json::Value = accepted.json().await.expect("json");
    let id = accepted["id"].as_i64().expect("id");
    let sent_url = format!("{base}/api/sent/{id}");
    let mut status = serde_json::Value::Null;
    for _ in 0..200 {
        status = http
            .get(&sent_url)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        if status["status"] == "sent" || status["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status["status"], "sent", "{status}");
    assert_eq!(status["to"], "+4915123456789");
    assert_eq!(status["parts"], 1);
    // Every status change went out as a `sent` frame, in order, ending with what the endpoint shows.
    let mut seen = Vec::new();
    while seen
        .last()
        .map(|s: &simrelay_protocol::SentMessage| s.status)
        != Some(SendStatus::Sent)
    {
        if let ServerFrame::Notice(ServerNotice::Sent { sent }) = ws.frame_in_time().await {
            assert_eq!(sent.id, id);
            seen.push(sent);
        }
    }
    let statuses: Vec<_> = seen.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [SendStatus::Queued, SendStatus::Sending, SendStatus::Sent]
    );
    let last = seen.pop().expect("sent");
    assert_eq!(serde_json::to_value(&last).expect("json"), status);
    assert_eq!(last.message_refs.len(), 1, "{last:?}");
    for expected in statuses {
        let update = tokio::time::timeout(Duration::from_secs(5), in_process.recv())
            .await
            .expect("in time")
            .expect("open");
        assert_eq!(update.status, expected);
    }

    // The network's delivery report reaches the modem, which stores it and says +CDSI. A second report,
    // about a message SimRelay never sent, must be dropped. Neither becomes a received message.
    let stray = sim.store(status_report(last.message_refs[0].wrapping_add(1), 0x00));
    let slot = sim.store(status_report(last.message_refs[0], 0x00));
    sim.inject(format!("\r\n+CDSI: \"SM\",{stray}\r\n\r\n+CDSI: \"SM\",{slot}\r\n").as_bytes());
    let delivered = loop {
        if let ServerFrame::Notice(ServerNotice::Sent { sent }) = ws.frame_in_time().await {
            break sent;
        }
    };
    assert_eq!(
        (delivered.id, delivered.status),
        (id, SendStatus::Delivered)
    );
    let shown: serde_json::Value = http
        .get(&sent_url)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(shown["status"], "delivered");
    eventually("both reports to leave the SIM", || {
        let empty = sim.stored().is_empty();
        async move { empty }
    })
    .await;
    assert_eq!(engine.store().count().await.expect("count"), 0);

    let out = sim.sent();
    assert_eq!(out.len(), 1, "one PDU reached the modem");
    match simrelay_pdu::decode(&out[0]).expect("a valid SUBMIT") {
        simrelay_pdu::Pdu::Submit(submit) => {
            assert!(submit.status_report_request, "a report is asked for");
            assert_eq!(submit.text, text);
            assert_eq!(submit.recipient.number, "+4915123456789");
        }
        other => panic!("expected SMS-SUBMIT, got {other:?}"),
    }

    for (body, why) in [
        (
            serde_json::json!({"to": "call me", "text": "x"}),
            "bad number",
        ),
        (
            serde_json::json!({"to": "+49151", "text": ""}),
            "empty text",
        ),
        (
            serde_json::json!({"to": "+49151", "text": "x", "modem": "nope"}),
            "unknown modem",
        ),
        (
            serde_json::json!({"to": "+49151", "text": "x", "extra": 1}),
            "unknown field",
        ),
        (
            serde_json::json!({"to": "+49151", "text": "x".repeat(700)}),
            "too long",
        ),
    ] {
        let r = http
            .post(format!("{base}/api/send"))
            .json(&body)
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 400, "{why}");
    }
    // Its own client: the server closes a connection whose body it refused, so it must not be reused.
    let huge = common::client(&engine)
        .post(format!("{base}/api/send"))
        .header("content-type", "application/json")
        .body(vec![b'x'; 200_000])
        .send()
        .await
        .expect("post");
    assert_eq!(huge.status(), 413);
    let missing = http
        .get(format!("{base}/api/sent/999"))
        .send()
        .await
        .expect("get");
    assert_eq!(missing.status(), 404);
    engine.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_report_delivered_directly_with_cds_marks_the_message_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = Simulator::start(SimOptions::default())
        .await
        .expect("simulator");
    let engine = engine_on(&sim, &dir.path().join("cds.db")).await;
    until_connected(&engine).await;
    let mut updates = engine.subscribe_sent();
    let accepted: serde_json::Value = common::client(&engine)
        .post(format!("http://{}/api/send", engine.local_addr()))
        .json(&serde_json::json!({"to": "+4915123456789", "text": "are you there?"}))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    let id = accepted["id"].as_i64().expect("id");
    let sent = loop {
        let update = tokio::time::timeout(Duration::from_secs(15), updates.recv())
            .await
            .expect("in time")
            .expect("open");
        if update.status == SendStatus::Sent {
            break update;
        }
    };
    assert_eq!(sent.id, id);
    // TP-ST 0x41: incompatible destination, a permanent error.
    let report = status_report(sent.message_refs[0], 0x41);
    let line = format!(
        "\r\n+CDS: {}\r\n{}\r\n",
        report.len() - 1,
        hex::encode_upper(&report)
    );
    sim.inject(line.as_bytes());
    let failed = tokio::time::timeout(Duration::from_secs(15), updates.recv())
        .await
        .expect("in time")
        .expect("open");
    assert_eq!((failed.id, failed.status), (id, SendStatus::Failed));
    assert!(failed.error.is_some(), "{failed:?}");
    assert_eq!(engine.store().count().await.expect("count"), 0);
    engine.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modem_keeps_its_imei_id_and_its_dedup_key_under_a_new_port_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("ids.db");
    let mut sim = Simulator::start(SimOptions::default())
        .await
        .expect("simulator");
    let message = pdu(
        "+4915123456789",
        "Your Example verification code is 246810.",
        "2026-11-22T09:58:00+01:00",
    );
    sim.store(message.clone());
    let first_path = sim.path().to_string_lossy().into_owned();
    let start = |port: String| {
        let db = db.clone();
        async move {
            common::start(Config {
                modems: vec![port.clone()],
                modem_labels: [(port, "Work SIM".to_owned())].into(),
                ..common::config(&db)
            })
            .await
        }
    };
    let engine = start(first_path.clone()).await;
    let store = engine.store().clone();
    eventually("the message to be stored", || {
        let store = store.clone();
        async move { store.count().await.expect("count") == 1 }
    })
    .await;
    let stored = store.recent(1).await.expect("recent").remove(0);
    assert_eq!(stored.modem, "imei:356938035643809");
    let modems = engine.hub().modems();
    assert_eq!(
        modems.len(),
        1,
        "listed once, under its learned id: {modems:?}"
    );
    assert_eq!(modems[0].id, stored.modem);
    assert_eq!(modems[0].label.as_deref(), Some("Work SIM"));
    assert_eq!(modems[0].imei.as_deref(), Some("356938035643809"));
    assert_eq!(modems[0].iccid.as_deref(), Some("8949000000000000001"));
    assert_eq!(modems[0].manufacturer.as_deref(), Some("SimRelay"));
    // The simulator answers +CREG: 0,1 (home), +CSQ: 21 (-71 dBm) and a 30-slot SIM.
    assert_eq!(
        modems[0].registration,
        Some(simrelay_protocol::Registration::Home)
    );
    assert_eq!(
        (modems[0].signal_dbm, modems[0].signal_bars),
        (Some(-71), Some(4))
    );
    assert_eq!(modems[0].storage_total, Some(30));
    assert!(modems[0].storage_used.is_some());
    engine.shutdown().await;

    // The modem comes back as another device, with the message still on it (the delete was lost).
    sim.unplug().await;
    // Another device takes the old name meanwhile (other tests open and close ptys concurrently: take new
    // ones until the old name is taken).
    let mut squatters = Vec::new();
    for _ in 0..20 {
        let squatter = Simulator::start(SimOptions::default())
            .await
            .expect("simulator");
        let took_it = squatter.path().to_string_lossy() == first_path;
        squatters.push(squatter);
        if took_it {
            break;
        }
    }
    let second_path = sim
        .replug()
        .await
        .expect("replug")
        .to_string_lossy()
        .into_owned();
    for squatter in squatters {
        squatter.shutdown().await;
    }
    assert_ne!(first_path, second_path);
    sim.store(message);
    let engine = start(second_path).await;
    eventually("the re-read slot to be deleted", || {
        let empty = sim.stored().is_empty();
        async move { empty }
    })
    .await;
    assert_eq!(
        engine.store().count().await.expect("count"),
        1,
        "same modem id, same PDU: not stored twice"
    );
    engine.shutdown().await;
    sim.shutdown().await;
}

/// Starts an engine on `sim` and sends one message through the API; returns the engine, the sent-status
/// receiver and the message once the network took it.
async fn engine_with_a_sent_message(
    sim: &Simulator,
    db: &std::path::Path,
) -> (
    Engine,
    tokio::sync::broadcast::Receiver<simrelay_protocol::SentMessage>,
    simrelay_protocol::SentMessage,
) {
    let engine = engine_on(sim, db).await;
    until_connected(&engine).await;
    let mut updates = engine.subscribe_sent();
    let accepted: serde_json::Value = common::client(&engine)
        .post(format!("http://{}/api/send", engine.local_addr()))
        .json(&serde_json::json!({"to": "+4915123456789", "text": "are you there?"}))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert!(accepted["id"].as_i64().is_some(), "{accepted}");
    let sent = loop {
        let update = tokio::time::timeout(Duration::from_secs(15), updates.recv())
            .await
            .expect("in time")
            .expect("open");
        if update.status == SendStatus::Sent {
            break update;
        }
    };
    (engine, updates, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_report_kept_in_the_sr_storage_is_applied_then_deleted_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = Simulator::start(SimOptions {
        report_storage: true,
        ..SimOptions::default()
    })
    .await
    .expect("simulator");
    let (engine, mut updates, sent) =
        engine_with_a_sent_message(&sim, &dir.path().join("sr.db")).await;
    // +CDSI: "SR",1 - and a message arrives in SM slot 1 right after, which must still be read from SM.
    sim.deliver_report(status_report(sent.message_refs[0], 0x00));
    sim.deliver(pdu(
        "+4915123456789",
        "Your Example verification code is 135790.",
        "2026-11-22T10:00:09+01:00",
    ));
    let delivered = tokio::time::timeout(Duration::from_secs(15), updates.recv())
        .await
        .expect("in time")
        .expect("open");
    assert_eq!(
        (delivered.id, delivered.status),
        (sent.id, SendStatus::Delivered)
    );
    eventually("the report to leave SR and the message to leave SM", || {
        let empty = sim.stored_reports().is_empty() && sim.stored().is_empty();
        async move { empty }
    })
    .await;
    let store = engine.store().clone();
    eventually("the message to be stored", || {
        let store = store.clone();
        async move { store.count().await.expect("count") == 1 }
    })
    .await;
    engine.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phase2_cmt_is_acknowledged_only_after_the_commit_and_comes_again_until_then() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("cnma.db");
    let sim = Simulator::start(SimOptions {
        phase2: true,
        ack_timeout: Duration::from_secs(2),
        chaos: simrelay_modem::sim::Chaos {
            route_directly: true,
            ..Default::default()
        },
        ..SimOptions::default()
    })
    .await
    .expect("simulator");
    let engine = engine_on(&sim, &db).await;
    until_connected(&engine).await;

    // Another program holds the database's write lock: no commit can happen.
    let mut blocker = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("second connection");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut blocker)
        .await
        .expect("lock");
    sim.deliver(pdu(
        "+4915123456789",
        "Your Example verification code is 864209.",
        "2026-11-22T10:00:11+01:00",
    ));
    // Longer than the store's busy timeout (5 s): the commit fails, so no acknowledgement goes out and the
    // modem (the network) delivers the message again.
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(sim.acks(), 0, "acknowledged before any commit");
    assert!(
        sim.ack_timeouts() >= 1,
        "delivered again while unacknowledged"
    );
    assert!(
        sim.stored().is_empty(),
        "a routed message is only on the air"
    );
    sqlx::query("ROLLBACK")
        .execute(&mut blocker)
        .await
        .expect("unlock");
    blocker.close().await.expect("close");

    let store = engine.store().clone();
    eventually("the message to be committed", || {
        let store = store.clone();
        async move { store.count().await.expect("count") == 1 }
    })
    .await;
    eventually("the acknowledgement after the commit", || {
        let acked = sim.acks() >= 1;
        async move { acked }
    })
    .await;
    // Acknowledged: the redeliveries stop, and every copy that did come is stored once.
    let timeouts = sim.ack_timeouts();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        sim.ack_timeouts(),
        timeouts,
        "still delivered again after the ack"
    );
    assert_eq!(store.count().await.expect("count"), 1);
    let message = store.recent(1).await.expect("recent").remove(0);
    assert_eq!(message.code.as_deref(), Some("864209"));
    engine.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modem_absent_at_start_up_is_listed_under_the_id_it_told_last_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("known.db");
    let link = dir.path().join("modem0");
    let mut sim = Simulator::start(SimOptions {
        link: Some(link.clone()),
        ..SimOptions::default()
    })
    .await
    .expect("simulator");
    let imei_id = "imei:356938035643809";
    let engine = engine_on(&sim, &db).await;
    let hub = engine.hub().clone();
    eventually("the modem to connect under its IMEI id", || {
        let modems = hub.modems();
        async move {
            modems
                .iter()
                .any(|m| m.id == imei_id && m.state == ModemState::Connected)
        }
    })
    .await;
    engine.shutdown().await;

    // Unplugged while SimRelay is stopped: the stable path is gone at the next start.
    sim.unplug().await;
    let engine = engine_on(&sim, &db).await;
    let hub = engine.hub().clone();
    eventually("the absent modem to be listed as disconnected", || {
        let modems = hub.modems();
        async move { modems.iter().any(|m| m.state == ModemState::Disconnected) }
    })
    .await;
    let modems = engine.hub().modems();
    assert_eq!(modems.len(), 1, "{modems:?}");
    assert_eq!(modems[0].id, imei_id, "not under its port path");

    // Back again: the same single entry connects, and its messages carry the same id.
    sim.replug().await.expect("replug");
    sim.deliver(pdu(
        "+4915123456789",
        "Your Example verification code is 112358.",
        "2026-11-22T10:00:13+01:00",
    ));
    let store = engine.store().clone();
    eventually("the message to be stored", || {
        let store = store.clone();
        async move { store.count().await.expect("count") == 1 }
    })
    .await;
    assert_eq!(store.recent(1).await.expect("recent")[0].modem, imei_id);
    let modems = engine.hub().modems();
    assert_eq!(modems.len(), 1, "{modems:?}");
    assert_eq!(modems[0].state, ModemState::Connected);
    engine.shutdown().await;
    sim.shutdown().await;
}
