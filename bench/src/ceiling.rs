//! The ceiling for ingest: a raw SQLite insert loop through the same driver (sqlx) and the same settings as the
//! engine's store (WAL, synchronous=NORMAL), with no decoding, no modem and no network. Once with one
//! transaction per message (the engine's durability: each message is committed before its SIM slot is freed)
//! and once batched, which no design that deletes after commit can use for a single message.

use std::str::FromStr;
use std::time::Instant;

use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

use crate::setup::Opts;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, sender TEXT NOT NULL, text TEXT NOT NULL,
    received_at TEXT NOT NULL, pdu_sha256 TEXT NOT NULL UNIQUE, raw BLOB NOT NULL)";
const INSERT: &str =
    "INSERT INTO messages (sender, text, received_at, pdu_sha256, raw) VALUES (?, ?, ?, ?, ?)";

pub async fn run(opts: &Opts) -> anyhow::Result<serde_json::Value> {
    let rows = opts.number("rows", 20_000)?;
    let batch = opts.number("batch", 1000)?.max(1);
    let mut figures = serde_json::Map::new();
    for (name, per_tx) in [("one_per_transaction", 1), ("batched", batch)] {
        let path = opts
            .work
            .join(format!("ceiling-{name}-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mut conn = SqliteConnectOptions::from_str("sqlite:")?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .connect()
            .await?;
        sqlx::query(SCHEMA).execute(&mut conn).await?;
        let raw = simrelay_testkit::pdu::numbered("Ceil", 0);
        let start = Instant::now();
        let mut i = 0;
        while i < rows {
            let mut tx = conn.begin().await?;
            for _ in 0..per_tx.min(rows - i) {
                sqlx::query(INSERT)
                    .bind("+4915123456789")
                    .bind(simrelay_testkit::pdu::numbered_text("Ceil", i as usize))
                    .bind("2026-11-22T10:00:00.000000+00:00")
                    .bind(format!("{i:064x}"))
                    .bind(&raw)
                    .execute(&mut *tx)
                    .await?;
                i += 1;
            }
            tx.commit().await?;
        }
        let seconds = start.elapsed().as_secs_f64();
        conn.close().await?;
        figures.insert(name.into(), json!({"rows": rows, "per_transaction": per_tx, "seconds": seconds, "rows_per_s": rows as f64 / seconds}));
    }
    figures.insert("scenario".into(), json!("sqlite-ceiling"));
    Ok(serde_json::Value::Object(figures))
}
