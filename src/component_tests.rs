//! Component tests: real Leptos components mounted into a real DOM in headless Chromium (wasm-bindgen-test).
//!
//! Run with `CHROMEDRIVER=/usr/bin/chromedriver CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
//! cargo test -p simrelay-ui --target wasm32-unknown-unknown`. They check what only a browser can: the DOM the
//! components actually produce for hostile text, the code highlight, and opt-in links.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

use crate::endpoint::Endpoint;
use crate::prefs::Prefs;
use crate::state::AppState;
use crate::views::MessageText;

wasm_bindgen_test_configure!(run_in_browser);

/// Mounts `view` into a fresh `<div>` with an `AppState` in context and returns the div.
fn mount(prefs: Prefs, view: impl Fn() -> AnyView + 'static) -> web_sys::HtmlElement {
    let document = document();
    let host: web_sys::HtmlElement = document
        .create_element("div")
        .expect("div")
        .unchecked_into();
    document
        .body()
        .expect("body")
        .append_child(&host)
        .expect("append");
    let handle = mount_to(host.clone(), move || {
        let app = AppState::new(Endpoint {
            origin: "http://127.0.0.1:1".into(),
            token: None,
        });
        app.prefs.set(prefs.clone());
        provide_context(app);
        view()
    });
    // Keep the view alive for the rest of the test run.
    std::mem::forget(handle);
    host
}

const HOSTILE: &str = "<img src=x onerror=\"document.body.dataset.pwned='1'\"><script>document.body.dataset.pwned='2'</script> code 4711";

#[wasm_bindgen_test]
fn hostile_text_becomes_text_nodes_only() {
    let host = mount(Prefs::default(), || {
        view! { <MessageText text=HOSTILE.to_owned() span=Some([HOSTILE.len() - 4, HOSTILE.len()]) /> }.into_any()
    });
    assert_eq!(host.text_content().unwrap_or_default(), HOSTILE);
    assert_eq!(
        host.query_selector_all("img, script")
            .expect("query")
            .length(),
        0
    );
    let marks = host.query_selector_all("mark.code-hl").expect("query");
    assert_eq!(marks.length(), 1, "only the code is an element");
    assert_eq!(
        marks.get(0).and_then(|m| m.text_content()).as_deref(),
        Some("4711")
    );
    assert!(document()
        .body()
        .expect("body")
        .dataset()
        .get("pwned")
        .is_none());
}

#[wasm_bindgen_test]
fn links_are_clickable_only_when_opted_in() {
    let text = "Track https://ex.ample/t?a=1 or javascript:alert(1)";
    let off = mount(Prefs::default(), move || {
        view! { <MessageText text=text.to_owned() span=None /> }.into_any()
    });
    assert_eq!(off.query_selector_all("a").expect("query").length(), 0);

    let on = mount(
        Prefs {
            clickable_links: true,
            ..Prefs::default()
        },
        move || view! { <MessageText text=text.to_owned() span=None /> }.into_any(),
    );
    let links = on.query_selector_all("a").expect("query");
    assert_eq!(links.length(), 1, "only the http(s) address is a link");
    let link: web_sys::Element = links.get(0).expect("link").unchecked_into();
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some("https://ex.ample/t?a=1")
    );
    assert_eq!(
        link.get_attribute("rel").as_deref(),
        Some("noopener noreferrer nofollow")
    );
    assert_eq!(on.text_content().unwrap_or_default(), text);
}
