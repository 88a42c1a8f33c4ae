//! `simrelay-bench`: runs one benchmark scenario and prints its figures as one JSON object on stdout.
//!
//! `cargo xtask bench` builds this in release mode, runs each scenario several times and writes
//! BENCHMARKS.md from the JSON; running it by hand is for exploring one scenario:
//!
//! ```text
//! simrelay-bench latency   --server simrelay|baseline [--pattern spaced|uniform|poisson|multipart]
//!                          [--count 300] [--seconds 600] [--gap-ms 1000] [--parts 3] [--baud 115200]
//! simrelay-bench fanout    --server simrelay|baseline [--clients 1000] [--messages 30]
//! simrelay-bench ingest    [--modems 4] [--per-modem 1000] [--route stored|acked|capacity] [--db sqlite|postgres]
//! simrelay-bench footprint --server simrelay|simrelay-bare|baseline [--seconds 10]
//! simrelay-bench sqlite-ceiling [--rows 20000] [--batch 1000]
//! simrelay-bench search    [--messages 1000000] [--queries 200] [--common-queries 10]
//!                          [--prefix-queries 0] [--short-prefix-queries 0] [--db sqlite|postgres]
//! simrelay-bench cluster-latency [--count 500] [--gap-ms 400]
//! simrelay-bench mqtt-latency [--count 1000] [--gap-ms 80] [--gap-min-ms 50]
//! simrelay-bench webhooks  [--forward true|false] [--delay-ms 1000] [--burst 400] [--count 200]
//! ```
//! Common options: `--simrelay PATH` (else `$SIMRELAY_BIN` or a built target dir), `--python PATH` and
//! `--baseline PATH` (the baseline's interpreter and script). `--db postgres` and `cluster-latency` start a
//! PostgreSQL server of their own (Debian's `postgresql`, as the tests do).

mod ceiling;
mod cluster;
mod fanout;
mod footprint;
mod ingest;
mod latency;
mod relay;
mod search;
mod setup;

use std::process::ExitCode;

use setup::Opts;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(scenario) = args.next() else {
        eprintln!("usage: simrelay-bench latency|fanout|ingest|footprint|sqlite-ceiling|search|mqtt-latency|webhooks|cluster-latency [--option value]...");
        return ExitCode::FAILURE;
    };
    let opts = match Opts::parse(args) {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("simrelay-bench: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let result = match scenario.as_str() {
        "latency" => latency::run(&opts).await,
        "fanout" => fanout::run(&opts).await,
        "ingest" => ingest::run(&opts).await,
        "footprint" => footprint::run(&opts).await,
        "sqlite-ceiling" => ceiling::run(&opts).await,
        "search" => search::run(&opts).await,
        "mqtt-latency" => relay::mqtt_latency(&opts).await,
        "webhooks" => relay::webhooks(&opts).await,
        "cluster-latency" => cluster::run(&opts).await,
        other => Err(anyhow::anyhow!("unknown scenario {other:?}")),
    };
    match result {
        Ok(figures) => {
            println!("{figures}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("simrelay-bench {scenario}: {e:#}");
            ExitCode::FAILURE
        }
    }
}
