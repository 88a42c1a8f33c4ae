//! The retention task: applies the retention rules of the live settings at start-up, every minute, and at once
//! when they change (`PATCH /api/settings`), so a new rule needs no restart. Without any rule it only waits for
//! the settings to change: an idle relay has no minute tick.

use std::time::Duration;

use simrelay_protocol::Settings;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::store::settings::retention_of;
use crate::store::{Retention, Store};

/// Minutes are the finest unit a retention rule has.
const PERIOD: Duration = Duration::from_secs(60);

pub(crate) async fn run(
    store: Store,
    mut settings: watch::Receiver<Settings>,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(PERIOD);
    loop {
        let active = retention_of(&settings.borrow()) != Retention::default();
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = settings.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = tick.tick(), if active => {}
        }
        let retention = retention_of(&settings.borrow_and_update());
        if retention == Retention::default() {
            continue;
        }
        match store.apply_retention(&retention).await {
            Ok(report) if report.deleted + report.scrubbed > 0 => {
                tracing::info!(
                    deleted = report.deleted,
                    scrubbed = report.scrubbed,
                    "retention applied"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "retention failed; retrying in a minute"),
        }
    }
}
