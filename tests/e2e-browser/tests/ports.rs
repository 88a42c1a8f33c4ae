//! First run in headless Chromium: `simrelay serve` with no modem shows the wizard; the user types the path of a
//! simulated modem on a real pty (ptys are not in the OS's port list, and the config file allows them, as it must
//! for any path that is not a serial device's), Test shows its model, "Use this modem" adds it, and a message
//! injected on that pty then appears on the Live screen. Saves the wizard's screenshot.

use std::time::Duration;

use fantoccini::Locator;
use simrelay_e2e_browser::{Browser, BrowserKind, Server};
use simrelay_modem::sim::{Personality, SimOptions, Simulator};
use simrelay_testkit::pdu::{deliver_parts, SENT_AT};

#[tokio::test(flavor = "multi_thread")]
async fn the_wizard_adds_a_modem_that_then_delivers_to_live() {
    let sim = Simulator::start(SimOptions {
        personality: Personality::Sim800l,
        ..SimOptions::default()
    })
    .await
    .expect("simulator starts");
    let port = sim.path().to_str().expect("utf-8 path").to_owned();
    // A pseudo-terminal is not a serial device: the owner allows the simulator's in the config file.
    let server = Server::start_with_config(&[], None, "allowed_ports = [\"/dev/pts/*\"]\n")
        .expect("simrelay serve without a modem starts");
    let browser = Browser::start_in(BrowserKind::Chromium, 1280, 900)
        .await
        .expect("headless chromium starts");
    browser
        .client
        .goto(&server.page("/"))
        .await
        .expect("page loads");

    let title = browser
        .wait_text("#wizard-title", Duration::from_secs(20), |t| {
            t.contains("choose a port")
        })
        .await
        .expect("the wizard opens when the server has no modem");
    assert!(title.contains("1 of 3"), "{title}");

    let input = browser
        .client
        .find(Locator::Css("#wizard-port"))
        .await
        .expect("path field");
    input.send_keys(&port).await.expect("type the path");
    browser.click("#wizard-test").await.expect("click Test");
    let verdict = browser
        .wait_text("#wizard .port-verdict", Duration::from_secs(30), |t| {
            !t.is_empty()
        })
        .await
        .expect("the probe result shows");
    assert_eq!(verdict, "Modem · SIMCOM_SIM800L");
    // The README shows the first run as the user meets it: a port tested and recognised.
    browser
        .screenshot("wizard-desktop")
        .await
        .expect("screenshot");

    browser.click("#wizard-use").await.expect("click Use");
    let done = browser
        .wait_text("#wizard-done", Duration::from_secs(30), |t| !t.is_empty())
        .await
        .expect("the wizard says it is done");
    assert!(done.contains("SIMCOM_SIM800L"), "{done}");
    browser.click("#wizard-finish").await.expect("click finish");

    // The modem is the server's now: an SMS on the pty arrives on Live.
    for part in deliver_parts("ExampleBank", "Your ExampleBank code is 605113.", SENT_AT) {
        assert_ne!(sim.deliver(part), 0, "SIM full");
    }
    let shown = browser
        .wait_text(".hero .hero-text", Duration::from_secs(30), |t| {
            t.contains("605113")
        })
        .await
        .expect("the message arrives on the Live screen");
    assert!(shown.contains("ExampleBank code"), "{shown}");
    let wizard_gone = browser
        .eval("return document.querySelector('#wizard') === null;")
        .await
        .expect("eval");
    assert_eq!(wizard_gone, serde_json::Value::Bool(true));
    browser.close().await.expect("close");
    sim.shutdown().await;
}
