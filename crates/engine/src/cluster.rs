//! The cluster: several `simrelay serve` (nodes) sharing one PostgreSQL database, each with its own modems.
//! This task makes every node's hub carry every node's events, so `/ws`, `/api/codes/wait`, hooks and the UI
//! behave on any node as if all the modems were plugged into it.
//!
//! Other nodes' commits arrive as notifications naming rows (`store/postgres/cluster.rs`); this task reads the
//! rows and publishes them on the local hub, exactly as local ingest does after its own commits. This node's
//! modem statuses go the other way: saved in `modem_status`, whose trigger tells the others. After a lost
//! connection, the messages other nodes committed meanwhile are read by id and published (catch-up).
//!
//! Settings are shared (one table); `lan` stays each node's own, since it switches this machine's listeners.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use simrelay_protocol::{ModemStatus, ServerEvent, Settings};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::hub::{publish_stored_sent, Hub};
use crate::store::postgres::cluster::{Cluster, Listener, Notice};
use crate::store::Store;

/// How long the listener waits before trying again while the database is away.
const RETRY: Duration = Duration::from_secs(1);
/// How often this node's saved modem statuses are checked against the modems it runs.
const RECONCILE: Duration = Duration::from_secs(10);
/// Ids of other nodes' messages published lately, so a catch-up never publishes one twice.
const REMEMBERED: usize = 4096;

/// The default name of a node: the host name and the HTTP port, unique among relays on one network.
pub(crate) fn default_node(port: u16) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "relay".to_owned());
    format!("{host}:{port}")
}

/// Checks a node name given by the user: PostgreSQL keeps 63 bytes of a connection's name, `simrelay:` included.
pub(crate) fn check_node(node: &str) -> Result<(), String> {
    if node.is_empty() || node.len() > 54 || node.chars().any(|c| c.is_control() || !c.is_ascii()) {
        return Err(format!(
            "the node name {node:?} must be 1 to 54 printable ASCII characters; set another with node = \"...\" \
             or SIMRELAY_NODE"
        ));
    }
    Ok(())
}

/// Runs until `shutdown`: bridges the other nodes' events into `hub` and this node's modem statuses out.
/// `base` is the settings before run-time changes (the config file), to apply a change another node saved.
pub(crate) async fn run(store: Store, hub: Hub, base: Settings, shutdown: CancellationToken) {
    let Some(cluster) = store.cluster() else {
        return;
    };
    let mut events = hub.subscribe();
    let (notices, mut incoming) = mpsc::channel(256);
    let listening = tokio::spawn(listen(cluster.clone(), notices, shutdown.clone()));
    let mut bridge = Bridge {
        cluster,
        store,
        hub,
        base,
        own: HashSet::new(),
        seen: BTreeSet::new(),
        // Only what comes after this node started: history is read from the store, not replayed as events.
        after: 0,
    };
    bridge.after = bridge.store.max_id().await.unwrap_or(0);
    bridge.load_other_modems().await;
    let mut reconcile = tokio::time::interval(RECONCILE);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            event = events.recv() => match event {
                Ok(event) => bridge.local(event).await,
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
            notice = incoming.recv() => match notice {
                Some(notice) => bridge.remote(notice).await,
                None => break,
            },
            _ = reconcile.tick() => bridge.reconcile().await,
        }
    }
    // Other nodes drop this node's modems from their lists: they are not served any more.
    for id in std::mem::take(&mut bridge.own) {
        if let Err(e) = bridge.cluster.remove_modem_status(&id).await {
            tracing::debug!(%id, error = %e, "cannot withdraw a modem's status at shutdown");
        }
    }
    listening.abort();
}

/// Forwards what the other nodes commit, reconnecting whenever the database comes back.
async fn listen(cluster: Cluster, notices: mpsc::Sender<Notice>, shutdown: CancellationToken) {
    let mut listener: Option<Listener> = None;
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        let Some(active) = listener.as_mut() else {
            match cluster.listen().await {
                Ok(new) => {
                    listener = Some(new);
                    // Whatever was committed while nobody listened.
                    if notices.send(Notice::Reconnected).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen to the other nodes; retrying");
                    tokio::time::sleep(RETRY).await;
                }
            }
            continue;
        };
        match active.next().await {
            Ok(notice) => {
                if notices.send(notice).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "lost the other nodes' notifications; reconnecting");
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

struct Bridge {
    cluster: Cluster,
    store: Store,
    hub: Hub,
    base: Settings,
    /// This node's modems whose status is saved.
    own: HashSet<String>,
    /// Other nodes' message ids published lately.
    seen: BTreeSet<i64>,
    /// The highest id of another node's message published (catch-up starts after it).
    after: i64,
}

impl Bridge {
    fn is_mine(&self, status: &ModemStatus) -> bool {
        status.node.as_deref() == Some(self.cluster.node())
    }

    /// An event of this node's hub: this node's modem statuses are saved for the others.
    async fn local(&mut self, event: ServerEvent) {
        match event {
            ServerEvent::Modem { modem } if self.is_mine(&modem) => {
                let json = match serde_json::to_string(&modem) {
                    Ok(json) => json,
                    Err(e) => return tracing::error!(error = %e, "cannot encode a modem status"),
                };
                match self.cluster.save_modem_status(&modem.id, &json).await {
                    Ok(()) => {
                        self.own.insert(modem.id);
                    }
                    Err(e) => {
                        tracing::warn!(id = %modem.id, error = %e, "cannot share a modem's status")
                    }
                }
            }
            ServerEvent::ModemRemoved { id } if self.own.remove(&id) => {
                if let Err(e) = self.cluster.remove_modem_status(&id).await {
                    tracing::warn!(%id, error = %e, "cannot withdraw a removed modem's status");
                }
            }
            _ => {}
        }
    }

    /// Something another node committed.
    async fn remote(&mut self, notice: Notice) {
        let result = match notice {
            Notice::Messages(ids) => self.publish_messages(&ids).await,
            Notice::Sent(id) => {
                publish_stored_sent(&self.store, &self.hub, id).await;
                Ok(())
            }
            Notice::Settings => self.reload_settings().await,
            Notice::Modem(id) => self.publish_modem(&id).await,
            Notice::ModemRemoved(id) => {
                if !self.own.contains(&id) {
                    self.hub.publish_modem_removed(&id);
                }
                Ok(())
            }
            Notice::Reconnected => self.catch_up().await,
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot read what another node committed");
        }
    }

    async fn publish_messages(&mut self, ids: &[i64]) -> Result<(), crate::store::StoreError> {
        for message in self.cluster.messages(ids).await? {
            self.publish(message);
        }
        Ok(())
    }

    fn publish(&mut self, message: simrelay_protocol::Message) {
        if !self.seen.insert(message.id) {
            return;
        }
        if self.seen.len() > REMEMBERED {
            self.seen.pop_first();
        }
        self.after = self.after.max(message.id);
        self.hub.publish_sms(message);
    }

    async fn catch_up(&mut self) -> Result<(), crate::store::StoreError> {
        loop {
            let page = self
                .cluster
                .messages_of_others_after(self.after, 500)
                .await?;
            let full = page.len() == 500;
            for message in page {
                self.publish(message);
            }
            if !full {
                break;
            }
        }
        self.reload_settings().await?;
        self.load_other_modems().await;
        Ok(())
    }

    async fn reload_settings(&self) -> Result<(), crate::store::StoreError> {
        let mut settings = self.store.effective_settings(self.base.clone()).await?;
        settings.lan = self.hub.settings().lan;
        if settings != self.hub.settings() {
            self.hub.publish_settings(settings);
        }
        Ok(())
    }

    async fn publish_modem(&self, id: &str) -> Result<(), crate::store::StoreError> {
        if let Some((_, json)) = self.cluster.modem_status(id).await? {
            self.publish_status(&json);
        }
        Ok(())
    }

    fn publish_status(&self, json: &str) {
        match serde_json::from_str::<ModemStatus>(json) {
            Ok(status) if !self.is_mine(&status) => self.hub.publish_modem(status),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "ignoring a modem status another node saved"),
        }
    }

    async fn load_other_modems(&self) {
        match self.cluster.modem_statuses_of_others().await {
            Ok(statuses) => statuses.iter().for_each(|json| self.publish_status(json)),
            Err(e) => tracing::warn!(error = %e, "cannot read the other nodes' modems"),
        }
    }

    /// Withdraws saved statuses of modems this node no longer lists (one listed under its port path until it
    /// told its IMEI, say).
    async fn reconcile(&mut self) {
        let listed: HashSet<String> = self.hub.modems().into_iter().map(|m| m.id).collect();
        let gone: Vec<String> = self
            .own
            .iter()
            .filter(|id| !listed.contains(*id))
            .cloned()
            .collect();
        for id in gone {
            match self.cluster.remove_modem_status(&id).await {
                Ok(()) => {
                    self.own.remove(&id);
                }
                Err(e) => tracing::debug!(%id, error = %e, "cannot withdraw a modem's status yet"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use simrelay_protocol::ServerEvent;

    use crate::store::testing::cluster::Cluster;
    use crate::{Config, Engine};

    async fn node(url: &str, name: &str, demo: bool) -> Engine {
        Engine::start(Config {
            db: url.into(),
            node: Some(name.into()),
            demo,
            demo_interval_secs: 1,
            listen: "127.0.0.1:0".parse().expect("addr"),
            ..Config::default()
        })
        .await
        .expect("start a node")
    }

    async fn within<T>(
        what: &str,
        limit: Duration,
        mut check: impl AsyncFnMut() -> Option<T>,
    ) -> T {
        let start = Instant::now();
        loop {
            if let Some(found) = check().await {
                return found;
            }
            assert!(start.elapsed() < limit, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Node B has no modem; it sees node A's modem (naming node A), A's messages as they are committed, and a
    /// setting changed on A. Both store each message once.
    #[tokio::test]
    async fn a_node_sees_the_other_nodes_modems_messages_and_settings() {
        let cluster = Cluster::shared();
        let database = cluster.create_database();
        let url = cluster.url(&database);
        let b = node(&url, "b", false).await;
        let mut on_b = b.subscribe();
        let a = node(&url, "a", true).await;

        let modem = within(
            "A's demo modem listed on B",
            Duration::from_secs(30),
            async || {
                b.hub()
                    .modems()
                    .into_iter()
                    .find(|m| m.id == crate::DEMO_MODEM_ID)
            },
        )
        .await;
        assert_eq!(modem.node.as_deref(), Some("a"));

        let message = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                if let Ok(ServerEvent::Sms { message }) = on_b.recv().await {
                    return message;
                }
            }
        })
        .await
        .expect("a message committed on A reaches B's hub");
        assert_eq!(message.modem, crate::DEMO_MODEM_ID);
        assert_eq!(
            b.store().get(message.id).await.expect("get"),
            Some(message.clone()),
            "B publishes the row as stored"
        );

        let patch = simrelay_protocol::SettingsPatch {
            retention_days: Some(Some(3)),
            ..Default::default()
        };
        a.update_settings(&patch)
            .await
            .expect("change a setting on A");
        within("A's setting on B", Duration::from_secs(30), async || {
            (b.settings().retention_days == Some(3)).then_some(())
        })
        .await;

        a.shutdown().await;
        within(
            "A's modem withdrawn from B",
            Duration::from_secs(30),
            async || {
                (!b.hub()
                    .modems()
                    .iter()
                    .any(|m| m.id == crate::DEMO_MODEM_ID))
                .then_some(())
            },
        )
        .await;
        let count = b.store().count().await.expect("count");
        let distinct: i64 = b.store().max_id().await.expect("max");
        assert!(count >= 1 && count <= distinct);
        b.shutdown().await;
        cluster.drop_database(&database);
    }
}
