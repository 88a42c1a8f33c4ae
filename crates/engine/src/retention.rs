//! The retention task: applies the configured [`Retention`] at start-up and then every minute.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::{Retention, Store};

/// Minutes are the finest unit a retention rule has.
const PERIOD: Duration = Duration::from_secs(60);

pub(crate) async fn run(store: Store, retention: Retention, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(PERIOD);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => match store.apply_retention(&retention).await {
                Ok(report) if report.deleted + report.scrubbed > 0 => {
                    tracing::info!(deleted = report.deleted, scrubbed = report.scrubbed, "retention applied");
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "retention failed; retrying in a minute"),
            }
        }
    }
}
