//! Assembling the Tauri app: plugins, setup (engine, tray, window, event loop) and the run-event policy
//! (closing the last window keeps the app in the tray; Quit shuts the engine down cleanly).

use crate::cli::DesktopArgs;
use crate::notify::Notifier;
use crate::shell::{self, Shell};
use crate::{tray, window};
use std::sync::Arc;
use tauri::{App, AppHandle, Builder, Context, Manager, RunEvent, Runtime};

/// Why the desktop app could not start.
#[derive(Debug, thiserror::Error)]
pub enum DesktopError {
    /// Tauri failed to build the app; this includes a failure in setup, such as the engine not starting.
    #[error("could not start SimRelay: {0}")]
    Tauri(#[from] tauri::Error),
}

/// Errors of the setup hook, which Tauri reports as [`tauri::Error::Setup`].
#[derive(Debug, thiserror::Error)]
enum SetupError {
    #[error("the SimRelay engine did not start: {0}")]
    Engine(#[from] simrelay_engine::EngineError),
    #[error("the engine reported an unusable URL {url:?}: {source}")]
    Url {
        url: String,
        source: url::ParseError,
    },
    #[error(transparent)]
    Tauri(#[from] tauri::Error),
}

/// Adds the plugins of the real desktop app. Tests built on `mock_builder()` leave them out: they need a session
/// bus (single instance) or write to the user's autostart folder.
pub fn with_desktop_plugins<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    use tauri_plugin_window_state::StateFlags;
    // Single instance goes first, so a second launch hands over before anything else (the engine) starts.
    builder
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            window::show_main(app)
        }))
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec!["--minimized"]),
        ))
        .plugin(
            tauri_plugin_window_state::Builder::default()
                // Visibility is ours to decide (tray, --minimized), not a remembered state.
                .with_state_flags(StateFlags::all() - StateFlags::VISIBLE)
                .build(),
        )
}

/// Builds the app: starts the engine in-process, then the tray, the window (unless `--minimized`) and the loop that
/// turns the engine's events into notifications. Run the result with [`App::run`] and [`on_run_event`].
pub fn run_app<R: Runtime>(
    builder: Builder<R>,
    context: Context<R>,
    options: DesktopArgs,
    notifier: Arc<dyn Notifier>,
) -> Result<App<R>, DesktopError> {
    let app = builder
        .setup(move |app| {
            setup(app, options, notifier)?;
            Ok(())
        })
        .build(context)?;
    Ok(app)
}

fn setup<R: Runtime>(
    app: &mut App<R>,
    options: DesktopArgs,
    notifier: Arc<dyn Notifier>,
) -> Result<(), SetupError> {
    let engine = shell::start_engine(&options)?;
    let raw_url = engine.url().to_string();
    let mut url = tauri::Url::parse(&raw_url).map_err(|source| SetupError::Url {
        url: raw_url.clone(),
        source,
    })?;
    // Tells the page it runs in the desktop window (it then offers "Open logs folder").
    url.query_pairs_mut()
        .append_pair(window::SHELL_PARAM.0, window::SHELL_PARAM.1);
    tracing::info!(%url, "engine started");
    let events = engine.subscribe();
    let settings = engine.hub().watch_settings();
    let (minimized, no_tray) = (options.minimized, options.no_tray);
    app.manage(Shell::new(engine, url, options, notifier));

    let handle = app.handle();
    if !no_tray {
        if let Err(error) = tray::create(handle) {
            // Without a tray the window and notifications still work, and closing the window quits.
            tracing::warn!(%error, "no tray icon");
        }
    }
    if !minimized {
        window::show_main(handle);
    }
    shell::spawn_event_loop(handle.clone(), events);
    shell::spawn_settings_loop(handle.clone(), settings);
    Ok(())
}

/// The run-event policy: closing the last window keeps the app running in the tray (if it has one); exiting
/// (Quit) shuts the engine down cleanly before the process ends.
pub fn on_run_event<R: Runtime>(app: &AppHandle<R>, event: RunEvent) {
    match event {
        // `code: None` means "the last window closed"; an explicit exit (Quit) carries a code.
        RunEvent::ExitRequested {
            code: None, api, ..
        } if tray::exists(app) => api.prevent_exit(),
        RunEvent::Exit => {
            if let Some(shell) = app.try_state::<Shell>() {
                shell.shutdown_engine();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::notify::{Note, NoteAction};
    use crate::window::MAIN_WINDOW;
    use clap::Parser;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};
    use tauri::test::{mock_builder, mock_context, noop_assets};

    /// Records notifications instead of showing them, and answers each with the same action.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Note>>, Option<NoteAction>);

    impl Notifier for Recorder {
        fn show(&self, note: Note, on_action: Box<dyn FnOnce(NoteAction) + Send>) {
            self.0.lock().unwrap().push(note);
            on_action(self.1.clone().unwrap_or(NoteAction::Dismissed));
        }
    }

    fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
        let start = Instant::now();
        while !ready() {
            assert!(
                start.elapsed() < Duration::from_secs(40),
                "timed out: {what}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs one turn of the mock event loop, which is when Tauri runs the setup hook.
    #[allow(deprecated)] // run_iteration busy-loops when called in a loop; we call it once
    fn start<R: Runtime>(app: &mut App<R>) {
        app.run_iteration(|_, _| {});
    }

    fn args(extra: &[&str], db: &std::path::Path) -> DesktopArgs {
        let mut argv = vec![
            "simrelay-desktop",
            "--no-tray",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--db",
            db.to_str().unwrap(),
        ];
        argv.extend_from_slice(extra);
        DesktopArgs::try_parse_from(argv).unwrap()
    }

    #[test]
    fn setup_runs_the_engine_shows_its_url_notifies_and_shuts_down() {
        let dir = tempfile::tempdir().unwrap();
        let notes = Arc::new(Recorder::default());
        let mut app = run_app(
            mock_builder(),
            mock_context(noop_assets()),
            args(&[], &dir.path().join("a.db")),
            notes.clone(),
        )
        .unwrap();
        start(&mut app);

        let shell = app.state::<Shell>();
        let url = shell.url().clone();
        assert_eq!(url.host_str(), Some("127.0.0.1"));
        let port = url.port().unwrap();
        assert_ne!(port, 0, "the engine reports its real port");
        let window = app
            .get_webview_window(MAIN_WINDOW)
            .expect("the window opens at start");
        assert_eq!(
            window.url().unwrap(),
            url,
            "the window loads the engine's URL"
        );
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
            "the engine serves"
        );

        // The demo modem injects a message with a code every few seconds; it becomes a notification, code first.
        let start = Instant::now();
        let note = loop {
            if let Some(note) = notes.0.lock().unwrap().first().cloned() {
                break note;
            }
            assert!(
                start.elapsed() < Duration::from_secs(40),
                "no notification from the demo modem"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let code = note.code.clone().expect("demo messages carry codes");
        assert!(note.title.starts_with(&code), "{note:?}");
        assert_eq!(shell.latest_code().and_then(|m| m.code), Some(code));

        on_run_event(app.handle(), RunEvent::Exit);
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "Quit stops the engine"
        );
    }

    #[test]
    fn engine_settings_steer_notifications_a_click_opens_the_message_and_lan_switches() {
        let dir = tempfile::tempdir().unwrap();
        let notes = Arc::new(Recorder(Mutex::default(), Some(NoteAction::Open)));
        let mut app = run_app(
            mock_builder(),
            mock_context(noop_assets()),
            DesktopArgs {
                minimized: true,
                ..args(&[], &dir.path().join("c.db"))
            },
            notes.clone(),
        )
        .unwrap();
        start(&mut app);
        let shell = app.state::<Shell>();
        let count = || notes.0.lock().unwrap().len();

        // Clicking the notification (the default action) opens the window on that message.
        wait_for("a first notification", || count() >= 1);
        let first = notes.0.lock().unwrap()[0].clone();
        let window = app
            .get_webview_window(MAIN_WINDOW)
            .expect("the click opened the window");
        assert_eq!(
            window.url().unwrap(),
            crate::window::message_url(shell.url(), first.message_id)
        );
        assert_eq!(
            window.url().unwrap().fragment(),
            Some(format!("/message/{}", first.message_id).as_str())
        );

        // hide_code from the Settings screen (here: the same engine call PATCH makes) takes effect.
        shell
            .update_settings(&serde_json::json!({"hide_code": true}))
            .unwrap();
        wait_for("hide_code to apply", || shell.note_settings().hide_code);
        let before = count();
        wait_for("a notification with the code hidden", || count() > before);
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

        // Mode "none": messages keep arriving, nothing pops up.
        shell
            .update_settings(
                &serde_json::json!({"notifications": "none", "clear_clipboard_secs": 0}),
            )
            .unwrap();
        wait_for("mode none to apply", || {
            shell.note_settings().mode == crate::cli::NotifyMode::None
        });
        assert_eq!(
            shell.note_settings().clear_after,
            None,
            "0 keeps the clipboard"
        );
        let quiet_from = count();
        let latest = shell.latest_code().map(|m| m.id);
        wait_for("another demo message", || {
            shell.latest_code().map(|m| m.id) != latest
        });
        assert_eq!(count(), quiet_from, "mode none still notified");

        // The tray's LAN sharing item switches the engine's setting and follows it back.
        assert!(!shell.lan());
        crate::tray::toggle_lan(app.handle());
        wait_for("LAN sharing on", || shell.lan());
        crate::tray::toggle_lan(app.handle());
        wait_for("LAN sharing off", || !shell.lan());
        on_run_event(app.handle(), RunEvent::Exit);
    }

    #[test]
    fn tray_lan_item_switches_the_engine_setting() {
        // The tray itself cannot be built on the mock runtime (checked against tauri 2.12.5): `MockRuntime` has no
        // tray of its own, and `TrayIconBuilder::build` runs `tray_icon::TrayIconBuilder::build` as a main-thread
        // task, which on Linux is libappindicator + GTK; the mock never initialises GTK and has no display. So the
        // menu items' texts (latest code, pause, LAN, quit) are not readable here; these tests drive the items'
        // handler (`tray::on_menu_id`), the same function a click runs, and the end-to-end test under Xvfb runs
        // the real tray. The check mark is set from `Shell::lan` by `tray::refresh`.
        let dir = tempfile::tempdir().unwrap();
        let mut app = run_app(
            mock_builder(),
            mock_context(noop_assets()),
            args(&[], &dir.path().join("d.db")),
            Arc::new(Recorder::default()),
        )
        .unwrap();
        start(&mut app);
        let shell = app.state::<Shell>();
        assert!(!shell.lan());
        crate::tray::on_menu_id(app.handle(), crate::tray::LAN_ITEM);
        wait_for("LAN sharing on", || shell.lan());
        let settings = shell.update_settings(&serde_json::json!({})).unwrap();
        assert!(
            settings.lan,
            "the engine's setting changed, not just the shell's copy"
        );
        // A change made elsewhere (the Settings screen) reaches the shell too.
        shell.set_lan(false).unwrap();
        wait_for("LAN sharing off", || !shell.lan());
        on_run_event(app.handle(), RunEvent::Exit);
    }

    #[test]
    fn a_removed_modem_no_longer_troubles_the_tray() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = run_app(
            mock_builder(),
            mock_context(noop_assets()),
            args(&[], &dir.path().join("r.db")),
            Arc::new(Recorder::default()),
        )
        .unwrap();
        start(&mut app);
        let shell = app.state::<Shell>();
        let failed: simrelay_protocol::ModemStatus = serde_json::from_value(
            serde_json::json!({"id": "imei:1", "port": "/dev/ttyUSB7", "state": "failed"}),
        )
        .unwrap();
        crate::shell::on_event(
            app.handle(),
            simrelay_protocol::ServerEvent::Modem { modem: failed },
        );
        assert_eq!(shell.mood(), crate::shell::TrayMood::Trouble);
        crate::shell::on_event(
            app.handle(),
            simrelay_protocol::ServerEvent::ModemRemoved {
                id: "imei:1".to_owned(),
            },
        );
        assert_ne!(shell.mood(), crate::shell::TrayMood::Trouble);
        on_run_event(app.handle(), RunEvent::Exit);
    }

    #[test]
    fn minimized_start_opens_on_demand_and_paused_notifications_stay_quiet() {
        let dir = tempfile::tempdir().unwrap();
        let notes = Arc::new(Recorder::default());
        let mut app = run_app(
            mock_builder(),
            mock_context(noop_assets()),
            // Start at login: in the tray, no window (the mock runtime cannot destroy a window to get here).
            DesktopArgs {
                minimized: true,
                ..args(&[], &dir.path().join("b.db"))
            },
            notes.clone(),
        )
        .unwrap();
        start(&mut app);
        assert!(
            app.get_webview_window(MAIN_WINDOW).is_none(),
            "--minimized opens no window"
        );
        let shell = app.state::<Shell>();
        shell.set_pause(crate::pause::Pause::Indefinitely);

        let start = Instant::now();
        while shell.latest_code().is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(40),
                "no demo message arrived"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            notes.0.lock().unwrap().is_empty(),
            "a paused app still notified"
        );
        assert_eq!(shell.mood(), crate::shell::TrayMood::Unread);

        crate::window::show_main(app.handle());
        assert!(
            app.get_webview_window(MAIN_WINDOW).is_some(),
            "Open creates the window"
        );
        assert_eq!(
            shell.mood(),
            crate::shell::TrayMood::Normal,
            "opening the window marks the code read"
        );
        on_run_event(app.handle(), RunEvent::Exit);
    }
}
