//! The JSON `serde_json::to_value(&pdu)` produces is the shape `simrelay decode-pdu` prints (issue 3).

#![allow(clippy::unwrap_used)]

use serde_json::json;

#[test]
fn deliver_json_has_every_field_the_issue_names() {
    let pdu = simrelay_pdu::decode_hex(
        "07911326040000F0440B911346610089F6000020806291731408 11 050003010201D06536FB8D2EB3D96F"
            .replace(' ', "")
            .as_str(),
    )
    .unwrap();
    let v = serde_json::to_value(&pdu).unwrap();
    assert_eq!(v["type"], "deliver");
    assert_eq!(v["smsc"], "+31624000000");
    assert_eq!(v["sender"], "+31641600986");
    assert_eq!(v["sender_type"], "international");
    assert_eq!(v["text"], "hellohello");
    assert_eq!(v["encoding"], "gsm7");
    assert_eq!(v["timestamp"], "2002-08-26T19:37:41+00:00");
    assert_eq!(
        v["concat"],
        json!({"ref": 1, "ref_bits": 8, "total": 2, "seq": 1})
    );
    assert_eq!(v["udh"]["hex"], "0003010201");
    assert_eq!(v["udh"]["elements"], json!([{"iei": 0, "data": "010201"}]));
    assert_eq!(v["pid"], 0);
    assert_eq!(v["dcs"], 0);
    assert_eq!(v["class"], json!(null));
}

#[test]
fn status_report_json() {
    let pdu = simrelay_pdu::decode_hex(
        "07911326040000F0062A0B911346610089F62080629173140820806291730540 00"
            .replace(' ', "")
            .as_str(),
    )
    .unwrap();
    let v = serde_json::to_value(&pdu).unwrap();
    assert_eq!(v["type"], "status_report");
    assert_eq!(v["recipient"], "+31641600986");
    assert_eq!(v["message_reference"], 42);
    assert_eq!(v["status"], 0);
    assert_eq!(v["delivered"], true);
    assert_eq!(v["discharge_time"], "2002-08-26T19:37:50+01:00");
}

#[test]
fn submit_json_names_the_recipient() {
    let parts = simrelay_pdu::encode_submit(
        "+31641600986",
        "hi",
        &simrelay_pdu::SubmitOptions::default(),
    )
    .unwrap();
    let v = serde_json::to_value(simrelay_pdu::decode(&parts[0]).unwrap()).unwrap();
    assert_eq!(v["type"], "submit");
    assert_eq!(v["smsc"], serde_json::Value::Null);
    assert_eq!(v["recipient"], "+31641600986");
    assert_eq!(v["recipient_type"], "international");
    assert_eq!(v["text"], "hi");
}
