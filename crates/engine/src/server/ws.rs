//! `/ws`: a `hello` frame with recent messages and modem states, then every hub event (and every outgoing
//! message's status change, as a `sent` frame, and every incoming call, as a `call` frame) as a JSON text frame. Clients have no commands yet: a text or
//! binary frame from them is answered with an `error` frame, and the connection stays open.
//!
//! Clients on this machine whose token has the admin scope also get a `settings` frame with every settings
//! change. A client authenticated by a paired device's token is closed with code 4401 ("revoked") as soon as
//! that device is revoked, also by another process (`simrelay token revoke`): the tokens file is watched while
//! such a client is connected.
//!
//! Each client reads the hub through its own bounded receiver. A client that stops reading is cut off in one
//! of two ways, both without slowing anyone else: its socket write does not finish within [`SEND_TIMEOUT`],
//! or it falls [`crate::hub::EVENT_BUFFER`] events behind and gets close code 1008.

use std::time::Duration;

use axum::extract::ws::{
    close_code, CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade,
};
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use axum::Extension;
use serde::Serialize;
use simrelay_protocol::{ServerEvent, ServerNotice};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{interval, timeout, MissedTickBehavior};

use super::auth::Caller;
use super::AppState;
use crate::tokens::Scope;

/// Close code for a client whose device was revoked (4000-4999 are for applications; 4401 echoes HTTP 401).
pub const CLOSE_REVOKED: u16 = 4401;

/// Messages in the `hello` frame.
const HELLO_RECENT: u32 = 20;
/// A write that takes longer means the client stopped reading and the TCP window is full.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Keeps NAT mappings and proxies from dropping an idle connection, and finds dead peers.
const PING_INTERVAL: Duration = Duration::from_secs(30);
/// Clients have nothing to send but pings and short commands; anything larger is abuse.
const MAX_CLIENT_MESSAGE: usize = 16 * 1024;
/// tungstenite allocates its read buffer up front (128 KiB by default) for every connection; clients send only
/// tiny frames, so a small buffer keeps a thousand idle LAN clients cheap. Larger frames still assemble.
const READ_BUFFER: usize = 4 * 1024;

/// `GET /ws`: upgrades to a WebSocket (the token was checked by the middleware).
pub(crate) async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Extension(caller): Extension<Caller>,
    ws: WebSocketUpgrade,
) -> Response {
    let client = Client {
        settings: peer.ip().is_loopback() && caller.scopes.has(Scope::Admin),
        device: caller.device,
    };
    ws.max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| serve_client(socket, state, client))
}

/// Who is at the other end.
#[derive(Debug)]
struct Client {
    /// On this machine with the admin scope: gets `settings` frames.
    settings: bool,
    /// The paired device whose token it used, if any.
    device: Option<String>,
}

async fn serve_client(mut socket: WebSocket, state: AppState, client: Client) {
    let _counted = ClientCount::new(&state.hub);
    // Subscribed before the check, so a revocation in between is not missed.
    let mut revoked = state.devices.subscribe_revoked();
    let _watching = client.device.is_some().then(|| state.devices.watch());
    if client
        .device
        .as_deref()
        .is_some_and(|id| !state.devices.contains(id))
    {
        let _ = close(&mut socket, CLOSE_REVOKED, "revoked").await;
        return;
    }
    let mut settings = state.hub.watch_settings();
    settings.mark_unchanged();
    // Subscribe before reading the store, so a message committed in between is not missed; it may then
    // arrive both in `hello` and as an event, which the id check below filters out.
    let mut events = state.hub.subscribe();
    let mut sent = state.hub.subscribe_sent();
    let mut calls = state.hub.subscribe_calls();
    let recent = match state.store.recent(HELLO_RECENT).await {
        Ok(recent) => recent,
        Err(e) => {
            tracing::error!(error = %e, "cannot load recent messages for a WebSocket client");
            let _ = close(
                &mut socket,
                close_code::ERROR,
                "the message database failed",
            )
            .await;
            return;
        }
    };
    let newest_sent = recent.first().map_or(0, |m| m.id);
    let hello = ServerEvent::Hello {
        recent,
        modems: state.hub.modems(),
    };
    if send_event(&mut socket, &hello).await.is_err() {
        return;
    }
    let mut ping = interval(PING_INTERVAL);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ping.reset();
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => {
                let _ = close(&mut socket, close_code::AWAY, "server shutting down").await;
                return;
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => return,
                // The library answers pings; pongs only prove the client is alive.
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
                Some(Ok(WsMessage::Text(_) | WsMessage::Binary(_))) => {
                    let error = ServerNotice::Error {
                        error: "unsupported".into(),
                        detail: "this server accepts no commands on /ws; use the HTTP API".into(),
                    };
                    if send_event(&mut socket, &error).await.is_err() {
                        return;
                    }
                }
            },
            update = sent.recv() => match update {
                Ok(sent) => {
                    if send_event(&mut socket, &ServerNotice::Sent { sent }).await.is_err() {
                        return;
                    }
                }
                Err(error) => return close_after(&mut socket, error).await,
            },
            call = calls.recv() => match call {
                Ok(call) => {
                    if send_event(&mut socket, &ServerNotice::Call(call)).await.is_err() {
                        return;
                    }
                }
                Err(error) => return close_after(&mut socket, error).await,
            },
            event = events.recv() => match event {
                Ok(ServerEvent::Sms { message }) if message.id <= newest_sent => {}
                Ok(event) => {
                    if send_event(&mut socket, &event).await.is_err() {
                        return;
                    }
                    if let ServerEvent::Sms { message } = &event {
                        state.hub.metrics().handed_to("ws", message.id);
                    }
                }
                Err(error) => return close_after(&mut socket, error).await,
            },
            gone = revoked.recv(), if client.device.is_some() => {
                let mine = client.device.as_deref().unwrap_or_default();
                let now_revoked = match gone {
                    Ok(id) => id == mine,
                    // Missed some: ask directly.
                    Err(RecvError::Lagged(_)) => !state.devices.contains(mine),
                    Err(RecvError::Closed) => true,
                };
                if now_revoked {
                    tracing::info!(device = %mine, "closing the WebSocket of a revoked device");
                    let _ = close(&mut socket, CLOSE_REVOKED, "revoked").await;
                    return;
                }
            }
            changed = settings.changed(), if client.settings => {
                if changed.is_err() {
                    return;
                }
                let notice = ServerNotice::Settings { settings: settings.borrow_and_update().clone() };
                if send_event(&mut socket, &notice).await.is_err() {
                    return;
                }
            }
            _ = ping.tick() => {
                if send(&mut socket, WsMessage::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Counts a connected client in the `websocket_clients` gauge for as long as it lives.
struct ClientCount(crate::hub::Hub);

impl ClientCount {
    fn new(hub: &crate::hub::Hub) -> ClientCount {
        hub.metrics().ws_clients(1);
        ClientCount(hub.clone())
    }
}

impl Drop for ClientCount {
    fn drop(&mut self) {
        self.0.metrics().ws_clients(-1);
    }
}

/// Why a frame could not be sent; the connection is then given up.
#[derive(Debug)]
struct Gone;

/// Ends a client whose event stream broke: a lagging client is told to reconnect (and catch up through `hello`),
/// a closed hub means the server is shutting down.
async fn close_after(socket: &mut WebSocket, error: RecvError) {
    let (code, reason) = match error {
        RecvError::Lagged(missed) => {
            tracing::warn!(missed, "WebSocket client too slow, disconnecting it");
            (close_code::POLICY, "too slow: reconnect to catch up")
        }
        RecvError::Closed => (close_code::AWAY, "server shutting down"),
    };
    let _ = close(socket, code, reason).await;
}

async fn send_event(socket: &mut WebSocket, event: &impl Serialize) -> Result<(), Gone> {
    let text = serde_json::to_string(event).map_err(|e| {
        tracing::error!(error = %e, "cannot serialise an event");
        Gone
    })?;
    send(socket, WsMessage::Text(text.into())).await
}

async fn send(socket: &mut WebSocket, message: WsMessage) -> Result<(), Gone> {
    match timeout(SEND_TIMEOUT, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(Gone),
        Err(_) => {
            tracing::warn!("WebSocket client stopped reading, disconnecting it");
            Err(Gone)
        }
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) -> Result<(), Gone> {
    send(
        socket,
        WsMessage::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })),
    )
    .await
}
