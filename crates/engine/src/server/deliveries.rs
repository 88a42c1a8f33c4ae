//! `GET /api/deliveries` (the outbox's delivery log), `GET /api/deliveries/{id}` and
//! `POST /api/deliveries/{id}/replay`. They show where messages went and why a delivery failed, and replay
//! resends one with its event id: owner-only, like the settings that configure the targets (loopback clients,
//! until the security work's admin scope lands).

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::Json;
use simrelay_protocol::{Delivery, DeliveryPage, DeliveryStatus};

use super::error::Failure;
use super::params::Params;
use super::{require_loopback, AppState};
use crate::deliver::outbox::LogQuery;

/// Page size when the client does not ask for one.
const DEFAULT_LIMIT: u32 = 50;

/// `GET /api/deliveries?status=&target=&message=&before=&limit=`
pub(crate) async fn list(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<DeliveryPage>, Failure> {
    require_loopback(peer)?;
    let params = Params::from_query(query)?;
    let status = match params.text("status")? {
        None => None,
        Some(name) => Some(DeliveryStatus::parse(&name).ok_or_else(|| {
            Failure::bad_request(format!(
                "status must be pending, delivered or failed, got {name:?}"
            ))
        })?),
    };
    let query = LogQuery {
        status,
        target: params.text("target")?,
        message_id: params.id("message")?,
        before: params.id("before")?,
        limit: params.limit(DEFAULT_LIMIT, super::api::MAX_LIMIT)?,
    };
    Ok(Json(state.store.deliveries(&query).await?))
}

fn delivery_id(id: Result<Path<i64>, PathRejection>) -> Result<i64, Failure> {
    id.map(|Path(id)| id)
        .map_err(|_| Failure::bad_request("the delivery id must be an integer"))
}

/// `GET /api/deliveries/{id}`
pub(crate) async fn get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Delivery>, Failure> {
    require_loopback(peer)?;
    let id = delivery_id(id)?;
    state
        .store
        .delivery(id)
        .await?
        .map(Json)
        .ok_or_else(|| Failure::not_found(format!("there is no delivery {id}")))
}

/// `POST /api/deliveries/{id}/replay`: pending again, due now, same event id; answers the delivery.
pub(crate) async fn replay(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Delivery>, Failure> {
    require_loopback(peer)?;
    let id = delivery_id(id)?;
    let delivery = state
        .store
        .replay_delivery(id)
        .await?
        .ok_or_else(|| Failure::not_found(format!("there is no delivery {id}")))?;
    tracing::info!(delivery = id, target = %delivery.target, "delivery replayed");
    state.hub.wake_outbox();
    Ok(Json(delivery))
}
