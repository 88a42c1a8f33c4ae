//! Choosing a modem while the server runs, over real HTTP and WebSocket against the modem simulator on real
//! ptys: probing a port, adding a modem, receiving from it, the added modem coming back after a restart, removing
//! it (and the `modem_removed` frame), the demo modem started at run time, and the errors.
//!
//! "Permission denied" cannot be produced here (the tests run as root, which every file mode lets through); its
//! hint is checked by the unit tests of `simrelay_modem::port_access`.

use std::path::Path;

use serde_json::{json, Value};
use simrelay_engine::{Config, Engine};
use simrelay_modem::sim::{Personality, SimOptions, Simulator};
use simrelay_protocol::{
    ModemEventKind, ModemStatus, PortErrorKind, PortReport, ServerEvent, ServerFrame,
};
use simrelay_testkit::pdu::deliver as pdu;

use crate::common::{self, eventually, expect_error, url, ws as connect};

async fn start(db: &Path) -> Engine {
    common::start(Config {
        // The simulators are pseudo-terminals (and stable links to them in the test's folder, as
        // /dev/serial/by-id/... is for a USB modem), which are not serial devices: the owner allows them.
        allowed_ports: vec![
            "/dev/pts/*".into(),
            format!("{}/*", db.parent().expect("a folder").display()),
        ],
        ..common::config(db)
    })
    .await
}

async fn post(engine: &Engine, path: &str, body: &Value) -> reqwest::Response {
    common::client(engine)
        .post(url(engine, path))
        .json(body)
        .send()
        .await
        .expect("post")
}

async fn delete(engine: &Engine, path: &str) -> reqwest::Response {
    common::client(engine)
        .delete(url(engine, path))
        .send()
        .await
        .expect("delete")
}

async fn modems(engine: &Engine) -> Vec<ModemStatus> {
    let body: Value = common::get_json(engine, "/api/modems").await;
    serde_json::from_value(body["modems"].clone()).expect("modems")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ports_are_probed_with_their_model_or_a_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(&dir.path().join("probe.db")).await;
    let sim = Simulator::start(SimOptions {
        personality: Personality::Sim800l,
        ..SimOptions::default()
    })
    .await
    .expect("simulator");
    let port = sim.path().to_string_lossy().into_owned();

    // A modem: answers AT, and tells its model.
    let r = post(&engine, "/api/ports/probe", &json!({ "port": port })).await;
    assert_eq!(r.status(), 200);
    let report: PortReport = r.json().await.expect("report");
    assert!(report.probed && report.is_modem, "{report:?}");
    assert_eq!(report.model.as_deref(), Some("SIMCOM_SIM800L"));
    assert!(
        report.info.iter().any(|l| l.contains("SIMCOM")),
        "{report:?}"
    );
    assert_eq!(
        (report.error, report.error_kind, report.in_use_by),
        (None, None, None)
    );

    // No such device: sorted as not_found, with what to do.
    let r = post(
        &engine,
        "/api/ports/probe",
        &json!({ "port": "/dev/ttyUSB99999" }),
    )
    .await;
    assert_eq!(r.status(), 200);
    let report: PortReport = r.json().await.expect("report");
    assert!(!report.is_modem);
    assert_eq!(report.error_kind, Some(PortErrorKind::NotFound));
    let hint = report.hint.expect("a hint");
    assert!(
        hint.contains("/dev/ttyUSB99999") && hint.contains("plugged in"),
        "{hint}"
    );

    // Bad input: the API's error shape, never a panic.
    for body in [
        json!({}),
        json!({ "port": "" }),
        json!({ "port": "a\nb" }),
        json!({ "port": 3 }),
    ] {
        expect_error(
            post(&engine, "/api/ports/probe", &body).await,
            400,
            "bad_request",
        )
        .await;
    }

    // The OS listing answers (what it holds depends on the machine; ptys are never in it): a GET only lists,
    // a POST probes every port no modem uses.
    let r = common::get(&engine, "/api/ports").await;
    assert_eq!(r.status(), 200);
    let listed: Value = r.json().await.expect("json");
    let listed: Vec<PortReport> = serde_json::from_value(listed["ports"].clone()).expect("ports");
    assert!(listed.iter().all(|p| !p.probed), "{listed:?}");
    let r = post(&engine, "/api/ports", &json!({})).await;
    assert_eq!(r.status(), 200);
    let probed: Value = r.json().await.expect("json");
    let probed: Vec<PortReport> = serde_json::from_value(probed["ports"].clone()).expect("ports");
    assert_eq!(probed.len(), listed.len());
    for p in &probed {
        assert!(p.probed != p.in_use_by.is_some(), "{p:?}");
    }

    // Once a modem runs on the port, the port is named as in use and not probed.
    let r = post(&engine, "/api/modems", &json!({ "port": port })).await;
    assert_eq!(r.status(), 201);
    let added: ModemStatus = r.json().await.expect("status");
    let r = post(&engine, "/api/ports/probe", &json!({ "port": port })).await;
    let report: PortReport = r.json().await.expect("report");
    assert_eq!(report.in_use_by.as_deref(), Some(added.id.as_str()));
    assert!(!report.probed && !report.is_modem);

    // The demo modem can be started at run time, once.
    let r = post(&engine, "/api/modems", &json!({ "demo": true })).await;
    assert_eq!(r.status(), 201);
    let demo: ModemStatus = r.json().await.expect("status");
    assert_eq!(demo.id, "demo");
    assert!(demo.demo);
    expect_error(
        post(&engine, "/api/modems", &json!({ "demo": true })).await,
        409,
        "port_in_use",
    )
    .await;
    // A path with nothing behind it is refused, not stored and retried forever.
    let detail = expect_error(
        post(
            &engine,
            "/api/modems",
            &json!({ "port": "/dev/ttyUSB77777" }),
        )
        .await,
        404,
        "port_not_found",
    )
    .await;
    assert!(detail.contains("/dev/ttyUSB77777"), "{detail}");
    for body in [
        json!({}),
        json!({ "port": port, "demo": true }),
        json!({ "demo": true, "label": "x" }),
        json!({ "port": "/dev/x", "label": "a\u{7}" }),
        json!({ "port": "/dev/x", "colour": "red" }),
    ] {
        expect_error(
            post(&engine, "/api/modems", &body).await,
            400,
            "bad_request",
        )
        .await;
    }
    assert_eq!(modems(&engine).await.len(), 2);
    engine.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modem_added_at_run_time_receives_comes_back_after_a_restart_and_is_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("added.db");
    // A stable name across restarts, as /dev/serial/by-id/... is for a USB modem.
    let link = dir.path().join("modem0");
    let sim = Simulator::start(SimOptions {
        link: Some(link.clone()),
        ..SimOptions::default()
    })
    .await
    .expect("simulator");
    let port = link.to_string_lossy().into_owned();

    let engine = start(&db).await;
    assert!(modems(&engine).await.is_empty());
    let mut ws = connect(&engine).await;
    let r = post(
        &engine,
        "/api/modems",
        &json!({ "port": port, "label": " Bench SIM " }),
    )
    .await;
    assert_eq!(r.status(), 201);
    let added: ModemStatus = r.json().await.expect("status");
    assert!(
        added.id.starts_with("imei:"),
        "identified by its IMEI: {added:?}"
    );
    assert_eq!(added.label.as_deref(), Some("Bench SIM"));

    // The same port again, by its link or by the device it points to: 409.
    let detail = expect_error(
        post(&engine, "/api/modems", &json!({ "port": port })).await,
        409,
        "port_in_use",
    )
    .await;
    assert!(detail.contains(&added.id), "{detail}");
    let real = sim.path().to_string_lossy().into_owned();
    expect_error(
        post(&engine, "/api/modems", &json!({ "port": real })).await,
        409,
        "port_in_use",
    )
    .await;

    // An SMS injected on the pty reaches the WebSocket, from this modem.
    sim.deliver(pdu("+4915123456789", "Your Example code is 482913."));
    let message = loop {
        match ws.frame_in_time().await {
            ServerFrame::Event(ServerEvent::Sms { message }) => break message,
            _ => continue,
        }
    };
    assert_eq!(message.modem, added.id);
    assert_eq!(message.code.as_deref(), Some("482913"));
    drop(ws);
    engine.shutdown().await;

    // Restarted on the same database with an empty config: the added modem is started again (its driver
    // reports its first status a moment after the engine started).
    let engine = start(&db).await;
    let hub = engine.hub().clone();
    eventually("the added modem to be listed again", || {
        let listed = !hub.modems().is_empty();
        async move { listed }
    })
    .await;
    let listed = modems(&engine).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id, added.id);
    assert_eq!(listed[0].label.as_deref(), Some("Bench SIM"));
    let mut ws = connect(&engine).await;
    sim.deliver(pdu(
        "ExampleBank",
        "ExampleBank: 771 205 is your login code.",
    ));
    let message = loop {
        match ws.frame_in_time().await {
            ServerFrame::Event(ServerEvent::Sms { message }) => break message,
            _ => continue,
        }
    };
    assert_eq!(
        (message.modem.as_str(), message.code.as_deref()),
        (added.id.as_str(), Some("771205"))
    );

    // Removed: stopped, gone from the list, a modem_removed frame, and not back after a restart.
    let r = delete(&engine, &format!("/api/modems/{}", added.id)).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body, json!({ "removed": added.id, "from_config": false }));
    loop {
        match ws.frame_in_time().await {
            ServerFrame::Event(ServerEvent::ModemRemoved { id }) => {
                assert_eq!(id, added.id);
                break;
            }
            ServerFrame::Event(ServerEvent::Modem { .. }) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(modems(&engine).await.is_empty());
    expect_error(
        delete(&engine, &format!("/api/modems/{}", added.id)).await,
        404,
        "not_found",
    )
    .await;
    // The driver closed the port: it can be probed (and answers) again.
    let r = post(&engine, "/api/ports/probe", &json!({ "port": port })).await;
    let report: PortReport = r.json().await.expect("report");
    assert!(report.is_modem && report.in_use_by.is_none(), "{report:?}");
    drop(ws);
    engine.shutdown().await;

    let engine = start(&db).await;
    assert!(
        modems(&engine).await.is_empty(),
        "a removed modem stays removed"
    );
    engine.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_lost_and_regained_reach_the_websocket_and_storages_the_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = Simulator::start(SimOptions::default())
        .await
        .expect("simulator");
    let engine = start(&dir.path().join("events.db")).await;
    let mut ws = connect(&engine).await;
    let port = sim.path().to_string_lossy().into_owned();
    let r = post(&engine, "/api/modems", &json!({ "port": port })).await;
    assert_eq!(r.status(), 201);
    let added: ModemStatus = r.json().await.expect("status");
    // The SIM's use, from the start-up's listing.
    let hub = engine.hub().clone();
    eventually("the SIM's use in the status", || {
        let known = hub.modems().iter().any(|m| {
            m.health
                .storages
                .iter()
                .any(|s| s.memory == "SM" && s.total == 30)
        });
        async move { known }
    })
    .await;

    sim.set_registration(2);
    let (event, detail) = loop {
        match ws.frame_in_time().await {
            ServerFrame::Event(ServerEvent::ModemEvent {
                modem,
                event,
                detail,
                ..
            }) => {
                assert_eq!(modem, added.id);
                break (event, detail);
            }
            _ => continue,
        }
    };
    assert_eq!(event, ModemEventKind::RegistrationLost, "{detail}");
    sim.set_registration(1);
    let event = loop {
        match ws.frame_in_time().await {
            ServerFrame::Event(ServerEvent::ModemEvent { event, .. }) => break event,
            _ => continue,
        }
    };
    assert_eq!(event, ModemEventKind::RegistrationRegained);
    drop(ws);
    engine.shutdown().await;
    sim.shutdown().await;
}
