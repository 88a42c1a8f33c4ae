//! WAL checkpoints off the commit path.
//!
//! SQLite's automatic checkpoint runs inside the commit that pushes the WAL past 1,000 pages: that commit
//! copies the pages into the database file and fsyncs it, so one message in every few dozen waited for the
//! disk. Here the writer never checkpoints (`wal_autocheckpoint = 0`); a task on a reader connection runs a
//! `PASSIVE` checkpoint (it blocks neither readers nor the writer) shortly after writes, and only then: an
//! idle store wakes nothing.

use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::mpsc;

/// How long after a write the checkpoint waits, so a burst of commits is checkpointed once.
const DELAY: Duration = Duration::from_millis(250);

/// Asks for a checkpoint soon; cheap, callable from every write.
#[derive(Debug, Clone)]
pub(crate) struct Checkpoints(mpsc::Sender<()>);

impl Checkpoints {
    /// Starts the checkpoint task on `pool`; it ends when every [`Checkpoints`] is dropped or the pool closes.
    pub(crate) fn spawn(pool: SqlitePool) -> Checkpoints {
        // One pending request is enough: requests made while one waits are served by it.
        let (tx, mut rx) = mpsc::channel::<()>(1);
        tokio::spawn(async move {
            while rx.recv().await.is_some() {
                tokio::time::sleep(DELAY).await;
                // Requests that came during the delay are served by this checkpoint.
                while rx.try_recv().is_ok() {}
                if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&pool)
                    .await
                {
                    if pool.is_closed() {
                        break;
                    }
                    tracing::warn!(%error, "WAL checkpoint failed; the next write asks again");
                }
            }
        });
        Checkpoints(tx)
    }

    /// Requests a checkpoint after the current write.
    pub(crate) fn request(&self) {
        // Full means one is already pending; closed means the store is shutting down. Neither needs more.
        let _ = self.0.try_send(());
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    async fn wal_frames(store: &Store) -> (i64, i64) {
        // (frames in the WAL, frames already copied to the database), without checkpointing anything new.
        let row: (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&store.sqlite().pool)
            .await
            .expect("checkpoint");
        (row.1, row.2)
    }

    #[tokio::test]
    async fn commits_leave_the_checkpoint_to_the_background_task() {
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
        for i in 0..20 {
            store
                .remember_modem_id(&format!("/dev/ttyUSB{i}"), "imei:1")
                .await
                .expect("write");
        }
        // The background checkpoint has run after its delay: everything in the WAL is in the database.
        tokio::time::sleep(super::DELAY * 4).await;
        let (log, copied) = wal_frames(&store).await;
        assert!(log > 0, "the writes went to the WAL");
        assert_eq!(log, copied);
    }
}
