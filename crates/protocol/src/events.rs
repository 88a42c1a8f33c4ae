//! The frames `/ws` pushes: [`ServerEvent`] (`hello`, `sms`, `modem`, `modem_removed`), [`ServerNotice`]
//! (`sent`, `settings`, `error`, `call`), and [`ServerFrame`], either of them.

use serde::{Deserialize, Serialize};

use crate::{Call, Message, ModemStatus, SentMessage, Settings};

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
    /// Something happened to a modem beside its status (`modem` frames carry that): registration lost or
    /// regained, a reset because it stopped answering, a restart on its own, a full message storage. Older
    /// clients skip this frame type.
    ModemEvent {
        /// The modem's id (as in [`ModemStatus::id`]).
        modem: String,
        /// What happened.
        event: crate::ModemEventKind,
        /// The details, for a person.
        detail: String,
        /// When it happened.
        at: chrono::DateTime<chrono::Utc>,
    },
    /// A user chose a stored message's code (`PUT /api/messages/{id}/code`: another alternative, or none): clients
    /// replace the message they show. Older clients skip this frame type.
    CodeChanged {
        /// The message as it is now stored.
        message: Message,
    },
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
    /// Someone called a modem's SIM (one frame per call); its fields sit beside `type`. Older clients skip it.
    Call(Call),
    /// The server could not act on a frame the client sent.
    Error {
        /// Short machine-friendly error kind, as in [`ApiError`].
        error: String,
        /// What went wrong, for a person.
        #[serde(default)]
        detail: String,
    },
}

/// Any frame the server sends on `/ws`.
// Built once per frame and matched at once: a box would cost every match more than the bytes save.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ServerFrame {
    /// `hello`, `sms`, `modem`.
    Event(ServerEvent),
    /// `sent`, `settings`, `error`.
    Notice(ServerNotice),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::tests::sample;
    use crate::SendStatus;
    use chrono::DateTime;

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
