//! Paired devices and waiting pairing codes in the database (migration 0017), for nodes of a cluster, which
//! share them: `tokens::Devices` keeps its registry here instead of in `tokens.toml` when the store is
//! PostgreSQL. Only SHA-256 hashes of tokens and codes are stored. A relay on SQLite leaves these tables empty.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{on_db, Store, StoreError};
use crate::tokens::{parse_scopes, PairedToken, Scopes};

/// What [`Store::put_pairing_code`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairingPut {
    /// The code waits to be exchanged.
    Stored,
    /// Too many codes wait already; nothing was stored.
    TooMany,
}

/// What [`Store::import_paired_devices`] (and `tokens::import`) did with each device given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DevicesImport {
    /// Devices added.
    pub added: u64,
    /// Devices already there (the same token): kept as they were.
    pub present: u64,
    /// Names of devices not added because another device (another token) has that name already.
    pub name_taken: Vec<String>,
}

impl DevicesImport {
    /// Sorts one device into the report: `added`, else already there when `same_token_there`, else its name
    /// was taken.
    pub(crate) fn count(&mut self, device: &PairedToken, added: bool, same_token_there: bool) {
        if added {
            self.added += 1;
        } else if same_token_there {
            self.present += 1;
        } else {
            self.name_taken.push(device.name.clone());
        }
    }
}

impl Store {
    /// Adds paired devices as another store or a relay's `tokens.toml` holds them (`simrelay copy-db`), keeping
    /// their hashes, scopes and times, in one transaction. Idempotent: a device already here (the same token)
    /// is kept as it is, and one whose name another device has is not added (the report names it).
    pub async fn import_paired_devices(
        &self,
        devices: &[PairedToken],
    ) -> Result<DevicesImport, StoreError> {
        let mut report = DevicesImport::default();
        on_db!(self, db => {
            let mut tx = db.begin().await?;
            for device in devices {
                let added = sqlx::query(
                    "INSERT INTO devices (name, sha256, scopes, created_at, last_seen, last_ip) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                )
                .bind(&device.name)
                .bind(&device.sha256)
                .bind(device.scopes.to_string())
                .bind(&device.created_at)
                .bind(&device.last_seen)
                .bind(&device.last_ip)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    > 0;
                let there: i64 = sqlx::query("SELECT COUNT(*) FROM devices WHERE sha256 = $1")
                    .bind(&device.sha256)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
                report.count(device, added, there > 0);
            }
            tx.commit().await?;
        });
        Ok(report)
    }

    /// Every paired device, in the order they were paired.
    pub async fn paired_devices(&self) -> Result<Vec<PairedToken>, StoreError> {
        on_db!(self, db => {
            let rows = sqlx::query(
                "SELECT seq, name, sha256, scopes, created_at, last_seen, last_ip FROM devices ORDER BY seq",
            )
            .fetch_all(db.reader())
            .await?;
            rows.iter()
                .map(|row| {
                    let scopes: String = row.try_get("scopes")?;
                    Ok(PairedToken {
                        name: row.try_get("name")?,
                        sha256: row.try_get("sha256")?,
                        scopes: parse_scopes(&scopes).map_err(|e| StoreError::Corrupt {
                            id: row.try_get("seq").unwrap_or_default(),
                            reason: format!("paired device: {e}"),
                        })?,
                        created_at: row.try_get("created_at")?,
                        last_seen: row.try_get("last_seen")?,
                        last_ip: row.try_get("last_ip")?,
                    })
                })
                .collect()
        })
    }

    /// Stores a newly paired device; false (and nothing stored) if a device of that name (or token) exists.
    pub async fn add_paired_device(&self, device: &PairedToken) -> Result<bool, StoreError> {
        on_db!(self, db => {
            let done = sqlx::query(
                "INSERT INTO devices (name, sha256, scopes, created_at, last_seen, last_ip) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(&device.name)
            .bind(&device.sha256)
            .bind(device.scopes.to_string())
            .bind(&device.created_at)
            .bind(&device.last_seen)
            .bind(&device.last_ip)
            .execute(db.writer())
            .await?;
            Ok(done.rows_affected() > 0)
        })
    }

    /// Removes the device whose token hashes to `sha256`; true if there was one.
    pub async fn remove_paired_device(&self, sha256: &str) -> Result<bool, StoreError> {
        on_db!(self, db => {
            let done = sqlx::query("DELETE FROM devices WHERE sha256 = $1")
                .bind(sha256)
                .execute(db.writer())
                .await?;
            Ok(done.rows_affected() > 0)
        })
    }

    /// Records when (RFC 3339) and from where a device last authenticated.
    pub async fn paired_device_seen(
        &self,
        sha256: &str,
        last_seen: Option<&str>,
        last_ip: Option<&str>,
    ) -> Result<(), StoreError> {
        on_db!(self, db => {
            sqlx::query("UPDATE devices SET last_seen = $2, last_ip = COALESCE($3, last_ip) WHERE sha256 = $1")
                .bind(sha256)
                .bind(last_seen)
                .bind(last_ip)
                .execute(db.writer())
                .await?;
        });
        Ok(())
    }

    /// Stores a pairing code (its SHA-256) that pairs a device `name` with `scopes` until `expires`, replacing
    /// a code waiting for the same name, unless `max` unexpired codes wait already.
    pub async fn put_pairing_code(
        &self,
        code_sha256: &str,
        name: &str,
        scopes: Scopes,
        expires: DateTime<Utc>,
        max: usize,
    ) -> Result<PairingPut, StoreError> {
        let now = Utc::now();
        on_db!(self, db => {
            let mut tx = db.begin().await?;
            sqlx::query("DELETE FROM pairing_codes WHERE expires_at <= $1 OR name = $2")
                .bind(db.time(now))
                .bind(name)
                .execute(&mut *tx)
                .await?;
            let waiting: i64 = sqlx::query("SELECT COUNT(*) FROM pairing_codes")
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            if usize::try_from(waiting).unwrap_or(usize::MAX) >= max {
                return Ok(PairingPut::TooMany);
            }
            sqlx::query(
                "INSERT INTO pairing_codes (code_sha256, name, scopes, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(code_sha256)
            .bind(name)
            .bind(scopes.to_string())
            .bind(db.time(expires))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(PairingPut::Stored)
        })
    }

    /// Spends the pairing code whose SHA-256 is `code_sha256`: the device name and scopes it was made for, if it
    /// waits and has not expired. A code is spent once across every node sharing the database.
    pub async fn take_pairing_code(
        &self,
        code_sha256: &str,
    ) -> Result<Option<(String, Scopes)>, StoreError> {
        let now = Utc::now();
        on_db!(self, db => {
            let row = sqlx::query(
                "DELETE FROM pairing_codes WHERE code_sha256 = $1 RETURNING name, scopes, \
                 expires_at > $2 AS fresh",
            )
            .bind(code_sha256)
            .bind(db.time(now))
            .fetch_optional(db.writer())
            .await?;
            let Some(row) = row else { return Ok(None) };
            if !row.try_get::<bool, _>("fresh")? {
                return Ok(None);
            }
            let scopes: String = row.try_get("scopes")?;
            let scopes = parse_scopes(&scopes).map_err(|e| StoreError::Corrupt {
                id: 0,
                reason: format!("pairing code: {e}"),
            })?;
            Ok(Some((row.try_get("name")?, scopes)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::token_hash;

    fn device(name: &str, token: &str) -> PairedToken {
        PairedToken {
            name: name.into(),
            sha256: token_hash(token),
            scopes: Scopes::DEFAULT_DEVICE,
            created_at: "2026-12-07T18:00:00Z".into(),
            last_seen: None,
            last_ip: None,
        }
    }

    #[tokio::test]
    async fn devices_are_stored_in_order_once_per_name_and_removed() {
        for store in crate::store::testing::stores().await {
            let b = store.backend;
            let phone = device("phone", "t1");
            let laptop = PairedToken {
                scopes: Scopes::ALL,
                ..device("laptop", "t2")
            };
            assert!(store.add_paired_device(&phone).await.expect("add"), "{b}");
            assert!(store.add_paired_device(&laptop).await.expect("add"), "{b}");
            assert!(
                !store
                    .add_paired_device(&device("phone", "t3"))
                    .await
                    .expect("add"),
                "{b}: a name is taken once"
            );
            store
                .paired_device_seen(
                    &phone.sha256,
                    Some("2026-12-07T18:05:00Z"),
                    Some("10.0.0.7"),
                )
                .await
                .expect("seen");
            let other = store.open_node_again("other").await;
            let listed = other.paired_devices().await.expect("list");
            assert_eq!(listed.len(), 2, "{b}");
            assert_eq!(listed[1], laptop, "{b}");
            assert_eq!(listed[0].last_seen.as_deref(), Some("2026-12-07T18:05:00Z"));
            assert_eq!(listed[0].last_ip.as_deref(), Some("10.0.0.7"));
            assert!(other.remove_paired_device(&phone.sha256).await.expect("rm"));
            assert!(!other.remove_paired_device(&phone.sha256).await.expect("rm"));
            assert_eq!(store.paired_devices().await.expect("list"), vec![laptop]);
        }
    }

    /// Devices a relay's tokens.toml held arrive with their hashes, scopes and times; importing them again adds
    /// nothing, a device already there is kept as it is (its last-seen time too), and a device whose name
    /// another device has is reported, not added.
    #[tokio::test]
    async fn an_import_adds_each_device_once_and_keeps_those_there() {
        for store in crate::store::testing::stores().await {
            let b = store.backend;
            let phone = PairedToken {
                last_seen: Some("2026-12-01T08:00:00Z".into()),
                last_ip: Some("192.168.1.20".into()),
                ..device("phone", "t1")
            };
            let laptop = PairedToken {
                scopes: Scopes::ALL,
                ..device("laptop", "t2")
            };
            let seen_here = PairedToken {
                last_seen: Some("2026-12-07T20:00:00Z".into()),
                ..phone.clone()
            };
            assert!(store.add_paired_device(&seen_here).await.expect("add"));
            assert!(store
                .add_paired_device(&device("tablet", "t3"))
                .await
                .expect("add"));
            let from_file = [phone.clone(), laptop.clone(), device("tablet", "t4")];
            let first = store
                .import_paired_devices(&from_file)
                .await
                .expect("import");
            assert_eq!(
                first,
                DevicesImport {
                    added: 1,
                    present: 1,
                    name_taken: vec!["tablet".into()]
                },
                "{b}"
            );
            let again = store
                .import_paired_devices(&from_file)
                .await
                .expect("again");
            assert_eq!((again.added, again.present), (0, 2), "{b}");
            let listed = store.paired_devices().await.expect("list");
            assert_eq!(listed.len(), 3, "{b}");
            assert_eq!(listed[0], seen_here, "{b}: the device there is kept");
            assert_eq!(listed[2], laptop, "{b}: scopes and times as imported");
        }
    }

    /// On PostgreSQL every change to the devices is notified to the other nodes (which read them again).
    #[tokio::test]
    async fn a_change_to_the_devices_is_notified_to_the_other_nodes() {
        use crate::store::postgres::cluster::Notice;
        let store = crate::store::testing::postgres().await;
        let watcher = store.open_node_again("watcher").await;
        let mut listener = watcher
            .cluster()
            .expect("PostgreSQL")
            .listen()
            .await
            .expect("listen");
        let phone = device("phone", "t1");
        let limit = std::time::Duration::from_secs(30);
        let next = async |listener: &mut crate::store::postgres::cluster::Listener| {
            tokio::time::timeout(limit, listener.next())
                .await
                .expect("a notice in time")
                .expect("a notice")
        };
        store.add_paired_device(&phone).await.expect("add");
        assert_eq!(next(&mut listener).await, Notice::Devices);
        store
            .paired_device_seen(&phone.sha256, Some("2026-12-07T18:05:00Z"), None)
            .await
            .expect("seen");
        assert_eq!(next(&mut listener).await, Notice::Devices);
        store.remove_paired_device(&phone.sha256).await.expect("rm");
        assert_eq!(next(&mut listener).await, Notice::Devices);
    }

    #[tokio::test]
    async fn a_pairing_code_is_spent_once_expires_and_is_bounded() {
        for store in crate::store::testing::stores().await {
            let b = store.backend;
            let later = Utc::now() + chrono::Duration::minutes(10);
            let put = |hash: &'static str, name: &'static str, expires, max| {
                let store = &store;
                async move {
                    store
                        .put_pairing_code(hash, name, Scopes::ALL, expires, max)
                        .await
                        .expect("put")
                }
            };
            assert_eq!(put("h1", "phone", later, 4).await, PairingPut::Stored);
            let other = store.open_node_again("other").await;
            assert_eq!(
                other.take_pairing_code("h1").await.expect("take"),
                Some(("phone".into(), Scopes::ALL)),
                "{b}: redeemed on another node"
            );
            assert_eq!(
                store.take_pairing_code("h1").await.expect("take"),
                None,
                "{b}"
            );
            // A new code for a name replaces the old one.
            put("h2", "tablet", later, 4).await;
            put("h3", "tablet", later, 4).await;
            assert_eq!(
                store.take_pairing_code("h2").await.expect("take"),
                None,
                "{b}"
            );
            assert!(store.take_pairing_code("h3").await.expect("take").is_some());
            // An expired code is refused (and spent).
            put("h4", "old", Utc::now() - chrono::Duration::seconds(1), 4).await;
            assert_eq!(
                store.take_pairing_code("h4").await.expect("take"),
                None,
                "{b}"
            );
            // The bound counts unexpired codes only.
            put("h5", "a", later, 2).await;
            put("h6", "old2", Utc::now() - chrono::Duration::seconds(1), 2).await;
            assert_eq!(put("h7", "b", later, 2).await, PairingPut::Stored, "{b}");
            assert_eq!(put("h8", "c", later, 2).await, PairingPut::TooMany, "{b}");
        }
    }
}
