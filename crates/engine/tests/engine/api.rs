//! The HTTP API beyond the walking skeleton: search and paging, message detail and delete, codes (latest and
//! the long poll, with a thousand concurrent waiters), modems, export, and the WebSocket's slow-client cutoff.
//! A real engine on an ephemeral port with a real SQLite file, real reqwest / tokio-tungstenite clients.

use std::time::{Duration, Instant};

use serde_json::Value;
use simrelay_engine::store::NewMessage;
use simrelay_engine::Engine;
use simrelay_protocol::{ApiError, Message, MessagePage, ServerEvent};
use simrelay_testkit::ws::WsClient;

use crate::common::{self, commit, get_json, url};

fn new_message(n: u32, sender: &str, text: &str, code: Option<&str>) -> NewMessage {
    NewMessage {
        modem: if n.is_multiple_of(2) {
            "m0".into()
        } else {
            "m1".into()
        },
        encoding: Some("gsm7".into()),
        ..common::message(n.to_be_bytes().to_vec(), sender, text, code)
    }
}

async fn expect_error(engine: &Engine, path: &str, status: u16, kind: &str) {
    let r = common::get(engine, path).await;
    common::expect_error(r, status, kind).await;
}

#[tokio::test]
async fn search_filters_and_pages_over_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = common::start_in(dir.path()).await;
    let mut ids = Vec::new();
    for n in 0..12 {
        let (sender, text, code) = match n % 3 {
            0 => (
                "DemoBank",
                "Your DemoBank verification code is 482913",
                Some("482913"),
            ),
            1 => ("+15555550123", "Lunch at 12:30? Table booked", None),
            _ => ("DemoShop", "Código de confirmación: 7351", Some("7351")),
        };
        ids.push(
            commit(&engine, &new_message(n, sender, text, code))
                .await
                .id,
        );
    }
    let page: MessagePage = get_json(&engine, "/api/messages?q=codigo&limit=2").await;
    assert_eq!(
        page.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![ids[11], ids[8]]
    );
    let next = page.next.expect("more pages");
    let [s, e] = page.highlights[&ids[11]][0];
    assert_eq!(&page.messages[0].text[s..e], "Código");
    let rest: MessagePage = get_json(
        &engine,
        &format!("/api/messages?q=codigo&limit=2&before={next}"),
    )
    .await;
    assert_eq!(
        rest.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![ids[5], ids[2]]
    );
    assert_eq!(rest.next, None);

    let bank: MessagePage = get_json(&engine, "/api/messages?sender=DemoBank&has_code=true").await;
    assert_eq!(bank.messages.len(), 4);
    let no_code: MessagePage = get_json(&engine, "/api/messages?has_code=false&modem=m1").await;
    assert!(no_code
        .messages
        .iter()
        .all(|m| m.code.is_none() && m.modem == "m1"));
    assert_eq!(no_code.messages.len(), 2);
    let since: MessagePage = get_json(&engine, "/api/messages?since=2100-01-01T00:00:00Z").await;
    assert!(since.messages.is_empty());
    let relevance: MessagePage = get_json(&engine, "/api/messages?q=demobank&sort=relevance").await;
    assert_eq!(relevance.messages.len(), 4);
    // Percent-encoded query with FTS5 operators is still just a search.
    let weird: MessagePage = get_json(&engine, "/api/messages?q=%22code%22%20OR%20NEAR(").await;
    assert!(weird.messages.is_empty());

    for bad in [
        "/api/messages?limit=501",
        "/api/messages?has_code=perhaps",
        "/api/messages?since=yesterday",
        "/api/messages?before=abc",
        "/api/messages?sort=random",
        &format!("/api/messages?q={}", "x".repeat(300)),
    ] {
        expect_error(&engine, bad, 400, "bad_request").await;
    }
    engine.shutdown().await;
}

#[tokio::test]
async fn message_detail_delete_modems_and_export() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = common::start_in(dir.path()).await;
    let a = commit(
        &engine,
        &new_message(
            1,
            "=cmd|' /C calc'!A0",
            "first, \"quoted\"\nline",
            Some("1234"),
        ),
    )
    .await;
    let b = commit(&engine, &new_message(2, "+4915123456789", "second", None)).await;

    let detail: Value = get_json(&engine, &format!("/api/messages/{}", a.id)).await;
    assert_eq!(detail["id"], a.id);
    assert_eq!(detail["text"], a.text);
    assert_eq!(detail["pdus"], serde_json::json!(["00000001"]));
    // The detail is a Message with extra fields: an older client still parses it.
    let as_message: Message = serde_json::from_value(detail).expect("a Message");
    assert_eq!(as_message, a);
    expect_error(&engine, "/api/messages/999999", 404, "not_found").await;
    expect_error(&engine, "/api/messages/abc", 400, "bad_request").await;

    let http = common::client(&engine);
    let deleted = http
        .delete(url(&engine, &format!("/api/messages/{}", b.id)))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 204);
    let again = http
        .delete(url(&engine, &format!("/api/messages/{}", b.id)))
        .send()
        .await
        .expect("delete");
    assert_eq!(again.status(), 404);

    let modems: Value = get_json(&engine, "/api/modems").await;
    assert_eq!(modems, serde_json::json!({"modems": []}));

    let jsonl = common::get(&engine, "/api/export?format=jsonl").await;
    assert_eq!(jsonl.headers()["content-type"], "application/x-ndjson");
    let body = jsonl.text().await.expect("body");
    let exported: Vec<Message> = body
        .lines()
        .map(|l| serde_json::from_str(l).expect("line"))
        .collect();
    assert_eq!(exported, vec![a.clone()]);

    let csv = common::get(&engine, "/api/export?format=csv").await;
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .expect("ascii")
        .contains("simrelay-messages.csv"));
    let body = csv.text().await.expect("body");
    assert!(body.starts_with("id,modem,sender,"), "{body}");
    assert!(
        body.contains("\"'=cmd|' /C calc'!A0\""),
        "formula defused: {body}"
    );
    assert!(body.contains("\"first, \"\"quoted\"\"\nline\""), "{body}");
    expect_error(&engine, "/api/export?format=xml", 400, "bad_request").await;
    engine.shutdown().await;
}

#[tokio::test]
async fn export_streams_more_than_one_chunk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = common::start_in(dir.path()).await;
    for n in 0..1203 {
        engine
            .store()
            .insert_message(&new_message(n, "S", &format!("message {n}"), None))
            .await
            .expect("insert");
    }
    let body = common::get(&engine, "/api/export")
        .await
        .text()
        .await
        .expect("body");
    let lines: Vec<Message> = body
        .lines()
        .map(|l| serde_json::from_str(l).expect("line"))
        .collect();
    assert_eq!(lines.len(), 1203);
    assert!(
        lines.windows(2).all(|w| w[0].id < w[1].id),
        "oldest first, no repeats"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn codes_latest_and_wait() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = common::start_in(dir.path()).await;
    expect_error(&engine, "/api/codes/latest", 404, "not_found").await;
    let first = commit(
        &engine,
        &new_message(1, "DemoBank", "code 111111", Some("111111")),
    )
    .await;
    commit(&engine, &new_message(2, "Friend", "no code", None)).await;
    let latest: Message = get_json(&engine, "/api/codes/latest").await;
    assert_eq!(latest, first);
    expect_error(&engine, "/api/codes/latest?sender=Nobody", 404, "not_found").await;

    // A code already newer than `after` answers at once.
    let now: Message = get_json(&engine, "/api/codes/wait?after=0&timeout=5s").await;
    assert_eq!(now.id, first.id);
    // Nothing new: 204 after the timeout, not before.
    let started = Instant::now();
    let r = common::get(&engine, "/api/codes/wait?timeout=300ms").await;
    assert_eq!(r.status(), 204);
    assert!(started.elapsed() >= Duration::from_millis(300));
    expect_error(&engine, "/api/codes/wait?timeout=1h", 400, "bad_request").await;
    expect_error(&engine, "/api/codes/wait?timeout=301s", 400, "bad_request").await;

    // A waiter filtered by sender ignores other senders' codes.
    let filtered = tokio::spawn(
        common::client(&engine)
            .get(url(&engine, "/api/codes/wait?sender=DemoShop&timeout=10s"))
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    commit(
        &engine,
        &new_message(3, "DemoBank", "code 222222", Some("222222")),
    )
    .await;
    let shop = commit(
        &engine,
        &new_message(4, "DemoShop", "code 7351", Some("7351")),
    )
    .await;
    let got: Message = filtered
        .await
        .expect("task")
        .expect("wait")
        .json()
        .await
        .expect("json");
    assert_eq!(got, shop);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_waiters_are_released_by_one_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = common::start_in(dir.path()).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    // From the start of the (empty) history, so a waiter that reaches the server late still gets the message.
    let wait_url = url(&engine, "/api/codes/wait?after=0&timeout=60s");
    let token = engine.token().to_owned();
    let waiters: Vec<_> = (0..1000)
        .map(|_| {
            let http = http.clone();
            let wait_url = wait_url.clone();
            let token = token.clone();
            tokio::spawn(async move { http.get(wait_url).bearer_auth(token).send().await })
        })
        .collect();
    // Let every request reach the server and subscribe (each answers 204 only after 60 s, so none is done).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        waiters.iter().all(|w| !w.is_finished()),
        "no waiter may answer before the message"
    );
    let started = Instant::now();
    let message = commit(
        &engine,
        &new_message(1, "DemoBank", "code 482913", Some("482913")),
    )
    .await;
    for waiter in waiters {
        let response = waiter.await.expect("task").expect("response");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.json::<Message>().await.expect("json").id,
            message.id
        );
    }
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(10), "released in {elapsed:?}");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_client_that_stops_reading_is_cut_off_and_others_keep_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = common::start_in(dir.path()).await;
    let mut fast = common::ws(&engine).await;
    let mut slow = common::ws(&engine).await;
    // Published straight to the hub (no store) so the test is about the socket, not SQLite.
    const EVENTS: i64 = 3000;
    let big_text = "x".repeat(16 * 1024);
    let template = commit(&engine, &new_message(1, "S", "seed", None)).await;
    assert!(matches!(
        next_event(&mut fast).await,
        Some(ServerEvent::Sms { .. })
    ));
    // Lockstep with the fast client: it always keeps up, so only the other one can fall behind.
    for i in 0..EVENTS {
        engine.hub().publish_sms(Message {
            id: 1_000 + i,
            text: big_text.clone(),
            ..template.clone()
        });
        match next_event(&mut fast).await {
            Some(ServerEvent::Sms { message }) => {
                assert_eq!(message.id, 1_000 + i, "in order, none missed")
            }
            other => panic!("fast client got {other:?} at {i}"),
        }
    }
    // The slow client now reads: it finds what the kernel had buffered, then the end of the connection.
    let mut slow_count = 0;
    let started = Instant::now();
    while let Some(event) = next_event(&mut slow).await {
        assert!(matches!(event, ServerEvent::Sms { .. }));
        slow_count += 1;
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the slow connection never ended"
        );
    }
    assert!(
        slow_count < EVENTS,
        "the slow client was cut off (it got {slow_count} of {EVENTS})"
    );
    engine.shutdown().await;
}

/// The next event, or `None` when the server closed (or dropped) the connection.
async fn next_event(ws: &mut WsClient) -> Option<ServerEvent> {
    ws.next_event(Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| match e {
            simrelay_testkit::KitError::Timeout(..) => panic!("{e}"),
            _ => None,
        })
}

#[tokio::test]
async fn send_without_a_modem_is_a_conflict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = common::start_in(dir.path()).await;
    let r = common::client(&engine)
        .post(url(&engine, "/api/send"))
        .json(&serde_json::json!({"to": "+4915123456789", "text": "hi"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<ApiError>().await.expect("json").error, "no_modem");
    engine.shutdown().await;
}
