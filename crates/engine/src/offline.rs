//! The offline commands, which need no server, modem or database: what `simrelay decode-pdu` and
//! `simrelay extract` print, as functions so they are tested without spawning the binary.

use serde_json::{json, Value};

/// Decodes one PDU given as hex, as `AT+CMGR` prints it (starting with the SMSC length octet), into the
/// JSON `simrelay decode-pdu` prints.
pub fn decode_pdu_json(hex: &str) -> Result<Value, simrelay_pdu::DecodeError> {
    let pdu = simrelay_pdu::decode_hex(hex.trim())?;
    // Serialising our own plain data cannot fail; a Null would only hide a bug, never crash on input.
    Ok(serde_json::to_value(&pdu).unwrap_or(Value::Null))
}

/// Answers one line of `simrelay extract`: the line is the message text, or a JSON object whose `text`
/// field is. Returns `{"code": string|null}` plus, as a message in the API carries them, `code_span`,
/// `confidence`, `origin` (an origin-bound message) and `alternatives` when there are any; `"explain"` when asked.
pub fn extract_line(line: &str, explain: bool) -> Value {
    let text = text_of(line);
    let (code, code_span, confidence, origin, alternatives) =
        crate::store::code_fields(simrelay_otp::analyse(&text));
    let mut answer = json!({ "code": code });
    if let Some(span) = code_span {
        answer["code_span"] = json!(span);
    }
    if let Some(confidence) = confidence {
        answer["confidence"] = json!(confidence);
    }
    if let Some(origin) = origin {
        answer["origin"] = serde_json::to_value(origin).unwrap_or(Value::Null);
    }
    if !alternatives.is_empty() {
        answer["alternatives"] = serde_json::to_value(alternatives).unwrap_or(Value::Null);
    }
    if explain {
        answer["explain"] =
            serde_json::to_value(simrelay_otp::explain(&text)).unwrap_or(Value::Null);
    }
    answer
}

fn text_of(line: &str) -> String {
    let trimmed = line.trim_end_matches(['\r', '\n']);
    if trimmed.trim_start().starts_with('{') {
        if let Ok(Value::Object(object)) = serde_json::from_str::<Value>(trimmed) {
            if let Some(Value::String(text)) = object.get("text") {
                return text.clone();
            }
        }
    }
    trimmed.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extract_takes_plain_text_and_json_lines() {
        let plain = extract_line("Your verification code is 482913\n", false);
        assert_eq!(plain["code"], "482913");
        assert_eq!(plain["code_span"], json!([26, 32]));
        let confidence = plain["confidence"].as_f64().unwrap_or_default();
        assert!(confidence > 0.5 && confidence <= 1.0, "{plain}");
        assert!(plain.get("origin").is_none() && plain.get("alternatives").is_none());
        assert_eq!(
            extract_line(r#"{"text": "Your code: 7351", "id": 4}"#, false)["code"],
            "7351"
        );
        assert_eq!(
            extract_line("see you at 12:30", false),
            json!({"code": null})
        );
        assert_eq!(extract_line("", false), json!({"code": null}));
        // A JSON line's other fields are not read as text.
        assert_eq!(
            extract_line(r#"{"text": "no code here", "id": 123456}"#, false)["code"],
            Value::Null
        );
        let explained = extract_line("Your verification code is 482913", true);
        assert_eq!(explained["code"], "482913");
        assert!(explained["explain"].is_object(), "{explained}");
    }

    #[test]
    fn extract_names_the_origin_and_the_alternatives() {
        let bound = extract_line(
            r#"{"text": "660679 is your GitHub code.\n\n@github.com #660679"}"#,
            false,
        );
        assert_eq!(bound["code"], "660679");
        assert_eq!(bound["origin"], json!({"host": "github.com"}));
        assert_eq!(bound["confidence"], 1.0);
        let two = extract_line(
            r#"{"text": "Security code: 55102288\nVerification code: 482913"}"#,
            false,
        );
        assert_eq!(two["code"], "482913");
        assert_eq!(two["alternatives"][0]["code"], "55102288");
        assert_eq!(two["alternatives"][0]["span"], json!([15, 23]));
    }

    #[test]
    fn decode_pdu_prints_fields_and_rejects_garbage() {
        let ts = chrono::DateTime::parse_from_rfc3339("2026-11-22T10:00:00+01:00").expect("valid");
        let pdu = simrelay_pdu::encode_deliver("+4915123456789", "Hello 123456", ts);
        let json = decode_pdu_json(&simrelay_pdu::to_hex(&pdu[0])).expect("decodes");
        assert!(json.to_string().contains("Hello 123456"), "{json}");
        assert!(json.to_string().contains("+4915123456789"), "{json}");
        assert!(decode_pdu_json("zz").is_err());
        assert!(decode_pdu_json("07914477581006").is_err());
        assert!(decode_pdu_json("").is_err());
    }
}
