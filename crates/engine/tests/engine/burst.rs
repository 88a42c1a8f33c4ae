//! A burst on the real receive path: a modem that routes every message straight onto the serial line
//! (`+CMT`, as modems without usable storage do, here without phase 2+ acknowledgements) is sent hundreds of
//! messages at once. Ingest commits what queued up together, and still stores each message exactly once, a
//! repeated PDU once, a corrupt PDU raw.

use std::collections::HashSet;
use std::time::Duration;

use simrelay_engine::Config;
use simrelay_modem::sim::Chaos;
use simrelay_modem::{SimOptions, Simulator};
use simrelay_testkit::pdu::{deliver_at, with_bad_timestamp, SENDER};

use crate::common::{self, next_sms};

const BURST: usize = 600;

fn pdu(i: usize) -> Vec<u8> {
    deliver_at(
        SENDER,
        &format!("Burst {i}: code {:06}", i),
        "2026-11-22T09:58:00+01:00",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_is_committed_in_batches_once_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = Simulator::start(SimOptions {
        capacity: u32::try_from(BURST + 10).expect("fits"),
        chaos: Chaos {
            route_directly: true,
            ..Chaos::default()
        },
        // Without phase 2+ nothing waits for an acknowledgement, so the burst queues up at once; in phase 2+
        // the modem hands over one message per AT+CNMA, and there is nothing to batch.
        refuse_phase2: true,
        ..SimOptions::default()
    })
    .await
    .expect("simulator");
    let engine = common::start(Config {
        modems: vec![sim.path().to_string_lossy().into_owned()],
        ..common::config(&dir.path().join("burst.db"))
    })
    .await;
    let mut events = engine.subscribe();

    // One message first, so the modem is configured before the burst.
    sim.deliver(pdu(BURST));
    let mut seen = HashSet::new();
    assert_eq!(
        next_sms(&mut events).await.text,
        format!("Burst {BURST}: code {BURST:06}")
    );

    // A timestamp that is not a date is refused (short user data alone would decode, flagged `truncated`),
    // so this one is stored raw.
    let corrupt = with_bad_timestamp(pdu(BURST + 1));
    for i in 0..BURST {
        sim.deliver(pdu(i));
        if i == BURST / 2 {
            sim.deliver(pdu(0));
            sim.deliver(corrupt.clone());
        }
    }
    let mut raw = 0;
    while seen.len() < BURST || raw == 0 {
        let message = next_sms(&mut events).await;
        if message.decode_error.is_some() {
            raw += 1;
        } else {
            assert!(
                seen.insert(message.text.clone()),
                "published twice: {}",
                message.text
            );
        }
    }
    // Nothing more is coming: the repeated PDU was a duplicate.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(matches!(
        events.try_recv(),
        Err(tokio::sync::broadcast::error::TryRecvError::Empty)
    ));
    assert_eq!(raw, 1);
    let store = engine.store();
    assert_eq!(
        store.count().await.expect("count"),
        i64::try_from(BURST + 2).expect("fits")
    );
    // Messages committed in one transaction share their received_at: fewer commits than messages.
    let page = store.recent(500).await.expect("recent");
    let commits: HashSet<_> = page.iter().map(|m| m.received_at).collect();
    assert!(
        commits.len() < page.len() / 2,
        "{} commits for {} messages: the burst was not batched",
        commits.len(),
        page.len()
    );
    engine.shutdown().await;
}
