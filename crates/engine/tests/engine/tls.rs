//! `tls = true`: a real server speaks HTTPS and WSS with the self-signed certificate it made on first use, real
//! clients that trust exactly that certificate get through, one that trusts nothing does not, plain HTTP is
//! redirected, and `GET /api/pair` carries the certificate's fingerprint.

use std::sync::Arc;

use futures_util::StreamExt;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use simrelay_engine::tls::{self, CERT_FILE};
use simrelay_engine::{Config, Engine};

use crate::common;

async fn start(dir: &tempfile::TempDir, listen: &str, token: Option<&str>) -> Engine {
    common::start(Config {
        listen: listen.parse().expect("addr"),
        token: token.map(str::to_owned),
        tls: true,
        tls_dir: Some(dir.path().join("config")),
        // This machine's LAN address may not be a private one (a test network): the owner names it.
        lan_addresses: simrelay_testkit::lan_ip()
            .into_iter()
            .map(Into::into)
            .collect(),
        ..common::config(&dir.path().join("tls.db"))
    })
    .await
}

fn trusting_client(dir: &tempfile::TempDir) -> reqwest::Client {
    let pem = std::fs::read(dir.path().join("config").join(CERT_FILE)).expect("certificate");
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("pem"))
        .tls_built_in_root_certs(false)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

#[tokio::test]
async fn https_with_the_generated_certificate_and_its_fingerprint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(&dir, "127.0.0.1:0", None).await;
    let port = engine.local_addr().port();
    assert!(engine.url().starts_with("https://"), "{}", engine.url());
    let fingerprint = engine.tls_fingerprint().expect("fingerprint").to_owned();
    assert_eq!(
        tls::stored_fingerprint(&dir.path().join("config")).expect("read"),
        Some(fingerprint.clone())
    );

    let client = trusting_client(&dir);
    for host in ["localhost", "127.0.0.1"] {
        let response = client
            .get(format!("https://{host}:{port}/api/health"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("https to {host}: {e:?}"));
        assert_eq!(response.status(), 200);
        let messages = client
            .get(format!("https://{host}:{port}/api/messages?limit=1"))
            .bearer_auth(engine.token())
            .send()
            .await
            .expect("messages");
        assert_eq!(messages.status(), 200);
    }

    // A client that trusts no certificate of ours is refused by its own TLS stack.
    let untrusting = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .build()
        .expect("client");
    assert!(untrusting
        .get(format!("https://localhost:{port}/api/health"))
        .send()
        .await
        .is_err());

    // Plain HTTP on the same port is sent to HTTPS, never served.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let response = plain
        .get(format!("http://127.0.0.1:{port}/api/messages?limit=1"))
        .send()
        .await
        .expect("plain answer");
    assert_eq!(response.status(), 307);
    assert_eq!(
        response.headers()["location"],
        format!("https://127.0.0.1:{port}/api/messages?limit=1").as_str()
    );
    assert!(!response.text().await.expect("body").contains("messages\""));

    // A restart keeps the certificate, so paired devices keep trusting it.
    engine.shutdown().await;
    let again = start(&dir, "127.0.0.1:0", None).await;
    assert_eq!(again.tls_fingerprint(), Some(fingerprint.as_str()));
    again.shutdown().await;
}

#[tokio::test]
async fn wss_delivers_the_hello_frame_over_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(&dir, "127.0.0.1:0", None).await;
    let cert = CertificateDer::from_pem_file(dir.path().join("config").join(CERT_FILE))
        .expect("certificate");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("root");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(engine.local_addr())
        .await
        .expect("tcp");
    let tls_stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("TLS handshake");
    let url = format!(
        "wss://localhost:{}/ws?token={}",
        engine.local_addr().port(),
        engine.token()
    );
    let (mut ws, response) = tokio_tungstenite::client_async(url, tls_stream)
        .await
        .expect("WebSocket upgrade over TLS");
    assert_eq!(response.status().as_u16(), 101);
    let frame = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
        .await
        .expect("a frame in time")
        .expect("open")
        .expect("frame");
    let hello: serde_json::Value =
        serde_json::from_str(frame.to_text().expect("text")).expect("json");
    assert_eq!(hello["type"], "hello");
    engine.shutdown().await;
}

#[tokio::test]
async fn the_pairing_answer_carries_the_fingerprint_and_https_links() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = "secret-token-for-tls-pairing-0123456789";
    let engine = start(&dir, "0.0.0.0:0", Some(token)).await;
    let port = engine.local_addr().port();
    let response = trusting_client(&dir)
        .get(format!("https://localhost:{port}/api/pair"))
        .bearer_auth(token)
        .send()
        .await
        .expect("pair");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(
        body["fingerprint"].as_str(),
        engine.tls_fingerprint(),
        "{body}"
    );
    let client = trusting_client(&dir);
    let urls = body["urls"].as_array().expect("urls");
    assert!(
        !urls.is_empty(),
        "shared on this machine's LAN address: {body}"
    );
    for url in urls {
        let url = url.as_str().expect("url");
        assert!(
            url.starts_with("https://") && !url.contains("token"),
            "{body}"
        );
        // The LAN listener speaks TLS too, with a certificate valid for that address.
        let health = url.trim_end_matches('/').to_owned() + "/api/health";
        let response = client.get(&health).send().await;
        assert_eq!(response.expect(&health).status(), 200);
    }
    engine.shutdown().await;
}

#[test]
fn serve_with_tls_prints_the_fingerprint_that_config_shows() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().expect("tempdir");
    let simrelay = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_simrelay"));
        command
            .env("SIMRELAY_CONFIG", dir.path().join("config.toml"))
            .env("SIMRELAY_LOG_DIR", dir.path().join("logs"));
        command
    };
    let out = simrelay().arg("config").output().expect("config runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("tls = false") && text.contains("made at the first start"),
        "{text}"
    );

    let (mut child, mut stdout) = common::serve(
        simrelay().stderr(Stdio::null()),
        &dir.path().join("cli.db"),
        &["--tls"],
    );
    let (mut first, mut second) = (String::new(), String::new());
    stdout.read_line(&mut first).expect("url line");
    stdout.read_line(&mut second).expect("fingerprint line");
    child.kill().expect("kill");
    let _ = child.wait();
    assert!(first.contains("https://127.0.0.1:"), "{first}");
    let fingerprint = second
        .trim()
        .strip_prefix("TLS certificate SHA-256 fingerprint: ")
        .unwrap_or_else(|| panic!("{second}"))
        .to_owned();
    assert_eq!(fingerprint.len(), 95, "{fingerprint}");
    assert!(
        dir.path().join(CERT_FILE).exists(),
        "next to the config file"
    );

    let out = simrelay().arg("config").output().expect("config runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains(&format!("(SHA-256 {fingerprint})")), "{text}");
}
