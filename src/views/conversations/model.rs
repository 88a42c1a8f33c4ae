//! What the Conversations screen computes, apart from the DOM: which thread the address names, the rows'
//! previews, a thread's entries kept in order across pages and live updates, the shown delivery status, and
//! where search words match. Pure functions, tested natively.

use std::collections::BTreeMap;

use simrelay_protocol::{SendStatus, ThreadEntry};

use crate::endpoint::percent_encode;
use crate::outbox::{rank, Progress};

/// The address of the list.
pub const LIST_HASH: &str = "#/conversations";

/// The address of the thread with `peer`.
pub fn thread_hash(peer: &str) -> String {
    format!("{LIST_HASH}/{}", percent_encode(peer))
}

/// The correspondent whose thread `hash` names (`#/conversations/<percent-encoded peer>`); `None` for the list or
/// anything malformed.
pub fn peer_from_hash(hash: &str) -> Option<String> {
    let encoded = hash.strip_prefix(LIST_HASH)?.strip_prefix('/')?;
    let peer = decode_segment(encoded)?;
    (!peer.is_empty()).then_some(peer)
}

/// Decodes `%XX` escapes of a path segment (a `+` stays a `+`); `None` when an escape is malformed or the
/// result is not UTF-8.
fn decode_segment(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Longest preview of the last message in a row, in characters.
const PREVIEW_CHARS: usize = 90;

/// The row's one-line preview of its newest message: the first line, shortened, "You: " before what was sent.
pub fn preview(entry: &ThreadEntry) -> String {
    let line: String = entry
        .text()
        .split(['\n', '\r'])
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_owned();
    let short = if line.chars().count() > PREVIEW_CHARS {
        format!(
            "{}…",
            line.chars().take(PREVIEW_CHARS - 1).collect::<String>()
        )
    } else {
        line
    };
    match entry {
        ThreadEntry::Sent(_) => format!("You: {short}"),
        ThreadEntry::Received(_) => short,
    }
}

/// The status to show for a sent entry: the further along of what the thread page said and what `sent` frames
/// said since (`live`), so a bubble moves on without a refetch and never back.
pub fn shown_status(
    page: SendStatus,
    page_error: Option<&str>,
    live: Option<&Progress>,
) -> (SendStatus, Option<String>) {
    match live {
        Some(p) if rank(p.status) > rank(page) => (p.status, p.error.clone()),
        _ => (page, page_error.map(str::to_owned)),
    }
}

/// A status as the bubble says it, with its CSS class.
pub fn status_label(status: SendStatus, error: Option<&str>) -> (String, &'static str) {
    match (status, error) {
        (SendStatus::Failed, Some(e)) => (format!("failed: {e}"), "state state-bad"),
        (SendStatus::Failed, None) => ("failed".to_owned(), "state state-bad"),
        (SendStatus::Delivered, _) => ("delivered".to_owned(), "state state-ok"),
        (SendStatus::Sent, _) => ("sent".to_owned(), "state state-ok"),
        (other, _) => (format!("{}…", other.as_str()), "state state-connecting"),
    }
}

/// A thread's entries as fetched so far (pages, refreshes), each once, in the order a phone shows them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thread {
    /// By (time in µs, kind, id): oldest first, the order the server pages in, reversed.
    entries: BTreeMap<(i64, u8, i64), ThreadEntry>,
}

fn order_key(entry: &ThreadEntry) -> (i64, u8, i64) {
    match entry {
        ThreadEntry::Received(m) => (m.received_at.timestamp_micros(), 0, m.id),
        ThreadEntry::Sent(s) => (s.created_at.timestamp_micros(), 1, s.id),
    }
}

impl Thread {
    /// Adds or replaces entries (a newer copy of a sent message carries its newer status).
    pub fn merge(&mut self, entries: impl IntoIterator<Item = ThreadEntry>) {
        for entry in entries {
            self.entries.insert(order_key(&entry), entry);
        }
    }

    /// Adds entries that arrived live (a `message` or `sent` frame), returning how many received ones are new.
    /// Unless the whole thread is held (`complete`), one older than the oldest held is left out: it belongs to a
    /// page not fetched yet, and showing it would hide the gap before it.
    pub fn merge_live(
        &mut self,
        entries: impl IntoIterator<Item = ThreadEntry>,
        complete: bool,
    ) -> usize {
        let oldest = self.entries.keys().next().copied();
        let mut new_received = 0;
        for entry in entries {
            let key = order_key(&entry);
            if !complete && oldest.is_some_and(|oldest| key < oldest) {
                continue;
            }
            let received = matches!(entry, ThreadEntry::Received(_));
            if self.entries.insert(key, entry).is_none() && received {
                new_received += 1;
            }
        }
        new_received
    }

    /// Oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &ThreadEntry> {
        self.entries.values()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Byte ranges in `text` where any of `words` matches, ignoring case; for [`crate::highlight::split_ranges`].
pub fn search_ranges(text: &str, words: &[String]) -> Vec<[usize; 2]> {
    let mut ranges = Vec::new();
    for word in words.iter().filter(|w| !w.trim().is_empty()) {
        let mut offset = 0;
        for (hit, piece) in crate::highlight::split_matches(text, word) {
            if hit {
                ranges.push([offset, offset + piece.len()]);
            }
            offset += piece.len();
        }
    }
    ranges.sort_unstable();
    // Overlapping matches of two words: keep the earlier, as split_ranges skips overlaps anyway.
    let mut kept: Vec<[usize; 2]> = Vec::new();
    for range in ranges {
        if kept.last().is_none_or(|last| range[0] >= last[1]) {
            kept.push(range);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use simrelay_protocol::{Message, SentMessage};

    fn received(id: i64, at: &str, text: &str) -> ThreadEntry {
        let at = DateTime::parse_from_rfc3339(at).expect("time");
        ThreadEntry::Received(Message {
            modem: "twilio-us".into(),
            sender: "+15555550100".into(),
            sent_at: at,
            received_at: at,
            ..crate::inbox::tests::msg(id, text)
        })
    }

    fn sent(id: i64, at: &str, status: SendStatus) -> ThreadEntry {
        ThreadEntry::Sent(SentMessage {
            id,
            modem: "twilio-us".into(),
            to: "+15555550100".into(),
            text: "ok".into(),
            status,
            error: None,
            message_refs: Vec::new(),
            parts: 1,
            created_at: DateTime::parse_from_rfc3339(at).expect("time"),
            updated_at: DateTime::parse_from_rfc3339(at).expect("time"),
        })
    }

    #[test]
    fn the_hash_names_the_thread_and_round_trips_any_peer() {
        for peer in ["+15555550100", "DemoBank", "Dr. Ünal & Co/2", "a b"] {
            assert_eq!(
                peer_from_hash(&thread_hash(peer)).as_deref(),
                Some(peer),
                "{peer}"
            );
        }
        assert_eq!(thread_hash("+1"), "#/conversations/%2B1");
        assert_eq!(peer_from_hash("#/conversations/+1").as_deref(), Some("+1"));
        for not_a_thread in [
            "#/conversations",
            "#/conversations/",
            "#/conversations/%zz",
            "#/conversations/%C3",
            "#/live",
            "",
        ] {
            assert_eq!(peer_from_hash(not_a_thread), None, "{not_a_thread}");
        }
    }

    #[test]
    fn previews_take_the_first_line_and_say_who_wrote() {
        assert_eq!(
            preview(&received(1, "2026-11-22T09:00:00Z", "\n  Hello\nthere")),
            "Hello"
        );
        assert_eq!(
            preview(&sent(1, "2026-11-22T09:00:00Z", SendStatus::Sent)),
            "You: ok"
        );
        let long = "x".repeat(200);
        let shown = preview(&received(1, "2026-11-22T09:00:00Z", &long));
        assert_eq!(shown.chars().count(), PREVIEW_CHARS);
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn a_thread_keeps_each_entry_once_oldest_first_across_pages() {
        let mut thread = Thread::default();
        thread.merge([
            sent(1, "2026-11-22T09:02:00Z", SendStatus::Sending),
            received(7, "2026-11-22T09:01:00Z", "b"),
        ]);
        thread.merge([
            received(7, "2026-11-22T09:01:00Z", "b"),
            received(6, "2026-11-22T09:00:00Z", "a"),
        ]);
        // A refresh brings the sent message's newer status: replaced, not doubled.
        thread.merge([sent(1, "2026-11-22T09:02:00Z", SendStatus::Delivered)]);
        let keys: Vec<String> = thread.entries().map(ThreadEntry::key).collect();
        assert_eq!(keys, ["r6", "r7", "s1"]);
        assert!(matches!(thread.entries().last(),
            Some(ThreadEntry::Sent(s)) if s.status == SendStatus::Delivered));
        assert_eq!(thread.len(), 3);
    }

    #[test]
    fn live_entries_join_the_held_window_only() {
        let mut thread = Thread::default();
        thread.merge([received(7, "2026-11-22T09:01:00Z", "b")]);
        let added = thread.merge_live(
            [
                received(6, "2026-11-22T09:00:00Z", "older than the page"),
                received(7, "2026-11-22T09:01:00Z", "b"),
                received(8, "2026-11-22T09:03:00Z", "new"),
                sent(2, "2026-11-22T09:04:00Z", SendStatus::Queued),
            ],
            false,
        );
        assert_eq!(added, 1, "only r8 is a newly received one");
        let keys: Vec<String> = thread.entries().map(ThreadEntry::key).collect();
        assert_eq!(keys, ["r7", "r8", "s2"]);
        // With the whole thread held, an older one is simply part of it.
        assert_eq!(
            thread.merge_live([received(6, "2026-11-22T09:00:00Z", "a")], true),
            1
        );
        assert_eq!(thread.len(), 4);
        // An empty thread takes anything.
        let mut empty = Thread::default();
        assert_eq!(
            empty.merge_live([received(1, "2026-11-22T09:00:00Z", "x")], false),
            1
        );
    }

    #[test]
    fn a_live_status_wins_only_when_it_is_further_along() {
        let live = Progress {
            id: 1,
            status: SendStatus::Delivered,
            error: None,
        };
        assert_eq!(
            shown_status(SendStatus::Sent, None, Some(&live)).0,
            SendStatus::Delivered
        );
        let stale = Progress {
            id: 1,
            status: SendStatus::Sending,
            error: None,
        };
        assert_eq!(
            shown_status(SendStatus::Sent, None, Some(&stale)).0,
            SendStatus::Sent
        );
        assert_eq!(
            status_label(SendStatus::Failed, Some("no credit")).0,
            "failed: no credit"
        );
        assert_eq!(status_label(SendStatus::Sending, None).0, "sending…");
    }

    #[test]
    fn search_words_are_found_without_regard_to_case() {
        let words = vec!["EIGHT".to_owned(), "at".to_owned()];
        let text = "Yes, at eight. Great!";
        let ranges = search_ranges(text, &words);
        let found: Vec<&str> = ranges.iter().map(|[s, e]| &text[*s..*e]).collect();
        assert_eq!(found, ["at", "eight", "at"]);
        assert!(search_ranges(text, &[]).is_empty());
        // Multi-byte text keeps char boundaries.
        let ranges = search_ranges("Größe größer", &["GRÖ".into()]);
        assert_eq!(ranges, [[0, 4], [8, 12]]);
    }
}
