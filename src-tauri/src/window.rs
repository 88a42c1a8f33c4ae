//! The main window: a webview on the engine's URL, created on demand and destroyed on close.
//!
//! Closing the window destroys it, webview and all: the app lives in the tray most of its life, and a hidden
//! WebKit view would keep well over 100 MB. "Open" builds a fresh one, which loads in well under a second
//! from the in-process engine.

use crate::shell::Shell;
use crate::tray;
use tauri::{AppHandle, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

/// Label of the main window.
pub const MAIN_WINDOW: &str = "main";

/// Path the page navigates to for "Open logs folder" (Settings, desktop only). The window intercepts it and
/// cancels the navigation, so the page asks the shell without any IPC bridge; a browser would just get the UI.
pub const OPEN_LOGS_PATH: &str = "/__desktop/open-logs";

/// Query parameter the shell adds to the window's URL so the page knows it runs in the desktop window.
pub const SHELL_PARAM: (&str, &str) = ("shell", "desktop");

/// Whether a navigation of the window is the page asking for the logs folder (same origin as the engine).
pub fn is_open_logs(engine: &tauri::Url, target: &tauri::Url) -> bool {
    target.origin() == engine.origin() && target.path() == OPEN_LOGS_PATH
}

/// Opens the log directory in the system's file manager.
fn open_logs_folder() {
    let dir = simrelay_engine::logging::log_dir();
    if let Err(error) = std::fs::create_dir_all(&dir) {
        tracing::warn!(%error, dir = %dir.display(), "cannot create the log folder");
    }
    let opener = if cfg!(target_os = "windows") {
        "explorer"
    } else if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    match std::process::Command::new(opener).arg(&dir).spawn() {
        // Reap the opener when it exits, off the UI thread.
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(error) => {
            tracing::warn!(%error, opener, dir = %dir.display(), "cannot open the log folder")
        }
    }
}

/// The engine's URL opened on one message (`#/message/<id>`, the UI's route for it).
pub fn message_url(base: &tauri::Url, id: i64) -> tauri::Url {
    let mut url = base.clone();
    url.set_fragment(Some(&format!("/message/{id}")));
    url
}

/// Shows the window on message `id` (a click on its notification). An open window switches screens in place
/// (the UI follows its address's `#fragment`); a closed one is created on that address.
pub fn open_message<R: Runtime>(app: &AppHandle<R>, id: i64) {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        // The id is a number we format ourselves: nothing from the SMS reaches the script.
        if let Err(error) = window.eval(format!("location.hash = '#/message/{id}';")) {
            tracing::warn!(%error, "could not open the message in the window");
        }
        show_main(app);
        return;
    }
    let url = message_url(app.state::<Shell>().url(), id);
    if let Err(error) = try_show(app, url) {
        tracing::error!(%error, "could not open the SimRelay window");
    }
}

/// Shows and focuses the main window, creating it if it is closed. Errors are logged: a failure here must not take
/// the tray or the engine down.
pub fn show_main<R: Runtime>(app: &AppHandle<R>) {
    if let Err(error) = try_show_main(app) {
        tracing::error!(%error, "could not open the SimRelay window");
    }
}

fn try_show_main<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let url = app.state::<Shell>().url().clone();
    try_show(app, url)
}

/// Shows the window, or creates it on `url` when it is closed.
fn try_show<R: Runtime>(app: &AppHandle<R>, url: tauri::Url) -> tauri::Result<()> {
    let shell = app.state::<Shell>();
    shell.mark_read();
    tray::refresh(app);
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        window.unminimize()?;
        window.show()?;
        return window.set_focus();
    }
    let engine = shell.url().clone();
    let window = WebviewWindowBuilder::new(app, MAIN_WINDOW, WebviewUrl::External(url))
        .on_navigation(move |target| {
            if is_open_logs(&engine, target) {
                open_logs_folder();
                return false;
            }
            true
        })
        .title("SimRelay")
        .inner_size(960.0, 720.0)
        .min_inner_size(360.0, 400.0)
        .build()?;
    window.set_focus()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn only_the_engines_own_open_logs_path_is_intercepted() {
        let engine = tauri::Url::parse("http://127.0.0.1:8731/?token=t&shell=desktop").unwrap();
        let url = |s: &str| tauri::Url::parse(s).unwrap();
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
    fn message_urls_keep_the_engine_address() {
        let engine = tauri::Url::parse("http://127.0.0.1:8731/?token=t&shell=desktop").unwrap();
        assert_eq!(
            message_url(&engine, 42).as_str(),
            "http://127.0.0.1:8731/?token=t&shell=desktop#/message/42"
        );
    }
}
