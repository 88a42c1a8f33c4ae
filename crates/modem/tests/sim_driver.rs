//! End-to-end: the driver against the simulator on a real pseudo-terminal, opened with
//! tokio-serial exactly like a USB modem: both routes of new messages, the order in which queued
//! work is done, and status polled only for a watcher.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{
    config, eventually, next_received, pdu, start_driver, stored_route, wait_state, WAIT,
};
use simrelay_modem::sim::{SimOptions, Simulator};
use simrelay_modem::{spawn, LinkState, ModemConfig, ModemError, ModemEvent};

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
async fn live_message_arrives_directly_and_is_acknowledged_on_release() {
    let sim = Simulator::start(SimOptions::default()).await.unwrap();
    let (modem, mut events) = start_driver(&sim);
    wait_state(&mut events, LinkState::Connected).await;
    assert_eq!(
        sim.cnmi().as_deref(),
        Some("2,2,0,2,0"),
        "+CMT with the PDU"
    );
    let live = pdu("+15555550101", "hello, direct");
    sim.deliver(live.clone());
    let got = next_received(&mut events).await;
    assert_eq!((got.slot, got.needs_ack), (None, true));
    assert_eq!(got.pdu, live);
    assert!(sim.stored().is_empty(), "never stored");
    assert_eq!(sim.acks(), 0, "not before the commit");
    modem.release(&got).await.unwrap();
    assert_eq!(sim.acks(), 1);
    assert!(
        !sim.commands()
            .iter()
            .any(|c| c.command.starts_with("AT+CMGR")),
        "no read round trip"
    );
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn without_phase_2_a_live_message_arrives_through_cmti() {
    let sim = Simulator::start(stored_route()).await.unwrap();
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

/// The commands the modem took after the first one starting with `marker`.
fn commands_after(sim: &Simulator, marker: &str) -> Vec<String> {
    let commands: Vec<String> = sim.commands().into_iter().map(|c| c.command).collect();
    let from = commands
        .iter()
        .position(|c| c.starts_with(marker))
        .unwrap_or_else(|| panic!("no {marker} in {commands:?}"));
    commands[from + 1..].to_vec()
}

/// Waits until the modem has taken a command starting with `prefix`.
async fn until_command(sim: &Simulator, prefix: &str) {
    eventually(&format!("{prefix} taken"), || {
        sim.commands().iter().any(|c| c.command.starts_with(prefix))
    })
    .await;
}

/// Everything that queues up while the modem is busy with a send (the network takes a second to
/// accept it): a long message's three parts arrive, the engine releases an earlier message, the
/// sweep falls due and a client starts watching the status. Afterwards the parts are read first,
/// back to back, then the delete, and only then the sweep and the status refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_before_queued_deletes_sweeps_and_status_refreshes() {
    let sim = Simulator::start(SimOptions {
        send_delay: Duration::from_secs(1),
        ..stored_route()
    })
    .await
    .unwrap();
    let (modem, mut events) = spawn(simrelay_modem::ModemConfig {
        sweep_interval: Duration::from_millis(300),
        ..common::config(&sim.path().to_string_lossy())
    });
    wait_state(&mut events, LinkState::Connected).await;
    let earlier = pdu("+15555550130", "an earlier message");
    let earlier_slot = sim.deliver(earlier.clone());
    let a = next_received(&mut events).await;
    assert_eq!(a.pdu, earlier);

    let submit = simrelay_pdu::encode_submit(
        "+15555550131",
        "a reply that takes the network a second",
        &simrelay_pdu::SubmitOptions::default(),
    )
    .unwrap();
    let sender = modem.clone();
    let send = tokio::spawn(async move { sender.send(submit).await });
    until_command(&sim, "AT+CMGS").await;
    let ts = chrono::DateTime::parse_from_rfc3339("2026-03-04T05:06:07+02:00").unwrap();
    let parts = simrelay_pdu::encode_deliver("+15555550132", &"long ".repeat(80), ts);
    assert_eq!(parts.len(), 3);
    let slots: Vec<u32> = parts.iter().map(|p| sim.deliver(p.clone())).collect();
    modem.queue_release(&a).await.unwrap();
    let watch = modem.watch_status();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!send.is_finished(), "the send is still with the network");
    tokio::time::timeout(WAIT, send)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(next_received(&mut events).await);
    }
    assert_eq!(got.iter().map(|r| r.pdu.clone()).collect::<Vec<_>>(), parts);
    for r in &got {
        modem.queue_release(r).await.unwrap();
    }
    eventually("every slot deleted", || sim.stored().is_empty()).await;
    // The refresh's AT+CSQ (the start-up sent one too): the sweep and the refresh may come after
    // the parts' deletes, which the engine asked for as soon as it had the parts.
    eventually("the status refresh after the send", || {
        commands_after(&sim, "AT+CMGS")
            .iter()
            .any(|c| c.starts_with("AT+CSQ"))
    })
    .await;
    drop(watch);

    let after: Vec<String> = commands_after(&sim, "AT+CMGS")
        .into_iter()
        .filter(|c| !c.starts_with("AT+CPMS=\"SM\""))
        .collect();
    let reads: Vec<String> = slots.iter().map(|s| format!("AT+CMGR={s}")).collect();
    assert_eq!(
        after[..3],
        reads[..],
        "the parts first, back to back: {after:?}"
    );
    assert_eq!(
        after[3],
        format!("AT+CMGD={earlier_slot}"),
        "then the queued delete: {after:?}"
    );
    let position = |prefix: &str| after.iter().position(|c| c.starts_with(prefix));
    assert!(position("AT+CMGL").is_some_and(|i| i > 3), "{after:?}");
    assert!(position("AT+CSQ").is_some_and(|i| i > 3), "{after:?}");
    // The parts' deletes go together, after the reads.
    let deletes: Vec<usize> = slots
        .iter()
        .filter_map(|s| position(&format!("AT+CMGD={s}")))
        .collect();
    assert_eq!(deletes.len(), 3, "{after:?}");
    modem.shutdown().await;
    sim.shutdown().await;
}

/// The status is polled only while someone watches; with nobody watching and nothing arriving,
/// the driver sends the modem nothing at all between sweeps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_refresh_runs_only_while_watched() {
    let sim = Simulator::start(SimOptions::default()).await.unwrap();
    let (modem, mut events) = spawn(simrelay_modem::ModemConfig {
        status_interval: Duration::from_millis(200),
        sweep_interval: Duration::from_secs(3600),
        ..common::config(&sim.path().to_string_lossy())
    });
    wait_state(&mut events, LinkState::Connected).await;
    // Let the start-up listing finish.
    until_command(&sim, "AT+CMGL").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let idle_from = sim.commands().len();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        sim.commands()[idle_from..].len(),
        0,
        "an idle driver nobody watches sends nothing: {:?}",
        &sim.commands()[idle_from..]
    );

    let refreshes = || {
        sim.commands()
            .iter()
            .filter(|c| c.command == "AT+COPS?")
            .count()
    };
    let before = refreshes();
    while events.try_recv().is_ok() {}
    let watch = modem.watch_status();
    // One at once, then one every 200 ms.
    eventually("refreshes while watched", || refreshes() >= before + 3).await;
    // Each refresh publishes the status.
    let status = wait_state(&mut events, LinkState::Connected).await.0;
    assert_eq!(status.operator.as_deref(), Some("SimRelay Demo"));
    drop(watch);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopped = refreshes();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        refreshes(),
        stopped,
        "no refresh after the last watcher left"
    );
    modem.shutdown().await;
    sim.shutdown().await;
}

/// Collects events until `done` says the messages and calls seen so far are enough.
async fn collect(
    modem: &simrelay_modem::ModemHandle,
    events: &mut tokio::sync::mpsc::Receiver<ModemEvent>,
    done: impl Fn(&[Vec<u8>], &[simrelay_modem::Call]) -> bool,
) -> (Vec<Vec<u8>>, Vec<simrelay_modem::Call>) {
    let mut pdus = Vec::new();
    let mut calls = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        while !done(&pdus, &calls) {
            match events.recv().await.expect("driver stopped") {
                ModemEvent::Received(r) => {
                    modem.queue_release(&r).await.unwrap();
                    pdus.push(r.pdu);
                }
                ModemEvent::Call(call) => calls.push(call),
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{} messages and {} calls seen", pdus.len(), calls.len()));
    (pdus, calls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_ringing_during_a_burst_of_50_messages_loses_none_and_is_one_call() {
    let sim = Simulator::start(SimOptions {
        capacity: 60,
        chaos: simrelay_modem::sim::Chaos {
            // RING and +CMTI printed inside the answers of the driver's commands.
            urc_inside_responses: true,
            ..Default::default()
        },
        ..stored_route()
    })
    .await
    .unwrap();
    let (modem, mut events) = start_driver(&sim);
    wait_state(&mut events, LinkState::Connected).await;
    let sent: Vec<Vec<u8>> = (0..50)
        .map(|i| pdu("+15555550140", &format!("burst message {i}")))
        .collect();
    for (i, p) in sent.iter().enumerate() {
        sim.deliver(p.clone());
        if i == 5 {
            sim.call(Some("+4915112345678"), 6, Duration::from_millis(400));
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let (pdus, calls) = collect(&modem, &mut events, |pdus, calls| {
        pdus.len() >= 50 && !calls.is_empty()
    })
    .await;
    // The ringing goes on a little after the burst: still one call.
    let (more, later_calls) = tokio::time::timeout(Duration::from_secs(4), async {
        collect(&modem, &mut events, |_, calls| !calls.is_empty()).await
    })
    .await
    .unwrap_or_default();
    assert!(later_calls.is_empty(), "{later_calls:?}");
    let mut got: Vec<Vec<u8>> = pdus.into_iter().chain(more).collect();
    got.sort();
    got.dedup();
    let mut want = sent.clone();
    want.sort();
    assert_eq!(got, want, "every message once");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].from.as_deref(), Some("+4915112345678"));
    assert!(!calls[0].rejected);
    assert_eq!(sim.hangups(), 0);
    assert!(
        sim.commands().iter().any(|c| c.command == "AT+CLIP=1"),
        "caller id asked for"
    );
    let empty = tokio::time::timeout(WAIT, async {
        while !sim.stored().is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(empty.is_ok(), "left on the SIM: {}", sim.stored().len());
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_modem_that_rejects_calls_hangs_up_once_and_still_reports_the_call() {
    let sim = Simulator::start(SimOptions::default()).await.unwrap();
    let (modem, mut events) = spawn(ModemConfig {
        reject_calls: true,
        ..config(&sim.path().to_string_lossy())
    });
    wait_state(&mut events, LinkState::Connected).await;
    // A withheld number.
    sim.call(None, 5, Duration::from_millis(300));
    let (_, calls) = collect(&modem, &mut events, |_, calls| !calls.is_empty()).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].from, None);
    assert!(calls[0].rejected);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sim.hangups(), 1, "ATH once");
    // Switched off at run time: the next call rings on.
    modem.set_reject_calls(false).await.unwrap();
    sim.call(Some("0301234567"), 2, Duration::from_millis(300));
    let (_, calls) = collect(&modem, &mut events, |_, calls| !calls.is_empty()).await;
    assert_eq!(calls[0].from.as_deref(), Some("0301234567"));
    assert!(!calls[0].rejected);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sim.hangups(), 1);
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ussd_replies_are_decoded_and_one_session_runs_at_a_time() {
    let sim = Simulator::start(SimOptions::default()).await.unwrap();
    let (modem, mut events) = spawn(ModemConfig {
        timeouts: simrelay_modem::Timeouts {
            ussd: Duration::from_secs(2),
            ..simrelay_modem::Timeouts::default()
        },
        ..config(&sim.path().to_string_lossy())
    });
    wait_state(&mut events, LinkState::Connected).await;
    // Keep the event channel drained.
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let plain = modem.ussd("*100#".into()).await.unwrap();
    assert_eq!(
        plain.reply,
        "Your balance is 12.34 EUR, valid until 31.12.2026."
    );
    assert!(!plain.session_open);
    let ucs2 = modem.ussd("*101#".into()).await.unwrap();
    assert_eq!(ucs2.reply, "Ваш баланс: 150,00 ₽");
    // A menu (packed GSM 7-bit hex, as Huawei sticks print it) keeps the session open.
    let menu = modem.ussd("*111#".into()).await.unwrap();
    assert_eq!(menu.reply, "1. Balance\n2. Bundles\n0. Exit");
    assert!(menu.session_open);
    let choice = modem.ussd("2".into()).await.unwrap();
    assert_eq!(choice.reply, "No bundles active.");
    assert!(!choice.session_open);
    let unsupported = modem.ussd("*555#".into()).await.unwrap_err();
    assert!(matches!(unsupported, ModemError::Ussd(_)), "{unsupported}");
    // The network never answers *999#: a second request meanwhile is refused, the first times out.
    let first = {
        let modem = modem.clone();
        tokio::spawn(async move { modem.ussd("*999#".into()).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = modem.ussd("*100#".into()).await.unwrap_err();
    assert!(matches!(second, ModemError::Busy(_)), "{second}");
    let first = first.await.unwrap().unwrap_err();
    assert!(
        matches!(&first, ModemError::Timeout { command, .. } if command.contains("*999#")),
        "{first}"
    );
    // A code that would break the AT command never reaches the modem.
    let bad = modem
        .ussd("*100#\"\r\nAT+CMGD=1,4".into())
        .await
        .unwrap_err();
    assert!(matches!(bad, ModemError::Ussd(_)));
    assert!(!sim
        .commands()
        .iter()
        .any(|c| c.command.contains("CMGD=1,4")));
    // And the session is free again.
    assert!(modem.ussd("*100#".into()).await.is_ok());
    modem.shutdown().await;
    sim.shutdown().await;
}
