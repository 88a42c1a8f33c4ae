//! Incoming calls. A SIM that receives codes also gets called, and a modem announces a call with
//! `RING` (or `+CRING: VOICE`) every few seconds until the caller gives up, followed by `+CLIP`
//! with the number once `AT+CLIP=1` asked for it. None of that may disturb SMS handling: the
//! framer takes these lines as URCs even inside a command's answer, and this module turns them
//! into one [`Call`] per call, however often it rings, without talking to the modem (except
//! `ATH`, queued as a job, when the modem rejects calls).
//!
//! The call is reported as soon as `+CLIP` names the caller, or [`CLIP_WAIT`] after the first
//! ring without one (a network that withholds the number, a modem that never sends `+CLIP`):
//! its caller is then unknown. A ring more than [`CALL_GAP`] after the previous one, or after
//! `NO CARRIER`, starts a new call.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::work::Work;
use super::{optional, Driver};
use crate::channel::AtChannel;
use crate::errors::ModemError;
use crate::events::{Call, ModemEvent};

/// Networks repeat `RING` every 3 to 6 seconds; a longer silence means the call is over.
const CALL_GAP: Duration = Duration::from_secs(12);
/// Rings this soon after our `ATH` were printed before it took effect.
const AFTER_HANG_UP: Duration = Duration::from_secs(1);
/// How long after the first `RING` a `+CLIP` may still come (modems print it right after).
const CLIP_WAIT: Duration = Duration::from_secs(2);
/// Longest caller number kept (E.164 has 15 digits; some networks add a prefix).
const MAX_NUMBER: usize = 32;

/// The call ringing now, if any.
#[derive(Default)]
pub(super) struct Calls {
    ringing: Option<Ringing>,
    /// When a call still without a number is reported as from an unknown caller.
    pub(super) deadline: Option<Instant>,
}

struct Ringing {
    at: DateTime<Utc>,
    last: Instant,
    from: Option<String>,
    reported: bool,
    hung_up: bool,
    /// When `ATH` ended it: a ring soon after is one already on its way, a later one a new call.
    ended: Option<Instant>,
}

/// A line about a call.
#[derive(Debug, PartialEq, Eq)]
enum CallUrc {
    Ring,
    /// `+CLIP`: the caller's number, `None` when withheld.
    CallerId(Option<String>),
    /// `NO CARRIER`: the caller hung up (or `ATH` did).
    Ended,
}

fn parse(text: &str) -> Option<CallUrc> {
    let upper = text.trim().to_ascii_uppercase();
    if upper == "RING" || upper.starts_with("+CRING") {
        return Some(CallUrc::Ring);
    }
    if upper == "NO CARRIER" {
        return Some(CallUrc::Ended);
    }
    let args = upper
        .starts_with("+CLIP:")
        .then(|| text.split_once(':').map(|(_, a)| a.trim()))??;
    // `+CLIP: "<number>",<type>[,<subaddr>,<satype>,<alpha>,<CLI validity>]`
    let number = args
        .strip_prefix('"')
        .and_then(|rest| rest.split_once('"'))
        .map_or_else(|| args.split(',').next().unwrap_or(""), |(n, _)| n);
    Some(CallUrc::CallerId(clean_number(number)))
}

/// The number as a person reads it: a modem in UCS2 mode prints it as hex (`002B0034...`), and
/// anything but digits, `+`, `*` and `#` is dropped (the caller chooses what the network shows).
fn clean_number(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let from_ucs2 = (raw.len() >= 8 && raw.len().is_multiple_of(4) && raw.starts_with("00"))
        .then(|| hex::decode(raw).ok())
        .flatten()
        .map(|bytes| simrelay_pdu::text::ucs2(&bytes));
    let text = from_ucs2.as_deref().unwrap_or(raw);
    let number: String = text
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, '+' | '*' | '#'))
        .take(MAX_NUMBER)
        .collect();
    (!number.is_empty()).then_some(number)
}

/// Returns at `deadline`; never without one. Cancel-safe.
pub(super) async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

impl Driver {
    /// Takes a call URC (true) or leaves the line to others (false). Talks to nobody; a call to
    /// reject queues `ATH`.
    pub(super) fn on_call_urc(&mut self, text: &str, work: &mut Work) -> bool {
        let Some(urc) = parse(text) else {
            return false;
        };
        let now = Instant::now();
        let current = self.calls.ringing.as_ref().is_some_and(|r| match r.ended {
            Some(ended) => now.duration_since(ended) < AFTER_HANG_UP,
            None => now.duration_since(r.last) < CALL_GAP,
        });
        match urc {
            CallUrc::Ended => {
                if self.calls.ringing.as_ref().is_some_and(|r| !r.reported) {
                    self.report_call();
                }
                self.calls.ringing = None;
                self.calls.deadline = None;
                return true;
            }
            CallUrc::Ring | CallUrc::CallerId(_) if !current => {
                tracing::info!(modem = %self.status.id, "incoming call");
                self.calls.ringing = Some(Ringing {
                    at: DateTime::<Utc>::from(std::time::SystemTime::now()),
                    last: now,
                    from: None,
                    reported: false,
                    hung_up: false,
                    ended: None,
                });
                self.calls.deadline = Some(now + CLIP_WAIT);
            }
            CallUrc::Ring | CallUrc::CallerId(_) => {}
        }
        let reject = self.config.reject_calls;
        let Some(ringing) = self.calls.ringing.as_mut() else {
            return true;
        };
        ringing.last = now;
        if let CallUrc::CallerId(from) = urc {
            ringing.from = from.or(ringing.from.take());
            if !ringing.reported {
                self.report_call();
            }
        }
        if let Some(ringing) = self.calls.ringing.as_mut() {
            if reject && !ringing.hung_up {
                ringing.hung_up = true;
                work.hang_up();
            }
        }
        true
    }

    /// [`Calls::deadline`] passed: the call rang without `+CLIP`.
    pub(super) fn call_timer(&mut self) {
        self.calls.deadline = None;
        if self.calls.ringing.as_ref().is_some_and(|r| !r.reported) {
            self.report_call();
        }
    }

    fn report_call(&mut self) {
        self.calls.deadline = None;
        let reject = self.config.reject_calls;
        let Some(ringing) = self.calls.ringing.as_mut() else {
            return;
        };
        ringing.reported = true;
        let call = Call {
            modem: self.status.id.clone(),
            from: ringing.from.clone(),
            at: ringing.at,
            rejected: reject,
        };
        tracing::info!(modem = %call.modem, from = ?call.from, rejected = call.rejected, "call reported");
        self.outbox.push_back(ModemEvent::Call(call));
        self.flush_best_effort();
    }

    /// Asks the modem to name callers (`+CLIP` after each `RING`); a modem without it still
    /// reports calls, from an unknown caller.
    pub(super) async fn enable_caller_id(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        optional(at.command("AT+CLIP=1", self.config.timeouts.quick).await).map(drop)
    }

    /// Hangs up on the call ringing now: `ATH`, or `AT+CHUP` where `ATH` is refused.
    pub(super) async fn hang_up(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        let quick = self.config.timeouts.quick;
        let result = match at.command("ATH", quick).await {
            Err(e) if !e.is_link_lost() && !matches!(e, ModemError::Timeout { .. }) => {
                tracing::debug!(modem = %self.status.id, %e, "ATH refused; trying AT+CHUP");
                at.command("AT+CHUP", quick).await.map(drop)
            }
            other => other.map(drop),
        };
        if result.is_ok() {
            if let Some(ringing) = self.calls.ringing.as_mut() {
                ringing.ended = Some(Instant::now());
            }
        }
        result
    }

    /// A session ended: a call that rang in it is over.
    pub(super) fn forget_call(&mut self) {
        if self.calls.ringing.as_ref().is_some_and(|r| !r.reported) {
            self.report_call();
        }
        self.calls = Calls::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_lines() {
        assert_eq!(parse("RING"), Some(CallUrc::Ring));
        assert_eq!(parse("+CRING: VOICE"), Some(CallUrc::Ring));
        assert_eq!(parse("NO CARRIER"), Some(CallUrc::Ended));
        assert_eq!(
            parse("+CLIP: \"+491701234567\",145,\"\",0,\"\",0"),
            Some(CallUrc::CallerId(Some("+491701234567".into())))
        );
        assert_eq!(parse("+CLIP: \"\",128,,,,1"), Some(CallUrc::CallerId(None)));
        // A modem in UCS2 mode.
        assert_eq!(
            parse("+CLIP: \"002B00340039003100370030\",145"),
            Some(CallUrc::CallerId(Some("+49170".into())))
        );
        // Whatever the caller's network put there, only a number comes out.
        assert_eq!(
            parse("+CLIP: \"<b>0170</b>\",129"),
            Some(CallUrc::CallerId(Some("0170".into())))
        );
        assert_eq!(parse("+CREG: 1"), None);
    }
}
