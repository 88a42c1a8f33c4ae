//! SimRelay's modem layer: the AT-command driver that reads SMS from a GSM modem on a serial port
//! without ever losing one, and a simulator of such a modem on a real pseudo-terminal.
//!
//! Layers, bottom up:
//! - [`transport`]: the byte-stream seam (tokio-serial in production, any `AsyncRead + AsyncWrite`
//!   in tests);
//! - [`framer`]: pure splitting of modem output into echo, response lines, final results, URCs and
//!   the `> ` prompt, at any read boundary;
//! - `channel`: one AT command at a time, with timeouts and a guard time, URCs set aside;
//! - [`driver`]: the per-modem task (init, drain, `+CMTI` → `AT+CMGR`, delete on request, reconnect),
//!   reached through a [`ModemHandle`] and reporting [`ModemEvent`]s;
//! - [`sim`]: the simulator used by tests and the `--demo` mode.
//!
//! The driver does not decode PDUs: it hands the raw bytes to the engine, which commits them and
//! only then asks for the slot to be deleted.

// Tests may unwrap: a panic there is a failed test, not a crash on input.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod channel;
pub mod driver;
pub mod errors;
pub mod framer;
mod listing;
pub use listing::Registration;
mod negotiate;
pub mod probe;
pub mod sim;
pub mod transport;

pub use driver::{
    spawn, spawn_with, LinkState, ModemConfig, ModemEvent, ModemHandle, ModemStatus, Received,
    Timeouts,
};
pub use errors::{AtError, ErrorFamily, ModemError};
pub use probe::{probe, ProbeResult};
pub use sim::{SimOptions, Simulator};
