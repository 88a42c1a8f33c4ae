//! TP-UDL and TP-UD: splits off the user data header, strips the fill bits of 7-bit text and turns the
//! payload into text according to the data coding scheme.

use crate::dcs::Encoding;
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
}

/// Reads TP-UDL and TP-UD. Bytes after the user data are ignored: some modems pad the PDU.
pub(crate) fn read(
    r: &mut Reader<'_>,
    udhi: bool,
    encoding: Encoding,
) -> Result<UserData, DecodeError> {
    let udl = usize::from(r.u8("user data length")?);
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
    if octets > r.remaining() {
        return Err(DecodeError::UserDataTruncated {
            claimed: octets,
            remaining: r.remaining(),
        });
    }
    let ud = r.take(octets, "user data")?;
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
        let mut all = gsm7::unpack(ud, udl);
        all.drain(..skip);
        all
    } else {
        ud[header_octets..].to_vec()
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

    #[test]
    fn utf16_surrogates() {
        assert_eq!(utf16be(&[0xD8, 0x3D, 0xDE, 0x00]), "😀");
        assert_eq!(utf16be(&[0xD8, 0x3D, 0x00, 0x41]), "\u{FFFD}A");
        assert_eq!(utf16be(&[0xDE, 0x00]), "\u{FFFD}");
        assert_eq!(utf16be(&[0x00, 0x41, 0x00]), "A\u{FFFD}");
    }
}
