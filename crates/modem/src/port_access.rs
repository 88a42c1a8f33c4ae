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
        let device = std::fs::canonicalize(port).unwrap_or_else(|_| PathBuf::from(port));
        let me = std::process::id();
        let my_exe = Process::read(me).and_then(|p| p.exe);
        let mut names = Vec::new();
        let mut holders = Vec::new();
        for pid in pids() {
            if let Some(name) = comm(pid) {
                names.push(name);
            }
            if pid != me {
                holders.extend(holding(pid, &device));
            }
        }
        PortFacts {
            linux,
            group: device_group(&device),
            holder: real_holder(&holders, me, my_exe.as_deref()),
            modem_manager_running: names.iter().any(|name| is_modem_manager(name)),
        }
    }
}

fn is_modem_manager(name: &str) -> bool {
    // `comm` is cut to 15 characters: "ModemManager" fits.
    name.eq_ignore_ascii_case("ModemManager")
}

/// A process as `/proc` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Process {
    pid: u32,
    /// Its parent's pid.
    parent: u32,
    /// `/proc/<pid>/comm`.
    name: String,
    /// The program it runs (`/proc/<pid>/exe`; unreadable for another user's process unless root).
    exe: Option<PathBuf>,
}

impl Process {
    fn read(pid: u32) -> Option<Process> {
        // `pid (comm) state ppid ...`: the name may hold spaces and parentheses, so split after the last `)`.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (head, rest) = stat.rsplit_once(')')?;
        let name = head.split_once('(')?.1.to_owned();
        let parent = rest.split_whitespace().nth(1)?.parse().ok()?;
        Some(Process {
            pid,
            parent,
            name,
            exe: std::fs::read_link(format!("/proc/{pid}/exe")).ok(),
        })
    }
}

/// Every process id in `/proc`, in ascending order (so the same system gives the same answer).
fn pids() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .collect();
    pids.sort_unstable();
    pids
}

fn comm(pid: u32) -> Option<String> {
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(name.trim().to_owned())
}

/// Process `pid`, if it has `device` open, as it was while it had it open: read before and after the look at
/// its descriptors, and again if it ran a new program (`exec`) in between, so a name is never paired with the
/// descriptors of the program it was before.
fn holding(pid: u32, device: &Path) -> Option<Process> {
    for _ in 0..3 {
        let before = Process::read(pid)?;
        if !has_open(pid, device) {
            return None;
        }
        let after = Process::read(pid)?;
        if before == after {
            return Some(after);
        }
    }
    None
}

/// The process that really holds the port, among `holders` (other than this process, `me`). Between `fork` and
/// `exec` a child is a copy of its parent with all of its descriptors, the port's included, and the name of the
/// thread that forked: such a copy of this process (any program this one starts, a hook say) or of another
/// holder is not who holds the port, and naming it would send the user after a process that is gone a moment
/// later. Such a copy runs the same program as its parent, and is left out; once it runs its own program, it
/// counts (a `sleep` given the port as its input really holds it).
fn real_holder(holders: &[Process], me: u32, my_exe: Option<&Path>) -> Option<Holder> {
    let is_fork = |p: &Process| {
        let Some(exe) = p.exe.as_deref() else {
            return false;
        };
        (p.parent == me && my_exe == Some(exe))
            || holders
                .iter()
                .any(|h| h.pid == p.parent && h.exe.as_deref() == Some(exe))
    };
    holders.iter().find(|p| !is_fork(p)).map(|p| Holder {
        pid: p.pid,
        name: p.name.clone(),
    })
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

    fn process(pid: u32, parent: u32, name: &str, exe: &str) -> Process {
        Process {
            pid,
            parent,
            name: name.into(),
            exe: Some(PathBuf::from(exe)),
        }
    }

    #[test]
    fn copies_between_fork_and_exec_are_not_the_holder() {
        let me = 100;
        let mine = Some(Path::new("/usr/bin/simrelay"));
        // A hook this process is starting: still a copy of it, named after the forking thread.
        let hook = process(200, me, "tokio-runtime-w", "/usr/bin/simrelay");
        assert_eq!(real_holder(std::slice::from_ref(&hook), me, mine), None);
        // Once it runs its own program and still has the port (as its input), it does hold it.
        let sleep = process(200, me, "sleep", "/usr/bin/sleep");
        assert_eq!(
            real_holder(std::slice::from_ref(&sleep), me, mine),
            Some(Holder {
                pid: 200,
                name: "sleep".into()
            })
        );
        // minicom forking a helper: the helper shows first (lower pid), but minicom is named.
        let helper = process(300, 400, "minicom", "/usr/bin/minicom");
        let minicom = process(400, 1, "minicom", "/usr/bin/minicom");
        assert_eq!(
            real_holder(&[helper, minicom], me, mine).map(|h| h.pid),
            Some(400)
        );
        // A daemon whose parent is gone is no copy of anything; another user's process (no exe) counts.
        let daemon = process(500, 1, "ModemManager", "/usr/sbin/ModemManager");
        assert_eq!(real_holder(&[daemon], me, mine).map(|h| h.pid), Some(500));
        let hidden = Process {
            exe: None,
            ..process(600, me, "x", "/")
        };
        assert_eq!(real_holder(&[hidden], me, mine).map(|h| h.pid), Some(600));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn process_status_is_read_from_proc() {
        let me = Process::read(std::process::id()).expect("this process");
        assert_eq!(me.parent, std::os::unix::process::parent_id());
        assert_eq!(me.exe, std::env::current_exe().ok());
        assert!(!me.name.is_empty());
    }

    /// The race that made this suite flaky: the test binary's own child, between `fork` and `exec`, holds every
    /// descriptor of the test process. A `pre_exec` that waits holds such a child in that state on purpose.
    #[test]
    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)] // `pre_exec` is the only way to keep a child between fork and exec; it only sleeps.
    fn a_child_between_fork_and_exec_is_not_named() {
        use std::os::unix::process::CommandExt;
        use std::time::{Duration, Instant};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ttyFAKE");
        std::fs::write(&path, b"").unwrap();
        let device = std::fs::canonicalize(&path).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let spawner = std::thread::spawn(move || {
            let mut command = std::process::Command::new("sleep");
            command.arg("30").stdin(file);
            // SAFETY: the closure runs in the forked child and only calls nanosleep, which is
            // async-signal-safe; it allocates nothing and takes no lock.
            unsafe {
                command.pre_exec(|| {
                    std::thread::sleep(Duration::from_millis(1500));
                    Ok(())
                });
            }
            command.spawn()
        });
        let me = std::process::id();
        let my_exe = std::env::current_exe().ok();
        let mut fork_seen = None;
        let start = Instant::now();
        while fork_seen.is_none() && start.elapsed() < Duration::from_secs(20) {
            fork_seen = pids().into_iter().find(|pid| {
                Process::read(*pid)
                    .is_some_and(|p| p.parent == me && p.exe == my_exe && has_open(*pid, &device))
            });
            std::thread::sleep(Duration::from_millis(10));
        }
        let fork = fork_seen.expect("the forked child, before its exec, holds the file");
        let facts = PortFacts::gather(&path.to_string_lossy());
        let mut child = spawner.join().unwrap().unwrap();
        assert_eq!(child.id(), fork);
        // Either it is still the copy (nobody is named), or it has become `sleep` meanwhile.
        if let Some(holder) = &facts.holder {
            assert_eq!((holder.pid, holder.name.as_str()), (fork, "sleep"));
        }
        let mut after = PortFacts::default();
        while start.elapsed() < Duration::from_secs(20) {
            after = PortFacts::gather(&path.to_string_lossy());
            if after.holder.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(
            after.holder,
            Some(Holder {
                pid: fork,
                name: "sleep".into()
            })
        );
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
