//! MQTT in a cluster: two nodes on one real PostgreSQL database and one real Mosquitto, each with a simulated
//! modem on a real pseudo-terminal. What a request or a change triggers happens once in the cluster, and each
//! node speaks for its own modems only.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use simrelay_modem::{SimOptions, Simulator};
use simrelay_protocol::ModemStatus;
use simrelay_testkit::mqtt::{Heard, Mosquitto, Subscriber};

use super::discovery::config_topics;
use super::topics::topic_safe;
use crate::store::testing::cluster::Cluster;
use crate::{Config, Engine};

/// Generous: two engines, PostgreSQL and Mosquitto share two busy cores with the other tests.
const LIMIT: Duration = Duration::from_secs(90);
/// How long nothing more may come before a count is final.
const SETTLE: Duration = Duration::from_secs(3);

async fn within<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(start.elapsed() < LIMIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn start(url: &str, broker: &Mosquitto, name: &str, sim: &Simulator) -> Engine {
    Engine::start(Config {
        db: url.into(),
        node: Some(name.into()),
        modems: vec![sim.path().to_string_lossy().into_owned()],
        sweep_secs: 1,
        mqtt: Some(super::MqttConfig::new(&broker.url())),
        listen: "127.0.0.1:0".parse().expect("addr"),
        ..Config::default()
    })
    .await
    .expect("start a node")
}

/// Waits until `node` says (in its metrics) that it is connected to its broker.
pub(crate) async fn connected(node: &Engine) {
    within("the node connected to the broker", async || {
        let metrics = reqwest::Client::new()
            .get(format!("http://{}/metrics", node.local_addr()))
            .bearer_auth(node.token())
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        metrics
            .lines()
            .any(|l| l == "simrelay_mqtt_connected 1")
            .then_some(())
    })
    .await;
}

/// `on`'s modem driven by node `node`, once it told its IMEI.
async fn modem_of(on: &Engine, node: &str) -> ModemStatus {
    within("the node's modem listed", async || {
        on.hub()
            .modems()
            .into_iter()
            .find(|m| m.node.as_deref() == Some(node) && m.imei.is_some())
    })
    .await
}

/// The `sent` updates heard, by (id, status), and the refusals.
fn outcomes(heard: &Subscriber) -> (HashMap<(i64, String), usize>, Vec<String>) {
    let mut updates = HashMap::new();
    let mut refusals = Vec::new();
    for h in heard.on("simrelay/sent") {
        let json = h.json();
        match (json["id"].as_i64(), json["status"].as_str()) {
            (Some(id), Some(status)) => *updates.entry((id, status.to_owned())).or_default() += 1,
            _ => refusals.push(h.text()),
        }
    }
    (updates, refusals)
}

fn configs_of(heard: &Subscriber, modem: &str) -> Vec<Heard> {
    let topics = config_topics("homeassistant", modem);
    heard
        .heard()
        .into_iter()
        .filter(|h| topics.contains(&h.topic))
        .collect()
}

/// Node A starts and announces its modem; node B starts (and must not withdraw A's entities). A send request
/// on `simrelay/send` naming either modem, or none, or twice the same, and Home Assistant's notify on B's modem,
/// each make exactly one SMS at the right simulated modem and one `sent` outcome per status; a code corrected on
/// B is published once; each node announces its own modem with its own availability topic; when A stops, B
/// removes nothing of A's and `simrelay/availability` stays `online` while B is up. `POST /api/send` on A
/// naming B's modem is sent by B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_on_one_broker_acts_once_and_each_node_speaks_for_its_own_modems() {
    let broker = Mosquitto::start().await.unwrap_or_else(|e| panic!("{e}"));
    let heard = Subscriber::connect(broker.port(), &["simrelay/#", "homeassistant/#"])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let cluster = Cluster::shared();
    let database = cluster.create_database();
    let url = cluster.url(&database);
    let sim_a = Simulator::start(SimOptions::default())
        .await
        .expect("simulator");
    let sim_b = Simulator::start(SimOptions {
        imei: "356938035643817".into(),
        ..SimOptions::default()
    })
    .await
    .expect("simulator");

    let a = start(&url, &broker, "a", &sim_a).await;
    connected(&a).await;
    let modem_a = modem_of(&a, "a").await;
    let safe_a = topic_safe(&modem_a.id);
    within("A's modem announced", async || {
        (configs_of(&heard, &modem_a.id).len() >= 5).then_some(())
    })
    .await;

    let b = start(&url, &broker, "b", &sim_b).await;
    connected(&b).await;
    let modem_b = modem_of(&b, "b").await;
    let safe_b = topic_safe(&modem_b.id);
    modem_of(&a, "b").await;
    modem_of(&b, "a").await;
    within("B's modem announced", async || {
        (configs_of(&heard, &modem_b.id).len() >= 5).then_some(())
    })
    .await;

    // Send requests: through A's modem, B's modem, any modem (twice the same, on purpose: two SMS), and Home
    // Assistant's notify entity of B's modem.
    let request = |text: &str, modem: Option<&str>| {
        let mut json = serde_json::json!({"to": "+4915100000001", "text": text});
        if let Some(modem) = modem {
            json["modem"] = modem.into();
        }
        json.to_string()
    };
    let publish = async |topic: &str, payload: String| {
        heard
            .publish(topic, &payload, false)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    };
    publish("simrelay/send", request("to A", Some(&modem_a.id))).await;
    publish("simrelay/send", request("to B", Some(&modem_b.id))).await;
    publish("simrelay/send", request("to anyone", None)).await;
    publish("simrelay/send", request("to anyone", None)).await;
    publish(
        &format!("simrelay/{safe_b}/notify"),
        "+4915100000002: from Home Assistant".into(),
    )
    .await;
    within("five SMS sent", async || {
        (sim_a.sent().len() + sim_b.sent().len() >= 5).then_some(())
    })
    .await;
    within("five sent outcomes", async || {
        let (updates, _) = outcomes(&heard);
        (updates.keys().filter(|(_, s)| s == "sent").count() >= 5).then_some(())
    })
    .await;
    tokio::time::sleep(SETTLE).await;
    let texts = |sim: &Simulator| -> Vec<String> {
        sim.sent()
            .iter()
            .map(|pdu| match simrelay_pdu::decode(pdu) {
                Ok(simrelay_pdu::Pdu::Submit(submit)) => submit.text,
                other => panic!("a sent PDU that is not a SUBMIT: {other:?}"),
            })
            .collect()
    };
    let (sent_a, sent_b) = (texts(&sim_a), texts(&sim_b));
    let mut problems = Vec::new();
    if sent_a.len() + sent_b.len() != 5 {
        problems.push(format!(
            "five SMS, one per request: A sent {sent_a:?}, B sent {sent_b:?}"
        ));
    }
    if !sent_a.iter().any(|t| t == "to A") || sent_b.iter().any(|t| t == "to A") {
        problems.push(format!("\"to A\" through A's modem: {sent_a:?} {sent_b:?}"));
    }
    if !sent_b.iter().any(|t| t == "to B") || sent_a.iter().any(|t| t == "to B") {
        problems.push(format!("\"to B\" through B's modem: {sent_a:?} {sent_b:?}"));
    }
    if !sent_b.iter().any(|t| t == "from Home Assistant") {
        problems.push(format!("the notify through B's modem: {sent_b:?}"));
    }
    let anyone = sent_a.iter().chain(&sent_b).filter(|t| *t == "to anyone");
    if anyone.count() != 2 {
        problems.push(format!(
            "a request sent twice is sent twice: {sent_a:?} {sent_b:?}"
        ));
    }
    let (updates, refusals) = outcomes(&heard);
    if !refusals.is_empty() {
        problems.push(format!("refusals on simrelay/sent: {refusals:?}"));
    }
    let repeated: Vec<_> = updates.iter().filter(|(_, n)| **n > 1).collect();
    if !repeated.is_empty() {
        let all: Vec<String> = heard.on("simrelay/sent").iter().map(Heard::text).collect();
        problems.push(format!(
            "sent updates published more than once: {repeated:?} in {all:#?}"
        ));
    }
    if updates.keys().filter(|(_, s)| s == "sent").count() != 5 {
        problems.push(format!("five `sent` outcomes: {updates:?}"));
    }

    // The API routes the same way: A's API sends through B's modem.
    let accepted = reqwest::Client::new()
        .post(format!("http://{}/api/send", a.local_addr()))
        .bearer_auth(a.token())
        .json(&serde_json::json!({"to": "+4915100000003", "text": "API to B", "modem": modem_b.id}))
        .send()
        .await
        .expect("a send on A's API");
    assert_eq!(accepted.status().as_u16(), 202);
    within("the API's message sent by B's modem", async || {
        texts(&sim_b).iter().any(|t| t == "API to B").then_some(())
    })
    .await;
    if texts(&sim_a).len() != sent_a.len() {
        problems.push(format!(
            "A's modem sent what was asked of B's: {:?}",
            texts(&sim_a)
        ));
    }

    // A code corrected on B, for a message A's modem received: published once more on A's code topic.
    sim_a.deliver(simrelay_testkit::pdu::deliver(
        "Bank",
        "Security code: 55102288\nVerification code: 482913",
    ));
    let code_topic = format!("simrelay/{safe_a}/code");
    let first = heard
        .wait_for(&code_topic, LIMIT, |_| true)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let id = first.json()["id"].as_i64().expect("an id");
    let corrected = reqwest::Client::new()
        .put(format!("http://{}/api/messages/{id}/code", b.local_addr()))
        .bearer_auth(b.token())
        .json(&serde_json::json!({"code": "55102288"}))
        .send()
        .await
        .expect("the correction on B");
    assert_eq!(corrected.status().as_u16(), 200);
    heard
        .wait_for(&code_topic, LIMIT, |h| h.json()["code"] == "55102288")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(SETTLE).await;
    let codes: Vec<String> = heard.on(&code_topic).iter().map(Heard::text).collect();
    if codes.len() != 2 {
        problems.push(format!(
            "the code, then its correction, once each: {codes:?}"
        ));
    }

    // Discovery: each modem by its own node (one config per entity, naming its node's availability), and B's
    // start removed nothing of A's.
    for (modem, node) in [(&modem_a, "a"), (&modem_b, "b")] {
        let configs = configs_of(&heard, &modem.id);
        let mut per_topic: HashMap<&str, usize> = HashMap::new();
        for config in &configs {
            *per_topic.entry(config.topic.as_str()).or_default() += 1;
            if config.payload.is_empty() {
                problems.push(format!("{}'s entity removed: {}", modem.id, config.topic));
                continue;
            }
            let availability = &config.json()["availability_topic"];
            if availability != &serde_json::json!(format!("simrelay/availability/{node}")) {
                problems.push(format!(
                    "{} announced with availability {availability}",
                    config.topic
                ));
            }
        }
        if per_topic.values().any(|n| *n != 1) {
            problems.push(format!("{}'s configs once each: {per_topic:?}", modem.id));
        }
    }

    // A stops: its modem's entities stay (unavailable through A's topic), the relay stays online through B.
    a.shutdown().await;
    if let Err(e) = heard
        .wait_for("simrelay/availability/a", SETTLE, |h| h.text() == "offline")
        .await
    {
        problems.push(format!("A says offline on its own topic: {e}"));
    }
    within("A's modem withdrawn from B", async || {
        (!b.hub().modems().iter().any(|m| m.id == modem_a.id)).then_some(())
    })
    .await;
    tokio::time::sleep(SETTLE).await;
    if configs_of(&heard, &modem_a.id)
        .iter()
        .any(|c| c.payload.is_empty())
        || heard
            .on(&format!("simrelay/{safe_a}/state"))
            .iter()
            .any(|h| h.payload.is_empty())
    {
        problems.push("A's entities or state removed when A stopped".into());
    }
    let relay: Vec<String> = heard
        .on("simrelay/availability")
        .iter()
        .map(Heard::text)
        .collect();
    if relay.last().map(String::as_str) != Some("online") {
        problems.push(format!(
            "simrelay/availability online while B is up: {relay:?}"
        ));
    }
    b.shutdown().await;
    heard
        .wait_for("simrelay/availability", LIMIT, |h| h.text() == "offline")
        .await
        .unwrap_or_else(|e| panic!("the last node stopping says offline: {e}"));
    let _ = safe_b;
    cluster.drop_database(&database);
    assert!(problems.is_empty(), "{problems:#?}");
}
