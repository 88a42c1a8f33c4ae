//! Why a serial port could not be used, and what the user can do about it.
//!
//! A failed open is sorted into an [`OpenErrorKind`] and explained by [`hint`], a pure function of the facts
//! [`PortFacts::gather`] reads from the system (who owns the device file, which process holds it open, whether
//! ModemManager runs). Keeping the wording pure lets tests check every hint: the test suite runs as root, where
//! no file mode produces "permission denied".

use std::io;
use std::path::{Path, PathBuf};

/// Where the udev rule that keeps ModemManager away from modems is shipped in the source tree.
pub const MM_IGNORE_RULE: &str = "src-tauri/packaging/77-simrelay-mm-ignore.rules";

/// Why a port could not be opened, sorted for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenErrorKind {
    /// The user may not open the device file.
    PermissionDenied,
    /// Another program has it open (exclusively).
    Busy,
    /// No such device.
    NotFound,
    /// Anything else.
    Other,
}

impl OpenErrorKind {
    /// Sorts an open error by its I/O kind, falling back to the words of its message (serial libraries do
    /// not always keep the kind).
    pub fn classify(error: &io::Error) -> OpenErrorKind {
        match error.kind() {
            io::ErrorKind::PermissionDenied => OpenErrorKind::PermissionDenied,
            io::ErrorKind::NotFound => OpenErrorKind::NotFound,
            io::ErrorKind::ResourceBusy => OpenErrorKind::Busy,
            _ => OpenErrorKind::from_message(&error.to_string()),
        }
    }

    fn from_message(message: &str) -> OpenErrorKind {
        let m = message.to_ascii_lowercase();
        if m.contains("permission denied") || m.contains("access is denied") {
            OpenErrorKind::PermissionDenied
        } else if m.contains("busy") || m.contains("in use") {
            OpenErrorKind::Busy
        } else if m.contains("no such file")
            || m.contains("no such device")
            || m.contains("not found")
        {
            OpenErrorKind::NotFound
        } else {
            OpenErrorKind::Other
        }
    }

    /// The name used on the wire: `permission_denied`, `busy`, `not_found`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            OpenErrorKind::PermissionDenied => "permission_denied",
            OpenErrorKind::Busy => "busy",
            OpenErrorKind::NotFound => "not_found",
            OpenErrorKind::Other => "other",
        }
    }
}

/// A process that has a port open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Its process id.
    pub pid: u32,
    /// Its name (`/proc/<pid>/comm`).
    pub name: String,
}

/// What the system says about a port, for [`hint`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortFacts {
    /// Whether this is Linux (the hints name Linux commands only there).
    pub linux: bool,
    /// The group that owns the device file (`dialout`, `uucp`), if known.
    pub group: Option<String>,
    /// A process other than this one that has the port open.
    pub holder: Option<Holder>,
    /// Whether a ModemManager process runs.
    pub modem_manager_running: bool,
}

impl PortFacts {
    /// Reads the facts for `port` from the system (`/proc`, `/etc/group`); anything unreadable is left unknown.
    pub fn gather(port: &str) -> PortFacts {
        let linux = cfg!(target_os = "linux");
        if !linux {
            return PortFacts::default();
        }
        let processes = processes();
        let device = std::fs::canonicalize(port).unwrap_or_else(|_| PathBuf::from(port));
        let me = std::process::id();
        let holder = processes
            .iter()
            .filter(|(pid, _)| *pid != me)
            .find(|(pid, _)| has_open(*pid, &device))
            .map(|(pid, name)| Holder {
                pid: *pid,
                name: name.clone(),
            });
        PortFacts {
            linux,
            group: device_group(&device),
            holder,
            modem_manager_running: processes.iter().any(|(_, name)| is_modem_manager(name)),
        }
    }
}

fn is_modem_manager(name: &str) -> bool {
    // `comm` is cut to 15 characters: "ModemManager" fits.
    name.eq_ignore_ascii_case("ModemManager")
}

/// Every process as (pid, name).
fn processes() -> Vec<(u32, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            Some((pid, name.trim().to_owned()))
        })
        .collect()
}

/// Whether process `pid` has `device` open (one of its `/proc/<pid>/fd` links points at it).
fn has_open(pid: u32, device: &Path) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(Result::ok)
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .any(|target| target == device)
}

/// The name of the group owning `device`, from `/etc/group`.
fn device_group(device: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let gid = std::fs::metadata(device).ok()?.gid();
        let groups = std::fs::read_to_string("/etc/group").ok()?;
        group_name(&groups, gid)
    }
    #[cfg(not(unix))]
    {
        let _ = device;
        None
    }
}

/// The name of group `gid` in the text of `/etc/group` (`name:x:gid:members`).
fn group_name(etc_group: &str, gid: u32) -> Option<String> {
    etc_group.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let _password = fields.next()?;
        let id = fields.next()?.parse::<u32>().ok()?;
        (id == gid && !name.is_empty()).then(|| name.to_owned())
    })
}

/// What the user can do about `kind` on `port`, given the `facts`: one or two sentences with the exact commands.
pub fn hint(kind: OpenErrorKind, port: &str, facts: &PortFacts) -> String {
    match kind {
        OpenErrorKind::PermissionDenied if facts.linux => {
            // Serial devices belong to `dialout` on Debian/Ubuntu/Fedora, `uucp` on Arch; `root` would be odd.
            let group = facts
                .group
                .as_deref()
                .filter(|g| *g != "root")
                .unwrap_or("dialout");
            format!(
                "You may not open {port}: it belongs to the group {group}. Add yourself to that group with \
                 `sudo usermod -aG {group} $USER`, then log out and log in again (a new group only counts \
                 after a new login)."
            )
        }
        OpenErrorKind::PermissionDenied => format!(
            "You may not open {port}. Give your user access to the serial port (ask the computer's \
             administrator), then try again."
        ),
        OpenErrorKind::Busy => busy_hint(port, facts),
        OpenErrorKind::NotFound => format!(
            "There is no device {port}. Is the modem plugged in? USB modems appear as /dev/ttyUSB* or \
             /dev/ttyACM* on Linux; pick one from the list, which shows what the system sees now."
        ),
        OpenErrorKind::Other => format!(
            "{port} could not be opened as a serial port. Check that it is the modem's AT port (a modem often \
             has several; only one answers AT commands)."
        ),
    }
}

/// The hint for a port another program holds; also used when a port opened but did not answer and another
/// program has it open (ModemManager does not take ports exclusively, it just reads their answers).
pub fn busy_hint(port: &str, facts: &PortFacts) -> String {
    let by_mm = match &facts.holder {
        Some(holder) => is_modem_manager(&holder.name),
        None => facts.modem_manager_running,
    };
    if by_mm && facts.linux {
        return format!(
            "ModemManager holds {port}: it takes every port that looks like a modem. Stop it for now with \
             `sudo systemctl stop ModemManager`, or exclude this modem for good with the udev rule that sets \
             ID_MM_DEVICE_IGNORE: the SimRelay package installs 77-simrelay-mm-ignore.rules (from source: \
             copy {MM_IGNORE_RULE} to /etc/udev/rules.d/), then run `sudo udevadm control --reload` and \
             unplug and replug the modem."
        );
    }
    match &facts.holder {
        Some(holder) => format!(
            "{port} is open in another program: {} (process {}). Close that program (or stop that service), \
             then try again.",
            holder.name, holder.pid
        ),
        None => format!(
            "{port} is open in another program (a terminal program such as minicom or screen, or another \
             SimRelay). Close it, then try again."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux() -> PortFacts {
        PortFacts {
            linux: true,
            ..PortFacts::default()
        }
    }

    #[test]
    fn permission_denied_names_the_device_group_and_the_fix() {
        let facts = PortFacts {
            group: Some("uucp".into()),
            ..linux()
        };
        let text = hint(OpenErrorKind::PermissionDenied, "/dev/ttyUSB2", &facts);
        assert!(text.contains("/dev/ttyUSB2"), "{text}");
        assert!(text.contains("sudo usermod -aG uucp $USER"), "{text}");
        assert!(text.contains("log out"), "{text}");
        // Unknown (or root) group: the usual one.
        let text = hint(OpenErrorKind::PermissionDenied, "/dev/ttyUSB2", &linux());
        assert!(text.contains("sudo usermod -aG dialout $USER"), "{text}");
        let root = PortFacts {
            group: Some("root".into()),
            ..linux()
        };
        assert!(hint(OpenErrorKind::PermissionDenied, "/dev/x", &root).contains("dialout"));
        // Not Linux: no Linux commands.
        let other = hint(
            OpenErrorKind::PermissionDenied,
            "COM3",
            &PortFacts::default(),
        );
        assert!(!other.contains("usermod"), "{other}");
    }

    #[test]
    fn busy_says_modem_manager_and_how_to_exclude_the_modem() {
        let held = PortFacts {
            holder: Some(Holder {
                pid: 812,
                name: "ModemManager".into(),
            }),
            modem_manager_running: true,
            ..linux()
        };
        let text = hint(OpenErrorKind::Busy, "/dev/ttyUSB2", &held);
        assert!(
            text.starts_with("ModemManager holds /dev/ttyUSB2"),
            "{text}"
        );
        assert!(text.contains("sudo systemctl stop ModemManager"), "{text}");
        assert!(text.contains("ID_MM_DEVICE_IGNORE"), "{text}");
        assert!(text.contains("77-simrelay-mm-ignore.rules"), "{text}");
        // The holder could not be read (another user's process) but ModemManager runs: most likely it.
        let running = PortFacts {
            modem_manager_running: true,
            ..linux()
        };
        assert!(hint(OpenErrorKind::Busy, "/dev/ttyUSB2", &running).starts_with("ModemManager"));
    }

    #[test]
    fn busy_by_another_program_names_it() {
        let facts = PortFacts {
            holder: Some(Holder {
                pid: 4242,
                name: "minicom".into(),
            }),
            // ModemManager runs but is not the one holding the port.
            modem_manager_running: true,
            ..linux()
        };
        let text = hint(OpenErrorKind::Busy, "/dev/ttyACM0", &facts);
        assert!(text.contains("minicom (process 4242)"), "{text}");
        assert!(!text.contains("ModemManager"), "{text}");
        let unknown = hint(OpenErrorKind::Busy, "/dev/ttyACM0", &linux());
        assert!(unknown.contains("another program"), "{unknown}");
    }

    #[test]
    fn not_found_and_other() {
        let text = hint(OpenErrorKind::NotFound, "/dev/ttyUSB9", &linux());
        assert!(text.contains("There is no device /dev/ttyUSB9"), "{text}");
        assert!(text.contains("plugged in"), "{text}");
        assert!(hint(OpenErrorKind::Other, "/dev/x", &linux()).contains("AT port"));
    }

    #[test]
    fn errors_are_sorted_by_kind_or_by_their_words() {
        let e = |kind, msg: &str| io::Error::new(kind, msg.to_owned());
        assert_eq!(
            OpenErrorKind::classify(&e(io::ErrorKind::PermissionDenied, "x")),
            OpenErrorKind::PermissionDenied
        );
        assert_eq!(
            OpenErrorKind::classify(&e(io::ErrorKind::ResourceBusy, "x")),
            OpenErrorKind::Busy
        );
        assert_eq!(
            OpenErrorKind::classify(&e(
                io::ErrorKind::Other,
                "cannot open /dev/ttyUSB0: Device or resource busy"
            )),
            OpenErrorKind::Busy
        );
        assert_eq!(
            OpenErrorKind::classify(&e(
                io::ErrorKind::Other,
                "cannot open /dev/ttyUSB0: Permission denied"
            )),
            OpenErrorKind::PermissionDenied
        );
        assert_eq!(
            OpenErrorKind::classify(&e(
                io::ErrorKind::Other,
                "cannot open: No such file or directory"
            )),
            OpenErrorKind::NotFound
        );
        assert_eq!(
            OpenErrorKind::classify(&e(io::ErrorKind::Other, "weird")),
            OpenErrorKind::Other
        );
        assert_eq!(OpenErrorKind::Busy.as_str(), "busy");
    }

    #[test]
    fn group_names_come_from_etc_group() {
        let text = "root:x:0:\n# comment\ndialout:x:20:alice\nbroken\nuucp:x:14:";
        assert_eq!(group_name(text, 20).as_deref(), Some("dialout"));
        assert_eq!(group_name(text, 14).as_deref(), Some("uucp"));
        assert_eq!(group_name(text, 99), None);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_process_holding_a_file_open_is_found() {
        // Another real process (`sleep` with the file as its stdin) holds it; this process does not count.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ttyFAKE");
        std::fs::write(&path, b"").unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .stdin(std::fs::File::open(&path).unwrap())
            .spawn()
            .unwrap();
        let mut facts = PortFacts::default();
        for _ in 0..50 {
            facts = PortFacts::gather(&path.to_string_lossy());
            if facts.holder.is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        let holder = facts.holder.expect("the holder is found");
        assert_eq!(holder.pid, child.id());
        assert_eq!(holder.name, "sleep");
        assert!(facts.linux);
    }
}
