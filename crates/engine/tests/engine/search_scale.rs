//! Search latency over a large generated history. Ignored by default (it takes a while); run with
//! `SIMRELAY_SEARCH_N=1000000 cargo test --release -p simrelay-engine --test engine search_scale -- --ignored --nocapture`.
//! Prints p50/p95 per query and fails when a p95 exceeds `SIMRELAY_SEARCH_P95_MS` (default 20). The common
//! word and the prefix are the cases the prefix expansion in `store/search.rs` is for; "best match" ranks the
//! newest `RANK_WINDOW` matches.

use std::time::{Duration, Instant};

use chrono::DateTime;
use simrelay_engine::store::{MessageQuery, NewMessage, Order, Store};

const WORDS: &[&str] = &[
    "verification",
    "code",
    "bank",
    "login",
    "delivery",
    "parcel",
    "lunch",
    "meeting",
    "payment",
    "card",
    "approved",
    "código",
    "Bestätigungscode",
    "votre",
    "flight",
    "gate",
    "boarding",
    "reminder",
    "appointment",
];
const SENDERS: &[&str] = &[
    "DemoBank",
    "DemoShop",
    "+15555550123",
    "DemoAir",
    "DemoMail",
    "+15555550188",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: generates a large database"]
async fn search_p95_over_a_large_history() {
    let n: u32 = std::env::var("SIMRELAY_SEARCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let budget_ms: u128 = std::env::var("SIMRELAY_SEARCH_P95_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("scale.db"))
        .await
        .expect("open");
    let sent_at = DateTime::parse_from_rfc3339("2026-11-22T10:00:00+01:00").expect("valid");
    let started = Instant::now();
    // Deterministic pseudo-random text (xorshift), so runs are comparable.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..n {
        let words: Vec<&str> = (0..8)
            .map(|_| WORDS[(next() % WORDS.len() as u64) as usize])
            .collect();
        let code = (next() % 2 == 0).then(|| format!("{:06}", next() % 1_000_000));
        let text = format!("{} {}", words.join(" "), code.as_deref().unwrap_or(""));
        let message = NewMessage {
            modem: "m".into(),
            sender: SENDERS[(next() % SENDERS.len() as u64) as usize].into(),
            text,
            code,
            code_span: None,
            confidence: None,
            origin: None,
            alternatives: Vec::new(),
            sent_at,
            encoding: Some("gsm7".into()),
            decode_error: None,
            incomplete: false,
            pdus: vec![i.to_be_bytes().to_vec()],
            extra_pdus: Vec::new(),
            ..NewMessage::default()
        };
        store.insert_message(&message).await.expect("insert");
    }
    println!("generated {n} messages in {:?}", started.elapsed());

    let queries = [
        (
            "rare word",
            MessageQuery {
                text: Some("appointment reminder".into()),
                limit: 50,
                ..MessageQuery::default()
            },
        ),
        (
            "common word",
            MessageQuery {
                text: Some("code".into()),
                limit: 50,
                ..MessageQuery::default()
            },
        ),
        (
            "prefix",
            MessageQuery {
                text: Some("verif".into()),
                limit: 50,
                ..MessageQuery::default()
            },
        ),
        (
            "best match",
            MessageQuery {
                text: Some("code".into()),
                order: Order::Relevance,
                limit: 50,
                ..MessageQuery::default()
            },
        ),
        (
            "sender filter",
            MessageQuery {
                sender: Some("DemoAir".into()),
                limit: 50,
                ..MessageQuery::default()
            },
        ),
        (
            "codes only",
            MessageQuery {
                has_code: Some(true),
                limit: 50,
                ..MessageQuery::default()
            },
        ),
        (
            "deep page",
            MessageQuery {
                before: Some(i64::from(n / 2)),
                limit: 50,
                ..MessageQuery::default()
            },
        ),
    ];
    let mut worst = Duration::ZERO;
    for (name, query) in &queries {
        let mut times = Vec::new();
        for _ in 0..40 {
            let t = Instant::now();
            let found = store.search(query).await.expect("search");
            times.push(t.elapsed());
            assert!(!found.messages.is_empty(), "{name} finds something");
        }
        times.sort();
        let (p50, p95) = (times[times.len() / 2], times[times.len() * 95 / 100]);
        println!("{name:>14}: p50 {p50:?}  p95 {p95:?}");
        worst = worst.max(p95);
    }
    assert!(
        worst.as_millis() <= budget_ms,
        "worst p95 {worst:?} over {budget_ms} ms"
    );
}
