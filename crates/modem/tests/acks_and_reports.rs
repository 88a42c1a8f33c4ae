//! Phase 2+ direct delivery (`+CMT` acknowledged with `AT+CNMA` only when the engine says so) and
//! status reports kept in a separate `SR` storage, on real pseudo-terminals.

mod common;

use std::time::Duration;

use common::{config, next_received, pdu, wait_state};
use simrelay_modem::sim::{Chaos, SimOptions, Simulator};
use simrelay_modem::{spawn, LinkState};

fn direct(phase2: bool) -> SimOptions {
    SimOptions {
        phase2,
        ack_timeout: Duration::from_secs(2),
        chaos: Chaos {
            route_directly: true,
            ..Chaos::default()
        },
        ..SimOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phase2_cmt_is_acknowledged_only_on_release() {
    let sim = Simulator::start(direct(true)).await.unwrap();
    let (modem, mut events) = spawn(config(&sim.path().to_string_lossy()));
    wait_state(&mut events, LinkState::Connected).await;
    let first = pdu("+4915123456789", "code 123456");
    sim.deliver(first.clone());
    let received = next_received(&mut events).await;
    assert_eq!((received.slot, received.needs_ack), (None, true));
    assert_eq!(received.pdu, first);
    assert!(sim.stored().is_empty(), "routed, never stored");
    // The driver does not acknowledge on its own: only the engine knows when the commit is done.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(sim.acks(), 0);
    modem.release(&received).await.unwrap();
    assert_eq!(sim.acks(), 1);
    // Acknowledged in time: nothing is delivered again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(sim.ack_timeouts(), 0);
    assert!(events.try_recv().map_or(true, |e| !matches!(
        e,
        simrelay_modem::ModemEvent::Received(_)
    )));
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacknowledged_cmt_comes_again_and_holds_back_the_next_one() {
    let sim = Simulator::start(direct(true)).await.unwrap();
    let (modem, mut events) = spawn(config(&sim.path().to_string_lossy()));
    wait_state(&mut events, LinkState::Connected).await;
    let first = pdu("+4915123456789", "code 111111");
    let second = pdu("+4915123456789", "code 222222");
    sim.deliver(first.clone());
    sim.deliver(second.clone());
    let a = next_received(&mut events).await;
    assert_eq!(a.pdu, first);
    // Not released (the commit failed, say): the modem delivers the same message again, and the
    // second one waits behind it.
    let again = next_received(&mut events).await;
    assert_eq!(again.pdu, first, "the unacknowledged message first");
    assert!(sim.ack_timeouts() >= 1);
    modem.release(&again).await.unwrap();
    let b = next_received(&mut events).await;
    assert_eq!(b.pdu, second);
    modem.release(&b).await.unwrap();
    // The stale first copy's acknowledgement has nothing left to acknowledge: harmless.
    modem.release(&a).await.unwrap();
    assert_eq!(sim.acks(), 2);
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_phase_1_a_cmt_needs_no_acknowledgement() {
    let sim = Simulator::start(direct(false)).await.unwrap();
    let (modem, mut events) = spawn(config(&sim.path().to_string_lossy()));
    wait_state(&mut events, LinkState::Connected).await;
    sim.deliver(pdu("+4915123456789", "code 333333"));
    let received = next_received(&mut events).await;
    assert!(!received.needs_ack);
    modem.release(&received).await.unwrap();
    assert_eq!(sim.acks(), 0, "no AT+CNMA outside phase 2+");
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_in_the_sr_storage_are_read_there_and_deleted_there() {
    let sim = Simulator::start(SimOptions {
        report_storage: true,
        ..SimOptions::default()
    })
    .await
    .unwrap();
    // One report waiting before the driver starts: the start-up drain lists SR too.
    let old_report = vec![0x00, 0x06, 0x01];
    sim.store_report(old_report.clone());
    let (modem, mut events) = spawn(config(&sim.path().to_string_lossy()));
    let (_, seen) = wait_state(&mut events, LinkState::Connected).await;
    let drained = match seen.into_iter().next() {
        Some(r) => r,
        None => next_received(&mut events).await,
    };
    assert_eq!(drained.pdu, old_report);
    assert_eq!(drained.storage.as_deref(), Some("SR"));
    modem.release(&drained).await.unwrap();
    assert!(sim.stored_reports().is_empty());

    // A report announced with +CDSI: "SR",1 next to a message in SM slot 1.
    let message = pdu("+4915123456789", "code 444444");
    let report = vec![0x00, 0x06, 0x02];
    let report_slot = sim.deliver_report(report.clone());
    let r = next_received(&mut events).await;
    assert_eq!(
        (r.pdu.clone(), r.slot, r.storage.as_deref()),
        (report, Some(report_slot), Some("SR"))
    );
    let message_slot = sim.deliver(message.clone());
    assert_eq!(
        message_slot, report_slot,
        "the same slot number in another storage"
    );
    let m = next_received(&mut events).await;
    assert_eq!(
        (m.pdu.clone(), m.storage.clone()),
        (message, None),
        "back on SM for +CMTI"
    );
    modem.release(&r).await.unwrap();
    assert!(sim.stored_reports().is_empty());
    assert_eq!(sim.stored().len(), 1, "the message in SM slot 1 untouched");
    modem.release(&m).await.unwrap();
    assert!(sim.stored().is_empty());
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modem_that_stops_routing_after_a_missed_ack_is_set_up_again_and_listed() {
    let sim = Simulator::start(SimOptions {
        ack_timeout: Duration::from_secs(1),
        ack_timeout_stores: true,
        ..direct(true)
    })
    .await
    .unwrap();
    let (modem, mut events) = spawn(config(&sim.path().to_string_lossy()));
    wait_state(&mut events, LinkState::Connected).await;
    let first = pdu("+4915123456789", "code 777777");
    sim.deliver(first.clone());
    let late = next_received(&mut events).await;
    assert!(late.needs_ack);
    // The engine is too slow: the modem gives up, switches routing off and keeps the message.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = pdu("+4915123456789", "code 888888");
    sim.deliver(second.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sim.stored().len(), 2, "both kept in storage, silently");
    // The late acknowledgement is refused; the driver sets AT+CNMI again and lists the storage.
    modem.release(&late).await.unwrap();
    assert_eq!(sim.acks(), 0);
    let mut listed = vec![
        next_received(&mut events).await,
        next_received(&mut events).await,
    ];
    listed.sort_by_key(|r| r.slot);
    assert_eq!(
        listed.iter().map(|r| r.pdu.clone()).collect::<Vec<_>>(),
        vec![first, second]
    );
    for r in &listed {
        assert!(r.slot.is_some() && !r.needs_ack);
        modem.release(r).await.unwrap();
    }
    assert!(sim.stored().is_empty());
    // Routing is back: the next message comes directly again.
    sim.deliver(pdu("+4915123456789", "code 999999"));
    let again = next_received(&mut events).await;
    assert!(again.needs_ack && again.slot.is_none());
    modem.release(&again).await.unwrap();
    assert_eq!(sim.acks(), 1);
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phase2_cds_is_acknowledged_on_release_too() {
    let sim = Simulator::start(direct(true)).await.unwrap();
    let (modem, mut events) = spawn(config(&sim.path().to_string_lossy()));
    wait_state(&mut events, LinkState::Connected).await;
    let report = vec![0x00, 0x06, 0x07];
    sim.deliver_report_directly(&report);
    let received = next_received(&mut events).await;
    assert_eq!((received.pdu.clone(), received.needs_ack), (report, true));
    assert_eq!(sim.acks(), 0);
    modem.release(&received).await.unwrap();
    assert_eq!(sim.acks(), 1);
    modem.shutdown().await;
    sim.shutdown().await;
}
