//! The running modems: one place that starts a modem (driver, ingest task, id memory), stops one, and lists
//! them. Start-up (the config file's `modems`, `--demo`, and the modems added at run time, read back from the
//! store) and the API (`POST`/`DELETE /api/modems`) use the same code, so a modem added from the UI behaves
//! exactly like a configured one.
//!
//! Each modem gets its own cancellation token, a child of the engine's: removing one stops its ingest task,
//! which shuts its driver down and closes the port; engine shutdown stops them all.
//!
//! A modem on a port that has a `/dev/serial/by-id/...` name is started, listed and remembered under that name,
//! whatever path it was given: `ttyUSBn` numbers follow plug order, the by-id name follows the device. What was
//! stored under the other path (an added modem, its remembered id) moves to the stable name the first time the
//! device is found there; labels and PINs from the config file are looked up under both.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use simrelay_modem::probe::{by_id_link, SERIAL_BY_ID};
use simrelay_modem::{ModemConfig, ModemHandle, StatusWatch, StatusWatchers};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::demo;
use crate::hub::Hub;
use crate::ingest;
use crate::store::{AddedModem, Store, StoreError};

/// How long [`Modems::remove`] and [`Modems::shutdown`] wait for a modem's tasks before abandoning them.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Key of the demo modem in the registry (and its id).
const DEMO_KEY: &str = demo::DEMO_MODEM_ID;

/// What every modem started from the config or at run time shares.
#[derive(Debug, Clone, Default)]
pub(crate) struct ModemDefaults {
    /// Names of configured ports.
    pub(crate) labels: BTreeMap<String, String>,
    /// SIM PINs by port.
    pub(crate) pins: BTreeMap<String, String>,
    /// Where a PIN entered in the app is stored for the next start (`None`: not stored).
    pub(crate) pins_file: Option<PathBuf>,
    /// Ports whose modem hangs up on incoming calls.
    pub(crate) reject_calls: std::collections::BTreeSet<String>,
    /// Seconds between SIM sweeps.
    pub(crate) sweep_secs: u64,
    /// Seconds between demo messages.
    pub(crate) demo_interval_secs: u64,
    /// Where the stable port names are (`None`: [`SERIAL_BY_ID`]); tests give a directory of their own.
    pub(crate) by_id_root: Option<PathBuf>,
}

/// Where a running modem came from, which decides what removing it does to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The config file, the environment or a flag: it comes back at the next start whatever the API does.
    Config,
    /// Added at run time and stored: removing it forgets it.
    Added,
}

/// Why a modem could not be added.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AddError {
    /// A running modem already uses the port.
    #[error("{port} is already used by the modem {id}")]
    InUse {
        /// The port asked for.
        port: String,
        /// The modem using it.
        id: String,
    },
    /// The demo modem's simulator could not start.
    #[error("cannot start the demo modem: {0}")]
    Demo(String),
    /// The store could not remember it.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A modem that was removed.
#[derive(Debug, Clone)]
pub(crate) struct Removed {
    /// The id it was listed under.
    pub(crate) id: String,
    /// Whether it came from the config file (and so comes back at the next start).
    pub(crate) from_config: bool,
}

struct Entry {
    /// The port path it was started on, or [`DEMO_KEY`].
    key: String,
    /// The device the port path resolves to, to find the same port under another name (a by-id link).
    device: PathBuf,
    handle: ModemHandle,
    origin: Origin,
    demo: bool,
    label: Option<String>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Entry {
    fn matches_id(&self, id: &str) -> bool {
        self.handle.id() == id || self.key == id
    }
}

/// The registry of running modems; cheap to clone.
#[derive(Clone)]
pub(crate) struct Modems {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    hub: Hub,
    shutdown: CancellationToken,
    defaults: ModemDefaults,
    entries: Mutex<Vec<Entry>>,
    /// Who watches the modems' status: shared by every driver, so one watch keeps them all fresh.
    watchers: StatusWatchers,
    /// PINs SIMs took from the app in this run, by port: a modem re-added on that port gets its PIN now, not
    /// only at the next start (when `defaults.pins` reads them back from the file).
    entered_pins: Mutex<BTreeMap<String, String>>,
}

impl std::fmt::Debug for Modems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Modems")
            .field("count", &self.lock().len())
            .finish_non_exhaustive()
    }
}

/// The device a port path names (a `/dev/serial/by-id/...` link and `/dev/ttyUSB2` are the same port).
pub(crate) fn device_of(port: &str) -> PathBuf {
    std::fs::canonicalize(port).unwrap_or_else(|_| PathBuf::from(port))
}

impl Modems {
    /// An empty registry whose modems stop when `shutdown` is cancelled.
    pub(crate) fn new(
        store: Store,
        hub: Hub,
        shutdown: CancellationToken,
        defaults: ModemDefaults,
    ) -> Modems {
        Modems {
            inner: Arc::new(Inner {
                store,
                hub,
                shutdown,
                defaults,
                entries: Mutex::new(Vec::new()),
                watchers: StatusWatchers::new(),
                entered_pins: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// Someone shows the modems' status (the UI's Modems screen): until the returned guard is dropped, every
    /// modem, also one added later, refreshes its signal, operator and storage use at once and then every 30 s.
    /// Without a watch the drivers poll nothing; the status follows what the modems report on their own.
    pub(crate) fn watch_status(&self) -> StatusWatch {
        self.inner.watchers.watch()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        // Entries are inserted and removed whole; a panic elsewhere cannot leave one half-made.
        self.inner
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The id of the running modem on `port` (or on the same device under another path), if any.
    pub(crate) fn in_use_by(&self, port: &str) -> Option<String> {
        let device = device_of(port);
        self.lock()
            .iter()
            .find(|e| e.key == port || e.device == device)
            .map(|e| e.handle.id())
    }

    /// Every running modem's handle, in the order they were started.
    pub(crate) fn handles(&self) -> Vec<ModemHandle> {
        self.lock().iter().map(|e| e.handle.clone()).collect()
    }

    /// The modem `id` names: its current id (`imei:...`) or the one it was started under (its port path).
    pub(crate) fn named(&self, id: &str) -> Option<ModemHandle> {
        let entries = self.lock();
        entries
            .iter()
            .find(|e| e.handle.id() == id)
            .or_else(|| entries.iter().find(|e| e.key == id))
            .map(|e| e.handle.clone())
    }

    /// The modem `id` names, as [`Modems::named`], with the port it was started on.
    pub(crate) fn named_with_port(&self, id: &str) -> Option<(ModemHandle, String)> {
        let entries = self.lock();
        entries
            .iter()
            .find(|e| e.handle.id() == id)
            .or_else(|| entries.iter().find(|e| e.key == id))
            .map(|e| (e.handle.clone(), e.key.clone()))
    }

    /// Remembers a PIN the SIM on `port` accepted: for a modem started on that port later in this run, and in
    /// the PINs file so the next start unlocks it by itself; `false` when there is no file to store it in (no
    /// state directory).
    pub(crate) fn remember_pin(
        &self,
        port: &str,
        pin: &str,
    ) -> Result<bool, crate::pins::PinsError> {
        self.inner
            .entered_pins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(port.to_owned(), pin.to_owned());
        let Some(path) = &self.inner.defaults.pins_file else {
            return Ok(false);
        };
        crate::pins::store(path, port, pin)?;
        Ok(true)
    }

    /// The PIN the SIM on `port` took from the app in this run, if any. Known good, so it wins over a configured
    /// one (which the SIM may have rejected).
    fn entered_pin(&self, port: &str) -> Option<String> {
        self.inner
            .entered_pins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(port)
            .cloned()
    }

    /// Starts the modem on `port` (its driver, ingest and id memory). A modem of [`Origin::Added`] is stored so
    /// the next start starts it again.
    pub(crate) async fn add_serial(
        &self,
        port: &str,
        label: Option<String>,
        origin: Origin,
    ) -> Result<ModemHandle, AddError> {
        self.start_serial(port, label, origin, origin == Origin::Added)
            .await
    }

    /// The name `port` is known by: its `/dev/serial/by-id/...` link when it has one, else `port` itself.
    pub(crate) fn stable_name(&self, port: &str) -> String {
        let root = self
            .inner
            .defaults
            .by_id_root
            .as_deref()
            .unwrap_or(std::path::Path::new(SERIAL_BY_ID));
        by_id_link(port, root).unwrap_or_else(|| port.to_owned())
    }

    async fn start_serial(
        &self,
        given: &str,
        label: Option<String>,
        origin: Origin,
        store_it: bool,
    ) -> Result<ModemHandle, AddError> {
        let stable = self.stable_name(given);
        let port = stable.as_str();
        if port != given {
            // Settings stored under the ttyUSBn path would be lost at the next renumbering: they follow the device.
            match self.inner.store.move_modem_port(given, port).await {
                Ok(true) => {
                    tracing::info!(%given, %port, "stored modem settings moved to the port's stable name")
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(%given, %port, error = %e, "cannot move the modem's stored settings")
                }
            }
            tracing::info!(%given, %port, "modem known by its stable port name");
        }
        if let Some(id) = self.in_use_by(port) {
            // Two drivers on one port would steal each other's answers.
            return Err(AddError::InUse {
                port: port.to_owned(),
                id,
            });
        }
        let store = &self.inner.store;
        // What the modem on this port called itself last time, in case it is absent now.
        let known_id = store.known_modem_id(port).await.unwrap_or_else(|e| {
            tracing::warn!(%port, error = %e, "cannot read the remembered modem id");
            None
        });
        let defaults = &self.inner.defaults;
        let by_either =
            |map: &BTreeMap<String, String>| map.get(port).or_else(|| map.get(given)).cloned();
        let label = label.or_else(|| by_either(&defaults.labels));
        if store_it {
            store
                .remember_added_modem(&AddedModem::Serial {
                    port: port.to_owned(),
                    label: label.clone(),
                })
                .await?;
        }
        let mut entries = self.lock();
        // Checked again under the lock: two requests for one port may have raced through the first check.
        let device = device_of(port);
        if let Some(e) = entries.iter().find(|e| e.key == port || e.device == device) {
            return Err(AddError::InUse {
                port: port.to_owned(),
                id: e.handle.id(),
            });
        }
        let (handle, events) = simrelay_modem::spawn(ModemConfig {
            port: port.to_owned(),
            known_id,
            label: label.clone(),
            pin: self
                .entered_pin(port)
                .or_else(|| self.entered_pin(given))
                .or_else(|| by_either(&defaults.pins)),
            sweep_interval: Duration::from_secs(self.inner.defaults.sweep_secs),
            status_watchers: self.inner.watchers.clone(),
            reject_calls: self.inner.defaults.reject_calls.contains(port),
            ..ModemConfig::default()
        });
        let stop = self.inner.shutdown.child_token();
        let tasks = vec![
            tokio::spawn(ingest::run(
                handle.clone(),
                events,
                store.clone(),
                self.inner.hub.clone(),
                false,
                stop.clone(),
            )),
            tokio::spawn(remember_ids(
                handle.clone(),
                port.to_owned(),
                store.clone(),
                stop.clone(),
            )),
        ];
        tracing::info!(%port, ?origin, "modem started");
        entries.push(Entry {
            key: port.to_owned(),
            device,
            handle: handle.clone(),
            origin,
            demo: false,
            label,
            stop,
            tasks,
        });
        Ok(handle)
    }

    /// Starts the built-in demo modem (a simulator on a pty, with a sample message every few seconds).
    pub(crate) async fn add_demo(&self, origin: Origin) -> Result<ModemHandle, AddError> {
        self.start_demo(origin, origin == Origin::Added).await
    }

    async fn start_demo(&self, origin: Origin, store_it: bool) -> Result<ModemHandle, AddError> {
        let in_use = |entries: &[Entry]| {
            entries.iter().find(|e| e.demo).map(|e| AddError::InUse {
                port: DEMO_KEY.to_owned(),
                id: e.handle.id(),
            })
        };
        if let Some(e) = in_use(&self.lock()) {
            return Err(e);
        }
        let simulator = demo::start_simulator()
            .await
            .map_err(|e| AddError::Demo(e.to_string()))?;
        if store_it {
            if let Err(e) = self
                .inner
                .store
                .remember_added_modem(&AddedModem::Demo)
                .await
            {
                simulator.shutdown().await;
                return Err(e.into());
            }
        }
        let port = simulator.path().to_string_lossy().into_owned();
        let conflict = {
            let mut entries = self.lock();
            match in_use(&entries) {
                Some(e) => e,
                None => {
                    tracing::info!(?origin, "demo modem started");
                    return Ok(self.spawn_demo(simulator, &port, origin, &mut entries));
                }
            }
        };
        simulator.shutdown().await;
        Err(conflict)
    }

    fn spawn_demo(
        &self,
        simulator: simrelay_modem::Simulator,
        port: &str,
        origin: Origin,
        entries: &mut Vec<Entry>,
    ) -> ModemHandle {
        let (handle, events) = simrelay_modem::spawn(ModemConfig {
            port: port.to_owned(),
            id: Some(DEMO_KEY.to_owned()),
            status_watchers: self.inner.watchers.clone(),
            ..ModemConfig::default()
        });
        let stop = self.inner.shutdown.child_token();
        let every = Duration::from_secs(self.inner.defaults.demo_interval_secs);
        let tasks = vec![
            tokio::spawn(ingest::run(
                handle.clone(),
                events,
                self.inner.store.clone(),
                self.inner.hub.clone(),
                true,
                stop.clone(),
            )),
            tokio::spawn(demo::inject(simulator, every, stop.clone())),
        ];
        entries.push(Entry {
            key: DEMO_KEY.to_owned(),
            device: device_of(port),
            handle: handle.clone(),
            origin,
            demo: true,
            label: None,
            stop,
            tasks,
        });
        handle
    }

    /// Starts the modems added at run time in an earlier run. One that cannot start (its port is also in the
    /// config file, say) is skipped with a warning: start-up never fails for it.
    pub(crate) async fn start_added(&self) -> Result<(), StoreError> {
        for modem in self.inner.store.added_modems().await? {
            // Already stored: started as added (removing it forgets it) without storing it again.
            let started = match &modem {
                AddedModem::Serial { port, label } => {
                    self.start_serial(port, label.clone(), Origin::Added, false)
                        .await
                }
                AddedModem::Demo => self.start_demo(Origin::Added, false).await,
            };
            if let Err(e) = started {
                tracing::warn!(?modem, error = %e, "a modem added earlier was not started");
            }
        }
        Ok(())
    }

    /// Waits (at most `wait`) until every modem told its id, as the API names modems by it.
    pub(crate) async fn identify_all(&self, wait: Duration) {
        let handles = self.handles();
        futures_util::future::join_all(handles.iter().map(|handle| async move {
            let _ = tokio::time::timeout(wait, handle.identified()).await;
        }))
        .await;
    }

    /// Stops the modem `id` names (current id or port path), forgets it if it was added at run time, drops its
    /// status and publishes `modem_removed`. `None` when no modem has that id.
    pub(crate) async fn remove(&self, id: &str) -> Result<Option<Removed>, StoreError> {
        let entry = {
            let mut entries = self.lock();
            let Some(i) = entries
                .iter()
                .position(|e| e.handle.id() == id)
                .or_else(|| entries.iter().position(|e| e.matches_id(id)))
            else {
                return Ok(None);
            };
            entries.remove(i)
        };
        let listed_as = entry.handle.id();
        entry.stop.cancel();
        join_bounded(entry.tasks).await;
        if entry.origin == Origin::Added {
            let added = if entry.demo {
                AddedModem::Demo
            } else {
                AddedModem::Serial {
                    port: entry.key.clone(),
                    label: entry.label.clone(),
                }
            };
            self.inner.store.forget_added_modem(&added).await?;
        }
        // The ingest task is done, so no status of this modem can be published after these.
        self.inner.hub.publish_modem_removed(&listed_as);
        if entry.key != listed_as && self.inner.hub.modems().iter().any(|m| m.id == entry.key) {
            self.inner.hub.publish_modem_removed(&entry.key);
        }
        tracing::info!(id = %listed_as, port = %entry.key, "modem removed");
        Ok(Some(Removed {
            id: listed_as,
            from_config: entry.origin == Origin::Config,
        }))
    }

    /// Waits (bounded) for every modem's tasks; call after cancelling the engine's token.
    pub(crate) async fn shutdown(&self) {
        let entries = std::mem::take(&mut *self.lock());
        for entry in entries {
            entry.stop.cancel();
            join_bounded(entry.tasks).await;
        }
    }
}

async fn join_bounded(tasks: Vec<JoinHandle<()>>) {
    for task in tasks {
        let abort = task.abort_handle();
        if tokio::time::timeout(STOP_GRACE, task).await.is_err() {
            tracing::warn!("a modem task did not stop in time; aborting it");
            abort.abort();
        }
    }
}

/// Remembers the id the modem on a `port` tells (not a fallback port path), now and whenever it changes, so the
/// next start knows the modem by it even if it is absent then.
async fn remember_ids(
    mut handle: ModemHandle,
    port: String,
    store: Store,
    shutdown: CancellationToken,
) {
    let mut id = tokio::select! {
        id = handle.identified() => id,
        () = shutdown.cancelled() => return,
    };
    loop {
        if id.starts_with("imei:") || id.starts_with("iccid:") {
            if let Err(e) = store.remember_modem_id(&port, &id).await {
                tracing::warn!(%port, %id, error = %e, "cannot remember the modem's id");
            }
        }
        id = tokio::select! {
            next = handle.id_changed() => match next {
                Some(next) if next != id => next,
                Some(_) => continue,
                None => return,
            },
            () = shutdown.cancelled() => return,
        };
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use simrelay_modem::{SimOptions, Simulator};

    use super::*;

    /// How often the simulated modem was asked for its operator (the status refresh's command).
    fn operator_reads(sim: &Simulator) -> usize {
        sim.commands()
            .iter()
            .filter(|c| c.command == "AT+COPS?")
            .count()
    }

    async fn until(what: &str, mut done: impl FnMut() -> bool) {
        let give_up = Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(Instant::now() < give_up, "{what} did not happen in time");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A modem added as its tty before by-id names were used (the settings of an earlier version) is started,
    /// listed and stored under its `/dev/serial/by-id` link, and found again after a replug moved it to a new pty.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_modem_is_remembered_by_its_by_id_name_and_found_again_after_a_replug() {
        let dir = tempfile::tempdir().expect("tempdir");
        let by_id = dir.path().join("by-id");
        std::fs::create_dir(&by_id).expect("by-id");
        let link = by_id.join("usb-SimRelay_Simulated_Modem_0001-if02-port0");
        let link_name = link.to_string_lossy().into_owned();
        let mut sim = Simulator::start(SimOptions {
            link: Some(link.clone()),
            ..SimOptions::default()
        })
        .await
        .expect("simulator");
        let tty = sim.path().to_string_lossy().into_owned();
        assert_ne!(tty, link_name);
        let store = Store::open(&dir.path().join("m.db")).await.expect("store");
        // What an earlier version stored: the modem under its tty path, and its id.
        store
            .remember_added_modem(&AddedModem::Serial {
                port: tty.clone(),
                label: Some("Work SIM".into()),
            })
            .await
            .expect("added earlier");
        store
            .remember_modem_id(&tty, "imei:356938035643809")
            .await
            .expect("id");
        let shutdown = CancellationToken::new();
        let hub = Hub::new();
        let modems = Modems::new(
            store.clone(),
            hub.clone(),
            shutdown.clone(),
            ModemDefaults {
                sweep_secs: 3600,
                by_id_root: Some(by_id.clone()),
                ..ModemDefaults::default()
            },
        );
        modems.start_added().await.expect("start added");
        modems.identify_all(Duration::from_secs(20)).await;
        assert_eq!(
            store.added_modems().await.expect("list"),
            vec![AddedModem::Serial {
                port: link_name.clone(),
                label: Some("Work SIM".into())
            }],
            "the stored modem moved to the stable name"
        );
        assert_eq!(
            store
                .known_modem_id(&link_name)
                .await
                .expect("id")
                .as_deref(),
            Some("imei:356938035643809")
        );
        let (handle, port) = modems
            .named_with_port("imei:356938035643809")
            .expect("listed by its id");
        assert_eq!(port, link_name);
        // Its tty path still names the same (running) modem: adding it again is refused.
        assert!(matches!(
            modems.add_serial(&tty, None, Origin::Added).await,
            Err(AddError::InUse { .. })
        ));
        until("listed as connected on the by-id name", || {
            hub.modems()
                .iter()
                .any(|m| m.port == link_name && m.state == simrelay_protocol::ModemState::Connected)
        })
        .await;

        // Unplugged and plugged back in: a new pty, the link follows it, and so does the driver.
        // Another device takes the freed number meanwhile, as another USB device takes ttyUSB2, so the
        // modem comes back under a different pty (the kernel hands out the lowest free one, which tests running
        // alongside may have freed too: tried until the number differs).
        let mut squatters = Vec::new();
        let mut new_tty = sim.path().to_path_buf();
        for _ in 0..5 {
            sim.unplug().await;
            squatters.push(
                Simulator::start(SimOptions::default())
                    .await
                    .expect("another pty"),
            );
            new_tty = sim.replug().await.expect("replug");
            if new_tty.to_string_lossy() != tty {
                break;
            }
        }
        assert_ne!(new_tty.to_string_lossy(), tty, "the replug gave a new pty");
        assert_eq!(
            std::fs::canonicalize(&link).expect("link"),
            std::fs::canonicalize(&new_tty).expect("pty")
        );
        let before = store.count().await.expect("count");
        sim.deliver(simrelay_testkit::pdu::deliver(
            "+4915123456789",
            "after the replug 424242",
        ));
        let give_up = Instant::now() + Duration::from_secs(60);
        while store.count().await.expect("count") == before {
            assert!(
                Instant::now() < give_up,
                "no message from the replugged modem"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let message = store.recent(1).await.expect("recent").remove(0);
        assert_eq!(message.text, "after the replug 424242");
        assert_eq!(message.modem, handle.id());
        shutdown.cancel();
        modems.shutdown().await;
        sim.shutdown().await;
        for squatter in squatters {
            squatter.shutdown().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_status_watch_refreshes_every_modem_also_one_added_later() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("m.db")).await.expect("store");
        let shutdown = CancellationToken::new();
        let modems = Modems::new(
            store,
            Hub::new(),
            shutdown.clone(),
            ModemDefaults {
                sweep_secs: 3600,
                ..ModemDefaults::default()
            },
        );
        let first = Simulator::start(SimOptions::default())
            .await
            .expect("simulator");
        let second = Simulator::start(SimOptions::default())
            .await
            .expect("simulator");
        let port = |sim: &Simulator| sim.path().to_string_lossy().into_owned();
        modems
            .add_serial(&port(&first), None, Origin::Config)
            .await
            .expect("first modem");
        modems.identify_all(Duration::from_secs(20)).await;
        // The start-up reads the operator once; nobody watches, so nothing more.
        until("the first modem's start-up", || operator_reads(&first) == 1).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(operator_reads(&first), 1);

        let watch = modems.watch_status();
        until("a refresh at once", || operator_reads(&first) == 2).await;
        modems
            .add_serial(&port(&second), None, Origin::Config)
            .await
            .expect("second modem");
        until("the second modem's start-up", || {
            operator_reads(&second) == 1
        })
        .await;
        drop(watch);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!((operator_reads(&first), operator_reads(&second)), (2, 1));
        // The next watcher wakes both, the one added later too.
        let watch = modems.watch_status();
        until("both refreshed", || {
            operator_reads(&first) == 3 && operator_reads(&second) == 2
        })
        .await;
        drop(watch);
        shutdown.cancel();
        modems.shutdown().await;
        first.shutdown().await;
        second.shutdown().await;
    }
}
