//! The modems added at run time (`added_modems`): what `POST /api/modems` started, so the next start starts them
//! again. Modems from the config file are not stored here: the file stays the one place they are declared.
//! A node sharing a PostgreSQL database starts only the modems added on it.

use chrono::Utc;
use sqlx::Row;

use super::{on_db, Store, StoreError};

/// A modem added at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddedModem {
    /// A modem on a serial port.
    Serial {
        /// The port path.
        port: String,
        /// The name the user gave it.
        label: Option<String>,
    },
    /// The built-in demo modem.
    Demo,
}

/// The `port` value that stands for the demo modem.
const DEMO_KEY: &str = "demo";

impl Store {
    /// Remembers a modem added at run time (replacing an earlier row for the same port).
    pub async fn remember_added_modem(&self, modem: &AddedModem) -> Result<(), StoreError> {
        let (port, kind, label) = match modem {
            AddedModem::Serial { port, label } => (port.as_str(), "serial", label.as_deref()),
            AddedModem::Demo => (DEMO_KEY, "demo", None),
        };
        on_db!(self, db => {
            sqlx::query(
                "INSERT INTO added_modems (node, port, kind, label, added_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (node, port) DO UPDATE SET kind = excluded.kind, label = excluded.label, \
                 added_at = excluded.added_at",
            )
            .bind(db.node())
            .bind(port)
            .bind(kind)
            .bind(label)
            .bind(db.time(Utc::now()))
            .execute(db.writer())
            .await?;
        });
        Ok(())
    }

    /// Forgets a modem added at run time; true if there was one.
    pub async fn forget_added_modem(&self, modem: &AddedModem) -> Result<bool, StoreError> {
        let port = match modem {
            AddedModem::Serial { port, .. } => port.as_str(),
            AddedModem::Demo => DEMO_KEY,
        };
        on_db!(self, db => {
            let done = sqlx::query("DELETE FROM added_modems WHERE node = $1 AND port = $2")
                .bind(db.node())
                .bind(port)
                .execute(db.writer())
                .await?;
            Ok(done.rows_affected() > 0)
        })
    }

    /// Moves what is stored under the port path `old` (an added modem, the id its modem had) to `new`, the same
    /// device's stable `/dev/serial/by-id/...` name, so a modem added as `/dev/ttyUSB2` is still found after a
    /// replug renumbers it. A row already stored under `new` wins and `old`'s is dropped. True if anything moved.
    pub async fn move_modem_port(&self, old: &str, new: &str) -> Result<bool, StoreError> {
        if old == new {
            return Ok(false);
        }
        on_db!(self, db => {
            let mut tx = db.begin().await?;
            let mut moved = 0;
            for table in ["added_modems", "modem_ids"] {
                moved += sqlx::query(&format!(
                    "UPDATE {table} SET port = $3 WHERE node = $1 AND port = $2 \
                     AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.node = $1 AND t.port = $3)"
                ))
                .bind(db.node())
                .bind(old)
                .bind(new)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                sqlx::query(&format!("DELETE FROM {table} WHERE node = $1 AND port = $2"))
                    .bind(db.node())
                    .bind(old)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(moved > 0)
        })
    }

    /// The modems added at run time, oldest first.
    pub async fn added_modems(&self) -> Result<Vec<AddedModem>, StoreError> {
        on_db!(self, db => {
            let rows = sqlx::query(
                "SELECT port, kind, label FROM added_modems WHERE node = $1 ORDER BY added_at, port",
            )
            .bind(db.node())
            .fetch_all(db.reader())
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(match row.try_get::<String, _>(1)?.as_str() {
                        "demo" => AddedModem::Demo,
                        _ => AddedModem::Serial {
                            port: row.try_get(0)?,
                            label: row.try_get(2)?,
                        },
                    })
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_port_moves_to_its_stable_name_with_its_id() {
        for store in crate::store::testing::stores().await {
            let (tty, by_id) = (
                "/dev/ttyUSB2",
                "/dev/serial/by-id/usb-Quectel_EC25_X-if02-port0",
            );
            store
                .remember_added_modem(&AddedModem::Serial {
                    port: tty.into(),
                    label: Some("Work SIM".into()),
                })
                .await
                .expect("add");
            store
                .remember_modem_id(tty, "imei:356938035643809")
                .await
                .expect("id");
            assert!(
                store.move_modem_port(tty, by_id).await.expect("move"),
                "{}",
                store.backend
            );
            assert_eq!(
                store.added_modems().await.expect("list"),
                vec![AddedModem::Serial {
                    port: by_id.into(),
                    label: Some("Work SIM".into())
                }]
            );
            assert_eq!(store.known_modem_id(tty).await.expect("old"), None);
            assert_eq!(
                store.known_modem_id(by_id).await.expect("new").as_deref(),
                Some("imei:356938035643809")
            );
            assert!(
                !store.move_modem_port(tty, by_id).await.expect("again"),
                "nothing left to move"
            );
            // Stored under both names (added twice): the stable one is kept, the old one goes.
            store
                .remember_added_modem(&AddedModem::Serial {
                    port: tty.into(),
                    label: Some("old".into()),
                })
                .await
                .expect("add old");
            store.move_modem_port(tty, by_id).await.expect("move");
            assert_eq!(
                store.added_modems().await.expect("list"),
                vec![AddedModem::Serial {
                    port: by_id.into(),
                    label: Some("Work SIM".into())
                }]
            );
        }
    }

    #[tokio::test]
    async fn added_modems_survive_a_reopen_until_forgotten() {
        for mut store in crate::store::testing::stores().await {
            let usb = AddedModem::Serial {
                port: "/dev/ttyUSB2".into(),
                label: Some("Work SIM".into()),
            };
            store.remember_added_modem(&usb).await.expect("add");
            store
                .remember_added_modem(&AddedModem::Demo)
                .await
                .expect("add demo");
            store.reopen().await;
            assert_eq!(
                store.added_modems().await.expect("list"),
                vec![usb.clone(), AddedModem::Demo],
                "{}",
                store.backend
            );
            assert!(store.forget_added_modem(&usb).await.expect("forget"));
            assert!(!store.forget_added_modem(&usb).await.expect("again"));
            assert_eq!(
                store.added_modems().await.expect("list"),
                vec![AddedModem::Demo]
            );
        }
    }
}
