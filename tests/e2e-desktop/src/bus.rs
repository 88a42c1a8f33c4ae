//! A private D-Bus session bus (`dbus-daemon --session`), so the test's notifications and single-instance names
//! never touch the developer's own session.

use crate::process::Guard;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// A running session bus; stopped on drop.
#[derive(Debug)]
pub struct SessionBus {
    address: String,
    _process: Guard,
}

impl SessionBus {
    /// Starts `dbus-daemon` and reads the address it listens on. Services it activates (portals, say) get
    /// `display` as their X display.
    pub fn start(display: &str) -> std::io::Result<Self> {
        let mut process = Guard::spawn(
            "dbus-daemon",
            Command::new("dbus-daemon")
                .args(["--session", "--nofork", "--print-address=1"])
                .env("DISPLAY", display)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit()),
        )
        .map_err(std::io::Error::other)?;
        let stdout = process
            .child_mut()
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("dbus-daemon has no stdout"))?;
        let mut address = String::new();
        BufReader::new(stdout).read_line(&mut address)?;
        let address = address.trim().to_owned();
        if address.is_empty() {
            return Err(std::io::Error::other("dbus-daemon printed no address"));
        }
        Ok(Self {
            address,
            _process: process,
        })
    }

    /// The `DBUS_SESSION_BUS_ADDRESS` value.
    pub fn address(&self) -> &str {
        &self.address
    }
}
