//! `/api/modems`: listing the modems, adding one (a serial port, or the demo modem) and removing one while the
//! server runs, and entering a SIM's PIN (`POST /api/modems/{id}/pin`, loopback only).
//!
//! A modem added here is stored and started again at the next start; see [`crate::modems`].

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use simrelay_modem::{ModemError, ModemHandle};
use simrelay_protocol::{
    AddModem, ModemList, ModemState, ModemStatus, PinRejected, PinRequest, RemovedModem,
};

use super::error::Failure;
use super::ports::{body_failure, checked_port};
use super::{require_loopback, AppState};
use crate::modems::{AddError, Origin};

/// Longest modem label.
const MAX_LABEL: usize = 64;
/// How long the answer waits for a new modem to tell its id (a present modem answers within a second).
const IDENTIFY_WAIT: Duration = Duration::from_secs(5);
/// How long it then waits for the modem's first status.
const STATUS_WAIT: Duration = Duration::from_secs(2);

/// `GET /api/modems`: the status of every modem.
pub(crate) async fn list(State(state): State<AppState>) -> Json<ModemList> {
    Json(ModemList {
        modems: state.hub.modems(),
    })
}

fn checked_label(label: Option<String>) -> Result<Option<String>, Failure> {
    let Some(label) = label else {
        return Ok(None);
    };
    let label = label.trim();
    if label.chars().count() > MAX_LABEL || label.chars().any(char::is_control) {
        return Err(Failure::bad_request(format!(
            "label must have at most {MAX_LABEL} characters and no control characters"
        )));
    }
    Ok((!label.is_empty()).then(|| label.to_owned()))
}

/// `POST /api/modems {"port": "/dev/ttyUSB2", "label"?: "..."}` or `{"demo": true}`: starts the modem and
/// answers 201 with its status (409 `port_in_use` if a running modem has that port).
pub(crate) async fn add(
    State(state): State<AppState>,
    body: Result<Json<AddModem>, JsonRejection>,
) -> Result<(StatusCode, Json<ModemStatus>), Failure> {
    let Json(request) = body.map_err(|e| body_failure(&e))?;
    let label = checked_label(request.label)?;
    let started = match (request.port, request.demo) {
        (Some(_), true) => {
            return Err(Failure::bad_request(
                "give either port or demo: true, not both",
            ))
        }
        (None, false) => {
            return Err(Failure::bad_request(
                "give the modem's port ({\"port\": \"/dev/ttyUSB2\"}) or {\"demo\": true}",
            ))
        }
        (None, true) => {
            if label.is_some() {
                return Err(Failure::bad_request("the demo modem takes no label"));
            }
            state.modems.add_demo(Origin::Added).await
        }
        (Some(port), false) => {
            let port = checked_port(&port, &state.allowed_ports)?;
            // A typo would be stored and retried forever; a modem that exists but is silent is accepted.
            if cfg!(unix) && !std::path::Path::new(&port).exists() {
                return Err(Failure::new(
                    StatusCode::NOT_FOUND,
                    "port_not_found",
                    format!(
                        "there is no {port}: check the path, or plug the modem in and pick it from the port \
                         list (GET /api/ports)"
                    ),
                ));
            }
            state.modems.add_serial(&port, label, Origin::Added).await
        }
    };
    let handle = started.map_err(|e| match e {
        AddError::InUse { .. } => Failure::new(StatusCode::CONFLICT, "port_in_use", e.to_string()),
        AddError::Demo(_) => Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "demo_failed",
            e.to_string(),
        ),
        AddError::Store(e) => e.into(),
    })?;
    Ok((
        StatusCode::CREATED,
        Json(first_status(&state, &handle).await),
    ))
}

/// The new modem's status once it told its id and reported (bounded waits), else what is known of it.
async fn first_status(state: &AppState, handle: &ModemHandle) -> ModemStatus {
    let id = tokio::time::timeout(IDENTIFY_WAIT, handle.identified())
        .await
        .unwrap_or_else(|_| handle.id());
    let deadline = tokio::time::Instant::now() + STATUS_WAIT;
    loop {
        if let Some(status) = state.hub.modems().into_iter().find(|m| m.id == id) {
            return status;
        }
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ModemStatus::new(id, "", ModemState::Connecting)
}

/// `DELETE /api/modems/{id}`: stops the modem (by its id or the port path it was added with), forgets it, and
/// publishes `modem_removed`. 404 when no running modem has that id.
pub(crate) async fn remove(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<RemovedModem>, Failure> {
    let Path(id) = id.map_err(|_| Failure::bad_request("the modem id must be text"))?;
    match state.modems.remove(&id).await? {
        Some(removed) => Ok(Json(RemovedModem {
            removed: removed.id,
            from_config: removed.from_config,
        })),
        None => Err(Failure::not_found(format!(
            "there is no modem {id:?}; see GET /api/modems"
        ))),
    }
}

/// How long the answer to a PIN waits for the modem to report itself unlocked.
const UNLOCK_WAIT: Duration = Duration::from_secs(10);

/// `POST /api/modems/{id}/pin {"pin": "1234"}` (loopback only): tries the PIN once. Accepted, it is stored for
/// the next start and the answer is the modem's status; rejected, 422 with the tries left; a SIM that wants its
/// PUK, or no PIN, 409; an unknown modem 404.
pub(crate) async fn enter_pin(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<PinRequest>, JsonRejection>,
) -> Result<Json<ModemStatus>, Response> {
    require_loopback(peer).map_err(IntoResponse::into_response)?;
    let Path(id) =
        id.map_err(|_| Failure::bad_request("the modem id must be text").into_response())?;
    let Json(request) = body.map_err(|_| {
        Failure::bad_request("the body must be {\"pin\": \"<4 to 8 digits>\"}").into_response()
    })?;
    if let Some(problem) = request.problem() {
        return Err(Failure::bad_request(problem).into_response());
    }
    let Some((handle, port)) = state.modems.named_with_port(&id) else {
        return Err(
            Failure::not_found(format!("there is no modem {id:?}; see GET /api/modems"))
                .into_response(),
        );
    };
    let status_now = || state.hub.modems().into_iter().find(|m| m.id == handle.id());
    if let Some(status) = status_now().filter(|s| s.state == ModemState::PukRequired) {
        return Err(puk_required(status.last_error).into_response());
    }
    match handle.enter_pin(request.pin.clone()).await {
        Ok(()) => {}
        Err(ModemError::PinRejected { attempts_left }) => {
            let detail = ModemError::PinRejected { attempts_left }.to_string();
            return Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(PinRejected {
                    error: "pin_rejected".into(),
                    detail: format!("{detail}; check the PIN and try again, it is not retried"),
                    attempts_left,
                }),
            )
                .into_response());
        }
        Err(ModemError::Pin(reason)) => {
            let puk = status_now().is_some_and(|s| s.state == ModemState::PukRequired);
            return Err(if puk {
                puk_required(Some(reason))
            } else {
                Failure::new(StatusCode::CONFLICT, "no_pin_wanted", reason)
            }
            .into_response());
        }
        Err(e @ (ModemError::Disconnected | ModemError::Stopped)) => {
            return Err(Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "modem_unavailable",
                format!("{e}; check that it is plugged in and try again"),
            )
            .into_response());
        }
        Err(e) => {
            return Err(Failure::new(
                StatusCode::BAD_GATEWAY,
                "modem_failed",
                format!("the PIN could not be entered: {e}; try again"),
            )
            .into_response());
        }
    }
    // The SIM took it: from now on it is the PIN for this port.
    match state.modems.remember_pin(&port, &request.pin) {
        Ok(true) => {}
        Ok(false) => tracing::info!(%port, "no state directory: the SIM PIN is not stored"),
        Err(e) => tracing::error!(%port, error = %e, "cannot store the SIM PIN"),
    }
    let deadline = tokio::time::Instant::now() + UNLOCK_WAIT;
    loop {
        let status = status_now();
        // The driver clears the tries left once the SIM took the PIN; an older `connecting` status still has them.
        let unlocked = status.as_ref().is_some_and(|s| {
            !matches!(s.state, ModemState::PinRequired | ModemState::PukRequired)
                && s.pin_attempts_left.is_none()
        });
        if unlocked || tokio::time::Instant::now() >= deadline {
            return Ok(Json(status.unwrap_or_else(|| {
                ModemStatus::new(handle.id(), "", ModemState::Connecting)
            })));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn puk_required(reason: Option<String>) -> Failure {
    Failure::new(
        StatusCode::CONFLICT,
        "puk_required",
        reason.unwrap_or_else(|| {
            "the SIM wants its PUK after three wrong PINs: put it in a phone, enter the PUK from the SIM's \
             card there and choose a new PIN, then enter that PIN here"
                .into()
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_trimmed_and_bounded() {
        assert_eq!(checked_label(None).ok(), Some(None));
        assert_eq!(checked_label(Some("  ".into())).ok(), Some(None));
        assert_eq!(
            checked_label(Some(" Work SIM ".into())).ok(),
            Some(Some("Work SIM".into()))
        );
        assert!(checked_label(Some("a\u{7}b".into())).is_err());
        assert!(checked_label(Some("é".repeat(MAX_LABEL + 1))).is_err());
    }
}
