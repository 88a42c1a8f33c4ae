//! The HTTP and WebSocket server: routes, shared state, token middleware, graceful shutdown.

mod api;
mod auth;
mod codes;
mod conversations;
mod corrections;
mod deliveries;
mod devices;
mod error;
mod export;
pub(crate) mod lan;
mod metrics;
mod modems;
mod origin;
mod pair;
mod params;
mod ports;
mod send;
pub(crate) mod settings;
mod sources;
pub mod tls;
mod ui;
mod ws;

use std::sync::Arc;

use axum::routing::{delete, get, post, put};
use axum::{middleware, Router};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::hub::Hub;
use crate::store::Store;
use crate::tokens::Devices;

pub use auth::generate_token;
pub use lan::LanError;
pub use settings::SettingsError;

/// Largest request body accepted, in bytes.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) hub: Hub,
    /// The main token. LAN clients always need it (or a paired device's); clients on this machine need it
    /// unless `open_loopback`.
    pub(crate) token: Arc<str>,
    /// Whether clients on this machine (loopback peers) need no token: the server was started on loopback
    /// without `--token`.
    pub(crate) open_loopback: bool,
    /// Cancelled when this listener stops (the engine shuts down, or LAN sharing is switched off); long-lived
    /// handlers (WebSockets, long polls) watch it.
    pub(crate) shutdown: CancellationToken,
    /// The listeners: the address the server was started on, and the LAN ones.
    pub(crate) listeners: Arc<lan::Listeners>,
    /// Paired devices, whose tokens are also accepted.
    pub(crate) devices: Arc<Devices>,
    /// Changes settings (stored, applied, published) one at a time.
    pub(crate) settings: Arc<settings::Control>,
    /// Failed token attempts per client IP.
    pub(crate) limiter: Arc<auth::FailureLimiter>,
    /// The running modems: for sending, adding and removing.
    pub(crate) modems: crate::modems::Modems,
    /// The certificate to serve HTTPS and WSS with; `None` serves plain HTTP.
    pub(crate) tls: Option<tls::Tls>,
    /// The provider sources (`[[sources]]`): their webhooks, and sending through them.
    pub(crate) sources: crate::sources::Sources,
}

impl AppState {
    /// `https` when serving TLS, else `http`: for the links the server hands out.
    pub(crate) fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never prints the token.
        f.debug_struct("AppState")
            .field("open_loopback", &self.open_loopback)
            .finish_non_exhaustive()
    }
}

/// Builds the router over `state`.
pub(crate) fn router(state: AppState) -> Router {
    let mut router = Router::new();
    // Provider webhooks exist only when a source is configured (see `sources.rs` for how they authenticate).
    if !state.sources.is_empty() {
        router = router.route(
            "/sources/{name}/{hook}",
            get(sources::webhook).post(sources::webhook),
        );
    }
    router
        .route("/api/health", get(api::health))
        .route("/api/messages", get(api::messages))
        .route(
            "/api/messages/{id}",
            get(api::message).delete(api::delete_message),
        )
        .route("/api/messages/{id}/code", put(corrections::choose))
        .route("/api/codes/latest", get(codes::latest))
        .route("/api/codes/wait", get(codes::wait))
        .route("/api/corrections", get(corrections::list))
        .route("/api/corrections/{sender}", delete(corrections::remove))
        .route("/api/modems", get(modems::list).post(modems::add))
        .route("/api/modems/{id}", delete(modems::remove))
        .route("/api/modems/{id}/pin", post(modems::enter_pin))
        .route("/api/ports", get(ports::list))
        .route("/api/ports/probe", post(ports::probe))
        .route("/api/send", post(send::send))
        .route("/api/pair", get(pair::pair))
        .route("/api/devices", get(devices::list).post(devices::create))
        .route("/api/devices/{id}", delete(devices::revoke))
        .route("/api/settings", get(settings::get).patch(settings::patch))
        .route("/api/sent/{id}", get(send::sent))
        .route("/api/export", get(export::export))
        .route("/api/deliveries", get(deliveries::list))
        .route("/api/deliveries/{id}", get(deliveries::get))
        .route("/api/deliveries/{id}/replay", post(deliveries::replay))
        .route("/metrics", get(metrics::metrics))
        .route("/api/conversations", get(conversations::list))
        .route("/api/conversations/{peer}", get(conversations::thread))
        .route(
            "/api/conversations/{peer}/read",
            post(conversations::mark_read),
        )
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

/// Refuses a client that is not on this machine: pairing links, device tokens and settings are for the owner.
pub(crate) fn require_loopback(peer: std::net::SocketAddr) -> Result<(), error::Failure> {
    if peer.ip().is_loopback() {
        Ok(())
    } else {
        Err(error::Failure::new(
            axum::http::StatusCode::FORBIDDEN,
            "loopback_only",
            "only a client on the machine SimRelay runs on may do this",
        ))
    }
}

/// Serves on `listener` until `state.shutdown` is cancelled; over TLS when `state.tls` is set.
pub(crate) async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let shutdown = state.shutdown.clone();
    let tls = state.tls.clone();
    // Connect info gives the auth middleware the client IP for its failure limit.
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    if let Some(tls) = tls {
        use axum::serve::ListenerExt;
        // axum gives `ConnectInfo<SocketAddr>` for any listener wrapped by `tap_io`.
        let listener = tls::TlsListener::new(listener, &tls)?.tap_io(|_| {});
        return axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
