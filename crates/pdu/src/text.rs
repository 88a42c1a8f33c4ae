//! The alphabets on their own, for text that does not come in an SMS PDU: a USSD reply
//! (`+CUSD`, TS 27.007 §7.15) or a cell broadcast carries GSM 7-bit or UCS2 text under a CBS data
//! coding scheme (TS 23.038 §5). The same tables decode SMS, so a character reads the same in both.

use crate::dcs::Encoding;
use crate::gsm7::{self, Tables};
use crate::userdata::utf16be;

/// Decodes GSM 7-bit septets, one per byte (the top bit is ignored), with the default alphabet and
/// its extension table. An undefined position becomes U+FFFD.
pub fn gsm7_septets(septets: &[u8]) -> String {
    gsm7::decode(septets, Tables::default())
}

/// Decodes packed GSM 7-bit text (eight septets in seven octets, LSB first). When the last octet
/// leaves exactly seven spare bits they are padding (TS 23.038 §6.1.2.3.1 fills them with CR),
/// so a final CR there is dropped.
pub fn gsm7_packed(bytes: &[u8]) -> String {
    let count = bytes.len() * 8 / 7;
    let mut septets = gsm7::unpack(bytes, count);
    if count.is_multiple_of(8) && septets.last() == Some(&0x0D) {
        septets.pop();
    }
    gsm7_septets(&septets)
}

/// Packs `text` into GSM 7-bit octets (padding seven spare bits with CR, as TS 23.038 asks), or
/// `None` if a character has no code in the default alphabet. For simulators and tests.
pub fn gsm7_pack(text: &str) -> Option<Vec<u8>> {
    let mut septets = Vec::with_capacity(text.len());
    for c in text.chars() {
        gsm7::encode_char(c, Tables::default())?.push_to(&mut septets);
    }
    if septets.len() % 8 == 7 {
        septets.push(0x0D);
    }
    Some(gsm7::pack(&[], &septets))
}

/// Decodes UCS2 text as UTF-16BE (surrogate pairs joined; an unpaired half becomes U+FFFD).
pub fn ucs2(bytes: &[u8]) -> String {
    utf16be(bytes)
}

/// The alphabet of a cell broadcast / USSD data coding scheme (TS 23.038 §5): GSM 7-bit for the
/// language groups, UCS2 for `0x11` and the general groups' UCS2 bit pattern, 8-bit data
/// otherwise. A reserved value reads as GSM 7-bit, as the specification asks.
pub fn cbs_encoding(dcs: u8) -> Encoding {
    match dcs >> 4 {
        0x0 | 0x2 | 0x3 => Encoding::Gsm7,
        0x1 if dcs == 0x11 => Encoding::Ucs2,
        0x1 => Encoding::Gsm7,
        0x4..=0x7 | 0x9 => match (dcs >> 2) & 0x03 {
            0 => Encoding::Gsm7,
            1 => Encoding::Binary,
            2 => Encoding::Ucs2,
            _ => Encoding::Gsm7,
        },
        0xF => {
            if dcs & 0x04 == 0 {
                Encoding::Gsm7
            } else {
                Encoding::Binary
            }
        }
        _ => Encoding::Gsm7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_text_round_trips_and_drops_the_cr_padding() {
        for text in [
            "Balance: 5.00 EUR",
            "1234567",
            "hellohello",
            "Ihr Guthaben: 3,50€ {ok}",
        ] {
            let packed = gsm7_pack(text).unwrap();
            assert_eq!(gsm7_packed(&packed), text, "{packed:02X?}");
        }
        // The specification's own example.
        assert_eq!(
            gsm7_packed(&[0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37]),
            "hellohello"
        );
        assert_eq!(gsm7_pack("Привет"), None);
    }

    #[test]
    fn unpacked_septets_and_ucs2() {
        assert_eq!(gsm7_septets(b"Hi @ 5"), "Hi \u{a1} 5");
        assert_eq!(gsm7_septets(&[0x00, 0x1B, 0x65]), "@€");
        assert_eq!(
            ucs2(&[0x04, 0x1F, 0x04, 0x40, 0xD8, 0x3D, 0xDE, 0x00]),
            "Пр😀"
        );
    }

    #[test]
    fn cbs_data_coding_schemes() {
        assert_eq!(cbs_encoding(0x0F), Encoding::Gsm7);
        assert_eq!(cbs_encoding(0x00), Encoding::Gsm7);
        assert_eq!(cbs_encoding(0x10), Encoding::Gsm7);
        assert_eq!(cbs_encoding(0x11), Encoding::Ucs2);
        assert_eq!(cbs_encoding(0x48), Encoding::Ucs2);
        assert_eq!(cbs_encoding(0x44), Encoding::Binary);
        assert_eq!(cbs_encoding(0x40), Encoding::Gsm7);
        assert_eq!(cbs_encoding(0xF4), Encoding::Binary);
    }
}
