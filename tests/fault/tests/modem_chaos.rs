//! Modem chaos against the real `simrelay serve`: messages stream in from a simulated modem that answers in
//! random small chunks, prints vendor noise, splices URCs into the middle of responses, receives corrupt PDUs
//! and is unplugged and plugged back in 20 times (under a new `/dev/pts/N` behind a stable symlink, as udev does
//! with `/dev/serial/by-id/...`). Afterwards every good message is in the store exactly once, every corrupt one
//! is stored raw with its decode error, the SIM is empty and the process is still alive.
//!
//! Default: 300 messages. `SIMRELAY_SOAK=1` (`cargo xtask soak`): 1,000.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use simrelay_fault_tests::{assert_each_stored_once, log, serve, stored_messages};
use simrelay_modem::sim::Chaos;
use simrelay_modem::{SimOptions, Simulator};
use simrelay_testkit::pdu::{numbered, numbered_index, with_bad_timestamp};
use tokio::sync::RwLock;

const UNPLUGS: usize = 20;
const CAPACITY: u32 = 30;

/// Every tenth message (from the 5th) arrives corrupt.
fn corrupt(i: usize) -> bool {
    i % 10 == 5
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaotic_modem_unplugged_twenty_times_delivers_every_message_once() {
    let total: usize = if std::env::var_os("SIMRELAY_SOAK").is_some() {
        1000
    } else {
        300
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("chaos-modem");
    let sim = Arc::new(RwLock::new(
        Simulator::start(SimOptions {
            capacity: CAPACITY,
            link: Some(link.clone()),
            chaos: Chaos {
                small_chunks: true,
                noise: true,
                urc_inside_responses: true,
                ..Chaos::default()
            },
            ..SimOptions::default()
        })
        .await
        .expect("simulator"),
    ));
    let serve = serve(dir.path(), vec![link.clone()], None);
    let mut server = serve.spawn().expect("start simrelay");
    server
        .wait_ready(Duration::from_secs(30))
        .await
        .expect("simrelay ready");

    let feeder = tokio::spawn({
        let sim = sim.clone();
        async move {
            for i in 0..total {
                // The network holds messages while the SIM is full, as a real SMSC retries later.
                while sim.read().await.stored().len() >= CAPACITY as usize - 1 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                let pdu = if corrupt(i) {
                    with_bad_timestamp(numbered("Chaos", i))
                } else {
                    numbered("Chaos", i)
                };
                assert_ne!(sim.read().await.deliver(pdu), 0, "SIM full");
                let pause = rand::rng().random_range(0..6);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
        }
    });
    for _ in 0..UNPLUGS {
        let plugged_for = rand::rng().random_range(100..600);
        tokio::time::sleep(Duration::from_millis(plugged_for)).await;
        sim.read().await.unplug().await;
        let unplugged_for = rand::rng().random_range(20..300);
        tokio::time::sleep(Duration::from_millis(unplugged_for)).await;
        sim.write().await.replug().await.expect("replug");
        assert!(
            server.is_alive(),
            "simrelay exited during the unplug cycles; log:\n{}",
            log(dir.path())
        );
    }
    feeder.await.expect("feeder");

    let corrupt_total = (0..total).filter(|i| corrupt(*i)).count();
    let good_total = total - corrupt_total;
    // Reconnects drain the SIM at once; a message whose +CMTI was lost in an unplug waits for the 60 s sweep.
    let deadline = Instant::now() + Duration::from_secs(150);
    let (counts, raw, others) = loop {
        let rows = stored_messages(&serve.db).await;
        let mut counts: HashMap<usize, usize> = HashMap::new();
        let mut raw = 0usize;
        let mut others = Vec::new();
        for (text, error) in &rows {
            match (numbered_index("Chaos", text), error) {
                (Some(i), None) => *counts.entry(i).or_default() += 1,
                (None, Some(_)) => raw += 1,
                _ => others.push(text.clone()),
            }
        }
        let done = counts.len() == good_total
            && raw == corrupt_total
            && sim.read().await.stored().is_empty();
        if done || Instant::now() > deadline {
            break (counts, raw, others);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let log = log(dir.path());
    assert_each_stored_once(&counts, (0..total).filter(|i| !corrupt(*i)), &log);
    assert_eq!(
        raw, corrupt_total,
        "each corrupt PDU must be stored raw exactly once"
    );
    assert!(
        others.is_empty(),
        "unexpected messages in the store: {:?}",
        &others[..others.len().min(5)]
    );
    let left = sim.read().await.stored();
    assert!(
        left.is_empty(),
        "{} messages left on the SIM after they were committed",
        left.len()
    );
    assert!(server.is_alive(), "simrelay died during the chaos");
}
