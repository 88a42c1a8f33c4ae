//! Scores the extractor on the project's labelled development corpus (`tests/data/otp/corpus.jsonl`: messages written
//! for SimRelay and messages from other extractors' public bug reports, each with its source) and on other
//! extractors' test suites (`tests/data/otp/peer.jsonl`), printing precision and recall overall and per language.
//! Both sets must reach their thresholds; every disagreement with a peer label must have a reviewed reason in
//! `tests/data/otp/peer_disagreements.tsv`; no corpus line may copy a peer case; families of rewritten messages
//! (other code lengths and scripts, dates, phone numbers, references around the code) keep their code. The held-out split
//! (`tests/data/otp/sealed/`) is scored by `tests/sealed.rs` only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use simrelay_otp::Tally;

const MIN_PRECISION: f64 = 0.99;
const MIN_RECALL: f64 = 0.97;
/// The peer suites label by their own rules (10-digit placeholders, letters-only codes); what we keep differently is
/// reviewed case by case, so the thresholds leave room for exactly those.
const MIN_PEER_PRECISION: f64 = 0.97;
const MIN_PEER_RECALL: f64 = 0.93;

struct Case {
    text: String,
    code: Option<String>,
    lang: String,
    tags: Vec<String>,
    source: Option<String>,
}

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(path: &std::path::Path) -> Vec<Case> {
    let data = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{} cannot be read ({e}): it is part of the repository; restore it with `git checkout -- {}`",
            path.display(),
            path.display()
        )
    });
    data.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"));
            Case {
                text: v["text"].as_str().expect("text").to_owned(),
                code: v["code"].as_str().map(str::to_owned),
                lang: v["lang"].as_str().unwrap_or("?").to_owned(),
                tags: v["tags"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|t| t.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                source: v["source"].as_str().map(str::to_owned),
            }
        })
        .collect()
}

/// Text with digits and spacing normalised, so a copy with a changed code or name still compares equal.
fn shape_of(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c.is_numeric() { '0' } else { c })
        .flat_map(char::to_lowercase)
        .collect()
}

/// The seed-tutorial extractor the issue compares against: the first `\b(\d{4,6})\b`.
fn naive(text: &str) -> Option<String> {
    let re = regex::Regex::new(r"\b(\d{4,6})\b").unwrap();
    re.captures(text).map(|c| c[1].to_owned())
}

#[test]
fn project_corpus_meets_precision_and_recall() {
    let path = manifest().join("../../tests/data/otp/corpus.jsonl");
    let cases = load(&path);
    let langs: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.lang.as_str()).collect();
    let count = |tag: &str| {
        cases
            .iter()
            .filter(|c| c.tags.iter().any(|t| t == tag))
            .count()
    };
    println!(
        "corpus: {} messages, {} languages, {} hard negatives, {} tricky",
        cases.len(),
        langs.len(),
        count("negative"),
        count("tricky")
    );

    // Where every line came from: written for SimRelay, a public bug report named by its URL, a service's message
    // format, or a locale of Android's OTP keyword list the message was written around.
    for c in &cases {
        let source = c.source.as_deref().unwrap_or_default();
        assert!(
            source == "simrelay"
                || source.starts_with("issue: https://")
                || source.starts_with("format: ")
                || source.starts_with("aosp: "),
            "corpus line without a known source: {:?}",
            c.text
        );
    }
    // Peer cases belong to the peer set only.
    let peer = load(&manifest().join("../../tests/data/otp/peer.jsonl"));
    let peer_shapes: std::collections::HashSet<String> =
        peer.iter().map(|c| shape_of(&c.text)).collect();
    for c in &cases {
        assert!(
            !peer_shapes.contains(&shape_of(&c.text)),
            "corpus line copies a peer case (keep it in peer.jsonl only): {:?}",
            c.text
        );
    }

    let mut overall = Tally::default();
    let mut naive_score = Tally::default();
    let mut per_lang: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut per_source: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut failures = Vec::new();
    for c in &cases {
        // Labels must be consistent with the tags they carry.
        let tricky = c.tags.iter().any(|t| t == "tricky");
        assert_eq!(
            tricky,
            naive(&c.text) != c.code,
            "tricky tag wrong for {:?}",
            c.text
        );
        if c.tags.iter().any(|t| t == "negative") {
            assert!(c.code.is_none(), "negative with a code: {:?}", c.text);
        }

        let got = simrelay_otp::extract(&c.text);
        if let Some(code) = &got {
            // The span must point at the code in the original text.
            let shown = &c.text[code.span.clone()];
            assert!(!shown.is_empty(), "empty span for {:?}", c.text);
            assert!(code.confidence > 0.0 && code.confidence <= 1.0);
        }
        // An origin-bound message is parsed, never guessed.
        if c.tags.iter().any(|t| t == "origin") {
            let origin = got.as_ref().and_then(|code| code.origin.as_ref());
            assert!(
                origin.is_some(),
                "origin-bound line not parsed: {:?}",
                c.text
            );
        }
        let analysed = simrelay_otp::analyse(&c.text);
        assert_eq!(analysed.code, got, "analyse disagrees on {:?}", c.text);
        for a in &analysed.alternatives {
            assert!(!c.text[a.span.clone()].is_empty(), "{:?}", c.text);
            assert!(got.as_ref().is_none_or(|k| k.value != a.value));
        }
        assert_eq!(
            simrelay_otp::explain(&c.text).code,
            got,
            "explain disagrees on {:?}",
            c.text
        );
        let got = got.map(|c| c.value);
        overall.add(c.code.as_deref(), got.as_deref());
        per_lang
            .entry(&c.lang)
            .or_default()
            .add(c.code.as_deref(), got.as_deref());
        let source = c.source.as_deref().unwrap_or_default();
        per_source
            .entry(source.split(':').next().unwrap_or(source))
            .or_default()
            .add(c.code.as_deref(), got.as_deref());
        naive_score.add(c.code.as_deref(), naive(&c.text).as_deref());
        if got != c.code {
            failures.push(format!(
                "  [{}] expected {:?}, got {:?}: {:?}",
                c.lang, c.code, got, c.text
            ));
        }
    }
    println!("{}", overall.line("overall"));
    for (source, s) in &per_source {
        println!("{}", s.line(source));
    }
    for (lang, s) in &per_lang {
        println!("{}", s.line(lang));
    }
    println!("{}", naive_score.line("naive"));
    for f in &failures {
        println!("{f}");
    }
    assert!(cases.len() >= 400, "corpus too small");
    assert!(langs.len() >= 25, "too few languages");
    assert!(count("negative") >= 150, "too few hard negatives");
    assert!(count("tricky") >= 60, "too few tricky messages");
    assert!(
        overall.precision() >= MIN_PRECISION,
        "precision below {MIN_PRECISION}"
    );
    assert!(overall.recall() >= MIN_RECALL, "recall below {MIN_RECALL}");
}

/// Reviewed reasons for peer labels we disagree with: `text (\n escaped) <TAB> peer label <TAB> ours <TAB> reason`.
fn reviewed_disagreements() -> BTreeMap<String, (String, String, String)> {
    let path = manifest().join("../../tests/data/otp/peer_disagreements.tsv");
    let data = std::fs::read_to_string(&path).unwrap_or_default();
    data.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 4, "bad line in peer_disagreements.tsv: {l}");
            (
                cols[0].replace("\\n", "\n"),
                (cols[1].to_owned(), cols[2].to_owned(), cols[3].to_owned()),
            )
        })
        .collect()
}

fn label(v: Option<&str>) -> String {
    v.unwrap_or("null").to_owned()
}

#[test]
fn peer_cases_score_and_reviewed_disagreements() {
    let cases = load(&manifest().join("../../tests/data/otp/peer.jsonl"));
    assert!(cases.len() >= 150, "peer set too small");
    for c in &cases {
        assert!(
            c.source.as_deref().is_some_and(|s| s.contains('@')),
            "peer case without its repository@commit: {:?}",
            c.text
        );
    }
    let reviewed = reviewed_disagreements();
    let mut score = Tally::default();
    let mut unexplained = Vec::new();
    let mut explained = 0;
    for c in &cases {
        let got = simrelay_otp::extract(&c.text).map(|c| c.value);
        score.add(c.code.as_deref(), got.as_deref());
        if got == c.code {
            continue;
        }
        let (peer, ours) = (label(c.code.as_deref()), label(got.as_deref()));
        match reviewed.get(&c.text) {
            Some((p, o, reason)) if *p == peer && *o == ours => {
                explained += 1;
                println!("  disagree: peer {peer}, ours {ours}: {reason}");
            }
            _ => unexplained.push(format!(
                "{}\t{peer}\t{ours}\t<reason>",
                c.text.replace('\n', "\\n")
            )),
        }
    }
    println!("{}", score.line("peer"));
    println!("{explained} reviewed disagreements");
    let stale: Vec<&String> = reviewed
        .keys()
        .filter(|t| {
            cases
                .iter()
                .any(|c| &&c.text == t && simrelay_otp::extract(&c.text).map(|c| c.value) == c.code)
        })
        .collect();
    assert!(
        stale.is_empty(),
        "reviewed disagreements that now agree (remove them): {stale:#?}"
    );
    assert!(
        unexplained.is_empty(),
        "unreviewed disagreements:\n{}",
        unexplained.join("\n")
    );
    assert!(
        score.precision() >= MIN_PEER_PRECISION,
        "peer precision below {MIN_PEER_PRECISION}"
    );
    assert!(
        score.recall() >= MIN_PEER_RECALL,
        "peer recall below {MIN_PEER_RECALL}"
    );
}

/// The shapes other extractors' users report, as families rather than single cases: every corpus message with a
/// numeric code is rewritten the way real messages vary (another code length, the code in another script's digits
/// or in brackets, a date before it, a phone number, reference or card ending after it) and must keep its code.
/// A family may lose at most 1 % of its variants (the rewrites are mechanical, so a few read oddly).
#[test]
fn families_of_variants_keep_their_code() {
    let cases = load(&manifest().join("../../tests/data/otp/corpus.jsonl"));
    type Variant = fn(&str, &str) -> Option<(String, String)>;
    fn script(code: &str, zero: u32) -> String {
        code.chars()
            .map(|c| char::from_u32(zero + c.to_digit(10).unwrap_or(0)).unwrap_or(c))
            .collect()
    }
    let families: [(&str, Variant); 12] = [
        ("4 digits", |t, c| {
            Some((t.replace(c, "7391"), "7391".into()))
        }),
        ("5 digits", |t, c| {
            Some((t.replace(c, "73915"), "73915".into()))
        }),
        ("7 digits", |t, c| {
            Some((t.replace(c, "7391582"), "7391582".into()))
        }),
        ("8 digits", |t, c| {
            Some((t.replace(c, "73915824"), "73915824".into()))
        }),
        ("arabic-indic digits", |t, c| {
            Some((t.replace(c, &script(c, 0x0660)), c.into()))
        }),
        ("persian digits", |t, c| {
            Some((t.replace(c, &script(c, 0x06F0)), c.into()))
        }),
        ("full-width digits", |t, c| {
            Some((t.replace(c, &script(c, 0xFF10)), c.into()))
        }),
        ("in brackets", |t, c| {
            Some((t.replace(c, &format!("[{c}]")), c.into()))
        }),
        ("date and time before", |t, c| {
            Some((format!("12.05.2024 10:18 {t}"), c.into()))
        }),
        ("phone number after", |t, c| {
            Some((format!("{t}\nNot you? Call 0800 123 4567."), c.into()))
        }),
        ("reference after", |t, c| {
            Some((format!("{t}\nRef: 55881234"), c.into()))
        }),
        ("card ending after", |t, c| {
            Some((format!("{t}\nCard ending 4821, amount $12.00."), c.into()))
        }),
    ];
    let mut report = Vec::new();
    for (name, variant) in families {
        let (mut n, mut lost) = (0, Vec::new());
        for c in &cases {
            let Some(code) = c.code.as_deref() else {
                continue;
            };
            // Only messages that write the code once, as plain ASCII digits where it is extracted, outside an
            // origin-bound line.
            let plain = code.bytes().all(|b| b.is_ascii_digit());
            let written = simrelay_otp::extract(&c.text).is_some_and(|k| c.text[k.span] == *code);
            if !plain
                || !written
                || c.text.matches(code).count() != 1
                || c.tags.iter().any(|t| t == "origin")
            {
                continue;
            }
            let Some((text, want)) = variant(&c.text, code) else {
                continue;
            };
            n += 1;
            let got = simrelay_otp::extract(&text).map(|k| k.value);
            if got.as_deref() != Some(want.as_str()) {
                lost.push(format!("    got {got:?}, want {want}: {text:?}"));
            }
        }
        println!("{name:<22} {} of {n} variants lost", lost.len());
        for l in &lost {
            println!("{l}");
        }
        if lost.len() * 100 > n {
            report.push(format!("{name}: {} of {n}", lost.len()));
        }
    }
    assert!(
        report.is_empty(),
        "families losing more than 1 %: {report:?}"
    );
}
