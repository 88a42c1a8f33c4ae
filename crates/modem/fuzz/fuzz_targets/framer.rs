//! The AT framer on arbitrary modem output: it must never panic, and because a serial port may split the
//! stream anywhere, feeding the bytes in fuzzer-chosen chunks must give exactly the frames one whole read gives.
//! One split is exempt by design: a read that ends in a lone `>` while `AT+CMGS` waits is taken as the prompt
//! (some modems send no space after it, and nothing follows a prompt until we write), so chunks here never end
//! right after a `>`.
//!
//! Input layout: byte 0 selects the command in flight (none, a plain command, a `+CMGR` read, or `AT+CMGS`
//! waiting for its `> ` prompt), byte 1 seeds the chunk sizes, the rest is what the modem printed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simrelay_modem::framer::Framer;

const COMMANDS: &[(&str, bool)] = &[
    ("", false),
    ("AT", false),
    ("AT+CMGR=3", false),
    ("AT+CMGL=4", false),
    ("AT+CMGS=23", true),
    ("AT+CPMS?", false),
];

fn framer(selector: u8) -> Framer {
    let mut framer = Framer::new();
    let (command, prompt) = COMMANDS[usize::from(selector) % COMMANDS.len()];
    if !command.is_empty() {
        framer.expect(command, prompt);
    }
    framer
}

fuzz_target!(|data: &[u8]| {
    let [selector, seed, output @ ..] = data else {
        return;
    };
    let whole = framer(*selector).push(output);

    let mut chunked_framer = framer(*selector);
    let mut chunked = Vec::new();
    let mut rest = output;
    let mut size = usize::from(*seed);
    while !rest.is_empty() {
        size = (size * 31 + 7) % 17 + 1;
        let mut end = size.min(rest.len());
        while end < rest.len() && rest[end - 1] == b'>' {
            end += 1;
        }
        let (chunk, tail) = rest.split_at(end);
        chunked.extend(chunked_framer.push(chunk));
        rest = tail;
    }
    assert_eq!(whole, chunked, "the frames depend on where the reads were split");
});
