//! Extraction never panics and always reports a span that lies in the input, whatever the input: random mixes
//! of code words, digits of many scripts, separators, marks and broken UTF-8 turned lossy, and very long input.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use proptest::prelude::*;

fn check(text: &str) {
    let code = simrelay_otp::extract(text);
    if let Some(c) = &code {
        let shown = text.get(c.span.clone()).expect("span on char boundaries");
        assert!(!shown.is_empty());
        assert!(!c.value.is_empty() && c.value.is_ascii());
        assert!((0.0..=1.0).contains(&c.confidence));
    }
    assert_eq!(simrelay_otp::explain(text).code, code);
}

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("code".to_owned()),
        Just("验证码".to_owned()),
        Just("رمز".to_owned()),
        Just(" is ".to_owned()),
        Just("G-".to_owned()),
        Just("ending ".to_owned()),
        Just("$".to_owned()),
        Just("\u{200f}".to_owned()),
        Just("٣".to_owned()),
        Just("６".to_owned()),
        Just("，".to_owned()),
        Just("。".to_owned()),
        Just("\n".to_owned()),
        "[0-9]{1,9}",
        "[A-Z0-9]{1,8}",
        "[ .,:/\\-*#+%()\\[\\]]",
        any::<char>().prop_map(String::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn never_panics_on_mixed_pieces(pieces in prop::collection::vec(piece(), 0..40)) {
        check(&pieces.concat());
    }

    #[test]
    fn never_panics_on_lossy_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn huge_input_is_bounded() {
    let text =
        "Your code is 123456, card ending 4821, call 0800 048 1173. 验证码٣٣٣٣٣٣ ".repeat(50_000);
    let start = Instant::now();
    check(&text);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
}
