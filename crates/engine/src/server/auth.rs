//! Who a request is and what it may do: the token check in front of every route.
//!
//! Every client proves itself with a token, on loopback too: the main token, or a paired device's token with its
//! scopes (`read`, `send`, `admin`). It comes as `Authorization: Bearer <token>`, as `?token=<token>` (browsers
//! cannot set headers on a WebSocket or on the first page load), or as the cookie that a page load with a valid
//! `?token=` sets (`__Host-simrelay_token` under TLS, where it is also `Secure`). Only `/api/health`,
//! `/api/logout`, the pairing exchange and the static UI answer without one; [`access`] is the one table of what
//! each route needs. Loopback-only routes (settings, devices, pairing) ask for the token *and* the address.
//!
//! One candidate per request is looked at (header, else query, else cookie), on every path, and each wrong one
//! counts toward the failure limit of its client: after [`MAX_FAILURES`] in a minute the client gets `429` for
//! anything carrying a token, so the UI page and `/api/health` are no oracle either. A client is an IPv4 address,
//! an IPv6 /64, or, on this machine, an account (`local_peer.rs`): every local account connects from 127.0.0.1,
//! and one must not be able to lock the owner out. The limiter's table has a hard size.
//!
//! A request made with a device token ends (401) the moment that device is revoked, whoever revokes it: a long
//! poll does not outlive its token.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::sync::broadcast::error::RecvError;

use super::error::Failure;
use super::{conn, local_peer, origin, AppState};
use crate::tokens::{constant_time_eq, Scope, Scopes};

/// Random bytes in a generated token: 256 bits, well above the 128 a guessable-by-nobody token needs.
const TOKEN_BYTES: usize = 32;
/// Name of the cookie that carries the token after the first page load, over plain HTTP.
pub(crate) const COOKIE: &str = "simrelay_token";
/// Its name under TLS: the `__Host-` prefix makes browsers insist on `Secure`, `Path=/` and no `Domain`.
pub(crate) const SECURE_COOKIE: &str = "__Host-simrelay_token";
/// Failed attempts allowed per client address per [`FAILURE_WINDOW`] before it gets 429 for the rest of it.
pub(crate) const MAX_FAILURES: u32 = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Longest request target (path and query) accepted.
const MAX_URI: usize = 4096;
/// Addresses the limiter keeps apart; beyond, the rest share one entry (so a flood from many addresses costs a
/// bounded table, and blocks only the flood's share).
const MAX_TRACKED: usize = 4096;

/// A new random token, as lower-case hex (URL- and header-safe).
pub fn generate_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Nothing: `/api/health`, `/api/logout`, the pairing exchange, the static UI.
    Public,
    /// A valid token with this scope (the main token has them all).
    Needs(Scope),
}

/// What a request to `path` with `method` needs. Unknown `/api` paths need `admin`, so a route added without
/// a line here is closed, not open. (`/sources/*`, the providers' webhooks, never get here: their signatures
/// authenticate them.)
pub(crate) fn access(method: &Method, path: &str) -> Access {
    let reading = *method == Method::GET || *method == Method::HEAD;
    match path {
        "/api/health" | "/api/logout" | "/api/pair/claim" => Access::Public,
        // Prometheus counters and modem health: a scraper gets a read token.
        "/ws" | "/metrics" => Access::Needs(Scope::Read),
        "/api/messages" | "/api/codes/latest" | "/api/codes/wait" | "/api/export"
        | "/api/modems" | "/api/corrections" | "/api/calls"
            if reading =>
        {
            Access::Needs(Scope::Read)
        }
        p if reading && p.starts_with("/api/messages/") => Access::Needs(Scope::Read),
        // A modem's signal and message counts: what the Modems screen shows any reader.
        p if reading && p.starts_with("/api/modems/") && p.ends_with("/health") => {
            Access::Needs(Scope::Read)
        }
        // Conversations are messages by peer; marking one read is part of reading it.
        "/api/conversations" if reading => Access::Needs(Scope::Read),
        p if p.starts_with("/api/conversations/") && (reading || p.ends_with("/read")) => {
            Access::Needs(Scope::Read)
        }
        "/api/send" => Access::Needs(Scope::Send),
        p if p.starts_with("/api/sent/") => Access::Needs(Scope::Send),
        // A USSD code costs money and can change the subscription (`*106*1#` books a bundle), as a send can;
        // its reply is shown only to whoever asked.
        p if *method == Method::POST && p.starts_with("/api/modems/") && p.ends_with("/ussd") => {
            Access::Needs(Scope::Send)
        }
        p if p == "/api" || p.starts_with("/api/") => Access::Needs(Scope::Admin),
        _ => Access::Public,
    }
}

/// Whom the limiter and the connection caps count a client as: an IPv4 address, or an IPv6 /64 (one host can
/// hold a whole /64 of addresses), an account of this machine at a loopback address (for the limiter: the
/// accounts of one machine share 127.0.0.1, and one must not lock another out), or the shared entry beyond the
/// limiter's table size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ClientKey {
    V4(Ipv4Addr),
    V6(u64),
    Local(u32, IpAddr),
    Overflow,
}

/// The client of one request, as the failure limit counts it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Client {
    peer: Option<SocketAddr>,
    /// Our end of the connection: with the peer, it names the client's socket on this machine.
    local: Option<SocketAddr>,
}

impl Client {
    pub(crate) fn new(peer: Option<SocketAddr>, local: Option<SocketAddr>) -> Client {
        Client { peer, local }
    }

    fn on_this_machine(&self) -> bool {
        self.peer.is_some_and(|p| p.ip().is_loopback())
    }

    /// The limiter's key: on this machine the account behind the socket when the kernel tells it (one read of
    /// the socket table), else the address.
    fn key(&self) -> Option<ClientKey> {
        let peer = self.peer?;
        if let Some(uid) = self.local.and_then(|local| local_peer::uid(peer, local)) {
            return Some(ClientKey::Local(uid, peer.ip()));
        }
        Some(client_key(peer.ip()))
    }

    /// Whether this client used up its failures. Clients on this machine are looked up only while some local
    /// client is failing, so the socket table is not read on every request.
    pub(crate) fn blocked(&self, limiter: &FailureLimiter, now: Instant) -> bool {
        if self.on_this_machine() && !limiter.local_failing(now) {
            return false;
        }
        self.key().is_some_and(|key| limiter.blocked(key, now))
    }

    /// Counts one failure of this client.
    pub(crate) fn failed(&self, limiter: &FailureLimiter, now: Instant) {
        if let Some(key) = self.key() {
            limiter.record(key, now, self.on_this_machine());
        }
    }
}

/// The [`ClientKey`] of `ip`.
pub(crate) fn client_key(ip: IpAddr) -> ClientKey {
    match ip {
        IpAddr::V4(v4) => ClientKey::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => ClientKey::V4(v4),
            None => ClientKey::V6((u128::from(v6) >> 64) as u64),
        },
    }
}

/// Counts failed authentications per client in fixed windows, in a table of bounded size.
#[derive(Debug, Default)]
pub(crate) struct FailureLimiter {
    failures: Mutex<HashMap<ClientKey, (u32, Instant)>>,
    /// When a client on this machine last failed.
    local_failed: Mutex<Option<Instant>>,
}

fn over(entry: &(u32, Instant), now: Instant) -> bool {
    entry.0 >= MAX_FAILURES && now.duration_since(entry.1) < FAILURE_WINDOW
}

impl FailureLimiter {
    /// Whether `key` used up its failures for this window.
    pub(crate) fn blocked(&self, key: ClientKey, now: Instant) -> bool {
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        match failures.get(&key) {
            Some(entry) => over(entry, now),
            None if failures.len() >= MAX_TRACKED => failures
                .get(&ClientKey::Overflow)
                .is_some_and(|entry| over(entry, now)),
            None => false,
        }
    }

    /// Whether a client on this machine failed within the window.
    fn local_failing(&self, now: Instant) -> bool {
        self.local_failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|at| now.duration_since(at) < FAILURE_WINDOW)
    }

    /// Counts one failure of `key` (`local`: a client on this machine).
    pub(crate) fn record(&self, key: ClientKey, now: Instant, local: bool) {
        if local {
            *self
                .local_failed
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(now);
        }
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if failures.len() >= MAX_TRACKED && !failures.contains_key(&key) {
            failures.retain(|_, (_, since)| now.duration_since(*since) < FAILURE_WINDOW);
        }
        // The table is full of live entries: this client shares the overflow entry with everyone else untracked.
        let key = if failures.len() >= MAX_TRACKED - 1 && !failures.contains_key(&key) {
            ClientKey::Overflow
        } else {
            key
        };
        let entry = failures.entry(key).or_insert((0, now));
        if now.duration_since(entry.1) >= FAILURE_WINDOW {
            *entry = (0, now);
        }
        entry.0 = entry.0.saturating_add(1);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// Request extension: who the request is (set for every request with a valid token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The paired device whose token it used; `None` for the main token.
    pub(crate) device: Option<String>,
    /// What it may do.
    pub(crate) scopes: Scopes,
}

/// How the token came with the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Header,
    Query,
    Cookie,
}

/// The cookie name a listener uses: `__Host-` and `Secure` under TLS.
pub(crate) fn cookie_name(tls: bool) -> &'static str {
    if tls {
        SECURE_COOKIE
    } else {
        COOKIE
    }
}

/// The `Set-Cookie` value that stores `token`, or (`None`) expires the cookie.
pub(crate) fn cookie(tls: bool, token: Option<&str>) -> String {
    let name = cookie_name(tls);
    let secure = if tls { "; Secure" } else { "" };
    match token {
        Some(token) => format!("{name}={token}; HttpOnly; SameSite=Strict; Path=/{secure}"),
        None => format!("{name}=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/{secure}"),
    }
}

/// Middleware in front of every route: request-target bound, cross-site checks, the token and its scope (with
/// the failure limit), the cookie, and revocation while the request runs.
pub(crate) async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // Bounds what a single request can make the server parse; well above any real query.
    if request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len())
        > MAX_URI
    {
        return Failure::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the request target is over {MAX_URI} bytes"),
        )
        .into_response();
    }
    let path = request.uri().path().to_owned();
    // Provider webhooks cannot carry our token, come from no browser and post forms: the provider's signature
    // authenticates them (`server/sources.rs`), before anything is read. Bounds and caps still apply.
    if path.starts_with("/sources/") {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let tls = state.tls.is_some();
    if let Err(refused) = origin::check(&method, &path, request.headers(), state.scheme()) {
        return refused.into_response();
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let ip = peer.map(|p| p.ip());
    let client = Client::new(
        peer,
        request.extensions().get::<conn::LocalAddr>().map(|l| l.0),
    );
    let now = Instant::now();
    let needs = access(&method, &path);
    let candidate = candidate(&request, cookie_name(tls));
    // A blocked client gets no answer about any token, right or wrong: otherwise guessing would go on.
    if candidate.is_some() && client.blocked(&state.limiter, now) {
        return too_many().into_response();
    }
    let mut clear_cookie = false;
    let caller = match &candidate {
        Some((via, value)) => {
            let caller = identify(&state, value);
            if caller.is_none() {
                client.failed(&state.limiter, now);
                tracing::warn!(%path, client = ?ip, via = ?via, "refused a wrong token");
                clear_cookie = *via == Via::Cookie;
            }
            caller
        }
        None => None,
    };
    if let Access::Needs(scope) = needs {
        match &caller {
            None => {
                let mut response = Failure::unauthorized().into_response();
                if clear_cookie {
                    set_cookie(response.headers_mut(), &cookie(tls, None));
                }
                return response;
            }
            Some(caller) if !caller.scopes.has(scope) => {
                return Failure::new(
                    StatusCode::FORBIDDEN,
                    "insufficient_scope",
                    format!(
                        "this device's token may {}, but this needs the {scope} scope; pair the device again \
                         with it (Settings, or `simrelay token add NAME --scopes ...`)",
                        describe(caller.scopes)
                    ),
                )
                .into_response();
            }
            Some(_) => {}
        }
    }
    let mut request = request;
    if caller.is_some() {
        // An authenticated connection no longer counts as one of its address's unproven ones.
        if let Some(connection) = request.extensions().get::<conn::Tracked>() {
            connection.authenticated();
        }
    }
    let page_load = method == Method::GET && needs == Access::Public && !path.starts_with("/api");
    let new_cookie = match (&candidate, &caller) {
        (Some((Via::Query, token)), Some(_)) if page_load => Some(token.clone()),
        _ => None,
    };
    let device = caller.as_ref().and_then(|c| c.device.clone());
    if let Some(caller) = caller {
        request.extensions_mut().insert(caller);
    }
    let mut response = match device {
        Some(id) => {
            if state.devices.touch(&id, ip) {
                // Written off the request path: a slow disk or database never delays an answer.
                tokio::spawn(state.devices.clone().persist_seen(id.clone()));
            }
            run_until_revoked(&state, &id, request, next).await
        }
        None => next.run(request).await,
    };
    if let Some(token) = new_cookie {
        set_cookie(response.headers_mut(), &cookie(tls, Some(&token)));
    } else if clear_cookie {
        set_cookie(response.headers_mut(), &cookie(tls, None));
    }
    response
}

/// Runs the request of device `id`, and answers 401 instead the moment the device is revoked (a long poll must
/// not outlive its token). WebSockets watch for themselves after the upgrade.
async fn run_until_revoked(state: &AppState, id: &str, request: Request, next: Next) -> Response {
    let mut revoked = state.devices.subscribe_revoked();
    let _watching = state.devices.watch();
    if !state.devices.contains(id) {
        return Failure::unauthorized().into_response();
    }
    let handler = next.run(request);
    tokio::pin!(handler);
    loop {
        tokio::select! {
            response = &mut handler => return response,
            gone = revoked.recv() => {
                let now_revoked = match gone {
                    Ok(gone) => gone == id,
                    Err(RecvError::Lagged(_)) => !state.devices.contains(id),
                    Err(RecvError::Closed) => true,
                };
                if now_revoked {
                    tracing::info!(device = %id, "ended a request of a revoked device");
                    return Failure::unauthorized().into_response();
                }
            }
        }
    }
}

fn set_cookie(headers: &mut HeaderMap, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.append(header::SET_COOKIE, value);
    }
}

pub(crate) fn too_many() -> Failure {
    Failure::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        "too many wrong tokens or pairing codes from this address; wait a minute",
    )
}

fn describe(scopes: Scopes) -> String {
    if scopes.is_empty() {
        "do nothing".to_owned()
    } else {
        scopes
            .iter()
            .map(Scope::as_str)
            .collect::<Vec<_>>()
            .join(" and ")
    }
}

/// Whose token `value` is: the main one (every scope) or a paired device's.
fn identify(state: &AppState, value: &str) -> Option<Caller> {
    let value = value.trim();
    if constant_time_eq(value.as_bytes(), state.token.as_bytes()) {
        return Some(Caller {
            device: None,
            scopes: Scopes::ALL,
        });
    }
    let hash: [u8; 32] = Sha256::digest(value.as_bytes()).into();
    state
        .devices
        .authenticate(&hash)
        .map(|(id, scopes)| Caller {
            device: Some(id),
            scopes,
        })
}

/// The one token candidate a request is judged by: the `Authorization: Bearer` header, else the first `token`
/// query parameter, else the first cookie of our name. Sending several buys no extra guesses.
fn candidate(request: &Request, cookie_name: &str) -> Option<(Via, String)> {
    let headers = request.headers();
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().unwrap_or("");
        let token = value
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map_or("", |(_, token)| token);
        return Some((Via::Header, token.trim().to_owned()));
    }
    if request.uri().query().is_some() {
        let params = Query::<Vec<(String, String)>>::try_from_uri(request.uri())
            .map(|Query(params)| params)
            .unwrap_or_default();
        if let Some((_, token)) = params.into_iter().find(|(name, _)| name == "token") {
            return Some((Via::Query, token.trim().to_owned()));
        }
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == cookie_name)
        .map(|(_, value)| (Via::Cookie, value.trim().to_owned()))
}

/// `POST /api/logout`: expires this browser's token cookie (the token itself stays valid: revoke a device to
/// end its token). Needs no token, so a browser holding a stale cookie can drop it.
pub(crate) async fn logout(State(state): State<AppState>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    set_cookie(response.headers_mut(), &cookie(state.tls.is_some(), None));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    #[test]
    fn generated_tokens_are_long_and_distinct() {
        let (a, b) = (generate_token(), generate_token());
        assert_eq!(a.len(), TOKEN_BYTES * 2);
        assert_ne!(a, b);
    }

    #[test]
    fn every_route_needs_its_scope_and_unknown_api_paths_need_admin() {
        use Access::{Needs, Public};
        use Scope::{Admin, Read, Send};
        let (get, post, delete, patch) = (Method::GET, Method::POST, Method::DELETE, Method::PATCH);
        for (method, path, needs) in [
            (&get, "/api/health", Public),
            (&post, "/api/logout", Public),
            (&post, "/api/pair/claim", Public),
            (&get, "/", Public),
            (&get, "/index.html", Public),
            (&get, "/apiary.js", Public),
            (&get, "/ws", Needs(Read)),
            (&get, "/metrics", Needs(Read)),
            (&get, "/api/deliveries", Needs(Admin)),
            (&get, "/api/messages", Needs(Read)),
            (&get, "/api/messages/7", Needs(Read)),
            (&get, "/api/conversations", Needs(Read)),
            (&get, "/api/conversations/%2B4915", Needs(Read)),
            (&post, "/api/conversations/%2B4915/read", Needs(Read)),
            (&delete, "/api/conversations/%2B4915", Needs(Admin)),
            (&delete, "/api/messages/7", Needs(Admin)),
            // Choosing a message's code (and remembering it for the sender) changes what every client and
            // automation is told the code is, like deleting a message does.
            (&Method::PUT, "/api/messages/7/code", Needs(Admin)),
            (&get, "/api/corrections", Needs(Read)),
            (&delete, "/api/corrections/%2B4915", Needs(Admin)),
            (&get, "/api/codes/latest", Needs(Read)),
            (&get, "/api/codes/wait", Needs(Read)),
            (&get, "/api/export", Needs(Read)),
            (&get, "/api/modems", Needs(Read)),
            (&post, "/api/modems", Needs(Admin)),
            (&delete, "/api/modems/demo", Needs(Admin)),
            (
                &get,
                "/api/modems/imei%3A356938035643809/health",
                Needs(Read),
            ),
            (&post, "/api/modems/demo/health", Needs(Admin)),
            (&delete, "/api/modems/demo/health", Needs(Admin)),
            (&post, "/api/modems/demo/ussd", Needs(Send)),
            (&get, "/api/modems/demo/ussd", Needs(Admin)),
            (&get, "/api/calls", Needs(Read)),
            (&delete, "/api/calls", Needs(Admin)),
            (&post, "/api/send", Needs(Send)),
            (&get, "/api/sent/3", Needs(Send)),
            (&get, "/api/ports", Needs(Admin)),
            (&post, "/api/ports", Needs(Admin)),
            (&post, "/api/ports/probe", Needs(Admin)),
            (&get, "/api/settings", Needs(Admin)),
            (&patch, "/api/settings", Needs(Admin)),
            (&get, "/api/devices", Needs(Admin)),
            (&post, "/api/pair", Needs(Admin)),
            (&get, "/api/pair", Needs(Admin)),
            (&get, "/api/nonexistent", Needs(Admin)),
            (&get, "/api", Needs(Admin)),
            (&post, "/api/messages", Needs(Admin)),
        ] {
            assert_eq!(access(method, path), needs, "{method} {path}");
        }
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_slash_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(
            client_key(mapped),
            client_key("192.0.2.7".parse().expect("ip"))
        );
    }

    #[test]
    fn the_limiter_blocks_after_repeated_failures_then_forgives() {
        let limiter = FailureLimiter::default();
        let ip = client_key("192.0.2.7".parse().expect("ip"));
        let other = client_key("192.0.2.8".parse().expect("ip"));
        let t0 = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert!(!limiter.blocked(ip, t0));
            limiter.record(ip, t0, false);
        }
        assert!(limiter.blocked(ip, t0));
        assert!(!limiter.blocked(other, t0), "per address");
        assert!(!limiter.blocked(ip, t0 + FAILURE_WINDOW), "a new window");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn local_clients_are_counted_by_account_and_looked_up_only_while_failing() {
        let limiter = FailureLimiter::default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let server = listener.local_addr().expect("addr");
        let _stream = std::net::TcpStream::connect(server).expect("connect");
        let (_accepted, peer) = listener.accept().expect("accept");
        let me = Client::new(Some(peer), Some(server));
        assert!(
            matches!(me.key(), Some(ClientKey::Local(_, _))),
            "{:?}",
            me.key()
        );
        let t0 = Instant::now();
        assert!(!limiter.local_failing(t0));
        for _ in 0..MAX_FAILURES {
            me.failed(&limiter, t0);
        }
        assert!(limiter.local_failing(t0) && me.blocked(&limiter, t0));
        // Another account's failures (a uid no socket here has) leave this one alone, and the address too.
        let other = ClientKey::Local(u32::MAX - 7, peer.ip());
        assert!(!limiter.blocked(other, t0));
        assert!(!limiter.blocked(client_key(peer.ip()), t0));
    }

    #[test]
    fn the_limiter_table_is_bounded_and_the_overflow_is_limited_too() {
        let limiter = FailureLimiter::default();
        let t0 = Instant::now();
        // A flood of one failure each from more addresses than the table holds.
        for i in 0..(MAX_TRACKED as u32 * 3) {
            limiter.record(
                client_key(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i))),
                t0,
                false,
            );
        }
        assert!(limiter.len() <= MAX_TRACKED, "{}", limiter.len());
        // Untracked addresses share the overflow entry, which is itself limited.
        let newcomer = client_key(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 200)));
        assert!(limiter.blocked(newcomer, t0));
        // A window later the stale entries are dropped and addresses are counted one by one again.
        let later = t0 + FAILURE_WINDOW;
        limiter.record(newcomer, later, false);
        assert!(!limiter.blocked(newcomer, later));
        assert!(limiter.len() <= 2, "{}", limiter.len());
    }

    fn request(uri: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = axum::http::Request::builder().uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).expect("request")
    }

    #[test]
    fn one_candidate_per_request_header_then_query_then_cookie() {
        let r = request(
            "/api/messages?token=q",
            &[
                ("authorization", "Bearer h"),
                ("cookie", "simrelay_token=c"),
            ],
        );
        assert_eq!(candidate(&r, COOKIE), Some((Via::Header, "h".into())));
        let r = request("/?a=1&token=q&token=q2", &[("cookie", "simrelay_token=c")]);
        assert_eq!(candidate(&r, COOKIE), Some((Via::Query, "q".into())));
        let r = request(
            "/",
            &[
                ("cookie", "theme=dark; simrelay_token=c1"),
                ("cookie", "simrelay_token=c2"),
            ],
        );
        assert_eq!(candidate(&r, COOKIE), Some((Via::Cookie, "c1".into())));
        // Under TLS only the __Host- cookie counts.
        assert_eq!(candidate(&r, SECURE_COOKIE), None);
        // A header that is not Bearer is still a (wrong) candidate: it cannot be used to skip the count.
        let r = request("/", &[("authorization", "Basic Zm9vOmJhcg==")]);
        assert_eq!(candidate(&r, COOKIE), Some((Via::Header, String::new())));
        assert_eq!(candidate(&request("/api/messages", &[]), COOKIE), None);
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_under_tls() {
        assert_eq!(
            cookie(false, Some("t")),
            "simrelay_token=t; HttpOnly; SameSite=Strict; Path=/"
        );
        assert_eq!(
            cookie(true, Some("t")),
            "__Host-simrelay_token=t; HttpOnly; SameSite=Strict; Path=/; Secure"
        );
        assert!(cookie(true, None).starts_with("__Host-simrelay_token=; Max-Age=0;"));
    }

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
