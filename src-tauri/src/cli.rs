//! Command-line options of `simrelay-desktop`: the engine's own flags and config file (the same as `simrelay
//! serve`, flattened from the engine, which resolves them), plus what only the desktop does.

use clap::Parser;
use simrelay_engine::config::{self, ConfigError, ConfigFileArg, EngineArgs, Resolved};
use simrelay_protocol::Notifications;

/// Options of the desktop app.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "simrelay-desktop",
    version,
    about = "SimRelay desktop app: a live SMS inbox from a GSM modem",
    after_help = "The engine reads the same configuration as `simrelay serve` (config.toml, SIMRELAY_* variables, \
                  paired devices, TLS certificate); `simrelay config` prints it. Without an address from there, a \
                  taken default port falls back to a free one."
)]
pub struct DesktopArgs {
    /// The configuration file.
    #[command(flatten)]
    pub file: ConfigFileArg,
    /// The engine's flags, as for `simrelay serve`.
    #[command(flatten)]
    pub engine: EngineArgs,
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

impl DesktopArgs {
    /// The engine's configuration and paths: defaults < config file < environment (`env`) < these flags, exactly
    /// as `simrelay serve` resolves them.
    pub fn resolve(&self, env: impl Fn(&str) -> Option<String>) -> Result<Resolved, ConfigError> {
        config::resolve(&self.file, &self.engine, env)
    }
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
        assert_eq!(args.engine.modems, ["/dev/ttyUSB0", "/dev/ttyUSB2"]);
        assert!(args.engine.demo);
        assert_eq!(
            args.engine.db.as_deref(),
            Some(std::path::Path::new("/tmp/x.db"))
        );
        assert_eq!(args.engine.listen, None);
        assert_eq!(args.notify, None, "no flag: the engine's settings decide");
        assert_eq!(args.clipboard_clear_secs, None);
    }

    #[test]
    fn the_config_file_and_environment_of_simrelay_serve_apply() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9100\"\ntoken = \"file-token\"\nmodems = [\"/dev/ttyUSB2\"]\n\
             [modem_labels]\n\"/dev/ttyUSB2\" = \"Work SIM\"\n",
        )
        .unwrap();
        let args = DesktopArgs::try_parse_from([
            "simrelay-desktop",
            "--config",
            file.to_str().unwrap(),
            "--modem",
            "/dev/ttyACM0",
            "--minimized",
        ])
        .unwrap();
        let env = |name: &str| (name == "SIMRELAY_DEMO").then(|| "true".to_owned());
        let resolved = args.resolve(env).unwrap();
        let config = &resolved.config;
        assert_eq!(config.listen, "127.0.0.1:9100".parse().unwrap());
        assert_eq!(config.token.as_deref(), Some("file-token"));
        assert_eq!(config.modems, ["/dev/ttyUSB2", "/dev/ttyACM0"]);
        assert_eq!(config.modem_labels["/dev/ttyUSB2"], "Work SIM");
        assert!(config.demo, "SIMRELAY_DEMO applies to the app too");
        assert!(resolved.listen_given, "an address the user chose is kept");
        assert_eq!(
            config.tokens_path(),
            Some(dir.path().join("tokens.toml")),
            "devices paired in the app go to the file `simrelay token` uses"
        );
        // Every engine flag of `simrelay serve` is the app's too.
        let all = DesktopArgs::try_parse_from([
            "simrelay-desktop",
            "--lan",
            "--tls",
            "--token",
            "t",
            "--db",
            "/x.db",
        ])
        .unwrap();
        assert!(all.engine.lan && all.engine.tls);
        assert_eq!(all.engine.token.as_deref(), Some("t"));
    }

    #[test]
    fn rejects_a_bad_listen_address() {
        assert!(DesktopArgs::try_parse_from(["simrelay-desktop", "--listen", "nowhere"]).is_err());
    }
}
