//! `/api/codes/latest` and the long poll `/api/codes/wait`, for scripts and end-to-end tests that need the
//! newest verification code.
//!
//! A waiter costs one broadcast receiver and one sleeping task: no polling of the store, so a thousand of
//! them wait for free and one committed message releases all of them at once.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use simrelay_protocol::{Message, ServerEvent};
use tokio::sync::broadcast::error::RecvError;

use super::error::Failure;
use super::params::Params;
use super::AppState;
use crate::store::{MessageQuery, Order};

const DEFAULT_WAIT: Duration = Duration::from_secs(30);
/// Longer than most HTTP clients and proxies keep a request open anyway.
const MAX_WAIT: Duration = Duration::from_secs(300);

fn code_query(params: &Params) -> Result<MessageQuery, Failure> {
    Ok(MessageQuery {
        sender: params.text("sender")?,
        modem: params.text("modem")?,
        has_code: Some(true),
        limit: 1,
        ..MessageQuery::default()
    })
}

/// `GET /api/codes/latest[?sender=&modem=]`: the newest message with a code, or 404.
pub(crate) async fn latest(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Message>, Failure> {
    let query = code_query(&Params::from_query(query)?)?;
    let found = state.store.search(&query).await?;
    found
        .messages
        .into_iter()
        .next()
        .map(Json)
        .ok_or_else(|| Failure::not_found("no message with a code yet (matching the filters)"))
}

/// `GET /api/codes/wait?after=&sender=&modem=&timeout=`: the first message with a code newer than `after`
/// (default: anything that arrives from now on), as soon as it is committed; 204 on timeout.
pub(crate) async fn wait(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, Failure> {
    let params = Params::from_query(query)?;
    let mut query = code_query(&params)?;
    let timeout = params.duration("timeout", DEFAULT_WAIT, MAX_WAIT)?;
    // Subscribe before looking at the store, so a message committed in between is seen one way or the other.
    let mut events = state.hub.subscribe();
    let after = match params.id("after")? {
        Some(after) => after,
        None => state.store.max_id().await?,
    };
    query.after = Some(after);
    query.order = Order::OldestFirst;
    if let Some(message) = state
        .store
        .search(&query)
        .await?
        .messages
        .into_iter()
        .next()
    {
        return Ok(Json(message).into_response());
    }
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut deadline => return Ok(StatusCode::NO_CONTENT.into_response()),
            () = state.shutdown.cancelled() => return Err(shutting_down()),
            event = events.recv() => match event {
                Ok(ServerEvent::Sms { message }) if wanted(&query, after, &message) => {
                    return Ok(Json(message).into_response());
                }
                Ok(_) => {}
                // Missed events: the store has them all.
                Err(RecvError::Lagged(_)) => {
                    if let Some(message) = state.store.search(&query).await?.messages.into_iter().next() {
                        return Ok(Json(message).into_response());
                    }
                }
                Err(RecvError::Closed) => return Err(shutting_down()),
            }
        }
    }
}

fn wanted(query: &MessageQuery, after: i64, message: &Message) -> bool {
    message.id > after
        && message.code.is_some()
        && query.sender.as_ref().is_none_or(|s| *s == message.sender)
        && query.modem.as_ref().is_none_or(|m| *m == message.modem)
}

fn shutting_down() -> Failure {
    Failure::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "shutting_down",
        "the server is shutting down; retry shortly",
    )
}
