//! `cargo xtask otp-ablation`: switches each rule of the OTP extractor off in turn and reports which development
//! corpus and peer cases change, so every rule shows what it is for (cases it gets right that would go wrong
//! without it) and what it costs (cases it gets wrong that would go right). Writes `crates/otp/ABLATION.md` and
//! prints its summary. Never touches the sealed split.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde_json::Value;
use simrelay_otp::{Rule, Rules, Tally};

struct Case {
    set: &'static str,
    text: String,
    gold: Option<String>,
    /// What the extractor answers with every rule on.
    full: Option<String>,
}

fn load(root: &Path, file: &str, set: &'static str) -> anyhow::Result<Vec<Case>> {
    let path = root.join("tests/data/otp").join(file);
    let data = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    data.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l)
                .with_context(|| format!("{}: a line is not JSON", path.display()))?;
            let text = v["text"]
                .as_str()
                .with_context(|| format!("{}: a line has no text", path.display()))?
                .to_owned();
            let full = simrelay_otp::extract(&text).map(|c| c.value);
            Ok(Case {
                set,
                gold: v["code"].as_str().map(str::to_owned),
                full,
                text,
            })
        })
        .collect()
}

fn label(v: Option<&str>) -> &str {
    v.unwrap_or("none")
}

/// One line of text for a table cell: newlines shown as ⏎, pipes escaped, at most 110 characters.
fn cell(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| match c {
            '\n' | '\r' => '⏎',
            '|' => '¦',
            c => c,
        })
        .collect();
    match flat.char_indices().nth(110) {
        Some((at, _)) => format!("{}…", &flat[..at]),
        None => flat,
    }
}

pub(crate) fn run(root: &Path) -> anyhow::Result<()> {
    let mut cases = load(root, "corpus.jsonl", "corpus")?;
    cases.extend(load(root, "peer.jsonl", "peer")?);
    let mut summary = String::new();
    let mut details = String::new();
    let mut base = [Tally::default(), Tally::default()];
    for c in &cases {
        base[usize::from(c.set == "peer")].add(c.gold.as_deref(), c.full.as_deref());
    }
    writeln!(
        summary,
        "| rule | what it does | cases it changes | needed for (right → wrong without it) | costs (wrong → right without it) | corpus without it | peer without it |\n|---|---|---|---|---|---|---|"
    )?;
    for rule in Rule::ALL {
        let rules = Rules::ALL.without(rule);
        let mut scores = [Tally::default(), Tally::default()];
        let (mut needed, mut costs, mut changed) = (0, 0, 0);
        let mut rows = String::new();
        for c in &cases {
            let got = simrelay_otp::analyse_with(&c.text, rules)
                .code
                .map(|k| k.value);
            scores[usize::from(c.set == "peer")].add(c.gold.as_deref(), got.as_deref());
            if got == c.full {
                continue;
            }
            changed += 1;
            let effect = if c.full == c.gold {
                needed += 1;
                "needed"
            } else if got == c.gold {
                costs += 1;
                "costs"
            } else {
                "other"
            };
            writeln!(
                rows,
                "| {} | {effect} | {} | {} | {} | {} |",
                c.set,
                label(c.gold.as_deref()),
                label(c.full.as_deref()),
                label(got.as_deref()),
                cell(&c.text)
            )?;
        }
        writeln!(
            summary,
            "| `{}` | {} | {changed} | {needed} | {costs} | {} | {} |",
            rule.name(),
            rule.describe(),
            figures(&scores[0]),
            figures(&scores[1])
        )?;
        if !rows.is_empty() {
            writeln!(
                details,
                "\n### `{}`\n\n| set | effect | label | with the rule | without | message |\n|---|---|---|---|---|---|\n{rows}",
                rule.name()
            )?;
        }
    }
    let corpus_n = cases.iter().filter(|c| c.set == "corpus").count();
    let report = format!(
        "# OTP extractor ablation\n\nWritten by `cargo xtask otp-ablation`: each rule switched off in turn, on the \
         development corpus ({corpus_n} messages) and the peer set ({} messages); the sealed split is never used. \
         With every rule on: corpus {}, peer {}.\n\n\
         \"Needed for\" counts cases the rule gets right that would go wrong without it; \"costs\" counts cases it \
         gets wrong that would go right without it.\n\n{summary}\n## Cases each rule changes\n{details}",
        cases.len() - corpus_n,
        figures(&base[0]),
        figures(&base[1]),
    );
    let out = root.join("crates/otp/ABLATION.md");
    std::fs::write(&out, &report).with_context(|| format!("cannot write {}", out.display()))?;
    println!("{summary}");
    eprintln!("xtask: wrote {}", out.display());
    Ok(())
}

/// Precision and recall in the report's short form.
fn figures(tally: &Tally) -> String {
    format!(
        "P {:.2} % R {:.2} %",
        100.0 * tally.precision(),
        100.0 * tally.recall()
    )
}
