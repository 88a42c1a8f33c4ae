//! Telegram: a bot writes each message to a chat.
//!
//! The request follows the Bot API documentation, `sendMessage` (<https://core.telegram.org/bots/api#sendmessage>):
//! a `POST` to `<server>/bot<token>/sendMessage` with `{"chat_id", "text"}` (`chat_id` an integer, or a
//! `@channelusername` string; `text` 1–4096 characters). No `parse_mode`, so the SMS text is shown as plain
//! text, never as HTML or Markdown; `link_preview_options.is_disabled` keeps links in an SMS from being fetched
//! by Telegram. The token is part of the URL, which is why delivery errors never quote it. No Telegram server
//! runs in the tests; the shape is checked against that documentation below.

use serde_json::{json, Value};
use simrelay_protocol::Message;

use super::http::{join, Outgoing};
use super::text::{body, title};

/// Where `url` is unset.
pub const DEFAULT_URL: &str = "https://api.telegram.org";
/// Telegram's limit for `text`, in characters.
const MAX_TEXT: usize = 4096;

/// The request sending `message` to `chat_id` through bot `token` at the Bot API server `base`.
pub(crate) fn request(base: &str, token: &str, chat_id: &str, message: &Message) -> Outgoing {
    let chat: Value = match chat_id.trim().parse::<i64>() {
        Ok(id) => json!(id),
        Err(_) => json!(chat_id.trim()),
    };
    let text: String = format!("{}\n\n{}", title(message), body(message))
        .chars()
        .take(MAX_TEXT)
        .collect();
    let body = json!({
        "chat_id": chat,
        "text": text,
        "link_preview_options": {"is_disabled": true},
    });
    Outgoing {
        url: join(base, &format!("/bot{token}/sendMessage")),
        headers: Vec::new(),
        body: body.to_string().into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deliver::text::tests::message;

    #[test]
    fn sends_plain_text_to_the_chat_as_documented() {
        let m = message("DemoBank", "<b>Your</b> code is 482913", Some("482913"));
        let r = request(DEFAULT_URL, "123:ABC", "-1001234567890", &m);
        assert_eq!(r.url, "https://api.telegram.org/bot123:ABC/sendMessage");
        let body = r.json();
        assert_eq!(
            body,
            json!({"chat_id": -1001234567890_i64,
                   "text": "Code 482913 from DemoBank\n\n<b>Your</b> code is 482913",
                   "link_preview_options": {"is_disabled": true}})
        );
        assert!(body.get("parse_mode").is_none(), "plain text only");
        let channel = request("http://bots.example/", "t", "@my_channel", &m).json();
        assert_eq!(channel["chat_id"], "@my_channel");
        let long = request(
            DEFAULT_URL,
            "t",
            "1",
            &message("x", &"a".repeat(9000), None),
        )
        .json();
        assert_eq!(long["text"].as_str().map(|t| t.chars().count()), Some(4096));
    }
}
