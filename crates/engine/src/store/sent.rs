//! Outgoing messages and their status, for `POST /api/send` and `GET /api/sent/{id}`.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use simrelay_protocol::{SendStatus, SentMessage};
use sqlx::Row;

use super::{Store, StoreError};

/// The `status` column's spelling of a status (the same as on the wire).
fn status_str(status: SendStatus) -> &'static str {
    match status {
        SendStatus::Queued => "queued",
        SendStatus::Sending => "sending",
        SendStatus::Sent => "sent",
        SendStatus::Delivered => "delivered",
        SendStatus::Failed => "failed",
    }
}

fn parse_status(text: &str) -> Option<SendStatus> {
    [
        SendStatus::Queued,
        SendStatus::Sending,
        SendStatus::Sent,
        SendStatus::Delivered,
        SendStatus::Failed,
    ]
    .into_iter()
    .find(|s| status_str(*s) == text)
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, false)
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
        let now = now();
        Ok(sqlx::query_scalar(
            "INSERT INTO sent (modem, recipient, text, status, parts, created_at, updated_at) \
             VALUES (?, ?, ?, 'queued', ?, ?, ?) RETURNING id",
        )
        .bind(modem)
        .bind(to)
        .bind(text)
        .bind(i64::try_from(parts).unwrap_or(i64::MAX))
        .bind(&now)
        .bind(&now)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Moves a sent message to `status`, with the error or the message references when there are any.
    pub async fn update_sent(
        &self,
        id: i64,
        status: SendStatus,
        error: Option<&str>,
        refs: &[u8],
    ) -> Result<(), StoreError> {
        let refs = (!refs.is_empty())
            .then(|| refs.iter().map(u8::to_string).collect::<Vec<_>>().join(","));
        sqlx::query("UPDATE sent SET status = ?, error = ?, message_refs = COALESCE(?, message_refs), updated_at = ? WHERE id = ?")
            .bind(status_str(status))
            .bind(error)
            .bind(refs)
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One sent message.
    pub async fn get_sent(&self, id: i64) -> Result<Option<SentMessage>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT id, modem, recipient, text, status, error, message_refs, parts, created_at, updated_at \
             FROM sent WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let corrupt = |reason: String| StoreError::Corrupt { id, reason };
        let time = |column: &str| -> Result<DateTime<FixedOffset>, StoreError> {
            let text: String = row.try_get(column)?;
            DateTime::parse_from_rfc3339(&text).map_err(|e| corrupt(format!("{column}: {e}")))
        };
        let refs: Option<String> = row.try_get("message_refs")?;
        Ok(Some(SentMessage {
            id,
            modem: row.try_get("modem")?,
            to: row.try_get("recipient")?,
            text: row.try_get("text")?,
            status: {
                let text: String = row.try_get("status")?;
                parse_status(&text).ok_or_else(|| corrupt(format!("unknown status {text:?}")))?
            },
            error: row.try_get("error")?,
            message_refs: refs
                .unwrap_or_default()
                .split(',')
                .filter_map(|r| r.parse().ok())
                .collect(),
            parts: row.try_get("parts")?,
            created_at: time("created_at")?,
            updated_at: time("updated_at")?,
        }))
    }
}
