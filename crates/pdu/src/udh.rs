//! The user data header (TS 23.040 §9.2.3.24): concatenation (8- and 16-bit references), application port
//! addressing, special SMS message indications (voicemail and other messages waiting), national language
//! shifts; other elements are kept raw and otherwise skipped.

use crate::dcs::{IndicationSource, MessageWaiting, WaitingKind};
use crate::national::Language;
use crate::DecodeError;

/// Identifies one part of a concatenated message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Concat {
    /// Reference number shared by all parts of the message.
    pub reference: u16,
    /// Width of the reference: 8 (IEI 0x00) or 16 (IEI 0x08).
    pub ref_bits: u8,
    /// Number of parts.
    pub total: u8,
    /// This part's number, from 1.
    pub seq: u8,
}

/// Application port addressing (IEI 0x04 / 0x05).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ports {
    /// Destination port.
    pub destination: u16,
    /// Originator port.
    pub source: u16,
    /// Width of the port numbers: 8 or 16.
    pub bits: u8,
}

/// One information element, as found in the header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InformationElement {
    /// Information element identifier.
    pub iei: u8,
    /// The element's data (without IEI and length).
    pub data: Vec<u8>,
}

/// A parsed user data header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Udh {
    /// The header octets after the length octet.
    pub raw: Vec<u8>,
    /// Every element, in order, known or not.
    pub elements: Vec<InformationElement>,
    /// Application ports, if addressed.
    pub ports: Option<Ports>,
    /// National locking shift table in force (IEI 0x25).
    pub locking_shift: Option<Language>,
    /// National single shift table in force (IEI 0x24).
    pub single_shift: Option<Language>,
    /// Special SMS message indications (IEI 0x01), in header order: one per kind of message waiting.
    pub indications: Vec<MessageWaiting>,
}

/// Parses the header octets after the length octet; also returns the concatenation element, if valid.
pub(crate) fn parse(raw: &[u8]) -> Result<(Udh, Option<Concat>), DecodeError> {
    let mut udh = Udh {
        raw: raw.to_vec(),
        elements: Vec::new(),
        ports: None,
        locking_shift: None,
        single_shift: None,
        indications: Vec::new(),
    };
    let mut concat = None;
    let mut rest = raw;
    while let [iei, len, tail @ ..] = rest {
        let (iei, len) = (*iei, usize::from(*len));
        if len > tail.len() {
            return Err(DecodeError::UdhElementOverrun {
                iei,
                claimed: len,
                remaining: tail.len(),
            });
        }
        let (data, next) = tail.split_at(len);
        rest = next;
        match (iei, data) {
            // A part number of 0 or above the total makes the element meaningless (TS 23.040 §9.2.3.24.1).
            (0x00, &[r, total, seq]) if seq >= 1 && seq <= total => {
                concat = Some(Concat {
                    reference: u16::from(r),
                    ref_bits: 8,
                    total,
                    seq,
                });
            }
            (0x08, &[hi, lo, total, seq]) if seq >= 1 && seq <= total => {
                concat = Some(Concat {
                    reference: u16::from_be_bytes([hi, lo]),
                    ref_bits: 16,
                    total,
                    seq,
                });
            }
            (0x04, &[dst, src]) => {
                udh.ports = Some(Ports {
                    destination: u16::from(dst),
                    source: u16::from(src),
                    bits: 8,
                });
            }
            (0x05, &[d1, d2, s1, s2]) => {
                udh.ports = Some(Ports {
                    destination: u16::from_be_bytes([d1, d2]),
                    source: u16::from_be_bytes([s1, s2]),
                    bits: 16,
                });
            }
            (0x01, &[kind, count]) => udh.indications.push(special_indication(kind, count)),
            (0x24, &[id]) => udh.single_shift = Language::from_id(id),
            (0x25, &[id]) => udh.locking_shift = Language::from_id(id),
            _ => {}
        }
        udh.elements.push(InformationElement {
            iei,
            data: data.to_vec(),
        });
    }
    // A single stray octet at the end cannot hold an element; it is left in `raw` and otherwise ignored.
    Ok((udh, concat))
}

/// Reads a special SMS message indication (TS 23.040 §9.2.3.24.2): bit 7 of the first octet says whether to
/// store the message, bits 1-0 the kind (with bits 4-2 extending "other"); the second octet counts the
/// messages waiting, and 0 clears the indication.
fn special_indication(kind: u8, count: u8) -> MessageWaiting {
    MessageWaiting {
        kind: match (kind & 0x03, (kind >> 2) & 0x07) {
            (0, _) => WaitingKind::Voicemail,
            (1, _) => WaitingKind::Fax,
            (2, _) => WaitingKind::Email,
            (_, 1) => WaitingKind::Video,
            _ => WaitingKind::Other,
        },
        active: count > 0,
        store: kind & 0x80 != 0,
        count: Some(count),
        source: IndicationSource::Udh,
    }
}

/// Builds a header (length octet included) from elements.
pub(crate) fn build(elements: &[(u8, &[u8])]) -> Vec<u8> {
    let mut out = vec![0u8];
    for (iei, data) in elements {
        out.push(*iei);
        out.push(data.len() as u8);
        out.extend_from_slice(data);
    }
    out[0] = (out.len() - 1) as u8;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_elements() {
        let raw = [
            0x70, 0x01, 0xAA, 0x08, 0x04, 0x12, 0x34, 0x03, 0x02, 0x05, 0x04, 0x0B, 0x84, 0x23,
            0xF0, 0x25, 0x01, 0x01,
        ];
        let (udh, concat) = parse(&raw).unwrap();
        assert_eq!(
            concat,
            Some(Concat {
                reference: 0x1234,
                ref_bits: 16,
                total: 3,
                seq: 2
            })
        );
        assert_eq!(
            udh.ports,
            Some(Ports {
                destination: 2948,
                source: 9200,
                bits: 16
            })
        );
        assert_eq!(udh.locking_shift, Some(Language::Turkish));
        assert_eq!(udh.elements.len(), 4);
        assert_eq!(
            udh.elements[0],
            InformationElement {
                iei: 0x70,
                data: vec![0xAA]
            }
        );
    }

    #[test]
    fn special_sms_indications() {
        // Voicemail, discard, 2 waiting; then e-mail, store, 0 waiting (cleared); then video (other, ext 001).
        let (udh, _) = parse(&[
            0x01, 0x02, 0x00, 0x02, 0x01, 0x02, 0x82, 0x00, 0x01, 0x02, 0x87, 0x05,
        ])
        .unwrap();
        let got: Vec<_> = udh
            .indications
            .iter()
            .map(|m| (m.kind, m.active, m.store, m.count, m.source))
            .collect();
        assert_eq!(
            got,
            [
                (
                    WaitingKind::Voicemail,
                    true,
                    false,
                    Some(2),
                    IndicationSource::Udh
                ),
                (
                    WaitingKind::Email,
                    false,
                    true,
                    Some(0),
                    IndicationSource::Udh
                ),
                (
                    WaitingKind::Video,
                    true,
                    true,
                    Some(5),
                    IndicationSource::Udh
                ),
            ]
        );
        // A malformed element (one octet) is kept raw and indicates nothing.
        let (udh, _) = parse(&[0x01, 0x01, 0x00]).unwrap();
        assert!(udh.indications.is_empty());
        assert_eq!(udh.elements.len(), 1);
    }

    #[test]
    fn invalid_part_numbers_void_the_concat_element() {
        assert_eq!(parse(&[0x00, 0x03, 0x01, 0x02, 0x00]).unwrap().1, None);
        assert_eq!(parse(&[0x00, 0x03, 0x01, 0x02, 0x03]).unwrap().1, None);
    }

    #[test]
    fn overrunning_element_is_an_error() {
        let err = parse(&[0x00, 0x07, 0x01, 0x02]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "user data header element 0x00 claims 7 bytes but only 2 remain in the header"
        );
    }
}
