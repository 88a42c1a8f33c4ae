//! LAN sharing switched at run time: the loopback listener always stays; sharing adds one listener per LAN
//! address of this machine on the same port, and stopping it closes them and ends their connections.
//!
//! The LAN is the LAN: sharing binds private addresses only (RFC 1918, 100.64.0.0/10 as Tailscale and carrier NAT
//! use, IPv4 link-local, IPv6 unique-local), never a public address the machine happens to have, unless the
//! owner names it (`lan_addresses`). IPv6 link-local addresses are left out: browsers cannot open a URL with a
//! zone. Sharing serves HTTPS by default (a self-signed certificate whose fingerprint the pairing screen shows),
//! even when this machine's own listener is plain HTTP; plain HTTP on the LAN is an explicit choice
//! (`lan_tls = false`).
//!
//! Why one listener per address rather than `0.0.0.0`: on Linux a socket on `0.0.0.0:P` cannot be bound while
//! `127.0.0.1:P` is listening (`EADDRINUSE`, with or without `SO_REUSEADDR`; only `SO_REUSEPORT` would allow it,
//! and that would also let any other program of this user bind the port and steal connections). Specific
//! addresses never conflict with the loopback one. The price: an address the machine gets after sharing was
//! switched on is not served until sharing is switched off and on again (or the server restarts).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::tls::{Tls, TlsError};
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
    /// The certificate for HTTPS on the LAN could not be made or loaded.
    #[error("{0}; or share over plain HTTP with lan_tls = false in the configuration file")]
    Tls(#[from] TlsError),
}

/// How LAN sharing listens.
#[derive(Debug, Clone)]
pub(crate) struct LanOptions {
    /// Addresses beyond the private ones sharing may listen on, as the owner named them (`lan_addresses`).
    pub(crate) also: Vec<AddrRange>,
    /// Serve HTTPS on the LAN (the default); `false` serves plain HTTP.
    pub(crate) https: bool,
    /// Where the certificate and its key are kept (the config directory).
    pub(crate) tls_dir: PathBuf,
}

/// An address or a network (`192.0.2.7`, `2001:db8::/64`) the owner allows LAN sharing to listen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrRange {
    net: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for AddrRange {
    type Err = String;

    fn from_str(s: &str) -> Result<AddrRange, String> {
        let s = s.trim();
        let bad =
            || format!("{s:?} is not an IP address or network such as 192.0.2.7 or 2001:db8::/64");
        let (ip, prefix) = match s.split_once('/') {
            Some((ip, prefix)) => (ip, Some(prefix.parse::<u8>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let net: IpAddr = ip.parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(AddrRange { net, prefix })
    }
}

impl From<IpAddr> for AddrRange {
    fn from(ip: IpAddr) -> AddrRange {
        AddrRange {
            net: ip,
            prefix: if ip.is_ipv4() { 32 } else { 128 },
        }
    }
}

impl AddrRange {
    /// Whether `ip` lies in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Whether `ip` belongs to a private network: RFC 1918, 100.64.0.0/10 (carrier-grade NAT, Tailscale), IPv4
/// link-local (169.254.0.0/16), IPv6 unique-local (fc00::/7) or link-local (fe80::/10).
pub(crate) fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => private_v4(v4),
            None => (v6.segments()[0] & 0xfe00) == 0xfc00 || is_v6_link_local(v6),
        },
    }
}

fn private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private() || ip.is_link_local() || (a == 100 && (64..128).contains(&b))
}

fn is_v6_link_local(ip: Ipv6Addr) -> bool {
    (ip.segments()[0] & 0xffc0) == 0xfe80
}

/// Whether LAN sharing may listen on `ip`: a private address (see [`is_private`]) or one the owner named, never
/// loopback or unspecified, and no IPv6 link-local address (a URL cannot name its zone).
pub(crate) fn shareable(ip: IpAddr, also: &[AddrRange]) -> bool {
    if ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() {
        return false;
    }
    if let IpAddr::V6(v6) = ip {
        if is_v6_link_local(v6) {
            return false;
        }
    }
    is_private(ip) || also.iter().any(|range| range.contains(ip))
}

/// The listeners of one server: the one it was started on, and the LAN ones while sharing is on.
#[derive(Debug)]
pub(crate) struct Listeners {
    /// The address the server was started on (loopback, unless started with a fixed `--listen` address).
    base: SocketAddr,
    options: LanOptions,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// What a LAN listener serves with (its `shutdown` replaced); set once the server starts, cleared when it
    /// stops (the state refers back to this set).
    template: Option<AppState>,
    lan: Option<Shared>,
    /// The certificate LAN listeners serve with, once made (kept for the next switch).
    tls: Option<Tls>,
}

#[derive(Debug)]
struct Shared {
    addrs: Vec<SocketAddr>,
    /// Whether they speak HTTPS.
    https: bool,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Listeners {
    pub(crate) fn new(base: SocketAddr, options: LanOptions) -> Listeners {
        Listeners {
            base,
            options,
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

    /// The scheme other devices use: `https` unless sharing serves plain HTTP.
    pub(crate) fn lan_scheme(&self) -> &'static str {
        let inner = self.lock();
        let https = match (&inner.lan, &inner.template) {
            (Some(shared), _) => shared.https,
            (None, Some(template)) if self.fixed() => template.tls.is_some(),
            _ => false,
        };
        if https {
            "https"
        } else {
            "http"
        }
    }

    /// The fingerprint of the certificate other devices see, while sharing over HTTPS.
    pub(crate) fn lan_fingerprint(&self) -> Option<String> {
        let inner = self.lock();
        if self.fixed() {
            return inner
                .template
                .as_ref()?
                .tls
                .as_ref()
                .map(|t| t.fingerprint().to_owned());
        }
        let shared = inner.lan.as_ref()?;
        if !shared.https {
            return None;
        }
        inner
            .template
            .as_ref()
            .and_then(|t| t.tls.clone())
            .or_else(|| inner.tls.clone())
            .map(|t| t.fingerprint().to_owned())
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
        let ips = lan_ips(&self.options.also);
        if ips.is_empty() {
            return Err(LanError::NoAddress);
        }
        // HTTPS: this machine's own certificate when it serves TLS itself, else the LAN one (made once).
        let tls = match (&template.tls, self.options.https) {
            (Some(tls), _) => Some(tls.clone()),
            (None, false) => None,
            (None, true) => Some(self.lan_tls(&ips).await?),
        };
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
                tls: tls.clone(),
                ..template.clone()
            };
            addrs.push(addr);
            tasks.push(tokio::spawn(async move {
                if let Err(e) = super::serve(listener, state).await {
                    tracing::error!(%addr, error = %e, "a LAN listener stopped");
                }
            }));
        }
        let https = tls.is_some();
        tracing::info!(?addrs, https, "LAN sharing started");
        let mut inner = self.lock();
        if inner.lan.is_some() {
            // Cannot happen while the settings lock serialises changes; never leak a second set.
            stop.cancel();
        } else {
            inner.lan = Some(Shared {
                addrs,
                https,
                stop,
                tasks,
            });
        }
        Ok(())
    }

    /// The LAN certificate: the one made before, else loaded or made in the config directory for `ips`.
    async fn lan_tls(&self, ips: &[IpAddr]) -> Result<Tls, LanError> {
        if let Some(tls) = self.lock().tls.clone() {
            return Ok(tls);
        }
        let dir = self.options.tls_dir.clone();
        let path = dir.clone();
        let mut names = super::tls::certificate_names(self.base, &self.options.also);
        for ip in ips {
            let ip = ip.to_string();
            if !names.contains(&ip) {
                names.push(ip);
            }
        }
        // Key generation and file writes: blocking work.
        let tls = tokio::task::spawn_blocking(move || Tls::load_or_create(&dir, &names))
            .await
            .map_err(|e| {
                LanError::Tls(TlsError::Io {
                    action: "make the certificate in",
                    path,
                    source: std::io::Error::other(e.to_string()),
                })
            })??;
        self.lock().tls = Some(tls.clone());
        Ok(tls)
    }
}

/// The addresses of this machine LAN sharing listens on ([`shareable`] ones), the one the OS routes out of first.
pub(crate) fn lan_ips(also: &[AddrRange]) -> Vec<IpAddr> {
    let mut ips = interface_ips();
    if let Some(route) = super::pair::lan_address() {
        if !ips.contains(&route) {
            ips.push(route);
        }
        ips.sort_by_key(|ip| (*ip != route, ip.is_ipv6()));
    }
    ips.retain(|ip| shareable(*ip, also));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn private_addresses_are_shared_and_public_ones_are_not() {
        for private in [
            "10.0.0.1",
            "10.255.255.254",
            "172.16.0.1",
            "172.31.255.1",
            "192.168.1.20",
            "100.64.0.1",
            "100.127.255.254",
            "169.254.10.20",
            "fd12:3456:789a::1",
            "fc00::1",
            "::ffff:192.168.1.20",
        ] {
            assert!(shareable(ip(private), &[]), "{private}");
        }
        for public in [
            "8.8.8.8",
            "172.32.0.1",
            "172.15.255.255",
            "100.63.255.255",
            "100.128.0.1",
            "192.169.0.1",
            "11.0.0.1",
            "2001:db8::1",
            "2a00:1450::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!shareable(ip(public), &[]), "{public}");
        }
        for never in [
            "127.0.0.1",
            "::1",
            "0.0.0.0",
            "::",
            "fe80::1",
            "224.0.0.1",
            "ff02::1",
        ] {
            assert!(!shareable(ip(never), &[]), "{never}");
            assert!(
                !shareable(
                    ip(never),
                    &[
                        "0.0.0.0/0".parse().expect("range"),
                        "::/0".parse().expect("range")
                    ]
                ),
                "{never} even when everything is named"
            );
        }
    }

    #[test]
    fn named_addresses_and_networks_are_shared_too() {
        let also: Vec<AddrRange> = ["203.0.113.7", "2001:db8:1::/48"]
            .iter()
            .map(|s| s.parse().expect("range"))
            .collect();
        assert!(shareable(ip("203.0.113.7"), &also));
        assert!(!shareable(ip("203.0.113.8"), &also));
        assert!(shareable(ip("2001:db8:1:ffff::1"), &also));
        assert!(!shareable(ip("2001:db8:2::1"), &also));
        let net: AddrRange = "198.51.100.0/24".parse().expect("range");
        assert!(net.contains(ip("198.51.100.200")) && !net.contains(ip("198.51.101.1")));
        assert!(!net.contains(ip("::1")), "families never mix");
        for bad in ["", "host.example", "10.0.0.1/33", "::/129", "10.0.0.1/x"] {
            let err = bad.parse::<AddrRange>().expect_err(bad);
            assert!(err.contains("not an IP address"), "{err}");
        }
    }

    #[test]
    fn the_routed_address_comes_first_and_only_shareable_ones_are_listed() {
        let ips = lan_ips(&[]);
        assert!(ips.iter().all(|ip| shareable(*ip, &[])), "{ips:?}");
    }
}
