//! A deliberately small HTTP/1.1 client over a raw TCP stream, async and blocking.
//!
//! Each request uses its own connection with `Connection: close`, and the caller writes the request bytes, so
//! the fault tests can send malformed requests, oversized bodies and bad tokens exactly as an attacker would.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::KitError;

/// Upper bound on a response we read; the API never sends more than a page of messages.
const MAX_RESPONSE: usize = 16 * 1024 * 1024;

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code (`0` when the server closed without answering).
    pub status: u16,
    /// Header block, as sent.
    pub headers: String,
    /// Body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `request` as is on a new connection and reads the answer until the server closes.
pub async fn raw(addr: SocketAddr, request: &[u8], limit: Duration) -> Result<Response, KitError> {
    raw_from(addr, None, request, limit).await
}

/// Connects to `addr` from the loopback address `source` (any of 127.0.0.0/8 works on Linux), so one test can
/// look like several clients to a server that limits per client address.
pub async fn connect_from(addr: SocketAddr, source: Option<IpAddr>) -> Result<TcpStream, KitError> {
    let context = || format!("cannot connect to {addr} from {source:?}");
    let Some(source) = source else {
        return TcpStream::connect(addr)
            .await
            .map_err(KitError::io(context()));
    };
    let socket = match source {
        IpAddr::V4(_) => TcpSocket::new_v4(),
        IpAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(KitError::io(context()))?;
    socket
        .bind(SocketAddr::new(source, 0))
        .map_err(KitError::io(context()))?;
    socket.connect(addr).await.map_err(KitError::io(context()))
}

/// [`raw`], from a chosen loopback source address (see [`connect_from`]).
pub async fn raw_from(
    addr: SocketAddr,
    source: Option<IpAddr>,
    request: &[u8],
    limit: Duration,
) -> Result<Response, KitError> {
    let exchange = async {
        let mut stream = connect_from(addr, source).await?;
        // The server may answer (e.g. 413, 401) and close before reading a large body: a failed write is
        // then normal, and the answer is still there to read.
        let _ = stream.write_all(request).await;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) => break,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.len() > MAX_RESPONSE {
                        return Err(KitError::Protocol("response larger than 16 MiB".into()));
                    }
                }
                // A reset after a complete answer (the server closed with our body unread) is normal too.
                Err(_) if !buf.is_empty() => break,
                Err(e) => return Err(KitError::io("cannot read the response")(e)),
            }
        }
        Ok(parse(&buf))
    };
    tokio::time::timeout(limit, exchange)
        .await
        .map_err(|_| KitError::Timeout(limit, format!("an HTTP answer from {addr}")))?
}

/// `GET path` with an optional bearer token.
pub async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> Result<Response, KitError> {
    raw(
        addr,
        get_request(addr, path, token).as_bytes(),
        Duration::from_secs(30),
    )
    .await
}

/// [`get`] without an async runtime (for harnesses that wait in plain threads).
pub fn get_blocking(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
) -> Result<Response, KitError> {
    use std::io::{Read, Write};
    let context = || format!("GET {path} from {addr}");
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .map_err(KitError::io(context()))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(KitError::io(context()))?;
    stream
        .write_all(get_request(addr, path, token).as_bytes())
        .map_err(KitError::io(context()))?;
    let mut buf = Vec::new();
    stream
        .take(MAX_RESPONSE as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(KitError::io(context()))?;
    if buf.len() > MAX_RESPONSE {
        return Err(KitError::Protocol("response larger than 16 MiB".into()));
    }
    Ok(parse(&buf))
}

fn get_request(addr: SocketAddr, path: &str, token: Option<&str>) -> String {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n")
}

/// Splits a raw response into status, headers and (de-chunked) body.
pub fn parse(buf: &[u8]) -> Response {
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n");
    let (head, body) = match split {
        Some(i) => (&buf[..i], &buf[i + 4..]),
        None => (buf, &[][..]),
    };
    let head = String::from_utf8_lossy(head).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("transfer-encoding:")
            && l.to_ascii_lowercase().contains("chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_vec()
    };
    Response {
        status,
        headers: head,
        body,
    }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&rest[..eol]);
        let Ok(size) = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
        else {
            break;
        };
        rest = &rest[eol + 2..];
        if size == 0 || rest.len() < size {
            out.extend_from_slice(&rest[..size.min(rest.len())]);
            break;
        }
        out.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or(&[]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked_answers() {
        let r = parse(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 2\r\n\r\nno");
        assert_eq!((r.status, r.text().as_str()), (401, "no"));
        let r = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
        assert_eq!((r.status, r.text().as_str()), (200, "abcde"));
        assert_eq!(parse(b"").status, 0);
    }
}
