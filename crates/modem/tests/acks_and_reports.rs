//! Phase 2+ direct delivery (`+CMT` acknowledged with `AT+CNMA` only when the engine says so) and
//! status reports kept in a separate `SR` storage, on real pseudo-terminals.

mod common;

use std::time::Duration;

use common::{config, first_received, next_received, pdu, stored_route, wait_state};
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
    // A modem without phase 2+ that routes messages anyway (no usable storage).
    let sim = Simulator::start(SimOptions {
        refuse_phase2: true,
        ..direct(false)
    })
    .await
    .unwrap();
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
        ..stored_route()
    })
    .await
    .unwrap();
    // One report waiting before the driver starts: the start-up drain lists SR too.
    let old_report = vec![0x00, 0x06, 0x01];
    sim.store_report(old_report.clone());
    let (modem, mut events) = spawn(config(&sim.path().to_string_lossy()));
    let (_, seen) = wait_state(&mut events, LinkState::Connected).await;
    let drained = first_received(seen, &mut events).await;
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

/// A modem that takes `AT+CSMS=1` but refuses `AT+CNMA`: the driver falls back to stored
/// messages (`+CMTI`) for good, also after a replug, and the message it could not acknowledge
/// comes again from the network, stored this time: nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_acknowledgement_falls_back_to_stored_messages_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("modem-by-id");
    let mut sim = Simulator::start(SimOptions {
        refuse_cnma: true,
        ack_timeout: Duration::from_secs(1),
        link: Some(link.clone()),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let (modem, mut events) = spawn(config(&link.to_string_lossy()));
    wait_state(&mut events, LinkState::Connected).await;
    assert_eq!(sim.cnmi().as_deref(), Some("2,2,0,2,0"), "direct first");

    let first = pdu("+4915123456789", "code 121212");
    sim.deliver(first.clone());
    let direct = next_received(&mut events).await;
    assert_eq!((direct.slot, direct.needs_ack), (None, true));
    modem.release(&direct).await.unwrap();
    assert_eq!(sim.acks(), 0, "refused");
    assert_eq!(
        sim.cnmi().as_deref(),
        Some("2,1,0,2,0"),
        "stored from now on"
    );

    // Not acknowledged: the network delivers it again, and the modem stores it now.
    let again = next_received(&mut events).await;
    assert_eq!(again.pdu, first);
    assert!(again.slot.is_some() && !again.needs_ack);
    modem.release(&again).await.unwrap();
    assert!(sim.stored().is_empty());

    let second = pdu("+4915123456789", "code 343434");
    let slot = sim.deliver(second.clone());
    let stored = next_received(&mut events).await;
    assert_eq!((stored.slot, stored.pdu.clone()), (Some(slot), second));
    modem.release(&stored).await.unwrap();

    // A replugged modem is not asked for phase 2+ again.
    sim.unplug().await;
    wait_state(&mut events, LinkState::Disconnected).await;
    sim.replug().await.unwrap();
    wait_state(&mut events, LinkState::Connected).await;
    assert_eq!(sim.cnmi().as_deref(), Some("2,1,0,2,0"));
    let phase2_asked = sim
        .commands()
        .iter()
        .filter(|c| c.command == "AT+CSMS=1")
        .count();
    assert_eq!(phase2_asked, 1);
    let third = pdu("+4915123456789", "code 565656");
    sim.deliver(third.clone());
    let r = next_received(&mut events).await;
    assert_eq!(r.pdu, third);
    modem.release(&r).await.unwrap();
    assert!(sim.stored().is_empty());
    modem.shutdown().await;
    sim.shutdown().await;
}

/// On the direct route a burst is acknowledged message by message (the modem holds each next
/// one back until then) and arrives whole, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_burst_arrives_whole_and_in_order() {
    let sim = Simulator::start(SimOptions {
        // The simulator keeps a slot for each message on its way in.
        capacity: 128,
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let (modem, mut events) = spawn(config(&sim.path().to_string_lossy()));
    wait_state(&mut events, LinkState::Connected).await;
    let burst: Vec<Vec<u8>> = (0..100)
        .map(|i| pdu("+4915123456789", &format!("burst {i}: code {i:06}")))
        .collect();
    for p in &burst {
        assert_ne!(sim.deliver(p.clone()), 0);
    }
    let mut got = Vec::new();
    while got.len() < burst.len() {
        let r = next_received(&mut events).await;
        assert!(r.needs_ack);
        modem.queue_release(&r).await.unwrap();
        got.push(r.pdu);
    }
    assert_eq!(got, burst);
    tokio::time::timeout(common::WAIT, async {
        while sim.acks() < 100 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("every delivery acknowledged");
    assert_eq!(sim.ack_timeouts(), 0);
    assert!(sim.stored().is_empty());
    modem.shutdown().await;
    sim.shutdown().await;
}
