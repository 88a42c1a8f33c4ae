//! Incoming calls and USSD: the `call` frame on `/ws`, `GET /api/calls`, and the bodies of
//! `POST /api/modems/{id}/ussd`.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::is_false;

/// Someone called a modem's SIM: one per call, however often it rang. Sent on `/ws` as
/// `{"type":"call","id":…,"modem":…,"from":…,"at":…}` and listed by `GET /api/calls`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The call's id in the history.
    pub id: i64,
    /// The modem that was called (as in [`crate::ModemStatus::id`]).
    pub modem: String,
    /// The caller's number, or `"unknown"` when the network withheld it. Untrusted text.
    pub from: String,
    /// When it started ringing.
    pub at: DateTime<FixedOffset>,
    /// The modem hung up on it (its "reject calls" setting is on).
    #[serde(default, skip_serializing_if = "is_false")]
    pub rejected: bool,
}

/// What [`Call::from`] says when the caller's number is not known.
pub const UNKNOWN_CALLER: &str = "unknown";

/// Body of `GET /api/calls`: calls, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallPage {
    /// The calls.
    pub calls: Vec<Call>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

/// Body of `POST /api/modems/{id}/ussd`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UssdRequest {
    /// The code (`*100#`), or the choice in a menu the previous reply opened (`1`).
    pub code: String,
}

impl UssdRequest {
    /// Why the code cannot be sent, for the user; `None` when it can: 1 to 182 printable ASCII
    /// characters without `"` (digits, `*` and `#`, or a menu's letters).
    pub fn problem(&self) -> Option<&'static str> {
        let code = self.code.trim();
        if code.is_empty() || code.chars().count() > 182 {
            return Some("a USSD code has 1 to 182 characters, such as *100#");
        }
        if code
            .chars()
            .any(|c| !c.is_ascii() || c.is_ascii_control() || c == '"')
        {
            return Some(
                "a USSD code has digits, * and # (or a menu's plain letters), such as *100#",
            );
        }
        None
    }
}

/// The `200` answer of `POST /api/modems/{id}/ussd`: the network's reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UssdReply {
    /// The decoded reply (untrusted text: show it as text, never as markup).
    pub reply: String,
    /// The network waits for an answer (a menu): send the choice as the next code.
    pub session_open: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ServerFrame, ServerNotice};

    #[test]
    fn call_frame_is_flat_and_tagged() {
        let call = Call {
            id: 4,
            modem: "imei:356938035643809".into(),
            from: "+4915112345678".into(),
            at: DateTime::parse_from_rfc3339("2026-12-07T18:00:00+00:00").expect("valid"),
            rejected: false,
        };
        let json = serde_json::to_value(ServerNotice::Call(call.clone())).expect("serialises");
        assert_eq!(json["type"], "call");
        assert_eq!(json["modem"], "imei:356938035643809");
        assert_eq!(json["from"], "+4915112345678");
        assert_eq!(json["at"], "2026-12-07T18:00:00Z");
        assert!(json.get("rejected").is_none());
        let frame: ServerFrame = serde_json::from_value(json).expect("parses");
        assert_eq!(frame, ServerFrame::Notice(ServerNotice::Call(call)));
    }

    #[test]
    fn ussd_codes() {
        let ok = |c: &str| UssdRequest { code: c.into() }.problem().is_none();
        assert!(ok("*100#"));
        assert!(ok("1"));
        assert!(!ok(""));
        assert!(!ok("*100#\"\r\nATH"));
        assert!(!ok(&"1".repeat(183)));
    }
}
