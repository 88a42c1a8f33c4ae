//! How to reach and drive one modem (port, identity, PIN, sweep and status periods, per-command
//! timeouts), and what each modem family needs that others do not: the guard time, with the
//! manual's sentence that asks for it, and the command that sends unsolicited codes to the port
//! the driver has open on a multi-port modem.

use std::time::Duration;

use crate::watch::StatusWatchers;

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
    /// Period of the status refresh (signal, operator, registration, storage use). It runs only
    /// while someone watches ([`StatusWatchers`]); otherwise the status follows the modem's
    /// unsolicited codes and an idle driver sleeps.
    pub status_interval: Duration,
    /// Who is watching the status. Drivers given the same watchers (clones) refresh together;
    /// the default is a set of its own, reached through
    /// [`ModemHandle::watch_status`](crate::ModemHandle::watch_status).
    pub status_watchers: StatusWatchers,
    /// SIM PIN, entered once if the SIM asks. A rejected PIN stops the modem (no retry: the SIM
    /// would lock into PUK).
    pub pin: Option<String>,
    /// Pause after each final result before the next command, for a modem that is shown to need
    /// one its family does not. `None` uses the family's [`Guard`] once the family is known.
    pub guard: Option<Duration>,
    /// Per-command timeouts.
    pub timeouts: Timeouts,
    /// USB serial number of the modem. USB modems come back under a new name after a reset or a
    /// replug (`ttyUSB2` → `ttyUSB5`); when `port` is gone, the port with this serial number is
    /// used instead.
    pub usb_serial: Option<String>,
    /// Hang up on incoming calls (`ATH` on `RING`), for a SIM used only to receive codes; each
    /// call is still reported. Changed at run time with
    /// [`ModemHandle::set_reject_calls`](crate::ModemHandle::set_reject_calls).
    pub reject_calls: bool,
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
    /// How long the driver waits for `OK` to a plain `AT` when a command went unanswered: no
    /// answer twice and the modem is reset (`driver/health.rs`).
    pub health: Duration,
    /// How long a modem may stay not ready for SMS after power-on (SIM800L: about 10 s).
    pub ready: Duration,
    /// From a USSD request (`AT+CUSD=1,...`) to the network's reply (`+CUSD: ...`).
    pub ussd: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            quick: Duration::from_secs(5),
            slot: Duration::from_secs(10),
            list: Duration::from_secs(30),
            prompt: Duration::from_secs(10),
            send: Duration::from_secs(60),
            health: Duration::from_secs(5),
            ready: Duration::from_secs(60),
            ussd: Duration::from_secs(30),
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
            status_interval: Duration::from_secs(30),
            status_watchers: StatusWatchers::new(),
            pin: None,
            guard: None,
            timeouts: Timeouts::default(),
            usb_serial: None,
            reject_calls: false,
        }
    }
}

/// A modem family, as far as the driver treats families differently (guard time, ICCID command,
/// which unsolicited code reports the signal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// SIMCom's 2G modules: SIM800, SIM808, SIM868, SIM900.
    Simcom2g,
    /// SIMCom's LTE modules: SIM7000/7070/7500/7600, A76xx.
    SimcomLte,
    /// Quectel: EC2x, EG2x, BG9x, ...
    Quectel,
    /// Huawei USB sticks and modules: E3372, ME909, MU709, ...
    Huawei,
    /// Telit: LE910, ME910, HE910, GE910, UE910, ...
    Telit,
    /// Anything else, including the simulator's plain TS 27.005 modem.
    Other,
}

/// The family from `AT+CGMI` and `AT+CGMM`.
pub fn family_of(manufacturer: Option<&str>, model: Option<&str>) -> Family {
    let text =
        format!("{} {}", manufacturer.unwrap_or(""), model.unwrap_or("")).to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    if any(&["sim800", "sim808", "sim868", "sim900"]) {
        Family::Simcom2g
    } else if any(&["sim7", "a76"]) {
        Family::SimcomLte
    } else if any(&["quectel", "ec2", "eg2", "bg9"]) {
        Family::Quectel
    } else if any(&["huawei", "e3372", "me909", "mu709"]) {
        Family::Huawei
    } else if any(&["telit", "le910", "me910", "he910", "ge910", "ue910"]) {
        Family::Telit
    } else {
        Family::Other
    }
}

/// The pause a modem needs between the end of a final result and its next command: `every`
/// command, or only the `commands` listed (by name, `+CMGS`), each counted from the previous
/// final result (so a command that follows a quiet spell waits for nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guard {
    /// Before any command.
    pub every: Duration,
    /// Before these commands (name without `AT`, e.g. `+CMGS`), when longer than `every`.
    pub commands: &'static [(&'static str, Duration)],
}

impl Guard {
    /// No pause: the manual asks only that the final result be awaited.
    pub const NONE: Guard = Guard {
        every: Duration::ZERO,
        commands: &[],
    };

    /// The same pause before every command.
    pub const fn every(pause: Duration) -> Guard {
        Guard {
            every: pause,
            commands: &[],
        }
    }

    /// The pause before `command` (a whole command line, `AT+CMGR=3`).
    pub fn before(&self, command: &str) -> Duration {
        let name = command
            .get(2..)
            .unwrap_or("")
            .split(['=', '?'])
            .next()
            .unwrap_or("");
        self.commands
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, pause)| *pause)
            .fold(self.every, Duration::max)
    }
}

/// Telit's pause, from its AT command references (e.g. *LE910 V2 Series AT Commands*,
/// 80446ST10707A Rev. 0, 2015-11-03, §3.2.5 "Command Issuing Timing"; the same paragraph is in
/// the GM862, HE910, UC864 and LE910Cx references): "It is advisable anyway to wait for at least
/// 20ms between the end of the reception of the response and the issue of the next AT command."
pub const TELIT_GUARD: Guard = Guard::every(Duration::from_millis(20));

/// The guard a family needs, with the reason. Only Telit documents one. For the others the
/// manuals ask for nothing beyond awaiting the final result, e.g. *SIM800 Series AT Command
/// Manual* V1.09 §1.4.5: "you need to wait the final response (for example OK, CME error, CMS
/// error) of last AT Command you entered before you enter the next AT Command", which the
/// channel always does; no failure without a pause has been reproduced on them either. A modem
/// that is shown to need one anyway gets it through [`ModemConfig::guard`].
pub fn guard_for(family: Family) -> Guard {
    match family {
        Family::Telit => TELIT_GUARD,
        Family::Simcom2g | Family::SimcomLte | Family::Quectel | Family::Huawei | Family::Other => {
            Guard::NONE
        }
    }
}

/// The command that makes a family reset itself, for a modem that stopped answering; `None`:
/// close the port and open it again, which is all the driver can do for a modem without one.
///
/// - SIMCom 2G (*SIM800 Series AT Command Manual* V1.09, `AT+CFUN`), SIMCom LTE
///   (*SIM7500_SIM7600 Series AT Command Manual*, `AT+CFUN`) and Quectel (*EC25&EC21 AT Commands
///   Manual*, `AT+CFUN`): `<rst>` 1 resets the module before setting `<fun>` (TS 27.007 §8.2).
/// - Telit (*LE910Cx AT Commands Reference Guide*, `AT#REBOOT`): reboots the module at once.
/// - Huawei and unknown modems: no reset command verified against a manual, so the port is
///   reopened only (a USB stick that re-enumerates is found again by its serial number).
pub fn reset_command(family: Family) -> Option<&'static str> {
    match family {
        Family::Simcom2g | Family::SimcomLte | Family::Quectel => Some("AT+CFUN=1,1"),
        Family::Telit => Some("AT#REBOOT"),
        Family::Huawei | Family::Other => None,
    }
}

/// The guard before the family is known (the first commands of a start-up: `AT`, `ATE0`,
/// `AT+CMEE`, `AT+CGMM`, `AT+CGMI`): the longest any family needs, since the modem may be a Telit.
/// It costs a few tens of milliseconds once per start-up, never a message's latency.
pub const UNKNOWN_FAMILY_GUARD: Guard = TELIT_GUARD;

/// How the port the driver has open is attached, as far as routing unsolicited codes goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortKind {
    /// A USB interface (`ttyUSBn`, `ttyACMn`, a `/dev/serial/by-id` link to one): a multi-port
    /// modem exposes several, and prints unsolicited codes on one of them.
    Usb,
    /// A board's UART (`ttyS`, `ttyAMA`, `ttyTHS`, `ttymxc`, `ttySAC`): a HAT or a module wired
    /// to the pins.
    Uart,
}

impl PortKind {
    /// The kind of `port`, after following symlinks. Anything that is not a known UART name
    /// counts as USB, which is how these modems are attached almost always (a pty too: the
    /// simulator stands in for a USB stick).
    pub fn of(port: &str) -> PortKind {
        let device = std::fs::canonicalize(port).unwrap_or_else(|_| port.into());
        let name = device
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let uart = ["ttyS", "ttyAMA", "ttyTHS", "ttymxc", "ttySAC"];
        if uart.iter().any(|prefix| name.starts_with(prefix)) {
            PortKind::Uart
        } else {
            PortKind::Usb
        }
    }
}

/// The command that makes a multi-port modem print its unsolicited codes (`+CMTI`, `+CMT`,
/// `RING`, ...) on the kind of port the driver has open, sent once per start-up right after
/// the family is known; `None` where the family has one port or no such command. A modem that
/// answers it with ERROR (older firmware) keeps its own setting: the driver goes on, and the
/// safety sweep still finds every stored message.
///
/// - Quectel: `AT+QURCCFG="urcport","usbat"` (USB AT port) or `"uart1"` (main UART); the
///   other value, `"usbmodem"`, is the PPP port SimRelay should not be given. Source: Quectel's
///   LTE-module AT command manual, "AT+QURCCFG Configure URC Indication Option" (values
///   `usbat` USB AT port, `usbmodem` USB modem port, `uart1` main UART), as transcribed in the
///   CursedHardware/at-manual project (`content/docs/quectel/general-commands.md`); which
///   Quectel models accept it was not checked model by model. It undoes what another program
///   (or a HAT's set-up) may have changed.
/// - SIMCom LTE (SIM7500/7600, A76xx): `AT+CATR=0`, unsolicited codes on all ports, so the
///   driver hears them on whichever port it was given. Source: *A76XX Series AT Command Manual*
///   §10.2.9 "AT+CATR Configure URC destination interface" (`0` all ports, `1` UART, `2` MODEM,
///   `3` ATCOM, `4`–`7` CMUX channels; not saved, hence sent at every start-up). The SIM7500/7600
///   manual lists the same command; its value table was not checked here.
/// - Huawei: `AT^PORTSEL=0`, unsolicited codes on the PCUI (AT) port rather than the modem
///   port. The value's meaning (`0` PCUI, `1` modem) is taken from ModemManager's Huawei
///   plugin, which sends the same command; a Huawei manual page for `^PORTSEL` was not found,
///   so this is not confirmed against the vendor's text. On a UART there is nothing to choose.
/// - SIMCom 2G and Telit: one AT port each as SimRelay uses them; nothing is sent.
pub fn urc_route(family: Family, kind: PortKind) -> Option<&'static str> {
    match (family, kind) {
        (Family::Quectel, PortKind::Usb) => Some("AT+QURCCFG=\"urcport\",\"usbat\""),
        (Family::Quectel, PortKind::Uart) => Some("AT+QURCCFG=\"urcport\",\"uart1\""),
        (Family::SimcomLte, _) => Some("AT+CATR=0"),
        (Family::Huawei, PortKind::Usb) => Some("AT^PORTSEL=0"),
        (Family::Huawei, PortKind::Uart)
        | (Family::Simcom2g | Family::Telit | Family::Other, _) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        let f = |m: &str, model: &str| family_of(Some(m), Some(model));
        assert_eq!(f("SIMCOM_Ltd", "SIMCOM_SIM800L"), Family::Simcom2g);
        assert_eq!(
            f("SIMCOM INCORPORATED", "SIMCOM_SIM7600E-H"),
            Family::SimcomLte
        );
        assert_eq!(f("Quectel", "EC25"), Family::Quectel);
        assert_eq!(f("huawei", "E3372"), Family::Huawei);
        assert_eq!(f("Telit", "LE910C4-EU"), Family::Telit);
        assert_eq!(f("SimRelay", "SimRelay Simulated Modem"), Family::Other);
        assert_eq!(family_of(None, None), Family::Other);
    }

    #[test]
    fn only_telit_documents_a_guard() {
        let ms = |family| guard_for(family).before("AT+CMGR=1").as_millis();
        assert_eq!(ms(Family::Telit), 20);
        for family in [
            Family::Simcom2g,
            Family::SimcomLte,
            Family::Quectel,
            Family::Huawei,
            Family::Other,
        ] {
            assert_eq!(ms(family), 0, "{family:?}");
        }
        assert_eq!(UNKNOWN_FAMILY_GUARD.before("AT").as_millis(), 20);
    }

    #[test]
    fn unsolicited_codes_are_routed_per_family_and_port_kind() {
        use PortKind::{Uart, Usb};
        assert_eq!(
            urc_route(Family::Quectel, Usb),
            Some(r#"AT+QURCCFG="urcport","usbat""#)
        );
        assert_eq!(
            urc_route(Family::Quectel, Uart),
            Some(r#"AT+QURCCFG="urcport","uart1""#)
        );
        assert_eq!(urc_route(Family::SimcomLte, Usb), Some("AT+CATR=0"));
        assert_eq!(urc_route(Family::Huawei, Usb), Some("AT^PORTSEL=0"));
        for (family, kind) in [
            (Family::Huawei, Uart),
            (Family::Simcom2g, Uart),
            (Family::Telit, Usb),
            (Family::Other, Usb),
        ] {
            assert_eq!(urc_route(family, kind), None, "{family:?} on {kind:?}");
        }
    }

    #[test]
    #[cfg(unix)]
    fn the_port_kind_follows_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let uart = dir.path().join("ttyAMA0");
        std::fs::write(&uart, b"").expect("uart");
        let link = dir.path().join("serial0");
        std::os::unix::fs::symlink(&uart, &link).expect("link");
        assert_eq!(PortKind::of(&link.to_string_lossy()), PortKind::Uart);
        assert_eq!(PortKind::of("/dev/ttyS1"), PortKind::Uart);
        assert_eq!(PortKind::of("/dev/ttyUSB2"), PortKind::Usb);
        assert_eq!(
            PortKind::of("/dev/serial/by-id/usb-Quectel_EC25-if02-port0"),
            PortKind::Usb
        );
    }

    #[test]
    fn per_command_pauses_count_when_longer() {
        const SLOW_SEND: &[(&str, Duration)] = &[("+CMGS", Duration::from_millis(50))];
        let guard = Guard {
            every: Duration::from_millis(5),
            commands: SLOW_SEND,
        };
        assert_eq!(guard.before("AT+CMGS=23").as_millis(), 50);
        assert_eq!(guard.before("at+cmgs=23").as_millis(), 50);
        assert_eq!(guard.before("AT+CMGR=2").as_millis(), 5);
        assert_eq!(guard.before("AT").as_millis(), 5);
        assert_eq!(Guard::NONE.before("AT+CMGS=23"), Duration::ZERO);
    }
}
