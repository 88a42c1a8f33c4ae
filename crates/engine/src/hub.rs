//! The hub: one broadcast of [`ServerEvent`]s that every consumer subscribes to after the store committed,
//! a second one of outgoing-message status changes ([`SentMessage`]), and the current [`Settings`] (a watch:
//! consumers such as retention, hooks and `/ws` want the latest settings, never a backlog of old ones).
//!
//! WebSocket clients, long-poll waiters and the desktop shell each hold their own receiver. The channel is
//! bounded per receiver, so a consumer that stops reading falls behind (and is cut off by its own loop when it
//! sees `Lagged`) without slowing ingest or the other consumers, and without growing memory.
//!
//! The hub also knows whether the database takes commits ([`Hub::database_failed`], [`Hub::database_ok`]):
//! while it does not, every modem of this node is shown with that as its `last_error` (its messages wait on the
//! SIM), and `/api/health` says `"database": "unavailable"`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use simrelay_protocol::{Call, Message, ModemStatus, SentMessage, ServerEvent, Settings, Waiting};
use tokio::sync::{broadcast, watch, Notify};

use crate::metrics::Metrics;

/// How many events a receiver may fall behind before it is told it lagged.
pub const EVENT_BUFFER: usize = 1024;

/// Cheap-to-clone handle to the event broadcast and the latest status of every modem.
#[derive(Debug, Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    events: broadcast::Sender<ServerEvent>,
    // Separate from `events` because `ServerEvent` is matched exhaustively by clients; see
    // `simrelay_protocol::ServerNotice`.
    sent: broadcast::Sender<SentMessage>,
    /// The changes this node made itself (a sent message's status, a user's code correction), not those another
    /// node of a cluster made and this one republishes: a consumer that must act once per cluster (MQTT) follows
    /// these, since every node hears every change but only its author reads it here.
    authored: broadcast::Sender<Authored>,
    /// Incoming calls, after they were stored (a `call` frame on `/ws`, a desktop notification).
    calls: broadcast::Sender<Call>,
    settings: watch::Sender<Settings>,
    modems: Mutex<Modems>,
    /// This node's name when several share a PostgreSQL database: local modem statuses carry it.
    node: std::sync::OnceLock<String>,
    /// What `/metrics` exports; every consumer counts here.
    metrics: Metrics,
    /// Wakes the outbox when a delivery became due outside a commit (a replay).
    outbox: Arc<Notify>,
    /// Why the database takes no commits now (`None`: it does).
    database: Mutex<Option<String>>,
}

/// A change this node made itself; see [`Hub::subscribe_authored`].
#[derive(Debug, Clone)]
pub(crate) enum Authored {
    /// An outgoing message's new status, recorded by this node.
    Sent(SentMessage),
    /// A user of this node changed a message's code.
    CodeChanged(Box<Message>),
}

/// The latest status of every modem, and what the network said is waiting for each (which the driver does not
/// know: it comes from the messages ingest commits).
#[derive(Debug, Default)]
struct Modems {
    status: BTreeMap<String, ModemStatus>,
    waiting: BTreeMap<String, Vec<Waiting>>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl Hub {
    /// A hub with no subscribers and no modems.
    pub fn new() -> Hub {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (sent, _) = broadcast::channel(EVENT_BUFFER);
        let (calls, _) = broadcast::channel(64);
        let (authored, _) = broadcast::channel(EVENT_BUFFER);
        Hub {
            inner: Arc::new(Inner {
                events,
                sent,
                authored,
                calls,
                settings: watch::Sender::new(Settings::default()),
                modems: Mutex::new(Modems::default()),
                node: std::sync::OnceLock::new(),
                metrics: Metrics::new(),
                outbox: Arc::new(Notify::new()),
                database: Mutex::new(None),
            }),
        }
    }

    /// The engine's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// What the outbox waits on besides new messages; see [`Hub::wake_outbox`].
    pub(crate) fn outbox_wake(&self) -> Arc<Notify> {
        self.inner.outbox.clone()
    }

    /// Tells the outbox to look for due deliveries now (after a replay).
    pub(crate) fn wake_outbox(&self) {
        self.inner.outbox.notify_one();
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ServerEvent> {
        self.inner.events.subscribe()
    }

    /// A receiver of every outgoing-message status change from now on.
    pub fn subscribe_sent(&self) -> broadcast::Receiver<SentMessage> {
        self.inner.sent.subscribe()
    }

    /// Publishes an outgoing message's new status (after this node's store recorded it).
    pub fn publish_sent(&self, sent: SentMessage) {
        let _ = self.inner.authored.send(Authored::Sent(sent.clone()));
        let _ = self.inner.sent.send(sent);
    }

    /// Publishes an outgoing message's new status another node of the cluster recorded.
    pub(crate) fn publish_remote_sent(&self, sent: SentMessage) {
        let _ = self.inner.sent.send(sent);
    }

    /// A receiver of the changes this node makes from now on (not those of other nodes).
    pub(crate) fn subscribe_authored(&self) -> broadcast::Receiver<Authored> {
        self.inner.authored.subscribe()
    }

    /// Every incoming call from now on (after it was stored).
    pub fn subscribe_calls(&self) -> broadcast::Receiver<Call> {
        self.inner.calls.subscribe()
    }

    /// Publishes an incoming call (after the store recorded it).
    pub fn publish_call(&self, call: Call) {
        let _ = self.inner.calls.send(call);
    }

    /// Publishes the settings now in effect (after they were stored).
    pub fn publish_settings(&self, settings: Settings) {
        // `send_replace` keeps the value even when nobody watches yet.
        self.inner.settings.send_replace(settings);
    }

    /// The settings in effect.
    pub fn settings(&self) -> Settings {
        self.inner.settings.borrow().clone()
    }

    /// A receiver that sees each settings change (the latest one, when several come at once).
    pub fn watch_settings(&self) -> watch::Receiver<Settings> {
        self.inner.settings.subscribe()
    }

    /// Publishes a committed message.
    pub fn publish_sms(&self, message: Message) {
        // No subscribers is normal (nobody has the UI open); the message is in the store either way.
        let _ = self.inner.events.send(ServerEvent::Sms { message });
    }

    /// Publishes a stored message whose code a user of this node changed.
    pub fn publish_code_changed(&self, message: Message) {
        let _ = self
            .inner
            .authored
            .send(Authored::CodeChanged(Box::new(message.clone())));
        let _ = self.inner.events.send(ServerEvent::CodeChanged { message });
    }

    /// Publishes a stored message whose code a user of another node of the cluster changed.
    pub(crate) fn publish_remote_code_changed(&self, message: Message) {
        let _ = self.inner.events.send(ServerEvent::CodeChanged { message });
    }

    /// Names this node (cluster mode): from now on, modem statuses published without a node are this node's.
    pub(crate) fn set_node(&self, node: &str) {
        let _ = self.inner.node.set(node.to_owned());
    }

    /// This node's name in a cluster (`None` on its own).
    pub(crate) fn node(&self) -> Option<&str> {
        self.inner.node.get().map(String::as_str)
    }

    /// Whether `status` is of a modem this node drives (or a provider number it serves): every modem on its own,
    /// only those naming this node in a cluster.
    pub(crate) fn is_local(&self, status: &ModemStatus) -> bool {
        status.node.as_deref() == self.node()
    }

    /// Records a modem's new status (with what is waiting for it, see [`Hub::set_waiting`]) and publishes it.
    pub fn publish_modem(&self, mut status: ModemStatus) {
        if status.node.is_none() {
            status.node = self.inner.node.get().cloned();
        }
        {
            let mut modems = self.lock_modems();
            status.waiting = modems.waiting.get(&status.id).cloned().unwrap_or_default();
            modems.status.insert(status.id.clone(), status.clone());
        }
        let modem = self.shown(status);
        let _ = self.inner.events.send(ServerEvent::Modem { modem });
    }

    /// Records what the network says is waiting for modem `id` (from the message-waiting indications ingest
    /// committed) and, when it changed and the modem has a status, publishes the status with it.
    pub fn set_waiting(&self, id: &str, waiting: Vec<Waiting>) {
        let changed = {
            let mut modems = self.lock_modems();
            let old = modems.waiting.insert(id.to_owned(), waiting.clone());
            if old.unwrap_or_default() == waiting {
                None
            } else {
                modems.status.get_mut(id).map(|status| {
                    status.waiting = waiting;
                    status.clone()
                })
            }
        };
        if let Some(status) = changed {
            let modem = self.shown(status);
            let _ = self.inner.events.send(ServerEvent::Modem { modem });
        }
    }

    /// Forgets a modem's status kept under an id it no longer has (it was listed under its port path until it
    /// told its IMEI, or another modem was swapped onto its port).
    pub fn forget_modem(&self, id: &str) {
        self.lock_modems().status.remove(id);
    }

    /// Forgets a removed modem's status and tells every client to drop its card.
    pub fn publish_modem_removed(&self, id: &str) {
        self.lock_modems().status.remove(id);
        let _ = self
            .inner
            .events
            .send(ServerEvent::ModemRemoved { id: id.to_owned() });
    }

    /// Tells every client what happened to a modem (registration, reset, restart, full storage).
    pub fn publish_modem_event(
        &self,
        modem: &str,
        event: simrelay_protocol::ModemEventKind,
        detail: String,
        at: chrono::DateTime<chrono::Utc>,
    ) {
        let _ = self.inner.events.send(ServerEvent::ModemEvent {
            modem: modem.to_owned(),
            event,
            detail,
            at,
        });
    }

    /// The latest status of every modem, ordered by id.
    pub fn modems(&self) -> Vec<ModemStatus> {
        let statuses: Vec<ModemStatus> = self.lock_modems().status.values().cloned().collect();
        statuses.into_iter().map(|s| self.shown(s)).collect()
    }

    /// A commit (or the cluster's connection) failed with `error`: until [`Hub::database_ok`], this node's
    /// modems show it, and health says the database is unavailable.
    pub(crate) fn database_failed(&self, error: &dyn std::fmt::Display) {
        let text = error.to_string();
        let was = self.lock_database().replace(text);
        if was.is_none() {
            tracing::warn!(
                "the database takes no commits: messages stay on the SIMs until it is back"
            );
            self.republish_local();
        }
    }

    /// A commit (or the cluster's reconnection) succeeded: the database is back.
    pub(crate) fn database_ok(&self) {
        if self.lock_database().take().is_some() {
            tracing::info!("the database takes commits again");
            self.republish_local();
        }
    }

    /// Why the database takes no commits now, if it does not.
    pub fn database_error(&self) -> Option<String> {
        self.lock_database().clone()
    }

    /// `status` as clients see it: a modem of this node (one with a driver, not a provider number) says so
    /// when its messages cannot be committed.
    fn shown(&self, mut status: ModemStatus) -> ModemStatus {
        let local = status.source.is_none()
            && status.node.as_deref() == self.inner.node.get().map(String::as_str);
        if local {
            if let Some(error) = self.lock_database().as_deref() {
                status.last_error = Some(format!(
                    "cannot store messages, the database is unavailable ({error}): they stay on the SIM, and \
                     are stored once it is back"
                ));
            }
        }
        status
    }

    /// Publishes every status of this node's modems again (their shown error changed); provider numbers keep
    /// theirs.
    fn republish_local(&self) {
        let node = self.inner.node.get().cloned();
        for modem in self.modems() {
            if modem.node == node && modem.source.is_none() {
                let _ = self.inner.events.send(ServerEvent::Modem { modem });
            }
        }
    }

    fn lock_database(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        // A plain value replaced whole: see `lock_modems`.
        self.inner
            .database
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_modems(&self) -> std::sync::MutexGuard<'_, Modems> {
        // The map holds plain data that every writer replaces whole, so a panic elsewhere cannot leave it
        // half-updated: recovering the guard is safe.
        self.inner
            .modems
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Publishes sent message `id` as the store now holds it, so every client sees exactly what
/// `GET /api/sent/{id}` would answer.
pub(crate) async fn publish_stored_sent(store: &crate::store::Store, hub: &Hub, id: i64) {
    match store.get_sent(id).await {
        Ok(Some(sent)) => hub.publish_sent(sent),
        Ok(None) => tracing::warn!(
            id,
            "a sent message vanished before its status was published"
        ),
        Err(e) => tracing::error!(id, error = %e, "cannot read a sent message to publish it"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simrelay_protocol::ModemState;

    fn status(id: &str, state: ModemState) -> ModemStatus {
        ModemStatus::new(id, "/dev/null", state)
    }

    #[tokio::test]
    async fn modem_status_is_kept_and_broadcast() {
        let hub = Hub::new();
        let mut rx = hub.subscribe();
        hub.publish_modem(status("b", ModemState::Connecting));
        hub.publish_modem(status("a", ModemState::Connected));
        hub.publish_modem(status("b", ModemState::Connected));
        let ids: Vec<_> = hub.modems().into_iter().map(|m| (m.id, m.state)).collect();
        assert_eq!(
            ids,
            vec![
                ("a".into(), ModemState::Connected),
                ("b".into(), ModemState::Connected)
            ]
        );
        assert!(matches!(rx.recv().await, Ok(ServerEvent::Modem { modem }) if modem.id == "b"));
    }

    #[tokio::test]
    async fn what_is_waiting_joins_the_status_and_survives_its_updates() {
        use simrelay_protocol::WaitingKind;
        let hub = Hub::new();
        let mut rx = hub.subscribe();
        let voicemail = vec![Waiting {
            kind: WaitingKind::Voicemail,
            count: Some(2),
        }];
        // Known before the modem reported: nothing to publish yet, but its first status carries it.
        hub.set_waiting("a", voicemail.clone());
        hub.publish_modem(status("a", ModemState::Connected));
        assert!(
            matches!(rx.recv().await, Ok(ServerEvent::Modem { modem }) if modem.waiting == voicemail)
        );
        // The driver's next status knows nothing of it; the hub keeps it.
        hub.publish_modem(status("a", ModemState::Connected));
        assert!(
            matches!(rx.recv().await, Ok(ServerEvent::Modem { modem }) if modem.waiting == voicemail)
        );
        // Cleared: published at once; the same again publishes nothing.
        hub.set_waiting("a", Vec::new());
        hub.set_waiting("a", Vec::new());
        assert!(
            matches!(rx.recv().await, Ok(ServerEvent::Modem { modem }) if modem.waiting.is_empty())
        );
        assert!(rx.try_recv().is_err());
        assert!(hub.modems()[0].waiting.is_empty());
    }

    /// A failed commit shows on this node's modems (republished at once), not on another node's or a provider
    /// number's; a success restores each driver's own error.
    #[tokio::test]
    async fn a_database_failure_shows_on_this_nodes_modems_until_a_commit_succeeds() {
        let hub = Hub::new();
        hub.set_node("a");
        let mut own = status("own", ModemState::Connected);
        own.last_error = Some("the driver's own".into());
        hub.publish_modem(own);
        let mut other = status("other", ModemState::Connected);
        other.node = Some("b".into());
        hub.publish_modem(other);
        let mut provider = status("twilio", ModemState::Connected);
        provider.source = Some(simrelay_protocol::SourceKind::Twilio);
        hub.publish_modem(provider);
        let mut rx = hub.subscribe();

        hub.database_failed(&"connection refused");
        hub.database_failed(&"connection refused again");
        let Ok(ServerEvent::Modem { modem }) = rx.recv().await else {
            panic!("the modem's status is published again")
        };
        assert_eq!(modem.id, "own");
        let error = modem.last_error.unwrap_or_default();
        assert!(
            error.contains("database is unavailable") && error.contains("connection refused"),
            "{error}"
        );
        assert!(
            rx.try_recv().is_err(),
            "one republish, for this node's modem only"
        );
        assert_eq!(
            hub.database_error().as_deref(),
            Some("connection refused again")
        );
        let listed = hub.modems();
        assert!(
            listed[0].last_error.is_none(),
            "another node's modem: {listed:?}"
        );
        assert!(listed[1]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("database")));
        assert!(
            listed[2].last_error.is_none(),
            "a provider number: {listed:?}"
        );

        hub.database_ok();
        let Ok(ServerEvent::Modem { modem }) = rx.recv().await else {
            panic!("the modem's status is published again")
        };
        assert_eq!(modem.last_error.as_deref(), Some("the driver's own"));
        hub.database_ok();
        assert!(rx.try_recv().is_err());
        assert_eq!(hub.database_error(), None);
    }

    /// Every change reaches every client; only this node's own reach the authored receiver (what MQTT publishes
    /// once per cluster).
    #[tokio::test]
    async fn only_this_nodes_changes_are_authored() {
        let hub = Hub::new();
        let mut authored = hub.subscribe_authored();
        let mut sent = hub.subscribe_sent();
        let mut events = hub.subscribe();
        let sent_message = |id| SentMessage {
            id,
            modem: "m".into(),
            to: "+4915123456789".into(),
            text: "hi".into(),
            status: simrelay_protocol::SendStatus::Queued,
            error: None,
            message_refs: Vec::new(),
            parts: 1,
            created_at: chrono::Utc::now().fixed_offset(),
            updated_at: chrono::Utc::now().fixed_offset(),
        };
        hub.publish_remote_sent(sent_message(1));
        hub.publish_sent(sent_message(2));
        assert_eq!(sent.recv().await.map(|s| s.id).ok(), Some(1));
        assert_eq!(sent.recv().await.map(|s| s.id).ok(), Some(2));
        assert!(matches!(authored.recv().await, Ok(Authored::Sent(s)) if s.id == 2));
        let message: Message = serde_json::from_value(serde_json::json!({
            "id": 7, "modem": "m", "sender": "Bank", "text": "482913", "sent_at": "2026-11-22T10:00:00+01:00",
            "received_at": "2026-11-22T09:00:02Z", "encoding": "gsm7"
        }))
        .expect("a message");
        hub.publish_remote_code_changed(message.clone());
        hub.publish_code_changed(message);
        for _ in 0..2 {
            assert!(
                matches!(events.recv().await, Ok(ServerEvent::CodeChanged { message }) if message.id == 7)
            );
        }
        assert!(matches!(authored.recv().await, Ok(Authored::CodeChanged(m)) if m.id == 7));
        assert!(authored.try_recv().is_err(), "nothing another node did");
    }

    #[tokio::test]
    async fn a_lagging_receiver_is_told_and_others_are_not_slowed() {
        let hub = Hub::new();
        let mut slow = hub.subscribe();
        for _ in 0..EVENT_BUFFER + 10 {
            hub.publish_modem(status("a", ModemState::Connected));
        }
        assert!(matches!(
            slow.recv().await,
            Err(broadcast::error::RecvError::Lagged(10))
        ));
    }
}
