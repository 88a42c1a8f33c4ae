//! The user's corrections of senders' codes (`code_corrections`): "this sender never sends codes", "this sender's
//! code is the 8-digit one". Stored in SQLite and mirrored in memory, because every committed message looks its
//! sender up (see [`Store::insert_messages`]) and a query per message would sit on the ingest path.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use simrelay_otp::{CodeKind, CodeShape, Correction};
use sqlx::Row;

use super::{Store, StoreError};

/// A stored correction.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeCorrection {
    /// The sender it applies to, exactly as the network gives it.
    pub sender: String,
    /// What the user said.
    pub correction: Correction,
    /// When the user said it.
    pub created_at: DateTime<FixedOffset>,
}

/// The in-memory mirror of `code_corrections`: sender → correction. Written only by [`Store`] methods after the
/// database write succeeded, so it never says more than the file.
#[derive(Debug, Clone, Default)]
pub(crate) struct Corrections(Arc<RwLock<HashMap<String, Correction>>>);

impl Corrections {
    pub(crate) fn get(&self, sender: &str) -> Option<Correction> {
        // A poisoned lock only means a writer panicked between two map operations; the map is still whole.
        let map = self.0.read().unwrap_or_else(|e| e.into_inner());
        map.get(sender).copied()
    }

    fn set(&self, sender: &str, correction: Option<Correction>) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        match correction {
            Some(c) => map.insert(sender.to_owned(), c),
            None => map.remove(sender),
        };
    }

    fn replace(&self, all: HashMap<String, Correction>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = all;
    }
}

fn columns(correction: &Correction) -> (&'static str, Option<&'static str>, Option<i64>) {
    match correction {
        Correction::NoCode => ("no_code", None, None),
        Correction::Shape(shape) => (
            "shape",
            Some(shape.kind.name()),
            Some(i64::try_from(shape.len).unwrap_or(i64::MAX)),
        ),
    }
}

fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<CodeCorrection, StoreError> {
    let sender: String = row.try_get("sender")?;
    let corrupt = |reason: String| StoreError::CorruptCorrection {
        sender: sender.clone(),
        reason,
    };
    let kind: String = row.try_get("kind")?;
    let correction = match kind.as_str() {
        "no_code" => Correction::NoCode,
        "shape" => {
            let code_kind: Option<String> = row.try_get("code_kind")?;
            let code_len: Option<i64> = row.try_get("code_len")?;
            let kind = code_kind
                .as_deref()
                .and_then(CodeKind::from_name)
                .ok_or_else(|| corrupt(format!("code_kind {code_kind:?}")))?;
            let len = code_len
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| corrupt(format!("code_len {code_len:?}")))?;
            Correction::Shape(CodeShape { kind, len })
        }
        other => return Err(corrupt(format!("kind {other:?}"))),
    };
    let created: String = row.try_get("created_at")?;
    let created_at = DateTime::parse_from_rfc3339(&created)
        .map_err(|e| corrupt(format!("created_at {created:?}: {e}")))?;
    Ok(CodeCorrection {
        sender: sender.clone(),
        correction,
        created_at,
    })
}

impl Store {
    /// Loads every correction into memory; called once when the store opens. A damaged row is left out (and
    /// logged) rather than keeping the app from starting.
    pub(crate) async fn load_corrections(&self) -> Result<(), StoreError> {
        let rows = sqlx::query(
            "SELECT sender, kind, code_kind, code_len, created_at FROM code_corrections",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut all = HashMap::new();
        for row in &rows {
            match from_row(row) {
                Ok(c) => {
                    all.insert(c.sender, c.correction);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a code correction is damaged and not applied")
                }
            }
        }
        self.corrections.replace(all);
        Ok(())
    }

    /// Stores what the user said about `sender`'s codes (replacing an earlier correction) and applies it to the
    /// sender's messages from now on.
    pub async fn set_correction(
        &self,
        sender: &str,
        correction: Correction,
    ) -> Result<CodeCorrection, StoreError> {
        let created_at = Utc::now().fixed_offset();
        let (kind, code_kind, code_len) = columns(&correction);
        sqlx::query(
            "INSERT INTO code_corrections (sender, kind, code_kind, code_len, created_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (sender) DO UPDATE SET kind = excluded.kind, code_kind = excluded.code_kind, \
             code_len = excluded.code_len, created_at = excluded.created_at",
        )
        .bind(sender)
        .bind(kind)
        .bind(code_kind)
        .bind(code_len)
        .bind(created_at.to_rfc3339_opts(SecondsFormat::Micros, false))
        .execute(self.for_write())
        .await?;
        self.corrections.set(sender, Some(correction));
        Ok(CodeCorrection {
            sender: sender.to_owned(),
            correction,
            created_at,
        })
    }

    /// Forgets the correction for `sender`; true if there was one. Messages already stored keep their code.
    pub async fn remove_correction(&self, sender: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM code_corrections WHERE sender = ?")
            .bind(sender)
            .execute(self.for_write())
            .await?;
        self.corrections.set(sender, None);
        Ok(done.rows_affected() > 0)
    }

    /// Every stored correction, newest first.
    pub async fn corrections(&self) -> Result<Vec<CodeCorrection>, StoreError> {
        let rows = sqlx::query(
            "SELECT sender, kind, code_kind, code_len, created_at FROM code_corrections \
             ORDER BY created_at DESC, sender",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// The correction for `sender`, from memory.
    pub fn correction_for(&self, sender: &str) -> Option<Correction> {
        self.corrections.get(sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn corrections_survive_a_reopen_replace_each_other_and_can_be_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("corrections.db");
        let store = Store::open(&path).await.expect("open");
        let eight = Correction::Shape(CodeShape::of("12345678"));
        store
            .set_correction("Nimbus", Correction::NoCode)
            .await
            .expect("set");
        store
            .set_correction("Nimbus", eight)
            .await
            .expect("replace");
        store
            .set_correction("+4915123456789", Correction::NoCode)
            .await
            .expect("set");
        assert_eq!(store.correction_for("Nimbus"), Some(eight));
        store.close().await;

        let store = Store::open(&path).await.expect("reopen");
        assert_eq!(store.correction_for("Nimbus"), Some(eight));
        assert_eq!(
            store.correction_for("+4915123456789"),
            Some(Correction::NoCode)
        );
        let listed = store.corrections().await.expect("list");
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].sender, "+4915123456789", "newest first");
        assert!(store.remove_correction("Nimbus").await.expect("remove"));
        assert!(!store.remove_correction("Nimbus").await.expect("again"));
        assert_eq!(store.correction_for("Nimbus"), None);
        assert_eq!(store.corrections().await.expect("list").len(), 1);
    }

    #[tokio::test]
    async fn a_damaged_row_is_an_error_naming_the_sender() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("c.db")).await.expect("open");
        sqlx::query(
            "INSERT INTO code_corrections (sender, kind, code_kind, code_len, created_at) \
             VALUES ('Bank', 'no_code', NULL, NULL, 'yesterday')",
        )
        .execute(store.for_write())
        .await
        .expect("insert");
        let err = store.corrections().await.expect_err("damaged");
        assert!(err.to_string().contains("Bank"), "{err}");
    }
}
