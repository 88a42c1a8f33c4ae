//! Calls in History, end to end in each browser: a call that rang before History opened is listed under
//! Show: Calls ("Call from …"), still there when filtered to its modem, and a call ringing while the page is
//! open appears on top without a reload, from the `call` frame, each call once. (Markup in a caller's number
//! staying text is the component test's: the simulator's `+CLIP` carries digits.)

use std::time::Duration;

use simrelay_e2e_browser::{in_browsers, Browser, BrowserKind, Server};
use simrelay_modem::{SimOptions, Simulator};

const LIMIT: Duration = Duration::from_secs(30);
const FIRST: &str = "+4915112345678";
const SECOND: &str = "+15555550123";

/// Chooses `value` in the `<select>` matching `css`, as a user's pick does (a `change` event).
async fn choose(browser: &Browser, css: &str, value: &str) {
    browser
        .client
        .execute(
            "const s = document.querySelector(arguments[0]); s.value = arguments[1]; \
             s.dispatchEvent(new Event('change', { bubbles: true }));",
            vec![css.into(), value.into()],
        )
        .await
        .expect("choose");
}

in_browsers!(calls_are_listed_in_history_by_modem_and_live: chromium, firefox, webkit);

async fn calls_are_listed_in_history_by_modem_and_live(kind: BrowserKind) {
    let sim = Simulator::start(SimOptions::default())
        .await
        .expect("simulator");
    let port = sim.path().to_str().expect("utf-8").to_owned();
    let server = Server::start(&["--modem", &port], None).expect("server");
    let browser = Browser::start_in(kind, 1280, 900)
        .await
        .unwrap_or_else(|e| panic!("{kind:?} starts: {e:#}"));
    browser
        .open_live(&server.page("/#/modems"))
        .await
        .expect("modems, live");
    // Rung before History opens: stored, so History loads it from `GET /api/calls`.
    sim.call(Some(FIRST), 1, Duration::from_millis(100));
    browser
        .wait_text(".modem-calls", LIMIT, |t| t.contains(FIRST))
        .await
        .expect("the call is stored and shown on the modem's card");
    sim.inject(b"\r\nNO CARRIER\r\n");

    browser
        .open_live(&server.page("/#/history"))
        .await
        .expect("history, live");
    choose(&browser, "select.history-kind", "calls").await;
    browser
        .wait_text(".call-list .call-title", LIMIT, |t| {
            t == format!("Call from {FIRST}")
        })
        .await
        .expect("the stored call is listed");
    let modem = browser
        .eval("return document.querySelector('.call-list .modem').textContent")
        .await
        .expect("modem");
    let modem = modem.as_str().expect("text").to_owned();

    // Filtered to its modem (fetched again with `modem=`): the call again.
    choose(&browser, ".filters select:not(.history-kind)", &modem).await;
    browser
        .wait_text(".call-list .call-title", LIMIT, |t| t.contains(FIRST))
        .await
        .expect("filtered to its modem");

    // Rung while the page is open: it appears on top without a reload.
    sim.call(Some(SECOND), 1, Duration::from_millis(100));
    browser
        .wait_text(
            ".call-list .call-entry:first-child .call-title",
            LIMIT,
            |t| t == format!("Call from {SECOND}"),
        )
        .await
        .expect("the live call is listed on top");
    let entries = browser
        .eval("return document.querySelectorAll('.call-list .call-entry').length")
        .await
        .expect("count");
    assert_eq!(entries, serde_json::json!(2), "each call once");
    browser
        .wait_text(".result-info", LIMIT, |t| t == "2 calls")
        .await
        .expect("counted");
    browser.close().await.expect("close");
    drop(server);
    sim.shutdown().await;
}
