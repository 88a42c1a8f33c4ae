//! TP-UDL and TP-UD: splits off the user data header, strips the fill bits of 7-bit text and turns the
//! payload into text according to the data coding scheme. User data shorter than TP-UDL says (phones store
//! such PDUs) is decoded as far as it goes and flagged `truncated`, never refused.

use crate::dcs::{DataCoding, Encoding};
use crate::gsm7::{self, Tables};
use crate::reader::Reader;
use crate::udh::{self, Concat, Udh};
use crate::DecodeError;

/// User data taken apart.
pub(crate) struct UserData {
    pub(crate) udh: Option<Udh>,
    pub(crate) concat: Option<Concat>,
    pub(crate) text: String,
    /// Septets (one per byte) for 7-bit, octets otherwise; the header excluded.
    pub(crate) payload: Vec<u8>,
    /// The alphabet the payload was read in (the DCS's, or its octet reading; see `DataCoding::if_octets`).
    pub(crate) encoding: Encoding,
    /// The PDU ended before the user data TP-UDL announced: `payload` and `text` hold what was there.
    pub(crate) truncated: bool,
}

/// Reads TP-UDL and TP-UD. Bytes after the user data are ignored: some modems pad the PDU.
pub(crate) fn read(
    r: &mut Reader<'_>,
    udhi: bool,
    coding: DataCoding,
) -> Result<UserData, DecodeError> {
    let udl = usize::from(r.u8("user data length")?);
    let mut encoding = coding.encoding;
    // A reserved DCS whose user data is exactly TP-UDL octets long (where septets would take fewer) counts
    // octets, so its bits mean the octet alphabet.
    if let Some(alternative) = coding.if_octets {
        if r.remaining() == udl && (udl * 7).div_ceil(8) != udl {
            encoding = alternative;
        }
    }
    let septets = encoding == Encoding::Gsm7;
    let octets = if septets { (udl * 7).div_ceil(8) } else { udl };
    if octets > 140 {
        let (unit, max) = if septets {
            ("septets", 160)
        } else {
            ("bytes", 140)
        };
        return Err(DecodeError::UserDataTooLong { udl, unit, max });
    }
    let truncated = octets > r.remaining();
    let ud = if truncated {
        r.rest()
    } else {
        r.take(octets, "user data")?
    };
    let (udh, concat, header_octets) = match ud {
        [udhl, rest @ ..] if udhi => {
            let udhl = usize::from(*udhl);
            if udhl > rest.len() {
                return Err(DecodeError::UdhOverrun {
                    claimed: udhl,
                    remaining: rest.len(),
                });
            }
            let (udh, concat) = udh::parse(&rest[..udhl])?;
            (Some(udh), concat, udhl + 1)
        }
        // UDHI with no user data at all: there is no header to read, so there is none.
        _ => (None, None, 0),
    };
    let payload = if septets {
        let skip = gsm7::header_septets(header_octets);
        if skip > udl {
            return Err(DecodeError::UdhLongerThanUserData { header: skip, udl });
        }
        // Only whole septets of what is there, when the PDU ends early.
        let mut all = gsm7::unpack(ud, udl.min(ud.len() * 8 / 7));
        all.drain(..skip.min(all.len()));
        all
    } else {
        let mut octets = ud[header_octets..].to_vec();
        // Half a UCS2 character cut off by the end of the PDU is not there to show.
        if truncated && encoding == Encoding::Ucs2 && octets.len() % 2 == 1 {
            octets.pop();
        }
        octets
    };
    let tables = udh
        .as_ref()
        .map(|u| Tables {
            locking: u.locking_shift,
            single: u.single_shift,
        })
        .unwrap_or_default();
    let text = payload_text(encoding, &payload, tables);
    Ok(UserData {
        udh,
        concat,
        text,
        payload,
        encoding,
        truncated,
    })
}

/// Text of a payload; empty for binary and compressed data, which have no text to show.
pub(crate) fn payload_text(encoding: Encoding, payload: &[u8], tables: Tables) -> String {
    match encoding {
        Encoding::Gsm7 => gsm7::decode(payload, tables),
        Encoding::Ucs2 => utf16be(payload),
        Encoding::Binary | Encoding::Compressed => String::new(),
    }
}

/// Decodes UTF-16BE, joining surrogate pairs; an unpaired surrogate or a final odd byte becomes U+FFFD.
pub(crate) fn utf16be(bytes: &[u8]) -> String {
    let units = bytes
        .chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]));
    let mut out: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    if bytes.len() % 2 == 1 {
        out.push(char::REPLACEMENT_CHARACTER);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_hex(udhi: bool, dcs: u8, hex: &str) -> Result<UserData, DecodeError> {
        let bytes = crate::parse_hex(hex).unwrap();
        read(&mut Reader::new(&bytes), udhi, DataCoding::from_octet(dcs))
    }

    #[test]
    fn short_user_data_is_decoded_as_far_as_it_goes() {
        // "hellohello" is 10 septets in 9 octets; TP-UDL says 11 (10 octets).
        let ud = read_hex(false, 0x00, "0BE8329BFD4697D9EC37").unwrap();
        assert_eq!((ud.text.as_str(), ud.truncated), ("hellohello", true));
        let ud = read_hex(false, 0x00, "0AE8329BFD4697D9EC37").unwrap();
        assert_eq!((ud.text.as_str(), ud.truncated), ("hellohello", false));
        // UCS2 "AB" and half of "C": the half is dropped.
        let ud = read_hex(false, 0x08, "0800410042 00".replace(' ', "").as_str()).unwrap();
        assert_eq!((ud.text.as_str(), ud.truncated), ("AB", true));
        // 8-bit: the bytes that are there.
        let ud = read_hex(false, 0x04, "0A0102").unwrap();
        assert_eq!((ud.payload.as_slice(), ud.truncated), (&[1u8, 2][..], true));
        // Nothing at all after TP-UDL.
        let ud = read_hex(false, 0x00, "05").unwrap();
        assert_eq!((ud.text.as_str(), ud.truncated), ("", true));
        // A header that the PDU cuts short is still an error: the header is structure, not text.
        assert!(read_hex(true, 0x00, "2005000301").is_err());
        // A 7-bit message cut inside its header's fill bits keeps the header and has no text.
        let ud = read_hex(true, 0x00, "A0050003010201").unwrap();
        assert!(ud.truncated && ud.text.is_empty() && ud.concat.is_some());
    }

    #[test]
    fn reserved_group_f_bit_reads_octets_when_the_length_says_so() {
        // DCS 0xF9 with 18 octets after TP-UDL 18: UCS2 (gammu's tests/at-sms/14.dump).
        let ud = read_hex(false, 0xF9, "12042204350441044200200054006500730074").unwrap();
        assert_eq!(
            (ud.text.as_str(), ud.encoding),
            ("Тест Test", Encoding::Ucs2)
        );
        // DCS 0xFB with TP-UDL 10 septets in 9 octets: 7-bit, as the spec reads it.
        let ud = read_hex(false, 0xFB, "0AE8329BFD4697D9EC37").unwrap();
        assert_eq!(
            (ud.text.as_str(), ud.encoding),
            ("hellohello", Encoding::Gsm7)
        );
    }

    #[test]
    fn utf16_surrogates() {
        assert_eq!(utf16be(&[0xD8, 0x3D, 0xDE, 0x00]), "😀");
        assert_eq!(utf16be(&[0xD8, 0x3D, 0x00, 0x41]), "\u{FFFD}A");
        assert_eq!(utf16be(&[0xDE, 0x00]), "\u{FFFD}");
        assert_eq!(utf16be(&[0x00, 0x41, 0x00]), "A\u{FFFD}");
    }
}
