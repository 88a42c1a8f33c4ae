//! Calls and USSD through the real engine on a simulated modem (a real pseudo-terminal): a call ringing in
//! the middle of a burst of messages loses none of them and becomes one `call` frame and one history entry;
//! `POST /api/modems/{id}/ussd` answers the network's reply, refuses a second request while one runs (409
//! `busy`) and gives up after 30 s (504); `simrelay ussd` does the same from the command line.

use std::process::Command;
use std::time::{Duration, Instant};

use simrelay_engine::{Config, Engine};
use simrelay_modem::sim::Chaos;
use simrelay_modem::{SimOptions, Simulator};
use simrelay_protocol::{CallPage, ModemList, ServerEvent, ServerFrame, ServerNotice, UssdReply};
use simrelay_testkit::pdu::deliver_at;

use crate::common::{self, client, eventually, expect_error, get_json, url};

const CALLER: &str = "+4915112345678";

async fn engine_on(sim: &Simulator, dir: &std::path::Path) -> Engine {
    common::start(Config {
        modems: vec![sim.path().to_string_lossy().into_owned()],
        ..common::config(&dir.join("calls.db"))
    })
    .await
}

/// The simulated modem's id once the engine lists it connected.
async fn connected_modem(engine: &Engine) -> String {
    let connected = || async {
        let list: ModemList = get_json(engine, "/api/modems").await;
        list.modems
            .into_iter()
            .find(|m| m.state == simrelay_protocol::ModemState::Connected)
            .map(|m| m.id)
    };
    eventually("the modem is connected", || async {
        connected().await.is_some()
    })
    .await;
    connected().await.expect("connected")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_during_a_burst_of_50_messages_loses_none_and_is_one_call() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = Simulator::start(SimOptions {
        capacity: 80,
        // RING, +CLIP and +CMTI printed inside the answers of the driver's commands.
        chaos: Chaos {
            urc_inside_responses: true,
            ..Chaos::default()
        },
        refuse_phase2: true,
        ..SimOptions::default()
    })
    .await
    .expect("simulator");
    let engine = engine_on(&sim, dir.path()).await;
    let modem = connected_modem(&engine).await;
    let mut ws = common::ws(&engine).await;
    for i in 0..50 {
        sim.deliver(deliver_at(
            "+15555550150",
            &format!("burst {i}"),
            "2026-12-07T18:00:00+01:00",
        ));
        if i == 5 {
            sim.call(Some(CALLER), 6, Duration::from_millis(500));
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let mut texts = std::collections::BTreeSet::new();
    let mut calls = Vec::new();
    // Until every message and the call came, then while the call still rings.
    let mut quiet_until: Option<Instant> = None;
    let started = Instant::now();
    loop {
        if quiet_until.is_some_and(|t| Instant::now() >= t) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{} messages, {} calls",
            texts.len(),
            calls.len()
        );
        // A timeout only means nothing came in that half second.
        let frame = ws
            .next_frame(Duration::from_millis(500))
            .await
            .ok()
            .flatten();
        match frame {
            Some(ServerFrame::Event(ServerEvent::Sms { message })) => {
                assert!(
                    texts.insert(message.text.clone()),
                    "twice: {}",
                    message.text
                );
            }
            Some(ServerFrame::Notice(ServerNotice::Call(call))) => calls.push(call),
            _ => {}
        }
        if texts.len() == 50 && !calls.is_empty() && quiet_until.is_none() {
            quiet_until = Some(Instant::now() + Duration::from_secs(4));
        }
        assert!(
            texts.len() <= 50,
            "more messages than were sent: {}",
            texts.len()
        );
    }
    assert_eq!(texts.len(), 50);
    assert_eq!(calls.len(), 1, "one call however often it rang: {calls:?}");
    assert_eq!(calls[0].from, CALLER);
    assert_eq!(calls[0].modem, modem);
    assert!(!calls[0].rejected);
    assert_eq!(engine.store().count().await.expect("count"), 50);
    let page: CallPage = get_json(&engine, &format!("/api/calls?modem={modem}")).await;
    assert_eq!(page.calls, calls);
    let none: CallPage = get_json(&engine, "/api/calls?modem=imei:0").await;
    assert!(none.calls.is_empty());
    engine.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ussd_answers_refuses_a_second_request_and_gives_up_after_30_s() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = Simulator::start(SimOptions::default())
        .await
        .expect("simulator");
    let engine = engine_on(&sim, dir.path()).await;
    let modem = connected_modem(&engine).await;
    let path = format!("/api/modems/{modem}/ussd");
    let post = |code: &str| {
        client(&engine)
            .post(url(&engine, &path))
            .json(&serde_json::json!({ "code": code }))
            .send()
    };
    let balance = post("*100#").await.expect("post");
    assert_eq!(balance.status(), 200);
    let balance: UssdReply = balance.json().await.expect("json");
    assert_eq!(
        balance,
        UssdReply {
            reply: "Your balance is 12.34 EUR, valid until 31.12.2026.".into(),
            session_open: false
        }
    );
    let ucs2: UssdReply = post("*101#")
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(ucs2.reply, "Ваш баланс: 150,00 ₽");
    let menu: UssdReply = post("*111#")
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert!(menu.session_open, "{menu:?}");
    assert!(menu.reply.contains("2. Bundles"), "{menu:?}");
    let done: UssdReply = post("0").await.expect("post").json().await.expect("json");
    assert!(!done.session_open);
    expect_error(
        post("*100#\"\r\nATH").await.expect("post"),
        400,
        "bad_request",
    )
    .await;
    expect_error(
        client(&engine)
            .post(url(&engine, "/api/modems/imei:0/ussd"))
            .json(&serde_json::json!({ "code": "*100#" }))
            .send()
            .await
            .expect("post"),
        404,
        "not_found",
    )
    .await;
    // The simulated network never answers *999#.
    let started = Instant::now();
    let silent = tokio::spawn(post("*999#"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    expect_error(post("*100#").await.expect("post"), 409, "busy").await;
    let silent = silent.await.expect("joins").expect("post");
    if silent.status() != 504 {
        panic!(
            "{}: {}",
            silent.status(),
            silent.text().await.unwrap_or_default()
        );
    }
    let detail = expect_error(silent, 504, "timeout").await;
    assert!(detail.contains("30 s"), "{detail}");
    assert!(started.elapsed() >= Duration::from_secs(29));
    // Free again.
    assert_eq!(post("*100#").await.expect("post").status(), 200);
    engine.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn simrelay_ussd_prints_the_reply() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = Simulator::start(SimOptions::default())
        .await
        .expect("simulator");
    let port = sim.path().to_string_lossy().into_owned();
    let config = dir.path().join("config.toml");
    let run = move |args: Vec<String>| {
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_simrelay"))
                .arg("--config")
                .arg(config)
                .args(args)
                .output()
                .expect("runs")
        })
    };
    let args = |rest: &[&str]| {
        let mut v = vec!["ussd".to_owned(), "--modem".to_owned(), port.clone()];
        v.extend(rest.iter().map(|s| (*s).to_owned()));
        v
    };
    let out = run(args(&["*111#"])).await.expect("joins");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "1. Balance\n2. Bundles\n0. Exit\n"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("waits for an answer"));
    let out = run(args(&["--json", "*101#"])).await.expect("joins");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reply: UssdReply = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(reply.reply, "Ваш баланс: 150,00 ₽");
    let out = run(args(&["*555#"])).await.expect("joins");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not support"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    sim.shutdown().await;
}
