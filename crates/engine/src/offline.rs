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
/// field is. Returns `{"code": string|null}`, plus `"explain"` when asked.
pub fn extract_line(line: &str, explain: bool) -> Value {
    let text = text_of(line);
    let code = simrelay_otp::extract(&text).map(|c| c.value);
    if explain {
        let explanation = serde_json::to_value(simrelay_otp::explain(&text)).unwrap_or(Value::Null);
        json!({ "code": code, "explain": explanation })
    } else {
        json!({ "code": code })
    }
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
        assert_eq!(
            extract_line("Your verification code is 482913\n", false),
            json!({"code": "482913"})
        );
        assert_eq!(
            extract_line(r#"{"text": "Your code: 7351", "id": 4}"#, false),
            json!({"code": "7351"})
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
