//! SMS PDUs for tests and benchmarks, built by `simrelay-pdu`'s encoder the way a network sends them, and the
//! numbered texts benchmarks and fault tests count.

use chrono::{DateTime, FixedOffset};

/// The sending time of every test message unless a test chooses another.
pub const SENT_AT: &str = "2026-11-22T10:00:00+01:00";

/// The sender of numbered messages.
pub const SENDER: &str = "+4915123456789";

/// `at` (RFC 3339) as a time; a test's literal, so a wrong one is a bug in the test.
pub fn time(at: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(at)
        .unwrap_or_else(|e| panic!("{at:?} is not an RFC 3339 time: {e}"))
}

/// The SMS-DELIVER PDUs (with an SMSC field, as a SIM stores them) of `text` from `sender` sent at `at`: one per
/// part.
pub fn deliver_parts(sender: &str, text: &str, at: &str) -> Vec<Vec<u8>> {
    simrelay_pdu::encode_deliver(sender, text, time(at))
}

/// The single SMS-DELIVER PDU of a text that fits one part, sent at `at`.
pub fn deliver_at(sender: &str, text: &str, at: &str) -> Vec<u8> {
    let mut parts = deliver_parts(sender, text, at);
    assert_eq!(parts.len(), 1, "a single-part sample: {text:?}");
    parts.remove(0)
}

/// The single SMS-DELIVER PDU of `text` from `sender`, sent at [`SENT_AT`].
pub fn deliver(sender: &str, text: &str) -> Vec<u8> {
    deliver_at(sender, text, SENT_AT)
}

/// `deliver` (an SMS-DELIVER with an SMSC field) with a timestamp that is not a date: a decoder must refuse it
/// (short user data alone is decoded leniently, flagged `truncated`). The user data stays, so two such PDUs of
/// different texts stay distinct.
pub fn with_bad_timestamp(mut deliver: Vec<u8>) -> Vec<u8> {
    // SMSC field, first octet, sender length (digits), type, sender, PID, DCS, then the SCTS: its month octet.
    let smsc = 1 + usize::from(deliver[0]);
    let sender_octets = usize::from(deliver[smsc + 1]).div_ceil(2);
    deliver[smsc + 5 + sender_octets + 1] = 0xFF;
    deliver
}

/// An SMS-STATUS-REPORT as a network sends it (TS 23.040 9.2.2.3) for message reference `reference` to
/// [`SENDER`], with status TP-ST `status`; checked against the decoder before use.
pub fn status_report(reference: u8, status: u8) -> Vec<u8> {
    let mut pdu = vec![
        0x00, // no SMSC field
        0x06, // TP-MTI status report, TP-MMS no more messages
        reference, 0x0D, 0x91, // 13 digits, international
        0x94, 0x51, 0x21, 0x43, 0x65, 0x87, 0xF9, // 4915123456789, nibble-swapped
    ];
    pdu.extend([0x62, 0x11, 0x22, 0x01, 0x00, 0x50, 0x40]); // TP-SCTS 2026-11-22 10:00:05 +01:00
    pdu.extend([0x62, 0x11, 0x22, 0x01, 0x00, 0x70, 0x40]); // TP-DT 10:00:07
    pdu.push(status);
    match simrelay_pdu::decode(&pdu) {
        Ok(simrelay_pdu::Pdu::StatusReport(r)) => assert_eq!(
            (r.message_reference, r.recipient.number.as_str()),
            (reference, SENDER)
        ),
        other => panic!("expected a status report, got {other:?}"),
    }
    pdu
}

/// The text of message `index` of series `series`: unique, so a client can tell which message it got, and with
/// a code so the OTP extractor does its real work.
pub fn numbered_text(series: &str, index: usize) -> String {
    // A spread of digits that still reads like a code; not random, so runs are repeatable.
    let code = (index as u64).wrapping_mul(7_919).wrapping_add(104_729) % 900_000 + 100_000;
    format!("{series} #{index}: your verification code is {code}. Do not share it.")
}

/// Which message of `series` a received text is, if it is one of them.
pub fn numbered_index(series: &str, text: &str) -> Option<usize> {
    let rest = text.strip_prefix(series)?.strip_prefix(" #")?;
    let end = rest.find(':')?;
    rest[..end].parse().ok()
}

/// The single-part PDU of [`numbered_text`] from [`SENDER`].
pub fn numbered(series: &str, index: usize) -> Vec<u8> {
    deliver(SENDER, &numbered_text(series, index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_texts_round_trip_to_their_index_and_fit_one_part() {
        let text = numbered_text("Lat", 42);
        assert_eq!(numbered_index("Lat", &text), Some(42));
        assert_eq!(numbered_index("Fan", &text), None);
        assert_eq!(numbered_index("Lat", "Lat #x: y"), None);
        match simrelay_pdu::decode(&numbered("Lat", 99_999)) {
            Ok(simrelay_pdu::Pdu::Deliver(d)) => {
                assert_eq!(d.text, numbered_text("Lat", 99_999));
            }
            other => panic!("expected a deliver, got {other:?}"),
        }
        assert!(!status_report(7, 0).is_empty());
        let bad = with_bad_timestamp(numbered("Bad", 1));
        assert!(simrelay_pdu::decode(&bad).is_err(), "refused");
        assert_ne!(bad, with_bad_timestamp(numbered("Bad", 2)));
    }
}
