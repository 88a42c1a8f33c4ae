//! SMS PDU codec (3GPP TS 23.040 / TS 23.038) and multipart assembler, with no I/O and no async.
//!
//! * [`decode`] / [`decode_hex`] read a PDU as `AT+CMGR`, `+CMGL` and `+CMT` print it (starting with the
//!   SMSC length octet) into a [`Pdu`]: SMS-DELIVER, SMS-SUBMIT or SMS-STATUS-REPORT. [`decode_tpdu`] reads
//!   one without the SMSC field, and [`decode_with_tpdu_len`] decides from the length the modem printed.
//! * Alphabets: GSM 7-bit with the extension table and every national locking / single shift table,
//!   UCS2 as UTF-16BE (surrogate pairs joined, unpaired halves become U+FFFD), 8-bit data kept as bytes.
//! * [`text`]: the same alphabets for text outside a PDU (USSD replies, cell broadcasts).
//! * [`Assembler`] joins concatenated parts by their raw payloads, so characters split across parts survive.
//! * [`encode_submit`] builds PDUs for `AT+CMGS`; [`plan`] feeds a compose box's counter;
//!   [`encode_deliver`] builds what a network would deliver, for simulators and tests.
//! * Every decoded type implements `serde::Serialize` with the flat JSON shape `simrelay decode-pdu` prints.
//!
//! Input is untrusted: decoding never panics, and every failure is a [`DecodeError`] whose message names the
//! field at fault in one line.
//!
//! ```
//! use simrelay_pdu::{decode_hex, Encoding, Pdu};
//!
//! let pdu = decode_hex("07911326040000F0040B911346610089F60000208062917314080CC8329BFD065DDF72363904")?;
//! let Pdu::Deliver(sms) = &pdu else { panic!("not a deliver") };
//! assert_eq!(sms.sender.number, "+31641600986");
//! assert_eq!(sms.text, "Hello World!");
//! assert_eq!(sms.encoding, Encoding::Gsm7);
//! assert_eq!(sms.timestamp.to_rfc3339(), "2002-08-26T19:37:41+00:00");
//!
//! let json = serde_json::to_value(&pdu).unwrap();
//! assert_eq!(json["type"], "deliver");
//! assert_eq!(json["sender_type"], "international");
//! # Ok::<(), simrelay_pdu::DecodeError>(())
//! ```
//!
//! Sending:
//!
//! ```
//! use simrelay_pdu::{encode_submit, plan, Encoding, SubmitOptions};
//!
//! let text = "Grüße aus Köln 👋";
//! let p = plan(text, None);
//! assert_eq!((p.parts, p.encoding, p.chars_left_in_part), (1, Encoding::Ucs2, 53));
//! let parts = encode_submit("+4915123456789", text, &SubmitOptions::default())?;
//! let cmgs_len = parts[0].len() - 1; // AT+CMGS=<length of the TPDU, SMSC octet excluded>
//! assert_eq!(parts[0][0], 0x00);
//! # let _ = cmgs_len;
//! # Ok::<(), simrelay_pdu::EncodeError>(())
//! ```
#![forbid(unsafe_code)]
// Tests may unwrap: a panic there is a failing test, not a crash reachable from input.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod address;
mod assemble;
mod content;
mod dcs;
mod encode;
mod error;
mod gsm7;
mod json;
mod national;
mod pdu;
mod reader;
mod scts;
mod tables;
pub mod text;
mod udh;
mod userdata;

pub use address::{Address, AddressKind};
pub use assemble::{Assembled, Assembler, Part};
pub use content::{Content, WAP_PUSH_PORT, WAP_PUSH_SECURE_PORT};
pub use dcs::{DataCoding, Encoding, IndicationSource, MessageWaiting, WaitingKind};
pub use encode::{
    encode_deliver, encode_deliver_with, encode_submit, plan, DeliverOptions, Plan, SubmitOptions,
};
pub use error::{DecodeError, EncodeError};
pub use json::to_hex;
pub use national::Language;
pub use pdu::{Deliver, Pdu, StatusCategory, StatusReport, Submit, Validity};
pub use udh::{Concat, InformationElement, Ports, Udh};

/// Decodes a PDU that starts with the SMSC length octet, as `AT+CMGR`, `+CMGL` and `+CMT` print it.
pub fn decode(pdu: &[u8]) -> Result<Pdu, DecodeError> {
    pdu::decode_with_smsc(pdu)
}

/// [`decode`] from hex text (either case; surrounding whitespace is ignored).
pub fn decode_hex(hex: &str) -> Result<Pdu, DecodeError> {
    decode(&parse_hex(hex)?)
}

/// Decodes a TPDU without the SMSC field (some modems print `+CDS` that way). The message type comes from
/// TP-MTI as a phone sees it: 0 SMS-DELIVER, 1 SMS-SUBMIT, 2 SMS-STATUS-REPORT.
pub fn decode_tpdu(tpdu: &[u8]) -> Result<Pdu, DecodeError> {
    if tpdu.is_empty() {
        return Err(DecodeError::Empty);
    }
    pdu::decode_tpdu(tpdu, None)
}

/// Decodes a PDU whose `<length>` the modem printed (`+CMGR: <stat>,,<length>`, `+CDS: <length>`): that
/// length counts TPDU octets only, so a PDU exactly that long has no SMSC field and a longer one has.
pub fn decode_with_tpdu_len(pdu: &[u8], tpdu_len: usize) -> Result<Pdu, DecodeError> {
    if pdu.len() == tpdu_len {
        decode_tpdu(pdu)
    } else {
        decode(pdu)
    }
}

/// Parses hex text (either case, surrounding whitespace ignored) into bytes.
pub fn parse_hex(hex: &str) -> Result<Vec<u8>, DecodeError> {
    let hex = hex.trim();
    if hex.is_empty() {
        return Err(DecodeError::Empty);
    }
    if hex.len() % 2 == 1 {
        return Err(DecodeError::InvalidHex(format!(
            "{} hex digits is an odd number",
            hex.len()
        )));
    }
    let nibble = |i: usize, c: u8| -> Result<u8, DecodeError> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(DecodeError::InvalidHex(format!(
                "character {:?} at position {} is not a hex digit",
                hex[i..].chars().next().unwrap_or('?'),
                i + 1
            ))),
        }
    };
    let bytes = hex.as_bytes();
    (0..bytes.len())
        .step_by(2)
        .map(|i| Ok(nibble(i, bytes[i])? << 4 | nibble(i + 1, bytes[i + 1])?))
        .collect()
}
