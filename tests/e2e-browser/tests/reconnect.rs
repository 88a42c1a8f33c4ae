//! A sent message's status survives a reconnect: the server restarts while the message waits for its delivery
//! report, the report arrives while the page may still be disconnected, and after reconnecting the page asks
//! `GET /api/sent/{id}` once (not in a loop) and shows "delivered".

use std::time::Duration;

use fantoccini::Locator;
use simrelay_e2e_browser::{http_get, in_browsers, Browser, BrowserKind, Server};
use simrelay_modem::{SimOptions, Simulator};
use simrelay_testkit::pdu::status_report;

async fn sent_requests(browser: &Browser) -> u64 {
    browser
        .eval("return performance.getEntriesByType('resource').filter(e => e.name.includes('/api/sent/')).length;")
        .await
        .expect("eval")
        .as_u64()
        .unwrap_or(u64::MAX)
}

in_browsers!(sent_status_catches_up_once_after_a_reconnect: chromium, firefox, webkit);

async fn sent_status_catches_up_once_after_a_reconnect(kind: BrowserKind) {
    let sim = Simulator::start(SimOptions::default())
        .await
        .expect("simulator");
    let port = sim.path().to_str().expect("utf-8").to_owned();
    let mut server = Server::start(&["--modem", &port], None).expect("server");
    let browser = Browser::start_in(kind, 1280, 900)
        .await
        .unwrap_or_else(|e| panic!("{kind:?} starts: {e:#}"));
    browser
        .open_live(&server.page("/#/compose"))
        .await
        .expect("compose, live");
    for (css, text) in [
        ("#compose-to", "+4915123456789"),
        ("#compose-text", "Report back, please"),
    ] {
        let field = browser.client.find(Locator::Css(css)).await.expect("field");
        field.send_keys(text).await.expect("type");
    }
    browser.click("button[type=submit]").await.expect("send");
    browser
        .wait_text(".sent-status", Duration::from_secs(30), |t| t == "sent")
        .await
        .expect("sent");
    assert_eq!(sent_requests(&browser).await, 0, "no polling while live");
    let (_, body) =
        http_get(server.port, "/api/sent/1", server.token.as_deref()).expect("GET /api/sent/1");
    let sent: serde_json::Value = serde_json::from_str(&body).expect("json");
    let reference = sent["message_refs"][0]
        .as_u64()
        .expect("a message reference") as u8;

    // The server goes away and comes back; the report arrives as soon as it is up.
    server.restart().expect("restart");
    // TP-ST 0: received by the recipient.
    sim.deliver_report(status_report(reference, 0x00));
    let status = browser
        .wait_text(".sent-status", Duration::from_secs(30), |t| {
            t == "delivered"
        })
        .await
        .expect("delivered after the reconnect");
    assert_eq!(status, "delivered");
    browser.wait_live().await.expect("live again");
    let reached = browser
        .eval(
            "return [...document.querySelectorAll('.sent-list .step-on')].map(e => e.textContent);",
        )
        .await
        .expect("eval");
    assert_eq!(
        reached,
        serde_json::json!(["queued", "sending", "sent", "delivered"])
    );
    // One catch-up request after the reconnect, and it stays one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        sent_requests(&browser).await,
        1,
        "catch-up must ask once per reconnect"
    );
    browser.close().await.expect("close");
    sim.shutdown().await;
}
