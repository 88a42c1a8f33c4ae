//! The HTTP API and the WebSocket endpoint on arbitrary requests, sent over a real TCP connection to a real
//! engine (SQLite file in a temporary directory, a token, no modem). Every request must get an answer that is
//! not a 500, or a closed connection, and the server must keep accepting connections. libfuzzer-sys turns a
//! panic on any thread (a handler task included) into a crash.
//!
//! Input layout: byte 0 picks the shape.
//! - raw: the rest is the whole request, as bytes (the HTTP parser and the fallback routes);
//! - structured: a method, one of the API's routes, and the rest split at `0xFF` into path suffix, query string
//!   and body, sent with the valid token (the parameter parsers, JSON bodies and handlers);
//! - websocket: a valid upgrade with the token, then the rest as raw frame bytes from the client.
#![no_main]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use simrelay_engine::{Config, Engine};

const TOKEN: &str = "fuzz-token-0123456789abcdef0123456789";

const METHODS: &[&str] = &["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"];
const ROUTES: &[&str] = &[
    "/api/health",
    "/api/messages",
    "/api/messages/",
    "/api/codes/latest",
    "/api/codes/wait",
    "/api/modems",
    "/api/send",
    "/api/pair",
    "/api/sent/",
    "/api/export",
    "/api/settings",
    "/api/devices",
    "/api/devices/",
    "/",
    "/index.html",
];

/// Starts one engine for the whole fuzzing run, on its own runtime thread, and returns where it listens.
fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let dir = tempfile::tempdir().expect("tempdir");
                let config = Config {
                    db: dir.path().join("fuzz.db"),
                    listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                    token: Some(TOKEN.into()),
                    ..Config::default()
                };
                let engine = Engine::start(config).await.expect("engine starts");
                tx.send(engine.local_addr()).expect("report the address");
                // Serve until the fuzzer exits.
                std::future::pending::<()>().await;
                drop((engine, dir));
            });
        });
        rx.recv().expect("engine address")
    })
}

fn structured(data: &[u8]) -> Vec<u8> {
    let [method, route, rest @ ..] = data else {
        return Vec::new();
    };
    let mut fields = rest.split(|b| *b == 0xFF);
    let suffix = fields.next().unwrap_or_default();
    let query = fields.next().unwrap_or_default();
    let body = fields.next().unwrap_or_default();
    let mut request = Vec::new();
    request.extend_from_slice(METHODS[usize::from(*method) % METHODS.len()].as_bytes());
    request.push(b' ');
    request.extend_from_slice(ROUTES[usize::from(*route) % ROUTES.len()].as_bytes());
    request.extend_from_slice(suffix);
    if !query.is_empty() {
        request.push(b'?');
        request.extend_from_slice(query);
    }
    request.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    request.extend_from_slice(format!("Authorization: Bearer {TOKEN}\r\n").as_bytes());
    request.extend_from_slice(b"Content-Type: application/json\r\n");
    request.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    request.extend_from_slice(body);
    request
}

fn websocket(frames: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Authorization: Bearer {TOKEN}\r\n\r\n"
    )
    .into_bytes();
    request.extend_from_slice(frames);
    request
}

fuzz_target!(|data: &[u8]| {
    let [shape, rest @ ..] = data else {
        return;
    };
    let request = match shape % 3 {
        0 => rest.to_vec(),
        1 => structured(rest),
        _ => websocket(rest),
    };
    let mut stream = TcpStream::connect(server()).expect("the server stopped accepting connections");
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    // The server may close early on a bad request; that is an answer too.
    let _ = stream.write_all(&request);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    assert!(
        !response.starts_with(b"HTTP/1.1 500"),
        "500 for {:?}:\n{}",
        String::from_utf8_lossy(&request),
        String::from_utf8_lossy(&response)
    );
});
