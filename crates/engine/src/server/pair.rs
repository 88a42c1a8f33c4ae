//! `GET /api/pair` (loopback only): the addresses another device on the LAN opens to pair, token included, each
//! with an SVG QR code of it so a phone pairs by scanning.
//!
//! Only a client on this machine may ask: the answer contains the main token. The SVG is generated here from
//! our own URL (no message content goes into it), so the UI may show it as an image.

use std::net::{IpAddr, SocketAddr, UdpSocket};

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::Json;
use qrcode::render::svg;
use qrcode::QrCode;
use simrelay_protocol::{PairLink, Pairing};

use super::error::Failure;
use super::{require_loopback, AppState};

pub(crate) async fn pair(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Json<Pairing>, Failure> {
    require_loopback(peer).map_err(|_| {
        Failure::new(
            StatusCode::FORBIDDEN,
            "loopback_only",
            "pairing links are only given to this machine",
        )
    })?;
    let addrs = state.listeners.lan_addrs();
    if addrs.is_empty() {
        return Err(Failure::new(
            StatusCode::CONFLICT,
            "not_shared",
            "the server listens on this machine only; switch LAN sharing on (PATCH /api/settings {\"lan\": true}, \
             or start it with --lan) to pair other devices",
        ));
    }
    let links = links(&addrs, &state.token, state.scheme())?;
    Ok(Json(Pairing {
        urls: links.iter().map(|l| l.url.clone()).collect(),
        links,
        fingerprint: state.tls.as_ref().map(|t| t.fingerprint().to_owned()),
    }))
}

/// The link with `token` for each of `addrs` (`scheme` `http` or `https`), with its QR code.
pub(crate) fn links(
    addrs: &[SocketAddr],
    token: &str,
    scheme: &str,
) -> Result<Vec<PairLink>, Failure> {
    addrs
        .iter()
        .map(|addr| {
            let url = format!("{scheme}://{addr}/?token={token}");
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
        let svg = qr_svg("http://192.0.2.2:8731/?token=00ff").expect("fits");
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
}
