//! How a message reads in a notification (ntfy, Gotify, Telegram, e-mail): a one-line title and the text, or for
//! a message without text (binary data, a WAP push, a bare voicemail indication) the line that says what it is.
//!
//! SMS content is attacker-controlled: titles lose control characters (a sender name cannot add a header
//! line to an e-mail or a request), and every service gets plain text, never markup.

use std::borrow::Cow;

use simrelay_protocol::Message;

/// Longest title, in characters.
const MAX_TITLE: usize = 120;

/// `Code 482913 from DemoBank`, or `SMS from DemoBank`.
pub(crate) fn title(message: &Message) -> String {
    let sender = one_line(&message.sender);
    let sender = if sender.is_empty() {
        "an unknown sender".to_owned()
    } else {
        sender
    };
    let title = match &message.code {
        Some(code) => format!("Code {} from {sender}", one_line(code)),
        None => format!("SMS from {sender}"),
    };
    title.chars().take(MAX_TITLE).collect()
}

/// What a notification says under its title: the text; for binary data or a WAP push (whose `text` is empty)
/// the protocol's [`Message::description`] ("binary message to port 9200, 4 bytes"); for a message whose text is
/// blank but that carries indications, those ("Voicemail: 2 waiting"). Never an empty notification.
pub(crate) fn body(message: &Message) -> Cow<'_, str> {
    if let Some(description) = message.description() {
        return Cow::Borrowed(description);
    }
    if message.text.trim().is_empty() {
        let indications = message.indication_summaries();
        if !indications.is_empty() {
            return Cow::Owned(indications.join("; "));
        }
    }
    Cow::Borrowed(&message.text)
}

/// `s` on one line: control characters (CR, LF, tab, ...) become spaces, runs of spaces one, trimmed.
pub(crate) fn one_line(s: &str) -> String {
    let spaced: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub(crate) fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::DateTime;

    pub(crate) fn message(sender: &str, text: &str, code: Option<&str>) -> Message {
        Message {
            id: 42,
            modem: "imei:356938035643809".into(),
            sender: sender.into(),
            text: text.into(),
            code: code.map(str::to_owned),
            code_span: None,
            confidence: None,
            origin: None,
            alternatives: Vec::new(),
            sent_at: DateTime::parse_from_rfc3339("2026-11-22T10:00:00+01:00").expect("valid"),
            received_at: DateTime::parse_from_rfc3339("2026-11-22T09:00:02.123456Z")
                .expect("valid"),
            encoding: Some("gsm7".into()),
            decode_error: None,
            incomplete: false,
            ..Message::default()
        }
    }

    #[test]
    fn the_body_says_what_a_message_without_text_is() {
        use simrelay_protocol::{ContentKind, Indication, MessageContent, WaitingKind};
        assert_eq!(body(&message("DemoBank", "Hello", None)), "Hello");
        let binary = Message {
            content: Some(MessageContent {
                kind: ContentKind::Binary,
                port: Some(9200),
                source_port: None,
                length: Some(4),
                content_type: None,
                description: Some("binary message to port 9200, 4 bytes".into()),
            }),
            ..message("+4915", "", None)
        };
        assert_eq!(body(&binary), "binary message to port 9200, 4 bytes");
        // Text to an application port is text: shown as it is.
        let to_port = Message {
            content: Some(MessageContent {
                kind: ContentKind::Text,
                port: Some(5499),
                source_port: None,
                length: None,
                content_type: None,
                description: None,
            }),
            ..message("+4915", "visual voicemail sync", None)
        };
        assert_eq!(body(&to_port), "visual voicemail sync");
        let voicemail = Message {
            indications: vec![Indication {
                kind: WaitingKind::Voicemail,
                active: true,
                count: Some(2),
                store: false,
            }],
            ..message("+4915", " ", None)
        };
        assert!(body(&voicemail).contains('2'), "{}", body(&voicemail));
    }

    #[test]
    fn titles_name_the_code_and_sender_on_one_line() {
        assert_eq!(
            title(&message("DemoBank", "x", Some("482913"))),
            "Code 482913 from DemoBank"
        );
        assert_eq!(title(&message("+4915", "x", None)), "SMS from +4915");
        assert_eq!(title(&message("", "x", None)), "SMS from an unknown sender");
        assert_eq!(
            title(&message("Evil\r\nBcc: victim@example.org", "x", None)),
            "SMS from Evil Bcc: victim@example.org"
        );
        assert_eq!(
            title(&message(&"x".repeat(500), "x", None)).chars().count(),
            120
        );
    }

    #[test]
    fn cuts_land_on_character_boundaries() {
        assert_eq!(cut("äöü", 3), "ä");
        assert_eq!(cut("abc", 10), "abc");
        assert_eq!(cut("€", 2), "");
    }
}
