//! `/api/devices` (loopback only): list, pair and revoke the devices that may use this server from the LAN.
//!
//! Pairing a device creates its own token (shown once, in the answer, with a link and a QR code of it for
//! each LAN address); revoking it refuses the token at once and closes its WebSockets.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use simrelay_protocol::{DeviceList, NewDevice, PairingRequest};

use super::error::Failure;
use super::pair::links;
use super::{require_loopback, AppState};
use crate::tokens::TokensError;

pub(crate) async fn list(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Json<DeviceList>, Failure> {
    require_loopback(peer)?;
    Ok(Json(DeviceList {
        devices: state.devices.list(),
    }))
}

pub(crate) async fn create(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Result<Response, Failure> {
    require_loopback(peer)?;
    let shape = |e: String| {
        Failure::bad_request(format!(
            "the body must be {{\"name\": \"<device name>\"}} and nothing else: {e}"
        ))
    };
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| shape(e.to_string()))?;
    if !value.is_object() {
        return Err(shape("not a JSON object".into()));
    }
    let PairingRequest { name } =
        serde_json::from_value(value).map_err(|e| shape(e.to_string()))?;
    let devices = state.devices.clone();
    // The tokens file is written (and synced) before answering: a shown token must survive a crash.
    let (device, token) = tokio::task::spawn_blocking(move || devices.create(&name))
        .await
        .map_err(|_| internal())?
        .map_err(Failure::from)?;
    tracing::info!(device = %device.id, name = %device.name, "paired a new device");
    let links = links(&state.listeners.lan_addrs(), &token, state.scheme())?;
    Ok((
        StatusCode::CREATED,
        Json(NewDevice {
            device,
            token,
            links,
        }),
    )
        .into_response())
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
) -> Result<StatusCode, Failure> {
    require_loopback(peer)?;
    let devices = state.devices.clone();
    tokio::task::spawn_blocking(move || devices.revoke(&id))
        .await
        .map_err(|_| internal())?
        .map_err(Failure::from)?;
    Ok(StatusCode::NO_CONTENT)
}

fn internal() -> Failure {
    Failure::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the server failed; see its log",
    )
}

impl From<TokensError> for Failure {
    fn from(e: TokensError) -> Failure {
        match e {
            TokensError::InvalidName(_) => Failure::bad_request(e.to_string()),
            TokensError::Exists(_) => {
                Failure::new(StatusCode::CONFLICT, "device_exists", e.to_string())
            }
            TokensError::NoDevice(_) | TokensError::NotFound(_) => {
                Failure::not_found(e.to_string())
            }
            TokensError::Io { .. } | TokensError::Parse { .. } => {
                tracing::error!(error = %e, "the paired-devices file failed");
                Failure::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the paired-devices file (tokens.toml) could not be used; see the server log",
                )
            }
        }
    }
}
