//! Fuzzes every decoder entry point and the send planner: none may panic on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for result in [
        simrelay_pdu::decode(data),
        simrelay_pdu::decode_tpdu(data),
        simrelay_pdu::decode_with_tpdu_len(data, data.len().saturating_sub(8)),
    ] {
        if let Ok(pdu) = result {
            // Formatting touches every field of the decoded value.
            let _ = format!("{pdu:?}");
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = simrelay_pdu::decode_hex(text);
        let _ = simrelay_pdu::plan(text, simrelay_pdu::Language::from_id(data.first().copied().unwrap_or(0) % 14));
    }
});

