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

#[test]
fn binary_flash_and_waiting_messages_say_what_they_are() {
    // A WAP push (MMS notification) as Android's GsmSmsTest has it: 8-bit, class 1, ports 2948/9200.
    let v = serde_json::to_value(
        simrelay_pdu::decode_hex(
            "07914140279510F6440A8111110301003BF56080207130138A8C0B05040B8423F000032A02010106276170706C6963\
             6174696F6E2F766E642E7761702E6D6D732D6D65737361676500AF848D0185B4848C8298524E453955304A6D71355141\
             4142666C414141414D7741414236514141414141008D908918802B31353132323937373638332F545950453D504C4D4E\
             008A808E022B918805810306977F83687474703A2F2F36",
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(v["text"], "");
    assert_eq!(v["encoding"], "binary");
    assert_eq!(
        v["content"],
        json!({"kind": "wap_push", "port": 2948, "length": 128,
               "content_type": "application/vnd.wap.mms-message",
               "description": "WAP push (application/vnd.wap.mms-message), 128 bytes"})
    );
    assert_eq!(
        (v["flash"].clone(), v["truncated"].clone()),
        (json!(false), json!(false))
    );

    // Class 0 (DCS 0x10): a flash message.
    let pdu = simrelay_pdu::encode_deliver_with(
        "+31641600986",
        "Flash!",
        chrono::DateTime::parse_from_rfc3339("2025-01-02T03:04:05+01:00").unwrap(),
        &simrelay_pdu::DeliverOptions::default(),
    )
    .unwrap();
    let mut pdu = pdu[0].clone();
    let dcs_at = 1 + usize::from(pdu[0]) + 1 + 2 + 6 + 1; // SMSC, first octet, sender (11 digits), PID
    pdu[dcs_at] = 0x10;
    let v = serde_json::to_value(simrelay_pdu::decode(&pdu).unwrap()).unwrap();
    assert_eq!(
        (v["class"].clone(), v["flash"].clone()),
        (json!(0), json!(true))
    );
    assert_eq!(v["content"], json!({"kind": "text", "port": null}));

    // Voicemail waiting, twice over: the UDH special SMS indication (2 messages, discard) and DCS 0xC8.
    let v = serde_json::to_value(
        simrelay_pdu::decode_hex("07912180958750F84401800500C87020026195702B06040102000200")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        v["message_waiting"],
        json!({"kind": "voicemail", "active": true, "store": false, "count": null, "source": "dcs"})
    );
    assert_eq!(
        v["indications"],
        json!([
            {"kind": "voicemail", "active": true, "store": false, "count": null, "source": "dcs"},
            {"kind": "voicemail", "active": true, "store": false, "count": 2, "source": "udh"}
        ])
    );
}

#[test]
fn truncated_user_data_is_flagged() {
    // A SUBMIT whose TP-UDL says 2 septets more than the PDU holds.
    let v = serde_json::to_value(
        simrelay_pdu::decode_hex("0031000B911346610089F60000AA0CE8329BFD4697D9EC37").unwrap(),
    )
    .unwrap();
    assert_eq!(v["text"], "hellohello");
    assert_eq!(v["truncated"], true);
    assert_eq!(v["flash"], false);
}
