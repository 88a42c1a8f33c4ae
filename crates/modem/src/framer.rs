//! The AT framer: turns the raw byte stream of a modem into frames, whatever the read boundaries.
//!
//! It is pure (no I/O, no clock) so every split of every byte sequence can be unit-tested. It knows
//! just enough about the command in flight (set with [`Framer::expect`]) to tell its echo and its
//! information lines apart from unsolicited result codes; everything else is decided by the line's
//! shape. A URC is always returned as [`Frame::Urc`], even in the middle of a response, so the driver
//! can never swallow a `+CMTI` into a command's answer (python-gsmmodem's classic bug).

use crate::errors::{AtError, ErrorFamily};

/// Longest line accepted. A PDU line is at most about 360 hex characters, and no modem sends more
/// than this in one legitimate line; anything longer is garbage (wrong baud rate, line noise).
pub const MAX_LINE: usize = 2048;

/// One unit of modem output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The modem repeating the command in flight (echo on, before `ATE0` or after a reset).
    Echo(String),
    /// An information response line of the command in flight (e.g. `+CMGR: 0,,23` or a PDU line).
    Line(String),
    /// The final result that ends the command in flight.
    Final(FinalResult),
    /// The `> ` prompt after `AT+CMGS=<n>` (it has no line end).
    Prompt,
    /// An unsolicited result code.
    Urc(Urc),
    /// Vendor status noise (Huawei/ZTE `^MODE`, `^BOOT`, `^DSFLOWRPT`, ...), to be ignored.
    Noise(String),
    /// Bytes that cannot be a modem line (control characters, over-long lines), skipped.
    Garbage(String),
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinalResult {
    /// `OK`.
    Ok,
    /// Plain `ERROR` (no detail, e.g. `AT+CMEE=0` or an unknown command).
    Error,
    /// `+CME ERROR` or `+CMS ERROR`.
    AtError(AtError),
    /// Another final word some modems use (`NO CARRIER`, `COMMAND NOT SUPPORT`, ...).
    Other(String),
}

/// An unsolicited result code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Urc {
    /// `+CMTI: "<mem>",<index>`: a message was stored.
    NewMessage {
        /// Storage name (`SM`, `ME`, `MT`).
        mem: String,
        /// Slot number.
        index: u32,
    },
    /// `+CMT: [<alpha>],<length>` and its PDU line: a message delivered directly, not stored.
    Deliver {
        /// The header line, for logs.
        header: String,
        /// The raw PDU (with its SMSC field).
        pdu: Vec<u8>,
    },
    /// `+CDS: <length>` and its PDU line: a status report delivered directly.
    StatusReport {
        /// The header line, for logs.
        header: String,
        /// The raw PDU.
        pdu: Vec<u8>,
    },
    /// `+CDSI: "<mem>",<index>`: a status report was stored.
    StatusReportStored {
        /// Storage name.
        mem: String,
        /// Slot number.
        index: u32,
    },
    /// A readiness signal: `SMS Ready`, `SMS DONE`, `+QIND: SMS DONE`, `PB DONE`, `Call Ready`, ...
    Ready(String),
    /// Any other URC (`RING`, `+CREG: 1`, `+CPIN: READY`, ...), kept as text.
    Other(String),
}

/// Prefixes of lines that are unsolicited unless they answer the command in flight.
/// (`+CSQ` and `+CSQN` are the signal reports of SIMCom modules: unsolicited when `AT+CSQ` is not
/// in flight.)
const URC_PREFIXES: &[&str] = &[
    "+CMTI", "+CMT", "+CDS", "+CDSI", "+CBM", "+CREG", "+CGREG", "+CEREG", "+CPIN", "+CLIP",
    "+CRING", "+CUSD", "+CFUN", "+QIND", "+CIEV", "+QUSIM", "+CSQ", "+CSQN",
];

/// Huawei caret lines that matter (the rest is status noise): a full SIM, and the signal.
const CARET_URCS: &[&str] = &["^SMMEMFULL", "^RSSI"];

/// Whole lines that are readiness or boot signals.
const READY_LINES: &[&str] = &[
    "SMS READY",
    "SMS DONE",
    "CALL READY",
    "PB DONE",
    "RDY",
    "+PBREADY",
    "+QIND: SMS DONE",
    "+QIND: PB DONE",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TwoLine {
    Deliver,
    StatusReport,
    /// A cell broadcast: its PDU line is consumed and ignored.
    Broadcast,
}

/// Splits modem output into [`Frame`]s. Feed it bytes as they arrive with [`Framer::push`].
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
    /// The command in flight (without the trailing CR), for echo and response matching.
    command: Option<String>,
    /// The `+NAME` of the command in flight: lines with this prefix answer it.
    command_name: Option<String>,
    expect_prompt: bool,
    /// A two-line URC header waiting for its PDU line.
    pending: Option<(TwoLine, String)>,
    /// Set after an over-long line: drop bytes until the next line end.
    skipping: bool,
}

impl Framer {
    /// A framer with no command in flight.
    pub fn new() -> Framer {
        Framer::default()
    }

    /// Tells the framer which command was just written (e.g. `AT+CMGR=3`), so its echo and its
    /// information lines are recognised. `prompt` is true for commands answered by `> `.
    pub fn expect(&mut self, command: &str, prompt: bool) {
        let command = command.trim_end_matches(['\r', '\n']).trim().to_string();
        self.command_name = command_name(&command);
        self.command = Some(command);
        self.expect_prompt = prompt;
    }

    /// Forgets the command in flight (after its final result or a timeout).
    pub fn clear(&mut self) {
        self.command = None;
        self.command_name = None;
        self.expect_prompt = false;
    }

    /// Drops any partial line, e.g. after a timeout or a reopen, so old bytes cannot corrupt
    /// the next exchange.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.pending = None;
        self.skipping = false;
        self.clear();
    }

    /// Adds bytes and returns every frame they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Frame> {
        let mut frames = Vec::new();
        for &b in bytes {
            if b == b'\r' || b == b'\n' {
                if self.skipping {
                    self.skipping = false;
                    self.buf.clear();
                    continue;
                }
                if !self.buf.is_empty() {
                    let line = std::mem::take(&mut self.buf);
                    self.line(&line, &mut frames);
                }
                continue;
            }
            if self.skipping {
                continue;
            }
            self.buf.push(b);
            if self.buf.len() > MAX_LINE {
                frames.push(Frame::Garbage(format!(
                    "line longer than {MAX_LINE} bytes skipped"
                )));
                self.buf.clear();
                self.skipping = true;
                continue;
            }
            // The prompt has no line end, so it is recognised as soon as it is complete.
            if self.expect_prompt && self.pending.is_none() && self.buf == b"> " {
                self.buf.clear();
                self.expect_prompt = false;
                frames.push(Frame::Prompt);
            }
        }
        // A lone ">" at the end of a read is a prompt too: some modems send no space after it.
        if self.expect_prompt && self.pending.is_none() && self.buf == b">" {
            self.buf.clear();
            self.expect_prompt = false;
            frames.push(Frame::Prompt);
        }
        frames
    }

    fn line(&mut self, raw: &[u8], frames: &mut Vec<Frame>) {
        // Auto-bauding modems and line noise produce NUL and 0xFF bytes around real lines.
        let cleaned: Vec<u8> = raw
            .iter()
            .copied()
            .filter(|b| *b != 0 && *b != 0xFF)
            .collect();
        let text = String::from_utf8_lossy(&cleaned);
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        if text.chars().any(|c| c.is_control() && c != '\t') {
            frames.push(Frame::Garbage(text.escape_debug().to_string()));
            return;
        }
        if self.pending.is_some() && (text.starts_with('^') || is_call_line(text)) {
            // Vendor status chatter, or a call ringing, between a `+CMT` header and its PDU: the
            // PDU still follows.
            if let Some(frame) = self.classify(text) {
                frames.push(frame);
            }
            return;
        }
        if let Some((kind, header)) = self.pending.take() {
            match hex::decode(text) {
                Ok(pdu) => {
                    let urc = match kind {
                        TwoLine::Deliver => Some(Urc::Deliver { header, pdu }),
                        TwoLine::StatusReport => Some(Urc::StatusReport { header, pdu }),
                        TwoLine::Broadcast => None,
                    };
                    if let Some(urc) = urc {
                        frames.push(Frame::Urc(urc));
                    }
                    return;
                }
                Err(_) => {
                    // The PDU line never came (or is corrupt): report the header, and classify
                    // this line on its own so a final result is not lost.
                    frames.push(Frame::Garbage(format!(
                        "{header}: PDU line missing or not hex"
                    )));
                }
            }
        }
        if let Some(frame) = self.classify(text) {
            frames.push(frame);
        }
    }

    /// Classifies one complete line; `None` for the header of a two-line URC (its frame comes
    /// with the PDU line).
    fn classify(&mut self, text: &str) -> Option<Frame> {
        if let Some(command) = &self.command {
            if text.eq_ignore_ascii_case(command) {
                return Some(Frame::Echo(text.to_string()));
            }
        }
        if let Some(result) = final_result(text) {
            return Some(Frame::Final(result));
        }
        let upper = text.to_ascii_uppercase();
        if READY_LINES.contains(&upper.as_str()) {
            return Some(Frame::Urc(Urc::Ready(text.to_string())));
        }
        let name = text.split(':').next().unwrap_or("").trim();
        if is_call_line(text) || self.network_answer(name) {
            // A call rings (or the network answers a USSD request) whatever command is in flight.
            return Some(Frame::Urc(Urc::Other(text.to_string())));
        }
        if self
            .command_name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(name) || answer_alias(n, name))
        {
            return Some(Frame::Line(text.to_string()));
        }
        if CARET_URCS.iter().any(|p| upper.starts_with(p)) {
            return Some(Frame::Urc(Urc::Other(text.to_string())));
        }
        if text.starts_with('^') {
            return Some(Frame::Noise(text.to_string()));
        }
        if self.command_name.is_some()
            && text.starts_with('+')
            && text.contains(':')
            && !URC_PREFIXES.iter().any(|p| p.eq_ignore_ascii_case(name))
        {
            // The answer of another command (a late one after a timeout): not ours.
            return Some(Frame::Garbage(format!("stray line {text}")));
        }
        if text.contains(':') && URC_PREFIXES.iter().any(|p| p.eq_ignore_ascii_case(name)) {
            return self.urc(name, text);
        }
        let dialling = self.command.as_deref().is_some_and(|c| {
            let c = c.to_ascii_uppercase();
            c.starts_with("ATD") || c.starts_with("ATA") || c.starts_with("ATO")
        });
        if (upper == "NO CARRIER" && !dialling)
            || (upper == "POWERED DOWN" && self.command.is_none())
        {
            return Some(Frame::Urc(Urc::Other(text.to_string())));
        }
        Some(Frame::Line(text.to_string()))
    }

    fn urc(&mut self, name: &str, text: &str) -> Option<Frame> {
        let args = text.split_once(':').map(|(_, a)| a.trim()).unwrap_or("");
        let frame = match name.to_ascii_uppercase().as_str() {
            "+CMTI" | "+CDSI" => match parse_mem_index(args) {
                Some((mem, index)) if name.eq_ignore_ascii_case("+CMTI") => {
                    Frame::Urc(Urc::NewMessage { mem, index })
                }
                Some((mem, index)) => Frame::Urc(Urc::StatusReportStored { mem, index }),
                None => Frame::Garbage(text.to_string()),
            },
            "+CMT" | "+CDS" | "+CBM" => {
                let kind = match name.to_ascii_uppercase().as_str() {
                    "+CMT" => TwoLine::Deliver,
                    "+CDS" => TwoLine::StatusReport,
                    _ => TwoLine::Broadcast,
                };
                self.pending = Some((kind, text.to_string()));
                return None;
            }
            _ => Frame::Urc(Urc::Other(text.to_string())),
        };
        Some(frame)
    }
}

impl Framer {
    /// A `+CUSD`/`+CLIP` line while `AT+CUSD=...`/`AT+CLIP=...` is in flight: a set command has
    /// no answer line of that name (only `AT+CUSD?` has), so it is the network's reply to a USSD
    /// request or a caller's number, which some modems print before the command's `OK`.
    fn network_answer(&self, name: &str) -> bool {
        let Some(command) = &self.command else {
            return false;
        };
        ["+CUSD", "+CLIP"].iter().any(|n| {
            n.eq_ignore_ascii_case(name)
                && command.get(..n.len() + 3).is_some_and(|c| {
                    c.eq_ignore_ascii_case(&format!("AT{n}=")) && !command.ends_with('?')
                })
        })
    }
}

/// `RING` and `+CRING: VOICE`: an incoming call, never the answer to a command, so it is a URC
/// even in the middle of a response (a call must not disturb a listing of the SIM).
fn is_call_line(text: &str) -> bool {
    text.eq_ignore_ascii_case("RING")
        || text
            .get(..6)
            .is_some_and(|p| p.eq_ignore_ascii_case("+CRING"))
}

/// Commands whose answer lines carry another name (SIMCom's `AT+CICCID` answers `+ICCID:`).
fn answer_alias(command: &str, line: &str) -> bool {
    command.eq_ignore_ascii_case("+CICCID") && line.eq_ignore_ascii_case("+ICCID")
}

/// `+CMGR` from `AT+CMGR=1`, `+CPMS` from `AT+CPMS?`, `+CNMI` from `AT+CNMI=?`.
fn command_name(command: &str) -> Option<String> {
    let rest = command.get(2..)?;
    if !command.get(..2)?.eq_ignore_ascii_case("AT") {
        return None;
    }
    let end = rest.find(['=', '?']).unwrap_or(rest.len());
    let name = &rest[..end];
    if name.starts_with(['+', '^', '$', '#']) {
        Some(name.to_string())
    } else {
        None
    }
}

fn final_result(text: &str) -> Option<FinalResult> {
    let upper = text.to_ascii_uppercase();
    match upper.as_str() {
        "OK" => return Some(FinalResult::Ok),
        "ERROR" => return Some(FinalResult::Error),
        "NO DIALTONE" | "BUSY" | "NO ANSWER" | "COMMAND NOT SUPPORT" | "TOO MANY PARAMETERS" => {
            return Some(FinalResult::Other(text.to_string()))
        }
        _ => {}
    }
    for (prefix, family) in [
        ("+CME ERROR:", ErrorFamily::Cme),
        ("+CMS ERROR:", ErrorFamily::Cms),
    ] {
        if upper.starts_with(prefix) {
            let arg = &text[prefix.len()..];
            return Some(FinalResult::AtError(AtError::parse(family, arg)));
        }
    }
    None
}

/// `"SM",3` → `("SM", 3)`.
fn parse_mem_index(args: &str) -> Option<(String, u32)> {
    let (mem, index) = args.rsplit_once(',')?;
    Some((
        mem.trim().trim_matches('"').to_string(),
        index.trim().parse().ok()?,
    ))
}

/// Parses a `+CMGL: <index>,<stat>,[<alpha>],<length>` or `+CMGR: <stat>,[<alpha>],<length>`
/// header and returns its first number (the index for CMGL, the status for CMGR).
pub fn first_number(line: &str) -> Option<u32> {
    let args = line.split_once(':')?.1;
    args.split(',').next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDU: &str =
        "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07";

    /// Feeds `input` at every possible single split and in 1-byte chunks, and checks that the
    /// frames are the same as for one read.
    fn frames_at_every_boundary(setup: impl Fn(&mut Framer), input: &[u8]) -> Vec<Frame> {
        let mut whole = Framer::new();
        setup(&mut whole);
        let expected = whole.push(input);
        for split in 0..=input.len() {
            let mut f = Framer::new();
            setup(&mut f);
            let mut got = f.push(&input[..split]);
            got.extend(f.push(&input[split..]));
            assert_eq!(got, expected, "split at {split}");
        }
        let mut f = Framer::new();
        setup(&mut f);
        let got: Vec<Frame> = input.iter().flat_map(|b| f.push(&[*b])).collect();
        assert_eq!(got, expected, "byte by byte");
        expected
    }

    fn line(s: &str) -> Frame {
        Frame::Line(s.to_string())
    }

    #[test]
    fn urc_in_the_middle_of_a_cmgl_response_is_a_urc() {
        let input = format!(
            "\r\n+CMGL: 1,0,,23\r\n{PDU}\r\n+CMTI: \"SM\",2\r\n+CMGL: 3,1,,23\r\n{PDU}\r\n\r\nOK\r\n"
        );
        let frames = frames_at_every_boundary(|f| f.expect("AT+CMGL=4", false), input.as_bytes());
        assert_eq!(
            frames,
            vec![
                line("+CMGL: 1,0,,23"),
                line(PDU),
                Frame::Urc(Urc::NewMessage {
                    mem: "SM".into(),
                    index: 2
                }),
                line("+CMGL: 3,1,,23"),
                line(PDU),
                Frame::Final(FinalResult::Ok),
            ]
        );
    }

    #[test]
    fn a_call_ringing_inside_a_listing_is_a_urc_and_leaves_the_pdus_in_place() {
        let input = format!(
            "\r\n+CMGL: 1,0,,23\r\nRING\r\n\r\n+CLIP: \"+4915123\",145,\"\",0,\"\",0\r\n{PDU}\r\n+CRING: VOICE\r\nNO CARRIER\r\n\r\nOK\r\n"
        );
        let frames = frames_at_every_boundary(|f| f.expect("AT+CMGL=4", false), input.as_bytes());
        let other = |s: &str| Frame::Urc(Urc::Other(s.into()));
        assert_eq!(
            frames,
            vec![
                line("+CMGL: 1,0,,23"),
                other("RING"),
                other("+CLIP: \"+4915123\",145,\"\",0,\"\",0"),
                line(PDU),
                other("+CRING: VOICE"),
                other("NO CARRIER"),
                Frame::Final(FinalResult::Ok),
            ]
        );
    }

    #[test]
    fn a_ring_between_a_cmt_header_and_its_pdu_keeps_the_pdu() {
        let input = format!("\r\n+CMT: ,23\r\nRING\r\n{PDU}\r\n");
        let frames = frames_at_every_boundary(|_| {}, input.as_bytes());
        assert_eq!(frames.len(), 2, "{frames:?}");
        assert_eq!(frames[0], Frame::Urc(Urc::Other("RING".into())));
        assert!(matches!(frames[1], Frame::Urc(Urc::Deliver { .. })));
    }

    #[test]
    fn a_ussd_reply_before_the_ok_of_its_request_is_a_urc_but_the_query_answers() {
        let mut f = Framer::new();
        f.expect("AT+CUSD=1,\"*100#\",15", false);
        assert_eq!(
            f.push(b"\r\n+CUSD: 0,\"Balance 5.00\",15\r\n\r\nOK\r\n"),
            vec![
                Frame::Urc(Urc::Other("+CUSD: 0,\"Balance 5.00\",15".into())),
                Frame::Final(FinalResult::Ok)
            ]
        );
        f.expect("AT+CUSD?", false);
        assert_eq!(
            f.push(b"\r\n+CUSD: 1\r\n\r\nOK\r\n"),
            vec![line("+CUSD: 1"), Frame::Final(FinalResult::Ok)]
        );
        f.expect("AT+CLIP?", false);
        assert_eq!(
            f.push(b"\r\n+CLIP: 1,1\r\n\r\nOK\r\n"),
            vec![line("+CLIP: 1,1"), Frame::Final(FinalResult::Ok)]
        );
    }

    #[test]
    fn urc_before_echo_and_final_in_same_read() {
        let input = "+CMTI: \"SM\",7\r\nAT+CMGR=1\r\r\n+CMS ERROR: 321\r\n+CMTI: \"ME\",8\r\n";
        let frames = frames_at_every_boundary(|f| f.expect("AT+CMGR=1", false), input.as_bytes());
        assert_eq!(frames.len(), 4);
        assert_eq!(
            frames[0],
            Frame::Urc(Urc::NewMessage {
                mem: "SM".into(),
                index: 7
            })
        );
        assert_eq!(frames[1], Frame::Echo("AT+CMGR=1".into()));
        match &frames[2] {
            Frame::Final(FinalResult::AtError(e)) => assert!(e.is_cms(321)),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            frames[3],
            Frame::Urc(Urc::NewMessage {
                mem: "ME".into(),
                index: 8
            })
        );
    }

    #[test]
    fn two_line_cmt_and_cds_carry_their_pdu() {
        let input = format!("\r\n+CMT: ,23\r\n{PDU}\r\n\r\n+CDS: 25\r\n0006\r\n");
        let frames = frames_at_every_boundary(|_| {}, input.as_bytes());
        assert_eq!(
            frames,
            vec![
                Frame::Urc(Urc::Deliver {
                    header: "+CMT: ,23".into(),
                    pdu: hex::decode(PDU).unwrap()
                }),
                Frame::Urc(Urc::StatusReport {
                    header: "+CDS: 25".into(),
                    pdu: vec![0, 6]
                }),
            ]
        );
    }

    #[test]
    fn vendor_chatter_between_a_cmt_header_and_its_pdu_is_skipped() {
        let input = format!("\r\n+CMT: ,23\r\n^MODE:5,4\r\n^RSSI:17\r\n{PDU}\r\n");
        let frames = frames_at_every_boundary(|_| {}, input.as_bytes());
        assert_eq!(
            frames,
            vec![
                Frame::Noise("^MODE:5,4".into()),
                Frame::Urc(Urc::Other("^RSSI:17".into())),
                Frame::Urc(Urc::Deliver {
                    header: "+CMT: ,23".into(),
                    pdu: hex::decode(PDU).unwrap()
                }),
            ]
        );
    }

    #[test]
    fn cmt_inside_a_response_does_not_end_it() {
        let input = format!("\r\n+CSQ: 20,99\r\n+CMT: ,23\r\n{PDU}\r\n\r\nOK\r\n");
        let frames = frames_at_every_boundary(|f| f.expect("AT+CSQ", false), input.as_bytes());
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0], line("+CSQ: 20,99"));
        assert!(matches!(frames[1], Frame::Urc(Urc::Deliver { .. })));
        assert_eq!(frames[2], Frame::Final(FinalResult::Ok));
    }

    #[test]
    fn prompt_without_line_end() {
        let input = b"AT+CMGS=23\r\r\n> ";
        let frames = frames_at_every_boundary(|f| f.expect("AT+CMGS=23", true), input);
        assert_eq!(
            frames,
            vec![Frame::Echo("AT+CMGS=23".into()), Frame::Prompt]
        );
        // A bare ">" at the end of a read counts as well.
        let mut f = Framer::new();
        f.expect("AT+CMGS=23", true);
        assert_eq!(f.push(b"\r\n>"), vec![Frame::Prompt]);
    }

    #[test]
    fn response_named_like_a_urc_answers_its_command() {
        let mut f = Framer::new();
        f.expect("AT+CREG?", false);
        assert_eq!(
            f.push(b"\r\n+CREG: 0,1\r\n\r\nOK\r\n"),
            vec![line("+CREG: 0,1"), Frame::Final(FinalResult::Ok)]
        );
        f.clear();
        assert_eq!(
            f.push(b"\r\n+CREG: 5\r\n"),
            vec![Frame::Urc(Urc::Other("+CREG: 5".into()))]
        );
    }

    #[test]
    fn stray_answer_of_another_command_is_not_a_response_line() {
        let mut f = Framer::new();
        f.expect("AT+CMGD=1", false);
        assert_eq!(
            f.push(b"\r\n+COPS: 0,0,\"Demo\",7\r\n\r\nOK\r\n"),
            vec![
                Frame::Garbage("stray line +COPS: 0,0,\"Demo\",7".into()),
                Frame::Final(FinalResult::Ok)
            ]
        );
    }

    #[test]
    fn huawei_noise_and_ready_signals() {
        let mut f = Framer::new();
        f.expect("AT+CPMS?", false);
        let frames = f.push(
            b"\r\n^RSSI:14\r\n+CPMS: \"SM\",1,30\r\n^MODE:5,4\r\n\r\nOK\r\nSMS Ready\r\n+QIND: SMS DONE\r\n^SMMEMFULL: \"SM\"\r\n",
        );
        assert_eq!(
            frames,
            vec![
                Frame::Urc(Urc::Other("^RSSI:14".into())),
                line("+CPMS: \"SM\",1,30"),
                Frame::Noise("^MODE:5,4".into()),
                Frame::Final(FinalResult::Ok),
                Frame::Urc(Urc::Ready("SMS Ready".into())),
                Frame::Urc(Urc::Ready("+QIND: SMS DONE".into())),
                Frame::Urc(Urc::Other("^SMMEMFULL: \"SM\"".into())),
            ]
        );
    }

    #[test]
    fn signal_reports_are_urcs_unless_they_answer_the_command() {
        let mut f = Framer::new();
        f.expect("AT+CMGD=1", false);
        assert_eq!(
            f.push(b"\r\n+CSQN: 20,0\r\n+CSQ: 21,99\r\n\r\nOK\r\n"),
            vec![
                Frame::Urc(Urc::Other("+CSQN: 20,0".into())),
                Frame::Urc(Urc::Other("+CSQ: 21,99".into())),
                Frame::Final(FinalResult::Ok)
            ]
        );
        f.expect("AT+CSQ", false);
        assert_eq!(
            f.push(b"\r\n+CSQ: 21,99\r\n\r\nOK\r\n"),
            vec![line("+CSQ: 21,99"), Frame::Final(FinalResult::Ok)]
        );
        f.expect("AT#CCID", false);
        assert_eq!(
            f.push(b"\r\n#CCID: 8949000000000000001\r\n\r\nOK\r\n"),
            vec![
                line("#CCID: 8949000000000000001"),
                Frame::Final(FinalResult::Ok)
            ]
        );
    }

    #[test]
    fn garbage_and_over_long_lines_are_skipped() {
        let mut f = Framer::new();
        let mut input = vec![0u8, 0xFF, b'\r', b'\n', 0x01, b'x', b'\r', b'\n'];
        input.extend(std::iter::repeat_n(b'A', MAX_LINE + 10));
        input.extend(b"\r\nOK\r\n");
        let frames = f.push(&input);
        assert_eq!(frames.len(), 3, "{frames:?}");
        assert!(matches!(frames[0], Frame::Garbage(_)));
        assert!(matches!(frames[1], Frame::Garbage(_)));
        assert_eq!(frames[2], Frame::Final(FinalResult::Ok));
    }

    #[test]
    fn corrupt_cmt_pdu_line_does_not_eat_the_next_result() {
        let mut f = Framer::new();
        let frames = f.push(b"+CMT: ,23\r\nOK\r\n");
        assert!(matches!(frames[0], Frame::Garbage(_)));
        assert_eq!(frames[1], Frame::Final(FinalResult::Ok));
    }

    #[test]
    fn verbose_errors_are_typed() {
        let mut f = Framer::new();
        f.expect("AT+CPIN=\"0000\"", false);
        match f.push(b"\r\n+CME ERROR: incorrect password\r\n").as_slice() {
            [Frame::Final(FinalResult::AtError(e))] => assert!(e.is_cme(16)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cmgl_and_cmgr_headers() {
        assert_eq!(first_number("+CMGL: 12,0,,23"), Some(12));
        assert_eq!(first_number("+CMGR: 1,,23"), Some(1));
        assert_eq!(first_number("+CMGR"), None);
    }
}
