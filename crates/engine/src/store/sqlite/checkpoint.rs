//! WAL checkpoints, and the fsync that comes with reusing the WAL, off the commit path.
//!
//! SQLite's automatic checkpoint runs inside the commit that pushes the WAL past 1,000 pages: that commit
//! copies the pages into the database file and fsyncs it. So the writer never checkpoints
//! (`wal_autocheckpoint = 0`); a task runs a `PASSIVE` checkpoint on a reader connection, which blocks neither
//! readers nor the writer.
//!
//! A checkpoint that copied the whole WAL lets the next write start the log again from its first frame, and
//! with `synchronous = NORMAL` that write fsyncs the new WAL header (SQLite's `PRAGMA synchronous`: "the WAL
//! file header is synchronized when a WAL file begins to be reused after a checkpoint"). When a checkpoint ran
//! 250 ms after every write, almost every message arriving a second after the previous one paid that fsync in
//! its commit (seen with `strace`: one `fsync` of the WAL per message, from the writer's thread, 0.3–12 ms on a
//! quiet disk and hundreds of milliseconds while other processes flood it). So:
//!
//! - checkpoints are rare: once the store has been quiet for [`Policy::quiet`], or after [`Policy::writes`]
//!   writes, which bounds the WAL (about as large as SQLite's own 1,000-page default for single messages);
//! - right after a checkpoint that copied everything, the task itself begins the new WAL with a one-page write
//!   on the writer connection (`PRAGMA user_version` set to its own value), so the header's fsync is paid
//!   there. A message whose commit comes in meanwhile waits for it; with rare checkpoints that is rare.
//!
//! An idle store wakes nothing: the task sleeps until the next write.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::mpsc;

/// When the task checkpoints.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// After the last write, how long the store must stay quiet before a checkpoint.
    pub(crate) quiet: Duration,
    /// Writes (transactions) after which a checkpoint runs even if the store is never quiet.
    pub(crate) writes: u64,
    /// How long a checkpoint triggered by [`Policy::writes`] waits, so the write that triggered it (counted
    /// when it begins) has committed.
    pub(crate) settle: Duration,
}

impl Policy {
    /// A quiet spell of 10 s ends a burst (a relay receiving one message a second is never quiet that long);
    /// 128 writes of one message each are about 1,000 WAL pages.
    pub(crate) const DEFAULT: Policy = Policy {
        quiet: Duration::from_secs(10),
        writes: 128,
        settle: Duration::from_millis(250),
    };
}

/// Asks for a checkpoint; cheap, callable from every write.
#[derive(Debug, Clone)]
pub(crate) struct Checkpoints {
    wake: mpsc::Sender<()>,
    /// Writes since the last checkpoint began.
    writes: Arc<AtomicU64>,
}

impl Checkpoints {
    /// Starts the checkpoint task: checkpoints on `readers`, begins the new WAL on `writer`. It ends when every
    /// [`Checkpoints`] is dropped or the pools close.
    pub(crate) fn spawn(readers: SqlitePool, writer: SqlitePool, policy: Policy) -> Checkpoints {
        // One pending wake-up is enough: the counter says how many writes came.
        let (wake, mut rx) = mpsc::channel::<()>(1);
        let writes = Arc::new(AtomicU64::new(0));
        let counted = writes.clone();
        tokio::spawn(async move {
            while rx.recv().await.is_some() {
                loop {
                    if counted.load(Ordering::Relaxed) >= policy.writes {
                        tokio::time::sleep(policy.settle).await;
                        break;
                    }
                    match tokio::time::timeout(policy.quiet, rx.recv()).await {
                        Err(_) => break,
                        Ok(Some(())) => {}
                        // Closing: the last connection to close checkpoints.
                        Ok(None) => return,
                    }
                }
                counted.store(0, Ordering::Relaxed);
                if let Err(error) = checkpoint(&readers, &writer).await {
                    if readers.is_closed() || writer.is_closed() {
                        break;
                    }
                    tracing::warn!(%error, "WAL checkpoint failed; the next writes ask again");
                }
            }
        });
        Checkpoints { wake, writes }
    }

    /// Counts a write; the task decides when to checkpoint.
    pub(crate) fn request(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
        // Full means a wake-up is already pending; closed means the store is shutting down. Neither needs more.
        let _ = self.wake.try_send(());
    }
}

/// Copies the WAL into the database; if it copied all of it, begins the new WAL (see the module doc).
async fn checkpoint(readers: &SqlitePool, writer: &SqlitePool) -> Result<(), sqlx::Error> {
    let (busy, log, copied): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(readers)
        .await?;
    if busy != 0 || log <= 0 || copied < log {
        // A reader or a commit kept part of the WAL; the next write appends, the next checkpoint copies it.
        return Ok(());
    }
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut *tx)
        .await?;
    // Rewriting the header page with the value it has is a write that changes nothing.
    sqlx::query(&format!("PRAGMA user_version = {version}"))
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use super::Policy;
    use crate::store::Store;

    /// The WAL header's salts: a new pair each time the WAL begins again from its first frame.
    fn wal_salts(db: &Path) -> [u8; 8] {
        let wal = std::fs::read(db.with_extension("db-wal")).expect("the WAL exists");
        wal[16..24].try_into().expect("a WAL header")
    }

    async fn write(store: &Store, i: usize) {
        store
            .remember_modem_id(&format!("/dev/ttyUSB{i}"), "imei:1")
            .await
            .expect("write");
    }

    /// Polls until `probe` gives something other than `before`; panics after 30 s.
    async fn until_changed<T: PartialEq>(what: &str, before: &T, probe: impl Fn() -> T) -> T {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let now = probe();
            if now != *before {
                return now;
            }
            assert!(Instant::now() < deadline, "{what} within 30 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls until the WAL begins again (its salts differ from `before`).
    async fn until_restarted(db: &Path, before: [u8; 8]) -> [u8; 8] {
        until_changed("no checkpoint began a new WAL", &before, || wal_salts(db)).await
    }

    async fn open(db: &Path, policy: Policy) -> Store {
        Store::open_sqlite_with(db, policy).await.expect("open")
    }

    #[tokio::test]
    async fn the_writer_leaves_checkpoints_to_the_task() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("c.db")).await.expect("open");
        let autocheckpoint: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&store.sqlite().writer)
            .await
            .expect("pragma");
        assert_eq!(
            autocheckpoint, 0,
            "the writer must not checkpoint in its commits"
        );
    }

    /// The point of the module: after a checkpoint copied the whole WAL, the task begins the new WAL, so the
    /// next commit appends to it instead of beginning it (and fsyncing its header).
    #[tokio::test]
    async fn a_commit_after_a_checkpoint_appends_to_the_wal_the_task_began() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("c.db");
        // Quiet long enough that a loaded machine does not pause that long between two writes below.
        let policy = Policy {
            quiet: Duration::from_secs(2),
            writes: 1000,
            settle: Duration::ZERO,
        };
        let store = open(&db, policy).await;
        for i in 0..3 {
            write(&store, i).await;
        }
        let began = until_restarted(&db, wal_salts(&db)).await;
        for i in 3..6 {
            write(&store, i).await;
            assert_eq!(
                wal_salts(&db),
                began,
                "a commit began the WAL again: it paid the header's fsync"
            );
        }
        // Quiet again: the next checkpoint copies these and begins another WAL.
        until_restarted(&db, began).await;
        store.close().await;
    }

    /// A store that is never quiet is still checkpointed, every `writes` writes, so the WAL stays bounded.
    #[tokio::test]
    async fn a_store_that_is_never_quiet_is_checkpointed_every_so_many_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("c.db");
        let policy = Policy {
            quiet: Duration::from_secs(3600),
            writes: 5,
            settle: Duration::from_millis(20),
        };
        let store = open(&db, policy).await;
        // A checkpoint copies pages into the database file; nothing else writes it in WAL mode.
        let file = || std::fs::read(&db).expect("the database file");
        let before = file();
        for i in 0..4 {
            write(&store, i).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(file() == before, "no checkpoint before 5 writes");
        write(&store, 4).await;
        until_changed("no checkpoint after 5 writes", &before, file).await;
        store.close().await;
    }
}
