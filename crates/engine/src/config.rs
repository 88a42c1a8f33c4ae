//! What an engine is started with, where SimRelay keeps its files, and the one place both programs resolve it.
//!
//! `simrelay serve` and the desktop app (`simrelay-desktop`) both flatten [`ConfigFileArg`] and [`EngineArgs`]
//! into their command lines and call [`resolve`], so both read the same file, the same `SIMRELAY_*` variables
//! and the same flags, in the same order: built-in defaults < the TOML file < the environment < the flags.
//! The result is a [`Config`] for [`crate::Engine::start`] and the [`Paths`] of everything SimRelay keeps
//! (paired devices, TLS certificate, logs).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::deliver::DeliveryOptions;
use crate::hooks::Hooks;
use crate::mqtt::MqttConfig;
use crate::sources::SourceConfig;
use crate::store::Retention;
use crate::tokens::PairedToken;

/// The port SimRelay listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8731;

/// Default period of the modems' safety sweep, in seconds.
pub const DEFAULT_SWEEP_SECS: u64 = 60;
/// Default of [`Config::modem_lease_secs`].
pub const DEFAULT_MODEM_LEASE_SECS: u64 = 15;

/// The paired-devices file, in the state directory.
pub const TOKENS_FILE: &str = "tokens.toml";

/// Environment variable naming the configuration file (like `--config`).
pub const CONFIG_ENV: &str = "SIMRELAY_CONFIG";

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
    /// Ports (in `modems`) whose modem hangs up on incoming calls (`ATH` on `RING`), for SIMs used only for
    /// codes; each call is still reported and kept in the history.
    pub modem_reject_calls: Vec<String>,
    /// Seconds between two safety sweeps (`AT+CMGL=4`) that pick up messages whose `+CMTI` was lost.
    pub sweep_secs: u64,
    /// Also run the built-in simulated modem and inject a demo message every few seconds.
    pub demo: bool,
    /// The SQLite database file, or a `postgres://` URL (see [`crate::store::Location`]).
    pub db: PathBuf,
    /// This relay's name among the nodes sharing a PostgreSQL database (shown in each modem's status);
    /// `None`: the host name and the port. Unused with SQLite.
    pub node: Option<String>,
    /// How long a node's claim on a configured modem lasts without renewal (PostgreSQL only): a modem port given
    /// to several nodes is driven by one, and taken over by another this long after that node died.
    pub modem_lease_secs: u64,
    /// The machine this node's configured modem ports are on, which scopes their claims in a cluster: nodes on
    /// different machines each drive their own `/dev/ttyUSB0`. `None`: the host's `/etc/machine-id`, else its
    /// host name (see `cluster::machine_id`). Not in the file: tests give nodes in one process different ones.
    pub machine: Option<String>,
    /// Address of the HTTP/WebSocket server; port 0 picks a free port (see [`crate::Engine::local_addr`]).
    pub listen: SocketAddr,
    /// The main access token. `None` makes the engine use the one kept in [`Config::token_path`] (generated there
    /// on first use), or a fresh one for this run when there is no such file. A configured token shorter than
    /// [`crate::tokens::MIN_TOKEN_CHARS`] is refused at start.
    pub token: Option<String>,
    /// Seconds between two demo messages (only with `demo`).
    pub demo_interval_secs: u64,
    /// How long messages and codes are kept (default: everything, forever).
    pub retention: Retention,
    /// Commands and webhooks run for each new message (default: none).
    pub hooks: Hooks,
    /// Serve HTTPS and WSS with a self-signed certificate made on first use (see [`crate::tls`]).
    pub tls: bool,
    /// The directory where the engine keeps the files it writes besides the database: the paired devices
    /// (`tokens.toml`) and the TLS certificate. `None` (tests): devices live in memory only, and the certificate
    /// goes to `tls_dir` or the default config directory.
    pub state_dir: Option<PathBuf>,
    /// Where the certificate and its key are kept, overriding `state_dir` (`None`: `state_dir`, else the
    /// default config directory).
    pub tls_dir: Option<PathBuf>,
    /// Further accepted tokens, one per paired device (see [`crate::tokens`]); they count only when the
    /// server requires a token at all (`token` set, or a non-loopback `listen`).
    pub paired_tokens: Vec<PairedToken>,
    /// The paired-devices file the engine reads and writes (`/api/devices`), overriding `state_dir`. With
    /// neither, the devices live in memory only, starting from `paired_tokens`.
    pub tokens_file: Option<PathBuf>,
    /// Where the generated main token is kept, overriding `state_dir` (`token` there). With neither, a token is
    /// generated for this run only.
    pub token_file: Option<PathBuf>,
    /// Port paths beyond serial devices that `POST /api/modems` and port probing accept: exact paths, or
    /// patterns ending in `*` for any one name in a directory (`/dev/pts/*`).
    pub allowed_ports: Vec<String>,
    /// Addresses beyond the private ones LAN sharing may listen on (`lan_addresses`: IPs or networks).
    pub lan_addresses: Vec<crate::server::AddrRange>,
    /// Serve HTTPS to the LAN (default `true`); `false` shares over plain HTTP.
    pub lan_tls: bool,
    /// The MQTT broker to publish to (`mqtt_url` and the other `mqtt_*` keys); `None`: no MQTT.
    pub mqtt: Option<MqttConfig>,
    /// Where new messages are forwarded through the outbox (`[[forwarders]]`).
    pub forwarders: Vec<simrelay_protocol::Forwarder>,
    /// The key that signs `hook_url`'s requests (generated and kept in the database when not given).
    pub hook_secret: Option<String>,
    /// How the outbox retries and times out (not in the file: the defaults, or a test's).
    pub deliveries: DeliveryOptions,
    /// Provider numbers (Twilio, Vonage) received from and sent through beside the modems (`[[sources]]`).
    pub sources: Vec<SourceConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            modems: Vec::new(),
            modem_labels: BTreeMap::new(),
            modem_pins: BTreeMap::new(),
            modem_reject_calls: Vec::new(),
            sweep_secs: DEFAULT_SWEEP_SECS,
            demo: false,
            db: default_db_path(),
            node: None,
            modem_lease_secs: DEFAULT_MODEM_LEASE_SECS,
            machine: None,
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT),
            token: None,
            demo_interval_secs: 6,
            retention: Retention::default(),
            hooks: Hooks::default(),
            tls: false,
            state_dir: None,
            tls_dir: None,
            paired_tokens: Vec::new(),
            tokens_file: None,
            token_file: None,
            allowed_ports: Vec::new(),
            lan_addresses: Vec::new(),
            lan_tls: true,
            mqtt: None,
            forwarders: Vec::new(),
            hook_secret: None,
            deliveries: DeliveryOptions::default(),
            sources: Vec::new(),
        }
    }
}

impl Config {
    /// The paired-devices file in use: `tokens_file`, else `tokens.toml` in `state_dir`, else none (memory).
    pub fn tokens_path(&self) -> Option<PathBuf> {
        self.tokens_file
            .clone()
            .or_else(|| self.state_dir.as_ref().map(|dir| dir.join(TOKENS_FILE)))
    }

    /// The main token's file in use: `token_file`, else `token` in `state_dir`, else none (this run only).
    pub fn token_path(&self) -> Option<PathBuf> {
        self.token_file.clone().or_else(|| {
            self.state_dir
                .as_ref()
                .map(|dir| dir.join(crate::tokens::MAIN_TOKEN_FILE))
        })
    }

    /// The file of SIM PINs entered in the app: `pins.toml` next to the paired-devices file, none when that
    /// lives in memory.
    pub fn pins_path(&self) -> Option<PathBuf> {
        self.tokens_path()
            .map(|tokens| tokens.with_file_name(crate::pins::PINS_FILE))
    }

    /// The directory of the TLS certificate: `tls_dir`, else `state_dir`, else the default config directory.
    pub fn tls_path(&self) -> PathBuf {
        self.tls_dir
            .clone()
            .or_else(|| self.state_dir.clone())
            .unwrap_or_else(default_tls_dir)
    }
}

/// The `--config` flag, on its own because `simrelay` takes it before any subcommand (`simrelay --config FILE
/// token list`) while the engine flags belong to `serve`; the desktop app flattens both.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct ConfigFileArg {
    /// Configuration file [default: config.toml in the OS config directory; env: SIMRELAY_CONFIG].
    #[arg(long = "config", value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
}

impl ConfigFileArg {
    /// The configuration file: `--config`, else `SIMRELAY_CONFIG`, else [`default_config_path`].
    pub fn path(&self, env: impl Fn(&str) -> Option<String>) -> PathBuf {
        self.config
            .clone()
            .or_else(|| env(CONFIG_ENV).filter(|v| !v.is_empty()).map(PathBuf::from))
            .unwrap_or_else(default_config_path)
    }
}

/// The engine's command-line flags, the same for `simrelay serve` and `simrelay-desktop` (both flatten this).
/// Each one overrides the config file and the environment (see [`resolve`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct EngineArgs {
    /// Serial port of a modem (repeat for several), e.g. /dev/ttyUSB2 or COM5; added to the configured ones.
    #[arg(long = "modem", value_name = "PATH")]
    pub modems: Vec<String>,
    /// Also run a simulated modem that receives a demo message every few seconds.
    #[arg(long)]
    pub demo: bool,
    /// SQLite database file, or a postgres:// URL to share one PostgreSQL database between several relays
    /// [default: simrelay.db in the OS data directory].
    #[arg(long, value_name = "FILE|URL")]
    pub db: Option<PathBuf>,
    /// Address to listen on (a LAN address is served over HTTPS unless lan_tls = false).
    #[arg(long, value_name = "ADDR:PORT", conflicts_with = "lan")]
    pub listen: Option<SocketAddr>,
    /// Share on the local network: also listen on this machine's private LAN addresses, at the configured port,
    /// over HTTPS.
    #[arg(long)]
    pub lan: bool,
    /// The main access token, at least 32 characters [env: SIMRELAY_TOKEN]; by default one is generated and
    /// kept in the state directory (`simrelay token show`).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Serve HTTPS and WSS with a self-signed certificate (made on first use, kept in the state directory).
    #[arg(long)]
    pub tls: bool,
    /// Publish to this MQTT broker: mqtt://[USER:PASSWORD@]HOST[:PORT] or mqtts://... (overrides mqtt_url).
    #[arg(long = "mqtt", value_name = "URL")]
    pub mqtt: Option<String>,
}

/// Where SimRelay's files are, once resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The configuration file (it need not exist).
    pub config_file: PathBuf,
    /// Where SimRelay writes what it keeps besides the database: `tokens.toml`, the TLS certificate and key.
    /// Default: the config file's directory; `state_dir` in the file or `SIMRELAY_STATE_DIR` moves it (a
    /// system service whose config directory is read-only).
    pub state_dir: PathBuf,
    /// The directory of the daily log files; `None` when `log_files = false` (standard error only, which
    /// systemd's journal keeps).
    pub log_dir: Option<PathBuf>,
}

impl Paths {
    /// The paired-devices file.
    pub fn tokens_file(&self) -> PathBuf {
        self.state_dir.join(TOKENS_FILE)
    }

    /// The main token's file (used unless a token is configured).
    pub fn token_file(&self) -> PathBuf {
        self.state_dir.join(crate::tokens::MAIN_TOKEN_FILE)
    }
}

/// A resolved configuration: what to start the engine with, and where the files are.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The engine's configuration, ready for [`crate::Engine::start`] (`state_dir` set).
    pub config: Config,
    /// Where the files are.
    pub paths: Paths,
    /// Whether the address came from the file, the environment or a flag rather than the built-in default (the
    /// desktop app moves to a free port when the default one is taken, never when the user chose it).
    pub listen_given: bool,
}

/// The directory of a config file (`.` for a bare file name).
fn dir_of(file: &Path) -> PathBuf {
    file.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
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

/// The directory of the default config file, where the TLS certificate and key live by default.
pub fn default_tls_dir() -> PathBuf {
    dir_of(&default_config_path())
}

/// The keys of the configuration file, as the error for an unknown one lists them.
pub const KEYS: &str = "modems, modem_labels, modem_pins, modem_reject_calls, sweep_secs, demo, db, node, modem_lease_secs, listen, lan, token, \
    demo_interval_secs, retention_days, retention_messages, purge_codes_after_minutes, hook_command, hook_url, \
    hook_only_codes, hook_timeout_secs, hook_secret, forwarders, tls, state_dir, log_files, sources, mqtt_url, \
    mqtt_username, mqtt_password, mqtt_client_id, mqtt_prefix, mqtt_ca_file, mqtt_send, ha_discovery, \
    ha_discovery_prefix, lan_tls, lan_addresses, allowed_ports";

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
    #[error("invalid configuration file {path}: {message}valid keys: {KEYS}")]
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
    /// The MQTT or forwarder settings are not usable; the message starts with the key.
    #[error("invalid configuration file {path}: {message}")]
    Relay {
        /// The file.
        path: PathBuf,
        /// What is wrong, starting with the key.
        message: String,
    },
    /// The `--mqtt` flag is not a broker URL.
    #[error("invalid --mqtt: {message}")]
    MqttFlag {
        /// What is wrong.
        message: String,
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
    /// A `[[sources]]` entry is wrong (see [`crate::SourceConfig`]).
    #[error("invalid configuration file {path}: sources[{index}] ({name:?}): {error}")]
    Source {
        /// The file.
        path: PathBuf,
        /// Which entry, from 0.
        index: usize,
        /// Its name.
        name: String,
        /// The key and what it should be.
        error: crate::SourceConfigError,
    },
}

/// The keys of the configuration file; all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    modems: Option<Vec<String>>,
    modem_labels: Option<BTreeMap<String, String>>,
    modem_pins: Option<BTreeMap<String, String>>,
    modem_reject_calls: Option<Vec<String>>,
    sweep_secs: Option<u64>,
    modem_lease_secs: Option<u64>,
    demo: Option<bool>,
    db: Option<PathBuf>,
    node: Option<String>,
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
    hook_secret: Option<String>,
    forwarders: Option<Vec<simrelay_protocol::Forwarder>>,
    tls: Option<bool>,
    mqtt_url: Option<String>,
    mqtt_username: Option<String>,
    mqtt_password: Option<String>,
    mqtt_client_id: Option<String>,
    mqtt_prefix: Option<String>,
    mqtt_ca_file: Option<PathBuf>,
    mqtt_send: Option<bool>,
    ha_discovery: Option<bool>,
    ha_discovery_prefix: Option<String>,
    state_dir: Option<PathBuf>,
    log_files: Option<bool>,
    lan_tls: Option<bool>,
    lan_addresses: Option<Vec<String>>,
    allowed_ports: Option<Vec<String>>,
    sources: Option<Vec<SourceConfig>>,
}

/// Resolves the configuration of `simrelay serve` or the desktop app: built-in defaults, then the config file
/// (`file`; absent is fine), then the environment as `env` reports it (pass `|name| std::env::var(name).ok()`),
/// then the `flags`. `--modem` adds to the configured modems; every other flag replaces the value below it.
/// `lan` serves every interface at the port of the address in effect, unless an address was given at the same
/// or a higher layer (an address set in the environment beats `lan = true` in the file).
pub fn resolve(
    file: &ConfigFileArg,
    flags: &EngineArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Resolved, ConfigError> {
    let path = file.path(&env);
    let mut layers = Layers::read(&path, &env)?;
    let config = &mut layers.config;
    config.modems.extend(flags.modems.iter().cloned());
    config.demo |= flags.demo;
    config.tls |= flags.tls;
    if let Some(db) = &flags.db {
        config.db = db.clone();
    }
    if flags.token.is_some() {
        config.token = flags.token.clone();
    }
    if let Some(listen) = flags.listen {
        layers.listen = Some((FLAGS, listen));
    }
    if flags.lan {
        layers.lan = Some((FLAGS, true));
    }
    if let Some(url) = &flags.mqtt {
        let mut mqtt = config
            .mqtt
            .take()
            .unwrap_or_else(|| crate::mqtt::MqttConfig::new(url));
        mqtt.url = url.clone();
        mqtt.check().map_err(|e| ConfigError::MqttFlag {
            message: e.to_string(),
        })?;
        config.mqtt = Some(mqtt);
    }
    let listen_given = layers.listen.is_some() || layers.lan();
    let state_dir = layers.state_dir.take().unwrap_or_else(|| dir_of(&path));
    let log_dir = layers
        .log_files
        .then(|| {
            env(crate::logging::LOG_DIR_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .map(|dir| dir.unwrap_or_else(default_log_dir));
    let mut config = layers.finish();
    config.state_dir = Some(state_dir.clone());
    Ok(Resolved {
        config,
        paths: Paths {
            config_file: path,
            state_dir,
            log_dir,
        },
        listen_given,
    })
}

/// [`resolve`] with this process's environment.
pub fn resolve_from_env(file: &ConfigFileArg, flags: &EngineArgs) -> Result<Resolved, ConfigError> {
    resolve(file, flags, |name| std::env::var(name).ok())
}

/// Builds the configuration from the defaults, the file at `path` (absent is fine), and the environment as
/// `env` reports it (pass `|name| std::env::var(name).ok()`); no flags, no paths (see [`resolve`]).
pub fn load(path: &Path, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    Ok(Layers::read(path, &env)?.finish())
}

/// The layers an address or `lan` came from, lowest first.
const FILE: u8 = 1;
const ENV: u8 = 2;
const FLAGS: u8 = 3;

/// The file and environment layers, with what the flags still combine with.
struct Layers {
    config: Config,
    /// The address and the layer it came from.
    listen: Option<(u8, SocketAddr)>,
    /// `lan` and the layer it came from.
    lan: Option<(u8, bool)>,
    state_dir: Option<PathBuf>,
    log_files: bool,
}

impl Layers {
    fn read(path: &Path, env: &impl Fn(&str) -> Option<String>) -> Result<Layers, ConfigError> {
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
        let mut lan = file.lan.map(|lan| (FILE, lan));
        let mut listen = file.listen.map(|listen| (FILE, listen));
        let mut state_dir = file.state_dir;
        let mut log_files = file.log_files.unwrap_or(true);
        config.modems = file.modems.unwrap_or_default();
        config.modem_labels = file.modem_labels.unwrap_or_default();
        config.modem_pins = file.modem_pins.unwrap_or_default();
        config.modem_reject_calls = file.modem_reject_calls.unwrap_or_default();
        if let Some((port, _)) = config.modem_pins.iter().find(|(_, pin)| {
            !(4..=8).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit())
        }) {
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
        if let Some(secs) = file.modem_lease_secs {
            if secs < 2 {
                return Err(ConfigError::Value {
                    path: path.to_path_buf(),
                    key: "modem_lease_secs".into(),
                    expected:
                        "must be at least 2 (seconds a node's claim on a modem lasts; default 15)",
                });
            }
            config.modem_lease_secs = secs;
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
        config.node = file.node;
        config.sources = file.sources.unwrap_or_default();
        if let Err((index, error)) = crate::sources::check_all(&config.sources) {
            return Err(ConfigError::Source {
                path: path.to_path_buf(),
                index,
                name: config.sources[index].name.clone(),
                error,
            });
        }

        config.deliveries.timeout =
            std::time::Duration::from_secs(config.hooks.timeout_secs.max(1));
        let relay_err = |message: String| ConfigError::Relay {
            path: path.to_path_buf(),
            message,
        };
        config.forwarders = file.forwarders.unwrap_or_default();
        crate::deliver::check_forwarders(&config.forwarders).map_err(relay_err)?;
        config.hook_secret = file.hook_secret;
        if let Some(secret) = &config.hook_secret {
            if secret.len() < crate::deliver::MIN_SECRET {
                return Err(relay_err(format!(
                    "hook_secret must be at least {} characters",
                    crate::deliver::MIN_SECRET
                )));
            }
        }
        let mut mqtt_url = file.mqtt_url;
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
        if let Some((_, node)) = var("SIMRELAY_NODE") {
            config.node = Some(node);
        }
        if let Some((name, value)) = var("SIMRELAY_LISTEN") {
            let addr = value.parse().map_err(|_| ConfigError::Env {
                name,
                value,
                expected: "an address and port such as 127.0.0.1:8731",
            })?;
            listen = Some((ENV, addr));
        }
        if let Some(v) = var("SIMRELAY_LAN") {
            lan = Some((ENV, flag(v)?));
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
        if let Some((_, dir)) = var("SIMRELAY_STATE_DIR") {
            state_dir = Some(PathBuf::from(dir));
        }
        if let Some(v) = var("SIMRELAY_LOG_FILES") {
            log_files = flag(v)?;
        }
        if let Some((_, url)) = var("SIMRELAY_MQTT_URL") {
            mqtt_url = Some(url);
        }
        let mqtt_password = var("SIMRELAY_MQTT_PASSWORD")
            .map(|(_, p)| p)
            .or(file.mqtt_password);
        config.mqtt = match mqtt_url {
            Some(url) => {
                let mut mqtt = MqttConfig::new(&url);
                mqtt.username = file.mqtt_username;
                mqtt.password = mqtt_password;
                mqtt.client_id = file.mqtt_client_id;
                if let Some(prefix) = file.mqtt_prefix {
                    mqtt.prefix = prefix;
                }
                mqtt.ca_file = file.mqtt_ca_file;
                mqtt.send = file.mqtt_send.unwrap_or(true);
                mqtt.discovery = file.ha_discovery.unwrap_or(true);
                if let Some(prefix) = file.ha_discovery_prefix {
                    mqtt.discovery_prefix = prefix;
                }
                mqtt.check().map_err(|e| relay_err(e.to_string()))?;
                Some(mqtt)
            }
            None => None,
        };
        Ok(Layers {
            config,
            listen,
            lan,
            state_dir,
            log_files,
        })
    }

    /// Whether `lan` opens the address: it is on, and no address was given at its layer or above.
    fn lan(&self) -> bool {
        let listen_layer = self.listen.map_or(0, |(layer, _)| layer);
        matches!(self.lan, Some((layer, true)) if layer > listen_layer)
    }

    /// The address in effect: `lan` opens the loopback address of `listen` (or the default) to every interface;
    /// an address that is already not loopback stays as it is.
    fn finish(self) -> Config {
        let lan = self.lan();
        let mut config = self.config;
        let listen = self.listen.map_or(config.listen, |(_, listen)| listen);
        config.listen = match listen.ip() {
            IpAddr::V4(ip) if lan && ip.is_loopback() => {
                SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), listen.port())
            }
            IpAddr::V6(ip) if lan && ip.is_loopback() => {
                SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), listen.port())
            }
            _ => listen,
        };
        config
    }
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
        // The main token is kept in the state directory, next to the paired devices.
        let resolved = resolve(
            &ConfigFileArg {
                config: Some(dir.path().join("none.toml")),
            },
            &EngineArgs::default(),
            env(&[]),
        )
        .expect("resolves");
        assert_eq!(resolved.config.token_path(), Some(dir.path().join("token")));
        assert_eq!(resolved.paths.token_file(), dir.path().join("token"));
    }

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
        // No file at all is the defaults.
        assert_eq!(
            load(&dir.path().join("none.toml"), env(&[])).expect("loads"),
            Config::default()
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
    fn modems_that_reject_calls_are_listed_by_port() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "modems = [\"/dev/ttyUSB2\"]\nmodem_reject_calls = [\"/dev/ttyUSB2\"]\n",
        )
        .expect("write");
        let c = load(&path, env(&[])).expect("loads");
        assert_eq!(c.modem_reject_calls, ["/dev/ttyUSB2"]);
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
            ("modem_lease_secs = 1\n", "modem_lease_secs"),
        ] {
            std::fs::write(&path, text).expect("write");
            let err = load(&path, env(&[])).expect_err("refused").to_string();
            assert!(err.contains(key), "{err}");
            // The PIN itself is a secret: it is not repeated in the error.
            assert!(!err.contains("12a4"), "{err}");
        }
    }

    fn flags(argv: &[&str]) -> EngineArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            engine: EngineArgs,
        }
        let mut all = vec!["simrelay"];
        all.extend_from_slice(argv);
        Cli::try_parse_from(all).expect("valid flags").engine
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "modems = [\"/dev/a\"]\nlisten = \"127.0.0.1:9000\"\ntoken = \"from-file\"\ndb = \"/f.db\"\n",
        )
        .expect("write");
        let file = ConfigFileArg {
            config: Some(path.clone()),
        };
        // The file alone.
        let r = resolve(&file, &EngineArgs::default(), env(&[])).expect("resolves");
        assert_eq!(r.config.listen, "127.0.0.1:9000".parse().expect("addr"));
        assert_eq!(r.config.token.as_deref(), Some("from-file"));
        assert!(r.listen_given);
        // The paired devices and the certificate live next to the config file by default.
        assert_eq!(r.paths.state_dir, dir.path());
        assert_eq!(r.config.state_dir.as_deref(), Some(dir.path()));
        assert_eq!(r.config.tokens_path(), Some(dir.path().join("tokens.toml")));
        assert_eq!(r.config.tls_path(), dir.path());
        assert_eq!(r.paths.config_file, path);

        // The environment over the file.
        let vars = [
            ("SIMRELAY_TOKEN", "from-env"),
            ("SIMRELAY_LISTEN", "127.0.0.1:9001"),
        ];
        let r = resolve(&file, &EngineArgs::default(), env(&vars)).expect("resolves");
        assert_eq!(r.config.token.as_deref(), Some("from-env"));
        assert_eq!(r.config.listen.port(), 9001);

        // Flags over both; --modem adds to the configured modems.
        let r = resolve(
            &file,
            &flags(&[
                "--token",
                "from-flag",
                "--listen",
                "127.0.0.1:9002",
                "--modem",
                "/dev/b",
                "--db",
                "/flag.db",
                "--demo",
                "--tls",
            ]),
            env(&vars),
        )
        .expect("resolves");
        assert_eq!(r.config.token.as_deref(), Some("from-flag"));
        assert_eq!(r.config.listen.port(), 9002);
        assert_eq!(r.config.modems, ["/dev/a", "/dev/b"]);
        assert_eq!(r.config.db, PathBuf::from("/flag.db"));
        assert!(r.config.demo && r.config.tls);

        // --lan opens the address in effect (its port) to every interface, and so does the environment's
        // SIMRELAY_LAN over the file's address; the file's own `lan` does not override the file's `listen`.
        // --mqtt sets the broker over the file's and the environment's, keeping the other mqtt_* keys.
        let r = resolve(
            &file,
            &flags(&["--mqtt", "mqtts://broker.lan"]),
            env(&[("SIMRELAY_MQTT_URL", "mqtt://from-env")]),
        )
        .expect("resolves");
        assert_eq!(
            r.config.mqtt.map(|m| m.url).as_deref(),
            Some("mqtts://broker.lan")
        );
        let err = resolve(&file, &flags(&["--mqtt", "http://x"]), env(&[]))
            .expect_err("refused")
            .to_string();
        assert!(err.starts_with("invalid --mqtt: "), "{err}");

        let r = resolve(&file, &flags(&["--lan"]), env(&[])).expect("resolves");
        assert_eq!(r.config.listen, "0.0.0.0:9000".parse().expect("addr"));
        let r = resolve(
            &file,
            &EngineArgs::default(),
            env(&[("SIMRELAY_LAN", "true")]),
        )
        .expect("resolves");
        assert_eq!(r.config.listen, "0.0.0.0:9000".parse().expect("addr"));
        std::fs::write(&path, "listen = \"127.0.0.1:9000\"\nlan = true\n").expect("write");
        let r = resolve(&file, &EngineArgs::default(), env(&[])).expect("resolves");
        assert_eq!(r.config.listen, "127.0.0.1:9000".parse().expect("addr"));
    }

    #[test]
    fn the_config_file_comes_from_the_flag_then_the_environment_then_the_default() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.toml");
        let b = dir.path().join("b.toml");
        std::fs::write(&a, "listen = \"127.0.0.1:1001\"\n").expect("write");
        std::fs::write(&b, "listen = \"127.0.0.1:1002\"\n").expect("write");
        let b_text = b.to_string_lossy().into_owned();
        let vars = [(CONFIG_ENV, b_text.as_str())];
        let by_env = resolve(
            &ConfigFileArg::default(),
            &EngineArgs::default(),
            env(&vars),
        )
        .expect("resolves");
        assert_eq!(by_env.config.listen.port(), 1002);
        let by_flag = resolve(
            &ConfigFileArg { config: Some(a) },
            &EngineArgs::default(),
            env(&vars),
        )
        .expect("resolves");
        assert_eq!(by_flag.config.listen.port(), 1001);
        assert_eq!(
            ConfigFileArg::default().path(env(&[])),
            default_config_path()
        );
    }

    #[test]
    fn a_service_moves_its_state_and_turns_log_files_off() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        let file = ConfigFileArg {
            config: Some(path.clone()),
        };
        // Without a listen anywhere the address is the default, which the desktop may move off.
        let r = resolve(
            &file,
            &EngineArgs::default(),
            env(&[("SIMRELAY_LOG_DIR", "/l")]),
        )
        .expect("resolves");
        assert!(!r.listen_given);
        assert_eq!(r.paths.log_dir.as_deref(), Some(Path::new("/l")));
        assert_eq!(
            resolve(&file, &EngineArgs::default(), env(&[]))
                .expect("resolves")
                .paths
                .log_dir,
            Some(default_log_dir())
        );

        std::fs::write(&path, "state_dir = \"/var/lib/x\"\nlog_files = false\n").expect("write");
        let r = resolve(&file, &EngineArgs::default(), env(&[])).expect("resolves");
        assert_eq!(r.paths.state_dir, PathBuf::from("/var/lib/x"));
        assert_eq!(
            r.paths.tokens_file(),
            PathBuf::from("/var/lib/x/tokens.toml")
        );
        assert_eq!(r.config.tls_path(), PathBuf::from("/var/lib/x"));
        assert_eq!(r.paths.log_dir, None, "log_files = false: the journal only");
        let r = resolve(
            &file,
            &EngineArgs::default(),
            env(&[("SIMRELAY_STATE_DIR", "/s"), ("SIMRELAY_LOG_FILES", "1")]),
        )
        .expect("resolves");
        assert_eq!(r.paths.state_dir, PathBuf::from("/s"));
        assert!(r.paths.log_dir.is_some());
    }

    #[test]
    fn sources_are_read_and_a_wrong_one_names_its_entry_and_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[[sources]]\nname = \"twilio-us\"\nkind = \"twilio\"\nauth_token = \"t\"\nnumber = \"+15555550199\"\n\
             [[sources]]\nname = \"vonage-uk\"\nkind = \"vonage\"\nsignature_secret = \"s\"\nsignature_method = \"sha256\"\n",
        )
        .expect("write");
        let c = load(&path, env(&[])).expect("loads");
        let names: Vec<&str> = c.sources.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["twilio-us", "vonage-uk"]);
        assert_eq!(c.sources[1].kind, crate::SourceKind::Vonage);
        std::fs::write(
            &path,
            "[[sources]]\nname = \"v\"\nkind = \"vonage\"\nsignature_secret = \"s\"\nauth_token = \"t\"\n",
        )
        .expect("write");
        let err = load(&path, env(&[])).expect_err("refused").to_string();
        assert!(
            err.contains("sources[0]") && err.contains("auth_token"),
            "{err}"
        );
        std::fs::write(&path, "[[sources]]\nname = \"x\"\nkind = \"sinch\"\n").expect("write");
        let err = load(&path, env(&[])).expect_err("refused").to_string();
        assert!(err.contains("sinch") || err.contains("kind"), "{err}");
    }

    #[test]
    fn mqtt_and_forwarders_are_read_and_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "mqtt_url = \"mqtt://ha:pw@broker.lan\"\nmqtt_prefix = \"home/sms\"\nha_discovery = false\n\
             hook_secret = \"0123456789abcdef0123\"\n\
             [[forwarders]]\nname = \"phone\"\nkind = \"ntfy\"\ntopic = \"my-sms\"\nonly_codes = true\n",
        )
        .expect("write");
        let c = load(&path, env(&[("SIMRELAY_MQTT_PASSWORD", "from-env")])).expect("loads");
        let mqtt = c.mqtt.expect("mqtt");
        assert_eq!(mqtt.url, "mqtt://ha:pw@broker.lan");
        assert_eq!(mqtt.prefix, "home/sms");
        assert!(!mqtt.discovery && mqtt.send);
        assert_eq!(mqtt.password.as_deref(), Some("from-env"));
        assert_eq!(c.forwarders.len(), 1);
        assert!(c.forwarders[0].only_codes);
        assert_eq!(c.hook_secret.as_deref(), Some("0123456789abcdef0123"));

        for (text, key) in [
            ("mqtt_url = \"http://x\"\n", "mqtt_url"),
            (
                "mqtt_url = \"mqtt://x\"\nmqtt_prefix = \"a/#\"\n",
                "mqtt_prefix",
            ),
            (
                "[[forwarders]]\nname = \"x\"\nkind = \"gotify\"\n",
                "forwarders[0].url",
            ),
            ("[[forwarders]]\nname = \"x\"\nkind = \"pager\"\n", "kind"),
            ("hook_secret = \"short\"\n", "hook_secret"),
        ] {
            std::fs::write(&path, text).expect("write");
            let err = load(&path, env(&[])).expect_err("refused").to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
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
