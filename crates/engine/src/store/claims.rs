//! Claims: work that must happen once per message however many nodes see the message (a hook run, an MQTT
//! publish). Every node hears of every message; the first whose claim commits does the work, the others skip it.
//!
//! A claim locks the message row with the backend's [`Backend::SKIP_LOCKED`](super::backend::Backend) (on
//! PostgreSQL `FOR NO KEY UPDATE SKIP LOCKED`), so a node racing another for the same message does not wait for
//! it but finds nothing to claim; the primary key `(kind, message_id)` makes a later claim a no-op. On SQLite,
//! one node, every first claim succeeds. Other once-per-message work with rows of its own (an outbox) claims
//! them the same way: `SKIP_LOCKED` after the `SELECT` that picks the rows.
//!
//! Modems are claimed too, with a lease (`modem_claims`): a modem port given to several nodes on one machine (a
//! standby relay beside the active one) is driven by the node holding its claim, which renews it while it runs; a
//! node that dies stops renewing, and once the lease has run out another node takes the modem over
//! ([`Store::claim_modem`]). A claim is keyed by the machine and the port: another machine's `/dev/ttyUSB0` is
//! another modem. Leases compare the nodes' clocks, so keep them synchronised (NTP).

use std::time::Duration;

use chrono::Utc;

use super::{on_db, Store, StoreError};

/// A kind of once-per-message work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Running the hook command (and the hook URL) for a message.
    Hook,
    /// Publishing a message on an MQTT broker's `sms` and `code` topics: the string names the broker and topic
    /// prefix, so nodes sharing a broker publish each message once, and a node with a broker of its own
    /// publishes there too.
    Mqtt(String),
}

impl Claim {
    fn key(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Claim::Hook => "hook".into(),
            Claim::Mqtt(feed) => format!("mqtt:{feed}").into(),
        }
    }
}

impl Store {
    /// Claims `kind` of work for message `message_id` for this node; true when this node is to do it (it was
    /// not claimed before, by anyone), false otherwise (also when the message is gone).
    pub async fn claim(&self, kind: &Claim, message_id: i64) -> Result<bool, StoreError> {
        let key = kind.key();
        on_db!(self, db => {
            let sql = format!(
                "INSERT INTO claims (kind, message_id, node, claimed_at) \
                 SELECT $1, id, $2, $3 FROM messages WHERE id = $4{} \
                 ON CONFLICT (kind, message_id) DO NOTHING",
                db_skip_locked(db)
            );
            let done = sqlx::query(&sql)
                .bind(key.as_ref())
                .bind(db.node())
                .bind(db.time(Utc::now()))
                .bind(message_id)
                .execute(db.writer())
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }
}

impl Store {
    /// Claims the modem on `port` of `machine` for this node until `lease` from now: true when this node holds
    /// it (it was free, this node's own, or its holder's lease had run out), false when another node holds it.
    pub async fn claim_modem(
        &self,
        machine: &str,
        port: &str,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        on_db!(self, db => {
            let holder: Option<String> = sqlx::query_scalar(
                "INSERT INTO modem_claims (machine, port, node, expires_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (machine, port) DO UPDATE SET node = excluded.node, expires_at = excluded.expires_at \
                 WHERE modem_claims.node = excluded.node OR modem_claims.expires_at < $5 \
                 RETURNING node",
            )
            .bind(machine)
            .bind(port)
            .bind(db.node())
            .bind(db.time(until))
            .bind(db.time(now))
            .fetch_optional(db.writer())
            .await?;
            Ok(holder.is_some())
        })
    }

    /// The node whose claim on the modem on `port` of `machine` has not run out, if any.
    pub async fn modem_holder(
        &self,
        machine: &str,
        port: &str,
    ) -> Result<Option<String>, StoreError> {
        on_db!(self, db => {
            Ok(sqlx::query_scalar(
                "SELECT node FROM modem_claims WHERE machine = $1 AND port = $2 AND expires_at >= $3",
            )
                .bind(machine)
                .bind(port)
                .bind(db.time(Utc::now()))
                .fetch_optional(db.reader())
                .await?)
        })
    }

    /// Gives up this node's claim on the modem on `port` of `machine` (a node stopping), so another may take it
    /// at once.
    pub async fn release_modem(&self, machine: &str, port: &str) -> Result<(), StoreError> {
        on_db!(self, db => {
            sqlx::query("DELETE FROM modem_claims WHERE machine = $1 AND port = $2 AND node = $3")
                .bind(machine)
                .bind(port)
                .bind(db.node())
                .execute(db.writer())
                .await?;
        });
        Ok(())
    }
}

/// The backend's `SKIP_LOCKED`, through a value (an associated constant cannot be named from a macro body's
/// binding).
fn db_skip_locked<B: super::backend::Backend>(_: &B) -> &'static str {
    B::SKIP_LOCKED
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::stores;
    use crate::store::tests::sample;
    use crate::store::Inserted;

    #[tokio::test]
    async fn each_message_is_claimed_once_across_nodes() {
        for store in stores().await {
            let Inserted::New(m) = store.insert_message(&sample(b"x")).await.expect("insert")
            else {
                panic!("new");
            };
            // A second node on the same database (on SQLite, a second handle on the file).
            let other = store.open_again().await;
            let (a, b) = tokio::join!(
                store.claim(&Claim::Hook, m.id),
                other.claim(&Claim::Hook, m.id)
            );
            let (a, b) = (a.expect("claim"), b.expect("claim"));
            assert!(
                a ^ b,
                "exactly one claim wins on {}: {a} {b}",
                store.backend
            );
            assert!(!store.claim(&Claim::Hook, m.id).await.expect("again"));
            assert!(!other
                .claim(&Claim::Hook, m.id + 1000)
                .await
                .expect("no such message"));
            // Each kind is claimed on its own; an MQTT claim is per broker and prefix.
            let broker = Claim::Mqtt("broker:1883/simrelay".into());
            assert!(other.claim(&broker, m.id).await.expect("mqtt"));
            assert!(!store.claim(&broker, m.id).await.expect("mqtt again"));
            let own = Claim::Mqtt("other-broker:1883/simrelay".into());
            assert!(store.claim(&own, m.id).await.expect("another broker"));
            other.close().await;
        }
    }

    /// A modem is driven by one node at a time: a second node on the same machine cannot claim it while the
    /// holder renews its lease, takes it over once the lease has run out (the holder died), and at once when the
    /// holder releases it; the old holder then cannot renew. The same port of another machine is another modem.
    #[tokio::test]
    async fn a_modem_is_held_by_one_node_and_taken_over_when_its_lease_runs_out() {
        const HOST: &str = "machine-1";
        for store in stores().await {
            if store.backend == "sqlite" {
                // One node, which always holds its modems.
                for _ in 0..2 {
                    assert!(store
                        .claim_modem(HOST, "/dev/ttyUSB2", Duration::from_secs(1))
                        .await
                        .expect("claim and renew"));
                }
                continue;
            }
            let a = store.open_node_again("a").await;
            let b = store.open_node_again("b").await;
            let port = "/dev/serial/by-id/usb-modem-if02";
            let lease = Duration::from_secs(2);
            assert!(a.claim_modem(HOST, port, lease).await.expect("claim"));
            assert!(
                !b.claim_modem(HOST, port, lease).await.expect("claim"),
                "A holds it"
            );
            assert!(
                b.claim_modem("machine-2", port, lease)
                    .await
                    .expect("claim"),
                "the same path on another machine is B's own"
            );
            assert!(
                a.claim_modem(HOST, port, lease).await.expect("renew"),
                "A renews"
            );
            assert_eq!(
                b.modem_holder(HOST, port).await.expect("holder").as_deref(),
                Some("a")
            );
            // A dies: it stops renewing, and B takes over once the lease has run out.
            tokio::time::sleep(lease + Duration::from_millis(200)).await;
            assert_eq!(b.modem_holder(HOST, port).await.expect("holder"), None);
            assert!(b.claim_modem(HOST, port, lease).await.expect("take over"));
            assert!(
                !a.claim_modem(HOST, port, lease).await.expect("claim"),
                "B holds it now"
            );
            b.release_modem(HOST, port).await.expect("release");
            a.release_modem(HOST, port)
                .await
                .expect("releasing what A does not hold changes nothing");
            assert!(a
                .claim_modem(HOST, port, lease)
                .await
                .expect("claim after release"));
            a.close().await;
            b.close().await;
        }
    }
}
