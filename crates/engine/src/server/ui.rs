//! The static web UI: the Trunk output in `dist/` at the repository root, embedded into release builds.
//!
//! Debug builds read `dist/` from disk at request time (rust-embed's behaviour), so a `trunk build` shows up
//! without recompiling the engine. Unknown paths that look like UI routes get `index.html` (the Leptos app
//! routes on the client); when the UI was never built, a plain page says how to build it.
//!
//! `index.html` gets a Content Security Policy that allows its own inline scripts by hash (Trunk's loader) and
//! nothing else inline; every response also gets the framing and sniffing headers (`origin.rs`).

use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::error::Failure;
use super::origin::page_csp;

#[derive(rust_embed::Embed)]
#[folder = "../../dist/"]
#[allow_missing = true]
struct Assets;

/// Shown instead of the UI when `dist/` is empty. Static text, no request data in it.
const NOT_BUILT: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>SimRelay</title></head>\
<body><h1>SimRelay is running, but its web UI was not built</h1>\
<p>The API works: try <a href=\"/api/health\">/api/health</a>.</p>\
<p>To get the UI, build it at the repository root with <code>trunk build --release --offline</code> \
(this writes <code>dist/</code>), then rebuild <code>simrelay</code> (release builds embed <code>dist/</code>; \
debug builds read it from disk).</p></body></html>\n";

/// Fallback handler: serves a UI file, the SPA's `index.html`, or a JSON 404 for unknown API paths.
pub(crate) async fn serve(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path == "api" || path.starts_with("api/") {
        return Failure::not_found(format!("no API endpoint {}; see docs/API.md", uri.path()))
            .into_response();
    }
    // Provider webhooks when no source is configured (or the hook is not inbound/status): not the UI.
    if path == "sources" || path.starts_with("sources/") {
        return Failure::not_found(format!(
            "no provider webhook {}; sources are configured under [[sources]] (see docs/API.md)",
            uri.path()
        ))
        .into_response();
    }
    if !path.is_empty() {
        if let Some(file) = Assets::get(path) {
            return file_response(path, file);
        }
        // A path with an extension is a missing asset, not a client-side route.
        let last = path.rsplit('/').next().unwrap_or(path);
        if last.contains('.') && last != "index.html" {
            return Failure::not_found(format!("no file {}", uri.path())).into_response();
        }
    }
    match Assets::get("index.html") {
        Some(index) => file_response("index.html", index),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            NOT_BUILT,
        )
            .into_response(),
    }
}

fn file_response(path: &str, file: rust_embed::EmbeddedFile) -> Response {
    let mime = file.metadata.mimetype().to_owned();
    let csp = (path == "index.html").then(|| page_csp(&inline_script_hashes(&file.data)));
    let mut response = (StatusCode::OK, file.data.into_owned()).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    // Trunk hashes asset names, so those can be cached for good; index.html names them and must not be.
    let cache = if path == "index.html" {
        "no-cache"
    } else {
        "public, max-age=31536000, immutable"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Some(value) = csp.and_then(|csp| HeaderValue::from_str(&csp).ok()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// The base64 SHA-256 of the text of each inline `<script>` (one without `src`) in an HTML page, as a Content
/// Security Policy names them.
fn inline_script_hashes(html: &[u8]) -> Vec<String> {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    let Ok(html) = std::str::from_utf8(html) else {
        return Vec::new();
    };
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        rest = &rest[start..];
        let Some(open_end) = rest.find('>') else {
            break;
        };
        let attributes = &rest[..open_end];
        let body = &rest[open_end + 1..];
        let Some(close) = body.find("</script>") else {
            break;
        };
        if !attributes.contains("src=") {
            let digest = Sha256::digest(&body.as_bytes()[..close]);
            hashes.push(base64::engine::general_purpose::STANDARD.encode(digest));
        }
        rest = &body[close..];
    }
    hashes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_hashed_and_external_ones_are_not() {
        let html = b"<html><head><script type=\"module\">import init from '/a.js';</script>\
                     <script src=\"/b.js\"></script><script>\n</script></head></html>";
        let hashes = inline_script_hashes(html);
        assert_eq!(hashes.len(), 2);
        // echo -n "import init from '/a.js';" | openssl dgst -sha256 -binary | base64
        assert_eq!(hashes[0], "aOee+rvEUMphqlepW7nBjXpcT6aM6jxNXbtEv0XP738=");
        assert!(inline_script_hashes(b"<script>unterminated").is_empty());
    }
}
