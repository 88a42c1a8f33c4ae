//! Origin-bound one-time codes (WICG "Origin-bound one-time codes delivered via SMS",
//! <https://wicg.github.io/sms-one-time-codes/>): a message whose last line is `@example.com #747723`, optionally
//! followed by ` @embedded.example` (the host of a cross-origin iframe the code is for). Parsed as the
//! specification's algorithm says, so no heuristic is involved: trailing text after the fields is ignored, exactly
//! one space separates them, nothing may precede the `@`.
//!
//! Two checks the specification leaves to origin parsing are made here so that a broken last line falls back to the
//! heuristics instead of reaching the user: a host must look like a domain name (letters, digits, '-' and '.'), and
//! the code must be 1–32 printable ASCII characters.

use std::ops::Range;

/// The hosts an origin-bound code is for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Origin {
    /// The top-level site the code is for ("example.com"), in lower case.
    pub host: String,
    /// The embedded (iframe) site, when the message names one ("@example.com #747723 @bank.example").
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub embedded: Option<String>,
}

impl Origin {
    /// How the code is shown to the user: "example.com", or "bank.example on example.com" for an embedded site.
    pub fn describe(&self) -> String {
        match &self.embedded {
            Some(embedded) => format!("{embedded} on {}", self.host),
            None => self.host.clone(),
        }
    }
}

/// An origin-bound code found in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bound {
    pub origin: Origin,
    pub code: String,
    /// Byte range of the code (after '#') in the message.
    pub span: Range<usize>,
    /// Byte range of the whole last line in the message.
    pub line: Range<usize>,
}

const MAX_CODE: usize = 32;
const MAX_HOST: usize = 253;

/// The origin-bound code of `text`, if its last line is one.
pub(crate) fn parse(text: &str) -> Option<Bound> {
    // The last line after normalising CR LF and CR to LF: whatever follows the last CR or LF.
    let line_start = text.rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let line = &text[line_start..];
    let mut pos = 0;
    let host = marked_token(line, &mut pos, '@')?;
    if !line[pos..].starts_with(' ') {
        return None;
    }
    pos += 1;
    let code_start = pos + 1;
    let code = marked_token(line, &mut pos, '#')?;
    let code_span = line_start + code_start..line_start + code_start + code.len();
    let mut embedded = None;
    if line[pos..].starts_with(' ') {
        pos += 1;
        embedded = marked_token(line, &mut pos, '@').and_then(domain);
    }
    let valid_code = code.len() <= MAX_CODE && code.bytes().all(|b| b.is_ascii_graphic());
    if !valid_code {
        return None;
    }
    Some(Bound {
        origin: Origin {
            host: domain(host)?,
            embedded,
        },
        code: code.to_owned(),
        span: code_span,
        line: line_start..text.len(),
    })
}

/// The specification's "extract a marked token": `marker`, then a non-empty run of non-ASCII-whitespace.
fn marked_token<'a>(line: &'a str, pos: &mut usize, marker: char) -> Option<&'a str> {
    let rest = line.get(*pos..)?.strip_prefix(marker)?;
    let len = rest
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(rest.len());
    if len == 0 {
        return None;
    }
    *pos += marker.len_utf8() + len;
    Some(&rest[..len])
}

/// `host` in lower case, if it looks like a domain name: dot-separated labels of letters (any script), digits and
/// inner hyphens, each 1–63 bytes, at most 253 bytes in all.
fn domain(host: &str) -> Option<String> {
    let ok = host.len() <= MAX_HOST
        && host.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    ok.then(|| host.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Option<(String, String, Option<String>)> {
        parse(text).map(|b| (b.code, b.origin.host, b.origin.embedded))
    }

    #[test]
    fn the_specifications_examples() {
        let text = "747723 is your ExampleCo authentication code.\n\n@example.com #747723";
        let b = parse(text).unwrap();
        assert_eq!(b.code, "747723");
        assert_eq!(&text[b.span.clone()], "747723");
        assert_eq!(b.span.end, text.len());
        assert_eq!(b.origin.host, "example.com");
        assert_eq!(b.origin.embedded, None);
        assert_eq!(
            parsed("747723 is your ExampleCo authentication code.\n\n@example.com #747723 @ecommerce.example"),
            Some((
                "747723".into(),
                "example.com".into(),
                Some("ecommerce.example".into())
            ))
        );
        // Trailing text is ignored: reserved for future fields.
        assert_eq!(
            parsed("@example.com #747723 @ecommerce.example $future"),
            Some((
                "747723".into(),
                "example.com".into(),
                Some("ecommerce.example".into())
            ))
        );
        // A field after the code that is not '@' is trailing text, not an embedded host.
        assert_eq!(
            parsed("@example.com #123456 $other.example"),
            Some(("123456".into(), "example.com".into(), None))
        );
    }

    #[test]
    fn what_the_specification_rejects() {
        // Not at the start of the last line.
        assert_eq!(parsed("something @example.com #747723"), None);
        // Wrong order.
        assert_eq!(parsed("#747723 @ecommerce.example @example.com"), None);
        // More than one space, or words, between the fields.
        assert_eq!(parsed("@example.com  #747723"), None);
        assert_eq!(parsed("@example.com code #747723"), None);
        // Only the last line counts.
        assert_eq!(parsed("@example.com #747723\nThanks"), None);
        assert_eq!(parsed("@example.com #747723\n"), None);
        // Empty tokens.
        assert_eq!(parsed("@ #747723"), None);
        assert_eq!(parsed("@example.com #"), None);
        assert_eq!(parsed(""), None);
    }

    #[test]
    fn line_ends_of_any_kind_and_hosts_are_normalised() {
        assert_eq!(
            parsed("Your code\r\n@Example.COM #A1b2"),
            Some(("A1b2".into(), "example.com".into(), None))
        );
        assert_eq!(
            parsed("Your code\r@bücher.example #4821"),
            Some(("4821".into(), "bücher.example".into(), None))
        );
    }

    #[test]
    fn hosts_and_codes_that_cannot_be_meant_fall_back() {
        assert_eq!(parsed("@exa<script>mple.com #747723"), None);
        assert_eq!(parsed("@-example.com #747723"), None);
        assert_eq!(parsed("@example..com #747723"), None);
        assert_eq!(parsed(&format!("@example.com #{}", "7".repeat(33))), None);
        assert_eq!(parsed("@example.com #٧٤٧٧٢٣"), None);
        // A broken embedded host is dropped, as the specification says; the code stands.
        assert_eq!(
            parsed("@example.com #747723 @bad/host"),
            Some(("747723".into(), "example.com".into(), None))
        );
    }
}
