//! The types SimRelay puts on the wire.
//!
//! Every body the engine's HTTP API and WebSocket send, and every body clients send back, is defined here once,
//! so the Leptos UI (compiled to wasm32), the desktop app and the native engine cannot drift apart. The crate
//! depends on serde and chrono only, and compiles for both targets. `docs/API.md` documents the JSON these types
//! produce; new fields are added with `#[serde(default)]` so older clients keep working. One module per
//! endpoint family; everything is re-exported at the root.

mod calls;
mod codes;
mod conversation;
mod devices;
mod events;
mod health;
mod message;
mod modem;
mod relay;
mod send;
mod settings;

pub use calls::{Call, CallPage, UssdReply, UssdRequest, UNKNOWN_CALLER};
pub use codes::{
    CodeAlternative, CodeChoice, CodeCorrection, CodeKind, CodeOrigin, CorrectionRule,
};
pub use conversation::{
    Conversation, ConversationPage, MarkRead, ReadState, SourceKind, ThreadEntry, ThreadPage,
};
pub use devices::{
    Claimed, Device, DeviceList, NewDevice, PairClaim, PairLink, Pairing, PairingCode,
    PairingRequest, Scope, Scopes,
};
pub use events::{ServerEvent, ServerFrame, ServerNotice};
pub use health::{DayCount, ModemHistory, SignalSample, HEALTH_DAYS};
pub use message::{
    ContentKind, Indication, Message, MessageContent, MessageDetail, MessagePage, WaitingKind,
};
pub use modem::{
    AddModem, ModemEventKind, ModemHealth, ModemList, ModemState, ModemStatus, PinRejected,
    PinRequest, PortErrorKind, PortList, PortReport, ProbeRequest, Registration, RemovedModem,
    StorageUse, UsbIdentity, Waiting,
};
pub use relay::{
    CodeEvent, Delivery, DeliveryPage, DeliveryStatus, Forwarder, ForwarderKind, SendRefused,
    SmtpSecurity,
};
pub use send::{SendAccepted, SendRequest, SendStatus, SentMessage};
pub use settings::{Notifications, Settings, SettingsPatch};

use serde::{Deserialize, Serialize};

/// Body of `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// Always `"ok"` when the server answers.
    pub status: String,
    /// Server version.
    pub version: String,
    /// Whether the store takes commits now. While it does not, messages stay on the modems' SIMs (nothing is
    /// released before its commit) and each modem's status says why in `last_error`.
    #[serde(default)]
    pub database: DatabaseHealth,
}

/// Whether the server's database takes commits, in [`Health`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseHealth {
    /// The last commit (or reconnection) succeeded.
    #[default]
    Ok,
    /// The last commit failed, or the connection to PostgreSQL is lost: messages wait on the SIMs.
    Unavailable,
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

/// For `skip_serializing_if`: a flag that is off is left out.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}
