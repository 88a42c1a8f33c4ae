//! Received messages: one [`Message`], a page of them (`GET /api/messages`) and one with its raw PDUs
//! (`GET /api/messages/{id}`).

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::is_false;
use crate::{CodeAlternative, CodeOrigin};

/// One received (or sent) SMS as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
            decode_error: None,
            incomplete: false,
            confidence: Some(0.93),
            origin: None,
            alternatives: Vec::new(),
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
