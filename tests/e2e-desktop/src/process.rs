//! Child processes that die with the test, free loopback ports, and where the binaries under test are: the
//! desktop tests' names for what `simrelay_testkit` provides, plus the waits only they need.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use simrelay_testkit::bins;
pub use simrelay_testkit::free_port;
pub use simrelay_testkit::process::Guard;

/// Waits until something accepts connections on `port` at 127.0.0.1.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    simrelay_testkit::wait_until(&format!("port {port}"), timeout, || {
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    })
    .is_ok()
}

/// The `simrelay-desktop` binary under test: `$SIMRELAY_DESKTOP_BIN` if set (the project's test script builds the
/// binary and sets it), else the newest `simrelay-desktop` in the workspace's target directories.
pub fn desktop_binary() -> Option<PathBuf> {
    bins::desktop().ok()
}

/// `tauri-driver`: `$TAURI_DRIVER` if set, else on `PATH`, else in `~/.cargo/bin`.
pub fn tauri_driver() -> Option<PathBuf> {
    bins::tool("TAURI_DRIVER", "tauri-driver")
}
