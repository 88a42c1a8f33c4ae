//! What a modem's unsolicited status codes say, so registration and signal are known without
//! asking: registration from `+CREG`/`+CGREG`/`+CEREG` (TS 27.007 §7.2, §10.1.20, §10.1.22, with
//! `=2`), signal from the report each family offers (SIMCom 2G `+CSQN`, SIMCom LTE `+CSQ`,
//! Quectel `+QIND: "csq"`, Huawei `^RSSI`, TS 27.007 `+CIEV` for the rest), and a full message
//! storage (`^SMMEMFULL`, `+CIEV: "SMSFULL"`, `+QIND: "smsfull"`).

use crate::answers::rssi_dbm;
use crate::events::Registration;

/// The registration a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Domain {
    /// Circuit-switched (`+CREG`): what SMS over GSM needs.
    Circuit,
    /// Packet (`+CGREG`).
    Packet,
    /// LTE (`+CEREG`): an LTE-only modem registers only here, and sends SMS over it.
    Lte,
}

/// One unsolicited status code, understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusUrc {
    /// The registration in one domain changed.
    Registration(Domain, Registration),
    /// A signal report on the `AT+CSQ` scale, in dBm (`None`: not detectable).
    Signal(Option<i32>),
    /// `+CIEV: <index>,<value>`: an indicator changed (the signal one, if its index is the one
    /// `AT+CIND=?` listed for `signal`).
    Indicator {
        /// From 1, in `AT+CIND=?` order.
        index: u32,
        /// The indicator's new value (signal: 0–5).
        value: u32,
    },
    /// The message storage is full: the modem refuses new messages until slots are freed.
    StorageFull,
}

/// Understands `text` (a URC the framer kept as text), if it is a status code.
pub(crate) fn parse(text: &str) -> Option<StatusUrc> {
    let upper = text.to_ascii_uppercase();
    if upper.contains("MEMFULL") || (upper.contains("SMSFULL") && !upper.ends_with(",0")) {
        return Some(StatusUrc::StorageFull);
    }
    let (name, args) = text.split_once(':')?;
    let name = name.trim().to_ascii_uppercase();
    let fields: Vec<&str> = args
        .split(',')
        .map(|f| f.trim().trim_matches('"'))
        .collect();
    let number = |i: usize| fields.get(i).and_then(|f| f.parse::<i32>().ok());
    let domain = match name.as_str() {
        "+CREG" => Some(Domain::Circuit),
        "+CGREG" => Some(Domain::Packet),
        "+CEREG" => Some(Domain::Lte),
        _ => None,
    };
    if let Some(domain) = domain {
        // The unsolicited form starts with <stat> (`+CREG: 5` or `+CREG: 1,"1A2B","01C2D3E4",7`).
        let stat = u8::try_from(number(0)?).ok()?;
        return Some(StatusUrc::Registration(
            domain,
            Registration::from_stat(stat),
        ));
    }
    match name.as_str() {
        "+CSQN" | "+CSQ" | "^RSSI" => Some(StatusUrc::Signal(rssi_dbm(number(0)?))),
        "+QIND" if fields.first()?.eq_ignore_ascii_case("csq") => {
            Some(StatusUrc::Signal(rssi_dbm(number(1)?)))
        }
        "+CIEV" => Some(StatusUrc::Indicator {
            index: u32::try_from(number(0)?).ok()?,
            value: u32::try_from(number(1)?).ok()?,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_reports_of_every_domain_and_form() {
        assert_eq!(
            parse("+CREG: 5"),
            Some(StatusUrc::Registration(
                Domain::Circuit,
                Registration::Roaming
            ))
        );
        assert_eq!(
            parse("+CGREG: 1,\"1A2B\",\"01C2D3E4\",7"),
            Some(StatusUrc::Registration(Domain::Packet, Registration::Home))
        );
        assert_eq!(
            parse("+CEREG: 2,\"1A2B\",\"01C2D3E4\",7"),
            Some(StatusUrc::Registration(
                Domain::Lte,
                Registration::Searching
            ))
        );
        assert_eq!(parse("+CREG: x"), None);
    }

    #[test]
    fn signal_reports_of_every_family() {
        assert_eq!(parse("+CSQN: 21,0"), Some(StatusUrc::Signal(Some(-71))));
        assert_eq!(parse("+CSQ: 31,99"), Some(StatusUrc::Signal(Some(-51))));
        assert_eq!(
            parse("+QIND: \"csq\",10,99"),
            Some(StatusUrc::Signal(Some(-93)))
        );
        assert_eq!(parse("^RSSI:99"), Some(StatusUrc::Signal(None)));
        assert_eq!(parse("^RSSI: 14"), Some(StatusUrc::Signal(Some(-85))));
        assert_eq!(
            parse("+CIEV: 2,4"),
            Some(StatusUrc::Indicator { index: 2, value: 4 })
        );
        assert_eq!(parse("+QIND: \"act\",\"LTE\""), None);
    }

    #[test]
    fn full_storage_in_every_spelling() {
        for text in [
            "^SMMEMFULL: \"SM\"",
            "+CIEV: \"SMSFULL\",1",
            "+QIND: \"smsfull\",1",
        ] {
            assert_eq!(parse(text), Some(StatusUrc::StorageFull), "{text}");
        }
        assert_eq!(parse("+QIND: \"smsfull\",0"), None);
        assert_eq!(parse("RING"), None);
    }
}
