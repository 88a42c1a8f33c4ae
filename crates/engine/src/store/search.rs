//! Listing and searching messages: filters, full-text search (FTS5) with highlights, keyset pagination.
//!
//! Pages are cut by id (`before` / `after`), not by offset, so a page stays correct while new messages
//! arrive and costs the same deep in the history as at the top.
//!
//! A text search must cost about the same for a word in every third message as for a word in one: FTS5 walks
//! an exact term's list of rows newest first and stops at the page's limit, but it answers a *prefix* term
//! (what every typed word is, `"code"*`) by first merging the lists of all its completions into one, which
//! for a common word is a third of the store (seconds over a million messages). So each word is first
//! expanded into the exact terms of the index it completes to (a few seeks in an `fts5vocab` table), and the
//! query becomes an OR of those: same matches, same highlights, and FTS5 can stop early again. A word with
//! too many completions, or one whose tokens the index may fold differently (anything but ASCII letters and
//! digits), keeps the prefix query.
//!
//! Best-match order (`bm25`) has to score every match, so it ranks only the newest [`RANK_WINDOW`] matches.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use simrelay_protocol::Message;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::{message_from_row, Store, StoreError};

/// Marks the start and end of a match in FTS5's `highlight()`. Private-use characters: they cannot come from
/// a GSM 7-bit message, and if a UCS2 message carries them, the check in [`match_ranges`] drops the highlight.
const MARK_START: char = '\u{E000}';
const MARK_END: char = '\u{E001}';

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

/// A word is expanded into at most this many exact terms; beyond, the prefix query is cheaper to write and
/// the words are short enough that users refine them.
const MAX_EXPANSION: usize = 32;

/// Best-match order ranks at most this many matches (the newest ones), so its cost is bounded too.
pub const RANK_WINDOW: u32 = 2000;

/// The index's vocabulary, one row per term occurrence; `term >= ? LIMIT 1` is a seek, whatever the term's
/// frequency. TEMP: it lives per connection and needs no migration.
const VOCABULARY: &str = "CREATE VIRTUAL TABLE IF NOT EXISTS temp.messages_fts_terms \
     USING fts5vocab(main, messages_fts, instance)";

const COLUMNS: &str =
    "m.id, m.modem, m.sender, m.text, m.code, m.code_start, m.code_end, m.sent_at, \
     m.received_at, m.encoding, m.decode_error, m.incomplete, m.code_confidence, m.code_origin, \
     m.code_origin_embedded, m.code_alternatives";

impl Store {
    /// Lists messages matching `query`.
    pub async fn search(&self, query: &MessageQuery) -> Result<Found, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let fts = match query.text.as_deref() {
            Some(text) => match expanded_query(&mut conn, text).await? {
                // Terms without a letter or digit, or a word no indexed term starts with: nothing matches.
                None => return Ok(Found::default()),
                Some(fts) => Some(fts),
            },
            None => None,
        };
        let order = if fts.is_none() && query.order == Order::Relevance {
            Order::NewestFirst
        } else {
            query.order
        };
        let mut sql = QueryBuilder::<Sqlite>::new("");
        if order == Order::Relevance {
            // The window of newest matches is cut inside, ranked outside.
            sql.push("SELECT * FROM (");
        }
        sql.push("SELECT ");
        sql.push(COLUMNS);
        if fts.is_some() {
            sql.push(", highlight(messages_fts, 0, char(57344), char(57345)) AS marked");
            if order == Order::Relevance {
                // The sender column weighs more: a search for a name is usually a search for that sender.
                sql.push(", bm25(messages_fts, 1.0, 2.0) AS score");
            }
            sql.push(" FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid WHERE messages_fts MATCH ")
                .push_bind(fts.clone().unwrap_or_default());
        } else {
            sql.push(" FROM messages m WHERE 1 = 1");
        }
        if let Some(sender) = &query.sender {
            sql.push(" AND m.sender = ").push_bind(sender.clone());
        }
        if let Some(modem) = &query.modem {
            sql.push(" AND m.modem = ").push_bind(modem.clone());
        }
        match query.has_code {
            Some(true) => sql.push(" AND m.code IS NOT NULL"),
            Some(false) => sql.push(" AND m.code IS NULL"),
            None => &mut sql,
        };
        if let Some(since) = query.since {
            sql.push(" AND m.received_at >= ")
                .push_bind(stored_time(since));
        }
        if let Some(until) = query.until {
            sql.push(" AND m.received_at < ")
                .push_bind(stored_time(until));
        }
        // With a text query, order and cut on the FTS rowid (= message id): FTS5 then walks its index newest
        // first and stops at the limit, instead of collecting every match and sorting it.
        let id = if fts.is_some() {
            "messages_fts.rowid"
        } else {
            "m.id"
        };
        if let Some(before) = query.before {
            sql.push(format!(" AND {id} < ")).push_bind(before);
        }
        if let Some(after) = query.after {
            sql.push(format!(" AND {id} > ")).push_bind(after);
        }
        sql.push(match order {
            Order::NewestFirst => format!(" ORDER BY {id} DESC"),
            Order::OldestFirst => format!(" ORDER BY {id} ASC"),
            Order::Relevance => {
                format!(" ORDER BY {id} DESC LIMIT {RANK_WINDOW}) ORDER BY score, id DESC")
            }
        });
        // One row more than asked tells whether there is a next page.
        sql.push(" LIMIT ").push_bind(i64::from(query.limit) + 1);

        let rows = sql.build().fetch_all(&mut *conn).await?;
        let mut found = Found::default();
        for row in rows
            .iter()
            .take(usize::try_from(query.limit).unwrap_or(usize::MAX))
        {
            let message = message_from_row(row)?;
            if fts.is_some() {
                let marked: String = row.try_get("marked")?;
                let ranges = match_ranges(&marked, &message.text);
                if !ranges.is_empty() {
                    found.highlights.insert(message.id, ranges);
                }
            }
            found.messages.push(message);
        }
        if rows.len() > found.messages.len() && order == Order::NewestFirst {
            found.next = found.messages.last().map(|m| m.id);
        }
        Ok(found)
    }
}

/// `received_at` as the store writes it (UTC, fixed width), so text comparison is time comparison.
fn stored_time(t: DateTime<FixedOffset>) -> String {
    t.with_timezone(&Utc)
        .to_rfc3339_opts(SecondsFormat::Micros, false)
}

/// Turns what a user typed into a safe FTS5 query: each word becomes a quoted prefix term, all required.
/// FTS5 operators in the input are thereby plain text, so no input is a syntax error. `None` when no word
/// has a letter or digit. (The form a search falls back to for words that are not expanded.)
#[cfg(test)]
fn fts_query(input: &str) -> Option<String> {
    let terms: Vec<String> = query_words(input).map(prefix_term).collect();
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

/// The words of a search that can match anything (with a letter or digit).
fn query_words(input: &str) -> impl Iterator<Item = &str> {
    input
        .split_whitespace()
        .filter(|word| word.chars().any(char::is_alphanumeric))
}

/// `"word"*`, with quotes in the word doubled.
fn prefix_term(word: &str) -> String {
    format!("\"{}\"*", word.replace('"', "\"\""))
}

/// [`fts_query`] with each word replaced, where possible, by the OR of the exact index terms it is a prefix
/// of (see the module documentation). `None` when nothing can match: no searchable word, or a word that no
/// indexed term starts with.
async fn expanded_query(
    conn: &mut sqlx::SqliteConnection,
    input: &str,
) -> Result<Option<String>, StoreError> {
    let mut terms = Vec::new();
    let mut vocabulary_ready = false;
    for word in query_words(input) {
        // unicode61 indexes an ASCII letter-and-digit word as one token, itself in lower case; for anything
        // else (diacritics, other scripts, punctuation splitting the word) only FTS5 itself knows the tokens.
        if !word.chars().all(|c| c.is_ascii_alphanumeric()) {
            terms.push(prefix_term(word));
            continue;
        }
        if !vocabulary_ready {
            sqlx::query(VOCABULARY).execute(&mut *conn).await?;
            vocabulary_ready = true;
        }
        let prefix = word.to_ascii_lowercase();
        match completions(conn, &prefix).await? {
            Completions::None => return Ok(None),
            Completions::Terms(exact) => terms.push(format!(
                "({})",
                exact
                    .iter()
                    .map(|t| format!("\"{t}\""))
                    .collect::<Vec<_>>()
                    .join(" OR ")
            )),
            Completions::TooMany => terms.push(prefix_term(word)),
        }
    }
    Ok((!terms.is_empty()).then(|| terms.join(" AND ")))
}

/// What a prefix completes to in the index.
enum Completions {
    /// No indexed term starts with it.
    None,
    /// These terms (at most [`MAX_EXPANSION`]), all ASCII letters and digits.
    Terms(Vec<String>),
    /// More than [`MAX_EXPANSION`] terms.
    TooMany,
}

/// The indexed terms starting with `prefix` (lower-case ASCII letters and digits), one seek each: terms are
/// stored in byte order, and U+0001 is never part of a term, so `term || char(1)` is just past `term`.
async fn completions(
    conn: &mut sqlx::SqliteConnection,
    prefix: &str,
) -> Result<Completions, StoreError> {
    let mut found = Vec::new();
    let mut from = prefix.to_owned();
    loop {
        let next: Option<String> =
            sqlx::query_scalar("SELECT term FROM temp.messages_fts_terms WHERE term >= ? LIMIT 1")
                .bind(&from)
                .fetch_optional(&mut *conn)
                .await?;
        let Some(term) = next.filter(|t| t.starts_with(prefix)) else {
            break;
        };
        if found.len() == MAX_EXPANSION {
            return Ok(Completions::TooMany);
        }
        // unicode61 never keeps a quote in a term; should one appear, the term cannot be quoted as is.
        if term.contains('"') {
            return Ok(Completions::TooMany);
        }
        from = format!("{term}\u{1}");
        found.push(term);
    }
    Ok(if found.is_empty() {
        Completions::None
    } else {
        Completions::Terms(found)
    })
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
mod tests {
    use super::*;
    use crate::store::{Inserted, NewMessage};

    async fn store_with(
        texts: &[(&str, &str, Option<&str>)],
    ) -> (tempfile::TempDir, Store, Vec<i64>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).await.expect("open");
        let mut ids = Vec::new();
        for (i, (sender, text, code)) in texts.iter().enumerate() {
            let new = NewMessage {
                modem: if i % 2 == 0 {
                    "even".into()
                } else {
                    "odd".into()
                },
                sender: (*sender).into(),
                text: (*text).into(),
                code: code.map(str::to_owned),
                code_span: None,
                confidence: None,
                origin: None,
                alternatives: Vec::new(),
                sent_at: DateTime::parse_from_rfc3339("2026-11-22T10:00:00+01:00").expect("valid"),
                encoding: None,
                decode_error: None,
                incomplete: false,
                pdus: vec![vec![u8::try_from(i).expect("small")]],
                extra_pdus: Vec::new(),
            };
            let Inserted::New(m) = store.insert_message(&new).await.expect("insert") else {
                panic!("dup")
            };
            ids.push(m.id);
        }
        (dir, store, ids)
    }

    fn query(limit: u32) -> MessageQuery {
        MessageQuery {
            limit,
            ..MessageQuery::default()
        }
    }

    #[tokio::test]
    async fn text_search_matches_prefixes_without_accents_and_highlights() {
        let (_dir, store, ids) = store_with(&[
            ("Bank", "Tu código de acceso es 8267", Some("8267")),
            ("Shop", "Your order shipped", None),
            ("Bank", "Your verification code is 482913", Some("482913")),
        ])
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
            vec![ids[0]]
        );
        let text = &found.messages[0].text;
        let [s, e] = found.highlights[&ids[0]][0];
        assert_eq!(&text[s..e], "código");

        let found = store
            .search(&MessageQuery {
                text: Some("verif".into()),
                ..query(10)
            })
            .await
            .expect("q");
        assert_eq!(found.messages.len(), 1);
        // A sender is searchable too; every word must match.
        let found = store
            .search(&MessageQuery {
                text: Some("bank your".into()),
                ..query(10)
            })
            .await
            .expect("q");
        assert_eq!(
            found.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
            vec![ids[2]]
        );
        // FTS5 syntax in the input is just text, never an error.
        for weird in ["\"", "code OR", "NEAR(a b)", "*", "a:b", "(((", "-x"] {
            store
                .search(&MessageQuery {
                    text: Some(weird.into()),
                    ..query(10)
                })
                .await
                .expect(weird);
        }
        assert!(store
            .search(&MessageQuery {
                text: Some("!!".into()),
                ..query(10)
            })
            .await
            .expect("q")
            .messages
            .is_empty());
    }

    #[tokio::test]
    async fn pages_continue_with_the_cursor_and_filters_combine() {
        let rows: Vec<(&str, &str, Option<&str>)> = (0..7)
            .map(|i| ("S", "message", if i % 3 == 0 { Some("1") } else { None }))
            .collect();
        let (_dir, store, ids) = store_with(&rows).await;
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

        let with_code = store
            .search(&MessageQuery {
                has_code: Some(true),
                ..query(10)
            })
            .await
            .expect("q");
        assert_eq!(
            with_code.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
            vec![ids[6], ids[3], ids[0]]
        );
        let even_code = store
            .search(&MessageQuery {
                has_code: Some(true),
                modem: Some("even".into()),
                ..query(10)
            })
            .await;
        assert_eq!(even_code.expect("q").messages.len(), 2);
        let oldest = store
            .search(&MessageQuery {
                after: Some(ids[1]),
                order: Order::OldestFirst,
                ..query(1)
            })
            .await
            .expect("q");
        assert_eq!(oldest.messages[0].id, ids[2]);
        let future = DateTime::parse_from_rfc3339("2100-01-01T00:00:00+00:00").expect("valid");
        assert!(store
            .search(&MessageQuery {
                since: Some(future),
                ..query(10)
            })
            .await
            .expect("q")
            .messages
            .is_empty());
        assert_eq!(
            store
                .search(&MessageQuery {
                    until: Some(future),
                    ..query(10)
                })
                .await
                .expect("q")
                .messages
                .len(),
            7
        );
    }

    #[tokio::test]
    async fn deleting_removes_it_from_search() {
        let (_dir, store, ids) = store_with(&[("A", "unique words here", None)]).await;
        assert!(store.delete(ids[0]).await.expect("delete"));
        assert!(!store.delete(ids[0]).await.expect("delete again"));
        let found = store
            .search(&MessageQuery {
                text: Some("unique".into()),
                ..query(10)
            })
            .await
            .expect("q");
        assert!(found.messages.is_empty());
        assert!(
            store.raw_pdus(ids[0]).await.expect("pdus").is_empty(),
            "raw PDUs go with it"
        );
    }

    /// The ids FTS5's own prefix query finds for `input`, newest first: what the expansion must reproduce.
    async fn prefix_query_ids(store: &Store, input: &str) -> Vec<i64> {
        let Some(fts) = fts_query(input) else {
            return Vec::new();
        };
        sqlx::query_scalar(
            "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC",
        )
        .bind(fts)
        .fetch_all(&store.pool)
        .await
        .expect("prefix query")
    }

    #[tokio::test]
    async fn expanded_words_find_exactly_what_prefix_queries_find() {
        let texts = [
            ("Bank", "Your code is 1234", Some("1234")),
            ("Shop", "Two codes: 11 and 22", None),
            ("Codex", "nothing to see", None),
            ("Bank", "Tu código es 5678 CODE", Some("5678")),
            ("Air", "Gate B12 boarding, codeshare flight", None),
            ("+4915123456789", "call me", None),
            ("Bank", "coda: the end", None),
        ];
        let (_dir, store, _ids) = store_with(&texts).await;
        for input in [
            "code",
            "CODE",
            "cod",
            "c",
            "codes",
            "codex",
            "bank code",
            "code bank",
            "b12",
            "b",
            "4915",
            "codi",
            "código",
            "cod bo",
            "zzz",
            "code zzz",
            "gate, b12",
            "x\"y",
            "",
        ] {
            let found = store
                .search(&MessageQuery {
                    text: Some(input.into()),
                    ..query(100)
                })
                .await
                .expect(input);
            let ids: Vec<i64> = found.messages.iter().map(|m| m.id).collect();
            assert_eq!(ids, prefix_query_ids(&store, input).await, "{input:?}");
        }
        // Highlights cover every completion of the word.
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
            assert!(marked.contains(&word), "{word} in {marked:?}");
        }
    }

    #[tokio::test]
    async fn a_word_with_many_completions_falls_back_to_the_prefix_query() {
        let words: Vec<String> = (0..u32::try_from(MAX_EXPANSION).expect("small") + 5)
            .map(|i| format!("tok{i:03} filler"))
            .collect();
        let texts: Vec<(&str, &str, Option<&str>)> =
            words.iter().map(|w| ("S", w.as_str(), None)).collect();
        let (_dir, store, ids) = store_with(&texts).await;
        let mut conn = store.pool.acquire().await.expect("conn");
        sqlx::query(VOCABULARY)
            .execute(&mut *conn)
            .await
            .expect("vocabulary");
        assert!(matches!(
            completions(&mut conn, "tok").await.expect("q"),
            Completions::TooMany
        ));
        match completions(&mut conn, "tok01").await.expect("q") {
            Completions::Terms(t) => assert_eq!(t.len(), 10, "{t:?}"),
            _ => panic!("tok01 has ten completions"),
        }
        assert!(matches!(
            completions(&mut conn, "tol").await.expect("q"),
            Completions::None
        ));
        drop(conn);
        let found = store
            .search(&MessageQuery {
                text: Some("tok".into()),
                ..query(5)
            })
            .await
            .expect("q");
        assert_eq!(found.messages.len(), 5);
        assert_eq!(found.messages[0].id, *ids.last().expect("ids"));
        assert!(found.next.is_some());
    }

    #[tokio::test]
    async fn relevance_ranks_the_newest_matches() {
        let (_dir, store, ids) = store_with(&[
            ("Code", "your code code code", None),
            (
                "Other",
                "a long message that mentions the code once among many other words",
                None,
            ),
            ("Other", "nothing", None),
        ])
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
            vec![ids[0], ids[1]]
        );
        assert_eq!(found.next, None);
        assert!(found.highlights.contains_key(&ids[1]));
    }

    #[test]
    fn marks_become_ranges_only_when_they_reproduce_the_text() {
        assert_eq!(
            match_ranges("a \u{E000}bc\u{E001} d", "a bc d"),
            vec![[2, 4]]
        );
        assert!(match_ranges("a \u{E000}bc\u{E001} d", "a bc e").is_empty());
        assert_eq!(
            fts_query("  hello \"x  "),
            Some("\"hello\"* AND \"\"\"x\"*".into())
        );
        assert_eq!(fts_query("-- !!"), None);
    }
}
