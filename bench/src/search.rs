//! Search: `GET /api/messages?q=...` over a large store, p50/p95 per query: a rare term (one match) beside a
//! common word (a third of the store), and typed prefixes that complete to more index terms than the engine
//! expands (`--prefix-queries`: 4 of a reference's 7 digits, ~1,000 terms; `--short-prefix-queries`: 2 digits,
//! ~100,000 terms).
//!
//! First it checks that the server searches at all: a query that matches nothing must come back empty. If the
//! API ignores `q` (no search at this commit), the scenario says so instead of timing a plain listing. Filling
//! a million messages through the modem path would take hours, so the store is filled with batched inserts into
//! the engine's own `messages` table while the server is stopped (its migrations create the schema and any
//! full-text index triggers first), then the server is started again on that file.
//!
//! `--db postgres` does the same on a PostgreSQL database (a server this process starts, see [`Database`]): the
//! rows go in with `COPY` (the generated `tsvector` column and its GIN index are computed as for any insert),
//! then `VACUUM ANALYZE` does what autovacuum does on a store that grew over time.

use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::Rng;
use serde_json::json;
use simrelay_bench::client::{Flavor, SmsClient};
use simrelay_bench::stats::Summary;
use simrelay_modem::{SimOptions, Simulator};
use simrelay_testkit::http;
use simrelay_testkit::process::ServerProcess;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

use crate::setup::{ms, path_of, start_node, warm_up, Database, Opts};

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
    let common_queries = usize::try_from(opts.number("common-queries", 10)?)?;
    let prefix_queries = usize::try_from(opts.number("prefix-queries", 0)?)?;
    let short_prefix_queries = usize::try_from(opts.number("short-prefix-queries", 0)?)?;
    let tag = format!("search-{}", std::process::id());
    let database = Database::from_opts(opts)?;
    let sim = Simulator::start(SimOptions::default()).await?;
    let mut server = start_node(opts, &[path_of(&sim)], &tag, database.url(), None).await?;
    let mut client =
        SmsClient::connect(Flavor::SimRelay, server.addr, server.token.as_deref()).await?;
    warm_up(&sim, &mut client, 2).await?;
    client.close().await;

    let probe = http::get(
        server.addr,
        "/api/messages?q=zqxjkvbnonexistent&limit=5",
        server.token.as_deref(),
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
    match database.url() {
        Some(url) => fill_postgres(url, messages).await,
        None => fill(&db, messages).await,
    }
    .context("cannot fill the store")?;
    // Same tag and database: the same store.
    let server = start_node(opts, &[], &tag, database.url(), None).await?;
    // A rare term (one message's reference, the usual "find that message" lookup) and a common word (in about
    // a third of all messages: the worst case for newest-first ordering of the matches).
    let mut rare = Vec::with_capacity(queries);
    let mut rare_hits = 0;
    for _ in 0..queries {
        let reference = rand::rng().random_range(0..messages);
        let (took, hits) = query(&server, &format!("ref{reference:07}")).await?;
        rare.push(took);
        rare_hits += hits;
    }
    let mut common = Vec::with_capacity(common_queries);
    let mut common_hits = 0;
    for _ in 0..common_queries {
        let word = WORDS[rand::rng().random_range(0..WORDS.len())];
        let (took, hits) = query(&server, word).await?;
        common.push(took);
        common_hits += hits;
    }
    // Typed prefixes of a reference, as while the user is still typing it: `ref` and 4 of its 7 digits
    // completes to up to 1,000 index terms, 2 digits to up to 100,000, far beyond what the engine expands into
    // exact terms (32), so these take FTS5's prefix path.
    let (prefix, prefix_terms) = prefixes(&server, messages, 4, prefix_queries).await?;
    let (short_prefix, short_prefix_terms) =
        prefixes(&server, messages, 2, short_prefix_queries).await?;
    drop(server);
    // Half a gigabyte; nothing in it is worth a post-mortem.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    Ok(json!({
        "scenario": "search",
        "available": true,
        "db": database.kind(),
        "messages": messages,
        "rare_queries": queries,
        "rare_hits_per_query": rare_hits as f64 / queries.max(1) as f64,
        "rare_ms": Summary::of(&rare),
        "common_queries": common_queries,
        "common_hits_per_query": common_hits as f64 / common_queries.max(1) as f64,
        "common_ms": Summary::of(&common),
        "prefix_queries": prefix_queries,
        "prefix_terms_per_query": prefix_terms,
        "prefix_ms": Summary::of(&prefix),
        "short_prefix_queries": short_prefix_queries,
        "short_prefix_terms_per_query": short_prefix_terms,
        "short_prefix_ms": Summary::of(&short_prefix),
    }))
}

/// `count` queries for `ref` followed by the first `digits` of a random reference's 7 digits: their times, and
/// how many index terms (references) each prefix completes to, on average.
async fn prefixes(
    server: &ServerProcess,
    messages: u64,
    digits: u32,
    count: usize,
) -> anyhow::Result<(Vec<f64>, f64)> {
    let width = 10u64.pow(7 - digits);
    let mut times = Vec::with_capacity(count);
    let mut terms = 0;
    for _ in 0..count {
        let head = rand::rng().random_range(0..messages) / width;
        let (took, _) = query(
            server,
            &format!("ref{head:0digits$}", digits = digits as usize),
        )
        .await?;
        times.push(took);
        // References are 0..messages: those in [head * width, (head + 1) * width).
        terms += width.min(messages - head * width);
    }
    Ok((times, terms as f64 / count.max(1) as f64))
}

/// One `GET /api/messages?q=TERM&limit=50`: milliseconds and results.
async fn query(server: &ServerProcess, term: &str) -> anyhow::Result<(f64, usize)> {
    let start = Instant::now();
    let path = format!("/api/messages?q={term}&limit=50");
    let response = http::get(server.addr, &path, server.token.as_deref()).await?;
    let took = ms(start.elapsed());
    anyhow::ensure!(
        response.status == 200,
        "search answered {}",
        response.status
    );
    let body: serde_json::Value = serde_json::from_slice(&response.body)?;
    Ok((took, body["messages"].as_array().map_or(0, Vec::len)))
}

/// [`fill`] into PostgreSQL: the same rows, by `COPY` in chunks of 10,000. The trigger that notifies other
/// nodes is off meanwhile (no node runs, and one statement's notification names each of its rows, beyond
/// PostgreSQL's 8,000-byte payload); every other trigger, the generated `tsvector` and the indexes work as for
/// any insert.
async fn fill_postgres(url: &str, count: u64) -> anyhow::Result<()> {
    use std::fmt::Write as _;
    let mut conn = PgConnection::connect(url).await?;
    sqlx::query("ALTER TABLE messages DISABLE TRIGGER messages_notify")
        .execute(&mut conn)
        .await?;
    let mut rng = rand::rng();
    let mut i = 0;
    while i < count {
        let rows = 10_000.min(count - i);
        let mut chunk = String::new();
        for _ in 0..rows {
            let words: Vec<&str> = (0..12)
                .map(|_| WORDS[rng.random_range(0..WORDS.len())])
                .collect();
            // Columns as in `COPY ... FROM STDIN` text format: tab-separated, no character needs escaping.
            let _ = writeln!(
                chunk,
                "bench\t+49151{:07}\t{} ref{i:07}\t2026-11-22T10:00:00+01:00\t2026-11-22 09:00:00+00\tgsm7\t{i:064x}\tbench",
                i % 10_000_000,
                words.join(" ")
            );
            i += 1;
        }
        let mut copy = conn
            .copy_in_raw(
                "COPY messages (modem, sender, text, sent_at, received_at, encoding, pdu_sha256, node) \
                 FROM STDIN",
            )
            .await?;
        copy.send(chunk.into_bytes()).await?;
        copy.finish().await?;
    }
    sqlx::query("ALTER TABLE messages ENABLE TRIGGER messages_notify")
        .execute(&mut conn)
        .await?;
    sqlx::query("VACUUM ANALYZE messages")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// Inserts `count` messages of 12 random words and a unique `refNNNNNNN` into the engine's `messages` table, 10,000 per transaction.
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
            .bind(format!("{} ref{i:07}", words.join(" ")))
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
