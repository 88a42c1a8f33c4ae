//! Trust no address (issue #14), against real servers: a second OS account on this machine, cross-site requests
//! with the owner's cookie, headers on every page, file modes, weak tokens, guessing, revocation from another
//! process, idle sockets, scopes, pairing by code, and port paths.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};
use simrelay_engine::tokens::{self, Scope, Scopes};
use simrelay_engine::{Config, Engine, EngineError};
use simrelay_protocol::{ApiError, ServerEvent, SettingsPatch};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message as WsMessage;

fn simrelay() -> Command {
    Command::new(env!("CARGO_BIN_EXE_simrelay"))
}

/// A config with its files in `dir`: the database, the main token's file and the paired devices.
fn config(dir: &Path) -> Config {
    Config {
        db: dir.join("data").join("simrelay.db"),
        listen: "127.0.0.1:0".parse().expect("addr"),
        token_file: Some(dir.join("conf").join("token")),
        tokens_file: Some(dir.join("conf").join("tokens.toml")),
        tls_dir: Some(dir.join("conf")),
        ..Config::default()
    }
}

async fn start(config: Config) -> Engine {
    Engine::start(config).await.expect("engine starts")
}

fn url(engine: &Engine, path: &str) -> String {
    format!("http://{}{path}", engine.local_addr())
}

async fn error_of(r: reqwest::Response) -> ApiError {
    r.json().await.expect("error json")
}

/// Polls `done` every 50 ms for up to 30 s.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for `n` new messages on the hub.
async fn messages_arrive(engine: &Engine, n: usize) {
    let mut events = engine.subscribe();
    let mut seen = 0;
    tokio::time::timeout(Duration::from_secs(60), async {
        while seen < n {
            if let Ok(ServerEvent::Sms { .. }) = events.recv().await {
                seen += 1;
            }
        }
    })
    .await
    .expect("demo messages arrive");
}

/// This machine's address on the network (what a phone on the LAN connects to).
fn lan_ip() -> IpAddr {
    let socket = UdpSocket::bind("0.0.0.0:0").expect("udp socket");
    socket
        .connect("192.0.2.1:9")
        .expect("this machine needs a network route for the LAN tests");
    let ip = socket.local_addr().expect("addr").ip();
    assert!(
        !ip.is_loopback(),
        "this machine needs a LAN address for the LAN tests"
    );
    ip
}

// ---------------------------------------------------------------------------------------------------------------
// Another account on the same machine.

/// A real second OS account, deleted again when dropped.
struct OtherAccount {
    name: String,
    uid: u32,
    gid: u32,
}

impl OtherAccount {
    fn create() -> OtherAccount {
        let uid = Command::new("id").arg("-u").output().expect("id runs");
        assert!(
            String::from_utf8_lossy(&uid.stdout).trim() == "0",
            "this test plays another user of this machine with a real second OS account, and creating one needs \
             root (CI runs as root): run it as root, e.g. `sudo -E cargo test -p simrelay-engine --test trust`"
        );
        let name = format!("srtest{}", std::process::id());
        let _ = Command::new("userdel").arg(&name).output();
        let out = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                &name,
            ])
            .output()
            .expect("useradd runs (install the passwd package)");
        assert!(
            out.status.success(),
            "useradd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = |flag: &str| -> u32 {
            let out = Command::new("id")
                .args([flag, &name])
                .output()
                .expect("id runs");
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("numeric id")
        };
        let (uid, gid) = (id("-u"), id("-g"));
        assert_ne!(uid, 0);
        OtherAccount { name, uid, gid }
    }

    /// A command run as this account, with a bare environment and `/` as its directory.
    fn command(&self, program: &str) -> Command {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(program);
        command
            .uid(self.uid)
            .gid(self.gid)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .current_dir("/")
            .stdin(Stdio::null());
        command
    }

    /// Sends one raw HTTP request to 127.0.0.1:`port` as this account (bash's /dev/tcp) and returns the status.
    fn http(&self, port: u16, request: &str) -> u16 {
        let out = self
            .command("/bin/bash")
            .args([
                "-c",
                "exec 3<>/dev/tcp/127.0.0.1/$PORT && printf '%s' \"$REQ\" >&3 && head -n 1 <&3",
            ])
            .env("PORT", port.to_string())
            .env("REQ", request)
            .output()
            .expect("bash runs as the other account");
        let line = String::from_utf8_lossy(&out.stdout).into_owned();
        line.split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "no HTTP status from {request:?}: {line:?} {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
    }
}

impl Drop for OtherAccount {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).output();
    }
}

fn raw_request(method: &str, path: &str, port: u16, extra: &str, body: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n{extra}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_account_on_this_machine_gets_401_everywhere_and_cannot_install_a_hook() {
    let other = OtherAccount::create();
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = std::env::temp_dir().join(format!("simrelay-hook-ran-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let engine = start(Config {
        demo: true,
        demo_interval_secs: 1,
        ..config(dir.path())
    })
    .await;
    messages_arrive(&engine, 1).await;
    let port = engine.local_addr().port();
    let hook = json!({"hook_command": ["/bin/sh", "-c", format!("touch {}", marker.display())]})
        .to_string();
    let routes: Vec<(&str, &str, String)> = vec![
        ("GET", "/api/messages", String::new()),
        ("GET", "/api/messages/1", String::new()),
        ("DELETE", "/api/messages/1", String::new()),
        (
            "PUT",
            "/api/messages/1/code",
            json!({"code": null, "remember": true}).to_string(),
        ),
        ("GET", "/api/corrections", String::new()),
        ("DELETE", "/api/corrections/DemoBank", String::new()),
        ("GET", "/api/conversations", String::new()),
        ("GET", "/metrics", String::new()),
        ("GET", "/api/deliveries", String::new()),
        ("GET", "/api/conversations/DemoBank", String::new()),
        ("POST", "/api/conversations/DemoBank/read", "{}".to_owned()),
        ("GET", "/api/codes/latest", String::new()),
        ("GET", "/api/codes/wait?timeout=1s", String::new()),
        ("GET", "/api/export", String::new()),
        ("GET", "/api/modems", String::new()),
        ("POST", "/api/modems", json!({"demo": true}).to_string()),
        ("DELETE", "/api/modems/demo", String::new()),
        (
            "POST",
            "/api/send",
            json!({"to": "+15555550100", "text": "hi"}).to_string(),
        ),
        ("GET", "/api/sent/1", String::new()),
        ("GET", "/api/settings", String::new()),
        ("PATCH", "/api/settings", hook.clone()),
        ("GET", "/api/devices", String::new()),
        (
            "POST",
            "/api/devices",
            json!({"name": "mine now"}).to_string(),
        ),
        ("GET", "/api/pair", String::new()),
        ("POST", "/api/pair", json!({"name": "mine now"}).to_string()),
        ("GET", "/api/ports", String::new()),
        ("POST", "/api/ports", String::new()),
        (
            "POST",
            "/api/ports/probe",
            json!({"port": "/dev/ttyS0"}).to_string(),
        ),
    ];
    for (method, path, body) in &routes {
        for auth in [
            "",
            "Authorization: Bearer a-guess-at-the-token-0123456789abcdef\r\n",
        ] {
            let status = other.http(port, &raw_request(method, path, port, auth, body));
            // A few guesses in, the address is rate limited: refused either way.
            assert!(
                status == 401 || (status == 429 && !auth.is_empty()),
                "{method} {path} as another account ({auth:?}): {status}"
            );
        }
    }
    let ws = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
              Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    assert!(matches!(other.http(port, ws), 401 | 429), "the live feed");
    // The token's file, the database and the paired devices are the owner's alone.
    for file in [
        dir.path().join("conf").join("token"),
        dir.path().join("data").join("simrelay.db"),
    ] {
        let out = other
            .command("/bin/cat")
            .arg(&file)
            .output()
            .expect("cat runs");
        assert!(
            !out.status.success() && out.stdout.is_empty(),
            "{} was readable",
            file.display()
        );
    }
    // The hook would have run for each of the next messages: it did not, and the settings are untouched.
    messages_arrive(&engine, 3).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !marker.exists(),
        "the other account's hook ran as the owner"
    );
    assert_eq!(engine.settings().hook_command, None);

    // Control: the owner, with the token, installs the same hook, and it runs.
    let r = reqwest::Client::new()
        .patch(url(&engine, "/api/settings"))
        .bearer_auth(engine.token())
        .header("content-type", "application/json")
        .body(hook)
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 200);
    eventually("the owner's hook to run", || marker.exists()).await;
    let _ = std::fs::remove_file(&marker);
    engine.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------------
// Web pages in the owner's browser.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_posts_with_the_owners_cookie_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(Config {
        demo: true,
        demo_interval_secs: 1,
        ..config(dir.path())
    })
    .await;
    messages_arrive(&engine, 1).await;
    let token = engine.token().to_owned();
    let page = reqwest::get(url(&engine, &format!("/?token={token}")))
        .await
        .expect("page");
    let cookie = page.headers()["set-cookie"].to_str().expect("ascii");
    let cookie = cookie.split(';').next().expect("pair").to_owned();
    assert_eq!(cookie, format!("simrelay_token={token}"));
    let own = format!("http://{}", engine.local_addr());
    let http = reqwest::Client::new();
    let hook = json!({"hook_command": ["/bin/true"]}).to_string();
    let writes: Vec<(reqwest::Method, &str, String)> = vec![
        (
            reqwest::Method::POST,
            "/api/devices",
            json!({"name": "evil"}).to_string(),
        ),
        (
            reqwest::Method::POST,
            "/api/pair",
            json!({"name": "evil"}).to_string(),
        ),
        (reqwest::Method::PATCH, "/api/settings", hook.clone()),
        (
            reqwest::Method::POST,
            "/api/send",
            json!({"to": "+15555550100", "text": "from a web page"}).to_string(),
        ),
        (
            reqwest::Method::POST,
            "/api/modems",
            json!({"port": "/dev/ttyS0"}).to_string(),
        ),
        (reqwest::Method::DELETE, "/api/messages/1", String::new()),
        (reqwest::Method::DELETE, "/api/modems/demo", String::new()),
        (reqwest::Method::POST, "/api/ports", String::new()),
        (
            reqwest::Method::PUT,
            "/api/messages/1/code",
            json!({"code": null, "remember": true}).to_string(),
        ),
        (
            reqwest::Method::POST,
            "/api/conversations/DemoBank/read",
            "{}".to_owned(),
        ),
    ];
    // What a page on another site (or another port of this machine) can make the browser send without a
    // preflight: a text/plain body, with the cookie riding along.
    let attempts: [(&[(&str, &str)], &str); 4] = [
        (&[("origin", "http://127.0.0.1:1")], "text/plain"),
        (
            &[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
            "text/plain",
        ),
        (
            &[("sec-fetch-site", "same-site")],
            "text/plain;charset=UTF-8",
        ),
        // Even from our own origin, only JSON may write.
        (
            &[("origin", own.as_str()), ("sec-fetch-site", "same-origin")],
            "text/plain",
        ),
    ];
    for (method, path, body) in &writes {
        for (n, (headers, ctype)) in attempts.iter().enumerate() {
            // Our own origin may of course delete with no body at all; only bodies must be JSON.
            if n == 3 && body.is_empty() {
                continue;
            }
            let mut request = http
                .request(method.clone(), url(&engine, path))
                .header("cookie", &cookie)
                .header("content-type", *ctype)
                .body(body.clone());
            for (name, value) in *headers {
                request = request.header(*name, *value);
            }
            let r = request.send().await.expect("request");
            let status = r.status().as_u16();
            let text = r.text().await.expect("body");
            let error = serde_json::from_str::<ApiError>(&text)
                .map(|e| e.error)
                .unwrap_or_else(|_| format!("not an API error: {text:?}"));
            assert!(
                (status == 403 && error == "forbidden_origin")
                    || (status == 415 && error == "unsupported_media_type" && !body.is_empty()),
                "{method} {path} {headers:?} {ctype}: {status} {error}"
            );
        }
    }
    // A cross-site JSON write (as fetch with CORS would send after a preflight nobody grants) is refused too.
    let r = http
        .post(url(&engine, "/api/devices"))
        .header("cookie", &cookie)
        .header("origin", "http://127.0.0.1:1")
        .json(&json!({"name": "evil"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 403);
    // Nothing changed: no device, no pairing, no hook, nothing sent, the message and the modem are there.
    assert!(engine.devices().list().is_empty());
    assert_eq!(engine.settings().hook_command, None);
    assert!(engine
        .store()
        .recent(100)
        .await
        .expect("recent")
        .iter()
        .any(|m| m.id == 1));
    assert!(engine.hub().modems().iter().any(|m| m.id == "demo"));
    let sent = http
        .get(url(&engine, "/api/sent/1"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(sent.status(), 404, "nothing was sent");
    let corrections = http
        .get(url(&engine, "/api/corrections"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    assert_eq!(corrections.trim(), "[]", "no code was corrected");
    // Control: the same cookie from our own page, as JSON, works.
    let r = http
        .post(url(&engine, "/api/devices"))
        .header("cookie", &cookie)
        .header("origin", &own)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"name": "mine"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 201);
    engine.shutdown().await;
}

fn assert_page_headers(what: &str, headers: &reqwest::header::HeaderMap) {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let csp = get("content-security-policy");
    for directive in [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            csp.contains(directive),
            "{what}: CSP {csp:?} lacks {directive}"
        );
    }
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("referrer-policy"), "no-referrer", "{what}");
}

#[tokio::test]
async fn every_html_response_carries_the_csp_and_frame_headers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(config(dir.path())).await;
    let token = engine.token().to_owned();
    let mut html_pages = 0;
    for path in [
        "/".to_owned(),
        "/index.html".to_owned(),
        "/history".to_owned(),
        "/deep/client/route".to_owned(),
        format!("/?token={token}"),
        "/?token=wrong".to_owned(),
        "/?pair=0123".to_owned(),
        "/api/messages".to_owned(),
        "/api/health".to_owned(),
        "/missing.js".to_owned(),
    ] {
        let r = reqwest::get(url(&engine, &path)).await.expect("get");
        let headers = r.headers().clone();
        let html = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/html"));
        html_pages += usize::from(html);
        // Every response has them, HTML or not; the page's own policy allows exactly its inline scripts.
        assert_page_headers(&path, &headers);
        if html && r.status() == 200 {
            let csp = headers["content-security-policy"]
                .to_str()
                .expect("ascii")
                .to_owned();
            let body = r.text().await.expect("body");
            for script in inline_scripts(&body) {
                let hash = sha256_base64(&script);
                assert!(csp.contains(&format!("'sha256-{hash}'")), "{path}: {csp}");
            }
            assert!(!csp.contains("unsafe-inline"), "{csp}");
        }
    }
    assert!(
        html_pages >= 7,
        "the UI routes are HTML (or the not-built page): {html_pages}"
    );
    engine.shutdown().await;
}

fn inline_scripts(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        rest = &rest[start..];
        let Some(end) = rest.find('>') else { break };
        let (tag, body) = (&rest[..end], &rest[end + 1..]);
        let Some(close) = body.find("</script>") else {
            break;
        };
        if !tag.contains("src=") {
            found.push(body[..close].to_owned());
        }
        rest = &body[close..];
    }
    found
}

fn sha256_base64(text: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(text.as_bytes()))
}

// ---------------------------------------------------------------------------------------------------------------
// Files.

/// Every file and directory under `root` (not `root` itself), with its permission bits.
fn modes(root: &Path) -> Vec<(PathBuf, bool, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let entry = entry.expect("entry");
            let meta = entry.metadata().expect("meta");
            out.push((
                entry.path(),
                meta.is_dir(),
                meta.permissions().mode() & 0o777,
            ));
            if meta.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    out
}

#[test]
fn every_file_the_engine_creates_is_private_from_birth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let conf = root.join("home").join(".config").join("simrelay");
    let port = free_port();
    // Started with umask 000: whatever is private is so because SimRelay made it so, not the test's umask.
    let mut child = Command::new("/bin/sh")
        .args(["-c", "umask 000 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_simrelay"))
        .args([
            "serve",
            "--demo",
            "--tls",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("--db")
        .arg(root.join("home").join("data").join("simrelay.db"))
        .env("HOME", root.join("home"))
        .env("XDG_CONFIG_HOME", root.join("home").join(".config"))
        .env("XDG_DATA_HOME", root.join("home").join(".local/share"))
        .env("XDG_STATE_HOME", root.join("home").join(".local/state"))
        .env("SIMRELAY_CONFIG", conf.join("config.toml"))
        .env("SIMRELAY_LOG_DIR", root.join("home").join("logs"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("simrelay starts");
    let token_file = conf.join("token");
    let started = Instant::now();
    let token = loop {
        if let Ok(token) = std::fs::read_to_string(&token_file) {
            if token.trim().len() == 64 && conf.join("tls-cert.pem").exists() {
                break token.trim().to_owned();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the main token's file and the certificate appear"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // A device paired through the API (tokens.toml and its lock), and messages stored (the -wal and -shm).
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let base = format!("https://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..300 {
            // The certificate may still be half written the first time round.
            let Some(http) = std::fs::read(conf.join("tls-cert.pem"))
                .ok()
                .and_then(|pem| reqwest::Certificate::from_pem(&pem).ok())
                .and_then(|cert| {
                    reqwest::Client::builder()
                        .add_root_certificate(cert)
                        .build()
                        .ok()
                })
            else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            if let Ok(r) = http
                .get(format!("{base}/api/messages"))
                .bearer_auth(&token)
                .send()
                .await
            {
                let page: Value = r.json().await.expect("json");
                if page["messages"].as_array().is_some_and(|m| !m.is_empty()) {
                    ready = true;
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "a demo message is stored");
        let cert = std::fs::read(conf.join("tls-cert.pem")).expect("certificate");
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&cert).expect("pem"))
            .build()
            .expect("client");
        let r = http
            .post(format!("{base}/api/devices"))
            .bearer_auth(&token)
            .json(&json!({"name": "phone"}))
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 201);
        // A page load with the token in its URL, and a wrong guess the log does record.
        let page = http
            .get(format!("{base}/?token={token}"))
            .send()
            .await
            .expect("page");
        assert_eq!(page.status(), 200);
        let guess = http
            .get(format!("{base}/api/messages?token=not-{token}"))
            .send()
            .await
            .expect("guess");
        assert_eq!(guess.status(), 401);
    });
    let out = simrelay()
        .args(["token", "show"])
        .env("SIMRELAY_CONFIG", conf.join("config.toml"))
        .output()
        .expect("token show");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), token);
    let files = modes(&root.join("home"));
    // Stopped as a service is, so the log is flushed before it is read.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let mut log = String::new();
    for entry in std::fs::read_dir(root.join("home").join("logs")).expect("log dir") {
        log += &std::fs::read_to_string(entry.expect("entry").path()).unwrap_or_default();
    }
    assert!(log.contains("refused a wrong token"), "the log: {log}");
    assert!(!log.contains(&token), "a token in the log: {log}");
    let names: Vec<String> = files
        .iter()
        .map(|(p, _, _)| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    for expected in [
        "simrelay.db",
        "simrelay.db-wal",
        "simrelay.db-shm",
        "token",
        "tokens.toml",
        "tls-key.pem",
        "tls-cert.pem",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("simrelay.") && n.ends_with(".log")),
        "{names:?}"
    );
    for (path, is_dir, mode) in files {
        let want = if is_dir { 0o700 } else { 0o600 };
        assert_eq!(mode, want, "{} is {mode:o}", path.display());
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

// ---------------------------------------------------------------------------------------------------------------
// Tokens and guessing.

#[tokio::test]
async fn empty_blank_and_short_tokens_are_refused_with_the_command_that_makes_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    for bad in [
        "",
        "   ",
        "short",
        "0123456789abcdef0123456789abcde",
        "spaces in a token that is long enough",
    ] {
        let err = Engine::start(Config {
            token: Some(bad.to_owned()),
            ..config(dir.path())
        })
        .await
        .expect_err(bad);
        assert!(matches!(err, EngineError::WeakToken(_)), "{bad:?}: {err}");
        assert!(err.to_string().contains("simrelay token generate"), "{err}");
    }
    // The same from the command line, the environment and the config file.
    let conf = dir.path().join("conf");
    std::fs::create_dir_all(&conf).expect("dir");
    std::fs::write(conf.join("config.toml"), "token = \"\"\n").expect("write");
    let generated = simrelay()
        .args(["token", "generate"])
        .output()
        .expect("runs");
    let generated = String::from_utf8(generated.stdout).expect("utf-8");
    assert_eq!(generated.trim().len(), 64, "{generated}");
    for (args, env) in [
        (vec!["--token", "short"], None),
        (vec![], Some(("SIMRELAY_TOKEN", "   "))),
        (vec![], None),
    ] {
        let mut command = simrelay();
        command
            .env("SIMRELAY_CONFIG", conf.join("config.toml"))
            .env("SIMRELAY_LOG_DIR", dir.path().join("logs"))
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(dir.path().join("cli.db"))
            .args(&args)
            .stdout(Stdio::null());
        if let Some((name, value)) = env {
            command.env(name, value);
        }
        let out = command.output().expect("runs");
        assert!(!out.status.success(), "{args:?} {env:?} started");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("simrelay token generate"),
            "{args:?} {env:?}: {err}"
        );
    }
    // A good token starts.
    let engine = start(Config {
        token: Some(generated.trim().to_owned()),
        ..config(dir.path())
    })
    .await;
    assert_eq!(engine.token(), generated.trim());
    engine.shutdown().await;
}

#[tokio::test]
async fn guessing_through_the_page_health_and_cookies_counts() {
    let http = reqwest::Client::new();
    for (how, guess) in [
        ("the UI page", "/?token=guess-{i}"),
        ("health", "/api/health?token=guess-{i}"),
        ("a cookie", "/"),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = start(config(dir.path())).await;
        for i in 0..10 {
            let path = guess.replace("{i}", &i.to_string());
            let r = http
                .get(url(&engine, &path))
                .header("cookie", format!("simrelay_token=cookie-guess-{i}"))
                .send()
                .await
                .expect("get");
            // The page (or the not-built page) and health still answer; no cookie is set for a wrong token (a bad
            // one is expired).
            assert!(
                !matches!(r.status().as_u16(), 401 | 429),
                "{how}: {}",
                r.status()
            );
            let set = r
                .headers()
                .get("set-cookie")
                .map(|v| v.to_str().expect("ascii").to_owned());
            assert!(
                set.as_deref().is_none_or(|c| c.contains("Max-Age=0")),
                "{how}: {set:?}"
            );
        }
        // Ten guesses later the right token gets nothing from this address, on any path.
        let token = engine.token().to_owned();
        let r = http
            .get(url(&engine, "/api/messages"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 429, "{how}");
        let r = http
            .get(url(&engine, &format!("/?token={token}")))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 429, "{how}: the page is no oracle either");
        assert!(r.headers().get("set-cookie").is_none());
        engine.shutdown().await;
    }
}

#[tokio::test]
async fn guessing_pairing_codes_and_feed_tokens_counts_too() {
    let http = reqwest::Client::new();
    for how in ["a pairing code", "the live feed"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = start(config(dir.path())).await;
        for i in 0..10 {
            let r = if how == "a pairing code" {
                http.post(url(&engine, "/api/pair/claim"))
                    .json(&json!({"code": format!("{i:032x}")}))
                    .send()
                    .await
                    .expect("claim")
            } else {
                http.get(url(&engine, &format!("/ws?token=guess-{i}")))
                    .send()
                    .await
                    .expect("ws")
            };
            assert_eq!(r.status(), 401, "{how} {i}");
        }
        let r = http
            .get(url(&engine, "/api/messages"))
            .bearer_auth(engine.token())
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 429, "{how}");
        engine.shutdown().await;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Revocation.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_revocation_closes_an_open_websocket_and_a_long_poll_within_a_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("conf");
    let phone = tokens::add(&conf.join("tokens.toml"), "phone").expect("add");
    let engine = start(config(dir.path())).await;
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws?token={phone}", engine.local_addr()))
            .await
            .expect("the phone connects");
    let hello = ws.next().await.expect("frame").expect("ok");
    assert!(hello.to_text().expect("text").contains("\"hello\""));
    let poll = tokio::spawn({
        let url = url(&engine, "/api/codes/wait?timeout=60s");
        let phone = phone.clone();
        async move {
            let r = reqwest::Client::new()
                .get(url)
                .bearer_auth(phone)
                .send()
                .await;
            (r.map(|r| r.status().as_u16()), Instant::now())
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!poll.is_finished(), "the long poll waits");
    // Another process revokes the phone.
    let out = tokio::task::spawn_blocking({
        let config = conf.join("config.toml");
        move || {
            simrelay()
                .args(["token", "revoke", "phone"])
                .env("SIMRELAY_CONFIG", config)
                .output()
                .expect("runs")
        }
    })
    .await
    .expect("join");
    let revoked_at = Instant::now();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let close = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(WsMessage::Close(frame))) => return (frame, Instant::now()),
                Some(Ok(_)) => continue,
                other => panic!("the connection ended without a close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("closed");
    let (frame, closed_at) = close;
    let frame = frame.expect("a close frame with a code");
    assert_eq!(frame.code, CloseCode::Library(4401));
    assert_eq!(frame.reason.as_str(), "revoked");
    let took = closed_at.saturating_duration_since(revoked_at);
    assert!(
        took < Duration::from_secs(1),
        "the WebSocket closed {took:?} after the revocation"
    );
    let (status, ended_at) = poll.await.expect("join");
    assert_eq!(status.expect("answered"), 401);
    let took = ended_at.saturating_duration_since(revoked_at);
    assert!(
        took < Duration::from_secs(1),
        "the long poll ended {took:?} after the revocation"
    );
    // And the token is refused from now on.
    let r = reqwest::Client::new()
        .get(url(&engine, "/api/messages"))
        .bearer_auth(&phone)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 401);
    engine.shutdown().await;
}

#[tokio::test]
async fn logout_expires_the_cookie() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(config(dir.path())).await;
    let r = reqwest::Client::new()
        .post(url(&engine, "/api/logout"))
        .header("cookie", format!("simrelay_token={}", engine.token()))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 204);
    let cookie = r.headers()["set-cookie"].to_str().expect("ascii");
    assert!(
        cookie.starts_with("simrelay_token=;") && cookie.contains("Max-Age=0"),
        "{cookie}"
    );
    engine.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------------
// Connections.

/// Connects to `addr` from the loopback address `source` (any of 127.0.0.0/8 works on Linux): another client.
async fn connect_from(addr: SocketAddr, source: &str) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(source.parse().expect("ip"), 0))
        .expect("bind");
    socket.connect(addr).await.expect("connect")
}

/// One GET with the token on `stream`; the status.
async fn get(mut stream: tokio::net::TcpStream, path: &str, token: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut head = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut head))
        .await
        .expect("answered in time")
        .expect("status line");
    String::from_utf8_lossy(&head[9..12])
        .parse()
        .expect("status")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_connections_from_one_address_do_not_stop_another_client() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(config(dir.path())).await;
    let addr = engine.local_addr();
    let token = engine.token().to_owned();
    let mut idle: Vec<tokio::net::TcpStream> = Vec::new();
    for _ in 0..1000 {
        idle.push(tokio::net::TcpStream::connect(addr).await.expect("connect"));
    }
    let asked = Instant::now();
    // Another client, and this machine's own next client, are answered while the thousand say nothing.
    let status = get(
        connect_from(addr, "127.0.0.2").await,
        "/api/messages",
        &token,
    )
    .await;
    assert_eq!(status, 200);
    let status = get(
        connect_from(addr, "127.0.0.1").await,
        "/api/messages",
        &token,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    // The silent ones are closed by the server after the header-read timeout.
    let closed = tokio::time::timeout(Duration::from_secs(40), async {
        let mut closed = 0;
        for stream in &mut idle {
            let mut buf = [0u8; 1];
            if let Ok(0) | Err(_) = tokio::io::AsyncReadExt::read(stream, &mut buf).await {
                closed += 1;
            }
        }
        closed
    })
    .await
    .expect("the server closes idle connections");
    assert_eq!(closed, 1000);
    engine.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------------
// Scopes and pairing.

#[tokio::test]
async fn device_tokens_are_limited_to_their_scopes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("conf").join("tokens.toml");
    let reader =
        tokens::add_with_scopes(&file, "reader", Scopes::default().with(Scope::Read)).expect("add");
    let phone = tokens::add(&file, "phone").expect("add");
    let admin = tokens::add_with_scopes(&file, "admin", Scopes::ALL).expect("add");
    let engine = start(config(dir.path())).await;
    let http = reqwest::Client::new();
    let send = json!({"to": "+15555550100", "text": "hi"});
    let choice = json!({"code": null, "remember": true});
    for (token, method, path, body, status, missing) in [
        (&reader, "GET", "/api/messages", None, 200, ""),
        (&reader, "GET", "/api/conversations", None, 200, ""),
        (&reader, "GET", "/api/corrections", None, 200, ""),
        (
            &reader,
            "PUT",
            "/api/messages/1/code",
            Some(&choice),
            403,
            "admin",
        ),
        (
            &phone,
            "PUT",
            "/api/messages/1/code",
            Some(&choice),
            403,
            "admin",
        ),
        (
            &phone,
            "DELETE",
            "/api/corrections/DemoBank",
            None,
            403,
            "admin",
        ),
        (
            &admin,
            "PUT",
            "/api/messages/1/code",
            Some(&choice),
            404,
            "",
        ),
        (&reader, "POST", "/api/send", Some(&send), 403, "send"),
        (&reader, "GET", "/api/settings", None, 403, "admin"),
        (&phone, "POST", "/api/send", Some(&send), 409, ""),
        (&phone, "DELETE", "/api/messages/1", None, 403, "admin"),
        (&phone, "GET", "/api/devices", None, 403, "admin"),
        (&phone, "GET", "/api/ports", None, 403, "admin"),
        (&admin, "GET", "/api/settings", None, 200, ""),
        (&admin, "GET", "/api/devices", None, 200, ""),
    ] {
        let mut request = http
            .request(method.parse().expect("method"), url(&engine, path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let r = request.send().await.expect("request");
        assert_eq!(r.status().as_u16(), status, "{method} {path}");
        if status == 403 {
            let error = error_of(r).await;
            assert_eq!(error.error, "insufficient_scope");
            assert!(
                error.detail.contains(&format!("the {missing} scope")),
                "{}",
                error.detail
            );
        }
    }
    // Scopes are listed with the device, and by the CLI.
    let r = http
        .get(url(&engine, "/api/devices"))
        .bearer_auth(engine.token())
        .send()
        .await
        .expect("get");
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["devices"][0]["scopes"], json!(["read"]));
    assert_eq!(body["devices"][1]["scopes"], json!(["read", "send"]));
    let out = simrelay()
        .args(["token", "list"])
        .env(
            "SIMRELAY_CONFIG",
            dir.path().join("conf").join("config.toml"),
        )
        .output()
        .expect("runs");
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.contains("reader\tread\t") && list.contains("admin\tread,send,admin\t"),
        "{list}"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_pairs_with_a_one_time_code_over_https_and_never_sees_the_main_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ip = lan_ip();
    let engine = start(Config {
        // This machine's address may not be a private one (a test network): the owner names it.
        lan_addresses: vec![ip.into()],
        ..config(dir.path())
    })
    .await;
    let token = engine.token().to_owned();
    let http = reqwest::Client::new();
    let r = http
        .post(url(&engine, "/api/pair"))
        .bearer_auth(&token)
        .json(&json!({"name": "Pixel 8"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 409, "not shared yet");
    assert_eq!(error_of(r).await.error, "not_shared");
    engine
        .update_settings(&SettingsPatch {
            lan: Some(true),
            ..SettingsPatch::default()
        })
        .await
        .expect("sharing starts");
    let lan = SocketAddr::new(ip, engine.local_addr().port());
    let r = http
        .post(url(&engine, "/api/pair"))
        .bearer_auth(&token)
        .json(&json!({"name": "Pixel 8", "scopes": ["read"]}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 201);
    let text = r.text().await.expect("body");
    assert!(
        !text.contains(&token),
        "the main token is in the pairing answer"
    );
    let pairing: Value = serde_json::from_str(&text).expect("json");
    let code = pairing["code"].as_str().expect("code").to_owned();
    assert_eq!(
        pairing["links"][0]["url"],
        format!("https://{lan}/?pair={code}")
    );
    assert!(pairing["links"][0]["qr_svg"]
        .as_str()
        .expect("svg")
        .contains("<svg"));
    let fingerprint = pairing["fingerprint"]
        .as_str()
        .expect("HTTPS on the LAN by default");
    // The phone trusts the certificate whose fingerprint the owner compared.
    let cert = std::fs::read(dir.path().join("conf").join("tls-cert.pem")).expect("cert");
    assert_eq!(
        simrelay_engine::tls::stored_fingerprint(&dir.path().join("conf")).expect("read"),
        Some(fingerprint.to_owned())
    );
    let phone_http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&cert).expect("pem"))
        .build()
        .expect("client");
    let lan_url = |path: &str| format!("https://{lan}{path}");
    // Plain HTTP on the LAN address is redirected, not served.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("http://{lan}/api/health"))
        .send()
        .await
        .expect("get");
    assert_eq!(plain.status(), 307);
    let wrong = phone_http
        .post(lan_url("/api/pair/claim"))
        .json(&json!({"code": "0".repeat(32)}))
        .send()
        .await
        .expect("post");
    assert_eq!(wrong.status(), 401);
    let r = phone_http
        .post(lan_url("/api/pair/claim"))
        .json(&json!({"code": code}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 201);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        cookie.starts_with("__Host-simrelay_token=") && cookie.contains("; Secure"),
        "{cookie}"
    );
    let claimed: Value = r.json().await.expect("json");
    let device_token = claimed["token"].as_str().expect("token").to_owned();
    assert_ne!(device_token, token);
    assert_eq!(claimed["device"]["name"], "Pixel 8");
    assert_eq!(claimed["device"]["scopes"], json!(["read"]));
    let again = phone_http
        .post(lan_url("/api/pair/claim"))
        .json(&json!({"code": code}))
        .send()
        .await
        .expect("post");
    assert_eq!(again.status(), 401, "a code works once");
    assert_eq!(error_of(again).await.error, "bad_pairing_code");
    let r = phone_http
        .get(lan_url("/api/messages"))
        .bearer_auth(&device_token)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    // Admin routes stay this machine's: even the main token is refused from the LAN.
    let r = phone_http
        .get(lan_url("/api/settings"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 403);
    assert_eq!(error_of(r).await.error, "loopback_only");
    engine.shutdown().await;
}

#[tokio::test]
async fn only_serial_device_paths_can_be_added_or_probed_and_probing_is_a_post() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(config(dir.path())).await;
    let http = reqwest::Client::new();
    for (path, body) in [
        ("/api/modems", json!({"port": "/etc/shadow"})),
        ("/api/modems", json!({"port": "/dev/sda"})),
        ("/api/ports/probe", json!({"port": "/dev/pts/0"})),
        (
            "/api/ports/probe",
            json!({"port": "/dev/serial/by-id/../../sda"}),
        ),
    ] {
        let r = http
            .post(url(&engine, path))
            .bearer_auth(engine.token())
            .json(&body)
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 400, "{path} {body}");
        assert_eq!(error_of(r).await.error, "port_not_allowed");
    }
    let r = http
        .get(url(&engine, "/api/ports?probe=true"))
        .bearer_auth(engine.token())
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 405);
    let r = http
        .get(url(&engine, "/api/ports"))
        .bearer_auth(engine.token())
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let listed: Value = r.json().await.expect("json");
    assert!(listed["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .all(|p| p["probed"] == false));
    engine.shutdown().await;

    // The configuration file can allow more (the simulator's pseudo-terminals, say).
    let engine = start(Config {
        allowed_ports: vec!["/dev/pts/*".into()],
        ..config(dir.path())
    })
    .await;
    let r = http
        .post(url(&engine, "/api/ports/probe"))
        .bearer_auth(engine.token())
        .json(&json!({"port": "/dev/pts/999999"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200, "allowed, and reported as not found");
    engine.shutdown().await;
}
