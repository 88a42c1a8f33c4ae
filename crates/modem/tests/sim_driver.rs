//! End-to-end: the driver against the simulator on a real pseudo-terminal, opened with
//! tokio-serial exactly like a USB modem.
#![allow(clippy::unwrap_used)]

mod common;

use common::{next_received, pdu, start_driver, wait_state, WAIT};
use simrelay_modem::sim::{SimOptions, Simulator};
use simrelay_modem::{LinkState, ModemEvent};

#[tokio::test]
async fn message_stored_before_startup_is_drained_and_deleted_on_request() {
    let sim = Simulator::start(SimOptions::default()).await.unwrap();
    let first = pdu("+15555550100", "stored while nobody listened");
    let second = pdu("DemoBank", "code 123456");
    let s1 = sim.store(first.clone());
    let s2 = sim.store(second.clone());
    let (modem, mut events) = start_driver(&sim);

    let a = next_received(&mut events).await;
    let b = next_received(&mut events).await;
    assert_eq!(a.modem, "sim0");
    assert_eq!((a.slot, a.pdu), (Some(s1), first));
    assert_eq!((b.slot, b.pdu), (Some(s2), second));
    // Nothing is deleted before the engine asks.
    assert_eq!(sim.stored().len(), 2);

    modem.delete(s1).await.unwrap();
    modem.delete(s2).await.unwrap();
    assert!(sim.stored().is_empty());
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn live_message_arrives_through_cmti() {
    let sim = Simulator::start(SimOptions::default()).await.unwrap();
    let (modem, mut events) = start_driver(&sim);
    wait_state(&mut events, LinkState::Connected).await;
    let live = pdu("+15555550101", "hello, live");
    let slot = sim.deliver(live.clone());
    let got = next_received(&mut events).await;
    assert_eq!(got.slot, Some(slot));
    assert_eq!(got.pdu, live);
    assert_eq!(sim.stored().len(), 1);

    modem.delete(slot).await.unwrap();
    assert!(sim.stored().is_empty());
    // Deleting again: the slot is already empty, which counts as done.
    modem.delete(slot).await.unwrap();
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn status_reports_model_signal_and_operator() {
    let sim = Simulator::start(SimOptions::default()).await.unwrap();
    let (modem, mut events) = start_driver(&sim);
    let status = tokio::time::timeout(WAIT, async {
        loop {
            if let Some(ModemEvent::Status(s)) = events.recv().await {
                if s.state == LinkState::Connected {
                    return s;
                }
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(status.id, "sim0");
    assert_eq!(status.port, sim.path().to_string_lossy());
    assert_eq!(status.model.as_deref(), Some("SimRelay Simulated Modem"));
    assert_eq!(status.signal_dbm, Some(-71));
    assert_eq!(status.operator.as_deref(), Some("SimRelay Demo"));
    assert_eq!(status.signal_bars(), Some(4));
    assert_eq!(status.manufacturer.as_deref(), Some("SimRelay"));
    assert_eq!(status.imei.as_deref(), Some("356938035643809"));
    assert_eq!(
        status.registration,
        Some(simrelay_modem::Registration::Home)
    );
    assert_eq!(status.storage, Some((0, 30)));
    modem.shutdown().await;
    // After shutdown the driver reports it is no longer connected.
    wait_state(&mut events, LinkState::Disconnected).await;
    sim.shutdown().await;
}
