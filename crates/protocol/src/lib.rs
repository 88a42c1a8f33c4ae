//! The types SimRelay puts on the wire.
//!
//! Everything the engine's HTTP API and WebSocket send, and everything clients send back, is defined here once,
//! so the Leptos UI (compiled to wasm32) and the native engine cannot drift apart. The crate depends on serde and
//! chrono only, and compiles for both targets. `docs/API.md` documents the JSON these types produce; new fields are
//! added with `#[serde(default)]` so older clients keep working.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

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
    pub confidence: Option<f32>,
    /// The site the code is for, when the message is an origin-bound one (`@example.com #123456` on its last line):
    /// show it with the code ("123456 for example.com").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<CodeOrigin>,
    /// Other strings of the message that could be its code, best first, for a user who says "not this one".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<CodeAlternative>,
}

impl Message {
    /// The code as a person reads it: "123456", or "123456 for example.com" for an origin-bound code.
    pub fn code_for_display(&self) -> Option<String> {
        let code = self.code.as_deref()?;
        Some(match &self.origin {
            Some(origin) => format!("{code} for {}", origin.describe()),
            None => code.to_owned(),
        })
    }
}

/// The site an origin-bound code is for (WICG "Origin-bound one-time codes delivered via SMS").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeOrigin {
    /// The top-level site, in lower case ("example.com").
    pub host: String,
    /// The embedded (iframe) site the code is for, when the message names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedded: Option<String>,
}

impl CodeOrigin {
    /// "example.com", or "bank.example on example.com" for an embedded site.
    pub fn describe(&self) -> String {
        match &self.embedded {
            Some(embedded) => format!("{embedded} on {}", self.host),
            None => self.host.clone(),
        }
    }
}

/// Another plausible code in a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeAlternative {
    /// What the user would type.
    pub code: String,
    /// Byte range `[start, end)` of it in the message's `text`.
    pub span: [usize; 2],
    /// Between 0 and 1, never above the message's own `confidence`.
    pub confidence: f32,
}

/// What a user says about a message's code: `PUT /api/messages/{id}/code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeChoice {
    /// The right code: the message's code or one of its `alternatives`; `null` for "no code here".
    pub code: Option<String>,
    /// Also apply it to the sender's later messages: "this sender's code is shaped like this one", or, with
    /// `code: null`, "this sender never sends codes".
    #[serde(default)]
    pub remember: bool,
}

/// What a user told SimRelay about a sender's codes (`GET /api/corrections`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeCorrection {
    /// The sender it applies to, exactly as the network gives it.
    pub sender: String,
    /// What the correction says.
    #[serde(flatten)]
    pub rule: CorrectionRule,
    /// When the user said it.
    pub created_at: DateTime<FixedOffset>,
}

/// The rule of a [`CodeCorrection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CorrectionRule {
    /// The sender never sends codes: none is extracted from its messages.
    NoCode,
    /// The sender's code is the one of this kind and length ("the 8-digit one").
    Shape {
        /// `numeric` or `alphanumeric`.
        code_kind: CodeKind,
        /// Characters in the code.
        code_len: u32,
    },
}

impl CorrectionRule {
    /// "never sends codes", "code: 8 digits", "code: 6 letters and digits".
    pub fn describe(&self) -> String {
        match self {
            CorrectionRule::NoCode => "never sends codes".into(),
            CorrectionRule::Shape {
                code_kind: CodeKind::Numeric,
                code_len,
            } => format!("code: {code_len} digits"),
            CorrectionRule::Shape {
                code_kind: CodeKind::Alphanumeric,
                code_len,
            } => format!("code: {code_len} letters and digits"),
        }
    }
}

/// The characters of a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeKind {
    /// Digits only.
    Numeric,
    /// Letters and digits.
    Alphanumeric,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Connection state of one modem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModemState {
    /// Opening the port or initialising the modem.
    Connecting,
    /// Initialised and listening for messages.
    Connected,
    /// The port is gone or stopped answering; SimRelay retries.
    Disconnected,
    /// Stopped on an error that needs the user (a wrong PIN, say); see `last_error`.
    Failed,
}

/// What SimRelay knows about one modem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModemStatus {
    /// Stable id of the modem.
    pub id: String,
    /// Serial port path (or `demo`).
    pub port: String,
    /// Connection state.
    pub state: ModemState,
    /// Manufacturer and model, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Network operator name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Signal strength in dBm, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_dbm: Option<i32>,
    /// The last error, phrased for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// True for the built-in simulated modem (`--demo`).
    #[serde(default)]
    pub demo: bool,
    /// The user's name for the modem, from the configuration (`modem_labels`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Manufacturer (`AT+CGMI`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    /// IMEI of the modem, when it told it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imei: Option<String>,
    /// ICCID of the SIM card, when the modem could read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iccid: Option<String>,
    /// Network registration, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<Registration>,
    /// Signal as 0–4 bars (from `signal_dbm`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_bars: Option<u8>,
    /// Messages in the modem's message storage (usually the SIM), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_used: Option<u32>,
    /// Capacity of that storage, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_total: Option<u32>,
}

/// Network registration of a modem (TS 27.007 `+CREG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Registration {
    /// Registered on the home network.
    Home,
    /// Registered on another network (roaming).
    Roaming,
    /// Searching for a network.
    Searching,
    /// The network refused the SIM.
    Denied,
    /// Not registered and not searching.
    NotRegistered,
    /// The modem does not know (out of coverage, say).
    Unknown,
}

/// A frame the server pushes over the WebSocket (`/ws`), tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    /// First frame after connecting: the newest messages (up to 20, newest first) and the modems.
    Hello {
        /// Recent messages, newest first.
        recent: Vec<Message>,
        /// Status of every modem.
        #[serde(default)]
        modems: Vec<ModemStatus>,
    },
    /// A new message was committed to the store.
    Sms {
        /// The message.
        message: Message,
    },
    /// A modem's status changed.
    Modem {
        /// The new status.
        modem: ModemStatus,
    },
    /// A modem was removed (`DELETE /api/modems/{id}`): its driver stopped; clients drop its card. Older
    /// clients skip this frame type, as they skip every type they do not know.
    ModemRemoved {
        /// The id the modem was listed under (as in [`ModemStatus::id`]).
        id: String,
    },
    /// A user chose a stored message's code (`PUT /api/messages/{id}/code`: another alternative, or none): clients
    /// replace the message they show. Older clients skip this frame type.
    CodeChanged {
        /// The message as it is now stored.
        message: Message,
    },
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

/// WebSocket frames added after [`ServerEvent`], tagged by `type` in the same way.
///
/// They are a separate enum so that clients matching exhaustively on [`ServerEvent`] keep compiling; on the
/// wire they are ordinary frames beside `hello`, `sms` and `modem`. Parse a frame as [`ServerFrame`] to
/// accept both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerNotice {
    /// An outgoing message changed status (queued, sending, sent, delivered, failed).
    Sent {
        /// The message with its new status.
        sent: SentMessage,
    },
    /// The settings changed (`PATCH /api/settings`, the desktop tray); carries all of them, as in effect now.
    /// Sent only to clients on this machine (loopback), like `GET /api/settings`.
    Settings {
        /// The full effective settings.
        settings: Settings,
    },
    /// The server could not act on a frame the client sent.
    Error {
        /// Short machine-friendly error kind, as in [`ApiError`].
        error: String,
        /// What went wrong, for a person.
        #[serde(default)]
        detail: String,
    },
}

/// Which messages raise a desktop notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notifications {
    /// Only messages with a verification code.
    #[default]
    Codes,
    /// Every message.
    All,
    /// None.
    None,
}

/// The settings a user changes at run time (`GET`/`PATCH /api/settings`, the `settings` frame on `/ws`).
///
/// The server persists them; the UI's Settings screen and the desktop shell both read and change them through
/// the API, so this one type keeps them in agreement. `None` in an optional field means "not set": keep
/// everything (retention) or run nothing (hooks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Whether the server is reachable from the LAN (besides this machine).
    pub lan: bool,
    /// Which messages raise a desktop notification.
    pub notifications: Notifications,
    /// Copy each new code to the clipboard without a click (desktop).
    pub auto_copy: bool,
    /// Clear a copied code from the clipboard after this many seconds, if it still holds it (0 = never).
    pub clear_clipboard_secs: u32,
    /// Hide the code in notification bodies ("New code from Google — click to copy").
    pub hide_code: bool,
    /// Delete messages received more than this many days ago.
    pub retention_days: Option<u32>,
    /// Keep only this many newest messages.
    pub retention_messages: Option<u32>,
    /// Scrub codes (and raw PDUs) of messages older than this many minutes.
    pub purge_codes_after_minutes: Option<u32>,
    /// Program and arguments (no shell) run for each new message.
    pub hook_command: Option<Vec<String>>,
    /// URL that gets each new message as a JSON POST.
    pub hook_url: Option<String>,
    /// Run the hooks only for messages with a code.
    pub hook_only_codes: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            lan: false,
            notifications: Notifications::Codes,
            auto_copy: false,
            clear_clipboard_secs: 60,
            hide_code: false,
            retention_days: None,
            retention_messages: None,
            purge_codes_after_minutes: None,
            hook_command: None,
            hook_url: None,
            // The engine's documented default (`hook_only_codes` in the configuration): hooks see every message.
            hook_only_codes: false,
        }
    }
}

/// Any frame the server sends on `/ws`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ServerFrame {
    /// `hello`, `sms`, `modem`.
    Event(ServerEvent),
    /// `sent`, `settings`, `error`.
    Notice(ServerNotice),
}

/// Body of `GET /api/messages`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// Why a serial port could not be opened, for a program to act on (`error_kind` in `GET /api/ports`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortErrorKind {
    /// The user may not open the device (on Linux: not in the group that owns it, usually `dialout`).
    PermissionDenied,
    /// Another program has the port open (ModemManager, a terminal program, another SimRelay).
    Busy,
    /// There is no such device (unplugged, or a typo in the path).
    NotFound,
    /// Anything else; `error` says what.
    Other,
}

/// USB identity of a serial port (`usb` in `GET /api/ports`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsbIdentity {
    /// Vendor id, 4 lowercase hex digits.
    pub vid: String,
    /// Product id, 4 lowercase hex digits.
    pub pid: String,
    /// Serial number, when the device has one.
    #[serde(default)]
    pub serial_number: Option<String>,
    /// Manufacturer string.
    #[serde(default)]
    pub manufacturer: Option<String>,
    /// Product string.
    #[serde(default)]
    pub product: Option<String>,
}

/// One serial port and what probing it found (`GET /api/ports`, `POST /api/ports/probe`).
///
/// Everything here except `port`'s shape comes from the device or the OS: clients show it as text only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortReport {
    /// The port path (`/dev/ttyUSB2`, `COM3`).
    pub port: String,
    /// USB identity, when the port is a USB device the OS knows.
    #[serde(default)]
    pub usb: Option<UsbIdentity>,
    /// Id of the running modem that uses this port; such a port is not probed (it would steal the driver's
    /// answers), so `probed` is false.
    #[serde(default)]
    pub in_use_by: Option<String>,
    /// Whether the port was probed.
    #[serde(default)]
    pub probed: bool,
    /// It answered `AT` with `OK`.
    #[serde(default)]
    pub is_modem: bool,
    /// `AT+CGMM` answer (the model).
    #[serde(default)]
    pub model: Option<String>,
    /// `ATI` answer lines.
    #[serde(default)]
    pub info: Vec<String>,
    /// Why it could not be probed, as the OS said it.
    #[serde(default)]
    pub error: Option<String>,
    /// `error` sorted for programs.
    #[serde(default)]
    pub error_kind: Option<PortErrorKind>,
    /// What the user can do about it (a sentence with the commands to run), when there is something to do.
    #[serde(default)]
    pub hint: Option<String>,
}

/// Body of `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// Always `"ok"` when the server answers.
    pub status: String,
    /// Server version.
    pub version: String,
}

/// Body of every API error: `{"error": "...", "detail": "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// Short machine-friendly error kind, e.g. `unauthorized`.
    pub error: String,
    /// What went wrong and what to do, for a person.
    #[serde(default)]
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_frames_round_trip_with_every_field() {
        let frame = ServerNotice::Settings {
            settings: Settings::default(),
        };
        let json = serde_json::to_value(&frame).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"type": "settings", "settings": {"lan": false, "notifications": "codes",
                "auto_copy": false, "clear_clipboard_secs": 60, "hide_code": false, "retention_days": null,
                "retention_messages": null, "purge_codes_after_minutes": null, "hook_command": null,
                "hook_url": null, "hook_only_codes": false}})
        );
        let parsed: ServerFrame = serde_json::from_value(json).expect("parses");
        assert_eq!(parsed, ServerFrame::Notice(frame));
    }

    fn sample() -> Message {
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
    fn origin_and_alternatives_travel_with_the_code() {
        let mut m = sample();
        m.origin = Some(CodeOrigin {
            host: "example.com".into(),
            embedded: Some("pay.example".into()),
        });
        m.alternatives = vec![CodeAlternative {
            code: "55102288".into(),
            span: [10, 18],
            confidence: 0.4,
        }];
        let json = serde_json::to_value(&m).expect("serialises");
        assert_eq!(json["origin"]["host"], "example.com");
        assert_eq!(json["alternatives"][0]["code"], "55102288");
        assert_eq!(
            m.code_for_display().as_deref(),
            Some("583014 for pay.example on example.com")
        );
        let back: Message = serde_json::from_value(json).expect("parses");
        assert_eq!(back, m);
        // Without them, the fields are left out.
        let plain = serde_json::to_value(sample()).expect("serialises");
        assert!(plain.get("origin").is_none() && plain.get("alternatives").is_none());
    }

    #[test]
    fn corrections_are_tagged_by_kind() {
        let c = CodeCorrection {
            sender: "Nimbus".into(),
            rule: CorrectionRule::Shape {
                code_kind: CodeKind::Numeric,
                code_len: 8,
            },
            created_at: DateTime::parse_from_rfc3339("2026-12-07T10:00:00+00:00").expect("valid"),
        };
        let json = serde_json::to_value(&c).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"sender": "Nimbus", "kind": "shape", "code_kind": "numeric", "code_len": 8,
                "created_at": "2026-12-07T10:00:00Z"})
        );
        assert_eq!(
            serde_json::from_value::<CodeCorrection>(json).expect("parses"),
            c
        );
        assert_eq!(c.rule.describe(), "code: 8 digits");
        let choice: CodeChoice = serde_json::from_str(r#"{"code": null}"#).expect("parses");
        assert!(!choice.remember);
        assert!(serde_json::from_str::<CodeChoice>(r#"{"code": "1", "x": 1}"#).is_err());
    }

    #[test]
    fn sms_event_is_tagged_and_keeps_the_offset() {
        let json =
            serde_json::to_value(ServerEvent::Sms { message: sample() }).expect("serialises");
        assert_eq!(json["type"], "sms");
        assert_eq!(json["message"]["sent_at"], "2026-11-22T10:00:00+01:00");
        assert_eq!(json["message"]["code"], "583014");
        assert!(json["message"].get("incomplete").is_none());
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
    fn sent_frame_is_tagged_and_round_trips_through_server_frame() {
        let sent = SentMessage {
            id: 3,
            modem: "demo".into(),
            to: "+4915123456789".into(),
            text: "hi".into(),
            status: SendStatus::Delivered,
            error: None,
            message_refs: vec![17],
            parts: 1,
            created_at: DateTime::parse_from_rfc3339("2026-11-22T09:00:00+00:00").expect("valid"),
            updated_at: DateTime::parse_from_rfc3339("2026-11-22T09:00:05+00:00").expect("valid"),
        };
        let notice = ServerNotice::Sent { sent };
        let json = serde_json::to_value(&notice).expect("serialises");
        assert_eq!(json["type"], "sent");
        assert_eq!(json["sent"]["status"], "delivered");
        assert!(json["sent"].get("error").is_none());
        let frame: ServerFrame = serde_json::from_value(json).expect("parses");
        assert_eq!(frame, ServerFrame::Notice(notice));
    }

    #[test]
    fn error_frame_and_old_events_parse_as_server_frames() {
        let frame: ServerFrame =
            serde_json::from_str(r#"{"type":"error","error":"unsupported","detail":"no"}"#)
                .expect("parses");
        assert!(matches!(
            frame,
            ServerFrame::Notice(ServerNotice::Error { .. })
        ));
        let frame: ServerFrame =
            serde_json::from_str(r#"{"type":"hello","recent":[]}"#).expect("parses");
        assert!(matches!(
            frame,
            ServerFrame::Event(ServerEvent::Hello { .. })
        ));
    }

    #[test]
    fn hello_round_trips() {
        let ev = ServerEvent::Hello {
            recent: vec![sample()],
            modems: vec![],
        };
        let text = serde_json::to_string(&ev).expect("serialises");
        assert_eq!(
            serde_json::from_str::<ServerEvent>(&text).expect("parses"),
            ev
        );
    }
}
