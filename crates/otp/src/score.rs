//! The rules that weigh each candidate: a shape prior (six digits is the typical code, a lone alphanumeric word is
//! not), keyword proximity (a code word in the same sentence, the closer the better), negative contexts (a card,
//! phone, amount, reference or promo phrase right before the number; an expiry notice in the same sentence; sales
//! talk such as "at checkout" or a percentage in the same sentence, each a small penalty) and layout (a code alone
//! on its line). Every rule is general; none knows any particular sender.

use std::ops::Range;

use crate::candidates::{self, Candidate};
use crate::explain::{CandidateReport, Explanation, Outcome, PhraseHit, Reason};
use crate::fold::Folded;
use crate::keywords::{self, Hit, PhraseClass};
use crate::origin;
use crate::rules::{Rule, Rules};
use crate::{Alternative, Code, CodeKind};

/// Lowest score that is extracted. A six-digit number needs a code word in its sentence, or a softer context word
/// close by, to reach it; without any keyword nothing is extracted.
pub(crate) const THRESHOLD: f32 = 2.5;
/// Effect recorded for a veto.
const VETO: f32 = -100.0;
/// Longest input examined; a concatenated SMS is at most about 40 KB, so longer input is not an SMS.
const MAX_INPUT: usize = 64 * 1024;
/// How far (bytes) to look for a keyword around a candidate.
const KEYWORD_WINDOW: usize = 400;
/// How far (characters) a negative phrase before a number still binds to it.
const NEGATIVE_REACH: usize = 24;
/// Effect of each sign of sales talk in the candidate's sentence (a sales phrase, a percentage). Checkout and
/// payment words also surround real card-payment codes, so one sign alone leaves a code presented by a code word
/// above the threshold; two signs ("at checkout and save 25%") bring a bare "code X" below it.
const SALES_PENALTY: f32 = -1.5;

/// What may stand between a colon or lead word and the value it presents: spaces, quotes and opening brackets
/// ("code: [402917]", "验证码为【 123456 】", "code: «4821»").
const OPENERS: &[char] = &[
    ' ', '"', '\'', '“', '‘', '„', '«', '「', '『', '[', '(', '【', '〔', '<', '*',
];

/// Collects reasons only when explaining, so plain extraction does not allocate strings; skips switched-off rules.
struct Notes {
    enabled: bool,
    rules: Rules,
    score: f32,
    vetoed: bool,
    reasons: Vec<Reason>,
}

impl Notes {
    fn add(&mut self, rule: Rule, effect: f32, detail: impl FnOnce() -> String) {
        if !self.rules.has(rule) {
            return;
        }
        self.score += effect;
        if self.enabled {
            self.reasons.push(Reason {
                rule: rule.name(),
                effect,
                detail: detail(),
            });
        }
    }
    fn veto(&mut self, rule: Rule, detail: impl FnOnce() -> String) {
        if self.rules.has(rule) {
            self.vetoed = true;
            self.add(rule, VETO, detail);
        }
    }
}

/// The message being scored.
struct Ctx<'a> {
    text: &'a str,
    rules: Rules,
    hits: &'a [Hit],
    /// For each hit: the start of the candidate it presents ("OTP is 4821", "验证码：4821"), if any.
    presenting: Vec<Option<usize>>,
    /// Byte positions of sentence ends.
    stops: Vec<usize>,
    /// For each hit: its sentence says a code expired or is invalid (empty when no hit does).
    in_expired_sentence: Vec<bool>,
    any_code_word: bool,
}

impl Ctx<'_> {
    fn crosses_sentence(&self, r: Range<usize>) -> bool {
        let i = self.stops.partition_point(|&s| s < r.start);
        self.stops.get(i).is_some_and(|&s| s < r.end)
    }
    fn code_word_within(&self, r: Range<usize>) -> bool {
        let first = self.hits.partition_point(|h| h.range.start < r.start);
        self.hits[first..]
            .iter()
            .take_while(|h| h.range.end <= r.end)
            .any(|h| h.class == PhraseClass::Code)
    }
    /// The gap introduces a value: it holds a lead word ("is") or ends with ':' or '='.
    fn presents(&self, gap: Range<usize>) -> bool {
        let text = self.text[gap.clone()].trim_end_matches(OPENERS);
        let first = self.hits.partition_point(|h| h.range.start < gap.start);
        text.ends_with([':', '=', '：'])
            || self.hits[first..]
                .iter()
                .take_while(|h| h.range.end <= gap.end)
                .any(|h| h.class == PhraseClass::Lead)
    }
    /// A code word appears earlier in the same sentence as `pos`.
    fn code_word_before(&self, pos: usize) -> bool {
        let sentence_start = self.stops.partition_point(|&s| s < pos);
        let from = sentence_start
            .checked_sub(1)
            .map_or(0, |i| self.stops[i] + 1);
        let end = self.hits.partition_point(|h| h.range.end <= pos);
        self.hits[..end]
            .iter()
            .rev()
            .take_while(|h| h.range.start >= from)
            .any(|h| h.class == PhraseClass::Code)
    }
    /// The sentence around `r`: from just after the previous sentence end to the next one.
    fn sentence_of(&self, r: &Range<usize>) -> Range<usize> {
        let i = self.stops.partition_point(|&s| s < r.start);
        let start = i.checked_sub(1).map_or(0, |j| self.stops[j] + 1);
        let mut end = self.stops[i..]
            .iter()
            .find(|&&s| s >= r.end)
            .map_or(self.text.len(), |&s| s);
        // A stop is recorded at the last byte of '。'; the sentence ends where that character starts.
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        start..end
    }
    fn hits_near(&self, r: &Range<usize>) -> &[Hit] {
        let lo = r.start.saturating_sub(KEYWORD_WINDOW);
        let hi = r.end + KEYWORD_WINDOW;
        let a = self.hits.partition_point(|h| h.range.end < lo);
        let b = self.hits.partition_point(|h| h.range.start <= hi);
        &self.hits[a..b.max(a)]
    }
}

/// Sentence ends: line breaks, '!' '?' ';', '.' unless it sits inside a number or word ("12.50", "e.g"), and the
/// full stops of scripts that have their own ('。', '।', '။', '።', '։', '។', '۔').
fn sentence_stops(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let mut stops = Vec::new();
    for (i, &c) in b.iter().enumerate() {
        let stop = match c {
            b'\n' | b'!' | b'?' | b';' => true,
            // '。' (E3 80 82) and the full-width '！' '？' are folded or kept; the ideographic stop ends a sentence.
            0x82 if i >= 2 && b[i - 2] == 0xE3 && b[i - 1] == 0x80 => true,
            // The full stops of other scripts, recognised by their last byte after their lead bytes (valid UTF-8,
            // so the match is exact): '।' '॥' (E0 A5 A4/A5), '။' (E1 81 8B), '።' (E1 8D A2), '។' (E1 9F 94),
            // '։' (D6 89), Urdu '۔' (DB 94).
            0xA4 | 0xA5 if i >= 2 && b[i - 2] == 0xE0 && b[i - 1] == 0xA5 => true,
            0x8B if i >= 2 && b[i - 2] == 0xE1 && b[i - 1] == 0x81 => true,
            0xA2 if i >= 2 && b[i - 2] == 0xE1 && b[i - 1] == 0x8D => true,
            0x94 if (i >= 2 && b[i - 2] == 0xE1 && b[i - 1] == 0x9F)
                || (i >= 1 && b[i - 1] == 0xDB) =>
            {
                true
            }
            0x89 if i >= 1 && b[i - 1] == 0xD6 => true,
            b'.' => b
                .get(i + 1)
                .is_none_or(|n| n.is_ascii_whitespace() || *n >= 0x80),
            _ => false,
        };
        if stop {
            stops.push(i);
        }
    }
    stops
}

fn shape(text: &str, c: &Candidate, n: &mut Notes) {
    match c.kind {
        CodeKind::Numeric => {
            let prior = match c.value.len() {
                6 => 1.0,
                5 | 8 => 0.7,
                _ => 0.6,
            };
            n.add(Rule::LengthPrior, prior, || {
                format!("{} digits", c.value.len())
            });
            if c.value.len() == 4
                && c.value
                    .parse::<u32>()
                    .is_ok_and(|y| (1900..=2099).contains(&y))
            {
                n.add(Rule::Year, -0.7, || "could be a year".into());
            }
        }
        CodeKind::Alphanumeric => {
            n.add(Rule::LengthPrior, 0.3, || "letters and digits".into());
            let upper = c.value.bytes().any(|b| b.is_ascii_uppercase());
            let lower = c.value.bytes().any(|b| b.is_ascii_lowercase());
            if upper && lower {
                n.add(Rule::WordLike, -1.5, || {
                    "mixed case: a name or word rather than a code".into()
                });
            }
            let longest_letter_run = c
                .value
                .split(|ch: char| ch.is_ascii_digit())
                .map(str::len)
                .max()
                .unwrap_or(0);
            // Random upper-case codes have letter runs too; a long run in lower or mixed case reads as a word.
            if lower && longest_letter_run >= 4 {
                n.add(Rule::WordLike, -1.5, || {
                    "contains a word-like run of letters".into()
                });
            } else if longest_letter_run >= 5 {
                n.add(Rule::WordLike, -0.5, || {
                    "contains a long run of letters".into()
                });
            }
            if has_unit_suffix(&c.value) {
                n.veto(Rule::WordLike, || {
                    "a number with a unit or ordinal (10GB, 2nd, 30min)".into()
                });
            }
        }
    }
    if c.grouped {
        n.add(Rule::Grouped, 0.2, || "written in groups".into());
    }
    if c.prefixed {
        // "G-123456": a one-letter prefix is a known service convention; longer ones may be a category code.
        let prefix_len = text[..c.range.start].strip_suffix('-').map_or(0, |p| {
            p.bytes().rev().take_while(u8::is_ascii_uppercase).count()
        });
        let one_letter = prefix_len == 1;
        n.add(Rule::Prefix, if one_letter { 1.5 } else { 0.5 }, || {
            "follows a service prefix such as G-".into()
        });
    }
}

/// Digits followed by a unit or an ordinal suffix.
fn has_unit_suffix(v: &str) -> bool {
    const UNITS: &[&str] = &[
        "gb", "mb", "kb", "tb", "min", "mins", "h", "hr", "hrs", "s", "sec", "secs", "km", "kg",
        "g", "m", "cm", "mm", "ml", "l", "st", "nd", "rd", "th", "am", "pm", "k", "p", "fps",
        "mah", "w", "kw", "kwh", "v", "hz", "ghz", "mhz", "gbps", "mbps", "d", "yr", "yrs",
    ];
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && UNITS.iter().any(|u| v[digits..].eq_ignore_ascii_case(u))
}

fn keyword(ctx: &Ctx, c: &Candidate, n: &mut Notes) {
    let mut best: Option<(f32, &Hit, usize, bool, bool)> = None;
    let mut second = 0.0f32;
    for h in ctx.hits_near(&c.range) {
        let base = match h.class {
            PhraseClass::Code => 4.0,
            // A warning ("don't share it") names a code without giving one, but a number right by it is the code.
            PhraseClass::Context | PhraseClass::Warning => 2.0,
            _ => continue,
        };
        let (gap, after) = if h.range.end <= c.range.start {
            (h.range.end..c.range.start, false)
        } else if c.range.end <= h.range.start {
            (c.range.end..h.range.start, true)
        } else {
            continue;
        };
        let gap_text = &ctx.text[gap.clone()];
        let chars = gap_text.chars().count();
        let crosses = ctx.crosses_sentence(gap);
        // "Your code has expired. Order number: 558201": the code word is about the expired code.
        if crosses
            && ctx.rules.has(Rule::ExpiredSentence)
            && ctx
                .in_expired_sentence
                .get(hit_index(ctx, h))
                .copied()
                .unwrap_or(false)
        {
            continue;
        }
        // "Txn 552019: your OTP is 4821": the code word presents another number, not this one.
        let elsewhere = ctx.rules.has(Rule::Presents)
            && ctx
                .presenting
                .get(hit_index(ctx, h))
                .copied()
                .flatten()
                .is_some_and(|start| start != c.range.start);
        let v = if crosses || elsewhere {
            (base * 0.4 - 0.01 * chars as f32).max(0.0)
        } else {
            (base - 0.05 * chars as f32).max(base * 0.5)
        };
        if best.is_none_or(|b| v > b.0) {
            second = second.max(best.map_or(0.0, |b| b.0));
            best = Some((v, h, chars, after, crosses));
        } else {
            second = second.max(v);
        }
    }
    match best {
        Some((v, h, chars, after, crosses)) if v > 0.0 => {
            let word = &ctx.text[h.range.clone()];
            let class = h.class;
            n.add(Rule::Keyword, v, || {
                let side = if after { "after" } else { "before" };
                format!("{} word {word:?} {chars} characters {side}", class.name())
            });
            if second > 0.0 {
                n.add(Rule::SecondKeyword, 0.25 * second, || {
                    "a second keyword corroborates".into()
                });
            }
            // Letters and digits are a code only when presented as one: near a code word in the same sentence,
            // after a colon or lead word that ends a sentence naming a code ("Code d'authentification : AAAA1A"),
            // or right after a context verb ("Enter H4TR9Z") when the value looks machine-made (upper case, two or
            // more digits).
            let machine_made = c
                .value
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                && c.value.bytes().filter(u8::is_ascii_digit).count() >= 2;
            let presented = (class == PhraseClass::Code && chars <= 20 && !crosses)
                || (presented(ctx, c) && ctx.code_word_before(c.range.start))
                || (machine_made && chars <= 3 && !after)
                || is_bare(ctx.text, c);
            if c.kind == CodeKind::Alphanumeric && !presented {
                n.add(Rule::AlnumPresentation, -2.0, || {
                    "letters and digits need a code word right next to them".into()
                });
            }
        }
        _ => {
            n.add(Rule::Keyword, 0.0, || {
                "no code or context word nearby".into()
            });
            if c.kind == CodeKind::Alphanumeric && !is_bare(ctx.text, c) {
                n.add(Rule::AlnumPresentation, -2.0, || {
                    "letters and digits need a code word right next to them".into()
                });
            }
        }
    }
}

/// The first percentage in `sentence`: a number right before '%' ("25%", "25 %") or right after it (Turkish "%20").
/// Discounts are given in percent; a verification code never is, so the candidate followed by '%' counts too.
fn percentage(text: &str, sentence: Range<usize>) -> Option<Range<usize>> {
    let s = &text[sentence.clone()];
    for (i, _) in s.match_indices('%') {
        let at = sentence.start + i;
        let before = s[..i].trim_end_matches(' ');
        let digit_before = before.ends_with(|c: char| c.is_ascii_digit()) && i - before.len() <= 1;
        let digit_after = s[i + 1..].starts_with(|c: char| c.is_ascii_digit());
        if digit_before || digit_after {
            let start =
                sentence.start + before.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            let end = at + 1 + s[i + 1..].bytes().take_while(u8::is_ascii_digit).count();
            return Some(if digit_before { start..at + 1 } else { at..end });
        }
    }
    None
}

fn is_clock_time(v: &str) -> bool {
    v.len() == 4
        && v[..2].parse::<u32>().is_ok_and(|h| h < 24)
        && v[2..].parse::<u32>().is_ok_and(|m| m < 60)
}

fn negatives(ctx: &Ctx, c: &Candidate, n: &mut Notes) {
    for h in ctx.hits_near(&c.range) {
        let class = h.class;
        let phrase = || ctx.text[h.range.clone()].to_owned();
        let same_sentence = |r: Range<usize>| !ctx.crosses_sentence(r);
        match class {
            PhraseClass::Promo | PhraseClass::Expired => {
                let span = h.range.start.min(c.range.start)..h.range.end.max(c.range.end);
                if same_sentence(span) {
                    let why = if class == PhraseClass::Promo {
                        "a promo or discount code is not a verification code"
                    } else {
                        "the code in this sentence is expired or invalid"
                    };
                    let rule = if class == PhraseClass::Promo {
                        Rule::Promo
                    } else {
                        Rule::Expired
                    };
                    n.add(rule, -6.0, || {
                        format!("{why} ({:?} in the same sentence)", phrase())
                    });
                }
            }
            PhraseClass::Sales => {
                let span = h.range.start.min(c.range.start)..h.range.end.max(c.range.end);
                if !same_sentence(span) {
                    continue;
                }
                // "Your confirmation code for payment at checkout is 264190": between a code word and the value
                // it presents, the phrase only says what the code is for, as with a booking or a card above.
                if h.range.end <= c.range.start
                    && ctx.rules.has(Rule::CodeFor)
                    && presented(ctx, c)
                    && ctx.code_word_before(h.range.start)
                {
                    n.add(Rule::CodeFor, 0.0, || {
                        format!("{:?} names what the code is for; the number is presented to the code word", phrase())
                    });
                    continue;
                }
                n.add(Rule::Sales, SALES_PENALTY, || {
                    format!("sales talk in the same sentence ({:?})", phrase())
                });
            }
            PhraseClass::Currency => {
                let gap = if h.range.end <= c.range.start {
                    &ctx.text[h.range.end..c.range.start]
                } else if c.range.end <= h.range.start {
                    &ctx.text[c.range.end..h.range.start]
                } else {
                    continue;
                };
                if gap.len() <= 1 && gap.chars().all(char::is_whitespace) {
                    n.veto(Rule::Currency, || {
                        format!("money: currency {:?} next to it", phrase())
                    });
                }
            }
            PhraseClass::Amount
            | PhraseClass::Card
            | PhraseClass::Phone
            | PhraseClass::Reference
            | PhraseClass::Time => {
                if h.range.end > c.range.start {
                    continue;
                }
                let gap = h.range.end..c.range.start;
                let gap_text = &ctx.text[gap.clone()];
                let chars = gap_text.chars().count();
                let reach = if class == PhraseClass::Time {
                    1
                } else {
                    NEGATIVE_REACH
                };
                if chars > reach
                    || gap_text.bytes().any(|b| b.is_ascii_digit())
                    || ctx.crosses_sentence(gap.clone())
                    || ctx.code_word_within(gap.clone())
                {
                    continue;
                }
                // "Your OTP for the booking is 482913": the phrase only says what the code is for; the number
                // is presented ("is", ':') to the code word earlier in the sentence.
                if class != PhraseClass::Time
                    && ctx.rules.has(Rule::CodeFor)
                    && ctx.presents(gap.clone())
                    && ctx.code_word_before(h.range.start)
                {
                    n.add(Rule::CodeFor, 0.0, || {
                        format!("{:?} names what the code is for; the number is presented to the code word", phrase())
                    });
                    continue;
                }
                let (rule, effect, why) = match class {
                    PhraseClass::Amount => (Rule::Amount, -6.0, "an amount of money"),
                    PhraseClass::Card => (Rule::Card, -6.0, "the end of a card or account number"),
                    PhraseClass::Phone => (Rule::Phone, -6.0, "a phone number or short code"),
                    PhraseClass::Reference => (
                        Rule::Reference,
                        -5.0,
                        "an order, tracking, booking or reference number",
                    ),
                    _ if is_clock_time(&c.value) => (Rule::Time, -4.0, "a clock time"),
                    _ => continue,
                };
                n.add(rule, effect, || format!("{why}: follows {:?}", phrase()));
            }
            PhraseClass::Code | PhraseClass::Context | PhraseClass::Warning | PhraseClass::Lead => {
            }
        }
    }
    if let Some(p) = percentage(ctx.text, ctx.sentence_of(&c.range)) {
        n.add(Rule::Sales, SALES_PENALTY, || {
            format!(
                "a percentage in the same sentence ({:?}), as in a discount",
                &ctx.text[p]
            )
        });
    }
    let before = ctx.text[..c.range.start].chars().next_back();
    if before == Some('#') {
        n.add(Rule::Hash, -2.0, || {
            "follows '#', usual for order and ticket numbers".into()
        });
    }
}

/// The whole message is this candidate (plus punctuation and a dropped service prefix), and, for letters and
/// digits, it looks machine-made: a service that sends nothing but such a string is sending a code.
fn is_bare(text: &str, c: &Candidate) -> bool {
    let mut before = &text[..c.range.start];
    if c.prefixed {
        before = before
            .trim_end_matches('-')
            .trim_end_matches(|ch: char| ch.is_ascii_uppercase());
    }
    let quiet = |s: &str| !s.chars().any(char::is_alphanumeric);
    let machine_made = c.kind == CodeKind::Numeric
        || c.value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    quiet(before) && quiet(&text[c.range.end..]) && machine_made
}

/// The value is presented: right after a colon, an equals sign or a lead word ("is", "lautet", "是").
fn presented(ctx: &Ctx, c: &Candidate) -> bool {
    let before = ctx.text[..c.range.start].trim_end_matches(OPENERS);
    if before.ends_with([':', '=', '：']) {
        return true;
    }
    let end = before.len();
    ctx.hits_near(&c.range)
        .iter()
        .any(|h| h.class == PhraseClass::Lead && h.range.end == end)
}

fn layout(ctx: &Ctx, c: &Candidate, n: &mut Notes) {
    if presented(ctx, c) {
        n.add(Rule::Presented, 0.5, || {
            "presented after a colon or a word such as \"is\"".into()
        });
    }
    if is_bare(ctx.text, c) {
        n.add(Rule::Bare, 3.0, || "the whole message is this code".into());
    }
    let line_start = ctx.text[..c.range.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = ctx.text[c.range.end..]
        .find('\n')
        .map_or(ctx.text.len(), |i| c.range.end + i);
    let trim = |s: &str| {
        s.trim_matches(|ch: char| {
            ch.is_whitespace() || matches!(ch, '[' | ']' | '(' | ')' | '【' | '】' | ':' | '.')
        })
        .is_empty()
    };
    let alone =
        trim(&ctx.text[line_start..c.range.start]) && trim(&ctx.text[c.range.end..line_end]);
    if alone && ctx.any_code_word && ctx.text.contains('\n') {
        n.add(Rule::OwnLine, 1.5, || {
            "alone on its own line in a message that mentions a code".into()
        });
    }
    let before = ctx.text[..c.range.start].chars().next_back();
    let after = ctx.text[c.range.end..].chars().next();
    if matches!(
        (before, after),
        (
            Some('[' | '(' | '【' | '<' | '「'),
            Some(']' | ')' | '】' | '>' | '」')
        )
    ) {
        n.add(Rule::Brackets, 0.3, || "in brackets".into());
    }
}

/// How far (characters) a code word may stand before the value it presents ("code for your payment at Shop is
/// 482913").
const PRESENT_REACH: usize = 60;

/// For each hit: the start of the candidate it presents, when it is a code word followed in the same sentence by a
/// candidate (the first one after it, within [`PRESENT_REACH`] characters) that a colon or lead word introduces.
fn presenting(ctx: &Ctx, cands: &[Candidate]) -> Vec<Option<usize>> {
    ctx.hits
        .iter()
        .map(|h| {
            if h.class != PhraseClass::Code {
                return None;
            }
            let c = cands.iter().find(|c| c.range.start >= h.range.end)?;
            let gap = h.range.end..c.range.start;
            let near = ctx.text[gap.clone()].chars().count() <= PRESENT_REACH;
            (near && !ctx.crosses_sentence(gap.clone()) && ctx.presents(gap))
                .then_some(c.range.start)
        })
        .collect()
}

/// For each hit, whether an expiry phrase shares its sentence; empty when the message has no expiry phrase.
fn in_expired_sentence(ctx: &Ctx) -> Vec<bool> {
    if !ctx.hits.iter().any(|h| h.class == PhraseClass::Expired) {
        return Vec::new();
    }
    ctx.hits
        .iter()
        .map(|h| {
            let sentence = ctx.sentence_of(&h.range);
            ctx.hits.iter().any(|e| {
                e.class == PhraseClass::Expired
                    && e.range.start >= sentence.start
                    && e.range.end <= sentence.end
            })
        })
        .collect()
}

/// The index of `h` in the message's hits (sorted by start, never overlapping).
fn hit_index(ctx: &Ctx, h: &Hit) -> usize {
    ctx.hits.partition_point(|x| x.range.start < h.range.start)
}

/// How much [`analyse`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The code only ([`crate::extract`]).
    Code,
    /// The code and the alternatives ([`crate::analyse`]).
    Alternatives,
    /// Everything, with reasons ([`crate::explain`]).
    Explain,
}

/// Lowest score of a candidate listed as an alternative: some keyword or layout evidence beyond its shape.
const PLAUSIBLE: f32 = 1.5;
/// Most alternatives listed.
const MAX_ALTERNATIVES: usize = 5;

/// The confidence a score stands for: 0.5 at the threshold, towards 1 above it, towards 0 below.
fn confidence_of(score: f32) -> f32 {
    1.0 / (1.0 + (-(score - THRESHOLD)).exp())
}

/// Scores every candidate of `original` with the rules in `rules`; reasons are recorded only in [`Mode::Explain`].
pub(crate) fn analyse(original: &str, rules: Rules, mode: Mode) -> Explanation {
    let mut cut = original.len().min(MAX_INPUT);
    while !original.is_char_boundary(cut) {
        cut -= 1;
    }
    let original = &original[..cut];
    let explain = mode == Mode::Explain;
    // An origin-bound last line names its code exactly; no heuristic may override it.
    let bound = if rules.has(Rule::OriginBound) {
        origin::parse(original)
    } else {
        None
    };
    let bound_code = bound.as_ref().map(|b| Code {
        value: b.code.clone(),
        span: b.span.clone(),
        confidence: 1.0,
        kind: if b.code.bytes().all(|c| c.is_ascii_digit()) {
            CodeKind::Numeric
        } else {
            CodeKind::Alphanumeric
        },
        origin: Some(b.origin.clone()),
    });
    let empty = |code: Option<Code>| Explanation {
        code,
        alternatives: Vec::new(),
        phrases: Vec::new(),
        candidates: Vec::new(),
    };
    if bound_code.is_some() && mode == Mode::Code {
        return empty(bound_code);
    }
    let folded = Folded::new(original);
    let text = folded.text.as_str();
    let cands = candidates::find(text);
    if cands.is_empty() && !explain {
        // Nothing shaped like a code: no need to look for phrases.
        return empty(bound_code);
    }
    let hits = keywords::find(text, rules.has(Rule::Inflection));
    let mut ctx = Ctx {
        text,
        rules,
        stops: sentence_stops(text),
        any_code_word: hits.iter().any(|h| h.class == PhraseClass::Code),
        hits: &hits,
        presenting: Vec::new(),
        in_expired_sentence: Vec::new(),
    };
    ctx.presenting = presenting(&ctx, &cands);
    ctx.in_expired_sentence = in_expired_sentence(&ctx);
    let mut scored: Vec<(Candidate, Notes)> = Vec::with_capacity(cands.len());
    for c in cands {
        let mut n = Notes {
            enabled: explain,
            rules,
            score: 0.0,
            vetoed: false,
            reasons: Vec::new(),
        };
        if let Some(v) = c.veto {
            n.veto(v.rule(), || v.describe());
        }
        shape(text, &c, &mut n);
        keyword(&ctx, &c, &mut n);
        negatives(&ctx, &c, &mut n);
        layout(&ctx, &c, &mut n);
        scored.push((c, n));
    }
    let eligible = |n: &Notes| !n.vetoed && n.score >= THRESHOLD;
    let mut winner: Option<usize> = None;
    for (i, (_, n)) in scored.iter().enumerate() {
        if eligible(n) && winner.is_none_or(|w| n.score > scored[w].1.score) {
            winner = Some(i);
        }
    }
    let heuristic = winner.map(|w| {
        let (c, n) = &scored[w];
        // Confidence grows with the margin over the threshold and shrinks when a runner-up came close.
        let runner_up = scored
            .iter()
            .enumerate()
            .filter(|(i, (_, m))| *i != w && eligible(m))
            .map(|(_, (_, m))| m.score)
            .fold(f32::NEG_INFINITY, f32::max);
        let mut confidence = confidence_of(n.score);
        if n.score - runner_up < 1.0 {
            confidence *= 0.8;
        }
        Code {
            value: c.value.clone(),
            span: folded.original_range(c.range.clone()),
            confidence,
            kind: c.kind,
            origin: None,
        }
    });
    let code = bound_code.or(heuristic);
    if mode == Mode::Code {
        return empty(code);
    }
    // Other plausible codes, best first: never the code itself, nor anything on an origin-bound line.
    let mut ranked: Vec<usize> = (0..scored.len())
        .filter(|&i| {
            let (c, n) = &scored[i];
            let span = folded.original_range(c.range.clone());
            !n.vetoed
                && n.score >= PLAUSIBLE
                && code.as_ref().is_none_or(|k| k.value != c.value)
                && bound.as_ref().is_none_or(|b| !b.line.contains(&span.start))
        })
        .collect();
    ranked.sort_by(|&a, &b| scored[b].1.score.total_cmp(&scored[a].1.score));
    let mut alternatives: Vec<Alternative> = Vec::new();
    for i in ranked {
        let (c, n) = &scored[i];
        if alternatives.len() == MAX_ALTERNATIVES {
            break;
        }
        if alternatives.iter().any(|a| a.value == c.value) {
            continue;
        }
        alternatives.push(Alternative {
            value: c.value.clone(),
            span: folded.original_range(c.range.clone()),
            confidence: confidence_of(n.score).min(code.as_ref().map_or(1.0, |k| k.confidence)),
            kind: c.kind,
        });
    }
    if !explain {
        return Explanation {
            code,
            alternatives,
            phrases: Vec::new(),
            candidates: Vec::new(),
        };
    }
    let phrases = hits
        .iter()
        .map(|h| PhraseHit {
            text: original
                .get(folded.original_range(h.range.clone()))
                .unwrap_or_default()
                .to_owned(),
            class: h.class,
            span: folded.original_range(h.range.clone()),
        })
        .collect();
    let candidates = scored
        .into_iter()
        .map(|(c, n)| {
            let span = folded.original_range(c.range.clone());
            let won = code
                .as_ref()
                .is_some_and(|k| k.span == span && k.value == c.value);
            CandidateReport {
                outcome: if won {
                    Outcome::Won
                } else if eligible(&n) {
                    Outcome::Lost
                } else {
                    Outcome::Rejected
                },
                span,
                value: c.value,
                kind: c.kind,
                score: n.score,
                reasons: n.reasons,
            }
        })
        .collect();
    Explanation {
        code,
        alternatives,
        phrases,
        candidates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(text: &str) -> Vec<(&'static str, String, Outcome)> {
        analyse(text, Rules::ALL, Mode::Explain)
            .candidates
            .into_iter()
            .flat_map(|c| {
                c.reasons
                    .into_iter()
                    .map(move |r| (r.rule, c.value.clone(), c.outcome))
            })
            .collect()
    }

    fn value(text: &str) -> Option<String> {
        analyse(text, Rules::ALL, Mode::Code).code.map(|c| c.value)
    }

    #[test]
    fn a_number_without_any_keyword_is_not_a_code() {
        assert_eq!(value("See you at gate 4 around 482913"), None);
    }

    #[test]
    fn the_whole_message_being_a_code_is_enough() {
        assert_eq!(value("482913"), Some("482913".into()));
        assert_eq!(value("  K7PQ2X "), Some("K7PQ2X".into()));
        assert_eq!(value("G-830829"), Some("830829".into()));
        // Lower-case letters and digits alone could be anything.
        assert_eq!(value("abc123"), None);
    }

    #[test]
    fn negative_context_binds_to_the_first_number_after_it() {
        let text = "Code for card ending 4821: 572910";
        assert_eq!(value(text), Some("572910".into()));
        assert!(reasons(text)
            .iter()
            .any(|(rule, v, o)| *rule == "card" && v == "4821" && *o == Outcome::Rejected));
    }

    #[test]
    fn a_phrase_naming_what_the_code_is_for_does_not_bind() {
        assert_eq!(
            value("Your OTP for the bus ticket is 482913"),
            Some("482913".into())
        );
        assert_eq!(
            value("Your verification code for booking ref: 551203"),
            Some("551203".into())
        );
        assert_eq!(value("Your booking ref is 551203"), None);
        assert_eq!(
            value("Code for card ending 4821: 572910"),
            Some("572910".into())
        );
    }

    #[test]
    fn currency_on_either_side_vetoes() {
        assert_eq!(value("Your code: 4821 USD"), None);
        assert_eq!(value("Your code: €4821"), None);
        assert_eq!(value("验证码：4821元"), None);
    }

    #[test]
    fn promo_and_expiry_apply_to_their_sentence_only() {
        assert_eq!(value("Use code SAVE2025 for 20% off"), None);
        assert_eq!(
            value("Your old code expired. Your new code is 551203."),
            Some("551203".into())
        );
        assert_eq!(value("Your code 551203 has expired."), None);
    }

    #[test]
    fn sales_talk_and_a_discount_percentage_outweigh_a_bare_code_word() {
        assert_eq!(value("Use code SPRING25 at checkout and save 25%!"), None);
        assert_eq!(
            value("Use code 7788 in your basket for free delivery."),
            None
        );
        assert_eq!(
            value("Nur heute: Code HERBST30 im Warenkorb, 30 % sparen!"),
            None
        );
        assert_eq!(value("Economize com o código 3030 no carrinho hoje!"), None);
        let why = reasons("Use code SPRING25 at checkout and save 25%!");
        assert_eq!(why.iter().filter(|(rule, ..)| *rule == "sales").count(), 2);
    }

    #[test]
    fn a_presented_verification_code_outweighs_sales_talk() {
        // One sign of sales talk leaves a code word's number above the threshold: card payments happen at checkout.
        assert_eq!(
            value("Use code 482913 at checkout to confirm your payment."),
            Some("482913".into())
        );
        assert_eq!(
            value("Your verification code is 482913. Use it at checkout to confirm your payment"),
            Some("482913".into())
        );
        // Between the code word and the value it presents, the phrase says what the code is for.
        assert_eq!(
            value("Ihr Bestätigungscode für die Zahlung an der Kasse lautet 264190."),
            Some("264190".into())
        );
        // Sales talk in another sentence does not touch the code.
        assert_eq!(
            value("Your login code is 551203. Free shipping on everything, today only! Save 30%!"),
            Some("551203".into())
        );
    }

    #[test]
    fn percentages_are_found_in_the_candidates_sentence() {
        fn find(text: &str) -> Option<&str> {
            percentage(text, 0..text.len()).map(|r| &text[r])
        }
        assert_eq!(find("code X save 25%!"), Some("25%"));
        assert_eq!(find("X pour 20 % de remise"), Some("20 %"));
        assert_eq!(find("YAZ20 ile %20 indirim"), Some("%20"));
        assert_eq!(find("code 1234, 100 percent % sure"), None);
        assert_eq!(find("code 1234"), None);
        let ctx_text = "Save 25% today. Your code is 551203.";
        assert_eq!(percentage(ctx_text, 16..ctx_text.len()), None);
    }

    #[test]
    fn clock_times_after_time_words_are_not_codes() {
        assert_eq!(value("Your login code, valid until 2359"), None);
        assert_eq!(value("Your login code: 2359"), Some("2359".into()));
    }

    #[test]
    fn alphanumeric_needs_presentation() {
        assert_eq!(value("Your code is A7K29Q"), Some("A7K29Q".into()));
        assert_eq!(value("Log in with your iPhone15 today"), None);
        assert_eq!(value("Your code: 10GB of data"), None);
    }

    #[test]
    fn own_line_at_the_end_of_a_long_message() {
        let text =
            "Welcome. We need to confirm it is you. Type the code below in the app.\n\n\n551203";
        assert_eq!(value(text), Some("551203".into()));
    }

    #[test]
    fn a_code_word_about_an_expired_code_vouches_for_nothing_else() {
        assert_eq!(value("Your code has expired. Order number: 558201"), None);
        let off = Rules::ALL.without(Rule::ExpiredSentence);
        let text = "Your code has expired. Order 558201";
        assert_eq!(analyse(text, Rules::ALL, Mode::Code).code, None);
        assert!(
            analyse(text, off, Mode::Explain).candidates[0].score
                > analyse(text, Rules::ALL, Mode::Explain).candidates[0].score
        );
        // A new code in a sentence of its own still wins.
        assert_eq!(
            value("Your old code expired. Your new code is 551203."),
            Some("551203".into())
        );
    }

    #[test]
    fn full_stops_of_other_scripts_end_sentences() {
        for stop in ['।', '॥', '။', '።', '։', '។', '۔'] {
            let text = format!("तपाईंको OTP 5521 हो{stop} ok");
            let at = text.find(stop).unwrap();
            assert_eq!(
                sentence_stops(&text),
                vec![at + stop.len_utf8() - 1],
                "{stop}"
            );
        }
        // Other characters sharing those last bytes are not stops: 'ऄ' (E0 A4 84), 'ڔ' (DA 94).
        assert!(sentence_stops("ऄ ڔ Ք").is_empty());
    }

    #[test]
    fn sentence_stops_ignore_decimal_points() {
        let stops = sentence_stops("Pay 12.50 now. Then 。");
        // The ideographic stop is three bytes long; its last byte is recorded.
        assert_eq!(stops, vec![13, 22]);
    }
}
