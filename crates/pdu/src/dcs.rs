//! TP-DCS, the data coding scheme (TS 23.038 §4): which alphabet the user data uses, the message class, the
//! message-waiting indication groups and the compression flag.

/// How the user data is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// GSM 7-bit default alphabet (possibly with national shift tables).
    Gsm7,
    /// UCS2, decoded as UTF-16BE.
    Ucs2,
    /// 8-bit data: kept as bytes in `user_data`, `text` is empty.
    Binary,
    /// Compressed (TS 23.042), which this crate does not decompress: `text` is empty, `user_data` raw.
    Compressed,
}

impl Encoding {
    /// `"gsm7"`, `"ucs2"`, `"binary"` or `"compressed"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Encoding::Gsm7 => "gsm7",
            Encoding::Ucs2 => "ucs2",
            Encoding::Binary => "binary",
            Encoding::Compressed => "compressed",
        }
    }
}

/// Kind of message waiting (TS 23.038 §4, groups 1100-1110).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitingKind {
    /// Voicemail message waiting.
    Voicemail,
    /// Fax message waiting.
    Fax,
    /// Electronic mail message waiting.
    Email,
    /// Other message waiting.
    Other,
    /// Video message waiting (the UDH element's extended type 001, TS 23.040 §9.2.3.24.2).
    Video,
}

impl WaitingKind {
    /// Lower-case name used in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            WaitingKind::Voicemail => "voicemail",
            WaitingKind::Fax => "fax",
            WaitingKind::Email => "email",
            WaitingKind::Other => "other",
            WaitingKind::Video => "video",
        }
    }
}

/// Where a message-waiting indication was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndicationSource {
    /// The DCS message-waiting groups 1100-1110 (TS 23.038 §4).
    Dcs,
    /// The special SMS message indication element 0x01 of the user data header (TS 23.040 §9.2.3.24.2).
    Udh,
    /// The CPHS voicemail indicator: an alphanumeric sender of two septets (CPHS 4.2 §B.4.2).
    Cphs,
}

impl IndicationSource {
    /// Lower-case name used in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            IndicationSource::Dcs => "dcs",
            IndicationSource::Udh => "udh",
            IndicationSource::Cphs => "cphs",
        }
    }
}

/// A message-waiting indication (voicemail, fax, e-mail or other messages waiting), from the DCS, the user
/// data header or the CPHS sender convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageWaiting {
    /// What is waiting.
    pub kind: WaitingKind,
    /// `true` sets the indication, `false` clears it.
    pub active: bool,
    /// `false` when the message only updates the indication and its text need not be kept (the DCS
    /// "discard message" group, or bit 7 of the UDH element clear).
    pub store: bool,
    /// How many messages are waiting, when the indication says (the UDH element does; 0 clears it).
    pub count: Option<u8>,
    /// Where the indication was found.
    pub source: IndicationSource,
}

/// TP-DCS taken apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataCoding {
    /// Alphabet (or compression) of the user data.
    pub encoding: Encoding,
    /// Message class 0 (flash) to 3, when given.
    pub class: Option<u8>,
    /// Message-waiting indication, for the groups that carry one.
    pub message_waiting: Option<MessageWaiting>,
    /// Group 01xx: the message is marked for automatic deletion once read.
    pub auto_delete: bool,
    /// For a DCS that sets a reserved bit: the alphabet its bits mean if the user data turns out to be
    /// counted in octets rather than septets (the PDU's length tells; see [`crate::Deliver::encoding`]).
    pub if_octets: Option<Encoding>,
}

impl DataCoding {
    /// Interprets a DCS octet. Reserved values are read as the GSM 7-bit default alphabet, as TS 23.038 asks
    /// of a receiving entity.
    pub fn from_octet(dcs: u8) -> DataCoding {
        let mut dc = DataCoding {
            encoding: Encoding::Gsm7,
            class: None,
            message_waiting: None,
            auto_delete: false,
            if_octets: None,
        };
        match dcs >> 4 {
            0x0..=0x7 => {
                dc.auto_delete = dcs & 0x40 != 0;
                dc.encoding = match (dcs >> 2) & 0x03 {
                    1 => Encoding::Binary,
                    2 => Encoding::Ucs2,
                    _ => Encoding::Gsm7,
                };
                if dcs & 0x20 != 0 {
                    dc.encoding = Encoding::Compressed;
                }
                if dcs & 0x10 != 0 {
                    dc.class = Some(dcs & 0x03);
                }
            }
            0x8..=0xB => {}
            group @ 0xC..=0xE => {
                dc.encoding = if group == 0xE {
                    Encoding::Ucs2
                } else {
                    Encoding::Gsm7
                };
                dc.message_waiting = Some(MessageWaiting {
                    kind: match dcs & 0x03 {
                        0 => WaitingKind::Voicemail,
                        1 => WaitingKind::Fax,
                        2 => WaitingKind::Email,
                        _ => WaitingKind::Other,
                    },
                    active: dcs & 0x08 != 0,
                    store: group != 0xC,
                    count: None,
                    source: IndicationSource::Dcs,
                });
            }
            _ => {
                dc.encoding = if dcs & 0x04 != 0 {
                    Encoding::Binary
                } else {
                    Encoding::Gsm7
                };
                dc.class = Some(dcs & 0x03);
                // Bit 3 is reserved in group 1111. Phones that set it (0xF8-0xFB) meant bits 3-2 as in the
                // general group, 10 = UCS2, in some PDUs and wrote 7-bit text in others: only the length of
                // the user data can tell them apart.
                if dcs & 0x0C == 0x08 {
                    dc.if_octets = Some(Encoding::Ucs2);
                }
            }
        }
        dc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups() {
        assert_eq!(DataCoding::from_octet(0x00).encoding, Encoding::Gsm7);
        assert_eq!(DataCoding::from_octet(0x08).encoding, Encoding::Ucs2);
        assert_eq!(DataCoding::from_octet(0x04).encoding, Encoding::Binary);
        assert_eq!(DataCoding::from_octet(0x0C).encoding, Encoding::Gsm7); // reserved alphabet
        assert_eq!(DataCoding::from_octet(0x18).class, Some(0));
        assert_eq!(DataCoding::from_octet(0x18).encoding, Encoding::Ucs2);
        assert_eq!(DataCoding::from_octet(0x28).encoding, Encoding::Compressed);
        assert!(DataCoding::from_octet(0x48).auto_delete);
        assert_eq!(DataCoding::from_octet(0xF0).class, Some(0));
        assert_eq!(DataCoding::from_octet(0xF6).encoding, Encoding::Binary);
        assert_eq!(DataCoding::from_octet(0xF6).class, Some(2));
        assert_eq!(DataCoding::from_octet(0xF9).if_octets, Some(Encoding::Ucs2));
        assert_eq!(DataCoding::from_octet(0xF9).encoding, Encoding::Gsm7);
        assert_eq!(DataCoding::from_octet(0xF1).if_octets, None);
        let mw = DataCoding::from_octet(0xC8).message_waiting.unwrap();
        assert_eq!(
            (mw.kind, mw.active, mw.store),
            (WaitingKind::Voicemail, true, false)
        );
        let dc = DataCoding::from_octet(0xE2);
        assert_eq!(dc.encoding, Encoding::Ucs2);
        assert_eq!(dc.message_waiting.unwrap().kind, WaitingKind::Email);
        assert_eq!(DataCoding::from_octet(0x90).encoding, Encoding::Gsm7); // reserved group
    }
}
