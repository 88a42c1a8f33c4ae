//! `GET`/`PATCH /api/settings` (loopback only), and [`Control`], the one place settings change: check, switch
//! LAN sharing, store, publish. The desktop shell changes settings through the same [`Control`]
//! (`Engine::update_settings`), so a tray toggle and the Settings screen cannot disagree.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;
use simrelay_protocol::{Settings, SettingsPatch};

use super::error::Failure;
use super::lan::{LanError, Listeners};
use super::{require_loopback, AppState};
use crate::hub::Hub;
use crate::store::settings::{check, parse_patch, patch_fields, SettingError};
use crate::store::{Store, StoreError};

/// Why a settings change was refused; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The change is not a JSON object.
    #[error("the body must be a JSON object of settings, e.g. {{\"lan\": true}}")]
    NotAnObject,
    /// A field has a wrong value, or is unknown.
    #[error(transparent)]
    Invalid(#[from] SettingError),
    /// LAN sharing could not be switched on.
    #[error(transparent)]
    Lan(LanError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Serialises settings changes and carries them out.
#[derive(Debug)]
pub(crate) struct Control {
    store: Store,
    hub: Hub,
    listeners: Arc<Listeners>,
    changing: tokio::sync::Mutex<()>,
}

impl Control {
    pub(crate) fn new(store: Store, hub: Hub, listeners: Arc<Listeners>) -> Control {
        Control {
            store,
            hub,
            listeners,
            changing: tokio::sync::Mutex::new(()),
        }
    }

    /// Checks `patch` and applies it all or nothing; returns the settings now in effect.
    pub(crate) async fn update(&self, patch: &SettingsPatch) -> Result<Settings, SettingsError> {
        let patch = check(patch)?;
        let changed = patch_fields(&patch);
        let _one_at_a_time = self.changing.lock().await;
        let current = self.hub.settings();
        let mut next = patch.applied_to(&current);
        let switch_lan = next.lan != current.lan;
        if switch_lan {
            self.listeners
                .set_lan(next.lan)
                .await
                .map_err(|e| match e {
                    LanError::Fixed(_) => SettingsError::Invalid(SettingError {
                        field: "lan".into(),
                        message: e.to_string(),
                    }),
                    other => SettingsError::Lan(other),
                })?;
        }
        if let Err(e) = self.store.save_settings(&changed).await {
            if switch_lan {
                // Not stored, so not changed: put sharing back as it was.
                if let Err(back) = self.listeners.set_lan(current.lan).await {
                    tracing::error!(error = %back, "cannot restore LAN sharing after a failed settings change");
                }
            }
            return Err(e.into());
        }
        // The outbox trigger reads its targets from a table: bring it up to date before anyone hears of the
        // change, so the next message goes to the new targets.
        crate::deliver::sync_targets(&self.store, &next).await?;
        next.lan = self.listeners.shared();
        if next != current {
            tracing::info!(changed = ?changed.keys().collect::<Vec<_>>(), "settings changed");
            self.hub.publish_settings(next.clone());
        }
        Ok(next)
    }
}

/// `GET /api/settings`.
pub(crate) async fn get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Json<Settings>, Failure> {
    require_loopback(peer)?;
    Ok(Json(state.hub.settings()))
}

/// `PATCH /api/settings`.
pub(crate) async fn patch(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Result<Json<Settings>, Failure> {
    require_loopback(peer)?;
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| Failure::bad_request(format!("the body is not valid JSON: {e}")))?;
    // Field by field, so a wrong value is refused with the name of its field.
    let fields = body.as_object().ok_or(SettingsError::NotAnObject)?;
    let patch = parse_patch(fields).map_err(SettingsError::from)?;
    state
        .settings
        .update(&patch)
        .await
        .map(Json)
        .map_err(Failure::from)
}

impl From<SettingsError> for Failure {
    fn from(e: SettingsError) -> Failure {
        match e {
            SettingsError::NotAnObject => Failure::bad_request(e.to_string()),
            SettingsError::Invalid(e) => {
                Failure::new(StatusCode::BAD_REQUEST, "invalid_setting", e.to_string())
            }
            SettingsError::Lan(e) => {
                Failure::new(StatusCode::CONFLICT, "lan_unavailable", e.to_string())
            }
            SettingsError::Store(e) => e.into(),
        }
    }
}
