//! Helpers shared by the driver tests on real pseudo-terminals.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use chrono::DateTime;
use simrelay_modem::sim::{SimOptions, Simulator};
use simrelay_modem::{
    spawn, LinkState, ModemConfig, ModemEvent, ModemHandle, ModemStatus, Received,
};
use tokio::sync::mpsc::Receiver;

/// Generous: the machine running the tests is shared and slow.
pub const WAIT: Duration = Duration::from_secs(20);

/// A single-part SMS-DELIVER PDU (with SMSC field) from the pdu crate's encoder.
pub fn pdu(sender: &str, text: &str) -> Vec<u8> {
    let ts = DateTime::parse_from_rfc3339("2026-03-04T05:06:07+02:00").unwrap();
    let mut parts = simrelay_pdu::encode_deliver(sender, text, ts);
    assert_eq!(parts.len(), 1);
    parts.remove(0)
}

pub fn config(port: &str) -> ModemConfig {
    ModemConfig {
        port: port.to_string(),
        id: Some("sim0".into()),
        ..ModemConfig::default()
    }
}

/// A modem without phase 2+ (`AT+CSMS=1` refused): messages are stored and announced with
/// `+CMTI`, read with `AT+CMGR` and deleted, as on modems that cannot acknowledge `+CMT`.
pub fn stored_route() -> SimOptions {
    SimOptions {
        refuse_phase2: true,
        ..SimOptions::default()
    }
}

pub fn start_driver(sim: &Simulator) -> (ModemHandle, Receiver<ModemEvent>) {
    spawn(config(&sim.path().to_string_lossy()))
}

/// A driver that sweeps only once an hour, so that only what the modem announces (URCs,
/// indications, a full storage) can bring a message in a test's time.
pub fn start_driver_without_sweeps(sim: &Simulator) -> (ModemHandle, Receiver<ModemEvent>) {
    spawn(ModemConfig {
        sweep_interval: Duration::from_secs(3600),
        ..config(&sim.path().to_string_lossy())
    })
}

/// Polls `done` every few milliseconds until it holds; fails naming `what` after [`WAIT`].
pub async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    tokio::time::timeout(WAIT, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: not in time"));
}

/// The message the driver handed on while connecting (in `seen` from [`wait_state`]), or else
/// the next one.
pub async fn first_received(seen: Vec<Received>, events: &mut Receiver<ModemEvent>) -> Received {
    match seen.into_iter().next() {
        Some(r) => r,
        None => next_received(events).await,
    }
}

/// The next received message; fails on `Failed` status or timeout.
pub async fn next_received(events: &mut Receiver<ModemEvent>) -> Received {
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await.expect("driver stopped") {
                ModemEvent::Received(r) => return r,
                ModemEvent::Status(s) => assert_ne!(s.state, LinkState::Failed, "{s:?}"),
                _ => {}
            }
        }
    })
    .await
    .expect("no message in time")
}

/// Waits for a status with `state`, returning it; messages seen meanwhile are returned too.
pub async fn wait_state(
    events: &mut Receiver<ModemEvent>,
    state: LinkState,
) -> (ModemStatus, Vec<Received>) {
    let mut seen = Vec::new();
    let status = tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await.expect("driver stopped") {
                ModemEvent::Status(s) if s.state == state => return s,
                ModemEvent::Received(r) => seen.push(r),
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("state {state:?} not reached in time"));
    (status, seen)
}
