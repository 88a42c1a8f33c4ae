//! The HTTP and WebSocket server: routes, shared state, token middleware, graceful shutdown.

mod api;
mod auth;
mod codes;
mod error;
mod export;
mod params;
mod ui;
mod ws;

use std::sync::Arc;

use axum::routing::get;
use axum::{middleware, Router};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::hub::Hub;
use crate::store::Store;

pub use auth::generate_token;

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) hub: Hub,
    /// The token every protected request must carry; `None` = open (loopback only).
    pub(crate) token: Option<Arc<str>>,
    /// Cancelled when the engine shuts down; long-lived handlers (WebSockets) watch it.
    pub(crate) shutdown: CancellationToken,
}

/// Builds the router over `state`.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/health", get(api::health))
        .route("/api/messages", get(api::messages))
        .route(
            "/api/messages/{id}",
            get(api::message).delete(api::delete_message),
        )
        .route("/api/codes/latest", get(codes::latest))
        .route("/api/codes/wait", get(codes::wait))
        .route("/api/modems", get(api::modems))
        .route("/api/export", get(export::export))
        .route("/ws", get(ws::upgrade))
        .fallback(ui::serve)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .with_state(state)
}

/// Serves on `listener` until `state.shutdown` is cancelled.
pub(crate) async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let shutdown = state.shutdown.clone();
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
