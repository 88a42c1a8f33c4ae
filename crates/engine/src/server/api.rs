//! The JSON endpoints under `/api`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use simrelay_protocol::{Health, MessagePage};

use super::error::Failure;
use super::AppState;

/// Page size when the client does not ask for one.
const DEFAULT_LIMIT: u32 = 50;
/// Largest page a client may ask for: bounds the memory and time one request can cost.
pub(crate) const MAX_LIMIT: u32 = 500;

/// `GET /api/health`: answers as long as the server runs; needs no token.
pub(crate) async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// Query of `GET /api/messages`.
#[derive(Debug, Deserialize)]
pub(crate) struct MessagesQuery {
    limit: Option<u32>,
}

/// `GET /api/messages?limit=N`: the newest messages, newest first.
pub(crate) async fn messages(
    State(state): State<AppState>,
    query: Result<Query<MessagesQuery>, QueryRejection>,
) -> Result<Json<MessagePage>, Failure> {
    let Query(query) = query.map_err(|e| Failure::bad_request(e.body_text()))?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Failure::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}, got {limit}"
        )));
    }
    Ok(Json(MessagePage {
        messages: state.store.recent(limit).await?,
    }))
}
