//! The Settings screen against the real server: LAN sharing on, pair a device (a one-time pairing code, its QR code
//! shown as an image, never the main token), the device opens the link over the LAN and gets its own token, it is
//! listed with what it may do, revoke it (it disappears and its token gets 401); a wrong number is explained next
//! to its field and a right one is saved on the server; screenshots with the QR code.

use std::time::Duration;

use fantoccini::Locator;
use simrelay_e2e_browser::{http_get, in_browsers, wait_until, Browser, BrowserKind, Server};
use simrelay_testkit::lan_ip;

const TOKEN: &str = "e2e-settings-main-token-0123456789abcdef";

async fn set_text(browser: &Browser, css: &str, text: &str) {
    let field = browser.client.find(Locator::Css(css)).await.expect("field");
    field.clear().await.expect("clear");
    field.send_keys(text).await.expect("type");
}

fn settings(server: &Server) -> serde_json::Value {
    let (status, body) =
        http_get(server.port, "/api/settings", Some(TOKEN)).expect("GET /api/settings");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("json")
}

in_browsers!(pair_list_revoke_and_save_settings: chromium, firefox, webkit);

async fn pair_list_revoke_and_save_settings(kind: BrowserKind) {
    // This machine's LAN address may not be a private one (a test network): the owner names it. Plain HTTP on the
    // LAN, which the owner may choose, so the browser needs no certificate exception (the engine's tests pair
    // over the default HTTPS).
    let ip = lan_ip().expect("this machine needs a LAN address: the test plays a phone on the LAN");
    let config = format!("lan_addresses = [\"{ip}\"]\nlan_tls = false\n");
    let server = Server::start_with_config(&["--demo"], Some(TOKEN), &config).expect("server");
    let browser = Browser::start_in(kind, 1280, 1000)
        .await
        .unwrap_or_else(|e| panic!("{kind:?} starts: {e:#}"));
    browser
        .open_live(&server.url(&format!("/?token={TOKEN}#/settings")))
        .await
        .expect("page, live");
    browser
        .wait_text("#no-devices", Duration::from_secs(10), |t| {
            t.contains("No device")
        })
        .await
        .expect("the device list loads, empty");

    // LAN sharing on, through the checkbox.
    browser.click("#set-lan").await.expect("click");
    browser
        .wait_text(
            "#settings-sharing .save-status",
            Duration::from_secs(10),
            |t| t == "Saved",
        )
        .await
        .expect("LAN sharing switched on");
    assert_eq!(settings(&server)["lan"], true);

    // A name is required.
    browser
        .click(".pair-form button[type=submit]")
        .await
        .expect("click");
    browser
        .wait_text("#pair-error", Duration::from_secs(5), |t| {
            t.contains("name")
        })
        .await
        .expect("asks for a name");

    set_text(&browser, "#pair-name", "Test phone").await;
    browser
        .click(".pair-form button[type=submit]")
        .await
        .expect("click");
    let link = browser
        .wait_text(".new-device .link-text", Duration::from_secs(10), |t| {
            t.contains("pair=")
        })
        .await
        .expect("the pairing link is shown");
    let page = browser
        .eval("return document.body.innerText;")
        .await
        .expect("eval");
    assert!(
        !page.as_str().unwrap_or_default().contains(TOKEN) && !link.contains("token"),
        "the main token is not on the screen: {link}"
    );
    // The QR code is an <img> that decoded (a broken image has no natural width), not markup in the page.
    let qr = browser
        .eval(
            "const i = document.querySelector('.new-device img.qr');
             return i ? {ok: i.complete && i.naturalWidth > 0, src: i.src.startsWith('data:image/svg+xml'), inline_svg: document.querySelectorAll('main svg').length} : null;",
        )
        .await
        .expect("eval");
    assert_eq!(qr["ok"], true, "QR image did not decode: {qr}");
    assert_eq!(qr["src"], true, "the QR code is a data: URL image: {qr}");
    assert_eq!(qr["inline_svg"], 0, "the SVG was inserted as markup");
    browser
        .screenshot("settings-pairing-desktop")
        .await
        .expect("screenshot");
    browser
        .client
        .set_window_size(360, 740)
        .await
        .expect("resize");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let overflow = browser
        .eval("return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        .await
        .expect("eval");
    assert_eq!(
        overflow, 0,
        "Settings with a pairing code scrolls sideways at 360 px"
    );
    browser
        .eval("document.querySelector('.new-device').scrollIntoView(); return null;")
        .await
        .expect("scroll");
    browser
        .screenshot("settings-pairing-phone")
        .await
        .expect("screenshot");
    browser
        .client
        .set_window_size(1280, 1000)
        .await
        .expect("resize");
    browser.click("#pair-done").await.expect("click");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        browser
            .client
            .find_all(Locator::Css(".new-device"))
            .await
            .expect("find")
            .is_empty(),
        "Done hides the link: it is shown once"
    );

    // The device itself: the link opens SimRelay over the LAN address, exchanges the code for the device's own
    // token, and is live; the code leaves the address bar. There Settings is read-only and says why.
    browser
        .open_live(link.trim())
        .await
        .expect("open the pairing link, the paired device is live");
    let url = browser.client.current_url().await.expect("url");
    assert!(
        !url.as_str().contains("pair="),
        "the code left the address bar: {url}"
    );
    let device_token = browser
        .eval("return localStorage.getItem('simrelay.token');")
        .await
        .expect("eval")
        .as_str()
        .expect("the device keeps its own token")
        .to_owned();
    assert_ne!(device_token, TOKEN);
    let (status, _) =
        http_get(server.port, "/api/messages?limit=1", Some(&device_token)).expect("GET");
    assert_eq!(status, 200, "the new device's token works");
    browser
        .client
        .goto(&format!(
            "{}#/settings",
            link.trim().split('?').next().expect("base")
        ))
        .await
        .expect("settings on the device");
    let note = browser
        .wait_text("#settings-readonly", Duration::from_secs(10), |t| {
            !t.is_empty()
        })
        .await
        .expect("a LAN browser is told why it cannot change settings");
    assert!(note.contains("computer SimRelay runs on"), "{note}");
    assert!(
        browser
            .client
            .find_all(Locator::Css(
                "#settings-sharing, #settings-devices, #set-lan"
            ))
            .await
            .expect("find")
            .is_empty(),
        "a LAN browser shows no server settings it cannot read"
    );
    browser
        .client
        .goto(&server.url(&format!("/?token={TOKEN}#/settings")))
        .await
        .expect("back on this machine");
    let row = browser
        .wait_text(".devices .device", Duration::from_secs(10), |t| {
            t.contains("Test phone")
        })
        .await
        .expect("the device is listed");
    assert!(row.contains("last seen"), "{row}");
    assert!(
        row.contains("read messages, send SMS") && !row.contains("change settings"),
        "what it may do: {row}"
    );

    // Revoke, confirming the dialog.
    browser
        .click(".devices .device button.btn-danger")
        .await
        .expect("click");
    browser.client.accept_alert().await.expect("confirm dialog");
    let gone = {
        let mut gone = false;
        for _ in 0..100 {
            // The list re-renders as the device goes: WebKit's driver may report a row it was reading as stale.
            let left = browser
                .client
                .find_all(Locator::Css(".devices .device"))
                .await;
            if left.is_ok_and(|rows| rows.is_empty()) {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        gone
    };
    assert!(gone, "the revoked device is still listed");
    wait_until(
        "the revoked token to be refused",
        Duration::from_secs(5),
        || {
            matches!(
                http_get(server.port, "/api/messages?limit=1", Some(&device_token)),
                Ok((401, _))
            )
        },
    )
    .expect("401 for a revoked token");

    // A wrong number is explained at its field and not saved; a right one is saved.
    set_text(&browser, "#set-clear_clipboard_secs", "soon").await;
    browser
        .click("#settings-notifications .btn-primary")
        .await
        .expect("click");
    let error = browser
        .wait_text("#err-clear_clipboard_secs", Duration::from_secs(5), |t| {
            !t.is_empty()
        })
        .await
        .expect("field error");
    assert!(error.contains("whole number"), "{error}");
    assert_eq!(settings(&server)["clear_clipboard_secs"], 60);
    set_text(&browser, "#set-clear_clipboard_secs", "30").await;
    browser
        .click("input[name=notify-mode][value=all]")
        .await
        .expect("click");
    browser
        .click("#settings-notifications .btn-primary")
        .await
        .expect("click");
    browser
        .wait_text(
            "#settings-notifications .save-status",
            Duration::from_secs(10),
            |t| t == "Saved",
        )
        .await
        .expect("saved");
    let saved = settings(&server);
    assert_eq!(saved["clear_clipboard_secs"], 30);
    assert_eq!(saved["notifications"], "all");

    // Retention: N days, checked before it is sent.
    browser
        .click("input[name=retention-mode][value=days]")
        .await
        .expect("click");
    set_text(&browser, "#set-retention_days", "0").await;
    browser
        .click("#settings-retention .btn-primary")
        .await
        .expect("click");
    browser
        .wait_text("#err-retention_days", Duration::from_secs(5), |t| {
            t.contains("between")
        })
        .await
        .expect("range error");
    set_text(&browser, "#set-retention_days", "90").await;
    browser
        .click("#settings-retention .btn-primary")
        .await
        .expect("click");
    browser
        .wait_text(
            "#settings-retention .save-status",
            Duration::from_secs(10),
            |t| t == "Saved",
        )
        .await
        .expect("saved");
    assert_eq!(settings(&server)["retention_days"], 90);

    // LAN off again, through the same checkbox.
    browser.click("#set-lan").await.expect("click");
    wait_until("LAN sharing off", Duration::from_secs(10), || {
        settings(&server)["lan"] == false
    })
    .expect("LAN off");
    browser.close().await.expect("close");
}
