//! The id each configured modem port last turned out to have (`modem_ids`), so a modem absent at start-up is
//! still known by its IMEI-based id rather than its port path.

use chrono::{SecondsFormat, Utc};
use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    /// Remembers that the modem on `port` identified itself as `id`.
    pub async fn remember_modem_id(&self, port: &str, id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO modem_ids (port, id, seen_at) VALUES (?, ?, ?) \
             ON CONFLICT (port) DO UPDATE SET id = excluded.id, seen_at = excluded.seen_at",
        )
        .bind(port)
        .bind(id)
        .bind(Utc::now().to_rfc3339_opts(SecondsFormat::Micros, false))
        .execute(self.for_write())
        .await?;
        Ok(())
    }

    /// The id the modem on `port` had last time, if it ever told one.
    pub async fn known_modem_id(&self, port: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT id FROM modem_ids WHERE port = ?")
            .bind(port)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get::<String, _>(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_last_id_per_port_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("ids.db")).await.expect("open");
        assert_eq!(
            store.known_modem_id("/dev/ttyUSB2").await.expect("read"),
            None
        );
        store
            .remember_modem_id("/dev/ttyUSB2", "imei:356938035643809")
            .await
            .expect("write");
        store
            .remember_modem_id("/dev/ttyUSB2", "imei:490154203237518")
            .await
            .expect("write");
        assert_eq!(
            store
                .known_modem_id("/dev/ttyUSB2")
                .await
                .expect("read")
                .as_deref(),
            Some("imei:490154203237518")
        );
    }
}
