//! ntfy: one notification per message, published as JSON.
//!
//! The request follows ntfy's documentation, "Publish as JSON" (<https://docs.ntfy.sh/publish/#publish-as-json>):
//! a `POST` to the server's root URL with `{"topic", "message", "title", "tags", "priority"}` (priority 1–5,
//! 3 = default), and for a protected topic an access token as `Authorization: Bearer <token>`
//! (<https://docs.ntfy.sh/publish/#access-tokens>). JSON, rather than the `Title:` header form, because a
//! header cannot carry every character a sender name may have. No ntfy server runs in the tests; the shape is
//! checked against that documentation below.

use serde_json::json;
use simrelay_protocol::Message;

use super::http::{join, Outgoing};
use super::text::{body, cut, title};

/// Where `url` is unset.
pub const DEFAULT_URL: &str = "https://ntfy.sh";
/// ntfy turns a longer message into an attachment.
const MAX_MESSAGE: usize = 4000;

/// The request publishing `message` to `topic` on the server at `base`.
pub(crate) fn request(base: &str, topic: &str, token: Option<&str>, message: &Message) -> Outgoing {
    let body = json!({
        "topic": topic,
        "title": title(message),
        "message": cut(&body(message), MAX_MESSAGE),
        // Tags that match an emoji short code are shown as that emoji (🔑, 💬).
        "tags": [if message.code.is_some() { "key" } else { "speech_balloon" }],
        "priority": if message.code.is_some() { 4 } else { 3 },
    });
    Outgoing {
        url: join(base, "/"),
        headers: token
            .map(|t| ("Authorization", format!("Bearer {t}")))
            .into_iter()
            .collect(),
        body: body.to_string().into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deliver::text::tests::message;

    #[test]
    fn publishes_json_to_the_root_url_as_documented() {
        let m = message("DemoBank", "Your code is 482913", Some("482913"));
        let r = request(
            "https://ntfy.example.org/",
            "sms-alerts",
            Some("tk_abc"),
            &m,
        );
        assert_eq!(r.url, "https://ntfy.example.org/");
        assert_eq!(r.header("authorization"), Some("Bearer tk_abc"));
        assert_eq!(
            r.json(),
            json!({"topic": "sms-alerts", "title": "Code 482913 from DemoBank",
                   "message": "Your code is 482913", "tags": ["key"], "priority": 4})
        );
        let plain = request(
            DEFAULT_URL,
            "t",
            None,
            &message("+4915", &"é".repeat(3000), None),
        );
        assert_eq!(plain.url, "https://ntfy.sh/");
        assert!(plain.headers.is_empty());
        let body = plain.json();
        assert_eq!(body["priority"], 3);
        assert_eq!(body["message"].as_str().map(str::len), Some(4000));
    }
}
