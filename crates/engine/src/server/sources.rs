//! `/sources/{name}/inbound` and `/sources/{name}/status`: the webhooks of provider sources, and sending
//! through a source for `POST /api/send`.
//!
//! These routes exist only when a source is configured. They take no token and skip the browser checks:
//! the provider cannot send our token, and what authenticates a request is the provider's signature, which
//! [`crate::sources`] verifies before reading anything else (the body limit still applies). A refused
//! signature gets `403` with a generic detail; the reason is logged and shown as the source's `last_error`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use simrelay_protocol::SourceKind;

use super::error::Failure;
use super::AppState;
use crate::sources::{twilio, Webhook, WebhookError};

/// `GET`/`POST /sources/{name}/inbound` and `/sources/{name}/status`.
pub(crate) async fn webhook(
    State(state): State<AppState>,
    Path((name, hook)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(e) => {
            return Failure::new(e.status(), "payload_too_large", e.body_text()).into_response()
        }
    };
    let source = state
        .sources
        .get(&name)
        .filter(|_| hook == "inbound" || hook == "status");
    let Some(source) = source else {
        return Failure::not_found(format!(
            "no webhook {}: sources are configured under [[sources]], and each has /inbound and /status",
            uri.path()
        ))
        .into_response();
    };
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let request = Webhook {
        method: method.as_str(),
        path_and_query: uri.path_and_query().map_or(uri.path(), |pq| pq.as_str()),
        query: uri.query(),
        host: text(header::HOST),
        https: state.tls.is_some(),
        content_type: text(header::CONTENT_TYPE),
        authorization: text(header::AUTHORIZATION),
        twilio_signature: headers
            .get("x-twilio-signature")
            .and_then(|v| v.to_str().ok()),
        body: &body,
    };
    match source.webhook(&request, Utc::now()).await {
        Ok(_) if source.kind() == SourceKind::Twilio => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            twilio::EMPTY_TWIML,
        )
            .into_response(),
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(WebhookError::Forbidden(_)) => Failure::new(
            StatusCode::FORBIDDEN,
            "forbidden_signature",
            "the provider's signature is missing or does not verify; see the source's last_error in \
             GET /api/modems",
        )
        .into_response(),
        Err(WebhookError::BadRequest(why)) => Failure::bad_request(why).into_response(),
        Err(WebhookError::Store(e)) => Failure::from(e).into_response(),
    }
}

/// `POST /api/send` through a source: when `wanted` names one, or when nothing is named and there is no modem
/// but a source that can send. `Ok(None)`: it is a modem's business.
pub(crate) async fn send(
    state: &AppState,
    wanted: Option<&str>,
    to: &str,
    text: &str,
) -> Result<Option<i64>, Failure> {
    let source = match wanted {
        Some(name) => state.sources.get(name),
        None if state.modems.handles().is_empty() => state.sources.first_sender(),
        None => None,
    };
    let Some(source) = source else {
        return Ok(None);
    };
    if let Some(problem) = source.send_problem() {
        return Err(Failure::new(StatusCode::CONFLICT, "cannot_send", problem));
    }
    Ok(Some(source.send(to, text).await?))
}
