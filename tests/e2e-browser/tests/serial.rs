//! Messages injected on the serial side (the modem simulator on a real pty, read by `simrelay serve --modem`)
//! reach the Live screen; hostile text stays text; the title counts unread messages; History search finds an
//! old message.

use std::time::Duration;

use fantoccini::{key::Key, Locator};
use simrelay_e2e_browser::{in_browsers, Browser, BrowserKind, Server};
use simrelay_modem::{SimOptions, Simulator};
use simrelay_testkit::pdu::{deliver_parts, SENT_AT};

fn send(sim: &Simulator, sender: &str, text: &str) {
    // SENT_AT is the network's clock; what is shown as "ago" is the receive time.
    for part in deliver_parts(sender, text, SENT_AT) {
        assert_ne!(sim.deliver(part), 0, "SIM full");
    }
}

async fn start(kind: BrowserKind) -> (Simulator, Server, Browser) {
    let sim = Simulator::start(SimOptions::default())
        .await
        .expect("simulator starts");
    let port = sim.path().to_str().expect("utf-8 path").to_owned();
    let server = Server::start(&["--modem", &port], None).expect("simrelay serve --modem starts");
    let browser = Browser::start_in(kind, 1280, 900)
        .await
        .unwrap_or_else(|e| panic!("{kind:?} starts: {e:#}"));
    browser
        .open_live(&server.page("/"))
        .await
        .expect("page loads, live");
    (sim, server, browser)
}

in_browsers!(hostile_sms_is_shown_as_text_and_runs_nothing: chromium, firefox, webkit);

async fn hostile_sms_is_shown_as_text_and_runs_nothing(kind: BrowserKind) {
    let (sim, _server, browser) = start(kind).await;
    let hostile = "<img src=x onerror=\"document.body.dataset.pwned='img'\"><script>document.body.dataset.pwned='script'</script> \
                   <b>bold</b> Your code is 864209";
    send(&sim, "+4915112345678", hostile);

    let shown = browser
        .wait_text(".hero .hero-text", Duration::from_secs(30), |t| {
            t.contains("864209")
        })
        .await
        .expect("the message arrives on the Live screen");
    assert_eq!(
        shown.trim(),
        hostile.trim(),
        "every character is shown literally"
    );
    // Give an injected onerror handler (the broken image would fail at once) time to fire, if it existed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let verdict = browser
        .eval(
            "return { pwned: document.body.dataset.pwned || null, \
                      imgs: document.querySelectorAll('main img').length, \
                      scripts: document.querySelectorAll('main script, main b').length };",
        )
        .await
        .expect("eval");
    assert_eq!(
        verdict["pwned"],
        serde_json::Value::Null,
        "no injected handler ran: {verdict}"
    );
    assert_eq!(verdict["imgs"], 0, "no <img> element was created");
    assert_eq!(
        verdict["scripts"], 0,
        "no <script> or <b> element was created"
    );
    let big = browser
        .wait_text(".code-big", Duration::from_secs(5), |_| true)
        .await
        .expect("code");
    assert_eq!(big, "864209");

    // Keyboard: focus the code button and press Enter to copy.
    let button = browser
        .client
        .find(Locator::Css(".code-big"))
        .await
        .expect("button");
    button
        .send_keys(&Key::Enter.to_string())
        .await
        .expect("enter");
    let status = browser
        .wait_text(".hero .copy-status", Duration::from_secs(5), |t| {
            !t.is_empty()
        })
        .await
        .expect("copy feedback");
    assert_eq!(status, "Copied");
    // Where the browser's clipboard is the X one (WebKit on its Xvfb), "Copied" must mean the code is there.
    if let Some(display) = browser.x_display() {
        let out = std::process::Command::new("xclip")
            .args(["-o", "-selection", "clipboard"])
            .env("DISPLAY", display)
            .output()
            .expect("xclip runs (apt-get install xclip)");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "864209",
            "the code is on the clipboard"
        );
    }
    browser.close().await.expect("close");
    sim.shutdown().await;
}

in_browsers!(unread_count_in_title_and_search_finds_an_old_message: chromium, firefox, webkit);

async fn unread_count_in_title_and_search_finds_an_old_message(kind: BrowserKind) {
    let (sim, server, browser) = start(kind).await;
    send(&sim, "ZooShop", "Your zebra plush ships today, order 4411.");
    browser
        .wait_text(".hero .hero-text", Duration::from_secs(30), |t| {
            t.contains("zebra")
        })
        .await
        .expect("first");

    // Away from the Live screen, new messages count as unread in the title.
    browser
        .client
        .goto(&server.page("/#/history"))
        .await
        .expect("history");
    browser
        .wait_text(".result-info", Duration::from_secs(10), |t| {
            t.contains("1 message")
        })
        .await
        .expect("list");
    // Opening the page again reconnects the WebSocket: what arrives before its hello is already there, not new.
    browser.wait_live().await.expect("connected");
    send(&sim, "+15555550123", "Your login code is 271828");
    send(&sim, "Bank", "Your card was charged 12.00 EUR");
    let mut title = String::new();
    for _ in 0..100 {
        title = browser.client.title().await.expect("title");
        if title == "(2) SimRelay" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(title, "(2) SimRelay");

    // Search finds the old message among newer ones, with the match marked.
    let search = browser
        .client
        .find(Locator::Css("input[type=search]"))
        .await
        .expect("search box");
    search.send_keys("zebra").await.expect("type");
    browser
        .wait_text(".result-info", Duration::from_secs(10), |t| {
            t == "1 message"
        })
        .await
        .expect("one result");
    let rows = browser
        .client
        .find_all(Locator::Css(".history-list .msg"))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1);
    let mark = browser
        .wait_text(
            ".history-list mark.search-hl",
            Duration::from_secs(5),
            |_| true,
        )
        .await
        .expect("mark");
    assert_eq!(mark.to_lowercase(), "zebra");
    browser
        .screenshot("history-search-desktop")
        .await
        .expect("screenshot");

    // Back on Live, the unread count is cleared.
    browser
        .client
        .goto(&server.page("/#/live"))
        .await
        .expect("live");
    let mut title = String::new();
    for _ in 0..50 {
        title = browser.client.title().await.expect("title");
        if title == "SimRelay" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(title, "SimRelay");
    browser.close().await.expect("close");
    sim.shutdown().await;
}

in_browsers!(a_later_message_without_a_code_does_not_push_the_code_out_of_the_card: chromium, firefox, webkit);

async fn a_later_message_without_a_code_does_not_push_the_code_out_of_the_card(kind: BrowserKind) {
    let (sim, _server, browser) = start(kind).await;
    send(
        &sim,
        "ExampleBank",
        "ExampleBank: 591027 is your login code.",
    );
    browser
        .wait_text(".code-big", Duration::from_secs(30), |t| t == "591027")
        .await
        .expect("the code takes the big card");
    send(
        &sim,
        "+15555550123",
        "Lunch at 12:30? Table for 4 is booked.",
    );
    browser
        .wait_text(".msg-list", Duration::from_secs(30), |t| {
            t.contains("Lunch")
        })
        .await
        .expect("the chatty message is listed below");
    let big = browser
        .wait_text(".code-big", Duration::from_secs(5), |_| true)
        .await
        .expect("big code");
    assert_eq!(big, "591027", "the newest code stays in the card");
    let hero = browser
        .wait_text(".hero .hero-text", Duration::from_secs(5), |_| true)
        .await
        .expect("hero");
    assert!(hero.contains("login code"), "{hero}");
    browser.close().await.expect("close");
    sim.shutdown().await;
}

in_browsers!(a_user_corrects_a_code_and_removes_the_correction_in_settings: chromium, firefox, webkit);

/// Issue 22 in the browser: an origin-bound code names its site; "Not this one" lists the other code of a message,
/// picking it (remembered for the sender) changes the code on the Live screen and adds a correction that Settings
/// lists and removes.
async fn a_user_corrects_a_code_and_removes_the_correction_in_settings(kind: BrowserKind) {
    let (sim, server, browser) = start(kind).await;
    let click = |css: &'static str| {
        let client = browser.client.clone();
        async move {
            client
                .wait()
                .at_most(Duration::from_secs(20))
                .for_element(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("{css}: {e}"))
                .click()
                .await
                .unwrap_or_else(|e| panic!("click {css}: {e}"));
        }
    };

    send(
        &sim,
        "+4915112345601",
        "660679 is your GitHub authentication code.\n\n@github.com #660679",
    );
    let site = browser
        .wait_text(".hero .code-origin", Duration::from_secs(30), |t| {
            t.contains("github.com")
        })
        .await
        .expect("the origin-bound code arrives with its site");
    assert_eq!(site, "for github.com");

    let sender = "+4915112345602";
    send(
        &sim,
        sender,
        "Security code: 55102288\nVerification code: 482913",
    );
    browser
        .wait_text(".code-big", Duration::from_secs(30), |t| t == "482913")
        .await
        .expect("the extractor's pick arrives");
    click(".hero .not-this").await;
    click(".hero .alternative").await;
    browser
        .wait_text(".code-big", Duration::from_secs(20), |t| t == "55102288")
        .await
        .expect("the code the user picked replaces it");
    let stored = server.messages(5).expect("api messages");
    assert_eq!(stored[0]["code"], "55102288", "stored, not only shown");

    browser
        .client
        .goto(&server.page("/#/settings"))
        .await
        .expect("settings");
    let listed = browser
        .wait_text(
            "#settings-corrections .correction",
            Duration::from_secs(20),
            |t| t.contains(sender),
        )
        .await
        .expect("the correction is listed");
    assert!(listed.contains("code: 8 digits"), "{listed}");
    click("#settings-corrections .correction .btn-danger").await;
    browser
        .wait_text("#no-corrections", Duration::from_secs(20), |_| true)
        .await
        .expect("the correction is gone");
    let (status, body) =
        simrelay_e2e_browser::http_get(server.port, "/api/corrections", server.token.as_deref())
            .expect("GET /api/corrections");
    assert_eq!((status, body.trim()), (200, "[]"));
    browser.close().await.expect("close");
}
