//! Pairing another device without ever showing it the main token.
//!
//! - `GET /api/pair` (admin, this machine only): the addresses other devices use, and the certificate's
//!   fingerprint under HTTPS; no token in them.
//! - `POST /api/pair` (admin, this machine only): a one-time pairing code for a named device with its scopes
//!   (read and send unless admin is asked for), as a link per LAN address with an SVG QR code of each. The code
//!   works once, for ten minutes.
//! - `POST /api/pair/claim` (no token): the phone that opened the link exchanges the code for its own device
//!   token. A wrong code counts toward its address's failure limit like a wrong token.
//!
//! The SVG is generated here from our own URL (no message content goes into it), so the UI may show it as an
//! image.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use qrcode::render::svg;
use qrcode::QrCode;
use simrelay_protocol::{Claimed, PairClaim, PairLink, Pairing, PairingCode, PairingRequest};

use super::auth::{cookie, too_many, Client};
use super::conn::LocalAddr;
use super::error::Failure;
use super::{require_loopback, AppState};
use crate::tokens::{Scopes, TokensError};

fn not_shared() -> Failure {
    Failure::new(
        StatusCode::CONFLICT,
        "not_shared",
        "the server listens on this machine only; switch LAN sharing on (PATCH /api/settings {\"lan\": true}, \
         or start it with --lan) to pair other devices",
    )
}

/// `GET /api/pair`: where other devices reach this server.
pub(crate) async fn addresses(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Json<Pairing>, Failure> {
    require_loopback(peer)?;
    let addrs = state.listeners.lan_addrs();
    if addrs.is_empty() {
        return Err(not_shared());
    }
    let scheme = state.listeners.lan_scheme();
    Ok(Json(Pairing {
        urls: addrs.iter().map(|a| format!("{scheme}://{a}/")).collect(),
        fingerprint: state.listeners.lan_fingerprint(),
    }))
}

/// `POST /api/pair {"name", "scopes"?}`: a one-time pairing code and its links.
pub(crate) async fn start(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Result<Response, Failure> {
    require_loopback(peer)?;
    let PairingRequest { name, scopes } = pairing_request(&body)?;
    let addrs = state.listeners.lan_addrs();
    if addrs.is_empty() {
        return Err(not_shared());
    }
    let pairing = state
        .devices
        .start_pairing(&name, scopes.unwrap_or(Scopes::DEFAULT_DEVICE))
        .await
        .map_err(Failure::from)?;
    tracing::info!(name = %pairing.name, scopes = %pairing.scopes, "made a pairing code");
    let links = links(&addrs, state.listeners.lan_scheme(), &pairing.code)?;
    Ok((
        StatusCode::CREATED,
        Json(PairingCode {
            code: pairing.code,
            name: pairing.name,
            scopes: pairing.scopes,
            expires_at: pairing.expires_at,
            links,
            fingerprint: state.listeners.lan_fingerprint(),
        }),
    )
        .into_response())
}

/// `POST /api/pair/claim {"code"}`: the device's own token for a pairing code, once; also set as this browser's
/// cookie.
pub(crate) async fn claim(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    local: Option<Extension<LocalAddr>>,
    body: Bytes,
) -> Result<Response, Failure> {
    let client = Client::new(Some(peer), local.map(|Extension(LocalAddr(l))| l));
    let now = Instant::now();
    if client.blocked(&state.limiter, now) {
        return Err(too_many());
    }
    let PairClaim { code } = json_body(&body, "{\"code\": \"<the pairing code>\"}")?;
    // Stored (the tokens file synced, or the cluster's row committed) before answering: a shown token must
    // survive a crash.
    let claimed = state.devices.claim(&code).await;
    let (device, token) = match claimed {
        Ok(claimed) => claimed,
        Err(e @ TokensError::BadCode) => {
            client.failed(&state.limiter, now);
            tracing::warn!(client = %peer.ip(), "refused a wrong pairing code");
            return Err(Failure::new(
                StatusCode::UNAUTHORIZED,
                "bad_pairing_code",
                e.to_string(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(device = %device.id, name = %device.name, "a device paired with its code");
    let mut response = (
        StatusCode::CREATED,
        Json(Claimed {
            token: token.clone(),
            device,
        }),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie(state.tls.is_some(), Some(&token))) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// The body of `POST /api/devices` and `POST /api/pair`: a device's name and, optionally, its scopes.
pub(crate) fn pairing_request(body: &[u8]) -> Result<PairingRequest, Failure> {
    json_body(
        body,
        "{\"name\": \"<device name>\", \"scopes\": [\"read\", \"send\"]} (scopes optional: read, send, admin)",
    )
}

/// Parses a JSON object body of shape `T`; `shape` tells the client what to send.
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
    shape: &str,
) -> Result<T, Failure> {
    let bad =
        |e: String| Failure::bad_request(format!("the body must be {shape} and nothing else: {e}"));
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
    if !value.is_object() {
        return Err(bad("not a JSON object".into()));
    }
    serde_json::from_value(value).map_err(|e| bad(e.to_string()))
}

/// The pairing link with `code` for each of `addrs`, with its QR code.
fn links(addrs: &[SocketAddr], scheme: &str, code: &str) -> Result<Vec<PairLink>, Failure> {
    addrs
        .iter()
        .map(|addr| {
            let url = format!("{scheme}://{addr}/?pair={code}");
            let qr_svg = qr_svg(&url).ok_or_else(|| {
                Failure::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "cannot make a QR code of the pairing link",
                )
            })?;
            Ok(PairLink {
                url,
                qr_svg: Some(qr_svg),
            })
        })
        .collect()
}

/// An SVG QR code of `text`; `None` only when the text is too long for any QR code (a URL never is).
pub(crate) fn qr_svg(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(240, 240)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .quiet_zone(true)
            .build(),
    )
}

/// The address this machine uses to reach the network: the source address the OS picks for a route out.
/// Connecting a UDP socket sends nothing; it only asks the routing table.
pub(crate) fn lan_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified() && !ip.is_loopback()).then_some(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_codes_are_svg_documents() {
        let svg = qr_svg("https://192.0.2.2:8731/?pair=00ff").expect("fits");
        assert!(
            svg.contains("<svg") && svg.trim_end().ends_with("</svg>"),
            "{svg}"
        );
        assert!(svg.contains("#000000"));
        assert!(
            qr_svg(&"x".repeat(8000)).is_none(),
            "too long for a QR code"
        );
    }

    #[test]
    fn links_carry_the_pairing_code_and_the_scheme() {
        let addrs: Vec<SocketAddr> = vec![
            "192.168.1.20:8731".parse().expect("addr"),
            "[fd00::5]:8731".parse().expect("addr"),
        ];
        let links = links(&addrs, "https", "c0de").expect("links");
        assert_eq!(links[0].url, "https://192.168.1.20:8731/?pair=c0de");
        assert_eq!(links[1].url, "https://[fd00::5]:8731/?pair=c0de");
    }

    #[test]
    fn bodies_are_objects_of_the_shape_named() {
        let ok: PairClaim = json_body(br#"{"code":"x"}"#, "{code}").expect("parses");
        assert_eq!(ok.code, "x");
        for bad in [
            &b"[]"[..],
            b"\"x\"",
            b"{\"code\":1}",
            b"{\"code\":\"x\",\"more\":1}",
            b"not json",
        ] {
            let err = json_body::<PairClaim>(bad, "{code}").expect_err("refused");
            assert_eq!(err.kind(), "bad_request");
        }
        let p: PairingRequest =
            json_body(br#"{"name":"Pixel","scopes":["read","admin"]}"#, "x").expect("parses");
        assert_eq!(
            p.scopes.map(|s| s.to_string()).as_deref(),
            Some("read,admin")
        );
        assert!(json_body::<PairingRequest>(br#"{"name":"P","scopes":["root"]}"#, "x").is_err());
    }
}
