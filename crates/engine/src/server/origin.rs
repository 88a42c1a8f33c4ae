//! Browser-origin defences that a token alone does not give.
//!
//! - **WebSocket origin**: browsers let any web page open a WebSocket to `127.0.0.1` (WebSockets are not
//!   covered by CORS), so without this check a malicious page could read the codes of a tokenless local
//!   server. A browser always sends `Origin` on the handshake; it must be this server's own origin (or the
//!   desktop shell's). Clients that send no `Origin` are not browsers and face the token check as usual.
//! - **Host** (DNS rebinding): a page on `evil.example` whose name is re-pointed to 127.0.0.1 becomes
//!   "same-origin" with a tokenless local server. Without a token, only IP literals and `localhost` are
//!   accepted as `Host`.

use axum::http::{header, HeaderMap, StatusCode};

use super::error::Failure;

/// Origins of the desktop shell's webview, which may host the UI instead of loading it over HTTP.
const DESKTOP_ORIGINS: &[&str] = &[
    "tauri://localhost",
    "http://tauri.localhost",
    "https://tauri.localhost",
];

/// Checks `Host` (when the server has no token) and, for `/ws`, `Origin`.
pub(crate) fn check(headers: &HeaderMap, path: &str, has_token: bool) -> Result<(), Failure> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !has_token && !host.is_empty() && !is_local_host(host) {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            "forbidden_host",
            "this server has no token, so it only answers requests addressed to an IP address or localhost; \
             open it by IP, or start it with --token",
        ));
    }
    if path == "/ws" {
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            if !same_origin(origin, host) && !DESKTOP_ORIGINS.contains(&origin) {
                tracing::warn!(%origin, %host, "refused a WebSocket from another origin");
                return Err(Failure::new(
                    StatusCode::FORBIDDEN,
                    "forbidden_origin",
                    "WebSocket connections are only accepted from SimRelay's own pages",
                ));
            }
        }
    }
    Ok(())
}

/// `Host` names an IP literal (v4, or v6 in brackets) or localhost, with an optional port.
fn is_local_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => {
            return rest
                .split(']')
                .next()
                .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
        }
        None => host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.parse::<u16>().is_ok() {
                name
            } else {
                host
            }
        }),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::Ipv4Addr>().is_ok()
}

/// `origin` is `http(s)://<host>` for exactly the `Host` this request was sent to.
fn same_origin(origin: &str, host: &str) -> bool {
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    !host.is_empty() && authority.is_some_and(|a| a.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(host: &str, origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).expect("ascii"));
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).expect("ascii"));
        }
        h
    }

    #[test]
    fn hosts_without_a_token_must_be_local_names_or_ips() {
        for ok in [
            "127.0.0.1:8731",
            "localhost:8731",
            "LOCALHOST",
            "[::1]:8731",
            "192.168.1.20:8731",
            "10.0.0.1",
        ] {
            assert!(
                check(&headers(ok, None), "/api/messages", false).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "evil.example:8731",
            "evil.example",
            "127.0.0.1.nip.io:8731",
            "[evil]:1",
        ] {
            assert!(
                check(&headers(bad, None), "/api/messages", false).is_err(),
                "{bad}"
            );
            assert!(
                check(&headers(bad, None), "/api/messages", true).is_ok(),
                "with a token: {bad}"
            );
        }
    }

    #[test]
    fn websocket_origin_must_be_our_own() {
        let host = "127.0.0.1:8731";
        assert!(check(&headers(host, Some("http://127.0.0.1:8731")), "/ws", false).is_ok());
        assert!(
            check(&headers(host, None), "/ws", false).is_ok(),
            "not a browser"
        );
        assert!(check(&headers(host, Some("tauri://localhost")), "/ws", false).is_ok());
        for bad in [
            "https://evil.example",
            "http://127.0.0.1:9999",
            "null",
            "http://127.0.0.1:8731.evil",
        ] {
            assert!(
                check(&headers(host, Some(bad)), "/ws", true).is_err(),
                "{bad}"
            );
        }
        // Only the WebSocket checks Origin; plain requests are covered by CORS.
        assert!(check(
            &headers(host, Some("https://evil.example")),
            "/api/messages",
            false
        )
        .is_ok());
    }
}
