//! The servers under test as child processes: `simrelay serve` and the Python baseline.
//!
//! A child is killed (SIGKILL) and reaped when its [`ServerProcess`] is dropped, so a failed benchmark or test
//! leaves no server behind.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::client::Flavor;
use crate::{http, BenchError};

/// The workspace root (this crate lives in `bench/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The `simrelay` binary: `$SIMRELAY_BIN`, else the newest of the usual build outputs.
pub fn find_simrelay() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("SIMRELAY_BIN") {
        return Some(PathBuf::from(bin));
    }
    let root = workspace_root();
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        candidates.push(dir.join("release/simrelay"));
        candidates.push(dir.join("debug/simrelay"));
    }
    for dir in ["target", "target-bench", "target-engine"] {
        candidates.push(root.join(dir).join("release/simrelay"));
        candidates.push(root.join(dir).join("debug/simrelay"));
    }
    candidates
        .into_iter()
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .max_by_key(|(modified, _)| *modified)
        .map(|(_, p)| p)
}

/// A free loopback port (there is a small race until the server binds it; fine on a test machine).
pub fn free_port() -> Result<u16, BenchError> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(BenchError::io("cannot find a free port"))?;
    Ok(listener
        .local_addr()
        .map_err(BenchError::io("cannot find a free port"))?
        .port())
}

/// A running server.
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it speaks.
    pub flavor: Flavor,
}

/// How to start `simrelay serve`.
#[derive(Debug, Clone)]
pub struct SimRelayArgs {
    /// The binary.
    pub bin: PathBuf,
    /// Serial ports (ptys) of the modems.
    pub modems: Vec<PathBuf>,
    /// The SQLite file.
    pub db: PathBuf,
    /// Loopback port.
    pub port: u16,
    /// Access token, if any.
    pub token: Option<String>,
    /// Where its stderr goes.
    pub log: PathBuf,
}

/// Starts `simrelay serve` (it may not be listening yet: see [`ServerProcess::wait_ready`]).
pub fn spawn_simrelay(args: &SimRelayArgs) -> Result<ServerProcess, BenchError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let mut command = Command::new(&args.bin);
    command
        .arg("serve")
        .arg("--db")
        .arg(&args.db)
        .arg("--listen")
        .arg(addr.to_string());
    for modem in &args.modems {
        command.arg("--modem").arg(modem);
    }
    if let Some(token) = &args.token {
        command.arg("--token").arg(token);
    }
    command
        .env_remove("SIMRELAY_TOKEN")
        .env("SIMRELAY_LOG", "warn");
    spawn(command, &args.log, addr, Flavor::SimRelay)
}

/// Starts the Python baseline relay on `modem`.
pub fn spawn_baseline(
    python: &Path,
    script: &Path,
    modem: &Path,
    port: u16,
    log: &Path,
) -> Result<ServerProcess, BenchError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut command = Command::new(python);
    command
        .arg(script)
        .arg("--modem")
        .arg(modem)
        .arg("--port")
        .arg(port.to_string())
        .env("PYTHONUNBUFFERED", "1");
    spawn(command, log, addr, Flavor::SocketIo)
}

fn spawn(
    mut command: Command,
    log: &Path,
    addr: SocketAddr,
    flavor: Flavor,
) -> Result<ServerProcess, BenchError> {
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(BenchError::io(format!("cannot open {}", log.display())))?;
    let err_file = log_file
        .try_clone()
        .map_err(BenchError::io(format!("cannot open {}", log.display())))?;
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::from(log_file))
        .stderr(Stdio::from(err_file))
        .spawn()
        .map_err(BenchError::io(format!(
            "cannot start {:?}",
            command.get_program()
        )))?;
    Ok(ServerProcess {
        child,
        addr,
        flavor,
    })
}

impl ServerProcess {
    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until the server answers HTTP (SimRelay's health endpoint, or an Engine.IO polling handshake).
    pub async fn wait_ready(&mut self, limit: Duration) -> Result<(), BenchError> {
        let path = match self.flavor {
            Flavor::SimRelay => "/api/health",
            Flavor::SocketIo => "/socket.io/?EIO=4&transport=polling",
        };
        let start = Instant::now();
        loop {
            if !self.is_alive() {
                return Err(BenchError::Protocol(
                    "the server exited while starting (see its log)".into(),
                ));
            }
            if let Ok(response) = http::get(self.addr, path, None).await {
                if response.status == 200 {
                    return Ok(());
                }
            }
            if start.elapsed() > limit {
                return Err(BenchError::Timeout(
                    limit,
                    format!("the server on {}", self.addr),
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, then reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
