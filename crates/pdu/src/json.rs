//! JSON shape of decoded PDUs (what `simrelay decode-pdu` prints): flat objects with a `type` tag, addresses
//! split into a number and its `_type`, timestamps in RFC 3339 with the network's offset, bytes as upper-case
//! hex. Written by hand rather than derived so the public structs can stay idiomatic Rust.

use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::address::Address;
use crate::content::Content;
use crate::dcs::{Encoding, MessageWaiting};
use crate::pdu::{Deliver, Pdu, StatusReport, Submit, Validity};
use crate::udh::{Concat, InformationElement, Ports, Udh};

/// Bytes as upper-case hex.
pub(crate) struct Hex<'a>(pub(crate) &'a [u8]);

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_hex(self.0))
    }
}

/// Upper-case hex of `bytes`, as AT commands print PDUs.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0F)]));
    }
    out
}

struct Time<'a>(&'a DateTime<FixedOffset>);

impl Serialize for Time<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::Secs, false))
    }
}

impl Serialize for Encoding {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Serialize for Concat {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("ref", &self.reference)?;
        m.serialize_entry("ref_bits", &self.ref_bits)?;
        m.serialize_entry("total", &self.total)?;
        m.serialize_entry("seq", &self.seq)?;
        m.end()
    }
}

impl Serialize for Ports {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("destination", &self.destination)?;
        m.serialize_entry("source", &self.source)?;
        m.serialize_entry("bits", &self.bits)?;
        m.end()
    }
}

impl Serialize for InformationElement {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("iei", &self.iei)?;
        m.serialize_entry("data", &Hex(&self.data))?;
        m.end()
    }
}

impl Serialize for Udh {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("hex", &Hex(&self.raw))?;
        m.serialize_entry("elements", &self.elements)?;
        m.serialize_entry("ports", &self.ports)?;
        m.serialize_entry("locking_shift", &self.locking_shift)?;
        m.serialize_entry("single_shift", &self.single_shift)?;
        m.serialize_entry("indications", &self.indications)?;
        m.end()
    }
}

impl Serialize for MessageWaiting {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("kind", self.kind.as_str())?;
        m.serialize_entry("active", &self.active)?;
        m.serialize_entry("store", &self.store)?;
        m.serialize_entry("count", &self.count)?;
        m.serialize_entry("source", self.source.as_str())?;
        m.end()
    }
}

/// `{"kind": "text"|"binary"|"wap_push", "port", ...}`; binary and WAP push add `length` and `description`
/// (the line a client shows instead of text), binary its `source_port`, WAP push its `content_type`.
impl Serialize for Content {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("kind", self.kind())?;
        m.serialize_entry("port", &self.port())?;
        match self {
            Content::Text { .. } => {}
            Content::Binary {
                source_port,
                length,
                ..
            } => {
                m.serialize_entry("source_port", source_port)?;
                m.serialize_entry("length", length)?;
            }
            Content::WapPush {
                length,
                content_type,
                ..
            } => {
                m.serialize_entry("length", length)?;
                m.serialize_entry("content_type", content_type)?;
            }
        }
        if let Some(d) = self.describe() {
            m.serialize_entry("description", &d)?;
        }
        m.end()
    }
}

impl Serialize for Validity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        match self {
            Validity::Relative(d) => m.serialize_entry("relative_seconds", &d.as_secs())?,
            Validity::Absolute(t) => m.serialize_entry("absolute", &Time(t))?,
            Validity::Enhanced(b) => m.serialize_entry("enhanced", &Hex(b))?,
        }
        m.end()
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("number", &self.number)?;
        m.serialize_entry("type", self.kind.as_str())?;
        m.serialize_entry("toa", &self.toa)?;
        m.end()
    }
}

fn address<M: SerializeMap>(m: &mut M, key: &str, a: Option<&Address>) -> Result<(), M::Error> {
    m.serialize_entry(key, &a.map(|a| &a.number))?;
    m.serialize_entry(&format!("{key}_type"), &a.map(|a| a.kind.as_str()))
}

impl Serialize for Deliver {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", "deliver")?;
        address(&mut m, "smsc", self.smsc.as_ref())?;
        address(&mut m, "sender", Some(&self.sender))?;
        m.serialize_entry("timestamp", &Time(&self.timestamp))?;
        m.serialize_entry("text", &self.text)?;
        m.serialize_entry("encoding", &self.encoding)?;
        m.serialize_entry("concat", &self.concat)?;
        m.serialize_entry("udh", &self.udh)?;
        m.serialize_entry("pid", &self.pid)?;
        m.serialize_entry("dcs", &self.dcs)?;
        m.serialize_entry("class", &self.class)?;
        m.serialize_entry("message_waiting", &self.message_waiting)?;
        m.serialize_entry("indications", &self.indications)?;
        m.serialize_entry("flash", &self.is_flash())?;
        m.serialize_entry("content", &self.content)?;
        m.serialize_entry("truncated", &self.truncated)?;
        m.serialize_entry("user_data", &Hex(&self.user_data))?;
        m.serialize_entry("more_messages", &self.more_messages)?;
        m.serialize_entry("loop_prevention", &self.loop_prevention)?;
        m.serialize_entry("status_report_indication", &self.status_report_indication)?;
        m.serialize_entry("reply_path", &self.reply_path)?;
        m.end()
    }
}

impl Serialize for Submit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", "submit")?;
        address(&mut m, "smsc", self.smsc.as_ref())?;
        m.serialize_entry("message_reference", &self.message_reference)?;
        address(&mut m, "recipient", Some(&self.recipient))?;
        m.serialize_entry("text", &self.text)?;
        m.serialize_entry("encoding", &self.encoding)?;
        m.serialize_entry("concat", &self.concat)?;
        m.serialize_entry("udh", &self.udh)?;
        m.serialize_entry("pid", &self.pid)?;
        m.serialize_entry("dcs", &self.dcs)?;
        m.serialize_entry("class", &self.class)?;
        m.serialize_entry("validity", &self.validity)?;
        m.serialize_entry("flash", &self.is_flash())?;
        m.serialize_entry("content", &self.content)?;
        m.serialize_entry("truncated", &self.truncated)?;
        m.serialize_entry("user_data", &Hex(&self.user_data))?;
        m.serialize_entry("reject_duplicates", &self.reject_duplicates)?;
        m.serialize_entry("status_report_request", &self.status_report_request)?;
        m.serialize_entry("reply_path", &self.reply_path)?;
        m.end()
    }
}

impl Serialize for StatusReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", "status_report")?;
        address(&mut m, "smsc", self.smsc.as_ref())?;
        m.serialize_entry("message_reference", &self.message_reference)?;
        address(&mut m, "recipient", Some(&self.recipient))?;
        m.serialize_entry("timestamp", &Time(&self.timestamp))?;
        m.serialize_entry("discharge_time", &Time(&self.discharge_time))?;
        m.serialize_entry("status", &self.status)?;
        m.serialize_entry("status_category", self.status_category().as_str())?;
        m.serialize_entry("status_text", self.status_text())?;
        m.serialize_entry("delivered", &self.delivered())?;
        m.serialize_entry("more_messages", &self.more_messages)?;
        m.serialize_entry("for_command", &self.for_command)?;
        m.serialize_entry("text", &self.text)?;
        m.serialize_entry("encoding", &self.encoding)?;
        m.serialize_entry("udh", &self.udh)?;
        m.serialize_entry("pid", &self.pid)?;
        m.serialize_entry("dcs", &self.dcs)?;
        m.serialize_entry("truncated", &self.truncated)?;
        m.serialize_entry("user_data", &Hex(&self.user_data))?;
        m.end()
    }
}

impl Serialize for Pdu {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Pdu::Deliver(d) => d.serialize(s),
            Pdu::Submit(x) => x.serialize(s),
            Pdu::StatusReport(r) => r.serialize(s),
        }
    }
}
