//! The static web UI: the Trunk output in `dist/` at the repository root, embedded into release builds.
//!
//! Debug builds read `dist/` from disk at request time (rust-embed's behaviour), so a `trunk build` shows up
//! without recompiling the engine. Unknown paths that look like UI routes get `index.html` (the Leptos app
//! routes on the client); when the UI was never built, a plain page says how to build it.

use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::error::Failure;

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
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
