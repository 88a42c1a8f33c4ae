//! Keyboard only: with Tab (and Shift+Tab), Enter and Space, a user reaches every screen, copies the newest code
//! and sends a message; every focus move lands on a new element that shows a visible focus ring.

use std::time::Duration;

use fantoccini::key::Key;
use simrelay_e2e_browser::{Browser, Server};
use simrelay_modem::{SimOptions, Simulator};
use simrelay_testkit::pdu::{deliver_parts, SENT_AT};

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
    browser
        .open_live(&server.page("/"))
        .await
        .expect("page, live");
    for part in deliver_parts(
        "Google",
        "G-583014 is your Google verification code.",
        SENT_AT,
    ) {
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

/// Every enabled control of the Settings screen, in document order, is reached by Tab once (a radio group is
/// one stop: its checked radio), and each shows a visible focus ring.
#[tokio::test(flavor = "multi_thread")]
async fn tab_reaches_every_settings_field_with_visible_focus() {
    let server = Server::start(&[], None).expect("server");
    let browser = Browser::start(1280, 900).await.expect("chromium");
    browser
        .open_live(&server.page("/#/settings"))
        .await
        .expect("settings, live");
    // The server's settings arrived: the last field of the Hooks card exists.
    let mut loaded = false;
    for _ in 0..200 {
        let html = browser
            .eval("return document.querySelector('.settings')?.innerText ?? '';")
            .await
            .expect("eval");
        if html
            .as_str()
            .is_some_and(|t| t.contains("Only for messages with a code"))
        {
            loaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = browser
        .eval("return document.querySelector('main')?.innerText ?? '';")
        .await
        .expect("eval");
    assert!(loaded, "the server's settings never showed: {text}");
    // Sections fill in from their own requests (devices, corrections, deliveries): wait until the set of controls
    // stops changing, so none appears after the numbering below.
    let count_controls =
        "return document.querySelectorAll('.settings input, .settings button, .settings select, \
                          .settings textarea, .settings a[href], .settings [tabindex]').length;";
    let mut last = browser.eval(count_controls).await.expect("eval");
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = browser.eval(count_controls).await.expect("eval");
        if now == last {
            break;
        }
        last = now;
    }
    // Number every control a keyboard user must reach, in document order.
    let expected = browser
        .eval(
            "const all = [...document.querySelectorAll('.settings input, .settings button, .settings select, .settings textarea, .settings a[href]')]
                 .filter(e => !e.disabled && e.offsetParent !== null && e.tabIndex >= 0)
                 .filter(e => e.type !== 'radio' || e.checked);
             all.forEach((e, i) => e.dataset.kbd = String(i));
             return all.map(e => e.id || e.name || (e.innerText || '').trim() || e.type);",
        )
        .await
        .expect("controls");
    let expected: Vec<String> = expected
        .as_array()
        .expect("list")
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect();
    for id in [
        "set-lan",
        "pair-name",
        "notify-mode",
        "set-auto_copy",
        "set-clear_clipboard_secs",
        "set-hide_code",
        "retention-mode",
        "set-purge_codes",
        "set-hook_command",
        "set-hook_url",
        "set-hook_only_codes",
    ] {
        assert!(
            expected.iter().any(|e| e == id),
            "{id} is not an enabled control of the Settings screen: {expected:?}"
        );
    }

    // Start from the Settings tab of the navigation, then Tab through the screen.
    let mut walk = Walker {
        browser: &browser,
        last: browser.focused().await.expect("focused"),
        moves: 0,
    };
    walk.tab_to(false, "Settings", nav_tab("Settings")).await;
    let mut reached: Vec<String> = Vec::new();
    for _ in 0..expected.len() + MAX_TABS {
        browser
            .press(Key::Tab.into(), false)
            .await
            .expect("press Tab");
        // Two controls can look alike (the two "This browser" checkboxes), so the number tells them apart.
        let at = browser
            .eval(
                "const e = document.activeElement; const s = getComputedStyle(e);
                 return [e.dataset.kbd ?? null, e.closest('.settings') !== null,
                         e.matches(':focus-visible') && s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0];",
            )
            .await
            .expect("eval");
        if at[1] != true {
            break;
        }
        let Some(i) = at[0].as_str().and_then(|i| i.parse::<usize>().ok()) else {
            panic!("Tab reached a Settings element that is not an enabled control: {at}");
        };
        assert_eq!(at[2], true, "{} has no visible focus", expected[i]);
        reached.push(expected[i].clone());
        if reached.len() == expected.len() {
            break;
        }
    }
    assert_eq!(
        reached, expected,
        "Tab must visit every Settings control once, in order"
    );
    browser.close().await.expect("close");
}
