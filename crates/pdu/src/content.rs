//! What a message's user data is, so a client can show it as what it is: text, data for an application
//! port (8-bit or compressed payloads, or anything addressed to a port), or a WAP push (WDP ports 2948/2949,
//! which carry MMS notifications and service indications). Binary payloads have no text; showing them as
//! characters would be mojibake, so clients show this description and the bytes in hex instead.

use crate::dcs::Encoding;
use crate::udh::Ports;

/// WDP port of connectionless WAP push (WAP-259).
pub const WAP_PUSH_PORT: u16 = 2948;
/// WDP port of secure (WTLS) connectionless WAP push.
pub const WAP_PUSH_SECURE_PORT: u16 = 2949;

/// What the user data of a PDU (or an assembled message) holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Content {
    /// Text to show (`text` holds it). `port` is set when the text is addressed to an application port
    /// (visual voicemail notices, for instance) rather than to the user's inbox.
    Text {
        /// Destination application port, if the header addresses one.
        port: Option<u16>,
    },
    /// 8-bit data or compressed text: no text to show. `length` counts payload bytes, header excluded.
    Binary {
        /// Destination application port, if the header addresses one.
        port: Option<u16>,
        /// Originator application port, if the header addresses one.
        source_port: Option<u16>,
        /// Payload bytes (the header excluded).
        length: usize,
    },
    /// A WAP push to port 2948 or 2949 (an MMS notification, a service indication, ...).
    WapPush {
        /// The destination port (2948, or 2949 for secure push).
        port: u16,
        /// Payload bytes (the header excluded).
        length: usize,
        /// The pushed content's type from the WSP push header, when this PDU carries the header (the first
        /// part of a multipart push) and names a type this crate knows.
        content_type: Option<String>,
    },
}

impl Content {
    /// `"text"`, `"binary"` or `"wap_push"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Content::Text { .. } => "text",
            Content::Binary { .. } => "binary",
            Content::WapPush { .. } => "wap_push",
        }
    }

    /// The destination port, if any.
    pub fn port(&self) -> Option<u16> {
        match self {
            Content::Text { port } | Content::Binary { port, .. } => *port,
            Content::WapPush { port, .. } => Some(*port),
        }
    }

    /// One line for a message list, e.g. "binary message to port 2948, 97 bytes"; `None` for text.
    pub fn describe(&self) -> Option<String> {
        let bytes = |n: usize| {
            if n == 1 {
                "1 byte".to_owned()
            } else {
                format!("{n} bytes")
            }
        };
        match self {
            Content::Text { .. } => None,
            Content::Binary {
                port: Some(p),
                length,
                ..
            } => Some(format!("binary message to port {p}, {}", bytes(*length))),
            Content::Binary {
                port: None, length, ..
            } => Some(format!("binary message, {}", bytes(*length))),
            Content::WapPush {
                content_type: Some(t),
                length,
                ..
            } => Some(format!("WAP push ({t}), {}", bytes(*length))),
            Content::WapPush {
                content_type: None,
                length,
                ..
            } => Some(format!("WAP push, {}", bytes(*length))),
        }
    }

    /// Classifies a payload (septets or octets, header excluded) by its encoding and application ports.
    pub(crate) fn classify(encoding: Encoding, ports: Option<Ports>, payload: &[u8]) -> Content {
        let port = ports.map(|p| p.destination);
        match port {
            Some(p @ (WAP_PUSH_PORT | WAP_PUSH_SECURE_PORT)) => Content::WapPush {
                port: p,
                length: payload.len(),
                // WAP push is 8-bit by definition; a text-coded one has no WSP header to read.
                content_type: match encoding {
                    Encoding::Binary => wsp_push_content_type(payload),
                    _ => None,
                },
            },
            _ => match encoding {
                Encoding::Gsm7 | Encoding::Ucs2 => Content::Text { port },
                Encoding::Binary | Encoding::Compressed => Content::Binary {
                    port,
                    source_port: ports.map(|p| p.source),
                    length: payload.len(),
                },
            },
        }
    }
}

/// Longest content type string taken from a push header; longer ones are cut (the data is untrusted).
const MAX_CONTENT_TYPE: usize = 100;

/// The content type of a connectionless WSP push PDU (WAP-230 §8.2.4.1): transaction id, PDU type 0x06,
/// header length (uintvar), then the content type: a well-known value (a short integer, 0x80 | code), a
/// NUL-terminated string, or a value-length-prefixed general form whose media is one of those.
fn wsp_push_content_type(pdu: &[u8]) -> Option<String> {
    let [_tid, 0x06, rest @ ..] = pdu else {
        return None;
    };
    // The header length is a uintvar (up to 5 octets); its value is not needed, only where it ends.
    let skip = rest.iter().take(5).position(|b| b & 0x80 == 0)? + 1;
    let media = rest.get(skip..)?;
    let media = match *media.first()? {
        // Value-length general form: a length (short or 0x1F + uintvar), then the media type.
        len @ 0x00..=0x1E if len > 0 => media.get(1..)?,
        0x1F => {
            let n = media[1..].iter().take(5).position(|b| b & 0x80 == 0)? + 1;
            media.get(1 + n..)?
        }
        _ => media,
    };
    match *media.first()? {
        code @ 0x80..=0xFF => well_known_content_type(code & 0x7F).map(str::to_owned),
        0x20..=0x7E => {
            let end = media.iter().position(|&b| b == 0).unwrap_or(media.len());
            let s: String = media[..end]
                .iter()
                .take(MAX_CONTENT_TYPE)
                .take_while(|b| b.is_ascii_graphic())
                .map(|&b| char::from(b))
                .collect();
            (!s.is_empty()).then_some(s)
        }
        _ => None,
    }
}

/// The well-known WSP content types a push to a phone carries in practice (OMA WSP content type numbers).
fn well_known_content_type(code: u8) -> Option<&'static str> {
    Some(match code {
        0x02 => "text/html",
        0x03 => "text/plain",
        0x08 => "text/vnd.wap.wml",
        0x14 => "application/vnd.wap.wmlc",
        0x2D => "text/vnd.wap.si",
        0x2E => "application/vnd.wap.sic",
        0x2F => "text/vnd.wap.sl",
        0x30 => "application/vnd.wap.slc",
        0x31 => "text/vnd.wap.co",
        0x32 => "application/vnd.wap.coc",
        0x35 => "text/vnd.wap.connectivity-xml",
        0x36 => "application/vnd.wap.connectivity-wbxml",
        0x3E => "application/vnd.wap.mms-message",
        0x42 => "application/vnd.syncml.dm+wbxml",
        0x43 => "application/vnd.syncml.dm+xml",
        0x44 => "application/vnd.syncml.notification",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(destination: u16) -> Option<Ports> {
        Some(Ports {
            destination,
            source: 9200,
            bits: 16,
        })
    }

    #[test]
    fn wap_push_content_types() {
        // Well-known short integer 0xBE = application/vnd.wap.mms-message.
        let c = Content::classify(
            Encoding::Binary,
            ports(2948),
            &[0x04, 0x06, 0x03, 0xBE, 0xAF, 0x84],
        );
        assert_eq!(
            c,
            Content::WapPush {
                port: 2948,
                length: 6,
                content_type: Some("application/vnd.wap.mms-message".to_owned())
            }
        );
        assert_eq!(
            c.describe().unwrap(),
            "WAP push (application/vnd.wap.mms-message), 6 bytes"
        );
        // A NUL-terminated string.
        let mut pdu = vec![0x01, 0x06, 0x27];
        pdu.extend_from_slice(b"application/vnd.wap.sic\0");
        let c = Content::classify(Encoding::Binary, ports(2948), &pdu);
        assert_eq!(
            c.describe().unwrap(),
            format!("WAP push (application/vnd.wap.sic), {} bytes", pdu.len())
        );
        // General form: value length 3, well-known 0xAE, then a parameter.
        let c = Content::classify(
            Encoding::Binary,
            ports(2949),
            &[0x00, 0x06, 0x05, 0x03, 0xAE, 0x81, 0xEA],
        );
        assert_eq!(c.port(), Some(2949));
        assert_eq!(
            c.describe().unwrap(),
            "WAP push (application/vnd.wap.sic), 7 bytes"
        );
        // Later parts of a multipart push have no header; neither do truncated ones.
        for data in [
            &[0x36, 0x2E, 0x31][..],
            &[0x01, 0x06][..],
            &[][..],
            &[0x01, 0x06, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80],
        ] {
            let c = Content::classify(Encoding::Binary, ports(2948), data);
            assert_eq!(
                c.describe().unwrap(),
                format!(
                    "WAP push, {} byte{}",
                    data.len(),
                    if data.len() == 1 { "" } else { "s" }
                )
            );
        }
    }

    #[test]
    fn binary_and_port_addressed_text() {
        let c = Content::classify(Encoding::Binary, ports(5499), &[0; 97]);
        assert_eq!(
            c.describe().unwrap(),
            "binary message to port 5499, 97 bytes"
        );
        assert_eq!(c.kind(), "binary");
        let c = Content::classify(Encoding::Binary, None, &[1]);
        assert_eq!(c.describe().unwrap(), "binary message, 1 byte");
        assert_eq!(
            Content::classify(Encoding::Compressed, None, &[1, 2]).kind(),
            "binary"
        );
        let c = Content::classify(Encoding::Gsm7, ports(5496), b"MBOXUPDATE");
        assert_eq!(
            (c.kind(), c.port(), c.describe()),
            ("text", Some(5496), None)
        );
        assert_eq!(
            Content::classify(Encoding::Ucs2, None, &[0, 0x41]),
            Content::Text { port: None }
        );
    }
}
