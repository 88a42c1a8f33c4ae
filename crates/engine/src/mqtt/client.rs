//! The MQTT connection and the bridge between it and the hub.
//!
//! Two tasks: the connection task owns rumqttc's event loop (it must be polled without pause: it writes what the
//! bridge publishes, reads what the broker sends, and reconnects), and hands the bridge each (re)connection and
//! each message on a subscribed topic through a bounded channel. The bridge reads the hub and publishes with
//! `try_publish`, so neither task ever waits for the other; while the broker is away nothing is queued for it
//! (live topics are a feed; retained ones are brought up to date at the next connection).
//!
//! In a cluster (nodes sharing a PostgreSQL database, and usually one broker) every node hears of everything,
//! but what MQTT carries happens once:
//! - a message's `sms` and `code` publishes are claimed in the database first (`store/claims.rs`, per broker and
//!   prefix), so nodes sharing a broker publish each message once, and a node with a broker of its own publishes
//!   it there too;
//! - a code correction and a sent message's status are published by the node that made the change (the hub's
//!   `authored` changes), not by the nodes that hear of it: no claim round trip, and once per change;
//! - commands (`<prefix>/send`, Home Assistant's notify and recipient) are subscribed as the MQTT shared
//!   subscription `$share/simrelay/<filter>`, so the broker hands each request to one node. A database claim
//!   could not do this: a request has no identity (`{"to","text","modem"?}`), each node receives its own copy of
//!   the PUBLISH, and a request sent twice on purpose must be sent twice, so only the broker knows which copies
//!   are one request. The node that gets it sends through the requested modem wherever it is (`outgoing.rs`
//!   queues a message for another node's modem in the database, and that node sends it). Shared subscriptions
//!   are MQTT 5, and also accepted from MQTT 3.1.1 clients (this one) by Mosquitto (1.6 and later; the tests
//!   run Debian's 2.0.11), EMQX and HiveMQ; a broker that refuses the filter is logged with what to do;
//! - each node publishes the state and discovery of the modems it drives only, with its own availability topic
//!   `<prefix>/availability/<node>` (its last will), and removes from Home Assistant only modems it announced
//!   itself: a node starting or stopping never touches another node's entities. `<prefix>/availability` says
//!   whether the relay is up: `online` from every node that connects, `offline` from the last node that stops
//!   cleanly (each node follows the others' availability topics).
//!
//! Everything is published with QoS 1. The last will, `offline` retained on `<prefix>/availability` (a node of a
//! cluster: its own topic), is registered at every connect; `online` is published retained right after, and `offline` again on a clean
//! shutdown. Reconnects back off from 1 s, doubling to 60 s.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, QoS,
    TlsConfiguration, Transport,
};
use simrelay_protocol::{CodeEvent, Message, ModemStatus, SendRefused, SendRequest, ServerEvent};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::discovery;
use super::topics::{topic_safe, Command, Topics};
use super::{Broker, MqttConfig, MqttError};
use crate::hub::{Authored, Hub};
use crate::modems::Modems;
use crate::outgoing::{self, SendError};
use crate::store::{Claim, Store};

/// Requests queued for the event loop (publishes in flight to the socket).
const REQUEST_CAPACITY: usize = 1024;
/// Messages from the broker waiting for the bridge; more are dropped (logged).
const INBOUND_CAPACITY: usize = 256;
/// Largest payload accepted on a command topic.
const MAX_COMMAND: usize = 16 * 1024;
/// First and longest pause between connection attempts.
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// How long a clean shutdown waits for `offline` and the disconnect to be written.
const GOODBYE: Duration = Duration::from_secs(2);

/// A rustls client configuration with the ring provider (the one the workspace uses) trusting the public web
/// roots, or the CAs of `ca_file` instead.
pub(crate) fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, MqttError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let ca_err = |reason: String| MqttError::CaFile {
                path: path.to_path_buf(),
                reason,
            };
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| ca_err(format!("cannot read it: {e}")))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ca_err(format!("not a PEM certificate file: {e}")))?;
            if certs.is_empty() {
                return Err(ca_err("holds no certificate".into()));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| ca_err(format!("a certificate is not usable: {e}")))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| MqttError::Config(format!("TLS for MQTT: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn options(
    config: &MqttConfig,
    broker: &Broker,
    tls: Option<Arc<rustls::ClientConfig>>,
    will: &str,
) -> MqttOptions {
    let client_id = config
        .client_id
        .clone()
        .unwrap_or_else(|| format!("simrelay-{}", &crate::server::generate_token()[..8]));
    let mut options = MqttOptions::new(client_id, broker.host.clone(), broker.port);
    options
        .set_keep_alive(Duration::from_secs(30))
        .set_clean_session(true)
        .set_last_will(LastWill::new(will, "offline", QoS::AtLeastOnce, true))
        // Discovery configs carry a device block each; leave room for long texts too.
        .set_max_packet_size(256 * 1024, 256 * 1024);
    if let Some(user) = &broker.username {
        options.set_credentials(user.clone(), broker.password.clone().unwrap_or_default());
    }
    if let Some(tls) = tls {
        options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls)));
    }
    options
}

/// What the connection task tells the bridge.
#[derive(Debug)]
enum Inbound {
    /// Connected (again): subscribe and bring the retained topics up to date.
    Connected,
    /// The connection was lost.
    Disconnected,
    /// A message on a subscribed topic.
    Publish {
        topic: String,
        payload: Vec<u8>,
        /// The broker kept it (delivered because we subscribed, not because someone just sent it).
        retained: bool,
    },
}

pub(crate) async fn run(
    config: MqttConfig,
    broker: Broker,
    tls: Option<Arc<rustls::ClientConfig>>,
    store: Store,
    hub: Hub,
    modems: Modems,
    shutdown: CancellationToken,
) {
    let topics = Topics::new(&config.prefix, &config.discovery_prefix);
    let topics_prefix = config.prefix.clone();
    let node = store.cluster().map(|cluster| cluster.node().to_owned());
    // On its own the relay's availability is the connection's; in a cluster each node has its own.
    let own_availability = match &node {
        Some(node) => topics.node_availability(node),
        None => topics.availability(),
    };
    let (client, mut eventloop) = AsyncClient::new(
        options(&config, &broker, tls, &own_availability),
        REQUEST_CAPACITY,
    );
    let mut network = rumqttc::NetworkOptions::new();
    network.set_connection_timeout(10);
    // Nagle's algorithm would hold a small publish back until the previous one is acknowledged.
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    let (inbound_tx, inbound_rx) = mpsc::channel(INBOUND_CAPACITY);
    tracing::info!(host = %broker.host, port = broker.port, tls = broker.tls, prefix = %config.prefix, "MQTT: connecting");
    let bridge = Bridge {
        client: client.clone(),
        topics: topics.clone(),
        config,
        store,
        hub: hub.clone(),
        modems,
        claim: Claim::Mqtt(format!("{}:{}/{}", broker.host, broker.port, topics_prefix)),
        node,
        own_availability: own_availability.clone(),
        others_online: HashSet::new(),
        stated: HashSet::new(),
        connected: false,
        announced: HashMap::new(),
    };
    let bridge_stop = shutdown.child_token();
    let bridge_task = tokio::spawn(bridge.run(inbound_rx, bridge_stop.clone()));
    connection(&mut eventloop, &hub, &inbound_tx, &shutdown).await;
    // Shutting down: the bridge stops publishing, then `offline` and the disconnect go out while the event loop
    // is still polled (so they are written), bounded in time.
    bridge_stop.cancel();
    let others_online = bridge_task.await.unwrap_or(false);
    let mut farewells = 0;
    if own_availability != topics.availability() {
        farewells += usize::from(
            client
                .try_publish(&own_availability, QoS::AtLeastOnce, true, "offline")
                .is_ok(),
        );
    }
    // The relay is offline when its last node stops.
    if !others_online {
        farewells += usize::from(
            client
                .try_publish(topics.availability(), QoS::AtLeastOnce, true, "offline")
                .is_ok(),
        );
    }
    let goodbye = async {
        // Acknowledged before the disconnect: a socket closed right after it may lose what was not flushed.
        while farewells > 0 {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => farewells -= 1,
                Ok(_) => {}
                Err(_) => return,
            }
        }
        let _ = client.try_disconnect();
        loop {
            match eventloop.poll().await {
                Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    };
    let _ = tokio::time::timeout(GOODBYE, goodbye).await;
    hub.metrics().mqtt_connected(false);
}

/// Polls the event loop until `shutdown`, reconnecting with backoff.
async fn connection(
    eventloop: &mut EventLoop,
    hub: &Hub,
    inbound: &mpsc::Sender<Inbound>,
    shutdown: &CancellationToken,
) {
    let mut backoff = BACKOFF_FIRST;
    let mut failures = 0u32;
    loop {
        let event = tokio::select! {
            () = shutdown.cancelled() => return,
            event = eventloop.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                if failures > 0 {
                    tracing::info!("MQTT: connected again");
                } else {
                    tracing::info!("MQTT: connected");
                }
                failures = 0;
                backoff = BACKOFF_FIRST;
                hub.metrics().mqtt_connected(true);
                // The bridge must learn of every connection, so this one waits (the bridge never waits for us).
                if inbound.send(Inbound::Connected).await.is_err() {
                    return;
                }
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                if ack
                    .return_codes
                    .iter()
                    .any(|code| matches!(code, rumqttc::SubscribeReasonCode::Failure))
                {
                    tracing::error!(
                        "MQTT: the broker refused a subscription; in a cluster SimRelay needs shared \
                         subscriptions ($share/...): use Mosquitto 1.6 or later, EMQX or HiveMQ, or allow \
                         $share/simrelay/# in the broker's ACL"
                    );
                }
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                let message = Inbound::Publish {
                    retained: publish.retain,
                    topic: publish.topic,
                    payload: publish.payload.to_vec(),
                };
                if let Err(mpsc::error::TrySendError::Full(_)) = inbound.try_send(message) {
                    tracing::warn!(
                        "MQTT: commands arrive faster than they can be handled; dropping one"
                    );
                }
            }
            Ok(_) => {}
            Err(e) => {
                hub.metrics().mqtt_connected(false);
                let _ = inbound.try_send(Inbound::Disconnected);
                failures += 1;
                let error = describe(&e);
                if failures == 1 {
                    tracing::warn!(error = %error, "MQTT: connection failed or lost; retrying in {}s", backoff.as_secs());
                } else {
                    tracing::debug!(error = %error, failures, "MQTT: still cannot connect; retrying in {}s", backoff.as_secs());
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

fn describe(e: &ConnectionError) -> String {
    match e {
        ConnectionError::ConnectionRefused(code) => format!(
            "the broker refused the connection ({code:?}): check mqtt_url's user and password, and the client id"
        ),
        other => other.to_string(),
    }
}

/// The bridge's state.
struct Bridge {
    client: AsyncClient,
    topics: Topics,
    config: MqttConfig,
    store: Store,
    hub: Hub,
    modems: Modems,
    /// What a node of a cluster claims before publishing a message.
    claim: Claim,
    /// This node's name in a cluster.
    node: Option<String>,
    /// Where this node says `online` (and its last will `offline`).
    own_availability: String,
    /// The other nodes (topic-safe names) whose availability says `online`.
    others_online: HashSet<String>,
    /// The modems whose state this node published.
    stated: HashSet<String>,
    connected: bool,
    /// Modems announced to Home Assistant (this connection or an earlier run), with the port they were on.
    announced: HashMap<String, String>,
}

impl Bridge {
    /// Runs until `stop`; returns whether another node of the cluster is online.
    async fn run(mut self, mut inbound: mpsc::Receiver<Inbound>, stop: CancellationToken) -> bool {
        let mut events = self.hub.subscribe();
        let mut authored = self.hub.subscribe_authored();
        loop {
            tokio::select! {
                () = stop.cancelled() => return !self.others_online.is_empty(),
                message = inbound.recv() => match message {
                    Some(Inbound::Connected) => self.connected().await,
                    Some(Inbound::Disconnected) => self.connected = false,
                    Some(Inbound::Publish { topic, payload, retained }) => {
                        self.command(&topic, &payload, retained).await;
                    }
                    None => return !self.others_online.is_empty(),
                },
                event = events.recv() => match event {
                    Ok(event) => self.event(event).await,
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "MQTT fell behind; {missed} events were not published");
                    }
                    Err(RecvError::Closed) => return !self.others_online.is_empty(),
                },
                // A sent message's status and a code correction: published by the node that made the change.
                change = authored.recv() => match change {
                    Ok(Authored::Sent(sent)) => self.publish_json(&self.topics.sent(), &sent, false),
                    // The user picked another code (or none): the code topic carries the corrected one, so Home
                    // Assistant's "Last code" follows; a code taken away publishes nothing.
                    Ok(Authored::CodeChanged(message)) => {
                        if self.connected {
                            self.code(&message);
                        }
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "MQTT fell behind; {missed} sent-message updates or code corrections were not published");
                    }
                    Err(RecvError::Closed) => return !self.others_online.is_empty(),
                },
            }
        }
    }

    fn publish(&self, topic: &str, payload: impl Into<Vec<u8>>, retain: bool) {
        if let Err(e) = self
            .client
            .try_publish(topic, QoS::AtLeastOnce, retain, payload.into())
        {
            tracing::warn!(%topic, error = %e, "MQTT: cannot queue a message");
        }
    }

    fn publish_json(&self, topic: &str, value: &impl serde::Serialize, retain: bool) {
        if !self.connected {
            return;
        }
        match serde_json::to_vec(value) {
            Ok(json) => self.publish(topic, json, retain),
            Err(e) => tracing::error!(error = %e, "MQTT: cannot encode a payload"),
        }
    }

    /// This node's modems (every modem of a relay on its own).
    fn local_modems(&self) -> Vec<ModemStatus> {
        self.hub
            .modems()
            .into_iter()
            .filter(|m| self.hub.is_local(m))
            .collect()
    }

    /// A new connection: subscribe, say `online`, publish the state and discovery of this node's modems, remove
    /// what this node announced for modems that are gone.
    async fn connected(&mut self) {
        self.connected = true;
        self.others_online.clear();
        for topic in
            self.topics
                .subscriptions(self.config.send, self.config.discovery, self.node.is_some())
        {
            if let Err(e) = self.client.try_subscribe(&topic, QoS::AtLeastOnce) {
                tracing::warn!(%topic, error = %e, "MQTT: cannot subscribe");
            }
        }
        if self.own_availability != self.topics.availability() {
            self.publish(&self.own_availability, "online", true);
        }
        self.publish(&self.topics.availability(), "online", true);
        let modems = self.local_modems();
        for modem in &modems {
            self.publish_json(&self.topics.state(&modem.id), modem, true);
            self.stated.insert(modem.id.clone());
        }
        if self.config.discovery {
            let earlier = match self
                .store
                .ha_announced(self.topics.discovery_prefix())
                .await
            {
                Ok(earlier) => earlier,
                Err(e) => {
                    tracing::warn!(error = %e, "MQTT: cannot read which modems Home Assistant knows");
                    Vec::new()
                }
            };
            // Only what this node announced (`ha_announced` is the cluster's, by node); a modem another node
            // drives now (taken over) is that node's.
            let listed = self.hub.modems();
            for id in earlier {
                if !listed.iter().any(|m| m.id == id) {
                    self.unannounce(&id).await;
                }
            }
            for modem in &modems {
                self.announce(modem).await;
            }
        }
    }

    async fn event(&mut self, event: ServerEvent) {
        match event {
            ServerEvent::Sms { message } => self.sms(&message).await,
            // Another node's modem is that node's to publish.
            ServerEvent::Modem { modem } if self.hub.is_local(&modem) => {
                self.publish_json(&self.topics.state(&modem.id), &modem, true);
                self.stated.insert(modem.id.clone());
                if self.config.discovery
                    && self.connected
                    && !self.announced.contains_key(&modem.id)
                {
                    // A modem first listed under its port path that now told its IMEI: its old entry goes.
                    let current = self.local_modems();
                    let stale: Vec<String> = self
                        .announced
                        .iter()
                        .filter(|(id, port)| {
                            **port == modem.port && !current.iter().any(|m| &m.id == *id)
                        })
                        .map(|(id, _)| id.clone())
                        .collect();
                    for id in stale {
                        self.unannounce(&id).await;
                    }
                    self.announce(&modem).await;
                }
            }
            // Removed here, or withdrawn by another node (which stopped): only this node's own go.
            ServerEvent::ModemRemoved { id } => {
                if self.config.discovery {
                    if self.announced.contains_key(&id) {
                        self.unannounce(&id).await;
                    }
                } else if self.connected && self.stated.remove(&id) {
                    self.publish(&self.topics.state(&id), Vec::new(), true);
                }
            }
            // Published from the hub's `authored` changes (by the node where the user made it).
            ServerEvent::CodeChanged { .. } => {}
            ServerEvent::Modem { .. }
            | ServerEvent::Hello { .. }
            | ServerEvent::ModemEvent { .. } => {}
        }
    }

    async fn sms(&self, message: &Message) {
        if !self.connected {
            return;
        }
        // Claimed only while connected: a node whose broker is away leaves the message to one whose is not.
        if self.store.cluster().is_some() {
            match self.store.claim(&self.claim, message.id).await {
                Ok(true) => {}
                Ok(false) => return,
                // Published anyway: a message twice is better than none.
                Err(e) => {
                    tracing::warn!(id = message.id, error = %e, "MQTT: cannot claim a message's publish; publishing it")
                }
            }
        }
        self.publish_json(&self.topics.sms(&message.modem), message, false);
        self.code(message);
        self.hub.metrics().handed_to("mqtt", message.id);
    }

    /// Publishes `message`'s code, if it has one, on its modem's code topic.
    fn code(&self, message: &Message) {
        if let Some(code) = &message.code {
            let event = CodeEvent {
                code: code.clone(),
                sender: message.sender.clone(),
                id: message.id,
                received_at: message.received_at,
            };
            self.publish_json(&self.topics.code(&message.modem), &event, false);
        }
    }

    /// Publishes the discovery configs of `modem` (and its recipient), and remembers it.
    async fn announce(&mut self, modem: &ModemStatus) {
        // A provider number (`[[sources]]`) has no signal, SIM or modem to send through: no device for it.
        if !self.connected || modem.source.is_some() {
            return;
        }
        for (topic, config) in discovery::configs(
            modem,
            &self.topics,
            self.config.send,
            &self.own_availability,
        ) {
            self.publish_json(&topic, &config, true);
        }
        match self.store.ha_recipient(&modem.id).await {
            Ok(Some(recipient)) => self.publish(&self.topics.recipient(&modem.id), recipient, true),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "MQTT: cannot read a notify recipient"),
        }
        self.announced.insert(modem.id.clone(), modem.port.clone());
        if let Err(e) = self
            .store
            .set_ha_announced(self.topics.discovery_prefix(), &modem.id, true)
            .await
        {
            tracing::warn!(error = %e, "MQTT: cannot record an announced modem");
        }
    }

    /// Removes `id`'s entities from Home Assistant (empty retained configs) and its retained topics.
    async fn unannounce(&mut self, id: &str) {
        if !self.connected {
            return;
        }
        tracing::info!(modem = %id, "MQTT: removing a modem from Home Assistant");
        for topic in discovery::config_topics(self.topics.discovery_prefix(), id) {
            self.publish(&topic, Vec::new(), true);
        }
        self.publish(&self.topics.state(id), Vec::new(), true);
        self.publish(&self.topics.recipient(id), Vec::new(), true);
        self.announced.remove(id);
        if let Err(e) = self
            .store
            .set_ha_announced(self.topics.discovery_prefix(), id, false)
            .await
        {
            tracing::warn!(error = %e, "MQTT: cannot record a removed modem");
        }
    }

    /// The modem whose topic-safe id is `safe`.
    fn modem_named(&self, safe: &str) -> Option<ModemStatus> {
        self.hub
            .modems()
            .into_iter()
            .find(|m| topic_safe(&m.id) == safe)
    }

    async fn command(&mut self, topic: &str, payload: &[u8], retained: bool) {
        let Some(command) = self.topics.command(topic) else {
            return;
        };
        // A retained send request would be delivered again at every reconnection and send the SMS again.
        if retained && matches!(command, Command::Send | Command::Notify(_)) {
            tracing::warn!(%topic, "MQTT: ignoring a retained send request; publish send requests without retain");
            return;
        }
        if payload.len() > MAX_COMMAND {
            self.refuse(
                "bad_request",
                format!("the payload is over {MAX_COMMAND} bytes"),
                payload,
            );
            return;
        }
        match command {
            Command::NodeAvailability(node) => {
                if self.node.as_deref().map(topic_safe).as_deref() == Some(node.as_str()) {
                    return;
                }
                if payload == b"online" {
                    self.others_online.insert(node);
                } else {
                    self.others_online.remove(&node);
                }
            }
            Command::HomeAssistantStatus => {
                if payload == b"online" && self.config.discovery {
                    tracing::info!("MQTT: Home Assistant came online; announcing the modems again");
                    for modem in self.local_modems() {
                        self.announce(&modem).await;
                    }
                }
            }
            Command::Send => match serde_json::from_slice::<SendRequest>(payload) {
                Ok(request) => {
                    self.send(
                        &request.to,
                        &request.text,
                        request.modem.as_deref(),
                        payload,
                    )
                    .await
                }
                Err(e) => self.refuse(
                    "bad_request",
                    format!("the payload must be JSON {{\"to\",\"text\",\"modem\"?}}: {e}"),
                    payload,
                ),
            },
            Command::Notify(safe) => {
                let Some(modem) = self.modem_named(&safe) else {
                    self.refuse(
                        "bad_request",
                        format!("there is no modem {safe:?}"),
                        payload,
                    );
                    return;
                };
                let text = String::from_utf8_lossy(payload);
                let (to, text) = match split_recipient(&text) {
                    Some((to, text)) => (Some(to.to_owned()), text.to_owned()),
                    None => match self.store.ha_recipient(&modem.id).await {
                        Ok(to) => (to, text.trim().to_owned()),
                        Err(e) => {
                            tracing::warn!(error = %e, "MQTT: cannot read a notify recipient");
                            (None, text.trim().to_owned())
                        }
                    },
                };
                match to {
                    Some(to) => self.send(&to, &text, Some(&modem.id), payload).await,
                    None => self.refuse(
                        "bad_request",
                        "no recipient: set the SMS recipient entity, or start the message with the number and a colon (+4915123456789: Hello)".into(),
                        payload,
                    ),
                }
            }
            Command::SetRecipient(safe) => {
                let Some(modem) = self.modem_named(&safe) else {
                    return;
                };
                let value = String::from_utf8_lossy(payload).trim().to_owned();
                let recipient = (!value.is_empty()).then_some(value);
                if let Some(to) = &recipient {
                    if !outgoing::valid_recipient(to) {
                        tracing::warn!(modem = %modem.id, "MQTT: ignoring a recipient that is not a phone number");
                        return;
                    }
                }
                match self
                    .store
                    .set_ha_recipient(&modem.id, recipient.as_deref())
                    .await
                {
                    Ok(()) => self.publish(
                        &self.topics.recipient(&modem.id),
                        recipient.unwrap_or_default(),
                        true,
                    ),
                    Err(e) => tracing::warn!(error = %e, "MQTT: cannot store a notify recipient"),
                }
            }
        }
    }

    async fn send(&self, to: &str, text: &str, modem: Option<&str>, request: &[u8]) {
        match outgoing::submit(&self.store, &self.hub, &self.modems, to, text, modem).await {
            // The `sent` updates that follow are published from the hub.
            Ok(id) => tracing::info!(id, "MQTT: a message to send was queued"),
            Err(SendError::BadRequest(detail)) => self.refuse("bad_request", detail, request),
            Err(e @ SendError::NoModem) => self.refuse("no_modem", e.to_string(), request),
            Err(SendError::Store(e)) => {
                tracing::error!(error = %e, "MQTT: cannot record a message to send");
                self.refuse(
                    "internal",
                    "the message database failed; see the server log".into(),
                    request,
                );
            }
        }
    }

    fn refuse(&self, error: &str, detail: String, request: &[u8]) {
        tracing::info!(%error, %detail, "MQTT: a send request was refused");
        let request = String::from_utf8_lossy(request);
        let refused = SendRefused {
            error: error.to_owned(),
            detail,
            request: crate::deliver::text::cut(&request, 1024).to_owned(),
        };
        self.publish_json(&self.topics.sent(), &refused, false);
    }
}

/// `+4915123456789: Hello` → the number and the text, when the message starts with a number and a colon.
fn split_recipient(message: &str) -> Option<(&str, &str)> {
    let (number, text) = message.split_once(':')?;
    let number = number.trim();
    let text = text.trim();
    (outgoing::valid_recipient(number) && !text.is_empty()).then_some((number, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notify_message_may_name_its_recipient() {
        assert_eq!(
            split_recipient("+4915123456789: Door opened: back"),
            Some(("+4915123456789", "Door opened: back"))
        );
        assert_eq!(
            split_recipient("0151 2345: hi"),
            None,
            "spaces are not digits"
        );
        assert_eq!(split_recipient("Door opened: back"), None);
        assert_eq!(split_recipient("+4915:"), None, "no text");
        assert_eq!(split_recipient("no colon"), None);
    }

    #[test]
    fn tls_configs_use_public_roots_or_the_given_ca() {
        assert!(tls_config(None).is_ok());
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").expect("write");
        let err = tls_config(Some(&empty))
            .expect_err("no certificate")
            .to_string();
        assert!(
            err.contains("mqtt_ca_file") && err.contains("no certificate"),
            "{err}"
        );
        let missing = tls_config(Some(&dir.path().join("missing.pem")))
            .expect_err("missing")
            .to_string();
        assert!(missing.contains("cannot read"), "{missing}");
    }
}
