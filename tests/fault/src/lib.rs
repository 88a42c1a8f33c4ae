//! Fault tests of the real `simrelay` binary live in `tests/`; this library holds what they share.
//!
//! - `crash.rs`: messages on a simulated SIM and arriving live while `simrelay serve` is SIGKILLed and
//!   restarted; afterwards every message is stored exactly once and the SIM is empty.
//! - `modem_chaos.rs`: a modem that answers in small chunks, splices URCs into responses, prints noise, gets
//!   corrupt PDUs and is unplugged 20 times under `simrelay serve`; every good message is stored once, every
//!   corrupt one raw, the SIM ends empty.
//! - `network.rs`: wrong tokens, malformed requests, 1 MiB bodies, invalid WebSocket frames and clients that
//!   never read; the server answers only 4xx or closes, stays alive, and its memory stays bounded.
//! - `crash/cluster.rs` (in the `crash` binary): two `simrelay serve` nodes on one real PostgreSQL
//!   (`simrelay_testkit::postgres`): a node SIGKILLed mid-burst, and PostgreSQL restarted under load.
//!
//! The binary is `$SIMRELAY_BIN`, or the newest `simrelay` in the usual target directories
//! (`simrelay_testkit::bins`). A longer run: `cargo xtask soak`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use simrelay_testkit::process::Serve;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Row};

/// The file in the test's folder that gets the server's output.
const LOG: &str = "serve.log";

/// How a fault test starts `simrelay serve`: over a database in `dir` on a free port, on `modems`, with its
/// output in `dir`'s log (see [`log`]).
pub fn serve(dir: &Path, modems: Vec<PathBuf>, token: Option<&str>) -> Serve {
    let bin = simrelay_testkit::bins::simrelay().unwrap_or_else(|e| panic!("{e}"));
    let port = simrelay_testkit::free_port().expect("a free port");
    Serve {
        modems,
        token: token.map(str::to_owned),
        output: Some(dir.join(LOG)),
        ..Serve::new(bin, dir, port)
    }
}

/// How a fault test starts a cluster node: `simrelay serve --db <url>` named `node`, its configuration, token
/// and log in `dir` (created), on `modems`. Sweeps run every second, so a message left on a SIM is found soon; a
/// modem's claim lasts 60 s, longer than any outage a test makes, so no node stops its modem meanwhile.
pub fn serve_node(dir: &Path, url: &str, node: &str, modems: Vec<PathBuf>) -> Serve {
    std::fs::create_dir_all(dir).expect("a folder for the node");
    std::fs::write(
        dir.join("config.toml"),
        format!("node = \"{node}\"\nsweep_secs = 1\nmodem_lease_secs = 60\n"),
    )
    .expect("the node's config file");
    Serve {
        db: PathBuf::from(url),
        ..serve(dir, modems, None)
    }
}

/// The text of every message in the PostgreSQL database at `url`; none while it cannot be reached.
pub async fn stored_in_postgres(url: &str) -> Vec<String> {
    let Ok(mut conn) = PgConnection::connect(url).await else {
        return Vec::new();
    };
    let texts = sqlx::query_scalar("SELECT text FROM messages")
        .fetch_all(&mut conn)
        .await
        .unwrap_or_default();
    let _ = conn.close().await;
    texts
}

/// What the server started by [`serve`] in `dir` has printed so far.
pub fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(LOG)).unwrap_or_default()
}

/// `(text, decode_error)` of every message in the store at `db`, read while the server may be writing (or
/// may not have created it yet: then none).
pub async fn stored_messages(db: &Path) -> Vec<(String, Option<String>)> {
    let Ok(options) = SqliteConnectOptions::from_str("sqlite:") else {
        return Vec::new();
    };
    let Ok(mut conn) = options.filename(db).read_only(true).connect().await else {
        return Vec::new();
    };
    let rows = sqlx::query("SELECT text, decode_error FROM messages")
        .fetch_all(&mut conn)
        .await
        .unwrap_or_default();
    let _ = conn.close().await;
    rows.iter()
        .map(|r| (r.get::<String, _>(0), r.get::<Option<String>, _>(1)))
        .collect()
}

/// Asserts that every message index in `expected` was stored exactly once, given how often each index was found
/// in the store (`counts`); on failure the message shows the first missing ones and the server's `log`.
pub fn assert_each_stored_once(
    counts: &HashMap<usize, usize>,
    expected: impl IntoIterator<Item = usize>,
    log: &str,
) {
    let missing: Vec<usize> = expected
        .into_iter()
        .filter(|i| !counts.contains_key(i))
        .collect();
    let mut doubled: Vec<(usize, usize)> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(i, n)| (*i, *n))
        .collect();
    doubled.sort_unstable();
    assert!(
        missing.is_empty(),
        "{} messages lost, e.g. {:?}; log:\n{log}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert!(
        doubled.is_empty(),
        "messages stored more than once: {doubled:?}"
    );
}
