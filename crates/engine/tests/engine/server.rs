//! End-to-end tests of the HTTP/WebSocket server: a real engine on an ephemeral port, a real SQLite file,
//! real HTTP (reqwest) and WebSocket (tokio-tungstenite) clients.

use std::time::Duration;

use futures_util::SinkExt;
use simrelay_engine::store::{Inserted, NewMessage};
use simrelay_engine::{Config, Engine};
use simrelay_protocol::{
    ApiError, Health, Message, MessagePage, ServerEvent, ServerFrame, ServerNotice,
};
use tokio_tungstenite::tungstenite;

use crate::common;

const TOKEN: &str = "test-token-0123456789abcdef0123456789abcdef";

async fn start(db: &std::path::Path, token: Option<&str>) -> Engine {
    common::start(Config {
        token: token.map(str::to_owned),
        ..common::config(db)
    })
    .await
}

fn sample(n: u8) -> NewMessage {
    let code = format!("12345{n}");
    NewMessage {
        modem: "m1".into(),
        code_span: Some([13, 19]),
        encoding: Some("gsm7".into()),
        ..common::message(
            vec![0x00, n],
            "+491701234567",
            &format!("Your code is {code}"),
            Some(&code),
        )
    }
}

/// Commits sample `n` through the store and publishes it on the hub, as ingest does after a modem read.
async fn commit(engine: &Engine, n: u8) -> Message {
    common::commit(engine, &sample(n)).await
}

fn base(engine: &Engine) -> String {
    format!("http://{}", engine.local_addr())
}

#[tokio::test]
async fn health_needs_no_token_and_everything_else_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(&dir.path().join("s.db"), Some(TOKEN)).await;
    let http = reqwest::Client::new();
    let base = base(&engine);

    let health = http
        .get(format!("{base}/api/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Health>().await.expect("json").status, "ok");

    for url in [
        format!("{base}/api/messages"),
        format!("{base}/api/messages?token=wrong"),
    ] {
        let r = http.get(&url).send().await.expect("request");
        assert_eq!(r.status(), 401, "{url}");
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        assert_eq!(
            r.json::<ApiError>().await.expect("json error").error,
            "unauthorized"
        );
    }
    let wrong = http
        .get(format!("{base}/api/messages"))
        .bearer_auth("wrong")
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), 401);
    // A prefix of the right token is still wrong.
    let prefix = http
        .get(format!("{base}/api/messages"))
        .bearer_auth(&TOKEN[..10])
        .send()
        .await
        .expect("req");
    assert_eq!(prefix.status(), 401);

    let by_header = http
        .get(format!("{base}/api/messages"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("request");
    assert_eq!(by_header.status(), 200);
    let by_query = http
        .get(format!("{base}/api/messages?token={TOKEN}"))
        .send()
        .await
        .expect("request");
    assert_eq!(by_query.status(), 200);

    // The WebSocket upgrade is refused without the token and accepted with it.
    let ws_base = format!("ws://{}/ws", engine.local_addr());
    match tokio_tungstenite::connect_async(&ws_base).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
    match tokio_tungstenite::connect_async(format!("{ws_base}?token=nope")).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
    assert!(
        tokio_tungstenite::connect_async(format!("{ws_base}?token={TOKEN}"))
            .await
            .is_ok()
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn every_server_has_a_token_loopback_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = common::start(common::config(&dir.path().join("s.db"))).await;
    let token = engine.token().to_owned();
    assert_eq!(token.len(), 64, "256 bits of hex");
    assert!(engine.url().starts_with("http://127.0.0.1:"));
    assert!(engine.url().ends_with(&format!("/?token={token}")));
    let url = format!(
        "http://127.0.0.1:{}/api/messages",
        engine.local_addr().port()
    );
    assert_eq!(reqwest::get(&url).await.expect("request").status(), 401);
    engine.shutdown().await;
}

#[tokio::test]
async fn websocket_gets_hello_with_history_then_live_sms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(&dir.path().join("s.db"), None).await;
    assert_eq!(
        engine.url(),
        format!("http://{}/?token={}", engine.local_addr(), engine.token())
    );
    assert_eq!(
        engine.public_url(),
        format!("http://{}/", engine.local_addr())
    );
    let old = commit(&engine, 1).await;

    let mut ws = common::ws_before_hello(&engine).await;
    let hello = ws.event_in_time().await;
    let ServerEvent::Hello { recent, modems } = hello else {
        panic!("first frame must be hello, got {hello:?}")
    };
    assert_eq!(recent, vec![old]);
    assert!(modems.is_empty());

    let live = commit(&engine, 2).await;
    assert_eq!(
        ws.event_in_time().await,
        ServerEvent::Sms {
            message: live.clone()
        }
    );

    // The in-process subscription sees the same kind of events.
    let mut rx = engine.subscribe();
    let third = commit(&engine, 3).await;
    assert_eq!(
        rx.recv().await.expect("event"),
        ServerEvent::Sms {
            message: third.clone()
        }
    );
    assert_eq!(
        ws.event_in_time().await,
        ServerEvent::Sms { message: third }
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn messages_endpoint_pages_newest_first_and_rejects_bad_limits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(&dir.path().join("s.db"), None).await;
    for n in 0..5 {
        commit(&engine, n).await;
    }
    let base = base(&engine);
    let page: MessagePage = common::client(&engine)
        .get(format!("{base}/api/messages?limit=3"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let ids: Vec<i64> = page.messages.iter().map(|m| m.id).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    assert_eq!(page.messages[0].text, "Your code is 123454");

    for bad in ["limit=0", "limit=100000", "limit=abc", "limit=-1"] {
        let r = common::client(&engine)
            .get(format!("{base}/api/messages?{bad}"))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 400, "{bad}");
        assert_eq!(
            r.json::<ApiError>().await.expect("json").error,
            "bad_request"
        );
    }
    let missing = common::client(&engine)
        .get(format!("{base}/api/nothing-here"))
        .send()
        .await
        .expect("get");
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.json::<ApiError>().await.expect("json").error,
        "not_found"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn messages_persist_across_a_restart_without_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("s.db");
    let engine = start(&db, None).await;
    let first = commit(&engine, 7).await;
    engine.shutdown().await;

    let engine = start(&db, None).await;
    // The same PDU read again (say, the SIM slot was not deleted before a crash) is not stored twice.
    assert_eq!(
        engine
            .store()
            .insert_message(&sample(7))
            .await
            .expect("insert"),
        Inserted::Duplicate
    );
    let page: MessagePage = common::client(&engine)
        .get(format!("{}/api/messages", base(&engine)))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(page.messages, vec![first]);
    engine.shutdown().await;
}

#[tokio::test]
async fn the_root_serves_the_ui_or_explains_how_to_build_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(&dir.path().join("s.db"), Some(TOKEN)).await;
    // The page itself is public (it has to load to ask for the token).
    let r = reqwest::get(format!("{}/", base(&engine)))
        .await
        .expect("get");
    assert!(r.status() == 200 || r.status() == 503, "{}", r.status());
    assert!(r.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .starts_with("text/html"));
    let body = r.text().await.expect("body");
    assert!(
        body.contains("<html")
            || body.contains("<!DOCTYPE html")
            || body.contains("<!doctype html")
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn configured_retention_is_applied_by_the_running_engine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("s.db");
    let engine = start(&db, None).await;
    for n in 0..3 {
        commit(&engine, n).await;
    }
    engine.shutdown().await;
    let engine = common::start(Config {
        retention: simrelay_engine::store::Retention {
            messages: Some(1),
            ..Default::default()
        },
        ..common::config(&db)
    })
    .await;
    let mut count = engine.store().count().await.expect("count");
    for _ in 0..100 {
        if count == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        count = engine.store().count().await.expect("count");
    }
    assert_eq!(count, 1, "the start-up pass kept only the newest message");
    engine.shutdown().await;
}

#[tokio::test]
async fn a_client_text_frame_gets_an_error_frame_and_the_socket_stays_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(&dir.path().join("e.db"), None).await;
    let mut ws = common::ws_before_hello(&engine).await;
    assert!(matches!(
        ws.event_in_time().await,
        ServerEvent::Hello { .. }
    ));
    for frame in [
        tungstenite::Message::Text(r#"{"type":"subscribe"}"#.into()),
        tungstenite::Message::Binary(vec![0xff, 0x00].into()),
    ] {
        ws.stream_mut()
            .send(frame)
            .await
            .expect("client frame sent");
        let answer = ws.frame_in_time().await;
        let ServerFrame::Notice(ServerNotice::Error { error, detail }) = answer else {
            panic!("expected an error frame, got {answer:?}")
        };
        assert_eq!(error, "unsupported");
        assert!(!detail.is_empty());
    }
    // Still subscribed: a committed message arrives after the errors.
    let live = commit(&engine, 9).await;
    assert_eq!(ws.event_in_time().await, ServerEvent::Sms { message: live });
    engine.shutdown().await;
}
