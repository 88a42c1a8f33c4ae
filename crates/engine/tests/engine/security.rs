//! Browser-facing defences against a real server: WebSocket Origin, DNS rebinding, the token cookie, and the
//! per-client limit on failed token attempts. (`trust.rs` has the rest of issue #14's.)

use simrelay_engine::{Config, Engine};
use simrelay_protocol::ApiError;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};

use crate::common;

async fn start(dir: &tempfile::TempDir, token: Option<&str>) -> Engine {
    common::start(Config {
        token: token.map(str::to_owned),
        ..common::config(&dir.path().join("sec.db"))
    })
    .await
}

async fn ws_status(engine: &Engine, query: &str, origin: Option<&str>) -> u16 {
    let mut request = format!("ws://{}/ws{query}", engine.local_addr())
        .into_client_request()
        .expect("request");
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().expect("header"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("connect failed: {e}"),
    }
}

#[tokio::test]
async fn websockets_from_foreign_pages_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(&dir, None).await;
    let own = format!("http://{}", engine.local_addr());
    let token = format!("?token={}", engine.token());
    assert_eq!(ws_status(&engine, &token, Some(&own)).await, 101);
    assert_eq!(
        ws_status(&engine, &token, None).await,
        101,
        "not a browser: no Origin"
    );
    assert_eq!(ws_status(&engine, "", Some(&own)).await, 401, "no token");
    // Even with the token (a page cannot know it, but a cookie would ride along).
    assert_eq!(
        ws_status(&engine, &token, Some("https://evil.example")).await,
        403
    );
    assert_eq!(
        ws_status(&engine, &token, Some("http://127.0.0.1:1")).await,
        403
    );
    assert_eq!(
        ws_status(&engine, &token, Some("tauri://localhost")).await,
        403,
        "the desktop window loads the engine's own page; no other origin is needed"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn a_rebound_host_name_gets_nothing_without_the_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(&dir, None).await;
    let http = reqwest::Client::new();
    let url = format!("http://{}/api/messages", engine.local_addr());
    // A page on evil.example whose name now points at 127.0.0.1 is "same-origin" with itself, but holds no token
    // (the cookie and the page's storage belong to the real host name).
    let rebound = http
        .get(&url)
        .header("host", "evil.example:8731")
        .header("origin", "http://evil.example:8731")
        .send()
        .await
        .expect("get");
    assert_eq!(rebound.status(), 401);
    assert_eq!(
        rebound.json::<ApiError>().await.expect("json").error,
        "unauthorized"
    );
    // A client that has the token may use any name for this machine (a LAN host name, say).
    let named = http
        .get(&url)
        .header("host", "simrelay.lan:8731")
        .bearer_auth(engine.token())
        .send();
    assert_eq!(named.await.expect("get").status(), 200);
    engine.shutdown().await;
}

#[tokio::test]
async fn a_page_load_with_the_token_sets_an_http_only_cookie_that_then_suffices() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = simrelay_engine::generate_token();
    let engine = start(&dir, Some(&token)).await;
    let base = format!("http://{}", engine.local_addr());
    let page = reqwest::get(format!("{base}/?token={token}"))
        .await
        .expect("page");
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        cookie.starts_with(&format!("simrelay_token={token};")),
        "{cookie}"
    );
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    // A wrong token sets nothing; a wrong cookie is expired.
    let wrong = reqwest::get(format!("{base}/?token=nope"))
        .await
        .expect("page");
    assert!(wrong.headers().get("set-cookie").is_none());
    let stale = reqwest::Client::new()
        .get(format!("{base}/"))
        .header("cookie", "simrelay_token=stale")
        .send()
        .await
        .expect("page");
    let expired = stale.headers()["set-cookie"].to_str().expect("ascii");
    assert!(
        expired.starts_with("simrelay_token=;") && expired.contains("Max-Age=0"),
        "{expired}"
    );

    let http = reqwest::Client::new();
    let with_cookie = http
        .get(format!("{base}/api/messages"))
        .header("cookie", format!("theme=dark; simrelay_token={token}"))
        .send()
        .await
        .expect("get");
    assert_eq!(with_cookie.status(), 200);
    let bad_cookie = http
        .get(format!("{base}/api/messages"))
        .header("cookie", "simrelay_token=guess")
        .send()
        .await;
    assert_eq!(bad_cookie.expect("get").status(), 401);
    engine.shutdown().await;
}

#[tokio::test]
async fn repeated_wrong_tokens_are_rate_limited_even_for_a_right_guess() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = simrelay_engine::generate_token();
    let engine = start(&dir, Some(&token)).await;
    let url = format!("http://{}/api/messages", engine.local_addr());
    let http = reqwest::Client::new();
    for _ in 0..10 {
        let r = http
            .get(&url)
            .bearer_auth("guess")
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 401);
    }
    let r = http
        .get(&url)
        .bearer_auth("guess")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 429);
    assert_eq!(
        r.json::<ApiError>().await.expect("json").error,
        "too_many_attempts"
    );
    let right = http
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(
        right.status(),
        429,
        "a blocked address learns nothing, even with the right token"
    );
    // Health and the UI stay reachable.
    let health = http
        .get(format!("http://{}/api/health", engine.local_addr()))
        .send()
        .await;
    assert_eq!(health.expect("get").status(), 200);
    engine.shutdown().await;
}

#[tokio::test]
async fn oversized_requests_and_frames_are_refused_without_harm() {
    use futures_util::{SinkExt, StreamExt};
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(&dir, None).await;
    let base = format!("http://{}", engine.local_addr());
    let long = common::client(&engine)
        .get(format!("{base}/api/messages?q={}", "a".repeat(5000)))
        .send()
        .await
        .expect("get");
    assert_eq!(long.status(), 414);
    assert_eq!(
        long.json::<ApiError>().await.expect("json").error,
        "uri_too_long"
    );

    let (mut ws, _) = tokio_tungstenite::connect_async(format!(
        "ws://{}/ws?token={}",
        engine.local_addr(),
        engine.token()
    ))
    .await
    .expect("ws");
    let _hello = ws.next().await.expect("hello").expect("ok");
    // Small client frames are ignored; the connection stays up.
    ws.send(tungstenite::Message::text("hello?"))
        .await
        .expect("send");
    // An oversized frame closes it.
    ws.send(tungstenite::Message::text("x".repeat(64 * 1024)))
        .await
        .expect("send");
    let end = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(tungstenite::Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert!(end.is_ok(), "the server closed the connection");
    // And the server is fine.
    assert_eq!(
        reqwest::get(format!("{base}/api/health"))
            .await
            .expect("get")
            .status(),
        200
    );
    engine.shutdown().await;
}

const MAIN: &str = "main-token-0123456789abcdef0123456789";

#[tokio::test]
async fn paired_device_tokens_are_accepted_alongside_the_main_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens_file = dir.path().join("tokens.toml");
    let phone = simrelay_engine::tokens::add(&tokens_file, "phone").expect("add");
    let laptop = simrelay_engine::tokens::add(&tokens_file, "laptop").expect("add");
    simrelay_engine::tokens::revoke(&tokens_file, "laptop").expect("revoke");
    let engine = common::start(Config {
        token: Some(MAIN.into()),
        paired_tokens: simrelay_engine::tokens::load(&tokens_file).expect("load"),
        ..common::config(&dir.path().join("sec.db"))
    })
    .await;
    let url = format!("http://{}/api/messages", engine.local_addr());
    let http = reqwest::Client::new();
    for (token, status) in [(MAIN, 200), (phone.as_str(), 200), (laptop.as_str(), 401)] {
        let r = http.get(&url).bearer_auth(token).send().await.expect("get");
        assert_eq!(r.status(), status, "{token}");
    }
    // The cookie set by a paired token's page load carries that token.
    let page = reqwest::get(format!("http://{}/?token={phone}", engine.local_addr()))
        .await
        .expect("page");
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        cookie.starts_with(&format!("simrelay_token={phone};")),
        "{cookie}"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn pairing_needs_lan_sharing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = start(&dir, None).await;
    for r in [
        common::get(&local, "/api/pair").await,
        common::client(&local)
            .post(common::url(&local, "/api/pair"))
            .json(&serde_json::json!({"name": "phone"}))
            .send()
            .await
            .expect("post"),
    ] {
        assert_eq!(r.status(), 409);
        assert_eq!(
            r.json::<ApiError>().await.expect("json").error,
            "not_shared"
        );
    }
    local.shutdown().await;
}
