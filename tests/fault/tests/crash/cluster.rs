//! Cluster faults, with real processes: `simrelay serve` nodes (each a separate process, on a simulated modem on a
//! real pty) sharing one real PostgreSQL (`simrelay_testkit::postgres`, a temporary cluster of this test binary).
//!
//! - A node killed with SIGKILL again and again while a burst arrives loses and duplicates nothing (a SIM slot
//!   is released only after the PostgreSQL commit), and a WebSocket client of the other node gets each of its
//!   messages exactly once, those committed after the node came back included.
//! - PostgreSQL stopped (`pg_ctl stop -m fast`) and started again on the same port while messages arrive on both
//!   nodes: meanwhile each node says so (`/api/health` `"database": "unavailable"`, its modem's `last_error`)
//!   and releases nothing that arrives (it stays on the SIM); afterwards the nodes reconnect by themselves,
//!   every message is stored exactly once, the SIMs are empty, and a WebSocket client of one node has seen
//!   every message of both nodes once.
//!
//! The modems refuse phase 2+ (`AT+CSMS=1`), so every message waits in a SIM slot until it is deleted: what
//! "stays on the SIM" means is visible to the test.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use simrelay_fault_tests::{assert_each_stored_once, log, serve_node, stored_in_postgres};
use simrelay_modem::{SimOptions, Simulator};
use simrelay_protocol::{DatabaseHealth, Health, ModemList};
use simrelay_testkit::pdu::{numbered, numbered_index};
use simrelay_testkit::postgres::Cluster;
use simrelay_testkit::ws::WsClient;
use simrelay_testkit::{eventually, http};
use sqlx::postgres::PgConnection;
use sqlx::Connection;

/// Generous: two debug-built servers, PostgreSQL and this test share two busy cores with other tests.
const LIMIT: Duration = Duration::from_secs(120);

/// A modem whose IMEI ends in `n` (modems of different nodes are different modems).
async fn simulator(capacity: usize, n: u8) -> Arc<Simulator> {
    Arc::new(
        Simulator::start(SimOptions {
            capacity: u32::try_from(capacity).expect("fits"),
            refuse_phase2: true,
            imei: format!("35693803564380{n}"),
            iccid: format!("894900000000000000{n}"),
            ..SimOptions::default()
        })
        .await
        .expect("simulator"),
    )
}

fn port_of(sim: &Simulator) -> Vec<PathBuf> {
    vec![sim.path().to_path_buf()]
}

/// How often each index of `series` is among `texts`.
fn count(texts: &[String], series: &str) -> HashMap<usize, usize> {
    let mut counts = HashMap::new();
    for text in texts {
        if let Some(i) = numbered_index(series, text) {
            *counts.entry(i).or_default() += 1;
        }
    }
    counts
}

/// Delivers `series` `range` on `sim`, each after a pause drawn from `pause_ms`.
fn feed(
    sim: &Arc<Simulator>,
    series: &'static str,
    range: std::ops::Range<usize>,
    pause_ms: std::ops::Range<u64>,
) -> tokio::task::JoinHandle<()> {
    let sim = sim.clone();
    tokio::spawn(async move {
        for i in range {
            sim.deliver(numbered(series, i));
            let pause = rand::rng().random_range(pause_ms.clone());
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    })
}

/// Reads `count` messages from `client` (in a task of its own from the start, so the server never waits for a
/// reader), failing on one seen twice or any more after them; their texts.
async fn read_once(mut client: WsClient, count: usize, what: &'static str) -> Vec<String> {
    let mut texts: Vec<String> = Vec::new();
    let start = Instant::now();
    // The whole test's work happens meanwhile.
    let limit = LIMIT * 3;
    while texts.len() < count {
        let left = limit.saturating_sub(start.elapsed());
        match client.next_sms(left.max(Duration::from_millis(1))).await {
            Ok(message) => {
                assert!(
                    !texts.contains(&message.text),
                    "{what}: published twice: {}",
                    message.text
                );
                texts.push(message.text);
            }
            Err(e) => panic!("{what}: {} of {count} messages, then {e}", texts.len()),
        }
    }
    // Nothing more comes late.
    match client.next_sms(Duration::from_secs(2)).await {
        Ok(extra) => panic!("{what}: more than expected: {}", extra.text),
        Err(simrelay_testkit::KitError::Timeout(..)) => {}
        Err(e) => panic!("{what}: {e}"),
    }
    client.close().await;
    texts
}

async fn health(addr: SocketAddr) -> Option<DatabaseHealth> {
    let response = http::get(addr, "/api/health", None).await.ok()?;
    let health: Health = serde_json::from_slice(&response.body).ok()?;
    Some(health.database)
}

/// The `last_error` of the modems node `node` lists as its own.
async fn own_modem_errors(addr: SocketAddr, token: &str, node: &str) -> Vec<Option<String>> {
    let Ok(response) = http::get(addr, "/api/modems", Some(token)).await else {
        return Vec::new();
    };
    let modems = serde_json::from_slice::<ModemList>(&response.body)
        .map(|list| list.modems)
        .unwrap_or_default();
    modems
        .into_iter()
        .filter(|m| m.node.as_deref() == Some(node) && m.imei.is_some())
        .map(|m| m.last_error)
        .collect()
}

/// Node A (a modem) is SIGKILLed at random moments while messages wait on its SIM and keep arriving; node B (no
/// modem) has a WebSocket client. Afterwards every message is in PostgreSQL exactly once, A's SIM is empty, and
/// B's client got each exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_burst_loses_and_duplicates_nothing_and_the_other_node_shows_it_all() {
    let (stored, live, kills) = (100, 200, 3);
    let total = stored + live;
    let cluster = Cluster::shared();
    let database = cluster.create_database();
    let url = cluster.url(&database);
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = simulator(total + 10, 1).await;
    for i in 0..stored {
        assert_ne!(sim.store(numbered("Killed", i)), 0, "SIM full");
    }
    let b = serve_node(&dir.path().join("b"), &url, "b", Vec::new());
    let mut node_b = b.spawn().expect("start node B");
    node_b.wait_ready(LIMIT).await.expect("node B ready");
    let (client, _) = WsClient::connect(b.addr(), Some(&b.token().expect("B's token")))
        .await
        .expect("a WebSocket client of B");
    let on_b = tokio::spawn(read_once(client, total, "B's WebSocket client"));
    let a = serve_node(&dir.path().join("a"), &url, "a", port_of(&sim));

    // Each life of A ends while it works: once it has committed something more than before (asked on one open
    // connection, so even a release build is caught mid-burst), after a random pause of up to 300 ms.
    let mut conn = PgConnection::connect(&url).await.expect("connect");
    let mut feeder = None;
    let mut committed = 0;
    let mut kills_mid_burst = 0;
    for _ in 0..kills {
        let mut node_a = a.spawn().expect("start node A");
        feeder.get_or_insert_with(|| feed(&sim, "Killed", stored..total, 0..10));
        let start = Instant::now();
        loop {
            let now: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
                .fetch_one(&mut conn)
                .await
                .expect("count");
            let now = usize::try_from(now).expect("a count");
            if now > committed || now == total {
                committed = now;
                break;
            }
            assert!(
                start.elapsed() < LIMIT,
                "A committed nothing; its log:\n{}",
                log(&a.home)
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let pause = rand::rng().random_range(0..300);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        assert!(
            node_a.is_alive(),
            "node A exited on its own; log:\n{}",
            log(&a.home)
        );
        node_a.kill();
        eprintln!("node A killed with at least {committed} of {total} messages committed");
        if committed < total {
            kills_mid_burst += 1;
        }
    }
    assert!(
        kills_mid_burst > 0,
        "A committed the whole burst before the first kill"
    );
    conn.close().await.expect("close");
    feeder.expect("fed").await.expect("feeder");

    let mut node_a = a.spawn().expect("start node A again");
    node_a.wait_ready(LIMIT).await.expect("node A ready");
    let start = Instant::now();
    let counts = loop {
        let counts = count(&stored_in_postgres(&url).await, "Killed");
        if (counts.len() == total && sim.stored().is_empty()) || start.elapsed() > LIMIT {
            break counts;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_each_stored_once(&counts, 0..total, &log(&a.home));
    assert_eq!(
        stored_in_postgres(&url).await.len(),
        total,
        "nothing else stored"
    );
    assert!(
        sim.stored().is_empty(),
        "{} messages left on A's SIM after their commit",
        sim.stored().len()
    );
    let on_b = on_b.await.expect("B's client");
    assert_eq!(count(&on_b, "Killed").len(), total);
    assert!(
        node_a.is_alive() && node_b.is_alive(),
        "both nodes still run"
    );
    node_a.stop();
    node_b.stop();
    cluster.drop_database(&database);
}

/// Both nodes have a modem receiving a steady stream; PostgreSQL is stopped (fast shutdown) mid-stream and
/// started again a few seconds later on the same port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_restarted_under_load_loses_nothing_and_the_nodes_say_so_meanwhile() {
    // Per node: a stream before and through the stop, then some while the database is away.
    let (streamed, while_away) = (120, 20);
    let per_node = streamed + while_away;
    // Its own server: this test stops it.
    let cluster = Cluster::private();
    let database = cluster.create_database();
    let url = cluster.url(&database);
    let dir = tempfile::tempdir().expect("tempdir");
    let (sim_a, sim_b) = (
        simulator(per_node + 10, 1).await,
        simulator(per_node + 10, 2).await,
    );
    let a = serve_node(&dir.path().join("a"), &url, "a", port_of(&sim_a));
    let b = serve_node(&dir.path().join("b"), &url, "b", port_of(&sim_b));
    let (token_a, token_b) = (a.token().expect("token"), b.token().expect("token"));
    let mut node_a = a.spawn().expect("start node A");
    let mut node_b = b.spawn().expect("start node B");
    node_a.wait_ready(LIMIT).await.expect("node A ready");
    node_b.wait_ready(LIMIT).await.expect("node B ready");
    let (client, _) = WsClient::connect(b.addr(), Some(&token_b))
        .await
        .expect("a WebSocket client of B");
    let on_b = tokio::spawn(read_once(client, 2 * per_node, "B's WebSocket client"));
    eventually("both modems connected", LIMIT, || async {
        own_modem_errors(a.addr(), &token_a, "a").await.len() == 1
            && own_modem_errors(b.addr(), &token_b, "b").await.len() == 1
    })
    .await
    .expect("both nodes list their modem");
    assert_eq!(health(a.addr()).await, Some(DatabaseHealth::Ok));

    let feeders = [
        feed(&sim_a, "OnA", 0..streamed, 10..40),
        feed(&sim_b, "OnB", 0..streamed, 10..40),
    ];
    eventually("the first commits", LIMIT, || async {
        stored_in_postgres(&url).await.len() >= 20
    })
    .await
    .expect("messages committed before the stop");
    cluster.stop_fast().expect("stop PostgreSQL");

    // Each node says so: health, and its own modem's error.
    for (node, addr, token) in [("a", a.addr(), &token_a), ("b", b.addr(), &token_b)] {
        eventually(&format!("node {node}'s health"), LIMIT, || async {
            health(addr).await == Some(DatabaseHealth::Unavailable)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        if let Err(e) = eventually(&format!("node {node}'s modem status"), LIMIT, || async {
            own_modem_errors(addr, token, node)
                .await
                .iter()
                .any(|e| e.as_deref().is_some_and(|e| e.contains("database")))
        })
        .await
        {
            let listed = http::get(addr, "/api/modems", Some(token))
                .await
                .map(|r| (r.status, r.text()));
            panic!("{e}; /api/modems: {listed:?}");
        }
    }
    // What arrives now cannot be committed, so it stays on the SIMs, however often the nodes read it.
    for i in streamed..per_node {
        sim_a.deliver(numbered("OnA", i));
        sim_b.deliver(numbered("OnB", i));
    }
    for feeder in feeders {
        feeder.await.expect("feeder");
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (sim, series) in [(&sim_a, "OnA"), (&sim_b, "OnB")] {
        let left: Vec<Vec<u8>> = sim.stored().into_iter().map(|(_, pdu)| pdu).collect();
        for i in streamed..per_node {
            assert!(
                left.contains(&numbered(series, i)),
                "{series} #{i} left the SIM while the database was away"
            );
        }
    }
    assert_eq!(
        health(a.addr()).await,
        Some(DatabaseHealth::Unavailable),
        "still away"
    );

    cluster.restart().expect("start PostgreSQL again");
    let start = Instant::now();
    let texts = loop {
        let texts = stored_in_postgres(&url).await;
        let done = count(&texts, "OnA").len() == per_node
            && count(&texts, "OnB").len() == per_node
            && sim_a.stored().is_empty()
            && sim_b.stored().is_empty();
        if done || start.elapsed() > LIMIT {
            break texts;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_each_stored_once(&count(&texts, "OnA"), 0..per_node, &log(&a.home));
    assert_each_stored_once(&count(&texts, "OnB"), 0..per_node, &log(&b.home));
    assert_eq!(texts.len(), 2 * per_node, "nothing else stored");
    assert!(
        sim_a.stored().is_empty() && sim_b.stored().is_empty(),
        "messages left on the SIMs after their commit: {} and {}",
        sim_a.stored().len(),
        sim_b.stored().len()
    );
    for (node, addr, token) in [("a", a.addr(), &token_a), ("b", b.addr(), &token_b)] {
        eventually(&format!("node {node} healthy again"), LIMIT, || async {
            health(addr).await == Some(DatabaseHealth::Ok)
                && own_modem_errors(addr, token, node)
                    .await
                    .iter()
                    .all(|e| !e.as_deref().is_some_and(|e| e.contains("database")))
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    // B's client heard every message of both nodes once: its own live, A's through the reconnected listener.
    let on_b = on_b.await.expect("B's client");
    assert_eq!(count(&on_b, "OnA").len(), per_node);
    assert_eq!(count(&on_b, "OnB").len(), per_node);
    assert!(
        node_a.is_alive() && node_b.is_alive(),
        "both nodes still run"
    );
    node_a.stop();
    node_b.stop();
}
