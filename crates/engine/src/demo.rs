//! `--demo`: the modem simulator on a real pseudo-terminal, driven by the ordinary modem driver, with a
//! labelled sample message delivered every few seconds. Everything after the pty is the production path.

use std::time::Duration;

use chrono::Local;
use simrelay_modem::sim::demo::demo_messages;
use simrelay_modem::{SimOptions, Simulator};
use tokio_util::sync::CancellationToken;

/// Id of the demo modem, shown as `modem` on its messages.
pub const DEMO_MODEM_ID: &str = "demo";

/// Delay before the first demo message, so a freshly opened UI sees one arrive live.
const FIRST_MESSAGE_AFTER: Duration = Duration::from_secs(2);

/// Starts the simulator; the caller attaches a driver to [`Simulator::path`] and then runs [`inject`].
pub(crate) async fn start_simulator() -> Result<Simulator, simrelay_modem::sim::SimError> {
    Simulator::start(SimOptions::default()).await
}

/// Delivers the demo messages in turn, one every `every`, until `shutdown`; then stops the simulator.
pub(crate) async fn inject(simulator: Simulator, every: Duration, shutdown: CancellationToken) {
    let messages = demo_messages();
    let mut next = tokio::time::Instant::now() + FIRST_MESSAGE_AFTER;
    for message in messages.iter().cycle() {
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep_until(next) => {}
        }
        // The SMS timestamp has whole seconds: a repeat of the same text is still a distinct PDU.
        let slots =
            simulator.deliver_text(message.sender, message.text, Local::now().fixed_offset());
        if slots.contains(&0) {
            tracing::warn!("the demo SIM is full; a demo message was not stored");
        }
        next += every.max(Duration::from_secs(1));
    }
    simulator.shutdown().await;
}
