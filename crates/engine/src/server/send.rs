//! `POST /api/send` and `GET /api/sent/{id}`: sending an SMS through a modem.
//!
//! The request is answered `202` as soon as the message is recorded; the modem sends it in the background,
//! and its progress (`queued` → `sending` → `sent` | `failed`, later `delivered` from a status report) shows on
//! `GET /api/sent/{id}` and, as each status is recorded, as a `sent` frame on `/ws`.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use simrelay_protocol::{SendAccepted, SendRequest};

use super::error::Failure;
use super::AppState;
use crate::outgoing::{self, SendError};
use crate::store::{SendStatus, SentMessage};

pub(crate) async fn send(
    State(state): State<AppState>,
    body: Result<Json<SendRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<SendAccepted>), Failure> {
    let Json(request) = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            Failure::new(e.status(), "payload_too_large", e.body_text())
        }
        _ => Failure::bad_request(e.body_text()),
    })?;
    let refused = |e: SendError| match e {
        SendError::BadRequest(detail) => Failure::bad_request(detail),
        SendError::NoModem => Failure::new(StatusCode::CONFLICT, "no_modem", e.to_string()),
        SendError::Store(e) => e.into(),
    };
    let to = outgoing::check(&request.to, &request.text).map_err(refused)?;
    // A provider source named (or, without any modem, the first one that can send) sends through its API.
    if let Some(id) =
        super::sources::send(&state, request.modem.as_deref(), to, &request.text).await?
    {
        return Ok((
            StatusCode::ACCEPTED,
            Json(SendAccepted {
                id,
                status: SendStatus::Queued,
            }),
        ));
    }
    let id = outgoing::submit(
        &state.store,
        &state.hub,
        &state.modems,
        to,
        &request.text,
        request.modem.as_deref(),
    )
    .await
    .map_err(refused)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(SendAccepted {
            id,
            status: SendStatus::Queued,
        }),
    ))
}

/// `GET /api/sent/{id}`
pub(crate) async fn sent(
    State(state): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<SentMessage>, Failure> {
    let Path(id) = id.map_err(|_| Failure::bad_request("the id must be an integer"))?;
    state
        .store
        .get_sent(id)
        .await?
        .map(Json)
        .ok_or_else(|| Failure::not_found(format!("there is no sent message {id}")))
}
