//! What an engine is started with, and where SimRelay keeps its files by default.
//!
//! The headless CLI and the desktop shell both build a [`Config`] and hand it to [`crate::Engine::start`], so
//! both modes use the same defaults and the same paths. [`load`] layers the sources: built-in defaults, then
//! the TOML file in the OS config directory, then `SIMRELAY_*` environment variables; command-line flags go
//! on top of that in the binary.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::hooks::Hooks;
use crate::store::Retention;
use crate::tokens::PairedToken;

/// The port SimRelay listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8731;

/// Default period of the modems' safety sweep, in seconds.
pub const DEFAULT_SWEEP_SECS: u64 = 60;

/// Everything needed to start an [`crate::Engine`].
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Serial ports of real modems (`/dev/ttyUSB2`, `COM5`, ...).
    pub modems: Vec<String>,
    /// The user's name for a modem, by its port in `modems` (shown as `label` in its status).
    pub modem_labels: BTreeMap<String, String>,
    /// SIM PINs, by port in `modems`: entered once when the SIM asks. A rejected PIN stops that modem with an
    /// error and is never tried again on its own (three wrong tries lock the SIM into PUK).
    pub modem_pins: BTreeMap<String, String>,
    /// Seconds between two safety sweeps (`AT+CMGL=4`) that pick up messages whose `+CMTI` was lost.
    pub sweep_secs: u64,
    /// Also run the built-in simulated modem and inject a demo message every few seconds.
    pub demo: bool,
    /// The SQLite database file.
    pub db: PathBuf,
    /// Address of the HTTP/WebSocket server; port 0 picks a free port (see [`crate::Engine::local_addr`]).
    pub listen: SocketAddr,
    /// The main access token. `None` makes the engine use the one kept in `token_file` (generated there on first
    /// use), or a fresh one for this run when there is no file. A configured token shorter than
    /// [`crate::tokens::MIN_TOKEN_CHARS`] is refused at start.
    pub token: Option<String>,
    /// Where the generated main token is kept (`token` in the config directory; see
    /// [`crate::tokens::default_main_token_path`]). `None` keeps it in memory for this run only.
    pub token_file: Option<PathBuf>,
    /// Port paths beyond serial devices that `POST /api/modems` and port probing accept: exact paths, or patterns
    /// ending in `*` for any one name in a directory (`/dev/pts/*`).
    pub allowed_ports: Vec<String>,
    /// Addresses beyond the private ones LAN sharing may listen on (`lan_addresses`: IPs or networks).
    pub lan_addresses: Vec<crate::server::AddrRange>,
    /// Serve HTTPS to the LAN (default `true`); `false` shares over plain HTTP.
    pub lan_tls: bool,
    /// Seconds between two demo messages (only with `demo`).
    pub demo_interval_secs: u64,
    /// How long messages and codes are kept (default: everything, forever).
    pub retention: Retention,
    /// Commands and webhooks run for each new message (default: none).
    pub hooks: Hooks,
    /// Serve HTTPS and WSS with a self-signed certificate made on first use (see [`crate::tls`]).
    pub tls: bool,
    /// Where the certificate and its key are kept: the config directory (`None`: the default one).
    pub tls_dir: Option<PathBuf>,
    /// Further accepted tokens, one per paired device (see [`crate::tokens`]); they count only when the
    /// server requires a token at all (`token` set, or a non-loopback `listen`).
    pub paired_tokens: Vec<PairedToken>,
    /// The paired-devices file (`tokens.toml`) the engine reads and writes (`/api/devices`). `None` keeps the
    /// devices in memory only, starting from `paired_tokens`.
    pub tokens_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            modems: Vec::new(),
            modem_labels: BTreeMap::new(),
            modem_pins: BTreeMap::new(),
            sweep_secs: DEFAULT_SWEEP_SECS,
            demo: false,
            db: default_db_path(),
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT),
            token: None,
            token_file: None,
            allowed_ports: Vec::new(),
            lan_addresses: Vec::new(),
            lan_tls: true,
            demo_interval_secs: 6,
            retention: Retention::default(),
            hooks: Hooks::default(),
            tls: false,
            tls_dir: None,
            paired_tokens: Vec::new(),
            tokens_file: None,
        }
    }
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "simrelay")
}

/// The configuration file: `config.toml` in the OS config directory (`~/.config/simrelay/` on Linux).
pub fn default_config_path() -> PathBuf {
    project_dirs()
        .map(|dirs| dirs.config_dir().join("config.toml"))
        .unwrap_or_else(|| PathBuf::from("simrelay.toml"))
}

/// The directory for logs, where each OS keeps them: `$XDG_STATE_HOME/simrelay/logs` (by default
/// `~/.local/state/simrelay/logs`) on Linux, `~/Library/Logs/simrelay` on macOS, `%LOCALAPPDATA%\simrelay\data\logs`
/// on Windows. [`crate::logging::log_dir`] adds the `SIMRELAY_LOG_DIR` override.
pub fn default_log_dir() -> PathBuf {
    if cfg!(target_os = "macos") {
        if let Some(base) = directories::BaseDirs::new() {
            return base.home_dir().join("Library/Logs/simrelay");
        }
    }
    project_dirs()
        .map(|dirs| match dirs.state_dir() {
            Some(state) => state.join("logs"),
            None => dirs.data_local_dir().join("logs"),
        })
        .unwrap_or_else(|| PathBuf::from("logs"))
}

/// The directory of the config file, where the TLS certificate and key live by default.
pub fn default_tls_dir() -> PathBuf {
    default_config_path()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Why the configuration is invalid; every message names the key or variable and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or has a wrong key or value.
    #[error("invalid configuration file {path}: {message}valid keys: modems, modem_labels, modem_pins, sweep_secs, demo, db, listen, lan, token, demo_interval_secs, retention_days, retention_messages, purge_codes_after_minutes, hook_command, hook_url, hook_only_codes, hook_timeout_secs, tls, lan_tls, lan_addresses, allowed_ports")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's description, naming the key and line.
        message: String,
    },
    /// A key of the file has a value of the right type but not a usable one.
    #[error("invalid configuration file {path}: {key} {expected}")]
    Value {
        /// The file.
        path: PathBuf,
        /// The key (`modem_pins."/dev/ttyUSB2"`).
        key: String,
        /// What it should be.
        expected: &'static str,
    },
    /// An environment variable has a value of the wrong kind.
    #[error("invalid environment variable {name}={value:?}: {expected}")]
    Env {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it should look like.
        expected: &'static str,
    },
}

/// The keys of the configuration file; all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    modems: Option<Vec<String>>,
    modem_labels: Option<BTreeMap<String, String>>,
    modem_pins: Option<BTreeMap<String, String>>,
    sweep_secs: Option<u64>,
    demo: Option<bool>,
    db: Option<PathBuf>,
    listen: Option<SocketAddr>,
    lan: Option<bool>,
    token: Option<String>,
    demo_interval_secs: Option<u64>,
    retention_days: Option<u32>,
    retention_messages: Option<u32>,
    purge_codes_after_minutes: Option<u32>,
    hook_command: Option<Vec<String>>,
    hook_url: Option<String>,
    hook_only_codes: Option<bool>,
    hook_timeout_secs: Option<u64>,
    tls: Option<bool>,
    lan_tls: Option<bool>,
    lan_addresses: Option<Vec<String>>,
    allowed_ports: Option<Vec<String>>,
}

/// Builds the configuration from the defaults, the file at `path` (absent is fine), and the environment as
/// `env` reports it (pass `|name| std::env::var(name).ok()`).
pub fn load(path: &Path, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    let mut config = Config::default();
    let file = match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str::<FileConfig>(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileConfig::default(),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    // The generated main token lives next to the config file, whichever program reads it.
    config.token_file = Some(path.with_file_name(crate::tokens::MAIN_TOKEN_FILE));
    let mut lan = file.lan.unwrap_or(false);
    let mut listen = file.listen;
    config.modems = file.modems.unwrap_or_default();
    config.modem_labels = file.modem_labels.unwrap_or_default();
    config.modem_pins = file.modem_pins.unwrap_or_default();
    if let Some((port, _)) = config
        .modem_pins
        .iter()
        .find(|(_, pin)| !(4..=8).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(ConfigError::Value {
            path: path.to_path_buf(),
            key: format!("modem_pins.{port:?}"),
            expected: "must be the SIM PIN: 4 to 8 digits, as a string (\"1234\")",
        });
    }
    if let Some(secs) = file.sweep_secs {
        if secs == 0 {
            return Err(ConfigError::Value {
                path: path.to_path_buf(),
                key: "sweep_secs".into(),
                expected: "must be at least 1 (seconds between two safety sweeps; default 60)",
            });
        }
        config.sweep_secs = secs;
    }
    config.demo = file.demo.unwrap_or(false);
    if let Some(db) = file.db {
        config.db = db;
    }
    config.token = file.token;
    if let Some(secs) = file.demo_interval_secs {
        config.demo_interval_secs = secs;
    }
    config.retention = Retention {
        days: file.retention_days,
        messages: file.retention_messages,
        purge_codes_after_minutes: file.purge_codes_after_minutes,
    };
    config.hooks = Hooks {
        command: file.hook_command.unwrap_or_default(),
        url: file.hook_url,
        only_codes: file.hook_only_codes.unwrap_or(false),
        timeout_secs: file
            .hook_timeout_secs
            .unwrap_or(Hooks::default().timeout_secs),
    };

    config.tls = file.tls.unwrap_or(false);
    config.lan_tls = file.lan_tls.unwrap_or(true);
    config.allowed_ports = file.allowed_ports.unwrap_or_default();
    for (i, entry) in file.lan_addresses.unwrap_or_default().iter().enumerate() {
        let range = entry.parse().map_err(|_| ConfigError::Value {
            path: path.to_path_buf(),
            key: format!("lan_addresses[{i}]"),
            expected:
                "must be an IP address or network such as \"203.0.113.7\" or \"2001:db8::/64\"",
        })?;
        config.lan_addresses.push(range);
    }

    let var = |name: &'static str| env(name).filter(|v| !v.is_empty()).map(|v| (name, v));
    let flag = |(name, value): (&'static str, String)| match value.as_str() {
        "1" | "true" | "yes" => Ok(true),
        "0" | "false" | "no" => Ok(false),
        _ => Err(ConfigError::Env {
            name,
            value,
            expected: "true or false",
        }),
    };
    if let Some((_, modems)) = var("SIMRELAY_MODEMS") {
        config.modems = modems
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect();
    }
    if let Some(v) = var("SIMRELAY_DEMO") {
        config.demo = flag(v)?;
    }
    if let Some((_, db)) = var("SIMRELAY_DB") {
        config.db = PathBuf::from(db);
    }
    if let Some((name, value)) = var("SIMRELAY_LISTEN") {
        listen = Some(value.parse().map_err(|_| ConfigError::Env {
            name,
            value,
            expected: "an address and port such as 127.0.0.1:8731",
        })?);
    }
    if let Some(v) = var("SIMRELAY_LAN") {
        lan = flag(v)?;
    }
    if let Some(v) = var("SIMRELAY_TLS") {
        config.tls = flag(v)?;
    }
    if let Some(v) = var("SIMRELAY_LAN_TLS") {
        config.lan_tls = flag(v)?;
    }
    if let Some((_, token)) = var("SIMRELAY_TOKEN") {
        config.token = Some(token);
    }
    config.listen = match (listen, lan) {
        (Some(listen), _) => listen,
        (None, true) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), DEFAULT_PORT),
        (None, false) => config.listen,
    };
    Ok(config)
}

/// The database file in the OS data directory (`~/.local/share/simrelay/simrelay.db` on Linux), or
/// `simrelay.db` in the working directory when the OS has no home directory for us.
pub fn default_db_path() -> PathBuf {
    project_dirs()
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

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn file_then_environment_override_the_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "modems = [\"/dev/ttyUSB2\"]\ndb = \"/tmp/x.db\"\nlan = true\ndemo = true\nretention_days = 30\n",
        )
        .expect("write");
        let c = load(&path, env(&[])).expect("loads");
        assert_eq!(c.modems, vec!["/dev/ttyUSB2".to_owned()]);
        assert_eq!(c.db, PathBuf::from("/tmp/x.db"));
        assert!(c.demo);
        assert_eq!(c.listen, "0.0.0.0:8731".parse().expect("addr"));
        assert_eq!(
            c.retention,
            Retention {
                days: Some(30),
                ..Retention::default()
            }
        );

        let c = load(
            &path,
            env(&[
                ("SIMRELAY_MODEMS", "/dev/a, /dev/b"),
                ("SIMRELAY_DEMO", "0"),
                ("SIMRELAY_LISTEN", "127.0.0.1:9000"),
            ]),
        )
        .expect("loads");
        assert_eq!(c.modems, vec!["/dev/a".to_owned(), "/dev/b".to_owned()]);
        assert!(!c.demo);
        assert_eq!(c.listen, "127.0.0.1:9000".parse().expect("addr"));
        // No file at all is the defaults, with the main token kept next to where the file would be.
        assert_eq!(
            load(&dir.path().join("none.toml"), env(&[])).expect("loads"),
            Config {
                token_file: Some(dir.path().join("token")),
                ..Config::default()
            }
        );
    }

    #[test]
    fn modems_get_labels_by_port() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "modems = [\"/dev/ttyUSB2\"]\n[modem_labels]\n\"/dev/ttyUSB2\" = \"Work SIM\"\n",
        )
        .expect("write");
        let c = load(&path, env(&[])).expect("loads");
        assert_eq!(
            c.modem_labels.get("/dev/ttyUSB2").map(String::as_str),
            Some("Work SIM")
        );
    }

    #[test]
    fn pins_and_sweep_are_read_and_bad_values_name_the_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "modems = [\"/dev/ttyUSB2\"]\nsweep_secs = 15\n[modem_pins]\n\"/dev/ttyUSB2\" = \"0042\"\n",
        )
        .expect("write");
        let c = load(&path, env(&[])).expect("loads");
        assert_eq!(
            c.modem_pins.get("/dev/ttyUSB2").map(String::as_str),
            Some("0042")
        );
        assert_eq!(c.sweep_secs, 15);
        assert_eq!(Config::default().sweep_secs, DEFAULT_SWEEP_SECS);

        for (text, key) in [
            (
                "[modem_pins]\n\"/dev/x\" = \"12a4\"\n",
                "modem_pins.\"/dev/x\"",
            ),
            (
                "[modem_pins]\n\"/dev/x\" = \"123\"\n",
                "modem_pins.\"/dev/x\"",
            ),
            ("sweep_secs = 0\n", "sweep_secs"),
        ] {
            std::fs::write(&path, text).expect("write");
            let err = load(&path, env(&[])).expect_err("refused").to_string();
            assert!(err.contains(key), "{err}");
            // The PIN itself is a secret: it is not repeated in the error.
            assert!(!err.contains("12a4"), "{err}");
        }
    }

    #[test]
    fn security_keys_are_read_and_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "allowed_ports = [\"/dev/pts/*\"]\nlan_addresses = [\"203.0.113.7\", \"2001:db8::/64\"]\nlan_tls = false\n",
        )
        .expect("write");
        let c = load(&path, env(&[])).expect("loads");
        assert_eq!(c.allowed_ports, vec!["/dev/pts/*".to_owned()]);
        assert_eq!(c.lan_addresses.len(), 2);
        assert!(!c.lan_tls);
        assert!(
            Config::default().lan_tls,
            "HTTPS on the LAN unless told otherwise"
        );
        let c = load(&path, env(&[("SIMRELAY_LAN_TLS", "1")])).expect("loads");
        assert!(c.lan_tls);
        std::fs::write(&path, "lan_addresses = [\"somewhere\"]\n").expect("write");
        let err = load(&path, env(&[])).expect_err("bad address").to_string();
        assert!(err.contains("lan_addresses[0]"), "{err}");
    }

    #[test]
    fn mistakes_name_the_key_or_variable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "modem = \"/dev/ttyUSB2\"\n").expect("write");
        let err = load(&path, env(&[])).expect_err("unknown key").to_string();
        assert!(err.contains("modem") && err.contains("valid keys"), "{err}");
        std::fs::write(&path, "listen = \"everywhere\"\n").expect("write");
        let err = load(&path, env(&[])).expect_err("bad value").to_string();
        assert!(err.contains("listen"), "{err}");
        let err = load(
            &dir.path().join("none.toml"),
            env(&[("SIMRELAY_DEMO", "maybe")]),
        )
        .expect_err("bad env");
        assert!(err.to_string().contains("SIMRELAY_DEMO"), "{err}");
    }
}
