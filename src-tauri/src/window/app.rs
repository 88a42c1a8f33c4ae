//! The window process's Tauri app: one webview window on the engine's URL, driven by the resident's commands.
//!
//! The app starts with no window; the first `open` command creates it. Closing it ends the app (Tauri exits when
//! its last window is gone), and so does the end of the command stream (the resident quit or died). The page gets
//! no Tauri IPC: it is the same UI a LAN browser loads, and it asks for the logs folder by navigating to
//! [`OPEN_LOGS_PATH`], which the window intercepts.

use simrelay_desktop::window_link::{Command, WindowEvent};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use tauri::{
    App, AppHandle, Builder, Context, Manager, Runtime, Url, WebviewUrl, WebviewWindowBuilder,
};

/// Label of the window.
pub const MAIN_WINDOW: &str = "main";

/// Path the page navigates to for "Open logs folder" (Settings, desktop only). The window intercepts it and
/// cancels the navigation, so the page asks the shell without any IPC bridge; a browser would just get the UI.
pub const OPEN_LOGS_PATH: &str = "/__desktop/open-logs";

/// Where events for the resident go (standard output in the real app).
struct Events(Mutex<Box<dyn Write + Send>>);

impl Events {
    fn send(&self, event: WindowEvent) {
        let mut out = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        // The resident may be gone already; the window has nothing better to do than carry on.
        let _ = writeln!(out, "{}", event.to_line()).and_then(|()| out.flush());
    }
}

/// The engine the window shows, fixed by the first `open`: later pages must come from the same origin.
#[derive(Default)]
struct Engine(Mutex<Option<Url>>);

/// The folder "Open logs folder" shows, as the resident named it (`None` when started without one).
struct LogDir(Option<PathBuf>);

/// Adds the plugins of the real window (tests on `mock_builder()` leave them out).
pub fn with_plugins<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    use tauri_plugin_window_state::StateFlags;
    builder.plugin(
        tauri_plugin_window_state::Builder::default()
            // Visibility is the resident's to decide, not a remembered state.
            .with_state_flags(StateFlags::all() - StateFlags::VISIBLE)
            .build(),
    )
}

/// Builds the app; `events` receives the window's [`WindowEvent`]s, one per line; `log_dir` is what "Open logs
/// folder" shows. Run it with [`App::run`] after [`follow_commands`].
pub fn build<R: Runtime>(
    builder: Builder<R>,
    context: Context<R>,
    events: impl Write + Send + 'static,
    log_dir: Option<PathBuf>,
) -> tauri::Result<App<R>> {
    builder
        .manage(Events(Mutex::new(Box::new(events))))
        .manage(Engine::default())
        .manage(LogDir(log_dir))
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::Focused(focused) = event {
                window.state::<Events>().send(WindowEvent::Focus(*focused));
            }
        })
        .build(context)
}

/// Reads commands, one per line, on a thread of their own and carries each out on the main thread. When the stream
/// ends (the resident closed it, or died) the app exits.
pub fn follow_commands<R: Runtime>(app: AppHandle<R>, commands: impl BufRead + Send + 'static) {
    let spawned = std::thread::Builder::new()
        .name("window-commands".into())
        .spawn(move || {
            for line in commands.lines() {
                let Ok(line) = line else { break };
                match Command::parse(&line) {
                    Ok(command) => {
                        let handle = app.clone();
                        if app
                            .run_on_main_thread(move || apply(&handle, command))
                            .is_err()
                        {
                            return;
                        }
                    }
                    Err(error) => tracing::warn!(%error, "ignored"),
                }
            }
            app.exit(0);
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot read commands; the window cannot be opened");
    }
}

/// Carries out one command. Errors are logged: a window that cannot do one thing can still do the next.
pub fn apply<R: Runtime>(app: &AppHandle<R>, command: Command) {
    let result = match command {
        Command::Open(url) => open(app, url),
        Command::Show => show(app),
        Command::Quit => {
            app.exit(0);
            Ok(())
        }
    };
    if let Err(error) = result {
        tracing::error!(%error, "window command failed");
    }
}

fn open<R: Runtime>(app: &AppHandle<R>, url: Url) -> tauri::Result<()> {
    let state = app.state::<Engine>();
    let engine = {
        let mut engine = state.0.lock().unwrap_or_else(PoisonError::into_inner);
        match engine.as_ref() {
            Some(known) if known.origin() != url.origin() => {
                tracing::warn!(origin = %url.origin().ascii_serialization(), "refused: not the engine's page");
                return Ok(());
            }
            Some(known) => known.clone(),
            None => engine.insert(url.clone()).clone(),
        }
    };
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        // Only the fragment changes when a notification opens a message: WebKit then switches screens in the
        // loaded page instead of reloading it.
        window.navigate(url)?;
        return show(app);
    }
    let log_dir = app.state::<LogDir>().0.clone();
    let window = WebviewWindowBuilder::new(app, MAIN_WINDOW, WebviewUrl::External(url))
        .on_navigation(move |target| {
            if is_open_logs(&engine, target) {
                match &log_dir {
                    Some(dir) => open_logs_folder(dir),
                    None => tracing::warn!("no log folder was named when the window was started"),
                }
                return false;
            }
            // Only the engine's own pages: a link in an SMS or an injected redirect must not turn the window
            // into a browser of other sites.
            let allowed = may_navigate(&engine, target);
            if !allowed {
                tracing::warn!(origin = %target.origin().ascii_serialization(), "refused to leave the engine's pages");
            }
            allowed
        })
        .title("SimRelay")
        .inner_size(960.0, 720.0)
        .min_inner_size(360.0, 400.0)
        .build()?;
    window.set_focus()
}

fn show<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let Some(window) = app.get_webview_window(MAIN_WINDOW) else {
        return Ok(());
    };
    window.unminimize()?;
    window.show()?;
    window.set_focus()
}

/// Whether the window may show `target`: only pages of the engine's own origin.
pub fn may_navigate(engine: &Url, target: &Url) -> bool {
    target.origin() == engine.origin()
}

/// Whether a navigation of the window is the page asking for the logs folder (same origin as the engine).
pub fn is_open_logs(engine: &Url, target: &Url) -> bool {
    target.origin() == engine.origin() && target.path() == OPEN_LOGS_PATH
}

/// Opens the log directory in the system's file manager.
fn open_logs_folder(dir: &std::path::Path) {
    if let Err(error) = std::fs::create_dir_all(dir) {
        tracing::warn!(%error, dir = %dir.display(), "cannot create the log folder");
    }
    let opener = if cfg!(target_os = "windows") {
        "explorer"
    } else if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    match std::process::Command::new(opener).arg(dir).spawn() {
        // Reap the opener when it exits, off the UI thread.
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(error) => {
            tracing::warn!(%error, opener, dir = %dir.display(), "cannot open the log folder")
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use tauri::test::{mock_builder, mock_context, noop_assets};

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn app() -> App<tauri::test::MockRuntime> {
        build(
            mock_builder(),
            mock_context(noop_assets()),
            std::io::sink(),
            None,
        )
        .unwrap()
    }

    #[test]
    fn starts_without_a_window_and_opens_the_engines_page_on_command() {
        let app = app();
        assert!(app.get_webview_window(MAIN_WINDOW).is_none());
        let page = url("http://127.0.0.1:8731/?token=t&shell=desktop");
        apply(app.handle(), Command::Open(page.clone()));
        let window = app.get_webview_window(MAIN_WINDOW).expect("opened");
        assert_eq!(window.url().unwrap(), page);

        // A notification click: the same page, on one message.
        let message = url("http://127.0.0.1:8731/?token=t&shell=desktop#/message/42");
        apply(app.handle(), Command::Open(message.clone()));
        assert_eq!(window.url().unwrap(), message);

        // Another origin is not the engine's UI: refused.
        apply(app.handle(), Command::Open(url("http://evil.example/")));
        assert_eq!(window.url().unwrap(), message);
    }

    #[test]
    fn only_the_engines_own_open_logs_path_is_intercepted() {
        let engine = url("http://127.0.0.1:8731/?token=t&shell=desktop");
        assert!(is_open_logs(
            &engine,
            &url("http://127.0.0.1:8731/__desktop/open-logs")
        ));
        assert!(!is_open_logs(&engine, &url("http://127.0.0.1:8731/")));
        assert!(!is_open_logs(
            &engine,
            &url("http://127.0.0.1:9999/__desktop/open-logs")
        ));
        assert!(!is_open_logs(
            &engine,
            &url("http://evil.example/__desktop/open-logs")
        ));
    }

    #[test]
    fn the_window_stays_on_the_engines_origin() {
        let engine = url("http://127.0.0.1:8731/?token=t&shell=desktop");
        assert!(may_navigate(
            &engine,
            &url("http://127.0.0.1:8731/#/message/5")
        ));
        assert!(may_navigate(
            &engine,
            &url("http://127.0.0.1:8731/other?x=1")
        ));
        for elsewhere in [
            "http://127.0.0.1:9999/",
            "https://127.0.0.1:8731/",
            "http://localhost:8731/",
            "https://evil.example/",
            "file:///etc/passwd",
            "data:text/html,<script>alert(1)</script>",
        ] {
            assert!(!may_navigate(&engine, &url(elsewhere)), "{elsewhere}");
        }
    }
}
