//! What every scenario needs: its options, a scratch directory, a server on given modem ptys (on SQLite, or on a
//! PostgreSQL database this process starts: [`Database`]), and a warm-up that proves the whole path works before
//! anything is timed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use simrelay_bench::client::{Flavor, SmsClient};
use simrelay_modem::Simulator;
use simrelay_testkit::pdu::{numbered, numbered_index};
use simrelay_testkit::postgres::Cluster;
use simrelay_testkit::process::{Guard, Serve, ServerProcess};
use simrelay_testkit::{bins, free_port};

/// `--key value` options.
pub struct Opts {
    values: HashMap<String, String>,
    /// Scratch directory for databases and server logs (kept after the run, for post-mortems).
    pub work: PathBuf,
}

impl Opts {
    pub fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Opts> {
        let mut values = HashMap::new();
        while let Some(key) = args.next() {
            let name = key
                .strip_prefix("--")
                .ok_or_else(|| anyhow!("expected --option, got {key:?}"))?;
            let value = args.next().ok_or_else(|| anyhow!("{key} needs a value"))?;
            values.insert(name.to_owned(), value);
        }
        let work = match values.get("work") {
            Some(dir) => PathBuf::from(dir),
            None => std::env::temp_dir().join(format!("simrelay-bench-{}", std::process::id())),
        };
        std::fs::create_dir_all(&work)
            .with_context(|| format!("cannot create {}", work.display()))?;
        Ok(Opts { values, work })
    }

    pub fn text<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.values.get(key).map_or(default, String::as_str)
    }

    pub fn number(&self, key: &str, default: u64) -> anyhow::Result<u64> {
        match self.values.get(key) {
            Some(v) => v
                .parse()
                .with_context(|| format!("--{key} must be a number, not {v:?}")),
            None => Ok(default),
        }
    }

    pub fn flavor(&self) -> anyhow::Result<Flavor> {
        let name = self.text("server", "simrelay");
        Flavor::parse(name)
            .ok_or_else(|| anyhow!("--server must be simrelay or baseline, not {name:?}"))
    }

    fn simrelay_bin(&self) -> anyhow::Result<PathBuf> {
        match self.values.get("simrelay") {
            Some(p) => Ok(PathBuf::from(p)),
            None => bins::simrelay().context("or pass --simrelay PATH"),
        }
    }
}

/// Where a scenario's SimRelay keeps its messages: `--db sqlite` (the default: a file in the work directory) or
/// `--db postgres`: a database of its own on a PostgreSQL server this process starts in a temporary cluster
/// (`simrelay_testkit::postgres`: `initdb`, its own port, stopped and deleted when this ends).
pub struct Database {
    /// The cluster (kept running while this lives) and the database's URL.
    postgres: Option<(Cluster, String)>,
}

impl Database {
    /// What `--db` asks for.
    pub fn from_opts(opts: &Opts) -> anyhow::Result<Database> {
        match opts.text("db", "sqlite") {
            "sqlite" => Ok(Database { postgres: None }),
            "postgres" => Database::postgres(),
            other => bail!("--db must be sqlite or postgres, not {other:?}"),
        }
    }

    /// A new PostgreSQL database on a server of its own.
    pub fn postgres() -> anyhow::Result<Database> {
        let cluster = Cluster::start().context("cannot start PostgreSQL")?;
        let name = cluster.new_database()?;
        let url = cluster.url(&name);
        Ok(Database {
            postgres: Some((cluster, url)),
        })
    }

    /// The `postgres://` URL, or `None` for SQLite.
    pub fn url(&self) -> Option<&str> {
        self.postgres.as_ref().map(|(_, url)| url.as_str())
    }

    /// `sqlite` or `postgres`, for the figures.
    pub fn kind(&self) -> &'static str {
        if self.postgres.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }
}

/// Starts the chosen server on `modems` (SimRelay on SQLite) and waits until it answers HTTP.
pub async fn start_server(
    flavor: Flavor,
    opts: &Opts,
    modems: &[PathBuf],
    tag: &str,
) -> anyhow::Result<ServerProcess> {
    match flavor {
        Flavor::SimRelay => start_node(opts, modems, tag, None, None).await,
        Flavor::SocketIo => {
            let [modem] = modems else {
                bail!("the baseline serves exactly one modem");
            };
            let log = opts.work.join(format!("{tag}.log"));
            let mut process = spawn_baseline(opts, modem, free_port()?, &log)?;
            ready(&mut process, "/socket.io/?EIO=4&transport=polling", &log).await?;
            Ok(process)
        }
    }
}

/// Starts `simrelay serve` on `modems` and waits until it answers HTTP: on the database at `url` (a
/// `postgres://` URL; `None`: the SQLite file `<work>/<tag>.db`), named `node` when given (a cluster node).
pub async fn start_node(
    opts: &Opts,
    modems: &[PathBuf],
    tag: &str,
    url: Option<&str>,
    node: Option<&str>,
) -> anyhow::Result<ServerProcess> {
    let log = opts.work.join(format!("{tag}.log"));
    let home = opts.work.join(tag);
    std::fs::create_dir_all(&home).with_context(|| format!("cannot create {}", home.display()))?;
    if let Some(node) = node {
        let config = home.join("config.toml");
        std::fs::write(&config, format!("node = \"{node}\"\n"))
            .with_context(|| format!("cannot write {}", config.display()))?;
    }
    let serve = Serve {
        db: url.map_or_else(|| opts.work.join(format!("{tag}.db")), PathBuf::from),
        modems: modems.to_vec(),
        output: Some(log.clone()),
        ..Serve::new(opts.simrelay_bin()?, &home, free_port()?)
    };
    let mut process = serve.spawn()?;
    ready(&mut process, "/api/health", &log).await?;
    Ok(process)
}

async fn ready(process: &mut ServerProcess, path: &str, log: &Path) -> anyhow::Result<()> {
    process
        .wait_ready_at(path, Duration::from_secs(60))
        .await
        .with_context(|| format!("server did not come up; see {}", log.display()))
}

/// Starts the Python baseline relay on `modem` (an Engine.IO polling handshake tells it is ready).
fn spawn_baseline(
    opts: &Opts,
    modem: &Path,
    port: u16,
    log: &Path,
) -> anyhow::Result<ServerProcess> {
    let open = || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("cannot open {}", log.display()))
    };
    let guard = Guard::spawn(
        "the baseline relay",
        Command::new(opts.text("python", "python3"))
            .arg(opts.text("baseline", "bench/baseline/relay.py"))
            .arg("--modem")
            .arg(modem)
            .arg("--port")
            .arg(port.to_string())
            .env("PYTHONUNBUFFERED", "1")
            .stdin(std::process::Stdio::null())
            .stdout(open()?)
            .stderr(open()?),
    )?;
    Ok(ServerProcess::new(
        guard,
        SocketAddr::from(([127, 0, 0, 1], port)),
    ))
}

/// Delivers warm-up messages on `sim` until one comes through `client` (the server has opened and configured
/// the modem), then `extra` more, one at a time.
pub async fn warm_up(sim: &Simulator, client: &mut SmsClient, extra: usize) -> anyhow::Result<()> {
    let mut first = None;
    for attempt in 0..60 {
        sim.deliver(numbered("Warm", attempt));
        if let Ok((_, text)) = client.next_sms_within(Duration::from_secs(1)).await {
            first = numbered_index("Warm", &text);
            break;
        }
    }
    let first = first.context("no warm-up message came through in 60 s")?;
    for i in 0..extra {
        let index = 1000 + first + i;
        sim.deliver(numbered("Warm", index));
        loop {
            let (_, text) = client.next_sms_within(Duration::from_secs(10)).await?;
            if numbered_index("Warm", &text) == Some(index) {
                break;
            }
        }
    }
    Ok(())
}

/// The slave path of a simulator, owned.
pub fn path_of(sim: &Simulator) -> PathBuf {
    Path::to_path_buf(sim.path())
}

/// Milliseconds in a duration, as a float.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
