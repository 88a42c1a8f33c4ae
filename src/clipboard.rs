//! Copying a code to the clipboard.
//!
//! The async Clipboard API exists only in secure contexts (https, localhost, the desktop window). A phone on the
//! LAN opens the page over plain http, where `navigator.clipboard` is undefined, so the fallback selects the text
//! in an off-screen textarea and uses the older copy command, which browsers still honour during a click.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Copies `text`; returns whether the browser accepted it.
pub async fn copy(text: &str) -> bool {
    let window = leptos::prelude::window();
    let clipboard = window.navigator().clipboard();
    // Outside a secure context the property is undefined although web-sys types it as always present.
    if !wasm_bindgen::JsValue::from(clipboard.clone()).is_undefined()
        && JsFuture::from(clipboard.write_text(text)).await.is_ok()
    {
        return true;
    }
    copy_with_selection(text)
}

fn copy_with_selection(text: &str) -> bool {
    let document = leptos::prelude::document();
    let Some(body) = document.body() else {
        return false;
    };
    let Ok(element) = document.create_element("textarea") else {
        return false;
    };
    let Ok(area) = element.dyn_into::<web_sys::HtmlTextAreaElement>() else {
        return false;
    };
    area.set_value(text);
    let _ = area.set_attribute("readonly", "");
    let _ = area.set_attribute("style", "position:fixed;top:-1000px;opacity:0");
    if body.append_child(&area).is_err() {
        return false;
    }
    area.select();
    let copied = document
        .dyn_ref::<web_sys::HtmlDocument>()
        .and_then(|d| d.exec_command("copy").ok())
        .unwrap_or(false);
    area.remove();
    copied
}
