//! Starting the window process (`simrelay-window`) on demand and talking to it over its pipes.
//!
//! The window is a separate process so that closing it gives all of WebKit's memory back (see `window/main.rs`):
//! [`WindowLauncher::open`] starts one when none runs, later calls reuse it, and the process ends when the user
//! closes the window. What the window reports (focus, its end) arrives as [`LauncherEvent`]s.

use crate::window_link::{Command, WindowEvent, LOG_DIR_ARG};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;
use url::Url;

/// Environment variable naming the window program, for running from unusual places; by default it is
/// `simrelay-window` next to the running `simrelay-desktop`.
pub const WINDOW_BIN_ENV: &str = "SIMRELAY_WINDOW_BIN";

/// What the window process told the resident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LauncherEvent {
    /// The window gained or lost the focus.
    Focus(bool),
    /// The window process ended (the user closed the window, or it crashed).
    Closed,
}

/// Why the window could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The program could not be started.
    #[error(
        "cannot start the SimRelay window ({program}): {source}. Reinstall SimRelay, or set {WINDOW_BIN_ENV} to \
         the simrelay-window program"
    )]
    Spawn {
        /// The program that was to be started.
        program: String,
        /// Why it could not start.
        source: std::io::Error,
    },
}

/// The window program installed next to the running executable.
pub fn default_window_program() -> PathBuf {
    if let Some(program) = std::env::var_os(WINDOW_BIN_ENV) {
        return program.into();
    }
    let name = format!("simrelay-window{}", std::env::consts::EXE_SUFFIX);
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(&name)))
        .unwrap_or_else(|| name.into())
}

struct Running {
    stdin: ChildStdin,
    child: Arc<Mutex<Child>>,
    generation: u64,
}

/// Starts and drives the window process. At most one runs at a time.
pub struct WindowLauncher {
    program: PathBuf,
    args: Vec<OsString>,
    running: Arc<Mutex<Option<Running>>>,
    generation: AtomicU64,
    focused: Arc<AtomicBool>,
    events: UnboundedSender<LauncherEvent>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl WindowLauncher {
    /// A launcher for `program args...`; events go to `events`.
    pub fn new(
        program: impl Into<PathBuf>,
        args: Vec<OsString>,
        events: UnboundedSender<LauncherEvent>,
    ) -> Self {
        Self {
            program: program.into(),
            args,
            running: Arc::default(),
            generation: AtomicU64::new(0),
            focused: Arc::default(),
            events,
        }
    }

    /// Whether a window process runs.
    pub fn is_open(&self) -> bool {
        lock(&self.running).is_some()
    }

    /// Whether the window has the keyboard focus.
    pub fn is_focused(&self) -> bool {
        self.focused.load(Ordering::Relaxed)
    }

    /// Shows `url`: in the running window (which moves there and comes to the front), or in a new one.
    pub fn open(&self, url: &Url) -> Result<(), LaunchError> {
        self.send_or_start(&Command::Open(url.clone()))
    }

    /// Brings the window to the front, or opens a new one on `url` when none runs.
    pub fn show_or_open(&self, url: &Url) -> Result<(), LaunchError> {
        let mut running = lock(&self.running);
        if let Some(window) = running.as_mut() {
            if send(window, &Command::Show) {
                return Ok(());
            }
            *running = None;
        }
        drop(running);
        self.open(url)
    }

    fn send_or_start(&self, command: &Command) -> Result<(), LaunchError> {
        let mut running = lock(&self.running);
        if let Some(window) = running.as_mut() {
            if send(window, command) {
                return Ok(());
            }
            // The process is on its way out (closed a moment ago): start a fresh one.
            *running = None;
        }
        let mut window = self.start()?;
        if !send(&mut window, command) {
            tracing::warn!("the new window process did not take its first command");
        }
        *running = Some(window);
        Ok(())
    }

    fn start(&self) -> Result<Running, LaunchError> {
        let mut child = std::process::Command::new(&self.program)
            .args(&self.args)
            .arg(LOG_DIR_ARG)
            .arg(simrelay_engine::logging::log_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|source| LaunchError::Spawn {
                program: self.program.display().to_string(),
                source,
            })?;
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::info!(pid = child.id(), "window opened");
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(LaunchError::Spawn {
                program: self.program.display().to_string(),
                source: std::io::Error::other("no pipe to the window process"),
            });
        };
        let child = Arc::new(Mutex::new(child));
        self.follow(BufReader::new(stdout), child.clone(), generation);
        Ok(Running {
            stdin,
            child,
            generation,
        })
    }

    /// Reads the window's events until it ends, then reaps it and reports [`LauncherEvent::Closed`].
    fn follow(
        &self,
        stdout: BufReader<std::process::ChildStdout>,
        child: Arc<Mutex<Child>>,
        generation: u64,
    ) {
        let (running, focused, events) = (
            self.running.clone(),
            self.focused.clone(),
            self.events.clone(),
        );
        let spawned = std::thread::Builder::new()
            .name("window-events".into())
            .spawn(move || {
                for line in stdout.lines() {
                    let Ok(line) = line else { break };
                    match WindowEvent::parse(&line) {
                        Ok(WindowEvent::Focus(on)) => {
                            focused.store(on, Ordering::Relaxed);
                            let _ = events.send(LauncherEvent::Focus(on));
                        }
                        // Libraries in the window process may print to standard output too.
                        Err(_) => tracing::debug!(%line, "window output"),
                    }
                }
                let status = lock(&child).wait();
                tracing::info!(?status, "window closed");
                let mut running = lock(&running);
                if running.as_ref().is_some_and(|r| r.generation == generation) {
                    *running = None;
                }
                drop(running);
                focused.store(false, Ordering::Relaxed);
                let _ = events.send(LauncherEvent::Closed);
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "cannot follow the window process");
        }
    }

    /// Closes the window, waiting up to `grace` for it to exit before killing it.
    pub fn close(&self, grace: Duration) {
        let Some(mut window) = lock(&self.running).take() else {
            return;
        };
        send(&mut window, &Command::Quit);
        drop(window.stdin);
        let deadline = Instant::now() + grace;
        loop {
            let exited = matches!(lock(&window.child).try_wait(), Ok(Some(_)) | Err(_));
            if exited {
                return;
            }
            if Instant::now() >= deadline {
                let mut child = lock(&window.child);
                tracing::warn!(pid = child.id(), "the window did not quit; killing it");
                let _ = child.kill();
                let _ = child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Writes one command; `false` when the process no longer reads them.
fn send(window: &mut Running, command: &Command) -> bool {
    writeln!(window.stdin, "{}", command.to_line())
        .and_then(|()| window.stdin.flush())
        .is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use std::path::Path;
    use tokio::sync::mpsc;

    /// A stand-in window process: a shell that logs every command it gets and answers `show` with a focus event.
    fn logging_window(log: &Path) -> (WindowLauncher, mpsc::UnboundedReceiver<LauncherEvent>) {
        let script = format!(
            "while read -r line; do echo \"$line\" >> '{}'; \
             [ \"$line\" = show ] && echo 'focus true'; [ \"$line\" = quit ] && exit 0; done",
            log.display()
        );
        let (tx, rx) = mpsc::unbounded_channel();
        let launcher = WindowLauncher::new("/bin/sh", vec!["-c".into(), script.into()], tx);
        (launcher, rx)
    }

    fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
        let start = Instant::now();
        while !ready() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out: {what}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn one_process_takes_every_command_and_its_end_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("commands");
        let (launcher, mut events) = logging_window(&log);
        let base = Url::parse("http://127.0.0.1:8731/?shell=desktop").unwrap();
        assert!(!launcher.is_open());
        launcher.show_or_open(&base).unwrap();
        assert!(launcher.is_open());
        launcher.show_or_open(&base).unwrap();
        launcher
            .open(&Url::parse("http://127.0.0.1:8731/?shell=desktop#/message/5").unwrap())
            .unwrap();
        let read = || std::fs::read_to_string(&log).unwrap_or_default();
        wait_for("three commands", || read().lines().count() == 3);
        assert_eq!(
            read(),
            "open http://127.0.0.1:8731/?shell=desktop\nshow\nopen http://127.0.0.1:8731/?shell=desktop#/message/5\n"
        );
        wait_for("focus", || launcher.is_focused());
        assert_eq!(events.blocking_recv(), Some(LauncherEvent::Focus(true)));

        launcher.close(Duration::from_secs(5));
        assert!(!launcher.is_open());
        assert_eq!(events.blocking_recv(), Some(LauncherEvent::Closed));
        assert!(!launcher.is_focused(), "a closed window has no focus");
        assert!(read().ends_with("quit\n"));
    }

    #[test]
    fn a_window_closed_by_the_user_is_started_again_on_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("commands");
        let (launcher, mut events) = logging_window(&log);
        let base = Url::parse("http://127.0.0.1:8731/").unwrap();
        launcher.open(&base).unwrap();
        // The user closes the window: the process exits by itself.
        launcher.send_or_start(&Command::Quit).unwrap();
        assert_eq!(events.blocking_recv(), Some(LauncherEvent::Closed));
        assert!(!launcher.is_open());
        launcher.show_or_open(&base).unwrap();
        assert!(launcher.is_open(), "a fresh window process");
        launcher.close(Duration::from_secs(5));
    }

    #[test]
    fn the_window_is_told_where_the_log_files_are() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("args");
        // `sh -c script` takes the launcher's arguments as $0, $1.
        let script = format!("printf '%s\\n%s\\n' \"$0\" \"$1\" > '{}'", out.display());
        let (tx, _rx) = mpsc::unbounded_channel();
        let launcher = WindowLauncher::new("/bin/sh", vec!["-c".into(), script.into()], tx);
        launcher
            .open(&Url::parse("http://127.0.0.1:1/").unwrap())
            .unwrap();
        let read = || std::fs::read_to_string(&out).unwrap_or_default();
        wait_for("the window's arguments", || read().lines().count() == 2);
        let log_dir = simrelay_engine::logging::log_dir();
        assert_eq!(read(), format!("{LOG_DIR_ARG}\n{}\n", log_dir.display()));
        assert_eq!(
            crate::window_link::log_dir_arg(read().lines().map(OsString::from)),
            Some(log_dir)
        );
    }

    #[test]
    fn a_missing_program_says_what_to_do() {
        let (tx, _rx) = mpsc::unbounded_channel();
        let launcher = WindowLauncher::new("/nonexistent/simrelay-window", vec![], tx);
        let error = launcher
            .open(&Url::parse("http://127.0.0.1:1/").unwrap())
            .unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("/nonexistent/simrelay-window") && text.contains(WINDOW_BIN_ENV),
            "{text}"
        );
        assert!(!launcher.is_open());
    }
}
