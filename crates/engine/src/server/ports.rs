//! `GET /api/ports` (list), `POST /api/ports` (list and probe) and `POST /api/ports/probe` (one port): the serial
//! ports a modem could be on, and what each answered.
//!
//! Probing writes to devices, so it is a POST (a page cannot make a browser do it with a link or an image), and
//! a path a client names must be a serial device's: `/dev/ttyUSB*`, `/dev/ttyACM*`, `/dev/ttyS*`,
//! `/dev/ttyAMA*`, `/dev/rfcomm*`, `/dev/serial/by-id/*` or `COMn`, unless the configuration file allows
//! another (`allowed_ports`; [`port_allowed`]). The same rule guards `POST /api/modems`.
//!
//! A port a running modem uses is named (`in_use_by`) and never probed: the probe's `AT` would take the running
//! driver's answers. The others are probed concurrently (a silent port costs about two seconds). Probes run one
//! request at a time, so two clients asking together do not find each other's probe holding a port.

use std::collections::HashMap;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use simrelay_modem::port_access::OpenErrorKind;
use simrelay_modem::probe::{self, ProbeResult, UsbInfo};
use simrelay_protocol::{PortErrorKind, PortList, PortReport, ProbeRequest, UsbIdentity};

use super::error::Failure;
use super::params::Params;
use super::AppState;

/// Longest port path accepted.
const MAX_PORT: usize = 512;
/// Baud rate the probes use (the driver's default).
const PROBE_BAUD: u32 = 115_200;

/// One probe run at a time across all clients.
static PROBING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Turns a JSON body rejection into the API's error shape.
pub(super) fn body_failure(e: &JsonRejection) -> Failure {
    match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            Failure::new(e.status(), "payload_too_large", e.body_text())
        }
        _ => Failure::bad_request(e.body_text()),
    }
}

/// Serial device paths by family: the prefix, and whether the rest is a number (else one path component).
const SERIAL_PATHS: &[(&str, bool)] = &[
    ("/dev/ttyUSB", true),
    ("/dev/ttyACM", true),
    ("/dev/ttyS", true),
    ("/dev/ttyAMA", true),
    ("/dev/rfcomm", true),
    ("/dev/serial/by-id/", false),
    ("COM", true),
    ("\\\\.\\COM", true),
];

/// Whether a client may name `port`: a serial device path (see the module docs), or one the configuration file
/// allows: an exact path, or a pattern ending in `*` that matches any one path component (`/dev/pts/*`).
pub(crate) fn port_allowed(port: &str, allowed: &[String]) -> bool {
    let component =
        |rest: &str| !rest.is_empty() && rest != "." && rest != ".." && !rest.contains(['/', '\\']);
    let builtin = SERIAL_PATHS.iter().any(|(prefix, numbered)| {
        port.strip_prefix(prefix).is_some_and(|rest| {
            if *numbered {
                !rest.is_empty() && rest.len() <= 5 && rest.bytes().all(|b| b.is_ascii_digit())
            } else {
                component(rest)
            }
        })
    });
    builtin
        || allowed
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => port.strip_prefix(prefix).is_some_and(component),
                None => pattern == port,
            })
}

/// A port path as a client sent it, trimmed and checked: not empty, not huge, no control characters, and a
/// serial device's path ([`port_allowed`]).
pub(super) fn checked_port(port: &str, allowed: &[String]) -> Result<String, Failure> {
    let port = port.trim();
    if port.is_empty() || port.len() > MAX_PORT || port.chars().any(char::is_control) {
        return Err(Failure::bad_request(format!(
            "port must be a serial port path such as /dev/ttyUSB2 or COM3 (1 to {MAX_PORT} bytes, no control \
             characters)"
        )));
    }
    if !port_allowed(port, allowed) {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "port_not_allowed",
            format!(
                "{port} is not a serial port path: use /dev/ttyUSB*, /dev/ttyACM*, /dev/ttyS*, /dev/ttyAMA*, \
                 /dev/rfcomm*, /dev/serial/by-id/* or COMn, or allow it with allowed_ports in the configuration file"
            ),
        ));
    }
    Ok(port.to_owned())
}

fn usb_identity(usb: &UsbInfo) -> UsbIdentity {
    UsbIdentity {
        vid: format!("{:04x}", usb.vid),
        pid: format!("{:04x}", usb.pid),
        serial_number: usb.serial_number.clone(),
        manufacturer: usb.manufacturer.clone(),
        product: usb.product.clone(),
    }
}

fn error_kind(kind: OpenErrorKind) -> PortErrorKind {
    match kind {
        OpenErrorKind::PermissionDenied => PortErrorKind::PermissionDenied,
        OpenErrorKind::Busy => PortErrorKind::Busy,
        OpenErrorKind::NotFound => PortErrorKind::NotFound,
        OpenErrorKind::Other => PortErrorKind::Other,
    }
}

/// The wire form of a probe result.
pub(super) fn report(result: ProbeResult) -> PortReport {
    PortReport {
        port: result.port,
        usb: result.usb.as_ref().map(usb_identity),
        in_use_by: None,
        probed: true,
        is_modem: result.is_modem,
        model: result.model,
        info: result.info,
        error: result.error,
        error_kind: result.error_kind.map(error_kind),
        hint: result.hint,
    }
}

fn in_use(port: String, usb: Option<&UsbInfo>, id: String) -> PortReport {
    PortReport {
        port,
        usb: usb.map(usb_identity),
        in_use_by: Some(id),
        probed: false,
        is_modem: false,
        model: None,
        info: Vec::new(),
        error: None,
        error_kind: None,
        hint: None,
    }
}

/// `GET /api/ports`: every serial port the OS lists, with its USB identity, not probed (at once, so a client can
/// say how many ports it is about to probe). `?probe=false` is accepted; probing is `POST /api/ports`.
pub(crate) async fn list(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<PortList>, Failure> {
    if Params::from_query(query)?.flag("probe")?.unwrap_or(false) {
        return Err(Failure::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "use_post",
            "probing writes to the ports, so it is POST /api/ports; GET /api/ports only lists them",
        ));
    }
    ports(&state, false).await
}

/// `POST /api/ports`: every serial port the OS lists, each probed (concurrently) unless a running modem uses it.
pub(crate) async fn probe_all(State(state): State<AppState>) -> Result<Json<PortList>, Failure> {
    ports(&state, true).await
}

async fn ports(state: &AppState, probe_them: bool) -> Result<Json<PortList>, Failure> {
    let _one_at_a_time = if probe_them {
        Some(PROBING.lock().await)
    } else {
        None
    };
    // Listing walks sysfs/udev: blocking work.
    let listed = tokio::task::spawn_blocking(probe::list_ports)
        .await
        .map_err(|_| {
            Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "listing the serial ports failed; see the server log",
            )
        })?;
    let free: Vec<String> = listed
        .iter()
        .filter(|_| probe_them)
        .filter(|(port, _)| state.modems.in_use_by(port).is_none())
        .map(|(port, _)| port.clone())
        .collect();
    let mut probed = probe::probe_many(free, PROBE_BAUD).await.into_iter();
    let mut ports = Vec::with_capacity(listed.len());
    for (port, usb) in listed {
        match state.modems.in_use_by(&port) {
            Some(id) => ports.push(in_use(port, usb.as_ref(), id)),
            None if !probe_them => ports.push(PortReport {
                in_use_by: None,
                ..in_use(port, usb.as_ref(), String::new())
            }),
            None => {
                if let Some(result) = probed.next() {
                    let mut r = report(result);
                    r.usb = usb.as_ref().map(usb_identity);
                    ports.push(r);
                }
            }
        }
    }
    Ok(Json(PortList { ports }))
}

/// `POST /api/ports/probe {"port": "/dev/..."}`: probes one port (one the user typed, or picked to test).
pub(crate) async fn probe(
    State(state): State<AppState>,
    body: Result<Json<ProbeRequest>, JsonRejection>,
) -> Result<Json<PortReport>, Failure> {
    let Json(request) = body.map_err(|e| body_failure(&e))?;
    let port = checked_port(&request.port, &state.allowed_ports)?;
    let _one_at_a_time = PROBING.lock().await;
    let usb = tokio::task::spawn_blocking(probe::list_ports)
        .await
        .unwrap_or_default()
        .into_iter()
        .find(|(p, _)| crate::modems::device_of(p) == crate::modems::device_of(&port))
        .and_then(|(_, usb)| usb);
    if let Some(id) = state.modems.in_use_by(&port) {
        return Ok(Json(in_use(port, usb.as_ref(), id)));
    }
    let mut r = report(probe::probe(&port).await);
    r.usb = usb.as_ref().map(usb_identity);
    Ok(Json(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_paths_are_checked() {
        assert_eq!(
            checked_port("  /dev/ttyUSB2 ", &[]).ok().as_deref(),
            Some("/dev/ttyUSB2")
        );
        assert!(checked_port("COM3", &[]).is_ok());
        assert!(checked_port("", &[]).is_err());
        assert!(checked_port("   ", &[]).is_err());
        assert!(checked_port("/dev/tty\nUSB0", &[]).is_err());
        assert!(checked_port(&"x".repeat(MAX_PORT + 1), &[]).is_err());
    }

    #[test]
    fn only_serial_device_paths_unless_the_config_allows_more() {
        for ok in [
            "/dev/ttyUSB0",
            "/dev/ttyUSB12",
            "/dev/ttyACM0",
            "/dev/ttyS4",
            "/dev/ttyAMA0",
            "/dev/rfcomm1",
            "/dev/serial/by-id/usb-HUAWEI_Mobile-if02-port0",
            "COM3",
            "\\\\.\\COM10",
        ] {
            assert!(port_allowed(ok, &[]), "{ok}");
        }
        for bad in [
            "/etc/shadow",
            "/dev/sda",
            "/dev/ttyUSB",
            "/dev/ttyUSB0/../../etc/passwd",
            "/dev/ttyUSBx",
            "/dev/serial/by-id/",
            "/dev/serial/by-id/..",
            "/dev/serial/by-id/../../sda",
            "/dev/pts/3",
            "/tmp/fifo",
            "COM",
            "COM3x",
            "/proc/self/mem",
        ] {
            assert!(!port_allowed(bad, &[]), "{bad}");
        }
        let allowed = vec!["/dev/pts/*".to_owned(), "/dev/ttyXRUSB0".to_owned()];
        assert!(port_allowed("/dev/pts/3", &allowed));
        assert!(port_allowed("/dev/ttyXRUSB0", &allowed));
        assert!(!port_allowed("/dev/ttyXRUSB1", &allowed));
        assert!(!port_allowed("/dev/pts/../sda", &allowed));
        assert!(!port_allowed("/dev/pts/", &allowed));
        let err = checked_port("/etc/shadow", &[]).expect_err("refused");
        assert_eq!(err.kind(), "port_not_allowed");
    }
}
