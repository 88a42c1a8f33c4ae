//! The HTTP request a forwarder makes, built without I/O ([`Outgoing`]) so that each service's request shape is
//! checked by unit tests, and sent by one function ([`post`]) for all of them.

use std::time::Duration;

/// A JSON `POST`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outgoing {
    /// Where to. May hold a secret (Telegram's bot token): never put it in an error or a log line.
    pub(crate) url: String,
    /// Headers besides `Content-Type: application/json`.
    pub(crate) headers: Vec<(&'static str, String)>,
    /// The JSON body.
    pub(crate) body: Vec<u8>,
}

impl Outgoing {
    /// The value of header `name` (for tests).
    #[cfg(test)]
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (for tests).
    #[cfg(test)]
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

/// Longest part of an error answer's body kept in `last_error`.
const MAX_ANSWER: usize = 300;

/// Sends `request`; `Ok` for a 2xx answer. The error says what happened without the URL (it may hold a
/// token), and quotes the start of the answer, which usually says why (Telegram's `description`, ntfy's
/// `error`).
pub(crate) async fn post(
    client: &reqwest::Client,
    request: &Outgoing,
    timeout: Duration,
) -> Result<(), String> {
    let mut builder = client
        .post(&request.url)
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    for (name, value) in &request.headers {
        builder = builder.header(*name, value);
    }
    let response = builder
        .body(request.body.clone())
        .send()
        .await
        .map_err(|e| describe(&e))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let body = super::text::one_line(super::text::cut(&body, MAX_ANSWER));
    Err(if body.is_empty() {
        format!("answered {status}")
    } else {
        format!("answered {status}: {body}")
    })
}

/// A transport error in words, without the URL.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    // The chain without the URL: `without_url` strips it from the top; sources never carry it.
    let mut detail = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

/// The HTTP client of the deliveries: no redirects (a 3xx is a failure to fix in the settings, and a
/// redirect could carry a signed body elsewhere), rustls.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("SimRelay/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot build the delivery HTTP client; using the default one");
            reqwest::Client::new()
        })
}

/// `base` without trailing slashes, then `path`.
pub(crate) fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}
