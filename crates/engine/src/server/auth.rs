//! Token authentication for the API and the WebSocket.
//!
//! When the engine has a token, every `/api/...` path except `/api/health`, and `/ws`, needs it, as
//! `Authorization: Bearer <token>`, as `?token=<token>` (browsers cannot set headers on a WebSocket or on the
//! first page load), or as the `simrelay_token` cookie that a page load with the right `?token=` sets, so the
//! UI can drop the token from its address bar. The static UI stays public: it holds no data and has to load to
//! ask for the token. Failed attempts are limited per client IP, so a token cannot be guessed online.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::error::Failure;
use super::{origin, AppState};
use crate::tokens::constant_time_eq;

/// Random bytes in a generated token: 256 bits, well above the 128 a guessable-by-nobody token needs.
const TOKEN_BYTES: usize = 32;
/// Name of the cookie that carries the token after the first page load.
pub(crate) const COOKIE: &str = "simrelay_token";
/// Failed attempts allowed per client IP per [`FAILURE_WINDOW`] before it gets 429 for the rest of it.
const MAX_FAILURES: u32 = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Longest request target (path and query) accepted.
const MAX_URI: usize = 4096;
/// Bounds the limiter's memory under a flood from many addresses.
const MAX_TRACKED_IPS: usize = 10_000;

/// A new random token, as lower-case hex (URL- and header-safe).
pub fn generate_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether a request to `path` needs the token.
fn is_protected(path: &str) -> bool {
    path == "/ws"
        || path == "/metrics"
        || (path.starts_with("/api/") && path != "/api/health")
        || path == "/api"
}

/// Counts failed authentications per client IP in fixed windows.
#[derive(Debug, Default)]
pub(crate) struct FailureLimiter {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl FailureLimiter {
    fn blocked(&self, ip: IpAddr, now: Instant) -> bool {
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        failures
            .get(&ip)
            .is_some_and(|(count, since)| *count >= MAX_FAILURES && now - *since < FAILURE_WINDOW)
    }

    fn record(&self, ip: IpAddr, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if failures.len() >= MAX_TRACKED_IPS {
            failures.retain(|_, (_, since)| now - *since < FAILURE_WINDOW);
        }
        let entry = failures.entry(ip).or_insert((0, now));
        if now - entry.1 >= FAILURE_WINDOW {
            *entry = (0, now);
        }
        entry.0 = entry.0.saturating_add(1);
    }
}

/// Middleware: origin checks, then the token for protected paths (with the per-IP failure limit); sets the
/// cookie when a valid `?token=` arrives.
pub(crate) async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
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
    // Provider webhooks cannot carry our token and come from no browser: the provider's signature
    // authenticates them (`server/sources.rs`), before anything is read. Bounds still apply.
    if path.starts_with("/sources/") {
        return next.run(request).await;
    }
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    // Clients on this machine need no token only when the server was started that way; LAN clients always do.
    let needs_token = !(state.open_loopback && ip.is_some_and(|ip| ip.is_loopback()));
    if let Err(refused) = origin::check(request.headers(), &path, needs_token) {
        return refused.into_response();
    }
    if !needs_token {
        return next.run(request).await;
    }
    let now = Instant::now();
    let protected = is_protected(&path);
    // A blocked address is refused even with the right token: otherwise guessing would go on unslowed.
    if protected && ip.is_some_and(|ip| state.limiter.blocked(ip, now)) {
        return Failure::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "too many requests with a wrong token from this address; wait a minute",
        )
        .into_response();
    }
    let expected = state.token.clone();
    let valid = |t: &str| {
        let t = t.trim();
        if constant_time_eq(t.as_bytes(), expected.as_bytes()) {
            return Some(Who::Main);
        }
        let hash: [u8; 32] = Sha256::digest(t.as_bytes()).into();
        state.devices.authenticate(&hash).map(Who::Device)
    };
    let presented = presented_token(&request, valid);
    if presented.is_none() && protected {
        if let Some(ip) = ip {
            state.limiter.record(ip, now);
        }
        tracing::warn!(%path, client = ?ip, "rejected a request without a valid token");
        return Failure::unauthorized().into_response();
    }
    let mut request = request;
    if let Some((_, _, Who::Device(id))) = &presented {
        if state.devices.touch(id, ip) {
            let (devices, id) = (state.devices.clone(), id.clone());
            // Written off the request path: a slow disk never delays an answer.
            tokio::task::spawn_blocking(move || devices.persist_seen(&id));
        }
        request.extensions_mut().insert(DeviceId(id.clone()));
    }
    let mut response = next.run(request).await;
    if let Some((Via::Query, token, _)) = presented {
        let cookie = format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// Whose token authenticated a request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Who {
    Main,
    Device(String),
}

/// Request extension: the paired device whose token authenticated the request (WebSockets watch for its
/// revocation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceId(pub(crate) String);

/// How a valid token came with the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Header,
    Query,
    Cookie,
}

/// The valid token the request carries, how it came, and whose it is.
fn presented_token(
    request: &Request,
    valid: impl Fn(&str) -> Option<Who>,
) -> Option<(Via, String, Who)> {
    let headers = request.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if let Some(token) = bearer {
        if let Some(who) = valid(token) {
            return Some((Via::Header, token.trim().to_owned(), who));
        }
    }
    let query = Query::<HashMap<String, String>>::try_from_uri(request.uri()).ok();
    if let Some(token) = query.and_then(|Query(params)| params.get("token").cloned()) {
        if let Some(who) = valid(&token) {
            return Some((Via::Query, token.trim().to_owned(), who));
        }
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == COOKIE)
        .find_map(|(_, value)| Some((Via::Cookie, value.trim().to_owned(), valid(value)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_long_and_distinct() {
        let (a, b) = (generate_token(), generate_token());
        assert_eq!(a.len(), TOKEN_BYTES * 2);
        assert_ne!(a, b);
    }

    #[test]
    fn only_api_and_ws_are_protected() {
        assert!(is_protected("/ws"));
        assert!(is_protected("/api/messages"));
        assert!(is_protected("/api/nonexistent"));
        assert!(!is_protected("/api/health"));
        assert!(!is_protected("/"));
        assert!(!is_protected("/index.html"));
        assert!(!is_protected("/apiary.js"));
    }

    #[test]
    fn the_limiter_blocks_after_repeated_failures_then_forgives() {
        let limiter = FailureLimiter::default();
        let ip: IpAddr = "192.0.2.7".parse().expect("ip");
        let other: IpAddr = "192.0.2.8".parse().expect("ip");
        let t0 = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert!(!limiter.blocked(ip, t0));
            limiter.record(ip, t0);
        }
        assert!(limiter.blocked(ip, t0));
        assert!(!limiter.blocked(other, t0), "per address");
        assert!(!limiter.blocked(ip, t0 + FAILURE_WINDOW), "a new window");
    }

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
