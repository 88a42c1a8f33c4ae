//! Modem families on real pseudo-terminals: stable ids learned from the modem (IMEI, else ICCID
//! with each family's command, else the port path) before any message is reported, the same
//! whatever path the modem comes back on; and the guard time only the family that needs it gets.

mod common;

use common::{next_received, pdu, wait_state, WAIT};
use simrelay_modem::sim::{Personality, SimOptions, Simulator};
use simrelay_modem::{spawn, LinkState, ModemConfig, ModemEvent};

const IMEI: &str = "356938035643809";
const ICCID: &str = "8949000000000000001";

fn unnamed(port: &str) -> ModemConfig {
    ModemConfig {
        port: port.to_string(),
        label: Some("Work SIM".into()),
        ..ModemConfig::default()
    }
}

/// Starts a driver with no configured id on `sim`, waits for `Connected` and a drained message,
/// and returns the connected status, every status id seen, and the message's modem id.
async fn learned_id(sim: &Simulator) -> (simrelay_modem::ModemStatus, Vec<String>, String) {
    sim.store(pdu("+4915123456789", "code 111222"));
    let (modem, mut events) = spawn(unnamed(&sim.path().to_string_lossy()));
    let mut ids = Vec::new();
    let (connected, received) = tokio::time::timeout(WAIT, async {
        let mut connected = None;
        loop {
            match events.recv().await.expect("driver stopped") {
                ModemEvent::Status(s) => {
                    ids.push(s.id.clone());
                    if s.state == LinkState::Connected {
                        connected = Some(s);
                    }
                }
                ModemEvent::Received(r) => {
                    if let Some(c) = connected.take() {
                        return (c, r);
                    }
                    panic!("a message before Connected: {r:?}");
                }
                _ => {}
            }
        }
    })
    .await
    .expect("connected and a message in time");
    assert_eq!(modem.id(), connected.id, "the handle knows the learned id");
    assert_eq!(modem.identified().await, connected.id);
    modem.release(&received).await.expect("delete");
    modem.shutdown().await;
    (connected, ids, received.modem)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_personality_is_known_by_its_imei_before_anything_is_reported() {
    for personality in Personality::ALL {
        let sim = Simulator::start(SimOptions {
            personality,
            ..SimOptions::default()
        })
        .await
        .unwrap();
        let (status, ids, message_modem) = learned_id(&sim).await;
        let want = format!("imei:{IMEI}");
        assert_eq!(status.id, want, "{personality:?}");
        // No status ever went out under the provisional (port path) id.
        assert!(ids.iter().all(|id| *id == want), "{personality:?}: {ids:?}");
        assert_eq!(message_modem, want, "{personality:?}");
        assert_eq!(status.imei.as_deref(), Some(IMEI));
        assert_eq!(status.iccid.as_deref(), Some(ICCID), "{personality:?}");
        assert_eq!(status.label.as_deref(), Some("Work SIM"));
        assert_eq!(status.port, sim.path().to_string_lossy());
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_imei_each_family_is_known_by_its_iccid_and_without_either_by_its_port() {
    // Among them Huawei, which prints the ICCID's digits in swapped pairs, and Telit, which
    // answers AT#CCID.
    for personality in Personality::ALL {
        let sim = Simulator::start(SimOptions {
            personality,
            imei: String::new(),
            ..SimOptions::default()
        })
        .await
        .unwrap();
        let (status, _, message_modem) = learned_id(&sim).await;
        assert_eq!(status.id, format!("iccid:{ICCID}"), "{personality:?}");
        assert_eq!(message_modem, status.id);
        assert_eq!(status.imei, None);
        sim.shutdown().await;
    }
    let sim = Simulator::start(SimOptions {
        imei: String::new(),
        iccid: String::new(),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let (status, _, message_modem) = learned_id(&sim).await;
    let path = sim.path().to_string_lossy().into_owned();
    assert_eq!(
        (status.id.as_str(), message_modem.as_str()),
        (path.as_str(), path.as_str())
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modem_back_under_a_new_path_keeps_its_id_and_so_its_dedup_key() {
    let mut sim = Simulator::start(SimOptions::default()).await.unwrap();
    let message = pdu("+4915123456789", "code 333444");
    sim.store(message.clone());
    let first_path = sim.path().to_string_lossy().into_owned();
    let (modem, mut events) = spawn(unnamed(&first_path));
    let before = next_received(&mut events).await;
    modem.shutdown().await;

    // Unplugged and back as another device; the message was never deleted.
    sim.unplug().await;
    // Another device takes the old name meanwhile, as ttyUSB numbers get reused. (Other tests
    // open and close ptys concurrently: take new ones until the old name is taken.)
    let mut squatters = Vec::new();
    for _ in 0..20 {
        let squatter = Simulator::start(SimOptions::default()).await.unwrap();
        let took_it = squatter.path().to_string_lossy() == first_path;
        squatters.push(squatter);
        if took_it {
            break;
        }
    }
    let second_path = sim.replug().await.unwrap().to_string_lossy().into_owned();
    for squatter in squatters {
        squatter.shutdown().await;
    }
    assert_ne!(first_path, second_path);
    let (modem, mut events) = spawn(unnamed(&second_path));
    let (status, mut seen) = wait_state(&mut events, LinkState::Connected).await;
    assert_eq!(status.port, second_path);
    let after = match seen.pop() {
        Some(r) => r,
        None => next_received(&mut events).await,
    };
    assert_eq!(after.modem, before.modem);
    assert_eq!(after.modem, format!("imei:{IMEI}"));
    assert_eq!(
        after.pdu, before.pdu,
        "same modem + same PDU: the engine stores it once"
    );
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_id_wins_and_an_absent_modem_settles_on_its_port() {
    let sim = Simulator::start(SimOptions::default()).await.unwrap();
    let (modem, mut events) = spawn(ModemConfig {
        id: Some("demo".into()),
        ..unnamed(&sim.path().to_string_lossy())
    });
    assert_eq!(modem.identified().await, "demo", "known at once");
    let (status, _) = wait_state(&mut events, LinkState::Connected).await;
    assert_eq!(status.id, "demo");
    assert_eq!(
        status.imei.as_deref(),
        Some(IMEI),
        "still read for the status"
    );
    modem.shutdown().await;
    sim.shutdown().await;

    let (modem, mut events) = spawn(unnamed("/dev/simrelay-no-such-port"));
    let id = tokio::time::timeout(WAIT, modem.identified())
        .await
        .expect("settles after the first failed start-up");
    assert_eq!(id, "/dev/simrelay-no-such-port");
    let (status, _) = wait_state(&mut events, LinkState::Disconnected).await;
    assert_eq!(status.id, id);
    modem.shutdown().await;
}

/// Receives what is stored on `sim` with a driver of no configured guard, releases it, and returns
/// the shortest time the driver let pass between an answer and its next command.
async fn shortest_pause(sim: &Simulator) -> std::time::Duration {
    for i in 0..3 {
        sim.store(pdu("+4915123456789", &format!("code 55566{i}")));
    }
    let (modem, mut events) = spawn(unnamed(&sim.path().to_string_lossy()));
    for _ in 0..3 {
        let received = next_received(&mut events).await;
        modem.release(&received).await.expect("released");
    }
    assert!(sim.stored().is_empty());
    modem.shutdown().await;
    // Once the family is known (after AT+CGMI), each command's pause after the previous answer.
    let commands = sim.commands();
    let known = commands
        .iter()
        .position(|c| c.command == "AT+CGMI")
        .expect("the family was asked")
        + 1;
    commands[known..]
        .iter()
        .filter_map(|c| c.after_output)
        .min()
        .expect("commands after the family was known")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telit_that_misses_hasty_commands_is_served_with_its_family_guard() {
    let sim = Simulator::start(SimOptions {
        personality: Personality::Telit,
        // Commands within 15 ms of the last answer are lost; Telit's manual asks for 20 ms.
        command_gap: Some(std::time::Duration::from_millis(15)),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let pause = shortest_pause(&sim).await;
    assert_eq!(sim.dropped(), 0, "a command came too soon after an answer");
    assert!(pause >= std::time::Duration::from_millis(20), "{pause:?}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sim800l_gets_no_guard_its_manual_does_not_ask_for() {
    let sim = Simulator::start(SimOptions {
        personality: Personality::Sim800l,
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let pause = shortest_pause(&sim).await;
    // Without a guard the next command follows an answer within a fraction of a millisecond; 15 ms
    // leaves a loaded machine plenty of room and is still below the Telit guard.
    assert!(pause < std::time::Duration::from_millis(15), "{pause:?}");
    sim.shutdown().await;
}

/// The guard counts from the previous answer: a message that arrives after a quiet spell is read
/// at once, even on a family that needs a guard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telit_reads_a_waiting_message_without_waiting_out_a_guard() {
    let sim = Simulator::start(SimOptions {
        personality: Personality::Telit,
        refuse_phase2: true,
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let (modem, mut events) = spawn(unnamed(&sim.path().to_string_lossy()));
    wait_state(&mut events, LinkState::Connected).await;
    let mut pauses = Vec::new();
    for i in 0..5 {
        // Quiet for longer than the guard.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let slot = sim.deliver(pdu("+4915123456789", &format!("code 77788{i}")));
        let received = next_received(&mut events).await;
        modem.release(&received).await.unwrap();
        let read = format!("AT+CMGR={slot}");
        let pause = sim
            .commands()
            .iter()
            .rev()
            .find(|c| c.command == read)
            .and_then(|c| c.after_output)
            .expect("the read, after the +CMTI");
        pauses.push(pause);
    }
    let shortest = pauses.iter().min().copied().unwrap();
    assert!(
        shortest < std::time::Duration::from_millis(15),
        "{pauses:?}"
    );
    modem.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_port_families_route_their_unsolicited_codes_to_the_open_port() {
    let routes = ["AT+QURCCFG", "AT+CATR", "AT^PORTSEL"];
    for (personality, want) in [
        (Personality::Ec25, Some(r#"AT+QURCCFG="urcport","usbat""#)),
        (Personality::Sim7600, Some("AT+CATR=0")),
        (Personality::HuaweiE3372, Some("AT^PORTSEL=0")),
        (Personality::Sim800l, None),
        (Personality::Telit, None),
        (Personality::Generic, None),
    ] {
        let sim = Simulator::start(SimOptions {
            personality,
            ..SimOptions::default()
        })
        .await
        .unwrap();
        let (modem, mut events) = spawn(unnamed(&sim.path().to_string_lossy()));
        wait_state(&mut events, LinkState::Connected).await;
        let sent: Vec<String> = sim
            .commands()
            .into_iter()
            .map(|c| c.command)
            .filter(|c| routes.iter().any(|r| c.starts_with(r)))
            .collect();
        assert_eq!(
            sent,
            want.map(str::to_owned).into_iter().collect::<Vec<_>>(),
            "{personality:?}"
        );
        // Before the SIM is unlocked and messages are read: the codes that announce them come here.
        if want.is_some() {
            let position = |prefix: &str| {
                sim.commands()
                    .iter()
                    .position(|c| c.command.starts_with(prefix))
            };
            assert!(position(want.unwrap_or_default()) < position("AT+CPMS"));
        }
        modem.shutdown().await;
        sim.shutdown().await;
    }
}
