//! `GET /api/modems/{id}/health`: what the Modems screen's small charts draw for one modem, its signal over the
//! last 24 hours and the messages it received per day.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Days of messages in [`ModemHistory::messages_per_day`].
pub const HEALTH_DAYS: usize = 7;

/// One modem's recent history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModemHistory {
    /// The modem's id, as in its status.
    pub modem: String,
    /// Start of the signal window (24 hours before `until`).
    pub since: DateTime<Utc>,
    /// When the answer was made: the end of both windows.
    pub until: DateTime<Utc>,
    /// Signal samples in the window, oldest first; at most one a minute, and none for the times nothing was
    /// reported (the modem was away or its signal did not change).
    pub signal: Vec<SignalSample>,
    /// Messages received on each of the last [`HEALTH_DAYS`] days (today last), in the time zone the request
    /// asked for (`utc_offset`, minutes east of UTC; default UTC). Days without messages are listed with 0.
    pub messages_per_day: Vec<DayCount>,
}

/// The signal a modem reported at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalSample {
    /// When (the start of the minute it was reported in).
    pub at: DateTime<Utc>,
    /// Received signal strength in dBm (-113 … -51).
    pub dbm: i32,
}

/// The messages of one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCount {
    /// The day (`2026-12-07`).
    pub day: NaiveDate,
    /// Messages received that day.
    pub messages: u64,
}
