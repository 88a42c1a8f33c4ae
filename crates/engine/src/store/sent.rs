//! Outgoing messages and their status, for `POST /api/send` and `GET /api/sent/{id}`.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError};

/// Where an outgoing message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SendStatus {
    /// Accepted, not yet handed to the modem.
    Queued,
    /// The modem is sending it.
    Sending,
    /// The network accepted every part.
    Sent,
    /// Sending failed; see `error`.
    Failed,
}

impl SendStatus {
    fn as_str(self) -> &'static str {
        match self {
            SendStatus::Queued => "queued",
            SendStatus::Sending => "sending",
            SendStatus::Sent => "sent",
            SendStatus::Failed => "failed",
        }
    }
}

/// An outgoing message as `GET /api/sent/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentMessage {
    /// Id in the sent sequence.
    pub id: i64,
    /// Modem that sends it.
    pub modem: String,
    /// Recipient number.
    pub to: String,
    /// Text.
    pub text: String,
    /// `queued`, `sending`, `sent`, `failed` (or `delivered`).
    pub status: String,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Message references the network gave the parts.
    pub message_refs: Vec<u8>,
    /// Number of SMS parts.
    pub parts: i64,
    /// When it was accepted.
    pub created_at: DateTime<FixedOffset>,
    /// When its status last changed.
    pub updated_at: DateTime<FixedOffset>,
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
            .bind(status.as_str())
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
            status: row.try_get("status")?,
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
