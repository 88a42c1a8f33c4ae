//! Hooks against real processes and a real HTTP server: a command gets the message on stdin and in
//! `SIMRELAY_*` variables; a webhook that fails first is retried; `only_codes` skips messages without a code.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::post;
use simrelay_engine::hooks::Hooks;
use simrelay_engine::Config;
use simrelay_protocol::Message;

use crate::common::{self, commit, message};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_and_webhook_hooks_run_for_messages_with_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("hook-out");

    // A webhook receiver that fails the first request, to prove the retry.
    let received: Arc<Mutex<Vec<Message>>> = Arc::default();
    let calls = Arc::new(Mutex::new(0u32));
    let app = {
        let (received, calls) = (received.clone(), calls.clone());
        axum::Router::new().route(
            "/hook",
            post(move |axum::Json(message): axum::Json<Message>| {
                let (received, calls) = (received.clone(), calls.clone());
                async move {
                    let mut calls = calls.lock().expect("lock");
                    *calls += 1;
                    if *calls == 1 {
                        return StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    received.lock().expect("lock").push(message);
                    StatusCode::NO_CONTENT
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hook_addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let engine = common::start(Config {
        hooks: Hooks {
            command: vec![
                "sh".into(),
                "-c".into(),
                // stdin (the JSON) then the variables, appended per run.
                r#"cat >> "$1"; printf '\n%s|%s|%s\n' "$SIMRELAY_ID" "$SIMRELAY_SENDER" "$SIMRELAY_CODE" >> "$1""#.into(),
                "hook".into(),
                out.to_string_lossy().into_owned(),
            ],
            url: Some(format!("http://{hook_addr}/hook")),
            only_codes: true,
            timeout_secs: 5,
        },
        // The URL goes through the outbox, which retries after 10 s; a test has no time for that.
        deliveries: simrelay_engine::deliver::DeliveryOptions {
            backoff: simrelay_engine::deliver::Backoff {
                first: Duration::from_millis(200),
                ..simrelay_engine::deliver::Backoff::default()
            },
            timeout: Duration::from_secs(5),
        },
        ..common::config(&dir.path().join("hooks.db"))
    })
    .await;

    commit(
        &engine,
        &message(vec![1], "DemoBank", "no code; hooks skip this one", None),
    )
    .await;
    let with_code = commit(
        &engine,
        &message(vec![2], "DemoBank", "Your code is 482913", Some("482913")),
    )
    .await;

    let mut text = String::new();
    for _ in 0..200 {
        text = std::fs::read_to_string(&out).unwrap_or_default();
        if text.lines().count() >= 2 && received.lock().expect("lock").len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "one run, for the message with a code: {text}"
    );
    let from_stdin: Message = serde_json::from_str(lines[0]).expect("stdin JSON");
    assert_eq!(from_stdin, with_code);
    assert_eq!(lines[1], format!("{}|DemoBank|482913", with_code.id));
    assert_eq!(*received.lock().expect("lock"), vec![with_code]);
    assert_eq!(*calls.lock().expect("lock"), 2, "failed once, retried once");
    engine.shutdown().await;
}
