//! A modem that hangs, restarts on its own, or loses the network.
//!
//! A command that gets no answer in time may come from a slow modem or a hung one, so the driver
//! then asks a plain `AT`, which any live modem answers at once. Only when two in a row go
//! unanswered within [`Timeouts::health`](crate::Timeouts::health) (5 s) does it reset the modem:
//! the family's reset command where its manual documents one ([`reset_command`]:
//! `AT+CFUN=1,1`, `AT#REBOOT`), and in every case the port is closed and opened again (a USB
//! modem that reboots comes back as a new device anyway). The reason goes in the status
//! (`last_error`, `last_reset`, `resets`), the log and a [`Notice`]. An idle driver notices a hang
//! at its next command: a message's read, a release, the safety sweep at the latest.
//!
//! A modem that restarted on its own (power dip, firmware watchdog) prints `RDY`, `+CPIN: READY`,
//! `SMS Ready` and the like, and has forgotten every setting: new messages would be stored without
//! a word. On such a line the driver asks `AT+CNMI?`; if the indications it chose are gone, it sets
//! the modem up again in the same session and lists the storage. (The same lines after the
//! driver's own start-up find the settings in place and change nothing.)
//!
//! Registration lost and regained are notices too, besides the status that shows the registration.

use std::time::Duration;

use super::work::Work;
use super::{Driver, End};
use crate::channel::AtChannel;
use crate::config::{reset_command, Family};
use crate::errors::ModemError;
use crate::events::{ModemEvent, Notice, NoticeKind, Registration};

/// Unanswered `AT`s in a row that make the driver reset the modem.
const PROBES: u32 = 2;

/// What the driver keeps about the modem's health.
#[derive(Debug, Default)]
pub(super) struct Health {
    /// The last job ended in a timeout (not a broken link): ask `AT` before giving up on it.
    pub(super) timed_out: bool,
    /// A boot line seen while connected, to be checked.
    pub(super) boot_signal: Option<String>,
    /// Registered or not, as last known (for the lost/regained notices).
    pub(super) registered: Option<bool>,
}

/// Whether a URC the framer kept as text says the modem (re)started: `+CPIN: READY` unsolicited.
/// (`RDY`, `SMS Ready`, `SMS DONE` ... come as readiness signals.)
pub(super) fn is_boot_signal(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    upper.replace(' ', "") == "+CPIN:READY"
}

impl Driver {
    /// Notes a timeout in a job's result: the modem is asked `AT` before the session ends.
    pub(super) fn watch_for_timeout<T>(&mut self, result: &Result<T, ModemError>) {
        if matches!(result, Err(ModemError::Timeout { .. })) {
            self.health.timed_out = true;
        }
    }

    /// After a job ended the session with `end`: if it was a timeout, asks `AT` up to twice;
    /// `None` (go on) when the modem answers, else the end, after a reset.
    pub(super) async fn unless_alive(&mut self, at: &mut AtChannel, end: End) -> Option<End> {
        if !std::mem::take(&mut self.health.timed_out) {
            return Some(end);
        }
        let End::Lost(why) = end else {
            return Some(end);
        };
        let wait = self.config.timeouts.health;
        for attempt in 1..=PROBES {
            match at.command("AT", wait).await {
                Ok(_) => {
                    tracing::info!(modem = %self.status.id, %why, "the modem answers AT again after a command went unanswered");
                    self.status.last_error = Some(why);
                    self.publish_status();
                    // What the unanswered command was for (a read, a listing) is found again.
                    self.sweep_soon();
                    return None;
                }
                Err(e) if e.is_link_lost() => return Some(End::Lost(e.to_string())),
                Err(e) => {
                    tracing::warn!(modem = %self.status.id, attempt, %e, "no answer to AT");
                }
            }
        }
        Some(self.reset(at, &why, wait).await)
    }

    /// Resets a modem that stopped answering; the session ends and the port is opened again.
    async fn reset(&mut self, at: &mut AtChannel, why: &str, wait: Duration) -> End {
        let how = match reset_command(self.family.unwrap_or(Family::Other)) {
            Some(command) => {
                // A hung modem may not answer this either; reopening follows regardless.
                if let Err(e) = at.command(command, self.config.timeouts.quick).await {
                    tracing::debug!(modem = %self.status.id, %e, "no answer to the reset command");
                }
                format!("reset it with {command} and reopened the port")
            }
            None => {
                "closed and reopened the port (no reset command is known for this modem)".into()
            }
        };
        let reason = format!(
            "the modem did not answer AT within {} s, twice, after: {why}; SimRelay {how}",
            wait.as_secs_f64()
        );
        tracing::warn!(modem = %self.status.id, %reason, "resetting the modem");
        self.status.resets = self.status.resets.saturating_add(1);
        self.status.last_reset = Some(stamped(&reason));
        self.notice(NoticeKind::Reset, reason.clone());
        End::Lost(reason)
    }

    /// A line that may mean the modem restarted (`RDY`, `SMS Ready`, `+CPIN: READY`, ...).
    pub(super) fn boot_signal(&mut self, text: &str) {
        tracing::debug!(modem = %self.status.id, %text, "boot or readiness line");
        self.health.boot_signal = Some(text.to_string());
    }

    /// Checks a boot line seen while connected: if the modem lost its settings, sets it up again
    /// and lists its storage. `Some` when the session must end.
    pub(super) async fn after_boot_signal(
        &mut self,
        at: &mut AtChannel,
        work: &mut Work,
    ) -> Option<End> {
        let signal = self.health.boot_signal.take()?;
        match at.command("AT+CNMI?", self.config.timeouts.quick).await {
            Ok(lines) if indications_on(&lines) => {
                tracing::debug!(modem = %self.status.id, %signal, "settings in place; not a restart");
                return None;
            }
            Err(e) if e.is_link_lost() => return Some(End::Lost(e.to_string())),
            // Indications off, not ready yet, or no answer: the modem restarted.
            _ => {}
        }
        tracing::warn!(modem = %self.status.id, %signal, "the modem restarted on its own; setting it up again");
        // Acknowledgements owed before the restart are void: the network delivers those again.
        self.unacked.clear();
        if let Err(e) = self.init(at).await {
            return Some(self.init_failed(e));
        }
        // Boot lines the start-up did not consume belong to this restart.
        if let Err(e) = at.wait_ready_urc(Duration::ZERO).await {
            return Some(End::Lost(e.to_string()));
        }
        let text = format!("the modem restarted on its own ({signal}); SimRelay set it up again");
        self.status.last_reset = Some(stamped(&text));
        self.notice(NoticeKind::Restarted, text);
        self.publish_status();
        work.drain();
        None
    }

    /// The registration now (from a report or a refresh): a notice when it was lost or regained.
    pub(super) fn registration_now(&mut self, now: Option<Registration>) {
        let registered = now.is_some_and(Registration::is_registered);
        let before = self.health.registered.replace(registered);
        match (before, registered) {
            (Some(true), false) => self.notice(
                NoticeKind::RegistrationLost,
                format!(
                    "the modem lost the network ({}); messages arrive once it is back",
                    registration_text(now)
                ),
            ),
            (Some(false), true) => self.notice(
                NoticeKind::RegistrationRegained,
                format!("the modem is registered again ({})", registration_text(now)),
            ),
            _ => {}
        }
    }

    /// Hands a notice on (after any status waiting before it).
    pub(super) fn notice(&mut self, kind: NoticeKind, detail: String) {
        if !self.settled {
            return;
        }
        self.outbox.push_back(ModemEvent::Notice(Notice {
            modem: self.status.id.clone(),
            kind,
            detail,
            at: chrono::Utc::now(),
        }));
        self.flush_best_effort();
    }
}

/// `+CNMI: <mode>,<mt>,...` with `<mt>` other than 0: new messages are indicated or routed.
fn indications_on(lines: &[String]) -> bool {
    lines
        .iter()
        .find_map(|l| l.strip_prefix("+CNMI:"))
        .and_then(|args| args.split(',').nth(1))
        .and_then(|mt| mt.trim().parse::<u8>().ok())
        .is_some_and(|mt| mt > 0)
}

fn registration_text(registration: Option<Registration>) -> &'static str {
    match registration {
        Some(Registration::Home) => "home network",
        Some(Registration::Roaming) => "roaming",
        Some(Registration::Searching) => "searching",
        Some(Registration::Denied) => "registration denied",
        Some(Registration::NotRegistered) => "not registered",
        Some(Registration::Unknown) | None => "unknown",
    }
}

fn stamped(text: &str) -> String {
    format!(
        "{}: {text}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_lines_and_lost_settings() {
        assert!(is_boot_signal("+CPIN: READY"));
        assert!(is_boot_signal("+cpin:READY"));
        assert!(!is_boot_signal("+CPIN: SIM PIN"));
        assert!(!is_boot_signal("+CREG: 1"));
        assert!(indications_on(&["+CNMI: 2,1,0,2,0".to_string()]));
        assert!(!indications_on(&["+CNMI: 0,0,0,0,0".to_string()]));
        assert!(!indications_on(&["garbage".to_string()]));
    }
}
