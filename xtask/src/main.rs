//! `cargo xtask`: SimRelay's task runner.
//!
//! - `cargo xtask bench [GROUP...] [--runs N]` builds the engine and the benchmark driver in release mode,
//!   runs each benchmark scenario N times (default 3), keeps every run's figures under
//!   `<target>/bench-results/`, and rewrites `BENCHMARKS.md` from all results there. Groups: `latency` (or one
//!   arrival pattern: `latency-spaced`, `latency-uniform`, `latency-poisson`, `latency-multipart`), `baseline`,
//!   `fanout`, `ingest`, `footprint` (`idle`: SimRelay's alone), `search`, `criterion`, `relay` (MQTT latency
//!   and the webhook outbox; needs `mosquitto`), `cluster` (PostgreSQL: ingest, node-to-node latency, search;
//!   needs `postgresql`), `desktop` (default: all). `desktop` alone
//!   rewrites only its own section of `BENCHMARKS.md`. `--report-only` measures nothing and rewrites
//!   `BENCHMARKS.md` from the results already recorded.
//! - `cargo xtask soak` runs the fault tests with their long settings (`SIMRELAY_SOAK=1`).
//! - `cargo xtask package [--arch amd64|arm64]... [--debug] [--out DIR]` builds the Debian packages (the service
//!   for amd64 and the Raspberry Pi's arm64, the desktop app for amd64) into `<target>/packages/`
//!   (`package.rs`).
//! - `cargo xtask screenshots` runs the browser end-to-end tests in Chromium and copies their screenshots from
//!   `<target>/screenshots/chromium/` into `docs/screenshots/` (the README's pictures; a plain test run leaves the
//!   working tree alone).
//! - `cargo xtask otp-ablation` switches each rule of the OTP extractor off in turn and writes which corpus and peer
//!   cases it changes to `crates/otp/ABLATION.md`.
//!
//! The figures are only ever measured: nothing in BENCHMARKS.md is typed in by hand. A scenario with no results in
//! this target directory keeps its section from the previous BENCHMARKS.md, marked as carried over. Sections after the kept
//! marker (figures the test suite prints, such as the History scale test's) are carried over unchanged.

mod desktop;
mod machine;
mod otp_ablation;
mod package;
mod report;
mod scenarios;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => bench(&args[1..]),
        Some("soak") => soak(),
        Some("package") => package::run_task(&args[1..]),
        Some("screenshots") => screenshots(),
        Some("otp-ablation") => otp_ablation::run(&root()),
        _ => {
            eprintln!(
                "usage: cargo xtask bench [latency|latency-spaced|latency-uniform|latency-poisson|latency-multipart|baseline|fanout|ingest|footprint|idle|search|criterion|relay|cluster|desktop]... [--runs N] [--report-only]\n       cargo xtask soak\n       cargo xtask package [--arch amd64|arm64]... [--debug] [--out DIR]\n       cargo xtask screenshots\n       cargo xtask otp-ablation"
            );
            bail!("no task given")
        }
    }
}

/// The workspace root: xtask lives in `xtask/`.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `$CARGO_TARGET_DIR` or `<root>/target`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// Runs a command in the workspace root; fails unless it succeeds.
fn run(command: &mut Command) -> anyhow::Result<()> {
    eprintln!("xtask: running {command:?}");
    let status = command
        .current_dir(root())
        .status()
        .with_context(|| format!("cannot start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

fn bench(args: &[String]) -> anyhow::Result<()> {
    let mut groups = Vec::new();
    let mut runs = 3;
    let mut report_only = false;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--runs" => {
                runs = iter
                    .next()
                    .context("--runs needs a number")?
                    .parse()
                    .context("--runs needs a number")?
            }
            "--report-only" => report_only = true,
            group if scenarios::GROUPS.contains(&group) => groups.push(group.to_owned()),
            other => bail!(
                "unknown benchmark group {other:?}; known: {}",
                scenarios::GROUPS.join(", ")
            ),
        }
    }
    if groups.is_empty() {
        groups = scenarios::GROUPS
            .iter()
            .filter(|g| !scenarios::COMPARISON_GROUPS.contains(g))
            .map(|g| (*g).to_owned())
            .collect();
    }
    if report_only {
        groups.clear();
    }
    if groups
        .iter()
        .any(|g| scenarios::COMPARISON_GROUPS.contains(&g.as_str()))
        && std::env::var_os("SIMRELAY_BIN").is_none()
    {
        bail!(
            "{} measure an older build: set SIMRELAY_BIN to its simrelay binary",
            scenarios::COMPARISON_GROUPS.join(", ")
        );
    }
    let target = target_dir();
    let results = target.join("bench-results");
    std::fs::create_dir_all(&results)
        .with_context(|| format!("cannot create {}", results.display()))?;
    let desktop_only = !report_only && groups.iter().all(|g| g == desktop::GROUP);
    if !desktop_only && !report_only {
        let env = scenarios::Env::prepare(&target, &groups)?;
        let software = serde_json::json!({
            "simrelay": env.simrelay.display().to_string(),
            "simrelay_given": std::env::var_os("SIMRELAY_BIN").is_some(),
            "revision": machine::revision(),
        });
        std::fs::write(results.join("software.json"), software.to_string())
            .with_context(|| format!("cannot write {}", results.display()))?;
        for scenario in scenarios::all() {
            if groups.iter().any(|g| scenario.groups.contains(&g.as_str())) {
                scenarios::run_scenario(&env, &scenario, runs, &results)?;
            }
        }
        if groups.iter().any(|g| g == "criterion") {
            scenarios::run_criterion(&target, &results)?;
        }
    }
    if groups.iter().any(|g| g == desktop::GROUP) {
        desktop::run_group(&target, runs, &results)?;
    }
    let out = root().join("BENCHMARKS.md");
    let markdown = if desktop_only {
        // The other sections keep the figures of whichever target directory wrote them.
        let current = std::fs::read_to_string(&out)
            .with_context(|| format!("cannot read {}", out.display()))?;
        let cpus = machine::describe().cpus.parse().unwrap_or(1.0);
        desktop::splice(&current, &desktop::render(&results, cpus))
    } else {
        let current = std::fs::read_to_string(&out).ok();
        let mut markdown = report::render(&results, &machine::describe())?;
        // Scenarios not measured in this target directory keep their last figures, said to be carried over.
        if let Some(current) = &current {
            markdown = carry_over(&markdown, current);
        }
        // Figures another tool measured (the test suite) stay below the marker, untouched.
        if let Some(kept) = current
            .as_deref()
            .and_then(|current| kept_tail(current).map(str::to_owned))
        {
            markdown.push('\n');
            markdown.push_str(&kept);
        }
        markdown
    };
    std::fs::write(&out, markdown).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!("xtask: wrote {}", out.display());
    Ok(())
}

/// Marks where BENCHMARKS.md's sections written by hand from the test suite's output begin; the report keeps
/// everything from it on.
const KEPT_MARKER: &str =
    "<!-- Sections below come from the test suite's output; cargo xtask bench keeps them. -->";

/// The part of `markdown` from [`KEPT_MARKER`] on.
fn kept_tail(markdown: &str) -> Option<&str> {
    markdown.find(KEPT_MARKER).map(|at| &markdown[at..])
}

/// What the report says of a scenario with no results in this target directory.
const NOT_RUN: &str = "Not run yet on this checkout";

/// Says where carried-over figures come from.
const CARRIED: &str =
    "_Not re-measured on this checkout: the figures below are carried over from the previous \
     BENCHMARKS.md (their commands and load averages are those of the runs that measured them)._";

/// `fresh` with each section that was not run (its body says [`NOT_RUN`]) replaced by the same section of
/// `previous`, if that one has figures, marked as carried over. Sections are found by their `## ` heading.
fn carry_over(fresh: &str, previous: &str) -> String {
    let previous = previous
        .find(KEPT_MARKER)
        .map_or(previous, |at| &previous[..at]);
    let old = sections(previous);
    let mut out = String::new();
    for (heading, body) in sections(fresh) {
        out.push_str(heading);
        let carried = body
            .contains(NOT_RUN)
            .then(|| old.iter().find(|(h, _)| h.trim_end() == heading.trim_end()))
            .flatten()
            .filter(|(_, b)| !b.contains(NOT_RUN));
        match carried {
            Some((_, old_body)) => {
                let old_body = old_body.trim_start_matches('\n');
                let old_body = old_body.strip_prefix(CARRIED).unwrap_or(old_body);
                out.push('\n');
                out.push_str(CARRIED);
                out.push_str("\n\n");
                out.push_str(old_body.trim_start_matches('\n'));
            }
            None => out.push_str(body),
        }
    }
    out
}

/// The sections of `markdown`: each `## ` heading line (the text before the first one has an empty heading)
/// and the body up to the next.
fn sections(markdown: &str) -> Vec<(&str, &str)> {
    let mut bounds = vec![0];
    bounds.extend(markdown.match_indices("\n## ").map(|(at, _)| at + 1));
    bounds.push(markdown.len());
    bounds.dedup();
    bounds
        .windows(2)
        .map(|w| {
            let part = &markdown[w[0]..w[1]];
            if part.starts_with("## ") {
                let end = part.find('\n').map_or(part.len(), |n| n + 1);
                (&part[..end], &part[end..])
            } else {
                ("", part)
            }
        })
        .collect()
}

fn soak() -> anyhow::Result<()> {
    run(Command::new("cargo")
        .args(["build", "-p", "simrelay-engine"])
        .env("CARGO_TARGET_DIR", target_dir()))?;
    run(Command::new("cargo")
        .args(["test", "-p", "simrelay-fault-tests", "--", "--nocapture"])
        .env("CARGO_TARGET_DIR", target_dir())
        .env("SIMRELAY_BIN", target_dir().join("debug/simrelay"))
        .env("SIMRELAY_SOAK", "1"))
}

/// Refreshes the README's pictures: the browser tests in Chromium write their screenshots to
/// `<target>/screenshots/chromium/`, which are then copied into `docs/screenshots/`.
fn screenshots() -> anyhow::Result<()> {
    let target = target_dir();
    run(&mut Command::new(root().join("scripts/build-ui.sh")))?;
    run(Command::new("cargo")
        .args(["build", "-p", "simrelay-engine"])
        .env("CARGO_TARGET_DIR", &target))?;
    let shots = target.join("screenshots/chromium");
    if shots.exists() {
        std::fs::remove_dir_all(&shots)
            .with_context(|| format!("cannot clear {}", shots.display()))?;
    }
    run(Command::new("cargo")
        .args(["test", "-p", "simrelay-e2e-browser"])
        .env("CARGO_TARGET_DIR", &target)
        .env("SIMRELAY_BIN", target.join("debug/simrelay"))
        .env("SIMRELAY_BROWSERS", "chromium")
        .env("SIMRELAY_DEFAULT_BROWSER", "chromium"))?;
    let docs = root().join("docs/screenshots");
    std::fs::create_dir_all(&docs).with_context(|| format!("cannot create {}", docs.display()))?;
    let mut copied = 0;
    for entry in
        std::fs::read_dir(&shots).with_context(|| format!("cannot list {}", shots.display()))?
    {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "png") {
            let name = path.file_name().context("a file name")?;
            std::fs::copy(&path, docs.join(name))
                .with_context(|| format!("cannot copy {}", path.display()))?;
            copied += 1;
        }
    }
    if copied == 0 {
        bail!("the tests wrote no screenshots into {}", shots.display());
    }
    eprintln!("xtask: copied {copied} screenshots into {}", docs.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_from_the_marker_is_kept_and_nothing_without_it() {
        let md = format!("# B\n\n## Latency\n\nx\n\n{KEPT_MARKER}\n\n## History\n\ny\n");
        let tail = kept_tail(&md).expect("marker found");
        assert!(tail.starts_with(KEPT_MARKER) && tail.ends_with("## History\n\ny\n"));
        assert_eq!(kept_tail("# B\n\n## Latency\n"), None);
    }

    #[test]
    fn a_section_not_run_keeps_its_last_figures_and_says_so() {
        let previous = "# B\n\n## A\n\n| a | 1 |\n\n## C\n\n| c | 3 |\n\n## Gone\n\nold\n";
        let fresh = format!(
            "# B\n\n## A\n\n| a | 2 |\n\n## C\n\n{NOT_RUN} (`x`).\n\n## New\n\n{NOT_RUN}.\n"
        );
        let out = carry_over(&fresh, previous);
        assert_eq!(
            out,
            format!("# B\n\n## A\n\n| a | 2 |\n\n## C\n\n{CARRIED}\n\n| c | 3 |\n\n## New\n\n{NOT_RUN}.\n")
        );
        // Carried twice, marked once.
        assert_eq!(carry_over(&fresh, &out), out);
    }
}
