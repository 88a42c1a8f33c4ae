//! Text search on PostgreSQL: the `search` tsvector column and its GIN index (migration 0002), queried with
//! each typed word as a prefix term.
//!
//! What the user typed becomes a `tsquery` built here from letters and digits only, so no input is a syntax
//! error and no input is an operator: each word's runs of letters and digits are quoted lexemes, a word that
//! punctuation splits is a phrase whose last run is a prefix (as FTS5 reads `"x.y"*`), and all words are
//! required. `to_tsquery` then folds them with the same configuration as the index (case, accents).
//!
//! PostgreSQL cannot be left to choose between walking the primary key newest first and filtering (right for
//! a common word: it stops at the page) and the GIN index (right for a rare word: it reads only the
//! matches): it estimates every prefix `tsquery` (`'x':*`, what every typed word is) at a fixed 2 % of the
//! rows, rare or common, and so always walks, through the whole table for a word in one message (0.5 s over
//! a million). So the search finds the page's matches itself, with a [`Probe`]: a bounded walk of the newest
//! rows first, the GIN index for the rest only if the walk left the page short (`store/search.rs`); a common
//! word then costs a short walk, a rare one that walk and its few matches. Highlights come from `ts_headline`
//! on the page's messages only, after the page is cut.

use super::super::search::{query_words, Marks, Probe, TextMatch};

/// The `tsquery` for `input` (see the module documentation); `None` when no word has a letter or digit.
pub(crate) fn tsquery(input: &str) -> Option<String> {
    let words: Vec<String> = query_words(input)
        .filter_map(|word| {
            let runs: Vec<&str> = word
                .split(|c: char| !c.is_alphanumeric())
                .filter(|run| !run.is_empty())
                .collect();
            let (last, before) = runs.split_last()?;
            // Runs hold letters and digits only, so quoting them needs no escaping.
            let mut phrase: Vec<String> = before.iter().map(|run| format!("'{run}'")).collect();
            phrase.push(format!("'{last}':*"));
            Some(format!("({})", phrase.join(" <-> ")))
        })
        .collect();
    (!words.is_empty()).then(|| words.join(" & "))
}

/// The [`TextMatch`] for `input`.
pub(crate) fn text_match(input: &str) -> Option<TextMatch> {
    Some(TextMatch {
        from: "FROM messages m, to_tsquery('simrelay_search', ",
        query: tsquery(input)?,
        after: ") AS q WHERE m.search @@ q",
        // ts_headline parses the text again, so it runs on the page only; `$1` is the query, `$2` the ids.
        marks: Marks::After(MARKS),
        // The weights are {D, C, B, A}: the sender (A) counts twice the text (D), as in FTS5's bm25 weights.
        score: "-ts_rank('{0.5, 0.2, 0.4, 1.0}', m.search, q)",
        id: "m.id",
        probe: Some(Probe {
            matches: ("m.search @@ to_tsquery('simrelay_search', ", ")"),
            reads: "m.search",
            among: ("m.id = ANY (string_to_array(", ", ',')::bigint[])"),
        }),
    })
}

/// Every match in the text of the messages whose ids are in `$2` (comma-separated), marked.
const MARKS: &str =
    "SELECT id, ts_headline('simrelay_search', text, to_tsquery('simrelay_search', $1), \
     'HighlightAll=true, StartSel=' || chr(57344) || ', StopSel=' || chr(57345)) AS marked \
     FROM messages WHERE id = ANY (string_to_array($2, ',')::bigint[])";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_words_become_quoted_prefix_terms_of_letters_and_digits() {
        assert_eq!(tsquery("Code 48"), Some("('Code':*) & ('48':*)".into()));
        assert_eq!(tsquery("gate, b12"), Some("('gate':*) & ('b12':*)".into()));
        assert_eq!(
            tsquery("x\"y a.b.c"),
            Some("('x' <-> 'y':*) & ('a' <-> 'b' <-> 'c':*)".into())
        );
        assert_eq!(tsquery("código"), Some("('código':*)".into()));
        for nothing in ["", "  ", "!! --", "'", "&|!"] {
            assert_eq!(tsquery(nothing), None, "{nothing:?}");
        }
        // Operators typed by the user are not operators.
        assert_eq!(tsquery("a&b !c"), Some("('a' <-> 'b':*) & ('c':*)".into()));
    }
}
