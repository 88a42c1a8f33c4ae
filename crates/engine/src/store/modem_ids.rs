//! The id each configured modem port last turned out to have (`modem_ids`), so a modem absent at start-up is
//! still known by its IMEI-based id rather than its port path. Ports are a node's own: rows are per node.

use chrono::Utc;
use sqlx::Row;

use super::{on_db, Store, StoreError};

impl Store {
    /// Remembers that the modem on `port` identified itself as `id`.
    pub async fn remember_modem_id(&self, port: &str, id: &str) -> Result<(), StoreError> {
        on_db!(self, db => {
            sqlx::query(
                "INSERT INTO modem_ids (node, port, id, seen_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (node, port) DO UPDATE SET id = excluded.id, seen_at = excluded.seen_at",
            )
            .bind(db.node())
            .bind(port)
            .bind(id)
            .bind(db.time(Utc::now()))
            .execute(db.writer())
            .await?;
        });
        Ok(())
    }

    /// The id the modem on `port` had last time, if it ever told one.
    pub async fn known_modem_id(&self, port: &str) -> Result<Option<String>, StoreError> {
        on_db!(self, db => {
            let row = sqlx::query("SELECT id FROM modem_ids WHERE node = $1 AND port = $2")
                .bind(db.node())
                .bind(port)
                .fetch_optional(db.reader())
                .await?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        })
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_last_id_per_port_is_kept() {
        for store in crate::store::testing::stores().await {
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
}
