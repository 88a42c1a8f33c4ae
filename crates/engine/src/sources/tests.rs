//! A source over a real store and hub: signed webhooks in, forged ones refused, retries stored once, Vonage's
//! parts joined (also after a restart, and flagged incomplete after the timeout), status callbacks applied.
//! The HTTP layer and sending through a provider are tested in the engine's integration tests.

use super::*;
use simrelay_protocol::{Message, ServerEvent};

/// The providers' published signature vectors, with their sources and licences.
pub(crate) fn vectors() -> serde_json::Value {
    serde_json::from_str(include_str!(
        "../../../../tests/data/providers/signatures.json"
    ))
    .expect("tests/data/providers/signatures.json is JSON")
}

/// A vector's `params`: `[[name, value], ...]`.
pub(crate) fn vector_params(vector: &serde_json::Value) -> Vec<(String, String)> {
    vector["params"]
        .as_array()
        .expect("params")
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().expect("name").to_owned(),
                pair[1].as_str().expect("value").to_owned(),
            )
        })
        .collect()
}

const TWILIO_TOKEN: &str = "twilio-test-auth-token";
const VONAGE_SECRET: &str = "vonage-test-signature-secret";

fn twilio_config() -> SourceConfig {
    SourceConfig {
        auth_token: Some(TWILIO_TOKEN.into()),
        public_url: Some("https://sms.example.com".into()),
        number: Some("+15555550199".into()),
        ..SourceConfig::new("twilio-us", SourceKind::Twilio)
    }
}

fn vonage_config() -> SourceConfig {
    SourceConfig {
        signature_secret: Some(VONAGE_SECRET.into()),
        signature_method: Some("sha256".into()),
        api_key: Some("abcd1234".into()),
        ..SourceConfig::new("vonage-uk", SourceKind::Vonage)
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    hub: Hub,
    sources: Sources,
    shutdown: CancellationToken,
}

async fn fixture_in(dir: tempfile::TempDir) -> Fixture {
    let store = Store::open(&dir.path().join("s.db")).await.expect("open");
    let hub = Hub::new();
    let shutdown = CancellationToken::new();
    let (sources, _tasks) = Sources::start(
        &[twilio_config(), vonage_config()],
        store.clone(),
        hub.clone(),
        shutdown.clone(),
    )
    .await;
    Fixture {
        _dir: dir,
        store,
        hub,
        sources,
        shutdown,
    }
}

async fn fixture() -> Fixture {
    fixture_in(tempfile::tempdir().expect("tempdir")).await
}

fn form(pairs: &[(&str, &str)]) -> (Vec<(String, String)>, Vec<u8>) {
    let params: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish()
        .into_bytes();
    (params, body)
}

fn post<'a>(path: &'a str, body: &'a [u8]) -> Webhook<'a> {
    Webhook {
        method: "POST",
        path_and_query: path,
        query: path.split_once('?').map(|(_, q)| q),
        host: Some("127.0.0.1:8731"),
        https: false,
        content_type: Some("application/x-www-form-urlencoded"),
        authorization: None,
        twilio_signature: None,
        body,
    }
}

fn twilio_inbound(sid: &str, text: &str) -> (String, Vec<u8>) {
    let (params, body) = form(&[
        ("MessageSid", sid),
        ("SmsSid", sid),
        ("AccountSid", "AC0000"),
        ("From", "+15555550100"),
        ("To", "+15555550199"),
        ("Body", text),
        ("NumMedia", "0"),
        ("SmsStatus", "received"),
    ]);
    let signature = twilio::signature(
        TWILIO_TOKEN,
        "https://sms.example.com/sources/twilio-us/inbound",
        &params,
    );
    (signature, body)
}

fn next_sms(events: &mut tokio::sync::broadcast::Receiver<ServerEvent>) -> Option<Message> {
    loop {
        match events.try_recv() {
            Ok(ServerEvent::Sms { message }) => return Some(message),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn a_signed_twilio_message_is_stored_once_with_its_code_and_a_forged_one_never() {
    let f = fixture().await;
    let mut events = f.hub.subscribe();
    let source = f.sources.get("twilio-us").expect("configured");
    let (signature, body) = twilio_inbound("SM0001", "Your Acme code is 482913");
    let mut request = post("/sources/twilio-us/inbound", &body);
    request.twilio_signature = Some(&signature);
    assert_eq!(
        source
            .webhook(&request, Utc::now())
            .await
            .expect("accepted"),
        Outcome::Stored
    );
    let message = next_sms(&mut events).expect("published");
    assert_eq!(
        (
            message.modem.as_str(),
            message.sender.as_str(),
            message.code.as_deref()
        ),
        ("twilio-us", "+15555550100", Some("482913"))
    );
    // Twilio retries when it did not get our answer: the same message is not stored again.
    assert_eq!(
        source
            .webhook(&request, Utc::now())
            .await
            .expect("accepted"),
        Outcome::Duplicate
    );
    assert!(next_sms(&mut events).is_none());

    // Forgeries: no signature, a signature over other text, a signature made with another token.
    let (_, forged_body) = twilio_inbound("SM0002", "Your Acme code is 000000");
    let mut forged = post("/sources/twilio-us/inbound", &forged_body);
    assert!(matches!(
        source.webhook(&forged, Utc::now()).await,
        Err(WebhookError::Forbidden(_))
    ));
    forged.twilio_signature = Some(&signature);
    assert!(matches!(
        source.webhook(&forged, Utc::now()).await,
        Err(WebhookError::Forbidden(_))
    ));
    let (params, _) = form(&[("MessageSid", "SM0002"), ("From", "+1"), ("Body", "x")]);
    let other = twilio::signature(
        "another token",
        "https://sms.example.com/sources/twilio-us/inbound",
        &params,
    );
    forged.twilio_signature = Some(&other);
    assert!(matches!(
        source.webhook(&forged, Utc::now()).await,
        Err(WebhookError::Forbidden(_))
    ));
    assert_eq!(
        f.store.count().await.expect("count"),
        1,
        "nothing forged was stored"
    );
    // The refusal shows in the source's status, for whoever set up the URL wrong.
    let status = f
        .hub
        .modems()
        .into_iter()
        .find(|m| m.id == "twilio-us")
        .expect("listed");
    assert!(status.last_error.is_some_and(|e| e.contains("public_url")));
    assert_eq!(status.source, Some(SourceKind::Twilio));
    f.shutdown.cancel();
}

#[tokio::test]
async fn twilio_signs_the_address_it_called_which_public_url_gives() {
    let f = fixture().await;
    let source = f.sources.get("twilio-us").expect("configured");
    let (params, body) = form(&[("MessageSid", "SM9"), ("From", "+1555"), ("Body", "hi")]);
    // Signed over the address SimRelay sees (no proxy), not the public one: refused.
    let local = twilio::signature(
        TWILIO_TOKEN,
        "http://127.0.0.1:8731/sources/twilio-us/inbound",
        &params,
    );
    let mut request = post("/sources/twilio-us/inbound", &body);
    request.twilio_signature = Some(&local);
    assert!(matches!(
        source.webhook(&request, Utc::now()).await,
        Err(WebhookError::Forbidden(_))
    ));
    // With the default port spelled out, as Twilio sometimes signs it: accepted.
    let with_port = twilio::signature(
        TWILIO_TOKEN,
        "https://sms.example.com:443/sources/twilio-us/inbound",
        &params,
    );
    request.twilio_signature = Some(&with_port);
    assert_eq!(
        source
            .webhook(&request, Utc::now())
            .await
            .expect("accepted"),
        Outcome::Stored
    );
}

fn vonage_part(id: &str, part: &str, text: &str, timestamp: i64) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = [
        ("msisdn", "447700900001"),
        ("to", "447700900000"),
        ("messageId", id),
        ("text", text),
        ("type", "text"),
        ("keyword", "PART"),
        ("api-key", "abcd1234"),
        ("message-timestamp", "2026-11-22 09:00:00"),
        ("concat", "true"),
        ("concat-ref", "108"),
        ("concat-total", "3"),
        ("concat-part", part),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    params.push(("timestamp".into(), timestamp.to_string()));
    params.push(("nonce".into(), format!("nonce-{id}-{timestamp}")));
    let sig = vonage::signature(SignatureMethod::Sha256, VONAGE_SECRET, &params);
    params.push(("sig".into(), sig));
    params
}

fn query(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

fn get<'a>(path_and_query: &'a str) -> Webhook<'a> {
    Webhook {
        method: "GET",
        path_and_query,
        query: path_and_query.split_once('?').map(|(_, q)| q),
        host: Some("127.0.0.1:8731"),
        https: false,
        content_type: None,
        authorization: None,
        twilio_signature: None,
        body: b"",
    }
}

#[tokio::test]
async fn vonage_parts_are_joined_in_order_once_whatever_the_order_and_retries() {
    let f = fixture().await;
    let mut events = f.hub.subscribe();
    let source = f.sources.get("vonage-uk").expect("configured");
    let now = Utc::now();
    let parts = [
        ("P3", "3", " 482913."),
        ("P1", "1", "Your Example verification"),
        ("P2", "2", " code is"),
    ];
    let mut outcomes = Vec::new();
    for (i, (id, part, text)) in parts.iter().enumerate() {
        // Each delivery is signed anew (its own timestamp and nonce); the retry of P3 comes with a new one.
        let params = vonage_part(id, part, text, now.timestamp() - 10 + i as i64);
        let path = format!("/sources/vonage-uk/inbound?{}", query(&params));
        outcomes.push(source.webhook(&get(&path), now).await.expect("accepted"));
        if i == 0 {
            let retry = vonage_part(id, part, text, now.timestamp() - 5);
            let path = format!("/sources/vonage-uk/inbound?{}", query(&retry));
            assert_eq!(
                source.webhook(&get(&path), now).await.expect("accepted"),
                Outcome::Duplicate
            );
        }
    }
    assert_eq!(
        outcomes,
        [Outcome::Waiting, Outcome::Waiting, Outcome::Stored]
    );
    let message = next_sms(&mut events).expect("published");
    assert_eq!(message.text, "Your Example verification code is 482913.");
    assert_eq!(
        (message.sender.as_str(), message.code.as_deref()),
        ("+447700900001", Some("482913"))
    );
    assert!(!message.incomplete);
    assert_eq!(message.sent_at.to_rfc3339(), "2026-11-22T09:00:00+00:00");
    assert_eq!(
        f.store.raw_pdus(message.id).await.expect("records").len(),
        3
    );
    // A late retry of a part of a committed message changes nothing.
    let late = vonage_part("P2", "2", " code is", now.timestamp());
    let path = format!("/sources/vonage-uk/inbound?{}", query(&late));
    assert_eq!(
        source.webhook(&get(&path), now).await.expect("accepted"),
        Outcome::Duplicate
    );
    assert_eq!(f.store.count().await.expect("count"), 1);
}

#[tokio::test]
async fn vonage_parts_survive_a_restart_and_an_unfinished_set_is_delivered_flagged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let now = Utc::now();
    let first = fixture_in(dir).await;
    let source = first.sources.get("vonage-uk").expect("configured");
    let params = vonage_part("P1", "1", "Your Example verification", now.timestamp());
    let path = format!("/sources/vonage-uk/inbound?{}", query(&params));
    assert_eq!(
        source.webhook(&get(&path), now).await.expect("accepted"),
        Outcome::Waiting
    );
    first.shutdown.cancel();
    first.store.close().await;
    let Fixture { _dir: dir, .. } = first;

    let second = fixture_in(dir).await;
    let mut events = second.hub.subscribe();
    let source = second.sources.get("vonage-uk").expect("configured");
    for (id, part, text) in [("P2", "2", " code is"), ("P3", "3", " 482913.")] {
        let params = vonage_part(id, part, text, now.timestamp());
        let path = format!("/sources/vonage-uk/inbound?{}", query(&params));
        source.webhook(&get(&path), now).await.expect("accepted");
    }
    let message = next_sms(&mut events).expect("joined after the restart");
    assert_eq!(message.text, "Your Example verification code is 482913.");

    // A set missing its middle part is delivered incomplete once it stopped growing.
    for (id, part, text) in [("Q1", "1", "Hello "), ("Q3", "3", "there")] {
        let mut params = vonage_part(id, part, text, now.timestamp());
        params.retain(|(k, _)| k != "sig");
        for (k, v) in params.iter_mut() {
            if k == "concat-ref" {
                *v = "109".into();
            }
        }
        let sig = vonage::signature(SignatureMethod::Sha256, VONAGE_SECRET, &params);
        params.push(("sig".into(), sig));
        let path = format!("/sources/vonage-uk/inbound?{}", query(&params));
        assert_eq!(
            source.webhook(&get(&path), now).await.expect("accepted"),
            Outcome::Waiting
        );
    }
    let expired = source.parts.lock().await.expire(
        Instant::now() + crate::MULTIPART_TIMEOUT,
        crate::MULTIPART_TIMEOUT,
    );
    assert_eq!(expired.len(), 1);
    let incomplete = source.assembled(expired.into_iter().next().expect("one set"));
    assert!(incomplete.incomplete);
    assert_eq!(incomplete.text, "Hello there");
    second.shutdown.cancel();
}

#[tokio::test]
async fn vonage_refuses_forged_stale_and_unsigned_webhooks() {
    let f = fixture().await;
    let source = f.sources.get("vonage-uk").expect("configured");
    let now = Utc::now();
    let refused = |params: Vec<(String, String)>| {
        let source = source.clone();
        async move {
            let path = format!("/sources/vonage-uk/inbound?{}", query(&params));
            matches!(
                source.webhook(&get(&path), now).await,
                Err(WebhookError::Forbidden(_))
            )
        }
    };
    let mut single = vonage_part("S1", "1", "hi", now.timestamp());
    single.retain(|(k, _)| !k.starts_with("concat") && k != "sig");
    let signed = |mut params: Vec<(String, String)>| {
        let sig = vonage::signature(SignatureMethod::Sha256, VONAGE_SECRET, &params);
        params.push(("sig".into(), sig));
        params
    };
    // Unsigned.
    assert!(refused(single.clone()).await);
    // Signed, then the text changed.
    let mut tampered = signed(single.clone());
    tampered[3].1 = "Your code is 000000".into();
    assert!(refused(tampered).await);
    // Signed with another method (the dashboard says sha256).
    let mut md5 = single.clone();
    let sig = vonage::signature(SignatureMethod::Md5Hash, VONAGE_SECRET, &md5);
    md5.push(("sig".into(), sig));
    assert!(refused(md5).await);
    // Signed correctly but ten minutes old: a replay.
    let mut stale = single.clone();
    stale.retain(|(k, _)| k != "timestamp");
    stale.push(("timestamp".into(), (now.timestamp() - 600).to_string()));
    assert!(refused(signed(stale)).await);
    // Another account's API key, correctly signed with our secret: not ours.
    let mut other_key = single.clone();
    for (k, v) in other_key.iter_mut() {
        if k == "api-key" {
            *v = "someone-else".into();
        }
    }
    assert!(refused(signed(other_key)).await);
    assert_eq!(f.store.count().await.expect("count"), 0);
    // And the genuine one, as a JSON POST this time.
    let json: serde_json::Map<String, serde_json::Value> = signed(single)
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    let body = serde_json::Value::Object(json).to_string();
    let mut request = post("/sources/vonage-uk/inbound", body.as_bytes());
    request.content_type = Some("application/json");
    assert_eq!(
        source.webhook(&request, now).await.expect("accepted"),
        Outcome::Stored
    );
}

#[tokio::test]
async fn vonage_messages_api_callbacks_are_verified_by_their_jwt_and_body_hash() {
    let f = fixture().await;
    let source = f.sources.get("vonage-uk").expect("configured");
    let now = Utc::now();
    let body = serde_json::json!({"channel": "sms", "message_uuid": "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab",
        "to": "447700900000", "from": "447700900001", "timestamp": "2026-11-22T09:00:00Z",
        "text": "Your code is 7351", "message_type": "text"})
    .to_string();
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body.as_bytes()));
    let token = |claims: serde_json::Value, secret: &str| {
        format!("Bearer {}", jwt::sign_hs256(&claims, secret.as_bytes()))
    };
    let claims = |iat: i64, hash: &str| {
        serde_json::json!({"iat": iat, "jti": "c3d4", "iss": "Vonage", "payload_hash": hash,
            "api_key": "abcd1234", "application_id": "aaaaaaaa-0000-4000-8000-000000000000"})
    };
    let attempt = |authorization: String, body: String| {
        let source = source.clone();
        async move {
            let mut request = post("/sources/vonage-uk/inbound", body.as_bytes());
            request.content_type = Some("application/json");
            request.authorization = Some(&authorization);
            source.webhook(&request, now).await
        }
    };
    for (why, authorization, sent) in [
        (
            "another secret",
            token(claims(now.timestamp(), &hash), "wrong"),
            body.clone(),
        ),
        (
            "stale",
            token(claims(now.timestamp() - 3600, &hash), VONAGE_SECRET),
            body.clone(),
        ),
        (
            "body swapped",
            token(claims(now.timestamp(), &hash), VONAGE_SECRET),
            body.replace("7351", "0000"),
        ),
        (
            "no hash",
            token(serde_json::json!({"iat": now.timestamp()}), VONAGE_SECRET),
            body.clone(),
        ),
    ] {
        assert!(
            matches!(
                attempt(authorization, sent).await,
                Err(WebhookError::Forbidden(_))
            ),
            "{why}"
        );
    }
    assert_eq!(f.store.count().await.expect("count"), 0);
    let genuine = token(claims(now.timestamp(), &hash), VONAGE_SECRET);
    assert_eq!(
        attempt(genuine.clone(), body.clone())
            .await
            .expect("accepted"),
        Outcome::Stored
    );
    assert_eq!(
        attempt(genuine, body).await.expect("accepted"),
        Outcome::Duplicate
    );
    let stored = f.store.recent(1).await.expect("recent");
    assert_eq!(
        (stored[0].sender.as_str(), stored[0].code.as_deref()),
        ("+447700900001", Some("7351"))
    );
}

#[tokio::test]
async fn status_callbacks_move_a_sent_message_forward() {
    let f = fixture().await;
    let mut sent = f.hub.subscribe_sent();
    let source = f.sources.get("twilio-us").expect("configured");
    let id = f
        .store
        .insert_sent("twilio-us", "+15555550100", "hello", 1)
        .await
        .expect("insert");
    f.store
        .link_provider_sent("twilio-us", id, &["SM77".into()])
        .await
        .expect("link");
    let (params, body) = form(&[
        ("MessageSid", "SM77"),
        ("MessageStatus", "delivered"),
        ("To", "+15555550100"),
    ]);
    let signature = twilio::signature(
        TWILIO_TOKEN,
        "https://sms.example.com/sources/twilio-us/status",
        &params,
    );
    let mut request = post("/sources/twilio-us/status", &body);
    request.twilio_signature = Some(&signature);
    assert_eq!(
        source
            .webhook(&request, Utc::now())
            .await
            .expect("accepted"),
        Outcome::Status
    );
    let published = sent.try_recv().expect("a sent frame");
    assert_eq!(
        (published.id, published.status),
        (id, SendStatus::Delivered)
    );
}

#[test]
fn configuration_mistakes_name_the_key() {
    assert!(check_all(&[twilio_config(), vonage_config()]).is_ok());
    let cases = [
        (
            SourceConfig {
                name: "a/b".into(),
                ..twilio_config()
            },
            "name",
        ),
        (
            SourceConfig {
                name: "demo".into(),
                ..twilio_config()
            },
            "name",
        ),
        (
            SourceConfig {
                auth_token: None,
                ..twilio_config()
            },
            "auth_token",
        ),
        (
            SourceConfig {
                api_key: Some("k".into()),
                ..twilio_config()
            },
            "api_key",
        ),
        (
            SourceConfig {
                signature_secret: None,
                ..vonage_config()
            },
            "signature_secret",
        ),
        (
            SourceConfig {
                signature_method: Some("sha384".into()),
                ..vonage_config()
            },
            "signature_method",
        ),
        (
            SourceConfig {
                account_sid: Some("AC".into()),
                ..vonage_config()
            },
            "account_sid",
        ),
        (
            SourceConfig {
                public_url: Some("sms.example.com".into()),
                ..vonage_config()
            },
            "public_url",
        ),
    ];
    for (config, key) in cases {
        assert_eq!(config.check().map_err(|e| e.key), Err(key), "{config:?}");
    }
    let twice = [twilio_config(), twilio_config()];
    assert_eq!(
        check_all(&twice).map_err(|(i, e)| (i, e.key)),
        Err((1, "name"))
    );
    // Secrets never show in debug output (logs, panics).
    let shown = format!("{:?}", twilio_config());
    assert!(
        !shown.contains(TWILIO_TOKEN) && shown.contains("<redacted>"),
        "{shown}"
    );
}
