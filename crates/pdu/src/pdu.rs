//! The three TPDU types a modem hands over (TS 23.040 §9.2.2): SMS-DELIVER (received), SMS-SUBMIT (stored
//! outgoing) and SMS-STATUS-REPORT, and their decoding from bytes.

use std::time::Duration;

use chrono::{DateTime, FixedOffset};

use crate::address::{self, Address};
use crate::content::Content;
use crate::dcs::{DataCoding, Encoding, MessageWaiting};
use crate::reader::Reader;
use crate::scts;
use crate::udh::{Concat, Udh};
use crate::userdata;
use crate::DecodeError;

/// A decoded PDU.
#[derive(Debug, Clone, PartialEq)]
pub enum Pdu {
    /// SMS-DELIVER: a message received from the network.
    Deliver(Deliver),
    /// SMS-SUBMIT: an outgoing message (as stored on a SIM).
    Submit(Submit),
    /// SMS-STATUS-REPORT: the network's report on a message sent earlier.
    StatusReport(StatusReport),
}

/// SMS-DELIVER.
#[derive(Debug, Clone, PartialEq)]
pub struct Deliver {
    /// Service centre that delivered the message, when the PDU names one.
    pub smsc: Option<Address>,
    /// TP-OA, the sender.
    pub sender: Address,
    /// TP-SCTS, when the service centre received the message, with the network's offset.
    pub timestamp: DateTime<FixedOffset>,
    /// TP-PID, protocol identifier.
    pub pid: u8,
    /// TP-DCS, data coding scheme, raw (see [`DataCoding::from_octet`]).
    pub dcs: u8,
    /// Alphabet of the user data: the DCS's, except that a DCS setting a reserved bit is read as the
    /// alphabet the user data's length shows (see [`DataCoding::if_octets`]).
    pub encoding: Encoding,
    /// Message class from the DCS, when given: 0 is a flash message, to be shown at once and not stored
    /// by a phone (see [`Deliver::is_flash`]).
    pub class: Option<u8>,
    /// Message-waiting indication from the DCS, when given ([`Deliver::indications`] has every source).
    pub message_waiting: Option<MessageWaiting>,
    /// Every message-waiting indication the PDU carries: the DCS's, the user data header's (one per kind,
    /// with counts) and the CPHS sender convention's.
    pub indications: Vec<MessageWaiting>,
    /// What the user data is: text, binary data for an application port, or a WAP push.
    pub content: Content,
    /// The PDU ended before the user data its TP-UDL announced: `text` and `user_data` hold what was there.
    pub truncated: bool,
    /// Decoded text of this PDU (empty for binary and compressed data).
    pub text: String,
    /// Concatenation element, for a part of a multipart message.
    pub concat: Option<Concat>,
    /// User data header, when TP-UDHI is set.
    pub udh: Option<Udh>,
    /// Payload without the header: septet values (one per byte) for 7-bit text, octets otherwise.
    /// [`crate::Assembler`] joins these before decoding.
    pub user_data: Vec<u8>,
    /// TP-MMS inverted: the service centre has more messages waiting for this phone.
    pub more_messages: bool,
    /// TP-LP, loop prevention.
    pub loop_prevention: bool,
    /// TP-SRI: the sender asked for a status report.
    pub status_report_indication: bool,
    /// TP-RP: a reply path exists.
    pub reply_path: bool,
}

/// TP-VP, how long the service centre should try to deliver a submitted message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// Relative format: a duration from submission.
    Relative(Duration),
    /// Absolute format: a point in time.
    Absolute(DateTime<FixedOffset>),
    /// Enhanced format (TS 23.040 §9.2.3.12.3), kept raw.
    Enhanced([u8; 7]),
}

impl Validity {
    /// Decodes the relative-format octet (TS 23.040 §9.2.3.12.1).
    pub fn from_relative_octet(v: u8) -> Duration {
        let minutes = match v {
            0..=143 => (u64::from(v) + 1) * 5,
            144..=167 => 12 * 60 + (u64::from(v) - 143) * 30,
            168..=196 => (u64::from(v) - 166) * 24 * 60,
            _ => (u64::from(v) - 192) * 7 * 24 * 60,
        };
        Duration::from_secs(minutes * 60)
    }

    /// The smallest relative-format octet whose period is at least `d` (capped at 63 weeks).
    pub fn relative_octet(d: Duration) -> u8 {
        (0..=255u8)
            .find(|&v| Validity::from_relative_octet(v) >= d)
            .unwrap_or(255)
    }
}

/// SMS-SUBMIT.
#[derive(Debug, Clone, PartialEq)]
pub struct Submit {
    /// Service centre to use, when the PDU names one.
    pub smsc: Option<Address>,
    /// TP-MR, message reference.
    pub message_reference: u8,
    /// TP-DA, the recipient.
    pub recipient: Address,
    /// TP-PID.
    pub pid: u8,
    /// TP-DCS, raw.
    pub dcs: u8,
    /// Alphabet of the user data.
    pub encoding: Encoding,
    /// Message class from the DCS, when given (0 = flash).
    pub class: Option<u8>,
    /// What the user data is (see [`Deliver::content`]).
    pub content: Content,
    /// The PDU ended before the user data its TP-UDL announced.
    pub truncated: bool,
    /// TP-VP, when present.
    pub validity: Option<Validity>,
    /// Decoded text of this PDU.
    pub text: String,
    /// Concatenation element, for a part of a multipart message.
    pub concat: Option<Concat>,
    /// User data header, when TP-UDHI is set.
    pub udh: Option<Udh>,
    /// Payload without the header (septets for 7-bit, octets otherwise).
    pub user_data: Vec<u8>,
    /// TP-RD: reject duplicates.
    pub reject_duplicates: bool,
    /// TP-SRR: a status report is requested.
    pub status_report_request: bool,
    /// TP-RP: reply path requested.
    pub reply_path: bool,
}

/// SMS-STATUS-REPORT.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    /// Service centre, when the PDU names one.
    pub smsc: Option<Address>,
    /// TP-MR of the message this reports on.
    pub message_reference: u8,
    /// TP-RA, the recipient of that message.
    pub recipient: Address,
    /// TP-SCTS, when the service centre received that message.
    pub timestamp: DateTime<FixedOffset>,
    /// TP-DT, when it was delivered (or the status last changed).
    pub discharge_time: DateTime<FixedOffset>,
    /// TP-ST, raw status (see [`StatusReport::status_category`]).
    pub status: u8,
    /// TP-MMS inverted: more messages are waiting.
    pub more_messages: bool,
    /// TP-SRQ: reports on an SMS-COMMAND rather than an SMS-SUBMIT.
    pub for_command: bool,
    /// TP-PID, when present.
    pub pid: Option<u8>,
    /// TP-DCS, when present.
    pub dcs: Option<u8>,
    /// Alphabet of the optional user data.
    pub encoding: Option<Encoding>,
    /// Optional text.
    pub text: String,
    /// Optional user data header.
    pub udh: Option<Udh>,
    /// Optional payload without the header.
    pub user_data: Vec<u8>,
    /// The optional user data ended before its TP-UDL said.
    pub truncated: bool,
}

impl Deliver {
    /// A class 0 (flash) message: a phone shows it at once, without the user opening it.
    pub fn is_flash(&self) -> bool {
        self.class == Some(0)
    }
}

impl Submit {
    /// A class 0 (flash) message.
    pub fn is_flash(&self) -> bool {
        self.class == Some(0)
    }
}

/// What a TP-ST value says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusCategory {
    /// 0x00-0x1F: the transaction is complete (delivered, forwarded, replaced).
    Completed,
    /// 0x20-0x3F: a temporary error; the service centre is still trying.
    TemporaryRetrying,
    /// 0x40-0x5F: a permanent error; the service centre has given up.
    PermanentError,
    /// 0x60-0x7F: a temporary error; the service centre has stopped trying.
    TemporaryStopped,
    /// 0x80-0xFF: reserved.
    Reserved,
}

impl StatusCategory {
    /// Lower-case name used in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            StatusCategory::Completed => "completed",
            StatusCategory::TemporaryRetrying => "temporary_retrying",
            StatusCategory::PermanentError => "permanent_error",
            StatusCategory::TemporaryStopped => "temporary_stopped",
            StatusCategory::Reserved => "reserved",
        }
    }
}

impl StatusReport {
    /// The class of TP-ST.
    pub fn status_category(&self) -> StatusCategory {
        match self.status {
            0x00..=0x1F => StatusCategory::Completed,
            0x20..=0x3F => StatusCategory::TemporaryRetrying,
            0x40..=0x5F => StatusCategory::PermanentError,
            0x60..=0x7F => StatusCategory::TemporaryStopped,
            _ => StatusCategory::Reserved,
        }
    }

    /// `true` when the recipient received the message (TP-ST 0x00).
    pub fn delivered(&self) -> bool {
        self.status == 0x00
    }

    /// TS 23.040's wording for the status, or a generic phrase for values it leaves reserved.
    pub fn status_text(&self) -> &'static str {
        match self.status {
            0x00 => "short message received by the recipient",
            0x01 => "forwarded to the recipient, delivery unconfirmed",
            0x02 => "replaced by the service centre",
            0x20 | 0x60 => "congestion",
            0x21 | 0x61 => "recipient busy",
            0x22 | 0x62 => "no response from recipient",
            0x23 | 0x63 => "service rejected",
            0x24 | 0x44 | 0x64 => "quality of service not available",
            0x25 | 0x65 => "error in recipient",
            0x40 => "remote procedure error",
            0x41 => "incompatible destination",
            0x42 => "connection rejected by recipient",
            0x43 => "not obtainable",
            0x45 => "no interworking available",
            0x46 => "validity period expired",
            0x47 => "deleted by the sender",
            0x48 => "deleted by service centre administration",
            0x49 => "message does not exist",
            0x03..=0x1F => "completed (service centre specific)",
            0x26..=0x3F => "temporary error, still trying",
            0x4A..=0x5F => "permanent error",
            0x66..=0x7F => "temporary error, no longer trying",
            _ => "reserved",
        }
    }
}

fn read_timestamp(
    r: &mut Reader<'_>,
    field: &'static str,
) -> Result<DateTime<FixedOffset>, DecodeError> {
    let bytes = r.take(7, field)?;
    let mut b = [0u8; 7];
    b.copy_from_slice(bytes);
    scts::decode(&b, field)
}

/// Decodes a TPDU (no SMSC field); `smsc` is attached to the result.
pub(crate) fn decode_tpdu(tpdu: &[u8], smsc: Option<Address>) -> Result<Pdu, DecodeError> {
    let mut r = Reader::new(tpdu);
    let first = r.u8("first octet")?;
    let udhi = first & 0x40 != 0;
    match first & 0x03 {
        0 => {
            let (sender, raw_sender) = address::read_tp_raw(&mut r, "sender address")?;
            let pid = r.u8("protocol identifier")?;
            let dcs = r.u8("data coding scheme")?;
            let coding = DataCoding::from_octet(dcs);
            let timestamp = read_timestamp(&mut r, "service centre timestamp")?;
            let ud = userdata::read(&mut r, udhi, coding)?;
            let indications: Vec<MessageWaiting> = coding
                .message_waiting
                .into_iter()
                .chain(ud.udh.iter().flat_map(|u| u.indications.iter().copied()))
                .chain(address::cphs_voicemail(&sender, raw_sender).filter(|_| ud.text == " "))
                .collect();
            Ok(Pdu::Deliver(Deliver {
                smsc,
                sender,
                timestamp,
                pid,
                dcs,
                encoding: ud.encoding,
                class: coding.class,
                message_waiting: coding.message_waiting,
                indications,
                content: Content::classify(
                    ud.encoding,
                    ud.udh.as_ref().and_then(|u| u.ports),
                    &ud.payload,
                ),
                truncated: ud.truncated,
                text: ud.text,
                concat: ud.concat,
                udh: ud.udh,
                user_data: ud.payload,
                more_messages: first & 0x04 == 0,
                loop_prevention: first & 0x08 != 0,
                status_report_indication: first & 0x20 != 0,
                reply_path: first & 0x80 != 0,
            }))
        }
        1 => {
            let message_reference = r.u8("message reference")?;
            let recipient = address::read_tp(&mut r, "recipient address")?;
            let pid = r.u8("protocol identifier")?;
            let dcs = r.u8("data coding scheme")?;
            let coding = DataCoding::from_octet(dcs);
            let validity = match (first >> 3) & 0x03 {
                0 => None,
                2 => Some(Validity::Relative(Validity::from_relative_octet(
                    r.u8("validity period")?,
                ))),
                1 => {
                    let mut b = [0u8; 7];
                    b.copy_from_slice(r.take(7, "validity period")?);
                    Some(Validity::Enhanced(b))
                }
                _ => Some(Validity::Absolute(read_timestamp(
                    &mut r,
                    "validity period",
                )?)),
            };
            let ud = userdata::read(&mut r, udhi, coding)?;
            Ok(Pdu::Submit(Submit {
                smsc,
                message_reference,
                recipient,
                pid,
                dcs,
                encoding: ud.encoding,
                class: coding.class,
                content: Content::classify(
                    ud.encoding,
                    ud.udh.as_ref().and_then(|u| u.ports),
                    &ud.payload,
                ),
                truncated: ud.truncated,
                validity,
                text: ud.text,
                concat: ud.concat,
                udh: ud.udh,
                user_data: ud.payload,
                reject_duplicates: first & 0x04 != 0,
                status_report_request: first & 0x20 != 0,
                reply_path: first & 0x80 != 0,
            }))
        }
        2 => {
            let message_reference = r.u8("message reference")?;
            let recipient = address::read_tp(&mut r, "recipient address")?;
            let timestamp = read_timestamp(&mut r, "service centre timestamp")?;
            let discharge_time = read_timestamp(&mut r, "discharge time")?;
            let status = r.u8("status")?;
            let mut report = StatusReport {
                smsc,
                message_reference,
                recipient,
                timestamp,
                discharge_time,
                status,
                more_messages: first & 0x04 == 0,
                for_command: first & 0x20 != 0,
                pid: None,
                dcs: None,
                encoding: None,
                text: String::new(),
                udh: None,
                user_data: Vec::new(),
                truncated: false,
            };
            // The parameter indicator and what it announces are optional (TS 23.040 §9.2.2.3). Some modems pad
            // the report with bytes that are not a valid indicator; the mandatory fields are what matters, so
            // optional parameters that do not decode are left out rather than failing the whole report.
            if r.remaining() > 0 {
                if let Ok(optional) = read_report_parameters(&mut r, udhi) {
                    (report.pid, report.dcs) = (optional.pid, optional.dcs);
                    if let Some(ud) = optional.user_data {
                        report.encoding = Some(ud.encoding);
                        report.truncated = ud.truncated;
                        report.text = ud.text;
                        report.udh = ud.udh;
                        report.user_data = ud.payload;
                    }
                }
            }
            Ok(Pdu::StatusReport(report))
        }
        _ => Err(DecodeError::ReservedMessageType(first)),
    }
}

struct ReportParameters {
    pid: Option<u8>,
    dcs: Option<u8>,
    user_data: Option<userdata::UserData>,
}

fn read_report_parameters(r: &mut Reader<'_>, udhi: bool) -> Result<ReportParameters, DecodeError> {
    let pi = r.u8("parameter indicator")?;
    let pid = if pi & 0x01 != 0 {
        Some(r.u8("protocol identifier")?)
    } else {
        None
    };
    let dcs = if pi & 0x02 != 0 {
        Some(r.u8("data coding scheme")?)
    } else {
        None
    };
    let user_data = if pi & 0x04 != 0 {
        Some(userdata::read(
            r,
            udhi,
            DataCoding::from_octet(dcs.unwrap_or(0)),
        )?)
    } else {
        None
    };
    Ok(ReportParameters {
        pid,
        dcs,
        user_data,
    })
}

/// Decodes a PDU that starts with the SMSC field.
pub(crate) fn decode_with_smsc(pdu: &[u8]) -> Result<Pdu, DecodeError> {
    if pdu.is_empty() {
        return Err(DecodeError::Empty);
    }
    let mut r = Reader::new(pdu);
    let smsc = address::read_smsc(&mut r)?;
    decode_tpdu(r.rest(), smsc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{decode_hex, AddressKind};

    fn deliver(hex: &str) -> Deliver {
        match decode_hex(hex).unwrap() {
            Pdu::Deliver(d) => d,
            other => panic!("not a deliver: {other:?}"),
        }
    }

    #[test]
    fn spec_example_hellohello() {
        // The classic TS 23.040-style example: "hellohello" from +31641600986 via SMSC +31624000000.
        let d = deliver("07911326040000F0040B911346610089F60000208062917314080AE8329BFD4697D9EC37");
        assert_eq!(d.text, "hellohello");
        assert_eq!(d.smsc.as_ref().unwrap().number, "+31624000000");
        assert_eq!(d.sender.number, "+31641600986");
        assert_eq!(d.sender.kind, AddressKind::International);
        // TZ octet 08 is the sign bit with zero quarter hours: UTC.
        assert_eq!(d.timestamp.to_rfc3339(), "2002-08-26T19:37:41+00:00");
        assert!(!d.more_messages); // first octet 04: TP-MMS set, nothing more waiting
    }

    #[test]
    fn ucs2_with_emoji() {
        let d = deliver("07911326040000F0040B911346610089F600082080629173140810041F04400438043204350442D83DDE00");
        assert_eq!(d.text, "Привет😀");
        assert_eq!(d.encoding, Encoding::Ucs2);
    }

    #[test]
    fn sixteen_bit_reference_has_no_fill_bits() {
        // A 7-octet header is exactly 8 septets: "Hi" starts right after it.
        let d = deliver(
            "00440B911346610089F60000208062917314080A060804123402 01C834"
                .replace(' ', "")
                .as_str(),
        );
        assert_eq!(d.text, "Hi");
        assert_eq!(
            d.concat,
            Some(Concat {
                reference: 0x1234,
                ref_bits: 16,
                total: 2,
                seq: 1
            })
        );
        assert!(d.smsc.is_none());
    }

    #[test]
    fn overlong_header_is_an_error() {
        // TP-UDL says 10 bytes, 6 remain: the header inside them still has to fit.
        let err = decode_hex("00440B911346610089F60008208062917314080A0C0804123402").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the user data header claims 12 bytes but only 5 remain"
        );
        let err = decode_hex(
            "00440B911346610089F600082080629173140806 0C0804123402"
                .replace(' ', "")
                .as_str(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the user data header claims 12 bytes but only 5 remain"
        );
    }

    #[test]
    fn status_report() {
        // MR 0x2A for +31641600986: received 2002-08-26 19:37:41 UTC, delivered 19:37:50, status 0.
        let r = match decode_hex(
            "07911326040000F0062A0B911346610089F620806291731408208062917305080000",
        )
        .unwrap()
        {
            Pdu::StatusReport(r) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(r.message_reference, 0x2A);
        assert_eq!(r.recipient.number, "+31641600986");
        assert_eq!(r.discharge_time.to_rfc3339(), "2002-08-26T19:37:50+00:00");
        assert!(r.delivered());
        assert_eq!(r.status_category(), StatusCategory::Completed);
    }

    #[test]
    fn status_report_optional_parameters() {
        // PI 06: DCS 08 (UCS2) and user data "OK".
        let with =
            "00062A0B911346610089F620806291731408208062917305080006080400 4F 004B".replace(' ', "");
        let Pdu::StatusReport(r) = decode_hex(&with).unwrap() else {
            panic!()
        };
        assert_eq!(
            (r.dcs, r.encoding, r.text.as_str()),
            (Some(8), Some(Encoding::Ucs2), "OK")
        );
        // Trailing bytes that do not form valid parameters leave the mandatory fields intact.
        let padded = "00062A0B911346610089F6208062917314082080629173050800FFFFFF";
        let Pdu::StatusReport(r) = decode_hex(padded).unwrap() else {
            panic!()
        };
        assert_eq!((r.status, r.pid, r.dcs), (0, None, None));
    }

    #[test]
    fn submit_with_relative_validity() {
        let s = match decode_hex("0031000B911346610089F60000AA0AE8329BFD4697D9EC37").unwrap() {
            Pdu::Submit(s) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(s.recipient.number, "+31641600986");
        assert_eq!(s.text, "hellohello");
        assert_eq!(
            s.validity,
            Some(Validity::Relative(Duration::from_secs(4 * 86400)))
        );
        assert!(s.status_report_request);
    }

    #[test]
    fn real_submit_three_octets_short_is_decoded_and_flagged() {
        // A visual voicemail notice to port 5496 stored by a phone (gammu's tests/at-sms/41.dump): TP-UDL says
        // 93 septets (82 octets), 79 octets are there.
        let pdu = decode_hex(
            "0041000B817777777777F700005D060504157800004DE1135B851283D4E2AFDD8BD576F3B2DC5E96F7DC617A788E2E\
             BBD761173C2CA7E777F0B79CDECBE5663BF8BDC74E57CDCFBCF5B97387DBE59E1BE00ED3C37374D9BD0EBBE06139",
        )
        .unwrap();
        let Pdu::Submit(s) = pdu else { panic!() };
        assert!(s.truncated);
        assert_eq!(
            s.text,
            "MBOXUPDATE?m=15;server=natashenka.party;port=993;pw=liUfOyVO;name=n@natashenka.par"
        );
        assert_eq!(s.content, Content::Text { port: Some(5496) });
        assert!(s.smsc.is_none() && !s.is_flash());
    }

    #[test]
    fn cphs_and_flash() {
        // Android's GsmSmsTest: the CPHS "set voicemail indicator" sender `_@` with a one-space text.
        let d = deliver("07912160130310F20404D0110041006060627171118A0120");
        assert_eq!(d.indications.len(), 1);
        let mw = d.indications[0];
        assert_eq!(
            (mw.kind, mw.active, mw.source),
            (
                crate::WaitingKind::Voicemail,
                true,
                crate::IndicationSource::Cphs
            )
        );
        assert!(d.message_waiting.is_none());
        // The same sender with real text is a sender called `_@`, not an indicator.
        let d = deliver("07912160130310F20404D0110041006060627171118A024120");
        assert!(d.indications.is_empty());
        // Class 0 (DCS 0x10) is flash; class 1 is not.
        let d = deliver("07911326040000F0040B911346610089F60010208062917314080AE8329BFD4697D9EC37");
        assert!(d.is_flash() && d.text == "hellohello");
        let d = deliver("07911326040000F0040B911346610089F60011208062917314080AE8329BFD4697D9EC37");
        assert!(!d.is_flash() && d.class == Some(1));
    }

    #[test]
    fn truncated_pdus_name_the_field() {
        let err = decode_hex("07911326040000F0040B9113466100").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the PDU ends inside the sender address: it needs 6 more byte(s) but only 4 remain"
        );
        assert_eq!(decode_hex("").unwrap_err(), DecodeError::Empty);
        assert_eq!(
            decode_hex("0G").unwrap_err().to_string(),
            "not a hex PDU: character 'G' at position 2 is not a hex digit"
        );
        assert_eq!(
            decode_hex("07911326040000F003").unwrap_err().to_string(),
            "message type 3 is reserved (first octet 0x03)"
        );
    }

    #[test]
    fn every_prefix_of_a_valid_pdu_is_an_error_not_a_panic() {
        let full = crate::parse_hex(
            "07911326040000F0440B911346610089F60000208062917314080E050003AA0201E8329BFD4697D9",
        )
        .unwrap();
        for n in 0..full.len() {
            let _ = crate::decode(&full[..n]);
        }
    }
}
