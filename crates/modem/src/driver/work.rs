//! What a connected driver has to do, and in which order: whatever brings a waiting message in
//! comes first, housekeeping only when nothing else waits.
//!
//! 1. reads of announced slots (`+CMTI`/`+CDSI`), in arrival order, so the parts of a long
//!    message are read back to back; then a listing a full or foreign storage asked for;
//! 2. `AT+CNMA` acknowledgements (in phase 2+ the modem holds the next `+CMT` back until then);
//! 3. hanging up on a call the modem rejects, sends (someone waits for them), a USSD request;
//! 4. deletes of committed slots, together, when nothing above waits;
//! 5. the safety sweep, then status reads (a refresh for a watcher, the operator after a
//!    registration change, the signal after an indicator change).
//!
//! The driver takes in every URC and request before it picks the next job, and looks at the port
//! again before anything from 3 on, so a message that arrives meanwhile overtakes the queue.

use std::collections::VecDeque;

use super::UssdReply;
use crate::handle::{PendingSend, Reply};

/// A slot of a storage (`None`: the storage the driver receives into).
pub(super) type Slot = (Option<String>, u32);

/// An acknowledgement asked for: of the delivery of this PDU (`None`: the oldest), and who waits.
pub(super) type AckRequest = (Option<Vec<u8>>, Option<Reply<()>>);

/// A slot to delete once its message is committed.
pub(super) struct Deletion {
    pub(super) slot: Slot,
    /// The PDU that was committed: the slot is deleted only if it still holds the message the
    /// driver handed on from it (a delete asked for twice, or after a reconnect, must not take
    /// the next message stored in the same slot). `None`: delete whatever is there.
    pub(super) pdu: Option<Vec<u8>>,
    pub(super) reply: Option<Reply<()>>,
}

/// Status reads, cheapest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StatusRead {
    /// Everything (signal, operator, registration, storage use): someone watches.
    Refresh,
    /// The operator, after the registration changed.
    Operator,
    /// The signal, after its indicator changed (`+CIEV` gives only a 0–5 level).
    Signal,
}

/// A USSD code to send, and who waits for the network's reply.
pub(super) type UssdRequest = (String, Reply<UssdReply>);

/// One unit of work for the modem.
pub(super) enum Job {
    Read(Slot),
    Drain,
    /// Acknowledge the delivery of this PDU (`None`: the oldest).
    Ack(Option<Vec<u8>>, Option<Reply<()>>),
    Send(PendingSend),
    /// `ATH`: the modem rejects calls and one rings.
    HangUp,
    Ussd(UssdRequest),
    Delete(Deletion),
    Sweep,
    Status(StatusRead),
}

impl Job {
    /// Whether a message that arrives meanwhile should go first: everything but a read.
    pub(super) fn yields_to_reads(&self) -> bool {
        !matches!(self, Job::Read(_) | Job::Drain | Job::Ack(..))
    }
}

/// The jobs waiting, by kind.
#[derive(Default)]
pub(super) struct Work {
    reads: VecDeque<Slot>,
    drain: bool,
    acks: VecDeque<AckRequest>,
    pub(super) sends: VecDeque<PendingSend>,
    hang_up: bool,
    ussd: Option<UssdRequest>,
    deletes: VecDeque<Deletion>,
    sweep: bool,
    refresh: bool,
    operator: bool,
    signal: bool,
}

impl Work {
    /// Reads `slot` (once, however often it is announced).
    pub(super) fn read(&mut self, slot: Slot) {
        if !self.reads.contains(&slot) {
            self.reads.push_back(slot);
        }
    }

    /// Lists the storages (a full SIM, a message stored where no slot number helps).
    pub(super) fn drain(&mut self) {
        self.drain = true;
    }

    pub(super) fn ack(&mut self, pdu: Option<Vec<u8>>, reply: Option<Reply<()>>) {
        self.acks.push_back((pdu, reply));
    }

    pub(super) fn delete(&mut self, deletion: Deletion) {
        self.deletes.push_back(deletion);
    }

    pub(super) fn hang_up(&mut self) {
        self.hang_up = true;
    }

    pub(super) fn ussd(&mut self, request: UssdRequest) {
        self.ussd = Some(request);
    }

    pub(super) fn ussd_queued(&self) -> bool {
        self.ussd.is_some()
    }

    pub(super) fn sweep(&mut self) {
        self.sweep = true;
    }

    pub(super) fn status(&mut self, read: StatusRead) {
        match read {
            StatusRead::Refresh => self.refresh = true,
            StatusRead::Operator => self.operator = true,
            StatusRead::Signal => self.signal = true,
        }
    }

    /// The most urgent job, taken off the queue.
    pub(super) fn next(&mut self) -> Option<Job> {
        if let Some(slot) = self.reads.pop_front() {
            return Some(Job::Read(slot));
        }
        if std::mem::take(&mut self.drain) {
            // A listing reads everything a sweep would.
            self.sweep = false;
            return Some(Job::Drain);
        }
        if let Some((pdu, reply)) = self.acks.pop_front() {
            return Some(Job::Ack(pdu, reply));
        }
        if std::mem::take(&mut self.hang_up) {
            return Some(Job::HangUp);
        }
        if let Some(send) = self.sends.pop_front() {
            return Some(Job::Send(send));
        }
        if let Some(request) = self.ussd.take() {
            return Some(Job::Ussd(request));
        }
        if let Some(deletion) = self.deletes.pop_front() {
            return Some(Job::Delete(deletion));
        }
        if std::mem::take(&mut self.sweep) {
            return Some(Job::Sweep);
        }
        if std::mem::take(&mut self.refresh) {
            // A refresh reads the operator and the signal too.
            self.operator = false;
            self.signal = false;
            return Some(Job::Status(StatusRead::Refresh));
        }
        if std::mem::take(&mut self.operator) {
            return Some(Job::Status(StatusRead::Operator));
        }
        if std::mem::take(&mut self.signal) {
            return Some(Job::Status(StatusRead::Signal));
        }
        None
    }

    /// Whether a job waits that must not wait behind `job` (see [`Job::yields_to_reads`]).
    pub(super) fn overtakes(&self, job: &Job) -> bool {
        job.yields_to_reads() && (!self.reads.is_empty() || self.drain || !self.acks.is_empty())
    }

    /// Puts `job` back at the head of its queue (something more urgent came first).
    pub(super) fn put_back(&mut self, job: Job) {
        match job {
            Job::Read(slot) => self.reads.push_front(slot),
            Job::Drain => self.drain = true,
            Job::Ack(pdu, reply) => self.acks.push_front((pdu, reply)),
            Job::Send(send) => self.sends.push_front(send),
            Job::HangUp => self.hang_up = true,
            Job::Ussd(request) => self.ussd = Some(request),
            Job::Delete(deletion) => self.deletes.push_front(deletion),
            Job::Sweep => self.sweep = true,
            Job::Status(read) => self.status(read),
        }
    }

    /// Ends the session's work: callers waiting on deletes and acknowledgements are told the
    /// modem is gone (the slots are read again after the reconnect), and the sends not started
    /// are handed back, to go out after it.
    pub(super) fn abandon(&mut self) -> VecDeque<PendingSend> {
        for deletion in self.deletes.drain(..) {
            if let Some(reply) = deletion.reply {
                let _ = reply.send(Err(crate::ModemError::Disconnected));
            }
        }
        for reply in self.acks.drain(..).filter_map(|(_, reply)| reply) {
            let _ = reply.send(Err(crate::ModemError::Disconnected));
        }
        if let Some((_, reply)) = self.ussd.take() {
            let _ = reply.send(Err(crate::ModemError::Disconnected));
        }
        self.hang_up = false;
        std::mem::take(&mut self.sends)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(job: &Job) -> String {
        match job {
            Job::Read((_, i)) => format!("read {i}"),
            Job::Drain => "drain".into(),
            Job::Ack(..) => "ack".into(),
            Job::Send(_) => "send".into(),
            Job::HangUp => "hang up".into(),
            Job::Ussd(_) => "ussd".into(),
            Job::Delete(d) => format!("delete {}", d.slot.1),
            Job::Sweep => "sweep".into(),
            Job::Status(read) => format!("{read:?}"),
        }
    }

    fn deletion(slot: u32, reply: Option<Reply<()>>) -> Deletion {
        Deletion {
            slot: (None, slot),
            pdu: None,
            reply,
        }
    }

    fn order(work: &mut Work) -> Vec<String> {
        std::iter::from_fn(|| work.next())
            .map(|j| kind(&j))
            .collect()
    }

    #[test]
    fn reads_first_then_acks_sends_deletes_and_housekeeping() {
        let mut work = Work::default();
        work.status(StatusRead::Operator);
        work.sweep();
        work.delete(deletion(1, None));
        work.delete(deletion(2, None));
        work.ack(None, None);
        let (reply, _rx) = tokio::sync::oneshot::channel();
        work.sends.push_back((vec![vec![0]], reply));
        work.read((None, 3));
        work.read((None, 4));
        work.read((None, 3));
        assert_eq!(
            order(&mut work),
            ["read 3", "read 4", "ack", "send", "delete 1", "delete 2", "sweep", "Operator"]
        );
    }

    #[test]
    fn a_listing_covers_the_sweep_and_a_refresh_covers_the_other_status_reads() {
        let mut work = Work::default();
        work.sweep();
        work.drain();
        work.status(StatusRead::Signal);
        work.status(StatusRead::Refresh);
        assert_eq!(order(&mut work), ["drain", "Refresh"]);
    }

    #[test]
    fn a_read_that_arrives_overtakes_housekeeping_but_not_another_read() {
        let mut work = Work::default();
        work.delete(deletion(1, None));
        let job = work.next().unwrap();
        assert!(!work.overtakes(&job));
        work.read((None, 2));
        assert!(work.overtakes(&job));
        work.put_back(job);
        assert_eq!(order(&mut work), ["read 2", "delete 1"]);
        work.read((None, 5));
        let read = work.next().unwrap();
        work.read((None, 6));
        assert!(!work.overtakes(&read));
    }

    #[test]
    fn abandoned_work_tells_the_waiting_callers_and_keeps_the_sends() {
        let mut work = Work::default();
        let (reply, mut rx) = tokio::sync::oneshot::channel();
        work.delete(deletion(1, Some(reply)));
        let (send_reply, _send_rx) = tokio::sync::oneshot::channel();
        work.sends.push_back((vec![vec![1]], send_reply));
        let sends = work.abandon();
        assert_eq!(sends.len(), 1);
        assert!(matches!(
            rx.try_recv(),
            Ok(Err(crate::ModemError::Disconnected))
        ));
        assert!(work.next().is_none());
    }
}
