//! Issue #19 end to end: MQTT against a real Mosquitto, Home Assistant discovery, webhooks through the outbox
//! against a local receiver (signatures checked with Python's hmac, retries across a restart), the forwarders
//! (e-mail through a real aiosmtpd; ntfy, Gotify and Telegram requests against a local receiver, in the shapes
//! their documentation gives), and `/metrics`.

mod fixtures;

mod forwarders;
mod metrics;
mod mqtt;
mod webhooks;

use std::path::Path;

use chrono::DateTime;
use simrelay_engine::store::{Inserted, NewMessage};
use simrelay_engine::{Config, Engine};
use simrelay_protocol::Message;

/// An engine's configuration on an ephemeral loopback port over `db`.
pub fn config(db: &Path) -> Config {
    Config {
        db: db.to_path_buf(),
        listen: "127.0.0.1:0".parse().expect("a socket address"),
        ..Config::default()
    }
}

/// Starts an engine.
pub async fn start(config: Config) -> Engine {
    Engine::start(config).await.expect("engine starts")
}

/// A message as ingest would store it; `n` makes it unique.
pub fn message(n: u8, modem: &str, sender: &str, text: &str, code: Option<&str>) -> NewMessage {
    NewMessage {
        modem: modem.into(),
        sender: sender.into(),
        text: text.into(),
        code: code.map(str::to_owned),
        code_span: None,
        sent_at: DateTime::parse_from_rfc3339("2026-11-22T10:00:00+01:00").expect("valid"),
        encoding: Some("gsm7".into()),
        decode_error: None,
        incomplete: false,
        pdus: vec![vec![0xA0, n]],
        extra_pdus: Vec::new(),
    }
}

/// Commits through the store and publishes on the hub, as ingest does.
pub async fn commit(engine: &Engine, new: &NewMessage) -> Message {
    match engine.store().insert_message(new).await.expect("insert") {
        Inserted::New(message) => {
            engine.hub().publish_sms((*message).clone());
            *message
        }
        Inserted::Duplicate => panic!("already stored"),
    }
}

/// `http://<engine>/path`.
pub fn url(engine: &Engine, path: &str) -> String {
    format!("http://{}{path}", engine.local_addr())
}
