//! SimRelay's modem layer: the AT-command driver that reads SMS from a GSM modem on a serial port
//! without ever losing one, and a simulator of such a modem on a real pseudo-terminal.
//!
//! Layers, bottom up:
//! - [`transport`]: the byte-stream seam (tokio-serial in production, any `AsyncRead + AsyncWrite`
//!   in tests);
//! - [`framer`]: pure splitting of modem output into echo, response lines, final results, URCs and
//!   the `> ` prompt, at any read boundary;
//! - `channel`: one AT command at a time, with timeouts and the guard time a family needs, URCs
//!   set aside;
//! - `driver`: the per-modem task (init, drain, `+CMT` acknowledged or `+CMTI` → `AT+CMGR`,
//!   delete on request, reads before housekeeping, status from URCs, reconnect), started with
//!   [`spawn`], reached through a [`ModemHandle`] and reporting [`ModemEvent`]s ([`events`]),
//!   configured by a [`ModemConfig`] ([`config`]); [`StatusWatchers`] say when its status is
//!   worth polling;
//!   It also reports incoming calls (`RING`/`+CLIP`, one [`Call`] per call, optionally hung up
//!   on) and runs USSD requests ([`ModemHandle::ussd`]) beside the SMS work, never in its way;
//! - [`sim`]: the simulator used by tests and the `--demo` mode.
//!
//! The driver does not decode PDUs: it hands the raw bytes to the engine, which commits them and
//! only then asks for the slot to be deleted.
//!
//! # Using the driver
//!
//! ```no_run
//! use simrelay_modem::{spawn, ModemConfig, ModemEvent};
//!
//! # async fn run() {
//! let (modem, mut events) = spawn(ModemConfig {
//!     port: "/dev/ttyUSB2".into(),
//!     ..ModemConfig::default()
//! });
//! while let Some(event) = events.recv().await {
//!     match event {
//!         ModemEvent::Received(r) => {
//!             // 1. decode r.pdu and commit it (dedup by modem + hash of the raw PDU: the same
//!             //    message can come twice, e.g. after a reconnect or as +CMT and +CMTI);
//!             // 2. only then free the slot (or acknowledge a direct delivery):
//!             let _ = modem.queue_release(&r).await;
//!         }
//!         ModemEvent::Status(status) => println!("{}: {:?}", status.id, status.state),
//!         _ => {} // more kinds of events may come
//!     }
//! }
//! # }
//! ```
//!
//! A failed release (the modem was unplugged meanwhile) needs no retry: after the reconnect the
//! driver lists the SIM again and hands the message on once more, and an unacknowledged direct
//! delivery comes again from the network.

// Tests may unwrap: a panic there is a failed test, not a crash on input.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod answers;
mod channel;
pub mod config;
mod driver;
pub mod errors;
pub mod events;
pub mod framer;
mod handle;
mod negotiate;
mod pin_counters;
pub mod port_access;
pub mod probe;
pub mod sim;
mod status_urc;
pub mod transport;
mod watch;

pub use config::{family_of, guard_for, reset_command, Family, Guard, ModemConfig, Timeouts};
pub use driver::UssdReply;
pub use driver::{spawn, spawn_with};
pub use errors::{AtError, ErrorFamily, ModemError};
pub use events::{
    Call, LinkState, ModemEvent, ModemStatus, Notice, NoticeKind, Received, Registration,
    StorageUse,
};
pub use handle::ModemHandle;
pub use probe::{probe, ProbeResult};
pub use sim::{SimOptions, Simulator};
pub use watch::{StatusWatch, StatusWatchers};
