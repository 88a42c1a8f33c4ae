//! Ingest: a burst of messages arrives on several simulated modems at once; the figure is how many per second
//! come out of the whole path at the client. `--route`:
//!
//! - `stored`: modems without phase 2+ (they refuse `AT+CSMS=1`): each message is stored on the SIM and
//!   announced with `+CMTI`, read with `AT+CMGR` and deleted with `AT+CMGD` (decode, extract, commit and
//!   broadcast in between); the modems' command round trips are the limit.
//! - `acked` (SimRelay's default route): modems in phase 2+ print each message with `+CMT`, and hold the next
//!   one back until the previous one is acknowledged with `AT+CNMA`, which comes after its commit; one commit
//!   and one acknowledgement per message and modem are the limit.
//! - `capacity`: modems that print every message with `+CMT` at once and want no acknowledgement (phase 2,
//!   no usable storage), so nothing waits for the modem: the figure is the engine's own decode + commit +
//!   broadcast capacity, not a rate any modem delivers at.
//!
//! `--db postgres` commits into a PostgreSQL database (a server this process starts, see [`Database`]) instead
//! of the SQLite file.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::json;
use simrelay_bench::client::{Flavor, SmsClient};
use simrelay_modem::sim::Chaos;
use simrelay_modem::{SimOptions, Simulator};
use simrelay_testkit::pdu::{numbered, numbered_index};
use simrelay_testkit::KitError;

use crate::setup::{path_of, start_node, Database, Opts};

pub async fn run(opts: &Opts) -> anyhow::Result<serde_json::Value> {
    let modems = usize::try_from(opts.number("modems", 4)?)?;
    let per_modem = usize::try_from(opts.number("per-modem", 1000)?)?;
    let route = opts.text("route", "stored");
    // (route every message at once, refuse phase 2+)
    let (route_directly, refuse_phase2) = match route {
        "stored" => (false, true),
        "acked" => (false, false),
        "capacity" => (true, true),
        other => bail!("--route must be stored, acked or capacity, not {other:?}"),
    };
    let mut sims = Vec::new();
    for _ in 0..modems {
        sims.push(
            Simulator::start(SimOptions {
                capacity: u32::try_from(per_modem + 16)?,
                chaos: Chaos {
                    route_directly,
                    ..Chaos::default()
                },
                refuse_phase2,
                ..SimOptions::default()
            })
            .await?,
        );
    }
    let ports: Vec<_> = sims.iter().map(path_of).collect();
    let database = Database::from_opts(opts)?;
    let server = start_node(
        opts,
        &ports,
        &format!("ingest-{}", std::process::id()),
        database.url(),
        None,
    )
    .await?;
    let mut client =
        SmsClient::connect(Flavor::SimRelay, server.addr, server.token.as_deref()).await?;

    // Every modem must be connected and configured before the burst.
    for (m, sim) in sims.iter().enumerate() {
        let series = format!("Warm{m}");
        let mut through = false;
        for attempt in 0..60 {
            sim.deliver(numbered(&series, attempt));
            if let Ok((_, text)) = client.next_sms_within(Duration::from_secs(1)).await {
                if numbered_index(&series, &text).is_some() {
                    through = true;
                    break;
                }
            }
        }
        if !through {
            bail!("modem {m} did not pass a warm-up message in 60 s");
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let total = modems * per_modem;
    let batches: Vec<Vec<Vec<u8>>> = (0..modems)
        .map(|m| {
            (0..per_modem)
                .map(|i| numbered(&format!("Ing{m}"), i))
                .collect()
        })
        .collect();
    let start = Instant::now();
    // Interleaved, as messages from several modems arrive in reality.
    for i in 0..per_modem {
        for (sim, batch) in sims.iter().zip(&batches) {
            sim.deliver(batch[i].clone());
        }
    }
    let mut received = 0;
    let mut last = start;
    while received < total {
        match client.next_sms_within(Duration::from_secs(30)).await {
            Ok((at, text)) => {
                if text.starts_with("Ing") {
                    received += 1;
                    last = at;
                }
            }
            Err(KitError::Timeout(..)) => break,
            Err(e) => return Err(e).context("the client lost its connection during the burst"),
        }
    }
    let seconds = (last - start).as_secs_f64();
    // Slots are deleted after each commit, after the broadcast; the last batch's deletes are still on their way
    // (one AT+CMGD round trip each). Wait for them, so the figure shows what would really stay on the SIMs.
    let drain_deadline = Instant::now() + Duration::from_secs(30);
    let mut left_on_sims: usize = sims.iter().map(|s| s.stored().len()).sum();
    while left_on_sims > 0 && Instant::now() < drain_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        left_on_sims = sims.iter().map(|s| s.stored().len()).sum();
    }
    let sims_empty_after = (Instant::now() - start).as_secs_f64();
    drop(server);
    Ok(json!({
        "scenario": "ingest",
        "route": route,
        "db": database.kind(),
        "modems": modems,
        "messages": total,
        "received": received,
        "seconds": seconds,
        "msgs_per_s": received as f64 / seconds.max(1e-9),
        "left_on_sims": left_on_sims,
        "sims_empty_after_s": sims_empty_after,
    }))
}
