//! One switch per rule, so `cargo xtask otp-ablation` can measure what each rule changes on labelled data.
//! Extraction runs with [`Rules::ALL`]; a switch costs one bit test where its rule would apply.

/// A rule of the extractor that can be switched off for an ablation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Rule {
    /// The last line is a WICG origin-bound code (`@example.com #123456`): taken exactly, nothing overrides it.
    OriginBound,
    /// Digits joined to more digits by punctuation are part of a bigger number (decimal, date, time, phone).
    NumberPart,
    /// A block of a long spaced number ("0800 048 1173") is not a code.
    LongNumber,
    /// Digits next to a mask ("XX2290", "*7512", "123456******6789") are part of a card or account number.
    Masked,
    /// Digits after '+' are an international phone number.
    PlusSign,
    /// Digits right before '%' are a percentage.
    Percent,
    /// Digits inside a web or e-mail address are not a code.
    Url,
    /// Digits in a name joined with '-' or '_' ("universal-14000-signed.apk", "ka_9090") are not a code.
    Identifier,
    /// How typical the length is (six digits most of all).
    LengthPrior,
    /// A four-digit number from 1900 to 2099 could be a year.
    Year,
    /// Mixed case, word-like letter runs and units ("10GB", "iPhone15") make letters and digits unlikely.
    WordLike,
    /// A code written in groups ("123 456", "K7P-2QX").
    Grouped,
    /// A dropped service prefix ("G-583014").
    Prefix,
    /// A code word (strong) or a context word (weak) near the candidate, the closer the better.
    Keyword,
    /// A second keyword near the candidate adds a little.
    SecondKeyword,
    /// Letters and digits need a code word right next to them.
    AlnumPresentation,
    /// A promo, coupon or discount phrase in the sentence.
    Promo,
    /// An expiry or cancellation notice in the sentence.
    Expired,
    /// Sales talk or a percentage in the sentence, a little each.
    Sales,
    /// A currency symbol or code right next to the number.
    Currency,
    /// An amount phrase right before the number.
    Amount,
    /// A card or account phrase right before the number.
    Card,
    /// A phone or short-code phrase right before the number.
    Phone,
    /// An order, tracking, booking or reference phrase right before the number.
    Reference,
    /// A time phrase right before a clock time ("until 2359").
    Time,
    /// Between a code word and the value it presents, a negative phrase only says what the code is for.
    CodeFor,
    /// A number after '#' is usually an order or ticket number.
    Hash,
    /// Presented right after ':', '=' or a lead word ("is", "lautet").
    Presented,
    /// The whole message is the code.
    Bare,
    /// Alone on its own line in a message that mentions a code.
    OwnLine,
    /// In brackets.
    Brackets,
    /// A code word that presents a value after it ("OTP is 4821") does not also vouch for a number before it.
    Presents,
    /// A code word matches inside a longer word where its language attaches endings or writes compounds
    /// ("kódot", "კოდით", "Bestätigungsnummer"), as the phrase table's `morphology` lines and `*` stems say.
    Inflection,
    /// A code word in a sentence saying the code expired or is invalid vouches for no number in another sentence.
    ExpiredSentence,
}

impl Rule {
    /// Every rule, in the order the extractor applies them.
    pub const ALL: [Rule; 34] = [
        Rule::OriginBound,
        Rule::NumberPart,
        Rule::LongNumber,
        Rule::Masked,
        Rule::PlusSign,
        Rule::Percent,
        Rule::Url,
        Rule::Identifier,
        Rule::LengthPrior,
        Rule::Year,
        Rule::WordLike,
        Rule::Grouped,
        Rule::Prefix,
        Rule::Keyword,
        Rule::SecondKeyword,
        Rule::AlnumPresentation,
        Rule::Promo,
        Rule::Expired,
        Rule::Sales,
        Rule::Currency,
        Rule::Amount,
        Rule::Card,
        Rule::Phone,
        Rule::Reference,
        Rule::Time,
        Rule::CodeFor,
        Rule::Hash,
        Rule::Presented,
        Rule::Bare,
        Rule::OwnLine,
        Rule::Brackets,
        Rule::Presents,
        Rule::Inflection,
        Rule::ExpiredSentence,
    ];

    /// Short name, as in [`crate::Reason::rule`].
    pub fn name(self) -> &'static str {
        match self {
            Rule::OriginBound => "origin_bound",
            Rule::NumberPart => "number_part",
            Rule::LongNumber => "long_number",
            Rule::Masked => "masked",
            Rule::PlusSign => "plus_sign",
            Rule::Percent => "percent",
            Rule::Url => "url",
            Rule::Identifier => "identifier",
            Rule::LengthPrior => "length_prior",
            Rule::Year => "year",
            Rule::WordLike => "word_like",
            Rule::Grouped => "grouped",
            Rule::Prefix => "prefix",
            Rule::Keyword => "keyword",
            Rule::SecondKeyword => "second_keyword",
            Rule::AlnumPresentation => "alnum_presentation",
            Rule::Promo => "promo",
            Rule::Expired => "expired",
            Rule::Sales => "sales",
            Rule::Currency => "currency",
            Rule::Amount => "amount",
            Rule::Card => "card",
            Rule::Phone => "phone",
            Rule::Reference => "reference",
            Rule::Time => "time",
            Rule::CodeFor => "code_for",
            Rule::Hash => "hash",
            Rule::Presented => "presented",
            Rule::Bare => "bare",
            Rule::OwnLine => "own_line",
            Rule::Brackets => "brackets",
            Rule::Presents => "presents",
            Rule::Inflection => "inflection",
            Rule::ExpiredSentence => "expired_sentence",
        }
    }

    /// One sentence saying what the rule does (its documentation).
    pub fn describe(self) -> &'static str {
        match self {
            Rule::OriginBound => "The last line is a WICG origin-bound code (`@example.com #123456`): taken exactly, nothing overrides it.",
            Rule::NumberPart => "Digits joined to more digits by punctuation are part of a bigger number (decimal, date, time, phone).",
            Rule::LongNumber => "A block of a long spaced number (\"0800 048 1173\") is not a code.",
            Rule::Masked => "Digits next to a mask (\"XX2290\", \"*7512\", \"123456******6789\") are part of a card or account number.",
            Rule::PlusSign => "Digits after '+' are an international phone number.",
            Rule::Percent => "Digits right before '%' are a percentage.",
            Rule::Url => "Digits inside a web or e-mail address are not a code.",
            Rule::Identifier => "Digits in a name joined with '-' or '_' (\"universal-14000-signed.apk\", \"ka_9090\") are not a code.",
            Rule::LengthPrior => "How typical the length is (six digits most of all).",
            Rule::Year => "A four-digit number from 1900 to 2099 could be a year.",
            Rule::WordLike => "Mixed case, word-like letter runs and units (\"10GB\", \"iPhone15\") make letters and digits unlikely.",
            Rule::Grouped => "A code written in groups (\"123 456\", \"K7P-2QX\").",
            Rule::Prefix => "A dropped service prefix (\"G-583014\").",
            Rule::Keyword => "A code word (strong) or a context word (weak) near the candidate, the closer the better.",
            Rule::SecondKeyword => "A second keyword near the candidate adds a little.",
            Rule::AlnumPresentation => "Letters and digits need a code word right next to them.",
            Rule::Promo => "A promo, coupon or discount phrase in the sentence.",
            Rule::Expired => "An expiry or cancellation notice in the sentence.",
            Rule::Sales => "Sales talk or a percentage in the sentence, a little each.",
            Rule::Currency => "A currency symbol or code right next to the number.",
            Rule::Amount => "An amount phrase right before the number.",
            Rule::Card => "A card or account phrase right before the number.",
            Rule::Phone => "A phone or short-code phrase right before the number.",
            Rule::Reference => "An order, tracking, booking or reference phrase right before the number.",
            Rule::Time => "A time phrase right before a clock time (\"until 2359\").",
            Rule::CodeFor => "Between a code word and the value it presents, a negative phrase only says what the code is for.",
            Rule::Hash => "A number after '#' is usually an order or ticket number.",
            Rule::Presented => "Presented right after ':', '=' or a lead word (\"is\", \"lautet\").",
            Rule::Bare => "The whole message is the code.",
            Rule::OwnLine => "Alone on its own line in a message that mentions a code.",
            Rule::Brackets => "In brackets.",
            Rule::Presents => "A code word that presents a value after it (\"OTP is 4821\") does not also vouch for a number before it.",
            Rule::Inflection => "A code word matches inside a longer word where its language attaches endings or writes compounds (\"kódot\", \"კოდით\").",
            Rule::ExpiredSentence => "A code word in a sentence saying the code expired vouches for no number in another sentence.",
        }
    }

    /// The rule named `name` ([`Rule::name`]).
    pub fn from_name(name: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.name() == name)
    }

    fn bit(self) -> u64 {
        1 << (self as u32)
    }
}

/// A set of switched-on rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules(u64);

impl Rules {
    /// Every rule on: what [`crate::extract`] uses.
    pub const ALL: Rules = Rules(u64::MAX);

    /// This set with `rule` switched off.
    #[must_use]
    pub fn without(self, rule: Rule) -> Rules {
        Rules(self.0 & !rule.bit())
    }

    /// Whether `rule` is on.
    #[inline]
    pub fn has(self, rule: Rule) -> bool {
        self.0 & rule.bit() != 0
    }
}

impl Default for Rules {
    fn default() -> Self {
        Rules::ALL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut names: Vec<&str> = Rule::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Rule::ALL.len());
        for r in Rule::ALL {
            assert_eq!(Rule::from_name(r.name()), Some(r));
        }
    }

    #[test]
    fn switching_one_rule_off_leaves_the_others_on() {
        let rules = Rules::ALL.without(Rule::Card);
        assert!(!rules.has(Rule::Card));
        assert!(Rule::ALL
            .iter()
            .filter(|&&r| r != Rule::Card)
            .all(|&r| rules.has(r)));
    }
}
