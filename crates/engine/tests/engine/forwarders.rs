//! Forwarders end to end. E-mail goes through a real SMTP server (Python's aiosmtpd). ntfy, Gotify and Telegram
//! cannot run here: their `url` points at a local receiver, and the requests it gets are checked against the
//! shapes their documentation gives (cited in `crates/engine/src/deliver/{ntfy,gotify,telegram}.rs`):
//! ntfy <https://docs.ntfy.sh/publish/#publish-as-json>, Gotify <https://gotify.net/docs/pushmsg>, Telegram
//! <https://core.telegram.org/bots/api#sendmessage>. Filters (sender pattern, modem) and forwarders set at run time
//! through the settings are covered too, and messages without text (binary data, WAP push) forwarded as what they are.

use std::time::Duration;

use serde_json::json;
use simrelay_protocol::{Forwarder, ForwarderKind, SmtpSecurity};

use simrelay_engine::store::NewMessage;
use simrelay_modem::{SimOptions, Simulator};
use simrelay_testkit::pdu::{binary_to_port, mms_notification, SENDER};
use simrelay_testkit::receiver::Receiver;
use simrelay_testkit::smtp::{SmtpServer, SmtpTls};

use crate::common::{commit, config, eventually, start, url};
use crate::mqtt::test_certificates;

/// A message as ingest would store it, from `modem`; `n` makes it unique.
pub fn message(n: u8, modem: &str, sender: &str, text: &str, code: Option<&str>) -> NewMessage {
    let mut new = crate::common::message(vec![0xA0, n], sender, text, code);
    new.modem = modem.to_owned();
    new
}

async fn smtp(tls: SmtpTls) -> SmtpServer {
    SmtpServer::start(tls)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_forwarder_delivers_through_a_real_smtp_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let smtp = smtp(SmtpTls::None).await;
    let mut mail = Forwarder::new("mail", ForwarderKind::Email);
    mail.smtp_host = Some("127.0.0.1".into());
    mail.smtp_port = Some(smtp.port);
    mail.smtp_security = SmtpSecurity::None;
    mail.from = Some("SimRelay <sms@example.org>".into());
    mail.to = vec![
        "me@example.org".into(),
        "Backup <backup@example.org>".into(),
    ];
    mail.only_codes = true;
    let engine = start(simrelay_engine::Config {
        forwarders: vec![mail],
        ..config(&dir.path().join("e.db"))
    })
    .await;
    commit(&engine, &message(1, "m", "+4915", "no code", None)).await;
    let m = commit(
        &engine,
        &message(
            2,
            "imei:356938035643809",
            "DemoBank\r\nBcc: evil@example.org",
            "Your code is 482913 ✓",
            Some("482913"),
        ),
    )
    .await;
    eventually("the mail", || async { !smtp.mails().is_empty() }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "only the message with a code: {mails:?}");
    let raw = &mails[0];
    let parsed = mail_parser(raw);
    assert_eq!(
        parsed.header("Subject"),
        "Code 482913 from DemoBank Bcc: evil@example.org"
    );
    assert_eq!(parsed.header("From"), "SimRelay <sms@example.org>");
    assert!(
        parsed.header("To").contains("me@example.org")
            && parsed.header("To").contains("backup@example.org")
    );
    assert!(parsed.header("Message-ID").ends_with("@simrelay.invalid>"));
    assert!(!raw.contains("\nBcc:"), "no injected header: {raw}");
    assert!(
        parsed.body.contains("Your code is 482913 ✓"),
        "{}",
        parsed.body
    );
    assert!(parsed.body.contains("imei:356938035643809"));
    let log: simrelay_protocol::DeliveryPage = crate::common::client(&engine)
        .get(url(&engine, "/api/deliveries?target=mail"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(log.deliveries.len(), 1);
    assert_eq!(log.deliveries[0].message_id, Some(m.id));
    assert_eq!(
        log.deliveries[0].status,
        simrelay_protocol::DeliveryStatus::Delivered
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_over_starttls_and_smtps_trusts_the_given_ca_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca_file, cert, key) = test_certificates(dir.path());
    let starttls = smtp(SmtpTls::Starttls(cert.clone(), key.clone())).await;
    let smtps = smtp(SmtpTls::Wrapper(cert, key)).await;
    let forwarder =
        |name: &str, security: SmtpSecurity, port: u16, ca: Option<&std::path::Path>| {
            let mut f = Forwarder::new(name, ForwarderKind::Email);
            f.smtp_host = Some("localhost".into());
            f.smtp_port = Some(port);
            f.smtp_security = security;
            f.smtp_ca_file = ca.map(|p| p.to_string_lossy().into_owned());
            f.from = Some("sms@example.org".into());
            f.to = vec!["me@example.org".into()];
            f
        };
    let engine = start(simrelay_engine::Config {
        forwarders: vec![
            forwarder(
                "starttls",
                SmtpSecurity::Starttls,
                starttls.port,
                Some(&ca_file),
            ),
            forwarder("smtps", SmtpSecurity::Tls, smtps.port, Some(&ca_file)),
            // The public CAs do not vouch for the test certificate: this one must fail.
            forwarder("untrusted", SmtpSecurity::Starttls, starttls.port, None),
        ],
        deliveries: simrelay_engine::deliver::DeliveryOptions {
            backoff: simrelay_engine::deliver::Backoff {
                first: Duration::from_millis(100),
                window: Duration::from_millis(500),
            },
            timeout: Duration::from_secs(10),
        },
        ..config(&dir.path().join("tls.db"))
    })
    .await;
    commit(
        &engine,
        &message(1, "m", "DemoBank", "Your code is 482913", Some("482913")),
    )
    .await;
    eventually("a mail on each server", || async {
        starttls.mails().len() == 1 && smtps.mails().len() == 1
    })
    .await;
    assert!(smtps.mails()[0].contains("Your code is 482913"));
    eventually("the untrusted one given up", || async {
        let log: simrelay_protocol::DeliveryPage = crate::common::client(&engine)
            .get(url(&engine, "/api/deliveries?target=untrusted"))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        log.deliveries
            .first()
            .is_some_and(|d| d.status == simrelay_protocol::DeliveryStatus::Failed)
    })
    .await;
    assert_eq!(
        starttls.mails().len(),
        1,
        "nothing was sent without a trusted certificate"
    );
    engine.shutdown().await;
}

/// Headers and body of a mail, decoded with Python's `email` package (independent of lettre).
struct Parsed {
    headers: serde_json::Value,
    body: String,
}

impl Parsed {
    fn header(&self, name: &str) -> String {
        self.headers[name].as_str().unwrap_or_default().to_owned()
    }
}

fn mail_parser(raw: &str) -> Parsed {
    let script = "import email, email.policy, json, sys\n\
                  m = email.message_from_string(sys.stdin.read(), policy=email.policy.default)\n\
                  print(json.dumps({'headers': {k: str(v) for k, v in m.items()}, 'body': m.get_content()}))";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(raw.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python3 finishes");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    Parsed {
        headers: v["headers"].clone(),
        body: v["body"].as_str().unwrap_or_default().to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ntfy_gotify_and_telegram_requests_have_their_documented_shapes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let receiver = Receiver::start(&[], Duration::ZERO)
        .await
        .expect("a receiver");
    let mut ntfy = Forwarder::new("ntfy", ForwarderKind::Ntfy);
    ntfy.url = Some(receiver.url("/"));
    ntfy.topic = Some("sms-alerts".into());
    ntfy.token = Some("tk_test".into());
    let mut gotify = Forwarder::new("gotify", ForwarderKind::Gotify);
    gotify.url = Some(receiver.url("/gotify"));
    gotify.token = Some("AppToken".into());
    let mut telegram = Forwarder::new("telegram", ForwarderKind::Telegram);
    telegram.url = Some(receiver.url("/tg"));
    telegram.token = Some("123:ABC".into());
    telegram.chat_id = Some("-100200".into());
    // Filters: this one only takes DemoBank on modem m.
    telegram.sender = Some("demo*".into());
    telegram.modem = Some("m".into());
    let engine = start(simrelay_engine::Config {
        forwarders: vec![ntfy, gotify, telegram],
        ..config(&dir.path().join("f.db"))
    })
    .await;
    commit(
        &engine,
        &message(1, "m", "DemoBank", "Your code is 482913", Some("482913")),
    )
    .await;
    commit(
        &engine,
        &message(2, "other", "DemoBank", "other modem", None),
    )
    .await;
    commit(&engine, &message(3, "m", "+4915", "other sender", None)).await;
    // ntfy and Gotify take all three; Telegram one.
    eventually("seven requests", || async {
        receiver.requests().len() == 7
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let requests = receiver.requests();
    assert_eq!(requests.len(), 7);

    let ntfy: Vec<_> = requests.iter().filter(|r| r.path == "/").collect();
    assert_eq!(ntfy.len(), 3);
    let first = ntfy
        .iter()
        .find(|r| r.json()["priority"] == 4)
        .expect("the code");
    assert_eq!(
        first.header("authorization").as_deref(),
        Some("Bearer tk_test")
    );
    assert_eq!(
        first.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        first.json(),
        json!({"topic": "sms-alerts", "title": "Code 482913 from DemoBank",
               "message": "Your code is 482913", "tags": ["key"], "priority": 4})
    );

    let gotify: Vec<_> = requests
        .iter()
        .filter(|r| r.path == "/gotify/message")
        .collect();
    assert_eq!(gotify.len(), 3);
    assert!(gotify
        .iter()
        .all(|r| r.header("x-gotify-key").as_deref() == Some("AppToken")));
    let code = gotify
        .iter()
        .find(|r| r.json()["priority"] == 8)
        .expect("the code");
    assert_eq!(
        code.json(),
        json!({"title": "Code 482913 from DemoBank", "message": "Your code is 482913", "priority": 8,
               "extras": {"client::display": {"contentType": "text/plain"}}})
    );

    let telegram: Vec<_> = requests
        .iter()
        .filter(|r| r.path.starts_with("/tg/"))
        .collect();
    assert_eq!(telegram.len(), 1, "the filters let one message through");
    assert_eq!(telegram[0].path, "/tg/bot123:ABC/sendMessage");
    assert_eq!(
        telegram[0].json(),
        json!({"chat_id": -100200, "text": "Code 482913 from DemoBank\n\nYour code is 482913",
               "link_preview_options": {"is_disabled": true}})
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarders_set_in_the_settings_apply_to_the_next_message_and_bad_ones_name_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let receiver = Receiver::start(&[], Duration::ZERO)
        .await
        .expect("a receiver");
    let engine = start(config(&dir.path().join("s.db"))).await;
    let patch = |body: serde_json::Value| {
        let engine_url = url(&engine, "/api/settings");
        let client = crate::common::client(&engine);
        async move {
            client
                .patch(engine_url)
                .json(&body)
                .send()
                .await
                .expect("patch")
        }
    };
    let r = patch(json!({"forwarders": [{"name": "phone", "kind": "ntfy"}]})).await;
    assert_eq!(r.status(), 400);
    let error: simrelay_protocol::ApiError = r.json().await.expect("json");
    assert_eq!(error.error, "invalid_setting");
    assert!(
        error.detail.starts_with("forwarders[0].topic: "),
        "{}",
        error.detail
    );
    let r = patch(
        json!({"forwarders": [{"name": "phone", "kind": "ntfy", "topic": "t",
        "url": receiver.url("/")}]}),
    )
    .await;
    assert_eq!(r.status(), 200);
    commit(&engine, &message(1, "m", "+4915", "hello", None)).await;
    eventually("the forwarded message", || async {
        receiver.requests().len() == 1
    })
    .await;
    // Removed: the next message goes nowhere.
    assert_eq!(patch(json!({"forwarders": []})).await.status(), 200);
    commit(&engine, &message(2, "m", "+4915", "hello again", None)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.requests().len(), 1);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_and_wap_push_messages_are_forwarded_as_what_they_are_not_as_empty_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let receiver = Receiver::start(&[], Duration::ZERO)
        .await
        .expect("a receiver");
    let sim = Simulator::start(SimOptions::default())
        .await
        .expect("simulator");
    let mut ntfy = Forwarder::new("ntfy", ForwarderKind::Ntfy);
    ntfy.url = Some(receiver.url("/"));
    ntfy.topic = Some("sms-alerts".into());
    let mut telegram = Forwarder::new("telegram", ForwarderKind::Telegram);
    telegram.url = Some(receiver.url("/tg"));
    telegram.token = Some("123:ABC".into());
    telegram.chat_id = Some("-100200".into());
    let engine = start(simrelay_engine::Config {
        modems: vec![sim.path().to_string_lossy().into_owned()],
        forwarders: vec![ntfy, telegram],
        ..config(&dir.path().join("b.db"))
    })
    .await;
    // Through the real path: the modem's PDU decoded by ingest, whose `text` is empty for both.
    sim.deliver(binary_to_port(SENDER, 9200, &[1, 2, 3, 4]));
    sim.deliver(mms_notification(SENDER, 20));
    eventually("four requests", || async { receiver.requests().len() == 4 }).await;
    let requests = receiver.requests();
    let ntfy: Vec<String> = requests
        .iter()
        .filter(|r| r.path == "/")
        .map(|r| r.json()["message"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        ntfy.contains(&"binary message to port 9200, 4 bytes".to_owned()),
        "{ntfy:?}"
    );
    assert!(
        ntfy.iter()
            .any(|m| m.starts_with("WAP push (application/vnd.wap.mms-message), ")),
        "{ntfy:?}"
    );
    let telegram: Vec<String> = requests
        .iter()
        .filter(|r| r.path.starts_with("/tg/"))
        .map(|r| r.json()["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        telegram.contains(&format!(
            "SMS from {SENDER}\n\nbinary message to port 9200, 4 bytes"
        )),
        "{telegram:?}"
    );
    engine.shutdown().await;
    sim.shutdown().await;
}
