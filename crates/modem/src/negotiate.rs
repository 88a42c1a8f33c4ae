//! Choosing settings from what a modem says it supports (`AT+CNMI=?`, `AT+CPMS=?`, its family).
//!
//! Modems differ: some refuse `AT+CNMI=2,1,0,2,0` because they cannot store status reports, some
//! have no `SM` storage for SMS, each family reports the signal its own way. Asking first and
//! falling back in a fixed order gives every modem the best setting it supports instead of
//! failing the start-up on the first refusal.

use crate::config::Family;

/// How new messages reach the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// Printed with the PDU (`+CMT`, `AT+CNMI` `<mt>`=2) and acknowledged with `AT+CNMA` after the
    /// commit (phase 2+, `AT+CSMS=1`): no read round trip, nothing stored, and the network
    /// delivers again whatever is not acknowledged.
    Direct,
    /// Stored and announced (`+CMTI`, `<mt>`=1), read with `AT+CMGR`, deleted after the commit.
    Stored,
}

/// `AT+CNMI` settings for [`Route::Direct`], in order of preference: route new messages
/// (`<mt>`=2) with status reports stored (`ds=2`), delivered directly (`ds=1`, acknowledged like
/// messages), or not reported; mode 1 last (it drops codes while a command runs, which in phase
/// 2+ makes the network deliver again later).
pub(crate) const DIRECT_PREFERENCE: &[[u8; 5]] = &[
    [2, 2, 0, 2, 0],
    [2, 2, 0, 1, 0],
    [2, 2, 0, 0, 0],
    [1, 2, 0, 0, 0],
];

/// `AT+CNMI` settings for [`Route::Stored`], in order of preference: store and indicate new
/// messages (`2,1`), with status reports stored (`ds=2`), delivered directly (`ds=1`), or not
/// reported (`ds=0`); then the same with mode 1 for modems that lack mode 2.
pub(crate) const STORED_PREFERENCE: &[[u8; 5]] = &[
    [2, 1, 0, 2, 0],
    [2, 1, 0, 1, 0],
    [2, 1, 0, 0, 0],
    [1, 1, 0, 0, 0],
];

/// The command that makes a family report its signal unsolicited, when it changes; `None`: use
/// the TS 27.007 indicators (`AT+CIND=?`, then `AT+CMER=3,0,0,1` for `+CIEV`).
///
/// - SIMCom 2G (*SIM800 Series AT Command Manual* V1.09, `AT+EXUNSOL`): `"SQ"` reports
///   `+CSQN: <rssi>,<ber>` "when <rssi>,<ber> values change".
/// - SIMCom LTE (*SIM7500_SIM7600 Series AT Command Manual*, `AT+AUTOCSQ`): `<auto>`=1 with
///   `<mode>`=1 reports `+CSQ: <rssi>,<ber>` only after the values changed (`<mode>`=0 would
///   report every five seconds).
/// - Quectel (*EC25&EC21 AT Commands Manual*, `AT+QINDCFG`): `"csq"` reports
///   `+QIND: "csq",<rssi>,<ber>` on change; `0` keeps the setting out of the NVRAM.
/// - Huawei prints `^RSSI:<rssi>` on change unless `AT^CURC=0`, which the driver sends to
///   silence the rest of its status chatter, so it goes the TS 27.007 way.
pub(crate) fn signal_report_command(family: Family) -> Option<&'static str> {
    match family {
        Family::Simcom2g => Some("AT+EXUNSOL=\"SQ\",1"),
        Family::SimcomLte => Some("AT+AUTOCSQ=1,1"),
        Family::Quectel => Some("AT+QINDCFG=\"csq\",1,0"),
        Family::Huawei | Family::Telit | Family::Other => None,
    }
}

/// Storages for received messages, in order of preference: the modem's own memory (`ME`, or
/// `MT`, its memory and the SIM's together), usually far larger than a SIM's 20–50 slots, so a
/// burst fills it later; then the SIM, which every modem has. What is on the SIM is listed too
/// (`driver/storage.rs`).
const STORAGE_PREFERENCE: &[&str] = &["ME", "MT", "SM"];

/// Parses the parenthesised groups of a test answer: `(0-2),(0,1),("SM","ME")` → one list of
/// items per group, ranges expanded (`0-2` → `0`,`1`,`2`), quotes removed.
pub(crate) fn parse_groups(answer: &str) -> Vec<Vec<String>> {
    let mut groups = Vec::new();
    let mut rest = answer;
    while let Some(open) = rest.find('(') {
        let Some(close) = rest[open..].find(')') else {
            break;
        };
        let inner = &rest[open + 1..open + close];
        let mut items = Vec::new();
        for item in inner.split(',') {
            let item = item.trim().trim_matches('"');
            match item.split_once('-') {
                Some((a, b)) => match (a.trim().parse::<u16>(), b.trim().parse::<u16>()) {
                    // A sane bound: CNMI values are single digits.
                    (Ok(a), Ok(b)) if b >= a && b - a < 64 => {
                        items.extend((a..=b).map(|n| n.to_string()))
                    }
                    _ => items.push(item.to_string()),
                },
                None if !item.is_empty() => items.push(item.to_string()),
                None => {}
            }
        }
        groups.push(items);
        rest = &rest[open + close + 1..];
    }
    groups
}

/// The `AT+CNMI` settings to try for `route`, best first: those the `AT+CNMI=?` answer allows,
/// or all of them when there is no usable answer (the modem's replies then decide).
pub(crate) fn cnmi_candidates(test_lines: &[String], route: Route) -> Vec<[u8; 5]> {
    let preference = match route {
        Route::Direct => DIRECT_PREFERENCE,
        Route::Stored => STORED_PREFERENCE,
    };
    let Some(answer) = test_lines.iter().find_map(|l| l.strip_prefix("+CNMI:")) else {
        return preference.to_vec();
    };
    let groups = parse_groups(answer);
    if groups.len() < 2 {
        return preference.to_vec();
    }
    preference
        .iter()
        .filter(|candidate| {
            candidate
                .iter()
                .enumerate()
                .all(|(i, value)| match groups.get(i) {
                    Some(allowed) => allowed.iter().any(|a| *a == value.to_string()),
                    // A group the modem did not list can only be left at 0.
                    None => *value == 0,
                })
        })
        .copied()
        .collect()
}

/// The `AT+CNMI` command for a setting.
pub(crate) fn cnmi_command(setting: &[u8; 5]) -> String {
    let [mode, mt, bm, ds, bfr] = setting;
    format!("AT+CNMI={mode},{mt},{bm},{ds},{bfr}")
}

/// The message storage to use for reading, deleting and receiving, from the `AT+CPMS=?` answer:
/// the first preferred storage that the modem offers for both reading (`mem1`) and receiving
/// (`mem3`), so `+CMTI` slots are the slots `AT+CMGR` reads. `SM` when the answer is unusable.
pub(crate) fn choose_storage(test_lines: &[String]) -> &'static str {
    let Some(answer) = test_lines.iter().find_map(|l| l.strip_prefix("+CPMS:")) else {
        return "SM";
    };
    let groups = parse_groups(answer);
    let read = groups.first();
    let receive = groups.get(2).or(read);
    STORAGE_PREFERENCE
        .iter()
        .find(|mem| {
            let offered = |g: Option<&Vec<String>>| g.is_some_and(|g| g.iter().any(|m| m == *mem));
            offered(read) && offered(receive)
        })
        .copied()
        .unwrap_or("SM")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        vec![s.to_string()]
    }

    #[test]
    fn groups_with_ranges_lists_and_quotes() {
        assert_eq!(
            parse_groups(r#"(0-2),(0,1),("SM","ME")"#),
            vec![vec!["0", "1", "2"], vec!["0", "1"], vec!["SM", "ME"]]
        );
        assert!(parse_groups("garbage").is_empty());
        // A silly range does not explode.
        assert_eq!(parse_groups("(0-65535)"), vec![vec!["0-65535"]]);
    }

    #[test]
    fn cnmi_prefers_stored_status_reports_when_allowed() {
        let sim800 = lines("+CNMI: (0-3),(0-3),(0-3),(0-2),(0,1)");
        assert_eq!(cnmi_candidates(&sim800, Route::Stored)[0], [2, 1, 0, 2, 0]);
        assert_eq!(cnmi_candidates(&sim800, Route::Direct)[0], [2, 2, 0, 2, 0]);
    }

    #[test]
    fn cnmi_falls_back_when_ds_is_limited() {
        let no_ds2 = lines("+CNMI: (0-2),(0-3),(0,2),(0,1),(0,1)");
        assert_eq!(
            cnmi_candidates(&no_ds2, Route::Stored),
            vec![[2, 1, 0, 1, 0], [2, 1, 0, 0, 0], [1, 1, 0, 0, 0]]
        );
        assert_eq!(
            cnmi_candidates(&no_ds2, Route::Direct),
            vec![[2, 2, 0, 1, 0], [2, 2, 0, 0, 0], [1, 2, 0, 0, 0]]
        );
        let only_ds0 = lines("+CNMI: (1,2),(0,1,2,3),(0,2),(0),(0,1)");
        assert_eq!(
            cnmi_candidates(&only_ds0, Route::Stored)[0],
            [2, 1, 0, 0, 0]
        );
        let mode1_only = lines("+CNMI: (0,1),(0-3),(0,2),(0,1),(0,1)");
        assert_eq!(
            cnmi_candidates(&mode1_only, Route::Stored),
            vec![[1, 1, 0, 0, 0]]
        );
        // Only three groups listed: the missing ones must stay 0.
        let short = lines("+CNMI: (0-2),(0-3),(0,2)");
        assert_eq!(cnmi_candidates(&short, Route::Stored)[0], [2, 1, 0, 0, 0]);
    }

    #[test]
    fn cnmi_without_answer_tries_everything() {
        assert_eq!(
            cnmi_candidates(&[], Route::Stored),
            STORED_PREFERENCE.to_vec()
        );
        assert_eq!(
            cnmi_candidates(&[], Route::Direct),
            DIRECT_PREFERENCE.to_vec()
        );
        assert_eq!(cnmi_command(&[2, 1, 0, 2, 0]), "AT+CNMI=2,1,0,2,0");
    }

    #[test]
    fn storage_choice() {
        assert_eq!(
            choose_storage(&lines(r#"+CPMS: ("SM","ME"),("SM","ME"),("SM","ME")"#)),
            "ME"
        );
        assert_eq!(
            choose_storage(&lines(r#"+CPMS: ("SM"),("SM"),("SM")"#)),
            "SM"
        );
        // The modem's memory only for reading: new messages must go where they are read.
        assert_eq!(
            choose_storage(&lines(r#"+CPMS: ("SM","ME"),("SM","ME"),("SM")"#)),
            "SM"
        );
        // Quectel-like: receiving into SM not offered.
        assert_eq!(
            choose_storage(&lines(
                r#"+CPMS: ("ME","MT","SM","SR"),("ME","MT","SM"),("ME","MT")"#
            )),
            "ME"
        );
        assert_eq!(
            choose_storage(&lines(r#"+CPMS: ("MT"),("MT"),("MT")"#)),
            "MT"
        );
        assert_eq!(choose_storage(&[]), "SM");
    }
}
