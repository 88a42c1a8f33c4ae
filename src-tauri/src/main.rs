//! `simrelay-desktop`: parses the command line and hands over to the library, which does everything else.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use clap::Parser;
use simrelay_desktop::{DesktopArgs, DesktopNotifier};
use std::sync::Arc;

fn main() -> anyhow::Result<()> {
    // Standard error and a daily-rotated file in the OS log directory, like `simrelay serve`; Settings →
    // "Open logs folder" shows that directory.
    let logging = simrelay_engine::logging::init()?;
    tracing::info!(dir = %logging.dir.display(), "logging");
    let args = DesktopArgs::parse();
    let builder = simrelay_desktop::with_desktop_plugins(tauri::Builder::default());
    let app = simrelay_desktop::run_app(
        builder,
        tauri::generate_context!(),
        args,
        Arc::new(DesktopNotifier),
    )?;
    app.run(simrelay_desktop::on_run_event);
    Ok(())
}
