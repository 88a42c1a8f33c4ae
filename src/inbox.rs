//! The client's copy of the message list: newest first, each message once.
//!
//! Messages reach the UI three ways that overlap: the `hello` frame on every (re)connect, live `sms` events, and
//! HTTP pages fetched to catch up or scroll back. Merging by store id (ids grow with time) makes any order of
//! arrival produce the same list, so a reconnect never shows a message twice.

use simrelay_protocol::Message;

/// Messages known to the client, sorted by id, newest first, without duplicates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inbox {
    messages: Vec<Message>,
    cap: usize,
}

impl Inbox {
    /// An empty inbox that keeps at most `cap` newest messages (older ones are left to the History screen).
    pub fn with_cap(cap: usize) -> Self {
        Self {
            messages: Vec::new(),
            cap,
        }
    }

    /// Messages, newest first.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// The newest message, if any.
    pub fn newest(&self) -> Option<&Message> {
        self.messages.first()
    }

    /// Adds `incoming`; a message whose id is already known replaces the old copy (it may carry newer status).
    /// Returns the ids that were not known before, in the order given.
    pub fn merge(&mut self, incoming: impl IntoIterator<Item = Message>) -> Vec<i64> {
        let mut added = Vec::new();
        for message in incoming {
            match self.messages.binary_search_by(|m| message.id.cmp(&m.id)) {
                Ok(i) => self.messages[i] = message,
                Err(i) => {
                    added.push(message.id);
                    self.messages.insert(i, message);
                }
            }
        }
        if self.cap > 0 && self.messages.len() > self.cap {
            self.messages.truncate(self.cap);
        }
        added
    }

    /// True when a `hello` frame's `recent` list does not reach back to what we already hold, so messages that
    /// arrived while we were disconnected may be missing and a longer page should be fetched.
    pub fn has_gap_before(&self, recent: &[Message]) -> bool {
        let Some(newest_known) = self.newest().map(|m| m.id) else {
            return false;
        };
        match recent.iter().map(|m| m.id).min() {
            Some(oldest_recent) => oldest_recent > newest_known,
            None => false,
        }
    }

    /// Puts `message` in place of the copy with its id (its code was changed); a message not held is not added,
    /// because only new messages may join the list (they are counted as unread).
    pub fn replace(&mut self, message: Message) {
        if let Ok(i) = self.messages.binary_search_by(|m| message.id.cmp(&m.id)) {
            self.messages[i] = message;
        }
    }

    /// Forgets the message with `id` (deleted on the server).
    pub fn remove(&mut self, id: i64) {
        self.messages.retain(|m| m.id != id);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::DateTime;

    /// A message with `id`, used by tests of other modules too.
    pub(crate) fn msg(id: i64, text: &str) -> Message {
        let t = DateTime::parse_from_rfc3339("2026-11-22T10:00:00+01:00").expect("valid");
        Message {
            id,
            modem: "demo".into(),
            sender: "+491701234567".into(),
            text: text.into(),
            code: None,
            code_span: None,
            sent_at: t,
            received_at: t,
            encoding: None,
            decode_error: None,
            incomplete: false,
            confidence: None,
            origin: None,
            alternatives: Vec::new(),
            ..Message::default()
        }
    }

    fn ids(inbox: &Inbox) -> Vec<i64> {
        inbox.messages().iter().map(|m| m.id).collect()
    }

    #[test]
    fn merge_orders_newest_first_and_dedups() {
        let mut inbox = Inbox::with_cap(0);
        assert_eq!(
            inbox.merge([msg(2, "b"), msg(5, "e"), msg(3, "c")]),
            vec![2, 5, 3]
        );
        assert_eq!(
            inbox.merge([msg(5, "e2"), msg(4, "d"), msg(2, "b")]),
            vec![4]
        );
        assert_eq!(ids(&inbox), vec![5, 4, 3, 2]);
        assert_eq!(
            inbox.newest().map(|m| m.text.as_str()),
            Some("e2"),
            "a known id is replaced, not duplicated"
        );
    }

    #[test]
    fn cap_keeps_the_newest() {
        let mut inbox = Inbox::with_cap(2);
        inbox.merge((1..=5).map(|i| msg(i, "x")));
        assert_eq!(ids(&inbox), vec![5, 4]);
    }

    #[test]
    fn a_changed_code_replaces_the_copy_but_never_adds() {
        let mut inbox = Inbox::with_cap(0);
        inbox.merge([msg(1, "a"), msg(2, "b")]);
        let mut changed = msg(1, "a");
        changed.code = Some("4821".into());
        inbox.replace(changed);
        inbox.replace(msg(9, "unknown"));
        assert_eq!(ids(&inbox), vec![2, 1]);
        assert_eq!(inbox.messages()[1].code.as_deref(), Some("4821"));
    }

    #[test]
    fn remove_by_id() {
        let mut inbox = Inbox::with_cap(0);
        inbox.merge([msg(1, "a"), msg(2, "b")]);
        inbox.remove(1);
        inbox.remove(7);
        assert_eq!(ids(&inbox), vec![2]);
    }

    #[test]
    fn gap_detection() {
        let mut inbox = Inbox::with_cap(0);
        assert!(
            !inbox.has_gap_before(&[msg(9, "x")]),
            "nothing known: nothing missed"
        );
        inbox.merge([msg(3, "c")]);
        assert!(
            !inbox.has_gap_before(&[msg(5, "e"), msg(3, "c")]),
            "overlap: nothing missed"
        );
        // Ids may skip, so no overlap at all is treated as a possible gap: one extra fetch is cheap.
        assert!(inbox.has_gap_before(&[msg(4, "d")]));
        assert!(inbox.has_gap_before(&[msg(9, "i"), msg(8, "h")]));
        assert!(!inbox.has_gap_before(&[]));
    }
}
