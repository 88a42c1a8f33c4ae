//! The HTTP and WebSocket server: routes, shared state, the guard in front of every route (`auth.rs`,
//! `origin.rs`), and the connections (`conn.rs`).

mod api;
mod auth;
mod calls;
mod codes;
mod conn;
mod conversations;
mod corrections;
mod deliveries;
mod devices;
mod error;
mod export;
pub(crate) mod lan;
mod local_peer;
mod metrics;
mod modem_health;
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
pub(crate) use conn::{raise_fd_limit, Connections};
pub use lan::{AddrRange, LanError};
pub use settings::SettingsError;

/// Largest request body accepted, in bytes.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) hub: Hub,
    /// The main token: every client needs it or a paired device's.
    pub(crate) token: Arc<str>,
    /// Cancelled when this listener stops (the engine shuts down, or LAN sharing is switched off); long-lived
    /// handlers (WebSockets, long polls) watch it.
    pub(crate) shutdown: CancellationToken,
    /// The listeners: the address the server was started on, and the LAN ones.
    pub(crate) listeners: Arc<lan::Listeners>,
    /// Paired devices, whose tokens are also accepted.
    pub(crate) devices: Arc<Devices>,
    /// Changes settings (stored, applied, published) one at a time.
    pub(crate) settings: Arc<settings::Control>,
    /// Failed token attempts per client address.
    pub(crate) limiter: Arc<auth::FailureLimiter>,
    /// Open connections per client address and in all (shared by every listener).
    pub(crate) connections: Arc<Connections>,
    /// Port paths beyond serial devices that clients may name (`allowed_ports` in the configuration file).
    pub(crate) allowed_ports: Arc<[String]>,
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
            .field("tls", &self.tls.is_some())
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
        .route("/api/modems/{id}/health", get(modem_health::get))
        .route("/api/modems/{id}/ussd", post(calls::ussd))
        .route("/api/calls", get(calls::list))
        .route("/api/ports", get(ports::list).post(ports::probe_all))
        .route("/api/ports/probe", post(ports::probe))
        .route("/api/send", post(send::send))
        .route("/api/pair", get(pair::addresses).post(pair::start))
        .route("/api/pair/claim", post(pair::claim))
        .route("/api/logout", post(auth::logout))
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
        .layer(middleware::from_fn_with_state(state.clone(), auth::guard))
        // Outermost, so refusals carry the headers too.
        .layer(middleware::from_fn(origin::security_headers))
        .with_state(state)
}

/// Refuses a client that is not on this machine: pairing, devices and settings are for the owner, and this is
/// on top of the token's admin scope, never instead of it.
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
    let (tls, connections, shutdown) = (
        state.tls.clone(),
        state.connections.clone(),
        state.shutdown.clone(),
    );
    conn::serve(listener, router(state), tls, connections, shutdown).await
}
