//! The desktop app reads the same configuration as `simrelay serve`: `config.toml` in the session's config
//! directory sets the address, the token, the modem (a PIN-locked pty simulator, its PIN and its label), and
//! devices paired through the app are kept in `tokens.toml` there, so they are still let in after the app is
//! quit and started again. No window is opened (`--minimized`): what is checked is the engine the app runs.

use super::Session;
use simrelay_e2e_desktop::process::{desktop_binary, free_port, wait_for_port, Guard};
use simrelay_modem::{SimOptions, Simulator};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One HTTP/1.1 request on a plain socket: (status, body). The app is a separate process, so this is all a
/// client needs; `Connection: close` ends the body.
fn request(port: u16, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(head.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Starts the app as a user does (no engine flags: everything comes from config.toml), in the tray.
fn launch(session: &Session, binary: &Path) -> Guard {
    let mut command = Command::new(binary);
    command
        .arg("--minimized")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    session.apply(&mut command);
    Guard::spawn("simrelay-desktop", &mut command).expect("simrelay-desktop starts")
}

/// Quits the app the way a session logout does (SIGTERM: the app's Quit path) and waits for a clean exit.
async fn quit(app: &mut Guard) {
    let status = Command::new("kill")
        .arg(app.id().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success());
    let start = Instant::now();
    while app.is_alive() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the app did not quit on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let code = app.child_mut().wait().expect("exit status");
    assert!(code.success(), "the app quit with {code:?}");
}

/// The configured modem as `GET /api/modems` lists it once it is connected.
async fn connected_modem(port: u16, token: &str, pty: &str) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let (status, body) = request(port, "GET", "/api/modems", Some(token), "");
        if status == 200 {
            let modems = json(&body)["modems"].clone();
            if let Some(modem) = modems
                .as_array()
                .into_iter()
                .flatten()
                .find(|m| m["port"] == pty && m["state"] == "connected")
            {
                return modem.clone();
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the configured modem did not connect: {body}"
            );
        } else {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "GET /api/modems: {status} {body}"
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_file_steers_the_app_and_paired_devices_survive_a_restart() {
    let binary = desktop_binary().expect("simrelay-desktop not built: run `cargo build -p simrelay-desktop` or set SIMRELAY_DESKTOP_BIN");
    let session = Session::start();
    // A SIM that wants its PIN: only the PIN from config.toml lets the app use it.
    let sim = Simulator::start(SimOptions {
        pin: Some("4821".into()),
        ..SimOptions::default()
    })
    .await
    .expect("modem simulator");
    let pty = sim.path().to_string_lossy().into_owned();
    let port = free_port().expect("port");
    let token = format!(
        "{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    );
    let dir = session.home.path().join("config/simrelay");
    std::fs::create_dir_all(&dir).expect("config dir");
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "modems = [{pty:?}]\nlisten = \"127.0.0.1:{port}\"\ntoken = {token:?}\n\
             [modem_labels]\n{pty:?} = \"Work SIM\"\n[modem_pins]\n{pty:?} = \"4821\"\n"
        ),
    )
    .expect("config.toml");

    let mut app = launch(&session, &binary);
    assert!(
        wait_for_port(port, Duration::from_secs(60)),
        "the app does not listen on config.toml's address 127.0.0.1:{port}"
    );
    // The token from the file guards the API.
    let (status, _) = request(port, "GET", "/api/modems", None, "");
    assert_eq!(
        status, 401,
        "the API is open although config.toml sets a token"
    );
    let (status, _) = request(port, "GET", "/api/modems", Some("wrong"), "");
    assert_eq!(status, 401);
    let modem = connected_modem(port, &token, &pty).await;
    assert_eq!(modem["label"], "Work SIM", "{modem}");
    assert_eq!(sim.pin_attempts(), 1, "the PIN from config.toml, once");

    // Pair a phone as the Settings screen does.
    let (status, body) = request(
        port,
        "POST",
        "/api/devices",
        Some(&token),
        r#"{"name":"Phone"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let phone = json(&body)["token"]
        .as_str()
        .expect("the device's token")
        .to_owned();
    let (status, _) = request(port, "GET", "/api/messages", Some(&phone), "");
    assert_eq!(status, 200, "the phone's token is accepted at once");
    assert!(
        dir.join("tokens.toml").exists(),
        "the device is kept in tokens.toml next to config.toml"
    );

    // Quit and start again: the phone is still let in, the token and address are the file's again.
    quit(&mut app).await;
    assert_eq!(request(port, "GET", "/api/health", None, "").0, 0);
    let mut app = launch(&session, &binary);
    assert!(
        wait_for_port(port, Duration::from_secs(60)),
        "the restarted app does not listen on 127.0.0.1:{port}"
    );
    let (status, body) = request(port, "GET", "/api/messages", Some(&phone), "");
    assert_eq!(
        status, 200,
        "the paired phone is locked out after a restart: {body}"
    );
    let (status, body) = request(port, "GET", "/api/devices", Some(&token), "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["devices"][0]["name"], "Phone", "{body}");
    connected_modem(port, &token, &pty).await;

    // The log lines went to the same daily file `simrelay serve` writes.
    let logs = session.home.path().join(".local/state/simrelay/logs");
    let files: Vec<_> = std::fs::read_dir(&logs)
        .unwrap_or_else(|e| panic!("no log directory {}: {e}", logs.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        files
            .iter()
            .any(|f| f.starts_with("simrelay.") && f.ends_with(".log")),
        "{files:?}"
    );
    quit(&mut app).await;
    sim.shutdown().await;
}
