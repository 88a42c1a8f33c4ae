//! Typed `+CME ERROR` (3GPP TS 27.007 §9.2) and `+CMS ERROR` (TS 27.005 §3.2.5) results.
//!
//! Modems report these numerically (`AT+CMEE=1`) or as text (`AT+CMEE=2`), and vendors disagree on
//! the exact wording, so both forms are resolved to the standard code where the text is known. The
//! driver decides what to do from the code (321 on a listed slot means "already gone", SIM PIN errors
//! must never be retried), so the code is what matters; the text is kept for the user.

use std::fmt;
use std::io;

/// `+CME ERROR` codes (mobile equipment errors) the driver treats specially.
pub mod cme {
    /// Operation not allowed.
    pub const OPERATION_NOT_ALLOWED: u16 = 3;
    /// Operation not supported.
    pub const OPERATION_NOT_SUPPORTED: u16 = 4;
    /// SIM not inserted.
    pub const SIM_NOT_INSERTED: u16 = 10;
    /// SIM PIN required.
    pub const SIM_PIN_REQUIRED: u16 = 11;
    /// SIM PUK required: the SIM is locked after wrong PINs.
    pub const SIM_PUK_REQUIRED: u16 = 12;
    /// SIM busy (still initialising).
    pub const SIM_BUSY: u16 = 14;
    /// Incorrect password (wrong PIN).
    pub const INCORRECT_PASSWORD: u16 = 16;
}

/// `+CMS ERROR` codes (message service errors) the driver treats specially.
pub mod cms {
    /// Operation not allowed (SIM800L answers this until `SMS Ready`).
    pub const OPERATION_NOT_ALLOWED: u16 = 302;
    /// SIM not inserted.
    pub const SIM_NOT_INSERTED: u16 = 310;
    /// SIM PIN required.
    pub const SIM_PIN_REQUIRED: u16 = 311;
    /// SIM busy (still initialising).
    pub const SIM_BUSY: u16 = 314;
    /// SIM PUK required.
    pub const SIM_PUK_REQUIRED: u16 = 316;
    /// Invalid memory index: the slot is empty (already read and deleted).
    pub const INVALID_MEMORY_INDEX: u16 = 321;
    /// Memory full: the SIM cannot take more messages until some are deleted.
    pub const MEMORY_FULL: u16 = 322;
    /// No `+CNMA` acknowledgement expected: the modem gave up waiting for it (and, per TS 27.005,
    /// switched routing to the computer off).
    pub const NO_CNMA_EXPECTED: u16 = 340;
    /// Unknown error.
    pub const UNKNOWN: u16 = 500;
}

const CME_TEXTS: &[(u16, &str)] = &[
    (0, "phone failure"),
    (1, "no connection to phone"),
    (3, "operation not allowed"),
    (4, "operation not supported"),
    (10, "SIM not inserted"),
    (11, "SIM PIN required"),
    (12, "SIM PUK required"),
    (13, "SIM failure"),
    (14, "SIM busy"),
    (15, "SIM wrong"),
    (16, "incorrect password"),
    (17, "SIM PIN2 required"),
    (18, "SIM PUK2 required"),
    (20, "memory full"),
    (21, "invalid index"),
    (22, "not found"),
    (23, "memory failure"),
    (30, "no network service"),
    (31, "network timeout"),
    (32, "network not allowed - emergency calls only"),
    (100, "unknown"),
];

const CMS_TEXTS: &[(u16, &str)] = &[
    (300, "ME failure"),
    (301, "SMS service of ME reserved"),
    (302, "operation not allowed"),
    (303, "operation not supported"),
    (304, "invalid PDU mode parameter"),
    (305, "invalid text mode parameter"),
    (310, "SIM not inserted"),
    (311, "SIM PIN required"),
    (312, "PH-SIM PIN required"),
    (313, "SIM failure"),
    (314, "SIM busy"),
    (315, "SIM wrong"),
    (316, "SIM PUK required"),
    (317, "SIM PIN2 required"),
    (318, "SIM PUK2 required"),
    (320, "memory failure"),
    (321, "invalid memory index"),
    (322, "memory full"),
    (330, "SMSC address unknown"),
    (331, "no network service"),
    (332, "network timeout"),
    (340, "no +CNMA acknowledgement expected"),
    (500, "unknown error"),
];

/// Which family an [`AtError`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorFamily {
    /// `+CME ERROR`: equipment (SIM, PIN, general) errors.
    Cme,
    /// `+CMS ERROR`: message service errors.
    Cms,
}

/// A `+CME ERROR` or `+CMS ERROR` result, with the standard code when it could be determined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtError {
    /// CME or CMS.
    pub family: ErrorFamily,
    /// The numeric code: as sent, or looked up from the verbose text. `None` for vendor texts.
    pub code: Option<u16>,
    /// Human-readable text: as sent in verbose mode, or the standard text for a numeric code.
    pub text: String,
}

impl AtError {
    /// Parses the argument of `+CME ERROR: <arg>` or `+CMS ERROR: <arg>`, numeric or verbose.
    pub fn parse(family: ErrorFamily, arg: &str) -> AtError {
        let arg = arg.trim().trim_matches('"').trim();
        let table = match family {
            ErrorFamily::Cme => CME_TEXTS,
            ErrorFamily::Cms => CMS_TEXTS,
        };
        if let Ok(code) = arg.parse::<u16>() {
            let text = table
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, t)| (*t).to_string())
                .or_else(|| network_cause(family, code).map(str::to_string))
                .unwrap_or_else(|| format!("error {code}"));
            return AtError {
                family,
                code: Some(code),
                text,
            };
        }
        let code = table
            .iter()
            .find(|(_, t)| normalise(t) == normalise(arg))
            .map(|(c, _)| *c);
        AtError {
            family,
            code,
            text: arg.to_string(),
        }
    }

    /// True if this is the given CMS code.
    pub fn is_cms(&self, code: u16) -> bool {
        self.family == ErrorFamily::Cms && self.code == Some(code)
    }

    /// True if this is the given CME code.
    pub fn is_cme(&self, code: u16) -> bool {
        self.family == ErrorFamily::Cme && self.code == Some(code)
    }

    /// True for errors a modem gives while it is still starting (SIM busy, SMS not ready yet):
    /// retrying after a pause is the right reaction.
    pub fn is_not_ready(&self) -> bool {
        match self.family {
            ErrorFamily::Cms => matches!(
                self.code,
                Some(cms::OPERATION_NOT_ALLOWED) | Some(cms::SIM_BUSY) | Some(cms::UNKNOWN)
            ),
            ErrorFamily::Cme => matches!(
                self.code,
                Some(cme::SIM_BUSY) | Some(cme::OPERATION_NOT_ALLOWED)
            ),
        }
    }

    /// True for errors that a retry of a send may cure (network congestion, timeouts, busy SIM).
    pub fn is_transient(&self) -> bool {
        match (self.family, self.code) {
            // TS 24.011 network causes that mean "try again later".
            (ErrorFamily::Cms, Some(38 | 41 | 42 | 47)) => true,
            (ErrorFamily::Cms, Some(314 | 331 | 332 | 500)) => true,
            (ErrorFamily::Cme, Some(14 | 30 | 31 | 100)) => true,
            _ => false,
        }
    }

    /// True for errors that need the user (PIN, PUK, no SIM): the driver must not retry on its own.
    pub fn needs_user(&self) -> bool {
        matches!(
            (self.family, self.code),
            (ErrorFamily::Cme, Some(10 | 11 | 12 | 15 | 16 | 17 | 18))
                | (
                    ErrorFamily::Cms,
                    Some(310 | 311 | 312 | 315 | 316 | 317 | 318)
                )
        )
    }
}

impl fmt::Display for AtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let family = match self.family {
            ErrorFamily::Cme => "CME",
            ErrorFamily::Cms => "CMS",
        };
        match self.code {
            Some(code) => write!(f, "+{family} ERROR {code} ({})", self.text),
            None => write!(f, "+{family} ERROR ({})", self.text),
        }
    }
}

/// The standard text of a code, as a modem prints it with `AT+CMEE=2` (used by the simulator).
pub fn standard_text(family: ErrorFamily, code: u16) -> Option<&'static str> {
    let table = match family {
        ErrorFamily::Cme => CME_TEXTS,
        ErrorFamily::Cms => CMS_TEXTS,
    };
    table.iter().find(|(c, _)| *c == code).map(|(_, t)| *t)
}

fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The few TS 24.011 RP causes (CMS codes 1..=127) worth naming in a status line.
fn network_cause(family: ErrorFamily, code: u16) -> Option<&'static str> {
    if family != ErrorFamily::Cms {
        return None;
    }
    Some(match code {
        1 => "unassigned (unallocated) number",
        8 => "operator determined barring",
        21 => "short message transfer rejected",
        38 => "network out of order",
        41 => "temporary failure",
        42 => "congestion",
        47 => "resources unavailable",
        _ => return None,
    })
}

/// Why a modem operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ModemError {
    /// Reading or writing the port failed (unplugged, permission, ...).
    #[error("serial port error: {0}")]
    Io(#[from] io::Error),
    /// The modem did not finish a command in time.
    #[error("the modem did not answer {command} within {seconds:.1} s")]
    Timeout {
        /// The command.
        command: String,
        /// The timeout that expired.
        seconds: f64,
    },
    /// The modem answered with `+CME ERROR` or `+CMS ERROR`.
    #[error("the modem rejected {command}: {error}")]
    Rejected {
        /// The command.
        command: String,
        /// The typed error.
        error: AtError,
    },
    /// The modem answered with plain `ERROR` (or another failure word).
    #[error("the modem answered {command} with {result}")]
    Failed {
        /// The command.
        command: String,
        /// The final result text (`ERROR`, `COMMAND NOT SUPPORT`, ...).
        result: String,
    },
    /// The SIM needs a PIN that was not configured, or the configured PIN was wrong.
    #[error("{0}")]
    Pin(String),
    /// The SIM rejected the PIN given to [`crate::ModemHandle::enter_pin`]; it is not retried.
    #[error("the SIM rejected the PIN{}", attempts_text(*.attempts_left))]
    PinRejected {
        /// Wrong PINs the SIM still takes before it wants its PUK, where the modem tells.
        attempts_left: Option<u8>,
    },
    /// The answer did not have the expected shape.
    #[error("unexpected answer to {command}: {detail}")]
    Protocol {
        /// The command.
        command: String,
        /// What was wrong.
        detail: String,
    },
    /// The modem is not connected right now (unplugged or reconnecting); try again later.
    #[error("the modem is not connected")]
    Disconnected,
    /// The driver was shut down.
    #[error("the modem driver has stopped")]
    Stopped,
    /// The modem is busy with a request that takes one at a time (a USSD session).
    #[error("{0}")]
    Busy(String),
    /// The network refused a USSD request (a code it does not support, a session it ended).
    #[error("{0}")]
    Ussd(String),
}

/// `; 2 attempts left` for [`ModemError::PinRejected`].
fn attempts_text(left: Option<u8>) -> String {
    match left {
        Some(0) => "; the SIM now needs its PUK".into(),
        Some(1) => "; 1 attempt left before the SIM needs its PUK".into(),
        Some(n) => format!("; {n} attempts left before the SIM needs its PUK"),
        None => String::new(),
    }
}

impl ModemError {
    /// The typed AT error, if the modem answered with one.
    pub fn at_error(&self) -> Option<&AtError> {
        match self {
            ModemError::Rejected { error, .. } => Some(error),
            _ => None,
        }
    }

    /// True if the connection itself is gone (the port must be reopened).
    pub fn is_link_lost(&self) -> bool {
        matches!(self, ModemError::Io(_) | ModemError::Disconnected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_codes_get_standard_text() {
        let e = AtError::parse(ErrorFamily::Cms, " 321");
        assert!(e.is_cms(cms::INVALID_MEMORY_INDEX));
        assert_eq!(e.text, "invalid memory index");
        assert_eq!(e.to_string(), "+CMS ERROR 321 (invalid memory index)");
    }

    #[test]
    fn verbose_texts_resolve_to_codes_whatever_the_case() {
        let e = AtError::parse(ErrorFamily::Cms, "Invalid memory index");
        assert_eq!(e.code, Some(321));
        let e = AtError::parse(ErrorFamily::Cme, "SIM PIN required");
        assert!(e.is_cme(cme::SIM_PIN_REQUIRED));
        assert!(e.needs_user());
        let e = AtError::parse(ErrorFamily::Cme, "\"incorrect password\"");
        assert!(e.is_cme(cme::INCORRECT_PASSWORD));
    }

    #[test]
    fn unknown_vendor_text_keeps_text_without_code() {
        let e = AtError::parse(ErrorFamily::Cme, "frobnicator jammed");
        assert_eq!(e.code, None);
        assert_eq!(e.text, "frobnicator jammed");
        assert!(!e.is_transient());
    }

    #[test]
    fn classification() {
        assert!(AtError::parse(ErrorFamily::Cms, "302").is_not_ready());
        assert!(AtError::parse(ErrorFamily::Cms, "42").is_transient());
        assert!(!AtError::parse(ErrorFamily::Cms, "321").is_transient());
        assert!(AtError::parse(ErrorFamily::Cms, "316").needs_user());
    }
}
