//! Hooks: for each new message (or only those with a code), run a command.
//!
//! What runs is read from the live settings for each message, so changing a hook (`PATCH /api/settings`)
//! takes effect with the next message, without a restart.
//!
//! Hooks read the hub like any other consumer, after the commit, so they can never block or slow ingest:
//! at most four run at once, and if they fall behind, the hub drops their oldest events (logged)
//! rather than hold anyone up. Each run has a timeout and is retried a bounded number of times.
//!
//! The `hook_url` webhook is not run here: it is a target of the outbox (`crate::deliver`), which keeps every
//! delivery in the database and retries it across restarts.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use simrelay_protocol::{Message, ServerEvent, Settings};
use tokio::io::AsyncWriteExt;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::store::{Claim, Store};

/// Hooks run concurrently at most this many at a time.
const MAX_RUNNING: usize = 4;
/// Attempts per hook and message (the first one included).
const ATTEMPTS: u32 = 3;

/// What to run for each new message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hooks {
    /// A program and its arguments (no shell). It gets the message as JSON on stdin and in `SIMRELAY_ID`,
    /// `SIMRELAY_MODEM`, `SIMRELAY_SENDER`, `SIMRELAY_TEXT`, `SIMRELAY_CODE` (empty without a code).
    pub command: Vec<String>,
    /// A URL that gets the message as a signed JSON POST, through the outbox (`crate::deliver`).
    pub url: Option<String>,
    /// Only messages that carry a code.
    pub only_codes: bool,
    /// Time limit of one run, in seconds.
    pub timeout_secs: u64,
}

impl Default for Hooks {
    fn default() -> Self {
        Hooks {
            command: Vec::new(),
            url: None,
            only_codes: false,
            timeout_secs: 10,
        }
    }
}

impl Hooks {
    /// Whether a command is configured (the URL is the outbox's).
    pub fn is_active(&self) -> bool {
        !self.command.is_empty()
    }
}

/// Runs the hooks the live `settings` name (with the time limit `timeout_secs`) for every message published on
/// `events` until `shutdown`.
///
/// Every node sharing a PostgreSQL database hears of every message; a hook runs on the node whose claim wins
/// ([`Claim::Hook`]), so once cluster-wide.
pub(crate) async fn run(
    store: Store,
    settings: watch::Receiver<Settings>,
    timeout_secs: u64,
    mut events: broadcast::Receiver<ServerEvent>,
    shutdown: CancellationToken,
) {
    let running = Arc::new(Semaphore::new(MAX_RUNNING));
    loop {
        let message = tokio::select! {
            () = shutdown.cancelled() => return,
            event = events.recv() => match event {
                Ok(ServerEvent::Sms { message }) => message,
                Ok(_) => continue,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "hooks fell behind; they were skipped for {missed} messages");
                    continue;
                }
                Err(RecvError::Closed) => return,
            },
        };
        let hooks = crate::store::settings::hooks_of(&settings.borrow(), timeout_secs);
        if !hooks.is_active() || (hooks.only_codes && message.code.is_none()) {
            continue;
        }
        match store.claim(Claim::Hook, message.id).await {
            Ok(true) => {}
            // Another node runs it.
            Ok(false) => continue,
            Err(e) => {
                tracing::error!(message = message.id, error = %e, "cannot claim a message's hooks; skipping them");
                continue;
            }
        }
        let hooks = Arc::new(hooks);
        // Waiting for a permit here only delays hooks: the hub buffers for us and drops for us, never for ingest.
        let Ok(permit) = running.clone().acquire_owned().await else {
            return;
        };
        let (hooks, message) = (hooks.clone(), message);
        tokio::spawn(async move {
            let timeout = Duration::from_secs(hooks.timeout_secs.max(1));
            retry("command", message.id, || {
                run_command(&hooks.command, &message, timeout)
            })
            .await;
            drop(permit);
        });
    }
}

async fn retry<F, Fut>(kind: &str, id: i64, mut attempt: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    for n in 1..=ATTEMPTS {
        match attempt().await {
            Ok(()) => return,
            Err(e) if n < ATTEMPTS => {
                tracing::warn!(kind, message = id, attempt = n, error = %e, "hook failed; retrying");
                tokio::time::sleep(Duration::from_millis(500) * 2u32.pow(n - 1)).await;
            }
            Err(e) => tracing::error!(kind, message = id, error = %e, "hook failed; giving up"),
        }
    }
}

/// Environment values cannot hold NUL; SMS text can.
fn env_safe(s: &str) -> String {
    s.replace('\0', "")
}

async fn run_command(argv: &[String], message: &Message, timeout: Duration) -> Result<(), String> {
    let (program, args) = argv.split_first().ok_or("empty command")?;
    let json = serde_json::to_vec(message).map_err(|e| e.to_string())?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .env("SIMRELAY_ID", message.id.to_string())
        .env("SIMRELAY_MODEM", env_safe(&message.modem))
        .env("SIMRELAY_SENDER", env_safe(&message.sender))
        .env("SIMRELAY_TEXT", env_safe(&message.text))
        .env(
            "SIMRELAY_CODE",
            env_safe(message.code.as_deref().unwrap_or("")),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // A hook that outlives its timeout is killed, not leaked.
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine: ignore a broken pipe.
        let _ = stdin.write_all(&json).await;
    }
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(format!("{program} exited with {status}")),
        Ok(Err(e)) => Err(format!("cannot wait for {program}: {e}")),
        Err(_) => Err(format!(
            "{program} took longer than {}s and was killed",
            timeout.as_secs()
        )),
    }
}
