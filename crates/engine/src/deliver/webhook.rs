//! Webhooks: the message (the API's `Message` JSON, as `hook_url` always sent) `POST`ed to a URL, signed, with a
//! stable event id.
//!
//! Headers: `X-SimRelay-Event: sms`, `X-SimRelay-Event-Id` (the same for every attempt and replay of this
//! delivery: receivers drop repeats by it), `X-SimRelay-Attempt` (1, 2, ...), `X-SimRelay-Timestamp` and
//! `X-SimRelay-Signature` (see [`super::sign`]).

use simrelay_protocol::Message;

use super::http::Outgoing;
use super::sign::{signature, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// Header with the event id.
pub const EVENT_ID_HEADER: &str = "X-SimRelay-Event-Id";

/// The request delivering `message` to `url`, signed with `secret` at `timestamp` (seconds since 1970).
pub(crate) fn request(
    url: &str,
    secret: &str,
    event_id: &str,
    attempt: u32,
    message: &Message,
    timestamp: i64,
) -> Result<Outgoing, String> {
    let body =
        serde_json::to_vec(message).map_err(|e| format!("cannot encode the message: {e}"))?;
    Ok(Outgoing {
        url: url.to_owned(),
        headers: vec![
            ("X-SimRelay-Event", "sms".to_owned()),
            (EVENT_ID_HEADER, event_id.to_owned()),
            ("X-SimRelay-Attempt", attempt.to_string()),
            (TIMESTAMP_HEADER, timestamp.to_string()),
            (
                SIGNATURE_HEADER,
                signature(secret.as_bytes(), timestamp, &body),
            ),
        ],
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deliver::text::tests::message;

    #[test]
    fn the_body_is_the_message_and_the_headers_sign_it() {
        let m = message("DemoBank", "Your code is 482913", Some("482913"));
        let r = request("http://127.0.0.1:9/h", "k", "e1", 2, &m, 1_700_000_000).expect("builds");
        assert_eq!(r.json(), serde_json::to_value(&m).expect("json"));
        assert_eq!(r.header("x-simrelay-event-id"), Some("e1"));
        assert_eq!(r.header("x-simrelay-attempt"), Some("2"));
        assert_eq!(r.header("x-simrelay-timestamp"), Some("1700000000"));
        assert_eq!(
            r.header("x-simrelay-signature"),
            Some(signature(b"k", 1_700_000_000, &r.body).as_str())
        );
    }
}
