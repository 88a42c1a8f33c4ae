//! `GET /api/conversations`, `GET /api/conversations/{peer}` and `POST /api/conversations/{peer}/read`:
//! messages grouped by correspondent, as a phone shows them (see [`crate::store::ConversationCursor`]).

use std::collections::{BTreeSet, HashMap};

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use simrelay_protocol::{ConversationPage, MarkRead, ReadState, ThreadPage};

use super::api::MAX_LIMIT;
use super::error::Failure;
use super::params::Params;
use super::AppState;
use crate::store::{ConversationCursor, ThreadCursor};

/// Page size when the client does not ask for one.
const DEFAULT_LIMIT: u32 = 50;
/// Longest correspondent accepted in a path (senders are at most 20 digits or 11 letters on the network).
const MAX_PEER: usize = 256;

/// Ids of the modems and sources running now: a reply can only go out through one of them.
fn running(state: &AppState) -> BTreeSet<String> {
    state.hub.modems().into_iter().map(|m| m.id).collect()
}

fn peer_of(peer: Result<Path<String>, PathRejection>) -> Result<String, Failure> {
    let Path(peer) = peer.map_err(|e| Failure::bad_request(e.body_text()))?;
    if peer.is_empty() || peer.chars().count() > MAX_PEER {
        return Err(Failure::bad_request(format!(
            "the correspondent must be 1 to {MAX_PEER} characters (percent-encoded in the path)"
        )));
    }
    Ok(peer)
}

fn bad_cursor() -> Failure {
    Failure::bad_request("before must be the `next` of a previous page, passed back unchanged")
}

/// `GET /api/conversations?before=&limit=`
pub(crate) async fn list(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<ConversationPage>, Failure> {
    let params = Params::from_query(query)?;
    let limit = params.limit(DEFAULT_LIMIT, MAX_LIMIT)?;
    let before = match params.text("before")? {
        Some(text) => Some(ConversationCursor::parse(&text).ok_or_else(bad_cursor)?),
        None => None,
    };
    let list = state.store.conversations(before.as_ref(), limit).await?;
    let running = running(&state);
    Ok(Json(ConversationPage {
        conversations: list
            .conversations
            .into_iter()
            .map(|mut c| {
                c.reply_from = c.reply_from.filter(|m| running.contains(m));
                c
            })
            .collect(),
        next: list.next.map(|c| c.encode()),
    }))
}

/// `GET /api/conversations/{peer}?q=&before=&limit=`
pub(crate) async fn thread(
    State(state): State<AppState>,
    peer: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<ThreadPage>, Failure> {
    let peer = peer_of(peer)?;
    let params = Params::from_query(query)?;
    let limit = params.limit(DEFAULT_LIMIT, MAX_LIMIT)?;
    let before = match params.text("before")? {
        Some(text) => Some(ThreadCursor::parse(&text).ok_or_else(bad_cursor)?),
        None => None,
    };
    let words: Vec<String> = params
        .text("q")?
        .map(|q| q.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    let page = state
        .store
        .thread(&peer, before.as_ref(), &words, limit)
        .await?;
    let unread = state.store.unread(&peer).await?;
    let reply_from = state
        .store
        .reply_from(&peer)
        .await?
        .filter(|m| running(&state).contains(m));
    Ok(Json(ThreadPage {
        peer,
        entries: page.entries,
        next: page.next.map(|c| c.encode()),
        unread,
        reply_from,
    }))
}

/// `POST /api/conversations/{peer}/read` with `{"up_to": id}` (or `{}`: everything so far).
pub(crate) async fn mark_read(
    State(state): State<AppState>,
    peer: Result<Path<String>, PathRejection>,
    body: Result<Json<MarkRead>, JsonRejection>,
) -> Result<Json<ReadState>, Failure> {
    let peer = peer_of(peer)?;
    let Json(request) = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            Failure::new(e.status(), "payload_too_large", e.body_text())
        }
        _ => Failure::bad_request(e.body_text()),
    })?;
    let unread = state.store.mark_read(&peer, request.up_to).await?;
    Ok(Json(ReadState { peer, unread }))
}
