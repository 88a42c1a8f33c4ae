//! Finding modems: list serial ports with their USB identity and ask each, carefully, if it is one.
//!
//! Used by `simrelay ports` and the engine's `GET /api/ports`. A port that does not answer `AT` gets nothing else written to it (it
//! could be a GPS, a microcontroller or a braille display); one that does is asked only harmless
//! identification questions (`ATI`, `AT+CGMM`), with short timeouts.

use std::sync::Arc;
use std::time::Duration;

use crate::answers::parse_plain;
use crate::channel::AtChannel;
use crate::port_access::{self, OpenErrorKind, PortFacts};
use crate::transport::{Opener, SerialOpener};

const PROBE_TIMEOUT: Duration = Duration::from_millis(700);
const PROBE_TRIES: usize = 3;

/// USB identity of a port, when it is a USB device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsbInfo {
    /// Vendor id.
    pub vid: u16,
    /// Product id.
    pub pid: u16,
    /// Serial number: the best key to find the same modem again under a new path.
    pub serial_number: Option<String>,
    /// Manufacturer string.
    pub manufacturer: Option<String>,
    /// Product string.
    pub product: Option<String>,
}

/// What probing one port found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    /// The port path.
    pub port: String,
    /// USB identity, if known.
    pub usb: Option<UsbInfo>,
    /// True if it answered `AT` with `OK`.
    pub is_modem: bool,
    /// `ATI` answer lines (manufacturer, model, revision on most modems).
    pub info: Vec<String>,
    /// `AT+CGMM` answer.
    pub model: Option<String>,
    /// Why the port could not be probed (busy, permission denied, ...).
    pub error: Option<String>,
    /// `error` sorted for programs.
    pub error_kind: Option<OpenErrorKind>,
    /// What the user can do about it ([`port_access::hint`]): set with `error`, and for a port that did not
    /// answer while another program has it open.
    pub hint: Option<String>,
}

/// Serial ports the operating system knows, with USB identity where available.
pub fn list_ports() -> Vec<(String, Option<UsbInfo>)> {
    match tokio_serial::available_ports() {
        Ok(ports) => ports
            .into_iter()
            .map(|p| {
                let usb = match p.port_type {
                    tokio_serial::SerialPortType::UsbPort(u) => Some(UsbInfo {
                        vid: u.vid,
                        pid: u.pid,
                        serial_number: u.serial_number,
                        manufacturer: u.manufacturer,
                        product: u.product,
                    }),
                    _ => None,
                };
                (p.port_name, usb)
            })
            .collect(),
        Err(e) => {
            tracing::warn!(%e, "cannot list serial ports");
            Vec::new()
        }
    }
}

/// The port whose USB serial number is `serial` (how a re-enumerated modem is found again).
pub fn find_usb_port(ports: &[(String, Option<UsbInfo>)], serial: &str) -> Option<String> {
    ports
        .iter()
        .find(|(_, usb)| {
            usb.as_ref()
                .and_then(|u| u.serial_number.as_deref())
                .is_some_and(|s| s == serial)
        })
        .map(|(port, _)| port.clone())
}

/// The USB serial number of the device behind `port` (a `/dev/serial/by-id/...` link or `/dev/ttyUSB0`), learned
/// when the port opens so that the modem is found again if it comes back under another path.
pub fn usb_serial_of(ports: &[(String, Option<UsbInfo>)], port: &str) -> Option<String> {
    let resolve =
        |p: &str| std::fs::canonicalize(p).unwrap_or_else(|_| std::path::PathBuf::from(p));
    let wanted = resolve(port);
    ports
        .iter()
        .find(|(name, _)| resolve(name) == wanted)
        .and_then(|(_, usb)| usb.as_ref()?.serial_number.clone())
}

/// Where udev keeps a stable name for each USB serial port: `usb-<vendor>_<product>_<serial>-if<NN>-port0`, a
/// symlink to the `ttyUSBn`/`ttyACMn` the port has now. Unlike `ttyUSBn` (numbered in plug order), it survives a
/// replug, a reset and a reboot.
pub const SERIAL_BY_ID: &str = "/dev/serial/by-id";

/// The stable name under `by_id_root` (normally [`SERIAL_BY_ID`]) of the device `port` names, if it has one:
/// `port` itself when it already is such a link, else the link that resolves to the same device (symlinks
/// followed on both sides, so `/dev/ttyUSB2` and a link to it match). `None` when the directory is missing (no
/// USB serial device plugged in, not Linux) or no link leads to the device (a built-in UART, a pty).
pub fn by_id_link(port: &str, by_id_root: &std::path::Path) -> Option<String> {
    let port_path = std::path::Path::new(port);
    if port_path.parent() == Some(by_id_root) && port_path.exists() {
        return Some(port.to_owned());
    }
    let device = std::fs::canonicalize(port_path).ok()?;
    let mut links: Vec<std::path::PathBuf> = std::fs::read_dir(by_id_root)
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|link| std::fs::canonicalize(link).is_ok_and(|target| target == device))
        .collect();
    // One device has one by-id name; should there be several, the same one is picked every time.
    links.sort();
    links
        .into_iter()
        .next()
        .map(|link| link.to_string_lossy().into_owned())
}

/// Lists every serial port and probes each one (all at once: a port that does not answer costs seconds).
pub async fn scan(baud: u32) -> Vec<ProbeResult> {
    let ports = tokio::task::spawn_blocking(list_ports)
        .await
        .unwrap_or_default();
    let mut results = probe_many(ports.iter().map(|(p, _)| p.clone()).collect(), baud).await;
    for (result, (_, usb)) in results.iter_mut().zip(ports) {
        result.usb = usb;
    }
    results
}

/// Probes `ports` concurrently at `baud`; the results are in the order of `ports`.
pub async fn probe_many(ports: Vec<String>, baud: u32) -> Vec<ProbeResult> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, port) in ports.iter().enumerate() {
        let port = port.clone();
        tasks.spawn(async move { (i, probe_with(Arc::new(SerialOpener), &port, baud).await) });
    }
    let mut results: Vec<Option<ProbeResult>> = vec![None; ports.len()];
    while let Some(joined) = tasks.join_next().await {
        if let Ok((i, result)) = joined {
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(result);
            }
        }
    }
    // A probe task that panicked leaves its port with an error rather than dropping it from the list.
    results
        .into_iter()
        .zip(ports)
        .map(|(result, port)| {
            result.unwrap_or_else(|| {
                failed(
                    &port,
                    OpenErrorKind::Other,
                    "the probe stopped unexpectedly".into(),
                )
            })
        })
        .collect()
}

fn failed(port: &str, kind: OpenErrorKind, error: String) -> ProbeResult {
    let facts = PortFacts::gather(port);
    ProbeResult {
        port: port.to_string(),
        usb: None,
        is_modem: false,
        info: Vec::new(),
        model: None,
        error: Some(error),
        error_kind: Some(kind),
        hint: Some(port_access::hint(kind, port, &facts)),
    }
}

/// Probes one port at 115200 baud.
pub async fn probe(port: &str) -> ProbeResult {
    probe_with(Arc::new(SerialOpener), port, 115_200).await
}

/// Probes one port opened through `opener`.
pub async fn probe_with(opener: Arc<dyn Opener>, port: &str, baud: u32) -> ProbeResult {
    let mut result = ProbeResult {
        port: port.to_string(),
        usb: None,
        is_modem: false,
        info: Vec::new(),
        model: None,
        error: None,
        error_kind: None,
        hint: None,
    };
    let io = match opener.open(port, baud).await {
        Ok(io) => io,
        Err(e) => {
            let kind = OpenErrorKind::classify(&e);
            // Reading /proc takes a moment; only a failure needs it.
            let facts = tokio::task::spawn_blocking({
                let port = port.to_owned();
                move || PortFacts::gather(&port)
            })
            .await
            .unwrap_or_default();
            result.error = Some(e.to_string());
            result.error_kind = Some(kind);
            result.hint = Some(port_access::hint(kind, port, &facts));
            return result;
        }
    };
    // Not knowing the family yet, the longest guard any family needs.
    let mut at = AtChannel::new(io, crate::config::UNKNOWN_FAMILY_GUARD);
    for _ in 0..PROBE_TRIES {
        match at.command("AT", PROBE_TIMEOUT).await {
            Ok(_) => {
                result.is_modem = true;
                break;
            }
            Err(e) if e.is_link_lost() => {
                result.error = Some(e.to_string());
                result.error_kind = Some(OpenErrorKind::Other);
                result.hint = Some(port_access::hint(
                    OpenErrorKind::Other,
                    port,
                    &PortFacts::default(),
                ));
                return result;
            }
            Err(_) => {}
        }
    }
    if !result.is_modem {
        // ModemManager opens ports without locking them and reads their answers: silence may be its doing.
        drop(at);
        let facts = tokio::task::spawn_blocking({
            let port = port.to_owned();
            move || PortFacts::gather(&port)
        })
        .await
        .unwrap_or_default();
        if facts.holder.is_some() {
            result.hint = Some(port_access::busy_hint(port, &facts));
        }
        return result;
    }
    if let Ok(lines) = at.command("ATI", PROBE_TIMEOUT).await {
        result.info = lines;
    }
    if let Ok(lines) = at.command("AT+CGMM", PROBE_TIMEOUT).await {
        result.model = parse_plain(&lines, "+CGMM:");
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usb(serial: Option<&str>) -> Option<UsbInfo> {
        Some(UsbInfo {
            vid: 0x12d1,
            pid: 0x1506,
            serial_number: serial.map(str::to_string),
            manufacturer: None,
            product: None,
        })
    }

    #[test]
    fn finds_a_modem_again_by_usb_serial() {
        let ports = vec![
            ("/dev/ttyS0".to_string(), None),
            ("/dev/ttyUSB0".to_string(), usb(None)),
            ("/dev/ttyUSB5".to_string(), usb(Some("ABC123"))),
        ];
        assert_eq!(
            find_usb_port(&ports, "ABC123").as_deref(),
            Some("/dev/ttyUSB5")
        );
        assert_eq!(find_usb_port(&ports, "XYZ"), None);
    }

    #[test]
    #[cfg(unix)]
    fn a_port_is_known_by_its_by_id_link() {
        let dev = tempfile::tempdir().unwrap();
        let by_id = dev.path().join("by-id");
        std::fs::create_dir(&by_id).unwrap();
        let tty = dev.path().join("ttyUSB2");
        let other = dev.path().join("ttyUSB3");
        std::fs::write(&tty, b"").unwrap();
        std::fs::write(&other, b"").unwrap();
        let link = by_id.join("usb-Quectel_EG25_ABC-if02-port0");
        std::os::unix::fs::symlink(&tty, &link).unwrap();
        std::os::unix::fs::symlink(&other, by_id.join("usb-Quectel_EG25_ABC-if03-port0")).unwrap();
        let s = |p: &std::path::Path| p.to_string_lossy().into_owned();
        assert_eq!(by_id_link(&s(&tty), &by_id), Some(s(&link)));
        assert_eq!(
            by_id_link(&s(&link), &by_id),
            Some(s(&link)),
            "already stable"
        );
        // A second name of the tty (as /dev/serial/by-path is) finds the same link.
        let alias = dev.path().join("alias");
        std::os::unix::fs::symlink(&tty, &alias).unwrap();
        assert_eq!(by_id_link(&s(&alias), &by_id), Some(s(&link)));
        let uart = dev.path().join("ttyS0");
        std::fs::write(&uart, b"").unwrap();
        assert_eq!(by_id_link(&s(&uart), &by_id), None, "no link leads to it");
        assert_eq!(by_id_link(&s(&tty), &dev.path().join("missing")), None);
        assert_eq!(by_id_link("/dev/nonexistent-port", &by_id), None);
    }

    #[test]
    #[cfg(unix)]
    fn the_serial_number_is_learned_through_a_by_id_link() {
        let dir = tempfile::tempdir().unwrap();
        let device = dir.path().join("ttyUSB3");
        std::fs::write(&device, b"").unwrap();
        let link = dir.path().join("usb-Quectel_EC25_ABC123-if02-port0");
        std::os::unix::fs::symlink(&device, &link).unwrap();
        let ports = vec![
            ("/dev/ttyS0".to_string(), None),
            (device.to_string_lossy().into_owned(), usb(Some("ABC123"))),
        ];
        assert_eq!(
            usb_serial_of(&ports, &link.to_string_lossy()).as_deref(),
            Some("ABC123")
        );
        assert_eq!(
            usb_serial_of(&ports, &device.to_string_lossy()).as_deref(),
            Some("ABC123")
        );
        assert_eq!(usb_serial_of(&ports, "/dev/ttyS0"), None, "not a USB port");
        assert_eq!(usb_serial_of(&ports, "/dev/ttyUSB9"), None, "not listed");
    }
}
