//! What a driver reports to the engine: received messages, incoming calls and modem status.

/// Connection state of a modem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Opening the port or initialising the modem.
    Connecting,
    /// Initialised and listening for messages.
    Connected,
    /// The port is gone or stopped answering; reopening with backoff.
    Disconnected,
    /// Stopped for good until the user acts (no SIM, a blocked SIM); see `last_error`.
    Failed,
    /// The SIM asks for its PIN and none is configured, or the configured one was rejected (it
    /// is never retried on its own): waiting for [`crate::ModemHandle::enter_pin`].
    PinRequired,
    /// The SIM asks for its PUK (three wrong PINs): only the user can unblock it, in a phone.
    PukRequired,
}

/// Network registration (TS 27.007 §7.2 `<stat>`, the same in `+CREG`, `+CGREG` and `+CEREG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// Not registered and not searching.
    NotRegistered,
    /// Registered on the home network.
    Home,
    /// Searching for a network.
    Searching,
    /// Registration denied (SIM barred, no subscription).
    Denied,
    /// Unknown (out of coverage).
    Unknown,
    /// Registered, roaming.
    Roaming,
}

impl Registration {
    /// From a `<stat>` number.
    pub fn from_stat(stat: u8) -> Registration {
        match stat {
            0 => Registration::NotRegistered,
            1 => Registration::Home,
            2 => Registration::Searching,
            3 => Registration::Denied,
            5 => Registration::Roaming,
            _ => Registration::Unknown,
        }
    }

    /// Registered, at home or roaming.
    pub fn is_registered(self) -> bool {
        matches!(self, Registration::Home | Registration::Roaming)
    }
}

/// What is known about a modem right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModemStatus {
    /// The modem's id: `imei:<digits>` (or `iccid:<digits>`, or the port path when the modem
    /// never told its identity), learned at start-up before any message is reported; or the id
    /// set in the configuration.
    pub id: String,
    /// The user's name for this modem, from the configuration.
    pub label: Option<String>,
    /// The port it is on.
    pub port: String,
    /// Connection state.
    pub state: LinkState,
    /// Model (`AT+CGMM`), once known.
    pub model: Option<String>,
    /// Network operator (`AT+COPS?`, read again when the registration changes), once registered.
    pub operator: Option<String>,
    /// Signal strength in dBm, when known: from the modem's signal reports (`+CSQN`, `+QIND:
    /// "csq"`, `^RSSI`, `+CSQ` reports, `+CIEV`) where it offers them, else `AT+CSQ`.
    pub signal_dbm: Option<i32>,
    /// The last error, for the user.
    pub last_error: Option<String>,
    /// Manufacturer (`AT+CGMI`), once known.
    pub manufacturer: Option<String>,
    /// IMEI (`AT+CGSN`), once known: identifies the modem whatever port it comes back on.
    pub imei: Option<String>,
    /// ICCID of the SIM (`AT+CCID`, `AT+QCCID`, `AT+CICCID` or `AT^ICCID?`), once known.
    pub iccid: Option<String>,
    /// Network registration: the best of the circuit-switched (`+CREG`), packet (`+CGREG`) and
    /// LTE (`+CEREG`) registrations, as the modem reports them unsolicited, when known.
    pub registration: Option<Registration>,
    /// Messages stored in the selected storage and its capacity (`AT+CPMS?`), when known.
    pub storage: Option<(u32, u32)>,
    /// Each message storage the driver reads and its use (the one new messages go to, and the
    /// SIM when that is another), as last counted.
    pub storages: Vec<StorageUse>,
    /// Set while a storage is near full (80 % or more) or full, for the user.
    pub storage_warning: Option<String>,
    /// Resets the driver did in this run because the modem stopped answering.
    pub resets: u32,
    /// Why the driver last reset the modem, or noticed it restart on its own, and how.
    pub last_reset: Option<String>,
    /// While the SIM waits for its PIN (or PUK): the wrong ones it still takes, where the modem
    /// tells (`AT+CPINR`).
    pub pin_attempts_left: Option<u8>,
}

/// The use of one message storage (`AT+CPMS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageUse {
    /// `SM` (the SIM), `ME` or `MT` (the modem's own memory), `SR` (status reports).
    pub memory: String,
    /// Messages in it.
    pub used: u32,
    /// Its capacity.
    pub total: u32,
}

impl ModemStatus {
    /// Signal as 0–4 bars, the way phones show it (from [`ModemStatus::signal_dbm`]).
    pub fn signal_bars(&self) -> Option<u8> {
        self.signal_dbm.map(|dbm| match dbm {
            d if d >= -73 => 4,
            d if d >= -83 => 3,
            d if d >= -93 => 2,
            d if d >= -109 => 1,
            _ => 0,
        })
    }
}

/// A message read from the modem, not yet deleted from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Id of the modem that received it.
    pub modem: String,
    /// Its slot on the modem: pass it to [`ModemHandle::delete`](crate::ModemHandle::delete) after the commit. `None` for a
    /// message delivered directly with `+CMT` (nothing to delete).
    pub slot: Option<u32>,
    /// The raw PDU, with its SMSC field, as `AT+CMGR` printed it.
    pub pdu: Vec<u8>,
    /// The storage `slot` is in, when it is not the one the driver receives into (status reports
    /// a modem keeps in `SR`). [`ModemHandle::release`](crate::ModemHandle::release) knows.
    pub storage: Option<String>,
    /// A `+CMT`/`+CDS` from a modem in phase 2+ (`AT+CSMS` service 1): the modem waits for an
    /// `AT+CNMA` acknowledgement, to be given only after the commit (through
    /// [`ModemHandle::release`](crate::ModemHandle::release)). Unacknowledged, the network
    /// delivers the message again.
    pub needs_ack: bool,
}

/// An incoming call, reported once however often it rings (`RING` repeats every few seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Id of the modem that was called.
    pub modem: String,
    /// The caller's number from `+CLIP`; `None` when the network withheld it or the modem gave none.
    pub from: Option<String>,
    /// When it started ringing.
    pub at: chrono::DateTime<chrono::Utc>,
    /// The driver hung up on it (`ATH`): the modem rejects calls.
    pub rejected: bool,
}

/// Something that happened to a modem, beside its status: the engine publishes it as it comes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Id of the modem.
    pub modem: String,
    /// What happened.
    pub kind: NoticeKind,
    /// The details, for the user and the log.
    pub detail: String,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// What a [`Notice`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// The modem lost its network registration (messages cannot arrive until it is back).
    RegistrationLost,
    /// The modem is registered again after having lost it.
    RegistrationRegained,
    /// The driver reset the modem because it stopped answering.
    Reset,
    /// The modem restarted on its own and the driver set it up again.
    Restarted,
    /// A message storage is full (it is being listed and freed).
    StorageFull,
}

/// What a modem driver reports. More variants may come (delivery reports, send progress).
// Moved once through a channel and matched at once: boxing the status would cost every status an
// allocation to save bytes in a short queue.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModemEvent {
    /// A message to commit.
    Received(Received),
    /// Something that happened to the modem: registration lost or regained, a reset, a restart.
    Notice(Notice),
    /// The modem's status changed.
    Status(ModemStatus),
    /// Someone called the SIM.
    Call(Call),
}
