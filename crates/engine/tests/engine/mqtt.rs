//! MQTT against a real Mosquitto: the topics the issue names, retained state and availability, the last will,
//! reconnecting after the broker restarts, sending from `simrelay/send`, Home Assistant discovery that follows
//! the modems (and the notify entity that sends), and `mqtts://` with a private CA and a login; a binary message
//! keeps the API's shape on `sms` while Home Assistant shows its description.

use std::time::Duration;

use serde_json::{json, Value};
use simrelay_engine::mqtt::MqttConfig;
use simrelay_modem::{SimOptions, Simulator};
use simrelay_protocol::{Message, SentMessage};
use simrelay_testkit::pdu::{binary_to_port, SENDER};

use simrelay_testkit::mqtt::{BrokerSetup, Heard, Mosquitto, Subscriber};

use crate::common::{config, eventually, start, url, EVENTUALLY_LIMIT};

/// Waits for a fitting message on `topic`, failing the test with everything heard.
async fn heard(sub: &Subscriber, topic: &str, accept: impl Fn(&Heard) -> bool) -> Heard {
    sub.wait_for(topic, EVENTUALLY_LIMIT, accept)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn broker() -> Mosquitto {
    Mosquitto::start().await.unwrap_or_else(|e| panic!("{e}"))
}

async fn subscribe(port: u16, filters: &[&str]) -> Subscriber {
    Subscriber::connect(port, filters)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Every entity config of the demo modem.
fn demo_configs() -> Vec<String> {
    [
        "sensor/simrelay_demo/last_code",
        "sensor/simrelay_demo/last_sms",
        "sensor/simrelay_demo/signal",
        "sensor/simrelay_demo/sim_storage",
        "binary_sensor/simrelay_demo/connected",
        "notify/simrelay_demo/send_sms",
        "text/simrelay_demo/sms_recipient",
    ]
    .iter()
    .map(|e| format!("homeassistant/{e}/config"))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_codes_state_and_discovery_reach_the_broker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = broker().await;
    let live = subscribe(broker.port(), &["simrelay/#", "homeassistant/#"]).await;
    let engine = start(simrelay_engine::Config {
        demo: true,
        demo_interval_secs: 1,
        mqtt: Some(MqttConfig::new(&broker.url())),
        ..config(&dir.path().join("m.db"))
    })
    .await;

    heard(&live, "simrelay/availability", |h| h.text() == "online").await;
    let state = heard(&live, "simrelay/demo/state", |h| {
        h.json()["state"] == "connected"
    })
    .await;
    assert_eq!(state.json()["id"], "demo");

    // Each new message, as the API shows it.
    let sms = heard(&live, "simrelay/demo/sms", |_| true).await;
    let published: Message = serde_json::from_slice(&sms.payload).expect("a Message");
    let stored: Value = crate::common::client(&engine)
        .get(url(&engine, &format!("/api/messages/{}", published.id)))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(stored["text"], json!(published.text));
    assert_eq!(stored["received_at"], json!(published.received_at));

    // A message with a code is also on `code`, reduced to what automations need.
    let code = heard(&live, "simrelay/demo/code", |_| true).await.json();
    let keys: Vec<&str> = code
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["code", "id", "received_at", "sender"]);
    let with_code: Message = crate::common::client(&engine)
        .get(url(&engine, &format!("/api/messages/{}", code["id"])))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(json!(with_code.code), code["code"]);
    assert_eq!(json!(with_code.sender), code["sender"]);

    // Home Assistant: one config per entity, each naming the device and the availability topic.
    for topic in demo_configs() {
        let config = heard(&live, &topic, |h| !h.payload.is_empty()).await.json();
        assert_eq!(
            config["availability_topic"], "simrelay/availability",
            "{topic}"
        );
        assert_eq!(
            config["device"]["identifiers"],
            json!(["simrelay_demo"]),
            "{topic}"
        );
    }

    // A client that connects later gets the retained state, availability and discovery.
    let late = subscribe(
        broker.port(),
        &[
            "simrelay/availability",
            "simrelay/demo/state",
            "homeassistant/+/simrelay_demo/+/config",
        ],
    )
    .await;
    let availability = heard(&late, "simrelay/availability", |_| true).await;
    assert!(availability.retain && availability.text() == "online");
    assert!(heard(&late, "simrelay/demo/state", |_| true).await.retain);
    for topic in demo_configs() {
        assert!(
            heard(&late, &topic, |_| true).await.retain,
            "{topic} is retained"
        );
    }
    // Live messages are not retained.
    let sms_late = subscribe(broker.port(), &["simrelay/demo/sms"]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(sms_late.heard().iter().all(|h| !h.retain));

    engine.shutdown().await;
    heard(&live, "simrelay/availability", |h| h.text() == "offline").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_message_keeps_the_api_shape_on_sms_and_home_assistant_shows_its_description() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = broker().await;
    let sim = Simulator::start(SimOptions::default())
        .await
        .expect("simulator");
    let live = subscribe(broker.port(), &["simrelay/#", "homeassistant/#"]).await;
    let engine = start(simrelay_engine::Config {
        modems: vec![sim.path().to_string_lossy().into_owned()],
        mqtt: Some(MqttConfig::new(&broker.url())),
        ..config(&dir.path().join("b.db"))
    })
    .await;
    let modem = "imei_356938035643809";
    heard(&live, &format!("simrelay/{modem}/state"), |h| {
        h.json()["state"] == "connected"
    })
    .await;
    sim.deliver(binary_to_port(SENDER, 9200, &[1, 2, 3, 4]));
    // The `sms` topic is the API's `Message`, unchanged: empty text, and what the message is in `content`.
    let sms = heard(&live, &format!("simrelay/{modem}/sms"), |_| true).await;
    let published: Message = serde_json::from_slice(&sms.payload).expect("a Message");
    assert_eq!(published.text, "");
    assert_eq!(
        published.description(),
        Some("binary message to port 9200, 4 bytes")
    );
    let stored: Value =
        crate::common::get_json(&engine, &format!("/api/messages/{}", published.id)).await;
    assert_eq!(sms.json()["content"], stored["content"]);
    // Home Assistant's "Last SMS" shows the description for it (the template reads `content.description`).
    let config = heard(
        &live,
        &format!("homeassistant/sensor/simrelay_{modem}/last_sms/config"),
        |h| !h.payload.is_empty(),
    )
    .await
    .json();
    let template = config["value_template"].as_str().unwrap_or_default();
    assert!(
        template.contains("value_json.content.description") && template.contains("value_json.text"),
        "{template}"
    );
    engine.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_requests_go_through_the_modem_and_are_answered_on_sent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = broker().await;
    let client = subscribe(broker.port(), &["simrelay/sent", "simrelay/availability"]).await;
    // A retained request left on the broker must not be sent at every connection.
    client
        .publish(
            "simrelay/send",
            r#"{"to":"+15555550101","text":"stale retained"}"#,
            true,
        )
        .await
        .expect("publish");
    let engine = start(simrelay_engine::Config {
        demo: true,
        demo_interval_secs: 3600,
        mqtt: Some(MqttConfig::new(&broker.url())),
        ..config(&dir.path().join("s.db"))
    })
    .await;
    heard(&client, "simrelay/availability", |h| h.text() == "online").await;

    client
        .publish(
            "simrelay/send",
            r#"{"to":"+15555550100","text":"Hello over MQTT"}"#,
            false,
        )
        .await
        .expect("publish");
    let sent = heard(&client, "simrelay/sent", |h| {
        h.json()["text"] == "Hello over MQTT" && h.json()["status"] == "sent"
    })
    .await;
    let sent: SentMessage = serde_json::from_slice(&sent.payload).expect("a SentMessage");
    assert_eq!(
        (sent.to.as_str(), sent.modem.as_str()),
        ("+15555550100", "demo")
    );
    let api: SentMessage = crate::common::client(&engine)
        .get(url(&engine, &format!("/api/sent/{}", sent.id)))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(api.status, sent.status);
    // Every step was published: queued, sending, sent.
    let steps: Vec<String> = client
        .on("simrelay/sent")
        .iter()
        .filter(|h| h.json()["id"] == sent.id)
        .map(|h| h.json()["status"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(steps, ["queued", "sending", "sent"]);

    // Refusals say why, with the request.
    client
        .publish(
            "simrelay/send",
            r#"{"to":"not a number","text":"x"}"#,
            false,
        )
        .await
        .expect("publish");
    let refused = heard(&client, "simrelay/sent", |h| {
        h.json()["error"] == "bad_request"
    })
    .await
    .json();
    assert!(refused["detail"]
        .as_str()
        .is_some_and(|d| d.contains("phone number")));
    assert!(refused["request"]
        .as_str()
        .is_some_and(|r| r.contains("not a number")));
    client
        .publish("simrelay/send", "not json", false)
        .await
        .expect("publish");
    heard(&client, "simrelay/sent", |h| {
        h.json()["request"] == "not json" && h.json()["error"] == "bad_request"
    })
    .await;
    assert!(
        !client
            .on("simrelay/sent")
            .iter()
            .any(|h| h.json()["text"] == "stale retained"),
        "the retained request was not sent"
    );
    client
        .publish("simrelay/send", "", true)
        .await
        .expect("publish");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_will_says_offline_when_simrelay_dies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = broker().await;
    let watcher = subscribe(broker.port(), &["simrelay/availability"]).await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_simrelay"))
        .args(["--config"])
        .arg(dir.path().join("none.toml"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("w.db"))
        .args(["--mqtt", &broker.url()])
        .env("SIMRELAY_LOG_DIR", dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("simrelay starts");
    heard(&watcher, "simrelay/availability", |h| h.text() == "online").await;
    // SIGKILL: no clean disconnect, so the broker publishes the will.
    child.kill().expect("kill");
    let _ = child.wait();
    heard(&watcher, "simrelay/availability", |h| h.text() == "offline").await;
    let late = subscribe(broker.port(), &["simrelay/availability"]).await;
    let retained = heard(&late, "simrelay/availability", |_| true).await;
    assert!(retained.retain && retained.text() == "offline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_reconnects_and_republishes_after_the_broker_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = broker().await;
    let port = broker.port();
    let engine = start(simrelay_engine::Config {
        demo: true,
        demo_interval_secs: 3600,
        mqtt: Some(MqttConfig::new(&broker.url())),
        ..config(&dir.path().join("r.db"))
    })
    .await;
    let first = subscribe(port, &["simrelay/availability"]).await;
    heard(&first, "simrelay/availability", |h| h.text() == "online").await;
    drop(first);
    drop(broker);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Nothing is persisted: whatever is retained on the new broker was published again after reconnecting.
    let broker = Mosquitto::start_with(BrokerSetup {
        port: Some(port),
        ..BrokerSetup::default()
    })
    .await
    .expect("the broker restarts");
    let again = subscribe(
        port,
        &[
            "simrelay/availability",
            "simrelay/demo/state",
            "homeassistant/sensor/simrelay_demo/signal/config",
        ],
    )
    .await;
    heard(&again, "simrelay/availability", |h| h.text() == "online").await;
    heard(&again, "simrelay/demo/state", |_| true).await;
    heard(
        &again,
        "homeassistant/sensor/simrelay_demo/signal/config",
        |_| true,
    )
    .await;
    assert!(engine
        .hub()
        .metrics()
        .encode(&[])
        .lines()
        .any(|l| l == "simrelay_mqtt_connected 1"));
    engine.shutdown().await;
    drop(broker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_assistant_entities_follow_the_modems_and_notify_sends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("ha.db");
    let broker = broker().await;
    let ha = subscribe(broker.port(), &["homeassistant/#", "simrelay/#"]).await;
    let engine = start(simrelay_engine::Config {
        mqtt: Some(MqttConfig::new(&broker.url())),
        ..config(&db)
    })
    .await;
    heard(&ha, "simrelay/availability", |h| h.text() == "online").await;

    // A modem added at run time becomes a device.
    let added = crate::common::client(&engine)
        .post(url(&engine, "/api/modems"))
        .json(&json!({"demo": true}))
        .send()
        .await
        .expect("post");
    assert_eq!(added.status(), 201);
    for topic in demo_configs() {
        heard(&ha, &topic, |h| !h.payload.is_empty()).await;
    }

    // The text entity sets the recipient; the notify entity sends to it.
    ha.publish("simrelay/demo/recipient/set", "+15555550123", false)
        .await
        .expect("publish");
    let recipient = heard(&ha, "simrelay/demo/recipient", |h| {
        h.text() == "+15555550123"
    })
    .await;
    assert!(!recipient.payload.is_empty());
    ha.publish("simrelay/demo/notify", "Door opened", false)
        .await
        .expect("publish");
    heard(&ha, "simrelay/sent", |h| {
        let v = h.json();
        v["text"] == "Door opened" && v["to"] == "+15555550123" && v["status"] == "sent"
    })
    .await;
    // A message may name its own recipient.
    ha.publish("simrelay/demo/notify", "+15555550999: Window open", false)
        .await
        .expect("publish");
    heard(&ha, "simrelay/sent", |h| {
        let v = h.json();
        v["text"] == "Window open" && v["to"] == "+15555550999"
    })
    .await;
    // Not a phone number: ignored, the recipient stays.
    ha.publish("simrelay/demo/recipient/set", "call me", false)
        .await
        .expect("publish");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(ha
        .on("simrelay/demo/recipient")
        .iter()
        .all(|h| h.text() != "call me"));

    // Removing the modem removes its entities: an empty retained config each.
    let removed = crate::common::client(&engine)
        .delete(url(&engine, "/api/modems/demo"))
        .send()
        .await
        .expect("delete");
    assert_eq!(removed.status(), 200);
    for topic in demo_configs() {
        heard(&ha, &topic, |h| h.payload.is_empty()).await;
    }
    let fresh = subscribe(broker.port(), &["homeassistant/+/simrelay_demo/+/config"]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        fresh.heard().is_empty(),
        "nothing retained: {:?}",
        fresh.heard()
    );
    engine.shutdown().await;

    // A modem that was announced and is gone by the next start is removed at the next connection.
    let engine = start(simrelay_engine::Config {
        demo: true,
        demo_interval_secs: 3600,
        mqtt: Some(MqttConfig::new(&broker.url())),
        ..config(&db)
    })
    .await;
    let watch = subscribe(
        broker.port(),
        &["homeassistant/notify/simrelay_demo/send_sms/config"],
    )
    .await;
    heard(
        &watch,
        "homeassistant/notify/simrelay_demo/send_sms/config",
        |h| !h.payload.is_empty(),
    )
    .await;
    engine.shutdown().await;
    let engine = start(simrelay_engine::Config {
        mqtt: Some(MqttConfig::new(&broker.url())),
        ..config(&db)
    })
    .await;
    heard(
        &watch,
        "homeassistant/notify/simrelay_demo/send_sms/config",
        |h| h.payload.is_empty(),
    )
    .await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtts_with_a_private_ca_and_a_login() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca_file, cert, key) = crate::mqtt::test_certificates(dir.path());
    let broker = Mosquitto::start_with(BrokerSetup {
        tls: Some((cert, key)),
        login: Some(("simrelay".into(), "s3cret pass".into())),
        port: None,
    })
    .await
    .expect("a TLS broker");
    let connected = |engine: &simrelay_engine::Engine| {
        engine
            .hub()
            .metrics()
            .encode(&[])
            .lines()
            .any(|l| l == "simrelay_mqtt_connected 1")
    };
    let mut mqtt = MqttConfig::new(&format!(
        "mqtts://simrelay:s3cret%20pass@localhost:{}",
        broker.port()
    ));
    mqtt.ca_file = Some(ca_file.clone());
    let engine = start(simrelay_engine::Config {
        mqtt: Some(mqtt.clone()),
        ..config(&dir.path().join("t.db"))
    })
    .await;
    eventually("a TLS connection with the login", || async {
        connected(&engine)
    })
    .await;
    engine.shutdown().await;

    // A wrong password never connects (and the engine keeps running).
    mqtt.password = Some("wrong".into());
    let engine = start(simrelay_engine::Config {
        mqtt: Some(mqtt.clone()),
        ..config(&dir.path().join("t2.db"))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        !connected(&engine),
        "{}\n{}",
        engine.hub().metrics().encode(&[]),
        broker.log()
    );
    assert_eq!(
        crate::common::client(&engine)
            .get(url(&engine, "/api/health"))
            .send()
            .await
            .expect("get")
            .status(),
        200
    );
    engine.shutdown().await;

    // Without the CA the public roots do not trust the broker.
    mqtt.password = None;
    mqtt.ca_file = None;
    let engine = start(simrelay_engine::Config {
        mqtt: Some(mqtt),
        ..config(&dir.path().join("t3.db"))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!connected(&engine));
    engine.shutdown().await;
}

/// A CA and a certificate it signed for `localhost` and 127.0.0.1 (PEM: CA cert, server cert, server key).
pub fn test_certificates(dir: &std::path::Path) -> (std::path::PathBuf, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "SimRelay test CA");
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("CA");
    let key = KeyPair::generate().expect("key");
    let params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("params");
    let cert = params.signed_by(&key, &ca).expect("certificate");
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write CA");
    (ca_file, cert.pem(), key.serialize_pem())
}
