//! MQTT topic names, in one place: `<prefix>/availability`, `<prefix>/<modem>/{sms,code,state}`,
//! `<prefix>/send` and `<prefix>/sent`, and the Home Assistant command topics `<prefix>/<modem>/notify` and
//! `<prefix>/<modem>/recipient[/set]`.
//!
//! `<modem>` is the modem's stable id in a topic-safe form ([`topic_safe`]): `imei:356938035643809` becomes
//! `imei_356938035643809`, so one id is one topic level without wildcards, and also a valid Home Assistant
//! node id (`[a-zA-Z0-9_-]`).

/// The topic-safe form of a modem id: every character but ASCII letters, digits, `_` and `-` becomes `_`, and
/// `_` at either end is dropped (`/dev/ttyUSB2` → `dev_ttyUSB2`); an id with nothing left is `modem`.
pub fn topic_safe(id: &str) -> String {
    let mapped: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches('_');
    if trimmed.is_empty() {
        "modem".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Whether `prefix` can start topics: 1–64 characters, no wildcards (`+`, `#`), no NUL, not starting or ending
/// with `/`, not starting with `$` (reserved by brokers).
pub fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.chars().count() <= 64
        && !prefix.contains(['+', '#', '\0'])
        && !prefix.starts_with(['/', '$'])
        && !prefix.ends_with('/')
}

/// The shared-subscription group of the nodes of a cluster (`$share/<group>/<filter>`): the broker hands each
/// command published on a filter of the group to one of them.
pub(crate) const SHARE_GROUP: &str = "simrelay";

/// What a message on a subscribed topic asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// `<prefix>/send`: a JSON send request.
    Send,
    /// `<prefix>/<modem>/notify`: Home Assistant's notify entity (the payload is the message).
    Notify(String),
    /// `<prefix>/<modem>/recipient/set`: Home Assistant's text entity sets the notify recipient.
    SetRecipient(String),
    /// `<discovery prefix>/status`: Home Assistant came online (or went offline).
    HomeAssistantStatus,
    /// `<prefix>/availability/<node>`: a node of the cluster (topic-safe name) came online or went offline.
    NodeAvailability(String),
}

/// The topics of one bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Topics {
    prefix: String,
    discovery_prefix: String,
}

impl Topics {
    pub(crate) fn new(prefix: &str, discovery_prefix: &str) -> Topics {
        Topics {
            prefix: prefix.to_owned(),
            discovery_prefix: discovery_prefix.to_owned(),
        }
    }

    pub(crate) fn discovery_prefix(&self) -> &str {
        &self.discovery_prefix
    }

    /// `online`/`offline`, retained; the last will of a relay on its own.
    pub(crate) fn availability(&self) -> String {
        format!("{}/availability", self.prefix)
    }

    /// `online`/`offline` of one node of a cluster, retained; its last will.
    pub(crate) fn node_availability(&self, node: &str) -> String {
        format!("{}/availability/{}", self.prefix, topic_safe(node))
    }

    fn modem(&self, id: &str, leaf: &str) -> String {
        format!("{}/{}/{leaf}", self.prefix, topic_safe(id))
    }

    /// Each new message (the API's `Message`), not retained.
    pub(crate) fn sms(&self, id: &str) -> String {
        self.modem(id, "sms")
    }

    /// `{"code","sender","id","received_at"}` for messages with a code, not retained.
    pub(crate) fn code(&self, id: &str) -> String {
        self.modem(id, "code")
    }

    /// The modem's status (the API's `ModemStatus`), retained.
    pub(crate) fn state(&self, id: &str) -> String {
        self.modem(id, "state")
    }

    /// Home Assistant's notify entity publishes here.
    pub(crate) fn notify(&self, id: &str) -> String {
        self.modem(id, "notify")
    }

    /// The notify recipient, retained (the text entity's state).
    pub(crate) fn recipient(&self, id: &str) -> String {
        self.modem(id, "recipient")
    }

    /// Home Assistant's text entity publishes a new recipient here.
    pub(crate) fn recipient_set(&self, id: &str) -> String {
        self.modem(id, "recipient/set")
    }

    /// `{"to","text","modem"?}` sends an SMS.
    pub(crate) fn send(&self) -> String {
        format!("{}/send", self.prefix)
    }

    /// Each sent message's status (the API's `SentMessage`), or why a request was refused.
    pub(crate) fn sent(&self) -> String {
        format!("{}/sent", self.prefix)
    }

    /// Home Assistant's birth and last will.
    pub(crate) fn ha_status(&self) -> String {
        format!("{}/status", self.discovery_prefix)
    }

    /// The subscriptions: `send` (when sending is allowed), and with discovery the notify and recipient
    /// commands of every modem and Home Assistant's status. A node of a cluster subscribes to the commands in the
    /// shared group [`SHARE_GROUP`] (so each command reaches one node), and to every node's availability.
    pub(crate) fn subscriptions(&self, send: bool, discovery: bool, cluster: bool) -> Vec<String> {
        let mut commands = Vec::new();
        if send {
            commands.push(self.send());
        }
        if discovery {
            if send {
                commands.push(format!("{}/+/notify", self.prefix));
            }
            commands.push(format!("{}/+/recipient/set", self.prefix));
        }
        let mut topics: Vec<String> = if cluster {
            commands
                .into_iter()
                .map(|filter| format!("$share/{SHARE_GROUP}/{filter}"))
                .collect()
        } else {
            commands
        };
        if discovery {
            topics.push(self.ha_status());
        }
        if cluster {
            topics.push(format!("{}/availability/+", self.prefix));
        }
        topics
    }

    /// What a message on `topic` asks for (`None`: not one of ours).
    pub(crate) fn command(&self, topic: &str) -> Option<Command> {
        if topic == self.ha_status() {
            return Some(Command::HomeAssistantStatus);
        }
        let rest = topic.strip_prefix(&self.prefix)?.strip_prefix('/')?;
        if rest == "send" {
            return Some(Command::Send);
        }
        if let Some(node) = rest.strip_prefix("availability/") {
            return (!node.is_empty() && !node.contains('/'))
                .then(|| Command::NodeAvailability(node.to_owned()));
        }
        let (modem, leaf) = rest.split_once('/')?;
        if modem.is_empty() || modem.contains('/') {
            return None;
        }
        match leaf {
            "notify" => Some(Command::Notify(modem.to_owned())),
            "recipient/set" => Some(Command::SetRecipient(modem.to_owned())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modem_ids_become_one_safe_level() {
        assert_eq!(topic_safe("imei:356938035643809"), "imei_356938035643809");
        assert_eq!(
            topic_safe("iccid:8949000000000000001"),
            "iccid_8949000000000000001"
        );
        assert_eq!(topic_safe("/dev/ttyUSB2"), "dev_ttyUSB2");
        assert_eq!(topic_safe("demo"), "demo");
        assert_eq!(topic_safe("a+b#c/d e"), "a_b_c_d_e");
        assert_eq!(topic_safe("日本"), "modem");
        assert_eq!(topic_safe(""), "modem");
    }

    #[test]
    fn the_topics_are_the_ones_the_issue_names() {
        let t = Topics::new("simrelay", "homeassistant");
        assert_eq!(t.availability(), "simrelay/availability");
        assert_eq!(t.sms("imei:1"), "simrelay/imei_1/sms");
        assert_eq!(t.code("imei:1"), "simrelay/imei_1/code");
        assert_eq!(t.state("imei:1"), "simrelay/imei_1/state");
        assert_eq!(t.send(), "simrelay/send");
        assert_eq!(t.sent(), "simrelay/sent");
        assert_eq!(t.recipient_set("demo"), "simrelay/demo/recipient/set");
        assert_eq!(
            t.node_availability("berlin:8731"),
            "simrelay/availability/berlin_8731"
        );
        assert_eq!(
            t.subscriptions(true, true, false),
            [
                "simrelay/send",
                "simrelay/+/notify",
                "simrelay/+/recipient/set",
                "homeassistant/status"
            ]
        );
        assert!(t.subscriptions(false, false, false).is_empty());
        // mqtt_send = false: nothing that sends SMS is listened to.
        assert_eq!(
            t.subscriptions(false, true, false),
            ["simrelay/+/recipient/set", "homeassistant/status"]
        );
        // In a cluster each command reaches one node; every node hears the others' availability.
        assert_eq!(
            t.subscriptions(true, true, true),
            [
                "$share/simrelay/simrelay/send",
                "$share/simrelay/simrelay/+/notify",
                "$share/simrelay/simrelay/+/recipient/set",
                "homeassistant/status",
                "simrelay/availability/+"
            ]
        );
    }

    #[test]
    fn commands_are_recognised_by_topic() {
        let t = Topics::new("home/sms", "ha");
        assert_eq!(t.command("home/sms/send"), Some(Command::Send));
        assert_eq!(
            t.command("home/sms/imei_1/notify"),
            Some(Command::Notify("imei_1".into()))
        );
        assert_eq!(
            t.command("home/sms/imei_1/recipient/set"),
            Some(Command::SetRecipient("imei_1".into()))
        );
        assert_eq!(t.command("ha/status"), Some(Command::HomeAssistantStatus));
        assert_eq!(
            t.command("home/sms/availability/b"),
            Some(Command::NodeAvailability("b".into()))
        );
        for other in [
            "home/sms/imei_1/sms",
            "home/sms",
            "home/smsx/send",
            "home/sms//notify",
            "other/send",
            "home/sms/availability/",
        ] {
            assert_eq!(t.command(other), None, "{other}");
        }
    }

    #[test]
    fn prefixes_without_wildcards() {
        assert!(valid_prefix("simrelay") && valid_prefix("home/sms"));
        for bad in ["", "a/+", "#", "/x", "x/", "$SYS"] {
            assert!(!valid_prefix(bad), "{bad}");
        }
    }
}
