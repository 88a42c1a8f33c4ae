//! Latency: a message arrives at the simulated modem (it is stored and the modem prints its URC) until the
//! WebSocket client holds the event. One message at a time, after a random pause so that a server that works
//! in periodic ticks is caught at every phase of its tick, not always right after one.

use std::time::{Duration, Instant};

use anyhow::Context;
use rand::Rng;
use serde_json::json;
use simrelay_bench::client::SmsClient;
use simrelay_bench::line::{byte_time, PacedLine};
use simrelay_bench::stats::Summary;
use simrelay_modem::{SimOptions, Simulator};
use simrelay_testkit::pdu::{numbered, numbered_index};
use simrelay_testkit::KitError;

use crate::setup::{ms, path_of, start_server, warm_up, Opts};

pub async fn run(opts: &Opts) -> anyhow::Result<serde_json::Value> {
    let flavor = opts.flavor()?;
    let count = usize::try_from(opts.number("count", 1000)?)?;
    let baud = u32::try_from(opts.number("baud", 0)?)?;
    let gap_us = opts.number("gap-ms", 5)? * 1000;
    let gap_min_us = (opts.number("gap-min-ms", 0)? * 1000).min(gap_us);

    let sim = Simulator::start(SimOptions {
        capacity: 255,
        ..SimOptions::default()
    })
    .await?;
    let line = match baud {
        0 => None,
        baud => Some(PacedLine::start(sim.path(), baud)?),
    };
    let port = line
        .as_ref()
        .map_or_else(|| path_of(&sim), |l| l.path().to_path_buf());
    let server = start_server(
        flavor,
        opts,
        &[port],
        &format!("latency-{}", std::process::id()),
    )
    .await?;
    let mut client = SmsClient::connect(flavor, server.addr, server.token.as_deref()).await?;
    warm_up(&sim, &mut client, 20).await?;

    // Encoding is not part of the path under test: do it before the clock runs.
    let pdus: Vec<Vec<u8>> = (0..count).map(|i| numbered("Lat", i)).collect();
    let mut latencies = Vec::with_capacity(count);
    let mut wire = Vec::new();
    let mut overhead = Vec::new();
    let mut lost = 0;
    for (i, pdu) in pdus.into_iter().enumerate() {
        let pause = rand::rng().random_range(gap_min_us..=gap_us);
        tokio::time::sleep(Duration::from_micros(pause)).await;
        let carried = line.as_ref().map(PacedLine::carried);
        let start = Instant::now();
        sim.deliver(pdu);
        let arrived = loop {
            match client.next_sms_within(Duration::from_secs(10)).await {
                Ok((at, text)) if numbered_index("Lat", &text) == Some(i) => break Some(at),
                Ok(_) => {}
                Err(KitError::Timeout(..)) => break None,
                Err(e) => return Err(e).context("the client lost its connection"),
            }
        };
        let Some(at) = arrived else {
            lost += 1;
            continue;
        };
        let latency = ms(at - start);
        latencies.push(latency);
        if let (Some(line), Some(before)) = (&line, carried) {
            let bytes = line.carried() - before;
            let on_wire = ms(byte_time(baud) * u32::try_from(bytes).unwrap_or(u32::MAX));
            wire.push(on_wire);
            overhead.push(latency - on_wire);
        }
    }
    client.close().await;
    drop(server);
    Ok(json!({
        "scenario": "latency",
        "server": opts.text("server", "simrelay"),
        "baud": baud,
        "messages": count,
        "lost": lost,
        "latency_ms": Summary::of(&latencies),
        "wire_ms": Summary::of(&wire),
        "overhead_ms": Summary::of(&overhead),
    }))
}
