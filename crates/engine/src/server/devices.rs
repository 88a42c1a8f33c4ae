//! `/api/devices` (admin, this machine only): list, create and revoke the devices that may use this server.
//!
//! Creating a device here makes its token and shows it once, for scripts and for typing into another program;
//! a phone is paired with a one-time code instead (`POST /api/pair`), so no token ever goes into a QR code.
//! Revoking a device refuses its token at once, ends its long polls and closes its WebSockets.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use simrelay_protocol::{DeviceList, NewDevice, PairingRequest};

use super::error::Failure;
use super::pair::pairing_request;
use super::{require_loopback, AppState};
use crate::tokens::{Scopes, TokensError};

pub(crate) async fn list(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Json<DeviceList>, Failure> {
    require_loopback(peer)?;
    // In a cluster, devices paired on other nodes a moment ago are listed too.
    state.devices.refresh().await?;
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
    let PairingRequest { name, scopes } = pairing_request(&body)?;
    let scopes = scopes.unwrap_or(Scopes::DEFAULT_DEVICE);
    // Stored (the tokens file synced, or the cluster's row committed) before answering: a shown token must
    // survive a crash.
    let (device, token) = state.devices.create(&name, scopes).await?;
    tracing::info!(device = %device.id, name = %device.name, scopes = %device.scopes, "paired a new device");
    Ok((StatusCode::CREATED, Json(NewDevice { device, token })).into_response())
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
) -> Result<StatusCode, Failure> {
    require_loopback(peer)?;
    state.devices.revoke(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

impl From<TokensError> for Failure {
    fn from(e: TokensError) -> Failure {
        match e {
            TokensError::InvalidName(_) | TokensError::InvalidScope(_) | TokensError::NoScopes => {
                Failure::bad_request(e.to_string())
            }
            TokensError::BadCode => {
                Failure::new(StatusCode::UNAUTHORIZED, "bad_pairing_code", e.to_string())
            }
            TokensError::TooManyPairings => Failure::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_pairings",
                e.to_string(),
            ),
            TokensError::Exists(_) => {
                Failure::new(StatusCode::CONFLICT, "device_exists", e.to_string())
            }
            TokensError::NoDevice(_) | TokensError::NotFound(_) => {
                Failure::not_found(e.to_string())
            }
            TokensError::Database(_) => {
                tracing::error!(error = %e, "the paired devices in the database failed");
                Failure::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "the paired devices could not be read or written in the database; try again once it is \
                     reachable (see the server log)",
                )
            }
            TokensError::Io { .. } | TokensError::Parse { .. } | TokensError::MainToken { .. } => {
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
