//! `cargo xtask bench desktop`: the desktop app's footprint and notification latency, measured on the release
//! `simrelay-desktop` under Xvfb by `simrelay-desktop-bench` (tests/e2e-desktop), and its section of
//! BENCHMARKS.md.
//!
//! Run alone, the group rewrites only its own section of BENCHMARKS.md (the other sections keep the figures of
//! the target directory that wrote them); a full `cargo xtask bench` renders it with everything else.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::Context;
use serde_json::{json, Value};

use crate::report::{busy, fmt, number, spread};
use crate::{machine, root, run};

/// The group's name on the command line.
pub const GROUP: &str = "desktop";
/// File name of its results under `bench-results/`.
const ID: &str = "desktop";
/// Heading of its section; also how the section is found again in BENCHMARKS.md.
const HEADING: &str = "## Desktop app (`simrelay-desktop`, release build, Xvfb)";
/// Messages timed per run for injection → Notify.
const MESSAGES: &str = "200";

/// Figures of one run: label and JSON pointer.
const FIGURES: &[(&str, &str)] = &[
    ("launch → window mapped (ms)", "/launch_to_window_ms"),
    (
        "launch → first message row in the window, via WebDriver (ms)",
        "/launch_to_data_ms",
    ),
    (
        "total PSS of every process the app started (orphans too), window open (MiB)",
        "/pss_open/total_mib",
    ),
    (
        "total PSS of every process the app started (orphans too), in the tray (MiB)",
        "/pss_tray/total_mib",
    ),
    (
        "total PSS, in the tray after the timed notifications (MiB)",
        "/pss_tray_after_notifications/total_mib",
    ),
    (
        "WebKit processes gone after the window closed (ms)",
        "/webkit_gone_after_close_ms",
    ),
    (
        "wake-ups per second, window open, idle",
        "/wakeups_open/per_s",
    ),
    (
        "wake-ups per second, in the tray, idle",
        "/wakeups_tray/per_s",
    ),
    ("injection → Notify p50 (ms)", "/notify_ms/p50"),
    ("injection → Notify p95 (ms)", "/notify_ms/p95"),
    ("injection → Notify p99 (ms)", "/notify_ms/p99"),
    ("injection → Notify max (ms)", "/notify_ms/max"),
    ("messages timed", "/notify_ms/count"),
    ("messages without a notification", "/lost"),
];

/// Builds the release app and the benchmark driver, runs it `runs` times and writes `<results>/desktop.json`.
/// A failed build or run is recorded as the scenario's error, so the rest of a full bench still runs.
pub fn run_group(target: &Path, runs: usize, results: &Path) -> anyhow::Result<()> {
    let mut recorded = Vec::new();
    let app = target.join("release/simrelay-desktop");
    let bench = target.join("release/simrelay-desktop-bench");
    let prepared = prepare(target);
    for n in 1..=runs.max(1) {
        let shown = format!(
            "{} --app {} --messages {MESSAGES}",
            shown_path(&bench),
            shown_path(&app)
        );
        let load_before = machine::load();
        let (figures, error) = match &prepared {
            Err(e) => (None, Some(format!("{e:#}"))),
            Ok(()) => {
                eprintln!("xtask: {ID} run {n}/{runs}: {shown}");
                let output = Command::new(&bench)
                    .arg("--app")
                    .arg(&app)
                    .args(["--messages", MESSAGES])
                    .current_dir(root())
                    .output()
                    .with_context(|| format!("cannot start {}", bench.display()))?;
                let stdout = String::from_utf8_lossy(&output.stdout);
                let figures: Option<Value> = stdout
                    .lines()
                    .rev()
                    .find_map(|l| serde_json::from_str(l).ok());
                let error = if output.status.success() && figures.is_some() {
                    None
                } else {
                    // anyhow prints "Error: ..." and its causes before a backtrace; keep that part.
                    let stderr = String::from_utf8_lossy(&output.stderr);
                    let lines: Vec<&str> = stderr.lines().collect();
                    let from = lines
                        .iter()
                        .position(|l| l.starts_with("Error:"))
                        .unwrap_or(lines.len().saturating_sub(5));
                    Some(
                        lines[from..]
                            .iter()
                            .take(6)
                            .copied()
                            .collect::<Vec<_>>()
                            .join("\n"),
                    )
                };
                (figures, error)
            }
        };
        if let Some(e) = &error {
            eprintln!("xtask: {ID} run {n} failed: {e}");
        }
        recorded.push(json!({
            "command": shown,
            "load_before": load_before,
            "load_after": machine::load(),
            "figures": figures,
            "error": error,
        }));
        if prepared.is_err() {
            break;
        }
    }
    let value = json!({
        "id": ID,
        "revision": machine::revision(),
        "ui": ui_stamp(),
        "runs": recorded,
    });
    let file = results.join(format!("{ID}.json"));
    std::fs::write(&file, serde_json::to_string_pretty(&value)?)
        .with_context(|| format!("cannot write {}", file.display()))
}

/// The release app embeds `dist/` (through the engine's rust-embed), so the UI is built first when it is missing.
fn prepare(target: &Path) -> anyhow::Result<()> {
    if !root().join("dist/index.html").exists() {
        run(&mut Command::new(root().join("scripts/build-ui.sh")))?;
    }
    // Two builds, not one: built together, the packages' features unify differently from the app's own
    // build, and cargo would rebuild the whole Tauri stack a second time.
    run(Command::new("cargo")
        .args(["build", "--release", "-p", "simrelay-desktop"])
        .env("CARGO_TARGET_DIR", target))?;
    run(Command::new("cargo")
        .args([
            "build",
            "--release",
            "-p",
            "simrelay-e2e-desktop",
            "--bin",
            "simrelay-desktop-bench",
        ])
        .env("CARGO_TARGET_DIR", target))
}

/// When `dist/index.html` was last built, as the UI the app embedded.
fn ui_stamp() -> String {
    let output = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC", "-r"])
        .arg(root().join("dist/index.html"))
        .output();
    match output {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        _ => "unknown".into(),
    }
}

fn shown_path(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The section of BENCHMARKS.md.
pub fn render(results: &Path, cpus: f64) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "{HEADING}\n");
    md.push_str(METHOD);
    let recorded: Option<Value> = std::fs::read_to_string(results.join(format!("{ID}.json")))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let Some(recorded) = recorded else {
        let _ = writeln!(
            md,
            "Not run yet on this checkout (`cargo xtask bench {GROUP}`).\n"
        );
        return md;
    };
    let _ = writeln!(
        md,
        "Checkout {}; the UI embedded was built {}.\n",
        recorded["revision"].as_str().unwrap_or("?"),
        recorded["ui"].as_str().unwrap_or("?")
    );
    let runs = recorded["runs"].as_array().cloned().unwrap_or_default();
    let ok: Vec<&Value> = runs
        .iter()
        .filter_map(|r| r.get("figures").filter(|f| !f.is_null()))
        .collect();
    if ok.is_empty() {
        let last = runs
            .last()
            .and_then(|r| r["error"].as_str())
            .unwrap_or("(no output)");
        let _ = writeln!(
            md,
            "Every run failed; the last error:\n\n```text\n{last}\n```\n"
        );
    } else {
        let _ = writeln!(md, "| figure | min | median | max |\n|---|---|---|---|");
        for (label, pointer) in FIGURES {
            let values: Vec<f64> = ok
                .iter()
                .filter_map(|f| number(f.pointer(pointer)?))
                .collect();
            let cells = spread(&values).map_or_else(
                || "– | – | –".to_owned(),
                |(min, median, max)| format!("{} | {} | {}", fmt(min), fmt(median), fmt(max)),
            );
            let _ = writeln!(md, "| {label} | {cells} |");
        }
        md.push('\n');
        breakdown(&mut md, &ok);
    }
    let _ = writeln!(md, "Runs ({} of {} succeeded):\n", ok.len(), runs.len());
    for (n, run) in runs.iter().enumerate() {
        let _ = writeln!(
            md,
            "{}. `{}` — load {} → {}{} — {}",
            n + 1,
            run["command"].as_str().unwrap_or("?"),
            run["load_before"].as_str().unwrap_or("?"),
            run["load_after"].as_str().unwrap_or("?"),
            if busy(run["load_before"].as_str(), cpus) {
                " (**busy**)"
            } else {
                ""
            },
            if run["error"].is_null() {
                "ok"
            } else {
                "FAILED"
            }
        );
    }
    md.push('\n');
    md
}

/// Which processes the PSS and the wake-ups come from, in the run with the median tray PSS.
fn breakdown(md: &mut String, ok: &[&Value]) {
    let mut by_tray: Vec<&&Value> = ok.iter().collect();
    by_tray.sort_by(|a, b| {
        let pss = |v: &Value| number(&v["pss_tray"]["total_kib"]).unwrap_or(0.0);
        pss(a).total_cmp(&pss(b))
    });
    let Some(median) = by_tray.get((by_tray.len().saturating_sub(1)) / 2) else {
        return;
    };
    let processes = |v: &Value| -> String {
        v["processes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                format!(
                    "`{}` {:.1}",
                    p["comm"].as_str().unwrap_or("?"),
                    number(&p["pss_kib"]).unwrap_or(0.0) / 1024.0
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let wakers = |v: &Value| -> String {
        v["by_process"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                format!(
                    "`{}` {}",
                    p["comm"].as_str().unwrap_or("?"),
                    fmt(number(&p["per_s"]).unwrap_or(0.0))
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let left = median["left_after_close"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let _ = writeln!(md, "In the run with the median tray PSS:\n");
    let _ = writeln!(
        md,
        "- PSS by process (MiB), window open: {}",
        processes(&median["pss_open"])
    );
    let _ = writeln!(
        md,
        "- PSS by process (MiB), in the tray: {}",
        processes(&median["pss_tray"])
    );
    let _ = writeln!(
        md,
        "- processes left below the app 20 s after the window closed: {}",
        if left.is_empty() { "none" } else { &left }
    );
    let _ = writeln!(
        md,
        "- wake-ups per second by process, window open: {}",
        wakers(&median["wakeups_open"])
    );
    let _ = writeln!(
        md,
        "- wake-ups per second by process, in the tray: {}",
        wakers(&median["wakeups_tray"])
    );
    let _ = writeln!(
        md,
        "- Notify calls received: {} for {} messages (the app notifies each message with a code; it neither \
         rate-limits nor coalesces); threads of the app afterwards: {}\n",
        median["notify_calls"],
        median["messages"],
        median["threads_tray_after_notifications"]
    );
}

/// Replaces the desktop section of `markdown` (or inserts it before the micro-benchmarks) and drops the old
/// "Not measured here" section, whose two lines were about the desktop app.
pub fn splice(markdown: &str, section: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    let mut placed = false;
    for line in markdown.split_inclusive('\n') {
        if line.starts_with("## ") {
            let heading = line.trim_end();
            skipping = heading == HEADING || heading == "## Not measured here";
            let here = heading == HEADING
                || heading.starts_with("## Codec and extractor micro-benchmarks");
            if here && !placed {
                out.push_str(section);
                placed = true;
            }
        }
        if !skipping {
            out.push_str(line);
        }
    }
    if !placed {
        if !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str(section);
    }
    out
}

const METHOD: &str = "The release `simrelay-desktop` (the resident process: engine, tray, notifications; it links no \
WebKit or GTK) and the `simrelay-window` it starts (Tauri 2, WebKitGTK) run under a private Xvfb (1280×800×24, no \
window manager) and D-Bus session with the end-to-end tests' `org.freedesktop.Notifications` server \
(`tests/e2e-desktop`; no tray host runs, so the tray icon is served but shown nowhere), on a pty modem simulator the benchmark feeds, with a fresh store. \
`simrelay-desktop-bench` (`tests/e2e-desktop/src/bin/desktop-bench.rs`) does, per run:

- **launch → window mapped**: from spawning the binary to its window titled SimRelay being viewable on the X
  server (polled every 10 ms). **Launch → first message row**: a second launch on the same store (holding the
  run's messages) through tauri-driver, which has WebKitWebDriver start the app: from the WebDriver new-session
  request to the first `li.msg` in the window's document (polled every 20 ms); it includes WebKitWebDriver's
  own start-up of the app, so it overstates a plain launch slightly.
- **PSS**: the sum of `Pss` in `/proc/PID/smaps_rollup` over every process the app started: the app, every
  process below it (`simrelay-window`, `WebKitWebProcess`, `WebKitNetworkProcess`, ...) and the orphans, whose
  parent exited (the benchmark is their subreaper, `PR_SET_CHILD_SUBREAPER`, so they are re-parented to it and
  told apart from its own helpers by the app's process group; they are listed in the JSON), 5 s after 5 warm-up messages (window open), and 5 s after
  the window was closed the way a window manager's \"×\" does (`WM_DELETE_WINDOW`) and the window process with
  WebKit's processes exited.
- **Wake-ups**: voluntary + involuntary context switches of all threads of all those processes over 10 s with
  nothing arriving (`/proc/PID/task/*/status`), window open and in the tray. They include the modem driver's
  periodic work, as `simrelay serve`'s footprint figure does (the status refresh runs only while the Modems
  screen is watched; the SIM sweep backs off); `simrelay serve`'s idle figure above uses a 120 s window.
- **Injection → Notify**: a message is handed to the simulated modem (phase 2+: it prints the PDU in a `+CMT`
  URC on the pty, acknowledged with `AT+CNMA` after the commit), to the notification server's handler receiving
  the `Notify` method call (both clocks in the benchmark process). 200 messages, each 30–60 ms after the
  previous one's notification (one at a time: the arrival patterns are the WebSocket latency benchmark's
  subject), with the app in the tray; each notification is expired by the server
  (`NotificationClosed`, reason 1) once timed, as a real server does after its timeout.

";

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_the_section_and_drops_not_measured() {
        let old = "# T\n\n## A\n\na\n\n## Codec and extractor micro-benchmarks (criterion)\n\nc\n\n## Not measured here\n\n- desktop\n";
        let section = format!("{HEADING}\n\nnew\n\n");
        let once = splice(old, &section);
        assert_eq!(
            once,
            format!("# T\n\n## A\n\na\n\n{HEADING}\n\nnew\n\n## Codec and extractor micro-benchmarks (criterion)\n\nc\n\n")
        );
        let newer = format!("{HEADING}\n\nnewer\n\n");
        let twice = splice(&once, &newer);
        assert_eq!(twice, once.replace("new\n", "newer\n"));
    }
}
