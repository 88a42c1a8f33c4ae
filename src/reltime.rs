//! Human times for message lists: "2 min ago" with the exact time kept for hover text.
//!
//! The clock is passed in (milliseconds since the Unix epoch) so the functions are pure and testable; the views
//! feed it from a signal that ticks, which keeps every "N min ago" label fresh without re-rendering lists.

use chrono::{DateTime, FixedOffset};

/// "just now", "5 min ago", "3 h ago", "yesterday", or a date, for `then` seen at `now_ms`.
pub fn relative(then: &DateTime<FixedOffset>, now_ms: i64) -> String {
    let secs = (now_ms - then.timestamp_millis()) / 1000;
    if secs < -60 {
        // A clock skewed between phone network, server and browser: do not claim "in 3 min".
        return exact(then);
    }
    match secs {
        ..45 => "just now".to_owned(),
        45..3600 => format!("{} min ago", (secs / 60).max(1)),
        3600..86_400 => format!("{} h ago", secs / 3600),
        86_400..172_800 => "yesterday".to_owned(),
        172_800..604_800 => format!("{} days ago", secs / 86_400),
        _ => then.format("%Y-%m-%d").to_string(),
    }
}

/// The exact time with its UTC offset, as the network or server gave it.
pub fn exact(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%d %H:%M:%S %:z").to_string()
}

/// The first (or, with `end_of_day`, the last) millisecond of a `YYYY-MM-DD` date in the browser's time zone,
/// as RFC 3339 for the API's `since`/`until`. `utc_offset_minutes` is east of UTC (UTC+1 is 60).
/// `None` for an empty or malformed date (the filter is then not applied).
pub fn day_bound(date: &str, utc_offset_minutes: i32, end_of_day: bool) -> Option<String> {
    let day = chrono::NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").ok()?;
    let offset = FixedOffset::east_opt(utc_offset_minutes.checked_mul(60)?)?;
    let time = if end_of_day {
        chrono::NaiveTime::from_hms_milli_opt(23, 59, 59, 999)?
    } else {
        chrono::NaiveTime::MIN
    };
    let local = day.and_time(time).and_local_timezone(offset).single()?;
    Some(local.to_rfc3339_opts(chrono::SecondsFormat::Millis, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).expect("valid time")
    }

    #[test]
    fn relative_steps() {
        let then = at("2026-11-22T10:00:00+01:00");
        let base = then.timestamp_millis();
        let cases = [
            (0, "just now"),
            (44_000, "just now"),
            (45_000, "1 min ago"),
            (125_000, "2 min ago"),
            (3_599_000, "59 min ago"),
            (3_600_000, "1 h ago"),
            (86_399_000, "23 h ago"),
            (86_400_000, "yesterday"),
            (3 * 86_400_000, "3 days ago"),
            (30 * 86_400_000, "2026-11-22"),
        ];
        for (delta, want) in cases {
            assert_eq!(relative(&then, base + delta), want, "delta {delta}");
        }
    }

    #[test]
    fn future_times_show_exact() {
        let then = at("2026-11-22T10:00:00+01:00");
        assert_eq!(relative(&then, then.timestamp_millis() - 5_000), "just now");
        assert_eq!(
            relative(&then, then.timestamp_millis() - 600_000),
            "2026-11-22 10:00:00 +01:00"
        );
    }

    #[test]
    fn day_bounds_in_local_time() {
        assert_eq!(
            day_bound("2026-11-22", 60, false).as_deref(),
            Some("2026-11-22T00:00:00.000+01:00")
        );
        assert_eq!(
            day_bound("2026-11-22", -300, true).as_deref(),
            Some("2026-11-22T23:59:59.999-05:00")
        );
        assert_eq!(day_bound("", 0, false), None);
        assert_eq!(day_bound("2026-13-01", 0, false), None);
        assert_eq!(day_bound("2026-11-22", i32::MAX, false), None);
    }

    #[test]
    fn exact_keeps_offset() {
        assert_eq!(
            exact(&at("2026-01-02T03:04:05-07:00")),
            "2026-01-02 03:04:05 -07:00"
        );
    }
}
