//! Sending: the body of `POST /api/send`, its answer, and an outgoing message's progress (`GET /api/sent/{id}`,
//! the `sent` frame).

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// Body of `POST /api/send`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// Recipient number: digits, optionally starting with `+`.
    pub to: String,
    /// Text to send.
    pub text: String,
    /// The modem to send with (its id or port); the first connected one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modem: Option<String>,
}

/// Answer of `POST /api/send` (202): the message is recorded and queued; its progress follows on
/// `GET /api/sent/{id}` and in `sent` frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendAccepted {
    /// Id in the sent sequence.
    pub id: i64,
    /// Always [`SendStatus::Queued`] in the answer.
    pub status: SendStatus,
}

/// Where an outgoing message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendStatus {
    /// Accepted, not yet handed to the modem.
    Queued,
    /// The modem is sending it.
    Sending,
    /// The network accepted every part; `message_refs` holds the references it gave them.
    Sent,
    /// A status report said the recipient got it.
    Delivered,
    /// Sending (or delivery) failed; see `error`.
    Failed,
}

impl SendStatus {
    /// Every status, in the order a message passes through them (`delivered` and `failed` both end it).
    pub const ALL: [SendStatus; 5] = [
        SendStatus::Queued,
        SendStatus::Sending,
        SendStatus::Sent,
        SendStatus::Delivered,
        SendStatus::Failed,
    ];

    /// The status's name on the wire (and in the store).
    pub fn as_str(self) -> &'static str {
        match self {
            SendStatus::Queued => "queued",
            SendStatus::Sending => "sending",
            SendStatus::Sent => "sent",
            SendStatus::Delivered => "delivered",
            SendStatus::Failed => "failed",
        }
    }

    /// Whether the status can no longer change.
    pub fn is_final(self) -> bool {
        matches!(self, SendStatus::Delivered | SendStatus::Failed)
    }
}

impl std::str::FromStr for SendStatus {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        SendStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| format!("{name:?} is not a send status"))
    }
}

/// An outgoing message as `GET /api/sent/{id}` and the `sent` WebSocket frame show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentMessage {
    /// Id in the sent sequence (separate from received message ids).
    pub id: i64,
    /// Modem that sends it.
    pub modem: String,
    /// Recipient number.
    pub to: String,
    /// Text as submitted.
    pub text: String,
    /// Where it stands.
    pub status: SendStatus,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Message references (TP-MR) the network gave the parts, once sent.
    #[serde(default)]
    pub message_refs: Vec<u8>,
    /// Number of SMS parts.
    pub parts: i64,
    /// When it was accepted.
    pub created_at: DateTime<FixedOffset>,
    /// When its status last changed.
    pub updated_at: DateTime<FixedOffset>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_bodies_round_trip_and_refuse_unknown_fields() {
        let request = SendRequest {
            to: "+4915123456789".into(),
            text: "hi".into(),
            modem: None,
        };
        let json = serde_json::to_value(&request).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"to": "+4915123456789", "text": "hi"})
        );
        assert_eq!(
            serde_json::from_value::<SendRequest>(json).expect("parses"),
            request
        );
        assert!(serde_json::from_str::<SendRequest>(r#"{"to":"1","text":"t","prio":1}"#).is_err());
        let accepted: SendAccepted =
            serde_json::from_str(r#"{"id":3,"status":"queued"}"#).expect("parses");
        assert_eq!(accepted.status, SendStatus::Queued);
    }

    #[test]
    fn statuses_have_one_name_each() {
        for status in SendStatus::ALL {
            assert_eq!(status.as_str().parse::<SendStatus>(), Ok(status));
            assert_eq!(
                serde_json::to_value(status).expect("serialises"),
                serde_json::json!(status.as_str())
            );
        }
        assert!("lost".parse::<SendStatus>().is_err());
    }
}
