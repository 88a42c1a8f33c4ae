//! The record of one extraction: every phrase and candidate found and the reasons each candidate won or lost. Used
//! for debugging the rules and printed by `simrelay extract --explain` (as JSON with the `serde` feature, or as text).

use std::fmt;
use std::ops::Range;

use crate::keywords::PhraseClass;
use crate::{Alternative, Code, CodeKind};

/// Everything [`crate::explain`] found in a message.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Explanation {
    /// The extracted code, exactly what [`crate::extract`] returns.
    pub code: Option<Code>,
    /// Other plausible codes, best first, as in [`crate::Extraction::alternatives`].
    pub alternatives: Vec<Alternative>,
    /// Every phrase of the keyword table found in the message.
    pub phrases: Vec<PhraseHit>,
    /// Every candidate, in text order.
    pub candidates: Vec<CandidateReport>,
}

/// A phrase of the keyword table found in the message.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PhraseHit {
    /// The phrase as written in the message.
    pub text: String,
    /// What the phrase says about nearby numbers.
    pub class: PhraseClass,
    /// Byte range in the original message.
    pub span: Range<usize>,
}

/// One string that could have been the code.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CandidateReport {
    /// The normalised value, as [`Code::value`] would hold it.
    pub value: String,
    /// Byte range in the original message.
    pub span: Range<usize>,
    /// Digits only, or letters and digits.
    pub kind: CodeKind,
    /// Sum of the effects of all reasons; the highest score at or above the threshold wins.
    pub score: f32,
    /// How this candidate fared.
    pub outcome: Outcome,
    /// The rules that applied, in the order they were evaluated.
    pub reasons: Vec<Reason>,
}

/// How a candidate fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Outcome {
    /// Extracted.
    Won,
    /// Acceptable on its own, but another candidate scored higher.
    Lost,
    /// Vetoed by its shape or context, or scored below the threshold.
    Rejected,
}

/// One rule's effect on a candidate's score.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Reason {
    /// Short rule name ("shape", "keyword", "card", "veto", ...).
    pub rule: &'static str,
    /// Change of the score; vetoes use a large negative number.
    pub effect: f32,
    /// Human-readable detail.
    pub detail: String,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(c) => {
                write!(
                    f,
                    "code: {} ({}, confidence {:.2}, bytes {}..{})",
                    c.value,
                    c.kind.name(),
                    c.confidence,
                    c.span.start,
                    c.span.end
                )?;
                match &c.origin {
                    Some(o) => writeln!(f, " for {}, origin-bound", o.describe())?,
                    None => writeln!(f)?,
                }
            }
            None => writeln!(f, "code: none")?,
        }
        for a in &self.alternatives {
            writeln!(
                f,
                "alternative: {} (confidence {:.2}, bytes {}..{})",
                a.value, a.confidence, a.span.start, a.span.end
            )?;
        }
        if self.phrases.is_empty() {
            writeln!(f, "phrases: none")?;
        } else {
            writeln!(f, "phrases:")?;
            for p in &self.phrases {
                writeln!(
                    f,
                    "  {:?} [{}] at {}..{}",
                    p.text,
                    p.class.name(),
                    p.span.start,
                    p.span.end
                )?;
            }
        }
        if self.candidates.is_empty() {
            writeln!(f, "candidates: none")?;
        }
        for c in &self.candidates {
            let outcome = match c.outcome {
                Outcome::Won => "WON",
                Outcome::Lost => "lost",
                Outcome::Rejected => "rejected",
            };
            writeln!(
                f,
                "{outcome} {:?} (score {:.2}, bytes {}..{})",
                c.value, c.score, c.span.start, c.span.end
            )?;
            for r in &c.reasons {
                writeln!(f, "    {:>+7.2} {}: {}", r.effect, r.rule, r.detail)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn display_names_winner_and_losers_with_reasons() {
        let text = crate::explain("Card ending 4821. Your code is 551203.").to_string();
        assert!(text.starts_with("code: 551203 (numeric"), "{text}");
        assert!(text.contains("WON \"551203\""), "{text}");
        assert!(text.contains("rejected \"4821\""), "{text}");
        assert!(
            text.contains("card: the end of a card or account number"),
            "{text}"
        );
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serialises_to_json_for_the_cli() {
        let json = serde_json::to_value(crate::explain("Your code is 551203")).unwrap();
        assert_eq!(json["code"]["value"], "551203");
        assert_eq!(json["code"]["kind"], "numeric");
        assert_eq!(json["code"]["span"]["start"], 13);
        assert_eq!(json["candidates"][0]["outcome"], "won");
        assert_eq!(json["phrases"][0]["class"], "code");
    }
}
