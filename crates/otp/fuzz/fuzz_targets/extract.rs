//! Fuzzes extraction with arbitrary bytes handed over as a lossy string (SMS decoders do the same with broken
//! UCS-2 or UTF-8): no input may panic, a reported span must lie on character boundaries of the input, and
//! `explain` must agree with `extract`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let code = simrelay_otp::extract(&text);
    if let Some(c) = &code {
        assert!(text.get(c.span.clone()).is_some_and(|s| !s.is_empty()), "span off the text");
        assert!(!c.value.is_empty() && c.value.is_ascii());
        assert!((0.0..=1.0).contains(&c.confidence));
    }
    let why = simrelay_otp::explain(&text);
    assert_eq!(why.code, code);
    let _ = why.to_string();
});
