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

/// An SMS-DELIVER from `sender` (international digits, `+` optional) at [`SENT_AT`], built octet by octet for
/// the kinds of message the encoder does not make: `dcs` as given, `udh` (the information elements, without
/// their length octet) when set, then `user_data` with `udl` as its TP-UDL (septets for 7-bit, octets
/// otherwise; a TP-UDL larger than the data makes a truncated PDU).
fn raw_deliver(sender: &str, dcs: u8, udh: Option<&[u8]>, user_data: &[u8], udl: u8) -> Vec<u8> {
    let digits: Vec<u8> = sender
        .trim_start_matches('+')
        .bytes()
        .map(|b| b - b'0')
        .collect();
    let mut pdu = vec![0x00, if udh.is_some() { 0x44 } else { 0x04 }];
    pdu.push(u8::try_from(digits.len()).expect("a short number"));
    pdu.push(0x91);
    pdu.extend(
        digits
            .chunks(2)
            .map(|pair| pair[0] | pair.get(1).copied().unwrap_or(0x0F) << 4),
    );
    pdu.extend([0x00, dcs]);
    pdu.extend([0x62, 0x11, 0x22, 0x01, 0x00, 0x00, 0x40]); // TP-SCTS 2026-11-22 10:00:00 +01:00
    pdu.push(udl);
    if let Some(udh) = udh {
        pdu.push(u8::try_from(udh.len()).expect("a short header"));
        pdu.extend(udh);
    }
    pdu.extend(user_data);
    pdu
}

/// A single-part SMS-DELIVER as [`raw_deliver`] builds it, checked against the decoder.
fn checked(pdu: Vec<u8>, check: impl FnOnce(&simrelay_pdu::Deliver) -> bool) -> Vec<u8> {
    match simrelay_pdu::decode(&pdu) {
        Ok(simrelay_pdu::Pdu::Deliver(d)) if check(&d) => pdu,
        other => panic!("the test PDU does not decode as meant: {other:?}"),
    }
}

/// 8-bit data from `sender` to application port `port` (from port 9200), as apps and operators send it: a
/// client must show "binary message to port ...", never the bytes as text.
pub fn binary_to_port(sender: &str, port: u16, data: &[u8]) -> Vec<u8> {
    let [hi, lo] = port.to_be_bytes();
    let udh = [0x05, 0x04, hi, lo, 0x23, 0xF0];
    let udl = u8::try_from(udh.len() + 1 + data.len()).expect("a single part");
    checked(raw_deliver(sender, 0x04, Some(&udh), data, udl), |d| {
        d.content.port() == Some(port) && d.text.is_empty()
    })
}

/// Text (UCS2-coded, at most 67 characters) to application port `port`: what visual voicemail and some apps
/// receive. It is text, shown with its port.
pub fn text_to_port(sender: &str, port: u16, text: &str) -> Vec<u8> {
    let [hi, lo] = port.to_be_bytes();
    let udh = [0x05, 0x04, hi, lo, 0x23, 0xF0];
    let data: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let udl = u8::try_from(udh.len() + 1 + data.len()).expect("a single part");
    checked(raw_deliver(sender, 0x08, Some(&udh), &data, udl), |d| {
        d.content.port() == Some(port) && d.text == text
    })
}

/// A WAP push (port 2948) of an MMS notification (WSP content type `application/vnd.wap.mms-message`) with
/// `extra` bytes of body after its push header.
pub fn mms_notification(sender: &str, extra: usize) -> Vec<u8> {
    // Transaction id, PDU type push, header length 1, content type 0xBE (mms-message), then the body.
    let mut wsp = vec![0x01, 0x06, 0x01, 0xBE];
    wsp.extend((0..extra).map(|i| (i % 251) as u8));
    binary_to_port(sender, 2948, &wsp)
}

/// A class 0 ("flash") message of `text` (at most 70 UTF-16 units), UCS2-coded.
pub fn flash(sender: &str, text: &str) -> Vec<u8> {
    let data: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let udl = u8::try_from(data.len()).expect("at most 70 characters");
    checked(raw_deliver(sender, 0x18, None, &data, udl), |d| {
        d.is_flash() && d.text == text
    })
}

/// A voicemail indication as networks send it (DCS "discard message" group, the user data header's special
/// SMS indication with the count, no text): `count` waiting, or none when `count` is 0 (which clears it).
pub fn voicemail_indication(sender: &str, count: u8) -> Vec<u8> {
    let dcs = if count > 0 { 0xC8 } else { 0xC0 };
    // Header of 5 octets = 40 bits: 6 septets, the last of them fill; no text follows.
    let pdu = raw_deliver(sender, dcs, Some(&[0x01, 0x02, 0x00, count]), &[0x00], 6);
    checked(pdu, |d| {
        d.indications.iter().any(|i| i.count == Some(count)) && d.text.is_empty()
    })
}

/// `deliver`'s PDU with its last `cut` octets missing: the decoder reads what is there and flags it
/// `truncated`.
pub fn truncated(deliver: Vec<u8>, cut: usize) -> Vec<u8> {
    let pdu = deliver[..deliver.len() - cut].to_vec();
    checked(pdu, |d| d.truncated)
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
        assert!(!binary_to_port(SENDER, 5499, &[1, 2, 3]).is_empty());
        assert!(!mms_notification(SENDER, 90).is_empty());
        assert!(!text_to_port(SENDER, 5499, "//VVM:SYNC:ev=NM").is_empty());
        assert!(!flash(SENDER, "Flash! 4711").is_empty());
        assert!(!voicemail_indication("+491710000000", 2).is_empty());
        assert!(!voicemail_indication("+491710000000", 0).is_empty());
        assert!(!truncated(numbered("Cut", 1), 3).is_empty());
        let bad = with_bad_timestamp(numbered("Bad", 1));
        assert!(simrelay_pdu::decode(&bad).is_err(), "refused");
        assert_ne!(bad, with_bad_timestamp(numbered("Bad", 2)));
    }
}
