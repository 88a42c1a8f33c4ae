//! `simrelay-window`: the desktop app's window, a Tauri webview on the engine's URL.
//!
//! `simrelay-desktop` (the resident process: engine, tray, notifications) starts this process when the user opens
//! the window and talks to it over its standard input and output (see `simrelay_desktop::window_link`). Closing
//! the window ends the process, and with it every WebKit process: on Linux, WebKitGTK keeps its network process and
//! about 100 MB of libraries for as long as the process that used it lives, so only a separate process can give
//! that memory back while the app waits in the tray.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod app;

use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    // Standard error only: the resident process owns the log files, and this one's standard error is its.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let builder = app::with_plugins(tauri::Builder::default());
    let log_dir = simrelay_desktop::window_link::log_dir_arg(std::env::args_os().skip(1));
    let window = app::build(
        builder,
        tauri::generate_context!(),
        std::io::stdout(),
        log_dir,
    )?;
    app::follow_commands(
        window.handle().clone(),
        std::io::BufReader::new(std::io::stdin()),
    );
    window.run(|_, _| {});
    Ok(())
}
