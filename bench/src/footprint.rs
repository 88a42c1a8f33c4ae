//! Footprint: resident memory and wake-ups per second of an idle server (after it has connected its modem and
//! passed a few messages, with no client connected).

use std::time::Duration;

use anyhow::bail;
use serde_json::json;
use simrelay_bench::client::{Flavor, SmsClient};
use simrelay_modem::{SimOptions, Simulator};
use simrelay_testkit::procfs;

use crate::setup::{path_of, start_server, warm_up, Opts};

pub async fn run(opts: &Opts) -> anyhow::Result<serde_json::Value> {
    let which = opts.text("server", "simrelay").to_owned();
    let seconds = opts.number("seconds", 10)?;
    let settle = opts.number("settle", 5)?;
    let sim = Simulator::start(SimOptions::default()).await?;
    let (flavor, modems) = match which.as_str() {
        "simrelay" => (Flavor::SimRelay, vec![path_of(&sim)]),
        "simrelay-bare" => (Flavor::SimRelay, Vec::new()),
        "baseline" => (Flavor::SocketIo, vec![path_of(&sim)]),
        other => bail!("--server must be simrelay, simrelay-bare or baseline, not {other:?}"),
    };
    let server = start_server(
        flavor,
        opts,
        &modems,
        &format!("footprint-{}", std::process::id()),
    )
    .await?;
    let pid = server.pid();
    if !modems.is_empty() {
        let mut client = SmsClient::connect(flavor, server.addr, server.token.as_deref()).await?;
        warm_up(&sim, &mut client, 5).await?;
        client.close().await;
    }
    tokio::time::sleep(Duration::from_secs(settle)).await;
    let rss = procfs::rss_kib(pid)?;
    let threads = procfs::threads(pid)?;
    let before = procfs::context_switches(pid)?;
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let after = procfs::context_switches(pid)?;
    drop(server);
    Ok(json!({
        "scenario": "footprint",
        "server": which,
        "rss_kib": rss,
        "threads": threads,
        "window_s": seconds,
        "context_switches": after - before,
        "wakeups_per_s": (after - before) as f64 / seconds as f64,
    }))
}
