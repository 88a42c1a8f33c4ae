//! Parsers for the answers of AT commands: the information lines the channel collected before
//! `OK` (message listings and reads in PDU mode, signal, operator, registration, storage use,
//! identity, the SMS service phase).
//!
//! Pure functions, so the driver's decisions rest on tested parsing. Unsolicited status codes have
//! their own module (`status_urc`). The driver does not decode PDUs: it hands the raw bytes on.

use crate::events::Registration;

/// One message from an `AT+CMGL` or `AT+CMGR` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listed {
    /// The slot (from `+CMGL: <index>,...`; `None` for `+CMGR`, whose slot the caller knows).
    pub index: Option<u32>,
    /// The raw PDU, with its SMSC field.
    pub pdu: Vec<u8>,
}

/// Pairs each `+CMGL:`/`+CMGR:` header with the PDU line after it. Entries whose PDU line is
/// missing or not hex are skipped with a warning (the next sweep reads them again).
pub(crate) fn parse_listing(lines: &[String]) -> Vec<Listed> {
    let mut out = Vec::new();
    let mut iter = lines.iter().peekable();
    while let Some(line) = iter.next() {
        let (is_list, args) = if let Some(args) = line.strip_prefix("+CMGL:") {
            (true, args)
        } else if let Some(args) = line.strip_prefix("+CMGR:") {
            (false, args)
        } else {
            tracing::debug!(%line, "unexpected line in a message listing");
            continue;
        };
        let index = if is_list {
            match args.split(',').next().map(|s| s.trim().parse::<u32>()) {
                Some(Ok(index)) => Some(index),
                _ => {
                    tracing::warn!(%line, "message listing entry without a slot number");
                    continue;
                }
            }
        } else {
            None
        };
        let Some(pdu_line) = iter.next_if(|l| !l.starts_with("+CMGL:") && !l.starts_with("+CMGR:"))
        else {
            tracing::warn!(%line, "message listing entry without a PDU line");
            continue;
        };
        match hex::decode(pdu_line.trim()) {
            Ok(pdu) if !pdu.is_empty() => out.push(Listed { index, pdu }),
            _ => tracing::warn!(%line, "message listing entry with a PDU line that is not hex"),
        }
    }
    out
}

/// `+CSQ: <rssi>,<ber>` → signal in dBm (TS 27.007 §8.5: 0 = -113 dBm, 31 = -51 dBm or more).
pub(crate) fn parse_csq(lines: &[String]) -> Option<i32> {
    let args = lines.iter().find_map(|l| l.strip_prefix("+CSQ:"))?;
    rssi_dbm(args.split(',').next()?.trim().parse().ok()?)
}

/// An `<rssi>` of the `AT+CSQ` scale in dBm; `None` for 99 (unknown) and anything out of range.
pub(crate) fn rssi_dbm(rssi: i32) -> Option<i32> {
    (0..=31).contains(&rssi).then_some(-113 + 2 * rssi)
}

/// `+COPS: <mode>[,<format>,"<operator>"[,<act>]]` → the operator name, if registered.
pub(crate) fn parse_cops(lines: &[String]) -> Option<String> {
    let args = lines.iter().find_map(|l| l.strip_prefix("+COPS:"))?;
    let name = args.split(',').nth(2)?.trim().trim_matches('"').trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// `+CREG: <n>,<stat>[,...]` (the answer of `AT+CREG?`; `+CGREG`/`+CEREG` with that `prefix`)
/// → registration state.
pub(crate) fn parse_creg(lines: &[String], prefix: &str) -> Option<Registration> {
    let args = lines.iter().find_map(|l| l.strip_prefix(prefix))?;
    let stat: u8 = args.split(',').nth(1)?.trim().parse().ok()?;
    Some(Registration::from_stat(stat))
}

/// `+CPMS: "SM",<used>,<total>,...` (query answer) → (used, total) of the first storage.
pub(crate) fn parse_cpms_usage(lines: &[String]) -> Option<(u32, u32)> {
    let args = lines.iter().find_map(|l| l.strip_prefix("+CPMS:"))?;
    let mut fields = args.split(',').map(str::trim);
    let _mem = fields.next()?;
    let used = fields.next()?.parse().ok()?;
    let total = fields.next()?.parse().ok()?;
    Some((used, total))
}

/// The first plain line of an answer like `AT+CGMM` (some modems prefix it with `+CGMM: `).
pub(crate) fn parse_plain(lines: &[String], prefix: &str) -> Option<String> {
    let line = lines.iter().find(|l| !l.trim().is_empty())?;
    let value = line
        .strip_prefix(prefix)
        .unwrap_or(line)
        .trim()
        .trim_matches('"');
    (!value.is_empty()).then(|| value.to_string())
}

/// The IMEI in an `AT+CGSN` answer (`356938035643809`, `+CGSN: "..."`, `IMEI: ...`): 14 to 17
/// digits (15 for an IMEI, 16 for an IMEISV, 14 without the check digit), else `None`.
pub(crate) fn parse_imei(lines: &[String]) -> Option<String> {
    lines.iter().find_map(|line| {
        let value = line
            .rsplit(':')
            .next()
            .unwrap_or(line)
            .trim()
            .trim_matches('"')
            .trim();
        let ok = (14..=17).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| value.to_string())
    })
}

/// The ICCID in the answer of `AT+CCID`, `AT+QCCID`, `AT+CICCID` or `AT^ICCID?`, as the digits
/// printed on the SIM card (`89...`).
///
/// Huawei's `^ICCID` prints the raw EF-ICCID bytes, whose digits come in swapped pairs
/// (`98...`); every ICCID starts with the telecom prefix 89, so a leading `98` is swapped back.
/// The `F` filler of a 19-digit ICCID is dropped.
pub(crate) fn parse_iccid(lines: &[String]) -> Option<String> {
    lines.iter().find_map(|line| {
        let value = line
            .rsplit(':')
            .next()
            .unwrap_or(line)
            .trim()
            .trim_matches('"')
            .trim();
        if !(18..=22).contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut digits = value.to_ascii_uppercase();
        if digits.starts_with("98") {
            let bytes = digits.as_bytes();
            digits = bytes
                .chunks(2)
                .flat_map(|pair| pair.iter().rev())
                .map(|b| char::from(*b))
                .collect();
        }
        let digits = digits.trim_end_matches('F');
        let ok = digits.len() >= 18 && digits.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| digits.to_string())
    })
}

/// `+CSMS: <mt>,<mo>,<bm>` (the answer of `AT+CSMS=1`) → whether phase 2+ is supported for
/// received messages (`<mt>` 1), i.e. whether `+CMT` can be acknowledged with `AT+CNMA`.
pub(crate) fn parse_csms_set(lines: &[String]) -> Option<bool> {
    let args = lines.iter().find_map(|l| l.strip_prefix("+CSMS:"))?;
    let mt: u8 = args.split(',').next()?.trim().parse().ok()?;
    Some(mt == 1)
}

/// The index (from 1, as `+CIEV` counts) of the signal indicator in the answer of `AT+CIND=?`:
/// `+CIND: ("battchg",(0-5)),("signal",(0-5)),...` (TS 27.007 §8.9 names it `signal`; some
/// modems call it `rssi`).
pub(crate) fn parse_cind_signal(lines: &[String]) -> Option<u32> {
    let answer = lines.iter().find_map(|l| l.strip_prefix("+CIND:"))?;
    let names = answer
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_ascii_lowercase);
    let position = names
        .enumerate()
        .find(|(_, name)| name == "signal" || name == "rssi")?
        .0;
    u32::try_from(position + 1).ok()
}

/// `+CSMS: <service>,<mt>,<mo>,<bm>` (query answer) → whether the modem runs in phase 2+
/// (`<service>` 1), where every `+CMT` and `+CDS` must be acknowledged with `AT+CNMA`.
pub(crate) fn parse_csms_phase2(lines: &[String]) -> Option<bool> {
    let args = lines.iter().find_map(|l| l.strip_prefix("+CSMS:"))?;
    let service: u8 = args.split(',').next()?.trim().parse().ok()?;
    Some(service == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cmgl_pairs_headers_with_pdus_and_skips_broken_entries() {
        let listing = lines(&[
            "+CMGL: 1,0,,2",
            "0001",
            "+CMGL: 2,1,,2", // PDU line missing
            "+CMGL: 3,1,,2",
            "XYZ", // not hex
            "+CMGL: 4,1,,2",
            "00AB",
        ]);
        assert_eq!(
            parse_listing(&listing),
            vec![
                Listed {
                    index: Some(1),
                    pdu: vec![0, 1]
                },
                Listed {
                    index: Some(4),
                    pdu: vec![0, 0xAB]
                },
            ]
        );
    }

    #[test]
    fn cmgr_has_no_index() {
        assert_eq!(
            parse_listing(&lines(&["+CMGR: 0,,2", "0001"])),
            vec![Listed {
                index: None,
                pdu: vec![0, 1]
            }]
        );
        assert!(parse_listing(&[]).is_empty());
    }

    #[test]
    fn status_lines() {
        assert_eq!(parse_csq(&lines(&["+CSQ: 21,99"])), Some(-71));
        assert_eq!(parse_csq(&lines(&["+CSQ: 99,99"])), None);
        assert_eq!(
            parse_cops(&lines(&["+COPS: 0,0,\"Vodafone DE\",7"])),
            Some("Vodafone DE".into())
        );
        assert_eq!(parse_cops(&lines(&["+COPS: 0"])), None);
        assert_eq!(
            parse_plain(&lines(&["+CGMM: SIM800L"]), "+CGMM:"),
            Some("SIM800L".into())
        );
        assert_eq!(
            parse_plain(&lines(&["EC25"]), "+CGMM:"),
            Some("EC25".into())
        );
    }

    #[test]
    fn identity_lines() {
        assert_eq!(
            parse_imei(&lines(&["356938035643809"])),
            Some("356938035643809".into())
        );
        assert_eq!(
            parse_imei(&lines(&["+CGSN: \"356938035643809\""])),
            Some("356938035643809".into())
        );
        assert_eq!(
            parse_imei(&lines(&["IMEI: 35693803564380"])),
            Some("35693803564380".into())
        );
        assert_eq!(parse_imei(&lines(&["ERROR-ish", "12345"])), None);
        assert_eq!(
            parse_iccid(&lines(&["+CCID: 8949000000000000001"])),
            Some("8949000000000000001".into())
        );
        assert_eq!(
            parse_iccid(&lines(&["89490000000000000012"])),
            Some("89490000000000000012".into())
        );
        // Huawei: swapped pairs, F filler.
        assert_eq!(
            parse_iccid(&lines(&["^ICCID: 989400000000000000F1"])),
            Some("8949000000000000001".into())
        );
        assert_eq!(
            parse_iccid(&lines(&["+QCCID: 8949000000000000001F"])),
            Some("8949000000000000001".into())
        );
        assert_eq!(parse_iccid(&lines(&["+CCID: 1234"])), None);
        assert_eq!(parse_csms_phase2(&lines(&["+CSMS: 1,1,1,1"])), Some(true));
        assert_eq!(parse_csms_phase2(&lines(&["+CSMS: 0,1,1,1"])), Some(false));
        assert_eq!(parse_csms_phase2(&lines(&["OK"])), None);
        assert_eq!(parse_csms_set(&lines(&["+CSMS: 1,1,1"])), Some(true));
        assert_eq!(parse_csms_set(&lines(&["+CSMS: 0,1,1"])), Some(false));
    }

    #[test]
    fn registration_answers_and_indicators() {
        assert_eq!(
            parse_creg(&lines(&["+CREG: 2,5,\"1A2B\",\"01C2D3E4\",7"]), "+CREG:"),
            Some(Registration::Roaming)
        );
        assert_eq!(
            parse_creg(&lines(&["+CEREG: 0,1"]), "+CEREG:"),
            Some(Registration::Home)
        );
        assert_eq!(parse_creg(&lines(&["+CEREG: 0,1"]), "+CREG:"), None);
        assert_eq!(
            parse_cind_signal(&lines(&[
                "+CIND: (\"battchg\",(0-5)),(\"signal\",(0-5)),(\"service\",(0,1))"
            ])),
            Some(2)
        );
        assert_eq!(
            parse_cind_signal(&lines(&["+CIND: (\"rssi\",(0-5))"])),
            Some(1)
        );
        assert_eq!(
            parse_cind_signal(&lines(&["+CIND: (\"call\",(0,1))"])),
            None
        );
    }
}
