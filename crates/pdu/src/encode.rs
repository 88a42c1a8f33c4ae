//! Encoding text into PDUs: picks the alphabet (GSM 7-bit with extension, optionally a national shift table,
//! else UCS2), splits long text into concatenated parts without cutting an escape sequence or a surrogate pair,
//! and writes SMS-SUBMIT (for sending) or SMS-DELIVER (for the simulator and tests). [`plan`] gives the
//! numbers a UI counter shows.

use std::time::Duration;

use chrono::{DateTime, FixedOffset};

use crate::address::{self, Address};
use crate::dcs::Encoding;
use crate::gsm7::{self, Tables};
use crate::national::Language;
use crate::pdu::Validity;
use crate::scts;
use crate::udh;
use crate::EncodeError;

/// Options for [`encode_submit`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubmitOptions {
    /// Ask the network for a status report (TP-SRR).
    pub request_status_report: bool,
    /// Allow this language's national shift tables when the text does not fit the default alphabet
    /// (single shift first, then locking shift), before falling back to UCS2.
    pub national_language: Option<Language>,
    /// Concatenation reference for a multipart message (8-bit). Use a different one for each message sent.
    pub concat_reference: u8,
    /// TP-MR. Most modems replace it with their own counter.
    pub message_reference: u8,
    /// TP-VP in relative format, rounded up to the next period the field can express.
    pub validity: Option<Duration>,
    /// Always use UCS2, even when GSM 7-bit would do.
    pub force_ucs2: bool,
}

/// Options for [`encode_deliver_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverOptions {
    /// Service centre written in the SMSC field; `None` writes an empty field (a single 00 octet).
    pub smsc: Option<String>,
    /// As in [`SubmitOptions::national_language`].
    pub national_language: Option<Language>,
    /// Concatenation reference for a multipart message.
    pub reference: u16,
    /// 8 (IEI 0x00) or 16 (IEI 0x08, 7-byte header).
    pub ref_bits: u8,
    /// Always use UCS2.
    pub force_ucs2: bool,
}

impl Default for DeliverOptions {
    fn default() -> Self {
        DeliverOptions {
            smsc: Some("+447785016005".to_owned()),
            national_language: None,
            reference: 0,
            ref_bits: 8,
            force_ucs2: false,
        }
    }
}

/// How a text will be sent: what a compose box's counter shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Number of SMS parts.
    pub parts: usize,
    /// [`Encoding::Gsm7`] or [`Encoding::Ucs2`].
    pub encoding: Encoding,
    /// National locking shift table used, if any.
    pub locking_shift: Option<Language>,
    /// National single shift table used, if any.
    pub single_shift: Option<Language>,
    /// The whole text's payload, in septets (GSM 7-bit: an escaped character takes two) or UTF-16 code units
    /// (UCS2: an emoji takes two).
    pub units: usize,
    /// Capacity of the last part, in septets (GSM 7-bit) or UTF-16 code units (UCS2).
    pub part_capacity: usize,
    /// What still fits in the last part, in the same units: characters of the locking table, or BMP
    /// characters for UCS2 (an escaped character or an emoji takes two).
    pub chars_left_in_part: usize,
}

/// The alphabet chosen for a text, with its payload units and where each character ends.
struct Encoded {
    encoding: Encoding,
    tables: Tables,
    /// Septets for GSM 7-bit, UTF-16BE bytes for UCS2.
    units: Vec<u8>,
    /// End offset in `units` of every character: parts are cut only there.
    ends: Vec<usize>,
}

impl Encoded {
    fn choose(text: &str, lang: Option<Language>, force_ucs2: bool) -> Encoded {
        if !force_ucs2 {
            let mut candidates = vec![Tables::default()];
            if let Some(lang) = lang {
                if lang.single_shift_table().is_some() {
                    candidates.push(Tables {
                        locking: None,
                        single: Some(lang),
                    });
                }
                if lang.has_locking_table() {
                    candidates.push(Tables {
                        locking: Some(lang),
                        single: Some(lang),
                    });
                }
            }
            for tables in candidates {
                if let Some(e) = Encoded::gsm7(text, tables) {
                    return e;
                }
            }
        }
        let mut units = Vec::with_capacity(text.len() * 2);
        let mut ends = Vec::with_capacity(text.len());
        let mut buf = [0u16; 2];
        for c in text.chars() {
            for u in c.encode_utf16(&mut buf) {
                units.extend_from_slice(&u.to_be_bytes());
            }
            ends.push(units.len());
        }
        Encoded {
            encoding: Encoding::Ucs2,
            tables: Tables::default(),
            units,
            ends,
        }
    }

    fn gsm7(text: &str, tables: Tables) -> Option<Encoded> {
        let mut units = Vec::with_capacity(text.len());
        let mut ends = Vec::with_capacity(text.len());
        for c in text.chars() {
            gsm7::encode_char(c, tables)?.push_to(&mut units);
            ends.push(units.len());
        }
        Some(Encoded {
            encoding: Encoding::Gsm7,
            tables,
            units,
            ends,
        })
    }

    /// Header elements naming the shift tables.
    fn language_elements(&self) -> Vec<(u8, [u8; 1])> {
        let mut out = Vec::new();
        if let Some(l) = self.tables.single {
            out.push((0x24, [l.id()]));
        }
        if let Some(l) = self.tables.locking {
            out.push((0x25, [l.id()]));
        }
        out
    }

    /// Payload capacity of one part whose header takes `udh_octets` (0 for none), in `units`.
    fn capacity(&self, udh_octets: usize) -> usize {
        match self.encoding {
            Encoding::Gsm7 if udh_octets == 0 => 160,
            Encoding::Gsm7 => 160 - gsm7::header_septets(udh_octets),
            _ => (140 - udh_octets) & !1,
        }
    }

    /// Splits into parts; each item is a range of `units`.
    fn split(&self, concat_udh_octets: usize) -> (Vec<std::ops::Range<usize>>, usize) {
        let lang_octets = 3 * self.language_elements().len();
        let single_udh = if lang_octets > 0 { 1 + lang_octets } else { 0 };
        let single_cap = self.capacity(single_udh);
        if self.units.len() <= single_cap {
            return (std::iter::once(0..self.units.len()).collect(), single_cap);
        }
        let cap = self.capacity(1 + concat_udh_octets + lang_octets);
        let mut parts = Vec::new();
        let (mut start, mut last_end) = (0, 0);
        for &end in &self.ends {
            if end - start > cap {
                parts.push(start..last_end);
                start = last_end;
            }
            last_end = end;
        }
        parts.push(start..self.units.len());
        (parts, cap)
    }
}

/// Counts parts and remaining room for a compose box, without building PDUs.
pub fn plan(text: &str, national_language: Option<Language>) -> Plan {
    let e = Encoded::choose(text, national_language, false);
    let (parts, cap) = e.split(5);
    let last = parts.last().map_or(0, |r| r.len());
    let unit = if e.encoding == Encoding::Ucs2 { 2 } else { 1 };
    Plan {
        parts: parts.len(),
        encoding: e.encoding,
        locking_shift: e.tables.locking,
        single_shift: e.tables.single,
        units: e.units.len() / unit,
        part_capacity: cap / unit,
        chars_left_in_part: cap.saturating_sub(last) / unit,
    }
}

/// The header and user data of one part, with TP-UDL.
struct PartData {
    udl: u8,
    ud: Vec<u8>,
}

fn parts(e: &Encoded, reference: u16, ref_bits: u8) -> Result<Vec<PartData>, EncodeError> {
    let concat_len = if ref_bits == 16 { 6 } else { 5 };
    let (ranges, _) = e.split(concat_len);
    if ranges.len() > 255 {
        return Err(EncodeError::TooManyParts(ranges.len()));
    }
    let total = ranges.len() as u8;
    let langs = e.language_elements();
    let mut out = Vec::with_capacity(ranges.len());
    for (i, range) in ranges.into_iter().enumerate() {
        let seq = (i + 1) as u8;
        let concat: Vec<u8> = if ref_bits == 16 {
            let [hi, lo] = reference.to_be_bytes();
            vec![hi, lo, total, seq]
        } else {
            vec![reference as u8, total, seq]
        };
        let mut elements: Vec<(u8, &[u8])> = Vec::new();
        if total > 1 {
            elements.push((if ref_bits == 16 { 0x08 } else { 0x00 }, &concat));
        }
        for (iei, data) in &langs {
            elements.push((*iei, data));
        }
        let header = if elements.is_empty() {
            Vec::new()
        } else {
            udh::build(&elements)
        };
        let payload = &e.units[range];
        let (udl, ud) = match e.encoding {
            Encoding::Gsm7 => {
                let header_septets = if header.is_empty() {
                    0
                } else {
                    gsm7::header_septets(header.len())
                };
                (header_septets + payload.len(), gsm7::pack(&header, payload))
            }
            _ => (
                header.len() + payload.len(),
                [header.as_slice(), payload].concat(),
            ),
        };
        out.push(PartData { udl: udl as u8, ud });
    }
    Ok(out)
}

fn dcs(encoding: Encoding) -> u8 {
    if encoding == Encoding::Ucs2 {
        0x08
    } else {
        0x00
    }
}

/// Encodes SMS-SUBMIT parts for sending. Each part starts with `00` (use the SIM's SMSC), so send it with
/// `AT+CMGS=<bytes.len() - 1>`. `to` is `+` and digits (international) or digits; spaces, dashes, dots,
/// slashes and parentheses are ignored.
pub fn encode_submit(
    to: &str,
    text: &str,
    options: &SubmitOptions,
) -> Result<Vec<Vec<u8>>, EncodeError> {
    let recipient = Address::parse(to);
    if recipient.kind == crate::AddressKind::Alphanumeric {
        return Err(EncodeError::InvalidRecipient(to.to_owned()));
    }
    let e = Encoded::choose(text, options.national_language, options.force_ucs2);
    let parts = parts(&e, u16::from(options.concat_reference), 8)?;
    let multi = parts.len() > 1 || !e.language_elements().is_empty();
    Ok(parts
        .into_iter()
        .map(|p| {
            let mut pdu = Vec::with_capacity(p.ud.len() + 30);
            address::write_smsc(&mut pdu, None);
            let mut first = 0x01;
            if options.validity.is_some() {
                first |= 0x10; // TP-VPF = relative
            }
            if options.request_status_report {
                first |= 0x20;
            }
            if multi {
                first |= 0x40;
            }
            pdu.push(first);
            pdu.push(options.message_reference);
            address::write_tp(&mut pdu, &recipient);
            pdu.push(0x00);
            pdu.push(dcs(e.encoding));
            if let Some(v) = options.validity {
                pdu.push(Validity::relative_octet(v));
            }
            pdu.push(p.udl);
            pdu.extend_from_slice(&p.ud);
            pdu
        })
        .collect())
}

/// Encodes SMS-DELIVER parts as a network would deliver them, each with an SMSC field (+447785016005):
/// GSM 7-bit when the text fits the default alphabet and its extension, else UCS2; concatenated with an
/// 8-bit reference derived from the text when long. Alphanumeric senders are written GSM 7-bit packed.
pub fn encode_deliver(sender: &str, text: &str, timestamp: DateTime<FixedOffset>) -> Vec<Vec<u8>> {
    // Derive the reference from the content so the same message always encodes the same way.
    let reference = text
        .bytes()
        .chain(sender.bytes())
        .fold(0u16, |h, b| h.wrapping_mul(31).wrapping_add(u16::from(b)));
    let options = DeliverOptions {
        reference: reference & 0xFF,
        ..DeliverOptions::default()
    };
    // Only a text of more than 255 parts fails; this signature cannot report that, so such a text is cut to
    // what 255 UCS2 parts surely hold (66 code units each, two per character at worst).
    match encode_deliver_with(sender, text, timestamp, &options) {
        Ok(parts) => parts,
        Err(_) => {
            let cut: String = text.chars().take(255 * 66 / 2).collect();
            encode_deliver_with(sender, &cut, timestamp, &options).unwrap_or_default()
        }
    }
}

/// [`encode_deliver`] with the SMSC, national language, reference width and alphabet under control.
pub fn encode_deliver_with(
    sender: &str,
    text: &str,
    timestamp: DateTime<FixedOffset>,
    options: &DeliverOptions,
) -> Result<Vec<Vec<u8>>, EncodeError> {
    let sender = Address::parse(sender);
    let e = Encoded::choose(text, options.national_language, options.force_ucs2);
    let parts = parts(&e, options.reference, options.ref_bits)?;
    let udhi = parts.len() > 1 || !e.language_elements().is_empty();
    let scts = scts::encode(&timestamp);
    Ok(parts
        .into_iter()
        .map(|p| {
            let mut pdu = Vec::with_capacity(p.ud.len() + 40);
            address::write_smsc(&mut pdu, options.smsc.as_deref());
            pdu.push(if udhi { 0x44 } else { 0x04 }); // TP-MMS set: no more messages waiting
            address::write_tp(&mut pdu, &sender);
            pdu.push(0x00);
            pdu.push(dcs(e.encoding));
            pdu.extend_from_slice(&scts);
            pdu.push(p.udl);
            pdu.extend_from_slice(&p.ud);
            pdu
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{decode, Pdu};

    fn ts() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2025-03-04T05:06:07-03:30").unwrap()
    }

    fn delivers(parts: &[Vec<u8>]) -> Vec<crate::Deliver> {
        parts
            .iter()
            .map(|p| match decode(p).unwrap() {
                Pdu::Deliver(d) => d,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn deliver_single_part_round_trip() {
        let parts = encode_deliver("+4915123456789", "Code 1234 {ok} €", ts());
        assert_eq!(parts.len(), 1);
        let d = &delivers(&parts)[0];
        assert_eq!(d.text, "Code 1234 {ok} €");
        assert_eq!(d.encoding, Encoding::Gsm7);
        assert_eq!(d.timestamp, ts());
        assert_eq!(d.smsc.as_ref().unwrap().number, "+447785016005");
        assert_eq!(d.sender.number, "+4915123456789");
    }

    #[test]
    fn deliver_multipart_gsm7_and_ucs2() {
        let text = "x".repeat(152) + "€" + &"y".repeat(10);
        let d = delivers(&encode_deliver("Bank", &text, ts()));
        assert_eq!(d.len(), 2);
        // The escape and its septet stay together: part 1 ends before the euro sign.
        assert_eq!(d[0].text, "x".repeat(152));
        assert_eq!(d[1].text, "€".to_owned() + &"y".repeat(10));
        let text = "😀".repeat(40);
        let d = delivers(&encode_deliver("Bank", &text, ts()));
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].text, "😀".repeat(33));
        assert!(d.iter().all(|d| d.encoding == Encoding::Ucs2));
    }

    #[test]
    fn plan_counts() {
        assert_eq!(plan("", None).chars_left_in_part, 160);
        let p = plan(&"a".repeat(160), None);
        assert_eq!((p.parts, p.chars_left_in_part), (1, 0));
        let p = plan(&"a".repeat(161), None);
        assert_eq!(
            (p.parts, p.part_capacity, p.chars_left_in_part),
            (2, 153, 145)
        );
        let p = plan("[]", None);
        assert_eq!((p.units, p.chars_left_in_part), (4, 156));
        assert_eq!(plan("ok 👍", None).units, 5);
        let p = plan(&"я".repeat(71), None);
        assert_eq!(
            (p.parts, p.encoding, p.chars_left_in_part),
            (2, Encoding::Ucs2, 63)
        );
    }

    #[test]
    fn submit_starts_with_empty_smsc() {
        let opts = SubmitOptions {
            request_status_report: true,
            validity: Some(Duration::from_secs(86400)),
            ..Default::default()
        };
        let parts = encode_submit("+31641600986", "hellohello", &opts).unwrap();
        assert_eq!(
            crate::to_hex(&parts[0]),
            "0031000B911346610089F60000A70AE8329BFD4697D9EC37"
        );
        assert!(matches!(
            encode_submit("Bank", "x", &opts),
            Err(EncodeError::InvalidRecipient(_))
        ));
    }
}
