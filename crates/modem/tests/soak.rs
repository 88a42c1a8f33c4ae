//! Soak: many messages through a chaotic simulator that is unplugged again and again. With an
//! engine-like consumer (dedup by raw PDU, delete only after "commit"), every message arrives
//! exactly once and the SIM ends empty. `SIMRELAY_SOAK_N` overrides the message count.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{config, pdu};
use simrelay_modem::sim::{Chaos, SimOptions, Simulator};
use simrelay_modem::{spawn, ModemEvent};

const UNPLUGS: usize = 20;

/// The network holds messages while the SIM is full, as a real SMSC retries later.
async fn wait_for_room(sim: &Simulator, capacity: u32) {
    while sim.stored().len() >= capacity as usize - 1 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_messages_twenty_unplugs_each_arrives_once_and_sim_ends_empty() {
    let n: usize = std::env::var("SIMRELAY_SOAK_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("soak-modem");
    let capacity = 30;
    let mut sim = Simulator::start(SimOptions {
        capacity,
        link: Some(link.clone()),
        chaos: Chaos {
            noise: true,
            urc_inside_responses: true,
            ..Chaos::default()
        },
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let (modem, mut events) = spawn(simrelay_modem::ModemConfig {
        sweep_interval: Duration::from_secs(2),
        ..config(&link.to_string_lossy())
    });

    // The "engine": commit (dedup by raw PDU), then delete.
    let consumer_modem = modem.clone();
    let consumer = tokio::spawn(async move {
        let mut committed = HashSet::new();
        let mut raw_events = 0usize;
        while let Some(event) = events.recv().await {
            if let ModemEvent::Received(r) = event {
                raw_events += 1;
                committed.insert(r.pdu.clone());
                if let Some(slot) = r.slot {
                    // Fails while unplugged; the message is listed again after the reconnect.
                    let _ = consumer_modem.delete(slot).await;
                }
            }
        }
        (committed, raw_events)
    });

    let started = Instant::now();
    let mut expected = HashSet::new();
    let unplug_every = (n / (UNPLUGS + 1)).max(1);
    let mut unplugs = 0;
    for i in 0..n {
        wait_for_room(&sim, capacity).await;
        let p = pdu("+15555550150", &format!("soak message number {i}"));
        assert_ne!(sim.deliver(p.clone()), 0);
        expected.insert(p);
        if i % unplug_every == unplug_every - 1 && unplugs < UNPLUGS {
            sim.unplug().await;
            tokio::time::sleep(Duration::from_millis(30)).await;
            // Messages keep arriving while the modem is away from the host (if there is room:
            // nobody deletes now).
            for j in 0..3 {
                if sim.stored().len() >= capacity as usize - 1 {
                    break;
                }
                let p = pdu("+15555550151", &format!("while unplugged {unplugs}/{j}"));
                assert_ne!(sim.store(p.clone()), 0);
                expected.insert(p);
            }
            sim.replug().await.unwrap();
            unplugs += 1;
        }
    }
    assert_eq!(unplugs, UNPLUGS.min(n));

    let deadline = Instant::now() + Duration::from_secs(120);
    while !sim.stored().is_empty() {
        assert!(
            Instant::now() < deadline,
            "{} messages still on the SIM",
            sim.stored().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    modem.shutdown().await;
    let (committed, raw_events) = consumer.await.unwrap();
    assert_eq!(committed.len(), expected.len());
    assert_eq!(
        committed, expected,
        "every message exactly once after dedup"
    );
    println!(
        "soak: {} messages, {UNPLUGS} unplugs, {raw_events} Received events, {:.1} s",
        expected.len(),
        elapsed.as_secs_f64()
    );
    sim.shutdown().await;
}
