//! Finding the strings that could be a code: runs of ASCII letters and digits in the folded text, joined into
//! grouped codes ("123 456", "K7P-2QX"), stripped of service prefixes ("G-583014"), and vetoed when their shape
//! alone shows they are something else (part of a decimal, a date, a time, a long phone number, a masked card).

use std::ops::Range;

use crate::rules::Rule;
use crate::CodeKind;

/// Why a candidate's shape alone rules it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Veto {
    /// Joined to more digits by this separator: a decimal or thousands number, a date, a time or a dashed number.
    NumberPart(char),
    /// One block of a long spaced number such as "0800 048 1173" (a phone or account number).
    LongNumber,
    /// Next to a mask ("XX2290", "*7512", "•••• 4821", "123456******"): the visible part of a card or account number.
    Masked,
    /// Follows '+': an international phone number.
    PlusSign,
    /// Followed by '%'.
    Percent,
    /// Part of a web address or e-mail address.
    Url,
    /// Part of a name made of words and numbers ("release-1.11.0--universal-14000-signed.apk", "ka_9090").
    Identifier,
}

impl Veto {
    /// The rule that switches this veto on.
    pub(crate) fn rule(self) -> Rule {
        match self {
            Veto::NumberPart(_) => Rule::NumberPart,
            Veto::LongNumber => Rule::LongNumber,
            Veto::Masked => Rule::Masked,
            Veto::PlusSign => Rule::PlusSign,
            Veto::Percent => Rule::Percent,
            Veto::Url => Rule::Url,
            Veto::Identifier => Rule::Identifier,
        }
    }

    pub(crate) fn describe(self) -> String {
        match self {
            Veto::NumberPart(':') => "joined to more digits by ':' (a time or ratio)".into(),
            Veto::NumberPart('/') => "joined to more digits by '/' (a date or fraction)".into(),
            Veto::NumberPart(c @ ('.' | ',')) => {
                format!("joined to more digits by '{c}' (an amount, decimal or date)")
            }
            Veto::NumberPart(c) => {
                format!("joined to more digits by '{c}' (a date, phone or order number)")
            }
            Veto::LongNumber => {
                "one block of a spaced number longer than 8 digits (phone or account)".into()
            }
            Veto::Masked => {
                "follows a mask such as XX or * (end of a card or account number)".into()
            }
            Veto::PlusSign => "follows '+' (international phone number)".into(),
            Veto::Percent => "followed by '%'".into(),
            Veto::Url => "part of a web or e-mail address".into(),
            Veto::Identifier => {
                "part of a name joined with '-' or '_' (a file, user or product name)".into()
            }
        }
    }
}

/// A string that could be the code, in folded-text coordinates.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub range: Range<usize>,
    pub value: String,
    pub kind: CodeKind,
    /// Written in groups ("123 456", "K7P-2QX").
    pub grouped: bool,
    /// A service prefix ("G-") was dropped.
    pub prefixed: bool,
    pub veto: Option<Veto>,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    start: usize,
    end: usize,
    digits: usize,
    upper: usize,
    lower: usize,
}

impl Token {
    fn len(&self) -> usize {
        self.end - self.start
    }
    fn all_digits(&self) -> bool {
        self.digits == self.len()
    }
    fn letters(&self) -> usize {
        self.upper + self.lower
    }
}

fn tokens(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let mut t = Token {
            start: i,
            end: i,
            digits: 0,
            upper: 0,
            lower: 0,
        };
        while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
            match bytes[i] {
                b'0'..=b'9' => t.digits += 1,
                b'A'..=b'Z' => t.upper += 1,
                _ => t.lower += 1,
            }
            i += 1;
        }
        t.end = i;
        out.push(t);
    }
    out
}

/// The separator joining two neighbouring tokens, when they are exactly one separator apart and the pair is one
/// that can belong to a single number or code. A space only joins digit blocks, so words never chain.
fn link(text: &str, a: &Token, b: &Token) -> Option<char> {
    if b.start != a.end + 1 {
        return None;
    }
    let sep = char::from(*text.as_bytes().get(a.end)?);
    let digits = a.all_digits() && b.all_digits();
    match sep {
        '-' => Some(sep),
        ' ' | '.' | ',' | ':' | '/' if digits => Some(sep),
        _ => None,
    }
}

/// Block lengths that are a grouped code rather than a phone number or date.
fn is_code_grouping(lens: &[usize], sep: char) -> bool {
    let spaced = sep == ' ';
    matches!(lens, [3, 3] | [4, 4])
        || (spaced && matches!(lens, [2, 2, 2] | [2, 2, 2, 2]))
        // "8 4 2 1 9 3": one digit per block, as some senders write codes for screen readers.
        || (spaced && (4..=8).contains(&lens.len()) && lens.iter().all(|&l| l == 1))
}

/// Every candidate of the message, in text order.
pub(crate) fn find(text: &str) -> Vec<Candidate> {
    let toks = tokens(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let mut seps = Vec::new();
        let mut j = i;
        while j + 1 < toks.len() {
            match link(text, &toks[j], &toks[j + 1]) {
                Some(sep) => seps.push(sep),
                None => break,
            }
            j += 1;
        }
        chain(text, &toks[i..=j], &seps, &mut out);
        i = j + 1;
    }
    out
}

fn chain(text: &str, toks: &[Token], seps: &[char], out: &mut Vec<Candidate>) {
    let (Some(first), Some(last)) = (toks.first(), toks.last()) else {
        return;
    };
    let whole = first.start..last.end;
    // A digit block with a dangling separator ("388-941-", "/2291") was cut out of a longer number.
    let dangling = toks.iter().all(Token::all_digits)
        && (matches!(text[whole.end..].chars().next(), Some('-' | '/'))
            || matches!(text[..whole.start].chars().next_back(), Some('-' | '/')));
    if dangling {
        for t in toks {
            single(text, t, Some(Veto::NumberPart('-')), out);
        }
        return;
    }
    let same_sep = seps.windows(2).all(|w| w[0] == w[1]);
    let all_digits = toks.iter().all(Token::all_digits);
    // "+44 7700 900481", "+1-555-0142": every block of an international phone number.
    if all_digits && toks.len() > 1 && text[..whole.start].ends_with('+') {
        for t in toks {
            single(text, t, Some(Veto::PlusSign), out);
        }
        return;
    }
    if toks.len() > 1 && same_sep && all_digits && matches!(seps[0], ' ' | '-') {
        let lens: Vec<usize> = toks.iter().map(Token::len).collect();
        let total: usize = lens.iter().sum();
        if is_code_grouping(&lens, seps[0]) {
            let value: String = toks.iter().map(|t| &text[t.start..t.end]).collect();
            out.push(Candidate {
                range: whole,
                value,
                kind: CodeKind::Numeric,
                grouped: true,
                prefixed: false,
                veto: None,
            });
            return;
        }
        if seps[0] == ' ' && !(total > 8 && lens.iter().all(|&l| l <= 5)) {
            // Neighbouring numbers that merely stand next to each other ("code 4821 10 min"): judge each alone.
            for t in toks {
                single(text, t, None, out);
            }
            return;
        }
        let veto = if seps[0] == ' ' {
            Veto::LongNumber
        } else {
            Veto::NumberPart('-')
        };
        for t in toks {
            single(text, t, Some(veto), out);
        }
        return;
    }
    if toks.len() > 1 && seps.iter().all(|&s| s == '-') {
        // "K7P-2QX": two or three upper-case blocks with at least one digit between them.
        let upper_blocks = toks
            .iter()
            .all(|t| t.lower == 0 && (3..=5).contains(&t.len()));
        let total: usize = toks.iter().map(Token::len).sum();
        let digits: usize = toks.iter().map(|t| t.digits).sum();
        if upper_blocks && toks.len() <= 3 && total <= 10 && digits > 0 && digits < total {
            let value: String = toks.iter().map(|t| &text[t.start..t.end]).collect();
            out.push(Candidate {
                range: whole,
                value,
                kind: CodeKind::Alphanumeric,
                grouped: true,
                prefixed: false,
                veto: None,
            });
            return;
        }
        // "G-583014": a short upper-case service prefix before the digits is not typed.
        if let [p, d] = toks {
            if p.digits == 0
                && p.lower == 0
                && p.len() <= 3
                && d.all_digits()
                && (4..=8).contains(&d.len())
            {
                out.push(Candidate {
                    range: d.start..d.end,
                    value: text[d.start..d.end].to_owned(),
                    kind: CodeKind::Numeric,
                    grouped: false,
                    prefixed: true,
                    veto: None,
                });
                return;
            }
        }
    }
    // Two or more lower-case words joined by '-' around digits make a slug or file name ("universal-14000-signed").
    let words = toks
        .iter()
        .filter(|t| t.digits == 0 && t.upper == 0 && t.lower >= 3)
        .count();
    let slug = words >= 2 && seps.iter().all(|&s| s == '-');
    for (k, t) in toks.iter().enumerate() {
        if slug && t.all_digits() {
            single(text, t, Some(Veto::Identifier), out);
            continue;
        }
        // A digit block joined to another digit block by punctuation is part of a bigger number.
        let left = k
            .checked_sub(1)
            .filter(|&p| toks[p].all_digits() && t.all_digits())
            .map(|p| seps[p]);
        let right = seps
            .get(k)
            .copied()
            .filter(|_| toks[k + 1].all_digits() && t.all_digits());
        let veto = left
            .into_iter()
            .chain(right)
            .find(|&s| s != ' ')
            .map(Veto::NumberPart);
        single(text, t, veto, out);
    }
}

/// The run of non-space ASCII around `r` looks like a web or e-mail address ("https://x.example/p/582913",
/// "v.example.com/105876", "id=7731@example.org").
fn in_address(text: &str, r: Range<usize>) -> bool {
    let b = text.as_bytes();
    let graphic = |c: &u8| {
        c.is_ascii_graphic() && !matches!(c, b'(' | b')' | b'[' | b']' | b'<' | b'>' | b'"')
    };
    let start = b[..r.start]
        .iter()
        .rposition(|c| !graphic(c))
        .map_or(0, |i| i + 1);
    let end = b[r.end..]
        .iter()
        .position(|c| !graphic(c))
        .map_or(b.len(), |i| r.end + i);
    let word = &text[start..end];
    let domain_then_path = word.find('/').is_some_and(|slash| {
        let host = &word[..slash];
        host.contains('.') && host.bytes().any(|c| c.is_ascii_alphabetic())
    });
    word.contains("://") || word.contains("www.") || word.contains('@') || domain_then_path
}

/// Characters that hide digits of a card or account number.
fn is_mask(c: char) -> bool {
    matches!(c, '*' | '•' | '●' | '∗' | '×')
}

/// The digits at `start..end` are the visible part of a masked number: right after a mask ("*7512", "•••• 4821",
/// "xxxxxx-7576", "XXXX-XXXX-1234") or right before one ("123456******6789", "4821 ****"). A number wrapped in
/// single asterisks ("*482913*") is emphasis, not a mask.
fn masked(text: &str, start: usize, end: usize) -> bool {
    let before = &text[..start];
    let after = &text[end..];
    // Most numbers stand between spaces or letters: nothing to look at.
    let quiet = |c: Option<char>| {
        c.is_none_or(|c| !(is_mask(c) || matches!(c, ' ' | '-' | '·' | '…' | '.')))
    };
    if quiet(before.chars().next_back()) && quiet(after.chars().next()) {
        return false;
    }
    let emphasis = before.ends_with('*')
        && !before[..before.len() - 1].ends_with(|c: char| is_mask(c) || c.is_ascii_alphanumeric())
        && after.starts_with('*')
        && !after[1..].starts_with(|c: char| is_mask(c) || c.is_ascii_alphanumeric());
    if emphasis {
        return false;
    }
    if before.ends_with(is_mask) || before.ends_with(['·', '…']) || before.ends_with("..") {
        return true;
    }
    let mut next = after.chars();
    if next.next().is_some_and(is_mask)
        && next
            .next()
            .is_some_and(|c| is_mask(c) || c.is_ascii_digit())
    {
        return true;
    }
    // A mask of two or more characters one space or dash away; x's only as a whole word ("xxxx 1234", not "Box 12").
    fn mask_run(mut chars: impl Iterator<Item = char>) -> bool {
        let (mut run, mut symbols) = (0, false);
        let mut next = chars.next();
        while let Some(c) = next.filter(|&c| is_mask(c) || c == 'x' || c == 'X') {
            run += 1;
            symbols |= is_mask(c);
            next = chars.next();
        }
        run >= 2 && (symbols || next.is_none_or(|c| !c.is_alphanumeric()))
    }
    before
        .strip_suffix([' ', '-'])
        .is_some_and(|b| mask_run(b.chars().rev()))
        || after
            .strip_prefix([' ', '-'])
            .is_some_and(|a| mask_run(a.chars()))
}

fn single(text: &str, t: &Token, veto: Option<Veto>, out: &mut Vec<Candidate>) {
    let s = &text[t.start..t.end];
    let before = text[..t.start].chars().next_back();
    let after = text[t.end..].chars().next();
    let edge_veto = match (before, after) {
        (Some('+'), _) => Some(Veto::PlusSign),
        (Some('_'), _) | (_, Some('_')) => Some(Veto::Identifier),
        (_, Some('%')) => Some(Veto::Percent),
        _ if masked(text, t.start, t.end) => Some(Veto::Masked),
        _ => None,
    };
    let veto = veto
        .or(edge_veto)
        .or_else(|| in_address(text, t.start..t.end).then_some(Veto::Url));
    if t.all_digits() {
        if (4..=8).contains(&t.len()) {
            out.push(Candidate {
                range: t.start..t.end,
                value: s.to_owned(),
                kind: CodeKind::Numeric,
                grouped: false,
                prefixed: false,
                veto,
            });
        }
        return;
    }
    if t.digits == 0 {
        return;
    }
    // "XX2290", "xxxx1234": masked digits of a card or account.
    let mask_len = s.bytes().take_while(|b| matches!(b, b'x' | b'X')).count();
    if mask_len > 0 && mask_len + t.digits == t.len() && t.digits >= 2 {
        if (2..=8).contains(&t.digits) {
            out.push(Candidate {
                range: t.start + mask_len..t.end,
                value: s[mask_len..].to_owned(),
                kind: CodeKind::Numeric,
                grouped: false,
                prefixed: false,
                veto: Some(Veto::Masked),
            });
        }
        return;
    }
    if (4..=10).contains(&t.len()) && t.letters() > 0 {
        out.push(Candidate {
            range: t.start..t.end,
            value: s.to_owned(),
            kind: CodeKind::Alphanumeric,
            grouped: false,
            prefixed: false,
            veto,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<(String, Option<Veto>)> {
        find(text).into_iter().map(|c| (c.value, c.veto)).collect()
    }

    #[test]
    fn groups_and_prefixes() {
        assert_eq!(values("123 456"), vec![("123456".into(), None)]);
        assert_eq!(values("1234-5678"), vec![("12345678".into(), None)]);
        assert_eq!(values("K7P-2QX"), vec![("K7P2QX".into(), None)]);
        assert_eq!(values("G-583014"), vec![("583014".into(), None)]);
        assert_eq!(values("8 4 2 1 9 3"), vec![("842193".into(), None)]);
        assert_eq!(values("48 29 13"), vec![("482913".into(), None)]);
    }

    #[test]
    fn numbers_that_are_not_codes_are_vetoed() {
        assert_eq!(values("0800 048 1173")[0].1, Some(Veto::LongNumber));
        assert_eq!(values("1,234.56"), vec![]);
        assert_eq!(values("12345.67")[0].1, Some(Veto::NumberPart('.')));
        assert_eq!(values("2024-05-01")[0].1, Some(Veto::NumberPart('-')));
        assert_eq!(values("XX2290")[0].1, Some(Veto::Masked));
        assert_eq!(values("*7512")[0].1, Some(Veto::Masked));
        assert_eq!(values("card •••• 4821")[0].1, Some(Veto::Masked));
        assert_eq!(values("您好，xxxxxx-7576，")[0].1, Some(Veto::Masked));
        assert_eq!(values("XXXX-XXXX-XXXX-1234")[0].1, Some(Veto::Masked));
        assert_eq!(values("nb 123456******6789")[0].1, Some(Veto::Masked));
        assert_eq!(values("56765*1234")[0].1, Some(Veto::Masked));
        assert_eq!(values("4821 **** ****")[0].1, Some(Veto::Masked));
        assert_eq!(
            values("release-1.11.0--universal-14000-signed.apk")[0].1,
            Some(Veto::Identifier)
        );
        assert_eq!(values("ka_9090")[0].1, Some(Veto::Identifier));
        assert_eq!(values("login code-482913")[0].1, None);
        // Emphasis and ordinary words ending in x are not masks.
        assert_eq!(values("code *482913*")[0].1, None);
        assert_eq!(values("Box 1234")[0].1, None);
        assert_eq!(values("+4479460")[0].1, Some(Veto::PlusSign));
        assert!(values("+44 7700 900481")
            .iter()
            .all(|(_, v)| *v == Some(Veto::PlusSign)));
        assert_eq!(
            values("https://nimbus.example/reset?id=773201")[0].1,
            Some(Veto::Url)
        );
        assert!(values("v.example.com/105876")[0].1.is_some());
    }
}
