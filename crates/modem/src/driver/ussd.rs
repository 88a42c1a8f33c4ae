//! USSD (TS 27.007 §7.15, TS 22.090): `*100#` and the like, the way prepaid SIMs tell their
//! balance. `AT+CUSD=1,"<code>",15` is answered `OK` at once; the network's reply comes later as
//! `+CUSD: <m>[,"<text>",<dcs>]`, seconds later, so the driver does not wait for it in a job: the
//! request is sent, SMS work goes on, and the reply (or [`Timeouts::ussd`](crate::Timeouts)
//! without one) answers the caller. One request at a time per modem (the network runs one
//! session); `<m>` = 1 means the network waits for a menu choice, sent as the next code.
//!
//! The reply text is decoded with `simrelay-pdu`'s alphabets: UCS2 hex under a UCS2 coding
//! scheme; under GSM 7-bit, modems print plain text, or hex of packed septets (Huawei), or hex
//! of one septet per byte, or UCS2 hex when `AT+CSCS="UCS2"`; the first reading that gives
//! plausible text wins, else the line is shown as the modem printed it.

use tokio::time::Instant;

use super::work::Work;
use super::{lost_reason, Driver, End};
use crate::channel::AtChannel;
use crate::errors::ModemError;
use crate::handle::Reply;
use simrelay_pdu::text::{cbs_encoding, gsm7_packed, gsm7_septets, ucs2};
use simrelay_pdu::Encoding;

/// Longest USSD string a user sends (TS 23.038: 182 characters in 160 octets).
const MAX_CODE: usize = 182;

/// The network's answer to a USSD request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UssdReply {
    /// The decoded text (untrusted: show it as text, never as markup).
    pub reply: String,
    /// The network waits for an answer (a menu): send the choice as the next code.
    pub session_open: bool,
}

/// The request waiting for the network.
#[derive(Default)]
pub(super) struct Ussd {
    /// The command that was sent, and who waits for its reply.
    waiting: Option<(String, Reply<UssdReply>)>,
    /// When the request waiting is given up.
    pub(super) deadline: Option<Instant>,
}

/// Why a code cannot be sent; `None` when it can.
pub(super) fn check_code(code: &str) -> Option<String> {
    if code.is_empty() || code.chars().count() > MAX_CODE {
        return Some(format!(
            "a USSD code has 1 to {MAX_CODE} characters, such as *100#"
        ));
    }
    // A quote or a line end would end the AT command early.
    if code
        .chars()
        .any(|c| c == '"' || c.is_control() || !c.is_ascii())
    {
        return Some(
            "a USSD code has digits, *, # and plain letters only, such as *100# or 1".into(),
        );
    }
    None
}

impl Driver {
    /// Queues a USSD request, or refuses it: a bad code, or one already running on this modem.
    pub(super) fn ussd_request(&mut self, code: String, reply: Reply<UssdReply>, work: &mut Work) {
        if let Some(problem) = check_code(&code) {
            let _ = reply.send(Err(ModemError::Ussd(problem)));
            return;
        }
        if self.ussd.waiting.is_some() || work.ussd_queued() {
            let _ = reply.send(Err(ModemError::Busy(
                "a USSD request is already running on this modem; wait for its reply".into(),
            )));
            return;
        }
        work.ussd((code, reply));
    }

    /// Sends the request; the reply comes as a URC. Ends the session if the link broke.
    pub(super) async fn start_ussd(
        &mut self,
        at: &mut AtChannel,
        (code, reply): (String, Reply<UssdReply>),
    ) -> Option<End> {
        let command = format!("AT+CUSD=1,\"{code}\",15");
        let result = at.command(&command, self.config.timeouts.quick).await;
        let lost = lost_reason(&result);
        match result {
            Ok(_) => {
                // A reply printed before the OK is already queued and answers this request.
                self.ussd.waiting = Some((command, reply));
                self.ussd.deadline = Some(Instant::now() + self.config.timeouts.ussd);
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
        lost.map(End::Lost)
    }

    /// Takes a `+CUSD` URC (true) or leaves the line to others (false).
    pub(super) fn on_ussd_urc(&mut self, text: &str) -> bool {
        let Some((mode, reply)) = parse_cusd(text) else {
            return false;
        };
        let Some((_, waiting)) = self.ussd.waiting.take() else {
            tracing::info!(modem = %self.status.id, mode, "USSD message nobody asked for (or answered too late) ignored");
            return true;
        };
        self.ussd.deadline = None;
        let answer = match (mode, reply) {
            (0..=3, Some(reply)) => Ok(UssdReply {
                reply,
                session_open: mode == 1,
            }),
            (0 | 2 | 3, None) => Ok(UssdReply {
                reply: String::new(),
                session_open: false,
            }),
            (1, None) => Ok(UssdReply {
                reply: String::new(),
                session_open: true,
            }),
            (4, _) => Err(ModemError::Ussd(
                "the network does not support this USSD code; check it with your operator".into(),
            )),
            (5, _) => Err(ModemError::Ussd(
                "the network gave up on the USSD request (timeout); try again".into(),
            )),
            (m, _) => Err(ModemError::Ussd(format!(
                "the modem ended the USSD request (+CUSD: {m}); try again"
            ))),
        };
        let _ = waiting.send(answer);
        true
    }

    /// [`Ussd::deadline`] passed without a reply.
    pub(super) fn ussd_timer(&mut self) {
        self.ussd.deadline = None;
        if let Some((command, waiting)) = self.ussd.waiting.take() {
            let after = self.config.timeouts.ussd;
            tracing::warn!(modem = %self.status.id, ?after, "no USSD reply");
            let _ = waiting.send(Err(ModemError::Timeout {
                command: format!("{command} (the network's reply)"),
                seconds: after.as_secs_f64(),
            }));
        }
    }

    /// The session ended: a request waiting for its reply will not get one.
    pub(super) fn abandon_ussd(&mut self) {
        self.ussd.deadline = None;
        if let Some((_, waiting)) = self.ussd.waiting.take() {
            let _ = waiting.send(Err(ModemError::Disconnected));
        }
    }
}

/// `+CUSD: <m>[,"<str>"[,<dcs>]]` → (`m`, the decoded text).
fn parse_cusd(text: &str) -> Option<(u8, Option<String>)> {
    let (name, args) = text.split_once(':')?;
    if !name.trim().eq_ignore_ascii_case("+CUSD") {
        return None;
    }
    let args = args.trim();
    let (mode, rest) = args.split_once(',').unwrap_or((args, ""));
    let mode = mode.trim().parse().ok()?;
    let rest = rest.trim();
    let Some(quoted) = rest.strip_prefix('"') else {
        return Some((mode, None));
    };
    // The text may hold commas and quotes of its own: it ends at the last quote.
    let (body, dcs) = match quoted.rfind('"') {
        Some(end) => (
            &quoted[..end],
            quoted[end + 1..]
                .trim()
                .trim_start_matches(',')
                .trim()
                .parse()
                .ok(),
        ),
        None => (quoted, None),
    };
    Some((mode, Some(decode_reply(body, dcs))))
}

/// Decodes the text of a `+CUSD` reply under its data coding scheme (see the module doc).
pub(crate) fn decode_reply(body: &str, dcs: Option<u8>) -> String {
    let bytes = (body.len() >= 2 && body.len().is_multiple_of(2))
        .then(|| hex::decode(body).ok())
        .flatten();
    let Some(bytes) = bytes else {
        return body.to_string();
    };
    match dcs.map_or(Encoding::Gsm7, cbs_encoding) {
        Encoding::Ucs2 => ucs2(&bytes),
        Encoding::Gsm7 => {
            let mostly_latin_ucs2 = bytes.len().is_multiple_of(2)
                && bytes.iter().step_by(2).filter(|b| **b == 0).count() * 2 >= bytes.len() / 2;
            let mut readings = Vec::new();
            if mostly_latin_ucs2 {
                readings.push(ucs2(&bytes));
            }
            // Packed septets set the top bit of about half the octets; one septet per octet
            // never does.
            if bytes.iter().all(|b| *b < 0x80) {
                readings.push(gsm7_septets(&bytes));
            }
            readings.push(gsm7_packed(&bytes));
            readings
                .into_iter()
                .find(|text| plausible(text))
                .unwrap_or_else(|| body.to_string())
        }
        // 8-bit data: nothing to read; show the hex as it came.
        _ => body.to_string(),
    }
}

/// Text a network would send: no control characters but line ends, nothing undecodable, none
/// of the GSM alphabet's Greek capitals (which a wrong reading of bytes produces first).
fn plausible(text: &str) -> bool {
    !text.is_empty()
        && !text.chars().any(|c| {
            (c.is_control() && c != '\n' && c != '\r')
                || c == char::REPLACEMENT_CHARACTER
                || "ΔΦΓΛΩΠΨΣΘΞ".contains(c)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed_hex(text: &str) -> String {
        hex::encode_upper(simrelay_pdu::text::gsm7_pack(text).unwrap())
    }

    fn utf16_hex(text: &str) -> String {
        text.encode_utf16()
            .map(|u| format!("{u:04X}"))
            .collect::<String>()
    }

    #[test]
    fn plain_text_replies_are_kept() {
        assert_eq!(
            parse_cusd("+CUSD: 0,\"Your balance is 5.00 EUR, valid until 31.12.\",15"),
            Some((
                0,
                Some("Your balance is 5.00 EUR, valid until 31.12.".into())
            ))
        );
        // Digits only could be hex, but no reading of them is text.
        assert_eq!(decode_reply("1234", Some(15)), "1234");
        assert_eq!(parse_cusd("+CUSD: 2"), Some((2, None)));
    }

    #[test]
    fn packed_and_unpacked_gsm7_hex() {
        let text = "Balance: 12.50 EUR. Reply 1 for bundles";
        assert_eq!(decode_reply(&packed_hex(text), Some(15)), text);
        let unpacked: String = "Hello 42".bytes().map(|b| format!("{b:02X}")).collect();
        assert_eq!(decode_reply(&unpacked, Some(15)), "Hello 42");
        let line = format!("+CUSD: 1,\"{}\",15", packed_hex("1. Balance\n2. Bundles"));
        assert_eq!(
            parse_cusd(&line),
            Some((1, Some("1. Balance\n2. Bundles".into())))
        );
    }

    #[test]
    fn ucs2_replies() {
        let text = "Ваш баланс: 150 ₽ 👍";
        assert_eq!(decode_reply(&utf16_hex(text), Some(72)), text);
        assert_eq!(decode_reply(&utf16_hex(text), Some(0x11)), text);
        // A modem in UCS2 mode prints Latin text as UCS2 hex under dcs 15.
        assert_eq!(
            decode_reply(&utf16_hex("Balance 3 EUR"), Some(15)),
            "Balance 3 EUR"
        );
    }

    #[test]
    fn codes_that_would_break_the_command_are_refused() {
        assert_eq!(check_code("*100#"), None);
        assert_eq!(check_code("1"), None);
        assert!(check_code("").is_some());
        assert!(check_code("*100#\"\r\nAT+CMGD=1,4").is_some());
        assert!(check_code(&"1".repeat(183)).is_some());
    }
}
