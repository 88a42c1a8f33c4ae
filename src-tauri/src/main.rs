//! `simrelay-desktop`: parses the command line and hands over to the library, which does everything else.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use clap::Parser;
use simrelay_desktop::{DesktopArgs, DesktopNotifier};
use std::sync::Arc;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,simrelay=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
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
