//! A private X server (Xvfb) on a display number the server chooses itself.

use crate::process::Guard;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running Xvfb; stopped on drop.
#[derive(Debug)]
pub struct Xvfb {
    display: String,
    _process: Guard,
}

impl Xvfb {
    /// Starts Xvfb and waits until it accepts clients.
    ///
    /// The server picks a free display itself (`-displayfd`) and writes its number once it is ready. Choosing the
    /// number here instead raced: two tests starting at once saw the same free number, the loser's Xvfb exited
    /// while its readiness probe had already reached the winner's, and both tests shared one server until the
    /// first to finish killed it under the other's window.
    pub fn start() -> std::io::Result<Self> {
        let mut process = Guard::spawn(
            "Xvfb",
            Command::new("Xvfb")
                .args([
                    "-displayfd",
                    "1",
                    "-screen",
                    "0",
                    "1280x800x24",
                    "-nolisten",
                    "tcp",
                    // Without it the server resets when its last client leaves, and a client connecting during
                    // the reset fails: GTK's init then panics in the app.
                    "-noreset",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
        )
        .map_err(std::io::Error::other)?
        // SIGTERM first: Xvfb then removes its lock file and socket.
        .gentle();
        let stdout = process
            .child_mut()
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("Xvfb's stdout was not captured"))?;
        // Read on a thread so a server that never gets ready cannot hang the test.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let number = rx
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| std::io::Error::other("Xvfb did not report a display within 30 s"))?;
        let number: u32 = number.trim().parse().map_err(|_| {
            std::io::Error::other(format!(
                "Xvfb did not start (it reported {number:?} instead of a display number)"
            ))
        })?;
        Ok(Self {
            display: format!(":{number}"),
            _process: process,
        })
    }

    /// The `DISPLAY` value, e.g. `:90`.
    pub fn display(&self) -> &str {
        &self.display
    }
}
