//! The JSON endpoints under `/api` for messages (and `/api/health`).

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use simrelay_protocol::{DatabaseHealth, Health, MessageDetail, MessagePage};

use super::error::Failure;
use super::params::Params;
use super::AppState;
use crate::store::{MessageQuery, Order};

/// Page size when the client does not ask for one.
const DEFAULT_LIMIT: u32 = 50;
/// Largest page a client may ask for: bounds the memory and time one request can cost.
pub(crate) const MAX_LIMIT: u32 = 500;

/// `GET /api/health`: answers as long as the server runs; needs no token. Whether the database takes commits is
/// told without the reason (which the modems' statuses give to a client with a token).
pub(crate) async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        database: if state.hub.database_error().is_some() {
            DatabaseHealth::Unavailable
        } else {
            DatabaseHealth::Ok
        },
    })
}

/// The message filters shared by `/api/messages`, `/api/codes/*` and `/api/export`.
pub(crate) fn filters(params: &Params) -> Result<MessageQuery, Failure> {
    Ok(MessageQuery {
        text: params.text("q")?,
        sender: params.text("sender")?,
        modem: params.text("modem")?,
        has_code: params.flag("has_code")?,
        since: params.time("since")?,
        until: params.time("until")?,
        before: params.id("before")?,
        after: params.id("after")?,
        ..MessageQuery::default()
    })
}

/// `GET /api/messages?q=&sender=&modem=&has_code=&since=&until=&before=&after=&limit=&sort=`
pub(crate) async fn messages(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<MessagePage>, Failure> {
    let params = Params::from_query(query)?;
    let mut query = filters(&params)?;
    query.limit = params.limit(DEFAULT_LIMIT, MAX_LIMIT)?;
    query.order = match params.text("sort")?.as_deref() {
        None | Some("newest") => Order::NewestFirst,
        Some("oldest") => Order::OldestFirst,
        Some("relevance") => Order::Relevance,
        Some(other) => {
            return Err(Failure::bad_request(format!(
                "sort must be newest, oldest or relevance, got {other:?}"
            )))
        }
    };
    let found = state.store.search(&query).await?;
    Ok(Json(MessagePage {
        messages: found.messages,
        next: found.next,
        highlights: found.highlights,
    }))
}

/// `GET /api/messages/{id}`
pub(crate) async fn message(
    State(state): State<AppState>,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
) -> Result<Json<MessageDetail>, Failure> {
    let id = message_id(id)?;
    let message = state.store.get(id).await?.ok_or_else(|| no_message(id))?;
    let raw = state.store.raw_pdus(id).await?;
    // Binary data has no text; its bytes are what the user may want to look at.
    let data = message
        .description()
        .map(|_| hex::encode_upper(crate::ingest::payload(&raw)));
    let pdus = raw.iter().map(hex::encode_upper).collect();
    Ok(Json(MessageDetail {
        message,
        pdus,
        data,
    }))
}

/// `DELETE /api/messages/{id}`: 204, or 404 when there is no such message.
pub(crate) async fn delete_message(
    State(state): State<AppState>,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
) -> Result<StatusCode, Failure> {
    let id = message_id(id)?;
    if state.store.delete(id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_message(id))
    }
}

fn message_id(
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
) -> Result<i64, Failure> {
    id.map(|Path(id)| id)
        .map_err(|_| Failure::bad_request("the message id must be an integer"))
}

fn no_message(id: i64) -> Failure {
    Failure::not_found(format!("there is no message {id}"))
}
