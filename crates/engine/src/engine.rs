//! [`Engine`]: the running whole (store, hub, modems, server) behind one start/shutdown pair.
//!
//! The headless `simrelay serve` and the desktop shell both use this, so they behave the same.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use simrelay_protocol::{ServerEvent, Settings, SettingsPatch};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::hub::Hub;
use crate::modems::{ModemDefaults, Modems, Origin};
use crate::server::lan::{LanError, LanOptions, Listeners};
use crate::server::settings::Control;
use crate::server::{self, AppState, Connections, SettingsError};
use crate::sources::Sources;
use crate::store::{settings as stored_settings, Location, Store, StoreError};
use crate::tokens::{self, Devices, TokensError};
use crate::{cluster, deliver, hooks, mqtt, retention};

/// How long start-up waits for the modems to tell their IMEI/ICCID (all at once).
const IDENTIFY_WAIT: Duration = Duration::from_secs(5);

/// How long [`Engine::shutdown`] waits for a task before abandoning it.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The directory for the database could not be created.
    #[error("cannot create the data directory {path}: {source}; create it yourself or pick another file with --db")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The message store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server address could not be bound.
    #[error("cannot listen on {addr}: {source}; is another SimRelay running? pick another address with --listen")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The built-in demo modem could not be started.
    #[error("cannot start the demo modem: {0}")]
    Demo(String),
    /// The TLS certificate could not be made or loaded (`tls = true`).
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The paired-devices file or the main token's file could not be read.
    #[error(transparent)]
    Tokens(#[from] TokensError),
    /// The configured token is too weak to be the only thing between the network and every SMS.
    #[error(
        "the configured access token (--token, SIMRELAY_TOKEN or token in the configuration file) {0}. Make a \
         good one with `simrelay token generate`, or remove it: SimRelay then generates one and keeps it \
         (`simrelay token show` prints it)"
    )]
    WeakToken(String),

    /// The node name (`node`, `SIMRELAY_NODE`) cannot name a node.
    #[error("{0}")]
    Node(String),
    /// LAN sharing was asked for at start (`--lan`, `listen = "0.0.0.0:…"`) and a LAN address refused the port.
    #[error(transparent)]
    Lan(#[from] LanError),
    /// The MQTT settings cannot be used (a bad `mqtt_url`, an unreadable `mqtt_ca_file`).
    #[error(transparent)]
    Mqtt(#[from] mqtt::MqttError),
}

/// A running SimRelay engine. Dropping it without [`Engine::shutdown`] leaves its tasks running until the
/// tokio runtime ends.
#[derive(Debug)]
pub struct Engine {
    local_addr: SocketAddr,
    /// SHA-256 fingerprint of the TLS certificate, when serving HTTPS.
    tls_fingerprint: Option<String>,
    /// The main token; every client needs it or a paired device's.
    token: String,
    store: Store,
    hub: Hub,
    devices: Arc<Devices>,
    listeners: Arc<Listeners>,
    settings: Arc<Control>,
    modems: Modems,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Engine {
    /// Opens the store, starts the modems (and the demo modem), and starts serving HTTP/WebSocket.
    pub async fn start(config: Config) -> Result<Engine, EngineError> {
        // Before any file exists: the database, its -wal and -shm, logs and certificates are the owner's alone.
        private_files();
        server::raise_fd_limit();
        let token = match &config.token {
            Some(token) => {
                if let Some(problem) = tokens::weak_token(token) {
                    return Err(EngineError::WeakToken(problem));
                }
                token.clone()
            }
            None => match &config.token_path() {
                Some(path) => tokens::load_or_create_main_token(path)?,
                None => server::generate_token(),
            },
        };
        let location = Location::of(&config.db);
        if let Location::Sqlite(path) = &location {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                tokens::create_private_dir(dir).map_err(|source| EngineError::DataDir {
                    path: dir.to_path_buf(),
                    source,
                })?;
            }
        }
        // Checked before anything starts, so a typo in mqtt_url stops start-up with its key named.
        let mqtt = config.mqtt.clone().map(mqtt::Prepared::new).transpose()?;
        let tls_dir = config.tls_path();
        // A server started on a LAN address is shared from the start: HTTPS unless plain HTTP was chosen.
        let base_is_lan = !config.listen.ip().is_loopback() && !config.listen.ip().is_unspecified();
        let tls = if config.tls || (base_is_lan && config.lan_tls) {
            let names = crate::tls::certificate_names(config.listen, &config.lan_addresses);
            Some(crate::tls::Tls::load_or_create(&tls_dir, &names)?)
        } else {
            None
        };
        let hub = Hub::new();
        // "Everywhere" (`--lan`, 0.0.0.0) is served as loopback plus each LAN address, so sharing can be
        // switched off at run time without dropping this machine's own clients.
        let everywhere = config.listen.ip().is_unspecified();
        let base = match config.listen.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => {
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), config.listen.port())
            }
            IpAddr::V6(ip) if ip.is_unspecified() => {
                SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), config.listen.port())
            }
            _ => config.listen,
        };
        let listener = TcpListener::bind(base)
            .await
            .map_err(|source| EngineError::Listen { addr: base, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| EngineError::Listen { addr: base, source })?;
        // The store opens once the port is known: a node's default name is the host's and the port.
        let node = match &config.node {
            Some(node) => node.clone(),
            None => cluster::default_node(local_addr.port()),
        };
        cluster::check_node(&node).map_err(EngineError::Node)?;
        let store = Store::open_node(&location, &node).await?;
        if store.cluster().is_some() {
            hub.set_node(&node);
        }
        // A cluster's nodes share their paired devices in the database; a single relay keeps tokens.toml.
        let devices = Arc::new(if store.cluster().is_some() {
            Devices::open_shared(store.clone()).await?
        } else {
            Devices::open(config.tokens_path(), config.paired_tokens.clone())?
        });
        let listeners = Arc::new(Listeners::new(
            local_addr,
            LanOptions {
                also: config.lan_addresses.clone(),
                https: config.lan_tls,
                tls_dir,
            },
        ));
        // Defaults < config file < environment < saved run-time changes; the start address wins for `lan`.
        let mut base = stored_settings::from_config(&config.retention, &config.hooks, false);
        base.forwarders.clone_from(&config.forwarders);
        base.hook_secret.clone_from(&config.hook_secret);
        let mut settings = store.effective_settings(base.clone()).await?;
        if settings.hook_secret.is_none() {
            // Made once and kept, so receivers keep verifying across restarts; the file or Settings override it.
            let secret = store
                .generated_secret("hook_secret", &deliver::generate_secret())
                .await?;
            settings.hook_secret = Some(secret);
        }
        // Before any modem starts: the outbox trigger reads the targets from this table.
        deliver::sync_targets(&store, &settings).await?;
        let want_lan = everywhere || listeners.fixed() || settings.lan;
        settings.lan = listeners.fixed();
        hub.publish_settings(settings);
        let control = Arc::new(Control::new(store.clone(), hub.clone(), listeners.clone()));
        let shutdown = CancellationToken::new();
        let mut tasks = Vec::new();
        // Provider numbers are listed with the modems from the start; they need nothing but the store.
        let (sources, source_tasks) = Sources::start(
            &config.sources,
            store.clone(),
            hub.clone(),
            shutdown.clone(),
        )
        .await;
        tasks.extend(source_tasks);

        let modems = Modems::new(
            store.clone(),
            hub.clone(),
            shutdown.clone(),
            ModemDefaults {
                labels: config.modem_labels.clone(),
                pins: crate::pins::merged(&config.modem_pins, config.pins_path().as_deref()),
                pins_file: config.pins_path(),
                reject_calls: config.modem_reject_calls.iter().cloned().collect(),
                sweep_secs: config.sweep_secs,
                demo_interval_secs: config.demo_interval_secs,
                by_id_root: None,
            },
        );
        let lease = Duration::from_secs(config.modem_lease_secs.max(1));
        let machine = config.machine.clone().unwrap_or_else(cluster::machine_id);
        for port in &config.modems {
            if store.cluster().is_some() {
                // Other nodes may be given this port too (a standby): it is driven by the node holding its claim.
                tasks.push(tokio::spawn(cluster::drive_claimed(
                    store.clone(),
                    modems.clone(),
                    port.clone(),
                    machine.clone(),
                    lease,
                    shutdown.clone(),
                )));
                continue;
            }
            if let Err(e) = modems.add_serial(port, None, Origin::Config).await {
                // Given twice (or through two paths): two drivers on one port would steal each other's answers.
                tracing::warn!(%port, error = %e, "modem given twice; using it once");
            }
        }
        if config.demo {
            if let Err(e) = modems.add_demo(Origin::Config).await {
                shutdown.cancel();
                modems.shutdown().await;
                return Err(EngineError::Demo(e.to_string()));
            }
        }
        // Modems added from the UI in an earlier run, next to the configured ones.
        if let Err(e) = modems.start_added().await {
            shutdown.cancel();
            modems.shutdown().await;
            return Err(e.into());
        }
        // A modem's id (IMEI based) is learned when the driver first talks to it; the API names modems by it.
        // Present modems answer within a second; an absent or silent one is listed under its port path.
        modems.identify_all(IDENTIFY_WAIT).await;

        // Both always run: they read the live settings, which may name hooks or rules later.
        if store.cluster().is_some() {
            tasks.push(tokio::spawn(cluster::run(
                store.clone(),
                hub.clone(),
                modems.clone(),
                devices.clone(),
                base.clone(),
                shutdown.clone(),
            )));
        }
        tasks.push(tokio::spawn(crate::health::record(
            hub.clone(),
            store.clone(),
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(hooks::run(
            store.clone(),
            hub.watch_settings(),
            config.hooks.timeout_secs,
            hub.subscribe(),
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(retention::run(
            store.clone(),
            hub.watch_settings(),
            shutdown.clone(),
        )));
        // A revocation by another process (the CLI) reaches open WebSockets and long polls within a second.
        tasks.push(tokio::spawn(devices.clone().follow_file(shutdown.clone())));
        tasks.push(tokio::spawn(deliver::run(
            store.clone(),
            hub.clone(),
            config.deliveries,
            shutdown.clone(),
        )));
        if let Some(mqtt) = mqtt {
            tasks.push(tokio::spawn(mqtt::run(
                mqtt,
                store.clone(),
                hub.clone(),
                modems.clone(),
                shutdown.clone(),
            )));
        }
        let state = AppState {
            store: store.clone(),
            hub: hub.clone(),
            token: Arc::from(token.as_str()),
            shutdown: shutdown.clone(),
            listeners: listeners.clone(),
            devices: devices.clone(),
            settings: control.clone(),
            limiter: Arc::default(),
            connections: Arc::new(Connections::new()),
            allowed_ports: config.allowed_ports.clone().into(),
            modems: modems.clone(),
            tls: tls.clone(),
            sources,
        };
        listeners.set_template(Some(state.clone()));
        if want_lan && !listeners.fixed() {
            match listeners.set_lan(true).await {
                Ok(()) => {}
                // Sharing was asked for explicitly at start: a taken port is an error, as it always was.
                Err(e @ LanError::Bind { .. }) if everywhere => {
                    shutdown.cancel();
                    listeners.set_template(None);
                    return Err(e.into());
                }
                Err(e) => tracing::warn!(error = %e, "LAN sharing is on but cannot start now"),
            }
            let mut settings = hub.settings();
            settings.lan = listeners.shared();
            hub.publish_settings(settings);
        }
        tasks.push(tokio::spawn(async move {
            if let Err(e) = server::serve(listener, state).await {
                tracing::error!(error = %e, "the HTTP server stopped");
            }
        }));
        tracing::info!(%local_addr, db = %location, "SimRelay engine started");
        Ok(Engine {
            local_addr,
            tls_fingerprint: tls.map(|t| t.fingerprint().to_owned()),
            token,
            store,
            hub,
            devices,
            listeners,
            settings: control,
            modems,
            shutdown,
            tasks,
        })
    }

    /// Starts watching the modems' status, as a client showing the Modems screen does: while the guard lives,
    /// every modem refreshes signal, operator and storage use at once and then every 30 s. Without any watch the
    /// drivers poll nothing and an idle engine sleeps between SIM sweeps.
    pub fn watch_modems(&self) -> simrelay_modem::StatusWatch {
        self.modems.watch_status()
    }

    /// The address the server is bound to (with the real port when the config asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The SHA-256 fingerprint of the TLS certificate (`AB:CD:...`), when the server speaks HTTPS; users compare
    /// it with what a paired device shows.
    pub fn tls_fingerprint(&self) -> Option<&str> {
        self.tls_fingerprint.as_deref()
    }

    /// The URL a browser on this machine opens: `http://127.0.0.1:PORT/` with `?token=` (the UI stores the token
    /// and takes it out of the address bar). It holds the main token: never log it.
    pub fn url(&self) -> String {
        let ip = match self.local_addr.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        let scheme = if self.tls_fingerprint.is_some() {
            "https"
        } else {
            "http"
        };
        let base = format!(
            "{scheme}://{}/",
            SocketAddr::new(ip, self.local_addr.port())
        );
        format!("{base}?token={}", self.token)
    }

    /// [`Engine::url`] without the token, for showing and logging.
    pub fn public_url(&self) -> String {
        self.url()
            .split_once('?')
            .map_or_else(|| self.url(), |(base, _)| base.to_owned())
    }

    /// The main token: every client needs it or a paired device's token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The scheme other devices use (`https` unless LAN sharing serves plain HTTP), and the fingerprint of the
    /// certificate they see, while shared over HTTPS.
    pub fn lan_security(&self) -> (&'static str, Option<String>) {
        (
            self.listeners.lan_scheme(),
            self.listeners.lan_fingerprint(),
        )
    }

    /// The addresses other devices reach the server on (empty when it is not shared on the LAN).
    pub fn lan_addrs(&self) -> Vec<SocketAddr> {
        self.listeners.lan_addrs()
    }

    /// The settings in effect.
    pub fn settings(&self) -> Settings {
        self.hub.settings()
    }

    /// Changes some settings as `PATCH /api/settings` does: checked, applied (LAN sharing switched), stored
    /// and published.
    pub async fn update_settings(&self, patch: &SettingsPatch) -> Result<Settings, SettingsError> {
        self.settings.update(patch).await
    }

    /// The paired devices.
    pub fn devices(&self) -> &Devices {
        &self.devices
    }

    /// A receiver of every event (new messages, modem status) from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ServerEvent> {
        self.hub.subscribe()
    }

    /// A receiver of every outgoing message's status change from now on.
    pub fn subscribe_sent(&self) -> broadcast::Receiver<simrelay_protocol::SentMessage> {
        self.hub.subscribe_sent()
    }

    /// A receiver of every incoming call from now on (stored first).
    pub fn subscribe_calls(&self) -> broadcast::Receiver<simrelay_protocol::Call> {
        self.hub.subscribe_calls()
    }

    /// The message store (for in-process readers such as the desktop shell and tests).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The hub (for in-process consumers).
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Stops serving, stops the modems, waits (bounded) for every task, and closes the store.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        // LAN listeners stop with the token (their own is a child of it); this also frees the state they hold.
        if let Err(e) = self.listeners.set_lan(false).await {
            tracing::debug!(error = %e, "LAN listeners were fixed");
        }
        self.listeners.set_template(None);
        // Each modem's ingest task closes its driver (and port) on the way out.
        self.modems.shutdown().await;
        for task in self.tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                tracing::warn!("a task did not stop in time; aborting it");
                abort.abort();
            }
        }
        self.store.close().await;
    }
}

/// Makes every file and directory this process creates from now on private to its owner (umask 077 on Unix):
/// the database and its `-wal`/`-shm`, logs, certificates and token files are 0600 and their directories 0700
/// from the moment they exist, not after a `chmod`. Call it first thing in `main`, before logging starts;
/// [`Engine::start`] calls it too. A no-op elsewhere.
pub fn private_files() {
    #[cfg(unix)]
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
}
