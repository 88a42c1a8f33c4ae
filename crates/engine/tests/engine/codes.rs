//! Codes beyond the code (issue 22), through the real receive path (pseudo-terminal modem → driver → decode →
//! extraction → SQLite) and the real HTTP API: an origin-bound message keeps its site, a message with two codes
//! lists the other as an alternative, and the user's word (`PUT /api/messages/{id}/code`, remembered for the
//! sender) decides the sender's later messages for `/api/codes/wait` and `/api/codes/latest` until it is removed.

use std::time::Duration;

use serde_json::{json, Value};
use simrelay_engine::{Config, Engine};
use simrelay_modem::{SimOptions, Simulator};
use simrelay_protocol::{CodeCorrection, CorrectionRule, Message};
use simrelay_testkit::pdu::{deliver, SENDER};

use crate::common::{self, eventually, url};

async fn engine_on(sim: &Simulator, db: &std::path::Path) -> Engine {
    common::start(Config {
        modems: vec![sim.path().to_string_lossy().into_owned()],
        ..common::config(db)
    })
    .await
}

/// `GET /api/codes/wait` after `after` for `SENDER`: the message, or `None` on `204`.
async fn wait(engine: &Engine, after: i64, timeout: &str) -> Option<Message> {
    let response = reqwest::get(url(
        engine,
        &format!(
            "/api/codes/wait?after={after}&sender={}&timeout={timeout}",
            SENDER.replace('+', "%2B")
        ),
    ))
    .await
    .expect("wait");
    match response.status().as_u16() {
        200 => Some(response.json().await.expect("a message")),
        204 => None,
        other => panic!(
            "wait answered {other}: {}",
            response.text().await.unwrap_or_default()
        ),
    }
}

/// Delivers `text` from `SENDER` and waits until it is stored; returns it as stored.
async fn receive(engine: &Engine, sim: &Simulator, text: &str) -> Message {
    let store = engine.store().clone();
    let before = store.max_id().await.expect("max id");
    sim.deliver(deliver(SENDER, text));
    eventually("the message to be stored", || {
        let store = store.clone();
        async move { store.max_id().await.expect("max id") > before }
    })
    .await;
    store.recent(1).await.expect("recent").remove(0)
}

async fn choose(engine: &Engine, id: i64, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .put(url(engine, &format!("/api/messages/{id}/code")))
        .json(&body)
        .send()
        .await
        .expect("put");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_alternatives_and_the_users_word_reach_wait_and_latest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = Simulator::start(SimOptions::default())
        .await
        .expect("simulator");
    let engine = engine_on(&sim, &dir.path().join("codes.db")).await;

    // An origin-bound message: the code comes with its site, exactly, to a waiter that was already waiting.
    let start = engine.store().max_id().await.expect("max id");
    let waiting = tokio::spawn({
        let engine_url = url(
            &engine,
            &format!("/api/codes/wait?after={start}&timeout=120s"),
        );
        async move {
            reqwest::get(engine_url)
                .await
                .expect("wait")
                .json::<Message>()
                .await
                .expect("a message")
        }
    });
    let bound = receive(
        &engine,
        &sim,
        "Your old code 552019 has expired.\n\n@login.example #730215 @pay.example",
    )
    .await;
    let waited = tokio::time::timeout(Duration::from_secs(120), waiting)
        .await
        .expect("the waiter answers")
        .expect("the waiter's task");
    assert_eq!(waited.id, bound.id);
    assert_eq!(waited.code.as_deref(), Some("730215"));
    let origin = waited.origin.as_ref().expect("an origin");
    assert_eq!(origin.host, "login.example");
    assert_eq!(origin.embedded.as_deref(), Some("pay.example"));
    assert_eq!(waited.confidence, Some(1.0));
    let latest: Message = common::get_json(&engine, "/api/codes/latest").await;
    assert_eq!(latest.origin, waited.origin);

    // Two codes: the extractor takes one and lists the other.
    let two = receive(
        &engine,
        &sim,
        "Security code: 55102288\nVerification code: 482913",
    )
    .await;
    assert_eq!(two.code.as_deref(), Some("482913"));
    assert_eq!(two.alternatives[0].code, "55102288");
    let confidence = two.confidence.expect("a confidence");
    assert!(confidence > 0.5 && confidence < 1.0, "{confidence}");

    // Bad choices are refused by name and change nothing.
    let (status, body) = choose(&engine, two.id, json!({"code": "999999"})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("not_a_candidate"))
    );
    let (status, _) = choose(&engine, two.id + 1000, json!({"code": null})).await;
    assert_eq!(status, 404);
    let (status, _) = choose(&engine, two.id, json!({"code": "55102288", "extra": 1})).await;
    assert_eq!(status, 400);
    let (status, _) = choose(&engine, two.id, json!(["55102288"])).await;
    assert_eq!(status, 400);

    // "Not this one": the 8-digit one, remembered for the sender.
    let (status, body) = choose(
        &engine,
        two.id,
        json!({"code": "55102288", "remember": true}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let chosen: Message = serde_json::from_value(body).expect("a message");
    assert_eq!(chosen.code.as_deref(), Some("55102288"));
    assert_eq!(chosen.alternatives[0].code, "482913");
    let stored: Message = common::get_json(&engine, &format!("/api/messages/{}", two.id)).await;
    assert_eq!(stored.code.as_deref(), Some("55102288"));
    let corrections: Vec<CodeCorrection> = common::get_json(&engine, "/api/corrections").await;
    assert_eq!(corrections.len(), 1);
    assert_eq!(corrections[0].sender, SENDER);
    assert!(matches!(
        corrections[0].rule,
        CorrectionRule::Shape { code_len: 8, .. }
    ));

    // The sender's next message with two codes: the remembered shape wins, for the waiter too.
    let next = receive(
        &engine,
        &sim,
        "Security code: 66213399\nVerification code: 593024",
    )
    .await;
    assert_eq!(next.code.as_deref(), Some("66213399"));
    let waited = wait(&engine, two.id, "30s").await.expect("a code");
    assert_eq!(
        (waited.id, waited.code.as_deref()),
        (next.id, Some("66213399"))
    );

    // "This sender never sends codes": its later messages carry none, and the wait does not answer with them.
    let (status, body) = choose(&engine, next.id, json!({"code": null, "remember": true})).await;
    assert_eq!(status, 200, "{body}");
    let silent = receive(&engine, &sim, "Your code is 730216").await;
    assert_eq!(silent.code, None);
    assert_eq!(silent.alternatives[0].code, "730216");
    assert_eq!(wait(&engine, next.id, "1s").await, None);
    let latest: Message = common::get_json(
        &engine,
        &format!("/api/codes/latest?sender={}", SENDER.replace('+', "%2B")),
    )
    .await;
    assert_eq!(
        latest.id, two.id,
        "the newest message of the sender that still has a code"
    );

    // Removed in Settings: the sender's codes come back.
    let removed = reqwest::Client::new()
        .delete(url(
            &engine,
            &format!("/api/corrections/{}", SENDER.replace('+', "%2B")),
        ))
        .send()
        .await
        .expect("delete");
    assert_eq!(removed.status().as_u16(), 204);
    let again = reqwest::Client::new()
        .delete(url(
            &engine,
            &format!("/api/corrections/{}", SENDER.replace('+', "%2B")),
        ))
        .send()
        .await
        .expect("delete");
    assert_eq!(again.status().as_u16(), 404);
    let back = receive(&engine, &sim, "Your code is 730217").await;
    assert_eq!(back.code.as_deref(), Some("730217"));
    let waited = wait(&engine, silent.id, "30s").await.expect("a code");
    assert_eq!(waited.code.as_deref(), Some("730217"));
    engine.shutdown().await;
}
