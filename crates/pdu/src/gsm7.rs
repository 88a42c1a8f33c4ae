//! The GSM 7-bit alphabet (TS 23.038 §6.2.1): septet packing, and text decoding/encoding through a pair of
//! tables, a locking table (the default alphabet or a national one) and a single shift table reached through
//! the escape septet 0x1B (the default extension table or a national one).

use crate::national::Language;

/// Septet that switches the next septet to the single shift table.
pub(crate) const ESCAPE: u8 = 0x1B;

/// Marks a position a table leaves undefined. No table maps a code to U+0000, so it cannot collide.
pub(crate) const UNDEFINED: char = '\0';

/// The default alphabet (TS 23.038 §6.2.1). Position 0x1B is the escape, never a character.
pub(crate) static DEFAULT_LOCKING: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', UNDEFINED, 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The default alphabet extension table (TS 23.038 §6.2.1.1), as (septet after the escape, character).
pub(crate) static DEFAULT_SINGLE: &[(u8, char)] = &[
    (0x0A, '\u{0C}'), // form feed (a page break)
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

/// The locking and single shift tables in force for one message (chosen by UDH IEIs 0x25 and 0x24).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Tables {
    pub(crate) locking: Option<Language>,
    pub(crate) single: Option<Language>,
}

impl Tables {
    fn locking_table(self) -> &'static [char; 128] {
        self.locking
            .and_then(Language::locking_table)
            .unwrap_or(&DEFAULT_LOCKING)
    }

    fn single_table(self) -> &'static [(u8, char)] {
        self.single
            .and_then(Language::single_shift_table)
            .unwrap_or(DEFAULT_SINGLE)
    }
}

/// Unpacks `count` septets from packed user data (LSB first). Stops early if `bytes` runs out.
pub(crate) fn unpack(bytes: &[u8], count: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(count);
    // Every 7 octets hold exactly 8 septets: take those whole first (the hot path of decoding).
    let mut groups = bytes.chunks_exact(7);
    while out.len() + 8 <= count {
        let Some(group) = groups.next() else { break };
        let mut word = [0u8; 8];
        word[..7].copy_from_slice(group);
        let bits = u64::from_le_bytes(word);
        out.extend((0..8).map(|i| ((bits >> (7 * i)) & 0x7F) as u8));
    }
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in bytes.get(out.len() / 8 * 7..).unwrap_or_default() {
        if out.len() >= count {
            break;
        }
        acc |= u32::from(b) << bits;
        bits += 8;
        while bits >= 7 && out.len() < count {
            out.push((acc & 0x7F) as u8);
            acc >>= 7;
            bits -= 7;
        }
    }
    out
}

/// Packs septets after `header` octets: the septets start at the first septet boundary after the header,
/// which leaves exactly `(7 - (header.len() * 8) % 7) % 7` fill bits.
pub(crate) fn pack(header: &[u8], septets: &[u8]) -> Vec<u8> {
    let start = header_septets(header.len());
    let total_bits = (start + septets.len()) * 7;
    let mut out = vec![0u8; total_bits.div_ceil(8)];
    out[..header.len()].copy_from_slice(header);
    for (i, &s) in septets.iter().enumerate() {
        let pos = (start + i) * 7;
        let (byte, shift) = (pos / 8, pos % 8);
        out[byte] |= (s & 0x7F) << shift;
        if shift > 1 {
            out[byte + 1] |= (s & 0x7F) >> (8 - shift);
        }
    }
    out
}

/// Septets a user data header of `octets` bytes (length octet included) occupies, fill bits included.
pub(crate) fn header_septets(octets: usize) -> usize {
    (octets * 8).div_ceil(7)
}

/// Decodes septets to text, carrying an escape across calls so parts of a multipart message can be fed
/// one after another.
pub(crate) struct Decoder {
    tables: Tables,
    escape_pending: bool,
}

impl Decoder {
    pub(crate) fn new(tables: Tables) -> Self {
        Decoder {
            tables,
            escape_pending: false,
        }
    }

    /// Switches tables (a later part of a multipart message may name its own) without losing a pending escape.
    pub(crate) fn set_tables(&mut self, tables: Tables) {
        self.tables = tables;
    }

    pub(crate) fn push(&mut self, septets: &[u8], out: &mut String) {
        let locking = self.tables.locking_table();
        let single = self.tables.single_table();
        for &s in septets {
            let s = s & 0x7F;
            if self.escape_pending {
                self.escape_pending = false;
                if s == ESCAPE {
                    // 0x1B 0x1B is reserved for a further extension table; the spec says to show a space.
                    out.push(' ');
                } else if let Some(&(_, c)) = single.iter().find(|(k, _)| *k == s) {
                    out.push(c);
                } else {
                    // An escape to an undefined position shows the locking table's character (§6.2.1.1).
                    push_locking(locking, s, out);
                }
            } else if s == ESCAPE {
                self.escape_pending = true;
            } else {
                push_locking(locking, s, out);
            }
        }
    }
}

#[inline]
fn push_locking(locking: &[char; 128], s: u8, out: &mut String) {
    match locking[usize::from(s)] {
        UNDEFINED => out.push(char::REPLACEMENT_CHARACTER),
        c => out.push(c),
    }
}

/// Decodes a complete septet string. A trailing lone escape is dropped: it introduces nothing.
pub(crate) fn decode(septets: &[u8], tables: Tables) -> String {
    let mut out = String::with_capacity(septets.len());
    Decoder::new(tables).push(septets, &mut out);
    out
}

/// How one character is written in 7-bit: one septet, or the escape followed by one septet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    Single(u8),
    Escaped(u8),
}

impl Code {
    pub(crate) fn len(self) -> usize {
        match self {
            Code::Single(_) => 1,
            Code::Escaped(_) => 2,
        }
    }

    pub(crate) fn push_to(self, out: &mut Vec<u8>) {
        match self {
            Code::Single(s) => out.push(s),
            Code::Escaped(s) => out.extend_from_slice(&[ESCAPE, s]),
        }
    }
}

/// Finds how `c` is written with these tables, preferring the locking table (one septet).
pub(crate) fn encode_char(c: char, tables: Tables) -> Option<Code> {
    if c == UNDEFINED {
        return None;
    }
    if let Some(i) = tables.locking_table().iter().position(|&t| t == c) {
        return Some(Code::Single(i as u8));
    }
    tables
        .single_table()
        .iter()
        .find(|(_, t)| *t == c)
        .map(|&(k, _)| Code::Escaped(k))
}

/// Encodes the whole text, or `None` if some character has no code in these tables.
#[cfg(test)]
pub(crate) fn encode(text: &str, tables: Tables) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        encode_char(c, tables)?.push_to(&mut out);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_hellohello_like_the_spec_example() {
        let septets = encode("hellohello", Tables::default()).unwrap();
        assert_eq!(
            pack(&[], &septets),
            [0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37]
        );
        assert_eq!(unpack(&pack(&[], &septets), septets.len()), septets);
    }

    #[test]
    fn unpack_matches_bit_by_bit_reading_for_every_length() {
        let bytes: Vec<u8> = (0..140u32).map(|i| (i * 37 + 11) as u8).collect();
        for count in 0..=160 {
            let slow: Vec<u8> = (0..count)
                .map(|i| {
                    (0..7).fold(0u8, |v, b| {
                        v | ((bytes[(i * 7 + b) / 8] >> ((i * 7 + b) % 8)) & 1) << b
                    })
                })
                .collect();
            assert_eq!(unpack(&bytes, count), slow, "count {count}");
        }
        assert_eq!(unpack(&bytes[..3], 8).len(), 3); // runs out of bytes: 24 bits hold 3 septets
    }

    #[test]
    fn fill_bits_follow_the_formula_for_every_header_length() {
        for udh in 1..=20usize {
            let fill = (7 - (udh * 8) % 7) % 7;
            assert_eq!(header_septets(udh) * 7, udh * 8 + fill, "udh {udh}");
        }
    }

    #[test]
    fn escape_rules() {
        // Extension characters, an undefined escape (shows the base character), a doubled escape (space).
        assert_eq!(
            decode(
                &[0x1B, 0x65, 0x1B, 0x41, 0x1B, 0x1B, 0x42],
                Tables::default()
            ),
            "€A B"
        );
        // A trailing escape introduces nothing.
        assert_eq!(decode(&[0x41, 0x1B], Tables::default()), "A");
    }

    #[test]
    fn every_default_character_round_trips() {
        let all: String = DEFAULT_LOCKING
            .iter()
            .filter(|&&c| c != UNDEFINED)
            .collect::<String>()
            + &DEFAULT_SINGLE.iter().map(|(_, c)| *c).collect::<String>();
        let septets = encode(&all, Tables::default()).unwrap();
        assert_eq!(septets.len(), 127 + 2 * DEFAULT_SINGLE.len());
        assert_eq!(decode(&septets, Tables::default()), all);
    }
}
