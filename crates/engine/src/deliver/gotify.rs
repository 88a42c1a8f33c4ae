//! Gotify: one message per SMS through an application token.
//!
//! The request follows Gotify's documentation, "Push messages" (<https://gotify.net/docs/pushmsg>): a `POST` to
//! `<server>/message` with the application token in the `X-Gotify-Key` header and `{"title", "message",
//! "priority"}`; `extras` (<https://gotify.net/docs/msgextras>) marks the text `text/plain` so clients never
//! render SMS text as Markdown. No Gotify server runs in the tests; the shape is checked against that
//! documentation below.

use serde_json::json;
use simrelay_protocol::Message;

use super::http::{join, Outgoing};
use super::text::{body, title};

/// The request pushing `message` to the Gotify server at `base` with application token `token`.
pub(crate) fn request(base: &str, token: &str, message: &Message) -> Outgoing {
    let body = json!({
        "title": title(message),
        "message": body(message),
        "priority": if message.code.is_some() { 8 } else { 5 },
        "extras": {"client::display": {"contentType": "text/plain"}},
    });
    Outgoing {
        url: join(base, "/message"),
        headers: vec![("X-Gotify-Key", token.to_owned())],
        body: body.to_string().into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deliver::text::tests::message;

    #[test]
    fn pushes_to_message_with_the_app_token_as_documented() {
        let m = message("DemoBank", "**not markdown** <b>nor html</b>", None);
        let r = request("https://push.example.org/", "AbCdEf", &m);
        assert_eq!(r.url, "https://push.example.org/message");
        assert_eq!(r.header("x-gotify-key"), Some("AbCdEf"));
        assert_eq!(
            r.json(),
            json!({"title": "SMS from DemoBank", "message": "**not markdown** <b>nor html</b>",
                   "priority": 5, "extras": {"client::display": {"contentType": "text/plain"}}})
        );
        assert_eq!(
            request("http://g", "t", &message("x", "y", Some("1234"))).json()["priority"],
            8
        );
    }
}
