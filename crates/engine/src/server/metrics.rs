//! `GET /metrics`: the Prometheus text exposition of [`crate::metrics::Metrics`]. It needs the token like the
//! API (read access: it shows modem ids and counts, never message content); point Prometheus at it with
//! `authorization: {credentials: <token>}` in the scrape config.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::AppState;
use crate::metrics::CONTENT_TYPE;

/// `GET /metrics`
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let text = state.hub.metrics().encode(&state.hub.modems());
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text)
}
