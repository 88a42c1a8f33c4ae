//! TP-SCTS and other 7-octet timestamps (TS 23.040 §9.2.3.11): semi-octet BCD date and time plus a signed
//! time zone in quarter hours, decoded to a `DateTime<FixedOffset>` that keeps the network's offset.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Timelike};

use crate::DecodeError;

fn bcd(b: u8) -> Option<u32> {
    let (lo, hi) = (u32::from(b & 0x0F), u32::from(b >> 4));
    (lo <= 9 && hi <= 9).then_some(lo * 10 + hi)
}

/// The year a two-digit TP-SCTS year stands for: 90-99 are 1990-1999, as phones read them (a phone whose clock
/// was never set, or a SIM that kept a 1990s message, writes them); 00-89 are 2000-2089.
pub(crate) fn year(yy: u32) -> i32 {
    if yy >= 90 {
        1900 + yy as i32
    } else {
        2000 + yy as i32
    }
}

/// Decodes 7 octets into a date, time and offset (see [`year`] for the century).
pub(crate) fn decode(
    b: &[u8; 7],
    field: &'static str,
) -> Result<DateTime<FixedOffset>, DecodeError> {
    let bad = |detail: String| DecodeError::InvalidTimestamp { field, detail };
    let names = ["year", "month", "day", "hour", "minute", "second"];
    let mut v = [0u32; 6];
    for (i, name) in names.iter().enumerate() {
        v[i] = bcd(b[i]).ok_or_else(|| {
            bad(format!(
                "{name} octet {:#04x} is not two decimal digits",
                b[i]
            ))
        })?;
    }
    // The sign is bit 3 of the octet (the tens digit's high bit once the semi-octets are swapped).
    let tz = b[6];
    let quarters =
        bcd(tz & 0xF7).ok_or_else(|| bad(format!("time zone octet {tz:#04x} is not decimal")))?;
    let seconds = (quarters * 15 * 60) as i32;
    let offset = FixedOffset::east_opt(if tz & 0x08 != 0 { -seconds } else { seconds })
        .ok_or_else(|| {
            bad(format!(
                "time zone of {quarters} quarter hours is out of range"
            ))
        })?;
    let yyyy = year(v[0]);
    let date = NaiveDate::from_ymd_opt(yyyy, v[1], v[2])
        .ok_or_else(|| bad(format!("{yyyy}-{:02}-{:02} is not a date", v[1], v[2])))?;
    let time = date
        .and_hms_opt(v[3], v[4], v[5])
        .ok_or_else(|| bad(format!("{:02}:{:02}:{:02} is not a time", v[3], v[4], v[5])))?;
    offset
        .from_local_datetime(&time)
        .single()
        .ok_or_else(|| bad("not representable".to_owned()))
}

fn to_bcd(v: u32) -> u8 {
    let v = v % 100;
    (((v % 10) << 4) | (v / 10)) as u8
}

/// Encodes a timestamp; the offset is rounded toward zero to whole quarter hours, as the field requires.
pub(crate) fn encode(t: &DateTime<FixedOffset>) -> [u8; 7] {
    let offset = t.offset().local_minus_utc();
    let quarters = (offset.unsigned_abs() / 900).min(79);
    let mut tz = to_bcd(quarters);
    if offset < 0 {
        tz |= 0x08;
    }
    [
        to_bcd(t.year().rem_euclid(100) as u32),
        to_bcd(t.month()),
        to_bcd(t.day()),
        to_bcd(t.hour()),
        to_bcd(t.minute()),
        to_bcd(t.second()),
        tz,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_and_negative_zones() {
        // 2002-08-26 19:37:41, +1 hour (4 quarters).
        let t = decode(&[0x20, 0x80, 0x62, 0x91, 0x73, 0x14, 0x40], "timestamp").unwrap();
        assert_eq!(t.to_rfc3339(), "2002-08-26T19:37:41+01:00");
        // -3:30 (14 quarters): tens digit 1 with the sign bit, units digit 4.
        let t = decode(&[0x52, 0x11, 0x03, 0x01, 0x00, 0x00, 0x49], "timestamp").unwrap();
        assert_eq!(t.to_rfc3339(), "2025-11-30T10:00:00-03:30");
        assert_eq!(encode(&t), [0x52, 0x11, 0x03, 0x01, 0x00, 0x00, 0x49]);
    }

    #[test]
    fn invalid_dates_are_errors() {
        let err = decode(&[0x52, 0x31, 0x03, 0x01, 0x00, 0x00, 0x00], "timestamp").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the timestamp is not a valid date and time (2025-13-30 is not a date)"
        );
        let err = decode(&[0x52, 0xA1, 0x03, 0x01, 0x00, 0x00, 0x00], "timestamp").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the timestamp is not a valid date and time (month octet 0xa1 is not two decimal digits)"
        );
        assert!(decode(&[0x52, 0x21, 0x03, 0x42, 0x00, 0x00, 0x00], "timestamp").is_err());
        // hour 24
    }

    #[test]
    fn years_90_to_99_are_the_1990s() {
        // 99-03-29 15:16:59 +02:00, as a phone that stored it in 1999 wrote it (gammu's tests/at-sms/09.dump).
        let t = decode(&[0x99, 0x30, 0x92, 0x51, 0x61, 0x95, 0x80], "timestamp").unwrap();
        assert_eq!(t.to_rfc3339(), "1999-03-29T15:16:59+02:00");
        assert_eq!(encode(&t), [0x99, 0x30, 0x92, 0x51, 0x61, 0x95, 0x80]);
        let t = decode(&[0x98, 0x10, 0x10, 0x00, 0x00, 0x00, 0x00], "timestamp").unwrap();
        assert_eq!(t.to_rfc3339(), "2089-01-01T00:00:00+00:00");
        for yy in 0..100u32 {
            let expected = if yy >= 90 { 1900 + yy } else { 2000 + yy };
            assert_eq!(year(yy), expected as i32);
        }
        let err = decode(&[0x99, 0x20, 0x03, 0x01, 0x00, 0x00, 0x00], "timestamp").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the timestamp is not a valid date and time (1999-02-30 is not a date)"
        );
    }
}
