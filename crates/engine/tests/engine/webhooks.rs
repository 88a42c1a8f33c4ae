//! Webhooks through the outbox, against a local HTTP receiver: signatures checked with Python's hmac (an
//! implementation independent of the engine's), one event id across retries, a restart and a replay, the
//! delivery log, giving up after the retry window, and `hook_url` as one such target.

use std::time::{Duration, Instant};

use serde_json::json;
use simrelay_engine::deliver::{Backoff, DeliveryOptions};
use simrelay_protocol::{Delivery, DeliveryPage, DeliveryStatus, Forwarder, ForwarderKind};

use simrelay_testkit::receiver::Receiver;

use crate::common::{commit, config, eventually, start, url};
use crate::forwarders::message;

async fn receiver(script: &[u16], delay: Duration) -> Receiver {
    Receiver::start(script, delay).await.expect("a receiver")
}

const SECRET: &str = "test-secret-0123456789";

fn webhook(name: &str, receiver: &Receiver) -> Forwarder {
    let mut f = Forwarder::new(name, ForwarderKind::Webhook);
    f.url = Some(receiver.url("/hook"));
    f.secret = Some(SECRET.into());
    f
}

fn fast(first: Duration, window: Duration) -> DeliveryOptions {
    DeliveryOptions {
        backoff: Backoff { first, window },
        timeout: Duration::from_secs(5),
    }
}

async fn log(engine: &simrelay_engine::Engine, query: &str) -> Vec<Delivery> {
    let page: DeliveryPage = reqwest::get(url(engine, &format!("/api/deliveries{query}")))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    page.deliveries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_signed_and_the_body_is_the_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let receiver = receiver(&[], Duration::ZERO).await;
    let mut codes_only = webhook("codes", &receiver);
    codes_only.only_codes = true;
    let engine = start(simrelay_engine::Config {
        forwarders: vec![webhook("all", &receiver), codes_only],
        ..config(&dir.path().join("w.db"))
    })
    .await;
    let m = commit(
        &engine,
        &message(1, "m", "DemoBank", "Your code is 482913", Some("482913")),
    )
    .await;
    commit(&engine, &message(2, "m", "+4915", "no code here", None)).await;
    eventually("three requests", || async {
        receiver.requests().len() == 3
    })
    .await;

    for request in receiver.requests() {
        let timestamp = request.header("x-simrelay-timestamp").expect("timestamp");
        let signature = request.header("x-simrelay-signature").expect("signature");
        assert_eq!(
            signature,
            python_signature(SECRET, &timestamp, &request.body)
        );
        let age = chrono::Utc::now().timestamp() - timestamp.parse::<i64>().expect("seconds");
        assert!(
            (0..60).contains(&age),
            "the timestamp is the time of sending"
        );
        assert_eq!(
            request.header("content-type").as_deref(),
            Some("application/json")
        );
        assert_eq!(request.header("x-simrelay-event").as_deref(), Some("sms"));
        assert_eq!(request.header("x-simrelay-attempt").as_deref(), Some("1"));
        assert_eq!(
            request.header("x-simrelay-event-id").map(|e| e.len()),
            Some(32)
        );
    }
    let with_code: Vec<_> = receiver
        .requests()
        .into_iter()
        .filter(|r| r.json()["id"] == m.id)
        .collect();
    assert_eq!(
        with_code.len(),
        2,
        "both targets got the message with a code"
    );
    assert_eq!(with_code[0].json(), serde_json::to_value(&m).expect("json"));
    assert_ne!(
        with_code[0].header("x-simrelay-event-id"),
        with_code[1].header("x-simrelay-event-id"),
        "each delivery has its own event id"
    );
    // A tampered body does not verify.
    let r = &with_code[0];
    let tampered = python_signature(
        SECRET,
        &r.header("x-simrelay-timestamp").expect("ts"),
        b"{}",
    );
    assert_ne!(Some(tampered), r.header("x-simrelay-signature"));

    let delivered = log(&engine, "?status=delivered").await;
    assert_eq!(delivered.len(), 3);
    assert!(delivered
        .iter()
        .all(|d| d.attempts == 1 && d.delivered_at.is_some()));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_fails_twice_gets_the_event_once_across_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("r.db");
    let receiver = receiver(&[500, 503], Duration::ZERO).await;
    let setup = || simrelay_engine::Config {
        forwarders: vec![webhook("flaky", &receiver)],
        deliveries: fast(Duration::from_secs(2), Duration::from_secs(3600)),
        ..config(&db)
    };
    let engine = start(setup()).await;
    let m = commit(
        &engine,
        &message(1, "m", "DemoBank", "Your code is 482913", Some("482913")),
    )
    .await;
    // Attempt 1 at once, attempt 2 two seconds later; both fail.
    eventually("two failed attempts", || async {
        log(&engine, "")
            .await
            .first()
            .is_some_and(|d| d.attempts == 2)
    })
    .await;
    let d = &log(&engine, "").await[0];
    assert_eq!(d.status, DeliveryStatus::Pending);
    assert!(
        d.last_error.as_deref().is_some_and(|e| e.contains("503")),
        "{d:?}"
    );
    assert!(d.next_try_at.is_some());
    engine.shutdown().await;
    let restarted_at = Instant::now();
    assert_eq!(receiver.requests().len(), 2);

    // The third attempt, four seconds after the second, is made by the restarted engine.
    let engine = start(setup()).await;
    eventually("the delivery", || async {
        log(&engine, "")
            .await
            .first()
            .is_some_and(|d| d.status == DeliveryStatus::Delivered)
    })
    .await;
    // Long enough for a duplicate to show up if there were one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3, "two failures, then one delivery");
    assert!(requests[2].at > restarted_at);
    let ids: Vec<_> = requests
        .iter()
        .map(|r| r.header("x-simrelay-event-id"))
        .collect();
    assert!(
        ids.iter().all(|id| id.is_some() && *id == ids[0]),
        "one event id: {ids:?}"
    );
    let attempts: Vec<_> = requests
        .iter()
        .map(|r| r.header("x-simrelay-attempt"))
        .collect();
    assert_eq!(
        attempts,
        [Some("1".into()), Some("2".into()), Some("3".into())]
    );
    assert!(requests.iter().all(|r| r.json()["id"] == m.id));
    // Receivers that drop repeats by event id accept it exactly once; this one was asked once after failing.
    let d = &log(&engine, "").await[0];
    assert_eq!(
        (d.status, d.attempts, d.message_id),
        (DeliveryStatus::Delivered, 3, Some(m.id))
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_url_is_a_target_and_a_replay_resends_the_same_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let receiver = receiver(&[], Duration::ZERO).await;
    let engine = start(config(&dir.path().join("h.db"))).await;
    // The setting names the URL; the signing key was generated at the first start and is shown in the settings.
    let settings: serde_json::Value = reqwest::Client::new()
        .patch(url(&engine, "/api/settings"))
        .json(&json!({"hook_url": receiver.url("/hook"), "hook_only_codes": true}))
        .send()
        .await
        .expect("patch")
        .json()
        .await
        .expect("json");
    let secret = settings["hook_secret"]
        .as_str()
        .expect("a generated secret")
        .to_owned();
    assert_eq!(secret.len(), 64);

    commit(&engine, &message(1, "m", "+4915", "no code", None)).await;
    let m = commit(
        &engine,
        &message(2, "m", "DemoBank", "Code 7351", Some("7351")),
    )
    .await;
    eventually("the delivery", || async { receiver.requests().len() == 1 }).await;
    let first = &receiver.requests()[0];
    assert_eq!(
        first.json()["id"],
        m.id,
        "only_codes skipped the first message"
    );
    assert_eq!(
        first.header("x-simrelay-signature"),
        Some(python_signature(
            &secret,
            &first.header("x-simrelay-timestamp").expect("ts"),
            &first.body
        ))
    );
    let delivery = log(&engine, "?target=hook_url").await.remove(0);
    assert_eq!(
        (delivery.kind, delivery.status),
        (ForwarderKind::Webhook, DeliveryStatus::Delivered)
    );

    let replayed: Delivery = reqwest::Client::new()
        .post(url(
            &engine,
            &format!("/api/deliveries/{}/replay", delivery.id),
        ))
        .send()
        .await
        .expect("replay")
        .json()
        .await
        .expect("json");
    assert_eq!(replayed.event_id, delivery.event_id);
    eventually("the replay", || async { receiver.requests().len() == 2 }).await;
    let again = &receiver.requests()[1];
    assert_eq!(
        again.header("x-simrelay-event-id"),
        first.header("x-simrelay-event-id")
    );
    assert_eq!(again.body, first.body);
    eventually("the replay recorded", || async {
        log(&engine, "?target=hook_url").await[0].attempts == 2
    })
    .await;
    let missing = reqwest::Client::new()
        .post(url(&engine, "/api/deliveries/99999/replay"))
        .send()
        .await
        .expect("replay");
    assert_eq!(missing.status(), 404);
    let bad = reqwest::get(url(&engine, "/api/deliveries?status=lost"))
        .await
        .expect("get");
    assert_eq!(bad.status(), 400);

    // The same secret after a restart: receivers keep verifying.
    engine.shutdown().await;
    let engine = start(config(&dir.path().join("h.db"))).await;
    assert_eq!(
        engine.settings().hook_secret.as_deref(),
        Some(secret.as_str())
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_target_is_given_up_after_the_window_and_a_slow_one_does_not_hold_ingest() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Nothing listens on this port: every attempt fails to connect.
    let dead_port = simrelay_testkit::free_port().expect("a port");
    let mut dead = Forwarder::new("dead", ForwarderKind::Webhook);
    dead.url = Some(format!("http://127.0.0.1:{dead_port}/hook"));
    dead.secret = Some(SECRET.into());
    let slow_receiver = receiver(&[], Duration::from_secs(2)).await;
    let engine = start(simrelay_engine::Config {
        forwarders: vec![dead, webhook("slow", &slow_receiver)],
        deliveries: fast(Duration::from_millis(200), Duration::from_secs(2)),
        ..config(&dir.path().join("d.db"))
    })
    .await;
    let started = Instant::now();
    for n in 0..20 {
        commit(
            &engine,
            &message(n, "m", "+4915", &format!("message {n}"), None),
        )
        .await;
    }
    // Committing is not slowed by a receiver that takes 2 s per request.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    eventually("every dead delivery given up", || async {
        let dead = log(&engine, "?target=dead&limit=100").await;
        dead.len() == 20 && dead.iter().all(|d| d.status == DeliveryStatus::Failed)
    })
    .await;
    // Each was retried until its window closed; under load a late one may have had time for one attempt
    // only, but the slow target's attempts do not hold the dead one's back (each target has its own share).
    let dead = log(&engine, "?target=dead&limit=100").await;
    assert!(
        dead.iter().any(|d| d.attempts >= 2),
        "retried before giving up: {dead:?}"
    );
    assert!(
        dead.iter().all(|d| d
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("connect"))),
        "{dead:?}"
    );
    eventually("every slow delivery made", || async {
        log(&engine, "?target=slow&status=delivered&limit=100")
            .await
            .len()
            == 20
    })
    .await;
    let metrics = engine.hub().metrics().encode(&[]);
    assert!(
        metrics.contains("simrelay_deliveries_total{target=\"slow\",kind=\"webhook\"} 20"),
        "{metrics}"
    );
    assert!(metrics.contains("simrelay_delivery_failures_total{target=\"dead\",kind=\"webhook\"}"));
    engine.shutdown().await;
}

/// Checks a webhook signature with Python's `hmac` module: an implementation independent of the engine's.
pub fn python_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let script = "import hmac, hashlib, sys\n\
                  secret, ts = sys.argv[1].encode(), sys.argv[2].encode()\n\
                  body = sys.stdin.buffer.read()\n\
                  print('sha256=' + hmac.new(secret, ts + b'.' + body, hashlib.sha256).hexdigest())";
    use std::process::{Command, Stdio};
    let mut child = Command::new("python3")
        .args(["-c", script, secret, timestamp])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body)
        .expect("write body");
    let out = child.wait_with_output().expect("python3 finishes");
    assert!(out.status.success(), "python3 failed");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}
