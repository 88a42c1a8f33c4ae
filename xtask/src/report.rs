//! Renders BENCHMARKS.md from the recorded runs in `<target>/bench-results/`.
//!
//! Every number in the file comes from a JSON file a benchmark run wrote; a scenario that was not run or
//! failed says so instead of showing a figure.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::machine::Machine;
use crate::scenarios::{self, CRITERION_ARGS};

/// Above this 1-minute load (per CPU) a run shared the machine with other work, and the report says so.
const BUSY_LOAD_PER_CPU: f64 = 1.0;

/// The whole file.
pub fn render(results: &Path, machine: &Machine) -> anyhow::Result<String> {
    let mut md = String::new();
    let cpus: f64 = machine.cpus.parse().unwrap_or(1.0);
    let _ = writeln!(md, "# SimRelay benchmarks\n");
    let _ = writeln!(
        md,
        "Written by `cargo xtask bench` from measured runs; nothing here is typed in by hand. Re-run it to \
         refresh (`cargo xtask bench latency` refreshes one group and keeps the others' last results). Each \
         table gives min / median / max of a figure across repeated runs of the same command; every run's \
         command and the machine's load average (`uptime`: 1, 5, 15 min) before and after it are listed.\n"
    );
    let _ = writeln!(md, "## Machine\n");
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| CPUs (`nproc`) | {} |", machine.cpus);
    let _ = writeln!(md, "| CPU model | {} |", machine.cpu_model);
    let _ = writeln!(md, "| memory | {} |", machine.memory);
    let _ = writeln!(md, "| kernel | {} |", machine.kernel);
    let _ = writeln!(md, "| rustc | {} |", machine.rustc);
    if let Some(software) = std::fs::read_to_string(results.join("software.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
    {
        let _ = writeln!(
            md,
            "| checkout | {} |",
            software["revision"].as_str().unwrap_or("?")
        );
        let how = if software["simrelay_given"] == Value::Bool(true) {
            "given by `SIMRELAY_BIN`"
        } else {
            "release build of the checkout"
        };
        let _ = writeln!(
            md,
            "| `simrelay` measured | `{}` ({how}) |",
            software["simrelay"].as_str().unwrap_or("?")
        );
    }
    let _ = writeln!(
        md,
        "\nRuns whose load average exceeded {BUSY_LOAD_PER_CPU} per CPU are marked **busy**: the machine was \
         shared with other builds and tests at the time, which inflates latencies and their tails.\n"
    );
    md.push_str(METHOD);

    let loaded = |id: &str| -> Option<Value> {
        let text = std::fs::read_to_string(results.join(format!("{id}.json"))).ok()?;
        serde_json::from_str(&text).ok()
    };

    let _ = writeln!(md, "## Summary\n");
    summary(&mut md, &loaded);

    for scenario in scenarios::all() {
        let _ = writeln!(md, "## {}\n", scenario.title);
        let Some(recorded) = loaded(scenario.id) else {
            let _ = writeln!(
                md,
                "Not run yet on this checkout (`cargo xtask bench {}`).\n",
                scenario.groups[0]
            );
            continue;
        };
        let runs = recorded["runs"].as_array().cloned().unwrap_or_default();
        let ok: Vec<&Value> = runs
            .iter()
            .filter_map(|r| r.get("figures").filter(|f| !f.is_null()))
            .collect();
        if ok.is_empty() {
            let _ = writeln!(md, "Every run failed; the last error:\n\n```text");
            let last = runs
                .last()
                .and_then(|r| r["error"].as_str())
                .unwrap_or("(no output)");
            let _ = writeln!(md, "{last}\n```\n");
        } else if scenario.id.starts_with("search")
            && ok.iter().all(|f| f["available"] == Value::Bool(false))
        {
            let reason = ok[0]["reason"].as_str().unwrap_or("no search in the API");
            let _ = writeln!(md, "Not measurable at this commit: {reason}\n");
        } else {
            let _ = writeln!(md, "| figure | min | median | max |\n|---|---|---|---|");
            for (label, pointer) in scenario.figures {
                let values: Vec<f64> = ok
                    .iter()
                    .filter_map(|f| number(f.pointer(pointer)?))
                    .collect();
                match spread(&values) {
                    Some((min, median, max)) => {
                        let _ = writeln!(
                            md,
                            "| {label} | {} | {} | {} |",
                            fmt(min),
                            fmt(median),
                            fmt(max)
                        );
                    }
                    None => {
                        let _ = writeln!(md, "| {label} | – | – | – |");
                    }
                }
            }
            md.push('\n');
        }
        let _ = writeln!(md, "Runs ({} of {} succeeded):\n", ok.len(), runs.len());
        for (n, run) in runs.iter().enumerate() {
            let busy = busy(run["load_before"].as_str(), cpus);
            let status = if run["error"].is_null() {
                "ok"
            } else {
                "FAILED"
            };
            let _ = writeln!(
                md,
                "{}. `{}` — load {} → {}{} — {status}",
                n + 1,
                run["command"].as_str().unwrap_or("?"),
                run["load_before"].as_str().unwrap_or("?"),
                run["load_after"].as_str().unwrap_or("?"),
                if busy { " (**busy**)" } else { "" }
            );
            if let Some(first_error) = run["figures"]["first_connect_error"].as_str() {
                let _ = writeln!(md, "   (first connection error: {first_error})");
            }
        }
        md.push('\n');
    }

    md.push_str(&crate::desktop::render(results, cpus));
    criterion(&mut md, loaded("criterion"));
    Ok(md)
}

/// The headline figures next to their goals, and the baseline ratios.
fn summary(md: &mut String, loaded: &dyn Fn(&str) -> Option<Value>) {
    let median_of = |id: &str, pointer: &str| -> Option<f64> {
        let recorded = loaded(id)?;
        let values: Vec<f64> = recorded["runs"]
            .as_array()?
            .iter()
            .filter_map(|r| number(r["figures"].pointer(pointer)?))
            .collect();
        spread(&values).map(|(_, median, _)| median)
    };
    let _ = writeln!(
        md,
        "Medians across runs. Goals are from the project's benchmark issue.\n"
    );
    let _ = writeln!(md, "| figure | measured | goal |\n|---|---|---|");
    let rows: [(&str, Option<f64>, &str, &str); 17] = [
        (
            "latency p99, no pacing (ms)",
            median_of("latency-simrelay", "/latency_ms/p99"),
            "ms",
            "≤ 5",
        ),
        (
            "latency p50, no pacing (ms)",
            median_of("latency-simrelay", "/latency_ms/p50"),
            "ms",
            "",
        ),
        (
            "latency p50 at 115200 baud (ms)",
            median_of("latency-simrelay-115200", "/latency_ms/p50"),
            "ms",
            "",
        ),
        (
            "overhead above wire time p50 at 115200 baud (ms)",
            median_of("latency-simrelay-115200", "/overhead_ms/p50"),
            "ms",
            "",
        ),
        (
            "fan-out to 1,000 clients, until the last, p99 (ms)",
            median_of("fanout-simrelay", "/until_last_ms/p99"),
            "ms",
            "≤ 50",
        ),
        (
            "server RSS per WebSocket client (KiB)",
            median_of("fanout-simrelay", "/rss_per_client_kib"),
            "KiB",
            "≤ 64",
        ),
        (
            "ingest, messages per second, +CMT delivery (engine capacity)",
            median_of("ingest-direct", "/msgs_per_s"),
            "",
            "≥ 10,000",
        ),
        (
            "ingest, messages per second, through the SIM (AT round trips)",
            median_of("ingest", "/msgs_per_s"),
            "",
            "",
        ),
        (
            "search p95, unique term, 1,000,000 messages (ms)",
            median_of("search", "/rare_ms/p95"),
            "",
            "≤ 20",
        ),
        (
            "search p95, common word, 1,000,000 messages (ms)",
            median_of("search", "/common_ms/p95"),
            "",
            "≤ 20",
        ),
        (
            "same, before the prefix expansion (ms)",
            median_of("search-before", "/common_ms/p95"),
            "",
            "",
        ),
        (
            "idle RSS, serve with one modem (KiB)",
            median_of("footprint-simrelay", "/rss_kib"),
            "",
            "",
        ),
        (
            "idle wake-ups per second, serve with one modem",
            median_of("footprint-simrelay", "/wakeups_per_s"),
            "",
            "no polling",
        ),
        (
            "modem → MQTT subscriber latency p99 (ms)",
            median_of("relay-mqtt-latency", "/mqtt_ms/p99"),
            "ms",
            "≤ 10",
        ),
        (
            "modem → MQTT subscriber latency p50 (ms)",
            median_of("relay-mqtt-latency", "/mqtt_ms/p50"),
            "ms",
            "",
        ),
        (
            "ingest latency p99 while 400 webhook deliveries drain to a 1 s receiver (ms)",
            median_of("relay-webhooks-slow", "/latency_ms/p99"),
            "ms",
            "as without forwarders",
        ),
        (
            "same without any forwarder (ms)",
            median_of("relay-webhooks-control", "/latency_ms/p99"),
            "ms",
            "",
        ),
    ];
    for (label, value, _, goal) in rows {
        let shown = value.map_or_else(|| "not measured".to_owned(), fmt);
        let _ = writeln!(md, "| {label} | {shown} | {goal} |");
    }
    let ratio = |base: Option<f64>, ours: Option<f64>| match (base, ours) {
        (Some(b), Some(o)) if o > 0.0 => format!("{:.1}×", b / o),
        _ => "not measured".to_owned(),
    };
    let _ = writeln!(
        md,
        "| baseline ÷ SimRelay, median latency, no pacing | {} | ≥ 20× |",
        ratio(
            median_of("latency-baseline", "/latency_ms/p50"),
            median_of("latency-simrelay", "/latency_ms/p50")
        )
    );
    let _ = writeln!(
        md,
        "| baseline ÷ SimRelay, median latency, 115200 baud | {} | |",
        ratio(
            median_of("latency-baseline-115200", "/latency_ms/p50"),
            median_of("latency-simrelay-115200", "/latency_ms/p50")
        )
    );
    let _ = writeln!(
        md,
        "| baseline ÷ SimRelay, fan-out until the last client p50 | {} | |",
        ratio(
            median_of("fanout-baseline", "/until_last_ms/p50"),
            median_of("fanout-simrelay", "/until_last_ms/p50")
        )
    );
    md.push('\n');
}

fn criterion(md: &mut String, recorded: Option<Value>) {
    let _ = writeln!(md, "## Codec and extractor micro-benchmarks (criterion)\n");
    let Some(recorded) = recorded else {
        let _ = writeln!(
            md,
            "Not run yet on this checkout (`cargo xtask bench criterion`).\n"
        );
        return;
    };
    let _ = writeln!(
        md,
        "One criterion run per bench (criterion itself repeats each many times and gives a confidence \
         interval), with `{}`. Load {} → {}.\n",
        CRITERION_ARGS.join(" "),
        recorded["load_before"].as_str().unwrap_or("?"),
        recorded["load_after"].as_str().unwrap_or("?"),
    );
    for command in recorded["commands"].as_array().into_iter().flatten() {
        let _ = writeln!(md, "- `{}`", command.as_str().unwrap_or("?"));
    }
    let _ = writeln!(
        md,
        "\n| bench | median | 95% CI of the median | throughput |\n|---|---|---|---|"
    );
    for bench in recorded["benches"].as_array().into_iter().flatten() {
        let median = number(&bench["median_ns"]).unwrap_or(f64::NAN);
        let low = number(&bench["median_low_ns"]).unwrap_or(f64::NAN);
        let high = number(&bench["median_high_ns"]).unwrap_or(f64::NAN);
        let throughput = throughput(&bench["throughput"], median);
        let _ = writeln!(
            md,
            "| `{}` | {} | {} – {} | {throughput} |",
            bench["id"].as_str().unwrap_or("?"),
            duration(median),
            duration(low),
            duration(high)
        );
    }
    md.push('\n');
}

/// Elements or bytes per second from criterion's throughput declaration and the median time per iteration.
fn throughput(declared: &Value, median_ns: f64) -> String {
    let per_iter = |key: &str| declared.get(key).and_then(number);
    if let Some(n) = per_iter("Elements") {
        format!("{} elements/s", fmt(n / (median_ns / 1e9)))
    } else if let Some(n) = per_iter("Bytes") {
        format!("{:.1} MiB/s", n / (median_ns / 1e9) / 1024.0 / 1024.0)
    } else {
        "–".into()
    }
}

fn duration(ns: f64) -> String {
    if !ns.is_finite() {
        "?".into()
    } else if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1_000.0)
    } else {
        format!("{:.2} ms", ns / 1_000_000.0)
    }
}

pub(crate) fn busy(load: Option<&str>, cpus: f64) -> bool {
    load.and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        .is_some_and(|one_minute| one_minute > BUSY_LOAD_PER_CPU * cpus)
}

pub(crate) fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

/// Min, median (lower middle) and max.
pub(crate) fn spread(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some((
        *sorted.first()?,
        sorted[(sorted.len() - 1) / 2],
        *sorted.last()?,
    ))
}

/// Three significant-ish digits without noise.
pub(crate) fn fmt(v: f64) -> String {
    if (v == v.trunc() && v.abs() < 1e9) || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

const METHOD: &str = "## How it is measured

- **Path under test.** A message is put on a simulated modem's SIM and its URC printed on a real pseudo-terminal
  (`simrelay_modem::Simulator::deliver`, in the benchmark process). The server is a separate process:
  `simrelay serve --modem /dev/pts/N` (release build), or the Python baseline on the same pty. The client is in
  the benchmark process, on loopback, and stamps a frame the moment it is read. SimRelay's path per message:
  `+CMTI` URC → `AT+CMGR` → decode → OTP extraction → SQLite commit → broadcast → WebSocket frame (the
  `AT+CMGD` that frees the slot follows the broadcast, outside the figure).
- **Pacing.** \"115200 baud\" puts a relay between the simulator and the server that releases each chunk only after
  ten bit times per byte (8N1), in each direction independently (`bench/src/line.rs`). The bytes it carried for
  each message are counted, so the report gives the time those bytes need on the wire and the overhead above it.
- **Pauses.** Messages are sent one at a time, each after a random pause, so that a server working on a periodic
  tick is met at every phase of it rather than always just after one: 0–100 ms for the baseline (its tick),
  50–80 ms for SimRelay. SimRelay's modem driver waits 20 ms after each final result before it sends the next
  command (the guard time in `crates/modem/src/config.rs`, per modem family, for slow firmware), so one message
  keeps its modem busy for about 42 ms after the event is published (the guard after `AT+CMGR`, the `AT+CMGD`
  and its guard). The figure is the latency of a message that meets an idle modem, as real SMS do, arriving
  seconds apart: with the earlier 30–60 ms pauses about a third of the messages arrived inside the previous
  message's cycle and waited up to one guard (p50 1.54 ms, p95 10.1 ms, p99 12.1 ms on a quiet machine).
  Messages in a burst are the ingest benchmark's subject.
- **Baseline.** `bench/baseline/relay.py`: Flask-SocketIO (threading mode, simple-websocket), a pyserial thread
  reading the modem, a `queue.Queue`, and a background task that polls the queue every 0.1 s and emits. It uses
  PDU mode with `AT+CNMI=2,2` (the modem routes each PDU straight onto the serial line), so it does less work per
  message than SimRelay: no read-back, no database, no delete. It is measured by the same Rust client code,
  speaking Engine.IO v4 / Socket.IO v5 over a WebSocket (`bench/src/client.rs`).
- **Fan-out.** All clients live in the benchmark process (1 runtime, 2 worker threads), so the last client's time
  includes the client side's own scheduling of 1,000 sockets on the same 2 CPUs as the server. RSS per client is
  (server RSS with the clients connected − server RSS idle) ÷ clients.
- **Ingest.** A burst is delivered at once on each of 4 simulated modems; the figure is messages received by a
  WebSocket client per second from the first delivery to the last event. Through the SIM (500 per modem): each
  message is announced with `+CMTI` and takes its own `AT+CMGR` and `AT+CMGD` round trip on its modem's pty (each
  followed by the driver's guard time, 20 ms for the default SIM800L personality), so the modems' command round
  trips are the limit, as on real hardware. With `+CMT` delivery (2,500 per modem, `--route direct`): each PDU
  arrives inside its URC, no command is needed, and the figure is the engine's own capacity: framing, decode,
  OTP extraction, the SQLite commit (messages that queued up while the previous commit ran are committed
  together, in one multi-row statement per table) and the broadcast.
- **Search.** The store is filled with 1,000,000 messages of 12 random words each by batched inserts into the
  engine's own `messages` table while the server is stopped (its FTS triggers index them), then the server is
  started on that file and queries `GET /api/messages?q=TERM&limit=50` are timed from the client: 200 for a
  message's unique reference (`refNNNNNNN`, one match) and 200 for one of the 28 common words (each in about a
  third of the messages, the worst case for listing the newest matches first).
  One run (filling takes minutes); the queries are the repeated part. Listing newest first walks the FTS5
  index by rowid and stops at the page, but FTS5 answers a prefix term (`\"code\"*`, what every typed word is)
  by first merging the row lists of all its completions, a third of the store for a common word; the engine now
  expands each word into the index terms it completes to and queries their OR, which FTS5 walks lazily.
  \"Before\" is the same scenario run against a `simrelay` built from the commit before that change
  (`SIMRELAY_BIN=<it> cargo xtask bench search-before`), with 10 common-word queries instead of 200.
- **Footprint.** After the server has connected its modem and passed a few messages, with no client connected:
  VmRSS from `/proc/PID/status`, and the voluntary + involuntary context switches of all its threads
  (`/proc/PID/task/*/status`) over the window, i.e. how often the process woke up.

";
