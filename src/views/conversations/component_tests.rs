//! The Conversations screen's components in a real DOM (headless browser, wasm-bindgen-test; see
//! `crate::component_tests` for how to run them): hostile text stays text, a thread follows the WebSocket's
//! messages and `sent` frames without a server, and what cannot be answered says so. The server these tests
//! point at does not exist, so every fetch fails: what shows comes from the live state alone.

use chrono::DateTime;
use leptos::prelude::*;
use simrelay_protocol::{Conversation, Message, SendStatus, SentMessage, ThreadEntry};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;

use super::list::ConversationRow;
use super::thread::ThreadView;
use crate::component_tests::{assert_no_script_ran, mount, mount_with_state, texts, tick};
use crate::prefs::Prefs;

const PEER: &str = "+15555550100";
const HOSTILE: &str =
    "<img src=x onerror=\"document.body.dataset.pwned='conv'\"><b>Acme</b> code 482913";

fn from(sender: &str, id: i64, text: &str, at: &str) -> Message {
    let at = DateTime::parse_from_rfc3339(at).expect("time");
    Message {
        sender: sender.into(),
        modem: "twilio-us".into(),
        sent_at: at,
        received_at: at,
        ..crate::inbox::tests::msg(id, text)
    }
}

fn sent_to(id: i64, status: SendStatus, at: &str) -> SentMessage {
    let at = DateTime::parse_from_rfc3339(at).expect("time");
    SentMessage {
        id,
        modem: "twilio-us".into(),
        to: PEER.into(),
        text: "Yes, <i>at</i> eight".into(),
        status,
        error: None,
        message_refs: Vec::new(),
        parts: 1,
        created_at: at,
        updated_at: at,
    }
}

/// Waits (up to 10 s) until `css` matches something in `host`.
async fn until_shown(host: &web_sys::HtmlElement, css: &str) {
    for _ in 0..200 {
        if host.query_selector(css).ok().flatten().is_some() {
            return;
        }
        gloo_timers::future::TimeoutFuture::new(50).await;
    }
    panic!("{css} never showed");
}

#[wasm_bindgen_test]
async fn a_thread_follows_the_websocket_and_keeps_sms_text_as_text() {
    let (host, app) = mount_with_state(|| view! { <ThreadView peer=PEER.to_owned() /> }.into_any());
    // The first page cannot be fetched: the thread says so, and still follows what comes live.
    until_shown(&host, ".banner-bad").await;

    let mut message = from(PEER, 41, HOSTILE, "2026-11-22T09:00:00Z");
    let code_at = HOSTILE.len() - 6;
    message.code = Some("482913".into());
    message.code_span = Some([code_at, HOSTILE.len()]);
    let other = from(
        "+4915100000000",
        42,
        "not for this thread",
        "2026-11-22T09:00:30Z",
    );
    app.inbox.update(|i| {
        i.merge([message, other]);
    });
    tick().await;
    assert_eq!(texts(&host, ".bubble-in .bubble-text"), [HOSTILE]);
    assert_eq!(
        host.query_selector_all("img, b, i")
            .expect("query")
            .length(),
        0
    );
    assert_eq!(texts(&host, ".bubble-in mark.code-hl"), ["482913"]);
    assert_eq!(
        host.query_selector_all(".bubble-in button.code")
            .expect("query")
            .length(),
        1,
        "the code is copyable"
    );

    // A reply sent from anywhere (a `sent` frame) joins under it, and its status moves on with the frames.
    app.outbox.update(|o| {
        o.observe(sent_to(7, SendStatus::Queued, "2026-11-22T09:01:00Z"));
    });
    tick().await;
    assert_eq!(
        texts(&host, ".bubble-out .bubble-text"),
        ["Yes, <i>at</i> eight"]
    );
    assert_eq!(texts(&host, ".bubble-out .sent-status"), ["queued…"]);
    app.outbox.update(|o| {
        o.observe(sent_to(7, SendStatus::Delivered, "2026-11-22T09:01:00Z"));
        o.observe(sent_to(7, SendStatus::Sending, "2026-11-22T09:01:00Z"));
    });
    tick().await;
    assert_eq!(texts(&host, ".bubble-out .sent-status"), ["delivered"]);
    let order: Vec<String> = texts(&host, ".bubbles > li .bubble-text");
    assert_eq!(
        order,
        [HOSTILE, "Yes, <i>at</i> eight"],
        "oldest first, each once"
    );
    assert_eq!(
        host.query_selector_all("img, b, i")
            .expect("query")
            .length(),
        0
    );
    gloo_timers::future::TimeoutFuture::new(100).await;
    assert_no_script_ran();
}

#[wasm_bindgen_test]
async fn a_row_shows_who_and_the_newest_message_as_text_and_links_to_the_thread() {
    let peer = "<img src=x onerror=\"document.body.dataset.pwned='peer'\">";
    let last = ThreadEntry::Received(from(peer, 3, HOSTILE, "2026-11-22T09:00:00Z"));
    let conversation = Conversation {
        peer: peer.into(),
        last,
        unread: 2,
        reply_from: Some("twilio-us".into()),
    };
    let host = mount(Prefs::default(), move || {
        view! { <ConversationRow conversation=conversation.clone() /> }.into_any()
    });
    tick().await;
    assert_eq!(texts(&host, ".conv-peer"), [peer]);
    assert_eq!(texts(&host, ".conv-preview"), [HOSTILE]);
    assert_eq!(texts(&host, ".conv-count"), ["2 unread"]);
    assert_eq!(texts(&host, ".conv-via"), ["twilio-us"]);
    assert_eq!(
        host.query_selector_all("img, b").expect("query").length(),
        0
    );
    let link: web_sys::Element = host
        .query_selector("a.conv-link")
        .expect("query")
        .expect("the row is a link");
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some(super::model::thread_hash(peer).as_str())
    );
    assert!(link
        .get_attribute("href")
        .unwrap_or_default()
        .starts_with("#/conversations/%3Cimg"));

    // What was sent last reads "You: …", and a read conversation has no count.
    let mine = Conversation {
        peer: PEER.into(),
        last: ThreadEntry::Sent(sent_to(9, SendStatus::Sent, "2026-11-22T09:05:00Z")),
        unread: 0,
        reply_from: None,
    };
    let host = mount(Prefs::default(), move || {
        view! { <ConversationRow conversation=mine.clone() /> }.into_any()
    });
    tick().await;
    assert_eq!(texts(&host, ".conv-preview"), ["You: Yes, <i>at</i> eight"]);
    assert!(texts(&host, ".conv-count").is_empty());
    assert_eq!(
        texts(&host, ".conv-via"),
        ["twilio-us"],
        "the source it went out through"
    );
    gloo_timers::future::TimeoutFuture::new(100).await;
    assert_no_script_ran();
}

#[wasm_bindgen_test]
async fn the_reply_box_checks_before_sending_and_says_why_a_send_failed() {
    let host = mount(Prefs::default(), || {
        view! { <ThreadView peer=PEER.to_owned() /> }.into_any()
    });
    until_shown(&host, ".banner-bad").await;
    let send: web_sys::HtmlElement = host
        .query_selector("form.reply button[type=submit]")
        .expect("query")
        .expect("the send button")
        .unchecked_into();
    send.click();
    tick().await;
    assert_eq!(texts(&host, "#reply-problem"), ["Write a message first."]);

    let area: web_sys::HtmlTextAreaElement = host
        .query_selector("#reply-text")
        .expect("query")
        .expect("the text box")
        .unchecked_into();
    area.set_value("On my way");
    area.dispatch_event(&web_sys::Event::new("input").expect("event"))
        .expect("input");
    send.click();
    // No server: the send fails, the problem is said, and the text is kept to try again.
    for _ in 0..200 {
        if texts(&host, "#reply-problem")
            .iter()
            .any(|t| !t.is_empty() && t != "Write a message first.")
        {
            break;
        }
        gloo_timers::future::TimeoutFuture::new(50).await;
    }
    let problem = texts(&host, "#reply-problem").concat();
    assert!(
        !problem.is_empty() && problem != "Write a message first.",
        "{problem}"
    );
    assert_eq!(area.value(), "On my way");
    assert!(host.query_selector(".bubble-out").expect("query").is_none());
}

#[wasm_bindgen_test]
async fn an_alphanumeric_sender_cannot_be_answered_and_says_so() {
    let host = mount(Prefs::default(), || {
        view! { <ThreadView peer="DemoBank".to_owned() /> }.into_any()
    });
    tick().await;
    assert!(host.query_selector("#reply-text").expect("query").is_none());
    let hint = texts(&host, ".reply-none").concat();
    assert!(
        hint.contains("DemoBank") && hint.contains("cannot be answered"),
        "{hint}"
    );
}
