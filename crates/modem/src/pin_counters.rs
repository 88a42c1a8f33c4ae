//! How many wrong PINs (or PUKs) a locked SIM still takes, from whichever command the modem
//! answers: the standard `AT+CPINR` (TS 27.007 §8.65) or its family's own, since many modems
//! (SIM800, Huawei sticks, older Quectel firmware) know only theirs.
//!
//! The formats, as the vendors' manuals give them and as two long-lived open-source modem stacks
//! parse them (oFono `drivers/atmodem/sim.c`: `simcom_spic_cb`, `huawei_cpin_cb`, `at_qpinc_cb`;
//! ModemManager `src/plugins/huawei/mm-broadband-modem-huawei.c`: `load_unlock_retries_finish`):
//! - `AT+CPINR`: `+CPINR: <code>,<retries>,<default retries>`, one line per code;
//! - SIMCom `AT+SPIC` ("Times remain to input SIM PIN/PUK", SIM800/SIM900/SIM7x00 manuals):
//!   `+SPIC: <pin1>,<puk1>,<pin2>,<puk2>`;
//! - Huawei `AT^CPIN?`: `^CPIN: <code>,[<times>],<puk_times>,<pin_times>,<puk2_times>,<pin2_times>`
//!   (`<times>` is the count for the code asked now, empty when none is);
//! - Quectel `AT+QPINC="SC"` (or `AT+QPINC?` for every facility):
//!   `+QPINC: "SC",<pin_counter>,<puk_counter>`.
//!
//! Parsing is lenient: a line that does not fit gives no count rather than an error, and a count
//! above 10 (no SIM allows more; ModemManager rejects the same) is taken as garbage. A counter
//! command is a nicety: it never fails the modem.

use crate::config::Family;

/// Which secret the count is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    /// SIM PIN (PIN1).
    Pin,
    /// SIM PUK (PUK1).
    Puk,
}

/// A command that tells the attempts left, and how to read its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counter {
    /// `AT+CPINR` (TS 27.007 §8.65).
    Cpinr,
    /// SIMCom `AT+SPIC`.
    Spic,
    /// Huawei `AT^CPIN?`.
    HuaweiCpin,
    /// Quectel `AT+QPINC="SC"`.
    Qpinc,
}

/// The most attempts any SIM code allows (a PUK's ten).
const MAX_ATTEMPTS: u8 = 10;

impl Counter {
    /// The command line to send.
    pub(crate) fn command(self) -> &'static str {
        match self {
            Counter::Cpinr => "AT+CPINR",
            Counter::Spic => "AT+SPIC",
            Counter::HuaweiCpin => "AT^CPIN?",
            Counter::Qpinc => "AT+QPINC=\"SC\"",
        }
    }

    /// The attempts left for `code` in the answer's lines, if it tells.
    pub(crate) fn parse(self, lines: &[String], code: Code) -> Option<u8> {
        let count = match self {
            Counter::Cpinr => parse_cpinr(lines, code),
            Counter::Spic => parse_spic(lines, code),
            Counter::HuaweiCpin => parse_huawei_cpin(lines, code),
            Counter::Qpinc => parse_qpinc(lines, code),
        };
        count.filter(|n| *n <= MAX_ATTEMPTS)
    }
}

/// The commands to try, in order: the family's own first (where `AT+CPINR` is usually missing),
/// then the standard one. A modem of no known family gets the standard one only: a vendor
/// command is not sent to a modem that never documented it.
pub(crate) fn counters_for(family: Option<Family>) -> &'static [Counter] {
    match family {
        Some(Family::Simcom2g | Family::SimcomLte) => &[Counter::Spic, Counter::Cpinr],
        Some(Family::Huawei) => &[Counter::HuaweiCpin, Counter::Cpinr],
        Some(Family::Quectel) => &[Counter::Qpinc, Counter::Cpinr],
        Some(Family::Telit | Family::Other) | None => &[Counter::Cpinr],
    }
}

/// The fields after `prefix` on the first line that has it, trimmed and unquoted.
fn fields<'a>(lines: &'a [String], prefix: &str) -> Option<Vec<&'a str>> {
    lines.iter().find_map(|line| {
        let rest = strip_prefix_ignore_case(line.trim(), prefix)?;
        Some(
            rest.split(',')
                .map(|f| f.trim().trim_matches('"'))
                .collect(),
        )
    })
}

fn strip_prefix_ignore_case<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    let head = line.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &line[prefix.len()..])
}

fn number(field: Option<&&str>) -> Option<u8> {
    field?.parse().ok()
}

/// `+CPINR: SIM PIN,<retries>,<default retries>` (the code may be quoted).
fn parse_cpinr(lines: &[String], code: Code) -> Option<u8> {
    let name = match code {
        Code::Pin => "SIM PIN",
        Code::Puk => "SIM PUK",
    };
    lines.iter().find_map(|line| {
        let rest = strip_prefix_ignore_case(line.trim(), "+CPINR:")?;
        let mut fields = rest.split(',').map(|f| f.trim().trim_matches('"'));
        if !fields.next()?.eq_ignore_ascii_case(name) {
            return None;
        }
        fields.next()?.parse().ok()
    })
}

/// `+SPIC: <pin1>,<puk1>,<pin2>,<puk2>`.
fn parse_spic(lines: &[String], code: Code) -> Option<u8> {
    let fields = fields(lines, "+SPIC:")?;
    number(fields.get(match code {
        Code::Pin => 0,
        Code::Puk => 1,
    }))
}

/// `^CPIN: <code>,[<times>],<puk_times>,<pin_times>,<puk2_times>,<pin2_times>`.
fn parse_huawei_cpin(lines: &[String], code: Code) -> Option<u8> {
    let fields = fields(lines, "^CPIN:")?;
    number(fields.get(match code {
        Code::Puk => 2,
        Code::Pin => 3,
    }))
}

/// `+QPINC: "SC",<pin_counter>,<puk_counter>` (the `"P2"` line of `AT+QPINC?` is PIN2's).
fn parse_qpinc(lines: &[String], code: Code) -> Option<u8> {
    lines.iter().find_map(|line| {
        let rest = strip_prefix_ignore_case(line.trim(), "+QPINC:")?;
        let fields: Vec<&str> = rest
            .split(',')
            .map(|f| f.trim().trim_matches('"'))
            .collect();
        if !fields.first()?.eq_ignore_ascii_case("SC") {
            return None;
        }
        number(fields.get(match code {
            Code::Pin => 1,
            Code::Puk => 2,
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[&str]) -> Vec<String> {
        text.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cpinr_lines_per_code_quoted_or_not() {
        let answer = lines(&["+CPINR: SIM PIN,2,3", "+CPINR: \"SIM PUK\",10,10"]);
        assert_eq!(Counter::Cpinr.parse(&answer, Code::Pin), Some(2));
        assert_eq!(Counter::Cpinr.parse(&answer, Code::Puk), Some(10));
        assert_eq!(
            Counter::Cpinr.parse(&lines(&["+CPINR: SIM PIN2,3,3"]), Code::Pin),
            None
        );
    }

    #[test]
    fn simcom_spic_is_pin_puk_pin2_puk2() {
        let answer = lines(&["+SPIC: 2,10,3,10"]);
        assert_eq!(Counter::Spic.parse(&answer, Code::Pin), Some(2));
        assert_eq!(Counter::Spic.parse(&answer, Code::Puk), Some(10));
        // Without the space some firmware leaves out, and with only PIN1 (as older SIM900s).
        assert_eq!(
            Counter::Spic.parse(&lines(&["+SPIC:1,9,3,10"]), Code::Puk),
            Some(9)
        );
        assert_eq!(
            Counter::Spic.parse(&lines(&["+SPIC: 3"]), Code::Pin),
            Some(3)
        );
        assert_eq!(Counter::Spic.parse(&lines(&["+SPIC: 3"]), Code::Puk), None);
    }

    #[test]
    fn huawei_cpin_puts_the_puk_before_the_pin() {
        let answer = lines(&["^CPIN: SIM PIN,2,10,2,10,3"]);
        assert_eq!(Counter::HuaweiCpin.parse(&answer, Code::Pin), Some(2));
        assert_eq!(Counter::HuaweiCpin.parse(&answer, Code::Puk), Some(10));
        // Nothing asked: the <times> field is empty.
        let ready = lines(&["^CPIN: READY,,10,3,10,3"]);
        assert_eq!(Counter::HuaweiCpin.parse(&ready, Code::Pin), Some(3));
        let puk = lines(&["^CPIN: SIM PUK,9,9,0,10,3"]);
        assert_eq!(Counter::HuaweiCpin.parse(&puk, Code::Puk), Some(9));
        assert_eq!(Counter::HuaweiCpin.parse(&puk, Code::Pin), Some(0));
    }

    #[test]
    fn quectel_qpinc_reads_the_sc_line() {
        let all = lines(&["+QPINC: \"P2\",3,10", "+QPINC: \"SC\",1,10"]);
        assert_eq!(Counter::Qpinc.parse(&all, Code::Pin), Some(1));
        assert_eq!(Counter::Qpinc.parse(&all, Code::Puk), Some(10));
        assert_eq!(
            Counter::Qpinc.parse(&lines(&["+QPINC: \"P2\",3,10"]), Code::Pin),
            None
        );
    }

    #[test]
    fn garbage_gives_no_count_never_a_panic() {
        for counter in [
            Counter::Cpinr,
            Counter::Spic,
            Counter::HuaweiCpin,
            Counter::Qpinc,
        ] {
            for answer in [
                &[][..],
                &["OK"][..],
                &["+SPIC: x,y"][..],
                &["^CPIN: SIM PIN"][..],
                &["+QPINC: \"SC\""][..],
                &["+CPINR: SIM PIN,-1,3"][..],
                &["+SPIC: 99,99,99,99"][..],
                &["+QPINC: \"SC\",255,255"][..],
                &["^CPIN: SIM PIN,,200,200,10,3"][..],
                &["\u{fffd}\u{fffd}"][..],
            ] {
                for code in [Code::Pin, Code::Puk] {
                    assert_eq!(
                        counter.parse(&lines(answer), code),
                        None,
                        "{counter:?} {answer:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn each_family_tries_its_own_command_first_then_the_standard() {
        assert_eq!(
            counters_for(Some(Family::Simcom2g)),
            &[Counter::Spic, Counter::Cpinr]
        );
        assert_eq!(counters_for(Some(Family::SimcomLte))[0], Counter::Spic);
        assert_eq!(counters_for(Some(Family::Huawei))[0], Counter::HuaweiCpin);
        assert_eq!(counters_for(Some(Family::Quectel))[0], Counter::Qpinc);
        assert_eq!(counters_for(Some(Family::Telit)), &[Counter::Cpinr]);
        assert_eq!(counters_for(None), &[Counter::Cpinr]);
    }
}
