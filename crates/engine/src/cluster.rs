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
//! Paired devices are shared too (`tokens.rs`): a change another node notifies makes this one read them again,
//! which announces revocations to this node's open WebSockets and long polls.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use simrelay_protocol::{ModemStatus, ServerEvent, Settings};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::hub::Hub;
use crate::modems::{Modems, Origin};
use crate::store::postgres::cluster::{Cluster, Listener, Notice};
use crate::store::Store;
use crate::tokens::Devices;

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

/// This machine's identity, which scopes the claims of configured modem ports: systemd's (and D-Bus's) machine
/// id, stable across reboots and renames, else the host name. Nodes on one machine share it (a standby given the
/// same port competes for it), nodes on two machines do not (each has its own `/dev/ttyUSB0`).
pub(crate) fn machine_id() -> String {
    [
        "/etc/machine-id",
        "/var/lib/dbus/machine-id",
        "/proc/sys/kernel/hostname",
    ]
    .iter()
    .filter_map(|path| std::fs::read_to_string(path).ok())
    .map(|id| id.trim().to_owned())
    .find(|id| !id.is_empty())
    .or_else(|| std::env::var("COMPUTERNAME").ok())
    .unwrap_or_else(|| "unknown".to_owned())
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
pub(crate) async fn run(
    store: Store,
    hub: Hub,
    modems: Modems,
    devices: Arc<Devices>,
    base: Settings,
    shutdown: CancellationToken,
) {
    let Some(cluster) = store.cluster() else {
        return;
    };
    let mut events = hub.subscribe();
    let (notices, mut incoming) = mpsc::channel(256);
    let listening = tokio::spawn(listen(
        cluster.clone(),
        hub.clone(),
        notices,
        shutdown.clone(),
    ));
    let mut bridge = Bridge {
        cluster,
        store,
        hub,
        modems,
        devices,
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

/// Forwards what the other nodes commit, reconnecting whenever the database comes back. The listening
/// connection is the first to notice the database leave and come back, which `hub` then shows (even with no
/// message to commit meanwhile).
async fn listen(
    cluster: Cluster,
    hub: Hub,
    notices: mpsc::Sender<Notice>,
    shutdown: CancellationToken,
) {
    let mut listener: Option<Listener> = None;
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        let Some(active) = listener.as_mut() else {
            match cluster.listen().await {
                Ok(new) => {
                    listener = Some(new);
                    hub.database_ok();
                    // Whatever was committed while nobody listened.
                    if notices.send(Notice::Reconnected).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen to the other nodes; retrying");
                    hub.database_failed(&e);
                    tokio::time::sleep(RETRY).await;
                }
            }
            continue;
        };
        match active.next().await {
            Ok(notice) => {
                if matches!(notice, Notice::Reconnected) {
                    hub.database_ok();
                }
                if notices.send(notice).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "lost the other nodes' notifications; reconnecting");
                hub.database_failed(&e);
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

/// Drives the configured modem on `port` while this node holds its claim (`store/claims.rs`), renewing it every
/// third of `lease`: starts the modem when the claim is won (at start, or when the node holding it died and its
/// lease ran out) and stops it if another node holds the claim (this node lost the database longer than the
/// lease). Releases the claim at shutdown, so a standby takes over at once. The claim is keyed by `machine` and
/// the port's stable name, so two names of one device on one machine share a claim, and another machine's port
/// of the same name is another modem.
pub(crate) async fn drive_claimed(
    store: Store,
    modems: Modems,
    port: String,
    machine: String,
    lease: Duration,
    shutdown: CancellationToken,
) {
    // The name the claim is kept under: taken again while the modem is not driven (its by-id link may appear
    // when it is plugged in), kept while it is.
    let mut key = modems.stable_name(&port);
    let mut driving = false;
    let mut renewed = Instant::now();
    let mut tick = tokio::time::interval(lease / 3);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut waiting_said = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        if !driving {
            key = modems.stable_name(&port);
        }
        match store.claim_modem(&machine, &key, lease).await {
            Ok(true) => {
                renewed = Instant::now();
                if !driving {
                    match modems.add_serial(&port, None, Origin::Config).await {
                        Ok(_) => {
                            tracing::info!(%port, "this node holds the modem's claim and drives it");
                            driving = true;
                            waiting_said = false;
                        }
                        Err(e) => {
                            tracing::warn!(%port, error = %e, "cannot start the claimed modem")
                        }
                    }
                }
            }
            Ok(false) => {
                if driving {
                    tracing::warn!(%port, "another node holds the modem's claim now; stopping it here");
                    stop_modem(&modems, &key).await;
                    driving = false;
                } else if !waiting_said {
                    tracing::info!(%port, "another node drives this modem; standing by");
                }
                waiting_said = true;
            }
            Err(e) => {
                tracing::warn!(%port, error = %e, "cannot renew the modem's claim");
                // Past the lease another node may drive it: two drivers on one modem must not happen.
                if driving && renewed.elapsed() >= lease {
                    tracing::warn!(%port, "the modem's claim ran out; stopping it until the database is back");
                    stop_modem(&modems, &key).await;
                    driving = false;
                }
            }
        }
    }
    if driving {
        if let Err(e) = store.release_modem(&machine, &key).await {
            tracing::debug!(%port, error = %e, "cannot release the modem's claim; it runs out by itself");
        }
    }
}

async fn stop_modem(modems: &Modems, port: &str) {
    if let Err(e) = modems.remove(port).await {
        tracing::warn!(%port, error = %e, "cannot stop the modem");
    }
}

struct Bridge {
    cluster: Cluster,
    store: Store,
    hub: Hub,
    /// This node's modems, to send what another node queued for one of them.
    modems: Modems,
    devices: Arc<Devices>,
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
            Notice::Sent(id) => self.sent(id).await,
            Notice::CodeChanged(id) => self.publish_code_changed(id).await,
            Notice::Settings => self.reload_settings().await,
            Notice::Devices => self.refresh_devices().await,
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

    /// Another node recorded a sent message (or its new status): this node's clients see it, and a message
    /// queued for a modem this node drives is sent here (`outgoing.rs`).
    async fn sent(&self, id: i64) -> Result<(), crate::store::StoreError> {
        let Some(sent) = self.store.get_sent(id).await? else {
            return Ok(());
        };
        let queued = sent.status == simrelay_protocol::SendStatus::Queued;
        self.hub.publish_remote_sent(sent);
        if queued {
            crate::outgoing::take(&self.store, &self.hub, &self.modems, id).await;
        }
        Ok(())
    }

    async fn publish_code_changed(&self, id: i64) -> Result<(), crate::store::StoreError> {
        for message in self.cluster.messages(&[id]).await? {
            self.hub.publish_remote_code_changed(message);
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
        self.refresh_devices().await?;
        self.load_other_modems().await;
        // Messages other nodes queued for this node's modems while it did not listen.
        for id in self.store.queued_sent(crate::outgoing::ROUTED_WAIT).await? {
            crate::outgoing::take(&self.store, &self.hub, &self.modems, id).await;
        }
        Ok(())
    }

    async fn refresh_devices(&self) -> Result<(), crate::store::StoreError> {
        match self.devices.refresh().await {
            Ok(()) => Ok(()),
            Err(crate::tokens::TokensError::Database(e)) => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the paired devices again");
                Ok(())
            }
        }
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
            // A modem this node runs is listed as its driver reports it, even when another node saved a status
            // under the same id (two machines' modems both listed under their port path until they answer).
            Ok(status) if !self.is_mine(&status) && !self.own.contains(&status.id) => {
                self.hub.publish_modem(status)
            }
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
    /// told its IMEI, say), and reads the paired devices again in case a notification was missed.
    async fn reconcile(&mut self) {
        if let Err(e) = self.refresh_devices().await {
            tracing::debug!(error = %e, "cannot read the paired devices again yet");
        }
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
    use std::collections::HashSet;
    use std::time::{Duration, Instant};

    use simrelay_modem::{SimOptions, Simulator};
    use simrelay_protocol::ServerEvent;
    use simrelay_testkit::pdu::{numbered, numbered_index};
    use simrelay_testkit::ws::WsClient;
    use tokio_util::sync::CancellationToken;

    use crate::store::testing::cluster::Cluster;
    use crate::{Config, Engine};

    /// Generous: two engines and PostgreSQL share two busy cores with the other tests.
    const LIMIT: Duration = Duration::from_secs(60);
    const BURST: usize = 40;

    async fn node(url: &str, name: &str, modems: Vec<String>) -> Engine {
        Engine::start(Config {
            db: url.into(),
            node: Some(name.into()),
            modems,
            sweep_secs: 1,
            modem_lease_secs: 2,
            listen: "127.0.0.1:0".parse().expect("addr"),
            ..Config::default()
        })
        .await
        .expect("start a node")
    }

    async fn within<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(found) = check().await {
                return found;
            }
            assert!(start.elapsed() < LIMIT, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Two relays on one PostgreSQL database are one inbox: node B has no modem, and a WebSocket client of B
    /// receives every message of a burst node A's (simulated, pseudo-terminal) modem receives, live and each
    /// once, as stored; B lists A's modem naming node A, applies a setting changed on A, and drops A's modem
    /// when A stops. Both nodes store each message once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_message_received_by_one_node_reaches_a_websocket_client_of_another_once() {
        let cluster = Cluster::shared();
        let database = cluster.create_database();
        let url = cluster.url(&database);
        let b = node(&url, "b", Vec::new()).await;
        let (mut client, _) = WsClient::connect(b.local_addr(), Some(b.token()))
            .await
            .expect("a WebSocket client of B");
        let sim = Simulator::start(SimOptions {
            capacity: u32::try_from(BURST + 10).expect("fits"),
            ..SimOptions::default()
        })
        .await
        .expect("simulator");
        let a = node(&url, "a", vec![sim.path().to_string_lossy().into_owned()]).await;

        let modem = within("A's modem listed on B, naming A", async || {
            b.hub()
                .modems()
                .into_iter()
                .find(|m| m.node.as_deref() == Some("a") && m.imei.is_some())
        })
        .await;

        for i in 0..BURST {
            sim.deliver(numbered("cluster", i));
        }
        let mut seen = HashSet::new();
        let mut last_id = None;
        while seen.len() < BURST {
            let message = client
                .next_sms(LIMIT)
                .await
                .expect("A's messages reach B's WebSocket client");
            let index = numbered_index("cluster", &message.text).expect("a burst message");
            assert!(seen.insert(index), "published twice on B: {}", message.text);
            last_id = Some(message.id);
            assert_eq!(message.modem, modem.id);
            assert_eq!(
                b.store().get(message.id).await.expect("get"),
                Some(message.clone()),
                "B publishes the row as stored"
            );
        }
        // Nothing more comes: no message is published twice, even late.
        match client.next_sms(Duration::from_secs(3)).await {
            Ok(extra) => panic!("B published more than the burst: {extra:?}"),
            Err(simrelay_testkit::KitError::Timeout(..)) => {}
            Err(e) => panic!("{e}"),
        }
        assert_eq!(
            a.store().count().await.expect("count"),
            i64::try_from(BURST).expect("fits")
        );

        // A user says on A that a message has no code: B's client hears it.
        let Some(id) = last_id else {
            panic!("a message")
        };
        assert!(matches!(
            a.store()
                .choose_code(id, None, false)
                .await
                .expect("choose"),
            crate::store::Chosen::Updated(_)
        ));
        let changed = tokio::time::timeout(LIMIT, async {
            loop {
                match client.next_event(LIMIT).await {
                    Ok(Some(ServerEvent::CodeChanged { message })) => return message,
                    Ok(Some(_)) => {}
                    other => panic!("B's WebSocket: {other:?}"),
                }
            }
        })
        .await
        .expect("code_changed on B in time");
        assert_eq!((changed.id, changed.code), (id, None));
        within("A's SIM emptied after the commits", async || {
            sim.stored().is_empty().then_some(())
        })
        .await;

        let patch = simrelay_protocol::SettingsPatch {
            retention_days: Some(Some(3)),
            ..Default::default()
        };
        a.update_settings(&patch)
            .await
            .expect("change a setting on A");
        within("A's setting on B", async || {
            (b.settings().retention_days == Some(3)).then_some(())
        })
        .await;

        a.shutdown().await;
        within("A's modem withdrawn from B", async || {
            (!b.hub().modems().iter().any(|m| m.id == modem.id)).then_some(())
        })
        .await;
        client.close().await;
        b.shutdown().await;
        cluster.drop_database(&database);
    }

    /// One modem port given to two nodes is driven by one: A claims it first, B stands by and lists it on A.
    /// When A dies (its runtime stops dead: no shutdown, no release), B takes the modem over once A's lease has
    /// run out, and reads the message that arrived on the SIM meanwhile; every message is stored once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_modem_claimed_by_a_node_that_dies_is_taken_over_by_another() {
        let cluster = Cluster::shared();
        let database = cluster.create_database();
        let url = cluster.url(&database);
        let sim = Simulator::start(SimOptions::default())
            .await
            .expect("simulator");
        let port = sim.path().to_string_lossy().into_owned();
        // A runs on its own runtime, so that it can die without cleaning up, as a killed process would.
        let (runtime_a, a) = {
            let (url, port) = (url.clone(), port.clone());
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .expect("a runtime for node A");
                let a = runtime.block_on(node(&url, "a", vec![port]));
                (runtime, a)
            })
            .join()
            .expect("node A starts")
        };
        let b = node(&url, "b", vec![port.clone()]).await;
        let mut on_b = b.subscribe();

        let modem = within("the modem listed on B, driven by A", async || {
            b.hub()
                .modems()
                .into_iter()
                .find(|m| m.node.as_deref() == Some("a") && m.imei.is_some())
        })
        .await;
        sim.deliver(numbered("takeover", 0));
        let first = next_sms(&mut on_b).await;
        assert_eq!(numbered_index("takeover", &first.text), Some(0));
        // B stands by while A renews its claim (several leases).
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(
            b.store()
                .modem_holder(&super::machine_id(), &port)
                .await
                .expect("holder")
                .as_deref(),
            Some("a")
        );
        assert!(
            b.hub()
                .modems()
                .iter()
                .all(|m| m.node.as_deref() == Some("a")),
            "B does not drive the modem A holds"
        );

        // A dies.
        runtime_a.shutdown_background();
        drop(a);
        sim.deliver(numbered("takeover", 1));
        within("B driving the modem", async || {
            b.hub()
                .modems()
                .into_iter()
                .find(|m| m.id == modem.id && m.node.as_deref() == Some("b"))
        })
        .await;
        let second = next_sms(&mut on_b).await;
        assert_eq!(numbered_index("takeover", &second.text), Some(1));
        assert_eq!(second.modem, modem.id);
        within("the SIM emptied by B", async || {
            sim.stored().is_empty().then_some(())
        })
        .await;
        assert_eq!(
            b.store().count().await.expect("count"),
            2,
            "each message stored once"
        );
        assert_eq!(
            b.store()
                .modem_holder(&super::machine_id(), &port)
                .await
                .expect("holder")
                .as_deref(),
            Some("b")
        );
        b.shutdown().await;
        cluster.drop_database(&database);
    }

    /// Two machines each have a `/dev/ttyUSB0`: nodes on different machines configured with the same port path
    /// each drive their own modem (a port is claimed per machine), and every node lists both modems, each naming
    /// its node. The test is one machine, so the two nodes are told they are on different ones, and the same
    /// path is a link that leads to node A's simulator when A opens it and to node B's when B does.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nodes_on_two_machines_drive_their_own_modem_on_the_same_port_path() {
        let cluster = Cluster::shared();
        let database = cluster.create_database();
        let url = cluster.url(&database);
        let sim = async |imei: &str| {
            Simulator::start(SimOptions {
                imei: imei.into(),
                ..SimOptions::default()
            })
            .await
            .expect("simulator")
        };
        let (sim_a, sim_b) = (sim("356938035643801").await, sim("356938035643802").await);
        let dev = tempfile::tempdir().expect("tempdir");
        let port = dev.path().join("ttyUSB0");
        std::os::unix::fs::symlink(sim_a.path(), &port).expect("link to A's modem");
        let port = port.to_string_lossy().into_owned();
        let start = async |name: &str| {
            Engine::start(Config {
                db: url.clone().into(),
                node: Some(name.into()),
                machine: Some(format!("machine-{name}")),
                modems: vec![port.clone()],
                sweep_secs: 1,
                modem_lease_secs: 2,
                listen: "127.0.0.1:0".parse().expect("addr"),
                ..Config::default()
            })
            .await
            .expect("start a node")
        };
        let a = start("a").await;
        let listed =
            async |engine: &Engine, imei: &str, node: &str| {
                within(&format!("modem {imei} on node {node}"), async || {
                    engine.hub().modems().into_iter().find(|m| {
                        m.imei.as_deref() == Some(imei) && m.node.as_deref() == Some(node)
                    })
                })
                .await
            };
        let on_a = listed(&a, "356938035643801", "a").await;
        // Node B's machine: the same path, its own modem.
        std::fs::remove_file(&port).expect("unlink");
        std::os::unix::fs::symlink(sim_b.path(), &port).expect("link to B's modem");
        let b = start("b").await;
        let on_b = listed(&b, "356938035643802", "b").await;
        assert_ne!(on_a.id, on_b.id);
        listed(&a, "356938035643802", "b").await;
        listed(&b, "356938035643801", "a").await;
        let mut on_a_events = a.subscribe();
        sim_a.deliver(numbered("machines", 0));
        sim_b.deliver(numbered("machines", 1));
        let mut modems = Vec::new();
        for _ in 0..2 {
            let message = next_sms(&mut on_a_events).await;
            modems.push((numbered_index("machines", &message.text), message.modem));
        }
        modems.sort();
        assert_eq!(
            modems,
            vec![(Some(0), on_a.id.clone()), (Some(1), on_b.id.clone())],
            "each node received on its own modem"
        );
        within("both SIMs emptied", async || {
            (sim_a.stored().is_empty() && sim_b.stored().is_empty()).then_some(())
        })
        .await;
        a.shutdown().await;
        b.shutdown().await;
        cluster.drop_database(&database);
    }

    /// One modem configured on two nodes of one machine under two names, its tty on A and its by-id link on B
    /// (how a standby's config may name it): one port, so one claim and one driver; when A stops, B drives it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_names_of_one_port_on_one_machine_are_one_claim() {
        use crate::modems::{ModemDefaults, Modems};
        use crate::store::{Location, Store};
        let cluster = Cluster::shared();
        let database = cluster.create_database();
        let location = Location::Postgres(cluster.url(&database));
        let dev = tempfile::tempdir().expect("tempdir");
        let by_id = dev.path().join("by-id");
        std::fs::create_dir(&by_id).expect("by-id");
        let link = by_id.join("usb-SimRelay_Simulated_Modem_0001-if02-port0");
        let sim = Simulator::start(SimOptions {
            link: Some(link.clone()),
            ..SimOptions::default()
        })
        .await
        .expect("simulator");
        let lease = Duration::from_secs(2);
        let node = async |name: &str, port: String| {
            let store = Store::open_node(&location, name).await.expect("store");
            let shutdown = CancellationToken::new();
            let modems = Modems::new(
                store.clone(),
                crate::hub::Hub::new(),
                shutdown.clone(),
                ModemDefaults {
                    sweep_secs: 3600,
                    by_id_root: Some(by_id.clone()),
                    ..ModemDefaults::default()
                },
            );
            let task = tokio::spawn(super::drive_claimed(
                store,
                modems.clone(),
                port,
                "one-machine".into(),
                lease,
                shutdown.clone(),
            ));
            (modems, shutdown, task)
        };
        let (a, stop_a, task_a) = node("a", sim.path().to_string_lossy().into_owned()).await;
        within("A driving the modem", async || {
            (a.handles().len() == 1).then_some(())
        })
        .await;
        let (b, stop_b, task_b) = node("b", link.to_string_lossy().into_owned()).await;
        // Several of B's claim attempts (every third of the lease).
        tokio::time::sleep(lease * 2).await;
        assert!(
            b.handles().is_empty(),
            "B stands by: it is A's port under another name"
        );
        stop_a.cancel();
        task_a.await.expect("A's claim released");
        a.shutdown().await;
        within("B driving the modem", async || {
            (b.handles().len() == 1).then_some(())
        })
        .await;
        stop_b.cancel();
        task_b.await.expect("B stops");
        b.shutdown().await;
        cluster.drop_database(&database);
    }

    async fn status(engine: &Engine, method: reqwest::Method, path: &str, token: &str) -> u16 {
        reqwest::Client::new()
            .request(method, format!("http://{}{path}", engine.local_addr()))
            .bearer_auth(token)
            .send()
            .await
            .expect("an HTTP answer")
            .status()
            .as_u16()
    }

    /// Paired devices are the cluster's, not a node's: a device created through A's API is accepted by B, a
    /// pairing code A made is exchanged on B (once), and revoking the device through B's API refuses its token
    /// on A and closes its WebSocket on A (B and A share no file: each has its own tokens file, never written).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_device_paired_on_one_node_works_on_another_until_revoked_there() {
        use reqwest::Method;
        let cluster = Cluster::shared();
        let database = cluster.create_database();
        let url = cluster.url(&database);
        let dir = tempfile::tempdir().expect("tempdir");
        let start = async |name: &str| {
            Engine::start(Config {
                db: url.clone().into(),
                node: Some(name.into()),
                tokens_file: Some(dir.path().join(format!("{name}-tokens.toml"))),
                listen: "127.0.0.1:0".parse().expect("addr"),
                ..Config::default()
            })
            .await
            .expect("start a node")
        };
        let a = start("a").await;
        let b = start("b").await;

        let created: simrelay_protocol::NewDevice = reqwest::Client::new()
            .post(format!("http://{}/api/devices", a.local_addr()))
            .bearer_auth(a.token())
            .json(&serde_json::json!({"name": "script", "scopes": ["read"]}))
            .send()
            .await
            .expect("create on A")
            .json()
            .await
            .expect("the new device");
        let token = created.token;
        assert_eq!(status(&a, Method::GET, "/api/messages", &token).await, 200);
        within("the device accepted on B", async || {
            (status(&b, Method::GET, "/api/messages", &token).await == 200).then_some(())
        })
        .await;
        let listed: simrelay_protocol::DeviceList = reqwest::Client::new()
            .get(format!("http://{}/api/devices", b.local_addr()))
            .bearer_auth(b.token())
            .send()
            .await
            .expect("list on B")
            .json()
            .await
            .expect("devices");
        assert_eq!(listed.devices.len(), 1);
        assert_eq!(listed.devices[0].id, created.device.id);
        assert!(
            status(&b, Method::GET, "/api/devices", &token).await == 403,
            "B applies the device's scopes"
        );

        // A pairing code made on A is exchanged on B, once.
        let pairing = a
            .devices()
            .start_pairing("phone", simrelay_protocol::Scopes::DEFAULT_DEVICE)
            .await
            .expect("a code on A");
        let claim = async |engine: &Engine| {
            reqwest::Client::new()
                .post(format!("http://{}/api/pair/claim", engine.local_addr()))
                .json(&serde_json::json!({"code": pairing.code}))
                .send()
                .await
                .expect("claim")
        };
        let claimed = claim(&b).await;
        assert_eq!(claimed.status().as_u16(), 201);
        let phone: simrelay_protocol::Claimed = claimed.json().await.expect("claimed");
        assert_eq!(
            claim(&a).await.status().as_u16(),
            401,
            "a code is spent once"
        );
        within("the phone accepted on A", async || {
            (status(&a, Method::GET, "/api/messages", &phone.token).await == 200).then_some(())
        })
        .await;

        // Revoked through B: refused on A, and its WebSocket on A is closed.
        let (mut socket, _) = WsClient::connect(a.local_addr(), Some(&token))
            .await
            .expect("the device's WebSocket on A");
        let id = created.device.id;
        assert_eq!(
            status(&b, Method::DELETE, &format!("/api/devices/{id}"), b.token()).await,
            204
        );
        assert_eq!(status(&b, Method::GET, "/api/messages", &token).await, 401);
        let closed = tokio::time::timeout(LIMIT, async {
            loop {
                match socket.next_text(LIMIT).await {
                    Ok(None) | Err(_) => return,
                    Ok(Some(_)) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "A closes the revoked device's WebSocket");
        assert_eq!(status(&a, Method::GET, "/api/messages", &token).await, 401);
        assert_eq!(
            status(&a, Method::GET, "/api/messages", &phone.token).await,
            200,
            "the other device stays"
        );
        for name in ["a", "b"] {
            assert!(
                !dir.path().join(format!("{name}-tokens.toml")).exists(),
                "{name} keeps its devices in the database"
            );
        }
        a.shutdown().await;
        b.shutdown().await;
        cluster.drop_database(&database);
    }

    /// `simrelay token add|list|revoke` run with a PostgreSQL `db` (the real binary) work on the cluster's
    /// devices, not on a tokens file: a running node accepts the token the CLI added and refuses it once the CLI
    /// revoked it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_token_commands_work_on_the_cluster_database() {
        use reqwest::Method;
        let cluster = Cluster::shared();
        let database = cluster.create_database();
        let url = cluster.url(&database);
        let dir = tempfile::tempdir().expect("tempdir");
        let binary = simrelay_testkit::bins::simrelay().unwrap_or_else(|e| panic!("{e}"));
        let run = |args: &[&str]| {
            let output = std::process::Command::new(&binary)
                .arg("--config")
                .arg(dir.path().join("config.toml"))
                .args(args)
                .env("SIMRELAY_DB", &url)
                .output()
                .expect("simrelay runs");
            assert!(output.status.success(), "simrelay {args:?}: {output:?}");
            String::from_utf8(output.stdout).expect("utf-8")
        };
        let a = node(&url, "a", Vec::new()).await;
        let token = run(&["token", "add", "script", "--scopes", "read"]);
        let token = token.trim();
        assert_eq!(token.len(), 64, "{token}");
        within("the CLI's device accepted by A", async || {
            (status(&a, Method::GET, "/api/messages", token).await == 200).then_some(())
        })
        .await;
        let list = run(&["token", "list"]);
        assert!(list.starts_with("script\tread\tcreated "), "{list}");
        run(&["token", "revoke", "script"]);
        within("the CLI's revocation on A", async || {
            (status(&a, Method::GET, "/api/messages", token).await == 401).then_some(())
        })
        .await;
        assert!(run(&["token", "list"]).is_empty());
        assert!(
            !dir.path().join("tokens.toml").exists(),
            "the CLI wrote no tokens file"
        );
        a.shutdown().await;
        cluster.drop_database(&database);
    }

    /// Two nodes on one PostgreSQL database, both with MQTT on one real Mosquitto: each message node A's modem
    /// receives is published once on `simrelay/<modem>/sms` (and its code once on `code`), though both nodes
    /// hear of it; each node still publishes the modem's state.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nodes_sharing_a_broker_publish_each_message_once() {
        use simrelay_testkit::mqtt::{Mosquitto, Subscriber};
        const MESSAGES: usize = 10;
        let broker = Mosquitto::start().await.unwrap_or_else(|e| panic!("{e}"));
        let heard = Subscriber::connect(broker.port(), &["simrelay/+/sms", "simrelay/+/code"])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let cluster = Cluster::shared();
        let database = cluster.create_database();
        let url = cluster.url(&database);
        let sim = Simulator::start(SimOptions::default())
            .await
            .expect("simulator");
        let start = async |name: &str, modems: Vec<String>| {
            Engine::start(Config {
                db: url.clone().into(),
                node: Some(name.into()),
                modems,
                sweep_secs: 1,
                mqtt: Some(crate::mqtt::MqttConfig::new(&broker.url())),
                listen: "127.0.0.1:0".parse().expect("addr"),
                ..Config::default()
            })
            .await
            .expect("start a node")
        };
        let a = start("a", vec![sim.path().to_string_lossy().into_owned()]).await;
        let b = start("b", Vec::new()).await;
        let modem = within("A's modem listed on B", async || {
            b.hub()
                .modems()
                .into_iter()
                .find(|m| m.node.as_deref() == Some("a") && m.imei.is_some())
        })
        .await;
        // Both connected to the broker, so both would publish what they hear.
        for node in [&a, &b] {
            crate::mqtt::cluster_tests::connected(node).await;
        }
        for i in 0..MESSAGES {
            sim.deliver(numbered("mqtt-once", i));
        }
        let topic = format!(
            "simrelay/{}/sms",
            crate::mqtt::topics::topic_safe(&modem.id)
        );
        within("every message published", async || {
            (heard.on(&topic).len() >= MESSAGES).then_some(())
        })
        .await;
        // Both nodes have heard of every message by now (B's clients get them); then nothing more comes.
        within("every message on B's hub", async || {
            (b.store().count().await.ok()? >= i64::try_from(MESSAGES).ok()?).then_some(())
        })
        .await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let ids: Vec<i64> = heard
            .on(&topic)
            .iter()
            .map(|h| h.json()["id"].as_i64().expect("an id"))
            .collect();
        let unique: HashSet<i64> = ids.iter().copied().collect();
        assert_eq!(ids.len(), MESSAGES, "each message published once: {ids:?}");
        assert_eq!(unique.len(), MESSAGES, "{ids:?}");
        let codes = heard.on(&format!(
            "simrelay/{}/code",
            crate::mqtt::topics::topic_safe(&modem.id)
        ));
        assert_eq!(codes.len(), MESSAGES, "each code published once");
        a.shutdown().await;
        b.shutdown().await;
        cluster.drop_database(&database);
    }

    async fn next_sms(
        events: &mut tokio::sync::broadcast::Receiver<simrelay_protocol::ServerEvent>,
    ) -> simrelay_protocol::Message {
        tokio::time::timeout(LIMIT, async {
            loop {
                if let Ok(simrelay_protocol::ServerEvent::Sms { message }) = events.recv().await {
                    return message;
                }
            }
        })
        .await
        .expect("a message in time")
    }
}
