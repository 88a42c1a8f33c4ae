//! Conversations: received and sent messages grouped by correspondent (the sender of received messages, the
//! recipient of sent ones), with keyset pages and a read mark per correspondent.
//!
//! Received and sent messages have separate id sequences, so both lists are ordered by time (`received_at`,
//! `created_at`), then by kind and id, and a page cursor names that triple (or, for the list, the time and the
//! correspondent). Cursors are opaque strings to clients: `<unix micros>.<kind><id>` and
//! `<unix micros>.<hex of the peer>`. The SQL is the same on every backend (row-value comparisons, `CASE`
//! instead of the two-argument `MAX`/`GREATEST`, `LOWER(..) LIKE LOWER(..)` for the thread search).

use chrono::{DateTime, Utc};
use simrelay_protocol::{Conversation, ThreadEntry};
use sqlx::Row;

use super::{on_db, Store, StoreError};

/// Longest search accepted within a thread, in words (each must appear).
const MAX_WORDS: usize = 8;

/// Where a page of the conversation list continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationCursor {
    at: DateTime<Utc>,
    peer: String,
}

/// Where a page of a thread continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadCursor {
    at: DateTime<Utc>,
    kind: char,
    id: i64,
}

fn time_of(micros: &str) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_micros(micros.parse().ok()?)
}

impl ConversationCursor {
    /// The opaque form clients pass back as `before=`.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.at.timestamp_micros(), hex::encode(&self.peer))
    }

    /// Reads what [`ConversationCursor::encode`] made; `None` for anything else.
    pub fn parse(text: &str) -> Option<ConversationCursor> {
        let (micros, peer) = text.split_once('.')?;
        Some(ConversationCursor {
            at: time_of(micros)?,
            peer: String::from_utf8(hex::decode(peer).ok()?).ok()?,
        })
    }
}

impl ThreadCursor {
    /// The opaque form clients pass back as `before=`.
    pub fn encode(&self) -> String {
        format!("{}.{}{}", self.at.timestamp_micros(), self.kind, self.id)
    }

    /// Reads what [`ThreadCursor::encode`] made; `None` for anything else.
    pub fn parse(text: &str) -> Option<ThreadCursor> {
        let (micros, rest) = text.split_once('.')?;
        let kind = rest.chars().next().filter(|k| matches!(k, 'r' | 's'))?;
        Some(ThreadCursor {
            at: time_of(micros)?,
            kind,
            id: rest[1..].parse().ok()?,
        })
    }
}

/// One page of the conversation list.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationList {
    /// Most recent activity first.
    pub conversations: Vec<Conversation>,
    /// Where the next page starts, when there is one.
    pub next: Option<ConversationCursor>,
}

/// One page of a thread.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadEntries {
    /// Newest first.
    pub entries: Vec<ThreadEntry>,
    /// Where the next page starts, when there is one.
    pub next: Option<ThreadCursor>,
}

/// `LIKE` pattern matching `word` anywhere (in lower case), with the pattern characters escaped (escape
/// character `\`).
fn contains_pattern(word: &str) -> String {
    let mut pattern = String::with_capacity(word.len() + 2);
    pattern.push('%');
    for c in word.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A row of [`PEERS`]: the correspondent, the newest received and sent ids, the time of the later.
type PeerRow = (String, Option<i64>, Option<i64>, DateTime<Utc>);

/// Every correspondent with the id of the newest message from it (`rid`) and to it (`sid`), and the time of the
/// later of the two (`at`).
const PEERS: &str = "WITH r AS (SELECT sender AS peer, MAX(id) AS rid FROM messages WHERE sender <> '' GROUP BY sender), \
     s AS (SELECT recipient AS peer, MAX(id) AS sid FROM sent GROUP BY recipient), \
     p AS (SELECT peer FROM r UNION SELECT peer FROM s), \
     t AS (SELECT p.peer AS peer, r.rid AS rid, s.sid AS sid, m.received_at AS rat, x.created_at AS sat \
           FROM p LEFT JOIN r ON r.peer = p.peer LEFT JOIN s ON s.peer = p.peer \
           LEFT JOIN messages m ON m.id = r.rid LEFT JOIN sent x ON x.id = s.sid), \
     u AS (SELECT peer, rid, sid, \
           CASE WHEN sat IS NULL OR (rat IS NOT NULL AND rat >= sat) THEN rat ELSE sat END AS at FROM t) \
     SELECT peer, rid, sid, at FROM u";

impl Store {
    /// One page of correspondents, most recent activity (received or sent) first.
    pub async fn conversations(
        &self,
        before: Option<&ConversationCursor>,
        limit: u32,
    ) -> Result<ConversationList, StoreError> {
        let rows: Vec<PeerRow> = on_db!(self, db => {
            let mut sql = db.builder(PEERS);
            if let Some(cursor) = before {
                sql.push(" WHERE (at, peer) < (")
                    .push_bind(db.time(cursor.at))
                    .push(", ")
                    .push_bind(cursor.peer.clone())
                    .push(")");
            }
            sql.push(" ORDER BY at DESC, peer DESC LIMIT ")
                .push_bind(i64::from(limit) + 1);
            let rows = sql.build().fetch_all(db.reader()).await?;
            rows.iter()
                .map(|row| {
                    Ok((
                        row.try_get("peer")?,
                        row.try_get("rid")?,
                        row.try_get("sid")?,
                        row.time("at")?.with_timezone(&Utc),
                    ))
                })
                .collect::<Result<Vec<_>, StoreError>>()?
        });
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut list = ConversationList {
            conversations: Vec::new(),
            next: None,
        };
        for (peer, rid, sid, _) in rows.iter().take(limit) {
            let received = match rid {
                Some(id) => self.get(*id).await?,
                None => None,
            };
            let sent = match sid {
                Some(id) => self.get_sent(*id).await?,
                None => None,
            };
            let reply_from = received
                .as_ref()
                .map(|m| m.modem.clone())
                .or_else(|| sent.as_ref().map(|s| s.modem.clone()));
            let last = match (received, sent) {
                (Some(m), Some(s)) if s.created_at > m.received_at => ThreadEntry::Sent(s),
                (Some(m), _) => ThreadEntry::Received(m),
                (None, Some(s)) => ThreadEntry::Sent(s),
                // Deleted between the two queries.
                (None, None) => continue,
            };
            let unread = self.unread(peer).await?;
            list.conversations.push(Conversation {
                peer: peer.clone(),
                last,
                unread,
                reply_from,
            });
        }
        if rows.len() > limit {
            if let Some((peer, _, _, at)) = limit.checked_sub(1).and_then(|i| rows.get(i)) {
                list.next = Some(ConversationCursor {
                    at: *at,
                    peer: peer.clone(),
                });
            }
        }
        Ok(list)
    }

    /// One page of the thread with `peer`, newest first; with `words`, only messages whose text contains every
    /// word (ignoring case).
    pub async fn thread(
        &self,
        peer: &str,
        before: Option<&ThreadCursor>,
        words: &[String],
        limit: u32,
    ) -> Result<ThreadEntries, StoreError> {
        // (kind, id, time)
        let rows: Vec<(String, i64, DateTime<Utc>)> = on_db!(self, db => {
            let mut sql = db.builder(
                "SELECT kind, id, at FROM (SELECT 'r' AS kind, id, received_at AS at, text FROM messages \
                 WHERE sender = ",
            );
            sql.push_bind(peer.to_owned())
                .push(" UNION ALL SELECT 's' AS kind, id, created_at AS at, text FROM sent WHERE recipient = ")
                .push_bind(peer.to_owned())
                .push(") AS thread WHERE 1 = 1");
            for word in words.iter().take(MAX_WORDS) {
                sql.push(" AND LOWER(text) LIKE ")
                    .push_bind(contains_pattern(word))
                    .push(" ESCAPE '\\'");
            }
            if let Some(cursor) = before {
                sql.push(" AND (at, kind, id) < (")
                    .push_bind(db.time(cursor.at))
                    .push(", ")
                    .push_bind(cursor.kind.to_string())
                    .push(", ")
                    .push_bind(cursor.id)
                    .push(")");
            }
            sql.push(" ORDER BY at DESC, kind DESC, id DESC LIMIT ")
                .push_bind(i64::from(limit) + 1);
            let rows = sql.build().fetch_all(db.reader()).await?;
            rows.iter()
                .map(|row| {
                    Ok((
                        row.try_get("kind")?,
                        row.try_get("id")?,
                        row.time("at")?.with_timezone(&Utc),
                    ))
                })
                .collect::<Result<Vec<_>, StoreError>>()?
        });
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut page = ThreadEntries {
            entries: Vec::new(),
            next: None,
        };
        for (kind, id, at) in rows.iter().take(limit) {
            let entry = if kind == "r" {
                self.get(*id).await?.map(ThreadEntry::Received)
            } else {
                self.get_sent(*id).await?.map(ThreadEntry::Sent)
            };
            page.entries.extend(entry);
            if rows.len() > limit {
                page.next = Some(ThreadCursor {
                    at: *at,
                    kind: if kind == "r" { 'r' } else { 's' },
                    id: *id,
                });
            }
        }
        Ok(page)
    }

    /// Received messages from `peer` newer than its read mark.
    pub async fn unread(&self, peer: &str) -> Result<u32, StoreError> {
        let count: i64 = on_db!(self, db => sqlx::query_scalar(
            "SELECT COUNT(*) FROM messages WHERE sender = $1 AND id > \
             COALESCE((SELECT read_up_to FROM conversation_reads WHERE peer = $1), 0)",
        )
        .bind(peer)
        .fetch_one(db.reader())
        .await?);
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    /// The modem or source a reply to `peer` goes out through: the one its newest received message came in
    /// on, else the one the newest message sent to it used.
    pub async fn reply_from(&self, peer: &str) -> Result<Option<String>, StoreError> {
        on_db!(self, db => Ok(sqlx::query_scalar(
            "SELECT COALESCE((SELECT modem FROM messages WHERE sender = $1 ORDER BY id DESC LIMIT 1), \
                             (SELECT modem FROM sent WHERE recipient = $1 ORDER BY id DESC LIMIT 1))",
        )
        .bind(peer)
        .fetch_one(db.reader())
        .await?))
    }

    /// Marks what `peer` sent up to message `up_to` (default: everything so far) as read; a mark never moves
    /// back. Returns how many stay unread.
    pub async fn mark_read(&self, peer: &str, up_to: Option<i64>) -> Result<u32, StoreError> {
        on_db!(self, db => {
            let up_to: i64 = match up_to {
                Some(id) => id,
                None => sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM messages WHERE sender = $1")
                    .bind(peer)
                    .fetch_one(db.reader())
                    .await?,
            };
            sqlx::query(
                "INSERT INTO conversation_reads (peer, read_up_to, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (peer) DO UPDATE SET updated_at = excluded.updated_at, read_up_to = \
                 CASE WHEN excluded.read_up_to > conversation_reads.read_up_to \
                      THEN excluded.read_up_to ELSE conversation_reads.read_up_to END",
            )
            .bind(peer)
            .bind(up_to)
            .bind(db.time(Utc::now()))
            .execute(db.writer())
            .await?;
        });
        self.unread(peer).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Inserted, NewMessage, SendStatus};

    fn message(sender: &str, text: &str, modem: &str) -> NewMessage {
        crate::store::testing::received(modem, sender, text, format!("{sender}/{text}"))
    }

    async fn receive(store: &Store, sender: &str, text: &str, modem: &str) -> i64 {
        match store
            .insert_message(&message(sender, text, modem))
            .await
            .expect("insert")
        {
            Inserted::New(m) => m.id,
            Inserted::Duplicate => panic!("duplicate"),
        }
    }

    async fn send(store: &Store, to: &str, text: &str, modem: &str) -> i64 {
        let id = store.insert_sent(modem, to, text, 1).await.expect("insert");
        store
            .update_sent(id, SendStatus::Sent, None, &[1])
            .await
            .expect("update");
        id
    }

    #[tokio::test]
    async fn threads_interleave_received_and_sent_by_time_and_page_without_gaps() {
        for store in crate::store::testing::stores().await {
            threads_interleave(&store).await;
        }
    }

    async fn threads_interleave(store: &Store) {
        let mut expected = Vec::new();
        for i in 0..7 {
            if i % 3 == 2 {
                let id = send(store, "+15555550100", &format!("reply {i}"), "twilio-us").await;
                expected.push(format!("s{id}"));
            } else {
                let id = receive(store, "+15555550100", &format!("hello {i}"), "twilio-us").await;
                expected.push(format!("r{id}"));
            }
            // Someone else's messages never show in this thread.
            receive(store, "DemoBank", &format!("other {i}"), "demo").await;
        }
        expected.reverse();
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store
                .thread("+15555550100", cursor.as_ref(), &[], 3)
                .await
                .expect("thread");
            assert!(page.entries.len() <= 3);
            seen.extend(page.entries.iter().map(ThreadEntry::key));
            match page.next {
                Some(next) => {
                    // Through the opaque form, as a client passes it back.
                    cursor = Some(ThreadCursor::parse(&next.encode()).expect("round trip"));
                }
                None => break,
            }
        }
        assert_eq!(seen, expected);
        let found = store
            .thread("+15555550100", None, &["REPLY".into()], 50)
            .await
            .expect("search");
        assert_eq!(found.entries.len(), 2);
        assert!(found.entries.iter().all(|e| e.text().starts_with("reply")));
        let none = store
            .thread("+15555550100", None, &["100%".into()], 50)
            .await
            .expect("search");
        assert!(none.entries.is_empty(), "LIKE wildcards are literal");
    }

    #[tokio::test]
    async fn the_list_has_one_row_per_correspondent_with_unread_counts_and_the_reply_modem() {
        for store in crate::store::testing::stores().await {
            the_list_has_one_row_per_correspondent(&store).await;
        }
    }

    async fn the_list_has_one_row_per_correspondent(store: &Store) {
        let first = receive(store, "+15555550100", "hi", "twilio-us").await;
        receive(store, "+15555550100", "are you there?", "twilio-us").await;
        receive(store, "DemoBank", "Your code is 1234", "demo").await;
        send(store, "+4915123456789", "only sent", "imei:1").await;
        receive(store, "", "undecodable", "demo").await;
        send(store, "+15555550100", "yes", "twilio-us").await;

        let list = store.conversations(None, 50).await.expect("list");
        let peers: Vec<&str> = list.conversations.iter().map(|c| c.peer.as_str()).collect();
        assert_eq!(peers, ["+15555550100", "+4915123456789", "DemoBank"]);
        let twilio = &list.conversations[0];
        assert!(matches!(&twilio.last, ThreadEntry::Sent(s) if s.text == "yes"));
        assert_eq!(
            (twilio.unread, twilio.reply_from.as_deref()),
            (2, Some("twilio-us"))
        );
        assert_eq!(list.conversations[1].unread, 0);
        assert_eq!(list.conversations[1].reply_from.as_deref(), Some("imei:1"));
        assert!(list.next.is_none());

        // Pages of one, through the opaque cursor.
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store.conversations(cursor.as_ref(), 1).await.expect("page");
            seen.extend(page.conversations.iter().map(|c| c.peer.clone()));
            match page.next {
                Some(next) => cursor = ConversationCursor::parse(&next.encode()),
                None => break,
            }
        }
        assert_eq!(seen, peers);

        assert_eq!(
            store
                .mark_read("+15555550100", Some(first))
                .await
                .expect("read"),
            1
        );
        assert_eq!(
            store
                .mark_read("+15555550100", Some(0))
                .await
                .expect("read"),
            1,
            "never back"
        );
        assert_eq!(
            store.mark_read("+15555550100", None).await.expect("read"),
            0
        );
        receive(store, "+15555550100", "one more", "twilio-us").await;
        assert_eq!(store.unread("+15555550100").await.expect("unread"), 1);
    }

    #[test]
    fn cursors_refuse_what_they_did_not_make() {
        for bad in ["", "x", "1.", "1.q3", "abc.r1", "1.s", "1.zz"] {
            assert!(ThreadCursor::parse(bad).is_none(), "{bad}");
        }
        assert!(ConversationCursor::parse("1.zz").is_none());
        let cursor = ConversationCursor::parse("1732266002123456.4142").expect("valid");
        assert_eq!(cursor.peer, "AB");
        assert_eq!(cursor.at.to_rfc3339(), "2024-11-22T09:00:02.123456+00:00");
        assert_eq!(cursor.encode(), "1732266002123456.4142");
    }
}
