//! [`Engine`]: the running whole (store, hub, modems, server) behind one start/shutdown pair.
//!
//! The headless `simrelay serve` and the desktop shell both use this, so they behave the same.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use simrelay_protocol::ServerEvent;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use simrelay_modem::ModemConfig;

use crate::config::Config;
use crate::hub::Hub;
use crate::server::{self, AppState};
use crate::store::{Retention, Store, StoreError};
use crate::{demo, hooks, ingest, retention};

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
}

/// A running SimRelay engine. Dropping it without [`Engine::shutdown`] leaves its tasks running until the
/// tokio runtime ends.
#[derive(Debug)]
pub struct Engine {
    local_addr: SocketAddr,
    token: Option<String>,
    store: Store,
    hub: Hub,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Engine {
    /// Opens the store, starts the modems (and the demo modem), and starts serving HTTP/WebSocket.
    pub async fn start(config: Config) -> Result<Engine, EngineError> {
        if let Some(dir) = config.db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| EngineError::DataDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let store = Store::open(&config.db).await?;
        let hub = Hub::new();
        let token = match &config.token {
            Some(token) => Some(token.clone()),
            None if !config.listen.ip().is_loopback() => Some(server::generate_token()),
            None => None,
        };
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| EngineError::Listen {
                    addr: config.listen,
                    source,
                })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| EngineError::Listen {
                addr: config.listen,
                source,
            })?;
        let shutdown = CancellationToken::new();
        let mut tasks = Vec::new();

        let mut handles = BTreeMap::new();
        let mut ports: Vec<&String> = Vec::new();
        let mut unidentified = Vec::new();
        for port in &config.modems {
            if ports.contains(&port) {
                // Two drivers on one port would steal each other's answers.
                tracing::warn!(%port, "modem given twice; using it once");
                continue;
            }
            ports.push(port);
            let (handle, events) = simrelay_modem::spawn(ModemConfig {
                port: port.clone(),
                label: config.modem_labels.get(port).cloned(),
                ..ModemConfig::default()
            });
            unidentified.push(handle.clone());
            tasks.push(tokio::spawn(ingest::run(
                handle,
                events,
                store.clone(),
                hub.clone(),
                false,
                shutdown.clone(),
            )));
        }
        // A modem's id (IMEI based) is learned when the driver first talks to it; the API names modems by it.
        // Present modems answer within a second; an absent or silent one is listed under its port path.
        let identified =
            futures_util::future::join_all(unidentified.iter().map(|handle| async move {
                tokio::time::timeout(IDENTIFY_WAIT, handle.identified())
                    .await
                    .unwrap_or_else(|_| handle.id())
            }))
            .await;
        for (id, handle) in identified.into_iter().zip(unidentified) {
            handles.insert(id, handle);
        }
        if config.demo {
            let simulator = demo::start_simulator()
                .await
                .map_err(|e| EngineError::Demo(e.to_string()))?;
            let (handle, events) = simrelay_modem::spawn(ModemConfig {
                port: simulator.path().to_string_lossy().into_owned(),
                id: Some(demo::DEMO_MODEM_ID.to_owned()),
                ..ModemConfig::default()
            });
            handles.insert(handle.id(), handle.clone());
            tasks.push(tokio::spawn(ingest::run(
                handle,
                events,
                store.clone(),
                hub.clone(),
                true,
                shutdown.clone(),
            )));
            let every = Duration::from_secs(config.demo_interval_secs);
            tasks.push(tokio::spawn(demo::inject(
                simulator,
                every,
                shutdown.clone(),
            )));
        }

        if config.hooks.is_active() {
            let events = hub.subscribe();
            tasks.push(tokio::spawn(hooks::run(
                config.hooks.clone(),
                events,
                shutdown.clone(),
            )));
        }
        if config.retention != Retention::default() {
            tasks.push(tokio::spawn(retention::run(
                store.clone(),
                config.retention,
                shutdown.clone(),
            )));
        }
        let state = AppState::new(
            store.clone(),
            hub.clone(),
            token.as_deref(),
            shutdown.clone(),
            handles,
            config
                .paired_tokens
                .iter()
                .filter_map(|t| hex::decode(&t.sha256).ok()?.try_into().ok())
                .collect(),
            local_addr,
        );
        tasks.push(tokio::spawn(async move {
            if let Err(e) = server::serve(listener, state).await {
                tracing::error!(error = %e, "the HTTP server stopped");
            }
        }));
        tracing::info!(%local_addr, db = %config.db.display(), "SimRelay engine started");
        Ok(Engine {
            local_addr,
            token,
            store,
            hub,
            shutdown,
            tasks,
        })
    }

    /// The address the server is bound to (with the real port when the config asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The URL a browser on this machine opens: `http://127.0.0.1:PORT/`, with `?token=` when there is one.
    pub fn url(&self) -> String {
        let ip = match self.local_addr.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        let base = format!("http://{}/", SocketAddr::new(ip, self.local_addr.port()));
        match &self.token {
            Some(token) => format!("{base}?token={token}"),
            None => base,
        }
    }

    /// The access token, if the server requires one.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// A receiver of every event (new messages, modem status) from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ServerEvent> {
        self.hub.subscribe()
    }

    /// A receiver of every outgoing message's status change from now on.
    pub fn subscribe_sent(&self) -> broadcast::Receiver<simrelay_protocol::SentMessage> {
        self.hub.subscribe_sent()
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
