//! Latency by arrival pattern: from a message arriving at the simulated modem (it is handed to the modem, which
//! prints its URC) until the WebSocket client holds the event.
//!
//! Messages arrive on a schedule of their own (open loop): a message never waits for the previous one to come
//! through before it arrives, so messages that arrive close together meet a modem still busy with the previous
//! one, as on a real network. `--pattern`:
//!
//! - `spaced`: one message every `--gap-ms` (1000), `--count` messages;
//! - `uniform`: gaps drawn uniformly from 0 to `--gap-ms` (1000), `--count` messages (two messages often
//!   arrive close together, as when a service sends a code and a notice at once);
//! - `poisson`: exponential gaps with a mean of `--gap-ms` (1000) for `--seconds` (600): Poisson arrivals, long
//!   enough that the server's periodic work (the SIM sweep) is met;
//! - `multipart`: the `--parts` (3) parts of one long message handed to the modem at once, `--count` sets
//!   `--gap-ms` apart; the latency is to the event of the assembled message.
//!
//! With `--baud`, a serial line paced at that rate sits between the simulator and the server; the bytes it
//! carried while a message was on its way are counted, and the overhead above the time those bytes need on the
//! wire is reported. When two messages are on their way at once, each counts the other's bytes too (the line
//! carries them in between), so the wire time is never undercounted and the overhead never overstated by it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::Rng;
use serde_json::json;
use simrelay_bench::client::SmsClient;
use simrelay_bench::line::{byte_time, PacedLine};
use simrelay_bench::stats::Summary;
use simrelay_modem::{SimOptions, Simulator};
use simrelay_testkit::pdu::{deliver_parts, numbered, numbered_index, numbered_text, SENDER};
use simrelay_testkit::KitError;
use tokio::sync::mpsc;

use crate::setup::{ms, path_of, start_server, warm_up, Opts};

/// How long a message may take before it counts as lost.
const LOST_AFTER: Duration = Duration::from_secs(10);

/// The series of the timed messages.
const SERIES: &str = "Lat";

/// When messages arrive.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pattern {
    Spaced,
    Uniform,
    Poisson,
    Multipart,
}

impl Pattern {
    fn parse(name: &str) -> anyhow::Result<Pattern> {
        Ok(match name {
            "spaced" => Pattern::Spaced,
            "uniform" => Pattern::Uniform,
            "poisson" => Pattern::Poisson,
            "multipart" => Pattern::Multipart,
            other => {
                bail!("--pattern must be spaced, uniform, poisson or multipart, not {other:?}")
            }
        })
    }

    /// The pause before the next arrival, for a mean or bound of `gap`.
    fn next_gap(self, gap: Duration) -> Duration {
        match self {
            Pattern::Spaced | Pattern::Multipart => gap,
            Pattern::Uniform => gap.mul_f64(rand::rng().random_range(0.0..=1.0)),
            // Inverse transform: -ln(U) is exponential with mean 1; U in (0, 1] avoids ln(0).
            Pattern::Poisson => {
                let u: f64 = 1.0 - rand::rng().random_range(0.0..1.0);
                gap.mul_f64(-u.ln())
            }
        }
    }
}

/// One message (or set of parts) on its way.
struct Sent {
    at: Instant,
    /// Bytes the paced line had carried when it arrived at the modem.
    carried: u64,
}

/// What the client saw: which message, when, and how many bytes the line had carried by then.
struct Seen {
    index: usize,
    at: Instant,
    carried: u64,
}

pub async fn run(opts: &Opts) -> anyhow::Result<serde_json::Value> {
    let flavor = opts.flavor()?;
    let pattern = Pattern::parse(opts.text("pattern", "spaced"))?;
    let count = usize::try_from(opts.number("count", 300)?)?;
    let seconds = opts.number("seconds", 600)?;
    let gap = Duration::from_millis(opts.number("gap-ms", 1000)?);
    let parts = usize::try_from(opts.number("parts", 3)?)?;
    let baud = u32::try_from(opts.number("baud", 0)?)?;

    let sim = Simulator::start(SimOptions {
        capacity: 255,
        ..SimOptions::default()
    })
    .await?;
    let line = match baud {
        0 => None,
        baud => Some(Arc::new(PacedLine::start(sim.path(), baud)?)),
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

    // The client stamps each event (and the line's byte count) as it reads it, whatever the sender is doing.
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<Seen>();
    let counter = line.clone();
    let reader = tokio::spawn(async move {
        loop {
            match client.next_sms().await {
                Ok((at, text)) => {
                    let carried = counter.as_ref().map_or(0, |l| l.carried());
                    if let Some(index) = numbered_index(SERIES, &text) {
                        if seen_tx.send(Seen { index, at, carried }).is_err() {
                            break;
                        }
                    }
                }
                Err(KitError::Timeout(..)) => {}
                Err(_) => break,
            }
        }
        client.close().await;
    });

    // Encoding is not part of the path under test: done before the clock runs.
    let long_text = |index: usize| {
        // Padding that needs exactly `parts` parts of 153 GSM 7-bit characters.
        let head = numbered_text(SERIES, index);
        let target = 153 * parts.max(1) - 20;
        format!(
            "{head} {}",
            "x".repeat(target.saturating_sub(head.len() + 1))
        )
    };
    let started = Instant::now();
    let mut sent: HashMap<usize, Sent> = HashMap::new();
    let mut next = tokio::time::Instant::now();
    let mut index = 0;
    loop {
        let done = match pattern {
            Pattern::Poisson => started.elapsed() >= Duration::from_secs(seconds),
            _ => index >= count,
        };
        if done {
            break;
        }
        let pdus = match pattern {
            Pattern::Multipart => {
                // Each set sent a second after the previous one, as a network stamps them: parts of two
                // sets are never the same PDU (their padding is the same text).
                let at = format!(
                    "2026-11-22T{:02}:{:02}:{:02}+01:00",
                    10 + index / 3600 % 12,
                    index / 60 % 60,
                    index % 60
                );
                let pdus = deliver_parts(SENDER, &long_text(index), &at);
                if pdus.len() != parts {
                    bail!("the long text took {} parts, not {parts}", pdus.len());
                }
                pdus
            }
            _ => vec![numbered(SERIES, index)],
        };
        tokio::time::sleep_until(next).await;
        let carried = line.as_ref().map_or(0, |l| l.carried());
        let at = Instant::now();
        for pdu in pdus {
            sim.deliver(pdu);
        }
        sent.insert(index, Sent { at, carried });
        index += 1;
        next += pattern.next_gap(gap);
    }
    let last_sent = Instant::now();

    // `--samples FILE`: one JSON line per timed message (when it was handed over, relative to the first, and its
    // latency), to see what the slow ones have in common.
    let mut samples = Vec::new();
    let mut latencies = Vec::with_capacity(sent.len());
    let mut wire = Vec::new();
    let mut overhead = Vec::new();
    let mut arrived = 0;
    let give_up = tokio::time::Instant::now() + LOST_AFTER;
    while arrived < sent.len() {
        let seen = match tokio::time::timeout_at(give_up, seen_rx.recv()).await {
            Ok(Some(seen)) => seen,
            Ok(None) => bail!("the client lost its connection"),
            Err(_) => break,
        };
        let Some(message) = sent.get(&seen.index) else {
            continue;
        };
        if seen.at < message.at || seen.at.duration_since(message.at) > LOST_AFTER {
            continue;
        }
        arrived += 1;
        let latency = ms(seen.at - message.at);
        latencies.push(latency);
        samples.push(json!({
            "index": seen.index,
            "sent_ms": ms(message.at - started),
            "latency_ms": latency,
        }));
        if line.is_some() {
            let bytes = seen.carried.saturating_sub(message.carried);
            let on_wire = ms(byte_time(baud) * u32::try_from(bytes).unwrap_or(u32::MAX));
            wire.push(on_wire);
            overhead.push(latency - on_wire);
        }
    }
    let lost = sent.len() - arrived;
    let samples_file = opts.text("samples", "");
    if !samples_file.is_empty() {
        let lines: String = samples.iter().map(|s| format!("{s}\n")).collect();
        std::fs::write(samples_file, lines)
            .with_context(|| format!("cannot write {samples_file}"))?;
    }
    reader.abort();
    drop(server);
    let label = match pattern {
        Pattern::Spaced => "spaced",
        Pattern::Uniform => "uniform",
        Pattern::Poisson => "poisson",
        Pattern::Multipart => "multipart",
    };
    Ok(json!({
        "scenario": "latency",
        "server": opts.text("server", "simrelay"),
        "pattern": label,
        "gap_ms": ms(gap),
        "parts": if pattern == Pattern::Multipart { parts } else { 1 },
        "baud": baud,
        "messages": sent.len(),
        "seconds": ms(last_sent - started) / 1000.0,
        "lost": lost,
        "latency_ms": Summary::of(&latencies),
        "wire_ms": Summary::of(&wire),
        "overhead_ms": Summary::of(&overhead),
    }))
}
