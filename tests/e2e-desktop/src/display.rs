//! A private X server (Xvfb) on a free display number.

use crate::process::Guard;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A running Xvfb; stopped on drop.
#[derive(Debug)]
pub struct Xvfb {
    display: String,
    _process: Guard,
}

impl Xvfb {
    /// Starts Xvfb on the first free display from :90 (a range desktops do not use).
    pub fn start() -> std::io::Result<Self> {
        for n in 90..160 {
            if Path::new(&format!("/tmp/.X{n}-lock")).exists()
                || Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            {
                continue;
            }
            let mut process = Guard::spawn(
                "Xvfb",
                Command::new("Xvfb")
                    .args([
                        format!(":{n}").as_str(),
                        "-screen",
                        "0",
                        "1280x800x24",
                        "-nolisten",
                        "tcp",
                        // Without it the server resets when its last client leaves (our readiness probe below),
                        // and a client connecting during the reset fails: GTK's init then panics in the app.
                        "-noreset",
                    ])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null()),
            )
            .map_err(std::io::Error::other)?;
            let socket = format!("/tmp/.X11-unix/X{n}");
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) && process.is_alive() {
                // The socket appears before Xvfb accepts clients; GTK's init panics in the app (tao's
                // EventLoop::new) if it connects too early, so wait until a client connection works.
                if Path::new(&socket).exists() && x11rb::connect(Some(&format!(":{n}"))).is_ok() {
                    return Ok(Self {
                        display: format!(":{n}"),
                        _process: process,
                    });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            // Lost a race for this number (or Xvfb failed): try the next one.
        }
        Err(std::io::Error::other(
            "no free X display between :90 and :159, or Xvfb does not start",
        ))
    }

    /// The `DISPLAY` value, e.g. `:90`.
    pub fn display(&self) -> &str {
        &self.display
    }
}
