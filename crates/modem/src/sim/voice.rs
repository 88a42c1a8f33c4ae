//! The simulator's calls and USSD: a call rings (`RING`, and `+CLIP` once `AT+CLIP=1` asked for
//! it) every few seconds until the caller gives up or the driver hangs up (`ATH`/`AT+CHUP`), and
//! `AT+CUSD=1,"<code>",15` is answered `OK` at once and, a moment later, by the network's
//! `+CUSD` from a configurable script: plain text as most modems print it, packed GSM 7-bit hex
//! as Huawei sticks do, UCS2 hex, a menu that keeps the session open, and a code the network
//! never answers.

use simrelay_pdu::text::gsm7_pack;

/// How the network's USSD text is printed in `+CUSD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UssdCoding {
    /// As it is, under dcs 15 (a modem in the `IRA`/`GSM` character set).
    Text,
    /// Hex of packed GSM 7-bit septets under dcs 15, as Huawei sticks print it.
    Packed,
    /// Hex of UTF-16BE under dcs 72 (UCS2), as for Cyrillic or Arabic replies.
    Ucs2,
}

/// One answer of the simulated network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UssdAnswer {
    /// `<m>`: 0 done, 1 the network waits for a choice (the session stays open), 2 ended by
    /// the network, 4 not supported.
    pub mode: u8,
    /// The text.
    pub text: String,
    /// How it is printed.
    pub coding: UssdCoding,
}

impl UssdAnswer {
    /// A final answer printed as plain text.
    pub fn text(text: &str) -> UssdAnswer {
        UssdAnswer {
            mode: 0,
            text: text.into(),
            coding: UssdCoding::Text,
        }
    }
}

/// What the simulated network answers to each code (or menu choice); a code not listed gets
/// `+CUSD: 4` (not supported), one listed with `None` never gets an answer.
pub fn default_ussd() -> Vec<(String, Option<UssdAnswer>)> {
    let balance = UssdAnswer::text("Your balance is 12.34 EUR, valid until 31.12.2026.");
    vec![
        ("*100#".into(), Some(balance.clone())),
        (
            "*101#".into(),
            Some(UssdAnswer {
                mode: 0,
                text: "Ваш баланс: 150,00 ₽".into(),
                coding: UssdCoding::Ucs2,
            }),
        ),
        (
            "*111#".into(),
            Some(UssdAnswer {
                mode: 1,
                text: "1. Balance\n2. Bundles\n0. Exit".into(),
                coding: UssdCoding::Packed,
            }),
        ),
        ("1".into(), Some(balance)),
        (
            "2".into(),
            Some(UssdAnswer {
                mode: 0,
                text: "No bundles active.".into(),
                coding: UssdCoding::Packed,
            }),
        ),
        (
            "0".into(),
            Some(UssdAnswer {
                mode: 2,
                text: String::new(),
                coding: UssdCoding::Text,
            }),
        ),
        ("*999#".into(), None),
    ]
}

/// The call ringing on the simulated SIM (shared with the [`super::Simulator`] handle).
#[derive(Debug, Default)]
pub(crate) struct CallState {
    /// The call ringing now: its number (the caller's, `None` withheld) and a serial number, so
    /// the ringing task of an old call stops.
    pub ringing: Option<(u64, Option<String>)>,
    /// Calls started so far (the next serial number).
    pub started: u64,
    /// `ATH`/`AT+CHUP` taken while a call rang.
    pub hangups: u32,
}

/// Per-modem settings and session of calls and USSD.
#[derive(Debug, Default)]
pub(crate) struct Voice {
    /// `AT+CLIP=1`: the caller's number after each `RING`.
    pub clip: bool,
    /// The network's answers.
    pub script: Vec<(String, Option<UssdAnswer>)>,
    /// A menu waits for a choice.
    pub session_open: bool,
    /// The `+CUSD` the network will print shortly (taken by the pty task, which delays it).
    pub reply: Option<Vec<u8>>,
}

impl Voice {
    /// What the modem prints for one ring of `number` (`None`: withheld).
    pub fn ring(&self, number: Option<&str>) -> Vec<u8> {
        let mut out = b"\r\nRING\r\n".to_vec();
        if self.clip {
            let clip = match number {
                Some(n) => {
                    let kind = if n.starts_with('+') { 145 } else { 129 };
                    format!("\r\n+CLIP: \"{n}\",{kind},\"\",0,\"\",0\r\n")
                }
                None => "\r\n+CLIP: \"\",128,\"\",0,\"\",1\r\n".into(),
            };
            out.extend(clip.bytes());
        }
        out
    }

    /// `AT+CUSD=<n>[,"<code>"[,<dcs>]]` (the argument as typed): true if it is accepted (`OK`).
    pub fn request(&mut self, arg: &str) -> bool {
        let mut fields = arg.splitn(2, ',');
        let n = fields.next().unwrap_or("").trim();
        if n == "2" {
            // Cancel the session.
            self.session_open = false;
            return true;
        }
        if n != "1" && n != "0" {
            return false;
        }
        let Some(code) = fields
            .next()
            .and_then(|rest| rest.trim().strip_prefix('"'))
            .and_then(|rest| rest.split_once('"'))
            .map(|(code, _)| code.to_string())
        else {
            // `AT+CUSD=1`: result codes on, nothing sent.
            return true;
        };
        let answer = self
            .script
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, answer)| answer.clone());
        self.reply = match answer {
            None => Some(b"\r\n+CUSD: 4\r\n".to_vec()),
            Some(None) => None,
            Some(Some(answer)) => {
                self.session_open = answer.mode == 1;
                Some(cusd(&answer))
            }
        };
        true
    }
}

fn cusd(answer: &UssdAnswer) -> Vec<u8> {
    if answer.text.is_empty() {
        return format!("\r\n+CUSD: {}\r\n", answer.mode).into_bytes();
    }
    let (body, dcs) = match answer.coding {
        UssdCoding::Text => (answer.text.clone(), 15),
        UssdCoding::Packed => match gsm7_pack(&answer.text) {
            Some(packed) => (hex::encode_upper(packed), 15),
            None => (answer.text.clone(), 15),
        },
        UssdCoding::Ucs2 => (
            answer
                .text
                .encode_utf16()
                .map(|u| format!("{u:04X}"))
                .collect(),
            72,
        ),
    };
    format!("\r\n+CUSD: {},\"{body}\",{dcs}\r\n", answer.mode).into_bytes()
}
