//! A folded view of the message: look-alike characters mapped to ASCII so that one set of rules covers every script,
//! with a byte map back to the original text so spans can be reported against what the user actually received.

use std::ops::Range;

/// The message after folding, plus where every folded byte came from.
pub(crate) struct Folded {
    /// Folded text: full-width forms and non-ASCII decimal digits become ASCII, exotic spaces and dashes become ' '
    /// and '-', invisible direction marks are dropped.
    pub text: String,
    /// For every byte of `text`, the original byte range of the character it was produced from.
    origin: Vec<(u32, u32)>,
}

/// The DIGIT ZERO of every block of decimal digits in Unicode (general category Nd, Unicode 14), sorted: any of
/// them folds to ASCII, so a code written in Tibetan, Javanese or mathematical bold digits is still found.
const DIGIT_BLOCKS: &[u32] = &[
    0x0660,  // Arabic-Indic
    0x06F0,  // Extended Arabic-Indic
    0x07C0,  // Nko
    0x0966,  // Devanagari
    0x09E6,  // Bengali
    0x0A66,  // Gurmukhi
    0x0AE6,  // Gujarati
    0x0B66,  // Oriya
    0x0BE6,  // Tamil
    0x0C66,  // Telugu
    0x0CE6,  // Kannada
    0x0D66,  // Malayalam
    0x0DE6,  // Sinhala Lith
    0x0E50,  // Thai
    0x0ED0,  // Lao
    0x0F20,  // Tibetan
    0x1040,  // Myanmar
    0x1090,  // Myanmar Shan
    0x17E0,  // Khmer
    0x1810,  // Mongolian
    0x1946,  // Limbu
    0x19D0,  // New Tai Lue
    0x1A80,  // Tai Tham Hora
    0x1A90,  // Tai Tham Tham
    0x1B50,  // Balinese
    0x1BB0,  // Sundanese
    0x1C40,  // Lepcha
    0x1C50,  // Ol Chiki
    0xA620,  // Vai
    0xA8D0,  // Saurashtra
    0xA900,  // Kayah Li
    0xA9D0,  // Javanese
    0xA9F0,  // Myanmar Tai Laing
    0xAA50,  // Cham
    0xABF0,  // Meetei Mayek
    0xFF10,  // Fullwidth
    0x104A0, // Osmanya
    0x10D30, // Hanifi Rohingya
    0x11066, // Brahmi
    0x110F0, // Sora Sompeng
    0x11136, // Chakma
    0x111D0, // Sharada
    0x112F0, // Khudawadi
    0x11450, // Newa
    0x114D0, // Tirhuta
    0x11650, // Modi
    0x116C0, // Takri
    0x11730, // Ahom
    0x118E0, // Warang Citi
    0x11950, // Dives Akuru
    0x11C50, // Bhaiksuki
    0x11D50, // Masaram Gondi
    0x11DA0, // Gunjala Gondi
    0x16A60, // Mro
    0x16AC0, // Tangsa
    0x16B50, // Pahawh Hmong
    0x1D7CE, // Mathematical Bold
    0x1D7D8, // Mathematical Double-Struck
    0x1D7E2, // Mathematical Sans-Serif
    0x1D7EC, // Mathematical Sans-Serif Bold
    0x1D7F6, // Mathematical Monospace
    0x1E140, // Nyiakeng Puachue Hmong
    0x1E2F0, // Wancho
    0x1E950, // Adlam
    0x1FBF0, // Segmented
];

/// The ASCII digit `u` stands for, if it is a decimal digit of any script.
fn fold_digit(u: u32) -> Option<char> {
    let i = DIGIT_BLOCKS
        .partition_point(|&zero| zero <= u)
        .checked_sub(1)?;
    let offset = u - DIGIT_BLOCKS[i];
    (offset < 10).then(|| char::from(b'0' + offset as u8))
}

/// What a character folds to: `None` drops it (zero-width and bidi controls), otherwise the replacement.
fn fold_char(c: char) -> Option<char> {
    let u = c as u32;
    if c.is_ascii() {
        return Some(c);
    }
    if let Some(d) = fold_digit(u) {
        return Some(d);
    }
    match u {
        // Ideographic commas and stops stay as they are: folded to ',' or '.' they would glue a code to the next
        // number ("验证码356184，5分钟") as if it were a decimal.
        0xFF0C | 0xFF0E | 0x3001 | 0x3002 | 0xFF61 => Some(c),
        // Full-width ASCII variants (letters, punctuation such as '：' and '（').
        0xFF01..=0xFF5E => char::from_u32(u - 0xFEE0),
        0x3000 | 0x00A0 | 0x2000..=0x200A | 0x202F | 0x205F => Some(' '),
        0x2010..=0x2015 | 0x2212 | 0xFE63 => Some('-'),
        // Zero-width spaces/joiners, bidi marks and isolates, Arabic letter mark, BOM: invisible, never part of a code.
        0x200B..=0x200F | 0x202A..=0x202E | 0x2066..=0x2069 | 0x061C | 0xFEFF => None,
        0x066B => Some('.'), // Arabic decimal separator
        0x066C => Some(','), // Arabic thousands separator
        0x060C => Some(','), // Arabic comma
        0x061F => Some('?'),
        _ => Some(c),
    }
}

impl Folded {
    pub(crate) fn new(original: &str) -> Self {
        let mut text = String::with_capacity(original.len());
        let mut origin = Vec::with_capacity(original.len());
        for (start, c) in original.char_indices() {
            if let Some(f) = fold_char(c) {
                let range = (start as u32, (start + c.len_utf8()) as u32);
                text.push(f);
                origin.extend(std::iter::repeat_n(range, f.len_utf8()));
            }
        }
        Folded { text, origin }
    }

    /// Maps a non-empty byte range of the folded text back to the original text.
    pub(crate) fn original_range(&self, r: Range<usize>) -> Range<usize> {
        match (
            self.origin.get(r.start),
            r.end.checked_sub(1).and_then(|e| self.origin.get(e)),
        ) {
            (Some(s), Some(e)) => s.0 as usize..e.1 as usize,
            _ => 0..0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_of_many_scripts_fold_to_ascii() {
        let f = Folded::new("١٢٣ ۴۵۶ १२३ ৪৫৬ ７８９");
        assert_eq!(f.text, "123 456 123 456 789");
    }

    #[test]
    fn digits_of_rarer_scripts_fold_too() {
        // Tibetan, Javanese, mathematical bold.
        let f = Folded::new("༤༨ ꧔꧘ 𝟒𝟖");
        assert_eq!(f.text, "48 48 48");
        // Not digits: the letter after a block, the numeral of another category.
        assert_eq!(Folded::new("\u{0F2A}Ⅳ").text, "\u{0F2A}Ⅳ");
    }

    #[test]
    fn spans_map_back_to_original_bytes() {
        let original = "码：１２３４";
        let f = Folded::new(original);
        assert_eq!(f.text, "码:1234");
        let start = f.text.find('1').unwrap();
        let r = f.original_range(start..f.text.len());
        assert_eq!(&original[r], "１２３４");
    }

    #[test]
    fn invisible_marks_are_dropped_and_not_included_in_spans() {
        let original = "\u{200f}12\u{200e}34\u{200f}";
        let f = Folded::new(original);
        assert_eq!(f.text, "1234");
        let r = f.original_range(0..4);
        assert_eq!(&original[r], "12\u{200e}34");
    }
}
