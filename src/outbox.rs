//! Messages sent from this browser and where each one stands, fed by `sent` WebSocket frames.
//!
//! Statuses reach the client in any order: the `queued` and `sending` frames often arrive before the answer to
//! `POST /api/send` that tells us the id, and the catch-up `GET /api/sent/{id}` after a reconnect may race a live
//! frame. So every status seen is kept by id, and a status only ever moves forward (queued → sending → sent →
//! delivered/failed): an older report arriving late can never make a sent message look queued again.

use std::collections::BTreeMap;

use simrelay_protocol::{SendAccepted, SendStatus, SentMessage};

/// How many statuses of messages sent elsewhere (other tabs, scripts) are remembered in case this page learns
/// their id later; older ones are forgotten first.
const FOREIGN_CAP: usize = 100;

/// One message sent from this page.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Id in the sent sequence.
    pub id: i64,
    /// Recipient as sent.
    pub to: String,
    /// Text as sent.
    pub text: String,
}

/// Where one message stands, from whichever told us last: the answer to `POST /api/send` ([`SendAccepted`]),
/// a `sent` frame or `GET /api/sent/{id}` ([`SentMessage`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Id in the sent sequence.
    pub id: i64,
    /// Where it stands.
    pub status: SendStatus,
    /// Why it failed, phrased for the user.
    pub error: Option<String>,
}

impl From<SendAccepted> for Progress {
    fn from(accepted: SendAccepted) -> Progress {
        Progress {
            id: accepted.id,
            status: accepted.status,
            error: None,
        }
    }
}

impl From<SentMessage> for Progress {
    fn from(sent: SentMessage) -> Progress {
        Progress {
            id: sent.id,
            status: sent.status,
            error: sent.error,
        }
    }
}

/// Progress of a status, for ordering: later steps win.
pub fn rank(status: SendStatus) -> u8 {
    match status {
        SendStatus::Queued => 0,
        SendStatus::Sending => 1,
        SendStatus::Sent => 2,
        SendStatus::Delivered | SendStatus::Failed => 3,
    }
}

/// The steps shown under a sent message, each `(label, reached)`.
pub fn steps(status: SendStatus) -> Vec<(&'static str, bool)> {
    let r = rank(status);
    let failed = status == SendStatus::Failed;
    let last = if failed {
        SendStatus::Failed
    } else {
        SendStatus::Delivered
    };
    vec![
        (SendStatus::Queued.as_str(), true),
        (SendStatus::Sending.as_str(), r >= 1 || failed),
        (SendStatus::Sent.as_str(), r >= 2 && !failed),
        (last.as_str(), r >= 3),
    ]
}

/// How many messages seen in `sent` frames (from any client) are kept whole, for the screens that show them as
/// they appear (a conversation's thread); older ones are forgotten first.
const RECENT_CAP: usize = 50;

/// Messages sent from this page (oldest first), the newest status known for every id, and the messages the
/// latest `sent` frames carried.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outbox {
    items: Vec<Outgoing>,
    statuses: BTreeMap<i64, Progress>,
    recent: Vec<SentMessage>,
}

impl Outbox {
    /// Messages sent from this page, oldest first.
    pub fn items(&self) -> &[Outgoing] {
        &self.items
    }

    /// The newest status known for `id`.
    pub fn status(&self, id: i64) -> Option<&Progress> {
        self.statuses.get(&id)
    }

    /// Records a message the server accepted, with the status its answer carried. A status that arrived earlier
    /// over the WebSocket is kept if it is further along.
    pub fn add(&mut self, item: Outgoing, accepted: impl Into<Progress>) {
        if !self.items.iter().any(|i| i.id == item.id) {
            self.items.push(item);
        }
        self.apply(accepted);
    }

    /// Applies a status report; returns whether it changed what is shown. Reports that would move a message
    /// backwards are ignored; a report of equal rank replaces the old one (it may carry the error text).
    pub fn apply(&mut self, status: impl Into<Progress>) -> bool {
        let status = status.into();
        let id = status.id;
        if let Some(old) = self.statuses.get(&id) {
            if rank(status.status) < rank(old.status) || *old == status {
                return false;
            }
        }
        self.statuses.insert(id, status);
        self.forget_foreign();
        true
    }

    /// Applies a `sent` frame: its status as [`Outbox::apply`] does, and the message itself is kept among the
    /// recent ones (replacing an older copy only when it is further along). Returns whether the status changed.
    pub fn observe(&mut self, sent: SentMessage) -> bool {
        match self.recent.iter_mut().find(|s| s.id == sent.id) {
            Some(kept) if rank(sent.status) >= rank(kept.status) => *kept = sent.clone(),
            Some(_) => {}
            None => {
                self.recent.push(sent.clone());
                self.recent.sort_by_key(|s| s.id);
                if self.recent.len() > RECENT_CAP {
                    self.recent.remove(0);
                }
            }
        }
        self.apply(sent)
    }

    /// Messages seen in `sent` frames lately, sent from any client, oldest first, each at its newest status.
    pub fn recent(&self) -> &[SentMessage] {
        &self.recent
    }

    /// Ids of messages sent from this page whose status can still change: the ones to ask about after a
    /// reconnect, when frames may have been missed. `sent` still counts: a delivery report may move it on.
    pub fn pending(&self) -> Vec<i64> {
        self.items
            .iter()
            .filter(|i| {
                self.statuses
                    .get(&i.id)
                    .is_none_or(|s| !s.status.is_final())
            })
            .map(|i| i.id)
            .collect()
    }

    fn forget_foreign(&mut self) {
        let foreign: Vec<i64> = self
            .statuses
            .keys()
            .copied()
            .filter(|id| !self.items.iter().any(|i| i.id == *id))
            .collect();
        if foreign.len() > FOREIGN_CAP {
            // Ids grow with time, so the smallest are the oldest.
            for id in &foreign[..foreign.len() - FOREIGN_CAP] {
                self.statuses.remove(id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(id: i64, status: &str) -> Progress {
        Progress {
            id,
            status: status.parse().expect("a status"),
            error: None,
        }
    }

    fn item(id: i64) -> Outgoing {
        Outgoing {
            id,
            to: "+15555550100".into(),
            text: "hi".into(),
        }
    }

    #[test]
    fn frames_before_the_post_answer_are_kept() {
        let mut o = Outbox::default();
        assert!(o.apply(st(7, "queued")));
        assert!(o.apply(st(7, "sending")));
        o.add(item(7), st(7, "queued"));
        assert_eq!(o.status(7).map(|s| s.status.as_str()), Some("sending"));
        assert_eq!(o.items().len(), 1);
        assert_eq!(o.pending(), vec![7]);
    }

    #[test]
    fn status_only_moves_forward() {
        let mut o = Outbox::default();
        o.add(item(1), st(1, "queued"));
        assert!(o.apply(st(1, "sent")));
        assert!(!o.apply(st(1, "sending")), "a late frame is ignored");
        assert!(!o.apply(st(1, "sent")), "a repeat changes nothing");
        assert_eq!(o.status(1).map(|s| s.status.as_str()), Some("sent"));
        assert_eq!(o.pending(), vec![1], "a delivery report may still come");
        let mut failed = st(1, "failed");
        failed.error = Some("no network".into());
        assert!(o.apply(failed), "a failure report after sent counts");
        assert_eq!(
            o.status(1).and_then(|s| s.error.as_deref()),
            Some("no network")
        );
        assert!(o.pending().is_empty(), "failed is final");
    }

    fn frame(id: i64, status: &str) -> SentMessage {
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-22T09:00:00Z").expect("time");
        SentMessage {
            id,
            modem: "twilio-us".into(),
            to: "+15555550100".into(),
            text: format!("message {id}"),
            status: status.parse().expect("a status"),
            error: None,
            message_refs: Vec::new(),
            parts: 1,
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn sent_frames_keep_recent_messages_whole_and_bounded() {
        let mut o = Outbox::default();
        assert!(o.observe(frame(2, "sending")));
        assert!(o.observe(frame(1, "queued")));
        assert!(
            !o.observe(frame(2, "queued")),
            "a late frame changes nothing"
        );
        let kept: Vec<(i64, &str)> = o
            .recent()
            .iter()
            .map(|s| (s.id, s.status.as_str()))
            .collect();
        assert_eq!(kept, [(1, "queued"), (2, "sending")]);
        assert_eq!(o.status(2).map(|s| s.status.as_str()), Some("sending"));
        for id in 3..200 {
            o.observe(frame(id, "sent"));
        }
        assert_eq!(o.recent().len(), RECENT_CAP);
        assert_eq!(
            o.recent().first().map(|s| s.id),
            Some(200 - RECENT_CAP as i64)
        );
    }

    #[test]
    fn adding_twice_keeps_one_item() {
        let mut o = Outbox::default();
        o.add(item(3), st(3, "queued"));
        o.add(item(3), st(3, "queued"));
        assert_eq!(o.items().len(), 1);
    }

    #[test]
    fn statuses_of_other_senders_are_bounded() {
        let mut o = Outbox::default();
        o.add(item(1), st(1, "queued"));
        for id in 2..400 {
            o.apply(st(id, "sent"));
        }
        assert!(o.status(1).is_some(), "our own message is never forgotten");
        assert!(o.status(2).is_none(), "the oldest foreign status went");
        assert!(o.status(399).is_some());
    }

    #[test]
    fn steps_follow_the_status() {
        let steps = |s: &str| steps(s.parse().expect("a status"));
        assert_eq!(
            steps("sending"),
            vec![
                ("queued", true),
                ("sending", true),
                ("sent", false),
                ("delivered", false)
            ]
        );
        assert_eq!(steps("failed").last(), Some(&("failed", true)));
        assert_eq!(steps("failed")[2], ("sent", false));
        assert!(steps("delivered").iter().all(|(_, on)| *on));
    }
}
