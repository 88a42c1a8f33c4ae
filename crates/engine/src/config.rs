//! What an engine is started with, and where SimRelay keeps its files by default.
//!
//! The headless CLI and the desktop shell both build a [`Config`] and hand it to [`crate::Engine::start`], so
//! both modes use the same defaults and the same paths.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// The port SimRelay listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8731;

/// Everything needed to start an [`crate::Engine`].
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Serial ports of real modems (`/dev/ttyUSB2`, `COM5`, ...).
    pub modems: Vec<String>,
    /// Also run the built-in simulated modem and inject a demo message every few seconds.
    pub demo: bool,
    /// The SQLite database file.
    pub db: PathBuf,
    /// Address of the HTTP/WebSocket server; port 0 picks a free port (see [`crate::Engine::local_addr`]).
    pub listen: SocketAddr,
    /// Access token for the API. `None` on a loopback address means no token; `None` on any other
    /// address makes the engine generate one, because a LAN-visible inbox of verification codes must not be open.
    pub token: Option<String>,
    /// Seconds between two demo messages (only with `demo`).
    pub demo_interval_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            modems: Vec::new(),
            demo: false,
            db: default_db_path(),
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT),
            token: None,
            demo_interval_secs: 6,
        }
    }
}

/// The database file in the OS data directory (`~/.local/share/simrelay/simrelay.db` on Linux), or
/// `simrelay.db` in the working directory when the OS has no home directory for us.
pub fn default_db_path() -> PathBuf {
    directories::ProjectDirs::from("", "", "simrelay")
        .map(|dirs| dirs.data_dir().join("simrelay.db"))
        .unwrap_or_else(|| PathBuf::from("simrelay.db"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_loopback_and_a_db_file() {
        let c = Config::default();
        assert!(c.listen.ip().is_loopback());
        assert_eq!(c.listen.port(), DEFAULT_PORT);
        assert_eq!(
            c.db.file_name().and_then(|n| n.to_str()),
            Some("simrelay.db")
        );
        assert!(c.token.is_none() && c.modems.is_empty() && !c.demo);
    }
}
