//! What nodes sharing one PostgreSQL database tell one another (migration 0013): notifications on the channel
//! `simrelay`, sent by triggers when a writing transaction commits and naming the rows it wrote, and the modem
//! statuses of every node. The engine's `cluster.rs` turns them into hub events.

use serde::Deserialize;
use sqlx::postgres::PgListener;
use sqlx::Row;

use super::Postgres;
use crate::store::{message_from_row, Message, StoreError, MESSAGE_COLUMNS};

/// The notification channel of migration 0013.
const CHANNEL: &str = "simrelay";

/// Something another node committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// New messages, by id.
    Messages(Vec<i64>),
    /// A sent message's new status.
    Sent(i64),
    /// The run-time settings changed.
    Settings,
    /// A device was paired or revoked, or its last-seen time changed.
    Devices,
    /// A user changed a message's code (its id).
    CodeChanged(i64),
    /// A modem's status changed (its id).
    Modem(String),
    /// A modem was removed (its id).
    ModemRemoved(String),
    /// The connection was lost and is back: notifications may have been missed, so catch up.
    Reconnected,
}

#[derive(Deserialize)]
struct Payload {
    kind: String,
    node: String,
    #[serde(default)]
    ids: String,
}

/// The cluster side of a PostgreSQL store.
#[derive(Debug, Clone)]
pub struct Cluster {
    db: Postgres,
}

/// Hears what the other nodes commit.
pub struct Listener {
    listener: PgListener,
    node: String,
    /// The connection was lost; the next notice is [`Notice::Reconnected`] once it is back.
    lost: bool,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("node", &self.node)
            .finish()
    }
}

impl Listener {
    /// The next thing another node committed. An error means the connection is gone for now: call again (it
    /// reconnects, and then says [`Notice::Reconnected`]).
    pub async fn next(&mut self) -> Result<Notice, StoreError> {
        loop {
            if self.lost {
                // Reconnects and listens again, or fails while the server is still away.
                self.listener.listen(CHANNEL).await?;
                self.lost = false;
                return Ok(Notice::Reconnected);
            }
            let notification = match self.listener.try_recv().await {
                Ok(Some(notification)) => notification,
                // The connection dropped and sqlx reconnected at once: what was notified meanwhile is lost.
                Ok(None) => return Ok(Notice::Reconnected),
                Err(e) => {
                    self.lost = true;
                    return Err(e.into());
                }
            };
            let Ok(payload) = serde_json::from_str::<Payload>(notification.payload()) else {
                tracing::warn!(
                    payload = notification.payload(),
                    "ignoring a notification we do not understand"
                );
                continue;
            };
            if payload.node == self.node {
                continue;
            }
            return Ok(match payload.kind.as_str() {
                "sms" => Notice::Messages(
                    payload
                        .ids
                        .split(',')
                        .filter_map(|id| id.parse().ok())
                        .collect(),
                ),
                "sent" => match payload.ids.parse() {
                    Ok(id) => Notice::Sent(id),
                    Err(_) => continue,
                },
                "code" => match payload.ids.parse() {
                    Ok(id) => Notice::CodeChanged(id),
                    Err(_) => continue,
                },
                "settings" => Notice::Settings,
                "devices" => Notice::Devices,
                "modem" => Notice::Modem(payload.ids),
                "modem_removed" => Notice::ModemRemoved(payload.ids),
                _ => continue,
            });
        }
    }
}

impl Cluster {
    pub(super) fn new(db: Postgres) -> Cluster {
        Cluster { db }
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.db.node
    }

    /// Starts listening to the other nodes.
    pub async fn listen(&self) -> Result<Listener, StoreError> {
        let mut listener = PgListener::connect_with(&self.db.pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(Listener {
            listener,
            node: self.db.node.to_string(),
            lost: false,
        })
    }

    /// The messages with these ids, oldest first (those that still exist).
    pub async fn messages(&self, ids: &[i64]) -> Result<Vec<Message>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ANY($1) ORDER BY id"
        ))
        .bind(ids)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(message_from_row).collect()
    }

    /// Up to `limit` messages other nodes committed with an id above `after`, oldest first: the catch-up after
    /// a lost connection.
    pub async fn messages_of_others_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id > $1 AND node <> $2 ORDER BY id LIMIT $3"
        ))
        .bind(after)
        .bind(&*self.db.node)
        .bind(i64::from(limit))
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(message_from_row).collect()
    }

    /// Tells the other nodes that a user changed the code of message `id` (after the change committed), so
    /// their clients hear `code_changed` too.
    pub async fn announce_code_changed(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "SELECT pg_notify($1, json_build_object('kind', 'code', 'node', simrelay_node(), 'ids', $2::TEXT)::TEXT)",
        )
        .bind(CHANNEL)
        .bind(id.to_string())
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    /// Records the status (JSON) of this node's modem `id`, unless another node reports that modem connected
    /// and this one does not: a modem moved to another machine (its id is IMEI-based) stays listed where it
    /// works, not where its old port waits for it.
    pub async fn save_modem_status(&self, id: &str, status: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO modem_status (id, node, status, updated_at) VALUES ($1, $2, $3, now()) \
             ON CONFLICT (id) DO UPDATE SET node = excluded.node, status = excluded.status, \
             updated_at = excluded.updated_at \
             WHERE modem_status.node = excluded.node \
                OR (excluded.status::jsonb ->> 'state') = 'connected' \
                OR (modem_status.status::jsonb ->> 'state') IS DISTINCT FROM 'connected'",
        )
        .bind(id)
        .bind(&*self.db.node)
        .bind(status)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    /// Forgets this node's modem `id`.
    pub async fn remove_modem_status(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM modem_status WHERE id = $1 AND node = $2")
            .bind(id)
            .bind(&*self.db.node)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// The status (JSON) of modem `id` and the node it is on.
    pub async fn modem_status(&self, id: &str) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query("SELECT node, status FROM modem_status WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        Ok(match row {
            Some(row) => Some((row.try_get(0)?, row.try_get(1)?)),
            None => None,
        })
    }

    /// Every other node's modem statuses (JSON).
    pub async fn modem_statuses_of_others(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT status FROM modem_status WHERE node <> $1 ORDER BY id")
                .bind(&*self.db.node)
                .fetch_all(&self.db.pool)
                .await?,
        )
    }
}

#[cfg(test)]
mod tests {
    /// Two nodes report one modem (moved from A's machine to B's, or both listed under one port path for a
    /// moment): a connected report wins over another node's disconnected one, and each node still updates its
    /// own row.
    #[tokio::test]
    async fn a_modem_stays_listed_on_the_node_where_it_is_connected() {
        let store = crate::store::testing::postgres().await;
        let (a, b) = (
            store.open_node_again("a").await,
            store.open_node_again("b").await,
        );
        let (a, b) = (a.cluster().expect("pg"), b.cluster().expect("pg"));
        let status = |node: &str, state: &str| {
            format!(r#"{{"id":"imei:1","node":"{node}","state":"{state}"}}"#)
        };
        let holder = async || a.modem_status("imei:1").await.expect("read").map(|s| s.0);
        a.save_modem_status("imei:1", &status("a", "connected"))
            .await
            .expect("save");
        b.save_modem_status("imei:1", &status("b", "disconnected"))
            .await
            .expect("save");
        assert_eq!(
            holder().await.as_deref(),
            Some("a"),
            "A's connected modem stays A's"
        );
        a.save_modem_status("imei:1", &status("a", "disconnected"))
            .await
            .expect("save");
        assert_eq!(
            a.modem_status("imei:1").await.expect("read"),
            Some(("a".into(), status("a", "disconnected"))),
            "A updates its own"
        );
        b.save_modem_status("imei:1", &status("b", "connected"))
            .await
            .expect("save");
        a.save_modem_status("imei:1", &status("a", "connecting"))
            .await
            .expect("save");
        assert_eq!(
            holder().await.as_deref(),
            Some("b"),
            "moved to B, listed on B"
        );
    }
}
