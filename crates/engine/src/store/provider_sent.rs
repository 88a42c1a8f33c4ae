//! What providers (Twilio, Vonage) reported on the messages sent through them: one row per provider message
//! id in `provider_sent`, and the sent message's status derived from its rows. The provider's callbacks play
//! the part a modem's delivery reports play, and move a message only forward.

use chrono::{Duration, Utc};
use sqlx::Row;

use super::{on_db, Store, StoreError};

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

/// The sent message's status and error as its parts make them: `failed` (with the first part's reason) when one
/// failed, `delivered` when all were, else `sent`.
const DERIVED: &str = "SELECT \
     CASE WHEN EXISTS (SELECT 1 FROM provider_sent WHERE sent_id = $1 AND status = 'failed') THEN 'failed' \
          WHEN NOT EXISTS (SELECT 1 FROM provider_sent WHERE sent_id = $1 AND status <> 'delivered') \
          THEN 'delivered' ELSE 'sent' END AS status, \
     (SELECT error FROM provider_sent WHERE sent_id = $1 AND status = 'failed' \
      ORDER BY provider_id LIMIT 1) AS error";

/// Sets the sent message's status from its parts, if that changes it (`$1` the id, `$2` status, `$3` error,
/// `$4` the time).
const APPLY_DERIVED: &str = "UPDATE sent SET status = $2, error = $3, updated_at = $4 \
     WHERE id = $1 AND (status IS DISTINCT FROM $2 OR error IS DISTINCT FROM $3)";

impl Store {
    /// Records the ids a provider gave the parts of sent message `sent_id`, applies any callback that came
    /// before them, and sets the message's status from its parts (`sent` unless a callback said more).
    pub async fn link_provider_sent(
        &self,
        source: &str,
        sent_id: i64,
        ids: &[String],
    ) -> Result<(), StoreError> {
        on_db!(self, db => {
            let now = Utc::now();
            let mut tx = db.begin().await?;
            for id in ids {
                sqlx::query(
                    "INSERT INTO provider_sent (source, provider_id, sent_id, status, updated_at) \
                     VALUES ($1, $2, $3, 'sent', $4) \
                     ON CONFLICT (source, provider_id) DO UPDATE SET sent_id = excluded.sent_id",
                )
                .bind(source)
                .bind(id)
                .bind(sent_id)
                .bind(db.time(now))
                .execute(&mut *tx)
                .await?;
            }
            let derived = sqlx::query(DERIVED).bind(sent_id).fetch_one(&mut *tx).await?;
            let (status, error): (String, Option<String>) =
                (derived.try_get("status")?, derived.try_get("error")?);
            sqlx::query(APPLY_DERIVED)
                .bind(sent_id)
                .bind(status)
                .bind(error)
                .bind(db.time(now))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Applies a provider's callback about `provider_id`. Returns the sent message whose status it changed,
    /// if any; a callback for an id not recorded yet is kept for [`Store::link_provider_sent`].
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
        on_db!(self, db => {
            let now = Utc::now();
            let mut tx = db.begin().await?;
            let row = sqlx::query(
                "SELECT sent_id, status FROM provider_sent WHERE source = $1 AND provider_id = $2",
            )
            .bind(source)
            .bind(provider_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                sqlx::query("DELETE FROM provider_sent WHERE sent_id IS NULL AND updated_at < $1")
                    .bind(db.time(now - Duration::hours(ORPHAN_TTL_HOURS)))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO provider_sent (source, provider_id, sent_id, status, error, updated_at) \
                     VALUES ($1, $2, NULL, $3, $4, $5)",
                )
                .bind(source)
                .bind(provider_id)
                .bind(status.column())
                .bind(error)
                .bind(db.time(now))
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
                "UPDATE provider_sent SET status = $1, error = $2, updated_at = $3 \
                 WHERE source = $4 AND provider_id = $5",
            )
            .bind(status.column())
            .bind(error)
            .bind(db.time(now))
            .bind(source)
            .bind(provider_id)
            .execute(&mut *tx)
            .await?;
            let mut changed = None;
            if let Some(id) = sent_id {
                let derived = sqlx::query(DERIVED).bind(id).fetch_one(&mut *tx).await?;
                let (status, error): (String, Option<String>) =
                    (derived.try_get("status")?, derived.try_get("error")?);
                let updated = sqlx::query(APPLY_DERIVED)
                    .bind(id)
                    .bind(status)
                    .bind(error)
                    .bind(db.time(now))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                changed = (updated > 0).then_some(id);
            }
            tx.commit().await?;
            Ok(changed)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SendStatus;

    async fn status(store: &Store, id: i64) -> (SendStatus, Option<String>) {
        let sent = store.get_sent(id).await.expect("get").expect("exists");
        (sent.status, sent.error)
    }

    #[tokio::test]
    async fn a_two_part_message_is_delivered_when_both_parts_are() {
        for store in crate::store::testing::stores().await {
            two_parts(&store).await;
        }
    }

    async fn two_parts(store: &Store) {
        let id = store
            .insert_sent("vonage-uk", "+447700900001", "long", 2)
            .await
            .expect("insert");
        store
            .link_provider_sent("vonage-uk", id, &["p1".into(), "p2".into()])
            .await
            .expect("link");
        assert_eq!(status(store, id).await.0, SendStatus::Sent);
        assert_eq!(
            store
                .apply_provider_status("vonage-uk", "p1", &PartStatus::Delivered)
                .await
                .expect("apply"),
            None,
            "one part of two: still sent, nothing changed"
        );
        assert_eq!(status(store, id).await.0, SendStatus::Sent);
        assert_eq!(
            store
                .apply_provider_status("vonage-uk", "p2", &PartStatus::Delivered)
                .await
                .expect("apply"),
            Some(id)
        );
        assert_eq!(status(store, id).await.0, SendStatus::Delivered);
        // A late "sent" (callbacks overtake each other) does not move it back.
        assert_eq!(
            store
                .apply_provider_status("vonage-uk", "p2", &PartStatus::Sent)
                .await
                .expect("apply"),
            None
        );
        assert_eq!(status(store, id).await.0, SendStatus::Delivered);
        // Another source's id of the same spelling is another message.
        assert_eq!(
            store
                .apply_provider_status("twilio-us", "p1", &PartStatus::Failed("x".into()))
                .await
                .expect("apply"),
            None
        );
        assert_eq!(status(store, id).await.0, SendStatus::Delivered);
    }

    #[tokio::test]
    async fn a_callback_that_overtakes_the_send_answer_is_applied_when_the_ids_are_recorded() {
        for store in crate::store::testing::stores().await {
            overtaken(&store).await;
        }
    }

    async fn overtaken(store: &Store) {
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
        assert_eq!(status(store, id).await.0, SendStatus::Queued);
        store
            .link_provider_sent("twilio-us", id, &["SM1".into()])
            .await
            .expect("link");
        assert_eq!(
            status(store, id).await,
            (
                SendStatus::Failed,
                Some("Twilio reports the message undelivered (Twilio error 30003)".into())
            )
        );
    }
}
