//! LAN sharing switched at run time: the loopback listener always stays; sharing adds one listener per LAN
//! address of this machine on the same port, and stopping it closes them and ends their connections.
//!
//! Why one listener per address rather than `0.0.0.0`: on Linux a socket on `0.0.0.0:P` cannot be bound while
//! `127.0.0.1:P` is listening (`EADDRINUSE`, with or without `SO_REUSEADDR`; only `SO_REUSEPORT` would allow it,
//! and that would also let any other program of this user bind the port and steal connections). Specific
//! addresses never conflict with the loopback one. The price: an address the machine gets after sharing was
//! switched on is not served until sharing is switched off and on again (or the server restarts).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::AppState;

/// Why LAN sharing could not be switched on.
#[derive(Debug, thiserror::Error)]
pub enum LanError {
    /// This machine has no address other than loopback.
    #[error("this machine has no network address to share on; connect it to a network first")]
    NoAddress,
    /// Every LAN address refused the port.
    #[error("cannot listen on {addr}: {source}; is another program using port {port}?", port = addr.port())]
    Bind {
        /// The first address that failed.
        addr: SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The server was started on a fixed non-loopback address (`--listen`), which cannot be switched off.
    #[error("the server was started on {0} (--listen), which is always shared; restart it on 127.0.0.1 to switch sharing")]
    Fixed(SocketAddr),
}

/// The listeners of one server: the one it was started on, and the LAN ones while sharing is on.
#[derive(Debug)]
pub(crate) struct Listeners {
    /// The address the server was started on (loopback, unless started with a fixed `--listen` address).
    base: SocketAddr,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// What a LAN listener serves with (its `shutdown` replaced); set once the server starts, cleared when it
    /// stops (the state refers back to this set).
    template: Option<AppState>,
    lan: Option<Shared>,
}

#[derive(Debug)]
struct Shared {
    addrs: Vec<SocketAddr>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Listeners {
    pub(crate) fn new(base: SocketAddr) -> Listeners {
        Listeners {
            base,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Plain data replaced whole by each writer.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the base listener itself is reachable from the LAN (started with `--listen <LAN address>`).
    pub(crate) fn fixed(&self) -> bool {
        !self.base.ip().is_loopback()
    }

    /// Whether the server is reachable from the LAN.
    pub(crate) fn shared(&self) -> bool {
        self.fixed() || self.lock().lan.is_some()
    }

    /// The addresses other devices use, best first; empty when not shared.
    pub(crate) fn lan_addrs(&self) -> Vec<SocketAddr> {
        if self.fixed() {
            return vec![self.base];
        }
        self.lock()
            .lan
            .as_ref()
            .map(|shared| shared.addrs.clone())
            .unwrap_or_default()
    }

    pub(crate) fn set_template(&self, state: Option<AppState>) {
        self.lock().template = state;
    }

    /// Starts or stops LAN sharing. Switching to the current state does nothing.
    pub(crate) async fn set_lan(&self, on: bool) -> Result<(), LanError> {
        if self.fixed() {
            return if on {
                Ok(())
            } else {
                Err(LanError::Fixed(self.base))
            };
        }
        if !on {
            let shared = self.lock().lan.take();
            if let Some(shared) = shared {
                // Graceful: listeners close at once, idle keep-alive connections close, long polls answer
                // 503 and WebSockets get 1001, all because they watch this token.
                shared.stop.cancel();
                tracing::info!(addrs = ?shared.addrs, "LAN sharing stopped");
                for task in shared.tasks {
                    let abort = task.abort_handle();
                    if tokio::time::timeout(std::time::Duration::from_secs(2), task)
                        .await
                        .is_err()
                    {
                        abort.abort();
                    }
                }
            }
            return Ok(());
        }
        let Some(template) = ({
            let inner = self.lock();
            if inner.lan.is_some() {
                return Ok(());
            }
            inner.template.clone()
        }) else {
            // The server is shutting down.
            return Ok(());
        };
        let ips = lan_ips();
        if ips.is_empty() {
            return Err(LanError::NoAddress);
        }
        let mut bound = Vec::new();
        let mut first_error = None;
        for ip in ips {
            let addr = SocketAddr::new(ip, self.base.port());
            match TcpListener::bind(addr).await {
                Ok(listener) => bound.push((addr, listener)),
                Err(source) => {
                    tracing::warn!(%addr, error = %source, "cannot share on this address");
                    first_error.get_or_insert(LanError::Bind { addr, source });
                }
            }
        }
        if bound.is_empty() {
            return Err(first_error.unwrap_or(LanError::NoAddress));
        }
        let stop = template.shutdown.child_token();
        let mut addrs = Vec::new();
        let mut tasks = Vec::new();
        for (addr, listener) in bound {
            let state = AppState {
                shutdown: stop.clone(),
                ..template.clone()
            };
            addrs.push(addr);
            tasks.push(tokio::spawn(async move {
                if let Err(e) = super::serve(listener, state).await {
                    tracing::error!(%addr, error = %e, "a LAN listener stopped");
                }
            }));
        }
        tracing::info!(?addrs, "LAN sharing started");
        let mut inner = self.lock();
        if inner.lan.is_some() {
            // Cannot happen while the settings lock serialises changes; never leak a second set.
            stop.cancel();
        } else {
            inner.lan = Some(Shared { addrs, stop, tasks });
        }
        Ok(())
    }
}

/// The addresses of this machine other devices can reach: every non-loopback IPv4 address and every IPv6
/// address that needs no zone (not link-local), the one the OS routes out of first.
pub(crate) fn lan_ips() -> Vec<IpAddr> {
    let mut ips = interface_ips();
    ips.retain(|ip| match ip {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_unspecified(),
        IpAddr::V6(v6) => {
            !v6.is_loopback() && !v6.is_unspecified() && (v6.segments()[0] & 0xffc0) != 0xfe80
        }
    });
    if let Some(route) = super::pair::lan_address() {
        if !ips.contains(&route) {
            ips.push(route);
        }
        ips.sort_by_key(|ip| (*ip != route, ip.is_ipv6()));
    }
    ips.dedup();
    ips
}

#[cfg(unix)]
fn interface_ips() -> Vec<IpAddr> {
    match nix::ifaddrs::getifaddrs() {
        Ok(addrs) => addrs
            .filter(|a| a.flags.contains(nix::net::if_::InterfaceFlags::IFF_UP))
            .filter_map(|a| {
                let address = a.address?;
                if let Some(v4) = address.as_sockaddr_in() {
                    return Some(IpAddr::V4(v4.ip()));
                }
                address.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the network interfaces");
            Vec::new()
        }
    }
}

#[cfg(not(unix))]
fn interface_ips() -> Vec<IpAddr> {
    // Without an interface list, the address the OS routes out of is the one other devices can reach.
    Vec::new()
}
