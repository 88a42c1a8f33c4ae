//! A real PostgreSQL server for tests and benchmarks: Debian's `postgresql` started in a temporary cluster
//! (`initdb` in a temp directory, its own free port, its own socket directory), never a system service. One
//! cluster serves a whole test binary ([`Cluster::shared`]); each test takes a database of its own
//! ([`Cluster::create_database`]), so tests stay independent and fast (creating a database costs milliseconds, a
//! cluster about a second). A test that stops and starts the server takes a [`Cluster::private`] one.
//!
//! Statics are never dropped, so the shared cluster cannot be stopped by a destructor: a small watchdog shell
//! started with every cluster stops the server and deletes its directory as soon as the process that started it
//! is gone, however it ended (a failing assertion, SIGKILL).
//!
//! As root (CI, this machine), the server runs as the `postgres` user, because `initdb` refuses root.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use crate::KitError;

/// A running cluster.
#[derive(Debug)]
pub struct Cluster {
    port: u16,
    bin: PathBuf,
    /// Runs a PostgreSQL tool as the cluster's owner (empty when that is us).
    as_owner: Vec<String>,
    /// The data directory (removed by the watchdog).
    data: PathBuf,
    /// The server's options (port, socket directory, settings), for a restart.
    options: String,
}

/// The clusters and databases made so far, for unique names.
static NEXT: AtomicU32 = AtomicU32::new(0);

impl Cluster {
    /// The cluster of this process, started on first use. Panics with what to install when PostgreSQL is
    /// missing: a selected backend that is absent fails the test rather than skipping it.
    pub fn shared() -> &'static Cluster {
        static SHARED: OnceLock<Cluster> = OnceLock::new();
        SHARED.get_or_init(|| Cluster::start().unwrap_or_else(|e| panic!("{e}")))
    }

    /// A cluster of its own, for a test that stops and starts the server (which would break the other tests
    /// on the shared one); stopped when dropped. Panics like [`Cluster::shared`].
    pub fn private() -> Cluster {
        Cluster::start().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts a new cluster (what [`Cluster::private`] does, with the error returned).
    pub fn start() -> Result<Cluster, KitError> {
        let bin = find_bin()?;
        let root = nix::unistd::geteuid().is_root();
        let as_owner: Vec<String> = if root {
            ["runuser", "-u", "postgres", "--"]
                .map(String::from)
                .to_vec()
        } else {
            Vec::new()
        };
        // Not a tempfile::TempDir: the watchdog removes it after this process is gone.
        let base = std::env::temp_dir().join(format!(
            "simrelay-pg-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&base)
            .map_err(KitError::io(format!("cannot create {}", base.display())))?;
        if root {
            run(Command::new("chown").arg("postgres:").arg(&base))?;
        }
        let data = base.join("data");
        let mut initdb = owner_command(&as_owner, &bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args(["--auth=trust", "--username=postgres", "--encoding=UTF8"])
            .args(["--locale=C.UTF-8", "--no-sync"]);
        run(&mut initdb)?;
        let port = crate::free_port()?;
        // fsync off: a test cluster lives as long as its process, and a server crash (not the machine's) loses
        // nothing without it. Commits stay synchronous, so a killed server keeps every commit it acked.
        let options = format!(
            "-p {port} -k {} -h 127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=400 \
             -c shared_buffers=64MB",
            base.display()
        );
        let cluster = Cluster {
            port,
            bin,
            as_owner,
            data,
            options,
        };
        // The watchdog first, so that even a failed start leaves nothing behind: once this process is gone, stop
        // the server at once and delete everything.
        let stop = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             {owner} {pg_ctl} -D {data} stop -m immediate >/dev/null 2>&1; rm -rf {base}",
            pid = std::process::id(),
            owner = cluster.as_owner.join(" "),
            pg_ctl = cluster.bin.join("pg_ctl").display(),
            data = cluster.data.display(),
            base = base.display(),
        );
        Command::new("sh")
            .args(["-c", &stop])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(KitError::io("cannot start the PostgreSQL watchdog"))?;
        cluster.start_again()?;
        Ok(cluster)
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A new empty database; its name. Panics when `createdb` fails (see [`Cluster::new_database`]).
    pub fn create_database(&self) -> String {
        self.new_database().unwrap_or_else(|e| panic!("{e}"))
    }

    /// A new empty database (UTF-8, owned by `postgres`); its name.
    pub fn new_database(&self) -> Result<String, KitError> {
        let name = format!(
            "test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut createdb = Command::new(self.bin.join("createdb"));
        createdb
            .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
            .arg(self.port.to_string())
            .arg(&name);
        run(&mut createdb)?;
        Ok(name)
    }

    /// Drops `database`, ending its connections first; a failure is only printed (it is cleanup).
    pub fn drop_database(&self, database: &str) {
        let mut dropdb = Command::new(self.bin.join("dropdb"));
        dropdb
            .args(["--force", "-h", "127.0.0.1", "-U", "postgres", "-p"])
            .arg(self.port.to_string())
            .arg(database);
        if let Err(e) = run(&mut dropdb) {
            eprintln!("{e}");
        }
    }

    /// The URL of `database` on this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Stops the server at once (as a crash would), keeping its data: [`Cluster::restart`] brings it back.
    pub fn kill(&self) -> Result<(), KitError> {
        self.pg_ctl(&["stop", "-m", "immediate"])
    }

    /// Stops the server as an administrator restarting it does (`pg_ctl stop -m fast`: sessions are ended,
    /// open transactions rolled back, the data checkpointed); [`Cluster::restart`] brings it back.
    pub fn stop_fast(&self) -> Result<(), KitError> {
        self.pg_ctl(&["stop", "-m", "fast", "-w", "-t", "60"])
    }

    /// Starts the server again on the same port and data after [`Cluster::kill`] or [`Cluster::stop_fast`].
    pub fn restart(&self) -> Result<(), KitError> {
        self.start_again()
    }

    fn start_again(&self) -> Result<(), KitError> {
        self.pg_ctl(&["start", "-w", "-t", "60"])
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), KitError> {
        let mut pg_ctl = owner_command(&self.as_owner, &self.bin.join("pg_ctl"));
        pg_ctl.arg("-D").arg(&self.data).args(args);
        if args.first() == Some(&"start") {
            let log = self.data.with_file_name("server.log");
            pg_ctl.args(["-o", &self.options, "-l"]).arg(log);
        }
        run(&mut pg_ctl)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Only a private cluster is ever dropped; the watchdog deletes its directory once the process ends.
        let _ = self.kill();
    }
}

/// Debian's `/usr/lib/postgresql/<version>/bin` (the newest), or `$SIMRELAY_PG_BIN`.
fn find_bin() -> Result<PathBuf, KitError> {
    if let Some(dir) = std::env::var_os("SIMRELAY_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        KitError::Missing(
            "PostgreSQL is not installed, and this test or benchmark runs against it: run scripts/setup.sh \
             (apt-get install postgresql), or set SIMRELAY_PG_BIN to the folder with initdb and pg_ctl"
                .to_owned(),
        )
    })
}

fn owner_command(as_owner: &[String], program: &Path) -> Command {
    match as_owner.split_first() {
        Some((first, rest)) => {
            let mut command = Command::new(first);
            command.args(rest).arg(program);
            command
        }
        None => Command::new(program),
    }
}

fn run(command: &mut Command) -> Result<(), KitError> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(KitError::io(format!("cannot run {command:?}")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(KitError::Protocol(format!(
            "{command:?} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}
