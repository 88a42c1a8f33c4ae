//! Keyboard only: with Tab (and Shift+Tab), Enter and Space, a user reaches every screen, copies the newest code
//! and sends a message; every focus move lands on a new element that shows a visible focus ring.

use std::time::Duration;

use chrono::DateTime;
use fantoccini::key::Key;
use simrelay_e2e_browser::{Browser, Server};
use simrelay_modem::{SimOptions, Simulator};

/// How many Tab presses any target may be away; more means the focus order is broken.
const MAX_TABS: usize = 40;

struct Walker<'a> {
    browser: &'a Browser,
    last: serde_json::Value,
    moves: usize,
}

impl Walker<'_> {
    /// Presses Tab (or Shift+Tab) once and checks the focus moved to an element drawn with a focus ring.
    async fn tab(&mut self, back: bool) -> serde_json::Value {
        self.browser
            .press(Key::Tab.into(), back)
            .await
            .expect("press Tab");
        let now = self.browser.focused().await.expect("focused element");
        assert_ne!(now, self.last, "Tab did not move the focus");
        assert_ne!(now["tag"], "body", "the focus fell off the page");
        assert_eq!(
            now["visible_focus"], true,
            "the focused element shows no visible focus: {now}"
        );
        self.last = now.clone();
        self.moves += 1;
        now
    }

    /// Tabs (forwards or backwards) until `want` accepts the focused element.
    async fn tab_to(&mut self, back: bool, what: &str, want: impl Fn(&serde_json::Value) -> bool) {
        for _ in 0..MAX_TABS {
            let now = self.tab(back).await;
            if want(&now) {
                return;
            }
        }
        panic!("{what} is not reachable with {MAX_TABS} Tab presses");
    }

    async fn enter(&self) {
        self.browser
            .press(Key::Enter.into(), false)
            .await
            .expect("press Enter");
    }

    async fn hash(&self) -> String {
        self.browser
            .eval("return location.hash;")
            .await
            .expect("eval")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

fn nav_tab(label: &'static str) -> impl Fn(&serde_json::Value) -> bool {
    move |e| {
        e["tag"] == "a"
            && e["cls"] == "tab"
            && e["text"].as_str().is_some_and(|t| t.starts_with(label))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn keyboard_alone_reaches_every_screen_copies_the_code_and_sends() {
    let sim = Simulator::start(SimOptions::default())
        .await
        .expect("simulator");
    let port = sim.path().to_str().expect("utf-8").to_owned();
    let server = Server::start(&["--modem", &port], None).expect("server");
    let browser = Browser::start(1280, 900).await.expect("chromium");
    browser.client.goto(&server.url("/")).await.expect("page");
    browser
        .wait_text("#conn", Duration::from_secs(20), |t| t.contains("live"))
        .await
        .expect("live");
    let at = DateTime::parse_from_rfc3339("2026-11-22T10:00:00+01:00").expect("time");
    for part in
        simrelay_pdu::encode_deliver("Google", "G-583014 is your Google verification code.", at)
    {
        assert_ne!(sim.deliver(part), 0, "SIM full");
    }
    browser
        .wait_text(".code-big", Duration::from_secs(30), |t| t == "583014")
        .await
        .expect("the code arrives");

    // The stylesheet has focus styles for keyboard users.
    let has_rule = browser
        .eval(
            "return [...document.styleSheets].some(s => [...s.cssRules].some(r => (r.selectorText || '').includes(':focus-visible')));",
        )
        .await
        .expect("eval");
    assert_eq!(has_rule, true, "no :focus-visible rule in the CSS");

    let mut walk = Walker {
        browser: &browser,
        last: browser.focused().await.expect("focused"),
        moves: 0,
    };
    // Every screen through the navigation, Enter on each tab.
    for (label, hash) in [
        ("History", "#/history"),
        ("Compose", "#/compose"),
        ("Modems", "#/modems"),
        ("Settings", "#/settings"),
    ] {
        walk.tab_to(false, label, nav_tab(label)).await;
        walk.enter().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(walk.hash().await, hash, "Enter on the {label} tab");
    }
    walk.tab_to(true, "Live", nav_tab("Live")).await;
    walk.enter().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(walk.hash().await, "#/live");
    browser
        .screenshot("keyboard-focus-desktop")
        .await
        .expect("screenshot");

    // The code: Tab to the big button, Enter copies it.
    walk.tab_to(false, "the code", |e| {
        e["cls"].as_str().is_some_and(|c| c.contains("code-big"))
    })
    .await;
    walk.enter().await;
    let status = browser
        .wait_text(".hero .copy-status", Duration::from_secs(5), |t| {
            !t.is_empty()
        })
        .await
        .expect("copy feedback");
    assert_eq!(status, "Copied");

    // Compose: back to its tab, Enter, then type and send with Space on the button.
    walk.tab_to(true, "Compose", nav_tab("Compose")).await;
    walk.enter().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(walk.hash().await, "#/compose");
    walk.tab_to(false, "the recipient", |e| e["id"] == "compose-to")
        .await;
    browser
        .client
        .active_element()
        .await
        .expect("active")
        .send_keys("+15555550100")
        .await
        .expect("type number");
    walk.tab(false).await;
    assert_eq!(
        walk.last["id"], "compose-text",
        "Tab goes from To to Message"
    );
    browser
        .client
        .active_element()
        .await
        .expect("active")
        .send_keys("Typed without a mouse")
        .await
        .expect("type text");
    walk.tab_to(false, "Send", |e| {
        e["tag"] == "button" && e["text"] == "Send"
    })
    .await;
    browser
        .press(Key::Space.into(), false)
        .await
        .expect("press Space");
    let status = browser
        .wait_text(".sent-status", Duration::from_secs(30), |t| {
            t == "sent" || t.starts_with("failed")
        })
        .await
        .expect("the message is sent");
    assert_eq!(status, "sent");
    let sent = sim.sent();
    assert_eq!(sent.len(), 1, "one PDU reached the modem");
    assert!(
        walk.moves > 10,
        "the walk moved the focus {} times",
        walk.moves
    );
    browser.close().await.expect("close");
    sim.shutdown().await;
}
