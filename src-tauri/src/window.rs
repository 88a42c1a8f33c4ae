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

/// Shows and focuses the main window, creating it if it is closed. Errors are logged: a failure here must not take
/// the tray or the engine down.
pub fn show_main<R: Runtime>(app: &AppHandle<R>) {
    if let Err(error) = try_show_main(app) {
        tracing::error!(%error, "could not open the SimRelay window");
    }
}

fn try_show_main<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let shell = app.state::<Shell>();
    shell.mark_read();
    tray::refresh(app);
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        window.unminimize()?;
        window.show()?;
        return window.set_focus();
    }
    let window =
        WebviewWindowBuilder::new(app, MAIN_WINDOW, WebviewUrl::External(shell.url().clone()))
            .title("SimRelay")
            .inner_size(960.0, 720.0)
            .min_inner_size(360.0, 400.0)
            .build()?;
    window.set_focus()
}
