//! Paired devices, their scopes, and pairing by one-time code: the bodies of `/api/devices`, `/api/pair` and
//! `/api/pair/claim`.

use serde::{Deserialize, Deserializer, Serialize};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Messages, codes, the long poll, the live feed, export, modem status.
    Read,
    /// Sending SMS and following what was sent.
    Send,
    /// Settings, hooks, modems, ports, devices, pairing, deleting messages.
    Admin,
}

impl Scope {
    /// Every scope, in order.
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Send, Scope::Admin];

    /// The name used in the API, the CLI and `tokens.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Send => "send",
            Scope::Admin => "admin",
        }
    }

    /// The scope called `name` (surrounding spaces ignored).
    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == name.trim())
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of [`Scope`]s; on the wire a list (`["read", "send"]`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scopes(u8);

impl Scopes {
    /// What the main token may do: everything.
    pub const ALL: Scopes = Scopes(0b111);
    /// What a device paired from the UI gets unless the owner ticks admin: read and send.
    pub const DEFAULT_DEVICE: Scopes = Scopes(0b011);

    /// Whether `scope` is in the set.
    pub fn has(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// The set with `scope` added.
    pub fn with(self, scope: Scope) -> Scopes {
        Scopes(self.0 | scope.bit())
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes in the set, in order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.has(*s))
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Scopes {
        iter.into_iter().fold(Scopes::default(), Scopes::with)
    }
}

impl std::fmt::Debug for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Comma-separated names: `read,send`.
impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.iter().map(Scope::as_str).collect();
        f.write_str(&names.join(","))
    }
}

impl Serialize for Scopes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Scopes, D::Error> {
        Ok(Vec::<Scope>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

fn default_device_scopes() -> Scopes {
    // A server from before scopes accepted a device's token wherever the main one was, except on the routes
    // only its own machine may use; read and send is what a device paired from the UI gets now.
    Scopes::DEFAULT_DEVICE
}

/// A device paired with the server (`GET /api/devices`); its token is never shown again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Stable id, used in `DELETE /api/devices/{id}`. Read from a number too (older servers).
    #[serde(deserialize_with = "id_as_text")]
    pub id: String,
    /// The name given when it was paired.
    #[serde(default)]
    pub name: String,
    /// What its token may do.
    #[serde(default = "default_device_scopes")]
    pub scopes: Scopes,
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

/// Body of `POST /api/devices` and `POST /api/pair`: the device to create or pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairingRequest {
    /// A name for the device (1 to 64 characters, no control characters).
    pub name: String,
    /// What its token may do; the server's default (read and send) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Scopes>,
}

/// Answer of `POST /api/devices`: the new device and its token (shown once). Phones pair with `POST /api/pair`
/// instead, so no token ever goes into a link or a QR code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDevice {
    /// The device.
    pub device: Device,
    /// Its access token; the server keeps only a hash and never shows it again.
    #[serde(default)]
    pub token: String,
}

/// A URL another device opens to pair, and a QR code of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairLink {
    /// The address with the one-time pairing code (`https://192.168.1.20:8731/?pair=...`), never a token.
    pub url: String,
    /// A standalone `<svg ...>` document of the QR code (black modules on white, with the quiet zone), made by
    /// the server from its own URL. Clients show it only as an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_svg: Option<String>,
}

/// Body of `GET /api/pair`: where other devices reach the server (no token in it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pairing {
    /// The address to open on the other device, one per LAN address of this machine, best first.
    #[serde(default)]
    pub urls: Vec<String>,
    /// SHA-256 fingerprint of the certificate LAN clients see (`AB:CD:...`), when sharing over HTTPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// Answer of `POST /api/pair`: a one-time pairing code for a named device, and a link with a QR code of it per LAN
/// address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairingCode {
    /// The code (32 hex digits): works once, for ten minutes.
    pub code: String,
    /// The name the device will have.
    #[serde(default)]
    pub name: String,
    /// The scopes it will have.
    #[serde(default = "default_device_scopes")]
    pub scopes: Scopes,
    /// When the code stops working (RFC 3339).
    #[serde(default)]
    pub expires_at: String,
    /// A link with the code, and its QR code, per LAN address, best first.
    #[serde(default)]
    pub links: Vec<PairLink>,
    /// SHA-256 fingerprint of the certificate the phone will see (`AB:CD:...`), when sharing over HTTPS: shown
    /// next to the QR code, to compare on the phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// Body of `POST /api/pair/claim`: the code the phone found in its link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairClaim {
    /// The pairing code.
    pub code: String,
}

/// Answer of `POST /api/pair/claim`: the device's own token (shown only this once) and the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claimed {
    /// The device's access token; the server keeps only a hash.
    pub token: String,
    /// The device it belongs to.
    pub device: Device,
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
        // A device from a server before scopes reads and sends.
        assert_eq!(d.scopes, Scopes::DEFAULT_DEVICE);
    }

    #[test]
    fn scopes_are_lists_of_names() {
        let s: Scopes =
            serde_json::from_value(serde_json::json!(["admin", "read", "read"])).expect("parses");
        assert!(s.has(Scope::Read) && s.has(Scope::Admin) && !s.has(Scope::Send));
        assert_eq!(
            serde_json::to_value(s).expect("json"),
            serde_json::json!(["read", "admin"])
        );
        assert_eq!(s.to_string(), "read,admin");
        assert_eq!(Scopes::ALL.to_string(), "read,send,admin");
        assert!(serde_json::from_value::<Scopes>(serde_json::json!(["root"])).is_err());
        assert_eq!(Scope::parse(" send "), Some(Scope::Send));
        let request = PairingRequest {
            name: "Pixel".into(),
            scopes: None,
        };
        assert_eq!(
            serde_json::to_value(&request).expect("json"),
            serde_json::json!({"name": "Pixel"}),
            "no scopes means the server's default"
        );
    }
}
