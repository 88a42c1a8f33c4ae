//! Claims: work that must happen once per message however many nodes see the message (a hook run). Every node
//! hears of every message; the first whose claim commits does the work, the others skip it.
//!
//! A claim locks the message row with the backend's [`Backend::SKIP_LOCKED`](super::backend::Backend) (on
//! PostgreSQL `FOR NO KEY UPDATE SKIP LOCKED`), so a node racing another for the same message does not wait for
//! it but finds nothing to claim; the primary key `(kind, message_id)` makes a later claim a no-op. On SQLite,
//! one node, every first claim succeeds. Other once-per-message work with rows of its own (an outbox) claims
//! them the same way: `SKIP_LOCKED` after the `SELECT` that picks the rows.

use chrono::Utc;

use super::{on_db, Store, StoreError};

/// A kind of once-per-message work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Running the hook command (and the hook URL) for a message.
    Hook,
}

impl Claim {
    fn as_str(self) -> &'static str {
        match self {
            Claim::Hook => "hook",
        }
    }
}

impl Store {
    /// Claims `kind` of work for message `message_id` for this node; true when this node is to do it (it was
    /// not claimed before, by anyone), false otherwise (also when the message is gone).
    pub async fn claim(&self, kind: Claim, message_id: i64) -> Result<bool, StoreError> {
        on_db!(self, db => {
            let sql = format!(
                "INSERT INTO claims (kind, message_id, node, claimed_at) \
                 SELECT $1, id, $2, $3 FROM messages WHERE id = $4{} \
                 ON CONFLICT (kind, message_id) DO NOTHING",
                db_skip_locked(db)
            );
            let done = sqlx::query(&sql)
                .bind(kind.as_str())
                .bind(db.node())
                .bind(db.time(Utc::now()))
                .bind(message_id)
                .execute(db.writer())
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }
}

/// The backend's `SKIP_LOCKED`, through a value (an associated constant cannot be named from a macro body's
/// binding).
fn db_skip_locked<B: super::backend::Backend>(_: &B) -> &'static str {
    B::SKIP_LOCKED
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::stores;
    use crate::store::tests::sample;
    use crate::store::Inserted;

    #[tokio::test]
    async fn each_message_is_claimed_once_across_nodes() {
        for store in stores().await {
            let Inserted::New(m) = store.insert_message(&sample(b"x")).await.expect("insert")
            else {
                panic!("new");
            };
            // A second node on the same database (on SQLite, a second handle on the file).
            let other = store.open_again().await;
            let (a, b) = tokio::join!(
                store.claim(Claim::Hook, m.id),
                other.claim(Claim::Hook, m.id)
            );
            let (a, b) = (a.expect("claim"), b.expect("claim"));
            assert!(
                a ^ b,
                "exactly one claim wins on {}: {a} {b}",
                store.backend
            );
            assert!(!store.claim(Claim::Hook, m.id).await.expect("again"));
            assert!(!other
                .claim(Claim::Hook, m.id + 1000)
                .await
                .expect("no such message"));
            other.close().await;
        }
    }
}
