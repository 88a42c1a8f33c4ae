//! Fan-out: many WebSocket clients connected at once, one message delivered, the time until the last client
//! has it; and the server's resident memory per connected client.

use std::time::{Duration, Instant};

use anyhow::Context;
use rand::Rng;
use serde_json::json;
use simrelay_bench::client::SmsClient;
use simrelay_bench::stats::Summary;
use simrelay_modem::{SimOptions, Simulator};
use simrelay_testkit::pdu::{numbered, numbered_index};
use simrelay_testkit::procfs;
use tokio::sync::mpsc;

use crate::setup::{ms, path_of, start_server, warm_up, Opts};

/// Clients connecting at the same moment; more would overflow the listen backlog for no gain.
const CONNECT_BATCH: usize = 50;

pub async fn run(opts: &Opts) -> anyhow::Result<serde_json::Value> {
    let flavor = opts.flavor()?;
    let clients = usize::try_from(opts.number("clients", 1000)?)?;
    let messages = usize::try_from(opts.number("messages", 30)?)?;
    raise_fd_limit();

    let sim = Simulator::start(SimOptions::default()).await?;
    let server = start_server(
        flavor,
        opts,
        &[path_of(&sim)],
        &format!("fanout-{}", std::process::id()),
    )
    .await?;
    let pid = server.pid();
    let mut probe = SmsClient::connect(flavor, server.addr, server.token.as_deref()).await?;
    warm_up(&sim, &mut probe, 5).await?;
    probe.close().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = procfs::rss_kib(pid)?;

    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Instant)>();
    let mut connected = 0;
    let mut failed = 0;
    let mut first_error = None;
    for batch in (0..clients).collect::<Vec<_>>().chunks(CONNECT_BATCH) {
        let attempts = batch
            .iter()
            .map(|_| SmsClient::connect(flavor, server.addr, server.token.as_deref()));
        for result in futures_util::future::join_all(attempts).await {
            match result {
                Ok(mut client) => {
                    connected += 1;
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        while let Ok((at, text)) = client.next_sms().await {
                            if let Some(index) = numbered_index("Fan", &text) {
                                if tx.send((index, at)).is_err() {
                                    break;
                                }
                            }
                        }
                    });
                }
                Err(e) => {
                    failed += 1;
                    first_error.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected = procfs::rss_kib(pid)?;

    let mut until_last = Vec::new();
    let mut per_client = Vec::new();
    let mut missing = 0;
    for m in 0..messages {
        // Let the previous round settle, at a random phase (the baseline emits on a 100 ms tick).
        let pause = 100 + rand::rng().random_range(0..100);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let start = Instant::now();
        sim.deliver(numbered("Fan", m));
        let mut got = 0;
        let mut last = start;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while got < connected {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((index, at))) if index == m => {
                    got += 1;
                    last = last.max(at);
                    per_client.push(ms(at - start));
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        missing += connected - got;
        if got == connected {
            until_last.push(ms(last - start));
        }
    }
    let rss_after = procfs::rss_kib(pid).context("the server died during fan-out")?;
    let threads = procfs::threads(pid).ok();
    drop(server);
    let per_client_kib =
        (rss_connected.max(rss_after) as f64 - rss_before as f64) / connected.max(1) as f64;
    Ok(json!({
        "scenario": "fanout",
        "server": opts.text("server", "simrelay"),
        "clients": clients,
        "connected": connected,
        "connect_failures": failed,
        "first_connect_error": first_error,
        "messages": messages,
        "missing_receipts": missing,
        "until_last_ms": Summary::of(&until_last),
        "per_client_ms": Summary::of(&per_client),
        "rss_idle_kib": rss_before,
        "rss_connected_kib": rss_connected,
        "rss_after_kib": rss_after,
        "rss_per_client_kib": per_client_kib,
        "server_threads": threads,
    }))
}

/// Lifts the open-files limit to the hard limit; the servers started afterwards inherit it.
pub fn raise_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}
