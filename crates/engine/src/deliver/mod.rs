//! Deliveries: new messages carried to webhooks and forwarders (ntfy, Gotify, Telegram, e-mail) through an
//! outbox in the database (SQLite or PostgreSQL), so none is lost between the commit and the target, across
//! failures and restarts.
//!
//! - `outbox.rs`: the retry schedule ([`Backoff`]). The rows (`store/deliveries.rs`) are written by a trigger
//!   inside the message's own commit (migration 0011), read here, retried, kept as the delivery log.
//! - `targets.rs`: the targets the settings name (`hook_url`, `forwarders`) and their checks.
//! - one file per kind of target, each building its request without I/O: `webhook.rs` (signed with
//!   `sign.rs`), `ntfy.rs`, `gotify.rs`, `telegram.rs`, `email.rs`; `http.rs` sends the HTTP ones.
//!
//! [`run`] claims due rows, makes the attempts (at most [`MAX_IN_FLIGHT`] at once and
//! [`MAX_IN_FLIGHT_PER_TARGET`] per target, off the ingest path), and records each outcome. It wakes on every new message on the hub, on a replay, on a settings change, and when
//! the next retry is due; a wake it misses costs nothing, since each pass reads the table.

mod email;
mod gotify;
mod http;
mod ntfy;
pub(crate) mod outbox;
pub mod sign;
mod targets;
mod telegram;
pub(crate) mod text;
mod webhook;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use simrelay_protocol::{Forwarder, ForwarderKind, ServerEvent, Settings};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use outbox::Backoff;
pub use targets::{check_forwarders, HOOK_URL_TARGET, MIN_SECRET};
pub use webhook::EVENT_ID_HEADER;

use crate::hub::Hub;
use crate::store::{Store, StoreError};
use outbox::{now_ms, Claimed};

/// Attempts running at once, over all targets.
pub const MAX_IN_FLIGHT: usize = 64;
/// Attempts running at once for one target, so a slow receiver cannot hold every slot and delay the others.
pub const MAX_IN_FLIGHT_PER_TARGET: usize = 16;
/// Finished deliveries are kept in the log this long.
const KEEP_LOG: chrono::Duration = chrono::Duration::days(30);
/// How often the log is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);
/// After a database error, wait this long before the next pass.
const STORE_RETRY: Duration = Duration::from_secs(5);

/// How deliveries run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryOptions {
    /// The retry schedule.
    pub backoff: Backoff,
    /// Time limit of one attempt (`hook_timeout_secs`).
    pub timeout: Duration,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            backoff: Backoff::default(),
            timeout: Duration::from_secs(10),
        }
    }
}

impl DeliveryOptions {
    /// A claimed delivery is not claimed again for this long (longer than any attempt may take).
    fn lease(&self) -> Duration {
        self.timeout + Duration::from_secs(5)
    }
}

/// Writes the targets `settings` name into the table the outbox trigger reads. Called at start and after every
/// settings change, before the change is published.
pub(crate) async fn sync_targets(store: &Store, settings: &Settings) -> Result<(), StoreError> {
    store
        .sync_delivery_targets(&targets::rows_of(&targets::targets_of(settings)))
        .await
}

/// A new random webhook secret (256 bits, hex).
pub(crate) fn generate_secret() -> String {
    crate::server::generate_token()
}

/// Runs the outbox until `shutdown`. Attempts still running then are dropped; their rows are claimed again
/// after the lease, at the next start.
pub(crate) async fn run(
    store: Store,
    hub: Hub,
    options: DeliveryOptions,
    shutdown: CancellationToken,
) {
    let client = http::client();
    let mut settings = hub.watch_settings();
    let mut targets = targets_by_name(&settings.borrow_and_update());
    let mut events = hub.subscribe();
    let wake = hub.outbox_wake();
    // Each attempt's task returns its target's name, to count what runs per target.
    let mut running: JoinSet<String> = JoinSet::new();
    let mut per_target: HashMap<String, usize> = HashMap::new();
    let mut prune = tokio::time::interval(PRUNE_EVERY);
    loop {
        let next_due = match pass(
            &store,
            &hub,
            &client,
            &targets,
            options,
            &mut running,
            &mut per_target,
        )
        .await
        {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "the outbox cannot read its table; retrying in 5 s");
                Some(now_ms() + i64::try_from(STORE_RETRY.as_millis()).unwrap_or(5000))
            }
        };
        let full = running.len() >= MAX_IN_FLIGHT;
        let sleep =
            next_due.map(|due| Duration::from_millis(u64::try_from(due - now_ms()).unwrap_or(0)));
        tokio::select! {
            () = shutdown.cancelled() => break,
            event = events.recv() => match event {
                Ok(ServerEvent::Sms { .. }) | Err(RecvError::Lagged(_)) => {}
                Ok(_) => continue,
                Err(RecvError::Closed) => break,
            },
            changed = settings.changed() => {
                if changed.is_err() {
                    break;
                }
                targets = targets_by_name(&settings.borrow_and_update());
            }
            () = wake.notified() => {}
            Some(done) = running.join_next(), if !running.is_empty() => {
                if let Ok(target) = done {
                    if let Some(n) = per_target.get_mut(&target) {
                        *n = n.saturating_sub(1);
                        if *n == 0 {
                            per_target.remove(&target);
                        }
                    }
                }
            }
            () = tokio::time::sleep(sleep.unwrap_or(Duration::ZERO)), if sleep.is_some() && !full => {}
            _ = prune.tick() => {
                match store.prune_deliveries(Utc::now() - KEEP_LOG).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "pruned finished deliveries older than 30 days"),
                    Err(e) => tracing::warn!(error = %e, "cannot prune the delivery log"),
                }
            }
        }
    }
    running.shutdown().await;
}

fn targets_by_name(settings: &Settings) -> Arc<HashMap<String, Forwarder>> {
    Arc::new(
        targets::targets_of(settings)
            .into_iter()
            .map(|t| (t.name.clone(), t))
            .collect(),
    )
}

/// Claims what is due (as many as there is room for) and starts their attempts; returns when the earliest
/// pending delivery is due.
async fn pass(
    store: &Store,
    hub: &Hub,
    client: &reqwest::Client,
    targets: &Arc<HashMap<String, Forwarder>>,
    options: DeliveryOptions,
    running: &mut JoinSet<String>,
    per_target: &mut HashMap<String, usize>,
) -> Result<Option<i64>, StoreError> {
    let room = MAX_IN_FLIGHT.saturating_sub(running.len());
    let now = now_ms();
    // Reading first keeps the writer connection (ingest's) free when nothing is due, the common case.
    if room > 0
        && store
            .next_delivery_due()
            .await?
            .is_some_and(|due| due <= now)
    {
        let full: Vec<&str> = per_target
            .iter()
            .filter(|(_, n)| **n >= MAX_IN_FLIGHT_PER_TARGET)
            .map(|(t, _)| t.as_str())
            .collect();
        // A target with some attempts running may get a full share more: at most twice its share runs at once.
        let claimed = store
            .claim_due_deliveries(
                now,
                u32::try_from(room).unwrap_or(1),
                u32::try_from(MAX_IN_FLIGHT_PER_TARGET).unwrap_or(1),
                &full,
                options.lease(),
            )
            .await?;
        for delivery in claimed {
            *per_target.entry(delivery.target.clone()).or_default() += 1;
            let target = targets.get(&delivery.target).cloned();
            let (store, hub, client) = (store.clone(), hub.clone(), client.clone());
            running.spawn(async move {
                let name = delivery.target.clone();
                attempt(&store, &hub, &client, target, delivery, options).await;
                name
            });
        }
    }
    hub.metrics()
        .set_pending_deliveries(store.pending_deliveries().await?);
    store.next_delivery_due().await
}

/// Makes one attempt and records it.
async fn attempt(
    store: &Store,
    hub: &Hub,
    client: &reqwest::Client,
    target: Option<Forwarder>,
    delivery: Claimed,
    options: DeliveryOptions,
) {
    let record = |result: Result<(), StoreError>| {
        if let Err(e) = result {
            // The lease runs out and the delivery is tried again: at least once, never lost.
            tracing::error!(delivery = delivery.id, error = %e, "cannot record a delivery attempt");
        }
    };
    let Some(target) = target else {
        let why = format!(
            "the target {:?} is no longer in the settings",
            delivery.target
        );
        record(store.delivery_abandoned(delivery.id, &why).await);
        return;
    };
    let message = match delivery.message_id {
        Some(id) => match store.get(id).await {
            Ok(message) => message,
            Err(e) => {
                tracing::error!(delivery = delivery.id, error = %e, "cannot read a message to deliver");
                return;
            }
        },
        None => None,
    };
    let Some(message) = message else {
        let why = "the message was deleted before it was delivered";
        record(store.delivery_abandoned(delivery.id, why).await);
        return;
    };
    let number = delivery.attempts.saturating_add(1);
    let result = send(
        client,
        &target,
        &message,
        &delivery,
        number,
        options.timeout,
    )
    .await;
    hub.metrics()
        .delivery_attempt(&target.name, target.kind.as_str(), result.is_ok());
    match result {
        Ok(()) => {
            tracing::debug!(delivery = delivery.id, target = %target.name, "delivered");
            record(store.delivery_succeeded(delivery.id).await);
        }
        Err(error) => {
            let next = options
                .backoff
                .next_try(delivery.window_start, number, now_ms());
            match next {
                Some(_) => {
                    tracing::warn!(delivery = delivery.id, target = %target.name, attempt = number,
                    %error, "delivery failed; it will be retried")
                }
                None => {
                    tracing::error!(delivery = delivery.id, target = %target.name, attempt = number,
                    %error, "delivery failed for 24 hours; giving up (replay it from Settings → Deliveries)")
                }
            }
            record(store.delivery_failed(delivery.id, &error, next).await);
        }
    }
}

/// Sends `message` to `target`.
async fn send(
    client: &reqwest::Client,
    target: &Forwarder,
    message: &simrelay_protocol::Message,
    delivery: &Claimed,
    attempt: u32,
    timeout: Duration,
) -> Result<(), String> {
    let missing = |field: &str| format!("{field} is not set");
    let request = match target.kind {
        ForwarderKind::Webhook => webhook::request(
            target.url.as_deref().ok_or_else(|| missing("url"))?,
            target
                .secret
                .as_deref()
                .ok_or_else(|| missing("secret (and hook_secret)"))?,
            &delivery.event_id,
            attempt,
            message,
            Utc::now().timestamp(),
        )?,
        ForwarderKind::Ntfy => ntfy::request(
            targets::base_url(target),
            target.topic.as_deref().ok_or_else(|| missing("topic"))?,
            target.token.as_deref(),
            message,
        ),
        ForwarderKind::Gotify => gotify::request(
            targets::base_url(target),
            target.token.as_deref().ok_or_else(|| missing("token"))?,
            message,
        ),
        ForwarderKind::Telegram => telegram::request(
            targets::base_url(target),
            target.token.as_deref().ok_or_else(|| missing("token"))?,
            target
                .chat_id
                .as_deref()
                .ok_or_else(|| missing("chat_id"))?,
            message,
        ),
        ForwarderKind::Email => {
            let mail = email::mail(target, message, &delivery.event_id)?;
            return email::send(target, mail, timeout).await;
        }
    };
    http::post(client, &request, timeout).await
}
