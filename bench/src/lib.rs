//! Measuring SimRelay from the outside: the pieces the `simrelay-bench` binary and the fault tests share.
//!
//! Everything here drives real things: the servers run as child processes ([`server`]), messages enter on a
//! simulated modem's pseudo-terminal (`simrelay_modem::Simulator`), optionally through a serial line paced at a
//! baud rate ([`line`]), and clients speak real WebSocket (and Socket.IO for the Python baseline) over loopback
//! ([`client`]). Raw HTTP ([`http`]) is hand-written on purpose: the fault tests send requests that a
//! well-behaved client library refuses to produce.

pub mod client;
pub mod http;
pub mod line;
pub mod proc;
pub mod server;
pub mod stats;

use std::time::Duration;

/// Why a measurement could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A socket, pty or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The WebSocket connection failed.
    #[error("WebSocket: {0}")]
    Ws(#[from] Box<tokio_tungstenite::tungstenite::Error>),
    /// Something did not happen in time.
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
    /// The other side said something we did not expect.
    #[error("unexpected answer: {0}")]
    Protocol(String),
}

impl BenchError {
    /// Wraps an I/O error with what we were doing.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> BenchError {
        let context = context.into();
        move |source| BenchError::Io { context, source }
    }
}

impl From<tokio_tungstenite::tungstenite::Error> for BenchError {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> Self {
        BenchError::Ws(Box::new(e))
    }
}

/// The text of benchmark message `index` of series `series`: unique, so a client can tell which message it
/// got, and with a code so the OTP extractor does its real work.
pub fn bench_text(series: &str, index: usize) -> String {
    // A spread of digits that still reads like a code; not random, so runs are repeatable.
    let code = (index as u64).wrapping_mul(7_919).wrapping_add(104_729) % 900_000 + 100_000;
    format!("{series} #{index}: your verification code is {code}. Do not share it.")
}

/// Which message of `series` a received text is, if it is one of them.
pub fn bench_index(series: &str, text: &str) -> Option<usize> {
    let rest = text.strip_prefix(series)?.strip_prefix(" #")?;
    let end = rest.find(':')?;
    rest[..end].parse().ok()
}

/// The PDU (with SMSC field, as a SIM stores it) of a single-part benchmark message.
pub fn bench_pdu(series: &str, index: usize) -> Vec<u8> {
    let ts = chrono::DateTime::parse_from_rfc3339("2026-11-22T10:00:00+01:00")
        .unwrap_or_else(|_| chrono::DateTime::default());
    simrelay_pdu::encode_deliver("+4915123456789", &bench_text(series, index), ts)
        .into_iter()
        .next()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_round_trip_to_their_index_and_fit_one_part() {
        let text = bench_text("Lat", 42);
        assert_eq!(bench_index("Lat", &text), Some(42));
        assert_eq!(bench_index("Fan", &text), None);
        assert_eq!(bench_index("Lat", "Lat #x: y"), None);
        assert!(!bench_pdu("Lat", 99_999).is_empty());
    }
}
