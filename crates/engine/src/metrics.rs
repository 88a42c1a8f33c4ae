//! Prometheus metrics (`GET /metrics`): what the engine counts as it works, and the modems' state read from the
//! hub when scraped. Encoded by the `prometheus-client` crate (the Prometheus project's own Rust client) in the
//! OpenMetrics text format, which Prometheus scrapes natively.
//!
//! Counting costs an atomic add under a read lock, so ingest, the WebSocket fan-out and the outbox count
//! inline. The modem-to-client latency histogram needs to know when a message's PDU reached the engine:
//! ingest notes it per message id ([`Metrics::arrived`]) in a small bounded map, and each consumer that
//! hands the message on (a WebSocket client, MQTT) observes the time since.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use simrelay_protocol::{ModemState, ModemStatus, Registration};

/// Arrival times kept for the latency histogram: enough for a burst in flight to every consumer.
const ARRIVALS: usize = 4096;

/// The content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModemLabel {
    modem: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RegistrationLabels {
    modem: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabels {
    target: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClientLabel {
    client: String,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 16 s, doubling: a message normally reaches clients in milliseconds.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 16,
    ))
}

/// Every metric the engine exports.
pub struct Metrics {
    registry: Registry,
    received: Family<ModemLabel, Counter>,
    decoded: Family<ModemLabel, Counter>,
    failed: Family<ModemLabel, Counter>,
    stored: Family<ModemLabel, Counter>,
    codes: Family<ModemLabel, Counter>,
    ws_clients: Gauge,
    mqtt_connected: Gauge,
    deliveries: Family<TargetLabels, Counter>,
    delivery_failures: Family<TargetLabels, Counter>,
    pending_deliveries: Gauge,
    latency: Family<ClientLabel, Histogram, fn() -> Histogram>,
    signal: Family<ModemLabel, Gauge>,
    connected: Family<ModemLabel, Gauge>,
    registration: Family<RegistrationLabels, Gauge>,
    storage_used: Family<ModemLabel, Gauge>,
    storage_total: Family<ModemLabel, Gauge>,
    arrivals: Mutex<Arrivals>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Arrivals {
    at: HashMap<i64, Instant>,
    order: VecDeque<i64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// All metrics at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("simrelay");
        let m = Metrics {
            received: Family::default(),
            decoded: Family::default(),
            failed: Family::default(),
            stored: Family::default(),
            codes: Family::default(),
            ws_clients: Gauge::default(),
            mqtt_connected: Gauge::default(),
            deliveries: Family::default(),
            delivery_failures: Family::default(),
            pending_deliveries: Gauge::default(),
            latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            signal: Family::default(),
            connected: Family::default(),
            registration: Family::default(),
            storage_used: Family::default(),
            storage_total: Family::default(),
            arrivals: Mutex::default(),
            registry: Registry::default(),
        };
        registry.register(
            "messages_received",
            "PDUs the modems reported (each part of a multipart message counts)",
            m.received.clone(),
        );
        registry.register(
            "messages_decoded",
            "PDUs that decoded as SMS",
            m.decoded.clone(),
        );
        registry.register(
            "messages_failed",
            "PDUs that did not decode (kept raw, with decode_error)",
            m.failed.clone(),
        );
        registry.register(
            "messages_stored",
            "messages committed to the store (duplicates not counted)",
            m.stored.clone(),
        );
        registry.register(
            "codes_extracted",
            "stored messages with a verification code",
            m.codes.clone(),
        );
        registry.register(
            "websocket_clients",
            "WebSocket clients connected now",
            m.ws_clients.clone(),
        );
        registry.register(
            "mqtt_connected",
            "whether the MQTT client is connected to its broker (0 or 1)",
            m.mqtt_connected.clone(),
        );
        registry.register(
            "deliveries",
            "delivery attempts the target accepted",
            m.deliveries.clone(),
        );
        registry.register(
            "delivery_failures",
            "delivery attempts that failed (each retry counts)",
            m.delivery_failures.clone(),
        );
        registry.register(
            "deliveries_pending",
            "deliveries waiting for an attempt or a retry",
            m.pending_deliveries.clone(),
        );
        registry.register(
            "modem_to_client_seconds",
            "time from a PDU reaching the engine to its message being handed to a client (ws, mqtt)",
            m.latency.clone(),
        );
        registry.register(
            "modem_signal_dbm",
            "signal strength the modem reports",
            m.signal.clone(),
        );
        registry.register(
            "modem_connected",
            "whether the modem is connected (0 or 1)",
            m.connected.clone(),
        );
        registry.register(
            "modem_registration",
            "the modem's network registration status (the series with its status is 1)",
            m.registration.clone(),
        );
        registry.register(
            "modem_storage_used",
            "messages in the modem's message storage",
            m.storage_used.clone(),
        );
        registry.register(
            "modem_storage_total",
            "capacity of the modem's message storage",
            m.storage_total.clone(),
        );
        Metrics { registry, ..m }
    }

    fn modem(modem: &str) -> ModemLabel {
        ModemLabel {
            modem: modem.to_owned(),
        }
    }

    /// A modem reported a PDU (at `at`); `decoded` says whether it decoded.
    pub fn pdu_received(&self, modem: &str, decoded: bool) {
        let label = Metrics::modem(modem);
        self.received.get_or_create(&label).inc();
        if decoded {
            self.decoded.get_or_create(&label).inc();
        } else {
            self.failed.get_or_create(&label).inc();
        }
    }

    /// A message was committed; its PDU reached the engine at `arrived` (`None`: do not time it, e.g. a
    /// multipart message delivered incomplete after its timeout).
    pub fn stored(&self, modem: &str, id: i64, has_code: bool, arrived: Option<Instant>) {
        let label = Metrics::modem(modem);
        self.stored.get_or_create(&label).inc();
        if has_code {
            self.codes.get_or_create(&label).inc();
        }
        if let Some(at) = arrived {
            self.arrived(id, at);
        }
    }

    /// Notes when message `id`'s PDU reached the engine, for [`Metrics::handed_to`].
    pub fn arrived(&self, id: i64, at: Instant) {
        let mut arrivals = self.arrivals.lock().unwrap_or_else(PoisonError::into_inner);
        if arrivals.at.insert(id, at).is_none() {
            arrivals.order.push_back(id);
        }
        while arrivals.order.len() > ARRIVALS {
            if let Some(old) = arrivals.order.pop_front() {
                arrivals.at.remove(&old);
            }
        }
    }

    /// Message `id` was handed to a client of kind `client` (`ws`, `mqtt`): observes the latency since its PDU
    /// arrived (nothing when that is unknown, e.g. a message injected by a test or long evicted).
    pub fn handed_to(&self, client: &str, id: i64) {
        let at = self
            .arrivals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .at
            .get(&id)
            .copied();
        if let Some(at) = at {
            self.latency
                .get_or_create(&ClientLabel {
                    client: client.to_owned(),
                })
                .observe(at.elapsed().as_secs_f64());
        }
    }

    /// A WebSocket client connected (`+1`) or left (`-1`).
    pub fn ws_clients(&self, delta: i64) {
        self.ws_clients.inc_by(delta);
    }

    /// Whether the MQTT client is connected.
    pub fn mqtt_connected(&self, connected: bool) {
        self.mqtt_connected.set(i64::from(connected));
    }

    /// A delivery attempt to `target` (of `kind`) succeeded or failed.
    pub fn delivery_attempt(&self, target: &str, kind: &str, ok: bool) {
        let labels = TargetLabels {
            target: target.to_owned(),
            kind: kind.to_owned(),
        };
        if ok {
            self.deliveries.get_or_create(&labels).inc();
        } else {
            self.delivery_failures.get_or_create(&labels).inc();
        }
    }

    /// How many deliveries are pending.
    pub fn set_pending_deliveries(&self, n: i64) {
        self.pending_deliveries.set(n);
    }

    /// The text exposition of every metric, with the modems' state as `modems` tell it.
    pub fn encode(&self, modems: &[ModemStatus]) -> String {
        // Rebuilt at each scrape, so a removed modem's series disappear.
        for family in [
            &self.signal,
            &self.connected,
            &self.storage_used,
            &self.storage_total,
        ] {
            family.clear();
        }
        self.registration.clear();
        for m in modems {
            let label = Metrics::modem(&m.id);
            if let Some(dbm) = m.signal_dbm {
                self.signal.get_or_create(&label).set(i64::from(dbm));
            }
            self.connected
                .get_or_create(&label)
                .set(i64::from(m.state == ModemState::Connected));
            if let Some(registration) = m.registration {
                self.registration
                    .get_or_create(&RegistrationLabels {
                        modem: m.id.clone(),
                        status: registration_name(registration).to_owned(),
                    })
                    .set(1);
            }
            if let Some(used) = m.storage_used {
                self.storage_used.get_or_create(&label).set(i64::from(used));
            }
            if let Some(total) = m.storage_total {
                self.storage_total
                    .get_or_create(&label)
                    .set(i64::from(total));
            }
        }
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
        out
    }
}

fn registration_name(r: Registration) -> &'static str {
    match r {
        Registration::Home => "home",
        Registration::Roaming => "roaming",
        Registration::Searching => "searching",
        Registration::Denied => "denied",
        Registration::NotRegistered => "not_registered",
        Registration::Unknown => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(id: &str) -> ModemStatus {
        ModemStatus {
            id: id.into(),
            port: "/dev/ttyUSB2".into(),
            state: ModemState::Connected,
            model: None,
            node: None,
            operator: None,
            signal_dbm: Some(-71),
            last_error: None,
            demo: false,
            label: None,
            manufacturer: None,
            imei: None,
            iccid: None,
            registration: Some(Registration::Roaming),
            signal_bars: Some(4),
            storage_used: Some(2),
            storage_total: Some(30),
            source: None,
            waiting: Vec::new(),
            pin_attempts_left: None,
            health: Default::default(),
        }
    }

    #[test]
    fn counters_gauges_and_the_histogram_are_exposed() {
        let m = Metrics::new();
        m.pdu_received("imei:1", true);
        m.pdu_received("imei:1", false);
        m.stored("imei:1", 7, true, Some(Instant::now()));
        m.handed_to("ws", 7);
        m.handed_to("ws", 8); // unknown arrival: not observed
        m.ws_clients(2);
        m.ws_clients(-1);
        m.delivery_attempt("hook_url", "webhook", true);
        m.delivery_attempt("phone", "ntfy", false);
        let text = m.encode(&[status("imei:1")]);
        for line in [
            "simrelay_messages_received_total{modem=\"imei:1\"} 2",
            "simrelay_messages_decoded_total{modem=\"imei:1\"} 1",
            "simrelay_messages_failed_total{modem=\"imei:1\"} 1",
            "simrelay_messages_stored_total{modem=\"imei:1\"} 1",
            "simrelay_codes_extracted_total{modem=\"imei:1\"} 1",
            "simrelay_websocket_clients 1",
            "simrelay_deliveries_total{target=\"hook_url\",kind=\"webhook\"} 1",
            "simrelay_delivery_failures_total{target=\"phone\",kind=\"ntfy\"} 1",
            "simrelay_modem_to_client_seconds_count{client=\"ws\"} 1",
            "simrelay_modem_signal_dbm{modem=\"imei:1\"} -71",
            "simrelay_modem_connected{modem=\"imei:1\"} 1",
            "simrelay_modem_registration{modem=\"imei:1\",status=\"roaming\"} 1",
            "simrelay_modem_storage_used{modem=\"imei:1\"} 2",
            "simrelay_modem_storage_total{modem=\"imei:1\"} 30",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in:\n{text}"
            );
        }
        assert!(text.ends_with("# EOF\n"));
        // A modem that is gone loses its series.
        assert!(!m.encode(&[]).contains("modem_signal_dbm{"));
    }

    #[test]
    fn arrivals_are_bounded() {
        let m = Metrics::new();
        let now = Instant::now();
        for id in 0..(ARRIVALS as i64 + 10) {
            m.arrived(id, now);
        }
        let arrivals = m.arrivals.lock().expect("lock");
        assert_eq!(arrivals.at.len(), ARRIVALS);
        assert!(!arrivals.at.contains_key(&0));
    }
}
