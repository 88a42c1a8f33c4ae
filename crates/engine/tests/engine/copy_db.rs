//! Moving from one SQLite relay to a cluster with the real binary and a real PostgreSQL (the test kit's, started
//! in a temporary directory): `simrelay copy-db` carries the history and the paired devices, so a phone paired
//! on the single relay is accepted by a `simrelay serve` on the PostgreSQL database without pairing again.

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use simrelay_testkit::postgres::Cluster;

fn simrelay(config: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_simrelay"));
    command
        .arg("--config")
        .arg(config)
        .env("SIMRELAY_LOG_DIR", config.with_file_name("logs"));
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `simrelay serve` on `db`, waits for its URL, runs `check` on it, and stops it with SIGTERM.
fn serving(config: &Path, db: &str, env: &[(&str, &str)], check: impl FnOnce(&str)) {
    let mut command = simrelay(config);
    command.envs(env.iter().copied()).stderr(Stdio::null());
    let (mut child, mut stdout) = crate::common::serve(&mut command, Path::new(db), &[]);
    let mut line = String::new();
    stdout.read_line(&mut line).expect("the first line");
    let url = line
        .trim()
        .strip_prefix("SimRelay is listening on ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("announces its URL: {line:?}"))
        .to_owned();
    check(&url);
    let stopped = Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    assert!(stopped.success());
    assert!(child.wait().expect("exits").success());
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The status of `GET /api/messages` with `token`, and the texts it lists.
fn messages(url: &str, token: &str) -> (u16, Vec<String>) {
    runtime().block_on(async {
        let response = reqwest::Client::new()
            .get(format!("{url}api/messages"))
            .bearer_auth(token)
            .send()
            .await
            .expect("an answer");
        let status = response.status().as_u16();
        let texts = match response.json::<simrelay_protocol::MessagePage>().await {
            Ok(page) => page.messages.into_iter().map(|m| m.text).collect(),
            Err(_) => Vec::new(),
        };
        (status, texts)
    })
}

fn status(url: &str, token: &str) -> u16 {
    messages(url, token).0
}

fn assert_quiet(out: &Output, token: &str) {
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        !all.contains(token) && !all.contains(&simrelay_engine::tokens::token_hash(token)),
        "copy-db printed a token or its hash: {all}"
    );
}

/// A device paired on an SQLite relay (`simrelay token add`, kept in its tokens.toml) works there; after
/// `simrelay copy-db` into PostgreSQL it is accepted by `simrelay serve` on the database, with its tokens.toml
/// gone, so the token can only have come from the database. copy-db prints no token or hash; running it again is
/// refused for the history and, with `--devices-only`, adds nothing twice. Copied back into SQLite, the device
/// lands in the tokens file.
#[test]
fn a_device_paired_on_an_sqlite_relay_is_accepted_by_a_node_after_copy_db() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    let sqlite = dir.path().join("relay.db");
    let sqlite = sqlite.to_str().expect("a UTF-8 path");
    let added = simrelay(&config)
        .args(["token", "add", "phone", "--scopes", "read"])
        .output()
        .expect("runs");
    assert!(added.status.success(), "{added:?}");
    let token = text(&added.stdout).trim().to_owned();
    assert_eq!(token.len(), 64);
    runtime().block_on(async {
        let store = simrelay_engine::store::Store::open(Path::new(sqlite))
            .await
            .expect("the relay's database");
        store
            .insert_message(&crate::common::message(
                b"relay".to_vec(),
                "Bank",
                "received on the single relay",
                None,
            ))
            .await
            .expect("a message");
        store.close().await;
    });
    serving(&config, sqlite, &[], |url| {
        assert_eq!(status(url, &token), 200, "paired on the single relay");
    });

    let cluster = Cluster::shared();
    let database = cluster.create_database();
    let pg = cluster.url(&database);
    let copy = |extra: &[&str]| {
        simrelay(&config)
            .args(["copy-db", "--from", sqlite, "--to", &pg, "--node", "berlin"])
            .args(extra)
            .output()
            .expect("runs")
    };
    let absent = dir.path().join("no-such.db");
    let missing = simrelay(&config)
        .args(["copy-db", "--from"])
        .arg(&absent)
        .args(["--to", &pg])
        .output()
        .expect("runs");
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("no-such.db does not exist"),
        "{missing:?}"
    );
    assert!(!absent.exists(), "no empty database made");
    let first = copy(&[]);
    assert!(first.status.success(), "{first:?}");
    assert_quiet(&first, &token);
    assert!(
        text(&first.stdout).contains("1 added, 0 already there"),
        "{first:?}"
    );
    let again = copy(&[]);
    assert!(
        !again.status.success(),
        "the history is copied into an empty database only"
    );
    assert!(text(&again.stderr).contains("--devices-only"), "{again:?}");
    let devices_only = copy(&["--devices-only"]);
    assert!(devices_only.status.success(), "{devices_only:?}");
    assert_quiet(&devices_only, &token);
    assert!(
        text(&devices_only.stdout).contains("0 added, 1 already there"),
        "{devices_only:?}"
    );

    std::fs::remove_file(dir.path().join("tokens.toml")).expect("the relay's tokens file");
    serving(&config, &pg, &[("SIMRELAY_NODE", "berlin")], |url| {
        assert_eq!(
            messages(url, &token),
            (200, vec!["received on the single relay".to_owned()]),
            "accepted by the node on PostgreSQL, which has the relay's history"
        );
        assert_eq!(
            status(url, &simrelay_engine::generate_token()),
            401,
            "another token is not"
        );
    });
    let listed = simrelay(&config)
        .args(["token", "list"])
        .env("SIMRELAY_DB", &pg)
        .output()
        .expect("runs");
    let listed = text(&listed.stdout);
    assert_eq!(listed.lines().count(), 1, "one device, once: {listed}");
    assert!(listed.starts_with("phone\tread\tcreated "), "{listed}");

    // And back into a new SQLite file: the device goes into the tokens file named.
    let back_tokens = dir.path().join("back-tokens.toml");
    let back = simrelay(&config)
        .args(["copy-db", "--from", &pg, "--to"])
        .arg(dir.path().join("back.db"))
        .arg("--tokens")
        .arg(&back_tokens)
        .output()
        .expect("runs");
    assert!(back.status.success(), "{back:?}");
    assert_quiet(&back, &token);
    let stored = simrelay_engine::tokens::load(&back_tokens).expect("the tokens file");
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].name.as_str(), stored[0].sha256.as_str()),
        (
            "phone",
            simrelay_engine::tokens::token_hash(&token).as_str()
        )
    );
    cluster.drop_database(&database);
}
