//! How to reach and drive one modem: port, identity, PIN, sweep period and per-command timeouts.

use std::time::Duration;

/// How to reach one modem.
#[derive(Debug, Clone)]
pub struct ModemConfig {
    /// Serial port path (`/dev/ttyUSB2`, `COM5`, a pty, or a stable symlink).
    pub port: String,
    /// Fixed id for this modem. When `None` the driver learns one at start-up, before any
    /// message is reported: `imei:<IMEI>`, else `iccid:<ICCID>`, else (a modem that tells
    /// neither) the port path. Messages and the store's dedup key carry this id, so a modem keeps
    /// it whatever port it comes back on.
    pub id: Option<String>,
    /// The id this port's modem had last time (remembered by the caller): the id until the
    /// modem tells its own, instead of the port path, so a modem absent at start-up is still
    /// known by its stable id. Ignored when `id` is set.
    pub known_id: Option<String>,
    /// The user's name for this modem, shown with its status.
    pub label: Option<String>,
    /// Baud rate (USB modems ignore it; UART boards such as SIM800L need the right one).
    pub baud: u32,
    /// Period of the safety sweep (`AT+CMGL=4`) that catches messages whose URC was lost.
    pub sweep_interval: Duration,
    /// SIM PIN, entered once if the SIM asks. A rejected PIN stops the modem (no retry: the SIM
    /// would lock into PUK).
    pub pin: Option<String>,
    /// Pause after each final result before the next command. `None` picks one for the modem
    /// family once it is known (see [`guard_for`]).
    pub guard: Option<Duration>,
    /// Per-command timeouts.
    pub timeouts: Timeouts,
    /// USB serial number of the modem. USB modems come back under a new name after a reset or a
    /// replug (`ttyUSB2` → `ttyUSB5`); when `port` is gone, the port with this serial number is
    /// used instead.
    pub usb_serial: Option<String>,
}

/// Per-command timeouts. The defaults suit real modems; tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Configuration and status commands (`ATE0`, `AT+CSQ`, ...).
    pub quick: Duration,
    /// Reading, deleting one slot, PIN and storage selection.
    pub slot: Duration,
    /// `AT+CMGL=4`: on a full SIM800L this takes up to 20 s.
    pub list: Duration,
    /// From `AT+CMGS=<n>` to the `> ` prompt.
    pub prompt: Duration,
    /// From the PDU to `+CMGS: <mr>` (the network's answer).
    pub send: Duration,
    /// How long a modem may stay not ready for SMS after power-on (SIM800L: about 10 s).
    pub ready: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            quick: Duration::from_secs(5),
            slot: Duration::from_secs(10),
            list: Duration::from_secs(30),
            prompt: Duration::from_secs(10),
            send: Duration::from_secs(60),
            ready: Duration::from_secs(60),
        }
    }
}

impl Default for ModemConfig {
    fn default() -> Self {
        ModemConfig {
            port: String::new(),
            id: None,
            known_id: None,
            label: None,
            baud: 115_200,
            sweep_interval: Duration::from_secs(60),
            pin: None,
            guard: None,
            timeouts: Timeouts::default(),
            usb_serial: None,
        }
    }
}

/// The guard time before the family is known, and for families not listed in [`guard_for`].
pub const DEFAULT_GUARD: Duration = Duration::from_millis(20);

/// The pause a modem family needs between a final result and the next command.
///
/// 2G UART modules (SIMCom SIM800/SIM900 family) drop a command that follows a result too
/// closely: they keep [`DEFAULT_GUARD`]. USB LTE modems (Quectel, SIMCom SIM7xxx/A76xx, Huawei)
/// take commands back to back, so a short guard keeps the guard out of each message's latency.
/// Unknown modems keep the default.
pub fn guard_for(manufacturer: Option<&str>, model: Option<&str>) -> Duration {
    let family =
        format!("{} {}", manufacturer.unwrap_or(""), model.unwrap_or("")).to_ascii_lowercase();
    let usb_lte = ["quectel", "huawei", "sim7", "a76", "ec2", "eg2", "e3372"];
    if family.contains("sim800") || family.contains("sim900") || family.contains("sim868") {
        DEFAULT_GUARD
    } else if usb_lte.iter().any(|f| family.contains(f)) {
        Duration::from_millis(5)
    } else {
        DEFAULT_GUARD
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_per_family() {
        let ms = |m: Option<&str>, model: Option<&str>| guard_for(m, model).as_millis();
        assert_eq!(ms(Some("SIMCOM_Ltd"), Some("SIMCOM_SIM800L")), 20);
        assert_eq!(ms(Some("Quectel"), Some("EC25")), 5);
        assert_eq!(
            ms(Some("SIMCOM INCORPORATED"), Some("SIMCOM_SIM7600E-H")),
            5
        );
        assert_eq!(ms(Some("huawei"), Some("E3372")), 5);
        assert_eq!(ms(Some("SimRelay"), Some("SimRelay Simulated Modem")), 20);
        assert_eq!(ms(None, None), 20);
    }
}
