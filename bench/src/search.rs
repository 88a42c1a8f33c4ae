//! Search: `GET /api/messages?q=...` over a large store, p50/p95 per query.
//!
//! First it checks that the server searches at all: a query that matches nothing must come back empty. If the
//! API ignores `q` (no search at this commit), the scenario says so instead of timing a plain listing. Filling
//! a million messages through the modem path would take hours, so the store is filled with batched inserts into
//! the engine's own `messages` table while the server is stopped (its migrations create the schema and any
//! full-text index triggers first), then the server is started again on that file.

use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::Rng;
use serde_json::json;
use simrelay_bench::client::{Flavor, SmsClient};
use simrelay_bench::http;
use simrelay_bench::stats::Summary;
use simrelay_modem::{SimOptions, Simulator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

use crate::setup::{ms, path_of, start_server, warm_up, Opts};

/// Words the generated messages are made of; queries pick from them.
const WORDS: &[&str] = &[
    "verification",
    "code",
    "bank",
    "login",
    "parcel",
    "delivery",
    "appointment",
    "reminder",
    "password",
    "account",
    "transfer",
    "invoice",
    "ticket",
    "booking",
    "confirm",
    "security",
    "alert",
    "payment",
    "welcome",
    "order",
    "shipped",
    "pharmacy",
    "doctor",
    "school",
    "meeting",
    "train",
    "flight",
    "hotel",
];

pub async fn run(opts: &Opts) -> anyhow::Result<serde_json::Value> {
    let messages = opts.number("messages", 1_000_000)?;
    let queries = usize::try_from(opts.number("queries", 200)?)?;
    let tag = format!("search-{}", std::process::id());
    let sim = Simulator::start(SimOptions::default()).await?;
    let mut server = start_server(Flavor::SimRelay, opts, &[path_of(&sim)], &tag).await?;
    let mut client = SmsClient::connect(Flavor::SimRelay, server.addr, None).await?;
    warm_up(&sim, &mut client, 2).await?;
    client.close().await;

    let probe = http::get(
        server.addr,
        "/api/messages?q=zqxjkvbnonexistent&limit=5",
        None,
    )
    .await?;
    let body: serde_json::Value = serde_json::from_slice(&probe.body).unwrap_or_default();
    let returned = body["messages"].as_array().map_or(0, Vec::len);
    if probe.status != 200 || returned > 0 {
        return Ok(json!({
            "scenario": "search",
            "available": false,
            "reason": format!(
                "`GET /api/messages?q=<a word in no message>` answered {} with {returned} messages, so the API \
                 at this commit does not search (it ignores or rejects `q`).",
                probe.status
            ),
        }));
    }
    server.kill();

    let db = opts.work.join(format!("{tag}.db"));
    fill(&db, messages).await.context("cannot fill the store")?;
    // Same tag: the same database file.
    let server = start_server(Flavor::SimRelay, opts, &[], &tag).await?;
    let mut times = Vec::with_capacity(queries);
    let mut hits = 0;
    for _ in 0..queries {
        let word = WORDS[rand::rng().random_range(0..WORDS.len())];
        let start = Instant::now();
        let response = http::get(
            server.addr,
            &format!("/api/messages?q={word}&limit=50"),
            None,
        )
        .await?;
        times.push(ms(start.elapsed()));
        anyhow::ensure!(
            response.status == 200,
            "search answered {}",
            response.status
        );
        let body: serde_json::Value = serde_json::from_slice(&response.body)?;
        hits += body["messages"].as_array().map_or(0, Vec::len);
    }
    Ok(json!({
        "scenario": "search",
        "available": true,
        "messages": messages,
        "queries": queries,
        "hits_per_query": hits as f64 / queries as f64,
        "query_ms": Summary::of(&times),
    }))
}

/// Inserts `count` messages of random words into the engine's `messages` table, 10,000 per transaction.
async fn fill(db: &std::path::Path, count: u64) -> anyhow::Result<()> {
    let mut conn = SqliteConnectOptions::from_str("sqlite:")?
        .filename(db)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(30))
        .connect()
        .await?;
    let mut rng = rand::rng();
    let mut i = 0;
    while i < count {
        let mut tx = conn.begin().await?;
        for _ in 0..10_000.min(count - i) {
            let words: Vec<&str> = (0..12)
                .map(|_| WORDS[rng.random_range(0..WORDS.len())])
                .collect();
            sqlx::query(
                "INSERT INTO messages (modem, sender, text, sent_at, received_at, encoding, pdu_sha256)
                 VALUES ('bench', ?, ?, '2026-11-22T10:00:00+01:00', '2026-11-22T09:00:00.000000+00:00', 'gsm7', ?)",
            )
            .bind(format!("+49151{:07}", i % 10_000_000))
            .bind(format!("{} {}", words.join(" "), i))
            .bind(format!("{i:064x}"))
            .execute(&mut *tx)
            .await?;
            i += 1;
        }
        tx.commit().await?;
    }
    conn.close().await?;
    Ok(())
}
