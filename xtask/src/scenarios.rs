//! The benchmark scenarios: what `simrelay-bench` is asked to run, which figures of its JSON matter, and how
//! repeated runs and the criterion micro-benchmarks are collected into `<target>/bench-results/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::{machine, root, run};

/// Groups a user can pick on the command line.
pub const GROUPS: &[&str] = &[
    "latency",
    "latency-spaced",
    "latency-uniform",
    "latency-poisson",
    "latency-multipart",
    "baseline",
    "fanout",
    "ingest",
    "footprint",
    "idle",
    "search",
    "criterion",
    "search-before",
    "relay",
    "cluster",
    crate::desktop::GROUP,
];

/// Groups that measure an older build (`SIMRELAY_BIN`) for comparison; only run when named.
pub const COMPARISON_GROUPS: &[&str] = &["search-before"];

/// One scenario of `simrelay-bench`.
pub struct Scenario {
    /// File name of its results and anchor in the report.
    pub id: &'static str,
    /// Heading in the report.
    pub title: &'static str,
    /// Groups that include it.
    pub groups: &'static [&'static str],
    /// Arguments of `simrelay-bench`.
    pub args: &'static [&'static str],
    /// Figures to report: label and JSON pointer into one run's output.
    pub figures: &'static [(&'static str, &'static str)],
    /// At most this many runs, whatever `--runs` says (for scenarios that take minutes each).
    pub max_runs: usize,
}

const LATENCY_FIGURES: &[(&str, &str)] = &[
    ("latency p50 (ms)", "/latency_ms/p50"),
    ("latency p95 (ms)", "/latency_ms/p95"),
    ("latency p99 (ms)", "/latency_ms/p99"),
    ("latency max (ms)", "/latency_ms/max"),
    ("messages sent", "/messages"),
    ("messages timed", "/latency_ms/count"),
    ("messages lost (no event within 10 s)", "/lost"),
    ("seconds of arrivals", "/seconds"),
];

const PACED_FIGURES: &[(&str, &str)] = &[
    ("latency p50 (ms)", "/latency_ms/p50"),
    ("latency p95 (ms)", "/latency_ms/p95"),
    ("latency p99 (ms)", "/latency_ms/p99"),
    ("latency max (ms)", "/latency_ms/max"),
    ("bytes' time on the wire p50 (ms)", "/wire_ms/p50"),
    ("overhead above wire time p50 (ms)", "/overhead_ms/p50"),
    ("overhead above wire time p95 (ms)", "/overhead_ms/p95"),
    ("overhead above wire time p99 (ms)", "/overhead_ms/p99"),
    ("overhead above wire time max (ms)", "/overhead_ms/max"),
    ("messages sent", "/messages"),
    ("messages timed", "/latency_ms/count"),
    ("messages lost (no event within 10 s)", "/lost"),
    ("seconds of arrivals", "/seconds"),
];

const FANOUT_FIGURES: &[(&str, &str)] = &[
    ("clients connected", "/connected"),
    (
        "messages (samples of \"until the last client\")",
        "/until_last_ms/count",
    ),
    ("until the last client, p50 (ms)", "/until_last_ms/p50"),
    ("until the last client, p95 (ms)", "/until_last_ms/p95"),
    ("until the last client, p99 (ms)", "/until_last_ms/p99"),
    ("until the last client, max (ms)", "/until_last_ms/max"),
    ("per client p50 (ms)", "/per_client_ms/p50"),
    ("per client p99 (ms)", "/per_client_ms/p99"),
    ("receipts missing", "/missing_receipts"),
    ("server RSS idle (KiB)", "/rss_idle_kib"),
    ("server RSS with the clients (KiB)", "/rss_connected_kib"),
    ("server RSS per client (KiB)", "/rss_per_client_kib"),
];

const FOOTPRINT_FIGURES: &[(&str, &str)] = &[
    ("idle RSS (KiB)", "/rss_kib"),
    ("threads", "/threads"),
    ("window (s)", "/window_s"),
    ("context switches in the window", "/context_switches"),
    ("wake-ups per second at idle", "/wakeups_per_s"),
];

const SEARCH_FIGURES: &[(&str, &str)] = &[
    ("search available", "/available"),
    ("messages stored", "/messages"),
    ("rare term (one match): queries", "/rare_ms/count"),
    ("rare term: p50 (ms)", "/rare_ms/p50"),
    ("rare term: p95 (ms)", "/rare_ms/p95"),
    ("rare term: results per query", "/rare_hits_per_query"),
    (
        "common word (~1/3 of messages): queries",
        "/common_ms/count",
    ),
    ("common word: p50 (ms)", "/common_ms/p50"),
    ("common word: p95 (ms)", "/common_ms/p95"),
    (
        "common word: results per query (limit 50)",
        "/common_hits_per_query",
    ),
    ("typed prefix `refNNNN`: queries", "/prefix_ms/count"),
    (
        "typed prefix `refNNNN`: index terms it completes to",
        "/prefix_terms_per_query",
    ),
    ("typed prefix `refNNNN`: p50 (ms)", "/prefix_ms/p50"),
    ("typed prefix `refNNNN`: p95 (ms)", "/prefix_ms/p95"),
    ("short prefix `refNN`: queries", "/short_prefix_ms/count"),
    (
        "short prefix `refNN`: index terms it completes to",
        "/short_prefix_terms_per_query",
    ),
    ("short prefix `refNN`: p50 (ms)", "/short_prefix_ms/p50"),
    ("short prefix `refNN`: p95 (ms)", "/short_prefix_ms/p95"),
];

const INGEST_FIGURES: &[(&str, &str)] = &[
    ("messages per second", "/msgs_per_s"),
    ("messages received", "/received"),
    ("seconds", "/seconds"),
];

/// The arrival patterns of the latency benchmark: the suffix of their scenarios' ids (`latency-<it>` without
/// pacing, `latency-<it>-115200` at 115200 baud) and what arrives, for the summary.
pub const PATTERNS: &[(&str, &str)] = &[
    ("spaced", "one message every second"),
    ("uniform", "gaps uniform in 0–1 s (mean 2 messages/s)"),
    ("poisson", "Poisson arrivals at 1/s for 10 minutes"),
    (
        "multipart",
        "3-part messages whose parts arrive together, 1 s apart",
    ),
];

/// One latency scenario per pattern and pacing.
macro_rules! latency {
    ($id:literal, $title:literal, $group:literal, [$($arg:literal),*], $figures:expr) => {
        Scenario {
            id: $id,
            title: $title,
            groups: &["latency", $group],
            args: &["latency", "--server", "simrelay", $($arg),*],
            figures: $figures,
            // Each run takes 5-10 minutes of arrivals.
            max_runs: 1,
        }
    };
}

/// Every scenario, in report order.
pub fn all() -> Vec<Scenario> {
    vec![
        latency!(
            "latency-spaced",
            "Latency, 1 s spacing, no baud pacing",
            "latency-spaced",
            ["--pattern", "spaced", "--count", "300", "--gap-ms", "1000"],
            LATENCY_FIGURES
        ),
        latency!(
            "latency-spaced-115200",
            "Latency, 1 s spacing, serial line paced at 115200 baud",
            "latency-spaced",
            ["--pattern", "spaced", "--count", "300", "--gap-ms", "1000", "--baud", "115200"],
            PACED_FIGURES
        ),
        latency!(
            "latency-uniform",
            "Latency, gaps uniform in 0–1 s, no baud pacing",
            "latency-uniform",
            ["--pattern", "uniform", "--count", "300", "--gap-ms", "1000"],
            LATENCY_FIGURES
        ),
        latency!(
            "latency-uniform-115200",
            "Latency, gaps uniform in 0–1 s, serial line paced at 115200 baud",
            "latency-uniform",
            ["--pattern", "uniform", "--count", "300", "--gap-ms", "1000", "--baud", "115200"],
            PACED_FIGURES
        ),
        latency!(
            "latency-poisson",
            "Latency, Poisson arrivals at 1/s for 10 minutes, no baud pacing",
            "latency-poisson",
            ["--pattern", "poisson", "--seconds", "600", "--gap-ms", "1000"],
            LATENCY_FIGURES
        ),
        latency!(
            "latency-poisson-115200",
            "Latency, Poisson arrivals at 1/s for 10 minutes, serial line paced at 115200 baud",
            "latency-poisson",
            ["--pattern", "poisson", "--seconds", "600", "--gap-ms", "1000", "--baud", "115200"],
            PACED_FIGURES
        ),
        latency!(
            "latency-multipart",
            "Latency, 3-part messages whose parts arrive together, no baud pacing",
            "latency-multipart",
            ["--pattern", "multipart", "--parts", "3", "--count", "300", "--gap-ms", "1000"],
            LATENCY_FIGURES
        ),
        latency!(
            "latency-multipart-115200",
            "Latency, 3-part messages whose parts arrive together, serial line paced at 115200 baud",
            "latency-multipart",
            [
                "--pattern", "multipart", "--parts", "3", "--count", "300", "--gap-ms", "1000", "--baud",
                "115200"
            ],
            PACED_FIGURES
        ),
        Scenario {
            id: "latency-baseline",
            title: "Latency, Python baseline (Flask-SocketIO, 0.1 s queue poll), 1 s spacing, no baud pacing",
            groups: &["baseline"],
            args: &[
                "latency", "--server", "baseline", "--pattern", "spaced", "--count", "300", "--gap-ms",
                "1000",
            ],
            figures: LATENCY_FIGURES,
            max_runs: 1,
        },
        Scenario {
            id: "latency-baseline-115200",
            title: "Latency, Python baseline, 1 s spacing, serial line paced at 115200 baud",
            groups: &["baseline"],
            args: &[
                "latency", "--server", "baseline", "--pattern", "spaced", "--count", "300", "--gap-ms",
                "1000", "--baud", "115200",
            ],
            figures: PACED_FIGURES,
            max_runs: 1,
        },
        Scenario {
            id: "fanout-simrelay",
            title: "Fan-out to 1,000 WebSocket clients, 1,000 messages, SimRelay",
            groups: &["fanout"],
            args: &[
                "fanout",
                "--server",
                "simrelay",
                "--clients",
                "1000",
                "--messages",
                "1000",
            ],
            figures: FANOUT_FIGURES,
            // 1,000 rounds of 0.1-0.2 s each: minutes per run.
            max_runs: 1,
        },
        Scenario {
            id: "fanout-baseline",
            title: "Fan-out to 1,000 Socket.IO clients, Python baseline",
            groups: &["fanout", "baseline"],
            args: &[
                "fanout",
                "--server",
                "baseline",
                "--clients",
                "1000",
                "--messages",
                "10",
            ],
            figures: FANOUT_FIGURES,
            max_runs: 10,
        },
        Scenario {
            id: "ingest",
            title: "Ingest burst through the SIM (+CMTI, AT+CMGR, AT+CMGD; modems that refuse phase 2+), 4 simulated modems",
            groups: &["ingest"],
            args: &[
                "ingest",
                "--modems",
                "4",
                "--per-modem",
                "500",
                "--route",
                "stored",
            ],
            figures: &[
                ("messages per second", "/msgs_per_s"),
                ("messages received", "/received"),
                ("seconds", "/seconds"),
                ("left on the SIMs", "/left_on_sims"),
                ("seconds until the SIMs are empty", "/sims_empty_after_s"),
            ],
            max_runs: 10,
        },
        Scenario {
            id: "ingest-acked",
            title: "Ingest burst, phase 2+ (+CMT, each acknowledged with AT+CNMA after its commit), 4 simulated modems",
            groups: &["ingest"],
            args: &[
                "ingest",
                "--modems",
                "4",
                "--per-modem",
                "500",
                "--route",
                "acked",
            ],
            figures: &[
                ("messages per second", "/msgs_per_s"),
                ("messages received", "/received"),
                ("seconds", "/seconds"),
            ],
            max_runs: 10,
        },
        Scenario {
            id: "ingest-capacity",
            title: "Decode + commit + broadcast capacity (+CMT printed at once, no acknowledgement: not a rate a modem delivers at), 4 simulated modems",
            groups: &["ingest"],
            args: &[
                "ingest",
                "--modems",
                "4",
                "--per-modem",
                "2500",
                "--route",
                "capacity",
            ],
            figures: &[
                ("messages per second", "/msgs_per_s"),
                ("messages received", "/received"),
                ("seconds", "/seconds"),
            ],
            max_runs: 10,
        },
        Scenario {
            id: "sqlite-ceiling",
            title: "Ceiling: raw SQLite insert loop (sqlx, WAL, synchronous=NORMAL)",
            groups: &["ingest"],
            args: &["sqlite-ceiling", "--rows", "20000", "--batch", "1000"],
            figures: &[
                (
                    "rows/s, one transaction per row",
                    "/one_per_transaction/rows_per_s",
                ),
                ("rows/s, 1,000 rows per transaction", "/batched/rows_per_s"),
            ],
            max_runs: 10,
        },
        Scenario {
            id: "search",
            title: "Search through the API",
            groups: &["search"],
            args: &[
                "search",
                "--messages",
                "1000000",
                "--queries",
                "200",
                "--common-queries",
                "200",
                "--prefix-queries",
                "200",
                "--short-prefix-queries",
                "20",
            ],
            figures: SEARCH_FIGURES,
            // Filling a million messages takes about a minute; the queries are the repeated part.
            max_runs: 1,
        },
        Scenario {
            id: "search-before",
            title: "Search through the API, before the prefix expansion (FTS5 prefix queries; `simrelay` built from c969519, given by `SIMRELAY_BIN`)",
            groups: &["search-before"],
            args: &[
                "search",
                "--messages",
                "1000000",
                "--queries",
                "200",
                "--common-queries",
                "10",
            ],
            figures: SEARCH_FIGURES,
            // Filling a million messages takes about a minute; the queries are the repeated part.
            max_runs: 1,
        },
        Scenario {
            id: "relay-mqtt-latency",
            title: "Latency to an MQTT subscriber (real Mosquitto on loopback), with the WebSocket client's beside it",
            groups: &["relay"],
            args: &[
                "mqtt-latency",
                "--count",
                "1000",
                "--gap-min-ms",
                "50",
                "--gap-ms",
                "80",
            ],
            figures: &[
                ("MQTT subscriber p50 (ms)", "/mqtt_ms/p50"),
                ("MQTT subscriber p95 (ms)", "/mqtt_ms/p95"),
                ("MQTT subscriber p99 (ms)", "/mqtt_ms/p99"),
                ("MQTT subscriber max (ms)", "/mqtt_ms/max"),
                ("WebSocket client p50 (ms)", "/ws_ms/p50"),
                ("WebSocket client p99 (ms)", "/ws_ms/p99"),
                ("messages timed", "/mqtt_ms/count"),
                ("messages lost on MQTT", "/lost"),
            ],
            max_runs: 5,
        },
        Scenario {
            id: "relay-webhooks-slow",
            title: "Webhook outbox, receiver answering after 1 s: ingest latency while 400 deliveries drain, and delivery rate",
            groups: &["relay"],
            args: &[
                "webhooks",
                "--forward",
                "true",
                "--delay-ms",
                "1000",
                "--burst",
                "400",
                "--count",
                "200",
            ],
            figures: &[
                ("ingest latency p50 (ms)", "/latency_ms/p50"),
                ("ingest latency p95 (ms)", "/latency_ms/p95"),
                ("ingest latency p99 (ms)", "/latency_ms/p99"),
                ("deliveries pending when timing began", "/pending_when_timing_began"),
                ("deliveries pending when timing ended", "/pending_when_timing_ended"),
                ("deliveries per second while the burst drains (1 s receiver)", "/deliveries_per_s"),
                ("burst of 400 received in (s)", "/burst_ingest_s"),
                ("messages lost", "/lost"),
            ],
            max_runs: 3,
        },
        Scenario {
            id: "relay-webhooks-control",
            title: "The same without any forwarder (control)",
            groups: &["relay"],
            args: &[
                "webhooks",
                "--forward",
                "false",
                "--burst",
                "400",
                "--count",
                "200",
            ],
            figures: &[
                ("ingest latency p50 (ms)", "/latency_ms/p50"),
                ("ingest latency p95 (ms)", "/latency_ms/p95"),
                ("ingest latency p99 (ms)", "/latency_ms/p99"),
                ("burst of 400 received in (s)", "/burst_ingest_s"),
                ("messages lost", "/lost"),
            ],
            max_runs: 3,
        },
        Scenario {
            id: "cluster-ingest",
            title: "Cluster: ingest burst into PostgreSQL through the SIM (+CMTI, AT+CMGR, AT+CMGD), 4 simulated modems on one node",
            groups: &["cluster"],
            args: &[
                "ingest",
                "--db",
                "postgres",
                "--modems",
                "4",
                "--per-modem",
                "500",
                "--route",
                "stored",
            ],
            figures: &[
                ("messages per second", "/msgs_per_s"),
                ("messages received", "/received"),
                ("seconds", "/seconds"),
                ("left on the SIMs", "/left_on_sims"),
                ("seconds until the SIMs are empty", "/sims_empty_after_s"),
            ],
            max_runs: 5,
        },
        Scenario {
            id: "cluster-ingest-acked",
            title: "Cluster: ingest burst into PostgreSQL, phase 2+ (+CMT, each acknowledged with AT+CNMA after its commit), 4 simulated modems on one node",
            groups: &["cluster"],
            args: &[
                "ingest",
                "--db",
                "postgres",
                "--modems",
                "4",
                "--per-modem",
                "500",
                "--route",
                "acked",
            ],
            figures: INGEST_FIGURES,
            max_runs: 5,
        },
        Scenario {
            id: "cluster-ingest-capacity",
            title: "Cluster: decode + PostgreSQL commit + broadcast capacity (+CMT printed at once, no acknowledgement), 4 simulated modems on one node",
            groups: &["cluster"],
            args: &[
                "ingest",
                "--db",
                "postgres",
                "--modems",
                "4",
                "--per-modem",
                "2500",
                "--route",
                "capacity",
            ],
            figures: INGEST_FIGURES,
            max_runs: 5,
        },
        Scenario {
            id: "cluster-latency",
            title: "Cluster: node A's modem → node B's WebSocket client (two `simrelay serve` on one PostgreSQL), gaps uniform in 0–400 ms",
            groups: &["cluster"],
            args: &["cluster-latency", "--count", "500", "--gap-ms", "400"],
            figures: &[
                ("node B's client p50 (ms)", "/node_b_ms/p50"),
                ("node B's client p95 (ms)", "/node_b_ms/p95"),
                ("node B's client p99 (ms)", "/node_b_ms/p99"),
                ("node B's client max (ms)", "/node_b_ms/max"),
                ("node A's client p50, same messages (ms)", "/node_a_ms/p50"),
                ("node A's client p99, same messages (ms)", "/node_a_ms/p99"),
                ("messages sent", "/messages"),
                ("messages timed on B", "/node_b_ms/count"),
                ("messages lost on B (no event within 10 s)", "/lost"),
            ],
            // About two minutes of arrivals per run.
            max_runs: 3,
        },
        Scenario {
            id: "cluster-search",
            title: "Cluster: search through the API on PostgreSQL",
            groups: &["cluster"],
            args: &[
                "search",
                "--db",
                "postgres",
                "--messages",
                "1000000",
                "--queries",
                "200",
                "--common-queries",
                "200",
                "--prefix-queries",
                "200",
                "--short-prefix-queries",
                "20",
            ],
            figures: SEARCH_FIGURES,
            // Filling a million messages takes minutes; the queries are the repeated part.
            max_runs: 1,
        },
        Scenario {
            id: "footprint-simrelay",
            title: "Idle footprint, `simrelay serve --modem <pty>`, no client, 120 s window",
            groups: &["footprint", "idle"],
            args: &["footprint", "--server", "simrelay", "--seconds", "120"],
            figures: FOOTPRINT_FIGURES,
            max_runs: 1,
        },
        Scenario {
            id: "footprint-simrelay-bare",
            title: "Idle footprint, `simrelay serve` with no modem, no client, 120 s window",
            groups: &["footprint", "idle"],
            args: &["footprint", "--server", "simrelay-bare", "--seconds", "120"],
            figures: FOOTPRINT_FIGURES,
            max_runs: 1,
        },
        Scenario {
            id: "footprint-baseline",
            title: "Idle footprint, Python baseline on a modem",
            groups: &["footprint", "baseline"],
            args: &["footprint", "--server", "baseline", "--seconds", "10"],
            figures: FOOTPRINT_FIGURES,
            max_runs: 10,
        },
    ]
}

/// Built binaries and the baseline's interpreter.
pub struct Env {
    /// The measured `simrelay` binary.
    pub simrelay: PathBuf,
    bench: PathBuf,
    python: PathBuf,
    script: PathBuf,
}

impl Env {
    /// Builds the release binaries and, when a baseline scenario is wanted, the Python venv.
    /// `$SIMRELAY_BIN`, when set, is the `simrelay` binary measured (e.g. one built from a clean checkout);
    /// otherwise it is built here from the working tree.
    pub fn prepare(target: &Path, groups: &[String]) -> anyhow::Result<Env> {
        let given = std::env::var_os("SIMRELAY_BIN").map(PathBuf::from);
        let mut build = Command::new("cargo");
        build
            .args(["build", "--release", "-p", "simrelay-bench"])
            .env("CARGO_TARGET_DIR", target);
        if given.is_none() {
            build.args(["-p", "simrelay-engine"]);
        }
        run(&mut build)?;
        let simrelay = given.unwrap_or_else(|| target.join("release/simrelay"));
        let venv = target.join("bench-venv");
        let python = venv.join("bin/python");
        let script = root().join("bench/baseline/relay.py");
        let needs_baseline = all().iter().any(|s| {
            s.args.contains(&"baseline") && groups.iter().any(|g| s.groups.contains(&g.as_str()))
        });
        if needs_baseline {
            if !python.exists() {
                run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
            }
            run(Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "-r"])
                .arg(root().join("bench/baseline/requirements.txt")))?;
        }
        Ok(Env {
            bench: target.join("release/simrelay-bench"),
            simrelay,
            python,
            script,
        })
    }
}

/// Runs `scenario` `runs` times and writes `<results>/<id>.json`.
pub fn run_scenario(
    env: &Env,
    scenario: &Scenario,
    runs: usize,
    results: &Path,
) -> anyhow::Result<()> {
    let mut recorded = Vec::new();
    let runs = runs.min(scenario.max_runs);
    for n in 1..=runs {
        let mut command = Command::new(&env.bench);
        command
            .args(scenario.args)
            .arg("--simrelay")
            .arg(&env.simrelay);
        if scenario.args.contains(&"baseline") {
            command
                .arg("--python")
                .arg(&env.python)
                .arg("--baseline")
                .arg(&env.script);
        }
        let shown = format!("{} {}", display(&env.bench), scenario.args.join(" "));
        eprintln!("xtask: {} run {n}/{runs}: {shown}", scenario.id);
        let load_before = machine::load();
        let alongside = machine::benches_running();
        let cpus = machine::cpus_allowed();
        let others_on_cpus = machine::others_on_our_cpus();
        let output = command
            .current_dir(root())
            .output()
            .with_context(|| format!("cannot start {}", env.bench.display()))?;
        let load_after = machine::load();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let figures: Option<Value> = stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l).ok());
        let error = if output.status.success() && figures.is_some() {
            None
        } else {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            Some(tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
        };
        if let Some(e) = &error {
            eprintln!("xtask: {} run {n} failed: {e}", scenario.id);
        }
        recorded.push(json!({
            "command": shown,
            "load_before": load_before,
            "load_after": load_after,
            "benches_alongside": alongside,
            "cpus": cpus,
            "others_on_cpus": others_on_cpus,
            "xtask": invoked(),
            "figures": figures,
            "error": error,
        }));
    }
    let file = results.join(format!("{}.json", scenario.id));
    let value = json!({"id": scenario.id, "runs": recorded, "machine_load_note": machine::load1()});
    std::fs::write(&file, serde_json::to_string_pretty(&value)?)
        .with_context(|| format!("cannot write {}", file.display()))
}

/// The `cargo xtask ...` command this process runs.
pub fn invoked() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("cargo xtask {}", args.join(" "))
}

/// A path relative to the workspace root when it is inside it.
fn display(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Criterion arguments: shorter than criterion's defaults so the whole bench stays within minutes.
pub const CRITERION_ARGS: &[&str] = &["--warm-up-time", "1", "--measurement-time", "3"];

/// Runs the criterion benches of the codec and the extractor and collects their estimates.
pub fn run_criterion(target: &Path, results: &Path) -> anyhow::Result<()> {
    let load_before = machine::load();
    let mut commands = Vec::new();
    // Named bench targets only: the libtest harness of the other targets rejects criterion's options.
    for (package, bench) in [("simrelay-pdu", "decode"), ("simrelay-otp", "extract")] {
        let mut command = Command::new("cargo");
        command
            .args(["bench", "-p", package, "--bench", bench, "--"])
            .args(CRITERION_ARGS)
            .env("CARGO_TARGET_DIR", target);
        commands.push(format!(
            "cargo bench -p {package} --bench {bench} -- {}",
            CRITERION_ARGS.join(" ")
        ));
        run(&mut command)?;
    }
    let load_after = machine::load();
    let mut benches = Vec::new();
    collect_estimates(&target.join("criterion"), &mut benches)?;
    if benches.is_empty() {
        bail!(
            "criterion wrote no estimates under {}",
            target.join("criterion").display()
        );
    }
    benches.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let value = json!({
        "id": "criterion",
        "commands": commands,
        "load_before": load_before,
        "load_after": load_after,
        "benches": benches,
    });
    let file = results.join("criterion.json");
    std::fs::write(&file, serde_json::to_string_pretty(&value)?)
        .with_context(|| format!("cannot write {}", file.display()))
}

/// Finds every `new/estimates.json` (with its `new/benchmark.json`) below `dir`.
fn collect_estimates(dir: &Path, out: &mut Vec<Value>) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            let read = |name: &str| -> Option<Value> {
                serde_json::from_str(&std::fs::read_to_string(path.join(name)).ok()?).ok()
            };
            if let (Some(estimates), Some(benchmark)) =
                (read("estimates.json"), read("benchmark.json"))
            {
                out.push(json!({
                    "id": benchmark["full_id"],
                    "throughput": benchmark["throughput"],
                    "median_ns": estimates["median"]["point_estimate"],
                    "median_low_ns": estimates["median"]["confidence_interval"]["lower_bound"],
                    "median_high_ns": estimates["median"]["confidence_interval"]["upper_bound"],
                    "mean_ns": estimates["mean"]["point_estimate"],
                }));
            }
        } else if path
            .file_name()
            .is_some_and(|n| n != "report" && n != "base")
        {
            collect_estimates(&path, out)?;
        }
    }
    Ok(())
}
