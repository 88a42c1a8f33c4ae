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
    fn exact_keeps_offset() {
        assert_eq!(
            exact(&at("2026-01-02T03:04:05-07:00")),
            "2026-01-02 03:04:05 -07:00"
        );
    }
}
