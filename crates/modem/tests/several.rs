//! Several modems in one process, registration URCs, and the latency from `+CMTI` to the
//! `Received` event (printed for BENCHMARKS.md; asserted only loosely, the machine is shared).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{config, next_received, pdu, wait_state, WAIT};
use simrelay_modem::sim::{Chaos, SimOptions, Simulator};
use simrelay_modem::{spawn, LinkState, ModemEvent, Registration};

#[tokio::test]
async fn two_modems_keep_their_messages_apart() {
    let a = Simulator::start(SimOptions::default()).await.unwrap();
    let b = Simulator::start(SimOptions::default()).await.unwrap();
    let (ma, mut ea) = spawn(simrelay_modem::ModemConfig {
        id: Some("left".into()),
        ..config(&a.path().to_string_lossy())
    });
    let (mb, mut eb) = spawn(simrelay_modem::ModemConfig {
        id: Some("right".into()),
        ..config(&b.path().to_string_lossy())
    });
    assert_eq!((ma.id().as_str(), mb.id().as_str()), ("left", "right"));
    wait_state(&mut ea, LinkState::Connected).await;
    wait_state(&mut eb, LinkState::Connected).await;
    let pa = pdu("+15555550120", "to the left modem");
    let pb = pdu("+15555550121", "to the right modem");
    let sa = a.deliver(pa.clone());
    let sb = b.deliver(pb.clone());
    let ra = next_received(&mut ea).await;
    let rb = next_received(&mut eb).await;
    assert_eq!((ra.modem.as_str(), &ra.pdu), ("left", &pa));
    assert_eq!((rb.modem.as_str(), &rb.pdu), ("right", &pb));
    ma.delete(sa).await.unwrap();
    mb.delete(sb).await.unwrap();
    assert!(a.stored().is_empty() && b.stored().is_empty());
    ma.shutdown().await;
    mb.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn registration_urc_updates_the_status() {
    let sim = Simulator::start(SimOptions::default()).await.unwrap();
    let (modem, mut events) = spawn(config(&sim.path().to_string_lossy()));
    wait_state(&mut events, LinkState::Connected).await;
    sim.inject(b"\r\n+CREG: 5\r\n");
    let roaming = tokio::time::timeout(WAIT, async {
        loop {
            if let Some(ModemEvent::Status(s)) = events.recv().await {
                if s.registration == Some(Registration::Roaming) {
                    return s;
                }
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(roaming.state, LinkState::Connected);
    modem.shutdown().await;
    sim.shutdown().await;
}

async fn median_latency(baud: Option<u32>) -> Duration {
    let sim = Simulator::start(SimOptions {
        chaos: Chaos {
            baud,
            ..Chaos::default()
        },
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let (modem, mut events) = spawn(config(&sim.path().to_string_lossy()));
    wait_state(&mut events, LinkState::Connected).await;
    let mut samples = Vec::new();
    for i in 0..20 {
        let p = pdu("+15555550122", &format!("latency sample {i}"));
        let start = Instant::now();
        let slot = sim.deliver(p.clone());
        let got = next_received(&mut events).await;
        samples.push(start.elapsed());
        assert_eq!(got.pdu, p);
        modem.delete(slot).await.unwrap();
    }
    modem.shutdown().await;
    sim.shutdown().await;
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::test]
async fn latency_from_cmti_to_received() {
    let fast = median_latency(None).await;
    let paced = median_latency(Some(115_200)).await;
    println!(
        "latency +CMTI -> Received (median of 20): unpaced {:.2} ms, 115200 baud {:.2} ms",
        fast.as_secs_f64() * 1e3,
        paced.as_secs_f64() * 1e3
    );
    // Event-driven, not polled: far below any sweep interval even on a busy machine.
    assert!(fast < Duration::from_millis(500), "{fast:?}");
    assert!(paced < Duration::from_millis(500), "{paced:?}");
}
