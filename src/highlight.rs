//! Splits an SMS text into plain, code and link pieces for display.
//!
//! The engine sends the code's position as a byte range (`code_span`) into the text. The text is attacker-controlled
//! and the span may come from an older or buggy server, so every range is checked against the string's length and
//! char boundaries; a bad span simply means no highlight, never a panic. The pieces are rendered as text nodes by
//! the views: this module decides *where* to highlight, never produces markup.

/// What a piece of text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Ordinary text.
    Plain,
    /// The verification code.
    Code,
    /// An `http://` or `https://` address (only produced when the user opted in to clickable links).
    Link,
}

/// One contiguous piece of a message's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// What the piece is.
    pub kind: Kind,
    /// The piece's text, exactly as in the message.
    pub text: String,
}

fn piece(kind: Kind, text: &str) -> Piece {
    Piece {
        kind,
        text: text.to_owned(),
    }
}

/// Returns the valid `[start, end)` range of the code in `text`, if the span is usable.
fn checked_span(text: &str, span: Option<[usize; 2]>) -> Option<(usize, usize)> {
    let [start, end] = span?;
    (start < end && end <= text.len() && text.is_char_boundary(start) && text.is_char_boundary(end))
        .then_some((start, end))
}

/// Splits `text` into pieces: the code (from `span`) and, when `links` is true, web addresses.
pub fn split(text: &str, span: Option<[usize; 2]>, links: bool) -> Vec<Piece> {
    let mut out = Vec::new();
    let push_plain = |out: &mut Vec<Piece>, s: &str| {
        if s.is_empty() {
            return;
        }
        if links {
            split_links(s, out);
        } else {
            out.push(piece(Kind::Plain, s));
        }
    };
    match checked_span(text, span) {
        Some((start, end)) => {
            push_plain(&mut out, &text[..start]);
            out.push(piece(Kind::Code, &text[start..end]));
            push_plain(&mut out, &text[end..]);
        }
        None => push_plain(&mut out, text),
    }
    out
}

/// Characters that end a web address in running text.
fn ends_link(c: char) -> bool {
    c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '`')
}

/// Finds `http://` / `https://` addresses in `s`; trailing sentence punctuation stays outside the link.
fn split_links(s: &str, out: &mut Vec<Piece>) {
    let mut rest = s;
    while let Some(start) = find_scheme(rest) {
        let after = &rest[start..];
        let mut len = after.find(ends_link).unwrap_or(after.len());
        while len > 0 && after[..len].ends_with(['.', ',', ';', ':', '!', '?', ')']) {
            len -= 1;
        }
        let scheme_len = if after.starts_with("https://") { 8 } else { 7 };
        if len <= scheme_len {
            // A bare "https://" is no address: keep it as text and look further on.
            out.push(piece(Kind::Plain, &rest[..start + scheme_len]));
            rest = &rest[start + scheme_len..];
            continue;
        }
        if start > 0 {
            out.push(piece(Kind::Plain, &rest[..start]));
        }
        out.push(piece(Kind::Link, &after[..len]));
        rest = &after[len..];
    }
    if !rest.is_empty() {
        out.push(piece(Kind::Plain, rest));
    }
}

/// Byte offset of the first `http://` or `https://` in `s`, case-insensitively.
fn find_scheme(s: &str) -> Option<usize> {
    let lower = s.to_ascii_lowercase();
    // to_ascii_lowercase keeps byte offsets, so positions found in `lower` are valid in `s`.
    [lower.find("https://"), lower.find("http://")]
        .into_iter()
        .flatten()
        .min()
}

/// Splits `text` around case-insensitive matches of `needle`, for search-result highlighting.
///
/// Matching is done on lowercase chars one by one so offsets always land on char boundaries of the original.
pub fn split_matches(text: &str, needle: &str) -> Vec<(bool, String)> {
    let lower = |c: char| c.to_lowercase().next().unwrap_or(c);
    let needle: Vec<char> = needle.trim().chars().map(lower).collect();
    if needle.is_empty() {
        return vec![(false, text.to_owned())];
    }
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    // One char per char (not a full case mapping) keeps indices aligned with `chars`.
    let lowered: Vec<char> = chars.iter().map(|&(_, c)| lower(c)).collect();
    let mut out = Vec::new();
    let mut last = 0; // byte offset where the pending plain text starts
    let mut i = 0;
    while i + needle.len() <= lowered.len() {
        if lowered[i..i + needle.len()] == needle[..] {
            let start = chars[i].0;
            let end = chars.get(i + needle.len()).map_or(text.len(), |&(b, _)| b);
            if start > last {
                out.push((false, text[last..start].to_owned()));
            }
            out.push((true, text[start..end].to_owned()));
            last = end;
            i += needle.len();
        } else {
            i += 1;
        }
    }
    if last < text.len() {
        out.push((false, text[last..].to_owned()));
    }
    out
}

/// Splits `text` at the byte ranges the server reported as search matches; `true` marks a match.
///
/// Ranges that are out of bounds, not on char boundaries, empty or overlapping an earlier one are skipped, so a
/// server bug costs a highlight, never a panic.
pub fn split_ranges(text: &str, ranges: &[[usize; 2]]) -> Vec<(bool, String)> {
    let mut sorted: Vec<[usize; 2]> = ranges.to_vec();
    sorted.sort_unstable();
    let mut out = Vec::new();
    let mut last = 0;
    for [start, end] in sorted {
        if start < last || checked_span(text, Some([start, end])).is_none() {
            continue;
        }
        if start > last {
            out.push((false, text[last..start].to_owned()));
        }
        out.push((true, text[start..end].to_owned()));
        last = end;
    }
    if last < text.len() || out.is_empty() {
        out.push((false, text[last..].to_owned()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(pieces: &[Piece]) -> Vec<(Kind, &str)> {
        pieces.iter().map(|p| (p.kind, p.text.as_str())).collect()
    }

    #[test]
    fn code_span_is_highlighted() {
        let text = "G-583014 is your code";
        assert_eq!(
            kinds(&split(text, Some([2, 8]), false)),
            vec![
                (Kind::Plain, "G-"),
                (Kind::Code, "583014"),
                (Kind::Plain, " is your code")
            ]
        );
    }

    #[test]
    fn bad_spans_do_not_panic_and_do_not_highlight() {
        let text = "Код 1234";
        for span in [[0, 100], [5, 3], [1, 4], [4, 4], [usize::MAX, usize::MAX]] {
            assert_eq!(
                kinds(&split(text, Some(span), false)),
                vec![(Kind::Plain, text)],
                "{span:?}"
            );
        }
        // "Код " is 7 bytes: a span on real boundaries works with multibyte text.
        assert_eq!(
            split(text, Some([7, 11]), false)[1],
            piece(Kind::Code, "1234")
        );
    }

    #[test]
    fn links_only_when_asked_and_only_http() {
        let text = "Track at https://ex.ample/t?id=1. Not javascript:alert(1)";
        assert_eq!(kinds(&split(text, None, false)), vec![(Kind::Plain, text)]);
        assert_eq!(
            kinds(&split(text, None, true)),
            vec![
                (Kind::Plain, "Track at "),
                (Kind::Link, "https://ex.ample/t?id=1"),
                (Kind::Plain, ". Not javascript:alert(1)")
            ]
        );
    }

    #[test]
    fn link_stops_at_quotes_and_angle_brackets() {
        let pieces = split("x http://a.b/\"><img src=x>", None, true);
        assert_eq!(pieces[1], piece(Kind::Link, "http://a.b/"));
        assert_eq!(pieces[2], piece(Kind::Plain, "\"><img src=x>"));
    }

    #[test]
    fn bare_scheme_is_not_a_link() {
        assert_eq!(
            kinds(&split("see https:// now", None, true))
                .iter()
                .filter(|k| k.0 == Kind::Link)
                .count(),
            0
        );
    }

    #[test]
    fn links_and_code_together() {
        let text = "Code 1234 http://x.y";
        assert_eq!(
            kinds(&split(text, Some([5, 9]), true)),
            vec![
                (Kind::Plain, "Code "),
                (Kind::Code, "1234"),
                (Kind::Plain, " "),
                (Kind::Link, "http://x.y")
            ]
        );
    }

    #[test]
    fn server_ranges_are_checked() {
        let text = "Ärger über Öl";
        // "über" is bytes 7..12; 1..2 splits "Ä"; 100..200 is out of range; 8..9 overlaps the first.
        assert_eq!(
            split_ranges(text, &[[100, 200], [7, 12], [1, 2], [8, 9]]),
            vec![
                (false, "Ärger ".into()),
                (true, "über".into()),
                (false, " Öl".into())
            ]
        );
        assert_eq!(split_ranges("", &[[0, 1]]), vec![(false, String::new())]);
        assert_eq!(split_ranges("abc", &[[0, 3]]), vec![(true, "abc".into())]);
    }

    #[test]
    fn search_matches_are_case_insensitive_and_unicode_safe() {
        assert_eq!(
            split_matches("Your CODE is 1, code!", "code"),
            vec![
                (false, "Your ".into()),
                (true, "CODE".into()),
                (false, " is 1, ".into()),
                (true, "code".into()),
                (false, "!".into())
            ]
        );
        assert_eq!(
            split_matches("Ärger über Öl", "ö"),
            vec![
                (false, "Ärger über ".into()),
                (true, "Ö".into()),
                (false, "l".into())
            ]
        );
        assert_eq!(split_matches("abc", "  "), vec![(false, "abc".into())]);
    }
}
