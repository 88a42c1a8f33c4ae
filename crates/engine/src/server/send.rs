//! `POST /api/send` and `GET /api/sent/{id}`: sending an SMS through a modem.
//!
//! The request is answered `202` as soon as the message is recorded; the modem sends it in the background,
//! and its progress (`queued` → `sending` → `sent` | `failed`, later `delivered` from a status report) shows on
//! `GET /api/sent/{id}` and, as each status is recorded, as a `sent` frame on `/ws`.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use simrelay_modem::ModemHandle;
use simrelay_pdu::SubmitOptions;
use simrelay_protocol::{SendAccepted, SendRequest};

use super::error::Failure;
use super::AppState;
use crate::hub::{publish_stored_sent as publish, Hub};
use crate::store::{SendStatus, SentMessage, Store};

/// Longest text accepted: ten UCS2 parts, about what phones allow.
const MAX_TEXT: usize = 670;
/// Longest recipient number (E.164 has at most 15 digits; some networks add prefixes).
const MAX_TO: usize = 20;

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
    let to = request.to.trim();
    let valid_number = to.strip_prefix('+').unwrap_or(to);
    if valid_number.is_empty()
        || to.len() > MAX_TO
        || !valid_number.chars().all(|c| c.is_ascii_digit())
    {
        return Err(Failure::bad_request(
            "to must be a phone number: digits, optionally starting with +",
        ));
    }
    if request.text.is_empty() || request.text.chars().count() > MAX_TEXT {
        return Err(Failure::bad_request(format!(
            "text must have 1 to {MAX_TEXT} characters"
        )));
    }
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
    let (modem_id, handle) = pick_modem(&state, request.modem.as_deref())?;
    let options = SubmitOptions {
        concat_reference: rand::random(),
        // Delivery reports turn `sent` into `delivered` (or `failed`); networks normally do not charge for them.
        request_status_report: true,
        ..SubmitOptions::default()
    };
    let pdus = simrelay_pdu::encode_submit(to, &request.text, &options)
        .map_err(|e| Failure::bad_request(format!("cannot encode the message: {e}")))?;
    let id = state
        .store
        .insert_sent(&modem_id, to, &request.text, pdus.len())
        .await?;
    publish(&state.store, &state.hub, id).await;
    tokio::spawn(deliver(
        state.store.clone(),
        state.hub.clone(),
        handle,
        id,
        pdus,
    ));
    Ok((
        StatusCode::ACCEPTED,
        Json(SendAccepted {
            id,
            status: SendStatus::Queued,
        }),
    ))
}

/// The driver of the modem `id` names: its current id (learned from the modem, `imei:...`) or the one it was
/// started under (its port path).
fn handle_named(state: &AppState, id: &str) -> Option<ModemHandle> {
    state.modems.named(id)
}

fn pick_modem(state: &AppState, wanted: Option<&str>) -> Result<(String, ModemHandle), Failure> {
    match wanted {
        // Sent messages are recorded under the modem's current id, the one its delivery reports come under.
        Some(id) => handle_named(state, id).map(|h| (h.id(), h)).ok_or_else(|| {
            Failure::bad_request(format!("there is no modem {id:?}; see GET /api/modems"))
        }),
        None => {
            let connected = state
                .hub
                .modems()
                .into_iter()
                .find(|m| m.state == simrelay_protocol::ModemState::Connected);
            let id = connected
                .map(|m| m.id)
                .or_else(|| state.modems.handles().first().map(ModemHandle::id));
            id.and_then(|id| handle_named(state, &id).map(|h| (h.id(), h)))
                .ok_or_else(|| {
                    Failure::new(
                        StatusCode::CONFLICT,
                        "no_modem",
                        "no modem is configured; start with --modem PATH or --demo",
                    )
                })
        }
    }
}

async fn deliver(store: Store, hub: Hub, modem: ModemHandle, id: i64, pdus: Vec<Vec<u8>>) {
    let record = |status, error: Option<String>, refs: Vec<u8>| {
        let store = store.clone();
        let hub = hub.clone();
        async move {
            match store.update_sent(id, status, error.as_deref(), &refs).await {
                Ok(()) => publish(&store, &hub, id).await,
                Err(e) => {
                    tracing::error!(id, error = %e, "cannot record the status of a sent message")
                }
            }
        }
    };
    record(SendStatus::Sending, None, Vec::new()).await;
    match modem.send(pdus).await {
        Ok(refs) => record(SendStatus::Sent, None, refs).await,
        Err(e) => {
            tracing::warn!(id, error = %e, "sending failed");
            record(SendStatus::Failed, Some(e.to_string()), Vec::new()).await;
        }
    }
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
