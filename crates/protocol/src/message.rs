//! Received messages: one [`Message`], a page of them (`GET /api/messages`) and one with its raw PDUs
//! (`GET /api/messages/{id}`).

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::is_false;
use crate::{CodeAlternative, CodeOrigin};

/// One received (or sent) SMS as the API shows it.
///
/// `Default` is an empty message at the Unix epoch, for building one field by field (`..Message::default()`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Store id; larger ids are newer.
    pub id: i64,
    /// Id of the modem that received (or sent) the message.
    pub modem: String,
    /// Sender address as the network gave it: `+4915...`, a short code, or an alphanumeric name.
    pub sender: String,
    /// Decoded text. Untrusted: clients must insert it as text, never as HTML.
    pub text: String,
    /// The verification code a user would type, if the message carries one.
    pub code: Option<String>,
    /// Byte range `[start, end)` of the code in `text`, for highlighting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_span: Option<[usize; 2]>,
    /// The SMS service-centre timestamp, with the offset the network sent.
    pub sent_at: DateTime<FixedOffset>,
    /// When SimRelay committed the message.
    pub received_at: DateTime<FixedOffset>,
    /// Text encoding of the message (`gsm7`, `ucs2`, `binary`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// Set when the PDU could not be decoded: the raw PDU is kept and this says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_error: Option<String>,
    /// Set for a multipart message delivered before all its parts arrived.
    #[serde(default, skip_serializing_if = "is_false")]
    pub incomplete: bool,
    /// Between 0 and 1: how clearly the message presents `code` (1 for an origin-bound code or one the user
    /// picked). Absent without a code, and for messages stored before SimRelay knew it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// The site the code is for, when the message is an origin-bound one (`@example.com #123456` on its last line):
    /// show it with the code ("123456 for example.com").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<CodeOrigin>,
    /// Other strings of the message that could be its code, best first, for a user who says "not this one".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<CodeAlternative>,
    /// What the message is when it is not plain text for the inbox: binary data or a WAP push (then `text` is
    /// empty and [`MessageContent::description`] says what it is), or text addressed to an application port.
    /// Absent for an ordinary text message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<MessageContent>,
    /// A class 0 ("flash") message: a phone shows it at once, without the user opening it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub flash: bool,
    /// Message-waiting indications (voicemail and the like) the message carries. A message whose indications all
    /// say "discard" and whose text is blank is a pure indication: clients show it collapsed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indications: Vec<Indication>,
    /// The PDU ended before the user data its header announced: `text` is what was there.
    #[serde(default, skip_serializing_if = "is_false")]
    pub truncated: bool,
}

impl Message {
    /// The line a client shows instead of `text` for binary data and WAP push ("binary message to port 2948,
    /// 97 bytes"); `None` for text.
    pub fn description(&self) -> Option<&str> {
        self.content
            .as_ref()
            .filter(|c| c.kind != ContentKind::Text)
            .and_then(|c| c.description.as_deref())
    }

    /// One line per kind of indication the message carries ("Voicemail: 2 waiting"), in order. A PDU may say the
    /// same thing twice (its coding scheme without a count, its header with one); the most precise one is kept.
    pub fn indication_summaries(&self) -> Vec<String> {
        let mut best: Vec<Indication> = Vec::new();
        for i in &self.indications {
            match best.iter_mut().find(|b| b.kind == i.kind) {
                Some(b) if i.count.is_some() || b.count.is_none() => *b = *i,
                Some(_) => {}
                None => best.push(*i),
            }
        }
        best.iter().map(Indication::summary).collect()
    }

    /// Only an indication (voicemail waiting, say): no text worth showing, and every indication says the message
    /// need not be kept. Clients show such a message collapsed to its indication.
    pub fn is_pure_indication(&self) -> bool {
        !self.indications.is_empty()
            && self.indications.iter().all(|i| !i.store)
            && self.text.trim().is_empty()
            && self.description().is_none()
    }
}

/// What kind of user data a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentKind {
    /// Text (`text` holds it).
    Text,
    /// 8-bit data or compressed text: no text to show.
    Binary,
    /// A WAP push to port 2948 or 2949 (an MMS notification, a service indication, ...).
    WapPush,
}

/// What a message is, for one that is not plain text for the inbox (`content` in [`Message`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageContent {
    /// Text, binary data, or a WAP push.
    pub kind: ContentKind,
    /// The application port the message is addressed to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The sender's application port, if the message names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_port: Option<u16>,
    /// Payload bytes of binary data and WAP push, over every part present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// The pushed content's type, when a WAP push names one SimRelay knows. Untrusted text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// One line to show instead of text: "binary message to port 2948, 97 bytes". Absent for text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What is waiting (voicemail, fax, ...), in a message-waiting indication or a modem's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitingKind {
    /// Voicemail.
    Voicemail,
    /// Fax.
    Fax,
    /// E-mail.
    Email,
    /// Video messages.
    Video,
    /// Other messages.
    Other,
}

impl WaitingKind {
    /// "Voicemail", "Fax", "E-mail", "Video message", "Other message": for a person.
    pub fn label(self) -> &'static str {
        match self {
            WaitingKind::Voicemail => "Voicemail",
            WaitingKind::Fax => "Fax",
            WaitingKind::Email => "E-mail",
            WaitingKind::Video => "Video message",
            WaitingKind::Other => "Other message",
        }
    }
}

/// A message-waiting indication a message carried (`indications` in [`Message`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indication {
    /// What is waiting.
    pub kind: WaitingKind,
    /// `true` sets the indication, `false` clears it.
    pub active: bool,
    /// How many are waiting, when the indication says (0 clears it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u8>,
    /// `false` when the message only updates the indication and its text need not be kept.
    pub store: bool,
}

impl Indication {
    /// "Voicemail: 2 waiting", "Voicemail waiting", or "Voicemail: none waiting".
    pub fn summary(&self) -> String {
        match (self.active, self.count) {
            (false, _) | (true, Some(0)) => format!("{}: none waiting", self.kind.label()),
            (true, Some(n)) => format!("{}: {n} waiting", self.kind.label()),
            (true, None) => format!("{} waiting", self.kind.label()),
        }
    }
}

/// Body of `GET /api/messages`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessagePage {
    /// Messages, newest first.
    pub messages: Vec<Message>,
    /// Cursor of the next (older) page: pass it as `before=`. Absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
    /// For a search (`q=`): where the search terms matched in each message's `text`, as byte ranges
    /// `[start, end)` by message id. Clients highlight by slicing the text, never by inserting markup.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub highlights: std::collections::BTreeMap<i64, Vec<[usize; 2]>>,
}

/// Body of `GET /api/messages/{id}`: the message (its fields at the top level, so a client that expects a
/// [`Message`] reads it too) and its raw PDUs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageDetail {
    /// The message.
    #[serde(flatten)]
    pub message: Message,
    /// Raw PDUs in hex (with the SMSC field), in part order.
    #[serde(default)]
    pub pdus: Vec<String>,
    /// For binary data and WAP push: the payload in hex (upper case), every part's in order, user data headers
    /// left out. Absent for text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A message with every field a client shows.
    pub(crate) fn sample() -> Message {
        Message {
            id: 7,
            modem: "demo".into(),
            sender: "Google".into(),
            text: "G-583014 is your Google verification code.".into(),
            code: Some("583014".into()),
            code_span: Some([2, 8]),
            sent_at: DateTime::parse_from_rfc3339("2026-11-22T10:00:00+01:00").expect("valid"),
            received_at: DateTime::parse_from_rfc3339("2026-11-22T09:00:02+00:00").expect("valid"),
            encoding: Some("gsm7".into()),
            confidence: Some(0.93),
            ..Message::default()
        }
    }

    #[test]
    fn minimal_message_from_an_older_server_still_parses() {
        let json = r#"{"id":1,"modem":"m","sender":"s","text":"t","code":null,
            "sent_at":"2026-01-01T00:00:00+00:00","received_at":"2026-01-01T00:00:01+00:00"}"#;
        let m: Message = serde_json::from_str(json).expect("parses");
        assert_eq!(m.code, None);
        assert!(!m.incomplete);
    }

    #[test]
    fn binary_flash_and_indications_are_said_only_when_set() {
        let plain = serde_json::to_value(sample()).expect("serialises");
        for absent in ["content", "flash", "indications", "truncated"] {
            assert!(
                plain.get(absent).is_none(),
                "{absent} absent for a plain text"
            );
        }
        let binary = Message {
            text: String::new(),
            content: Some(MessageContent {
                kind: ContentKind::WapPush,
                port: Some(2948),
                source_port: None,
                length: Some(97),
                content_type: Some("application/vnd.wap.mms-message".into()),
                description: Some("WAP push (application/vnd.wap.mms-message), 97 bytes".into()),
            }),
            flash: true,
            truncated: true,
            ..sample()
        };
        let json = serde_json::to_value(&binary).expect("serialises");
        assert_eq!(json["content"]["kind"], "wap_push");
        assert_eq!(json["flash"], true);
        assert_eq!(
            serde_json::from_value::<Message>(json).expect("parses"),
            binary
        );
        assert_eq!(
            binary.description(),
            Some("WAP push (application/vnd.wap.mms-message), 97 bytes")
        );
        assert!(!binary.is_pure_indication());
    }

    #[test]
    fn a_pure_indication_is_one_with_nothing_else_to_show() {
        let voicemail = Indication {
            kind: WaitingKind::Voicemail,
            active: true,
            count: Some(2),
            store: false,
        };
        assert_eq!(voicemail.summary(), "Voicemail: 2 waiting");
        let cleared = Indication {
            active: false,
            count: None,
            ..voicemail
        };
        assert_eq!(cleared.summary(), "Voicemail: none waiting");
        let mut m = Message {
            text: " ".into(),
            indications: vec![voicemail],
            ..sample()
        };
        assert!(m.is_pure_indication());
        m.indications.insert(
            0,
            Indication {
                count: None,
                ..voicemail
            },
        );
        assert_eq!(m.indication_summaries(), vec!["Voicemail: 2 waiting"]);
        m.indications.remove(0);
        m.indications[0].store = true;
        assert!(!m.is_pure_indication(), "a stored one is a message");
        m.indications[0].store = false;
        m.text = "You have 2 new voicemails".into();
        assert!(!m.is_pure_indication(), "text to read is a message");
    }

    #[test]
    fn pages_from_older_servers_parse() {
        let old: MessagePage = serde_json::from_str(r#"{"messages":[]}"#).expect("parses");
        assert_eq!(old, MessagePage::default());
        let new: MessagePage =
            serde_json::from_str(r#"{"messages":[],"next":7,"highlights":{"3":[[0,4]]}}"#)
                .expect("parses");
        assert_eq!(new.next, Some(7));
        assert_eq!(new.highlights.get(&3), Some(&vec![[0, 4]]));
    }

    #[test]
    fn a_detail_is_a_message_with_its_pdus() {
        let detail = MessageDetail {
            message: sample(),
            pdus: vec!["00AB".into()],
            data: None,
        };
        let json = serde_json::to_value(&detail).expect("serialises");
        assert_eq!(json["id"], 7);
        assert_eq!(json["pdus"], serde_json::json!(["00AB"]));
        let as_message: Message = serde_json::from_value(json.clone()).expect("a Message");
        assert_eq!(as_message, detail.message);
        assert_eq!(
            serde_json::from_value::<MessageDetail>(json).expect("a detail"),
            detail
        );
    }
}
