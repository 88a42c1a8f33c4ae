//! MQTT: every new message, code and modem status published to a broker, SMS sent from `<prefix>/send`, and
//! Home Assistant discovery so each modem shows up as a device.
//!
//! - [`MqttConfig`]: `mqtt_url` (`mqtt://` or `mqtts://`, with optional `user:password@`), the client id, the
//!   prefix, Home Assistant discovery.
//! - `topics.rs`: every topic name; `discovery.rs`: Home Assistant's config payloads (what the bridge keeps in
//!   the database is in `store/deliveries.rs`); `client.rs`: the connection (rumqttc, QoS 1, reconnect with
//!   backoff, last will `offline` on `<prefix>/availability`) and the bridge between it and the hub.
//!
//! MQTT is a live feed: it reads the hub after the commit like every other consumer, and what happens while the
//! broker is unreachable is not replayed (retained topics are brought up to date at each connection). For
//! deliveries that must not be missed, use a webhook (`crate::deliver`).

mod client;
#[cfg(test)]
pub(crate) mod cluster_tests;
mod discovery;
pub mod topics;

use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::hub::Hub;
use crate::modems::Modems;
use crate::store::Store;

/// The default topic prefix.
pub const DEFAULT_PREFIX: &str = "simrelay";
/// Home Assistant's default discovery prefix.
pub const DEFAULT_DISCOVERY_PREFIX: &str = "homeassistant";

/// How to reach the broker and what to publish there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttConfig {
    /// `mqtt://host[:port]` (default port 1883) or `mqtts://host[:port]` (TLS, default 8883); may carry
    /// `user:password@` (percent-encoded).
    pub url: String,
    /// Login (overrides one in the URL).
    pub username: Option<String>,
    /// Password (overrides one in the URL).
    pub password: Option<String>,
    /// Client id (default `simrelay-` and 8 random hex digits).
    pub client_id: Option<String>,
    /// First level of every topic (default `simrelay`).
    pub prefix: String,
    /// A PEM file of CA certificates to trust for `mqtts://` instead of the public ones (a broker with a
    /// private CA or a self-signed certificate).
    pub ca_file: Option<PathBuf>,
    /// Accept `<prefix>/send` (and Home Assistant's notify entity). Anyone who may publish there can send SMS
    /// from your SIM: protect the broker, or switch this off.
    pub send: bool,
    /// Publish Home Assistant discovery.
    pub discovery: bool,
    /// Home Assistant's discovery prefix (default `homeassistant`).
    pub discovery_prefix: String,
}

impl MqttConfig {
    /// The defaults for a broker at `url`.
    pub fn new(url: &str) -> MqttConfig {
        MqttConfig {
            url: url.to_owned(),
            username: None,
            password: None,
            client_id: None,
            prefix: DEFAULT_PREFIX.to_owned(),
            ca_file: None,
            send: true,
            discovery: true,
            discovery_prefix: DEFAULT_DISCOVERY_PREFIX.to_owned(),
        }
    }

    /// Checks everything that can be checked without the network; the error names the key to fix.
    pub fn check(&self) -> Result<Broker, MqttError> {
        let broker = Broker::parse(self)?;
        if !topics::valid_prefix(&self.prefix) {
            return Err(MqttError::Config(
                "mqtt_prefix must be 1 to 64 characters without +, # or NUL, not starting with / or $ and not ending with /"
                    .into(),
            ));
        }
        if !topics::valid_prefix(&self.discovery_prefix) {
            return Err(MqttError::Config(
                "ha_discovery_prefix must be 1 to 64 characters without +, # or NUL, not starting with / or $ and not ending with /"
                    .into(),
            ));
        }
        if let Some(id) = &self.client_id {
            if id.is_empty() || id.len() > 64 || id.contains('\0') {
                return Err(MqttError::Config(
                    "mqtt_client_id must be 1 to 64 bytes".into(),
                ));
            }
        }
        Ok(broker)
    }
}

/// Why MQTT cannot start.
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    /// A setting is wrong.
    #[error("{0}")]
    Config(String),
    /// The CA file cannot be used.
    #[error("mqtt_ca_file {path}: {reason}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Where the broker is, as [`MqttConfig::url`] and the login settings say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `mqtts://`.
    pub tls: bool,
    /// Login, if any.
    pub username: Option<String>,
    /// Password, if any.
    pub password: Option<String>,
}

impl Broker {
    fn parse(config: &MqttConfig) -> Result<Broker, MqttError> {
        let bad = |why: &str| {
            MqttError::Config(format!(
                "mqtt_url {why}: use mqtt://HOST[:PORT] or mqtts://HOST[:PORT], optionally with USER:PASSWORD@ before HOST"
            ))
        };
        let url = reqwest::Url::parse(config.url.trim()).map_err(|_| bad("is not a URL"))?;
        let (tls, default_port) = match url.scheme() {
            "mqtt" | "tcp" => (false, 1883),
            "mqtts" | "ssl" => (true, 8883),
            _ => return Err(bad("has an unknown scheme")),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if !matches!(url.path(), "" | "/") || url.query().is_some() {
            return Err(bad("must not have a path or query"));
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| bad("has a login that is not UTF-8"))
        };
        let url_user = match url.username() {
            "" => None,
            user => Some(decode(user)?),
        };
        let url_password = url.password().map(decode).transpose()?;
        Ok(Broker {
            host,
            port: url.port().unwrap_or(default_port),
            tls,
            username: config.username.clone().or(url_user),
            password: config.password.clone().or(url_password),
        })
    }
}

/// A checked configuration, with its TLS setup, ready to run.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    config: MqttConfig,
    broker: Broker,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Prepared {
    /// Checks `config` and loads its CA file, if any.
    pub(crate) fn new(config: MqttConfig) -> Result<Prepared, MqttError> {
        let broker = config.check()?;
        let tls = if broker.tls {
            Some(Arc::new(client::tls_config(config.ca_file.as_deref())?))
        } else {
            None
        };
        Ok(Prepared {
            config,
            broker,
            tls,
        })
    }
}

/// Runs the MQTT client and bridge until `shutdown`; publishes `offline` before it disconnects.
pub(crate) async fn run(
    prepared: Prepared,
    store: Store,
    hub: Hub,
    modems: Modems,
    shutdown: CancellationToken,
) {
    let Prepared {
        config,
        broker,
        tls,
    } = prepared;
    client::run(config, broker, tls, store, hub, modems, shutdown).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_host_port_tls_and_login() {
        let b = MqttConfig::new("mqtt://broker.lan").check().expect("valid");
        assert_eq!(
            (b.host.as_str(), b.port, b.tls, b.username, b.password),
            ("broker.lan", 1883, false, None, None)
        );
        let b = MqttConfig::new("mqtts://ha%40home:p%3Ass@10.0.0.2")
            .check()
            .expect("valid");
        assert_eq!((b.port, b.tls), (8883, true));
        assert_eq!(b.username.as_deref(), Some("ha@home"));
        assert_eq!(b.password.as_deref(), Some("p:ss"));
        let b = MqttConfig::new("mqtt://[::1]:1999/")
            .check()
            .expect("valid");
        assert_eq!((b.host.as_str(), b.port), ("::1", 1999));
        let mut c = MqttConfig::new("mqtt://u:p@h");
        c.username = Some("other".into());
        assert_eq!(c.check().expect("valid").username.as_deref(), Some("other"));
        for bad in [
            "http://h",
            "h:1883",
            "mqtt://",
            "mqtt://h/topic",
            "mqtt://h?x=1",
        ] {
            let err = MqttConfig::new(bad)
                .check()
                .expect_err("refused")
                .to_string();
            assert!(err.starts_with("mqtt_url "), "{bad}: {err}");
        }
        let mut c = MqttConfig::new("mqtt://h");
        c.prefix = "a/#".into();
        assert!(c
            .check()
            .expect_err("bad")
            .to_string()
            .starts_with("mqtt_prefix"));
    }
}
