//! What providers (Twilio, Vonage) reported on the messages sent through them: one row per provider message
//! id in `provider_sent`, and the sent message's status derived from its rows. The provider's callbacks play
//! the part a modem's delivery reports play, and move a message only forward.

use chrono::{Duration, SecondsFormat, Utc};
use sqlx::Row;

use super::{Store, StoreError};

/// What a provider said about one message id (one part, for Vonage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartStatus {
    /// Accepted and handed on towards the recipient.
    Sent,
    /// The recipient's phone got it.
    Delivered,
    /// It will not arrive; why, for the user.
    Failed(String),
}

impl PartStatus {
    fn column(&self) -> &'static str {
        match self {
            PartStatus::Sent => "sent",
            PartStatus::Delivered => "delivered",
            PartStatus::Failed(_) => "failed",
        }
    }

    /// A part moves only forward: `sent`, then one final word (`delivered` or `failed`), kept.
    fn replaces(&self, current: &str) -> bool {
        current == "sent" && !matches!(self, PartStatus::Sent)
    }
}

/// A callback that matched no sent message is kept this long, for the send request it overtook.
const ORPHAN_TTL_HOURS: i64 = 24;

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, false)
}

impl Store {
    /// Records the ids a provider gave the parts of sent message `sent_id`, applies any callback that came
    /// before them, and sets the message's status from its parts (`sent` unless a callback said more).
    pub async fn link_provider_sent(
        &self,
        source: &str,
        sent_id: i64,
        ids: &[String],
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let now = now();
        for id in ids {
            sqlx::query(
                "INSERT INTO provider_sent (source, provider_id, sent_id, status, updated_at) \
                 VALUES (?, ?, ?, 'sent', ?) \
                 ON CONFLICT (source, provider_id) DO UPDATE SET sent_id = excluded.sent_id",
            )
            .bind(source)
            .bind(id)
            .bind(sent_id)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        derive_status(&mut tx, sent_id, &now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applies a provider's callback about `provider_id`. Returns the sent message it changed, if any; a
    /// callback for an id not recorded yet is kept for [`Store::link_provider_sent`].
    pub async fn apply_provider_status(
        &self,
        source: &str,
        provider_id: &str,
        status: &PartStatus,
    ) -> Result<Option<i64>, StoreError> {
        let error = match status {
            PartStatus::Failed(why) => Some(why.as_str()),
            _ => None,
        };
        let now = now();
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "SELECT sent_id, status FROM provider_sent WHERE source = ? AND provider_id = ?",
        )
        .bind(source)
        .bind(provider_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            let cutoff = (Utc::now() - Duration::hours(ORPHAN_TTL_HOURS))
                .to_rfc3339_opts(SecondsFormat::Micros, false);
            sqlx::query("DELETE FROM provider_sent WHERE sent_id IS NULL AND updated_at < ?")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO provider_sent (source, provider_id, sent_id, status, error, updated_at) \
                 VALUES (?, ?, NULL, ?, ?, ?)",
            )
            .bind(source)
            .bind(provider_id)
            .bind(status.column())
            .bind(error)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(None);
        };
        let sent_id: Option<i64> = row.try_get("sent_id")?;
        let current: String = row.try_get("status")?;
        if !status.replaces(&current) {
            return Ok(None);
        }
        sqlx::query(
            "UPDATE provider_sent SET status = ?, error = ?, updated_at = ? \
             WHERE source = ? AND provider_id = ?",
        )
        .bind(status.column())
        .bind(error)
        .bind(&now)
        .bind(source)
        .bind(provider_id)
        .execute(&mut *tx)
        .await?;
        let changed = match sent_id {
            Some(id) => derive_status(&mut tx, id, &now).await?.then_some(id),
            None => None,
        };
        tx.commit().await?;
        Ok(changed)
    }
}

/// Sets sent message `sent_id`'s status from its parts: `failed` (with the first reason) when one failed,
/// `delivered` when all were, else `sent`. Returns whether it changed.
async fn derive_status(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    sent_id: i64,
    now: &str,
) -> Result<bool, StoreError> {
    let parts = sqlx::query(
        "SELECT status, error FROM provider_sent WHERE sent_id = ? ORDER BY provider_id",
    )
    .bind(sent_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut failed = None;
    let mut all_delivered = !parts.is_empty();
    for part in &parts {
        let status: String = part.try_get("status")?;
        if status == "failed" && failed.is_none() {
            let error: Option<String> = part.try_get("error")?;
            failed = Some(error.unwrap_or_else(|| "the provider reports it failed".into()));
        }
        all_delivered &= status == "delivered";
    }
    let (status, error) = match failed {
        Some(error) => ("failed", Some(error)),
        None if all_delivered => ("delivered", None),
        None => ("sent", None),
    };
    let changed = sqlx::query(
        "UPDATE sent SET status = ?, error = ?, updated_at = ? \
         WHERE id = ? AND (status IS NOT ? OR error IS NOT ?)",
    )
    .bind(status)
    .bind(&error)
    .bind(now)
    .bind(sent_id)
    .bind(status)
    .bind(&error)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(changed > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SendStatus;

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("p.db")).await.expect("open");
        (dir, store)
    }

    async fn status(store: &Store, id: i64) -> (SendStatus, Option<String>) {
        let sent = store.get_sent(id).await.expect("get").expect("exists");
        (sent.status, sent.error)
    }

    #[tokio::test]
    async fn a_two_part_message_is_delivered_when_both_parts_are() {
        let (_dir, store) = store().await;
        let id = store
            .insert_sent("vonage-uk", "+447700900001", "long", 2)
            .await
            .expect("insert");
        store
            .link_provider_sent("vonage-uk", id, &["p1".into(), "p2".into()])
            .await
            .expect("link");
        assert_eq!(status(&store, id).await.0, SendStatus::Sent);
        assert_eq!(
            store
                .apply_provider_status("vonage-uk", "p1", &PartStatus::Delivered)
                .await
                .expect("apply"),
            None,
            "one part of two: still sent, nothing changed"
        );
        assert_eq!(status(&store, id).await.0, SendStatus::Sent);
        assert_eq!(
            store
                .apply_provider_status("vonage-uk", "p2", &PartStatus::Delivered)
                .await
                .expect("apply"),
            Some(id)
        );
        assert_eq!(status(&store, id).await.0, SendStatus::Delivered);
        // A late "sent" (callbacks overtake each other) does not move it back.
        assert_eq!(
            store
                .apply_provider_status("vonage-uk", "p2", &PartStatus::Sent)
                .await
                .expect("apply"),
            None
        );
        assert_eq!(status(&store, id).await.0, SendStatus::Delivered);
        // Another source's id of the same spelling is another message.
        assert_eq!(
            store
                .apply_provider_status("twilio-us", "p1", &PartStatus::Failed("x".into()))
                .await
                .expect("apply"),
            None
        );
        assert_eq!(status(&store, id).await.0, SendStatus::Delivered);
    }

    #[tokio::test]
    async fn a_callback_that_overtakes_the_send_answer_is_applied_when_the_ids_are_recorded() {
        let (_dir, store) = store().await;
        let id = store
            .insert_sent("twilio-us", "+15555550100", "hi", 1)
            .await
            .expect("insert");
        let failure = PartStatus::Failed(
            "Twilio reports the message undelivered (Twilio error 30003)".into(),
        );
        assert_eq!(
            store
                .apply_provider_status("twilio-us", "SM1", &failure)
                .await
                .expect("apply"),
            None
        );
        assert_eq!(status(&store, id).await.0, SendStatus::Queued);
        store
            .link_provider_sent("twilio-us", id, &["SM1".into()])
            .await
            .expect("link");
        assert_eq!(
            status(&store, id).await,
            (
                SendStatus::Failed,
                Some("Twilio reports the message undelivered (Twilio error 30003)".into())
            )
        );
    }
}
