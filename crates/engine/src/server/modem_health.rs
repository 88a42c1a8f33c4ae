//! `GET /api/modems/{id}/health[?utc_offset=<minutes>]`: one modem's signal over the last 24 hours and its
//! messages per day (read scope), for the Modems screen's charts; see [`crate::health`].

use std::collections::HashMap;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{FixedOffset, Utc};
use simrelay_protocol::ModemHistory;

use super::error::Failure;
use super::params::Params;
use super::AppState;

/// The widest UTC offset there is (UTC+14, UTC-12 rounded out), in minutes.
const MAX_OFFSET_MINUTES: i32 = 14 * 60;

/// Answers 404 for a modem that is not listed (`GET /api/modems`), and 400 for an offset beyond ±14 hours.
pub(crate) async fn get(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<ModemHistory>, Failure> {
    let Path(id) = id.map_err(|_| Failure::bad_request("the modem id must be text"))?;
    let params = Params::from_query(query)?;
    let minutes = match params.text("utc_offset")? {
        None => 0,
        Some(text) => text
            .parse::<i32>()
            .ok()
            .filter(|m| m.abs() <= MAX_OFFSET_MINUTES)
            .ok_or_else(|| {
                Failure::bad_request(format!(
                    "utc_offset must be whole minutes east of UTC, from -{MAX_OFFSET_MINUTES} to \
                     {MAX_OFFSET_MINUTES} (120 for UTC+2)"
                ))
            })?,
    };
    let offset = FixedOffset::east_opt(minutes * 60)
        .ok_or_else(|| Failure::bad_request("utc_offset is out of range"))?;
    if !state.hub.modems().iter().any(|m| m.id == id) {
        return Err(Failure::not_found(format!(
            "there is no modem {id:?}; see GET /api/modems"
        )));
    }
    let health = crate::health::health(&state.store, &id, Utc::now(), offset).await?;
    Ok(Json(health))
}
