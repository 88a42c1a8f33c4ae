//! The resident process from start to Quit: single instance, engine, tray, window, event loops, clean shutdown.

use crate::autostart::Autostart;
use crate::cli::DesktopArgs;
use crate::instance::{self, Claim};
use crate::launcher::{default_window_program, LauncherEvent, WindowLauncher};
use crate::notify::Notifier;
use crate::shell::{self, Shell};
use crate::tray::Tray;
use simrelay_engine::config::Resolved;
use simrelay_engine::{Config, Engine, EngineError};
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc;

/// Why the desktop app could not start.
#[derive(Debug, thiserror::Error)]
pub enum DesktopError {
    /// The engine did not start (its message says why and what to do, e.g. a taken `--listen` port).
    #[error("the SimRelay engine did not start: {0}")]
    Engine(#[from] simrelay_engine::EngineError),
    /// The engine reported a URL the window cannot load.
    #[error("the engine reported an unusable URL {url:?}: {source}")]
    Url {
        /// What the engine reported.
        url: String,
        /// Why it does not parse.
        source: url::ParseError,
    },
}

/// How a run of the app ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The user quit (tray, signal, or the window closed in a session without a tray).
    Quit,
    /// Another instance was already running; it was asked to show its window.
    HandedOver,
}

/// The window program to start, and its arguments (default: `simrelay-window` next to this executable).
#[derive(Debug, Clone)]
pub struct WindowProgram {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
}

impl Default for WindowProgram {
    fn default() -> Self {
        Self {
            program: default_window_program(),
            args: Vec::new(),
        }
    }
}

/// A started resident process; [`Resident::run`] keeps it going until Quit.
pub struct Resident {
    shell: Arc<Shell>,
    tray: Option<Tray>,
    window_events: mpsc::UnboundedReceiver<LauncherEvent>,
    signals: Signals,
    /// Owns the single-instance name for as long as the app runs.
    _instance: Option<zbus::Connection>,
}

/// Result of [`start`].
pub enum Started {
    /// This is the running instance now.
    Running(Resident),
    /// Another instance was already running; it was asked to show its window.
    HandedOver,
}

/// Runs the resident process until Quit, with the engine configuration `engine` (from
/// [`DesktopArgs::resolve`]). Call inside a tokio runtime.
pub async fn run(
    options: DesktopArgs,
    engine: Resolved,
    notifier: Arc<dyn Notifier>,
    window: WindowProgram,
) -> Result<Ended, DesktopError> {
    match start(options, engine, notifier, window).await? {
        Started::HandedOver => Ok(Ended::HandedOver),
        Started::Running(resident) => {
            resident.run().await;
            Ok(Ended::Quit)
        }
    }
}

/// Starts the resident process: single instance, engine (configured by `engine`, which [`DesktopArgs::resolve`]
/// made from the same file, environment and flags as `simrelay serve`), tray, event loops, and the window unless
/// `--minimized`.
pub async fn start(
    options: DesktopArgs,
    engine: Resolved,
    notifier: Arc<dyn Notifier>,
    window: WindowProgram,
) -> Result<Started, DesktopError> {
    let signals = Signals::catch();
    // Single instance first, so a second launch hands over before anything else (the engine) starts. The shell
    // does not exist yet when the name is claimed; a request that comes in meanwhile finds it a moment later.
    let shell_slot: Arc<OnceLock<Arc<Shell>>> = Arc::default();
    let slot = shell_slot.clone();
    let on_open = Arc::new(move || {
        if let Some(shell) = slot.get() {
            shell.show_window();
        }
    });
    let instance = if options.multi_instance {
        None
    } else {
        match instance::claim(None, on_open).await {
            Ok(Claim::First(connection)) => Some(connection),
            Ok(Claim::Handed) => {
                tracing::info!("SimRelay is already running; asked it to show its window");
                return Ok(Started::HandedOver);
            }
            Err(error) => {
                tracing::warn!(%error, "no session bus: a second launch will start a second app");
                None
            }
        }
    };

    let engine = start_engine(engine).await?;
    let raw_url = engine.url().to_string();
    let url = shell::window_url(&raw_url).map_err(|source| DesktopError::Url {
        url: raw_url.clone(),
        source,
    })?;
    // The URL carries the token: the log (a file others may be shown) gets the address only.
    tracing::info!(addr = %engine.local_addr(), "engine started");
    let events = engine.subscribe();
    let calls = engine.subscribe_calls();
    let hub = engine.hub().clone();
    let settings = engine.hub().watch_settings();

    let (window_tx, window_events) = mpsc::unbounded_channel();
    let launcher = WindowLauncher::new(window.program, window.args, window_tx);
    let autostart = Autostart::for_this_app()
        .inspect_err(|error| tracing::warn!(%error, "start at login is not available"))
        .ok();
    let shell = Arc::new(Shell::new(
        engine,
        url,
        options.clone(),
        notifier,
        launcher,
        autostart,
    ));
    let _ = shell_slot.set(shell.clone());

    let tray = if options.no_tray {
        None
    } else {
        match Tray::spawn(shell.clone()).await {
            Ok(tray) => Some(tray),
            Err(error) => {
                tracing::warn!(%error, "no tray icon; closing the window will quit");
                None
            }
        }
    };
    shell::spawn_event_loop(shell.clone(), events);
    shell::spawn_call_loop(shell.clone(), calls, hub);
    shell::spawn_settings_loop(shell.clone(), settings);
    if !options.minimized {
        shell.show_window();
    }
    Ok(Started::Running(Resident {
        shell,
        tray,
        window_events,
        signals,
        _instance: instance,
    }))
}

impl Resident {
    /// The shell: the app's state, and what the tray and notifications act on.
    pub fn shell(&self) -> &Arc<Shell> {
        &self.shell
    }

    /// Whether the app shows a tray icon (without one, closing the window quits).
    pub fn has_tray(&self) -> bool {
        self.tray.is_some()
    }

    /// Runs until Quit (tray, SIGTERM/SIGINT, or the window closed when there is no tray), then closes the window,
    /// takes the icon down and shuts the engine down cleanly.
    pub async fn run(mut self) {
        let has_tray = self.has_tray();
        let shell = self.shell.clone();
        let window_events = &mut self.window_events;
        tokio::select! {
            () = shell.quit_requested() => tracing::info!("quit from the tray"),
            () = self.signals.terminated() => tracing::info!("quit by signal"),
            () = async {
                while let Some(event) = window_events.recv().await {
                    match event {
                        LauncherEvent::Focus(true) => shell.mark_read(),
                        LauncherEvent::Focus(false) => {}
                        // Without a tray nothing would be left to reopen the window: closing it quits.
                        LauncherEvent::Closed if !has_tray => break,
                        LauncherEvent::Closed => shell.touch(),
                    }
                }
            } => tracing::info!("window closed without a tray"),
        }
        let closing = shell.clone();
        let _ = tokio::task::spawn_blocking(move || closing.close_window()).await;
        if let Some(tray) = self.tray.take() {
            tray.shutdown().await;
        }
        shell.shutdown_engine().await;
    }
}

/// Starts the engine in-process. When the address is the built-in default (nothing in the file, environment or
/// flags chose it), a taken port (a `simrelay serve` already running, say) is no reason to fail: the window only
/// needs some loopback port, so a free one is used instead.
async fn start_engine(resolved: Resolved) -> Result<Engine, EngineError> {
    let Resolved {
        config,
        listen_given,
        ..
    } = resolved;
    match Engine::start(config.clone()).await {
        Err(EngineError::Listen { addr, source }) if !listen_given => {
            tracing::warn!(%addr, %source, "default port taken; using a free port");
            let listen = std::net::SocketAddr::new(addr.ip(), 0);
            Engine::start(Config { listen, ..config }).await
        }
        other => other,
    }
}

/// SIGTERM and SIGINT (Ctrl-C), caught from the first line of [`start`]: a session logout or a terminal stops the
/// engine cleanly, also when the signal comes while the engine or the tray is still starting (the handler would
/// otherwise only be installed once [`Resident::run`] first waits, and a signal before that killed the process).
struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn catch() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let streams = signal(SignalKind::terminate())
                .and_then(|term| Ok((term, signal(SignalKind::interrupt())?)));
            if let Err(error) = &streams {
                tracing::warn!(%error, "cannot catch SIGTERM/SIGINT; only Ctrl-C will stop the app cleanly");
            }
            Signals {
                streams: streams.ok(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// Completes on the first SIGTERM or SIGINT since [`Signals::catch`].
    async fn terminated(&mut self) {
        #[cfg(unix)]
        if let Some((term, int)) = &mut self.streams {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            return;
        }
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::notify::{Note, NoteAction};
    use crate::shell::TrayMood;
    use clap::Parser;
    use simrelay_protocol::SettingsPatch;
    use std::path::Path;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    /// Records notifications instead of showing them, and answers each with the same action.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Note>>, Option<NoteAction>);

    impl Notifier for Recorder {
        fn show(&self, note: Note, on_action: Box<dyn FnOnce(NoteAction) + Send>) {
            self.0.lock().unwrap().push(note);
            on_action(self.1.clone().unwrap_or(NoteAction::Dismissed));
        }
    }

    async fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
        let start = Instant::now();
        while !ready() {
            assert!(
                start.elapsed() < Duration::from_secs(40),
                "timed out: {what}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The app on the demo modem, with its database and (absent) config file in the test's directory.
    fn args(extra: &[&str], db: &Path) -> DesktopArgs {
        let config = db.with_file_name("config.toml");
        let mut argv = vec![
            "simrelay-desktop",
            "--multi-instance",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--db",
            db.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ];
        argv.extend_from_slice(extra);
        DesktopArgs::try_parse_from(argv).unwrap()
    }

    /// Started as at login, in the tray (the flags forbid `--minimized` with `--no-tray`; tests must not put an icon
    /// on a developer's desktop).
    fn minimized(db: &Path) -> DesktopArgs {
        DesktopArgs {
            minimized: true,
            ..args(&["--no-tray"], db)
        }
    }

    /// A stand-in for `simrelay-window` (the real one runs in the Xvfb end-to-end test): a shell that logs every
    /// command it gets and exits on `quit`, or after its first command when `close_at_once` (the user closing it).
    fn logging_window(log: &Path, close_at_once: bool) -> WindowProgram {
        let then = if close_at_once { "exit 0" } else { ":" };
        let script = format!(
            "while read -r line; do echo \"$line\" >> '{}'; {then}; [ \"$line\" = quit ] && exit 0; done",
            log.display()
        );
        WindowProgram {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
        }
    }

    fn read(log: &Path) -> String {
        std::fs::read_to_string(log).unwrap_or_default()
    }

    async fn started(
        options: DesktopArgs,
        notes: Arc<Recorder>,
        window: WindowProgram,
    ) -> Resident {
        // No environment: the developer's SIMRELAY_* variables must not steer a test.
        let engine = options.resolve(|_| None).unwrap();
        match start(options, engine, notes, window).await.unwrap() {
            Started::Running(resident) => resident,
            Started::HandedOver => panic!("--multi-instance never hands over"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_the_engine_opens_its_page_notifies_and_shuts_down() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("window");
        let notes = Arc::new(Recorder::default());
        let resident = started(
            args(&["--no-tray"], &dir.path().join("a.db")),
            notes.clone(),
            logging_window(&log, false),
        )
        .await;
        let shell = resident.shell().clone();
        let url = shell.url().clone();
        assert_eq!(url.host_str(), Some("127.0.0.1"));
        let port = url.port().unwrap();
        assert_ne!(port, 0, "the engine reports its real port");
        // The window gets the engine's token with the page (over its pipe, never on a command line).
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(query[0].0, "token");
        assert_eq!(query[0].1.len(), 64);
        assert_eq!(query[1], ("shell".into(), "desktop".into()));
        wait_for("the window process", || read(&log).lines().count() == 1).await;
        assert_eq!(
            read(&log),
            format!("open {url}\n"),
            "the window opens on the engine's page"
        );
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
            "the engine serves"
        );

        // The demo modem injects a message with a code every few seconds; it becomes a notification, code first.
        wait_for("a notification from the demo modem", || {
            !notes.0.lock().unwrap().is_empty()
        })
        .await;
        let note = notes.0.lock().unwrap()[0].clone();
        let code = note.code.clone().expect("demo messages carry codes");
        assert!(note.title.starts_with(&code), "{note:?}");
        assert_eq!(shell.latest_code().and_then(|m| m.code), Some(code.clone()));
        assert!(crate::tray::tooltip(&shell).contains(&code));

        shell.request_quit();
        resident.run().await;
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "Quit stops the engine"
        );
        assert!(
            read(&log).ends_with("quit\n"),
            "Quit closes the window: {}",
            read(&log)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn engine_settings_steer_notifications_a_click_opens_the_message_and_lan_switches() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("window");
        let notes = Arc::new(Recorder(Mutex::default(), Some(NoteAction::Open)));
        let resident = started(
            minimized(&dir.path().join("c.db")),
            notes.clone(),
            logging_window(&log, false),
        )
        .await;
        let shell = resident.shell().clone();
        let count = || notes.0.lock().unwrap().len();

        // Clicking the notification (the default action) opens the window on that message.
        wait_for("a first notification", || count() >= 1).await;
        let first = notes.0.lock().unwrap()[0].clone();
        let expected = format!(
            "open {}\n",
            crate::shell::message_url(shell.url(), first.message_id)
        );
        wait_for("the window on the message", || {
            read(&log).starts_with(&expected)
        })
        .await;
        assert!(expected.contains(&format!("#/message/{}", first.message_id)));

        // hide_code from the Settings screen (here: the same engine call PATCH makes) takes effect.
        shell
            .update_settings(&SettingsPatch {
                hide_code: Some(true),
                ..SettingsPatch::default()
            })
            .await
            .unwrap();
        wait_for("hide_code to apply", || shell.note_settings().hide_code).await;
        let before = count();
        wait_for("a notification with the code hidden", || count() > before).await;
        let hidden = notes.0.lock().unwrap().last().cloned().unwrap();
        let code = hidden.code.clone().expect("demo codes");
        assert!(
            !hidden.title.contains(&code) && !hidden.body.contains(&code),
            "{hidden:?}"
        );
        assert!(
            hidden.body.ends_with("\u{2014} click to copy"),
            "{hidden:?}"
        );

        // The tray's LAN item switches the engine's setting, and a change made elsewhere comes back.
        assert!(!shell.lan());
        shell.toggle_lan();
        wait_for("LAN sharing on", || shell.lan()).await;
        let settings = shell
            .update_settings(&SettingsPatch::default())
            .await
            .unwrap();
        assert!(
            settings.lan,
            "the engine's setting changed, not just the shell's copy"
        );
        shell
            .update_settings(&SettingsPatch {
                lan: Some(false),
                ..SettingsPatch::default()
            })
            .await
            .unwrap();
        wait_for("LAN sharing off", || !shell.lan()).await;
        shell.request_quit();
        resident.run().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_removed_modem_no_longer_troubles_the_tray() {
        let dir = tempfile::tempdir().unwrap();
        let resident = started(
            minimized(&dir.path().join("r.db")),
            Arc::new(Recorder::default()),
            logging_window(&dir.path().join("window"), false),
        )
        .await;
        let shell = resident.shell().clone();
        let mut changes = shell.watch_changes();
        changes.mark_unchanged();
        let failed: simrelay_protocol::ModemStatus = serde_json::from_value(
            serde_json::json!({"id": "imei:1", "port": "/dev/ttyUSB7", "state": "failed"}),
        )
        .unwrap();
        shell.on_event(simrelay_protocol::ServerEvent::Modem { modem: failed });
        assert_eq!(shell.mood(), TrayMood::Trouble);
        assert!(changes.has_changed().unwrap(), "the tray is told");
        shell.on_event(simrelay_protocol::ServerEvent::ModemRemoved {
            id: "imei:1".to_owned(),
        });
        assert_ne!(shell.mood(), TrayMood::Trouble);
        shell.request_quit();
        resident.run().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn minimized_start_opens_on_demand_and_paused_notifications_stay_quiet() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("window");
        let notes = Arc::new(Recorder::default());
        // Start at login: in the tray, no window.
        let resident = started(
            minimized(&dir.path().join("b.db")),
            notes.clone(),
            logging_window(&log, false),
        )
        .await;
        let shell = resident.shell().clone();
        assert!(!shell.window_open(), "--minimized starts no window process");
        shell.set_pause(crate::pause::Pause::Indefinitely);
        wait_for("a demo message", || shell.latest_code().is_some()).await;
        assert!(
            notes.0.lock().unwrap().is_empty(),
            "a paused app still notified"
        );
        assert_eq!(shell.mood(), TrayMood::Unread);

        shell.show_window();
        assert!(shell.window_open(), "Open starts the window");
        assert_eq!(
            shell.mood(),
            TrayMood::Normal,
            "opening the window marks the code read"
        );
        wait_for("the window's first command", || {
            read(&log).starts_with("open ")
        })
        .await;
        shell.request_quit();
        resident.run().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_a_tray_closing_the_window_quits() {
        let dir = tempfile::tempdir().unwrap();
        let resident = started(
            args(&["--no-tray"], &dir.path().join("q.db")),
            Arc::new(Recorder::default()),
            logging_window(&dir.path().join("window"), true),
        )
        .await;
        assert!(!resident.has_tray());
        let port = resident.shell().url().port().unwrap();
        tokio::time::timeout(Duration::from_secs(30), resident.run())
            .await
            .expect("the app quits when its only window closes");
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }
}
