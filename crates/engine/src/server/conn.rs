//! Accepting connections: how many a client may hold, how long one may stay silent, and TLS.
//!
//! Each listener runs one accept loop ([`serve`]); each connection gets its own task, so a slow or silent client
//! holds only its own socket. Three bounds keep one client from starving the rest:
//! - a connection must send a complete request head within [`HEADER_READ_TIMEOUT`], and the same limit applies
//!   while a kept-alive connection waits for its next request (hyper's header-read timeout), so idle sockets
//!   are closed; a TLS client has as long for its handshake;
//! - a client (an IPv4 address, or an IPv6 /64) may hold at most [`PER_CLIENT`] connections that have not yet
//!   carried a valid token; once one does, it no longer counts against its address (WebSockets and long polls of
//!   a paired phone are wanted, and revocable);
//! - all clients together hold at most a total cap of connections, below the file-descriptor limit.
//!
//! A connection over a cap is closed at once, before anything is read from it.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::auth::{client_key, ClientKey};
use super::tls::{self, Tls};

/// How long a connection may take to send a request head, and how long a kept-alive one may wait for the next.
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections one client may hold before any of them carried a valid token.
pub(crate) const PER_CLIENT: usize = 1024;
/// The most connections served at once when the file-descriptor limit allows it.
const MAX_TOTAL: usize = 16_384;
/// File descriptors kept for everything else (the database, serial ports, log files, the listeners).
const RESERVED_FDS: usize = 256;
/// How long a stopping listener waits for its connections to finish their requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The connection counts of one engine, shared by all its listeners.
#[derive(Debug)]
pub(crate) struct Connections {
    counts: Mutex<Counts>,
    total_cap: usize,
    per_client: usize,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    unproven: HashMap<ClientKey, usize>,
}

impl Connections {
    /// Counts with a total cap below the process's file-descriptor limit.
    pub(crate) fn new() -> Connections {
        Connections::with_caps(default_total_cap(), PER_CLIENT)
    }

    pub(crate) fn with_caps(total_cap: usize, per_client: usize) -> Connections {
        Connections {
            counts: Mutex::default(),
            total_cap,
            per_client,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a slot for a new connection from `ip`, or `None` when the client or everyone is at the cap.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Tracked> {
        let key = client_key(ip);
        let mut counts = self.lock();
        let mine = counts.unproven.get(&key).copied().unwrap_or(0);
        if counts.total >= self.total_cap || mine >= self.per_client {
            return None;
        }
        counts.total += 1;
        counts.unproven.insert(key, mine + 1);
        Some(Tracked(Arc::new(Slot {
            key,
            proven: AtomicBool::new(false),
            connections: self.clone(),
        })))
    }

    fn unproven_done(&self, counts: &mut Counts, key: ClientKey) {
        if let Some(n) = counts.unproven.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.unproven.remove(&key);
            }
        }
    }

    #[cfg(test)]
    fn open(&self) -> usize {
        self.lock().total
    }
}

/// The total cap: [`MAX_TOTAL`], or less when the file-descriptor limit is lower.
fn default_total_cap() -> usize {
    #[cfg(unix)]
    if let Ok((soft, _)) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
    {
        let soft = usize::try_from(soft).unwrap_or(usize::MAX);
        return soft.saturating_sub(RESERVED_FDS).clamp(64, MAX_TOTAL);
    }
    1024
}

/// Raises the process's soft file-descriptor limit to its hard limit (at most 65,536), so the caps above, not
/// the default 1,024, decide how many clients are served.
pub(crate) fn raise_fd_limit() {
    #[cfg(unix)]
    {
        use nix::sys::resource::{getrlimit, setrlimit, Resource};
        if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
            let want = hard.min(65_536);
            if soft < want {
                if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, want, hard) {
                    tracing::debug!(error = %e, "cannot raise the file-descriptor limit");
                }
            }
        }
    }
}

/// Request extension: our end of the connection (with the peer it names the client's socket on this machine).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalAddr(pub(crate) SocketAddr);

/// One admitted connection. Its slot is given back when the last copy is dropped: the connection's socket holds
/// one, so a WebSocket keeps its slot after the upgrade. Requests carry it as an extension, so the token check
/// can mark the connection proven ([`Tracked::authenticated`]).
#[derive(Debug, Clone)]
pub(crate) struct Tracked(Arc<Slot>);

#[derive(Debug)]
struct Slot {
    key: ClientKey,
    proven: AtomicBool,
    connections: Arc<Connections>,
}

impl Tracked {
    /// The connection carried a valid token: it no longer counts against its client's cap.
    pub(crate) fn authenticated(&self) {
        if !self.0.proven.swap(true, Ordering::Relaxed) {
            let connections = &self.0.connections;
            let mut counts = connections.lock();
            connections.unproven_done(&mut counts, self.0.key);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let connections = self.connections.clone();
        let mut counts = connections.lock();
        counts.total = counts.total.saturating_sub(1);
        if !*self.proven.get_mut() {
            connections.unproven_done(&mut counts, self.key);
        }
    }
}

/// Serves `router` on `listener` until `shutdown`, over TLS when `tls` is set, within `connections`' caps.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Tls>,
    connections: Arc<Connections>,
    shutdown: CancellationToken,
) -> io::Result<()> {
    // Each connection task holds a copy; the loop waits for them (bounded) when it stops.
    let alive = Arc::new(());
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Some(tracked) = connections.admit(peer.ip()) else {
            tracing::debug!(%peer, "too many connections; closing a new one");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (router, tls, shutdown, alive) =
            (router.clone(), tls.clone(), shutdown.clone(), alive.clone());
        tokio::spawn(async move {
            let _alive = alive;
            connection(stream, peer, router, tls, tracked, shutdown).await;
        });
    }
    drop(listener);
    let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
    while Arc::strong_count(&alive) > 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Serves one connection: the TLS handshake if any, then HTTP/1.1 with upgrades (WebSockets).
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    tls: Option<Tls>,
    tracked: Tracked,
    shutdown: CancellationToken,
) {
    let local = stream.local_addr().ok();
    let stream = match tls {
        Some(tls) => {
            let handshake = tls::handshake(stream, peer, tls.acceptor(), local);
            match tokio::time::timeout(HEADER_READ_TIMEOUT, handshake).await {
                Ok(Some(stream)) => Stream::Tls(Box::new(stream)),
                _ => return,
            }
        }
        None => Stream::Plain(stream),
    };
    let io = TokioIo::new(Counted {
        stream,
        _tracked: tracked.clone(),
    });
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        if let Some(local) = local {
            request.extensions_mut().insert(LocalAddr(local));
        }
        request.extensions_mut().insert(tracked.clone());
        router.clone().oneshot(request)
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(io, service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
        }
        () = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
        }
    }
}

/// A plain or TLS socket.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// A socket that holds its connection's slot for as long as it is open.
struct Counted {
    stream: Stream,
    _tracked: Tracked,
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn one_client_cannot_take_every_slot() {
        let connections = Arc::new(Connections::with_caps(10, 3));
        let a: Vec<Tracked> = (0..3)
            .map(|_| connections.admit(ip("192.168.1.9")).expect("admitted"))
            .collect();
        assert!(connections.admit(ip("192.168.1.9")).is_none(), "per client");
        // The same /64 is the same client; another /64 and another address are not.
        let v6: Vec<Tracked> = (0..3)
            .map(|i| {
                connections
                    .admit(ip(&format!("fd00:1:2:3::{i}")))
                    .expect("admitted")
            })
            .collect();
        assert!(connections.admit(ip("fd00:1:2:3::ffff")).is_none());
        assert!(connections.admit(ip("fd00:1:2:4::1")).is_some());
        assert!(connections.admit(ip("192.168.1.10")).is_some());
        // A proven connection no longer counts against its address.
        a[0].authenticated();
        a[0].authenticated();
        let again = connections
            .admit(ip("192.168.1.9"))
            .expect("a slot was freed");
        drop(again);
        drop(v6);
        drop(a);
        assert_eq!(connections.open(), 0, "every slot is given back");
    }

    #[test]
    fn everyone_together_stops_at_the_total_cap() {
        let connections = Arc::new(Connections::with_caps(4, 3));
        let held: Vec<Tracked> = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]
            .iter()
            .map(|a| connections.admit(ip(a)).expect("admitted"))
            .collect();
        assert!(connections.admit(ip("10.0.0.5")).is_none());
        drop(held);
        assert!(connections.admit(ip("10.0.0.5")).is_some());
    }

    #[test]
    fn the_total_cap_stays_below_the_descriptor_limit() {
        let cap = default_total_cap();
        assert!((64..=MAX_TOTAL).contains(&cap), "{cap}");
    }
}
