//! Retention: forgetting old messages, and scrubbing old codes for privacy, as configured.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use sqlx::Row;

use super::{on_db, Store, StoreError};

/// How long messages and codes are kept. The default keeps everything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Delete messages received more than this many days ago.
    pub days: Option<u32>,
    /// Keep only this many newest messages.
    pub messages: Option<u32>,
    /// Scrub the code (from `code`, from the text, and the raw PDUs) of messages older than this many minutes.
    pub purge_codes_after_minutes: Option<u32>,
}

/// What one [`Store::apply_retention`] pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Messages deleted.
    pub deleted: u64,
    /// Messages whose code was scrubbed.
    pub scrubbed: u64,
}

impl Store {
    /// Applies `retention` once.
    pub async fn apply_retention(
        &self,
        retention: &Retention,
    ) -> Result<RetentionReport, StoreError> {
        let mut report = RetentionReport::default();
        if let Some(days) = retention.days {
            let cutoff = Utc::now() - ChronoDuration::days(i64::from(days));
            report.deleted += on_db!(self, db => {
                sqlx::query("DELETE FROM messages WHERE received_at < $1")
                    .bind(db.time(cutoff))
                    .execute(db.writer())
                    .await?
                    .rows_affected()
            });
        }
        if let Some(keep) = retention.messages {
            report.deleted += on_db!(self, db => {
                let mut deleted = sqlx::query(
                    "DELETE FROM messages WHERE id < (SELECT MIN(id) FROM \
                     (SELECT id FROM messages ORDER BY id DESC LIMIT $1) AS newest)",
                )
                .bind(i64::from(keep))
                .execute(db.writer())
                .await?
                .rows_affected();
                if keep == 0 {
                    deleted += sqlx::query("DELETE FROM messages")
                        .execute(db.writer())
                        .await?
                        .rows_affected();
                }
                deleted
            });
        }
        if let Some(minutes) = retention.purge_codes_after_minutes {
            let cutoff = Utc::now() - ChronoDuration::minutes(i64::from(minutes));
            report.scrubbed = self.scrub_codes_before(cutoff).await?;
        }
        Ok(report)
    }

    /// Replaces each old code, and the other plausible codes (one of them may be the real one), in its text by
    /// `*`s of the same byte length (so other spans stay valid), clears the code and what was known about it, and
    /// drops the raw PDUs, which hold the code too.
    async fn scrub_codes_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        on_db!(self, db => {
            let mut tx = db.begin().await?;
            let rows = sqlx::query(
                "SELECT id, text, code_start, code_end, code_alternatives FROM messages \
                 WHERE code IS NOT NULL AND received_at < $1",
            )
            .bind(db.time(cutoff))
            .fetch_all(&mut *tx)
            .await?;
            for row in &rows {
                let id: i64 = row.try_get("id")?;
                let text: String = row.try_get("text")?;
                let start: Option<i64> = row.try_get("code_start")?;
                let end: Option<i64> = row.try_get("code_end")?;
                let alternatives: Option<String> = row.try_get("code_alternatives")?;
                let mut text = scrubbed(&text, start, end);
                for a in super::alternatives_from_json(alternatives.as_deref()) {
                    let [s, e] = a.span;
                    if s <= e && text.get(s..e).is_some() {
                        text = format!("{}{}{}", &text[..s], "*".repeat(e - s), &text[e..]);
                    }
                }
                sqlx::query(
                    "UPDATE messages SET text = $1, code = NULL, code_start = NULL, code_end = NULL, \
                     code_confidence = NULL, code_origin = NULL, code_origin_embedded = NULL, \
                     code_alternatives = NULL WHERE id = $2",
                )
                .bind(text)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM pdus WHERE message_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(u64::try_from(rows.len()).unwrap_or(u64::MAX))
        })
    }
}

/// `text` with the code at `[start, end)` replaced by as many `*`s as it has bytes; when the span is unusable
/// the code cannot be located, so the whole text goes.
fn scrubbed(text: &str, start: Option<i64>, end: Option<i64>) -> String {
    match (
        start.and_then(|s| usize::try_from(s).ok()),
        end.and_then(|e| usize::try_from(e).ok()),
    ) {
        (Some(s), Some(e)) if s <= e && text.get(s..e).is_some() => {
            format!("{}{}{}", &text[..s], "*".repeat(e - s), &text[e..])
        }
        _ => "(text removed with its code)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Inserted, MessageQuery, NewMessage};

    async fn store_with(store: &Store, n: u8) -> Vec<i64> {
        let mut ids = Vec::new();
        for i in 0..n {
            let new = NewMessage {
                code: Some("482913".into()),
                code_span: Some([13, 19]),
                ..crate::store::testing::received("m", "S", "Your code is 482913, valid 5 min", [i])
            };
            let Inserted::New(m) = store.insert_message(&new).await.expect("insert") else {
                panic!("dup")
            };
            ids.push(m.id);
        }
        ids
    }

    #[tokio::test]
    async fn default_retention_keeps_everything() {
        for store in crate::store::testing::stores().await {
            let _ids = store_with(&store, 3).await;
            assert_eq!(
                store
                    .apply_retention(&Retention::default())
                    .await
                    .expect("apply"),
                RetentionReport::default()
            );
            assert_eq!(store.count().await.expect("count"), 3);
        }
    }

    #[tokio::test]
    async fn keeps_the_newest_n_and_drops_by_age() {
        for store in crate::store::testing::stores().await {
            let ids = store_with(&store, 5).await;
            let report = store
                .apply_retention(&Retention {
                    messages: Some(2),
                    ..Retention::default()
                })
                .await;
            assert_eq!(report.expect("apply").deleted, 3);
            let left: Vec<i64> = store
                .recent(10)
                .await
                .expect("recent")
                .into_iter()
                .map(|m| m.id)
                .collect();
            assert_eq!(left, vec![ids[4], ids[3]]);
            // Everything here was received just now: a 1-day limit deletes nothing, and 0 days everything.
            let day = store
                .apply_retention(&Retention {
                    days: Some(1),
                    ..Retention::default()
                })
                .await;
            assert_eq!(day.expect("apply").deleted, 0);
            let none = store
                .apply_retention(&Retention {
                    days: Some(0),
                    ..Retention::default()
                })
                .await;
            assert_eq!(none.expect("apply").deleted, 2);
        }
    }

    #[tokio::test]
    async fn old_codes_are_scrubbed_from_text_search_and_raw_pdus() {
        for store in crate::store::testing::stores().await {
            let ids = store_with(&store, 1).await;
            let five_minutes = Retention {
                purge_codes_after_minutes: Some(5),
                ..Retention::default()
            };
            let recent = store.apply_retention(&five_minutes).await.expect("apply");
            assert_eq!(recent.scrubbed, 0, "too new to scrub");
            let report = store
                .apply_retention(&Retention {
                    purge_codes_after_minutes: Some(0),
                    ..Retention::default()
                })
                .await
                .expect("apply");
            assert_eq!(report.scrubbed, 1);
            let m = store.get(ids[0]).await.expect("get").expect("kept");
            assert_eq!(m.text, "Your code is ******, valid 5 min");
            assert_eq!((m.code, m.code_span), (None, None));
            assert!(store.raw_pdus(ids[0]).await.expect("pdus").is_empty());
            let search = MessageQuery {
                text: Some("482913".into()),
                limit: 10,
                ..MessageQuery::default()
            };
            assert!(
                store
                    .search(&search)
                    .await
                    .expect("search")
                    .messages
                    .is_empty(),
                "the index forgot it too"
            );
        }
    }

    #[tokio::test]
    async fn scrubbing_also_hides_the_other_plausible_codes() {
        for store in crate::store::testing::stores().await {
            let text = "Security code: 55102288\nVerification code: 482913";
            let (code, code_span, confidence, origin, alternatives) =
                crate::store::code_fields(simrelay_otp::analyse(text));
            assert_eq!(alternatives.len(), 1, "{alternatives:?}");
            let new = NewMessage {
                code,
                code_span,
                confidence,
                origin,
                alternatives,
                ..crate::store::testing::received("m", "S", text, [1])
            };
            let Inserted::New(m) = store.insert_message(&new).await.expect("insert") else {
                panic!("dup")
            };
            assert_eq!(m.alternatives[0].code, "55102288");
            let report = store
                .apply_retention(&Retention {
                    purge_codes_after_minutes: Some(0),
                    ..Retention::default()
                })
                .await
                .expect("apply");
            assert_eq!(report.scrubbed, 1, "{}", store.backend);
            let m = store.get(m.id).await.expect("get").expect("kept");
            assert_eq!(m.text, "Security code: ********\nVerification code: ******");
            assert_eq!((m.code, m.confidence), (None, None));
            assert!(m.alternatives.is_empty());
        }
    }
}
