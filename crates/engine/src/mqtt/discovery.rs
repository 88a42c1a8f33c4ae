//! Home Assistant MQTT discovery: the retained config messages that make each modem a device with its
//! entities, and the empty retained messages that remove them.
//!
//! One config topic per entity, `<discovery prefix>/<component>/simrelay_<modem>/<object>/config`, as Home
//! Assistant's MQTT discovery documents it (<https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery>):
//! an empty retained payload on the same topic deletes the entity. Per-entity topics work with every Home
//! Assistant release that has the MQTT `notify` entity (2024.5). Every entity shares the device (its
//! `identifiers`), names the availability topic of the relay that drives the modem (`<prefix>/availability`, in a
//! cluster `<prefix>/availability/<node>`: a node going offline makes only its own modems unavailable), and
//! reads the topics in [`super::topics`].
//!
//! Entities per modem: sensors `last_code`, `last_sms`, `signal` and `sim_storage`, the binary sensor
//! `connected` (device class `connectivity`), the `notify` entity `send_sms`, and the `text` entity
//! `sms_recipient` that says whom `send_sms` writes to.

use serde_json::{json, Value};
use simrelay_protocol::ModemStatus;

use super::topics::{topic_safe, Topics};

/// `(component, object id)` of every entity of a modem.
pub(crate) const ENTITIES: [(&str, &str); 7] = [
    ("sensor", "last_code"),
    ("sensor", "last_sms"),
    ("sensor", "signal"),
    ("sensor", "sim_storage"),
    ("binary_sensor", "connected"),
    ("notify", "send_sms"),
    ("text", "sms_recipient"),
];

/// The entities that send SMS (left out when `mqtt_send = false`).
const SENDING: [&str; 2] = ["send_sms", "sms_recipient"];

/// The "Last SMS" state: the text, or the description of a message without text (the `sms` topic's JSON is the
/// API's `Message`, which has it in `content.description`), cut to the 255 characters a state holds.
const LAST_SMS_TEMPLATE: &str = "{{ (value_json.content.description \
     if value_json.content is defined and value_json.content.description is defined \
     else value_json.text)[:255] }}";

/// Home Assistant's node id for a modem: `simrelay_<topic-safe id>`.
pub(crate) fn node_id(modem: &str) -> String {
    format!("simrelay_{}", topic_safe(modem))
}

/// The config topic of one entity.
pub(crate) fn config_topic(
    discovery_prefix: &str,
    component: &str,
    modem: &str,
    object: &str,
) -> String {
    format!(
        "{discovery_prefix}/{component}/{}/{object}/config",
        node_id(modem)
    )
}

/// Every config topic of `modem` (to remove them all).
pub(crate) fn config_topics(discovery_prefix: &str, modem: &str) -> Vec<String> {
    ENTITIES
        .iter()
        .map(|(component, object)| config_topic(discovery_prefix, component, modem, object))
        .collect()
}

/// The device's name in Home Assistant: the user's label, else the model, else the id.
fn device_name(status: &ModemStatus) -> String {
    let what = status
        .label
        .clone()
        .or_else(|| status.model.clone())
        .unwrap_or_else(|| status.id.clone());
    format!("SimRelay {what}")
}

/// The config messages (topic, retained JSON payload) of every entity of the modem `status` describes, available
/// while `availability` says `online`.
pub(crate) fn configs(
    status: &ModemStatus,
    topics: &Topics,
    send: bool,
    availability: &str,
) -> Vec<(String, Value)> {
    let id = &status.id;
    let node = node_id(id);
    let mut device = json!({
        "identifiers": [node],
        "name": device_name(status),
    });
    for (key, value) in [
        ("manufacturer", &status.manufacturer),
        ("model", &status.model),
        ("serial_number", &status.imei),
    ] {
        if let Some(value) = value {
            device[key] = json!(value);
        }
    }
    let common = |object: &str, name: &str| {
        json!({
            "name": name,
            "unique_id": format!("{node}_{object}"),
            "device": device,
            "availability_topic": availability,
            "origin": {
                "name": "SimRelay",
                "sw_version": env!("CARGO_PKG_VERSION"),
                "support_url": env!("CARGO_PKG_REPOSITORY"),
            },
            "qos": 1,
        })
    };
    let state = topics.state(id);
    let mut out = Vec::new();
    for (component, object) in ENTITIES {
        if !send && SENDING.contains(&object) {
            continue;
        }
        let config = match object {
            "last_code" => merge(
                common(object, "Last code"),
                json!({
                    "state_topic": topics.code(id),
                    "value_template": "{{ value_json.code }}",
                    "json_attributes_topic": topics.code(id),
                    "icon": "mdi:key",
                }),
            ),
            "last_sms" => merge(
                common(object, "Last SMS"),
                json!({
                    "state_topic": topics.sms(id),
                    // A state holds at most 255 characters; the whole text is in the attributes. Binary data and
                    // WAP push have no text: their description ("binary message to port 2948, 97 bytes") is shown.
                    // (Checked with Jinja2 3.1 in its sandbox with StrictUndefined, as Home Assistant renders.)
                    "value_template": LAST_SMS_TEMPLATE,
                    "json_attributes_topic": topics.sms(id),
                    "icon": "mdi:message-text",
                }),
            ),
            "signal" => merge(
                common(object, "Signal"),
                json!({
                    "state_topic": state,
                    // "None" is Home Assistant's word for unknown; the modem may not have told its signal yet.
                    "value_template": "{{ value_json.signal_dbm | default('None') }}",
                    "device_class": "signal_strength",
                    "unit_of_measurement": "dBm",
                    "state_class": "measurement",
                    "entity_category": "diagnostic",
                }),
            ),
            "sim_storage" => merge(
                common(object, "SIM storage"),
                json!({
                    "state_topic": state,
                    "value_template": "{{ value_json.storage_used | default('None') }}",
                    "unit_of_measurement": "messages",
                    "state_class": "measurement",
                    "entity_category": "diagnostic",
                    "icon": "mdi:sim",
                }),
            ),
            "connected" => merge(
                common(object, "Connected"),
                json!({
                    "state_topic": state,
                    "value_template": "{{ 'ON' if value_json.state == 'connected' else 'OFF' }}",
                    "device_class": "connectivity",
                    // The whole status (operator, registration, storage_total, last_error, ...) as attributes.
                    "json_attributes_topic": state,
                }),
            ),
            "send_sms" => merge(
                common(object, "Send SMS"),
                json!({
                    "command_topic": topics.notify(id),
                }),
            ),
            "sms_recipient" => merge(
                common(object, "SMS recipient"),
                json!({
                    "command_topic": topics.recipient_set(id),
                    "state_topic": topics.recipient(id),
                    "pattern": "^\\+?[0-9]{1,20}$",
                    "min": 0,
                    "max": 21,
                    "mode": "text",
                    "entity_category": "config",
                    "icon": "mdi:phone",
                }),
            ),
            _ => continue,
        };
        out.push((
            config_topic(topics.discovery_prefix(), component, id, object),
            config,
        ));
    }
    out
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use simrelay_protocol::ModemState;

    fn modem() -> ModemStatus {
        ModemStatus {
            id: "imei:356938035643809".into(),
            port: "/dev/ttyUSB2".into(),
            state: ModemState::Connected,
            node: None,
            model: Some("EC25".into()),
            operator: None,
            signal_dbm: Some(-71),
            last_error: None,
            demo: false,
            label: Some("Work SIM".into()),
            manufacturer: Some("Quectel".into()),
            imei: Some("356938035643809".into()),
            iccid: None,
            registration: None,
            signal_bars: None,
            storage_used: None,
            storage_total: None,
            source: None,
            waiting: Vec::new(),
            pin_attempts_left: None,
            health: Default::default(),
        }
    }

    #[test]
    fn each_entity_has_its_config_topic_device_and_availability() {
        let topics = Topics::new("simrelay", "homeassistant");
        let configs = configs(&modem(), &topics, true, &topics.availability());
        let names: Vec<&str> = configs.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            names,
            [
                "homeassistant/sensor/simrelay_imei_356938035643809/last_code/config",
                "homeassistant/sensor/simrelay_imei_356938035643809/last_sms/config",
                "homeassistant/sensor/simrelay_imei_356938035643809/signal/config",
                "homeassistant/sensor/simrelay_imei_356938035643809/sim_storage/config",
                "homeassistant/binary_sensor/simrelay_imei_356938035643809/connected/config",
                "homeassistant/notify/simrelay_imei_356938035643809/send_sms/config",
                "homeassistant/text/simrelay_imei_356938035643809/sms_recipient/config",
            ]
        );
        assert_eq!(
            names,
            config_topics("homeassistant", "imei:356938035643809"),
            "removal clears exactly these"
        );
        for (topic, config) in &configs {
            assert_eq!(
                config["availability_topic"], "simrelay/availability",
                "{topic}"
            );
            assert_eq!(
                config["device"]["identifiers"],
                json!(["simrelay_imei_356938035643809"]),
                "{topic}"
            );
            assert_eq!(config["device"]["name"], "SimRelay Work SIM");
            assert_eq!(config["device"]["serial_number"], "356938035643809");
            let unique = config["unique_id"].as_str().expect("unique_id");
            assert!(topic.contains(unique.trim_start_matches("simrelay_imei_356938035643809_")));
        }
        let by_object = |o: &str| {
            &configs
                .iter()
                .find(|(t, _)| t.contains(&format!("/{o}/")))
                .expect("entity")
                .1
        };
        assert_eq!(
            by_object("last_code")["state_topic"],
            "simrelay/imei_356938035643809/code"
        );
        assert_eq!(by_object("connected")["device_class"], "connectivity");
        assert_eq!(by_object("signal")["unit_of_measurement"], "dBm");
        assert_eq!(
            by_object("send_sms")["command_topic"],
            "simrelay/imei_356938035643809/notify"
        );
        assert_eq!(
            by_object("sms_recipient")["command_topic"],
            "simrelay/imei_356938035643809/recipient/set"
        );
        assert_eq!(
            super::configs(&modem(), &topics, false, "x").len(),
            5,
            "no sending entities"
        );
    }
}
