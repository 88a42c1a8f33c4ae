//! The engine's integration tests, in one binary (one link, one place for fixtures): a real engine on an
//! ephemeral port over a real SQLite file, real HTTP and WebSocket clients, real pseudo-terminal modems, and
//! the real `simrelay` binary. Add a module here rather than a new file under `tests/`.
//!
//! `search_scale` is a benchmark, ignored by default (see its module doc).

mod common;

mod api;
mod burst;
mod calls;
mod cli;
mod codes;
mod contract;
mod copy_db;
mod devices;
mod field;
mod forwarders;
mod hooks;
mod logging;
mod metrics;
mod modem_config;
mod modem_health;
mod modem_path;
mod modems_runtime;
mod mqtt;
mod search_scale;
mod security;
mod server;
mod settings;
mod sim_pin;
mod sources;
mod tls;
mod trust;
mod webhooks;
