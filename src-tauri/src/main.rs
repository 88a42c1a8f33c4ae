//! `simrelay-desktop`: parses the command line and runs the resident process (engine, tray, notifications); the
//! window is `simrelay-window`, which this process starts on demand.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use clap::Parser;
use simrelay_desktop::{DesktopArgs, DesktopNotifier, WindowProgram};
use std::sync::Arc;

fn main() -> anyhow::Result<()> {
    // Every file this process creates (database, logs, tokens, certificate) is the owner's alone from its creation.
    simrelay_engine::private_files();
    let args = DesktopArgs::parse();
    // The same configuration as `simrelay serve`: defaults < config file < SIMRELAY_* environment < flags.
    let engine = args.resolve(|name| std::env::var(name).ok())?;
    // Standard error and a daily-rotated file in the log directory, like `simrelay serve`; Settings →
    // "Open logs folder" shows that directory.
    let logging = simrelay_engine::logging::init(engine.paths.log_dir.as_deref())?;
    tracing::info!(
        config = %engine.paths.config_file.display(),
        state = %engine.paths.state_dir.display(),
        logs = ?logging.dir,
        "configuration"
    );
    // Two workers: the engine's work is bursts of I/O, and the tray process should stay small.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let notifier = DesktopNotifier::on_current_runtime()
            .ok_or_else(|| anyhow::anyhow!("no tokio runtime for notifications"))?;
        simrelay_desktop::run(args, engine, Arc::new(notifier), WindowProgram::default()).await?;
        anyhow::Ok(())
    })?;
    Ok(())
}
