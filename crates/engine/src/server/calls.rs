//! Calls and USSD: `GET /api/calls` (the calls in the history, newest first, by modem) and
//! `POST /api/modems/{id}/ussd` (a USSD code such as `*100#`, answered with the network's reply).

use std::collections::HashMap;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use simrelay_modem::ModemError;
use simrelay_protocol::{CallPage, UssdReply, UssdRequest};

use super::error::Failure;
use super::params::Params;
use super::AppState;
use crate::store::MAX_CALL_PAGE;

/// Calls a page lists unless `limit` says otherwise.
const DEFAULT_LIMIT: u32 = 100;

/// `GET /api/calls?modem=&before=&limit=`: calls, newest first; `before` is the previous page's
/// `next_before`.
pub(crate) async fn list(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<CallPage>, Failure> {
    let params = Params::from_query(query)?;
    let modem = params.text("modem")?;
    let before = params.id("before")?;
    let limit = params.limit(DEFAULT_LIMIT, MAX_CALL_PAGE)?;
    Ok(Json(
        state.store.calls(modem.as_deref(), before, limit).await?,
    ))
}

/// `POST /api/modems/{id}/ussd {"code":"*100#"}`: sends the code and answers the network's reply
/// (`200 {"reply":…,"session_open":…}`); `409 busy` while another USSD request runs on the modem,
/// `504 timeout` when the network does not answer within 30 s, `502 ussd_failed` when it refuses the code.
pub(crate) async fn ussd(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<UssdRequest>, JsonRejection>,
) -> Result<Json<UssdReply>, Failure> {
    let Path(id) = id.map_err(|_| Failure::bad_request("the modem id must be text"))?;
    let Json(request) = body.map_err(|_| {
        Failure::bad_request("the body must be {\"code\": \"<a USSD code such as *100#>\"}")
    })?;
    if let Some(problem) = request.problem() {
        return Err(Failure::bad_request(problem));
    }
    let Some(handle) = state.modems.named(&id) else {
        return Err(Failure::not_found(format!(
            "there is no modem {id:?} on this relay; see GET /api/modems"
        )));
    };
    match handle.ussd(request.code.trim().to_owned()).await {
        Ok(reply) => Ok(Json(UssdReply {
            reply: reply.reply,
            session_open: reply.session_open,
        })),
        Err(e) => Err(ussd_failure(e)),
    }
}

/// The answer to a failed USSD request.
fn ussd_failure(e: ModemError) -> Failure {
    match e {
        ModemError::Busy(detail) => Failure::new(StatusCode::CONFLICT, "busy", detail),
        ModemError::Ussd(detail) => Failure::new(StatusCode::BAD_GATEWAY, "ussd_failed", detail),
        ModemError::Timeout { seconds, .. } => Failure::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            format!(
                "no reply from the network within {seconds:.0} s; check the code and the signal, then try again"
            ),
        ),
        e @ (ModemError::Disconnected | ModemError::Stopped) => Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "modem_unavailable",
            format!("{e}; check that it is plugged in and try again"),
        ),
        e => Failure::new(
            StatusCode::BAD_GATEWAY,
            "modem_failed",
            format!("the modem refused the USSD request: {e}; check the code and try again"),
        ),
    }
}
