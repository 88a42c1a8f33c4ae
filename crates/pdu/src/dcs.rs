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
}

impl WaitingKind {
    /// Lower-case name used in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            WaitingKind::Voicemail => "voicemail",
            WaitingKind::Fax => "fax",
            WaitingKind::Email => "email",
            WaitingKind::Other => "other",
        }
    }
}

/// A message-waiting indication carried in the DCS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageWaiting {
    /// What is waiting.
    pub kind: WaitingKind,
    /// `true` sets the indication, `false` clears it.
    pub active: bool,
    /// `false` for the "discard message" group: the text need not be kept.
    pub store: bool,
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
                });
            }
            _ => {
                dc.encoding = if dcs & 0x04 != 0 {
                    Encoding::Binary
                } else {
                    Encoding::Gsm7
                };
                dc.class = Some(dcs & 0x03);
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
