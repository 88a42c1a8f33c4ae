//! Compose sends an SMS the simulated modem receives (its PDU is decoded and checked) and follows its status from
//! `sent` WebSocket frames without polling, the length counter agrees
//! with the PDU encoder, every screen fits a 360 px phone, and screenshots of each screen are saved to
//! `target/screenshots/` at desktop and phone widths (`cargo xtask screenshots` refreshes `docs/screenshots/`).
//! The Conversations screen's own test is the `conversations` module, calls in History the `calls` module (one
//! test binary for the screens).

use std::time::Duration;

use fantoccini::Locator;
use simrelay_e2e_browser::{in_browsers, Browser, BrowserKind, Server};
use simrelay_modem::{SimOptions, Simulator};
use simrelay_pdu::{Encoding, Pdu};

#[path = "screens/calls.rs"]
mod calls;
#[path = "screens/conversations.rs"]
mod conversations;

const SCREENS: [&str; 6] = [
    "live",
    "conversations",
    "history",
    "compose",
    "modems",
    "settings",
];

async fn set_text(browser: &Browser, css: &str, text: &str) {
    let field = browser.client.find(Locator::Css(css)).await.expect("field");
    field.clear().await.expect("clear");
    if browser.kind == BrowserKind::WebKit {
        // WebKitWebDriver drops characters outside the BMP (emoji) from typed keys: type the rest, and enter
        // those as an input method would, through the editor (which fires the same `input` events).
        let mut run = String::new();
        for c in text.chars() {
            if c.len_utf16() == 1 {
                run.push(c);
                continue;
            }
            if !run.is_empty() {
                field
                    .send_keys(&std::mem::take(&mut run))
                    .await
                    .expect("type");
            }
            browser
                .client
                .execute(
                    "arguments[0].focus(); document.execCommand('insertText', false, arguments[1]);",
                    vec![
                        serde_json::to_value(&field).expect("element"),
                        c.to_string().into(),
                    ],
                )
                .await
                .expect("insert text");
        }
        if !run.is_empty() {
            field.send_keys(&run).await.expect("type");
        }
    } else {
        field.send_keys(text).await.expect("type");
    }
    let typed = field
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default();
    assert_eq!(typed, text, "{:?} typed into {css}", browser.kind);
}

in_browsers!(compose_sends_through_the_modem_and_counts_like_the_encoder: chromium, firefox, webkit);

async fn compose_sends_through_the_modem_and_counts_like_the_encoder(kind: BrowserKind) {
    let sim = Simulator::start(SimOptions::default())
        .await
        .expect("simulator");
    let port = sim.path().to_str().expect("utf-8").to_owned();
    let server = Server::start(&["--modem", &port], None).expect("server");
    let browser = Browser::start_in(kind, 1280, 900)
        .await
        .unwrap_or_else(|e| panic!("{kind:?} starts: {e:#}"));
    browser
        .open_live(&server.page("/#/compose"))
        .await
        .expect("compose, live");

    // The counter agrees with the encoder the engine sends with.
    for text in [
        "Hello",
        &"a".repeat(161),
        &"€".repeat(81),
        "Код 1234",
        &format!("{}👍", "ж".repeat(66)),
    ] {
        set_text(&browser, "#compose-text", text).await;
        let plan = simrelay_pdu::plan(text, None);
        let want_alphabet = if plan.encoding == Encoding::Ucs2 {
            "UCS2"
        } else {
            "GSM 7-bit"
        };
        let want_parts = if plan.parts == 1 {
            "1 part".to_owned()
        } else {
            format!("{} parts", plan.parts)
        };
        let counter = browser
            .wait_text("#compose-counter", Duration::from_secs(5), |t| {
                t.contains(&want_parts) && t.ends_with(want_alphabet)
            })
            .await
            .unwrap_or_else(|e| {
                panic!("counter for {text:?} should say {want_parts} · {want_alphabet}: {e}")
            });
        assert!(
            counter.starts_with(&format!("{} characters", text.chars().count())),
            "{counter}"
        );
    }

    // A wrong number is explained, not sent.
    set_text(&browser, "#compose-to", "01701234567").await;
    set_text(
        &browser,
        "#compose-text",
        "Hello from the browser test, 5 €",
    )
    .await;
    browser.click("button[type=submit]").await.expect("send");
    let error = browser
        .wait_text("#compose-to-error", Duration::from_secs(5), |t| {
            !t.is_empty()
        })
        .await
        .expect("error");
    assert!(error.contains("country code"), "{error}");
    assert!(sim.sent().is_empty(), "nothing was sent for a wrong number");

    set_text(&browser, "#compose-to", "+1 555 555 0100").await;
    browser.click("button[type=submit]").await.expect("send");
    let status = browser
        .wait_text(".sent-status", Duration::from_secs(30), |t| {
            t == "sent" || t.starts_with("failed")
        })
        .await
        .expect("status reaches a final state");
    assert_eq!(status, "sent");
    // The status came from `sent` frames on the WebSocket: the page never asked /api/sent.
    let polls = browser
        .eval("return performance.getEntriesByType('resource').filter(e => e.name.includes('/api/sent/')).length;")
        .await
        .expect("eval");
    assert_eq!(polls, 0, "the page polled /api/sent");
    let steps = browser
        .wait_text(".sent-list .steps", Duration::from_secs(5), |t| {
            t.contains("sent")
        })
        .await
        .expect("steps");
    assert!(
        steps.contains("queued") && steps.contains("sending"),
        "{steps}"
    );
    let reached = browser
        .eval(
            "return [...document.querySelectorAll('.sent-list .step-on')].map(e => e.textContent);",
        )
        .await
        .expect("eval");
    assert_eq!(reached, serde_json::json!(["queued", "sending", "sent"]));
    let sent = sim.sent();
    assert_eq!(sent.len(), 1, "one PDU reached the modem");
    let Pdu::Submit(submit) = simrelay_pdu::decode(&sent[0]).expect("the modem got a valid PDU")
    else {
        panic!("not an SMS-SUBMIT");
    };
    assert_eq!(submit.recipient.number, "+15555550100");
    assert_eq!(submit.text, "Hello from the browser test, 5 €");
    browser
        .screenshot("compose-sent-desktop")
        .await
        .expect("screenshot");
    browser.close().await.expect("close");
    sim.shutdown().await;
}

in_browsers!(every_screen_fits_a_phone_and_is_captured: chromium, firefox, webkit);

/// The narrowest page each browser here can show: a phone's 360 px in Chromium; headless Firefox keeps windows at
/// least 500 px wide and WebKit's MiniBrowser at least its toolbar's 447 px, so those two are checked at their
/// narrowest (447 px is inside the phone layout, `max-width: 480px`; 500 px just outside it) and only Chromium
/// proves 360 px.
fn narrowest(kind: BrowserKind) -> u32 {
    match kind {
        BrowserKind::Chromium => 360,
        BrowserKind::Firefox => 500,
        BrowserKind::WebKit => 447,
    }
}

async fn every_screen_fits_a_phone_and_is_captured(kind: BrowserKind) {
    let server = Server::start(&["--demo"], None).expect("server");
    let browser = Browser::start_in(kind, 1280, 900)
        .await
        .unwrap_or_else(|e| panic!("{kind:?} starts: {e:#}"));
    browser.client.goto(&server.page("/")).await.expect("page");
    // Wait for two demo messages so Live has a card and an earlier row.
    browser
        .wait_text(".msg", Duration::from_secs(60), |t| !t.is_empty())
        .await
        .expect("two demo messages");
    let phone = narrowest(kind);
    for (width, height, suffix) in [(1280, 900, "desktop"), (phone, 740, "phone")] {
        browser
            .client
            .set_window_size(width, height)
            .await
            .expect("resize");
        for screen in SCREENS {
            browser
                .client
                .goto(&server.page(&format!("/#/{screen}")))
                .await
                .expect("screen");
            let heading = browser
                .wait_text("a.tab[aria-current=page]", Duration::from_secs(10), |t| {
                    t.to_lowercase().starts_with(screen)
                })
                .await
                .expect("navigation marks the current screen");
            assert!(!heading.is_empty());
            browser.wait_live().await.expect("live");
            // Let the screen's first fetch (History, Settings) settle before measuring and capturing.
            tokio::time::sleep(Duration::from_millis(600)).await;
            if width == phone {
                // The window really is that narrow (a browser that kept a wider window would pass trivially).
                let viewport = browser
                    .eval("return window.innerWidth;")
                    .await
                    .expect("eval");
                assert_eq!(viewport, phone, "{kind:?} page width at phone size");
                let overflow = browser
                    .eval("return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
                    .await
                    .expect("eval");
                assert_eq!(
                    overflow, 0,
                    "{screen} scrolls sideways at {phone} px in {kind:?}"
                );
            }
            browser
                .screenshot(&format!("{screen}-{suffix}"))
                .await
                .expect("screenshot");
        }
    }
    browser.close().await.expect("close");
}
