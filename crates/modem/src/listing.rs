//! Parsers for the information lines of SMS and status commands (PDU mode).
//!
//! Pure functions over the lines the channel collected, so the driver's decisions rest on tested
//! parsing. The driver does not decode PDUs: it hands the raw bytes on.

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
    let rssi: i32 = args.split(',').next()?.trim().parse().ok()?;
    (0..=31).contains(&rssi).then_some(-113 + 2 * rssi)
}

/// `+COPS: <mode>[,<format>,"<operator>"[,<act>]]` → the operator name, if registered.
pub(crate) fn parse_cops(lines: &[String]) -> Option<String> {
    let args = lines.iter().find_map(|l| l.strip_prefix("+COPS:"))?;
    let name = args.split(',').nth(2)?.trim().trim_matches('"').trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// Network registration, from `+CREG: <n>,<stat>` (TS 27.007 §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// Not registered and not searching.
    NotRegistered,
    /// Registered on the home network.
    Home,
    /// Searching for a network.
    Searching,
    /// Registration denied (SIM barred, no subscription).
    Denied,
    /// Unknown (out of coverage).
    Unknown,
    /// Registered, roaming.
    Roaming,
}

/// `+CREG: <n>,<stat>[,...]` (query answer) → registration state.
pub(crate) fn parse_creg(lines: &[String]) -> Option<Registration> {
    let args = lines.iter().find_map(|l| l.strip_prefix("+CREG:"))?;
    let stat: u8 = args.split(',').nth(1)?.trim().parse().ok()?;
    Some(match stat {
        0 => Registration::NotRegistered,
        1 => Registration::Home,
        2 => Registration::Searching,
        3 => Registration::Denied,
        5 => Registration::Roaming,
        _ => Registration::Unknown,
    })
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
}
