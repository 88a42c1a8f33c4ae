//! Extracts the one-time verification code from an SMS.
//!
//! The extractor looks for strings shaped like a code (4–8 digits, letters and digits with at least one digit,
//! grouped forms such as `123 456` or `K7P-2QX`), then weighs each one with general rules: how close a code word
//! of one of many languages is ("code", "OTP", "验证码", "인증번호", "رمز"), whether its own shape rules it out (a
//! decimal, a date, a time, a masked card number), whether a negative context points at it (an amount, a card or
//! account ending, a phone number, an order or tracking number, a promo code, an expired code), whether sales talk
//! shares its sentence ("at checkout", "25%": each sign costs a little, so a clearly presented code still wins),
//! and whether it stands alone on its line. The highest score above a threshold wins; without a keyword nothing is
//! extracted, because copying a wrong number is worse than copying none.
//!
//! A message in the WICG origin-bound format (`@example.com #123456` on its last line) is parsed exactly instead:
//! its code comes with the [`Origin`] it is for, and no heuristic overrides it. [`analyse`] also lists the other
//! plausible codes ([`Alternative`]s, for a user who says "not this one"), and [`Extraction::corrected`] applies a
//! user's [`Correction`] ("this sender's code is the 8-digit one", "this sender never sends codes"). Every rule has
//! a switch ([`Rule`], [`analyse_with`]) so `cargo xtask otp-ablation` can show what each one changes.
//!
//! All phrases come from a table (`src/keywords.tsv`, one `language<TAB>class<TAB>phrase | phrase` line per
//! language and class, 70+ languages) embedded at compile time; [`languages`] lists the languages it covers and
//! [`PhraseClass`] documents the classes. A `morphology` line per language says whether it attaches endings to its
//! words or writes compounds as one word, so one phrase covers "kód", "kódot" and "kódszám", or "კოდი" and
//! "კოდით"; phrases in scripts written without spaces (Thai, Burmese, Han, Kana) need no word boundary, and a
//! letter of such a script is one for any phrase ("OTPမှာ"). The crate is pure: no I/O, no global state except the phrase automaton
//! built once on first use (a `LazyLock`), and it builds for `wasm32-unknown-unknown`. Input longer than 64 KiB
//! (far more than any SMS) is examined only up to that length.
//!
//! Feature `serde` makes [`Code`] and [`Explanation`] serialisable (`simrelay extract --explain` prints JSON).
//!
//! ```
//! use simrelay_otp::{extract, CodeKind};
//!
//! let text = "Your card ending 4821 was charged $12.00. Verification code: 593 021";
//! let code = extract(text).unwrap();
//! assert_eq!(code.value, "593021");
//! assert_eq!(&text[code.span.clone()], "593 021");
//! assert_eq!(code.kind, CodeKind::Numeric);
//!
//! assert_eq!(extract("Never share your verification code with anyone."), None);
//!
//! // An origin-bound message names the site its code is for.
//! let bound = extract("747723 is your ExampleCo code.\n\n@example.com #747723").unwrap();
//! assert_eq!(bound.origin.unwrap().host, "example.com");
//!
//! // Other plausible codes, for a user who says "not this one".
//! let found = simrelay_otp::analyse("Security code: 55102288\nVerification code: 482913");
//! assert_eq!(found.code.unwrap().value, "482913");
//! assert_eq!(found.alternatives[0].value, "55102288");
//!
//! // Every candidate and why it won or lost, for debugging.
//! let why = simrelay_otp::explain(text);
//! assert!(why.to_string().contains("card"));
//! ```

// Tests may unwrap: a panic there is a failed assertion.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod candidates;
mod correction;
mod explain;
mod fold;
mod keywords;
mod origin;
mod rules;
mod score;
mod tally;

use std::ops::Range;

pub use correction::{CodeShape, Correction};
pub use explain::{CandidateReport, Explanation, Outcome, PhraseHit, Reason};
pub use keywords::{languages, PhraseClass};
pub use origin::Origin;
pub use rules::{Rule, Rules};
use score::Mode;
pub use tally::Tally;

/// A one-time code found in a message.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Code {
    /// What the user types: group separators and service prefixes removed, digits of any script mapped to ASCII,
    /// letter case and leading zeros kept. An origin-bound code is kept exactly as the message writes it.
    pub value: String,
    /// Byte range of the code in the original text, for highlighting. For a grouped code it covers the separators;
    /// a dropped service prefix ("G-") is not included.
    pub span: Range<usize>,
    /// Between 0 and 1: how clearly the message presents this as its code (1 for an origin-bound code).
    pub confidence: f32,
    /// Digits only, or letters and digits.
    pub kind: CodeKind,
    /// The site the code is for, when the message is an origin-bound one (`@example.com #123456` on its last line).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub origin: Option<Origin>,
}

/// Another string of the message that could be its code.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Alternative {
    /// What the user would type, normalised as [`Code::value`].
    pub value: String,
    /// Byte range in the original text.
    pub span: Range<usize>,
    /// Between 0 and 1, never above the code's own confidence.
    pub confidence: f32,
    /// Digits only, or letters and digits.
    pub kind: CodeKind,
}

/// Everything [`analyse`] finds: the code, and the other plausible codes a user could pick instead.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Extraction {
    /// The code, exactly what [`extract`] returns.
    pub code: Option<Code>,
    /// Other plausible codes (not vetoed, with some keyword or layout evidence), best first, at most five; never
    /// the code's value. Present also when no code was extracted.
    pub alternatives: Vec<Alternative>,
}

/// The kind of characters in a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum CodeKind {
    /// Digits only.
    Numeric,
    /// Letters and digits (at least one digit).
    Alphanumeric,
}

impl CodeKind {
    /// `"numeric"` or `"alphanumeric"`.
    pub fn name(self) -> &'static str {
        match self {
            CodeKind::Numeric => "numeric",
            CodeKind::Alphanumeric => "alphanumeric",
        }
    }

    /// The kind named `name` ([`CodeKind::name`]).
    pub fn from_name(name: &str) -> Option<CodeKind> {
        match name {
            "numeric" => Some(CodeKind::Numeric),
            "alphanumeric" => Some(CodeKind::Alphanumeric),
            _ => None,
        }
    }
}

/// The verification code in `text`, if the message clearly carries one.
#[must_use]
pub fn extract(text: &str) -> Option<Code> {
    score::analyse(text, Rules::ALL, Mode::Code).code
}

/// The code in `text` and the other plausible codes; `analyse(t).code == extract(t)`.
#[must_use]
pub fn analyse(text: &str) -> Extraction {
    analyse_with(text, Rules::ALL)
}

/// [`analyse`] with some rules switched off: for ablation studies (`cargo xtask otp-ablation`) and tests.
#[must_use]
pub fn analyse_with(text: &str, rules: Rules) -> Extraction {
    let e = score::analyse(text, rules, Mode::Alternatives);
    Extraction {
        code: e.code,
        alternatives: e.alternatives,
    }
}

/// Every candidate in `text` with the reasons it won or lost; `explain(t).code == extract(t)`.
#[must_use]
pub fn explain(text: &str) -> Explanation {
    explain_with(text, Rules::ALL)
}

/// [`explain`] with some rules switched off.
#[must_use]
pub fn explain_with(text: &str, rules: Rules) -> Explanation {
    score::analyse(text, rules, Mode::Explain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Option<String> {
        extract(text).map(|c| c.value)
    }

    #[test]
    fn typical_codes() {
        assert_eq!(
            value("Your verification code is 482913."),
            Some("482913".into())
        );
        assert_eq!(value("482913 is your login code"), Some("482913".into()));
        assert_eq!(
            value("G-583014 is your Google verification code."),
            Some("583014".into())
        );
        assert_eq!(
            value("【京东】验证码：６６１２０３，请勿泄露"),
            Some("661203".into())
        );
        assert_eq!(value("Your code: K7P-2QX"), Some("K7P2QX".into()));
        assert_eq!(value("OTP: 0042"), Some("0042".into()));
    }

    #[test]
    fn hard_negatives() {
        assert_eq!(value("Meet at 1830 at the station"), None);
        assert_eq!(value("Your card ending 4821 was charged $12.00"), None);
        assert_eq!(value("Use promo code SAVE20 for 20% off"), None);
        assert_eq!(value("Use code SPRING25 at checkout and save 25%!"), None);
        assert_eq!(value("Never share your code with anyone."), None);
        assert_eq!(value("Your code 482913 has expired."), None);
        assert_eq!(value("Questions? Call 0800 048 1173"), None);
    }

    #[test]
    fn span_points_into_the_original_text() {
        let text = "رمز التحقق: ٤٨٢٩١٣";
        let c = extract(text).unwrap();
        assert_eq!(c.value, "482913");
        assert_eq!(&text[c.span.clone()], "٤٨٢٩١٣");
    }

    #[test]
    fn explain_agrees_with_extract() {
        for t in [
            "Your code is 1234",
            "no code here",
            "card ending 4821, code 553190",
        ] {
            assert_eq!(explain(t).code, extract(t), "{t}");
        }
    }
}
