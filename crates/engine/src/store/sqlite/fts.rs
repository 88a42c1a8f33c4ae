//! Text search on SQLite: an FTS5 index (`messages_fts`, migration 0002) queried with every typed word expanded
//! into the index terms it completes to.
//!
//! A text search must cost about the same for a word in every third message as for a word in one: FTS5 walks
//! an exact term's list of rows newest first and stops at the page's limit, but it answers a *prefix* term
//! (what every typed word is, `"code"*`) by first merging the lists of all its completions into one, which
//! for a common word is a third of the store (seconds over a million messages). So each word is first
//! expanded into the exact terms of the index it completes to (a few seeks in an `fts5vocab` table), and the
//! query becomes an OR of those: same matches, same highlights, and FTS5 can stop early again. A word with
//! too many completions, or one whose tokens the index may fold differently (anything but ASCII letters and
//! digits), keeps the prefix query.

use sqlx::SqliteConnection;

use super::super::search::{query_words, Marks, TextMatch};
use super::super::StoreError;

/// A word is expanded into at most this many exact terms; beyond, the prefix query is cheaper to write and
/// the words are short enough that users refine them.
const MAX_EXPANSION: usize = 32;

/// The index's vocabulary, one row per term occurrence; `term >= ? LIMIT 1` is a seek, whatever the term's
/// frequency. TEMP: it lives per connection and needs no migration.
const VOCABULARY: &str = "CREATE VIRTUAL TABLE IF NOT EXISTS temp.messages_fts_terms \
     USING fts5vocab(main, messages_fts, instance)";

/// The FTS5 query for `input` on `conn` (see the module documentation), as a [`TextMatch`]. FTS5 walks
/// its index by rowid (= message id), so pages are ordered and cut on it.
pub(crate) async fn text_match(
    conn: &mut SqliteConnection,
    input: &str,
) -> Result<Option<TextMatch>, StoreError> {
    Ok(expanded_query(conn, input).await?.map(|query| TextMatch {
        from: "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid WHERE messages_fts MATCH ",
        query,
        after: "",
        marks: Marks::Inline("highlight(messages_fts, 0, char(57344), char(57345))"),
        // The sender column weighs more: a search for a name is usually a search for that sender.
        score: "bm25(messages_fts, 1.0, 2.0)",
        id: "messages_fts.rowid",
        // FTS5 walks an exact term's rows by rowid and stops at the page: no probe needed.
        probe: None,
    }))
}

/// Turns what a user typed into a safe FTS5 query: each word becomes a quoted prefix term, all required.
/// FTS5 operators in the input are thereby plain text, so no input is a syntax error. `None` when no word
/// has a letter or digit. (The form a search falls back to for words that are not expanded.)
#[cfg(test)]
fn fts_query(input: &str) -> Option<String> {
    let terms: Vec<String> = query_words(input).map(prefix_term).collect();
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

/// `"word"*`, with quotes in the word doubled.
fn prefix_term(word: &str) -> String {
    format!("\"{}\"*", word.replace('"', "\"\""))
}

/// [`fts_query`] with each word replaced, where possible, by the OR of the exact index terms it is a prefix
/// of (see the module documentation). `None` when nothing can match: no searchable word, or a word that no
/// indexed term starts with.
async fn expanded_query(
    conn: &mut SqliteConnection,
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
async fn completions(conn: &mut SqliteConnection, prefix: &str) -> Result<Completions, StoreError> {
    let mut found = Vec::new();
    let mut from = prefix.to_owned();
    loop {
        let next: Option<String> =
            sqlx::query_scalar("SELECT term FROM temp.messages_fts_terms WHERE term >= $1 LIMIT 1")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::backend::Backend;
    use crate::store::search::tests::{query, store_with, COMPLETIONS};
    use crate::store::{MessageQuery, Store};

    /// The ids FTS5's own prefix query finds for `input`, newest first: what the expansion must reproduce.
    async fn prefix_query_ids(store: &Store, input: &str) -> Vec<i64> {
        let Some(fts) = fts_query(input) else {
            return Vec::new();
        };
        sqlx::query_scalar(
            "SELECT rowid FROM messages_fts WHERE messages_fts MATCH $1 ORDER BY rowid DESC",
        )
        .bind(fts)
        .fetch_all(store.sqlite().reader())
        .await
        .expect("prefix query")
    }

    #[tokio::test]
    async fn expanded_words_find_exactly_what_prefix_queries_find() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).await.expect("open");
        store_with(&store, &COMPLETIONS).await;
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
    }

    #[tokio::test]
    async fn a_word_with_many_completions_falls_back_to_the_prefix_query() {
        let words: Vec<String> = (0..u32::try_from(MAX_EXPANSION).expect("small") + 5)
            .map(|i| format!("tok{i:03} filler"))
            .collect();
        let texts: Vec<(&str, &str, Option<&str>)> =
            words.iter().map(|w| ("S", w.as_str(), None)).collect();
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).await.expect("open");
        let ids = store_with(&store, &texts).await;
        let mut conn = store.sqlite().reader().acquire().await.expect("conn");
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

    #[test]
    fn typed_words_become_quoted_prefix_terms() {
        assert_eq!(
            fts_query("  hello \"x  "),
            Some("\"hello\"* AND \"\"\"x\"*".into())
        );
        assert_eq!(fts_query("-- !!"), None);
    }
}
