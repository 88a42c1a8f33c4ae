//! What SimRelay's tests and benchmarks share, so a fixture is fixed in one place.
//!
//! Nothing here fakes the system under test: [`process`] starts the real `simrelay` binary (found by [`bins`]),
//! [`ws`] and [`http`] speak real WebSocket and HTTP over loopback, [`pdu`] builds real SMS PDUs with
//! `simrelay-pdu`, [`procfs`] reads a process's memory and wake-ups from `/proc`, [`postgres`] starts a real
//! PostgreSQL in a temporary cluster. Used by the engine's test binary, `bench/`, `tests/e2e-*` and
//! `tests/fault`; never published.

pub mod bins;
pub mod http;
pub mod mqtt;
pub mod pdu;
pub mod postgres;
pub mod process;
pub mod procfs;
pub mod receiver;
pub mod smtp;
pub mod ws;

use std::future::Future;
use std::net::{IpAddr, TcpListener, UdpSocket};
use std::time::{Duration, Instant};

/// Why a test fixture could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum KitError {
    /// A socket, pty, file or process operation failed.
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
    /// A binary or tool the test needs is missing; the text says how to get it.
    #[error("{0}")]
    Missing(String),
}

impl KitError {
    /// Wraps an I/O error with what we were doing: `.map_err(KitError::io("cannot open x"))`.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> KitError {
        let context = context.into();
        move |source| KitError::Io { context, source }
    }
}

impl From<tokio_tungstenite::tungstenite::Error> for KitError {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> Self {
        KitError::Ws(Box::new(e))
    }
}

/// A loopback port that was free a moment ago (a server started right after will almost always get it).
pub fn free_port() -> Result<u16, KitError> {
    let context = "cannot find a free loopback port";
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(KitError::io(context))
}

/// This machine's address on its network, if it has one: what a phone on the LAN would connect to. Found by
/// routing (a UDP "connect" sends nothing) towards a documentation address.
pub fn lan_ip() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`, failing early if `child` exits first.
pub async fn wait_for_port(
    port: u16,
    child: &mut process::Guard,
    limit: Duration,
) -> Result<(), KitError> {
    let start = Instant::now();
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        child.check_running()?;
        if start.elapsed() > limit {
            return Err(KitError::Timeout(
                limit,
                format!("a listener on port {port}"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// How often [`eventually`] and [`wait_until`] look again.
const POLL: Duration = Duration::from_millis(50);

/// Polls `check` until it answers true, for at most `limit`; the error names `what` was awaited. Tests give
/// generous limits: the machine may be busy, and a passing check returns at once.
pub async fn eventually<F: Future<Output = bool>>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> F,
) -> Result<(), KitError> {
    let start = Instant::now();
    loop {
        if check().await {
            return Ok(());
        }
        if start.elapsed() > limit {
            return Err(KitError::Timeout(limit, what.to_owned()));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// [`eventually`] for code without an async runtime (or inside one, but synchronous): sleeps the thread.
pub fn wait_until(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> bool,
) -> Result<(), KitError> {
    let start = Instant::now();
    loop {
        if check() {
            return Ok(());
        }
        if start.elapsed() > limit {
            return Err(KitError::Timeout(limit, what.to_owned()));
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_port_can_be_bound() {
        let port = free_port().expect("port");
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
    }

    #[tokio::test]
    async fn eventually_returns_when_the_check_passes_and_names_what_timed_out() {
        let mut calls = 0;
        eventually("three calls", Duration::from_secs(5), || {
            calls += 1;
            let done = calls == 3;
            async move { done }
        })
        .await
        .expect("passes on the third call");
        assert_eq!(calls, 3);
        let err = eventually("never", Duration::from_millis(120), || async { false })
            .await
            .expect_err("times out");
        assert!(err.to_string().contains("never"), "{err}");
        assert!(wait_until("never", Duration::from_millis(60), || false).is_err());
        assert!(wait_until("now", Duration::from_millis(60), || true).is_ok());
    }
}
