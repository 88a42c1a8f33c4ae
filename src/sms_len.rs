//! What an outgoing SMS will cost before it is sent: alphabet, length and number of parts, plus recipient checks.
//!
//! The counter in the Compose screen must agree with the PDU encoder (3GPP TS 23.038 / 23.040), so it asks the
//! encoder's own planner (`simrelay_pdu::plan`, pure and built for wasm32 too): text that fits the GSM 7-bit
//! default alphabet (with its extension table, whose characters take two septets) is sent as GSM 7-bit, anything
//! else as UCS2 (UTF-16); one part holds 160 septets or 70 UTF-16 units, a part of a longer message 153 or 67, and
//! an escape pair or a surrogate pair is never split across two parts.

use simrelay_pdu::Encoding;

/// The alphabet an outgoing message will be encoded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    /// GSM 03.38 default alphabet, 7 bits per character.
    Gsm7,
    /// UCS2 / UTF-16BE, 16 bits per unit.
    Ucs2,
}

impl Alphabet {
    /// The name the UI shows.
    pub fn label(self) -> &'static str {
        match self {
            Alphabet::Gsm7 => "GSM 7-bit",
            Alphabet::Ucs2 => "UCS2",
        }
    }
}

/// Length facts about one outgoing text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsLength {
    /// Characters as a person counts them (Unicode scalar values).
    pub chars: usize,
    /// Encoding the encoder will pick.
    pub alphabet: Alphabet,
    /// Number of SMS parts (0 for empty text).
    pub parts: usize,
    /// Code units used: septets for GSM 7-bit, UTF-16 units for UCS2.
    pub units: usize,
}

/// Measures `text` the way the encoder will send it: the counting is `simrelay-pdu`'s [`simrelay_pdu::plan`],
/// the very split the engine sends by.
pub fn measure(text: &str) -> SmsLength {
    if text.is_empty() {
        return SmsLength {
            chars: 0,
            alphabet: Alphabet::Gsm7,
            parts: 0,
            units: 0,
        };
    }
    let plan = simrelay_pdu::plan(text, None);
    SmsLength {
        chars: text.chars().count(),
        alphabet: match plan.encoding {
            Encoding::Gsm7 => Alphabet::Gsm7,
            _ => Alphabet::Ucs2,
        },
        parts: plan.parts,
        units: plan.units,
    }
}

/// Why a recipient number was refused, phrased for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientError {
    /// Nothing was typed.
    Empty,
    /// The number does not start with `+`.
    MissingPlus,
    /// Something other than digits (after removing spaces, dashes, dots and brackets).
    NotDigits,
    /// E.164 numbers have at most 15 digits, and a country code never starts with 0.
    BadLength,
}

impl std::fmt::Display for RecipientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecipientError::Empty => "Enter the recipient's number.",
            RecipientError::MissingPlus => {
                "Start with + and the country code, for example +491701234567."
            }
            RecipientError::NotDigits => "Use digits only after the +.",
            RecipientError::BadLength => {
                "An international number has 8 to 15 digits and its country code does not start with 0."
            }
        })
    }
}

/// Checks an E.164 number and returns it normalised (`+` and digits only).
///
/// Spaces, dashes, dots and brackets are accepted as people type them and removed.
pub fn normalise_e164(input: &str) -> Result<String, RecipientError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(RecipientError::Empty);
    }
    let Some(rest) = trimmed.strip_prefix('+') else {
        return Err(RecipientError::MissingPlus);
    };
    let digits: String = rest
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(RecipientError::NotDigits);
    }
    // Shortest real E.164 numbers (small countries) have 8 digits with the country code.
    if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return Err(RecipientError::BadLength);
    }
    Ok(format!("+{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_is_zero_parts() {
        assert_eq!(
            measure(""),
            SmsLength {
                chars: 0,
                alphabet: Alphabet::Gsm7,
                parts: 0,
                units: 0
            }
        );
    }

    #[test]
    fn gsm7_boundaries() {
        assert_eq!(measure(&"a".repeat(160)).parts, 1);
        assert_eq!(measure(&"a".repeat(161)).parts, 2);
        assert_eq!(measure(&"a".repeat(306)).parts, 2);
        assert_eq!(measure(&"a".repeat(307)).parts, 3);
    }

    #[test]
    fn extension_characters_take_two_septets() {
        let m = measure(&"€".repeat(80));
        assert_eq!(
            (m.alphabet, m.units, m.parts, m.chars),
            (Alphabet::Gsm7, 160, 1, 80)
        );
        assert_eq!(measure(&"€".repeat(81)).parts, 2);
    }

    #[test]
    fn escape_pair_is_not_split_across_parts() {
        // 152 septets then a two-septet char: it cannot straddle the 153-septet part boundary.
        let text = format!("{}{}{}", "a".repeat(152), "€", "a".repeat(152));
        let m = measure(&text);
        assert_eq!(m.units, 306);
        assert_eq!(
            m.parts, 3,
            "the € moves whole into part 2, pushing the tail into part 3"
        );
    }

    #[test]
    fn non_gsm_text_switches_to_ucs2() {
        let m = measure("Код 1234");
        assert_eq!((m.alphabet, m.units, m.parts), (Alphabet::Ucs2, 8, 1));
        assert_eq!(measure(&"ж".repeat(70)).parts, 1);
        assert_eq!(measure(&"ж".repeat(71)).parts, 2);
        assert_eq!(measure(&"ж".repeat(134)).parts, 2);
        assert_eq!(measure(&"ж".repeat(135)).parts, 3);
    }

    #[test]
    fn emoji_counts_as_two_units_and_one_char() {
        let m = measure("ok 👍");
        assert_eq!((m.chars, m.units, m.alphabet), (4, 5, Alphabet::Ucs2));
        // 66 units then a surrogate pair: the pair goes whole into part 2.
        let text = format!("{}👍", "ж".repeat(66));
        let long = format!("{text}{}", "ж".repeat(10));
        assert_eq!(measure(&long).units, 78);
        assert_eq!(measure(&long).parts, 2);
    }

    #[test]
    fn escape_char_itself_forces_ucs2() {
        assert_eq!(measure("a\u{1b}b").alphabet, Alphabet::Ucs2);
    }

    #[test]
    fn e164_accepts_typed_forms() {
        assert_eq!(
            normalise_e164(" +49 170 123-4567 ").as_deref(),
            Ok("+491701234567")
        );
        assert_eq!(
            normalise_e164("+1 (415) 555.0100").as_deref(),
            Ok("+14155550100")
        );
    }

    #[test]
    fn e164_rejects_with_a_reason() {
        assert_eq!(normalise_e164(""), Err(RecipientError::Empty));
        assert_eq!(
            normalise_e164("01701234567"),
            Err(RecipientError::MissingPlus)
        );
        assert_eq!(normalise_e164("+49abc"), Err(RecipientError::NotDigits));
        assert_eq!(normalise_e164("+1234"), Err(RecipientError::BadLength));
        assert_eq!(
            normalise_e164("+1234567890123456"),
            Err(RecipientError::BadLength)
        );
        assert_eq!(
            normalise_e164("+0491701234567"),
            Err(RecipientError::BadLength)
        );
        assert!(RecipientError::MissingPlus
            .to_string()
            .contains("country code"));
    }
}
