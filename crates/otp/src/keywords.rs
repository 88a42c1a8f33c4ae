//! The phrase tables that drive extraction: code words ("verification code", "验证码", "인증번호"), softer context
//! words ("log in", "verify") and negative contexts (card endings, amounts, order numbers, promo codes, sales talk,
//! expiry notices) in many languages. The data lives in `keywords.tsv` next to this file so translators can extend it
//! without touching code; this module parses it once and compiles a single matcher.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};

/// The table, one `language<TAB>class<TAB>phrase | phrase | ...` line per language and class.
pub(crate) const TABLE: &str = include_str!("keywords.tsv");

/// What a matched phrase says about nearby numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum PhraseClass {
    /// Names a one-time code ("OTP", "verification code", "验证码"): strong evidence for a nearby candidate.
    Code,
    /// Usual around codes but not naming one ("log in", "verify", "expires in"): weak evidence.
    Context,
    /// A money amount follows ("amount", "balance", "debited").
    Amount,
    /// A currency symbol, code or word; the number next to it is money.
    Currency,
    /// The digits that follow end a card or account number ("ending", "a/c", "尾号").
    Card,
    /// A phone number or short code follows ("call", "reply STOP to").
    Phone,
    /// An order, tracking, booking, ticket, reference or error number follows.
    Reference,
    /// A discount, promo or coupon code is meant, which is not a verification code.
    Promo,
    /// Sales talk that also surrounds real payment codes ("at checkout", "free shipping", "sparen Sie"): weak
    /// evidence of a promotion, which a clearly presented code outweighs.
    Sales,
    /// The code being talked about has expired or was cancelled.
    Expired,
    /// A warning such as "never share your code": names a code without giving one.
    Warning,
    /// A clock time follows ("at", "until", "by").
    Time,
    /// Introduces the value right after it ("is", "lautet", "是", "は"): the number that follows is being presented.
    Lead,
}

impl PhraseClass {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "code" => Self::Code,
            "context" => Self::Context,
            "amount" => Self::Amount,
            "currency" => Self::Currency,
            "card" => Self::Card,
            "phone" => Self::Phone,
            "reference" => Self::Reference,
            "promo" => Self::Promo,
            "sales" => Self::Sales,
            "expired" => Self::Expired,
            "warning" => Self::Warning,
            "time" => Self::Time,
            "lead" => Self::Lead,
            _ => return None,
        })
    }

    /// The class name as written in the table.
    pub fn name(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Context => "context",
            Self::Amount => "amount",
            Self::Currency => "currency",
            Self::Card => "card",
            Self::Phone => "phone",
            Self::Reference => "reference",
            Self::Promo => "promo",
            Self::Sales => "sales",
            Self::Expired => "expired",
            Self::Warning => "warning",
            Self::Time => "time",
            Self::Lead => "lead",
        }
    }
}

/// One row of the table after parsing.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub lang: &'static str,
    pub class: PhraseClass,
    /// The phrase without its `*` markers.
    pub phrase: &'static str,
    /// May end a longer word: a leading `*`, or a compound-forming language ("Bestätigungs|code").
    pub glue_start: bool,
    /// May start a longer word: a trailing `*`, or a suffixing language ("koodi|si", "կոդ|ը").
    pub glue_end: bool,
}

/// How a language builds words around a code word, from its `morphology` line in the table.
#[derive(Debug, Clone, Copy, Default)]
struct Morphology {
    /// Case endings, possessives or articles are attached to the word ("kódot", "კოდით", "kóðinn").
    suffixes: bool,
    /// Compounds are written as one word ("Bestätigungscode", "staðfestingarkóði").
    compounds: bool,
}

/// Shortest word (characters) that a language's morphology glues to its neighbours without a `*` in the table:
/// shorter words ("kod", "PIN", "TAN") are too likely to start or end unrelated words, so the table marks them by
/// hand where the language needs it.
const MIN_GLUED_WORD: usize = 4;

/// A phrase found in the (folded) message.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub range: Range<usize>,
    pub class: PhraseClass,
}

/// Parses the table; malformed lines are reported rather than skipped so a bad edit fails the unit tests.
///
/// A `language<TAB>morphology<TAB>suffixes | compounds` line says how that language builds words: its code and
/// context phrases (of at least [`MIN_GLUED_WORD`] characters at the glued edge) then match inside longer words
/// on that side, so one table line covers every inflected or compounded form.
pub(crate) fn parse_table(table: &'static str) -> Result<Vec<Entry>, String> {
    let mut rows = Vec::new();
    let mut morphology: HashMap<&str, Morphology> = HashMap::new();
    for (n, line) in table.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut cols = line.split('\t');
        let (Some(lang), Some(class), Some(phrases), None) =
            (cols.next(), cols.next(), cols.next(), cols.next())
        else {
            return Err(format!("line {}: expected 3 tab-separated columns", n + 1));
        };
        if class == "morphology" {
            let m = morphology.entry(lang).or_default();
            for word in phrases.split('|').map(str::trim) {
                match word {
                    "suffixes" => m.suffixes = true,
                    "compounds" => m.compounds = true,
                    _ => return Err(format!("line {}: unknown morphology {word:?}", n + 1)),
                }
            }
            continue;
        }
        let class = PhraseClass::parse(class)
            .ok_or_else(|| format!("line {}: unknown class {class:?}", n + 1))?;
        for phrase in phrases.split('|').map(str::trim).filter(|p| !p.is_empty()) {
            rows.push((lang, class, phrase));
        }
    }
    let long = |word: Option<&str>| word.is_some_and(|w| w.chars().count() >= MIN_GLUED_WORD);
    Ok(rows
        .into_iter()
        .map(|(lang, class, marked)| {
            let phrase = marked.trim_matches('*');
            let m = morphology.get(lang).copied().unwrap_or_default();
            let by_morphology = matches!(class, PhraseClass::Code | PhraseClass::Context);
            let words = || phrase.split_whitespace();
            Entry {
                lang,
                class,
                phrase,
                glue_start: marked.starts_with('*')
                    || (by_morphology && m.compounds && long(words().next())),
                glue_end: (marked.ends_with('*') && marked.len() > 1)
                    || (by_morphology && m.suffixes && long(words().next_back())),
            }
        })
        .collect())
}

/// The text the matcher searches: lower case, every run of spaces and hyphens collapsed into one space, final
/// sigma written as sigma, with a map back to byte ranges of the input. Phrases go through the same function, so
/// "One-Time  Password" and "one time password" meet.
struct Lowered {
    text: String,
    origin: Vec<(u32, u32)>,
}

impl Lowered {
    fn new(input: &str) -> Self {
        let mut text = String::with_capacity(input.len());
        let mut origin = Vec::with_capacity(input.len());
        let mut in_gap = false;
        for (start, c) in input.char_indices() {
            let range = (start as u32, (start + c.len_utf8()) as u32);
            if c.is_whitespace() || c == '-' {
                if !in_gap {
                    text.push(' ');
                    origin.push(range);
                }
                in_gap = true;
                continue;
            }
            if c.is_ascii() {
                in_gap = false;
                text.push(c.to_ascii_lowercase());
                origin.push(range);
                continue;
            }
            // Zero-width joiners and direction marks: the folded message has none, and table phrases of scripts
            // that write them inside words ("పాస్‌వర్డ్", "പാസ്‌വേഡ്") must meet it.
            if matches!(c as u32, 0x200B..=0x200F | 0x202A..=0x202E | 0x2066..=0x2069 | 0x061C | 0xFEFF)
            {
                continue;
            }
            in_gap = false;
            // Typographic apostrophes meet the table's ASCII ones ("code d’accès").
            if matches!(c, '’' | 'ʼ' | '‘') {
                text.push('\'');
                origin.push(range);
                continue;
            }
            // Turkish and Azerbaijani capital dotted I lowers to "i" plus a combining dot in Unicode's default
            // mapping; "ŞİFRENİZ" must meet the table's "şifreniz".
            if c == 'İ' {
                text.push('i');
                origin.push(range);
                continue;
            }
            for l in c.to_lowercase() {
                let l = if l == 'ς' { 'σ' } else { l };
                text.push(l);
                origin.extend(std::iter::repeat_n(range, l.len_utf8()));
            }
        }
        Lowered { text, origin }
    }

    fn input_range(&self, start: usize, end: usize) -> Option<Range<usize>> {
        let s = self.origin.get(start)?;
        let e = self.origin.get(end.checked_sub(1)?)?;
        Some(s.0 as usize..e.1 as usize)
    }
}

/// Scripts written without spaces, or whose words take attached prefixes and particles (Arabic "ال", Hebrew "ה",
/// Korean "는"): a phrase edge in one of these scripts needs no word boundary.
fn glues_to_neighbours(c: char) -> bool {
    matches!(c as u32,
        0x0590..=0x06FF      // Hebrew, Arabic
        | 0x0750..=0x077F    // Arabic supplement
        | 0x0E00..=0x0EFF    // Thai, Lao
        | 0x1000..=0x109F    // Myanmar
        | 0x1780..=0x17FF    // Khmer
        | 0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF // Hangul
        | 0x3040..=0x30FF    // Kana
        | 0x3400..=0x9FFF | 0xF900..=0xFAFF // Han
        | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF) // Hebrew and Arabic presentation forms
}

/// One distinct phrase of the table.
struct Pattern {
    class: PhraseClass,
    /// May end a longer word ("*code" in "Bestätigungscode").
    glue_start: bool,
    /// May start a longer word ("koodi*" in "vahvistuskoodisi").
    glue_end: bool,
}

/// The compiled matcher: an Aho-Corasick automaton over every distinct (lowered) phrase.
pub(crate) struct Matcher {
    automaton: AhoCorasick,
    patterns: Vec<Pattern>,
}

impl Matcher {
    fn build(entries: &[Entry]) -> Result<Self, String> {
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut keys: Vec<String> = Vec::new();
        let mut patterns: Vec<Pattern> = Vec::new();
        for e in entries {
            let (glue_start, glue_end) = (e.glue_start, e.glue_end);
            let key = Lowered::new(e.phrase).text.trim().to_owned();
            if key.is_empty() {
                continue;
            }
            match index.get(&key) {
                Some(&i) if patterns[i].class != e.class => {
                    return Err(format!("phrase {key:?} ({}) is in two classes", e.lang));
                }
                Some(&i) => {
                    // The same phrase in another language: it may glue to words if any language says so.
                    patterns[i].glue_start |= glue_start;
                    patterns[i].glue_end |= glue_end;
                }
                None => {
                    index.insert(key.clone(), keys.len());
                    keys.push(key);
                    patterns.push(Pattern {
                        class: e.class,
                        glue_start,
                        glue_end,
                    });
                }
            }
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&keys)
            .map_err(|e| e.to_string())?;
        Ok(Matcher {
            automaton,
            patterns,
        })
    }

    /// Every phrase occurrence in `text`, left to right: at each position the longest phrase that respects word
    /// boundaries (where its script has them) and does not overlap an earlier one. Without `inflection`, a phrase
    /// must stand as a word of its own even where the table lets it start or end a longer one.
    pub(crate) fn find(&self, text: &str, inflection: bool) -> Vec<Hit> {
        let lowered = Lowered::new(text);
        let mut found: Vec<(Range<usize>, PhraseClass)> = Vec::new();
        for m in self.automaton.find_overlapping_iter(&lowered.text) {
            let Some(p) = self.patterns.get(m.pattern().as_usize()) else {
                continue;
            };
            let Some(range) = lowered.input_range(m.start(), m.end()) else {
                continue;
            };
            let matched = &text[range.clone()];
            let first = matched.chars().next();
            let last = matched.chars().next_back();
            let before = text[..range.start].chars().next_back();
            let after = text[range.end..].chars().next();
            // A letter of a script written without spaces is no word of ours: "OTPမှာ", "รหัสOTPของท่าน".
            let word_goes_on =
                |c: Option<char>| c.is_some_and(|c| c.is_alphabetic() && !glues_to_neighbours(c));
            let start_free = first.is_some_and(glues_to_neighbours) || !word_goes_on(before);
            let end_free = last.is_some_and(glues_to_neighbours) || !word_goes_on(after);
            let start_ok = start_free || (inflection && p.glue_start);
            let end_ok = end_free || (inflection && p.glue_end);
            if start_ok && end_ok {
                found.push((range, p.class));
            }
        }
        found.sort_by(|a, b| a.0.start.cmp(&b.0.start).then(b.0.end.cmp(&a.0.end)));
        let mut hits: Vec<Hit> = Vec::new();
        for (range, class) in found {
            if hits.last().is_none_or(|h| range.start >= h.range.end) {
                hits.push(Hit { range, class });
            }
        }
        hits
    }
}

/// The matcher built from the embedded table; `None` only if the table is broken, which the unit tests rule out
/// (extraction then finds no phrase and returns no code instead of panicking).
static MATCHER: LazyLock<Option<Matcher>> = LazyLock::new(|| {
    parse_table(TABLE)
        .and_then(|entries| Matcher::build(&entries))
        .ok()
});

/// Every phrase of the table found in `text`; inside longer words too where the language's morphology allows
/// it, if `inflection` is on.
pub(crate) fn find(text: &str, inflection: bool) -> Vec<Hit> {
    MATCHER
        .as_ref()
        .map(|m| m.find(text, inflection))
        .unwrap_or_default()
}

/// Languages that have at least one code phrase in the table.
pub fn languages() -> Vec<&'static str> {
    let mut langs: Vec<&'static str> = parse_table(TABLE)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.class == PhraseClass::Code)
        .map(|e| e.lang)
        .collect();
    langs.sort_unstable();
    langs.dedup();
    langs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_parses_and_compiles() {
        let entries = parse_table(TABLE).unwrap();
        Matcher::build(&entries).unwrap();
    }

    #[test]
    fn finds_phrases_with_and_without_word_boundaries() {
        let hits = find("Your verification code is 1234", true);
        let classes: Vec<PhraseClass> = hits.iter().map(|h| h.class).collect();
        assert_eq!(classes, [PhraseClass::Code, PhraseClass::Lead]);
        assert_eq!(hits[0].range, 5..22);
        // "code" at the start of "codec" is not a code word.
        assert!(find("codec", true).is_empty());
        // A phrase glued to the end of a word where the table allows it ("koodi*").
        assert_eq!(find("Vahvistuskoodisi", true)[0].class, PhraseClass::Code);
        let hits = find("您的验证码123456", true);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].class, PhraseClass::Code);
    }

    #[test]
    fn covers_at_least_thirty_languages() {
        let langs = languages();
        assert!(langs.len() >= 30, "{langs:?}");
        for needed in ["en", "zh", "ja", "ko", "th", "ar", "fa", "he", "hi", "ru"] {
            assert!(langs.contains(&needed), "{needed} missing");
        }
    }

    #[test]
    fn sales_phrases_win_over_the_words_they_start_with() {
        // "at checkout" is sales talk, not the time word "at" followed by a word.
        let hits = find("Use code X at checkout", true);
        assert_eq!(hits.last().unwrap().class, PhraseClass::Sales);
        assert_eq!(find("im Warenkorb", true)[0].class, PhraseClass::Sales);
        assert_eq!(find("送料無料", true)[0].class, PhraseClass::Sales);
        // Plain "save" stays neutral: "save your card for next time" is common around payment codes.
        assert!(find("save your card", true)
            .iter()
            .all(|h| h.class != PhraseClass::Sales));
    }

    #[test]
    fn morphology_lines_let_code_words_take_endings_and_end_compounds() {
        // Suffixing languages: the word stands at the start of a longer one.
        for text in [
            "Add meg a kódot",
            "კოდით",
            "Ձեր կոդը",
            "Kertakäyttöinen salasanasi",
            "Кодыңыз",
        ] {
            let hits = find(text, true);
            assert!(
                hits.iter()
                    .any(|h| h.class == PhraseClass::Code && h.range.end < text.len()),
                "{text}"
            );
            assert!(
                find(text, false)
                    .iter()
                    .all(|h| h.class != PhraseClass::Code),
                "{text}"
            );
        }
        // Compounding languages: it ends one.
        assert_eq!(
            find("Staðfestingarkóðinn", true)[0].class,
            PhraseClass::Code
        );
        // English declares neither: "codec" and "pinkish" stay words of their own.
        assert!(find("codec pinkish", true).is_empty());
        // A standalone word needs no inflection.
        assert_eq!(find("kód", false)[0].class, PhraseClass::Code);
    }

    #[test]
    fn morphology_glues_only_long_words_and_rejects_unknown_kinds() {
        let entries = parse_table("xx\tmorphology\tsuffixes\nxx\tcode\tkod | kodas\n").unwrap();
        let glue: Vec<(&str, bool)> = entries.iter().map(|e| (e.phrase, e.glue_end)).collect();
        assert_eq!(glue, [("kod", false), ("kodas", true)]);
        assert!(parse_table("xx\tmorphology\tprefixes\n").is_err());
    }

    #[test]
    fn letters_of_scripts_without_spaces_are_word_boundaries() {
        // "OTP" glued to Burmese, Thai and Han letters is still the word OTP.
        for text in ["OTPမှာ", "รหัสOTPของท่าน", "您的OTP码"] {
            assert!(
                find(text, true)
                    .iter()
                    .any(|h| h.class == PhraseClass::Code),
                "{text}"
            );
        }
    }

    #[test]
    fn turkish_capitals_meet_lower_case_phrases() {
        assert_eq!(find("ŞİFRENİZ", true)[0].class, PhraseClass::Code);
        assert_eq!(
            find("BİRDƏFƏLİK KOD", true)[0].range,
            0.."BİRDƏFƏLİK KOD".len()
        );
    }

    #[test]
    fn zero_width_joiners_inside_phrases_are_ignored() {
        // The table writes ZWNJ inside "పాస్‌వర్డ్"; the folded message has none.
        let hits = find("మీ పాస్వర్డ్ 5521", true);
        assert_eq!(hits[0].class, PhraseClass::Code);
    }

    #[test]
    fn spaces_and_hyphens_inside_phrases_may_vary() {
        for text in [
            "one-time password",
            "one time password",
            "One Time Password",
        ] {
            let hits = find(text, true);
            assert_eq!(hits.len(), 1, "{text}");
            assert_eq!(hits[0].range, 0..text.len());
        }
    }
}
