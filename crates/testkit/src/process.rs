//! Child processes that cannot outlive the test, and `simrelay serve` started as one.
//!
//! A [`Guard`] kills its child's whole process group (a WebDriver's browser, the desktop app's window) and reaps
//! it when dropped, so a failing assertion leaves nothing running. [`Serve`] says how to start `simrelay serve`
//! on a scratch folder, so no test reads or writes the developer's own configuration, tokens or logs; the token
//! every client needs is found the way a user finds it, with `simrelay token show` ([`Serve::token`]).

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::{http, KitError};

/// A child process killed (with everything it started) and reaped on drop.
#[derive(Debug)]
pub struct Guard {
    child: Child,
    name: String,
    gentle: bool,
}

impl Guard {
    /// Spawns `command` as the leader of a new process group.
    pub fn spawn(name: &str, command: &mut Command) -> Result<Guard, KitError> {
        let child = command
            .process_group(0)
            .spawn()
            .map_err(KitError::io(format!("cannot start {name}")))?;
        Ok(Guard {
            child,
            name: name.to_owned(),
            gentle: false,
        })
    }

    /// Asks the child to stop (SIGTERM, up to 2 s) before killing it: Xvfb then removes its lock file and socket.
    pub fn gentle(mut self) -> Guard {
        self.gentle = true;
        self
    }

    /// The process id (and process group id).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Fails if the process has already exited (it crashed on start-up, say).
    pub fn check_running(&mut self) -> Result<(), KitError> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(KitError::Protocol(format!(
                "{} exited early with {status}",
                self.name
            ))),
            Err(e) => Err(KitError::io(format!("cannot wait for {}", self.name))(e)),
        }
    }

    /// The child, for its pipes.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    fn group(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(i32::MAX))
    }

    /// SIGTERM to the whole group, up to `limit` for the leader to exit, then [`Guard::kill`].
    pub fn stop(&mut self, limit: Duration) {
        if self.is_alive() {
            let _ = killpg(self.group(), Signal::SIGTERM);
            let start = Instant::now();
            while start.elapsed() < limit && self.is_alive() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.kill();
    }

    /// SIGKILL to the whole group, then reap. Harmless when it already ended.
    pub fn kill(&mut self) {
        // The group outlives its leader when the leader started others: kill it even after the leader ended.
        let _ = killpg(self.group(), Signal::SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.gentle {
            self.stop(Duration::from_secs(2));
        } else {
            self.kill();
        }
    }
}

/// How to start `simrelay serve`: on 127.0.0.1:`port`, with its configuration file, paired-device tokens and
/// log files in `home` (never the user's own).
#[derive(Debug, Clone)]
pub struct Serve {
    /// The binary ([`crate::bins::simrelay`]).
    pub bin: PathBuf,
    /// The SQLite file, or the `postgres://` URL of a cluster node's database (passed to `--db` as it is).
    pub db: PathBuf,
    /// Loopback port.
    pub port: u16,
    /// The scratch folder for `config.toml` (and so `tokens.toml`) and the log files.
    pub home: PathBuf,
    /// `--token`, if any; without one the server generates its token and keeps it in `home`.
    pub token: Option<String>,
    /// `--modem` ports (ptys of simulators).
    pub modems: Vec<PathBuf>,
    /// Further arguments (`--demo`, ...).
    pub args: Vec<String>,
    /// Where standard output and error go; inherited when `None`.
    pub output: Option<PathBuf>,
}

impl Serve {
    /// `simrelay serve --db <home>/simrelay.sqlite --listen 127.0.0.1:<port>`, the rest unset.
    pub fn new(bin: PathBuf, home: &Path, port: u16) -> Serve {
        Serve {
            bin,
            db: home.join("simrelay.sqlite"),
            port,
            home: home.to_path_buf(),
            token: None,
            modems: Vec::new(),
            args: Vec::new(),
            output: None,
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The main token, as its user gets it: the one given with `--token`, else what `simrelay token show` prints
    /// for this configuration (the token the server generated and keeps next to the config file; made now if the
    /// server has not started yet, which the server then uses too).
    pub fn token(&self) -> Result<String, KitError> {
        if let Some(token) = &self.token {
            return Ok(token.clone());
        }
        let out = Command::new(&self.bin)
            .args(["token", "show"])
            .env("SIMRELAY_CONFIG", self.home.join("config.toml"))
            .env_remove("SIMRELAY_TOKEN")
            .stdin(Stdio::null())
            .output()
            .map_err(KitError::io(format!(
                "cannot run {} token show",
                self.bin.display()
            )))?;
        let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !out.status.success() || token.is_empty() {
            return Err(KitError::Protocol(format!(
                "`simrelay token show` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(token)
    }

    /// Starts it (it may not be listening yet: see [`ServerProcess::wait_ready`]).
    pub fn spawn(&self) -> Result<ServerProcess, KitError> {
        // Read first, so the server and its clients agree on the token from the first request.
        let token = self.token()?;
        let mut command = Command::new(&self.bin);
        command
            .arg("serve")
            .arg("--db")
            .arg(&self.db)
            .arg("--listen")
            .arg(self.addr().to_string());
        for modem in &self.modems {
            command.arg("--modem").arg(modem);
        }
        if let Some(token) = &self.token {
            command.arg("--token").arg(token);
        }
        command
            .args(&self.args)
            .env("SIMRELAY_CONFIG", self.home.join("config.toml"))
            .env("SIMRELAY_LOG_DIR", self.home.join("logs"))
            // Quiet by default; `SIMRELAY_TEST_LOG=simrelay_modem=trace` lets a run that needs it see the server's
            // side (in `<home>/logs`).
            .env(
                "SIMRELAY_LOG",
                std::env::var("SIMRELAY_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .env_remove("SIMRELAY_TOKEN")
            .stdin(Stdio::null());
        if let Some(path) = &self.output {
            let open = || {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(KitError::io(format!("cannot open {}", path.display())))
            };
            command.stdout(open()?).stderr(open()?);
        }
        Ok(ServerProcess {
            guard: Guard::spawn("simrelay", &mut command)?,
            addr: self.addr(),
            token: Some(token),
        })
    }
}

/// How often a starting server is asked whether it is ready.
const READY_POLL: Duration = Duration::from_millis(25);

/// A running server (`simrelay serve`, or any other HTTP server a benchmark compares with).
#[derive(Debug)]
pub struct ServerProcess {
    guard: Guard,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The token its clients send (SimRelay's main token; `None` for a server that takes none).
    pub token: Option<String>,
}

impl ServerProcess {
    /// A server started by other means, listening on `addr`.
    pub fn new(guard: Guard, addr: SocketAddr) -> ServerProcess {
        ServerProcess {
            guard,
            addr,
            token: None,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.guard.id()
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        self.guard.is_alive()
    }

    /// SIGKILL, then reap.
    pub fn kill(&mut self) {
        self.guard.kill();
    }

    /// SIGTERM (a clean shutdown), up to 10 s, then SIGKILL.
    pub fn stop(&mut self) {
        self.guard.stop(Duration::from_secs(10));
    }

    /// Waits until SimRelay's `/api/health` answers 200.
    pub async fn wait_ready(&mut self, limit: Duration) -> Result<(), KitError> {
        self.wait_ready_at("/api/health", limit).await
    }

    /// Waits until `GET path` answers 200; fails at once if the process exits.
    pub async fn wait_ready_at(&mut self, path: &str, limit: Duration) -> Result<(), KitError> {
        let start = Instant::now();
        while !self.answered(http::get(self.addr, path, None).await, start, limit)? {
            tokio::time::sleep(READY_POLL).await;
        }
        Ok(())
    }

    /// [`ServerProcess::wait_ready`] without an async runtime.
    pub fn wait_ready_blocking(&mut self, limit: Duration) -> Result<(), KitError> {
        let start = Instant::now();
        while !self.answered(
            http::get_blocking(self.addr, "/api/health", None),
            start,
            limit,
        )? {
            std::thread::sleep(READY_POLL);
        }
        Ok(())
    }

    /// Whether `answer` says the server is ready; an error once it exited or `limit` passed since `start`.
    fn answered(
        &mut self,
        answer: Result<http::Response, KitError>,
        start: Instant,
        limit: Duration,
    ) -> Result<bool, KitError> {
        self.guard.check_running()?;
        if answer.is_ok_and(|r| r.status == 200) {
            return Ok(true);
        }
        if start.elapsed() > limit {
            return Err(KitError::Timeout(
                limit,
                format!("the server on {}", self.addr),
            ));
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guard_kills_the_child_and_what_it_started() {
        let mut guard = Guard::spawn(
            "sh",
            Command::new("sh")
                .args(["-c", "sleep 60 & echo $!; wait"])
                .stdout(Stdio::piped()),
        )
        .expect("spawn");
        let mut line = String::new();
        let stdout = guard.child_mut().stdout.take().expect("stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).expect("pid");
        let grandchild: i32 = line.trim().parse().expect("a pid");
        assert!(guard.check_running().is_ok());
        drop(guard);
        let gone = crate::wait_until("the grandchild to end", Duration::from_secs(5), || {
            !Path::new(&format!("/proc/{grandchild}")).exists()
                || std::fs::read_to_string(format!("/proc/{grandchild}/stat"))
                    .is_ok_and(|s| s.contains(") Z "))
        });
        assert!(gone.is_ok(), "the sleep started by the child is gone");
    }
}
