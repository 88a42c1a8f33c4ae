//! Vonage: the SMS API's signed webhooks (`sig`), the Messages API's JWT-signed callbacks, what an inbound
//! SMS, a delivery receipt and a status callback say, and sending through the SMS API.
//!
//! SMS API signatures: every parameter but `sig`, sorted by name, each as `&name=value` with `&` and `=` in
//! values replaced by `_`; then either MD5 of that string followed by the signature secret (`md5hash`, the
//! dashboard's default) or an HMAC of it keyed by the secret (`md5`, `sha1`, `sha256`, `sha512`), in hex.
//! The signed `timestamp` (Unix seconds) must be recent, which bounds how long a captured request could be
//! replayed. Messages API callbacks carry `Authorization: Bearer <JWT>` instead (see [`super::jwt`]).

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use md5::Md5;
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use super::{provider_answer, PartUpdate, SendError};

/// Where the SMS API is.
pub(crate) const DEFAULT_API_URL: &str = "https://rest.nexmo.com";

/// How a signed webhook's `sig` is computed (the dashboard's "signature method").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignatureMethod {
    /// MD5 of the parameters followed by the secret (Vonage's default).
    Md5Hash,
    /// HMAC-MD5.
    Md5,
    /// HMAC-SHA1.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl FromStr for SignatureMethod {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "md5hash" => SignatureMethod::Md5Hash,
            "md5" => SignatureMethod::Md5,
            "sha1" => SignatureMethod::Sha1,
            "sha256" => SignatureMethod::Sha256,
            "sha512" => SignatureMethod::Sha512,
            _ => return Err(()),
        })
    }
}

/// The string Vonage signs: `&name=value` for each parameter but `sig`, sorted by name.
fn signing_string(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().filter(|(k, _)| k != "sig").collect();
    sorted.sort();
    sorted
        .into_iter()
        .map(|(k, v)| format!("&{k}={}", v.replace(['&', '='], "_")))
        .collect()
}

/// The digest bytes Vonage computes for `params`.
fn digest(method: SignatureMethod, secret: &str, params: &[(String, String)]) -> Vec<u8> {
    let text = signing_string(params);
    fn hmac<M: Mac + hmac::digest::KeyInit>(secret: &str, text: &str) -> Vec<u8> {
        let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret.as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(text.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
    match method {
        SignatureMethod::Md5Hash => {
            let mut md5 = Md5::new();
            md5.update(text.as_bytes());
            md5.update(secret.as_bytes());
            md5.finalize().to_vec()
        }
        SignatureMethod::Md5 => hmac::<Hmac<Md5>>(secret, &text),
        SignatureMethod::Sha1 => hmac::<Hmac<Sha1>>(secret, &text),
        SignatureMethod::Sha256 => hmac::<Hmac<Sha256>>(secret, &text),
        SignatureMethod::Sha512 => hmac::<Hmac<Sha512>>(secret, &text),
    }
}

/// The `sig` Vonage sends for `params`: lower-case hex for `md5hash`, upper-case for the HMACs.
#[cfg(test)]
pub(crate) fn signature(
    method: SignatureMethod,
    secret: &str,
    params: &[(String, String)],
) -> String {
    let hex = hex::encode(digest(method, secret, params));
    if method == SignatureMethod::Md5Hash {
        hex
    } else {
        hex.to_ascii_uppercase()
    }
}

/// Whether `params` carry a valid `sig` (in either case of hex). Constant time in the signature.
pub(crate) fn verify(method: SignatureMethod, secret: &str, params: &[(String, String)]) -> bool {
    let Some(given) = params
        .iter()
        .find(|(k, _)| k == "sig")
        .and_then(|(_, sig)| hex::decode(sig.trim()).ok())
    else {
        return false;
    };
    crate::tokens::constant_time_eq(&given, &digest(method, secret, params))
}

/// A flat view of a webhook's fields, whatever way they came (query, form or JSON): JSON strings as they are,
/// numbers and booleans as their JSON text, nested values left out (the SMS API sends none).
pub(crate) fn json_params(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return Err("the body is not a JSON object".into());
    };
    Ok(map
        .into_iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k, s)),
            Value::Number(n) => Some((k, n.to_string())),
            Value::Bool(b) => Some((k, b.to_string())),
            _ => None,
        })
        .collect())
}

/// One part of a concatenated message, as the SMS API announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Concat {
    /// `concat-ref`: shared by the parts (the sender's reference, as text).
    pub(crate) reference: String,
    /// `concat-total`.
    pub(crate) total: u8,
    /// `concat-part`, from 1.
    pub(crate) part: u8,
}

/// An inbound SMS, from either API.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Inbound {
    /// `messageId` (SMS API) or `message_uuid` (Messages API).
    pub(crate) id: String,
    /// The sender, `+` and digits for a number (Vonage sends numbers without the `+`), else as sent.
    pub(crate) from: String,
    /// The Vonage number it was sent to.
    pub(crate) to: String,
    /// Its text (a binary message's data in hex).
    pub(crate) text: String,
    /// `gsm7`, `ucs2` or `binary`, from `type`, when the SMS API tells it.
    pub(crate) encoding: Option<&'static str>,
    /// When Vonage received it, when told.
    pub(crate) sent_at: Option<DateTime<FixedOffset>>,
    /// Set for one part of a long message (SMS API).
    pub(crate) concat: Option<Concat>,
}

/// What a verified Vonage webhook is about.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    /// An inbound SMS or a part of one.
    Inbound(Inbound),
    /// A delivery receipt (SMS API) or status callback (Messages API) for a message we sent.
    Status {
        /// `messageId` / `message_uuid`.
        id: String,
        /// What it says.
        update: PartUpdate,
    },
    /// Nothing to store (a receipt saying nothing final, another channel's message).
    Other,
}

/// A sender as the conversation list shows it: `+447700900001` for Vonage's `447700900001`.
pub(crate) fn display_number(msisdn: &str) -> String {
    if !msisdn.is_empty() && msisdn.bytes().all(|b| b.is_ascii_digit()) {
        format!("+{msisdn}")
    } else {
        msisdn.to_owned()
    }
}

/// `message-timestamp` (`2020-01-01 12:00:00`, UTC) or an RFC 3339 time.
fn parse_time(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text).ok().or_else(|| {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
            .ok()
            .map(|t| Utc.from_utc_datetime(&t).fixed_offset())
    })
}

/// Reads a verified SMS API webhook (inbound message or delivery receipt). `Err` names what is missing.
pub(crate) fn sms_api_event(params: &[(String, String)]) -> Result<Event, String> {
    let map: BTreeMap<&str, &str> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let id = map
        .get("messageId")
        .filter(|id| !id.is_empty())
        .ok_or("no messageId")?;
    if map.contains_key("status") && !map.contains_key("text") && !map.contains_key("type") {
        let code = map.get("err-code").copied().unwrap_or("");
        let failed = |what: &str| {
            PartUpdate::Failed(if code.is_empty() || code == "0" {
                format!("Vonage reports the message {what}")
            } else {
                format!("Vonage reports the message {what} (error {code})")
            })
        };
        let update = match map.get("status").copied().unwrap_or("") {
            "delivered" => PartUpdate::Delivered,
            "accepted" | "buffered" => PartUpdate::Sent,
            status @ ("expired" | "failed" | "rejected") => failed(status),
            _ => return Ok(Event::Other),
        };
        return Ok(Event::Status {
            id: (*id).to_owned(),
            update,
        });
    }
    let from = map
        .get("msisdn")
        .filter(|m| !m.is_empty())
        .ok_or("no msisdn")?;
    let (text, encoding) = match map.get("type").copied().unwrap_or("text") {
        "binary" => (
            format!(
                "(8-bit data) {}",
                map.get("data").copied().unwrap_or("").to_ascii_uppercase()
            ),
            Some("binary"),
        ),
        "unicode" => (
            map.get("text").copied().unwrap_or("").to_owned(),
            Some("ucs2"),
        ),
        _ => (
            map.get("text").copied().unwrap_or("").to_owned(),
            Some("gsm7"),
        ),
    };
    let concat = if map.get("concat").copied() == Some("true") {
        let number = |name: &str| -> Result<u8, String> {
            map.get(name)
                .and_then(|v| v.parse::<u8>().ok())
                .filter(|n| *n >= 1)
                .ok_or_else(|| format!("{name} must be a part number from 1 to 255"))
        };
        let total = number("concat-total")?;
        let part = number("concat-part")?;
        if part > total {
            return Err("concat-part is larger than concat-total".into());
        }
        let reference = map
            .get("concat-ref")
            .filter(|r| !r.is_empty())
            .ok_or("concat is true but concat-ref is missing")?;
        (total > 1).then(|| Concat {
            reference: (*reference).to_owned(),
            total,
            part,
        })
    } else {
        None
    };
    Ok(Event::Inbound(Inbound {
        id: (*id).to_owned(),
        from: display_number(from),
        to: map.get("to").copied().unwrap_or("").to_owned(),
        text,
        encoding,
        sent_at: map.get("message-timestamp").and_then(|t| parse_time(t)),
        concat,
    }))
}

/// Reads a verified Messages API callback (an inbound message or a message status).
pub(crate) fn messages_api_event(body: &Value) -> Result<Event, String> {
    let id = body["message_uuid"]
        .as_str()
        .filter(|id| !id.is_empty())
        .ok_or("no message_uuid")?;
    if let Some(channel) = body["channel"].as_str() {
        if channel != "sms" {
            return Ok(Event::Other);
        }
    }
    if let Some(status) = body["status"].as_str() {
        let reason = || {
            let title = body["error"]["title"].as_str().unwrap_or("");
            let detail = body["error"]["detail"].as_str().unwrap_or("");
            match (title, detail) {
                ("", "") => format!("Vonage reports the message {status}"),
                (t, "") | ("", t) => format!("Vonage reports the message {status}: {t}"),
                (t, d) => format!("Vonage reports the message {status}: {t} ({d})"),
            }
        };
        let update = match status {
            "submitted" => PartUpdate::Sent,
            "delivered" | "read" => PartUpdate::Delivered,
            "rejected" | "undeliverable" => PartUpdate::Failed(reason()),
            _ => return Ok(Event::Other),
        };
        return Ok(Event::Status {
            id: id.to_owned(),
            update,
        });
    }
    let from = body["from"]
        .as_str()
        .filter(|f| !f.is_empty())
        .ok_or("no from")?;
    Ok(Event::Inbound(Inbound {
        id: id.to_owned(),
        from: display_number(from),
        to: body["to"].as_str().unwrap_or("").to_owned(),
        text: body["text"].as_str().unwrap_or("").to_owned(),
        encoding: None,
        sent_at: body["timestamp"].as_str().and_then(parse_time),
        // The Messages API joins long messages itself.
        concat: None,
    }))
}

/// How to send through one Vonage account.
#[derive(Debug, Clone)]
pub(crate) struct Account<'a> {
    /// SMS API base URL.
    pub(crate) api_url: &'a str,
    pub(crate) api_key: &'a str,
    pub(crate) api_secret: &'a str,
    /// `from`: the Vonage number (or an alphanumeric sender where allowed).
    pub(crate) from: &'a str,
    /// Where Vonage posts the delivery receipts (needs `public_url`; else the dashboard's setting applies).
    pub(crate) callback: Option<String>,
}

/// Sends `text` to `to` through the SMS API; returns the id of each part Vonage sent.
pub(crate) async fn submit(
    http: &reqwest::Client,
    account: &Account<'_>,
    to: &str,
    text: &str,
) -> Result<Vec<String>, SendError> {
    let url = format!("{}/sms/json", account.api_url.trim_end_matches('/'));
    let unicode = simrelay_pdu::plan(text, None).encoding == simrelay_pdu::Encoding::Ucs2;
    let to = to.trim_start_matches('+');
    let from = account.from.trim_start_matches('+');
    let mut form: Vec<(&str, &str)> = vec![
        ("api_key", account.api_key),
        ("api_secret", account.api_secret),
        ("from", from),
        ("to", to),
        ("text", text),
        ("status-report-req", "1"),
    ];
    if unicode {
        form.push(("type", "unicode"));
    }
    if let Some(callback) = &account.callback {
        form.push(("callback", callback));
    }
    let (status, body) = provider_answer(http.post(&url).form(&form), "Vonage").await?;
    if status.as_u16() == 401 {
        return Err(SendError::Credentials {
            provider: "Vonage",
            detail: format!("HTTP {status}"),
            keys: "api_key and api_secret",
        });
    }
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    if !status.is_success() || messages.is_empty() {
        return Err(SendError::Refused {
            provider: "Vonage",
            detail: format!("HTTP {status}, no message accepted"),
        });
    }
    let mut ids = Vec::new();
    for message in &messages {
        let code = message["status"].as_str().unwrap_or("");
        if code != "0" {
            let text = message["error-text"].as_str().unwrap_or("no reason given");
            // Status 4 is "invalid credentials", 14 "invalid signature".
            return Err(if code == "4" || code == "14" {
                SendError::Credentials {
                    provider: "Vonage",
                    detail: format!("{text} (status {code})"),
                    keys: "api_key and api_secret",
                }
            } else {
                SendError::Refused {
                    provider: "Vonage",
                    detail: format!("{text} (status {code})"),
                }
            });
        }
        match message["message-id"].as_str() {
            Some(id) if !id.is_empty() => ids.push(id.to_owned()),
            _ => {
                return Err(SendError::Refused {
                    provider: "Vonage",
                    detail: "a part was accepted without a message-id".into(),
                })
            }
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Every Vonage vector of tests/data/providers/signatures.json: (secret, params, [(method, sig)]).
    /// (secret, params, [(method, sig)]) of one vector.
    type Vector = (
        String,
        Vec<(String, String)>,
        Vec<(SignatureMethod, String)>,
    );

    fn vectors() -> Vec<Vector> {
        let all = crate::sources::tests::vectors();
        all["vonage_sms"]
            .as_array()
            .expect("vonage_sms")
            .iter()
            .map(|v| {
                let signatures = v["signatures"]
                    .as_object()
                    .expect("signatures")
                    .iter()
                    .map(|(method, sig)| {
                        (
                            method.parse().expect("a known method"),
                            sig.as_str().expect("sig").to_owned(),
                        )
                    })
                    .collect();
                (
                    v["secret"].as_str().expect("secret").to_owned(),
                    crate::sources::tests::vector_params(v),
                    signatures,
                )
            })
            .collect()
    }

    /// The Ruby SDK's webhook, signed with each of the five methods.
    fn published() -> Vec<(String, String)> {
        vectors().remove(0).1
    }
    const SECRET: &str = "my_secret_key_for_testing";
    const VECTORS: [(SignatureMethod, &str); 5] = [
        (SignatureMethod::Md5Hash, "d2e7b1dc968737c5998ad624e02f90b7"),
        (SignatureMethod::Md5, "DDEBD46008C2D4E93CCE578A332A52D5"),
        (SignatureMethod::Sha1, "27D0D05C2876C7CB1720DBCDBA4D492E1E55C09A"),
        (
            SignatureMethod::Sha256,
            "DDB8397C2B90AAC7F3882D306475C9A5058C92322EEF43C92B298B6E0FC0D330",
        ),
        (
            SignatureMethod::Sha512,
            "E0D3C650F8C9D1A5C174D10DDDBFB003E561F59B265616208B0487C5D819481CD3C311D59CF6165ECD1139622D5BA3A256C0D763AC4A9AD9144B5A426B94FE82",
        ),
    ];

    #[test]
    fn the_published_vectors_verify_for_every_method() {
        let all = vectors();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].2.len(), 5, "all five methods");
        for (secret, params, signatures) in all {
            for (method, expected) in signatures {
                assert_eq!(signature(method, &secret, &params), expected, "{method:?}");
                let mut signed = params.clone();
                signed.push(("sig".into(), expected.clone()));
                assert!(verify(method, &secret, &signed), "{method:?}");
                // Vonage's libraries compare without regard to case.
                signed.last_mut().expect("sig").1 = expected.to_ascii_lowercase();
                assert!(verify(method, &secret, &signed), "{method:?} lower case");
            }
        }
    }

    #[test]
    fn forged_and_unsigned_webhooks_are_refused() {
        for (method, expected) in VECTORS {
            let mut signed = published();
            signed.push(("sig".into(), expected.into()));
            assert!(!verify(method, "another secret", &signed), "{method:?}");
            let mut changed = signed.clone();
            changed[3].1 = "Test agaim".into();
            assert!(!verify(method, SECRET, &changed), "{method:?} changed text");
            let other = if method == SignatureMethod::Sha256 {
                SignatureMethod::Sha512
            } else {
                SignatureMethod::Sha256
            };
            assert!(
                !verify(other, SECRET, &signed),
                "{method:?} under {other:?}"
            );
        }
        assert!(
            !verify(SignatureMethod::Sha256, SECRET, &published()),
            "no sig"
        );
        let mut junk = published();
        junk.push(("sig".into(), "zz".into()));
        assert!(!verify(SignatureMethod::Sha256, SECRET, &junk));
    }

    #[test]
    fn ampersands_and_equals_in_values_are_signed_as_underscores() {
        // The Ruby tests' vector signs `k=&`; `_` and `=` must sign alike.
        for value in ["_", "&", "="] {
            let params = pairs(&[("k", value)]);
            assert_eq!(
                signature(SignatureMethod::Md5Hash, SECRET, &params),
                "c3d6a686ab9c7e7408bb1c0506e9629a",
                "{value}"
            );
        }
    }

    #[test]
    fn inbound_parts_and_receipts_are_read() {
        let mut params = published();
        params.extend(pairs(&[
            ("concat", "true"),
            ("concat-ref", "108"),
            ("concat-total", "3"),
            ("concat-part", "2"),
        ]));
        let Ok(Event::Inbound(inbound)) = sms_api_event(&params) else {
            panic!("an inbound part");
        };
        assert_eq!(inbound.from, "+14843472194");
        assert_eq!(inbound.text, "Test again");
        assert_eq!(
            inbound.concat,
            Some(Concat {
                reference: "108".into(),
                total: 3,
                part: 2
            })
        );
        assert_eq!(
            inbound.sent_at.map(|t| t.to_rfc3339()),
            Some("2013-11-21T15:27:30+00:00".into())
        );
        let mut bad = params.clone();
        bad.retain(|(k, _)| k != "concat-part");
        assert!(sms_api_event(&bad).is_err());
        let receipt = pairs(&[
            ("msisdn", "447700900000"),
            ("to", "Vonage"),
            ("messageId", "0A0000000123ABCD1"),
            ("status", "failed"),
            ("err-code", "6"),
        ]);
        assert_eq!(
            sms_api_event(&receipt),
            Ok(Event::Status {
                id: "0A0000000123ABCD1".into(),
                update: PartUpdate::Failed("Vonage reports the message failed (error 6)".into())
            })
        );
        let binary = pairs(&[
            ("msisdn", "Shop"),
            ("messageId", "1"),
            ("type", "binary"),
            ("data", "0a0b"),
        ]);
        assert!(matches!(sms_api_event(&binary),
            Ok(Event::Inbound(Inbound { text, from, .. })) if text == "(8-bit data) 0A0B" && from == "Shop"));
    }

    #[test]
    fn messages_api_callbacks_are_read() {
        let inbound = serde_json::json!({"channel": "sms", "message_uuid": "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab",
            "to": "447700900000", "from": "447700900001", "timestamp": "2025-02-03T12:14:25Z",
            "text": "Hello", "message_type": "text", "sms": {"num_messages": "1"}});
        assert!(matches!(messages_api_event(&inbound),
            Ok(Event::Inbound(Inbound { from, text, .. })) if from == "+447700900001" && text == "Hello"));
        let status = serde_json::json!({"message_uuid": "u1", "status": "rejected", "channel": "sms",
            "error": {"title": "Throttled", "detail": "slow down"}});
        assert_eq!(
            messages_api_event(&status),
            Ok(Event::Status {
                id: "u1".into(),
                update: PartUpdate::Failed(
                    "Vonage reports the message rejected: Throttled (slow down)".into()
                )
            })
        );
        let whatsapp = serde_json::json!({"message_uuid": "u2", "channel": "whatsapp", "from": "1", "text": "x"});
        assert_eq!(messages_api_event(&whatsapp), Ok(Event::Other));
    }

    #[test]
    fn json_bodies_flatten_to_strings() {
        let params =
            json_params(br#"{"msisdn":"1","concat":true,"n":3,"nested":{"a":1}}"#).expect("object");
        assert_eq!(
            params,
            pairs(&[("concat", "true"), ("msisdn", "1"), ("n", "3")])
        );
        assert!(json_params(b"[1]").is_err());
    }
}
