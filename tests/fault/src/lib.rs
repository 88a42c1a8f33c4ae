//! Fault tests of the real `simrelay` binary live in `tests/`; this library holds what they share.
//!
//! - `crash.rs`: messages on a simulated SIM and arriving live while `simrelay serve` is SIGKILLed and
//!   restarted; afterwards every message is stored exactly once and the SIM is empty.
//! - `modem_chaos.rs`: a modem that answers in small chunks, splices URCs into responses, prints noise, gets
//!   corrupt PDUs and is unplugged 20 times under `simrelay serve`; every good message is stored once, every
//!   corrupt one raw, the SIM ends empty.
//! - `network.rs`: wrong tokens, malformed requests, 1 MiB bodies, invalid WebSocket frames and clients that
//!   never read; the server answers only 4xx or closes, stays alive, and its memory stays bounded.
//!
//! The binary is `$SIMRELAY_BIN`, or the newest `simrelay` in the usual target directories. A longer run:
//! `cargo xtask soak`.

use std::collections::HashMap;

/// Asserts that every message index in `expected` was stored exactly once, given how often each index was found
/// in the store (`counts`); on failure the message shows the first missing ones and the server's `log`.
pub fn assert_each_stored_once(
    counts: &HashMap<usize, usize>,
    expected: impl IntoIterator<Item = usize>,
    log: &str,
) {
    let missing: Vec<usize> = expected
        .into_iter()
        .filter(|i| !counts.contains_key(i))
        .collect();
    let mut doubled: Vec<(usize, usize)> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(i, n)| (*i, *n))
        .collect();
    doubled.sort_unstable();
    assert!(
        missing.is_empty(),
        "{} messages lost, e.g. {:?}; log:\n{log}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert!(
        doubled.is_empty(),
        "messages stored more than once: {doubled:?}"
    );
}
