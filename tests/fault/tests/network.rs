//! Network-input test: hostile and broken clients against a real `simrelay serve` with a token.
//!
//! Wrong tokens, malformed queries and request lines, 1 MiB bodies and headers, invalid WebSocket frames and
//! WebSocket clients that never read. The server must answer only 4xx (or close the connection), never 2xx to a
//! wrong token and never 5xx, stay alive, keep serving a well-behaved client, and keep its memory bounded.
//!
//! Default: 1,000 requests; `SIMRELAY_SOAK=1`: 10,000.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures_util::future::join_all;
use simrelay_fault_tests::{log, serve};
use simrelay_modem::{SimOptions, Simulator};
use simrelay_testkit::pdu::{numbered, numbered_index};
use simrelay_testkit::ws::WsClient;
use simrelay_testkit::{http, procfs};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "fault-test-token-0123456789abcdef";
/// Peak RSS the server may reach under all of this. Its idle RSS is a few MiB; unbounded buffering of 1 MiB
/// bodies or of events for clients that never read would pass this quickly.
const PEAK_RSS_LIMIT_KIB: u64 = 96 * 1024;

/// The server locks an address out (429, even with the right token) after repeated wrong tokens, so the flood
/// of bad requests comes from one loopback address and the hand-made WebSockets from another.
const HOSTILE_FROM: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const FRAMES_FROM: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));
/// Malformed requests that carry the right token come from a third address, so they reach the parsers
/// instead of the lock-out.
const MALFORMED_FROM: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 4));

/// Request kinds that carry a wrong token (or none).
fn wrong_token(kind: usize) -> bool {
    matches!(kind % 10, 0 | 1 | 6)
}

fn soak() -> bool {
    std::env::var_os("SIMRELAY_SOAK").is_some()
}

/// The request of kind `kind`, and whether a close without any answer is acceptable for it.
fn hostile_request(kind: usize, addr: SocketAddr) -> (Vec<u8>, bool) {
    let mib = "x".repeat(1024 * 1024);
    let plain = |line: &str, headers: &str, body: &str| {
        format!("{line}\r\nHost: {addr}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
            .into_bytes()
    };
    let auth = format!("Authorization: Bearer {TOKEN}\r\n");
    match kind % 10 {
        0 => (plain("GET /api/messages HTTP/1.1", "Authorization: Bearer wrong\r\n", ""), false),
        1 => (plain("GET /api/messages?token=nope HTTP/1.1", "", ""), false),
        2 => (plain("GET /api/messages?limit=abc HTTP/1.1", &auth, ""), false),
        3 => (plain("GET /api/messages?limit=999999999999 HTTP/1.1", &auth, ""), false),
        4 => (plain("POST /api/messages HTTP/1.1", &format!("{auth}Content-Type: application/json\r\n"), "{\"text\": [1, 2,"), false),
        5 => (plain("POST /api/messages HTTP/1.1", &format!("{auth}Content-Type: application/json\r\n"), &mib), true),
        6 => (plain("GET /ws?token=wrong HTTP/1.1", "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", ""), false),
        7 => (b"GARBAGE / NOT-HTTP\r\n\r\n".to_vec(), true),
        8 => (plain("GET /api/messages HTTP/1.1", &format!("{auth}X-Big: {mib}\r\n"), ""), true),
        _ => (plain("GET /api/nonexistent%00%ff HTTP/1.1", &auth, ""), false),
    }
}

/// Opens a WebSocket by hand (so we can send frames no library would) and returns the stream after the 101.
async fn raw_ws(addr: SocketAddr) -> TcpStream {
    let mut stream = http::connect_from(addr, Some(FRAMES_FROM))
        .await
        .expect("connect");
    let request = format!(
        "GET /ws?token={TOKEN} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("handshake");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.expect("read handshake");
        assert_eq!(n, 1, "closed during the handshake");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "no upgrade: {}",
        String::from_utf8_lossy(&head)
    );
    stream
}

/// Invalid frames: each must make the server close the connection (with a close frame or without).
fn invalid_frame(kind: usize) -> Vec<u8> {
    match kind % 4 {
        // Client frames must be masked.
        0 => vec![0x81, 0x05, b'h', b'e', b'l', b'l', b'o'],
        // Reserved bits set, no extension negotiated.
        1 => vec![0xF1, 0x80, 0, 0, 0, 0],
        // A text frame announcing 2^62 bytes.
        2 => {
            let mut f = vec![0x81, 0xFF];
            f.extend_from_slice(&(1u64 << 62).to_be_bytes());
            f.extend_from_slice(&[1, 2, 3, 4]);
            f
        }
        // Unknown opcode 0x3.
        _ => vec![0x83, 0x80, 1, 2, 3, 4],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_gets_only_4xx_or_a_close_and_memory_stays_bounded() {
    let requests = if soak() { 10_000 } else { 1_000 };
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = Simulator::start(SimOptions {
        capacity: 255,
        ..SimOptions::default()
    })
    .await
    .expect("simulator");
    let mut server = serve(dir.path(), vec![sim.path().to_path_buf()], Some(TOKEN))
        .spawn()
        .expect("start simrelay");
    server
        .wait_ready(Duration::from_secs(30))
        .await
        .expect("ready");
    let addr = server.addr;
    let pid = server.pid();

    // A well-behaved client, there from start to end.
    let (mut good, _) = WsClient::connect(addr, Some(TOKEN))
        .await
        .expect("good client");
    let mut through = false;
    for attempt in 0..60 {
        sim.deliver(numbered("Net", attempt));
        if good.next_sms(Duration::from_secs(1)).await.is_ok() {
            through = true;
            break;
        }
    }
    assert!(through, "the modem never passed a message");

    // Clients that complete the handshake and then never read a byte.
    let mut sleepers = Vec::new();
    for _ in 0..20 {
        sleepers.push(raw_ws(addr).await);
    }

    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for chunk in (0..requests).collect::<Vec<_>>().chunks(16) {
        let answers = join_all(chunk.iter().map(|&kind| async move {
            let (request, may_close) = hostile_request(kind, addr);
            let response = http::raw_from(
                addr,
                Some(if wrong_token(kind) {
                    HOSTILE_FROM
                } else {
                    MALFORMED_FROM
                }),
                &request,
                Duration::from_secs(20),
            )
            .await;
            (kind, may_close, response)
        }))
        .await;
        for (kind, may_close, response) in answers {
            // A reset instead of an answer is a close too (the server dropped an oversized request unread).
            let (status, text) = match response {
                Ok(r) => (r.status, r.text()),
                Err(e) if may_close => (0, e.to_string()),
                Err(e) => panic!("request kind {kind}: {e}"),
            };
            *statuses.entry(status).or_default() += 1;
            let ok = (400..500).contains(&status) || (may_close && status == 0);
            assert!(ok, "request kind {kind} got {status}: {text}");
        }
        // Meanwhile messages keep flowing, to the good client and into the sleepers' unread buffers.
        sim.deliver(numbered("Flow", chunk[0]));
    }
    eprintln!("status counts: {statuses:?}");

    for kind in 0..40 {
        let mut ws = raw_ws(addr).await;
        ws.write_all(&invalid_frame(kind))
            .await
            .expect("send frame");
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(10), ws.read_to_end(&mut rest)).await;
        assert!(
            closed.is_ok(),
            "invalid frame kind {} left the connection open",
            kind % 4
        );
        // Whatever the server sent first was hello; if it sent a close frame, its code must be a protocol one.
        if let Some(pos) = rest.windows(2).position(|w| w[0] == 0x88 && w[1] >= 2) {
            let code = u16::from_be_bytes([rest[pos + 2], rest[pos + 3]]);
            assert!(
                (1002..=1009).contains(&code),
                "close code {code} for invalid frame kind {}",
                kind % 4
            );
        }
    }

    // The good client still gets new messages, the server is alive and healthy, memory stayed bounded.
    sim.deliver(numbered("Last", 0));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let message = good
            .next_sms(left)
            .await
            .expect("the good client, still connected, got the last message in time");
        if numbered_index("Last", &message.text) == Some(0) {
            break;
        }
    }
    assert!(
        server.is_alive(),
        "simrelay died; log:\n{}",
        log(dir.path())
    );
    let health = http::get(addr, "/api/health", None).await.expect("health");
    assert_eq!(health.status, 200);
    let peak = procfs::peak_rss_kib(pid).expect("peak RSS");
    eprintln!("simrelay peak RSS: {peak} KiB");
    assert!(peak < PEAK_RSS_LIMIT_KIB, "peak RSS {peak} KiB");
    drop(sleepers);
}
