//! Fault tests of the real `simrelay` binary live in `tests/`; this library is empty.
//!
//! - `crash.rs`: messages on a simulated SIM and arriving live while `simrelay serve` is SIGKILLed and
//!   restarted; afterwards every message is stored exactly once and the SIM is empty.
//! - `modem_chaos.rs`: a modem that answers in small chunks, splices URCs into responses, prints noise, gets
//!   corrupt PDUs and is unplugged 20 times under `simrelay serve`; every good message is stored once, every
//!   corrupt one raw, the SIM ends empty.
//! - `network.rs`: wrong tokens, malformed requests, 1 MiB bodies, invalid WebSocket frames and clients that
//!   never read; the server answers only 4xx or closes, stays alive, and its memory stays bounded.
//!
//! The binary is `$SIMRELAY_BIN`, or the newest `simrelay` in the usual target directories. A longer run:
//! `cargo xtask soak`.
