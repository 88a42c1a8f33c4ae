//! "Pause notifications": for an hour, or until resumed. Messages still arrive and are stored; only the popups stop.

use std::time::{Duration, Instant};

/// How long "Pause for 1 hour" pauses.
pub const ONE_HOUR: Duration = Duration::from_secs(60 * 60);

/// Whether notifications are paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pause {
    /// Notifications show.
    #[default]
    Off,
    /// Paused until this instant.
    Until(Instant),
    /// Paused until the user resumes.
    Indefinitely,
}

impl Pause {
    /// Whether a notification due at `now` is held back.
    pub fn is_paused(&self, now: Instant) -> bool {
        match self {
            Self::Off => false,
            Self::Until(end) => now < *end,
            Self::Indefinitely => true,
        }
    }

    /// Label for the tray's status line.
    pub fn label(&self, now: Instant) -> String {
        match self {
            Self::Off => "Notifications on".to_owned(),
            Self::Until(end) if now < *end => {
                let minutes = end.duration_since(now).as_secs().div_ceil(60);
                format!("Notifications paused ({minutes} min left)")
            }
            Self::Until(_) => "Notifications on".to_owned(),
            Self::Indefinitely => "Notifications paused".to_owned(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn a_timed_pause_ends_by_itself() {
        let now = Instant::now();
        let pause = Pause::Until(now + ONE_HOUR);
        assert!(pause.is_paused(now));
        assert!(pause.is_paused(now + ONE_HOUR - Duration::from_secs(1)));
        assert!(!pause.is_paused(now + ONE_HOUR));
        assert_eq!(pause.label(now), "Notifications paused (60 min left)");
        assert_eq!(pause.label(now + ONE_HOUR), "Notifications on");
    }

    #[test]
    fn indefinite_pause_holds_until_resumed() {
        let now = Instant::now();
        assert!(Pause::Indefinitely.is_paused(now + ONE_HOUR * 100));
        assert!(!Pause::Off.is_paused(now));
    }
}
