//! What SimRelay relays to other systems: the MQTT payloads that are not API objects already
//! ([`CodeEvent`], [`SendRefused`]), the delivery log of the outbox (`GET /api/deliveries`: [`Delivery`]), and
//! the forwarders a user configures ([`Forwarder`], a field of the settings).

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// Payload of `<prefix>/<modem>/code` on MQTT: a message that carries a verification code, reduced to what an
/// automation needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeEvent {
    /// The code.
    pub code: String,
    /// Sender as the network gave it. Untrusted text.
    pub sender: String,
    /// Id of the message (as in `GET /api/messages/{id}`).
    pub id: i64,
    /// When SimRelay committed the message.
    pub received_at: DateTime<FixedOffset>,
}

/// Payload published on `<prefix>/sent` when a request on `<prefix>/send` (or a Home Assistant notify
/// entity) cannot be sent at all: the error as the HTTP API would give it, and the request it answers. A request
/// that is accepted is followed by the sent message's status changes instead (the `SentMessage` object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendRefused {
    /// Short machine-friendly error kind: `bad_request` or `no_modem`.
    pub error: String,
    /// What went wrong, for a person.
    pub detail: String,
    /// The payload as received (cut to 1 KiB), so a sender can match the answer to its request.
    pub request: String,
}

/// Where one delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its first attempt or for a retry (`next_try_at`).
    Pending,
    /// The target accepted it.
    Delivered,
    /// Given up: retries ran for 24 hours, or the target or message is gone. A replay makes it pending again.
    Failed,
}

impl DeliveryStatus {
    /// The status's name on the wire and in the database (`pending`, `delivered`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// The status named `name`, if any.
    pub fn parse(name: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// One delivery of one message to one target: a row of the outbox, as `GET /api/deliveries` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Id of the delivery (for `POST /api/deliveries/{id}/replay`).
    pub id: i64,
    /// The event's stable id (32 hex digits): sent as `X-SimRelay-Event-Id` with every attempt and replay,
    /// so a receiver can drop duplicates.
    pub event_id: String,
    /// Name of the target (a forwarder's `name`; `hook_url` for the `hook_url` setting).
    pub target: String,
    /// What kind of target it is.
    pub kind: ForwarderKind,
    /// The message it delivers; `null` once that message was deleted.
    pub message_id: Option<i64>,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it was queued (the message's commit).
    pub created_at: DateTime<FixedOffset>,
    /// When the next attempt is due (pending only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_try_at: Option<DateTime<FixedOffset>>,
    /// When the last attempt was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_try_at: Option<DateTime<FixedOffset>>,
    /// When the target accepted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<FixedOffset>>,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// Body of `GET /api/deliveries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryPage {
    /// Deliveries, newest first.
    pub deliveries: Vec<Delivery>,
    /// Cursor of the next (older) page: pass it as `before=`. Absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
}

/// What a forwarder talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwarderKind {
    /// A signed JSON `POST` of the message to `url`.
    Webhook,
    /// An ntfy server (`url`, default `https://ntfy.sh`) and `topic`.
    Ntfy,
    /// A Gotify server (`url`) with an application `token`.
    Gotify,
    /// A Telegram bot (`token`) writing to `chat_id` (`url` defaults to `https://api.telegram.org`).
    Telegram,
    /// E-mail over SMTP.
    Email,
}

impl ForwarderKind {
    /// Every kind, in the order a form lists them.
    pub const ALL: [ForwarderKind; 5] = [
        ForwarderKind::Webhook,
        ForwarderKind::Ntfy,
        ForwarderKind::Gotify,
        ForwarderKind::Telegram,
        ForwarderKind::Email,
    ];

    /// The kind's name on the wire and in the configuration file.
    pub fn as_str(self) -> &'static str {
        match self {
            ForwarderKind::Webhook => "webhook",
            ForwarderKind::Ntfy => "ntfy",
            ForwarderKind::Gotify => "gotify",
            ForwarderKind::Telegram => "telegram",
            ForwarderKind::Email => "email",
        }
    }

    /// The kind named `name`, if any.
    pub fn parse(name: &str) -> Option<ForwarderKind> {
        ForwarderKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// How the SMTP connection of an e-mail forwarder is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// STARTTLS on the submission port (default port 587); refuses a server that does not offer it.
    #[default]
    Starttls,
    /// TLS from the first byte (default port 465).
    Tls,
    /// No encryption (default port 25): only for a relay on this machine or a test server.
    None,
}

/// One place new messages are forwarded to, through the outbox: configured as `[[forwarders]]` in the
/// configuration file, or in the `forwarders` setting. Which fields a kind needs is in docs/INTEGRATIONS.md;
/// the engine checks them and names the field that is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forwarder {
    /// Unique name (1–64 characters: letters, digits, `_`, `-`, `.`): the `target` of its deliveries.
    pub name: String,
    /// What it talks to.
    pub kind: ForwarderKind,
    /// The webhook's URL, or the server's base URL (ntfy, Gotify, Telegram).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Webhook: the HMAC-SHA256 key that signs each request. Absent: the `hook_secret` setting's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// ntfy: the topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// ntfy: an access token (optional); Gotify: the application token; Telegram: the bot token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Telegram: the chat (a number, or `@channelname`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    /// E-mail: the recipients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    /// E-mail: the sender address (`SimRelay <sms@example.org>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// E-mail: the SMTP server's host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_host: Option<String>,
    /// E-mail: its port (default from `smtp_security`: 587, 465 or 25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_port: Option<u16>,
    /// E-mail: how the connection is secured.
    #[serde(default)]
    pub smtp_security: SmtpSecurity,
    /// E-mail: the SMTP login (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_username: Option<String>,
    /// E-mail: the SMTP password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_password: Option<String>,
    /// E-mail: a PEM file of CA certificates to trust instead of the public ones (a server with a private CA
    /// or a self-signed certificate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_ca_file: Option<String>,
    /// Forward only messages that carry a code.
    #[serde(default)]
    pub only_codes: bool,
    /// Forward only messages whose sender matches this pattern: `*` any characters, `?` one, case ignored
    /// (`*Bank*`, `+4915*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// Forward only messages received by this modem (its id, as in `GET /api/modems`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modem: Option<String>,
}

impl Forwarder {
    /// A forwarder of `kind` named `name` with every other field empty (for forms to fill in).
    pub fn new(name: &str, kind: ForwarderKind) -> Forwarder {
        Forwarder {
            name: name.to_owned(),
            kind,
            url: None,
            secret: None,
            topic: None,
            token: None,
            chat_id: None,
            to: Vec::new(),
            from: None,
            smtp_host: None,
            smtp_port: None,
            smtp_security: SmtpSecurity::default(),
            smtp_username: None,
            smtp_password: None,
            smtp_ca_file: None,
            only_codes: false,
            sender: None,
            modem: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forwarder_reads_with_only_the_fields_its_kind_needs() {
        let f: Forwarder = serde_json::from_str(
            r#"{"name":"phone","kind":"ntfy","url":"https://ntfy.sh","topic":"my-sms","only_codes":true}"#,
        )
        .expect("parses");
        assert_eq!(f.kind, ForwarderKind::Ntfy);
        assert_eq!(f.topic.as_deref(), Some("my-sms"));
        assert!(f.only_codes && f.sender.is_none() && f.to.is_empty());
        assert_eq!(
            serde_json::to_value(&f).expect("serialises"),
            serde_json::json!({"name":"phone","kind":"ntfy","url":"https://ntfy.sh","topic":"my-sms",
                "smtp_security":"starttls","only_codes":true})
        );
        assert!(
            serde_json::from_str::<Forwarder>(r#"{"name":"x","kind":"ntfy","colour":"red"}"#)
                .is_err(),
            "unknown fields are refused"
        );
        assert!(serde_json::from_str::<Forwarder>(r#"{"name":"x","kind":"pager"}"#).is_err());
    }

    #[test]
    fn kinds_and_statuses_have_one_name_each() {
        for kind in ForwarderKind::ALL {
            assert_eq!(ForwarderKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).expect("serialises"),
                serde_json::json!(kind.as_str())
            );
        }
        for status in [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed,
        ] {
            assert_eq!(DeliveryStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(DeliveryStatus::parse("lost"), None);
    }
}
