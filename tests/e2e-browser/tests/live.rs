//! Each browser loads the UI from `simrelay serve --demo` and sees a demo message appear on the Live screen.

use std::time::Duration;

use fantoccini::Locator;
use simrelay_e2e_browser::{in_browsers, Browser, BrowserKind, Server};

in_browsers!(demo_message_appears_on_the_live_screen: chromium, firefox, webkit);

async fn demo_message_appears_on_the_live_screen(kind: BrowserKind) {
    let server = Server::start(&["--demo"], None).expect("simrelay serve --demo starts");
    let browser = Browser::start_in(kind, 1280, 900)
        .await
        .unwrap_or_else(|e| panic!("{kind:?} starts: {e:#}"));
    browser
        .client
        .goto(&server.page("/"))
        .await
        .expect("page loads");

    let state = browser
        .wait_live()
        .await
        .expect("connection indicator says live");
    assert!(state.contains("live"));

    // The demo modem injects a message every few seconds; the hero card shows the newest one.
    let hero_text = browser
        .wait_text(".hero .hero-text", Duration::from_secs(40), |t| {
            !t.trim().is_empty()
        })
        .await
        .expect("a demo message appears");

    // What the page shows is what the server stored: the newest message, as text.
    let hero = browser
        .client
        .find(Locator::Css(".hero"))
        .await
        .expect("hero card");
    let shown_id: i64 = hero
        .attr("data-id")
        .await
        .expect("attr")
        .expect("data-id")
        .parse()
        .expect("id");
    let stored = server.messages(50).expect("api messages");
    let message = stored
        .iter()
        .find(|m| m["id"].as_i64() == Some(shown_id))
        .expect("the shown message is in the store");
    assert_eq!(
        hero_text.trim(),
        message["text"].as_str().expect("text").trim()
    );
    let sender = browser
        .wait_text("#hero-sender", Duration::from_secs(5), |_| true)
        .await
        .expect("sender");
    assert_eq!(sender, message["sender"].as_str().expect("sender"));
    if let Some(code) = message["code"].as_str() {
        let big = browser
            .wait_text(".code-big", Duration::from_secs(5), |_| true)
            .await
            .expect("big code");
        assert_eq!(big, code, "the code is shown large");
    }

    browser
        .screenshot("live-desktop")
        .await
        .expect("screenshot");
    browser.close().await.expect("close");
}
