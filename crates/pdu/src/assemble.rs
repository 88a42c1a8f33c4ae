//! Joining the parts of concatenated messages. Parts are keyed by (sender, reference, reference width,
//! total); the raw payloads of consecutive parts are joined *before* decoding, so a UCS2 character or a
//! surrogate pair split across parts survives. Nothing is ever dropped: duplicates travel with the message,
//! and a set that stops growing is handed out incomplete, with its missing part numbers, after a timeout.
//!
//! The assembler does no I/O and reads no clock: callers pass `now`, which keeps it deterministic in tests.
//! Use one assembler per modem (the key does not include the modem).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};

use crate::address::Address;
use crate::content::Content;
use crate::dcs::Encoding;
use crate::gsm7::{self, Tables};
use crate::pdu::Deliver;
use crate::userdata;

/// One received part and the caller's tag for it (a database row id, say), returned with the message so
/// the caller knows which stored PDUs it may now delete.
#[derive(Debug, Clone, PartialEq)]
pub struct Part<T> {
    /// The decoded PDU.
    pub deliver: Deliver,
    /// The caller's tag.
    pub tag: T,
}

/// A message put together from its parts (or a single-part message passed through).
#[derive(Debug, Clone, PartialEq)]
pub struct Assembled<T> {
    /// Sender of the parts.
    pub sender: Address,
    /// Timestamp of the lowest-numbered part present.
    pub timestamp: DateTime<FixedOffset>,
    /// Joined text of the parts present, in order.
    pub text: String,
    /// Encoding of the lowest-numbered part present.
    pub encoding: Encoding,
    /// What the joined user data is (for binary data and WAP push, `length` counts the bytes of every part
    /// present; the WAP content type comes from the first part's push header).
    pub content: Content,
    /// Some part present ended before its TP-UDL said.
    pub truncated: bool,
    /// Number of parts the message announced (1 for a single-part message).
    pub total: u8,
    /// `false` when handed out by a timeout or [`Assembler::flush`] before every part arrived.
    pub complete: bool,
    /// Part numbers that never arrived (empty when complete).
    pub missing: Vec<u8>,
    /// The parts, one per part number, in order.
    pub parts: Vec<Part<T>>,
    /// Further copies of a part number already present, in arrival order. A copy with different content
    /// means two messages collided on a reference; it is kept here rather than lost.
    pub duplicates: Vec<Part<T>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    sender: String,
    reference: u16,
    ref_bits: u8,
    total: u8,
}

#[derive(Debug)]
struct Pending<T> {
    parts: BTreeMap<u8, Part<T>>,
    duplicates: Vec<Part<T>>,
    last_seen: Instant,
}

/// Joins the parts of concatenated SMS-DELIVER messages.
///
/// ```
/// use std::time::{Duration, Instant};
/// use simrelay_pdu::{decode, encode_deliver, Assembler, Pdu};
///
/// let ts = chrono::DateTime::parse_from_rfc3339("2025-01-02T03:04:05+01:00").unwrap();
/// let text = "A long message. ".repeat(20);
/// let mut parts = encode_deliver("+4915123456789", &text, ts);
/// parts.reverse(); // arrival order does not matter
///
/// let mut assembler = Assembler::new(Duration::from_secs(600));
/// let now = Instant::now();
/// let mut done = Vec::new();
/// for (i, pdu) in parts.iter().enumerate() {
///     let Pdu::Deliver(d) = decode(pdu).unwrap() else { unreachable!() };
///     done.extend(assembler.push(d, i, now));
/// }
/// assert_eq!(done.len(), 1);
/// assert_eq!(done[0].text, text);
/// assert!(done[0].complete);
/// ```
#[derive(Debug)]
pub struct Assembler<T = ()> {
    timeout: Duration,
    pending: HashMap<Key, Pending<T>>,
}

impl<T> Assembler<T> {
    /// An assembler that gives up waiting for missing parts `timeout` after the last part of a set arrived.
    pub fn new(timeout: Duration) -> Self {
        Assembler {
            timeout,
            pending: HashMap::new(),
        }
    }

    /// Adds a part. Returns the message when this part completes it; a message without a concatenation
    /// header is returned at once.
    pub fn push(&mut self, deliver: Deliver, tag: T, now: Instant) -> Option<Assembled<T>> {
        let Some(concat) = deliver.concat else {
            let mut parts = BTreeMap::new();
            parts.insert(1, Part { deliver, tag });
            return Some(assemble(parts, Vec::new(), 1));
        };
        let key = Key {
            sender: deliver.sender.number.clone(),
            reference: concat.reference,
            ref_bits: concat.ref_bits,
            total: concat.total,
        };
        let entry = self.pending.entry(key.clone()).or_insert_with(|| Pending {
            parts: BTreeMap::new(),
            duplicates: Vec::new(),
            last_seen: now,
        });
        entry.last_seen = now;
        let part = Part { deliver, tag };
        match entry.parts.entry(concat.seq) {
            std::collections::btree_map::Entry::Occupied(_) => entry.duplicates.push(part),
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(part);
            }
        }
        if entry.parts.len() == usize::from(concat.total) {
            let done = self.pending.remove(&key)?;
            return Some(assemble(done.parts, done.duplicates, concat.total));
        }
        None
    }

    /// Hands out, flagged incomplete, every set whose last part arrived `timeout` or longer before `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<Assembled<T>> {
        let timeout = self.timeout;
        let due: Vec<Key> = self
            .pending
            .iter()
            .filter(|(_, p)| now.saturating_duration_since(p.last_seen) >= timeout)
            .map(|(k, _)| k.clone())
            .collect();
        let mut out: Vec<Assembled<T>> = due
            .into_iter()
            .filter_map(|k| {
                let p = self.pending.remove(&k)?;
                Some(assemble(p.parts, p.duplicates, k.total))
            })
            .collect();
        out.sort_by_key(|m| m.timestamp);
        out
    }

    /// Hands out every pending set, complete or not (at shutdown, say).
    pub fn flush(&mut self) -> Vec<Assembled<T>> {
        let mut out: Vec<Assembled<T>> = self
            .pending
            .drain()
            .map(|(k, p)| assemble(p.parts, p.duplicates, k.total))
            .collect();
        out.sort_by_key(|m| m.timestamp);
        out
    }

    /// Number of sets waiting for parts.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// When the next set will be due for [`Assembler::expire`], if any is pending.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending
            .values()
            .map(|p| p.last_seen + self.timeout)
            .min()
    }
}

/// Builds the message from a non-empty set of parts.
fn assemble<T>(parts: BTreeMap<u8, Part<T>>, duplicates: Vec<Part<T>>, total: u8) -> Assembled<T> {
    let missing: Vec<u8> = (1..=total).filter(|n| !parts.contains_key(n)).collect();
    let parts: Vec<(u8, Part<T>)> = parts.into_iter().collect();
    let text = join_text(&parts);
    let parts: Vec<Part<T>> = parts.into_iter().map(|(_, p)| p).collect();
    // `push` and `expire` only build sets holding at least one part.
    let first = &parts[0].deliver;
    let content = match first.content {
        Content::Text { .. } => first.content.clone(),
        _ => {
            let joined: Vec<u8> = parts
                .iter()
                .flat_map(|p| p.deliver.user_data.iter().copied())
                .collect();
            Content::classify(
                first.encoding,
                first.udh.as_ref().and_then(|u| u.ports),
                &joined,
            )
        }
    };
    Assembled {
        sender: first.sender.clone(),
        timestamp: first.timestamp,
        encoding: first.encoding,
        content,
        truncated: parts.iter().any(|p| p.deliver.truncated),
        text,
        total,
        complete: missing.is_empty(),
        missing,
        parts,
        duplicates,
    }
}

/// Decodes runs of consecutive parts with a common encoding from their joined payloads.
fn join_text<T>(parts: &[(u8, Part<T>)]) -> String {
    let mut text = String::new();
    let mut i = 0;
    while i < parts.len() {
        let encoding = parts[i].1.deliver.encoding;
        let mut j = i + 1;
        while j < parts.len()
            && parts[j].0 == parts[j - 1].0 + 1
            && parts[j].1.deliver.encoding == encoding
        {
            j += 1;
        }
        let run = &parts[i..j];
        match encoding {
            Encoding::Gsm7 => {
                // Each part may name its own shift tables; an escape left at the end of one part applies
                // to the first septet of the next.
                let mut decoder = gsm7::Decoder::new(Tables::default());
                for (_, p) in run {
                    let tables = p
                        .deliver
                        .udh
                        .as_ref()
                        .map(|u| Tables {
                            locking: u.locking_shift,
                            single: u.single_shift,
                        })
                        .unwrap_or_default();
                    decoder.set_tables(tables);
                    decoder.push(&p.deliver.user_data, &mut text);
                }
            }
            _ => {
                let joined: Vec<u8> = run
                    .iter()
                    .flat_map(|(_, p)| p.deliver.user_data.iter().copied())
                    .collect();
                text.push_str(&userdata::payload_text(
                    encoding,
                    &joined,
                    Tables::default(),
                ));
            }
        }
        i = j;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Address, Concat};

    fn part(
        sender: &str,
        concat: Option<(u16, u8, u8)>,
        encoding: Encoding,
        payload: &[u8],
    ) -> Deliver {
        Deliver {
            smsc: None,
            sender: Address::parse(sender),
            timestamp: DateTime::parse_from_rfc3339("2025-06-01T12:00:00+02:00").unwrap(),
            pid: 0,
            dcs: 0,
            encoding,
            class: None,
            message_waiting: None,
            indications: Vec::new(),
            content: Content::classify(encoding, None, payload),
            truncated: false,
            text: String::new(),
            concat: concat.map(|(reference, total, seq)| Concat {
                reference,
                ref_bits: 8,
                total,
                seq,
            }),
            udh: None,
            user_data: payload.to_vec(),
            more_messages: false,
            loop_prevention: false,
            status_report_indication: false,
            reply_path: false,
        }
    }

    fn gsm(s: &str) -> Vec<u8> {
        gsm7::encode(s, Tables::default()).unwrap()
    }

    #[test]
    fn out_of_order_and_duplicate_parts() {
        let mut a = Assembler::new(Duration::from_secs(60));
        let now = Instant::now();
        assert!(a
            .push(
                part("+1", Some((7, 3, 3)), Encoding::Gsm7, &gsm("!")),
                "p3",
                now
            )
            .is_none());
        assert!(a
            .push(
                part("+1", Some((7, 3, 1)), Encoding::Gsm7, &gsm("Hello")),
                "p1",
                now
            )
            .is_none());
        assert!(a
            .push(
                part("+1", Some((7, 3, 3)), Encoding::Gsm7, &gsm("!")),
                "p3 again",
                now
            )
            .is_none());
        // Same reference from another sender is another message.
        assert!(a
            .push(
                part("+2", Some((7, 3, 2)), Encoding::Gsm7, &gsm("XXX")),
                "other",
                now
            )
            .is_none());
        let m = a
            .push(
                part("+1", Some((7, 3, 2)), Encoding::Gsm7, &gsm(", world")),
                "p2",
                now,
            )
            .unwrap();
        assert_eq!(m.text, "Hello, world!");
        assert!(m.complete && m.missing.is_empty());
        assert_eq!(
            m.parts.iter().map(|p| p.tag).collect::<Vec<_>>(),
            ["p1", "p2", "p3"]
        );
        assert_eq!(
            m.duplicates.iter().map(|p| p.tag).collect::<Vec<_>>(),
            ["p3 again"]
        );
        assert_eq!(a.pending(), 1);
    }

    #[test]
    fn ucs2_split_inside_a_character_survives() {
        // "a😀b" as UTF-16BE, cut inside the surrogate pair and even inside a code unit.
        let bytes = [0x00, 0x61, 0xD8, 0x3D, 0xDE, 0x00, 0x00, 0x62];
        for cuts in [[2usize, 4], [3, 5], [1, 7]] {
            let mut a = Assembler::new(Duration::from_secs(60));
            let now = Instant::now();
            let chunks = [
                &bytes[..cuts[0]],
                &bytes[cuts[0]..cuts[1]],
                &bytes[cuts[1]..],
            ];
            let mut done = None;
            for (i, c) in chunks.iter().enumerate().rev() {
                done = a.push(
                    part("Bank", Some((200, 3, i as u8 + 1)), Encoding::Ucs2, c),
                    (),
                    now,
                );
            }
            assert_eq!(done.unwrap().text, "a😀b", "cuts {cuts:?}");
        }
    }

    #[test]
    fn escape_at_the_end_of_a_part_applies_to_the_next() {
        let mut a = Assembler::new(Duration::from_secs(60));
        let now = Instant::now();
        a.push(
            part("+1", Some((1, 2, 1)), Encoding::Gsm7, &[0x35, 0x1B]),
            (),
            now,
        );
        let m = a
            .push(
                part("+1", Some((1, 2, 2)), Encoding::Gsm7, &[0x65]),
                (),
                now,
            )
            .unwrap();
        assert_eq!(m.text, "5€");
    }

    #[test]
    fn timeout_yields_incomplete_with_missing_parts_and_keeps_everything() {
        let mut a = Assembler::new(Duration::from_secs(30));
        let t0 = Instant::now();
        a.push(
            part("+1", Some((9, 4, 1)), Encoding::Gsm7, &gsm("one ")),
            1,
            t0,
        );
        a.push(
            part("+1", Some((9, 4, 3)), Encoding::Gsm7, &gsm("three")),
            3,
            t0 + Duration::from_secs(10),
        );
        assert_eq!(a.next_deadline(), Some(t0 + Duration::from_secs(40)));
        assert!(a.expire(t0 + Duration::from_secs(39)).is_empty());
        let out = a.expire(t0 + Duration::from_secs(40));
        assert_eq!(out.len(), 1);
        let m = &out[0];
        assert!(!m.complete);
        assert_eq!(m.missing, [2, 4]);
        assert_eq!(m.text, "one three");
        assert_eq!(m.parts.iter().map(|p| p.tag).collect::<Vec<_>>(), [1, 3]);
        assert_eq!(a.pending(), 0);
    }

    #[test]
    fn single_part_passes_through_and_flush_empties() {
        let mut a = Assembler::new(Duration::from_secs(30));
        let now = Instant::now();
        let mut d = part("+1", None, Encoding::Gsm7, &gsm("hi"));
        d.text = "hi".to_owned();
        let m = a.push(d, (), now).unwrap();
        assert_eq!((m.text.as_str(), m.total, m.complete), ("hi", 1, true));
        a.push(
            part("+1", Some((3, 2, 2)), Encoding::Ucs2, &[0x00, 0x41]),
            (),
            now,
        );
        let out = a.flush();
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].text.as_str(), out[0].missing.as_slice()),
            ("A", &[1u8][..])
        );
        assert_eq!(a.pending(), 0);
    }
}
