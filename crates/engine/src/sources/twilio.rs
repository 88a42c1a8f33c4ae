//! Twilio: the `X-Twilio-Signature` check, what an inbound SMS and a status callback say, and sending through
//! the Messages REST API.
//!
//! Twilio signs each webhook with HMAC-SHA1, keyed by the account's auth token, over the URL it called (with
//! the query string) followed by every POST parameter, sorted by name, as name and value with no separators;
//! the header is that digest in base64. The URL must be the one Twilio was given, which behind a reverse proxy
//! is not the one SimRelay sees: that is what a source's `public_url` is for. Twilio's own libraries accept the
//! URL with and without the scheme's default port, because Twilio has signed both; so do we.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::{provider_answer, PartUpdate, SendError};

/// The empty TwiML answer: "received, do nothing" (no auto-reply).
pub(crate) const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

/// Where Twilio's REST API is.
pub(crate) const DEFAULT_API_URL: &str = "https://api.twilio.com";

/// The signature Twilio computes for a request to `url` with the POST `params` (base64 HMAC-SHA1).
#[cfg(test)]
pub(crate) fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    STANDARD.encode(mac(auth_token, url, params).finalize().into_bytes())
}

fn mac(auth_token: &str, url: &str, params: &[(String, String)]) -> Hmac<Sha1> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // By name; a repeated name's values in order too, as Twilio's libraries do.
    sorted.sort();
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// Whether `header` is Twilio's signature of a request to `url` (or to `url` with its default port added or
/// removed) with `params`. Constant time in the signature.
pub(crate) fn verify(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    header: &str,
) -> bool {
    let Ok(given) = STANDARD.decode(header.trim()) else {
        return false;
    };
    url_variants(url)
        .iter()
        .any(|url| mac(auth_token, url, params).verify_slice(&given).is_ok())
}

/// `url` as given, plus the same URL with the scheme's default port added (when it has none) or its port
/// removed (when it has one).
fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_owned()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return out;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host_end = authority.rfind(']').map_or(0, |i| i + 1);
    match authority[host_end..].rfind(':') {
        Some(i)
            if authority[host_end + i + 1..]
                .bytes()
                .all(|b| b.is_ascii_digit()) =>
        {
            out.push(format!("{scheme}://{}{tail}", &authority[..host_end + i]));
        }
        _ => {
            let port = if scheme.eq_ignore_ascii_case("https") {
                443
            } else {
                80
            };
            out.push(format!("{scheme}://{authority}:{port}{tail}"));
        }
    }
    out
}

/// For webhooks with a JSON body, Twilio signs the URL alone, which carries the body's SHA-256 (hex) as the
/// query parameter `bodySHA256`. `Some(valid)` when the URL has that parameter.
pub(crate) fn body_hash_matches(query: Option<&str>, body: &[u8]) -> Option<bool> {
    let query = query?;
    let expected = form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "bodySHA256")
        .map(|(_, value)| value.into_owned())?;
    let actual = hex::encode(Sha256::digest(body));
    Some(crate::tokens::constant_time_eq(
        expected.to_ascii_lowercase().as_bytes(),
        actual.as_bytes(),
    ))
}

/// What a verified Twilio webhook is about.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    /// An inbound SMS (or MMS: SimRelay keeps its text).
    Inbound {
        /// `MessageSid`.
        sid: String,
        /// `From`.
        from: String,
        /// `Body` (with a note when media came without text).
        text: String,
    },
    /// A status callback for a message we sent.
    Status {
        /// `MessageSid`.
        sid: String,
        /// What it says.
        update: PartUpdate,
    },
    /// Something else (a status of an inbound message, say): acknowledged, nothing to do.
    Other,
}

/// Reads the parameters of a verified webhook. `Err` names what is missing.
pub(crate) fn event(params: &[(String, String)]) -> Result<Event, String> {
    let map: BTreeMap<&str, &str> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let sid = map
        .get("MessageSid")
        .or_else(|| map.get("SmsSid"))
        .map(|s| (*s).to_owned());
    if let Some(status) = map.get("MessageStatus") {
        let sid = sid.ok_or("a status callback without MessageSid")?;
        let error = map
            .get("ErrorCode")
            .filter(|c| !c.is_empty())
            .map(|code| format!(" (Twilio error {code})"))
            .unwrap_or_default();
        let update = match *status {
            "sent" => PartUpdate::Sent,
            "delivered" | "read" => PartUpdate::Delivered,
            "undelivered" | "failed" | "canceled" => {
                PartUpdate::Failed(format!("Twilio reports the message {status}{error}"))
            }
            // queued, accepted, scheduled, sending: still on its way; receiving/received: an inbound message.
            _ => return Ok(Event::Other),
        };
        return Ok(Event::Status { sid, update });
    }
    let sid = sid.ok_or("an inbound message without MessageSid")?;
    let from = map
        .get("From")
        .filter(|f| !f.is_empty())
        .ok_or("an inbound message without From")?;
    let mut text = map.get("Body").copied().unwrap_or_default().to_owned();
    let media: u32 = map
        .get("NumMedia")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if media > 0 && text.is_empty() {
        text = format!("(a picture message with {media} attachment(s); SimRelay shows text only)");
    }
    Ok(Event::Inbound {
        sid,
        from: (*from).to_owned(),
        text,
    })
}

/// How to send through one Twilio account.
#[derive(Debug, Clone)]
pub(crate) struct Account<'a> {
    /// REST API base URL.
    pub(crate) api_url: &'a str,
    pub(crate) account_sid: &'a str,
    pub(crate) auth_token: &'a str,
    /// `From`: the Twilio number, unless a messaging service sends.
    pub(crate) from: Option<&'a str>,
    pub(crate) messaging_service_sid: Option<&'a str>,
    /// Where Twilio posts status callbacks (needs `public_url`).
    pub(crate) status_callback: Option<String>,
}

/// Sends `text` to `to`; returns the message's SID (Twilio splits long texts itself, under one SID).
pub(crate) async fn submit(
    http: &reqwest::Client,
    account: &Account<'_>,
    to: &str,
    text: &str,
) -> Result<Vec<String>, SendError> {
    let url = format!(
        "{}/2010-04-01/Accounts/{}/Messages.json",
        account.api_url.trim_end_matches('/'),
        account.account_sid
    );
    let mut form: Vec<(&str, &str)> = vec![("To", to), ("Body", text)];
    match (account.messaging_service_sid, account.from) {
        (Some(service), _) => form.push(("MessagingServiceSid", service)),
        (None, Some(from)) => form.push(("From", from)),
        (None, None) => return Err(SendError::NotConfigured("number".into())),
    }
    if let Some(callback) = &account.status_callback {
        form.push(("StatusCallback", callback));
    }
    let request = http
        .post(&url)
        .basic_auth(account.account_sid, Some(account.auth_token))
        .form(&form);
    let (status, body) = provider_answer(request, "Twilio").await?;
    if status.is_success() {
        return body["sid"]
            .as_str()
            .filter(|sid| !sid.is_empty())
            .map(|sid| vec![sid.to_owned()])
            .ok_or_else(|| SendError::Refused {
                provider: "Twilio",
                detail: "the answer carries no message SID".into(),
            });
    }
    let detail = match (body["message"].as_str(), &body["code"]) {
        (Some(message), code) if !code.is_null() => format!("{message} (Twilio error {code})"),
        (Some(message), _) => message.to_owned(),
        (None, _) => format!("HTTP {status}"),
    };
    Err(if status.as_u16() == 401 || status.as_u16() == 403 {
        SendError::Credentials {
            provider: "Twilio",
            detail,
            keys: "account_sid and auth_token",
        }
    } else {
        SendError::Refused {
            provider: "Twilio",
            detail,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Twilio's published example (tests/data/providers/signatures.json): auth token `12345`, its URL and
    /// parameters, and the signature Twilio computed for them.
    fn published() -> (String, Vec<(String, String)>) {
        let vector = &crate::sources::tests::vectors()["twilio"][0];
        assert_eq!(vector["auth_token"], "12345");
        assert_eq!(vector["signature"], "GvWf1cFY/Q7PnoempGyD5oXAezc=");
        (
            vector["url"].as_str().expect("url").to_owned(),
            crate::sources::tests::vector_params(vector),
        )
    }

    #[test]
    fn the_published_vector_verifies() {
        let (url, params) = published();
        assert_eq!(
            signature("12345", &url, &params),
            "GvWf1cFY/Q7PnoempGyD5oXAezc="
        );
        assert!(verify(
            "12345",
            &url,
            &params,
            "GvWf1cFY/Q7PnoempGyD5oXAezc="
        ));
        // Order of the received parameters does not matter; their content does.
        let mut reversed = params.clone();
        reversed.reverse();
        assert!(verify(
            "12345",
            &url,
            &reversed,
            "GvWf1cFY/Q7PnoempGyD5oXAezc="
        ));
    }

    #[test]
    fn forgeries_are_refused() {
        let (url, params) = published();
        let good = "GvWf1cFY/Q7PnoempGyD5oXAezc=";
        assert!(!verify("12346", &url, &params, good), "another token");
        assert!(!verify(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            &params,
            good
        ));
        let mut changed = params.clone();
        changed[2].1 = "1235".into();
        assert!(
            !verify("12345", &url, &changed, good),
            "a changed parameter"
        );
        let mut added = params.clone();
        added.push(("Body".into(), "hi".into()));
        assert!(!verify("12345", &url, &added, good), "an added parameter");
        for bad in ["", "not base64!", "GvWf1cFY/Q7PnoempGyD5oXAezd="] {
            assert!(!verify("12345", &url, &params, bad), "{bad}");
        }
    }

    #[test]
    fn the_default_port_may_be_present_or_not() {
        let params = pairs(&[("Body", "hi")]);
        let with_port = signature("t", "https://example.com:443/sources/x/inbound", &params);
        assert!(verify(
            "t",
            "https://example.com/sources/x/inbound",
            &params,
            &with_port
        ));
        let without = signature("t", "http://example.com/s", &params);
        assert!(verify("t", "http://example.com:80/s", &params, &without));
        assert_eq!(
            url_variants("http://[::1]/a?b"),
            vec![
                "http://[::1]/a?b".to_owned(),
                "http://[::1]:80/a?b".to_owned()
            ]
        );
        assert_eq!(
            url_variants("https://h:8443"),
            vec!["https://h:8443".to_owned(), "https://h".to_owned()]
        );
    }

    #[test]
    fn json_bodies_are_checked_by_their_hash() {
        let body = br#"{"a":1}"#;
        let hash = hex::encode(Sha256::digest(body));
        assert_eq!(
            body_hash_matches(Some(&format!("bodySHA256={hash}")), body),
            Some(true)
        );
        assert_eq!(
            body_hash_matches(Some(&format!("bodySHA256={hash}")), b"{}"),
            Some(false)
        );
        assert_eq!(body_hash_matches(Some("x=1"), body), None);
        assert_eq!(body_hash_matches(None, body), None);
    }

    #[test]
    fn inbound_messages_and_status_callbacks_are_told_apart() {
        let inbound = pairs(&[
            ("MessageSid", "SM1"),
            ("SmsStatus", "received"),
            ("From", "+15555550100"),
            ("To", "+15555550199"),
            ("Body", "Your code is 123456"),
            ("NumMedia", "0"),
        ]);
        assert_eq!(
            event(&inbound),
            Ok(Event::Inbound {
                sid: "SM1".into(),
                from: "+15555550100".into(),
                text: "Your code is 123456".into()
            })
        );
        let failed = pairs(&[
            ("MessageSid", "SM2"),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "30003"),
        ]);
        assert_eq!(
            event(&failed),
            Ok(Event::Status {
                sid: "SM2".into(),
                update: PartUpdate::Failed(
                    "Twilio reports the message undelivered (Twilio error 30003)".into()
                )
            })
        );
        let progress = pairs(&[("MessageSid", "SM2"), ("MessageStatus", "sending")]);
        assert_eq!(event(&progress), Ok(Event::Other));
        let media = pairs(&[("MessageSid", "MM3"), ("From", "+1"), ("NumMedia", "2")]);
        assert!(
            matches!(event(&media), Ok(Event::Inbound { text, .. }) if text.contains("2 attachment"))
        );
        assert!(event(&pairs(&[("From", "+1")])).is_err());
        assert!(event(&pairs(&[("MessageSid", "SM4")])).is_err());
    }
}
