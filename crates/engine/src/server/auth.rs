//! Token authentication for the API and the WebSocket.
//!
//! When the engine has a token, every `/api/...` path except `/api/health`, and `/ws`, needs it, either as
//! `Authorization: Bearer <token>` or as `?token=<token>` (browsers cannot set headers on a WebSocket or on the
//! first page load). The static UI stays public: it holds no data and has to load to ask for the token.

use std::collections::HashMap;

use axum::extract::{Query, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;

use super::error::Failure;
use super::AppState;

/// Random bytes in a generated token: 256 bits, well above the 128 a guessable-by-nobody token needs.
const TOKEN_BYTES: usize = 32;

/// A new random token, as lower-case hex (URL- and header-safe).
pub fn generate_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether a request to `path` needs the token.
fn is_protected(path: &str) -> bool {
    path == "/ws" || (path.starts_with("/api/") && path != "/api/health") || path == "/api"
}

/// Middleware: lets the request through if it needs no token or carries the right one, else answers 401.
pub(crate) async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = state.token.as_deref() else {
        return next.run(request).await;
    };
    if !is_protected(request.uri().path()) || presented_token_matches(&request, expected) {
        return next.run(request).await;
    }
    tracing::warn!(path = %request.uri().path(), "rejected a request without a valid token");
    Failure::unauthorized().into_response()
}

fn presented_token_matches(request: &Request, expected: &str) -> bool {
    let from_header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    if from_header.is_some_and(|t| constant_time_eq(t.as_bytes(), expected.as_bytes())) {
        return true;
    }
    Query::<HashMap<String, String>>::try_from_uri(request.uri())
        .ok()
        .and_then(|Query(params)| params.get("token").cloned())
        .is_some_and(|t| constant_time_eq(t.as_bytes(), expected.as_bytes()))
}

/// Compares without an early exit, so the time taken does not tell an attacker how many leading bytes were right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
