//! Run-time settings against a real engine and a real SQLite file: GET/PATCH, validation, persistence across
//! restarts, `settings` frames on /ws, retention and hooks changed without a restart, and LAN sharing switched
//! on and off (reached over this machine's real LAN address).

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};
use simrelay_engine::store::{MessageQuery, NewMessage, Retention};
use simrelay_engine::{Config, Engine};
use simrelay_protocol::{ApiError, ServerFrame, ServerNotice, Settings, SettingsPatch};
use simrelay_testkit::lan_ip;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::common::{self, url};

/// The webhook signing key from the "file" (else one is generated, which no expected value could name).
const HOOK_SECRET: &str = "settings-test-signing-key";

async fn start_with(dir: &Path, listen: &str, retention: Retention) -> Engine {
    common::start(Config {
        listen: listen.parse().expect("addr"),
        retention,
        hook_secret: Some(HOOK_SECRET.into()),
        ..common::config(&dir.join("s.db"))
    })
    .await
}

async fn start(dir: &Path) -> Engine {
    start_with(dir, "127.0.0.1:0", Retention::default()).await
}

async fn get_settings(engine: &Engine) -> Value {
    common::get_json(engine, "/api/settings").await
}

async fn patch(engine: &Engine, body: &str) -> reqwest::Response {
    reqwest::Client::new()
        .patch(url(engine, "/api/settings"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("patch")
}

fn message(n: u8) -> NewMessage {
    let code = format!("40000{n}");
    NewMessage {
        code_span: Some([13, 19]),
        ..common::message(
            vec![n],
            "DemoBank",
            &format!("Your code is {code}"),
            Some(&code),
        )
    }
}

async fn commit(engine: &Engine, n: u8) {
    common::commit(engine, &message(n)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_are_read_patched_checked_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let from_file = Retention {
        days: Some(30),
        ..Retention::default()
    };
    let engine = start_with(dir.path(), "127.0.0.1:0", from_file).await;
    assert_eq!(
        get_settings(&engine).await,
        json!({"lan": false, "notifications": "codes", "auto_copy": false, "clear_clipboard_secs": 60,
            "hide_code": false, "retention_days": 30, "retention_messages": null,
            "purge_codes_after_minutes": null, "hook_command": null, "hook_url": null,
            "hook_only_codes": false, "hook_secret": HOOK_SECRET, "forwarders": []})
    );

    let r = patch(
        &engine,
        r#"{"notifications":"all","retention_days":7,"hide_code":true,"clear_clipboard_secs":0,
            "hook_url":" https://example.org/sms ","hook_command":["/bin/true","--x"]}"#,
    )
    .await;
    assert_eq!(r.status(), 200);
    let full: Settings = r.json().await.expect("full settings");
    assert_eq!(
        full,
        Settings {
            notifications: simrelay_protocol::Notifications::All,
            retention_days: Some(7),
            hide_code: true,
            clear_clipboard_secs: 0,
            hook_url: Some("https://example.org/sms".into()),
            hook_command: Some(vec!["/bin/true".into(), "--x".into()]),
            hook_only_codes: false,
            hook_secret: Some(HOOK_SECRET.into()),
            ..Settings::default()
        }
    );
    assert_eq!(engine.settings(), full);

    // Each mistake names the field and changes nothing, even beside good fields.
    for (body, field) in [
        (r#"{"notifications":"loud"}"#, "notifications"),
        (r#"{"auto_copy":1}"#, "auto_copy"),
        (r#"{"clear_clipboard_secs":-5}"#, "clear_clipboard_secs"),
        (r#"{"retention_days":0}"#, "retention_days"),
        (r#"{"retention_messages":"many"}"#, "retention_messages"),
        (
            r#"{"purge_codes_after_minutes":2.5}"#,
            "purge_codes_after_minutes",
        ),
        (r#"{"hook_command":"notify-send hi"}"#, "hook_command"),
        (r#"{"hook_url":"ftp://example.org/"}"#, "hook_url"),
        (r#"{"lan":"on"}"#, "lan"),
        (r#"{"hide_code":false,"theme":"dark"}"#, "theme"),
    ] {
        let r = patch(&engine, body).await;
        assert_eq!(r.status(), 400, "{body}");
        let e: ApiError = r.json().await.expect("error");
        assert_eq!(e.error, "invalid_setting", "{body}");
        assert!(
            e.detail.starts_with(&format!("{field}: ")),
            "{body}: {}",
            e.detail
        );
    }
    for body in ["[1]", "not json", "\"lan\""] {
        let r = patch(&engine, body).await;
        assert_eq!(r.status(), 400, "{body}");
        assert_eq!(
            r.json::<ApiError>().await.expect("error").error,
            "bad_request"
        );
    }
    assert_eq!(engine.settings(), full, "no failed PATCH changed anything");
    // null removes an optional setting.
    let r = patch(&engine, r#"{"hook_command":null}"#).await;
    assert_eq!(r.json::<Settings>().await.expect("json").hook_command, None);
    engine.shutdown().await;

    // Saved changes beat the configuration on the next start; untouched keys still follow it.
    let from_file = Retention {
        days: Some(30),
        messages: Some(500),
        ..Retention::default()
    };
    let engine = start_with(dir.path(), "127.0.0.1:0", from_file).await;
    let after = get_settings(&engine).await;
    assert_eq!(after["retention_days"], 7);
    assert_eq!(after["retention_messages"], 500);
    assert_eq!(after["notifications"], "all");
    assert_eq!(after["hook_command"], Value::Null);
    assert_eq!(after["hook_url"], "https://example.org/sms");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_change_is_pushed_to_websockets_on_this_machine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(dir.path()).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", engine.local_addr()))
        .await
        .expect("connects");
    let _hello = ws.next().await;
    assert_eq!(patch(&engine, r#"{"auto_copy":true}"#).await.status(), 200);
    let frame = tokio::time::timeout(Duration::from_secs(2), ws.next())
        .await
        .expect("a frame")
        .expect("open")
        .expect("ok");
    let WsMessage::Text(text) = frame else {
        panic!("text frame expected, got {frame:?}")
    };
    let value: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(value["type"], "settings");
    assert_eq!(value["settings"]["auto_copy"], true);
    let ServerFrame::Notice(ServerNotice::Settings { settings }) =
        serde_json::from_str(&text).expect("a frame the protocol knows")
    else {
        panic!("settings notice expected: {text}")
    };
    assert_eq!(settings, engine.settings());
    // An empty PATCH changes nothing and pushes nothing.
    assert_eq!(patch(&engine, "{}").await.status(), 200);
    assert!(tokio::time::timeout(Duration::from_millis(300), ws.next())
        .await
        .is_err());
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_and_hooks_follow_the_settings_without_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(dir.path()).await;
    for n in 1..=5 {
        commit(&engine, n).await;
    }
    let count = |engine: &Engine| {
        let store = engine.store().clone();
        async move {
            store
                .search(&MessageQuery {
                    limit: 100,
                    ..MessageQuery::default()
                })
                .await
                .expect("search")
                .messages
                .len()
        }
    };
    assert_eq!(count(&engine).await, 5);
    assert_eq!(
        patch(&engine, r#"{"retention_messages":2}"#).await.status(),
        200
    );
    let deadline = Instant::now() + Duration::from_secs(3);
    while count(&engine).await != 2 {
        assert!(
            Instant::now() < deadline,
            "retention was not applied after the change"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A hook set at run time runs for the next message.
    let out = dir.path().join("hook.json");
    let command = json!({"hook_command": ["/bin/sh", "-c", format!("cat > '{}'", out.display())],
        "hook_only_codes": true});
    assert_eq!(patch(&engine, &command.to_string()).await.status(), 200);
    commit(&engine, 6).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(text) = std::fs::read_to_string(&out) {
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                assert_eq!(v["code"], "400006");
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the hook set at run time never ran"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Removed again: the next message runs nothing.
    std::fs::remove_file(&out).expect("rm");
    assert_eq!(
        patch(&engine, r#"{"hook_command":null}"#).await.status(),
        200
    );
    commit(&engine, 7).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!out.exists(), "a removed hook ran");
    engine.shutdown().await;
}

async fn lan_status(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
) -> Result<u16, reqwest::Error> {
    let mut request = reqwest::Client::new().get(format!("http://{addr}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    Ok(request.send().await?.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lan_sharing_switches_on_and_off_at_run_time() {
    let Some(ip) = lan_ip() else {
        eprintln!(
            "SKIPPED: this machine has no LAN address; only the loopback listener could be tested"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(dir.path()).await;
    let lan = SocketAddr::new(ip, engine.local_addr().port());
    assert_eq!(get_settings(&engine).await["lan"], false);
    assert!(
        lan_status(lan, "/api/health", None).await.is_err(),
        "not reachable before"
    );
    let pair = reqwest::get(url(&engine, "/api/pair")).await.expect("get");
    assert_eq!(pair.status(), 409);

    let (mut local_ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws", engine.local_addr()))
            .await
            .expect("connects");
    let _hello = local_ws.next().await;

    let r = patch(&engine, r#"{"lan":true}"#).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.expect("json")["lan"], true);
    assert!(
        engine.lan_addrs().contains(&lan),
        "{:?}",
        engine.lan_addrs()
    );
    // Reachable from the LAN, with a token; this machine still needs none.
    assert_eq!(
        lan_status(lan, "/api/health", None)
            .await
            .expect("reachable"),
        200
    );
    assert_eq!(
        lan_status(lan, "/api/messages", None)
            .await
            .expect("reachable"),
        401
    );
    let token = engine.lan_token().to_owned();
    assert_eq!(
        lan_status(lan, "/api/messages", Some(&token))
            .await
            .expect("ok"),
        200
    );
    assert_eq!(
        reqwest::get(url(&engine, "/api/messages"))
            .await
            .expect("get")
            .status(),
        200
    );
    let pairing: Value = reqwest::get(url(&engine, "/api/pair"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(pairing["urls"][0], format!("http://{lan}/?token={token}"));

    // A LAN WebSocket and an idle keep-alive LAN connection, both to be dropped when sharing stops.
    let (mut lan_ws, _) = tokio_tungstenite::connect_async(format!("ws://{lan}/ws?token={token}"))
        .await
        .expect("LAN WebSocket");
    let _hello = lan_ws.next().await;
    let frame = tokio::time::timeout(Duration::from_secs(2), local_ws.next())
        .await
        .expect("settings frame")
        .expect("open")
        .expect("ok");
    assert!(frame.to_text().expect("text").contains("\"lan\":true"));

    // A long poll from the LAN, to be answered when sharing stops.
    let waiting = tokio::spawn({
        let token = token.clone();
        async move {
            reqwest::Client::new()
                .get(format!("http://{lan}/api/codes/wait?timeout=60s"))
                .bearer_auth(token)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;

    let r = patch(&engine, r#"{"lan":false}"#).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.expect("json")["lan"], false);
    let ended = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match lan_ws.next().await {
                Some(Ok(WsMessage::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .expect("the LAN WebSocket was dropped");
    assert_eq!(ended, Some(1001));
    let answered = tokio::time::timeout(Duration::from_secs(2), waiting)
        .await
        .expect("the LAN long poll was answered")
        .expect("task");
    assert_eq!(answered.expect("an answer"), 503);
    assert!(
        lan_status(lan, "/api/health", None).await.is_err(),
        "the LAN listener is closed"
    );
    assert!(engine.lan_addrs().is_empty());
    assert_eq!(
        reqwest::get(url(&engine, "/api/health"))
            .await
            .expect("get")
            .status(),
        200,
        "loopback stays"
    );
    // The loopback WebSocket is still open and hears the change.
    let frame = tokio::time::timeout(Duration::from_secs(2), local_ws.next())
        .await
        .expect("settings frame")
        .expect("open")
        .expect("ok");
    assert!(frame.to_text().expect("text").contains("\"lan\":false"));

    // Saved: on again, restart on the same port range, and sharing is back.
    assert_eq!(patch(&engine, r#"{"lan":true}"#).await.status(), 200);
    engine.shutdown().await;
    let engine = start(dir.path()).await;
    let lan = SocketAddr::new(ip, engine.local_addr().port());
    assert_eq!(get_settings(&engine).await["lan"], true);
    assert_eq!(
        lan_status(lan, "/api/health", None)
            .await
            .expect("reachable"),
        200
    );
    engine.shutdown().await;
    assert!(
        lan_status(lan, "/api/health", None).await.is_err(),
        "closed on shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn started_with_lan_it_can_still_be_switched_off_but_a_fixed_address_cannot() {
    let Some(ip) = lan_ip() else {
        eprintln!("SKIPPED: this machine has no LAN address");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start_with(dir.path(), "0.0.0.0:0", Retention::default()).await;
    let token = engine
        .token()
        .expect("shared: loopback needs the token too")
        .to_owned();
    let lan = SocketAddr::new(ip, engine.local_addr().port());
    assert_eq!(
        lan_status(lan, "/api/health", None)
            .await
            .expect("reachable"),
        200
    );
    let r = reqwest::Client::new()
        .patch(url(&engine, "/api/settings"))
        .bearer_auth(&token)
        .json(&json!({"lan": false}))
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 200);
    assert!(lan_status(lan, "/api/health", None).await.is_err());
    assert_eq!(
        reqwest::get(url(&engine, "/api/messages"))
            .await
            .expect("get")
            .status(),
        401,
        "started shared: this machine needs the token too"
    );
    engine.shutdown().await;

    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start_with(dir.path(), &format!("{ip}:0"), Retention::default()).await;
    let token = engine.token().expect("token").to_owned();
    let at = format!("http://{}/api/settings", engine.local_addr());
    // Only loopback may change settings, and this server has no loopback listener: 403.
    let r = reqwest::Client::new()
        .patch(&at)
        .bearer_auth(&token)
        .json(&json!({"lan": false}))
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 403);
    let e = engine
        .update_settings(&SettingsPatch {
            lan: Some(false),
            ..SettingsPatch::default()
        })
        .await
        .expect_err("a fixed address cannot be unshared");
    assert!(e.to_string().starts_with("lan: "), "{e}");
    assert!(engine.settings().lan);
    engine.shutdown().await;
}
