//! Issue #19's figures.
//!
//! - `mqtt-latency`: a message arrives at the simulated modem until an MQTT subscriber (of a real Mosquitto on
//!   loopback) holds it on `simrelay/<modem>/sms`; the WebSocket client's time for the same message is measured
//!   beside it. One message at a time after a random pause, like `latency`.
//! - `webhooks`: the outbox against a slow receiver (`--delay-ms` per request, default 1,000 ms). A burst of
//!   `--burst` messages is received first (and deleted from the SIM), then `--count` messages are timed modem →
//!   WebSocket client while the burst's deliveries drain; the receiver's delivery rate is the throughput. `--forward false` runs the same
//!   without any forwarder, the control: ingest latency should not change.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::Rng;
use serde_json::json;
use simrelay_bench::client::{Flavor, SmsClient};
use simrelay_bench::stats::Summary;
use simrelay_modem::{SimOptions, Simulator};
use simrelay_testkit::mqtt::{Mosquitto, Subscriber};
use simrelay_testkit::pdu::{numbered, numbered_index};
use simrelay_testkit::receiver::Receiver;
use simrelay_testkit::KitError;

use crate::setup::{ms, path_of, start_server, warm_up, Opts};

/// The value of `series` (its exact name and labels) in a metrics text.
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Writes the `config.toml` of the server started under `tag`.
fn write_config(opts: &Opts, tag: &str, text: &str) -> anyhow::Result<()> {
    let home = opts.work.join(tag);
    std::fs::create_dir_all(&home).with_context(|| format!("cannot create {}", home.display()))?;
    std::fs::write(home.join("config.toml"), text).context("cannot write config.toml")
}

/// The next message on `topic` whose text is number `index` of `series`: when it arrived.
async fn heard_index(
    sub: &Subscriber,
    topic: &str,
    series: &str,
    index: usize,
    limit: Duration,
) -> Option<Instant> {
    sub.wait_for(topic, limit, |h| {
        h.json()["text"]
            .as_str()
            .and_then(|t| numbered_index(series, t))
            == Some(index)
    })
    .await
    .ok()
    .map(|h| h.at)
}

pub async fn mqtt_latency(opts: &Opts) -> anyhow::Result<serde_json::Value> {
    let count = usize::try_from(opts.number("count", 1000)?)?;
    let gap_us = opts.number("gap-ms", 80)? * 1000;
    let gap_min_us = (opts.number("gap-min-ms", 50)? * 1000).min(gap_us);
    let broker = Mosquitto::start().await?;
    let sim = Simulator::start(SimOptions {
        capacity: 255,
        ..SimOptions::default()
    })
    .await?;
    let tag = format!("mqtt-{}", std::process::id());
    write_config(opts, &tag, &format!("mqtt_url = \"{}\"\n", broker.url()))?;
    let server = start_server(Flavor::SimRelay, opts, &[path_of(&sim)], &tag).await?;
    let mut client =
        SmsClient::connect(Flavor::SimRelay, server.addr, server.token.as_deref()).await?;
    // The simulated modem's id is its IMEI: take whatever modem topic the messages come on.
    let sub = Subscriber::connect(broker.port(), &["simrelay/+/sms"]).await?;
    warm_up(&sim, &mut client, 20).await?;
    let topic = sub
        .heard()
        .last()
        .map(|h| h.topic.clone())
        .context("the warm-up messages never reached MQTT")?;

    let pdus: Vec<Vec<u8>> = (0..count).map(|i| numbered("Mqtt", i)).collect();
    let (mut mqtt, mut ws) = (Vec::with_capacity(count), Vec::with_capacity(count));
    let mut lost = 0;
    for (i, pdu) in pdus.into_iter().enumerate() {
        let pause = rand::rng().random_range(gap_min_us..=gap_us);
        tokio::time::sleep(Duration::from_micros(pause)).await;
        let start = Instant::now();
        sim.deliver(pdu);
        loop {
            match client.next_sms_within(Duration::from_secs(10)).await {
                Ok((at, text)) if numbered_index("Mqtt", &text) == Some(i) => {
                    ws.push(ms(at - start));
                    break;
                }
                Ok(_) => {}
                Err(KitError::Timeout(..)) => break,
                Err(e) => return Err(e).context("the WebSocket client lost its connection"),
            }
        }
        match heard_index(&sub, &topic, "Mqtt", i, Duration::from_secs(10)).await {
            Some(at) => mqtt.push(ms(at - start)),
            None => lost += 1,
        }
    }
    client.close().await;
    drop(server);
    Ok(json!({
        "scenario": "mqtt-latency",
        "messages": count,
        "lost": lost,
        "mqtt_ms": Summary::of(&mqtt),
        "ws_ms": Summary::of(&ws),
    }))
}

pub async fn webhooks(opts: &Opts) -> anyhow::Result<serde_json::Value> {
    let count = usize::try_from(opts.number("count", 200)?)?;
    let burst = usize::try_from(opts.number("burst", 400)?)?;
    let delay = Duration::from_millis(opts.number("delay-ms", 1000)?);
    let forward = match opts.text("forward", "true") {
        "true" => true,
        "false" => false,
        other => bail!("--forward must be true or false, not {other:?}"),
    };
    let receiver = Receiver::start(&[], delay).await?;
    let sim = Simulator::start(SimOptions {
        capacity: u32::try_from(burst + count + 100)?,
        ..SimOptions::default()
    })
    .await?;
    let tag = format!("webhooks-{}", std::process::id());
    let config = if forward {
        format!(
            "[[forwarders]]\nname = \"slow\"\nkind = \"webhook\"\nurl = \"{}\"\nsecret = \"benchmark-signing-key\"\n",
            receiver.url("/hook")
        )
    } else {
        String::new()
    };
    write_config(opts, &tag, &config)?;
    let server = start_server(Flavor::SimRelay, opts, &[path_of(&sim)], &tag).await?;
    let mut client =
        SmsClient::connect(Flavor::SimRelay, server.addr, server.token.as_deref()).await?;
    warm_up(&sim, &mut client, 5).await?;
    // The warm-up messages' deliveries start within milliseconds of their commit: let them all arrive.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let warm = receiver.count();

    // The burst: received as fast as the modem reports it.
    let burst_start = Instant::now();
    for i in 0..burst {
        sim.deliver(numbered("Burst", i));
    }
    let mut received = 0;
    while received < burst {
        let (_, text) = client
            .next_sms_within(Duration::from_secs(60))
            .await
            .context("the burst did not come through")?;
        if numbered_index("Burst", &text).is_some() {
            received += 1;
        }
    }
    let burst_ingest_s = burst_start.elapsed().as_secs_f64();
    // The modem deletes each slot after its commit; timing starts once the SIM is empty, so the figures are
    // about the outbox's effect, not about a modem still busy with the burst (the same in both runs).
    let settle = Instant::now() + Duration::from_secs(120);
    while !sim.stored().is_empty() && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Ingest latency while the burst's deliveries drain.
    let pending_at_start = if forward {
        (warm + burst).saturating_sub(receiver.count())
    } else {
        0
    };
    let mut latencies = Vec::with_capacity(count);
    let mut lost = 0;
    for i in 0..count {
        let pause = rand::rng().random_range(50_000..=80_000);
        tokio::time::sleep(Duration::from_micros(pause)).await;
        let start = Instant::now();
        sim.deliver(numbered("Timed", i));
        loop {
            match client.next_sms_within(Duration::from_secs(10)).await {
                Ok((at, text)) if numbered_index("Timed", &text) == Some(i) => {
                    latencies.push(ms(at - start));
                    break;
                }
                Ok(_) => {}
                Err(KitError::Timeout(..)) => {
                    lost += 1;
                    break;
                }
                Err(e) => return Err(e).context("the client lost its connection"),
            }
        }
    }
    let pending_at_end = if forward {
        (warm + burst + count).saturating_sub(receiver.count())
    } else {
        0
    };

    // Throughput: every delivery made, at the rate the receiver saw them arrive.
    let mut deliveries_per_s = None;
    if forward {
        let deadline = Instant::now() + Duration::from_secs(600);
        let mut delivered = 0.0;
        while Instant::now() < deadline {
            let response =
                simrelay_testkit::http::get(server.addr, "/metrics", server.token.as_deref())
                    .await?;
            if response.status != 200 {
                bail!(
                    "GET /metrics answered {}: {}",
                    response.status,
                    response.text()
                );
            }
            let metrics = response.text();
            let pending = metric(&metrics, "simrelay_deliveries_pending").unwrap_or(1.0);
            delivered = metric(
                &metrics,
                "simrelay_deliveries_total{target=\"slow\",kind=\"webhook\"}",
            )
            .unwrap_or(0.0);
            if pending == 0.0 && receiver.count() as f64 >= delivered && delivered > 0.0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let requests = receiver.requests();
        // Every request the engine counts as delivered reached the receiver once, each with its own event.
        let ids: std::collections::HashSet<_> = requests
            .iter()
            .filter_map(|r| r.header("x-simrelay-event-id"))
            .collect();
        if ids.len() != requests.len() || requests.len() as f64 != delivered {
            bail!(
                "{} requests with {} distinct events; the engine counted {delivered} deliveries",
                requests.len(),
                ids.len()
            );
        }
        if requests.len() < warm + burst + count {
            bail!(
                "only {} deliveries for {} messages",
                requests.len(),
                warm + burst + count
            );
        }
        // The burst's deliveries: queued all at once, so they show what the outbox sustains.
        let drained = &requests[warm..warm + burst];
        if let (Some(first), Some(last)) = (drained.first(), drained.last()) {
            let seconds = (last.at - first.at).as_secs_f64();
            if seconds > 0.0 {
                deliveries_per_s = Some((drained.len() - 1) as f64 / seconds);
            }
        }
    }
    client.close().await;
    drop(server);
    Ok(json!({
        "scenario": "webhooks",
        "forward": forward,
        "receiver_delay_ms": delay.as_millis() as u64,
        "burst": burst,
        "burst_ingest_s": burst_ingest_s,
        "pending_when_timing_began": pending_at_start,
        "pending_when_timing_ended": pending_at_end,
        "latency_ms": Summary::of(&latencies),
        "lost": lost,
        "deliveries_per_s": deliveries_per_s,
    }))
}
