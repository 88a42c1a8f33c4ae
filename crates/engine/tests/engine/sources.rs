//! Provider sources and conversations over real HTTP: a real engine on an ephemeral port over a real SQLite
//! file, webhooks signed the way Twilio and Vonage sign them (by this file's own implementation of their
//! published schemes, independent of the engine's), and a local HTTP receiver standing in for each provider's
//! REST API that checks the request's shape and credentials before it answers as the provider documents.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use simrelay_engine::{Config, Engine, SourceConfig, SourceKind};
use simrelay_protocol::{
    ApiError, ConversationPage, MessagePage, ModemStatus, ReadState, SendStatus, SentMessage,
    ThreadEntry, ThreadPage,
};

use crate::common::{self, eventually, url};

const TOKEN: &str = "sources-test-api-token";
const TWILIO_TOKEN: &str = "twilio-auth-token-for-tests";
const TWILIO_SID: &str = "AC00000000000000000000000000000001";
const VONAGE_SECRET: &str = "vonage-signature-secret-for-tests";
const PUBLIC: &str = "https://sms.example.com";

fn twilio(api_url: Option<String>) -> SourceConfig {
    SourceConfig {
        auth_token: Some(TWILIO_TOKEN.into()),
        account_sid: Some(TWILIO_SID.into()),
        number: Some("+15555550199".into()),
        label: Some("US number".into()),
        api_url,
        ..SourceConfig::new("twilio-us", SourceKind::Twilio)
    }
}

fn vonage(api_url: Option<String>) -> SourceConfig {
    SourceConfig {
        signature_secret: Some(VONAGE_SECRET.into()),
        signature_method: Some("sha256".into()),
        api_key: Some("abcd1234".into()),
        api_secret: Some("vonage-api-secret".into()),
        number: Some("447700900000".into()),
        public_url: Some(PUBLIC.into()),
        api_url,
        ..SourceConfig::new("vonage-uk", SourceKind::Vonage)
    }
}

async fn start(dir: &tempfile::TempDir, sources: Vec<SourceConfig>) -> Engine {
    common::start(Config {
        token: Some(TOKEN.into()),
        sources,
        ..common::config(&dir.path().join("sources.db"))
    })
    .await
}

async fn api<T: serde::de::DeserializeOwned>(engine: &Engine, path: &str) -> T {
    let r = reqwest::Client::new()
        .get(url(engine, path))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.expect("json")
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn encode(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

/// Twilio's scheme: base64 HMAC-SHA1 over the URL followed by each parameter's name and value, sorted by name.
fn twilio_signature(url: &str, params: &[(String, String)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(TWILIO_TOKEN.as_bytes()).expect("key");
    mac.update(url.as_bytes());
    for (k, v) in &sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Vonage's scheme (signature method sha256): upper-case hex HMAC-SHA256 over `&name=value`, sorted by name.
fn vonage_signed(mut params: Vec<(String, String)>) -> Vec<(String, String)> {
    params.push((
        "timestamp".into(),
        chrono::Utc::now().timestamp().to_string(),
    ));
    let mut sorted = params.clone();
    sorted.sort();
    let text: String = sorted
        .iter()
        .map(|(k, v)| format!("&{k}={}", v.replace(['&', '='], "_")))
        .collect();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(VONAGE_SECRET.as_bytes()).expect("key");
    mac.update(text.as_bytes());
    params.push(("sig".into(), hex::encode_upper(mac.finalize().into_bytes())));
    params
}

/// Posts a Twilio webhook to `path`, signed for the address SimRelay is reached at (no proxy: what `Host` says).
async fn post_twilio(
    engine: &Engine,
    path: &str,
    params: &[(String, String)],
    signature: Option<String>,
) -> reqwest::Response {
    let signature = signature.unwrap_or_else(|| twilio_signature(&url(engine, path), params));
    reqwest::Client::new()
        .post(url(engine, path))
        .header("X-Twilio-Signature", signature)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(params))
        .send()
        .await
        .expect("post")
}

fn twilio_inbound(sid: &str, from: &str, body: &str) -> Vec<(String, String)> {
    pairs(&[
        ("ToCountry", "US"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("Body", body),
        ("To", "+15555550199"),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", TWILIO_SID),
        ("From", from),
        ("ApiVersion", "2010-04-01"),
    ])
}

async fn count(engine: &Engine) -> i64 {
    engine.store().count().await.expect("count")
}

#[tokio::test]
async fn webhooks_need_the_provider_signature_not_the_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(&dir, vec![twilio(None), vonage(None)]).await;
    let mut events = engine.subscribe();

    // Twilio: signed, no token: stored, answered with empty TwiML.
    let params = twilio_inbound(
        "SM11111111111111111111111111111111",
        "+15555550100",
        "Your Acme code is 482913",
    );
    let r = post_twilio(&engine, "/sources/twilio-us/inbound", &params, None).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .starts_with("text/xml"));
    assert_eq!(
        r.text().await.expect("body"),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"
    );
    let message = common::next_sms(&mut events).await;
    assert_eq!(
        (message.modem.as_str(), message.code.as_deref()),
        ("twilio-us", Some("482913"))
    );
    // The same delivery again (Twilio retries when our answer got lost): answered, stored once.
    let r = post_twilio(&engine, "/sources/twilio-us/inbound", &params, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(count(&engine).await, 1);

    // Forged: wrong signature, no signature, a signature for other content. 403, nothing stored.
    let forged = twilio_inbound(
        "SM22222222222222222222222222222222",
        "+15555550100",
        "Your Acme code is 000000",
    );
    for signature in [
        "AAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned(),
        twilio_signature(&url(&engine, "/sources/twilio-us/inbound"), &params),
    ] {
        let r = post_twilio(
            &engine,
            "/sources/twilio-us/inbound",
            &forged,
            Some(signature),
        )
        .await;
        assert_eq!(r.status(), 403);
        assert_eq!(
            r.json::<ApiError>().await.expect("json").error,
            "forbidden_signature"
        );
    }
    let r = reqwest::Client::new()
        .post(url(&engine, "/sources/twilio-us/inbound"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&forged))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 403);
    assert_eq!(count(&engine).await, 1);

    // Vonage's SMS API by GET, signed: 204; the same with the text changed: 403.
    let params = vonage_signed(pairs(&[
        ("msisdn", "447700900001"),
        ("to", "447700900000"),
        ("messageId", "0A0000001234567B"),
        ("text", "Hello from Vonage"),
        ("type", "text"),
        ("keyword", "HELLO"),
        ("api-key", "abcd1234"),
        ("message-timestamp", "2026-11-22 09:00:00"),
    ]));
    let query = encode(&params);
    let r = reqwest::get(url(&engine, &format!("/sources/vonage-uk/inbound?{query}")))
        .await
        .expect("get");
    assert_eq!(r.status(), 204);
    let tampered = query.replace("Hello+from+Vonage", "Hello+from+Mallory");
    let r = reqwest::get(url(
        &engine,
        &format!("/sources/vonage-uk/inbound?{tampered}"),
    ))
    .await
    .expect("get");
    assert_eq!(r.status(), 403);
    assert_eq!(count(&engine).await, 2);

    // The token still guards the API; the sources are listed with the modems.
    assert_eq!(
        reqwest::get(url(&engine, "/api/messages"))
            .await
            .expect("get")
            .status(),
        401
    );
    let page: MessagePage = api(&engine, "/api/messages?modem=vonage-uk").await;
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.messages[0].sender, "+447700900001");
    let modems: Value = api(&engine, "/api/modems").await;
    let modems: Vec<ModemStatus> =
        serde_json::from_value(modems["modems"].clone()).expect("modems");
    let twilio = modems.iter().find(|m| m.id == "twilio-us").expect("listed");
    assert_eq!(
        (twilio.source, twilio.label.as_deref()),
        (Some(SourceKind::Twilio), Some("US number"))
    );
    assert!(twilio.last_error.is_some(), "the forged webhook shows");

    // Unknown sources and hooks, oversized bodies.
    for path in ["/sources/nobody/inbound", "/sources/twilio-us/other"] {
        let r = reqwest::Client::new()
            .post(url(&engine, path))
            .body("x=1")
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 404, "{path}");
    }
    let r = reqwest::Client::new()
        .post(url(&engine, "/sources/twilio-us/inbound"))
        .header("X-Twilio-Signature", "x")
        .body(vec![b'a'; 70 * 1024])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 413);
    engine.shutdown().await;
}

#[tokio::test]
async fn without_a_source_there_are_no_webhooks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(&dir, Vec::new()).await;
    let params = twilio_inbound("SM3", "+15555550100", "hi");
    let r = post_twilio(&engine, "/sources/twilio-us/inbound", &params, None).await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<ApiError>().await.expect("json").error, "not_found");
    engine.shutdown().await;
}

/// What the stand-in provider API saw.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    authorization: Option<String>,
    form: Vec<(String, String)>,
}

/// A local HTTP server standing in for a provider's REST API: it records each request and answers with
/// `answer(request)`.
async fn receiver(answer: fn(&Seen) -> (StatusCode, Value)) -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
    type Shared = (Arc<Mutex<Vec<Seen>>>, fn(&Seen) -> (StatusCode, Value));
    async fn handle(
        State((seen, answer)): State<Shared>,
        uri: Uri,
        headers: HeaderMap,
        body: String,
    ) -> impl IntoResponse {
        let request = Seen {
            path: uri.path().to_owned(),
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            form: form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect(),
        };
        let (status, json) = answer(&request);
        seen.lock().expect("lock").push(request);
        (status, axum::Json(json))
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .fallback(handle)
        .with_state((seen.clone(), answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

fn field<'a>(seen: &'a Seen, name: &str) -> Option<&'a str> {
    seen.form
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn send(engine: &Engine, body: Value) -> i64 {
    let r = reqwest::Client::new()
        .post(url(engine, "/api/send"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 202);
    r.json::<Value>().await.expect("json")["id"]
        .as_i64()
        .expect("id")
}

async fn sent(engine: &Engine, id: i64) -> SentMessage {
    api(engine, &format!("/api/sent/{id}")).await
}

async fn wait_status(engine: &Engine, id: i64, status: SendStatus) -> SentMessage {
    eventually(&format!("sent message {id} to be {status:?}"), || async {
        sent(engine, id).await.status == status
    })
    .await;
    sent(engine, id).await
}

#[tokio::test]
async fn sending_through_twilio_calls_its_api_as_documented_and_status_callbacks_deliver() {
    let (addr, seen) = receiver(|request| {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{TWILIO_SID}:{TWILIO_TOKEN}"));
        if request.authorization.as_deref() != Some(&format!("Basic {basic}")) {
            return (StatusCode::UNAUTHORIZED, json!({"code": 20003, "message": "Authenticate", "status": 401}));
        }
        if field(request, "To").is_none_or(|to| !to.starts_with('+')) {
            return (StatusCode::BAD_REQUEST, json!({"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}));
        }
        (StatusCode::CREATED, json!({"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued", "num_segments": "1"}))
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = twilio(Some(format!("http://{addr}")));
    config.public_url = Some(PUBLIC.into());
    let engine = start(&dir, vec![config]).await;
    let mut frames = engine.subscribe_sent();

    let id = send(
        &engine,
        json!({"to": "+15555550100", "text": "Hello from SimRelay", "modem": "twilio-us"}),
    )
    .await;
    let message = wait_status(&engine, id, SendStatus::Sent).await;
    assert_eq!(
        (message.modem.as_str(), message.to.as_str()),
        ("twilio-us", "+15555550100")
    );
    let request = seen.lock().expect("lock")[0].clone();
    assert_eq!(
        request.path,
        format!("/2010-04-01/Accounts/{TWILIO_SID}/Messages.json")
    );
    assert_eq!(field(&request, "From"), Some("+15555550199"));
    assert_eq!(field(&request, "Body"), Some("Hello from SimRelay"));
    assert_eq!(
        field(&request, "StatusCallback"),
        Some("https://sms.example.com/sources/twilio-us/status")
    );

    // Twilio reports delivery to the public address; SimRelay checks the signature over that address.
    let callback = pairs(&[
        ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
        ("MessageStatus", "delivered"),
        ("AccountSid", TWILIO_SID),
        ("To", "+15555550100"),
        ("From", "+15555550199"),
    ]);
    let signature = twilio_signature(
        "https://sms.example.com/sources/twilio-us/status",
        &callback,
    );
    let r = post_twilio(
        &engine,
        "/sources/twilio-us/status",
        &callback,
        Some(signature),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(sent(&engine, id).await.status, SendStatus::Delivered);
    // Every step went out as a `sent` frame, ending with `delivered`.
    let mut statuses = Vec::new();
    while let Ok(frame) = frames.try_recv() {
        statuses.push(frame.status);
    }
    assert_eq!(
        statuses.last(),
        Some(&SendStatus::Delivered),
        "{statuses:?}"
    );

    // A number Twilio refuses: failed, with Twilio's reason.
    let id = send(
        &engine,
        json!({"to": "15555550100", "text": "no plus", "modem": "twilio-us"}),
    )
    .await;
    let failed = wait_status(&engine, id, SendStatus::Failed).await;
    assert!(
        failed.error.as_deref().is_some_and(|e| e.contains("21211")),
        "{failed:?}"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn wrong_twilio_credentials_fail_the_message_and_show_on_the_source() {
    let (addr, _seen) = receiver(|_| {
        (
            StatusCode::UNAUTHORIZED,
            json!({"code": 20003, "message": "Authenticate", "status": 401}),
        )
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(&dir, vec![twilio(Some(format!("http://{addr}")))]).await;
    let id = send(
        &engine,
        json!({"to": "+15555550100", "text": "hi", "modem": "twilio-us"}),
    )
    .await;
    let failed = wait_status(&engine, id, SendStatus::Failed).await;
    assert!(
        failed
            .error
            .as_deref()
            .is_some_and(|e| e.contains("auth_token")),
        "{failed:?}"
    );
    let modems: Value = api(&engine, "/api/modems").await;
    assert!(modems["modems"][0]["last_error"]
        .as_str()
        .is_some_and(|e| e.contains("credentials")));
    engine.shutdown().await;
}

#[tokio::test]
async fn sending_through_vonage_sends_each_part_and_is_delivered_when_every_part_is() {
    let (addr, seen) = receiver(|request| {
        if field(request, "api_key") != Some("abcd1234") || field(request, "api_secret") != Some("vonage-api-secret") {
            return (StatusCode::OK, json!({"message-count": "1", "messages": [{"status": "4", "error-text": "Bad Credentials"}]}));
        }
        (StatusCode::OK, json!({"message-count": "2", "messages": [
            {"to": "447700900001", "message-id": "1A0000000000000A", "status": "0", "remaining-balance": "3.14", "message-price": "0.03", "network": "23410"},
            {"to": "447700900001", "message-id": "1A0000000000000B", "status": "0", "remaining-balance": "3.11", "message-price": "0.03", "network": "23410"}]}))
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(&dir, vec![vonage(Some(format!("http://{addr}")))]).await;
    let text = "A long reply 😀 ".repeat(8);
    // No modem is configured and none named: the source that can send is used.
    let id = send(&engine, json!({"to": "+447700900001", "text": text})).await;
    let message = wait_status(&engine, id, SendStatus::Sent).await;
    assert_eq!(message.modem, "vonage-uk");
    let request = seen.lock().expect("lock")[0].clone();
    assert_eq!(request.path, "/sms/json");
    assert_eq!(
        (
            field(&request, "from"),
            field(&request, "to"),
            field(&request, "type")
        ),
        (Some("447700900000"), Some("447700900001"), Some("unicode"))
    );
    assert_eq!(field(&request, "text"), Some(text.as_str()));
    assert_eq!(field(&request, "status-report-req"), Some("1"));
    assert_eq!(
        field(&request, "callback"),
        Some("https://sms.example.com/sources/vonage-uk/status")
    );

    let receipt = |id: &str| {
        vonage_signed(pairs(&[
            ("msisdn", "447700900001"),
            ("to", "447700900000"),
            ("network-code", "23410"),
            ("messageId", id),
            ("price", "0.03"),
            ("status", "delivered"),
            ("scts", "2611220900"),
            ("err-code", "0"),
            ("api-key", "abcd1234"),
            ("message-timestamp", "2026-11-22 09:00:05"),
        ]))
    };
    let post = |params: Vec<(String, String)>| {
        reqwest::Client::new()
            .post(url(&engine, "/sources/vonage-uk/status"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(&params))
            .send()
    };
    assert_eq!(
        post(receipt("1A0000000000000A"))
            .await
            .expect("post")
            .status(),
        204
    );
    assert_eq!(
        sent(&engine, id).await.status,
        SendStatus::Sent,
        "one part of two"
    );
    assert_eq!(
        post(receipt("1A0000000000000B"))
            .await
            .expect("post")
            .status(),
        204
    );
    assert_eq!(sent(&engine, id).await.status, SendStatus::Delivered);
    engine.shutdown().await;
}

#[tokio::test]
async fn a_conversation_interleaves_a_message_in_and_the_reply_out() {
    let (addr, _seen) = receiver(|_| {
        (
            StatusCode::CREATED,
            json!({"sid": "SMfeedfacefeedfacefeedfacefeedface", "status": "queued"}),
        )
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(&dir, vec![twilio(Some(format!("http://{addr}")))]).await;
    let params = twilio_inbound(
        "SM44444444444444444444444444444444",
        "+15555550100",
        "Are you coming tonight?",
    );
    assert_eq!(
        post_twilio(&engine, "/sources/twilio-us/inbound", &params, None)
            .await
            .status(),
        200
    );

    let list: ConversationPage = api(&engine, "/api/conversations").await;
    assert_eq!(list.conversations.len(), 1);
    let row = &list.conversations[0];
    assert_eq!(
        (row.peer.as_str(), row.unread, row.reply_from.as_deref()),
        ("+15555550100", 1, Some("twilio-us"))
    );

    // The reply goes out through the source the conversation came in on.
    let id = send(
        &engine,
        json!({"to": row.peer, "text": "Yes, at eight", "modem": row.reply_from}),
    )
    .await;
    wait_status(&engine, id, SendStatus::Sent).await;

    // `+` in the path is percent-encoded by careful clients and taken literally either way.
    for path in [
        "/api/conversations/%2B15555550100",
        "/api/conversations/+15555550100",
    ] {
        let thread: ThreadPage = api(&engine, path).await;
        let texts: Vec<(&str, &str)> = thread
            .entries
            .iter()
            .map(|e| match e {
                ThreadEntry::Received(m) => ("in", m.text.as_str()),
                ThreadEntry::Sent(s) => ("out", s.text.as_str()),
            })
            .collect();
        assert_eq!(
            texts,
            [("out", "Yes, at eight"), ("in", "Are you coming tonight?")],
            "{path}"
        );
        assert_eq!(thread.unread, 1);
    }
    let found: ThreadPage = api(&engine, "/api/conversations/%2B15555550100?q=eight").await;
    assert_eq!(found.entries.len(), 1);

    let r = reqwest::Client::new()
        .post(url(&engine, "/api/conversations/%2B15555550100/read"))
        .bearer_auth(TOKEN)
        .json(&json!({}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<ReadState>().await.expect("json").unread, 0);
    let list: ConversationPage = api(&engine, "/api/conversations").await;
    assert_eq!(list.conversations[0].unread, 0);
    assert!(
        matches!(&list.conversations[0].last, ThreadEntry::Sent(s) if s.text == "Yes, at eight")
    );

    // Bad cursors and pages are refused by name.
    for path in [
        "/api/conversations?before=nonsense",
        "/api/conversations/%2B1?before=1.x",
        "/api/conversations?limit=0",
    ] {
        let r = reqwest::Client::new()
            .get(url(&engine, path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 400, "{path}");
    }
    engine.shutdown().await;
}
