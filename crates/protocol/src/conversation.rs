//! Conversations: received and sent messages grouped by correspondent, as a phone shows them
//! (`GET /api/conversations`, `GET /api/conversations/{peer}`, `POST /api/conversations/{peer}/read`), and the
//! kinds of provider number (`[[sources]]`) a conversation may come in on.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::{Message, SentMessage};

/// Which SMS provider a source (a provider number configured under `[[sources]]`) belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Twilio Programmable Messaging.
    Twilio,
    /// Vonage (formerly Nexmo): the SMS API, and the Messages API's signed callbacks.
    Vonage,
}

impl SourceKind {
    /// The provider's name, for people.
    pub fn display_name(self) -> &'static str {
        match self {
            SourceKind::Twilio => "Twilio",
            SourceKind::Vonage => "Vonage",
        }
    }

    /// The spelling used in the configuration and on the wire (`twilio`, `vonage`).
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Twilio => "twilio",
            SourceKind::Vonage => "vonage",
        }
    }
}

/// One message of a conversation: received from the correspondent, or sent to them. On the wire it is the
/// [`Message`] or [`SentMessage`] object with `"direction": "received"` or `"sent"` added.
// A wire shape built once per entry and matched in the UI: a box would cost every match more than the bytes save.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "direction", rename_all = "snake_case")]
pub enum ThreadEntry {
    /// A message the correspondent sent (text untrusted: show it as text only).
    Received(Message),
    /// A message sent to the correspondent, with its delivery status.
    Sent(SentMessage),
}

impl ThreadEntry {
    /// When it happened: received, or accepted for sending. Threads are ordered by this.
    pub fn at(&self) -> DateTime<FixedOffset> {
        match self {
            ThreadEntry::Received(m) => m.received_at,
            ThreadEntry::Sent(s) => s.created_at,
        }
    }

    /// The modem or source it came in on or went out through.
    pub fn modem(&self) -> &str {
        match self {
            ThreadEntry::Received(m) => &m.modem,
            ThreadEntry::Sent(s) => &s.modem,
        }
    }

    /// Its text.
    pub fn text(&self) -> &str {
        match self {
            ThreadEntry::Received(m) => &m.text,
            ThreadEntry::Sent(s) => &s.text,
        }
    }

    /// A key unique within a thread (received and sent ids are separate sequences): `r42`, `s7`.
    pub fn key(&self) -> String {
        match self {
            ThreadEntry::Received(m) => format!("r{}", m.id),
            ThreadEntry::Sent(s) => format!("s{}", s.id),
        }
    }
}

/// One correspondent in `GET /api/conversations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// The correspondent: a number (`+4915...`), a short code, or an alphanumeric sender (`DemoBank`); the
    /// sender of received messages and the recipient of sent ones. Untrusted text.
    pub peer: String,
    /// The newest message, received or sent.
    pub last: ThreadEntry,
    /// Received messages newer than the last one marked read.
    pub unread: u32,
    /// The modem or source a reply goes out through: the one the newest received message came in on (else the
    /// one the newest sent message used). Absent when it is not running any more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_from: Option<String>,
}

/// Body of `GET /api/conversations`: correspondents, most recent activity first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationPage {
    /// One row per correspondent.
    pub conversations: Vec<Conversation>,
    /// Cursor of the next (older) page: pass it as `before=`. Opaque; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Body of `GET /api/conversations/{peer}`: one page of a thread, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadPage {
    /// The correspondent.
    pub peer: String,
    /// Received and sent messages interleaved, newest first.
    pub entries: Vec<ThreadEntry>,
    /// Cursor of the next (older) page: pass it as `before=`. Opaque; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Received messages newer than the last one marked read (of the whole thread, not of this page).
    pub unread: u32,
    /// As in [`Conversation::reply_from`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_from: Option<String>,
}

/// Body of `POST /api/conversations/{peer}/read`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    /// Everything received up to this message id counts as read; absent: everything received so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_to: Option<i64>,
}

/// Answer of `POST /api/conversations/{peer}/read`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadState {
    /// The correspondent.
    pub peer: String,
    /// Received messages still unread after the change.
    pub unread: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SendStatus;

    fn time(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).expect("valid")
    }

    #[test]
    fn entries_carry_their_direction_beside_the_object_fields() {
        let received = ThreadEntry::Received(Message {
            id: 4,
            modem: "twilio-us".into(),
            sender: "+15555550100".into(),
            text: "Your code is 123456".into(),
            code: Some("123456".into()),
            code_span: Some([13, 19]),
            sent_at: time("2026-11-22T10:00:00+01:00"),
            received_at: time("2026-11-22T09:00:02+00:00"),
            encoding: None,
            decode_error: None,
            incomplete: false,
            confidence: None,
            origin: None,
            alternatives: Vec::new(),
            ..Message::default()
        });
        let sent = ThreadEntry::Sent(SentMessage {
            id: 4,
            modem: "twilio-us".into(),
            to: "+15555550100".into(),
            text: "thanks".into(),
            status: SendStatus::Delivered,
            error: None,
            message_refs: Vec::new(),
            parts: 1,
            created_at: time("2026-11-22T09:01:00+00:00"),
            updated_at: time("2026-11-22T09:01:05+00:00"),
        });
        let json = serde_json::to_value(&received).expect("serialises");
        assert_eq!(json["direction"], "received");
        assert_eq!(json["sender"], "+15555550100");
        let json = serde_json::to_value(&sent).expect("serialises");
        assert_eq!(
            (&json["direction"], &json["status"]),
            (&"sent".into(), &"delivered".into())
        );
        for entry in [received, sent] {
            let text = serde_json::to_string(&entry).expect("serialises");
            assert_eq!(
                serde_json::from_str::<ThreadEntry>(&text).expect("parses"),
                entry
            );
        }
        assert_eq!(SourceKind::Vonage.as_str(), "vonage");
        assert_eq!(
            serde_json::to_value(SourceKind::Twilio).expect("serialises"),
            "twilio"
        );
    }

    #[test]
    fn mark_read_refuses_unknown_fields_and_defaults_to_everything() {
        assert_eq!(
            serde_json::from_str::<MarkRead>("{}").expect("parses"),
            MarkRead::default()
        );
        assert!(serde_json::from_str::<MarkRead>(r#"{"upto": 3}"#).is_err());
    }
}
