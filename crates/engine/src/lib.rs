//! SimRelay's engine: everything between a modem's serial port and the clients, with no GUI.
//!
//! Data flows one way: a modem driver ([`simrelay_modem`]) reports a raw PDU, the ingest loop decodes it
//! ([`simrelay_pdu`]) and extracts a verification code ([`simrelay_otp`]), the [`store::Store`] commits it to
//! SQLite, only then is the SIM slot deleted, and the [`hub::Hub`] broadcasts the message to every consumer:
//! WebSocket clients of the HTTP server, and in-process subscribers such as the desktop shell.
//!
//! [`Engine::start`] wires all of it from a [`Config`]; the `simrelay` binary and the desktop app both use it.

mod cluster;
pub mod config;
pub mod deliver;
mod demo;
mod engine;
mod health;
pub mod hooks;
pub mod hub;
mod ingest;
pub mod logging;
pub mod metrics;
mod modems;
pub mod mqtt;
pub mod offline;
mod outgoing;
pub mod pins;
mod retention;
mod server;
mod sources;
pub mod store;
pub mod tokens;

pub use config::Config;
pub use demo::DEMO_MODEM_ID;
pub use engine::{private_files, Engine, EngineError};
pub use ingest::MULTIPART_TIMEOUT;
pub use server::tls;
pub use server::{generate_token, AddrRange, LanError, SettingsError};
pub use sources::{check_all as check_sources, SourceConfig, SourceConfigError, SourceKind};
