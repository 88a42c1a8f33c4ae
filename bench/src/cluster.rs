//! Cluster latency: from a message arriving at a simulated modem of node A until a WebSocket client of node B
//! holds its event. Two `simrelay serve` processes share one PostgreSQL database (a server this process starts,
//! see [`Database`]); A drives the modem and commits, the commit's trigger notifies, and B reads the row and
//! publishes it. A client of A times the same messages, so the report shows what the hop between nodes adds.
//!
//! Messages arrive on their own schedule (open loop), gaps drawn uniformly from 0 to `--gap-ms` (400), `--count`
//! (500) of them; one with no event on B within 10 s counts as lost.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::Rng;
use serde_json::json;
use simrelay_bench::client::{Flavor, SmsClient};
use simrelay_bench::stats::Summary;
use simrelay_modem::{SimOptions, Simulator};
use simrelay_testkit::pdu::{numbered, numbered_index};
use simrelay_testkit::KitError;

use crate::setup::{ms, path_of, start_node, warm_up, Database, Opts};

/// How long a message may take before it counts as lost.
const LOST_AFTER: Duration = Duration::from_secs(10);

/// The series of the timed messages.
const SERIES: &str = "Node";

pub async fn run(opts: &Opts) -> anyhow::Result<serde_json::Value> {
    let count = usize::try_from(opts.number("count", 500)?)?;
    let gap = Duration::from_millis(opts.number("gap-ms", 400)?);
    let database = Database::postgres()?;
    let url = database.url().context("a PostgreSQL database")?;
    let tag = format!("cluster-{}", std::process::id());
    let sim = Simulator::start(SimOptions {
        capacity: 255,
        ..SimOptions::default()
    })
    .await?;
    let b = start_node(opts, &[], &format!("{tag}-b"), Some(url), Some("b")).await?;
    let a = start_node(
        opts,
        &[path_of(&sim)],
        &format!("{tag}-a"),
        Some(url),
        Some("a"),
    )
    .await?;
    let mut on_b = SmsClient::connect(Flavor::SimRelay, b.addr, b.token.as_deref()).await?;
    // Through both nodes before anything is timed; A's client connects after, so it sees no warm-up message.
    warm_up(&sim, &mut on_b, 2).await?;
    let on_a = SmsClient::connect(Flavor::SimRelay, a.addr, a.token.as_deref()).await?;

    let deadline = Instant::now() + gap * u32::try_from(count)? + LOST_AFTER;
    let collect = |mut client: SmsClient| {
        tokio::spawn(async move {
            let mut seen: HashMap<usize, Instant> = HashMap::new();
            while seen.len() < count {
                let left = deadline.saturating_duration_since(Instant::now());
                match client.next_sms_within(left).await {
                    Ok((at, text)) => {
                        if let Some(i) = numbered_index(SERIES, &text) {
                            seen.entry(i).or_insert(at);
                        }
                    }
                    Err(KitError::Timeout(..)) => break,
                    Err(e) => return Err(anyhow::Error::from(e)),
                }
            }
            client.close().await;
            Ok(seen)
        })
    };
    let (at_b, at_a) = (collect(on_b), collect(on_a));
    let mut sent = Vec::with_capacity(count);
    let start = Instant::now();
    for i in 0..count {
        sent.push(Instant::now());
        sim.deliver(numbered(SERIES, i));
        let pause = gap.mul_f64(rand::rng().random_range(0.0..=1.0));
        tokio::time::sleep(pause).await;
    }
    let seconds = start.elapsed().as_secs_f64();
    let at_b = at_b.await??;
    let at_a = at_a.await??;
    let latencies = |seen: &HashMap<usize, Instant>| -> (Vec<f64>, usize) {
        let mut timed = Vec::new();
        let mut lost = 0;
        for (i, sent) in sent.iter().enumerate() {
            match seen.get(&i).map(|at| at.saturating_duration_since(*sent)) {
                Some(took) if took <= LOST_AFTER => timed.push(ms(took)),
                _ => lost += 1,
            }
        }
        (timed, lost)
    };
    let (b_ms, lost_b) = latencies(&at_b);
    let (a_ms, lost_a) = latencies(&at_a);
    drop(a);
    drop(b);
    Ok(json!({
        "scenario": "cluster-latency",
        "messages": count,
        "seconds": seconds,
        "node_b_ms": Summary::of(&b_ms),
        "lost": lost_b,
        "node_a_ms": Summary::of(&a_ms),
        "lost_on_a": lost_a,
    }))
}
