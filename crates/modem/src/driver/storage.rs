//! Message storage: how full each storage is, and what the driver does when one fills.
//!
//! A full storage makes the modem refuse new messages (the network keeps them and tries again
//! later, or at once when the modem says it has room), so the driver lists it as soon as anything
//! says so: `+CMS ERROR: 322` to any command, a full-storage code (`^SMMEMFULL`, `+CIEV:
//! "SMSFULL"`, `+QIND: "smsfull"`, the TS 27.007 `smsfull` indicator), or a listing that finds
//! the storage at capacity. The listing hands everything on through the normal path, so each slot
//! is deleted only after the engine committed its message.
//!
//! The start-up receives into the modem's own memory where it offers one (`ME`, `MT`: usually
//! larger than a SIM, see `negotiate::choose_storage`); what was on the SIM before is then listed
//! (and freed) besides it. Each storage's use is counted from its listings and deletes (and read
//! from `AT+CPMS` when the status is refreshed), and a storage at 80 % or more puts a warning in
//! the status.

use super::work::Work;
use super::Driver;
use crate::answers::parse_cpms_usage;
use crate::channel::AtChannel;
use crate::errors::{cms, ModemError};
use crate::events::StorageUse;
use crate::negotiate::parse_groups;

/// A storage this full (in percent) or fuller puts a warning in the status.
pub(crate) const NEAR_FULL_PERCENT: u32 = 80;

/// The SIM's storage name.
const SIM: &str = "SM";

/// What the driver keeps about storages besides the one it receives into.
#[derive(Debug, Default)]
pub(super) struct Storages {
    /// New messages go to the modem's own memory: the SIM is listed (and freed) as well.
    pub(super) sim_apart: bool,
    /// The index of the `smsfull` indicator in `+CIEV` reports, when `AT+CIND=?` listed one.
    pub(super) full_indicator: Option<u32>,
    /// A command was refused because the storage is full: list it before anything else.
    pub(super) drain_wanted: bool,
}

impl Driver {
    /// After `AT+CPMS` chose the storage for new messages: list the SIM too when that storage is
    /// the modem's own and the SIM can be read (messages received before, or by another program).
    pub(super) fn storages_chosen(&mut self, offered: &[String]) {
        let readable = offered
            .iter()
            .find_map(|l| l.strip_prefix("+CPMS:"))
            .and_then(|answer| parse_groups(answer).into_iter().next())
            .unwrap_or_default();
        self.storages.sim_apart = !self.storage.eq_ignore_ascii_case(SIM)
            && readable.iter().any(|m| m.eq_ignore_ascii_case(SIM));
        self.status.storages.clear();
    }

    /// Lists the SIM when new messages go elsewhere; returns how many messages it handed on.
    pub(super) async fn drain_sim(&mut self, at: &mut AtChannel) -> Result<usize, ModemError> {
        if !self.storages.sim_apart {
            return Ok(0);
        }
        match self.drain_storage(at, Some(SIM.into())).await {
            Err(e) if !e.is_link_lost() && !matches!(e, ModemError::Timeout { .. }) => {
                tracing::info!(modem = %self.status.id, %e, "cannot list the SIM besides the modem's memory");
                self.storages.sim_apart = false;
                Ok(0)
            }
            other => other,
        }
    }

    /// The answer to `AT+CPMS="<mem>"` (`+CPMS: <used1>,<total1>,...`): the use of `mem`.
    pub(super) fn note_usage(&mut self, mem: &str, lines: &[String]) {
        let pair = lines
            .iter()
            .find_map(|l| l.strip_prefix("+CPMS:"))
            .and_then(|args| {
                let mut fields = args.split(',').map(str::trim);
                Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
            });
        if let Some((used, total)) = pair {
            self.set_use(mem, used, Some(total));
        }
    }

    /// The answer to `AT+CPMS?`: the use of each storage it names.
    pub(super) fn note_cpms_query(&mut self, lines: &[String]) {
        self.status.storage = parse_cpms_usage(lines);
        for (mem, used, total) in parse_cpms_query(lines) {
            self.set_use(&mem, used, Some(total));
        }
        self.storage_warning_changed();
    }

    /// A listing of `storage` (`None`: the receiving one) found `count` messages; at capacity it
    /// counts as full.
    pub(super) fn listed(&mut self, storage: Option<&str>, count: usize) {
        let mem = storage.unwrap_or(&self.storage).to_string();
        let used = u32::try_from(count).unwrap_or(u32::MAX);
        let before = self.status.storages.clone();
        self.set_use(&mem, used, None);
        let full = self
            .status
            .storages
            .iter()
            .any(|s| s.memory == mem && s.total > 0 && s.used >= s.total);
        if full {
            tracing::warn!(modem = %self.status.id, %mem, used, "the listing found the message storage full; freeing it as messages are committed");
        }
        let warned = self.storage_warning_changed();
        if warned || self.status.storages != before {
            self.publish_status();
        }
    }

    /// A slot of `storage` (`None`: the receiving one) was deleted. The status goes out when the
    /// warning changes or the storage is empty, not on every delete of a burst.
    pub(super) fn freed(&mut self, storage: Option<&str>) {
        let mem = storage.unwrap_or(&self.storage).to_string();
        let mut emptied = false;
        if let Some(entry) = self
            .status
            .storages
            .iter_mut()
            .find(|s| s.memory.eq_ignore_ascii_case(&mem))
        {
            emptied = entry.used == 1;
            entry.used = entry.used.saturating_sub(1);
        }
        self.sync_receiving_use();
        if self.storage_warning_changed() || emptied {
            self.publish_status();
        }
    }

    /// The modem said its storage is full (`text`): list it now, and show it.
    pub(super) fn storage_full(&mut self, text: &str, work: &mut Work) {
        tracing::warn!(modem = %self.status.id, %text, "message storage full; listing it");
        work.drain();
        self.notice(
            crate::events::NoticeKind::StorageFull,
            format!("the modem says its message storage is full ({text}); freeing it"),
        );
        let mem = self.storage.clone();
        if let Some(entry) = self.status.storages.iter_mut().find(|s| s.memory == mem) {
            entry.used = entry.used.max(entry.total);
        }
        self.sync_receiving_use();
        if self.storage_warning_changed() {
            self.publish_status();
        }
    }

    /// Notes a `+CMS ERROR: 322` (memory full) in the result of a job: the storage is listed next.
    pub(super) fn watch_for_full<T>(&mut self, result: &Result<T, ModemError>) {
        if let Err(e) = result {
            if e.at_error().is_some_and(|a| a.is_cms(cms::MEMORY_FULL)) {
                tracing::warn!(modem = %self.status.id, %e, "the modem says its message storage is full; listing it");
                self.storages.drain_wanted = true;
            }
        }
    }

    fn set_use(&mut self, mem: &str, used: u32, total: Option<u32>) {
        let mem = mem.to_ascii_uppercase();
        match self.status.storages.iter_mut().find(|s| s.memory == mem) {
            Some(entry) => {
                entry.used = used;
                if let Some(total) = total {
                    entry.total = total;
                }
            }
            None => self.status.storages.push(StorageUse {
                memory: mem,
                used,
                total: total.unwrap_or(0),
            }),
        }
        self.sync_receiving_use();
    }

    /// Keeps the single `storage` figure (the receiving storage's) in step with `storages`.
    fn sync_receiving_use(&mut self) {
        if let Some(entry) = self
            .status
            .storages
            .iter()
            .find(|s| s.memory.eq_ignore_ascii_case(&self.storage) && s.total > 0)
        {
            self.status.storage = Some((entry.used, entry.total));
        }
    }

    /// Sets the warning from the storages' use; true if it changed.
    fn storage_warning_changed(&mut self) -> bool {
        let warning = storage_warning(&self.status.storages);
        if warning == self.status.storage_warning {
            return false;
        }
        if let Some(w) = &warning {
            tracing::warn!(modem = %self.status.id, warning = %w, "message storage");
        }
        self.status.storage_warning = warning;
        true
    }
}

/// The warning for the fullest storage at [`NEAR_FULL_PERCENT`] or more, if any.
pub(crate) fn storage_warning(storages: &[StorageUse]) -> Option<String> {
    let fullest = storages
        .iter()
        .filter(|s| s.total > 0 && s.used * 100 >= s.total * NEAR_FULL_PERCENT)
        .max_by_key(|s| s.used * 100 / s.total)?;
    let name = match fullest.memory.as_str() {
        "SM" => "the SIM's message storage",
        "SR" => "the status report storage",
        _ => "the modem's message memory",
    };
    let (used, total) = (fullest.used.min(fullest.total), fullest.total);
    Some(if used >= total {
        format!(
            "{name} is full ({used} of {total}): new messages wait at the network until SimRelay \
             has stored and deleted what is there"
        )
    } else {
        format!(
            "{name} is {} % full ({used} of {total}): messages are deleted once stored; if it \
             stays this full, another program (or unsent drafts) may be keeping messages on it",
            used * 100 / total
        )
    })
}

/// `+CPMS: "SM",3,30,"SM",3,30,"ME",0,100` → each storage named, with its use (once each).
pub(crate) fn parse_cpms_query(lines: &[String]) -> Vec<(String, u32, u32)> {
    let Some(args) = lines.iter().find_map(|l| l.strip_prefix("+CPMS:")) else {
        return Vec::new();
    };
    let fields: Vec<&str> = args.split(',').map(str::trim).collect();
    let mut out: Vec<(String, u32, u32)> = Vec::new();
    for triple in fields.chunks(3) {
        let [mem, used, total] = triple else { break };
        let mem = mem.trim_matches('"').to_ascii_uppercase();
        let (Ok(used), Ok(total)) = (used.parse(), total.parse()) else {
            break;
        };
        if !mem.is_empty() && !out.iter().any(|(m, ..)| *m == mem) {
            out.push((mem, used, total));
        }
    }
    out
}

/// The position (from 1) of the `smsfull` indicator in an `AT+CIND=?` answer.
pub(crate) fn parse_cind_full(lines: &[String]) -> Option<u32> {
    let answer = lines.iter().find_map(|l| l.strip_prefix("+CIND:"))?;
    let position = answer
        .split('"')
        .skip(1)
        .step_by(2)
        .position(|name| name.eq_ignore_ascii_case("smsfull"))?;
    u32::try_from(position + 1).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn use_of(memory: &str, used: u32, total: u32) -> StorageUse {
        StorageUse {
            memory: memory.into(),
            used,
            total,
        }
    }

    #[test]
    fn cpms_query_names_each_storage_once() {
        let lines = vec![r#"+CPMS: "SM",3,30,"SM",3,30,"ME",0,100"#.to_string()];
        assert_eq!(
            parse_cpms_query(&lines),
            vec![("SM".into(), 3, 30), ("ME".into(), 0, 100)]
        );
        assert!(parse_cpms_query(&["+CPMS: garbage".to_string()]).is_empty());
        assert!(parse_cpms_query(&[]).is_empty());
    }

    #[test]
    fn the_smsfull_indicator_is_found_by_name() {
        let lines = vec![
            r#"+CIND: ("battchg",(0-5)),("signal",(0-5)),("service",(0,1)),("roam",(0,1)),("smsfull",(0,1))"#
                .to_string(),
        ];
        assert_eq!(parse_cind_full(&lines), Some(5));
        assert_eq!(
            parse_cind_full(&[r#"+CIND: ("signal",(0-5))"#.to_string()]),
            None
        );
    }

    #[test]
    fn a_warning_from_eighty_percent_and_a_clear_one_when_full() {
        assert_eq!(storage_warning(&[use_of("SM", 23, 30)]), None);
        let near = storage_warning(&[use_of("SM", 24, 30), use_of("ME", 1, 100)]).unwrap();
        assert!(
            near.contains("SIM's message storage is 80 % full (24 of 30)"),
            "{near}"
        );
        let full = storage_warning(&[use_of("SM", 2, 30), use_of("ME", 100, 100)]).unwrap();
        assert!(
            full.contains("modem's message memory is full (100 of 100)"),
            "{full}"
        );
        // An unknown capacity warns of nothing.
        assert_eq!(storage_warning(&[use_of("SM", 5, 0)]), None);
    }
}
