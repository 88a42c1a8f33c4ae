//! Hooks: for each new message (or only those with a code), run a command.
//!
//! What runs is read from the live settings for each message, so changing a hook (`PATCH /api/settings`)
//! takes effect with the next message, without a restart.
//!
//! Hooks read the hub like any other consumer, after the commit, so they can never block or slow ingest:
//! at most four run at once, and if they fall behind, the hub drops their oldest events (logged)
//! rather than hold anyone up. Each run has a timeout and is retried a bounded number of times.
//!
//! A hook command runs with a scrubbed environment: only the variables a program needs to start and reach the
//! desktop ([`INHERITED_ENV`]) are passed on, never `SIMRELAY_TOKEN` or anything else SimRelay was started
//! with. Writing the message to its standard input counts toward its time limit (a hook that never reads cannot
//! hold a run forever), and on timeout its whole process group is killed, so a shell script's children go too.
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
/// The variables a hook command inherits (and any `LC_*`): enough to run a program, find the user's files and
/// reach the desktop session (notifications, clipboard). Everything else is dropped.
pub const INHERITED_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "XDG_RUNTIME_DIR",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "DBUS_SESSION_BUS_ADDRESS",
    // Windows needs these to start a process at all.
    "SYSTEMROOT",
    "WINDIR",
    "COMSPEC",
    "PATHEXT",
    "TEMP",
    "TMP",
    "USERPROFILE",
    "APPDATA",
    "LOCALAPPDATA",
];

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
        match store.claim(&Claim::Hook, message.id).await {
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

type EnvVar = (std::ffi::OsString, std::ffi::OsString);

/// The part of `env` (this process's environment) a hook inherits (see [`INHERITED_ENV`]).
fn inherited(env: impl Iterator<Item = EnvVar>) -> Vec<EnvVar> {
    env.filter(|(name, _)| {
        name.to_str().is_some_and(|name| {
            INHERITED_ENV
                .iter()
                .any(|kept| kept.eq_ignore_ascii_case(name))
                || name.starts_with("LC_")
        })
    })
    .collect()
}

async fn run_command(argv: &[String], message: &Message, timeout: Duration) -> Result<(), String> {
    let env: Vec<EnvVar> = std::env::vars_os().collect();
    run_command_in(argv, message, timeout, env).await
}

/// [`run_command`] as if SimRelay's environment were `env`.
async fn run_command_in(
    argv: &[String],
    message: &Message,
    timeout: Duration,
    env: Vec<EnvVar>,
) -> Result<(), String> {
    let (program, args) = argv.split_first().ok_or("empty command")?;
    let json = serde_json::to_vec(message).map_err(|e| e.to_string())?;
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(inherited(env.into_iter()))
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
        .kill_on_drop(true);
    // Its own process group, so a timeout can kill everything it started.
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    let pid = child.id();
    let outcome = tokio::time::timeout(timeout, async {
        if let Some(mut stdin) = child.stdin.take() {
            // A hook that does not read its stdin is fine: ignore a broken pipe. One that never reads a message
            // larger than the pipe holds blocks here, inside the time limit.
            let _ = stdin.write_all(&json).await;
        }
        child.wait().await
    })
    .await;
    match outcome {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(format!("{program} exited with {status}")),
        Ok(Err(e)) => Err(format!("cannot wait for {program}: {e}")),
        Err(_) => {
            kill_group(pid);
            let _ = child.kill().await;
            Err(format!(
                "{program} took longer than {}s and was killed",
                timeout.as_secs()
            ))
        }
    }
}

/// Kills the process group led by `pid` (the hook and everything it started).
#[cfg(unix)]
fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid.and_then(|pid| i32::try_from(pid).ok()) else {
        return;
    };
    if let Err(e) = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    ) {
        tracing::debug!(error = %e, "the hook's process group was already gone");
    }
}

#[cfg(not(unix))]
fn kill_group(_pid: Option<u32>) {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::time::Instant;

    fn message(text: String) -> Message {
        Message {
            id: 7,
            modem: "demo".into(),
            sender: "DemoBank".into(),
            text,
            code: Some("482913".into()),
            code_span: None,
            confidence: None,
            origin: None,
            alternatives: Vec::new(),
            sent_at: chrono::DateTime::parse_from_rfc3339("2026-11-22T10:00:00+01:00")
                .expect("time"),
            received_at: chrono::Utc::now().fixed_offset(),
            encoding: None,
            decode_error: None,
            incomplete: false,
            ..Message::default()
        }
    }

    fn sh(script: &str) -> Vec<String> {
        vec!["/bin/sh".into(), "-c".into(), script.into()]
    }

    async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out: {what}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test]
    async fn the_environment_is_scrubbed_but_the_message_is_there() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("env");
        // SimRelay's environment carries the variables a hook must never see.
        let env = std::env::vars_os()
            .chain([
                (
                    "SIMRELAY_TOKEN".into(),
                    "secret-main-token-in-the-environment".into(),
                ),
                ("SOME_OTHER_SECRET".into(), "s3cret".into()),
                ("LC_TIME".into(), "C".into()),
            ])
            .collect();
        let script = format!("env > '{}'", out.display());
        run_command_in(
            &sh(&script),
            &message("hello".into()),
            Duration::from_secs(10),
            env,
        )
        .await
        .expect("runs");
        let env = std::fs::read_to_string(&out).expect("env written");
        assert!(!env.contains("secret-main-token"), "{env}");
        assert!(
            !env.contains("SIMRELAY_TOKEN") && !env.contains("SOME_OTHER_SECRET"),
            "{env}"
        );
        assert!(
            env.contains("SIMRELAY_CODE=482913") && env.contains("SIMRELAY_TEXT=hello"),
            "{env}"
        );
        assert!(
            env.lines().any(|l| l.starts_with("PATH=")),
            "PATH is kept: {env}"
        );
        assert!(
            env.lines().any(|l| l == "LC_TIME=C"),
            "locale settings are kept: {env}"
        );
    }

    #[tokio::test]
    async fn writing_stdin_counts_toward_the_time_limit() {
        // A message larger than a pipe holds (64 KiB), to a hook that never reads: the write blocks. (The text is
        // also in SIMRELAY_TEXT, which the OS limits to 128 KiB.)
        let started = Instant::now();
        let err = run_command(
            &sh("sleep 30"),
            &message("x".repeat(100_000)),
            Duration::from_secs(1),
        )
        .await
        .expect_err("times out");
        assert!(err.contains("longer than 1s"), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the blocked write did not outlast the limit: {:?}",
            started.elapsed()
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_timeout_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = dir.path().join("grandchild-ran");
        let pidfile = dir.path().join("grandchild-pid");
        // The hook starts a background child that would write the marker after 3 s, then outlives its limit.
        let script = format!(
            "(sleep 3; touch '{m}') & echo $! > '{p}'; sleep 30",
            m = marker.display(),
            p = pidfile.display()
        );
        let err = run_command(&sh(&script), &message("hi".into()), Duration::from_secs(1))
            .await
            .expect_err("times out");
        assert!(err.contains("killed"), "{err}");
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .expect("pid written")
            .trim()
            .parse()
            .expect("pid");
        // The grandchild is gone (or a zombie awaiting its dead parent's reaper), and never writes its marker.
        eventually("the grandchild to be killed", || !alive(pid)).await;
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert!(
            !marker.exists(),
            "the background child of the hook kept running"
        );
    }

    #[cfg(unix)]
    fn alive(pid: i32) -> bool {
        let stat = Path::new("/proc").join(pid.to_string()).join("stat");
        match std::fs::read_to_string(stat) {
            // The state is the field after the parenthesised name; Z is a zombie (dead).
            Ok(stat) => stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z')),
            Err(_) => false,
        }
    }
}
