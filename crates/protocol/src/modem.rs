//! Modems and serial ports: a modem's status, the bodies of `GET`/`POST`/`DELETE /api/modems`, and what
//! `GET /api/ports` and `POST /api/ports/probe` found.

use serde::{Deserialize, Serialize};

use crate::is_false;
use crate::WaitingKind;

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
    /// Stopped on an error that needs the user (no SIM, say); see `last_error`.
    Failed,
    /// The SIM waits for its PIN (none configured, or the configured one was rejected and is
    /// not retried): `POST /api/modems/{id}/pin` tries one; see `pin_attempts_left`.
    PinRequired,
    /// The SIM waits for its PUK after three wrong PINs: unblock it in a phone (`last_error`
    /// explains); SimRelay never enters a PUK.
    PukRequired,
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
    /// Set for a provider number (`[[sources]]` in the configuration) rather than a modem: which provider.
    /// Its messages come in through the provider's webhook and replies go out through its REST API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<crate::SourceKind>,
    /// While the SIM waits for its PIN (or PUK): the wrong ones it still takes, where the modem
    /// tells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_attempts_left: Option<u8>,
    /// What the network says is waiting for this SIM (voicemail, ...), from the message-waiting indications it
    /// sent; an indication that clears removes its entry. Empty when nothing waits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<Waiting>,
    /// The relay (node) the modem is plugged into, when several share one PostgreSQL database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Each storage's use, the near-full warning and resets (flattened: `storages`, `storage_warning`,
    /// `resets`, `last_reset` are fields of the status itself).
    #[serde(flatten, default)]
    pub health: ModemHealth,
}

/// How a modem's storage and firmware are holding up (part of [`ModemStatus`], flattened into it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModemHealth {
    /// Each message storage the relay reads and its use: the one new messages go to (the modem's own
    /// memory, `ME`/`MT`, where it has one) and the SIM (`SM`) when that is another. Empty when unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storages: Vec<StorageUse>,
    /// Set while a storage is 80 % full or more (or full), for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_warning: Option<String>,
    /// How often the relay reset the modem since it started, because it stopped answering.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resets: u32,
    /// Why and how the modem was last reset (or restarted on its own), for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reset: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What a `modem_event` frame reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModemEventKind {
    /// The modem lost its network registration: no messages arrive until it is back.
    RegistrationLost,
    /// The modem is registered again.
    RegistrationRegained,
    /// SimRelay reset the modem because it stopped answering (see `last_reset` in its status).
    Reset,
    /// The modem restarted on its own; SimRelay set it up again.
    Restarted,
    /// A message storage is full; SimRelay is reading and freeing it.
    StorageFull,
}

/// The use of one message storage of a modem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageUse {
    /// `SM` (the SIM), `ME` or `MT` (the modem's own memory), `SR` (status reports).
    pub memory: String,
    /// Messages in it.
    pub used: u32,
    /// Its capacity (0: unknown).
    pub total: u32,
}

impl StorageUse {
    /// "SIM", "modem", "reports": the storage's name for people.
    pub fn label(&self) -> &'static str {
        match self.memory.as_str() {
            "SM" => "SIM",
            "SR" => "reports",
            _ => "modem",
        }
    }

    /// How full it is, in whole percent (`None` when the capacity is unknown).
    pub fn percent(&self) -> Option<u32> {
        (self.total > 0).then(|| self.used.min(self.total) * 100 / self.total)
    }
}

/// Something waiting for a SIM, as the network last indicated (`waiting` in [`ModemStatus`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    /// What is waiting.
    pub kind: WaitingKind,
    /// How many, when the network said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

impl Waiting {
    /// "Voicemail: 2 waiting", or "Voicemail waiting" when the network gave no count.
    pub fn summary(&self) -> String {
        match self.count {
            Some(n) => format!("{}: {n} waiting", self.kind.label()),
            None => format!("{} waiting", self.kind.label()),
        }
    }
}

impl ModemStatus {
    /// A modem known only by its id, port and state (nothing read from it yet).
    pub fn new(id: impl Into<String>, port: impl Into<String>, state: ModemState) -> ModemStatus {
        ModemStatus {
            id: id.into(),
            port: port.into(),
            state,
            model: None,
            operator: None,
            signal_dbm: None,
            last_error: None,
            demo: false,
            label: None,
            manufacturer: None,
            imei: None,
            iccid: None,
            registration: None,
            signal_bars: None,
            storage_used: None,
            storage_total: None,
            waiting: Vec::new(),
            source: None,
            pin_attempts_left: None,
            node: None,
            health: ModemHealth::default(),
        }
    }
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

/// Body of `GET /api/modems`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModemList {
    /// Every modem, configured or added at run time.
    pub modems: Vec<ModemStatus>,
}

/// Body of `POST /api/modems`: a serial port (with an optional label), or the demo modem. The answer is the
/// new modem's [`ModemStatus`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddModem {
    /// The serial port (`/dev/ttyUSB2`, `/dev/serial/by-id/...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// The user's name for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Start the built-in simulated modem instead of a port.
    #[serde(default, skip_serializing_if = "is_false")]
    pub demo: bool,
}

/// Body of `POST /api/modems/{id}/pin`: the SIM PIN to try once. The answer is the modem's [`ModemStatus`];
/// a rejected PIN is a 422 [`PinRejected`].
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinRequest {
    /// 4 to 8 digits.
    pub pin: String,
}

impl std::fmt::Debug for PinRequest {
    // A PIN in a log line would outlive the request.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinRequest").finish_non_exhaustive()
    }
}

impl PinRequest {
    /// Why the PIN cannot be a SIM PIN (a SIM takes 4 to 8 digits), for the user; `None` when it can.
    pub fn problem(&self) -> Option<&'static str> {
        let ok = (4..=8).contains(&self.pin.len()) && self.pin.bytes().all(|b| b.is_ascii_digit());
        (!ok).then_some("a SIM PIN is 4 to 8 digits (0-9); check the PIN that came with the SIM")
    }
}

/// Body of the 422 answer when the SIM rejected the PIN: [`crate::ApiError`]'s fields plus the tries left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinRejected {
    /// `pin_rejected`.
    pub error: String,
    /// What happened and what to do, for a person.
    pub detail: String,
    /// Wrong PINs the SIM still takes before it wants its PUK, where the modem tells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u8>,
}

/// Answer of `DELETE /api/modems/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedModem {
    /// The id the modem was listed under.
    pub removed: String,
    /// True when the modem is in the config file: it is back at the next start unless removed there too.
    pub from_config: bool,
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

/// Body of `GET /api/ports`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortList {
    /// Every serial port the server's OS lists.
    pub ports: Vec<PortReport>,
}

/// Body of `POST /api/ports/probe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeRequest {
    /// The port to probe.
    pub port: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_is_said_only_when_something_waits() {
        let mut status = ModemStatus::new("imei:1", "/dev/ttyUSB2", ModemState::Connected);
        let json = serde_json::to_value(&status).expect("serialises");
        assert!(json.get("waiting").is_none());
        status.waiting = vec![Waiting {
            kind: WaitingKind::Voicemail,
            count: Some(2),
        }];
        let json = serde_json::to_value(&status).expect("serialises");
        assert_eq!(
            json["waiting"],
            serde_json::json!([{"kind": "voicemail", "count": 2}])
        );
        assert_eq!(status.waiting[0].summary(), "Voicemail: 2 waiting");
        assert_eq!(
            serde_json::from_value::<ModemStatus>(json).expect("parses"),
            status
        );
    }

    #[test]
    fn storage_use_and_resets_are_fields_of_the_status_itself() {
        let mut status = ModemStatus::new("imei:1", "/dev/ttyUSB2", ModemState::Connected);
        let json = serde_json::to_value(&status).expect("serialises");
        for absent in [
            "storages",
            "storage_warning",
            "resets",
            "last_reset",
            "health",
        ] {
            assert!(json.get(absent).is_none(), "{absent}");
        }
        status.health = ModemHealth {
            storages: vec![StorageUse {
                memory: "SM".into(),
                used: 25,
                total: 30,
            }],
            storage_warning: Some("the SIM's message storage is 83 % full".into()),
            resets: 1,
            last_reset: Some("no answer to AT".into()),
        };
        let json = serde_json::to_value(&status).expect("serialises");
        assert_eq!(
            json["storages"],
            serde_json::json!([{"memory": "SM", "used": 25, "total": 30}])
        );
        assert_eq!(json["resets"], 1);
        assert!(json["storage_warning"].as_str().is_some());
        assert_eq!(
            serde_json::from_value::<ModemStatus>(json).expect("parses"),
            status
        );
        let sim = &status.health.storages[0];
        assert_eq!((sim.label(), sim.percent()), ("SIM", Some(83)));
    }

    #[test]
    fn a_pin_is_four_to_eight_digits_and_never_debug_printed() {
        let pin = |p: &str| PinRequest { pin: p.into() };
        assert!(pin("0000").problem().is_none());
        assert!(pin("12345678").problem().is_none());
        for bad in ["", "123", "123456789", "12a4", " 1234", "١٢٣٤"] {
            assert!(pin(bad).problem().is_some(), "{bad:?}");
        }
        assert!(!format!("{:?}", pin("4711")).contains("4711"));
    }

    #[test]
    fn add_modem_bodies_say_only_what_is_set() {
        let port = AddModem {
            port: Some("/dev/ttyUSB2".into()),
            ..AddModem::default()
        };
        assert_eq!(
            serde_json::to_value(&port).expect("serialises"),
            serde_json::json!({"port": "/dev/ttyUSB2"})
        );
        let demo = AddModem {
            demo: true,
            ..AddModem::default()
        };
        assert_eq!(
            serde_json::to_value(&demo).expect("serialises"),
            serde_json::json!({"demo": true})
        );
        assert!(serde_json::from_str::<AddModem>(r#"{"port":"x","speed":9600}"#).is_err());
    }
}
