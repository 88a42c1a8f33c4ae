//! `GET /api/pair` (loopback only): the addresses another device on the LAN opens to pair, token included.
//!
//! Only a client on this machine may ask: the answer contains the main token.

use std::net::{IpAddr, SocketAddr, UdpSocket};

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use super::error::Failure;
use super::AppState;

/// Body of `GET /api/pair`.
#[derive(Debug, Serialize)]
pub(crate) struct Pairing {
    /// URLs to open on the other device, one per address of this machine found.
    urls: Vec<String>,
}

pub(crate) async fn pair(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Json<Pairing>, Failure> {
    if !peer.ip().is_loopback() {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            "loopback_only",
            "pairing links are only given to this machine",
        ));
    }
    let listen = state.listen;
    if listen.ip().is_loopback() {
        return Err(Failure::new(
            StatusCode::CONFLICT,
            "not_shared",
            "the server listens on this machine only; start it with --lan to pair other devices",
        ));
    }
    let ips: Vec<IpAddr> = if listen.ip().is_unspecified() {
        lan_address().into_iter().collect()
    } else {
        vec![listen.ip()]
    };
    let token = state
        .token
        .as_deref()
        .map(|t| format!("?token={t}"))
        .unwrap_or_default();
    let urls = ips
        .into_iter()
        .map(|ip| format!("http://{}/{token}", SocketAddr::new(ip, listen.port())))
        .collect();
    Ok(Json(Pairing { urls }))
}

/// The address this machine uses to reach the network: the source address the OS picks for a route out.
/// Connecting a UDP socket sends nothing; it only asks the routing table.
fn lan_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified() && !ip.is_loopback()).then_some(ip)
}
