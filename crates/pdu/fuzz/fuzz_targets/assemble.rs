//! Fuzzes the assembler: the input is a sequence of length-prefixed PDUs and clock steps. Whatever arrives,
//! no part may be lost: every decoded part comes back out exactly once (in a message or as a duplicate).
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use simrelay_pdu::{decode, Assembler, Pdu};

fuzz_target!(|data: &[u8]| {
    let mut assembler = Assembler::new(Duration::from_secs(30));
    let start = Instant::now();
    let mut now = start;
    let (mut pushed, mut out) = (0usize, 0usize);
    let mut rest = data;
    while let [len, tail @ ..] = rest {
        let len = usize::from(*len);
        if len == 0 {
            // A zero length advances the clock by the next byte's seconds and expires what is due.
            if let [secs, tail @ ..] = tail {
                now += Duration::from_secs(u64::from(*secs));
                rest = tail;
            } else {
                rest = tail;
            }
            for m in assembler.expire(now) {
                assert!(!m.parts.is_empty());
                out += m.parts.len() + m.duplicates.len();
            }
            continue;
        }
        let (pdu, tail) = tail.split_at(len.min(tail.len()));
        rest = tail;
        if let Ok(Pdu::Deliver(d)) = decode(pdu) {
            pushed += 1;
            if let Some(m) = assembler.push(d, pushed, now) {
                out += m.parts.len() + m.duplicates.len();
            }
        }
    }
    for m in assembler.flush() {
        out += m.parts.len() + m.duplicates.len();
    }
    assert_eq!(pushed, out, "a part was lost");
});
