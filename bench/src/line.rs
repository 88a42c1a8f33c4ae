//! A serial line with a baud rate, between the modem simulator and the server.
//!
//! The simulator's pseudo-terminal moves bytes as fast as memory does; a real UART moves one byte per ten bit
//! times (start, 8 data, stop: 86.8 µs at 115200 baud). [`PacedLine`] opens the simulator's pty like a server
//! would, offers the server a pty of its own, and forwards each direction on its own thread, releasing a chunk
//! only once the line would have finished carrying it. Both directions are paced independently (a UART is full
//! duplex). Blocking threads with `std::thread::sleep` are used rather than tokio timers, whose millisecond
//! granularity is ten times coarser than one byte.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};

use simrelay_testkit::KitError;

/// A running paced line. Its threads live as long as the process (a benchmark process runs one scenario).
pub struct PacedLine {
    path: PathBuf,
    carried: Arc<AtomicU64>,
    // The server side's slave fd stays open so the master never sees EIO while the server reconnects.
    _slave: OwnedFd,
}

/// How long one byte takes on the wire at `baud` (8N1: ten bits).
pub fn byte_time(baud: u32) -> Duration {
    Duration::from_secs_f64(10.0 / f64::from(baud.max(1)))
}

impl PacedLine {
    /// Opens `modem` (the simulator's pty) and starts forwarding at `baud`.
    pub fn start(modem: &Path, baud: u32) -> Result<PacedLine, KitError> {
        let pty_err = |e: nix::Error| KitError::io("cannot create the paced line's pty")(e.into());
        let pair = nix::pty::openpty(None, None).map_err(pty_err)?;
        let mut termios = tcgetattr(&pair.slave).map_err(pty_err)?;
        cfmakeraw(&mut termios);
        tcsetattr(&pair.slave, SetArg::TCSANOW, &termios).map_err(pty_err)?;
        let path = nix::unistd::ttyname(&pair.slave).map_err(pty_err)?;

        let modem_side = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(modem)
            .map_err(KitError::io(format!("cannot open {}", modem.display())))?;
        let server_side = File::from(pair.master);
        let per_byte = byte_time(baud);
        let carried = Arc::new(AtomicU64::new(0));
        let clone = |f: &File| {
            f.try_clone()
                .map_err(KitError::io("cannot duplicate a pty handle"))
        };
        forward(
            clone(&modem_side)?,
            clone(&server_side)?,
            per_byte,
            carried.clone(),
        );
        forward(server_side, modem_side, per_byte, carried.clone());
        Ok(PacedLine {
            path,
            carried,
            _slave: pair.slave,
        })
    }

    /// The pty the server opens.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes carried so far, both directions together.
    pub fn carried(&self) -> u64 {
        self.carried.load(Ordering::Relaxed)
    }
}

/// Forwards `from` to `to` on a thread, each chunk released when the line has finished sending it.
fn forward(mut from: File, mut to: File, per_byte: Duration, carried: Arc<AtomicU64>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        // When the line is next free: a chunk that arrives while the previous one is still on the wire queues.
        let mut free_at = Instant::now();
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) => {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                Ok(n) => n,
                Err(_) => {
                    // EIO while the other side has the pty closed; try again shortly.
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
            };
            let now = Instant::now();
            free_at = free_at.max(now) + per_byte * u32::try_from(n).unwrap_or(u32::MAX);
            if let Some(wait) = free_at.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            if to.write_all(&buf[..n]).is_err() {
                continue;
            }
            carried.fetch_add(n as u64, Ordering::Relaxed);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_times() {
        assert_eq!(byte_time(115_200).as_micros(), 86);
        assert_eq!(byte_time(9_600).as_micros(), 1_041);
    }
}
