//! The SQLite backend: one file in WAL mode, a pool of readers and a pool of one writer, checkpoints off the
//! commit path (`checkpoint.rs`), and FTS5 for text search (`fts.rs`). Schema: `migrations/sqlite/`.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Transaction};

use super::backend::{Backend, StoreRow};
use super::search::TextMatch;
use super::StoreError;

mod checkpoint;
pub(crate) mod fts;

/// The SQLite backend; cheap to clone (two connection pools).
#[derive(Debug, Clone)]
pub(crate) struct Sqlite {
    /// Readers: the API's queries run side by side (WAL).
    pool: SqlitePool,
    /// The one connection every write goes through. SQLite allows one writer at a time; writers that meet
    /// on separate connections get SQLITE_BUSY, and SQLite's busy handler sleeps 1 to 100 ms per retry
    /// however soon the lock frees (a 4-modem burst slept 950 times); and a connection that did not write
    /// last re-reads every page it touches, because another connection's commit empties its page cache.
    /// A pool of one queues writers in-process, wakes the next the moment the previous commits, and keeps
    /// the writer's cache warm.
    writer: SqlitePool,
    /// The writer leaves WAL checkpoints to a background task (see `checkpoint`).
    checkpoints: checkpoint::Checkpoints,
}

impl Sqlite {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub(crate) async fn open(path: &Path) -> Result<Sqlite, StoreError> {
        Sqlite::open_with(path, checkpoint::Policy::DEFAULT).await
    }

    /// [`Sqlite::open`] with its own checkpoint policy (tests of the checkpoints).
    pub(crate) async fn open_with(
        path: &Path,
        policy: checkpoint::Policy,
    ) -> Result<Sqlite, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(open_err)?
            .filename(path)
            .create_if_missing(true)
            // WAL lets the HTTP readers run while ingest writes; NORMAL is durable across process crashes
            // in WAL mode and only risks the last commit on power loss, which a re-read from the SIM covers
            // for messages not yet deleted there.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        // The writer is opened once and kept: a pool's default health check before each use is a round trip to
        // the connection's thread in every commit, and a connection closed when idle or old reopens cold in the
        // commit of the next message.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone().pragma("wal_autocheckpoint", "0"))
            .await
            .map_err(open_err)?;
        // Migrations lived in `migrations/` before there were two backends; the files moved unchanged, so the
        // checksums sqlx recorded for an existing file still match.
        sqlx::migrate!("../../migrations/sqlite")
            .run(&writer)
            .await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(open_err)?;
        let checkpoints = checkpoint::Checkpoints::spawn(pool.clone(), writer.clone(), policy);
        Ok(Sqlite {
            pool,
            writer,
            checkpoints,
        })
    }

    /// Closes the pools, waiting for in-flight queries; the WAL is checkpointed when the last connection closes.
    pub(crate) async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }
}

#[cfg(test)]
impl super::Store {
    /// Opens an SQLite store whose checkpoints follow `policy`.
    pub(crate) async fn open_sqlite_with(
        path: &Path,
        policy: checkpoint::Policy,
    ) -> Result<super::Store, StoreError> {
        Ok(super::Store {
            db: super::Db::Sqlite(Sqlite::open_with(path, policy).await?),
        })
    }

    /// The SQLite backend of a store known to be on SQLite (tests of SQLite's own behaviour).
    pub(crate) fn sqlite(&self) -> &Sqlite {
        match &self.db {
            super::Db::Sqlite(db) => db,
            super::Db::Postgres(_) => panic!("this test needs an SQLite store"),
        }
    }
}

impl Backend for Sqlite {
    type Db = sqlx::Sqlite;
    type Time = String;

    fn reader(&self) -> &SqlitePool {
        &self.pool
    }

    fn writer(&self) -> &SqlitePool {
        self.checkpoints.request();
        &self.writer
    }

    /// `BEGIN IMMEDIATE` takes the write lock up front, so another process writing the same file (the CLI)
    /// makes it wait through the busy timeout instead of failing halfway through the transaction.
    async fn begin(&self) -> Result<Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.checkpoints.request();
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }

    fn time(&self, t: DateTime<Utc>) -> String {
        stored_time(t)
    }

    fn node(&self) -> &str {
        ""
    }

    const QUIET: Option<&'static str> = None;

    const SKIP_LOCKED: &'static str = "";

    fn resequence(&self, _table: &str) -> Option<String> {
        None
    }

    fn builder<'a>(&self, init: &str) -> QueryBuilder<'a, sqlx::Sqlite> {
        QueryBuilder::new(init)
    }

    async fn text_match(
        &self,
        conn: &mut sqlx::SqliteConnection,
        input: &str,
    ) -> Result<Option<TextMatch>, StoreError> {
        fts::text_match(conn, input).await
    }
}

/// A time as SQLite keeps it: RFC 3339 in UTC with a fixed width (`YYYY-MM-DDTHH:MM:SS.ffffff+00:00`), so
/// comparing the text compares the times.
pub(crate) fn stored_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, false)
}

impl StoreRow for SqliteRow {
    fn time(&self, column: &str) -> Result<DateTime<FixedOffset>, StoreError> {
        let text: String = self.try_get(column)?;
        DateTime::parse_from_rfc3339(&text).map_err(|e| StoreError::Corrupt {
            id: self.try_get("id").unwrap_or(0),
            reason: format!("{column} {text:?}: {e}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    #[tokio::test]
    async fn pragmas_are_wal_normal_and_foreign_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("t.db")).await.expect("open");
        let mut conn = store.sqlite().pool.acquire().await.expect("conn");
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await
            .expect("q");
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *conn)
            .await
            .expect("q");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut *conn)
            .await
            .expect("q");
        assert_eq!((mode.as_str(), sync, fk), ("wal", 1, 1));
    }

    /// A database written by the engine before the migrations moved to `migrations/sqlite/` (built with main
    /// at 8eca227, see `tests/data/store/README.md`) opens, keeps everything, and takes new messages.
    #[tokio::test]
    async fn a_database_from_before_the_backend_split_opens_and_keeps_its_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        let fixture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/data/store/sqlite-0007.db"
        );
        std::fs::copy(fixture, &path).expect("copy the fixture");
        let store = Store::open(&path).await.expect("open the old file");
        assert_eq!(store.count().await.expect("count"), 3);
        let found = store
            .search(&crate::store::MessageQuery {
                text: Some("codigo".into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .expect("search");
        assert_eq!(found.messages.len(), 1);
        assert_eq!(found.messages[0].text, "Tu código de acceso es 8267");
        let multipart = store.get(3).await.expect("get").expect("kept");
        assert_eq!(
            store.raw_pdus(multipart.id).await.expect("pdus"),
            vec![b"p1".to_vec(), b"p2".to_vec()]
        );
        assert_eq!(
            store
                .pending_parts("imei:356938035643809")
                .await
                .expect("pending"),
            vec![b"waiting".to_vec()]
        );
        let sent = store.get_sent(1).await.expect("sent").expect("kept");
        assert_eq!(sent.message_refs, vec![17]);
        assert_eq!(
            store.saved_settings().await.expect("settings"),
            vec![("retention_days".to_owned(), serde_json::json!(30))]
        );
        assert_eq!(
            store
                .known_modem_id("/dev/ttyUSB2")
                .await
                .expect("ids")
                .as_deref(),
            Some("imei:356938035643809")
        );
        assert_eq!(store.added_modems().await.expect("added").len(), 1);
        let mut new = crate::store::tests::sample(b"new");
        new.modem = "imei:356938035643809".into();
        let crate::store::Inserted::New(m) = store.insert_message(&new).await.expect("insert")
        else {
            panic!("a new PDU is a new message");
        };
        assert!(m.id > 3, "ids continue after the old ones");
        store.close().await;
    }
}
