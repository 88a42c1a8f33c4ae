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
    let _ = writeln!(md, "| CPUs (`nproc --all`) | {} |", machine.cpus);
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
         shared with other builds and tests at the time, which inflates latencies and their tails. A run whose \
         line says \"pinned to CPU N\" ran on that CPU only while every other process was kept off it (recorded \
         from `/proc` when the run started): it had a CPU to itself, but the builds on the other CPU still shared \
         the memory and the disk, so it is not a quiet machine either, and a goal it meets is met under that \
         condition (the summary's verdicts name it where the goal was missed; look at the run lines for the rest).\n"
    );
    md.push_str(METHOD);

    let loaded = |id: &str| -> Option<Value> {
        let text = std::fs::read_to_string(results.join(format!("{id}.json"))).ok()?;
        serde_json::from_str(&text).ok()
    };

    let _ = writeln!(md, "## Summary\n");
    summary(&mut md, &loaded, cpus);

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
        let xtask = runs.iter().find_map(|r| r["xtask"].as_str()).map_or_else(
            || {
                format!(
                    "cargo xtask bench {}",
                    scenario.groups[scenario.groups.len() - 1]
                )
            },
            str::to_owned,
        );
        let _ = writeln!(md, "Measured by `{xtask}`.\n");
        let _ = writeln!(md, "Runs ({} of {} succeeded):\n", ok.len(), runs.len());
        for (n, run) in runs.iter().enumerate() {
            let busy = busy(run["load_before"].as_str(), cpus);
            let status = if run["error"].is_null() {
                "ok"
            } else {
                "FAILED"
            };
            let alongside = match run["benches_alongside"].as_u64() {
                Some(0) | None => String::new(),
                Some(1) => " — started while another benchmark process ran".to_owned(),
                Some(n) => format!(" — started while {n} other benchmark processes ran"),
            };
            let _ = writeln!(
                md,
                "{}. `{}` — load {} → {}{}{alongside}{} — {status}",
                n + 1,
                run["command"].as_str().unwrap_or("?"),
                run["load_before"].as_str().unwrap_or("?"),
                run["load_after"].as_str().unwrap_or("?"),
                if busy { " (**busy**)" } else { "" },
                pinned(run)
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
fn summary(md: &mut String, loaded: &dyn Fn(&str) -> Option<Value>, cpus: f64) {
    let median_of = |id: &str, pointer: &str| -> Option<f64> {
        let recorded = loaded(id)?;
        let values: Vec<f64> = recorded["runs"]
            .as_array()?
            .iter()
            .filter_map(|r| number(r["figures"].pointer(pointer)?))
            .collect();
        spread(&values).map(|(_, median, _)| median)
    };
    // Why a goal may be missed: the machine was shared at the time.
    let busy_note = |id: &str| -> String {
        let run = loaded(id).and_then(|r| {
            r["runs"]
                .as_array()?
                .iter()
                .find(|run| busy(run["load_before"].as_str(), cpus))
                .cloned()
        });
        run.map_or_else(String::new, |run| {
            let load = run["load_before"].as_str().unwrap_or("?");
            format!(
                " (machine busy: load {} on {cpus} CPUs{})",
                load.split_whitespace().next().unwrap_or("?"),
                pinned(&run).replacen(" —", ";", 1)
            )
        })
    };
    let verdict = |id: &str, misses: Vec<String>, measured: bool| -> String {
        if !measured {
            "–".to_owned()
        } else if misses.is_empty() {
            "met".to_owned()
        } else {
            format!("**missed**: {}{}", misses.join(", "), busy_note(id))
        }
    };
    let _ = writeln!(
        md,
        "Medians across runs. Goals are from the project's benchmark issue (#18; the cluster's from #20). Latency \
         is from a message \
         reaching the simulated modem to the WebSocket client holding its event, by arrival pattern (messages \
         arrive on their own schedule, whether the previous one is through or not); \"overhead\" is the latency \
         above the time the message's bytes need on a 115200 baud line. Lost: no event within 10 s.\n"
    );
    let _ = writeln!(
        md,
        "| arrival pattern | pacing | p50 | p95 | p99 | max | lost | overhead p99 | goal | verdict |\n\
         |---|---|---|---|---|---|---|---|---|---|"
    );
    let shown = |v: Option<f64>| v.map_or_else(|| "not measured".to_owned(), fmt);
    for (pattern, what) in scenarios::PATTERNS {
        let goal = match *pattern {
            "uniform" => "p99 ≤ 5 ms",
            "poisson" => "p99 ≤ 5 ms, max ≤ 30 ms",
            "multipart" => "p99 ≤ 8 ms",
            _ => "",
        };
        // (p99, max) limits without pacing, in ms.
        let limits: (Option<f64>, Option<f64>) = match *pattern {
            "uniform" => (Some(5.0), None),
            "poisson" => (Some(5.0), Some(30.0)),
            "multipart" => (Some(8.0), None),
            _ => (None, None),
        };
        for (suffix, pacing) in [("", "none"), ("-115200", "115200 baud")] {
            let id = format!("latency-{pattern}{suffix}");
            let overhead = if suffix.is_empty() {
                "–".to_owned()
            } else {
                shown(median_of(&id, "/overhead_ms/p99"))
            };
            let goal = match (suffix.is_empty(), goal.is_empty()) {
                (true, true) => "nothing lost".to_owned(),
                (true, false) => format!("{goal}; nothing lost"),
                (false, _) => "overhead p99 ≤ 3 ms; nothing lost".to_owned(),
            };
            let p99 = median_of(&id, "/latency_ms/p99");
            let max = median_of(&id, "/latency_ms/max");
            let lost = median_of(&id, "/lost");
            let mut misses = Vec::new();
            if lost.is_some_and(|l| l > 0.0) {
                misses.push("messages lost".to_owned());
            }
            let over =
                |value: Option<f64>, limit: Option<f64>, what: &str, misses: &mut Vec<String>| {
                    if let (Some(v), Some(l)) = (value, limit) {
                        if v > l {
                            misses.push(format!("{what} {} > {}", fmt(v), fmt(l)));
                        }
                    }
                };
            if suffix.is_empty() {
                over(p99, limits.0, "p99", &mut misses);
                over(max, limits.1, "max", &mut misses);
            } else {
                over(
                    median_of(&id, "/overhead_ms/p99"),
                    Some(3.0),
                    "overhead p99",
                    &mut misses,
                );
            }
            let verdict = verdict(&id, misses, p99.is_some());
            let _ = writeln!(
                md,
                "| {what} | {pacing} | {} | {} | {} | {} | {} | {overhead} | {goal} | {verdict} |",
                shown(median_of(&id, "/latency_ms/p50")),
                shown(median_of(&id, "/latency_ms/p95")),
                shown(p99),
                shown(max),
                shown(lost),
            );
        }
    }
    md.push('\n');
    let _ = writeln!(
        md,
        "| figure | measured | goal | verdict |\n|---|---|---|---|"
    );
    // Label, scenario, value, goal.
    let rows: Vec<(String, &str, Option<f64>, &str)> = vec![
        (
            "idle wake-ups per second, serve with one modem, no client (120 s window)".into(),
            "footprint-simrelay",
            median_of("footprint-simrelay", "/wakeups_per_s"),
            "≤ 0.05",
        ),
        (
            "idle wake-ups per second, serve with no modem, no client (120 s window)".into(),
            "footprint-simrelay-bare",
            median_of("footprint-simrelay-bare", "/wakeups_per_s"),
            "≤ 0.05",
        ),
        (
            "idle RSS, serve with one modem (KiB)".into(),
            "footprint-simrelay",
            median_of("footprint-simrelay", "/rss_kib"),
            "",
        ),
        (
            "ingest burst, phase 2+ +CMT/+CNMA (acknowledged after commit), messages per second".into(),
            "ingest-acked",
            median_of("ingest-acked", "/msgs_per_s"),
            "",
        ),
        (
            "ingest burst through the SIM (+CMTI, AT+CMGR, AT+CMGD), messages per second".into(),
            "ingest",
            median_of("ingest", "/msgs_per_s"),
            "",
        ),
        (
            "decode + commit + broadcast capacity (+CMT, no acknowledgement; not a modem's rate), messages per \
             second"
                .into(),
            "ingest-capacity",
            median_of("ingest-capacity", "/msgs_per_s"),
            "≥ 10,000",
        ),
        (
            format!(
                "fan-out to 1,000 clients, until the last, p99 over {} messages (ms)",
                median_of("fanout-simrelay", "/until_last_ms/count").map_or_else(|| "?".into(), fmt)
            ),
            "fanout-simrelay",
            median_of("fanout-simrelay", "/until_last_ms/p99"),
            "≤ 50",
        ),
        (
            "server RSS per WebSocket client (KiB)".into(),
            "fanout-simrelay",
            median_of("fanout-simrelay", "/rss_per_client_kib"),
            "≤ 64",
        ),
        (
            "search p95, rare term (one match), 1,000,000 messages (ms)".into(),
            "search",
            median_of("search", "/rare_ms/p95"),
            "≤ 20",
        ),
        (
            "search p95, common word (~1/3 of messages) (ms)".into(),
            "search",
            median_of("search", "/common_ms/p95"),
            "≤ 20",
        ),
        (
            format!(
                "search p95, typed prefix completing to {} index terms (ms)",
                median_of("search", "/prefix_terms_per_query").map_or_else(|| "?".into(), fmt)
            ),
            "search",
            median_of("search", "/prefix_ms/p95"),
            "≤ 20",
        ),
        (
            format!(
                "search p95, short prefix completing to {} index terms (ms)",
                median_of("search", "/short_prefix_terms_per_query")
                    .map_or_else(|| "?".into(), fmt)
            ),
            "search",
            median_of("search", "/short_prefix_ms/p95"),
            "",
        ),
        (
            "search p95, common word, before the prefix expansion (ms)".into(),
            "search-before",
            median_of("search-before", "/common_ms/p95"),
            "",
        ),
        (
            "desktop: PSS of every process the app started (orphans too), window open (MiB)".into(),
            "desktop",
            median_of("desktop", "/pss_open/total_mib"),
            "",
        ),
        (
            "desktop: the same, in the tray (MiB)".into(),
            "desktop",
            median_of("desktop", "/pss_tray/total_mib"),
            "",
        ),
        (
            "modem → MQTT subscriber latency p99 (ms)".into(),
            "relay-mqtt-latency",
            median_of("relay-mqtt-latency", "/mqtt_ms/p99"),
            "≤ 10",
        ),
        (
            "modem → MQTT subscriber latency p50 (ms)".into(),
            "relay-mqtt-latency",
            median_of("relay-mqtt-latency", "/mqtt_ms/p50"),
            "",
        ),
        (
            "ingest latency p99 while 400 webhook deliveries drain to a 1 s receiver (ms)".into(),
            "relay-webhooks-slow",
            median_of("relay-webhooks-slow", "/latency_ms/p99"),
            "as without forwarders",
        ),
        (
            "same without any forwarder (ms)".into(),
            "relay-webhooks-control",
            median_of("relay-webhooks-control", "/latency_ms/p99"),
            "",
        ),
        (
            "cluster: decode + PostgreSQL commit + broadcast capacity, 4 modems on one node, messages per second"
                .into(),
            "cluster-ingest-capacity",
            median_of("cluster-ingest-capacity", "/msgs_per_s"),
            "≥ 5,000",
        ),
        (
            "cluster: ingest burst into PostgreSQL through the SIM (+CMTI), 4 modems, messages per second".into(),
            "cluster-ingest",
            median_of("cluster-ingest", "/msgs_per_s"),
            "",
        ),
        (
            "cluster: ingest burst into PostgreSQL, phase 2+ +CMT/+CNMA, 4 modems, messages per second".into(),
            "cluster-ingest-acked",
            median_of("cluster-ingest-acked", "/msgs_per_s"),
            "",
        ),
        (
            "cluster: node A modem → node B WebSocket client p99 (ms)".into(),
            "cluster-latency",
            median_of("cluster-latency", "/node_b_ms/p99"),
            "≤ 20",
        ),
        (
            "cluster: node A modem → node B WebSocket client p50 (ms)".into(),
            "cluster-latency",
            median_of("cluster-latency", "/node_b_ms/p50"),
            "",
        ),
        (
            "cluster: the same messages at node A's own client, p99 (ms)".into(),
            "cluster-latency",
            median_of("cluster-latency", "/node_a_ms/p99"),
            "",
        ),
        (
            "cluster: search p95 on PostgreSQL, rare term (one match), 1,000,000 messages (ms)".into(),
            "cluster-search",
            median_of("cluster-search", "/rare_ms/p95"),
            "≤ 30",
        ),
        (
            "cluster: search p95 on PostgreSQL, common word (~1/3 of messages) (ms)".into(),
            "cluster-search",
            median_of("cluster-search", "/common_ms/p95"),
            "≤ 30",
        ),
        (
            format!(
                "cluster: search p95 on PostgreSQL, typed prefix completing to {} index terms (ms)",
                median_of("cluster-search", "/prefix_terms_per_query")
                    .map_or_else(|| "?".into(), fmt)
            ),
            "cluster-search",
            median_of("cluster-search", "/prefix_ms/p95"),
            "≤ 30",
        ),
        (
            format!(
                "cluster: search p95 on PostgreSQL, short prefix completing to {} index terms (ms)",
                median_of("cluster-search", "/short_prefix_terms_per_query")
                    .map_or_else(|| "?".into(), fmt)
            ),
            "cluster-search",
            median_of("cluster-search", "/short_prefix_ms/p95"),
            "",
        ),
    ];
    for (label, id, value, goal) in rows {
        let misses = match (value, goal_limit(goal)) {
            (Some(v), Some((true, l))) if v > l => vec![format!("{} > {}", fmt(v), fmt(l))],
            (Some(v), Some((false, l))) if v < l => vec![format!("{} < {}", fmt(v), fmt(l))],
            _ => Vec::new(),
        };
        let verdict = verdict(id, misses, value.is_some() && !goal.is_empty());
        let _ = writeln!(md, "| {label} | {} | {goal} | {verdict} |", shown(value));
    }
    let ratio = |base: Option<f64>, ours: Option<f64>| match (base, ours) {
        (Some(b), Some(o)) if o > 0.0 => format!("{:.1}×", b / o),
        _ => "not measured".to_owned(),
    };
    let _ = writeln!(
        md,
        "| baseline ÷ SimRelay, median latency, 1 s spacing, no pacing | {} | ≥ 20× | |",
        ratio(
            median_of("latency-baseline", "/latency_ms/p50"),
            median_of("latency-spaced", "/latency_ms/p50")
        )
    );
    let _ = writeln!(
        md,
        "| baseline ÷ SimRelay, median latency, 1 s spacing, 115200 baud | {} | | |",
        ratio(
            median_of("latency-baseline-115200", "/latency_ms/p50"),
            median_of("latency-spaced-115200", "/latency_ms/p50")
        )
    );
    let _ = writeln!(
        md,
        "| baseline ÷ SimRelay, fan-out until the last client p50 | {} | | |",
        ratio(
            median_of("fanout-baseline", "/until_last_ms/p50"),
            median_of("fanout-simrelay", "/until_last_ms/p50")
        )
    );
    md.push('\n');
}

/// A goal such as "≤ 50" or "≥ 10,000": (is an upper bound, the bound).
fn goal_limit(goal: &str) -> Option<(bool, f64)> {
    let (upper, rest) = if let Some(rest) = goal.strip_prefix("≤ ") {
        (true, rest)
    } else {
        (false, goal.strip_prefix("≥ ")?)
    };
    Some((upper, rest.replace(',', "").parse().ok()?))
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

/// How a run was placed on the CPUs, when it was not free to use them all: pinned runs on a busy machine had their
/// CPU to themselves only if no other process was allowed on it.
pub(crate) fn pinned(run: &Value) -> String {
    let Some(cpus) = run["cpus"].as_str() else {
        return String::new();
    };
    if cpus.contains('-') || cpus.contains(',') || cpus == "unknown" {
        return String::new();
    }
    match run["others_on_cpus"].as_u64() {
        Some(0) => format!(" — pinned to CPU {cpus}, no other user process allowed on it"),
        Some(n) => format!(" — pinned to CPU {cpus}, shared with {n} other processes"),
        None => format!(" — pinned to CPU {cpus}"),
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

- **Path under test.** A message is handed to a simulated modem, which prints it on a real pseudo-terminal
  (`simrelay_modem::Simulator::deliver`, in the benchmark process). The server is a separate process:
  `simrelay serve --modem /dev/pts/N` (release build), or the Python baseline on the same pty. The client is in
  the benchmark process, on loopback, and stamps a frame the moment it is read. The simulated modem is in phase
  2+, so SimRelay's default path per message is: `+CMT` URC with the PDU → decode → OTP extraction → SQLite
  commit → broadcast → WebSocket frame (the `AT+CNMA` acknowledgement follows the commit, outside the figure).
  The default SIM800 personality has no guard time (none is documented for it; `crates/modem/src/config.rs`).
- **Arrival patterns.** Messages arrive on a schedule of their own (open loop): a message does not wait for the
  previous one's event before it is handed to the modem, so messages close together meet a busy modem, as on a
  real network. Four patterns, each run without pacing and at 115200 baud: one message every second (300);
  gaps drawn uniformly from 0 to 1 s (300, mean 2/s: a code and a notice sent together); Poisson arrivals at
  1/s for 10 minutes (exponential gaps; long enough to meet the periodic work: status refresh and SIM sweep);
  3-part messages whose parts are handed over together, one set a second (300), timed to the event of the
  assembled message. A message with no event within 10 s counts as lost. One run each (they take 5–10 minutes).
- **Pacing.** \"115200 baud\" puts a relay between the simulator and the server that releases each chunk only after
  ten bit times per byte (8N1), in each direction independently (`bench/src/line.rs`). The bytes it carried while
  a message was on its way are counted, so the report gives the time those bytes need on the wire and the
  overhead above it. When two messages are on their way at once each counts the other's bytes too (the line
  carried them in between), so the wire time is never undercounted and the overhead never overstated by it.
- **Baseline.** `bench/baseline/relay.py`: Flask-SocketIO (threading mode, simple-websocket), a pyserial thread
  reading the modem, a `queue.Queue`, and a background task that polls the queue every 0.1 s and emits. It uses
  PDU mode with `AT+CNMI=2,2` (the modem routes each PDU straight onto the serial line), so it does less work per
  message than SimRelay: no read-back, no database, no delete. It is measured by the same Rust client code,
  speaking Engine.IO v4 / Socket.IO v5 over a WebSocket (`bench/src/client.rs`).
- **Fan-out.** All clients live in the benchmark process (1 runtime, 2 worker threads), so the last client's time
  includes the client side's own scheduling of 1,000 sockets on the same 2 CPUs as the server. 1,000 messages,
  one at a time after a 100–200 ms pause, so \"until the last client\" has 1,000 samples (and \"per client\"
  1,000,000). RSS per client is (server RSS with the clients connected − server RSS idle) ÷ clients.
- **Ingest.** A burst is delivered at once on each of 4 simulated modems; the figure is messages received by a
  WebSocket client per second from the first delivery to the last event. Three routes: through the SIM (500 per
  modem, modems that refuse `AT+CSMS=1`): each message is announced with `+CMTI` and takes its own `AT+CMGR`
  round trip, the `AT+CMGD`s batched when the modem is idle; phase 2+ (500 per modem, `--route acked`, the
  default route): each message arrives inside its `+CMT`, and the modem holds the next one back until the
  previous one is acknowledged with `AT+CNMA` after its commit; and the engine's **decode + commit + broadcast
  capacity** (2,500 per modem, `--route capacity`): modems print every `+CMT` at once and want no
  acknowledgement, so nothing waits for a modem: framing, decode, OTP extraction, the SQLite commit (messages
  that queued up while the previous commit ran are committed together) and the broadcast. The last is not a
  rate any modem delivers at.
- **Search.** The store is filled with 1,000,000 messages of 12 random words each by batched inserts into the
  engine's own `messages` table while the server is stopped (its FTS triggers index them), then the server is
  started on that file and queries `GET /api/messages?q=TERM&limit=50` are timed from the client: 200 for a
  message's unique reference (`refNNNNNNN`, one match) and 200 for one of the 28 common words (each in about a
  third of the messages, the worst case for listing the newest matches first); then 200 typed prefixes of a
  reference (`ref` and its first 4 digits, completing to 1,000 index terms) and 20 short ones (`ref` and 2
  digits, 100,000 terms), both beyond the 32 terms the engine expands a word into, so FTS5's prefix path
  answers them. One run (filling takes minutes); the queries are the repeated part. Listing newest first walks the FTS5
  index by rowid and stops at the page, but FTS5 answers a prefix term (`\"code\"*`, what every typed word is)
  by first merging the row lists of all its completions, a third of the store for a common word; the engine now
  expands each word into the index terms it completes to and queries their OR, which FTS5 walks lazily.
  \"Before\" is the same scenario run against a `simrelay` built from the commit before that change
  (`SIMRELAY_BIN=<it> cargo xtask bench search-before`), with 10 common-word queries instead of 200.
- **Cluster (PostgreSQL, #20).** Each scenario starts its own PostgreSQL server (Debian's `postgresql`: `initdb`
  in a temporary directory, its own port, `fsync=off` as in the tests, so a figure is the engine's and
  PostgreSQL's work, not the disk's flush; commits stay synchronous) and gives `simrelay serve` a database on it
  with `--db postgres://…`. *Ingest*: the ingest scenario above, unchanged but for `--db`: 4 simulated modems on
  one node, through the SIM (500 per modem), phase 2+ (500 per modem) and the capacity route (2,500 per modem, the
  figure the ≥ 5,000 goal is read against, as the SQLite capacity figure is against its goal); messages queued
  behind a commit go into the same transaction (up to 64). *Node to node*: two `simrelay serve` processes on one
  database, node A with the simulated modem and node B with none; 500 messages arrive at A's modem with gaps
  drawn uniformly from 0 to 400 ms (open loop), and a WebSocket client of B stamps each event (A commits, the
  commit's trigger notifies, B reads the row and publishes it); a client of A stamps the same messages, so the
  hop between nodes is the difference. Lost: no event on B within 10 s. *Search*: the search scenario above on
  PostgreSQL, the million rows written with `COPY` in chunks of 10,000 while the server is stopped (the generated
  `tsvector` column and its GIN index are built as for any insert; the trigger that notifies other nodes is off
  meanwhile, since no node runs), then `VACUUM ANALYZE` (what autovacuum does on a store that grew over time);
  the same queries, timed from the client.
- **Footprint.** After the server has connected its modem and passed a few messages, with no client connected:
  VmRSS from `/proc/PID/status`, and the voluntary + involuntary context switches of all its threads
  (`/proc/PID/task/*/status`) over a 120 s window, i.e. how often the process woke up; 120 s so that the
  periodic status refresh (30 s, only while a client watches the Modems screen) and the SIM sweep (60 s,
  backing off) would fall inside it.

";
