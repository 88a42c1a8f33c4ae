//! Addresses (TS 23.040 §9.1.2.5): the SMSC address (length in octets) and the TP originating, destination
//! and recipient addresses (length in digits), including alphanumeric senders packed in GSM 7-bit.

use crate::gsm7;
use crate::reader::Reader;
use crate::DecodeError;

/// Type of number from the type-of-address octet (bits 6..4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressKind {
    /// Type 0: unknown (often a national number or short code).
    Unknown,
    /// Type 1: international; `number` carries a leading `+`.
    International,
    /// Type 2: national.
    National,
    /// Type 3: network specific (often a short code).
    NetworkSpecific,
    /// Type 4: subscriber number.
    Subscriber,
    /// Type 5: alphanumeric, GSM 7-bit packed (e.g. "Megafon").
    Alphanumeric,
    /// Type 6: abbreviated number.
    Abbreviated,
    /// Type 7: reserved.
    Reserved,
}

impl AddressKind {
    fn from_toa(toa: u8) -> Self {
        match (toa >> 4) & 0x07 {
            0 => AddressKind::Unknown,
            1 => AddressKind::International,
            2 => AddressKind::National,
            3 => AddressKind::NetworkSpecific,
            4 => AddressKind::Subscriber,
            5 => AddressKind::Alphanumeric,
            6 => AddressKind::Abbreviated,
            _ => AddressKind::Reserved,
        }
    }

    /// Lower-case name, as used in JSON output (`"international"`, `"alphanumeric"`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            AddressKind::Unknown => "unknown",
            AddressKind::International => "international",
            AddressKind::National => "national",
            AddressKind::NetworkSpecific => "network_specific",
            AddressKind::Subscriber => "subscriber",
            AddressKind::Alphanumeric => "alphanumeric",
            AddressKind::Abbreviated => "abbreviated",
            AddressKind::Reserved => "reserved",
        }
    }
}

/// A decoded address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    /// `+4917...` for international numbers, the digits (and `*`, `#`, `a`..`c`) otherwise, the text for
    /// alphanumeric addresses.
    pub number: String,
    /// Type of number.
    pub kind: AddressKind,
    /// The raw type-of-address octet (type of number and numbering plan).
    pub toa: u8,
}

impl Address {
    /// Builds the address a string names: `+digits` is international, plain digits unknown-type (the network
    /// reads them as national), anything else alphanumeric.
    pub fn parse(s: &str) -> Address {
        let digits =
            |d: &str| !d.is_empty() && d.len() <= 20 && d.bytes().all(|b| b.is_ascii_digit());
        if let Some(rest) = s.strip_prefix('+').filter(|r| digits(r)) {
            Address {
                number: format!("+{rest}"),
                kind: AddressKind::International,
                toa: 0x91,
            }
        } else if digits(s) {
            Address {
                number: s.to_owned(),
                kind: AddressKind::Unknown,
                toa: 0x81,
            }
        } else {
            Address {
                number: s.to_owned(),
                kind: AddressKind::Alphanumeric,
                toa: 0xD0,
            }
        }
    }
}

fn bcd_digit(nibble: u8) -> Option<char> {
    match nibble {
        0..=9 => Some(char::from(b'0' + nibble)),
        0x0A => Some('*'),
        0x0B => Some('#'),
        0x0C => Some('a'),
        0x0D => Some('b'),
        0x0E => Some('c'),
        _ => None, // 0x0F is the filler
    }
}

fn digits(kind: AddressKind, bytes: &[u8], count: usize) -> String {
    let mut number = String::with_capacity(count + 1);
    if kind == AddressKind::International {
        number.push('+');
    }
    for (i, &b) in bytes.iter().enumerate() {
        for (j, nibble) in [b & 0x0F, b >> 4].into_iter().enumerate() {
            if i * 2 + j < count {
                number.extend(bcd_digit(nibble));
            }
        }
    }
    number
}

fn alphanumeric(bytes: &[u8], semi_octets: usize) -> String {
    // The length counts useful semi-octets; whole septets only, so a final half-septet is not read as `@`.
    let septets = gsm7::unpack(bytes, semi_octets * 4 / 7);
    gsm7::decode(&septets, gsm7::Tables::default())
}

/// Reads the SMSC field (length in octets, TOA included). `None` when the length is 0.
pub(crate) fn read_smsc(r: &mut Reader<'_>) -> Result<Option<Address>, DecodeError> {
    let len = r.u8("SMSC length")?;
    if len == 0 {
        return Ok(None);
    }
    if len > 11 {
        return Err(DecodeError::SmscTooLong(len));
    }
    let body = r.take(usize::from(len), "SMSC address")?;
    let toa = body[0];
    let kind = AddressKind::from_toa(toa);
    let rest = &body[1..];
    let number = if kind == AddressKind::Alphanumeric {
        alphanumeric(rest, rest.len() * 2)
    } else {
        digits(kind, rest, rest.len() * 2)
    };
    Ok(Some(Address { number, kind, toa }))
}

/// Reads a TP address (length in semi-octets of the value).
pub(crate) fn read_tp(r: &mut Reader<'_>, field: &'static str) -> Result<Address, DecodeError> {
    let semi_octets = r.u8(field)?;
    if semi_octets > 20 {
        return Err(DecodeError::AddressTooLong {
            field,
            digits: semi_octets,
        });
    }
    let toa = r.u8(field)?;
    let count = usize::from(semi_octets);
    let bytes = r.take(count.div_ceil(2), field)?;
    let kind = AddressKind::from_toa(toa);
    let number = if kind == AddressKind::Alphanumeric {
        alphanumeric(bytes, count)
    } else {
        digits(kind, bytes, count)
    };
    Ok(Address { number, kind, toa })
}

fn push_bcd(out: &mut Vec<u8>, digits: &[u8]) {
    for pair in digits.chunks(2) {
        let lo = pair[0];
        let hi = pair.get(1).copied().unwrap_or(0x0F);
        out.push(hi << 4 | lo);
    }
}

fn nibbles(number: &str) -> Vec<u8> {
    number
        .trim_start_matches('+')
        .chars()
        .filter_map(|c| match c {
            '0'..='9' => Some(c as u8 - b'0'),
            '*' => Some(0x0A),
            '#' => Some(0x0B),
            'a' => Some(0x0C),
            'b' => Some(0x0D),
            'c' => Some(0x0E),
            _ => None,
        })
        .collect()
}

/// Writes a TP address. Alphanumeric text is cut to the 11 characters that fit; characters outside the
/// default alphabet become `?`.
pub(crate) fn write_tp(out: &mut Vec<u8>, addr: &Address) {
    if addr.kind == AddressKind::Alphanumeric {
        let mut septets = Vec::new();
        for c in addr.number.chars() {
            let code =
                gsm7::encode_char(c, gsm7::Tables::default()).unwrap_or(gsm7::Code::Single(b'?'));
            if septets.len() + code.len() > 11 {
                break;
            }
            code.push_to(&mut septets);
        }
        let packed = gsm7::pack(&[], &septets);
        out.push(((septets.len() * 7).div_ceil(4)) as u8);
        out.push(addr.toa);
        out.extend_from_slice(&packed);
    } else {
        let n = nibbles(&addr.number);
        out.push(n.len() as u8);
        out.push(addr.toa);
        push_bcd(out, &n);
    }
}

/// Writes the SMSC field for `number` (`None` writes the single 00 octet: "use the SIM's SMSC").
pub(crate) fn write_smsc(out: &mut Vec<u8>, number: Option<&str>) {
    match number {
        None => out.push(0),
        Some(number) => {
            let n = nibbles(number);
            out.push((1 + n.len().div_ceil(2)) as u8);
            out.push(if number.starts_with('+') { 0x91 } else { 0x81 });
            push_bcd(out, &n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphanumeric_megafon_has_no_trailing_at() {
        // "Megafon": 7 septets = 49 bits, 13 useful semi-octets, 7 octets.
        let mut out = Vec::new();
        write_tp(&mut out, &Address::parse("Megafon"));
        assert_eq!(out[0], 13);
        assert_eq!(out, [0x0D, 0xD0, 0xCD, 0xF2, 0x39, 0x6C, 0x7E, 0xBB, 0x01]);
        let addr = read_tp(&mut Reader::new(&out), "sender").unwrap();
        assert_eq!(addr.number, "Megafon");
        assert_eq!(addr.kind, AddressKind::Alphanumeric);
    }

    #[test]
    fn odd_digit_count_uses_the_filler() {
        let mut out = Vec::new();
        write_tp(&mut out, &Address::parse("+31641600986"));
        assert_eq!(out, [0x0B, 0x91, 0x13, 0x46, 0x61, 0x00, 0x89, 0xF6]);
        assert_eq!(
            read_tp(&mut Reader::new(&out), "sender").unwrap().number,
            "+31641600986"
        );
    }

    #[test]
    fn overlong_address_is_an_error() {
        let err = read_tp(&mut Reader::new(&[0x30, 0x91]), "sender").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the sender length says 48 digits, more than the 20 an address can take"
        );
    }
}
