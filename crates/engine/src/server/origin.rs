//! Defences against web pages in the owner's browser, which a token alone does not give.
//!
//! - **Cross-site requests**: a page on another site (or another port of this machine, which is "same-site" and
//!   so still gets the `SameSite=Strict` cookie) can make the browser send requests here. Every state-changing
//!   request and every `/api` read or `/ws` handshake is refused when its `Origin` is not this server's own
//!   origin, or when `Sec-Fetch-Site` says `cross-site` or `same-site`. Clients that send neither are not
//!   browsers and face the token check as usual.
//! - **JSON only**: a request body is accepted only as `Content-Type: application/json`, which no page can send
//!   cross-origin without a CORS preflight (that this server never grants), so no "simple" request can write.
//! - **Framing and sniffing**: every response carries a Content Security Policy (`frame-ancestors 'none'`,
//!   scripts only from this server plus WebAssembly), `X-Frame-Options: DENY`, `X-Content-Type-Options:
//!   nosniff` and `Referrer-Policy: no-referrer`; [`page_csp`] adds the hashes of the UI page's inline scripts.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::error::Failure;

/// The policy of every response; the UI page's adds its inline scripts' hashes ([`page_csp`]).
const CSP_BASE: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; img-src 'self' data:; \
                        object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Checks a request before anything else looks at it: its origin (for writes, `/api` and `/ws`) and the type
/// of its body. `scheme` is the listener's (`http` or `https`).
pub(crate) fn check(
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    scheme: &str,
) -> Result<(), Failure> {
    let writes = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let api = path == "/ws" || path == "/metrics" || path == "/api" || path.starts_with("/api/");
    if writes || api {
        if let Some(site) = headers.get("sec-fetch-site") {
            let site = site.to_str().unwrap_or("cross-site");
            if site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site") {
                tracing::warn!(%method, %path, site, "refused a request from another site");
                return Err(forbidden_origin());
            }
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("");
            let origin = origin.to_str().unwrap_or("");
            if !same_origin(origin, scheme, host) {
                tracing::warn!(%method, %path, %origin, %host, "refused a request from another origin");
                return Err(forbidden_origin());
            }
        }
    }
    if has_body(headers) && !is_json(headers) {
        return Err(Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "a request body must be JSON, sent with Content-Type: application/json",
        ));
    }
    Ok(())
}

fn forbidden_origin() -> Failure {
    Failure::new(
        StatusCode::FORBIDDEN,
        "forbidden_origin",
        "this request came from a page of another site; SimRelay only answers its own pages (and programs \
         that are not browsers)",
    )
}

/// `origin` is exactly `<scheme>://<the Host this request was sent to>`.
fn same_origin(origin: &str, scheme: &str, host: &str) -> bool {
    let authority = origin
        .strip_prefix(scheme)
        .and_then(|rest| rest.strip_prefix("://"));
    !host.is_empty() && authority.is_some_and(|a| a.eq_ignore_ascii_case(host))
}

/// Whether the request announces a body (any length but zero, or chunked).
fn has_body(headers: &HeaderMap) -> bool {
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    headers.contains_key(header::TRANSFER_ENCODING) || length.is_some_and(|l| l != "0")
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// The policy of the UI page: [`CSP_BASE`] with the hashes of its inline scripts allowed (`'sha256-...'`).
pub(crate) fn page_csp(inline_script_hashes: &[String]) -> String {
    if inline_script_hashes.is_empty() {
        return CSP_BASE.to_owned();
    }
    let extra: Vec<String> = inline_script_hashes
        .iter()
        .map(|h| format!("'sha256-{h}'"))
        .collect();
    CSP_BASE.replacen(
        "'wasm-unsafe-eval'",
        &format!("'wasm-unsafe-eval' {}", extra.join(" ")),
        1,
    )
}

/// Middleware: the framing, sniffing and referrer headers on every response, and the base policy unless the
/// handler set its own.
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP_BASE),
        );
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(
                header::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("ascii"),
            );
        }
        h
    }

    const HOST: (&str, &str) = ("host", "127.0.0.1:8731");

    #[test]
    fn own_origin_and_non_browsers_pass() {
        for (method, path, extra) in [
            (
                Method::GET,
                "/ws",
                vec![("origin", "http://127.0.0.1:8731")],
            ),
            (Method::GET, "/ws", vec![]),
            (
                Method::POST,
                "/api/send",
                vec![("sec-fetch-site", "same-origin")],
            ),
            (
                Method::GET,
                "/api/messages",
                vec![("sec-fetch-site", "none")],
            ),
            (
                Method::DELETE,
                "/api/devices/x",
                vec![("origin", "http://127.0.0.1:8731")],
            ),
            // Navigations to the UI from elsewhere are fine: the page holds no data.
            (Method::GET, "/", vec![("sec-fetch-site", "cross-site")]),
        ] {
            let mut pairs = vec![HOST];
            pairs.extend(extra);
            assert!(
                check(&method, path, &headers(&pairs), "http").is_ok(),
                "{method} {path} {pairs:?}"
            );
        }
    }

    #[test]
    fn other_origins_and_sites_are_refused_on_writes_api_and_ws() {
        for (method, path, extra) in [
            (Method::GET, "/ws", ("origin", "https://evil.example")),
            (Method::GET, "/ws", ("origin", "http://127.0.0.1:9999")),
            (Method::GET, "/ws", ("origin", "null")),
            (Method::GET, "/ws", ("origin", "http://127.0.0.1:8731.evil")),
            (Method::GET, "/ws", ("origin", "tauri://localhost")),
            // The right host under the wrong scheme is another origin.
            (Method::GET, "/ws", ("origin", "https://127.0.0.1:8731")),
            (
                Method::GET,
                "/api/messages",
                ("origin", "https://evil.example"),
            ),
            (
                Method::GET,
                "/api/messages",
                ("sec-fetch-site", "same-site"),
            ),
            (Method::POST, "/api/send", ("sec-fetch-site", "cross-site")),
            (Method::POST, "/", ("origin", "http://localhost:3000")),
            (
                Method::PATCH,
                "/api/settings",
                ("origin", "http://127.0.0.1:1"),
            ),
        ] {
            let refused =
                check(&method, path, &headers(&[HOST, extra]), "http").expect_err("refused");
            assert_eq!(
                refused.kind(),
                "forbidden_origin",
                "{method} {path} {extra:?}"
            );
        }
        // Under TLS the own origin is https.
        assert!(check(
            &Method::POST,
            "/api/send",
            &headers(&[HOST, ("origin", "https://127.0.0.1:8731")]),
            "https"
        )
        .is_ok());
    }

    #[test]
    fn bodies_must_be_json() {
        let json = headers(&[
            HOST,
            ("content-type", "application/json; charset=utf-8"),
            ("content-length", "2"),
        ]);
        assert!(check(&Method::POST, "/api/send", &json, "http").is_ok());
        for (ctype, length) in [
            ("text/plain", "2"),
            ("application/x-www-form-urlencoded", "2"),
            ("multipart/form-data; boundary=x", "2"),
            ("application/jsonx", "2"),
        ] {
            let h = headers(&[HOST, ("content-type", ctype), ("content-length", length)]);
            let refused = check(&Method::POST, "/api/send", &h, "http").expect_err(ctype);
            assert_eq!(refused.kind(), "unsupported_media_type");
        }
        let chunked = headers(&[HOST, ("transfer-encoding", "chunked")]);
        assert!(check(&Method::PATCH, "/api/settings", &chunked, "http").is_err());
        // No body, no type needed (DELETE, logout).
        let empty = headers(&[HOST, ("content-length", "0")]);
        assert!(check(&Method::POST, "/api/logout", &empty, "http").is_ok());
        assert!(check(&Method::DELETE, "/api/devices/x", &headers(&[HOST]), "http").is_ok());
    }

    #[test]
    fn the_page_policy_allows_its_inline_scripts_only() {
        assert_eq!(page_csp(&[]), CSP_BASE);
        let csp = page_csp(&["abc=".to_owned()]);
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-abc='; "),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"));
    }
}
