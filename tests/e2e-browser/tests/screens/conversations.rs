//! The Conversations screen end to end, in each browser: the list starts empty and says so; a message comes in
//! through a provider number (a Twilio webhook, signed as Twilio signs it) and its row appears over the WebSocket
//! without a reload; the user opens its thread from the list with the keyboard, sees the code marked, replies,
//! and the reply goes out through Twilio's REST API (a local receiver standing in for it checks the request and
//! its credentials) and shows in the thread under the message with its status. At the narrowest width each
//! browser has, nothing scrolls sideways; the SMS text stays text.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use fantoccini::key::Key;
use fantoccini::Locator;
use hmac::{Hmac, Mac};
use simrelay_e2e_browser::{in_browsers, Browser, BrowserKind, Server};

const AUTH_TOKEN: &str = "e2e-twilio-auth-token";
const ACCOUNT: &str = "AC00000000000000000000000000000e2e";
const PEER: &str = "+15555550100";
const LIMIT: Duration = Duration::from_secs(30);

/// A request the stand-in for Twilio's API received: path, `Authorization`, form fields.
type Seen = (String, Option<String>, Vec<(String, String)>);

/// Twilio's REST API, as far as sending needs it: answers every request `201` with a message SID, and records it.
fn fake_twilio() -> (u16, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
            let (mut length, mut authorization) = (0usize, None);
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':') {
                    match name.trim().to_ascii_lowercase().as_str() {
                        "content-length" => length = value.trim().parse().unwrap_or(0),
                        "authorization" => authorization = Some(value.trim().to_owned()),
                        _ => {}
                    }
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let form = form_urlencoded::parse(&body).into_owned().collect();
            record
                .lock()
                .expect("lock")
                .push((path, authorization, form));
            let answer = r#"{"sid":"SMe2e00000000000000000000000000000","status":"queued"}"#;
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (port, seen)
}

/// Posts an inbound SMS to SimRelay's Twilio webhook, signed with the auth token over the URL and the sorted
/// parameters, as Twilio does.
async fn twilio_inbound(server: &Server, sid: &str, body: &str) -> u16 {
    let path = "/sources/twilio-us/inbound";
    let params: Vec<(String, String)> = [
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT),
        ("From", PEER),
        ("To", "+15555550199"),
        ("Body", body),
        ("NumMedia", "0"),
        ("SmsStatus", "received"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let mut sorted = params.clone();
    sorted.sort();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(AUTH_TOKEN.as_bytes()).expect("key");
    mac.update(server.url(path).as_bytes());
    for (k, v) in &sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nX-Twilio-Signature: {signature}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
        server.port,
        form.len()
    );
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], server.port));
    simrelay_testkit::http::raw(addr, request.as_bytes(), LIMIT)
        .await
        .expect("webhook answered")
        .status
}

/// The first row's text once `ready` holds. Read as `textContent`: WebKit's WebDriver leaves the ellipsised
/// (overflow-hidden) peer and preview out of an element's visible text.
async fn row_text(browser: &Browser, ready: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        let text = browser
            .eval("return document.querySelector('.conv-row')?.textContent ?? '';")
            .await
            .expect("eval");
        let text = text.as_str().unwrap_or_default().to_owned();
        if ready(&text) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the conversation's row never showed what was expected; last: {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn narrowest(kind: BrowserKind) -> u32 {
    match kind {
        BrowserKind::Chromium => 360,
        BrowserKind::Firefox => 500,
        BrowserKind::WebKit => 447,
    }
}

in_browsers!(a_message_in_and_a_reply_out_make_one_thread: chromium, firefox, webkit);

async fn a_message_in_and_a_reply_out_make_one_thread(kind: BrowserKind) {
    let (api_port, seen) = fake_twilio();
    let config = format!(
        "[[sources]]\nname = \"twilio-us\"\nkind = \"twilio\"\nauth_token = \"{AUTH_TOKEN}\"\n\
         account_sid = \"{ACCOUNT}\"\nnumber = \"+15555550199\"\napi_url = \"http://127.0.0.1:{api_port}\"\n"
    );
    let server =
        Server::start_with_config(&[], None, &config).expect("simrelay serve with a source");
    let width = narrowest(kind);
    let browser = Browser::start_in(kind, width, 740)
        .await
        .unwrap_or_else(|e| panic!("{kind:?} starts: {e:#}"));
    browser
        .client
        .goto(&server.page("/#/conversations"))
        .await
        .expect("page loads");
    browser
        .wait_text(".conversations .empty", LIMIT, |t| {
            t.contains("No conversations yet")
        })
        .await
        .expect("the empty list says so");

    // The text carries markup: it must show as text, never become elements. The page is not reloaded: the row
    // comes over the WebSocket.
    let text = "Your <b>Acme</b> code is 482913. Are you coming tonight?";
    assert_eq!(
        twilio_inbound(&server, "SMe2e0000000000000000000000000000a", text).await,
        200
    );
    let row = row_text(&browser, |t| t.contains(PEER)).await;
    assert!(row.contains("Acme"), "the row previews the message: {row}");
    let count = browser
        .eval("return document.querySelector('.conv-row .conv-count')?.textContent ?? '';")
        .await
        .expect("eval");
    assert_eq!(count, "1 unread", "{row}");

    // With the keyboard: Tab to the row's link, Enter opens the thread.
    let mut reached = false;
    for _ in 0..30 {
        browser.press(Key::Tab.into(), false).await.expect("Tab");
        let focused = browser.focused().await.expect("focused");
        if focused["cls"] == "conv-link" {
            // WebKitGTK does not match :focus-visible on a link focused by a WebDriver Tab (the page's CSS draws
            // it for any :focus-visible), so only the other two browsers can check it.
            if kind != BrowserKind::WebKit {
                assert_eq!(
                    focused["visible_focus"], true,
                    "the row shows its focus: {focused}"
                );
            }
            reached = true;
            break;
        }
    }
    assert!(reached, "the conversation's row is reachable with Tab");
    browser
        .press(Key::Enter.into(), false)
        .await
        .expect("Enter");
    let shown = browser
        .wait_text(".bubble-in .bubble-text", LIMIT, |t| t.contains("Acme"))
        .await
        .expect("the thread shows the message");
    assert_eq!(
        shown.trim(),
        text,
        "the text shows as it came, markup included"
    );
    let elements = browser
        .eval("return document.querySelectorAll('.bubble b').length;")
        .await
        .expect("eval");
    assert_eq!(elements, 0, "SMS text never becomes markup");
    let code = browser
        .wait_text(".bubble-in .code-hl", LIMIT, |t| !t.is_empty())
        .await
        .expect("the code is marked");
    assert_eq!(code, "482913");
    browser
        .client
        .find(Locator::Css(".bubble-in button.code"))
        .await
        .expect("the code has its copy button");

    // Reply: type, Ctrl+Enter.
    let reply = browser
        .client
        .find(Locator::Css("#reply-text"))
        .await
        .expect("reply box");
    reply.send_keys("Yes, at eight").await.expect("type");
    reply
        .send_keys(&format!(
            "{}{}",
            char::from(Key::Control),
            char::from(Key::Enter)
        ))
        .await
        .expect("Ctrl+Enter");
    let status = browser
        .wait_text(".bubble-out .sent-status", LIMIT, |t| t.starts_with("sent"))
        .await
        .expect("the reply shows, sent");
    assert!(status.starts_with("sent"), "{status}");
    let order = browser
        .eval(
            "return Array.from(document.querySelectorAll('.bubbles > li'))
                .map(li => li.classList.contains('bubble-in') ? 'in' : 'out');",
        )
        .await
        .expect("eval");
    assert_eq!(
        order,
        serde_json::json!(["in", "out"]),
        "the reply is under the message"
    );

    // Twilio's API got the reply, from the source's number, with the account's credentials.
    let requests = seen.lock().expect("lock").clone();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let (path, authorization, form) = &requests[0];
    assert_eq!(
        path,
        &format!("/2010-04-01/Accounts/{ACCOUNT}/Messages.json")
    );
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT}:{AUTH_TOKEN}"));
    assert_eq!(
        authorization.as_deref(),
        Some(format!("Basic {basic}").as_str())
    );
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        (field("To"), field("From"), field("Body")),
        (Some(PEER), Some("+15555550199"), Some("Yes, at eight"))
    );

    // Nothing scrolls sideways at this width.
    let overflow = browser
        .eval("return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        .await
        .expect("eval");
    assert_eq!(
        overflow, 0,
        "the thread scrolls sideways at {width} px in {kind:?}"
    );
    browser
        .screenshot(&format!("conversation-thread-{}", kind.name()))
        .await
        .expect("screenshot");

    // Search within the thread finds the reply only.
    let search = browser
        .client
        .find(Locator::Css("#thread-search"))
        .await
        .expect("search field");
    search.send_keys("eight").await.expect("type");
    browser
        .wait_text(".thread-search [role=status]", LIMIT, |t| {
            t.contains("1 message")
        })
        .await
        .expect("one match");
    let marked = browser
        .wait_text(".bubble-out .search-hl", LIMIT, |t| !t.is_empty())
        .await
        .expect("the match is marked");
    assert_eq!(marked.to_lowercase(), "eight");

    // Back to the list: the thread was read, and the newest message is the reply.
    browser.click(".thread-back").await.expect("back link");
    let row = row_text(&browser, |t| t.contains("You: Yes, at eight")).await;
    let counts = browser
        .eval("return document.querySelectorAll('.conv-row .conv-count').length;")
        .await
        .expect("eval");
    assert_eq!(counts, 0, "the thread was read: {row}");
    browser.close().await.expect("close");
}
