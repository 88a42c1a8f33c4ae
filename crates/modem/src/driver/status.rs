//! The modem's status without polling: the start-up asks the modem to report registration
//! (`+CREG`/`+CGREG`/`+CEREG` with `=2`) and signal (its family's report, else `+CIEV`) changes
//! on its own, those reports update the status as they come, and the operator is read again only
//! when the registration changed. The full refresh runs only for a watcher (see `serve` in the
//! driver).

use super::work::{StatusRead, Work};
use super::{optional, Driver};
use crate::answers::{parse_cind_signal, parse_cops, parse_creg, parse_csq};
use crate::channel::AtChannel;
use crate::config::Family;
use crate::errors::ModemError;
use crate::events::Registration;
use crate::negotiate::signal_report_command;
use crate::status_urc::{self, Domain, StatusUrc};

/// Registration reports to switch on, each with its fallback (`=1` reports only the state, for
/// modems that lack `=2`).
const REGISTRATION_REPORTS: &[(&str, &str)] = &[
    ("AT+CREG=2", "AT+CREG=1"),
    ("AT+CGREG=2", "AT+CGREG=1"),
    ("AT+CEREG=2", "AT+CEREG=1"),
];

impl Driver {
    /// Asks the modem to report registration and signal changes unsolicited, as far as it can.
    pub(super) async fn enable_status_reports(
        &mut self,
        at: &mut AtChannel,
    ) -> Result<(), ModemError> {
        let quick = self.config.timeouts.quick;
        for (command, fallback) in REGISTRATION_REPORTS {
            if optional(at.command(command, quick).await)?.is_none() {
                optional(at.command(fallback, quick).await)?;
            }
        }
        self.signal_indicator = None;
        if let Some(command) = signal_report_command(self.family.unwrap_or(Family::Other)) {
            if optional(at.command(command, quick).await)?.is_some() {
                return Ok(());
            }
        }
        // TS 27.007 §8.9/§8.10: the indicator list names the signal; `+CMER` mode 3 with <ind> 1
        // reports each indicator change as `+CIEV: <index>,<value>`.
        if let Some(lines) = optional(at.command("AT+CIND=?", quick).await)? {
            self.storages.full_indicator = super::storage::parse_cind_full(&lines);
            if let Some(index) = parse_cind_signal(&lines) {
                if optional(at.command("AT+CMER=3,0,0,1", quick).await)?.is_some() {
                    self.signal_indicator = Some(index);
                }
            }
        }
        Ok(())
    }

    /// Reads the whole status (signal, operator, registration, storage use).
    pub(super) async fn refresh_status(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        self.read_signal(at).await?;
        self.read_operator(at).await?;
        if let Some(lines) = optional(at.command("AT+CREG?", self.config.timeouts.quick).await)? {
            self.registrations[domain_index(Domain::Circuit)] = parse_creg(&lines, "+CREG:");
            self.status.registration = combined(&self.registrations);
            self.registration_now(self.status.registration);
        }
        if let Some(lines) = optional(at.command("AT+CPMS?", self.config.timeouts.quick).await)? {
            self.note_cpms_query(&lines);
        }
        Ok(())
    }

    /// Does a status read the work queue asked for, and publishes what changed.
    pub(super) async fn read_status(
        &mut self,
        at: &mut AtChannel,
        read: StatusRead,
    ) -> Result<(), ModemError> {
        let before = self.status.clone();
        match read {
            StatusRead::Refresh => self.refresh_status(at).await?,
            StatusRead::Operator => self.read_operator(at).await?,
            StatusRead::Signal => self.read_signal(at).await?,
        }
        if self.status != before || read == StatusRead::Refresh {
            self.publish_status();
        }
        Ok(())
    }

    async fn read_signal(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        if let Some(lines) = optional(at.command("AT+CSQ", self.config.timeouts.quick).await)? {
            self.status.signal_dbm = parse_csq(&lines);
        }
        Ok(())
    }

    async fn read_operator(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        if let Some(lines) = optional(at.command("AT+COPS?", self.config.timeouts.slot).await)? {
            self.status.operator = parse_cops(&lines);
        }
        Ok(())
    }

    /// A URC the framer kept as text: a registration or signal report updates the status, a
    /// full storage is listed; anything else is ignored.
    pub(super) fn on_status_urc(&mut self, text: &str, work: &mut Work) {
        if super::health::is_boot_signal(text) {
            return self.boot_signal(text);
        }
        match status_urc::parse(text) {
            // A full SIM refuses new messages: free it as soon as the engine commits.
            Some(StatusUrc::StorageFull) => self.storage_full(text, work),
            Some(StatusUrc::Indicator { index, value })
                if Some(index) == self.storages.full_indicator =>
            {
                if value > 0 {
                    self.storage_full(text, work);
                }
            }
            Some(StatusUrc::Registration(domain, registration)) => {
                self.registrations[domain_index(domain)] = Some(registration);
                let now = combined(&self.registrations);
                if now != self.status.registration {
                    tracing::info!(modem = %self.status.id, ?now, "registration changed");
                    self.status.registration = now;
                    self.registration_now(now);
                    if now.is_some_and(Registration::is_registered) {
                        // Perhaps another network: its name is read once, not polled.
                        work.status(StatusRead::Operator);
                    } else {
                        self.status.operator = None;
                    }
                    self.publish_status();
                }
            }
            Some(StatusUrc::Signal(dbm)) => {
                if dbm != self.status.signal_dbm {
                    self.status.signal_dbm = dbm;
                    self.publish_status();
                }
            }
            // Only a 0–5 level: the exact value is read once.
            Some(StatusUrc::Indicator { index, .. }) if Some(index) == self.signal_indicator => {
                work.status(StatusRead::Signal);
            }
            Some(StatusUrc::Indicator { .. }) | None => {
                tracing::debug!(modem = %self.status.id, %text, "URC ignored");
            }
        }
    }
}

fn domain_index(domain: Domain) -> usize {
    match domain {
        Domain::Circuit => 0,
        Domain::Packet => 1,
        Domain::Lte => 2,
    }
}

/// One registration for the status: registered in any domain counts (an LTE-only modem is
/// registered only in `+CEREG`, and sends SMS over it), else what the circuit-switched domain
/// says, else the others.
fn combined(registrations: &[Option<Registration>; 3]) -> Option<Registration> {
    let order = [Domain::Circuit, Domain::Lte, Domain::Packet].map(domain_index);
    order
        .iter()
        .filter_map(|i| registrations[*i])
        .find(|r| r.is_registered())
        .or_else(|| order.iter().find_map(|i| registrations[*i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_anywhere_wins() {
        use Registration::*;
        assert_eq!(combined(&[None, None, None]), None);
        assert_eq!(combined(&[Some(Searching), None, Some(Home)]), Some(Home));
        assert_eq!(
            combined(&[Some(Home), None, Some(Roaming)]),
            Some(Home),
            "circuit-switched first"
        );
        assert_eq!(
            combined(&[Some(NotRegistered), Some(Denied), None]),
            Some(NotRegistered)
        );
        assert_eq!(combined(&[None, Some(Searching), None]), Some(Searching));
    }
}
