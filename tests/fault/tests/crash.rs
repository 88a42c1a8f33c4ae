//! Crash test: messages wait on a simulated SIM and keep arriving live while `simrelay serve` is killed with
//! SIGKILL at random moments and restarted. Afterwards every message is in the SQLite store exactly once and
//! the SIM is empty: nothing lost, nothing doubled, nothing left behind.
//!
//! Default: 100 stored + 200 live messages, 6 kills (well under a minute). `SIMRELAY_SOAK=1` (`cargo xtask
//! soak`): 500 + 500 messages, 20 kills.
//!
//! The same faults in a cluster of nodes on PostgreSQL are in `crash/cluster.rs` (a module of this binary).

#[path = "crash/cluster.rs"]
mod cluster;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use simrelay_fault_tests::{assert_each_stored_once, log, serve, stored_messages};
use simrelay_modem::{SimOptions, Simulator};
use simrelay_testkit::pdu::{numbered, numbered_index};

fn soak() -> bool {
    std::env::var_os("SIMRELAY_SOAK").is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let (stored, live, kills) = if soak() {
        (500, 500, 20)
    } else {
        (100, 200, 6)
    };
    let total = stored + live;
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = Arc::new(
        Simulator::start(SimOptions {
            capacity: u32::try_from(total + 10).expect("fits"),
            ..SimOptions::default()
        })
        .await
        .expect("simulator"),
    );
    for i in 0..stored {
        assert_ne!(sim.store(numbered("Crash", i)), 0, "SIM full");
    }
    let serve = serve(dir.path(), vec![sim.path().to_path_buf()], None);

    // Live messages keep arriving through every kill and restart.
    let feeder = tokio::spawn({
        let sim = sim.clone();
        async move {
            for i in stored..total {
                sim.deliver(numbered("Crash", i));
                let pause = rand::rng().random_range(0..8);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
        }
    });
    for _ in 0..kills {
        let mut server = serve.spawn().expect("start simrelay");
        // From "still opening the database" to "in the middle of draining the SIM".
        let alive_for = rand::rng().random_range(30..700);
        tokio::time::sleep(Duration::from_millis(alive_for)).await;
        assert!(
            server.is_alive(),
            "simrelay exited on its own; log:\n{}",
            log(dir.path())
        );
        server.kill();
    }
    feeder.await.expect("feeder");

    let mut server = serve.spawn().expect("start simrelay");
    server
        .wait_ready(Duration::from_secs(30))
        .await
        .expect("simrelay ready");
    let deadline = Instant::now() + Duration::from_secs(90);
    let (counts, others) = loop {
        let texts: Vec<String> = stored_messages(&serve.db)
            .await
            .into_iter()
            .map(|(text, _)| text)
            .collect();
        let mut counts: HashMap<usize, usize> = HashMap::new();
        let mut others = Vec::new();
        for text in &texts {
            match numbered_index("Crash", text) {
                Some(i) => *counts.entry(i).or_default() += 1,
                None => others.push(text.clone()),
            }
        }
        let done = counts.len() == total && sim.stored().is_empty();
        if done || Instant::now() > deadline {
            break (counts, others);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_each_stored_once(&counts, 0..total, &log(dir.path()));
    assert!(
        others.is_empty(),
        "unexpected messages in the store: {:?}",
        &others[..others.len().min(5)]
    );
    let left = sim.stored();
    assert!(
        left.is_empty(),
        "{} messages left on the SIM after they were committed",
        left.len()
    );
    assert!(server.is_alive(), "simrelay died after recovering");
}
