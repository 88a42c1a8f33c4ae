//! Listing and searching messages: filters, full-text search with highlights, keyset pagination, written once
//! for every backend; how a text query matches is each backend's (`sqlite/fts.rs`: FTS5, `postgres/fts.rs`:
//! `tsvector`), given to this module as a [`TextMatch`].
//!
//! Pages are cut by id (`before` / `after`), not by offset, so a page stays correct while new messages
//! arrive and costs the same deep in the history as at the top. Every word of a text query must match the text
//! or the sender as a prefix, accents and case aside; results come newest first and the index is walked in
//! that order where the backend can, so a common word costs no more than a rare one.
//!
//! Best-match order has to score every match, so it ranks only the newest [`RANK_WINDOW`] matches.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};
use simrelay_protocol::Message;
use sqlx::{QueryBuilder, Row};

use super::{message_from_row, on_db, Store, StoreError};

/// Marks the start and end of a match in the marked text a backend returns. Private-use characters: they
/// cannot come from a GSM 7-bit message, and if a UCS2 message carries them, the check in [`match_ranges`]
/// drops the highlight.
pub(crate) const MARK_START: char = '\u{E000}';
pub(crate) const MARK_END: char = '\u{E001}';

/// Order of the results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    /// Newest first (the default; pages continue with `before`).
    #[default]
    NewestFirst,
    /// Oldest first (used to hand out the next code after a known id).
    OldestFirst,
    /// Best match first (with a text query only; one page, no cursor).
    Relevance,
}

/// What to list. Every filter is optional; `limit` bounds the page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageQuery {
    /// Full-text search terms: every word must match the text or the sender, as a prefix.
    pub text: Option<String>,
    /// Exact sender.
    pub sender: Option<String>,
    /// Exact modem id.
    pub modem: Option<String>,
    /// Only messages with (true) or without (false) a code.
    pub has_code: Option<bool>,
    /// Received at or after this time.
    pub since: Option<DateTime<FixedOffset>>,
    /// Received before this time.
    pub until: Option<DateTime<FixedOffset>>,
    /// Only ids below this (the `next` cursor of the previous page).
    pub before: Option<i64>,
    /// Only ids above this.
    pub after: Option<i64>,
    /// Page size.
    pub limit: u32,
    /// Result order.
    pub order: Order,
}

/// One page of results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    /// The messages, in the requested order.
    pub messages: Vec<Message>,
    /// Cursor for the next page (newest-first order only), when there are more.
    pub next: Option<i64>,
    /// For a text search: byte ranges of the matches in each message's text, by id.
    pub highlights: BTreeMap<i64, Vec<[usize; 2]>>,
}

/// Best-match order ranks at most this many matches (the newest ones), so its cost is bounded too.
pub const RANK_WINDOW: u32 = 2000;

/// How a backend matches a text query, as SQL around the one bound value: `SELECT <columns>, <marked>[,
/// <score>] <from> $query <after> AND <filters> ORDER BY <id> ...`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TextMatch {
    /// From `FROM` up to the bound query (the messages table is `m`).
    pub(crate) from: &'static str,
    /// The bound query, in the backend's syntax.
    pub(crate) query: String,
    /// What follows the bound query, up to where the filters join with `AND`.
    pub(crate) after: &'static str,
    /// How the text with every match wrapped in [`MARK_START`] / [`MARK_END`] is had.
    pub(crate) marks: Marks,
    /// A select expression for the best-match score, lower is better.
    pub(crate) score: &'static str,
    /// The id column to order and cut pages on (the index's own row id where that lets it stop early).
    pub(crate) id: &'static str,
    /// Set where the database cannot tell a rare query from a common one before running it, so the matches
    /// a page is cut from are found first by [`Probe`]'s steps; `None` where the text index itself yields
    /// matches in id order and stops at the page (FTS5).
    pub(crate) probe: Option<Probe>,
}

/// How the matches are found on a database whose planner would guess wrong (PostgreSQL estimates every prefix
/// `tsquery` at a fixed 2 % of the rows, so it walks the whole table newest first for a rare word): the search
/// walks at most [`walk_rows`] of the newest rows that pass the filters and keeps those that match (a common
/// word fills the page there); only when that walk leaves the page short does it ask the text index for the
/// matches beyond the walk, in any order, and sort them (a rare word: few matches). The page itself is then
/// read by id, so its columns, highlights and best-match order are had as without a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Probe {
    /// The condition that the row `m` matches, before and after the bound query.
    pub(crate) matches: (&'static str, &'static str),
    /// The columns of `m` that condition reads.
    pub(crate) reads: &'static str,
    /// The condition that `m.id` is among the ids in the bound value (comma-separated), before and after it.
    pub(crate) among: (&'static str, &'static str),
}

/// How many rows the walk of a [`Probe`] reads for `wanted` matches: enough that a word in one message of
/// a hundred fills the page there; a rarer word has fewer matches in the text index than a longer walk
/// would read rows (over a million messages, a word in 1 % of them is where the two cost about the same).
/// Bounded, because a best-match window (2,000) or a large page must not walk far.
pub(crate) fn walk_rows(wanted: u32) -> u32 {
    wanted.saturating_mul(100).min(20_000)
}

/// Where a backend marks the matches in a message's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marks {
    /// A select expression of the search query itself (FTS5's `highlight()` works only there).
    Inline(&'static str),
    /// A query run on the page afterwards, so the marking costs a page, not every match: `$1` is
    /// [`TextMatch::query`], `$2` the page's ids comma-separated; it returns `id` and `marked`.
    After(&'static str),
}

const COLUMNS: &str =
    "m.id, m.modem, m.sender, m.text, m.code, m.code_start, m.code_end, m.sent_at, \
     m.received_at, m.encoding, m.decode_error, m.incomplete, m.code_confidence, m.code_origin, \
     m.code_origin_embedded, m.code_alternatives, m.content, m.flash, m.truncated, m.indications";

impl Store {
    /// Lists messages matching `query`.
    pub async fn search(&self, query: &MessageQuery) -> Result<Found, StoreError> {
        on_db!(self, db => {
            let mut conn = db.reader().acquire().await?;
            let text = match query.text.as_deref() {
                Some(input) => match db.text_match(&mut conn, input).await? {
                    // Terms without a letter or digit, or a word no indexed term starts with: nothing matches.
                    None => return Ok(Found::default()),
                    Some(text) => Some(text),
                },
                None => None,
            };
            let order = if text.is_none() && query.order == Order::Relevance {
                Order::NewestFirst
            } else {
                query.order
            };
            // The filters, on the id column `id` (where a query must not use the primary key, `m.id + 0`).
            let filters = |sql: &mut QueryBuilder<'static, _>, id: &str| {
                if let Some(sender) = &query.sender {
                    sql.push(" AND m.sender = ").push_bind(sender.clone());
                }
                if let Some(modem) = &query.modem {
                    sql.push(" AND m.modem = ").push_bind(modem.clone());
                }
                match query.has_code {
                    Some(true) => sql.push(" AND m.code IS NOT NULL"),
                    Some(false) => sql.push(" AND m.code IS NULL"),
                    None => &mut *sql,
                };
                if let Some(since) = query.since {
                    sql.push(" AND m.received_at >= ").push_bind(db.time(since.with_timezone(&Utc)));
                }
                if let Some(until) = query.until {
                    sql.push(" AND m.received_at < ").push_bind(db.time(until.with_timezone(&Utc)));
                }
                if let Some(before) = query.before {
                    sql.push(format!(" AND {id} < ")).push_bind(before);
                }
                if let Some(after) = query.after {
                    sql.push(format!(" AND {id} > ")).push_bind(after);
                }
            };
            // With a probe, the ids of the matches the page is cut from (see `Probe`): the newest ones, or
            // the oldest in oldest-first order.
            let mut among = None;
            if let Some(TextMatch { probe: Some(probe), query: words, .. }) = &text {
                let wanted = match order {
                    Order::Relevance => RANK_WINDOW,
                    _ => query.limit.saturating_add(1),
                };
                let walk = walk_rows(wanted);
                let (direction, beyond) = match order {
                    Order::OldestFirst => ("ASC", ">"),
                    _ => ("DESC", "<"),
                };
                // The walk: if it finds `wanted` matches, they are the newest of all (it reads newest first).
                // Its shape leaves the planner one way to run it, so it is prepared once and reused (a round
                // trip less for the common word); the step beyond the walk is planned for its own words and
                // bounds, never reused: on a reused statement PostgreSQL may switch to a generic plan, which
                // knows neither (seen with a plain `m.id < $n` there: the whole primary key read into a bitmap).
                let mut sql = db.builder("SELECT m.id FROM (SELECT m.id, ");
                sql.push(probe.reads).push(" FROM messages m WHERE 1 = 1");
                filters(&mut sql, "m.id");
                sql.push(format!(" ORDER BY m.id {direction} LIMIT {walk}) AS m WHERE "));
                sql.push(probe.matches.0).push_bind(words.clone()).push(probe.matches.1);
                sql.push(format!(" ORDER BY m.id {direction} LIMIT {wanted}"));
                let mut ids: Vec<i64> = sql.build_query_scalar().fetch_all(&mut *conn).await?;
                if ids.len() < usize::try_from(wanted).unwrap_or(usize::MAX) {
                    // Where the walk ended: if it read every row that passes the filters, it found all.
                    let mut sql = db.builder("SELECT COUNT(*) AS walked, MIN(m.id) AS low, MAX(m.id) AS high \
                        FROM (SELECT m.id FROM messages m WHERE 1 = 1");
                    filters(&mut sql, "m.id");
                    sql.push(format!(" ORDER BY m.id {direction} LIMIT {walk}) AS m"));
                    let row = sql.build().fetch_one(&mut *conn).await?;
                    let walked: i64 = row.try_get("walked")?;
                    if walked >= i64::from(walk) {
                        let edge: i64 =
                            row.try_get(if order == Order::OldestFirst { "high" } else { "low" })?;
                        // The text index for the rest: `m.id + 0` keeps the planner from walking the
                        // primary key again (or reading it into a bitmap) for the bounds and the order.
                        let mut sql = db.builder("SELECT m.id FROM messages m WHERE ");
                        sql.push(probe.matches.0).push_bind(words.clone()).push(probe.matches.1);
                        filters(&mut sql, "m.id + 0");
                        sql.push(format!(" AND m.id + 0 {beyond} ")).push_bind(edge);
                        sql.push(format!(" ORDER BY m.id + 0 {direction} LIMIT "))
                            .push_bind(i64::from(wanted) - i64::try_from(ids.len()).unwrap_or(0));
                        ids.extend(
                            sql.build_query_scalar::<i64>()
                                .persistent(false)
                                .fetch_all(&mut *conn)
                                .await?,
                        );
                    }
                }
                if ids.is_empty() {
                    return Ok(Found::default());
                }
                let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
                among = Some((probe.among, ids.join(",")));
            }

            let mut sql = db.builder("");
            if order == Order::Relevance {
                // The window of newest matches is cut inside, ranked outside.
                sql.push("SELECT * FROM (");
            }
            sql.push("SELECT ");
            sql.push(COLUMNS);
            let id = match &text {
                Some(text) => {
                    if let Marks::Inline(marked) = text.marks {
                        sql.push(", ").push(marked).push(" AS marked");
                    }
                    if order == Order::Relevance {
                        sql.push(", ").push(text.score).push(" AS score");
                    }
                    sql.push(" ").push(text.from).push_bind(text.query.clone()).push(text.after);
                    text.id
                }
                None => {
                    sql.push(" FROM messages m WHERE 1 = 1");
                    "m.id"
                }
            };
            filters(&mut sql, id);
            if let Some(((before, after), ids)) = among {
                sql.push(" AND ").push(before).push_bind(ids).push(after);
            }
            sql.push(match order {
                Order::NewestFirst => format!(" ORDER BY {id} DESC"),
                Order::OldestFirst => format!(" ORDER BY {id} ASC"),
                Order::Relevance => format!(
                    " ORDER BY {id} DESC LIMIT {RANK_WINDOW}) AS newest ORDER BY score, id DESC"
                ),
            });
            // One row more than asked tells whether there is a next page.
            sql.push(" LIMIT ").push_bind(i64::from(query.limit) + 1);

            let rows = sql.build().fetch_all(&mut *conn).await?;
            let mut found = Found::default();
            let mut marked = BTreeMap::new();
            for row in rows
                .iter()
                .take(usize::try_from(query.limit).unwrap_or(usize::MAX))
            {
                let message = message_from_row(row)?;
                if matches!(text, Some(TextMatch { marks: Marks::Inline(_), .. })) {
                    marked.insert(message.id, row.try_get::<String, _>("marked")?);
                }
                found.messages.push(message);
            }
            if let Some(TextMatch { marks: Marks::After(marks), query, .. }) = &text {
                if !found.messages.is_empty() {
                    let ids: Vec<String> = found.messages.iter().map(|m| m.id.to_string()).collect();
                    for row in sqlx::query(marks)
                        .bind(query)
                        .bind(ids.join(","))
                        .fetch_all(&mut *conn)
                        .await?
                    {
                        marked.insert(row.try_get("id")?, row.try_get("marked")?);
                    }
                }
            }
            for message in &found.messages {
                if let Some(marked) = marked.get(&message.id) {
                    let ranges = match_ranges(marked, &message.text);
                    if !ranges.is_empty() {
                        found.highlights.insert(message.id, ranges);
                    }
                }
            }
            if rows.len() > found.messages.len() && order == Order::NewestFirst {
                found.next = found.messages.last().map(|m| m.id);
            }
            Ok(found)
        })
    }
}

/// The words of a search that can match anything (with a letter or digit).
pub(crate) fn query_words(input: &str) -> impl Iterator<Item = &str> {
    input
        .split_whitespace()
        .filter(|word| word.chars().any(char::is_alphanumeric))
}

/// Byte ranges of the marked matches, relative to the unmarked text. Empty if removing the marks does not
/// give back `text` exactly (the text itself contained a marker character).
fn match_ranges(marked: &str, text: &str) -> Vec<[usize; 2]> {
    let mut plain = String::with_capacity(marked.len());
    let mut ranges = Vec::new();
    let mut start = None;
    for c in marked.chars() {
        match c {
            MARK_START => start = Some(plain.len()),
            MARK_END => {
                if let Some(s) = start.take() {
                    ranges.push([s, plain.len()]);
                }
            }
            c => plain.push(c),
        }
    }
    if plain == text {
        ranges
    } else {
        Vec::new()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::testing::stores;
    use crate::store::{Inserted, NewMessage};

    /// Stores one message per `(sender, text, code)` in `store` (modems alternate `even`/`odd`); their ids.
    pub(crate) async fn store_with(
        store: &Store,
        texts: &[(&str, &str, Option<&str>)],
    ) -> Vec<i64> {
        let mut ids = Vec::new();
        for (i, (sender, text, code)) in texts.iter().enumerate() {
            let modem = if i % 2 == 0 { "even" } else { "odd" };
            let pdu = [u8::try_from(i).expect("small")];
            let new = NewMessage {
                code: code.map(str::to_owned),
                ..crate::store::testing::received(modem, sender, text, pdu)
            };
            let Inserted::New(m) = store.insert_message(&new).await.expect("insert") else {
                panic!("dup")
            };
            ids.push(m.id);
        }
        ids
    }

    pub(crate) fn query(limit: u32) -> MessageQuery {
        MessageQuery {
            limit,
            ..MessageQuery::default()
        }
    }

    async fn ids_for(store: &Store, q: MessageQuery) -> Vec<i64> {
        let found = store.search(&q).await.expect("search");
        found.messages.iter().map(|m| m.id).collect()
    }

    #[tokio::test]
    async fn text_search_matches_prefixes_without_accents_and_highlights() {
        for store in stores().await {
            let ids = store_with(
                &store,
                &[
                    ("Bank", "Tu código de acceso es 8267", Some("8267")),
                    ("Shop", "Your order shipped", None),
                    ("Bank", "Your verification code is 482913", Some("482913")),
                ],
            )
            .await;
            let found = store
                .search(&MessageQuery {
                    text: Some("codigo".into()),
                    ..query(10)
                })
                .await
                .expect("q");
            assert_eq!(
                found.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
                vec![ids[0]],
                "{}",
                store.backend
            );
            let text = &found.messages[0].text;
            let [s, e] = found.highlights[&ids[0]][0];
            assert_eq!(&text[s..e], "código", "{}", store.backend);

            let verif = MessageQuery {
                text: Some("verif".into()),
                ..query(10)
            };
            assert_eq!(
                ids_for(&store, verif).await,
                vec![ids[2]],
                "{}",
                store.backend
            );
            // A sender is searchable too; every word must match.
            let both = MessageQuery {
                text: Some("bank your".into()),
                ..query(10)
            };
            assert_eq!(
                ids_for(&store, both).await,
                vec![ids[2]],
                "{}",
                store.backend
            );
            // Query syntax in the input is just text, never an error.
            for weird in [
                "\"",
                "code OR",
                "NEAR(a b)",
                "*",
                "a:b",
                "(((",
                "-x",
                "!code",
                "a & b",
                "x:*",
                "'",
                "\\",
                "<->",
            ] {
                store
                    .search(&MessageQuery {
                        text: Some(weird.into()),
                        ..query(10)
                    })
                    .await
                    .expect(weird);
            }
            let nothing = MessageQuery {
                text: Some("!!".into()),
                ..query(10)
            };
            assert!(
                ids_for(&store, nothing).await.is_empty(),
                "{}",
                store.backend
            );
        }
    }

    #[tokio::test]
    async fn pages_continue_with_the_cursor_and_filters_combine() {
        for store in stores().await {
            let rows: Vec<(&str, &str, Option<&str>)> = (0..7)
                .map(|i| ("S", "message", if i % 3 == 0 { Some("1") } else { None }))
                .collect();
            let ids = store_with(&store, &rows).await;
            let first = store.search(&query(3)).await.expect("page 1");
            assert_eq!(
                first.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
                vec![ids[6], ids[5], ids[4]]
            );
            assert_eq!(first.next, Some(ids[4]));
            let second = store
                .search(&MessageQuery {
                    before: first.next,
                    ..query(3)
                })
                .await
                .expect("page 2");
            let third = store
                .search(&MessageQuery {
                    before: second.next,
                    ..query(3)
                })
                .await
                .expect("page 3");
            assert_eq!(
                third.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
                vec![ids[0]]
            );
            assert_eq!(third.next, None);
            // The same pages with a text query.
            let text_page = |before| MessageQuery {
                text: Some("mess".into()),
                before,
                ..query(3)
            };
            let first_text = store.search(&text_page(None)).await.expect("text page 1");
            assert_eq!(first_text.next, Some(ids[4]), "{}", store.backend);
            let second_text = store
                .search(&text_page(first_text.next))
                .await
                .expect("text page 2");
            assert_eq!(
                second_text
                    .messages
                    .iter()
                    .map(|m| m.id)
                    .collect::<Vec<_>>(),
                vec![ids[3], ids[2], ids[1]],
                "{}",
                store.backend
            );

            let with_code = MessageQuery {
                has_code: Some(true),
                ..query(10)
            };
            assert_eq!(
                ids_for(&store, with_code).await,
                vec![ids[6], ids[3], ids[0]]
            );
            let even_code = MessageQuery {
                has_code: Some(true),
                modem: Some("even".into()),
                ..query(10)
            };
            assert_eq!(ids_for(&store, even_code).await.len(), 2);
            let oldest = MessageQuery {
                after: Some(ids[1]),
                order: Order::OldestFirst,
                ..query(1)
            };
            assert_eq!(ids_for(&store, oldest).await, vec![ids[2]]);
            let future = DateTime::parse_from_rfc3339("2100-01-01T00:00:00+00:00").expect("valid");
            let since = MessageQuery {
                since: Some(future),
                ..query(10)
            };
            assert!(ids_for(&store, since).await.is_empty());
            let until = MessageQuery {
                until: Some(future),
                ..query(10)
            };
            assert_eq!(ids_for(&store, until).await.len(), 7);
        }
    }

    #[tokio::test]
    async fn deleting_removes_it_from_search() {
        for store in stores().await {
            let ids = store_with(&store, &[("A", "unique words here", None)]).await;
            assert!(store.delete(ids[0]).await.expect("delete"));
            assert!(!store.delete(ids[0]).await.expect("delete again"));
            let unique = MessageQuery {
                text: Some("unique".into()),
                ..query(10)
            };
            assert!(
                ids_for(&store, unique).await.is_empty(),
                "{}",
                store.backend
            );
            assert!(
                store.raw_pdus(ids[0]).await.expect("pdus").is_empty(),
                "raw PDUs go with it"
            );
        }
    }

    /// Words that complete one another, in text and senders, with accents, digits and punctuation.
    pub(crate) const COMPLETIONS: [(&str, &str, Option<&str>); 7] = [
        ("Bank", "Your code is 1234", Some("1234")),
        ("Shop", "Two codes: 11 and 22", None),
        ("Codex", "nothing to see", None),
        ("Bank", "Tu código es 5678 CODE", Some("5678")),
        ("Air", "Gate B12 boarding, codeshare flight", None),
        ("+4915123456789", "call me", None),
        ("Bank", "coda: the end", None),
    ];

    #[tokio::test]
    async fn prefixes_match_every_completion_and_highlights_cover_them() {
        for store in stores().await {
            let ids = store_with(&store, &COMPLETIONS).await;
            for (input, expected) in [
                ("code", vec![4, 3, 2, 1, 0]),
                ("CODE", vec![4, 3, 2, 1, 0]),
                ("cod", vec![6, 4, 3, 2, 1, 0]),
                ("codex", vec![2]),
                ("bank code", vec![3, 0]),
                ("b12", vec![4]),
                ("4915", vec![5]),
                ("codi", vec![3]),
                ("código", vec![3]),
                ("cod bo", vec![4]),
                ("zzz", vec![]),
                ("code zzz", vec![]),
                ("gate, b12", vec![4]),
                ("", vec![]),
            ] {
                let q = MessageQuery {
                    text: Some(input.into()),
                    ..query(100)
                };
                let expected: Vec<i64> = expected.iter().map(|&i: &usize| ids[i]).collect();
                assert_eq!(
                    ids_for(&store, q).await,
                    expected,
                    "{input:?} on {}",
                    store.backend
                );
            }
            let found = store
                .search(&MessageQuery {
                    text: Some("code".into()),
                    ..query(100)
                })
                .await
                .expect("q");
            let marked: Vec<&str> = found
                .messages
                .iter()
                .flat_map(|m| {
                    found
                        .highlights
                        .get(&m.id)
                        .into_iter()
                        .flatten()
                        .map(|[s, e]| &m.text[*s..*e])
                })
                .collect();
            for word in ["code", "codes", "codeshare", "CODE"] {
                assert!(
                    marked.contains(&word),
                    "{word} in {marked:?} on {}",
                    store.backend
                );
            }
        }
    }

    #[tokio::test]
    async fn relevance_ranks_the_newest_matches() {
        for store in stores().await {
            let ids = store_with(
                &store,
                &[
                    ("Code", "your code code code", None),
                    (
                        "Other",
                        "a long message that mentions the code once among many other words",
                        None,
                    ),
                    ("Other", "nothing", None),
                ],
            )
            .await;
            let found = store
                .search(&MessageQuery {
                    text: Some("code".into()),
                    order: Order::Relevance,
                    ..query(10)
                })
                .await
                .expect("q");
            assert_eq!(
                found.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
                vec![ids[0], ids[1]],
                "{}",
                store.backend
            );
            assert_eq!(found.next, None);
            assert!(found.highlights.contains_key(&ids[1]), "{}", store.backend);
        }
    }

    /// Message `i` of [`probe_store`]: its sender, text and code.
    fn probe_message(i: usize) -> (&'static str, String, Option<&'static str>) {
        let mut words = vec![format!("ref{i:04}")];
        // A word in every third message, one in four messages, one in every 97th, and one in an old message only.
        if i.is_multiple_of(3) {
            words.push("alpha".into());
        }
        if [5, 51, 500, 1190].contains(&i) {
            words.push("delta".into());
        }
        if i.is_multiple_of(97) {
            words.push("zeta".into());
        }
        if i == 7 {
            words.push("omega".into());
        }
        // On both sides of where a walk of 300 rows ends, newest first (900) and oldest first after 300 (600).
        if [600, 601, 899, 900].contains(&i) {
            words.push("edge".into());
        }
        words.push("message".into());
        let sender = ["Bank", "Shop", "Air"][i % 3];
        (
            sender,
            words.join(" "),
            i.is_multiple_of(7).then_some("1234"),
        )
    }

    /// Messages one can search beyond a probe's walk (1,200, in batches as ingest commits them), whether a
    /// query matches each (every word a prefix of a word of its text or sender, as [`MessageQuery::text`]
    /// says), and the time between the first 600 and the rest.
    struct ProbeStore {
        /// `(id, modem, sender, text, has a code, in the second half)`, oldest first.
        rows: Vec<(i64, String, String, String, bool, bool)>,
        middle: DateTime<FixedOffset>,
    }

    async fn probe_store(store: &Store) -> ProbeStore {
        let mut rows = Vec::new();
        let mut middle = None;
        for batch in 0..12 {
            if batch == 6 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                middle = Some(Utc::now().fixed_offset());
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            let news: Vec<NewMessage> = (batch * 100..batch * 100 + 100)
                .map(|i| {
                    let (sender, text, code) = probe_message(i);
                    let modem = if i % 2 == 0 { "even" } else { "odd" };
                    let pdu = u16::try_from(i).expect("small").to_be_bytes();
                    NewMessage {
                        code: code.map(str::to_owned),
                        ..crate::store::testing::received(modem, sender, &text, pdu)
                    }
                })
                .collect();
            for (new, inserted) in news
                .iter()
                .zip(store.insert_messages(&news).await.expect("insert"))
            {
                let Inserted::New(m) = inserted else {
                    panic!("dup")
                };
                rows.push((
                    m.id,
                    new.modem.clone(),
                    new.sender.clone(),
                    new.text.clone(),
                    new.code.is_some(),
                    batch >= 6,
                ));
            }
        }
        rows.sort_by_key(|row| row.0);
        ProbeStore {
            rows,
            middle: middle.expect("set"),
        }
    }

    impl ProbeStore {
        /// The ids `q` must find, in its order (no page cut).
        fn expected(&self, q: &MessageQuery) -> Vec<i64> {
            let words: Vec<String> = q
                .text
                .iter()
                .flat_map(|t| t.split_whitespace())
                .map(str::to_lowercase)
                .collect();
            let mut ids: Vec<i64> = self
                .rows
                .iter()
                .filter(|(id, modem, sender, text, code, late)| {
                    let tokens: Vec<String> = format!("{sender} {text}")
                        .split(|c: char| !c.is_alphanumeric())
                        .map(str::to_lowercase)
                        .collect();
                    words
                        .iter()
                        .all(|w| tokens.iter().any(|t| t.starts_with(w.as_str())))
                        && q.modem.as_ref().is_none_or(|m| m == modem)
                        && q.sender.as_ref().is_none_or(|s| s == sender)
                        && q.has_code.is_none_or(|c| c == *code)
                        && q.since.is_none_or(|_| *late)
                        && q.until.is_none_or(|_| !*late)
                        && q.before.is_none_or(|b| *id < b)
                        && q.after.is_none_or(|a| *id > a)
                })
                .map(|row| row.0)
                .collect();
            if q.order != Order::OldestFirst {
                ids.reverse();
            }
            ids
        }
    }

    /// The probe's steps (walk, then the text index beyond it) must give exactly what one query over every row
    /// gives: words in every third message, in a few, in the oldest only, prefixes completing to 100 and
    /// 1,000 index terms (beyond the 32 that SQLite expands), with every filter, newest first page by page
    /// across the walk's end, oldest first after a cursor, and a best-match window.
    #[tokio::test]
    async fn rare_and_common_words_and_long_prefixes_page_like_one_query() {
        for store in stores().await {
            let data = probe_store(&store).await;
            let backend = store.backend;
            let filters: Vec<(&str, MessageQuery)> = vec![
                ("none", query(0)),
                (
                    "modem",
                    MessageQuery {
                        modem: Some("odd".into()),
                        ..query(0)
                    },
                ),
                (
                    "sender",
                    MessageQuery {
                        sender: Some("Shop".into()),
                        ..query(0)
                    },
                ),
                (
                    "code",
                    MessageQuery {
                        has_code: Some(true),
                        ..query(0)
                    },
                ),
                (
                    "no code",
                    MessageQuery {
                        has_code: Some(false),
                        ..query(0)
                    },
                ),
                (
                    "since",
                    MessageQuery {
                        since: Some(data.middle),
                        ..query(0)
                    },
                ),
                (
                    "until",
                    MessageQuery {
                        until: Some(data.middle),
                        ..query(0)
                    },
                ),
            ];
            let texts = [
                "alpha",
                "delta",
                "omega",
                "zeta",
                "edge",
                "ref0",
                "ref00",
                "ref11",
                "ref",
                "alpha zeta",
                "bank delta",
                "ref0 shop",
                "nothing",
            ];
            for (name, filter) in &filters {
                for text in texts {
                    for limit in [2, 50] {
                        let mut q = MessageQuery {
                            text: Some(text.into()),
                            limit,
                            ..filter.clone()
                        };
                        let expected = data.expected(&q);
                        let case =
                            format!("{text:?} filtered by {name}, limit {limit}, on {backend}");
                        // Newest first, page by page (at most 4 pages of a long list).
                        let mut seen = Vec::new();
                        for page in 0..4 {
                            let found = store.search(&q).await.expect("search");
                            seen.extend(found.messages.iter().map(|m| m.id));
                            let want = &expected[..seen.len().min(expected.len())];
                            assert_eq!(seen, want, "{case}, page {page}");
                            assert_eq!(
                                found.next.is_some(),
                                seen.len() < expected.len(),
                                "{case}, page {page}"
                            );
                            match found.next {
                                Some(next) => q.before = Some(next),
                                None => break,
                            }
                        }
                        // Oldest first after a cursor in the middle of the history.
                        let oldest = MessageQuery {
                            text: Some(text.into()),
                            after: Some(data.rows[300].0),
                            order: Order::OldestFirst,
                            limit,
                            ..filter.clone()
                        };
                        let expected = data.expected(&oldest);
                        let found = store.search(&oldest).await.expect("oldest first");
                        let ids: Vec<i64> = found.messages.iter().map(|m| m.id).collect();
                        assert_eq!(
                            ids,
                            expected[..expected.len().min(limit as usize)],
                            "{case}, oldest first"
                        );
                    }
                }
            }
            // Best match ranks the newest matches; here all of them.
            let relevance = MessageQuery {
                text: Some("delta".into()),
                order: Order::Relevance,
                ..query(10)
            };
            let mut ids: Vec<i64> = store
                .search(&relevance)
                .await
                .expect("relevance")
                .messages
                .iter()
                .map(|m| m.id)
                .collect();
            ids.sort_unstable();
            let mut expected = data.expected(&relevance);
            expected.sort_unstable();
            assert_eq!(ids, expected, "best match on {backend}");
        }
    }

    #[test]
    fn marks_become_ranges_only_when_they_reproduce_the_text() {
        assert_eq!(
            match_ranges("a \u{E000}bc\u{E001} d", "a bc d"),
            vec![[2, 4]]
        );
        assert!(match_ranges("a \u{E000}bc\u{E001} d", "a bc e").is_empty());
    }
}
