//! Paired devices and pairing codes against a real engine: a real tokens file, real tokens, real HTTP (reqwest)
//! and WebSocket (tokio-tungstenite) clients, over loopback and over this machine's LAN address.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};
use simrelay_engine::{tokens, Config, Engine};
use simrelay_protocol::ApiError;
use simrelay_testkit::lan_ip;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::common::{self, url as local};

const TOKEN: &str = "main-token-0123456789abcdef0123456789";

async fn start(dir: &Path, listen: &str, token: Option<&str>) -> Engine {
    common::start(Config {
        listen: listen.parse().expect("addr"),
        token: token.map(str::to_owned),
        tokens_file: Some(dir.join("tokens.toml")),
        ..common::config(&dir.join("d.db"))
    })
    .await
}

async fn status_with(url: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("get")
        .status()
        .as_u16()
}

async fn post_device(engine: &Engine, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(local(engine, "/api/devices"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .expect("post")
}

async fn devices(engine: &Engine) -> Vec<Value> {
    devices_with(engine, TOKEN).await
}

async fn error_of(r: reqwest::Response) -> ApiError {
    r.json().await.expect("error json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_is_paired_listed_used_and_revoked_live() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(dir.path(), "127.0.0.1:0", Some(TOKEN)).await;
    assert!(devices(&engine).await.is_empty());

    let r = post_device(&engine, json!({"name": "  Pixel 8 "})).await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.expect("json");
    let device = created["device"].clone();
    let token = created["token"].as_str().expect("token").to_owned();
    let id = device["id"].as_str().expect("id").to_owned();
    assert_eq!(device["name"], "Pixel 8", "trimmed");
    assert!(
        chrono::DateTime::parse_from_rfc3339(device["created_at"].as_str().expect("str")).is_ok()
    );
    assert_eq!(device["last_seen"], Value::Null);
    assert_eq!(device["last_ip"], Value::Null);
    assert_eq!(
        device["scopes"],
        json!(["read", "send"]),
        "the default scopes"
    );
    assert!(
        created.get("links").is_none(),
        "a token never goes into a link"
    );
    assert!(token.len() >= 32 && token != TOKEN);
    assert_eq!(devices(&engine).await, vec![device.clone()]);

    // Only the hash is on disk, private.
    let file = std::fs::read_to_string(dir.path().join("tokens.toml")).expect("tokens file");
    assert!(!file.contains(&token) && file.contains(&tokens::token_hash(&token)));

    // The token works, and marks the device as seen.
    assert_eq!(
        status_with(&local(&engine, "/api/messages"), &token).await,
        200
    );
    let listed = devices(&engine).await;
    assert_eq!(listed[0]["last_ip"], "127.0.0.1");
    let seen = listed[0]["last_seen"].as_str().expect("seen now");
    assert!(chrono::DateTime::parse_from_rfc3339(seen).is_ok());
    // Written to the file off the request path, soon after.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let file = std::fs::read_to_string(dir.path().join("tokens.toml")).expect("tokens file");
        if file.contains("last_seen") && file.contains("127.0.0.1") {
            break;
        }
        assert!(Instant::now() < deadline, "last seen never written: {file}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Mistakes.
    let dup = post_device(&engine, json!({"name": "Pixel 8"})).await;
    assert_eq!(dup.status(), 409);
    assert_eq!(error_of(dup).await.error, "device_exists");
    for bad in [
        json!({"name": ""}),
        json!({"name": "   "}),
        json!({"name": "x".repeat(65)}),
        json!({"name": "a\u{7}b"}),
        json!({"nom": "Pixel"}),
        json!({"name": "Pixel", "extra": 1}),
        json!(["Pixel"]),
    ] {
        let r = post_device(&engine, bad.clone()).await;
        assert_eq!(r.status(), 400, "{bad}");
        assert_eq!(error_of(r).await.error, "bad_request");
    }
    let not_json = reqwest::Client::new()
        .post(local(&engine, "/api/devices"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=Pixel")
        .send()
        .await
        .expect("post");
    assert_eq!(not_json.status(), 415);
    assert_eq!(error_of(not_json).await.error, "unsupported_media_type");
    let unknown_scope = post_device(&engine, json!({"name": "x", "scopes": ["root"]})).await;
    assert_eq!(unknown_scope.status(), 400);
    let exactly_64 = post_device(&engine, json!({"name": "é".repeat(64)})).await;
    assert_eq!(exactly_64.status(), 201, "64 characters are fine");
    let unknown = reqwest::Client::new()
        .delete(local(&engine, "/api/devices/0123456789abcdef"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("delete");
    assert_eq!(unknown.status(), 404);
    assert_eq!(error_of(unknown).await.error, "not_found");
    // Managing devices needs the main token or a device's: without any, 401.
    let anonymous = reqwest::get(local(&engine, "/api/devices"))
        .await
        .expect("get");
    assert_eq!(anonymous.status(), 401);

    // A WebSocket authenticated by the device is closed with 4401 when it is revoked.
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws?token={token}", engine.local_addr()))
            .await
            .expect("ws connects");
    let hello = ws.next().await.expect("frame").expect("ok");
    assert!(hello.to_text().expect("text").contains("\"hello\""));
    // A second WebSocket, on the main token, must stay open.
    let (mut main_ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws?token={TOKEN}", engine.local_addr()))
            .await
            .expect("ws connects");
    let _ = main_ws.next().await;

    let revoked_at = Instant::now();
    let r = reqwest::Client::new()
        .delete(local(&engine, &format!("/api/devices/{id}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), 204);
    assert_eq!(
        status_with(&local(&engine, "/api/messages"), &token).await,
        401,
        "at once"
    );
    let close = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            match ws.next().await {
                Some(Ok(WsMessage::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("closed within a second")
    .expect("with a code");
    assert!(revoked_at.elapsed() < Duration::from_secs(1));
    assert_eq!(close.code, CloseCode::from(4401));
    assert_eq!(close.reason.as_str(), "revoked");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), main_ws.next())
            .await
            .is_err(),
        "the main token's WebSocket stays open and quiet"
    );
    // A new WebSocket with the revoked token is refused.
    assert!(tokio_tungstenite::connect_async(format!(
        "ws://{}/ws?token={token}",
        engine.local_addr()
    ))
    .await
    .is_err());
    let again = reqwest::Client::new()
        .delete(local(&engine, &format!("/api/devices/{id}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("delete");
    assert_eq!(again.status(), 404);
    assert_eq!(
        devices(&engine).await.len(),
        1,
        "only the 64-character one is left"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_and_the_server_share_the_tokens_file_live_and_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tokens.toml");
    let early = tokens::add(&path, "old laptop").expect("add before start");
    let engine = start(dir.path(), "127.0.0.1:0", Some(TOKEN)).await;
    let url = local(&engine, "/api/messages");
    assert_eq!(status_with(&url, &early).await, 200);

    // Added by the CLI while the server runs: accepted within about a second, and listed.
    let laptop = tokens::add(&path, "laptop").expect("add");
    let deadline = Instant::now() + Duration::from_secs(3);
    while status_with(&url, &laptop).await != 200 {
        assert!(
            Instant::now() < deadline,
            "the CLI's new token was never accepted"
        );
        // Slowly: every 401 counts against this address's limit of failed attempts.
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let names: Vec<String> = devices(&engine)
        .await
        .iter()
        .map(|d| d["name"].as_str().expect("name").to_owned())
        .collect();
    assert_eq!(names, ["old laptop", "laptop"]);

    // Paired through the API: written to the same file, next to what the CLI wrote.
    let r = post_device(&engine, json!({"name": "phone"})).await;
    let phone = r.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let on_disk: Vec<String> = tokens::load(&path)
        .expect("load")
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(on_disk, ["old laptop", "laptop", "phone"]);

    // The list alone notices the file changed, too.
    tokens::add(&path, "tablet").expect("add");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(devices(&engine).await.iter().any(|d| d["name"] == "tablet"));

    // Revoked by the CLI: refused within about a second.
    tokens::revoke(&path, "laptop").expect("revoke");
    let deadline = Instant::now() + Duration::from_secs(3);
    while status_with(&url, &laptop).await != 401 {
        assert!(
            Instant::now() < deadline,
            "the CLI's revocation was never seen"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    engine.shutdown().await;

    // After a restart, the devices (and when they were last seen) are still there.
    let engine = start(dir.path(), "127.0.0.1:0", Some(TOKEN)).await;
    let url = local(&engine, "/api/messages");
    assert_eq!(status_with(&url, &phone).await, 200);
    assert_eq!(status_with(&url, &early).await, 200);
    assert_eq!(status_with(&url, &laptop).await, 401);
    let listed = devices(&engine).await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    let used: Vec<_> = listed.iter().filter(|d| d["name"] != "tablet").collect();
    assert!(
        used.iter().all(|d| d["last_seen"].is_string()),
        "{listed:?}"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_codes_carry_qr_codes_and_management_is_loopback_only() {
    let ip = lan_ip().expect("this machine needs a LAN address: the test plays a phone on the LAN");
    let dir = tempfile::tempdir().expect("tempdir");
    // `--lan`: loopback plus this machine's LAN address (named, since it may not be a private one), on one port;
    // plain HTTP on the LAN, as the owner may choose (tls.rs and trust.rs test the HTTPS default).
    let engine = common::start(Config {
        listen: "0.0.0.0:0".parse().expect("addr"),
        tokens_file: Some(dir.path().join("tokens.toml")),
        lan_addresses: vec![ip.into()],
        lan_tls: false,
        ..common::config(&dir.path().join("d.db"))
    })
    .await;
    let token = engine.token().to_owned();
    let port = engine.local_addr().port();
    assert!(engine.local_addr().ip().is_loopback());
    let lan = SocketAddr::new(ip, port);
    assert!(
        engine.lan_addrs().contains(&lan),
        "{:?}",
        engine.lan_addrs()
    );

    let r = reqwest::Client::new()
        .get(local(&engine, "/api/pair"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let addresses: Value = r.json().await.expect("json");
    assert_eq!(
        addresses["urls"][0],
        format!("http://{lan}/"),
        "the routed address first, without a token"
    );
    assert!(addresses.get("fingerprint").is_none(), "no TLS");

    // A pairing code per device, in a link per LAN address, with a QR code of it; never the token.
    let r = reqwest::Client::new()
        .post(local(&engine, "/api/pair"))
        .bearer_auth(&token)
        .json(&json!({"name": "tablet"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 201);
    let body = r.text().await.expect("body");
    assert!(!body.contains(&token));
    let pairing: Value = serde_json::from_str(&body).expect("json");
    let code = pairing["code"].as_str().expect("code");
    assert_eq!(pairing["scopes"], json!(["read", "send"]));
    let link = &pairing["links"][0];
    assert_eq!(link["url"], format!("http://{lan}/?pair={code}"));
    assert!(link["qr_svg"].as_str().expect("svg").contains("<svg"));
    // The phone opens the page (public) and exchanges the code, from the LAN.
    let page = reqwest::get(link["url"].as_str().expect("url"))
        .await
        .expect("page");
    assert!(
        page.headers().get("set-cookie").is_none(),
        "opening the link alone proves nothing"
    );
    let r = reqwest::Client::new()
        .post(format!("http://{lan}/api/pair/claim"))
        .json(&json!({"code": code}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 201);
    assert!(r.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .starts_with("simrelay_token="));
    let claimed: Value = r.json().await.expect("json");
    let device_token = claimed["token"].as_str().expect("token");
    assert_eq!(claimed["device"]["name"], "tablet");
    let from_lan = format!("http://{lan}/api/messages");
    assert_eq!(status_with(&from_lan, device_token).await, 200);
    assert_eq!(
        devices_with(&engine, &token).await[0]["last_ip"],
        ip.to_string()
    );

    // From the LAN, even with the main token, nothing of the owner's is handed out.
    let http = reqwest::Client::new();
    let lan_base = format!("http://{lan}");
    for request in [
        http.get(format!("{lan_base}/api/devices")),
        http.post(format!("{lan_base}/api/devices"))
            .json(&json!({"name": "x"})),
        http.delete(format!(
            "{lan_base}/api/devices/{}",
            claimed["device"]["id"].as_str().expect("id")
        )),
        http.get(format!("{lan_base}/api/pair")),
        http.post(format!("{lan_base}/api/pair"))
            .json(&json!({"name": "x"})),
        http.get(format!("{lan_base}/api/settings")),
        http.patch(format!("{lan_base}/api/settings"))
            .json(&json!({"lan": false})),
    ] {
        let r = request.bearer_auth(&token).send().await.expect("send");
        assert_eq!(r.status(), 403);
        assert_eq!(error_of(r).await.error, "loopback_only");
    }
    assert_eq!(
        devices_with(&engine, &token).await.len(),
        1,
        "nothing was changed"
    );
    engine.shutdown().await;
}

async fn devices_with(engine: &Engine, token: &str) -> Vec<Value> {
    let r = reqwest::Client::new()
        .get(local(engine, "/api/devices"))
        .bearer_auth(token)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.expect("json")["devices"]
        .as_array()
        .expect("devices")
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_tokens_file_devices_live_in_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = common::start(Config {
        token: Some(TOKEN.into()),
        ..common::config(&dir.path().join("m.db"))
    })
    .await;
    let r = post_device(&engine, json!({"name": "phone"})).await;
    assert_eq!(r.status(), 201);
    let token = r.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(
        status_with(&local(&engine, "/api/modems"), &token).await,
        200
    );
    assert_eq!(engine.devices().list().len(), 1);
    assert!(!dir.path().join("tokens.toml").exists());
    engine.shutdown().await;
}
