//! Measuring SimRelay from the outside: the pieces the `simrelay-bench` binary and the desktop benchmark share.
//!
//! Everything here drives real things: the servers run as child processes (`simrelay_testkit::process`),
//! messages enter on a simulated modem's pseudo-terminal (`simrelay_modem::Simulator`), optionally through a
//! serial line paced at a baud rate ([`line`]), and clients speak real WebSocket (and Socket.IO for the Python
//! baseline) over loopback ([`client`]). [`stats`] summarises what was measured. Fixtures the tests share too
//! (ports, binaries, raw HTTP, numbered PDUs, `/proc` readings) live in `simrelay-testkit`.

pub mod client;
pub mod line;
pub mod stats;
