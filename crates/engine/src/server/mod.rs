//! The HTTP and WebSocket server: routes, shared state, token middleware, graceful shutdown.

mod api;
mod auth;
mod codes;
mod error;
mod export;
mod origin;
mod pair;
mod params;
mod send;
mod ui;
mod ws;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::{middleware, Router};
use simrelay_modem::ModemHandle;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::hub::Hub;
use crate::store::Store;

pub use auth::generate_token;

/// Largest request body accepted, in bytes.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) hub: Hub,
    /// The token every protected request must carry; `None` = open (loopback only).
    pub(crate) token: Option<Arc<str>>,
    /// Cancelled when the engine shuts down; long-lived handlers (WebSockets) watch it.
    pub(crate) shutdown: CancellationToken,
    /// The address the server listens on.
    pub(crate) listen: std::net::SocketAddr,
    /// SHA-256 of each paired device's token, also accepted.
    pub(crate) paired: Arc<Vec<[u8; 32]>>,
    /// Failed token attempts per client IP.
    pub(crate) limiter: Arc<auth::FailureLimiter>,
    /// The running modem drivers by id, for sending.
    pub(crate) modems: Arc<BTreeMap<String, ModemHandle>>,
}

impl AppState {
    /// State for a server over `store` and `hub`.
    pub(crate) fn new(
        store: Store,
        hub: Hub,
        token: Option<&str>,
        shutdown: CancellationToken,
        modems: BTreeMap<String, ModemHandle>,
        paired: Vec<[u8; 32]>,
        listen: std::net::SocketAddr,
    ) -> AppState {
        AppState {
            store,
            hub,
            token: token.map(Arc::from),
            shutdown,
            limiter: Arc::default(),
            modems: Arc::new(modems),
            paired: Arc::new(paired),
            listen,
        }
    }
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
        .route("/api/send", post(send::send))
        .route("/api/pair", get(pair::pair))
        .route("/api/sent/{id}", get(send::sent))
        .route("/api/export", get(export::export))
        .route("/ws", get(ws::upgrade))
        .fallback(ui::serve)
        // Request bodies are small JSON objects; anything bigger is refused before it is read.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .with_state(state)
}

/// Serves on `listener` until `state.shutdown` is cancelled.
pub(crate) async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let shutdown = state.shutdown.clone();
    // Connect info gives the auth middleware the client IP for its failure limit.
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
