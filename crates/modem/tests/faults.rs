//! The driver against misbehaving modems: vendor quirks, lost and misplaced URCs, chopped output,
//! PIN trouble, unplug and replug. All on real pseudo-terminals through tokio-serial.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::{
    config, eventually, first_received, next_received, pdu, start_driver,
    start_driver_without_sweeps, stored_route, wait_state, WAIT,
};
use simrelay_modem::sim::{Chaos, Personality, SimOptions, Simulator};
use simrelay_modem::{
    spawn, LinkState, ModemConfig, ModemError, ModemEvent, ModemStatus, Notice, NoticeKind,
};

/// Receives `n` messages and releases each (delete or acknowledge) after "committing" it, like
/// the engine.
async fn receive_and_release(
    modem: &simrelay_modem::ModemHandle,
    events: &mut tokio::sync::mpsc::Receiver<ModemEvent>,
    n: usize,
) -> HashSet<Vec<u8>> {
    let mut got = HashSet::new();
    while got.len() < n {
        let r = next_received(events).await;
        modem.release(&r).await.unwrap();
        got.insert(r.pdu);
    }
    got
}

/// A send under way: its message references once the modem took every part.
type PendingSend = tokio::task::JoinHandle<Result<Vec<u8>, ModemError>>;

/// Starts sending `text` to `to` without waiting for the modem: the PDUs and the pending send.
fn send_in_background(
    modem: &simrelay_modem::ModemHandle,
    to: &str,
    text: &str,
) -> (Vec<Vec<u8>>, PendingSend) {
    let pdus =
        simrelay_pdu::encode_submit(to, text, &simrelay_pdu::SubmitOptions::default()).unwrap();
    let sender = modem.clone();
    let queued = pdus.clone();
    (pdus, tokio::spawn(async move { sender.send(queued).await }))
}

#[tokio::test]
async fn sim800l_waits_for_sms_ready() {
    let sim = Simulator::start(SimOptions {
        personality: Personality::Sim800l,
        ready_delay: Duration::from_secs(2),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let stored = pdu("+15555550102", "waiting for readiness");
    sim.store(stored.clone());
    let (modem, mut events) = start_driver(&sim);
    let (status, _) = wait_state(&mut events, LinkState::Connected).await;
    assert_eq!(status.model.as_deref(), Some("SIMCOM_SIM800L"));
    assert_eq!(next_received(&mut events).await.pdu, stored);
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn huawei_noise_and_output_in_small_chunks() {
    let sim = Simulator::start(SimOptions {
        personality: Personality::HuaweiE3372,
        chaos: Chaos {
            small_chunks: true,
            noise: true,
            ..Chaos::default()
        },
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let mut expected = HashSet::new();
    for i in 0..3 {
        let p = pdu("+15555550103", &format!("stored {i}"));
        sim.store(p.clone());
        expected.insert(p);
    }
    let (modem, mut events) = start_driver(&sim);
    wait_state(&mut events, LinkState::Connected).await;
    for i in 0..3 {
        let p = pdu("+15555550104", &format!("live {i}"));
        sim.deliver(p.clone());
        expected.insert(p);
    }
    let got = receive_and_release(&modem, &mut events, expected.len()).await;
    assert_eq!(got, expected);
    assert!(sim.stored().is_empty());
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn urcs_inside_responses_are_not_swallowed() {
    let sim = Simulator::start(SimOptions {
        chaos: Chaos {
            urc_inside_responses: true,
            ..Chaos::default()
        },
        ..stored_route()
    })
    .await
    .unwrap();
    // A long sweep interval: only the URCs can bring these messages in time.
    let (modem, mut events) = start_driver_without_sweeps(&sim);
    wait_state(&mut events, LinkState::Connected).await;
    let (p0, p1, p2) = (
        pdu("+15555550105", "hidden 0"),
        pdu("+15555550105", "hidden 1"),
        pdu("+15555550105", "hidden 2"),
    );
    // Both +CMTI are held back and printed inside the answer to the next command.
    sim.deliver(p0.clone());
    sim.deliver(p1.clone());
    modem.delete(30).await.unwrap();
    let r0 = next_received(&mut events).await;
    let r1 = next_received(&mut events).await;
    assert_eq!((&r0.pdu, &r1.pdu), (&p0, &p1));
    sim.deliver(p2.clone());
    modem.delete(r0.slot.unwrap()).await.unwrap();
    let r2 = next_received(&mut events).await;
    assert_eq!(r2.pdu, p2);
    assert!(sim.spliced() >= 2, "the chaos did not happen");
    modem.delete(r1.slot.unwrap()).await.unwrap();
    modem.delete(r2.slot.unwrap()).await.unwrap();
    assert!(sim.stored().is_empty());
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn safety_sweep_finds_messages_whose_urc_was_lost() {
    let sim = Simulator::start(SimOptions {
        chaos: Chaos {
            lose_urcs: true,
            ..Chaos::default()
        },
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let (modem, mut events) = spawn(ModemConfig {
        sweep_interval: Duration::from_millis(300),
        ..config(&sim.path().to_string_lossy())
    });
    wait_state(&mut events, LinkState::Connected).await;
    let lost = pdu("+15555550106", "my URC was lost");
    let slot = sim.deliver(lost.clone());
    let got = next_received(&mut events).await;
    assert_eq!((got.slot, got.pdu), (Some(slot), lost));
    modem.delete(slot).await.unwrap();
    assert!(sim.stored().is_empty());
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn cmt_and_cmti_for_one_message_both_arrive_with_the_same_pdu() {
    let sim = Simulator::start(SimOptions {
        chaos: Chaos {
            cmt_and_cmti: true,
            ..Chaos::default()
        },
        ..stored_route()
    })
    .await
    .unwrap();
    let (modem, mut events) = start_driver(&sim);
    wait_state(&mut events, LinkState::Connected).await;
    let p = pdu("+15555550107", "told twice");
    let slot = sim.deliver(p.clone());
    let a = next_received(&mut events).await;
    let b = next_received(&mut events).await;
    let mut slots = vec![a.slot, b.slot];
    slots.sort();
    assert_eq!(slots, vec![None, Some(slot)]);
    // Same raw PDU: the engine's dedup key (modem + hash of the PDU) stores it once.
    assert_eq!(a.pdu, p);
    assert_eq!(b.pdu, p);
    modem.delete(slot).await.unwrap();
    assert!(sim.stored().is_empty());
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn cmti_for_a_slot_already_gone_is_harmless() {
    let sim = Simulator::start(SimOptions {
        chaos: Chaos {
            urc_inside_responses: true,
            ..Chaos::default()
        },
        ..stored_route()
    })
    .await
    .unwrap();
    let (modem, mut events) = start_driver(&sim);
    wait_state(&mut events, LinkState::Connected).await;
    // After the start-up listing, which would find the message without any URC.
    eventually("the start-up listing", || listings(&sim) > 0).await;
    let errors_before = sim.errors_sent();
    // The +CMTI is held back; the message vanishes before the driver reads it.
    let slot = sim.deliver(pdu("+15555550108", "gone"));
    // As soon as the modem has stored it.
    eventually("stored, then removed", || sim.remove(slot)).await;
    // The held URC is released after 2 s; AT+CMGR then gets +CMS ERROR: 321.
    eventually("the error for the read", || {
        sim.errors_sent() != errors_before
    })
    .await;
    assert_eq!(sim.errors_sent(), errors_before + 1);
    let next = pdu("+15555550108", "still works");
    sim.deliver(next.clone());
    let got = next_received(&mut events).await;
    assert_eq!(got.pdu, next);
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn unplug_and_replug_under_a_new_path_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("modem-by-id");
    let mut sim = Simulator::start(SimOptions {
        link: Some(link.clone()),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let (modem, mut events) = spawn(config(&link.to_string_lossy()));
    wait_state(&mut events, LinkState::Connected).await;

    for round in 0..3 {
        let live = pdu("+15555550109", &format!("before unplug {round}"));
        sim.deliver(live.clone());
        let got = next_received(&mut events).await;
        assert_eq!(got.pdu, live);
        modem.release(&got).await.unwrap();

        sim.unplug().await;
        let (status, _) = wait_state(&mut events, LinkState::Disconnected).await;
        assert!(status.last_error.is_some());
        // While unplugged, requests fail fast instead of hanging.
        assert!(matches!(
            modem.delete(99).await,
            Err(ModemError::Disconnected)
        ));
        // Arrives while the modem is away from the host: stored on the SIM.
        let meanwhile = pdu("+15555550110", &format!("while unplugged {round}"));
        sim.store(meanwhile.clone());
        sim.replug().await.unwrap();

        let (_, seen) = wait_state(&mut events, LinkState::Connected).await;
        let got = first_received(seen, &mut events).await;
        assert_eq!(got.pdu, meanwhile);
        modem.delete(got.slot.unwrap()).await.unwrap();
        assert!(sim.stored().is_empty(), "round {round}");
    }
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn wrong_configured_pin_is_tried_once_then_the_driver_waits_for_the_user() {
    let sim = Simulator::start(SimOptions {
        pin: Some("1234".into()),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let (modem, mut events) = spawn(ModemConfig {
        pin: Some("0000".into()),
        ..config(&sim.path().to_string_lossy())
    });
    let (status, _) = wait_state(&mut events, LinkState::PinRequired).await;
    assert!(
        status.last_error.as_deref().unwrap().contains("PIN"),
        "{status:?}"
    );
    assert_eq!(status.pin_attempts_left, Some(2), "{status:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sim.pin_attempts(), 1);
    assert_eq!(sim.pin_left(), 2);
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn right_pin_unlocks_and_missing_pin_waits_for_the_user() {
    let sim = Simulator::start(SimOptions {
        pin: Some("1234".into()),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let (modem, mut events) = spawn(ModemConfig {
        pin: None,
        ..config(&sim.path().to_string_lossy())
    });
    let (status, _) = wait_state(&mut events, LinkState::PinRequired).await;
    assert_eq!(status.pin_attempts_left, Some(3), "{status:?}");
    assert!(status.last_error.unwrap().contains("[modem_pins]"));
    assert_eq!(sim.pin_attempts(), 0);
    modem.shutdown().await;

    let (modem, mut events) = spawn(ModemConfig {
        pin: Some("1234".into()),
        ..config(&sim.path().to_string_lossy())
    });
    wait_state(&mut events, LinkState::Connected).await;
    assert_eq!(sim.pin_attempts(), 1);
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn modems_without_cpinr_tell_the_tries_left_with_their_vendor_command() {
    // The simulated SIM800L, E3372 and EC25 refuse AT+CPINR, as many real ones do.
    for (personality, counter) in [
        (Personality::Sim800l, "AT+SPIC"),
        (Personality::HuaweiE3372, "AT^CPIN?"),
        (Personality::Ec25, "AT+QPINC=\"SC\""),
    ] {
        let sim = Simulator::start(SimOptions {
            personality,
            pin: Some("1234".into()),
            ..SimOptions::default()
        })
        .await
        .unwrap();
        let (modem, mut events) = spawn(config(&sim.path().to_string_lossy()));
        let (status, _) = wait_state(&mut events, LinkState::PinRequired).await;
        assert_eq!(
            status.pin_attempts_left,
            Some(3),
            "{personality:?} {status:?}"
        );
        let sent: Vec<String> = sim.commands().into_iter().map(|c| c.command).collect();
        assert!(
            sent.iter().any(|c| c == counter),
            "{personality:?} never asked {counter}: {sent:?}"
        );
        assert!(
            !sent.iter().any(|c| c == "AT+CPINR"),
            "{personality:?}: its own command answered, so AT+CPINR is not needed: {sent:?}"
        );

        use_up_pin_tries(&modem, &format!("{personality:?}")).await;
        let (status, _) = wait_state(&mut events, LinkState::PukRequired).await;
        assert_eq!(
            status.pin_attempts_left,
            Some(10),
            "{personality:?} {status:?}"
        );
        assert_eq!(sim.pin_attempts(), 3, "{personality:?}");
        modem.shutdown().await;
        sim.shutdown().await;
    }
}

/// Enters a wrong PIN three times, each refused with one try fewer left, which leaves the SIM to
/// its PUK; `context` names the case in a failure.
async fn use_up_pin_tries(modem: &simrelay_modem::ModemHandle, context: &str) {
    for left in [2, 1, 0] {
        let err = modem.enter_pin("9999".into()).await.unwrap_err();
        assert!(
            matches!(err, ModemError::PinRejected { attempts_left: Some(l) } if l == left),
            "{context} {err:?}"
        );
    }
}

#[tokio::test]
async fn sending_returns_message_references() {
    let sim = Simulator::start(SimOptions::default()).await.unwrap();
    let (modem, mut events) = start_driver(&sim);
    wait_state(&mut events, LinkState::Connected).await;
    let long = "This reply is long enough to need two parts. ".repeat(5);
    let pdus = simrelay_pdu::encode_submit(
        "+15555550111",
        &long,
        &simrelay_pdu::SubmitOptions::default(),
    )
    .unwrap();
    assert!(pdus.len() > 1);
    let refs = modem.send(pdus.clone()).await.unwrap();
    assert_eq!(refs.len(), pdus.len());
    assert_ne!(refs[0], refs[1]);
    assert_eq!(sim.sent(), pdus);
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn an_undecodable_pdu_is_handed_on_raw() {
    let sim = Simulator::start(SimOptions::default()).await.unwrap();
    let junk = vec![0x00, 0xFF, 0x13, 0x37];
    sim.store(junk.clone());
    let (modem, mut events) = start_driver(&sim);
    let got = tokio::time::timeout(WAIT, next_received(&mut events))
        .await
        .unwrap();
    assert_eq!(got.pdu, junk);
    modem.delete(got.slot.unwrap()).await.unwrap();
    assert!(sim.stored().is_empty());
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_send_while_unplugged_waits_for_the_modem_to_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("modem-by-id");
    let mut sim = Simulator::start(SimOptions {
        link: Some(link.clone()),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let (modem, mut events) = spawn(config(&link.to_string_lossy()));
    wait_state(&mut events, LinkState::Connected).await;
    sim.unplug().await;
    wait_state(&mut events, LinkState::Disconnected).await;

    let (pdus, send) = send_in_background(&modem, "+15555550112", "sent while unplugged");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!send.is_finished());
    assert!(sim.sent().is_empty());

    sim.replug().await.unwrap();
    let refs = tokio::time::timeout(WAIT, send)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(sim.sent(), pdus);
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn status_report_urc_and_garbage_between_messages() {
    let sim = Simulator::start(SimOptions::default()).await.unwrap();
    let (modem, mut events) = start_driver(&sim);
    wait_state(&mut events, LinkState::Connected).await;
    // Line noise, an over-long line, vendor noise, a RING, then a +CDS status report.
    sim.inject(b"\x00\xff\x01\x02junk\r\n");
    sim.inject(&[b'7'; 5000]);
    sim.inject(b"\r\n^BOOT:123,0,0,0,6\r\nRING\r\n");
    let report = "0006D60B911326880736F4111011719551401110117195714000";
    sim.inject(format!("\r\n+CDS: 25\r\n{report}\r\n").as_bytes());
    let got = next_received(&mut events).await;
    assert_eq!(got.slot, None);
    assert_eq!(got.pdu, hex_decode(report));
    // The driver is still in step: a normal message arrives and is released.
    let p = pdu("+15555550113", "after the noise");
    sim.deliver(p.clone());
    let got = next_received(&mut events).await;
    assert_eq!(got.pdu, p);
    modem.release(&got).await.unwrap();
    assert!(sim.stored().is_empty());
    modem.shutdown().await;
    sim.shutdown().await;
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test]
async fn sim_full_notice_triggers_a_drain() {
    let sim = Simulator::start(SimOptions {
        chaos: Chaos {
            lose_urcs: true,
            ..Chaos::default()
        },
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let (modem, mut events) = start_driver_without_sweeps(&sim);
    wait_state(&mut events, LinkState::Connected).await;
    let p = pdu("+15555550114", "the SIM is full now");
    sim.deliver(p.clone());
    sim.inject(b"\r\n^SMMEMFULL: \"SM\"\r\n");
    let got = next_received(&mut events).await;
    assert_eq!(got.pdu, p);
    modem.shutdown().await;
    sim.shutdown().await;
}

/// Plays the engine until `wanted` different messages came: releases each after its "commit",
/// counts how often each PDU was handed on, keeps the statuses seen. Then waits until `done`
/// says the modem is empty, and a little longer for any message handed on twice.
async fn commit_all(
    modem: &simrelay_modem::ModemHandle,
    events: &mut tokio::sync::mpsc::Receiver<ModemEvent>,
    wanted: usize,
    done: impl Fn() -> bool,
) -> (HashMap<Vec<u8>, usize>, Vec<ModemStatus>) {
    let mut counts: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut statuses = Vec::new();
    let handle = |event: ModemEvent,
                  counts: &mut HashMap<Vec<u8>, usize>,
                  statuses: &mut Vec<ModemStatus>| match event {
        ModemEvent::Received(r) => {
            *counts.entry(r.pdu.clone()).or_default() += 1;
            Some(r)
        }
        ModemEvent::Status(s) => {
            assert_ne!(s.state, LinkState::Failed, "{s:?}");
            statuses.push(s);
            None
        }
        _ => None,
    };
    let deadline = tokio::time::Instant::now() + WAIT * 3;
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("every message in time")
            .expect("driver running");
        if let Some(r) = handle(event, &mut counts, &mut statuses) {
            modem.release(&r).await.unwrap();
        }
        if counts.len() >= wanted {
            break;
        }
    }
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the modem was not emptied"
        );
        if let Ok(Some(event)) =
            tokio::time::timeout(Duration::from_millis(50), events.recv()).await
        {
            if let Some(r) = handle(event, &mut counts, &mut statuses) {
                modem.release(&r).await.unwrap();
            }
        }
    }
    // A message handed on twice would come now.
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(700), events.recv()).await
    {
        if let Some(r) = handle(event, &mut counts, &mut statuses) {
            modem.release(&r).await.unwrap();
        }
    }
    (counts, statuses)
}

/// Stores `n` different messages from `sender` on the modem as if they arrived while nobody
/// listened (each must find a slot), returning their PDUs.
fn store_messages(sim: &Simulator, n: usize, sender: &str, text: &str) -> Vec<Vec<u8>> {
    let pdus: Vec<Vec<u8>> = (0..n)
        .map(|i| pdu(sender, &format!("{text} {i}")))
        .collect();
    for p in &pdus {
        assert_ne!(sim.store(p.clone()), 0, "no free slot for {text} …");
    }
    pdus
}

/// How often the driver listed every message (`AT+CMGL=4`): the start-up and each sweep.
fn listings(sim: &Simulator) -> usize {
    sim.commands()
        .iter()
        .filter(|c| c.command == "AT+CMGL=4")
        .count()
}

#[tokio::test]
async fn a_full_sim_is_drained_and_a_burst_of_sixty_arrives_once_each() {
    // A 30-slot SIM with 20 messages on it at start, no memory of the modem's own, messages
    // stored and announced: the burst fills the SIM, the modem says so (`+CIEV: 5,1`, the
    // `smsfull` indicator) and the network keeps what did not fit until slots are freed.
    let sim = Simulator::start(SimOptions {
        capacity: 30,
        ..stored_route()
    })
    .await
    .unwrap();
    let before = store_messages(&sim, 20, "+15555550120", "on the SIM before");
    // Only the full storage may cause a listing after the start-up one.
    let (modem, mut events) = start_driver_without_sweeps(&sim);
    let (_, seen) = wait_state(&mut events, LinkState::Connected).await;
    assert!(seen.is_empty());
    let burst: Vec<Vec<u8>> = (0..60)
        .map(|i| pdu("+15555550121", &format!("burst {i}")))
        .collect();
    let refused = burst
        .iter()
        .filter(|p| sim.deliver((*p).clone()) == 0)
        .count();
    assert!(refused >= 30, "the SIM filled: {refused} refused");
    let (counts, statuses) = commit_all(&modem, &mut events, 80, || {
        sim.stored().is_empty() && sim.held_by_network() == 0
    })
    .await;
    let expected: HashSet<Vec<u8>> = before.iter().chain(&burst).cloned().collect();
    assert_eq!(counts.keys().cloned().collect::<HashSet<_>>(), expected);
    let twice: Vec<usize> = counts.values().copied().filter(|n| *n != 1).collect();
    assert!(twice.is_empty(), "handed on more than once: {twice:?}");
    assert!(
        listings(&sim) >= 2,
        "the full SIM was listed besides the start-up listing"
    );
    assert!(
        statuses.iter().any(|s| s
            .storage_warning
            .as_deref()
            .is_some_and(|w| w.contains("full"))),
        "the status warned of the full SIM"
    );
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn the_modems_own_memory_is_preferred_and_the_sim_is_drained_too() {
    let sim = Simulator::start(SimOptions {
        capacity: 30,
        me_capacity: 100,
        ..stored_route()
    })
    .await
    .unwrap();
    let before = store_messages(&sim, 20, "+15555550122", "left on the SIM");
    let (modem, mut events) = start_driver_without_sweeps(&sim);
    let (_, seen) = wait_state(&mut events, LinkState::Connected).await;
    assert!(seen.is_empty());
    let burst: Vec<Vec<u8>> = (0..60)
        .map(|i| pdu("+15555550123", &format!("into the modem {i}")))
        .collect();
    for p in &burst {
        assert_ne!(sim.deliver(p.clone()), 0, "the modem's memory has room");
    }
    let (counts, statuses) = commit_all(&modem, &mut events, 80, || sim.stored().is_empty()).await;
    let expected: HashSet<Vec<u8>> = before.iter().chain(&burst).cloned().collect();
    assert_eq!(counts.keys().cloned().collect::<HashSet<_>>(), expected);
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    let commands: Vec<String> = sim.commands().into_iter().map(|c| c.command).collect();
    assert!(
        commands.iter().any(|c| c == "AT+CPMS=\"ME\",\"ME\",\"ME\""),
        "{commands:?}"
    );
    assert!(
        commands.iter().any(|c| c == "AT+CPMS=\"SM\""),
        "the SIM is listed too"
    );
    // Both storages are in the status, the SIM's with its 30 slots.
    let last = statuses.last().expect("a status");
    let memories: Vec<(String, u32)> = last
        .storages
        .iter()
        .map(|s| (s.memory.clone(), s.total))
        .collect();
    assert!(memories.contains(&("ME".into(), 100)), "{memories:?}");
    assert!(memories.contains(&("SM".into(), 30)), "{memories:?}");
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_sim_near_full_is_shown_until_it_is_freed() {
    let sim = Simulator::start(SimOptions {
        capacity: 30,
        ..stored_route()
    })
    .await
    .unwrap();
    store_messages(&sim, 25, "+15555550124", "nearly full");
    let (modem, mut events) = start_driver_without_sweeps(&sim);
    let (_, statuses) = commit_all(&modem, &mut events, 25, || sim.stored().is_empty()).await;
    let warned = statuses
        .iter()
        .position(|s| s.storage_warning.is_some())
        .expect("a near-full warning");
    let warning = statuses[warned].storage_warning.clone().unwrap();
    assert!(warning.contains("83 % full (25 of 30)"), "{warning}");
    assert_eq!(statuses[warned].storage, Some((25, 30)));
    let last = statuses.last().unwrap();
    assert_eq!(last.storage_warning, None, "cleared once freed: {last:?}");
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn cnmi_falls_back_per_personality_and_messages_still_arrive() {
    // SIM7600 says in AT+CNMI=? that it lacks ds=2; EC25 does not answer AT+CNMI=? at all and
    // refuses ds=2 when asked: the driver must land on ds=1 either way, on the direct route
    // (2,2,0,1,0) and, without phase 2+, on the stored one (2,1,0,1,0).
    for personality in [Personality::Sim7600, Personality::Ec25] {
        for refuse_phase2 in [false, true] {
            let sim = Simulator::start(SimOptions {
                personality,
                ready_delay: Duration::from_millis(300),
                refuse_phase2,
                ..SimOptions::default()
            })
            .await
            .unwrap();
            let (modem, mut events) = start_driver(&sim);
            let (status, _) = wait_state(&mut events, LinkState::Connected).await;
            let expected = if refuse_phase2 {
                "2,1,0,1,0"
            } else {
                "2,2,0,1,0"
            };
            assert_eq!(sim.cnmi().as_deref(), Some(expected), "{personality:?}");
            assert!(status.model.is_some());
            let p = pdu("+15555550115", "after the fallback");
            let slot = sim.deliver(p.clone());
            let got = next_received(&mut events).await;
            let expected_slot = refuse_phase2.then_some(slot);
            assert_eq!((got.slot, got.pdu.clone()), (expected_slot, p));
            modem.release(&got).await.unwrap();
            assert!(sim.stored().is_empty());
            modem.shutdown().await;
            sim.shutdown().await;
        }
    }
}

/// Timeouts short enough for a test, long enough for a loaded machine: a hang is told from a
/// slow answer by two unanswered `AT`s of 300 ms each.
fn short_timeouts() -> simrelay_modem::Timeouts {
    simrelay_modem::Timeouts {
        quick: Duration::from_millis(500),
        slot: Duration::from_millis(500),
        list: Duration::from_millis(800),
        health: Duration::from_millis(300),
        ..simrelay_modem::Timeouts::default()
    }
}

/// Waits for a notice of `kind`, returning it and the statuses seen meanwhile.
async fn wait_notice(
    events: &mut tokio::sync::mpsc::Receiver<ModemEvent>,
    kind: NoticeKind,
) -> (Notice, Vec<ModemStatus>) {
    let mut statuses = Vec::new();
    let notice = tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await.expect("driver stopped") {
                ModemEvent::Notice(n) if n.kind == kind => return n,
                ModemEvent::Status(s) => statuses.push(s),
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {kind:?} notice in time"));
    (notice, statuses)
}

fn count(sim: &Simulator, command: &str) -> usize {
    sim.commands()
        .iter()
        .filter(|c| c.command.starts_with(command))
        .count()
}

#[tokio::test]
async fn a_hung_modem_is_reset_with_its_familys_command_and_loses_nothing() {
    // A SIM800L (SIMCom 2G) documents AT+CFUN=1,1; the simulated hang lets it through.
    let sim = Simulator::start(SimOptions {
        personality: Personality::Sim800l,
        ..stored_route()
    })
    .await
    .unwrap();
    let (modem, mut events) = spawn(ModemConfig {
        sweep_interval: Duration::from_millis(300),
        timeouts: short_timeouts(),
        ..config(&sim.path().to_string_lossy())
    });
    wait_state(&mut events, LinkState::Connected).await;
    sim.hang(true);
    let stored = pdu("+15555550125", "arrived while the modem hung");
    sim.store(stored.clone());
    let (notice, _) = wait_notice(&mut events, NoticeKind::Reset).await;
    assert!(
        notice.detail.contains("did not answer AT"),
        "{}",
        notice.detail
    );
    assert!(notice.detail.contains("AT+CFUN=1,1"), "{}", notice.detail);
    let (status, _) = wait_state(&mut events, LinkState::Disconnected).await;
    assert!(status.last_error.unwrap().contains("did not answer AT"));
    assert!(count(&sim, "AT+CFUN=1,1") >= 1);
    let (status, seen) = wait_state(&mut events, LinkState::Connected).await;
    assert_eq!(status.resets, 1);
    assert!(status.last_reset.unwrap().contains("AT+CFUN=1,1"));
    let got = first_received(seen, &mut events).await;
    assert_eq!(got.pdu, stored);
    modem.release(&got).await.unwrap();
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_modem_that_answers_at_again_is_not_reset() {
    // Silent for 3 s: a listing goes unanswered, but one of the two `AT`s (5 s each, the
    // default) is answered, so the session goes on without a reset.
    let sim = Simulator::start(stored_route()).await.unwrap();
    let (modem, mut events) = spawn(ModemConfig {
        sweep_interval: Duration::from_millis(300),
        timeouts: simrelay_modem::Timeouts {
            health: Duration::from_secs(5),
            ..short_timeouts()
        },
        ..config(&sim.path().to_string_lossy())
    });
    wait_state(&mut events, LinkState::Connected).await;
    sim.set_mute(true);
    tokio::time::sleep(Duration::from_secs(3)).await;
    sim.set_mute(false);
    let status = tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await.expect("driver running") {
                ModemEvent::Status(s) if s.last_error.is_some() => return s,
                ModemEvent::Notice(n) => assert_ne!(n.kind, NoticeKind::Reset, "{n:?}"),
                _ => {}
            }
        }
    })
    .await
    .expect("the unanswered listing is reported");
    assert_eq!(status.state, LinkState::Connected, "{status:?}");
    assert_eq!(status.resets, 0);
    let p = pdu("+15555550126", "after a silent moment");
    sim.deliver(p.clone());
    let got = next_received(&mut events).await;
    assert_eq!(got.pdu, p);
    modem.release(&got).await.unwrap();
    assert_eq!(count(&sim, "AT+CFUN"), 0);
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_modem_that_restarts_on_its_own_is_set_up_again() {
    let sim = Simulator::start(stored_route()).await.unwrap();
    // Only the new indications can bring the message in time.
    let (modem, mut events) = start_driver_without_sweeps(&sim);
    wait_state(&mut events, LinkState::Connected).await;
    let cnmi_before = count(&sim, "AT+CNMI=");
    let echo_off_before = count(&sim, "ATE0");
    sim.reboot();
    let (notice, _) = wait_notice(&mut events, NoticeKind::Restarted).await;
    assert!(
        notice.detail.contains("restarted on its own"),
        "{}",
        notice.detail
    );
    assert!(count(&sim, "AT+CNMI=") > cnmi_before);
    assert!(count(&sim, "ATE0") > echo_off_before);
    let p = pdu("+15555550127", "after the restart");
    sim.deliver(p.clone());
    let got = next_received(&mut events).await;
    assert_eq!(got.pdu, p);
    modem.release(&got).await.unwrap();
    // The same boot lines after the driver's own start-up change nothing.
    let cnmi_after = count(&sim, "AT+CNMI=");
    sim.inject(b"\r\nSMS Ready\r\n");
    eventually("the settings were checked", || count(&sim, "AT+CNMI?") >= 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(count(&sim, "AT+CNMI="), cnmi_after);
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn registration_lost_and_regained_are_notices() {
    let sim = Simulator::start(SimOptions::default()).await.unwrap();
    let (modem, mut events) = start_driver(&sim);
    wait_state(&mut events, LinkState::Connected).await;
    sim.set_registration(2);
    let (lost, _) = wait_notice(&mut events, NoticeKind::RegistrationLost).await;
    assert!(lost.detail.contains("searching"), "{}", lost.detail);
    assert_eq!(lost.modem, "sim0");
    sim.set_registration(5);
    let (back, _) = wait_notice(&mut events, NoticeKind::RegistrationRegained).await;
    assert!(back.detail.contains("roaming"), "{}", back.detail);
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_hung_modem_is_reinitialised_and_queued_sends_survive() {
    let sim = Simulator::start(SimOptions::default()).await.unwrap();
    let (modem, mut events) = spawn(ModemConfig {
        sweep_interval: Duration::from_millis(300),
        timeouts: short_timeouts(),
        ..config(&sim.path().to_string_lossy())
    });
    wait_state(&mut events, LinkState::Connected).await;
    sim.set_mute(true);
    // The next sweep times out, AT goes unanswered twice: the driver closes and reopens the port
    // (a plain TS 27.005 modem has no reset command it could trust).
    let (status, _) = wait_state(&mut events, LinkState::Disconnected).await;
    let reason = status.last_error.unwrap();
    assert!(reason.contains("did not answer"), "{reason}");
    assert!(reason.contains("closed and reopened the port"), "{reason}");
    assert_eq!(status.resets, 1);
    // Reopening works (the pty is there) but the modem does not answer AT: still no connection.
    let (status, _) = wait_state(&mut events, LinkState::Disconnected).await;
    assert!(status.last_error.is_some());

    let (pdus, send) = send_in_background(&modem, "+15555550116", "queued during a hang");
    let stored = pdu("+15555550116", "arrived during the hang");
    sim.store(stored.clone());

    sim.set_mute(false);
    let (status, seen) = wait_state(&mut events, LinkState::Connected).await;
    assert!(status
        .last_reset
        .is_some_and(|r| r.contains("reopened the port")));
    assert_eq!(count(&sim, "AT+CFUN"), 0);
    let got = first_received(seen, &mut events).await;
    assert_eq!(got.pdu, stored);
    let refs = tokio::time::timeout(WAIT, send)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(sim.sent(), pdus);
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_modem_left_waiting_for_a_pdu_is_brought_back_with_esc() {
    use tokio::io::AsyncWriteExt;
    use tokio_serial::SerialPortBuilderExt;

    let sim = Simulator::start(SimOptions::default()).await.unwrap();
    // A previous program started a send and died before Ctrl-Z.
    {
        let mut port = tokio_serial::new(sim.path().to_string_lossy(), 115_200)
            .open_native_async()
            .unwrap();
        port.write_all(b"ATE0\rAT+CMGF=0\rAT+CMGS=20\r0011000B91")
            .await
            .unwrap();
        port.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let p = pdu("+15555550117", "after the stuck prompt");
    sim.store(p.clone());
    let (modem, mut events) = start_driver(&sim);
    assert_eq!(next_received(&mut events).await.pdu, p);
    assert!(sim.sent().is_empty(), "the half-typed PDU was not sent");
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_different_modem_on_the_same_path_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("modem-by-id");
    let first = Simulator::start(SimOptions {
        link: Some(link.clone()),
        imei: "111111111111111".into(),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let (modem, mut events) = spawn(config(&link.to_string_lossy()));
    let (status, _) = wait_state(&mut events, LinkState::Connected).await;
    assert_eq!(status.imei.as_deref(), Some("111111111111111"));
    first.unplug().await;
    wait_state(&mut events, LinkState::Disconnected).await;
    let second = Simulator::start(SimOptions {
        link: Some(link.clone()),
        imei: "222222222222222".into(),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let (status, _) = wait_state(&mut events, LinkState::Connected).await;
    assert_eq!(status.imei.as_deref(), Some("222222222222222"));
    assert!(
        status.last_error.unwrap().contains("different modem"),
        "the swap is reported"
    );
    modem.shutdown().await;
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test]
async fn sweeps_back_off_but_odd_lines_on_the_port_bring_them_back_at_once() {
    let sim = Simulator::start(SimOptions {
        chaos: Chaos {
            lose_urcs: true,
            ..Chaos::default()
        },
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let (modem, mut events) = spawn(ModemConfig {
        sweep_interval: Duration::from_millis(400),
        ..config(&sim.path().to_string_lossy())
    });
    wait_state(&mut events, LinkState::Connected).await;
    // The start-up listing, then sweeps 0.4, 0.8, 1.6 and 3.2 s apart: the next is 6.4 s away.
    eventually("sweeps", || listings(&sim) >= 5).await;
    let lost = pdu("+15555550118", "my URC was lost on a noisy line");
    sim.deliver(lost.clone());
    sim.inject(b"\r\n+CM\x01\x02I: \"SM\",1\r\n");
    let started = std::time::Instant::now();
    let got = next_received(&mut events).await;
    assert_eq!(got.pdu, lost);
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(4), "{waited:?}");
    modem.release(&got).await.unwrap();
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_pin_from_the_user_is_tried_once_and_unlocks() {
    let sim = Simulator::start(SimOptions {
        pin: Some("1234".into()),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let stored = pdu("+15555550103", "behind the PIN");
    sim.store(stored.clone());
    let (modem, mut events) = spawn(config(&sim.path().to_string_lossy()));
    wait_state(&mut events, LinkState::PinRequired).await;

    let wrong = modem.enter_pin("0000".into()).await.unwrap_err();
    assert!(
        matches!(
            wrong,
            ModemError::PinRejected {
                attempts_left: Some(2)
            }
        ),
        "{wrong:?}"
    );
    assert!(wrong.to_string().contains("2 attempts left"), "{wrong}");
    let (status, _) = wait_state(&mut events, LinkState::PinRequired).await;
    assert_eq!(status.pin_attempts_left, Some(2), "{status:?}");
    // Never retried on its own: the count stays at the user's one try.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sim.pin_attempts(), 1);

    modem.enter_pin("1234".into()).await.unwrap();
    let (status, _) = wait_state(&mut events, LinkState::Connected).await;
    assert_eq!(status.pin_attempts_left, None, "{status:?}");
    assert_eq!(sim.pin_attempts(), 2);
    assert_eq!(sim.pin_left(), 3, "a right PIN resets the SIM's counter");
    assert_eq!(next_received(&mut events).await.pdu, stored);
    let again = modem.enter_pin("1234".into()).await.unwrap_err();
    assert!(matches!(again, ModemError::Pin(_)), "{again:?}");
    assert_eq!(sim.pin_attempts(), 2, "an unlocked SIM is not sent a PIN");
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn three_wrong_pins_leave_the_sim_to_its_puk_which_is_explained_not_tried() {
    let sim = Simulator::start(SimOptions {
        pin: Some("1234".into()),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let (modem, mut events) = spawn(config(&sim.path().to_string_lossy()));
    wait_state(&mut events, LinkState::PinRequired).await;
    use_up_pin_tries(&modem, "").await;
    let (status, _) = wait_state(&mut events, LinkState::PukRequired).await;
    assert!(
        status.last_error.as_deref().unwrap().contains("PUK"),
        "{status:?}"
    );
    assert_eq!(status.pin_attempts_left, Some(10), "{status:?}");
    let puk = modem.enter_pin("1234".into()).await.unwrap_err();
    assert!(puk.to_string().contains("phone"), "{puk}");
    assert_eq!(
        sim.pin_attempts(),
        3,
        "nothing is sent to a SIM that wants its PUK"
    );
    modem.shutdown().await;
    sim.shutdown().await;
}
