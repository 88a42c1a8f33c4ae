//! The outbox's retry schedule. Its table (`deliveries`, migration 0011) is read and written by
//! `store/deliveries.rs`: claiming due rows, recording each attempt, replays, and the delivery log.
//!
//! Rows are written by the `messages_outbox` trigger inside the transaction that commits a message, so this
//! module never enqueues: it only reads and updates. A claimed row's `next_try` is pushed forward by a lease
//! (longer than an attempt may take), so an attempt cut short by a crash is made again after a restart, and a
//! receiver may see an event twice, always with the same `X-SimRelay-Event-Id`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) use crate::store::deliveries::{Claimed, LogQuery, TargetRow};

/// How a failed delivery is retried: after `first`, then twice as long each time, until `window` has passed
/// since the message was committed (or replayed); one last attempt is made at the end of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry (10 s).
    pub first: Duration,
    /// How long retries go on (24 h).
    pub window: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: Duration::from_secs(10),
            window: Duration::from_secs(24 * 60 * 60),
        }
    }
}

impl Backoff {
    /// When to try again after `attempts` failed attempts (at `now_ms`), or `None` to give up.
    pub fn next_try(&self, window_start_ms: i64, attempts: u32, now_ms: i64) -> Option<i64> {
        let deadline = window_start_ms.saturating_add(millis(self.window));
        if now_ms >= deadline {
            return None;
        }
        let doublings = attempts.saturating_sub(1).min(40);
        let delay = millis(self.first).saturating_mul(1i64 << doublings);
        Some(now_ms.saturating_add(delay).min(deadline))
    }
}

pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Milliseconds since 1970, the unit of `window_start` and `next_try`.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_from_ten_seconds_and_stop_after_a_day() {
        let b = Backoff::default();
        let start = 1_000_000;
        let mut now = start;
        let mut delays = Vec::new();
        let mut attempts = 0;
        while let Some(next) = b.next_try(start, attempts + 1, now) {
            attempts += 1;
            delays.push((next - now) / 1000);
            now = next;
        }
        assert_eq!(&delays[..4], &[10, 20, 40, 80]);
        // 10 s · (2^13 − 1) = 22.75 h of doubling, then one last try at exactly 24 h.
        assert_eq!(delays.len(), 14, "{delays:?}");
        assert_eq!(now - start, 24 * 3600 * 1000);
        assert_eq!(b.next_try(start, 99, start + 24 * 3600 * 1000), None);
        // A huge attempt count does not overflow.
        assert_eq!(
            b.next_try(start, u32::MAX, start),
            Some(start + 24 * 3600 * 1000)
        );
    }
}
