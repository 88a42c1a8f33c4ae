//! Outgoing messages and their status, for `POST /api/send` and `GET /api/sent/{id}`.

use chrono::Utc;
use simrelay_protocol::{SendStatus, SentMessage};
use sqlx::Row;

use super::{on_db, Store, StoreError};

/// `None` for no references, else `"17,18"`.
fn join_refs(refs: &[u8]) -> Option<String> {
    (!refs.is_empty()).then(|| refs.iter().map(u8::to_string).collect::<Vec<_>>().join(","))
}

fn parse_refs(text: Option<String>) -> Vec<u8> {
    text.unwrap_or_default()
        .split(',')
        .filter_map(|r| r.parse().ok())
        .collect()
}

/// Whether two renderings of a phone number name the same line: the network may report `+4915...` for a
/// message sent to `015...` or `4915...`, so compare the digits, allowing one to be a suffix of the other
/// as long as the shared tail is long enough to be a subscriber number.
fn same_number(a: &str, b: &str) -> bool {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let (a, b) = (digits(a), digits(b));
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    !short.is_empty() && (short == long || (short.len() >= 6 && long.ends_with(short)))
}

impl Store {
    /// Records a message about to be sent; returns its id.
    pub async fn insert_sent(
        &self,
        modem: &str,
        to: &str,
        text: &str,
        parts: usize,
    ) -> Result<i64, StoreError> {
        on_db!(self, db => {
            let now = db.time(Utc::now());
            Ok(sqlx::query_scalar(
                "INSERT INTO sent (modem, recipient, text, status, parts, created_at, updated_at) \
                 VALUES ($1, $2, $3, 'queued', $4, $5, $5) RETURNING id",
            )
            .bind(modem)
            .bind(to)
            .bind(text)
            .bind(i64::try_from(parts).unwrap_or(i64::MAX))
            .bind(now)
            .fetch_one(db.writer())
            .await?)
        })
    }

    /// Moves a sent message to `status`, with the error or the message references when there are any.
    pub async fn update_sent(
        &self,
        id: i64,
        status: SendStatus,
        error: Option<&str>,
        refs: &[u8],
    ) -> Result<(), StoreError> {
        let refs = join_refs(refs);
        on_db!(self, db => {
            sqlx::query(
                "UPDATE sent SET status = $1, error = $2, message_refs = COALESCE($3, message_refs), \
                 updated_at = $4 WHERE id = $5",
            )
            .bind(status.as_str())
            .bind(error)
            .bind(refs)
            .bind(db.time(Utc::now()))
            .bind(id)
            .execute(db.writer())
            .await?;
        });
        Ok(())
    }

    /// Takes a queued message to send it (`queued` → `sending`): true for the one caller that moved it, false
    /// when another did first (in a cluster, a message another node queued for this node's modem is taken
    /// once, by the node driving the modem), or it is no longer queued.
    pub async fn take_sent(&self, id: i64) -> Result<bool, StoreError> {
        on_db!(self, db => {
            let done = sqlx::query(
                "UPDATE sent SET status = 'sending', updated_at = $1 WHERE id = $2 AND status = 'queued'",
            )
            .bind(db.time(Utc::now()))
            .bind(id)
            .execute(db.writer())
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Fails a message nobody took (still `queued`) with `error`: true when it did.
    pub async fn fail_queued_sent(&self, id: i64, error: &str) -> Result<bool, StoreError> {
        on_db!(self, db => {
            let done = sqlx::query(
                "UPDATE sent SET status = 'failed', error = $1, updated_at = $2 WHERE id = $3 AND status = 'queued'",
            )
            .bind(error)
            .bind(db.time(Utc::now()))
            .bind(id)
            .execute(db.writer())
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// The messages still queued that were recorded less than `max_age` ago, oldest first.
    pub async fn queued_sent(&self, max_age: std::time::Duration) -> Result<Vec<i64>, StoreError> {
        let since =
            Utc::now() - chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
        on_db!(self, db => {
            Ok(sqlx::query_scalar(
                "SELECT id FROM sent WHERE status = 'queued' AND created_at >= $1 ORDER BY id LIMIT 1000",
            )
            .bind(db.time(since))
            .fetch_all(db.reader())
            .await?)
        })
    }

    /// Applies a delivery report from `modem` about message reference `reference` to `recipient`: finds the
    /// newest sent message it reports on and moves it to `delivered` (once every part is reported delivered)
    /// or `failed` (with `failure` as the error). Returns the id of the message it changed, `None` when no
    /// sent message matches (a report for something sent before SimRelay, or by another program).
    pub async fn apply_report(
        &self,
        modem: &str,
        reference: u8,
        recipient: &str,
        failure: Option<&str>,
    ) -> Result<Option<i64>, StoreError> {
        on_db!(self, db => {
            let mut tx = db.begin().await?;
            // Message references wrap at 256, so only recent messages are candidates; newest first.
            let rows = sqlx::query(
                "SELECT id, recipient, message_refs, delivered_refs FROM sent \
                 WHERE modem = $1 AND message_refs IS NOT NULL AND status IN ('sent', 'delivered', 'failed') \
                 ORDER BY id DESC LIMIT 512",
            )
            .bind(modem)
            .fetch_all(&mut *tx)
            .await?;
            for row in rows {
                let refs = parse_refs(row.try_get("message_refs")?);
                let to: String = row.try_get("recipient")?;
                if !refs.contains(&reference) || !same_number(&to, recipient) {
                    continue;
                }
                let id: i64 = row.try_get("id")?;
                let mut delivered = parse_refs(row.try_get("delivered_refs")?);
                let status = match failure {
                    Some(_) => SendStatus::Failed,
                    None => {
                        if !delivered.contains(&reference) {
                            delivered.push(reference);
                        }
                        if refs.iter().all(|r| delivered.contains(r)) {
                            SendStatus::Delivered
                        } else {
                            SendStatus::Sent
                        }
                    }
                };
                sqlx::query(
                    "UPDATE sent SET status = $1, error = COALESCE($2, error), delivered_refs = $3, \
                     updated_at = $4 WHERE id = $5",
                )
                .bind(status.as_str())
                .bind(failure)
                .bind(join_refs(&delivered))
                .bind(db.time(Utc::now()))
                .bind(id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                return Ok(Some(id));
            }
            Ok(None)
        })
    }

    /// One sent message.
    pub async fn get_sent(&self, id: i64) -> Result<Option<SentMessage>, StoreError> {
        on_db!(self, db => {
            let Some(row) = sqlx::query(
                "SELECT id, modem, recipient, text, status, error, message_refs, parts, created_at, updated_at \
                 FROM sent WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(db.reader())
            .await?
            else {
                return Ok(None);
            };
            let corrupt = |reason: String| StoreError::Corrupt { id, reason };
            let refs: Option<String> = row.try_get("message_refs")?;
            Ok(Some(SentMessage {
                id,
                modem: row.try_get("modem")?,
                to: row.try_get("recipient")?,
                text: row.try_get("text")?,
                status: {
                    let text: String = row.try_get("status")?;
                    text.parse::<SendStatus>().map_err(corrupt)?
                },
                error: row.try_get("error")?,
                message_refs: parse_refs(refs),
                parts: row.try_get("parts")?,
                created_at: row.time("created_at")?,
                updated_at: row.time("updated_at")?,
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_across_international_and_national_forms() {
        assert!(same_number("+4915123456789", "4915123456789"));
        assert!(same_number("+4915123456789", "015123456789"));
        assert!(!same_number("+4915123456789", "+4915123456788"));
        assert!(!same_number("", "+49"));
        assert!(!same_number("123", "+49123"));
    }

    /// A queued message is taken once (one sender in the cluster), and only a message nobody took is failed.
    #[tokio::test]
    async fn a_queued_message_is_taken_once_and_failed_only_when_nobody_took_it() {
        for store in crate::store::testing::stores().await {
            let id = store
                .insert_sent("m", "+4915123456789", "hi", 1)
                .await
                .expect("insert");
            let late = store
                .insert_sent("m", "+4915123456789", "late", 1)
                .await
                .expect("insert");
            assert_eq!(
                store
                    .queued_sent(std::time::Duration::from_secs(60))
                    .await
                    .expect("queued"),
                [id, late]
            );
            let other = store.open_again().await;
            let (a, b) = tokio::join!(store.take_sent(id), other.take_sent(id));
            assert!(
                a.expect("take") ^ b.expect("take"),
                "taken once on {}",
                store.backend
            );
            assert!(!store.fail_queued_sent(id, "x").await.expect("fail"));
            assert!(store.fail_queued_sent(late, "nobody").await.expect("fail"));
            assert!(!store.take_sent(late).await.expect("take"));
            let failed = store.get_sent(late).await.expect("get").expect("row");
            assert_eq!(
                (failed.status, failed.error.as_deref()),
                (SendStatus::Failed, Some("nobody"))
            );
            assert!(store
                .queued_sent(std::time::Duration::from_secs(60))
                .await
                .expect("queued")
                .is_empty());
        }
    }

    #[tokio::test]
    async fn reports_deliver_a_multipart_message_only_when_every_part_is_delivered() {
        for store in crate::store::testing::stores().await {
            reports_deliver_a_multipart_message(&store).await;
        }
    }

    async fn reports_deliver_a_multipart_message(store: &Store) {
        let old = store
            .insert_sent("m", "+4915123456789", "old", 1)
            .await
            .expect("insert");
        store
            .update_sent(old, SendStatus::Sent, None, &[7])
            .await
            .expect("update");
        let id = store
            .insert_sent("m", "+4915123456789", "long", 2)
            .await
            .expect("insert");
        store
            .update_sent(id, SendStatus::Sent, None, &[7, 8])
            .await
            .expect("update");
        let status = |id| {
            let store = store.clone();
            async move {
                store
                    .get_sent(id)
                    .await
                    .expect("get")
                    .expect("exists")
                    .status
            }
        };
        // Another modem, another recipient, an unknown reference: no match.
        assert_eq!(
            store
                .apply_report("other", 7, "+4915123456789", None)
                .await
                .expect("apply"),
            None
        );
        assert_eq!(
            store
                .apply_report("m", 7, "+4915000000000", None)
                .await
                .expect("apply"),
            None
        );
        assert_eq!(
            store
                .apply_report("m", 9, "+4915123456789", None)
                .await
                .expect("apply"),
            None
        );
        // The newest message with reference 7 is the one reported on.
        assert_eq!(
            store
                .apply_report("m", 7, "4915123456789", None)
                .await
                .expect("apply"),
            Some(id)
        );
        assert_eq!(status(id).await, SendStatus::Sent);
        assert_eq!(status(old).await, SendStatus::Sent);
        // A repeated report changes nothing; the last part's report completes it.
        store
            .apply_report("m", 7, "+4915123456789", None)
            .await
            .expect("apply");
        assert_eq!(status(id).await, SendStatus::Sent);
        store
            .apply_report("m", 8, "+4915123456789", None)
            .await
            .expect("apply");
        assert_eq!(status(id).await, SendStatus::Delivered);
        // A failure report records why.
        store
            .apply_report("m", 8, "+4915123456789", Some("recipient unknown"))
            .await
            .expect("apply");
        let failed = store.get_sent(id).await.expect("get").expect("exists");
        assert_eq!(
            (failed.status, failed.error.as_deref()),
            (SendStatus::Failed, Some("recipient unknown"))
        );
    }
}
