//! The token in the address `simrelay serve` prints: `?token=` is stored and removed from the address bar; a wrong
//! token is refused and the page says where to get the right one.

use std::time::Duration;

use simrelay_e2e_browser::{in_browsers, Browser, BrowserKind, Server};

const TOKEN: &str = "e2e-secret-token-0123456789abcdef0123";

in_browsers!(token_from_the_link_is_stored_and_hidden: chromium, firefox, webkit);

async fn token_from_the_link_is_stored_and_hidden(kind: BrowserKind) {
    let server = Server::start(&["--demo"], Some(TOKEN)).expect("server with token");
    let browser = Browser::start_in(kind, 1280, 900)
        .await
        .unwrap_or_else(|e| panic!("{kind:?} starts: {e:#}"));
    browser
        .open_live(&server.url(&format!("/?token={TOKEN}#/live")))
        .await
        .expect("page, live with token");
    let url = browser.client.current_url().await.expect("url");
    assert!(
        !url.as_str().contains("token"),
        "token removed from the address bar: {url}"
    );
    assert!(
        url.as_str().ends_with("/#/live"),
        "the rest of the address is kept: {url}"
    );
    let stored = browser
        .eval("return localStorage.getItem('simrelay.token');")
        .await
        .expect("eval");
    assert_eq!(stored, TOKEN);

    // A reload without the token in the address still works: the stored token is used.
    browser
        .open_live(&server.url("/"))
        .await
        .expect("reload, live after reload");
    browser
        .wait_text(".hero .hero-text", Duration::from_secs(40), |t| {
            t.contains("[DEMO]")
        })
        .await
        .expect("messages flow with the stored token");
    browser.close().await.expect("close");
}

in_browsers!(a_wrong_token_is_refused_and_explained: chromium, firefox, webkit);

async fn a_wrong_token_is_refused_and_explained(kind: BrowserKind) {
    let server = Server::start(&["--demo"], Some(TOKEN)).expect("server with token");
    let browser = Browser::start_in(kind, 1280, 900)
        .await
        .unwrap_or_else(|e| panic!("{kind:?} starts: {e:#}"));
    browser
        .client
        .goto(&server.url("/?token=wrong"))
        .await
        .expect("page");
    let banner = browser
        .wait_text("[role=alert]", Duration::from_secs(20), |t| {
            t.contains("Access refused")
        })
        .await
        .expect("an explanation is shown");
    assert!(banner.contains("simrelay token show"), "{banner}");
    let state = browser
        .wait_text("#conn", Duration::from_secs(5), |_| true)
        .await
        .expect("indicator");
    assert!(!state.contains("live"), "not connected: {state}");
    let messages = browser
        .client
        .find_all(fantoccini::Locator::Css(".msg, .hero"))
        .await
        .expect("query");
    assert!(messages.is_empty(), "no message is shown without access");
    browser.close().await.expect("close");
}
