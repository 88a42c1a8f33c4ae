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

/// Alphanumeric addresses take any septet: every one of the 128 maps to a character of the default alphabet
/// (the escape to its extension table, or to the character itself where the table has none), so a sender
/// name never fails to decode.
fn alphanumeric(bytes: &[u8], semi_octets: usize) -> String {
    // The length counts useful semi-octets; whole septets only, so a final half-septet is not read as `@`.
    let septets = gsm7::unpack(bytes, semi_octets * 4 / 7);
    gsm7::decode(&septets, gsm7::Tables::default())
}

/// Reads the SMSC field (length in octets, TOA included). `None` when the length is 0, or when the field holds
/// a type-of-address octet and no digits (some modems write `01 81` for "no SMSC").
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
    if rest.is_empty() {
        return Ok(None);
    }
    let number = if kind == AddressKind::Alphanumeric {
        alphanumeric(rest, rest.len() * 2)
    } else {
        digits(kind, rest, rest.len() * 2)
    };
    Ok(Some(Address { number, kind, toa }))
}

/// Reads a TP address (length in semi-octets of the value).
pub(crate) fn read_tp(r: &mut Reader<'_>, field: &'static str) -> Result<Address, DecodeError> {
    read_tp_raw(r, field).map(|(a, _)| a)
}

/// [`read_tp`], also returning the address value's octets (for the CPHS indicator, which lives in them).
pub(crate) fn read_tp_raw<'a>(
    r: &mut Reader<'a>,
    field: &'static str,
) -> Result<(Address, &'a [u8]), DecodeError> {
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
    Ok((Address { number, kind, toa }, bytes))
}

/// The CPHS voicemail indicator (CPHS 4.2 §B.4.2), which some networks send instead of a standard one: an
/// alphanumeric sender of 4 semi-octets whose first octet is 0x10 or 0x11 (bit 0 sets or clears the line 1
/// indicator; the next octet's bit 0 names line 2, which is read the same way here) and a one-space text.
pub(crate) fn cphs_voicemail(addr: &Address, raw: &[u8]) -> Option<crate::MessageWaiting> {
    match raw {
        [first, second]
            if addr.kind == AddressKind::Alphanumeric
                && first & 0x7E == 0x10
                && second & 0x7E == 0x00 =>
        {
            Some(crate::MessageWaiting {
                kind: crate::WaitingKind::Voicemail,
                active: first & 0x01 != 0,
                store: false,
                count: None,
                source: crate::IndicationSource::Cphs,
            })
        }
        _ => None,
    }
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
    fn every_septet_decodes_in_an_alphanumeric_address() {
        // 11 septets (the most an address holds) of every value 0..=127, escapes and all: each address decodes
        // to as many characters as it has septets, less the escapes that introduce an extension character.
        for start in 0..128u8 {
            let septets: Vec<u8> = (0..11).map(|i| (start + i * 12) % 128).collect();
            let packed = gsm7::pack(&[], &septets);
            let mut pdu = vec![20, 0xD0];
            pdu.extend_from_slice(&packed);
            let addr = read_tp(&mut Reader::new(&pdu), "sender").unwrap();
            assert_eq!(addr.kind, AddressKind::Alphanumeric);
            assert!(
                !addr.number.contains('\u{FFFD}'),
                "{septets:?} -> {:?}",
                addr.number
            );
            let escapes = septets
                .windows(2)
                .filter(|w| w[0] == gsm7::ESCAPE && w[1] != gsm7::ESCAPE)
                .count()
                + usize::from(septets.last() == Some(&gsm7::ESCAPE));
            assert!(
                addr.number.chars().count() + escapes >= septets.len(),
                "{septets:?} -> {:?}",
                addr.number
            );
        }
        // A 6-semi-octet name holds 3 whole septets: "O2" and 0x11 ('_'), as gammu's tests/at-sms/04.dump has.
        let (addr, raw) =
            read_tp_raw(&mut Reader::new(&[0x06, 0xD0, 0x4F, 0x59, 0x04]), "sender").unwrap();
        assert_eq!(
            (addr.number.as_str(), raw),
            ("O2_", &[0x4F, 0x59, 0x04][..])
        );
    }

    #[test]
    fn cphs_indicator() {
        let (addr, raw) =
            read_tp_raw(&mut Reader::new(&[0x04, 0xD0, 0x11, 0x00]), "sender").unwrap();
        assert_eq!(addr.number, "_@");
        let mw = cphs_voicemail(&addr, raw).unwrap();
        assert_eq!((mw.kind, mw.active), (crate::WaitingKind::Voicemail, true));
        let (addr, raw) =
            read_tp_raw(&mut Reader::new(&[0x04, 0xD0, 0x10, 0x00]), "sender").unwrap();
        assert!(!cphs_voicemail(&addr, raw).unwrap().active);
        // The same octets under a numeric type of address are digits, not an indicator.
        let (addr, raw) =
            read_tp_raw(&mut Reader::new(&[0x04, 0x81, 0x11, 0x00]), "sender").unwrap();
        assert!(cphs_voicemail(&addr, raw).is_none());
        let (addr, raw) =
            read_tp_raw(&mut Reader::new(&[0x04, 0xD0, 0x41, 0x00]), "sender").unwrap();
        assert!(cphs_voicemail(&addr, raw).is_none());
    }

    #[test]
    fn smsc_field_without_digits_is_no_smsc() {
        assert_eq!(read_smsc(&mut Reader::new(&[0x01, 0x81])).unwrap(), None);
        assert_eq!(read_smsc(&mut Reader::new(&[0x00])).unwrap(), None);
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
