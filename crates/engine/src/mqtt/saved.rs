//! What the MQTT bridge keeps in SQLite (migration 0008): the recipient of each modem's Home Assistant notify
//! entity, and which modems were announced to Home Assistant, so that one removed while SimRelay was stopped
//! is removed from Home Assistant at the next connection too.

use crate::store::{Store, StoreError};

impl Store {
    /// The notify recipient of `modem`.
    pub(crate) async fn ha_recipient(&self, modem: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT recipient FROM ha_recipients WHERE modem = ?")
                .bind(modem)
                .fetch_optional(self.reader())
                .await?,
        )
    }

    /// Sets (or, with `None`, clears) the notify recipient of `modem`.
    pub(crate) async fn set_ha_recipient(
        &self,
        modem: &str,
        recipient: Option<&str>,
    ) -> Result<(), StoreError> {
        match recipient {
            Some(recipient) => sqlx::query(
                "INSERT INTO ha_recipients (modem, recipient) VALUES (?, ?) \
                 ON CONFLICT (modem) DO UPDATE SET recipient = excluded.recipient",
            )
            .bind(modem)
            .bind(recipient),
            None => sqlx::query("DELETE FROM ha_recipients WHERE modem = ?").bind(modem),
        }
        .execute(self.for_write())
        .await?;
        Ok(())
    }

    /// The modems announced under `discovery_prefix`.
    pub(crate) async fn ha_announced(
        &self,
        discovery_prefix: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT modem FROM ha_announced WHERE discovery_prefix = ? ORDER BY modem",
        )
        .bind(discovery_prefix)
        .fetch_all(self.reader())
        .await?)
    }

    /// Records that `modem` was announced (`true`) or removed (`false`).
    pub(crate) async fn set_ha_announced(
        &self,
        discovery_prefix: &str,
        modem: &str,
        announced: bool,
    ) -> Result<(), StoreError> {
        let query = if announced {
            "INSERT INTO ha_announced (discovery_prefix, modem) VALUES (?, ?) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM ha_announced WHERE discovery_prefix = ? AND modem = ?"
        };
        sqlx::query(query)
            .bind(discovery_prefix)
            .bind(modem)
            .execute(self.for_write())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn recipients_and_announcements_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.db");
        let store = Store::open(&path).await.expect("open");
        store
            .set_ha_recipient("imei:1", Some("+4915"))
            .await
            .expect("set");
        store
            .set_ha_recipient("imei:1", Some("+4916"))
            .await
            .expect("set");
        store
            .set_ha_announced("homeassistant", "imei:1", true)
            .await
            .expect("announce");
        store
            .set_ha_announced("homeassistant", "imei:1", true)
            .await
            .expect("again");
        store
            .set_ha_announced("homeassistant", "demo", true)
            .await
            .expect("announce");
        store
            .set_ha_announced("homeassistant", "demo", false)
            .await
            .expect("remove");
        store.close().await;
        let store = Store::open(&path).await.expect("reopen");
        assert_eq!(
            store.ha_recipient("imei:1").await.expect("get").as_deref(),
            Some("+4916")
        );
        assert_eq!(
            store.ha_announced("homeassistant").await.expect("list"),
            ["imei:1"]
        );
        assert!(store.ha_announced("other").await.expect("list").is_empty());
        store.set_ha_recipient("imei:1", None).await.expect("clear");
        assert_eq!(store.ha_recipient("imei:1").await.expect("get"), None);
    }
}
