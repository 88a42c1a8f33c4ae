//! A message's code beyond the code itself: the site an origin-bound code is for, the other plausible codes, and
//! what a user says about them (`PUT /api/messages/{id}/code`, `GET /api/corrections`).

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::Message;

impl Message {
    /// The code as a person reads it: "123456", or "123456 for example.com" for an origin-bound code.
    pub fn code_for_display(&self) -> Option<String> {
        let code = self.code.as_deref()?;
        Some(match &self.origin {
            Some(origin) => format!("{code} for {}", origin.describe()),
            None => code.to_owned(),
        })
    }
}

/// The site an origin-bound code is for (WICG "Origin-bound one-time codes delivered via SMS").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeOrigin {
    /// The top-level site, in lower case ("example.com").
    pub host: String,
    /// The embedded (iframe) site the code is for, when the message names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedded: Option<String>,
}

impl CodeOrigin {
    /// "example.com", or "bank.example on example.com" for an embedded site.
    pub fn describe(&self) -> String {
        match &self.embedded {
            Some(embedded) => format!("{embedded} on {}", self.host),
            None => self.host.clone(),
        }
    }
}

/// Another plausible code in a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeAlternative {
    /// What the user would type.
    pub code: String,
    /// Byte range `[start, end)` of it in the message's `text`.
    pub span: [usize; 2],
    /// Between 0 and 1, never above the message's own `confidence`.
    pub confidence: f64,
}

/// What a user says about a message's code: `PUT /api/messages/{id}/code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeChoice {
    /// The right code: the message's code or one of its `alternatives`; `null` for "no code here".
    pub code: Option<String>,
    /// Also apply it to the sender's later messages: "this sender's code is shaped like this one", or, with
    /// `code: null`, "this sender never sends codes".
    #[serde(default)]
    pub remember: bool,
}

/// What a user told SimRelay about a sender's codes (`GET /api/corrections`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeCorrection {
    /// The sender it applies to, exactly as the network gives it.
    pub sender: String,
    /// What the correction says.
    #[serde(flatten)]
    pub rule: CorrectionRule,
    /// When the user said it.
    pub created_at: DateTime<FixedOffset>,
}

/// The rule of a [`CodeCorrection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CorrectionRule {
    /// The sender never sends codes: none is extracted from its messages.
    NoCode,
    /// The sender's code is the one of this kind and length ("the 8-digit one").
    Shape {
        /// `numeric` or `alphanumeric`.
        code_kind: CodeKind,
        /// Characters in the code.
        code_len: u32,
    },
}

impl CorrectionRule {
    /// "never sends codes", "code: 8 digits", "code: 6 letters and digits".
    pub fn describe(&self) -> String {
        match self {
            CorrectionRule::NoCode => "never sends codes".into(),
            CorrectionRule::Shape {
                code_kind: CodeKind::Numeric,
                code_len,
            } => format!("code: {code_len} digits"),
            CorrectionRule::Shape {
                code_kind: CodeKind::Alphanumeric,
                code_len,
            } => format!("code: {code_len} letters and digits"),
        }
    }
}

/// The characters of a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeKind {
    /// Digits only.
    Numeric,
    /// Letters and digits.
    Alphanumeric,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::tests::sample;

    #[test]
    fn origin_and_alternatives_travel_with_the_code() {
        let mut m = sample();
        m.origin = Some(CodeOrigin {
            host: "example.com".into(),
            embedded: Some("pay.example".into()),
        });
        m.alternatives = vec![CodeAlternative {
            code: "55102288".into(),
            span: [10, 18],
            confidence: 0.4,
        }];
        let json = serde_json::to_value(&m).expect("serialises");
        assert_eq!(json["origin"]["host"], "example.com");
        assert_eq!(json["alternatives"][0]["code"], "55102288");
        assert_eq!(
            m.code_for_display().as_deref(),
            Some("583014 for pay.example on example.com")
        );
        let back: Message = serde_json::from_value(json).expect("parses");
        assert_eq!(back, m);
        // Without them, the fields are left out.
        let plain = serde_json::to_value(sample()).expect("serialises");
        assert!(plain.get("origin").is_none() && plain.get("alternatives").is_none());
    }

    #[test]
    fn corrections_are_tagged_by_kind() {
        let c = CodeCorrection {
            sender: "Nimbus".into(),
            rule: CorrectionRule::Shape {
                code_kind: CodeKind::Numeric,
                code_len: 8,
            },
            created_at: DateTime::parse_from_rfc3339("2026-12-07T10:00:00+00:00").expect("valid"),
        };
        let json = serde_json::to_value(&c).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"sender": "Nimbus", "kind": "shape", "code_kind": "numeric", "code_len": 8,
                "created_at": "2026-12-07T10:00:00Z"})
        );
        assert_eq!(
            serde_json::from_value::<CodeCorrection>(json).expect("parses"),
            c
        );
        assert_eq!(c.rule.describe(), "code: 8 digits");
        let choice: CodeChoice = serde_json::from_str(r#"{"code": null}"#).expect("parses");
        assert!(!choice.remember);
        assert!(serde_json::from_str::<CodeChoice>(r#"{"code": "1", "x": 1}"#).is_err());
    }
}
