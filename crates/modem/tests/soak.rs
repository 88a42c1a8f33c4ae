//! Soak: many messages through a chaotic simulator that is unplugged again and again, on both
//! routes (direct `+CMT` acknowledged with `AT+CNMA`, and stored `+CMTI` read and deleted). With
//! an engine-like consumer (dedup by raw PDU, release only after "commit"), every message arrives
//! exactly once and the SIM ends empty. `SIMRELAY_SOAK_N` overrides the message count.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
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

fn messages() -> usize {
    std::env::var("SIMRELAY_SOAK_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_delivery_thousand_messages_twenty_unplugs_each_arrives_once() {
    soak(messages(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_messages_thousand_twenty_unplugs_each_arrives_once_and_sim_ends_empty() {
    soak(messages(), true).await;
}

async fn soak(n: usize, refuse_phase2: bool) {
    let route = if refuse_phase2 { "stored" } else { "direct" };
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("soak-modem");
    let capacity = 30;
    let mut sim = Simulator::start(SimOptions {
        capacity,
        link: Some(link.clone()),
        refuse_phase2,
        ack_timeout: Duration::from_secs(2),
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

    // The "engine": commit (dedup by raw PDU), then release without waiting for the modem.
    let committed = Arc::new(Mutex::new(HashSet::new()));
    let consumer_modem = modem.clone();
    let consumer_committed = committed.clone();
    let consumer = tokio::spawn(async move {
        let mut raw_events = 0usize;
        while let Some(event) = events.recv().await {
            if let ModemEvent::Received(r) = event {
                raw_events += 1;
                consumer_committed.lock().unwrap().insert(r.pdu.clone());
                // Fails while unplugged; the message is listed (or delivered) again later.
                let _ = consumer_modem.queue_release(&r).await;
            }
        }
        raw_events
    });

    let started = Instant::now();
    let mut expected = HashSet::new();
    let unplug_every = (n / (UNPLUGS + 1)).max(1);
    let mut unplugs = 0;
    for i in 0..n {
        wait_for_room(&sim, capacity).await;
        let p = pdu("+15555550150", &format!("soak {route} message number {i}"));
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
                let p = pdu(
                    "+15555550151",
                    &format!("{route} while unplugged {unplugs}/{j}"),
                );
                assert_ne!(sim.store(p.clone()), 0);
                expected.insert(p);
            }
            sim.replug().await.unwrap();
            unplugs += 1;
        }
    }
    assert_eq!(unplugs, UNPLUGS.min(n));

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let all = committed.lock().unwrap().len() == expected.len();
        if all && sim.stored().is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            let committed = committed.lock().unwrap();
            let missing: Vec<String> = expected
                .difference(&committed)
                .map(|p| match simrelay_pdu::decode(p) {
                    Ok(simrelay_pdu::Pdu::Deliver(d)) => d.text,
                    _ => hex::encode(p),
                })
                .collect();
            panic!(
                "{} of {} messages committed, {} still on the SIM; missing: {missing:?}",
                committed.len(),
                expected.len(),
                sim.stored().len()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    modem.shutdown().await;
    let raw_events = consumer.await.unwrap();
    let committed = committed.lock().unwrap().clone();
    assert_eq!(
        committed, expected,
        "every message exactly once after dedup"
    );
    println!(
        "soak ({route}): {} messages, {UNPLUGS} unplugs, {raw_events} Received events, {:.1} s",
        expected.len(),
        elapsed.as_secs_f64()
    );
    sim.shutdown().await;
}
