//! Paired devices and pairing: the bodies of `/api/devices` and `GET /api/pair`.

use serde::{Deserialize, Deserializer, Serialize};

/// A device paired with the server (`GET /api/devices`); its token is never shown again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Stable id, used in `DELETE /api/devices/{id}`. Read from a number too (older servers).
    #[serde(deserialize_with = "id_as_text")]
    pub id: String,
    /// The name given when it was paired.
    #[serde(default)]
    pub name: String,
    /// When it was paired (RFC 3339).
    #[serde(default)]
    pub created_at: String,
    /// When its token last authenticated a request (RFC 3339); `None` if never.
    #[serde(default)]
    pub last_seen: Option<String>,
    /// The address of that request.
    #[serde(default)]
    pub last_ip: Option<String>,
}

/// A device id on the wire: text, or a number from an older server.
#[derive(Deserialize)]
#[serde(untagged)]
enum IdOnTheWire {
    Text(String),
    Number(i64),
}

fn id_as_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(match IdOnTheWire::deserialize(deserializer)? {
        IdOnTheWire::Text(text) => text,
        IdOnTheWire::Number(n) => n.to_string(),
    })
}

/// Body of `GET /api/devices`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceList {
    /// The paired devices, oldest first.
    pub devices: Vec<Device>,
}

/// Body of `POST /api/devices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairingRequest {
    /// A name for the device (1 to 64 characters, no control characters).
    pub name: String,
}

/// Answer of `POST /api/devices`: the new device, its token (shown once) and the links that pair it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDevice {
    /// The device.
    pub device: Device,
    /// Its access token; the server keeps only a hash and never shows it again.
    #[serde(default)]
    pub token: String,
    /// A link (with the token) and its QR code per LAN address; empty when the server is not shared.
    #[serde(default)]
    pub links: Vec<PairLink>,
}

/// A URL another device opens to pair, and a QR code of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairLink {
    /// The address with the token.
    pub url: String,
    /// A standalone `<svg ...>` document of the QR code (black modules on white, with the quiet zone), made by
    /// the server from its own URL. Clients show it only as an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_svg: Option<String>,
}

/// Body of `GET /api/pair`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pairing {
    /// URLs to open on the other device, one per LAN address of this machine, best first.
    #[serde(default)]
    pub urls: Vec<String>,
    /// The same URLs, each with its QR code.
    #[serde(default)]
    pub links: Vec<PairLink>,
    /// SHA-256 fingerprint of the server's TLS certificate (`AB:CD:...`), when TLS is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_parse_with_either_id_type() {
        let d: Device = serde_json::from_value(
            serde_json::json!({"id":4,"name":"phone","created_at":"2026-11-22T09:00:00Z","last_seen":null}),
        )
        .expect("parses");
        assert_eq!((d.id.as_str(), d.last_seen), ("4", None));
        let d: Device = serde_json::from_value(
            serde_json::json!({"id":"ab12","name":"tablet","last_ip":"192.168.1.5"}),
        )
        .expect("parses");
        assert_eq!(d.last_ip.as_deref(), Some("192.168.1.5"));
        assert!(serde_json::from_value::<Device>(serde_json::json!({"id":[1]})).is_err());
    }
}
