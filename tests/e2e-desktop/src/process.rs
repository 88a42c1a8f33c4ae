//! Child processes that die with the test, free loopback ports, and where the binaries under test are.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A child process killed and reaped on drop, so a failing test leaves nothing running.
#[derive(Debug)]
pub struct Guard {
    child: Child,
    name: String,
}

impl Guard {
    /// Spawns `command`.
    pub fn spawn(name: &str, command: &mut Command) -> std::io::Result<Self> {
        let child = command
            .spawn()
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot start {name}: {e}")))?;
        Ok(Self {
            child,
            name: name.to_owned(),
        })
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has exited.
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// The child, for reading its pipes.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            if let Err(e) = self.child.kill() {
                eprintln!("could not stop {}: {e}", self.name);
            }
        }
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until something accepts connections on `port` at 127.0.0.1.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    while start.elapsed() < timeout {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// The `simrelay-desktop` binary under test: `$SIMRELAY_DESKTOP_BIN` if set (the project's test script builds the
/// binary and sets it), else the newest `simrelay-desktop` in the workspace's target directories
/// (`$CARGO_TARGET_DIR`, `target/`, `target-*/`; debug or release).
pub fn desktop_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SIMRELAY_DESKTOP_BIN") {
        return Some(PathBuf::from(path));
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut dirs: Vec<PathBuf> = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Ok(entries) = std::fs::read_dir(&root) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name == "target" || name.starts_with("target-") {
                dirs.push(entry.path());
            }
        }
    }
    dirs.iter()
        .flat_map(|d| ["debug", "release"].map(|p| d.join(p).join("simrelay-desktop")))
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .max()
        .map(|(_, p)| p)
}

/// `tauri-driver`: `$TAURI_DRIVER` if set, else on `PATH`, else in `~/.cargo/bin`.
pub fn tauri_driver() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TAURI_DRIVER") {
        return Some(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("tauri-driver"));
    let in_cargo =
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/tauri-driver"));
    on_path.chain(in_cargo).find(|p| p.is_file())
}
