//! Several modems in one process, status from each family's unsolicited reports, and the
//! latency from a delivery to the `Received` event on both routes (printed; asserted only
//! loosely, the machine is shared).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{config, eventually, next_received, pdu, wait_state, WAIT};
use simrelay_modem::sim::{Chaos, Personality, SimOptions, Simulator};
use simrelay_modem::{spawn, LinkState, ModemEvent, ModemStatus, Registration};

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
    a.deliver(pa.clone());
    b.deliver(pb.clone());
    let ra = next_received(&mut ea).await;
    let rb = next_received(&mut eb).await;
    assert_eq!((ra.modem.as_str(), &ra.pdu), ("left", &pa));
    assert_eq!((rb.modem.as_str(), &rb.pdu), ("right", &pb));
    ma.release(&ra).await.unwrap();
    mb.release(&rb).await.unwrap();
    assert_eq!((a.acks(), b.acks()), (1, 1));
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

async fn median_latency(baud: Option<u32>, refuse_phase2: bool) -> Duration {
    let sim = Simulator::start(SimOptions {
        chaos: Chaos {
            baud,
            ..Chaos::default()
        },
        refuse_phase2,
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
        sim.deliver(p.clone());
        let got = next_received(&mut events).await;
        samples.push(start.elapsed());
        assert_eq!(got.pdu, p);
        modem.release(&got).await.unwrap();
    }
    modem.shutdown().await;
    sim.shutdown().await;
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::test]
async fn latency_from_delivery_to_received() {
    for (route, refuse_phase2) in [("+CMT", false), ("+CMTI -> AT+CMGR", true)] {
        let fast = median_latency(None, refuse_phase2).await;
        let paced = median_latency(Some(115_200), refuse_phase2).await;
        println!(
            "latency {route} -> Received (median of 20): unpaced {:.2} ms, 115200 baud {:.2} ms",
            fast.as_secs_f64() * 1e3,
            paced.as_secs_f64() * 1e3
        );
        // Event-driven, not polled: far below any sweep interval even on a busy machine.
        assert!(fast < Duration::from_millis(500), "{fast:?}");
        assert!(paced < Duration::from_millis(500), "{paced:?}");
    }
}

/// The next status that satisfies `wanted`.
async fn status_where(
    events: &mut tokio::sync::mpsc::Receiver<ModemEvent>,
    wanted: impl Fn(&ModemStatus) -> bool,
) -> ModemStatus {
    tokio::time::timeout(WAIT, async {
        loop {
            if let Some(ModemEvent::Status(s)) = events.recv().await {
                if wanted(&s) {
                    return s;
                }
            }
        }
    })
    .await
    .expect("the status in time")
}

/// Every family reports signal and registration changes on its own once the driver asked it to
/// (`+CSQN`, `+QIND: "csq"`, `+CSQ` reports, `+CIEV`; `+CREG`/`+CGREG`/`+CEREG`): the status
/// follows without polling. Only a `+CIEV` level makes the driver read `AT+CSQ` once for the
/// exact value, and only a registration change makes it read the operator's name once.
#[tokio::test]
async fn signal_and_registration_follow_each_familys_reports() {
    for personality in Personality::ALL {
        let sim = Simulator::start(SimOptions {
            personality,
            ..SimOptions::default()
        })
        .await
        .unwrap();
        let (modem, mut events) = spawn(config(&sim.path().to_string_lossy()));
        let (connected, _) = wait_state(&mut events, LinkState::Connected).await;
        assert_eq!(connected.signal_dbm, Some(-71), "{personality:?}");
        let count = |command: &str| {
            sim.commands()
                .iter()
                .filter(|c| c.command == command)
                .count()
        };
        let (csq, cops) = (count("AT+CSQ"), count("AT+COPS?"));

        sim.set_signal(10);
        let status = status_where(&mut events, |s| s.signal_dbm == Some(-93)).await;
        assert_eq!(status.state, LinkState::Connected);
        let by_indicator = matches!(
            personality,
            Personality::Generic | Personality::HuaweiE3372 | Personality::Telit
        );
        assert_eq!(
            count("AT+CSQ") - csq,
            usize::from(by_indicator),
            "{personality:?}"
        );

        sim.set_registration(5);
        let status = status_where(&mut events, |s| {
            s.registration == Some(Registration::Roaming)
        })
        .await;
        assert_eq!(status.operator.as_deref(), Some("SimRelay Demo"));
        // Perhaps another network now: its name is read once.
        eventually("the operator read again", || count("AT+COPS?") != cops).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(count("AT+COPS?") - cops, 1, "{personality:?}");
        sim.set_registration(2);
        let status = status_where(&mut events, |s| {
            s.registration == Some(Registration::Searching)
        })
        .await;
        assert_eq!(status.operator, None, "{personality:?}");
        assert_eq!(
            count("AT+CREG?"),
            1,
            "read once at start-up: {personality:?}"
        );
        modem.shutdown().await;
        sim.shutdown().await;
    }
}
