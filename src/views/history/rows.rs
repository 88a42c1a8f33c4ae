//! The compact form the History list keeps every fetched message in.
//!
//! A list row shows two lines of text, so a row keeps only a preview of it ([`PREVIEW_BYTES`]; the detail panel
//! fetches the whole message), senders and modems are interned (a few thousand senders and a handful of modems
//! repeat across 100,000 messages), and the fields no row shows (encoding) are dropped.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use simrelay_protocol::{CodeOrigin, Indication, Message, MessageContent};

/// Bytes of text a row keeps: more than two lines of the widest list, at any script.
pub const PREVIEW_BYTES: usize = 320;

/// One message as the list holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Store id (newer is larger).
    pub id: i64,
    /// Sender, interned.
    pub sender: Arc<str>,
    /// Modem id, interned.
    pub modem: Arc<str>,
    /// The text's first [`PREVIEW_BYTES`] bytes (cut at a character boundary).
    pub preview: Box<str>,
    /// The code, if the message carries one.
    pub code: Option<Box<str>>,
    /// The site an origin-bound code is for (rare, so boxed).
    pub origin: Option<Box<CodeOrigin>>,
    /// Byte range of the code, when it lies inside the preview.
    pub code_span: Option<[u32; 2]>,
    /// Network time.
    pub sent_at: DateTime<FixedOffset>,
    /// When SimRelay stored it.
    pub received_at: DateTime<FixedOffset>,
    /// Why the PDU did not decode, if it did not.
    pub decode_error: Option<Box<str>>,
    /// Parts are missing.
    pub incomplete: bool,
    /// Search-match byte ranges from the server (ranges past the preview are skipped when drawn).
    pub matches: Option<Box<[[u32; 2]]>>,
    /// What a message that is not plain text is (binary data, WAP push, flash, indications, cut short); rare, so
    /// boxed, and `None` for plain text.
    pub kind: Option<Box<Kind>>,
}

/// The fields of a message that is not plain text, as a row keeps them.
#[derive(Debug, Clone, PartialEq)]
pub struct Kind {
    /// Binary data, WAP push, or text to a port.
    pub content: Option<MessageContent>,
    /// A class 0 message.
    pub flash: bool,
    /// Message-waiting indications.
    pub indications: Vec<Indication>,
    /// Ended before its announced length.
    pub truncated: bool,
}

/// Shares one allocation among equal strings.
#[derive(Debug, Default)]
pub struct Interner(HashSet<Arc<str>>);

impl Interner {
    /// The shared copy of `s`.
    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(found) = self.0.get(s) {
            return found.clone();
        }
        let shared: Arc<str> = Arc::from(s);
        self.0.insert(shared.clone());
        shared
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub fn preview(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl Row {
    /// The compact form of `m`, with the search matches the server reported for it.
    pub fn new(m: Message, matches: Option<Vec<[usize; 2]>>, names: &mut Interner) -> Row {
        let preview = preview(&m.text, PREVIEW_BYTES);
        let fits = |&[a, b]: &[usize; 2]| a <= b && b <= preview.len();
        let narrow = |[a, b]: [usize; 2]| Some([u32::try_from(a).ok()?, u32::try_from(b).ok()?]);
        Row {
            id: m.id,
            sender: names.get(&m.sender),
            modem: names.get(&m.modem),
            code_span: m.code_span.filter(fits).and_then(narrow),
            preview: preview.into(),
            code: m.code.map(String::into_boxed_str),
            origin: m.origin.map(Box::new),
            sent_at: m.sent_at,
            received_at: m.received_at,
            decode_error: m.decode_error.map(String::into_boxed_str),
            incomplete: m.incomplete,
            matches: matches.map(|ranges| ranges.into_iter().filter_map(narrow).collect()),
            kind: (m.content.is_some() || m.flash || !m.indications.is_empty() || m.truncated)
                .then(|| {
                    Box::new(Kind {
                        content: m.content,
                        flash: m.flash,
                        indications: m.indications,
                        truncated: m.truncated,
                    })
                }),
        }
    }

    /// A `Message` for the shared components (flags, code highlight) that take one; its text is the preview.
    pub fn message(&self) -> Message {
        Message {
            id: self.id,
            modem: self.modem.to_string(),
            sender: self.sender.to_string(),
            text: self.preview.to_string(),
            code: self.code.as_deref().map(str::to_owned),
            code_span: self.code_span.map(|[a, b]| [a as usize, b as usize]),
            sent_at: self.sent_at,
            received_at: self.received_at,
            encoding: None,
            decode_error: self.decode_error.as_deref().map(str::to_owned),
            incomplete: self.incomplete,
            confidence: None,
            origin: self.origin.as_deref().cloned(),
            alternatives: Vec::new(),
            content: self.kind.as_ref().and_then(|k| k.content.clone()),
            flash: self.kind.as_ref().is_some_and(|k| k.flash),
            indications: self
                .kind
                .as_ref()
                .map(|k| k.indications.clone())
                .unwrap_or_default(),
            truncated: self.kind.as_ref().is_some_and(|k| k.truncated),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::tests::msg;

    #[test]
    fn preview_cuts_at_a_character_boundary() {
        assert_eq!(preview("short", 320), "short");
        // "ж" is two bytes: 5 bytes cannot end inside the third one.
        assert_eq!(preview("жжж", 5), "жж");
        assert_eq!(preview("a€", 2), "a");
    }

    #[test]
    fn rows_share_senders_and_keep_spans_inside_the_preview() {
        let mut names = Interner::default();
        let mut long = msg(1, &format!("{} 123456", "x".repeat(PREVIEW_BYTES)));
        long.code = Some("123456".into());
        long.code_span = Some([PREVIEW_BYTES + 1, PREVIEW_BYTES + 7]);
        let a = Row::new(long, Some(vec![[0, 3]]), &mut names);
        assert_eq!(a.preview.len(), PREVIEW_BYTES);
        assert_eq!(
            a.code.as_deref(),
            Some("123456"),
            "the code chip still shows it"
        );
        assert_eq!(a.code_span, None, "a span past the preview is not drawn");
        assert_eq!(a.matches.as_deref(), Some(&[[0, 3]][..]));

        let mut short = msg(2, "code 4711");
        short.code_span = Some([5, 9]);
        let b = Row::new(short, None, &mut names);
        assert_eq!(b.code_span, Some([5, 9]));
        assert!(
            Arc::ptr_eq(&a.sender, &b.sender),
            "one allocation per sender"
        );
        assert_eq!(b.message().text, "code 4711");
        assert_eq!(b.message().code_span, Some([5, 9]));
    }

    // In the browser like the component tests: wasm-bindgen-test runs only its own attribute.
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn a_row_keeps_what_a_message_is_and_plain_text_costs_nothing() {
        let mut names = Interner::default();
        let mut m = msg(3, "");
        m.flash = true;
        m.truncated = true;
        m.content = Some(MessageContent {
            kind: simrelay_protocol::ContentKind::Binary,
            port: Some(5499),
            source_port: None,
            length: Some(97),
            content_type: None,
            description: Some("binary message to port 5499, 97 bytes".into()),
        });
        let back = Row::new(m.clone(), None, &mut names).message();
        assert_eq!((back.flash, back.truncated), (true, true));
        assert_eq!(back.content, m.content);
        assert_eq!(
            back.description(),
            Some("binary message to port 5499, 97 bytes")
        );
        assert!(Row::new(msg(4, "plain"), None, &mut names).kind.is_none());
    }
}
