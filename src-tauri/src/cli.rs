//! Command-line options of `simrelay-desktop`; the engine flags match `simrelay serve`.

use clap::Parser;
use simrelay_protocol::Notifications;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Options of the desktop app.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "simrelay-desktop",
    version,
    about = "SimRelay desktop app: a live SMS inbox from a GSM modem"
)]
pub struct DesktopArgs {
    /// Serial port of a modem (repeat for several), e.g. /dev/ttyUSB0.
    #[arg(long = "modem", value_name = "PATH")]
    pub modems: Vec<String>,
    /// Use the built-in simulated modem, which injects clearly labelled demo messages.
    #[arg(long)]
    pub demo: bool,
    /// SQLite database file (default: the engine's default in the OS data directory).
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Address the in-process engine listens on (default: the engine's 127.0.0.1:8731, or a free port if that is
    /// taken). Keep it on loopback unless LAN browsers should connect; then the engine requires a token.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,
    /// Seconds after which a copied code is removed from the clipboard again (if it still holds that code; 0 =
    /// never). Overrides the Settings screen's value for this run.
    #[arg(long, value_name = "SECS", env = "SIMRELAY_CLIPBOARD_CLEAR_SECS")]
    pub clipboard_clear_secs: Option<u64>,
    /// Which messages raise a notification: codes, all or none. Overrides the Settings screen's choice for this
    /// run.
    #[arg(long, env = "SIMRELAY_NOTIFY", value_name = "codes|all|none")]
    pub notify: Option<Notifications>,
    /// Keep the code out of the notification text ("New code from Google — click to copy"), whatever the
    /// Settings screen says.
    #[arg(long)]
    pub hide_code: bool,
    /// Copy every new code to the clipboard as soon as it arrives, whatever the Settings screen says.
    #[arg(long)]
    pub auto_copy: bool,
    /// Start in the tray without opening the window (used by start at login).
    #[arg(long)]
    pub minimized: bool,
    /// No tray icon (for desktops without a tray); closing the window then quits.
    #[arg(long, conflicts_with = "minimized")]
    pub no_tray: bool,
    /// Run even when another instance is running, instead of asking it to show its window (tests).
    #[arg(long, hide = true)]
    pub multi_instance: bool,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn flags_match_simrelay_serve() {
        let args = DesktopArgs::try_parse_from([
            "simrelay-desktop",
            "--modem",
            "/dev/ttyUSB0",
            "--modem",
            "/dev/ttyUSB2",
            "--demo",
            "--db",
            "/tmp/x.db",
        ])
        .unwrap();
        assert_eq!(args.modems, ["/dev/ttyUSB0", "/dev/ttyUSB2"]);
        assert!(args.demo);
        assert_eq!(args.db.as_deref(), Some(std::path::Path::new("/tmp/x.db")));
        assert_eq!(args.listen, None);
        assert_eq!(args.notify, None, "no flag: the engine's settings decide");
        assert_eq!(args.clipboard_clear_secs, None);
    }

    #[test]
    fn rejects_a_bad_listen_address() {
        assert!(DesktopArgs::try_parse_from(["simrelay-desktop", "--listen", "nowhere"]).is_err());
    }
}
