//! The History screen: stored messages, newest first, with search, filters, details, delete and export. This file
//! holds the screen's state and fetching; `filters.rs` is the filter bar, `list.rs` the virtualised list,
//! `detail.rs` the detail panel (and the `#/message/<id>` screen), `calls.rs` the "Calls" kind (incoming calls
//! instead of messages, by modem, live from `call` frames).
//!
//! Pages are fetched with keyset paging (the server's `next` cursor is passed back as `before`), so loading page
//! 500 costs the server the same as page 1. Every change of the filters starts a new "generation"; answers to an
//! older generation are dropped, so a slow reply to an old search can never overwrite the current results.
//!
//! The list is virtualised ([`window`]): rows have one fixed height, so the rows under the viewport follow from
//! `scrollTop` (read once per animation frame) and only they, plus a few on each side and the focused row, exist
//! in the DOM, absolutely placed in a canvas as tall as every row fetched; a few dozen elements whether 50 or
//! 100,000 messages were scrolled through. Older pages are fetched as the window nears the last row held.
//!
//! Memory: every fetched message is kept, in the compact form of [`rows`] (a text preview, interned senders and
//! modems; about 0.3 KB a message, measured in BENCHMARKS.md), rather than dropping far pages and fetching them
//! again by cursor. Keeping them makes scrolling back instant and exact (a page fetched again could have lost
//! deleted messages and shift every row under the reader), and 100,000 messages cost tens of megabytes at most;
//! what grows without bound is only what the user actually scrolled through.
//!
//! Live messages are not pushed into the list (that would move the rows under a reader at row 5,000): a
//! "N new messages ↑" button counts them and reloads the list from the top when pressed. The server gives no
//! total, so the count shows "N+ messages" and `aria-setsize` is -1 (unknown) until the last page arrived.

pub(crate) mod calls;
mod detail;
mod filters;
mod list;
mod rows;
pub(crate) mod window;

use std::time::Duration;

use leptos::html::Div;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use self::calls::CallList;
use self::detail::DetailPanel;
pub use self::detail::MessageScreen;
use self::filters::{FilterBar, Filters};
use self::list::{HistoryList, Results};
use crate::api;
use crate::state::AppState;

/// Messages in the first page: enough to fill a tall screen quickly.
const FIRST_PAGE: usize = 100;
/// Messages per later page (the server allows 500): fewer round trips on the way to row 100,000.
const PAGE: usize = 500;
/// Quiet time after the last keystroke before a search is sent.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// `12345` as `12,345`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes of WebAssembly memory the app has grown to (it never shrinks, so this is the peak): what the History
/// scale test reads as `wasmBindings.simrelay_wasm_memory_bytes()`, since the JS heap size leaves it out.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn simrelay_wasm_memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64
}

/// Minutes east of UTC in the browser's time zone.
fn utc_offset_minutes() -> i32 {
    // getTimezoneOffset counts minutes *behind* UTC.
    -(js_sys::Date::new_0().get_timezone_offset() as i32)
}

/// Offers `bytes` to the user as a downloaded file.
fn download(bytes: &[u8], name: &str, mime: &str) -> Result<(), wasm_bindgen::JsValue> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let link: web_sys::HtmlAnchorElement = document().create_element("a")?.unchecked_into();
    link.set_href(&url);
    link.set_download(name);
    link.click();
    web_sys::Url::revoke_object_url(&url)
}

/// The History screen.
#[component]
pub fn History() -> impl IntoView {
    let app = expect_context::<AppState>();
    let typed = RwSignal::new(Filters::default());
    let applied = RwSignal::new(Filters::default());
    let results = RwSignal::new(Results::default());
    let keystrokes = StoredValue::new(0u64);
    let selected = RwSignal::new(None::<i64>);
    let export_error = RwSignal::new(None::<String>);
    let viewport = NodeRef::<Div>::new();
    // The row holding the focus stays rendered wherever the list is scrolled, so the focus is never lost.
    let focused = RwSignal::new(None::<i64>);
    // Newest message id the inbox knew when the current list was fetched: live messages above it are counted
    // in "N new messages" instead of being pushed into the list under the reader's eyes.
    let baseline = RwSignal::new(0i64);

    let newest_live = move || app.inbox.with_untracked(|i| i.newest().map_or(0, |m| m.id));
    let load = move |fresh: bool| {
        // The Calls kind fetches its own list.
        if applied.with_untracked(|f| f.calls) {
            return;
        }
        let mut request = None;
        results.update(|r| {
            if fresh {
                r.restart();
            } else if r.loading || r.done || r.error.is_some() {
                return;
            }
            r.loading = true;
            r.error = None;
            request = Some((r.generation, r.next, r.rows.is_empty()));
        });
        let Some((generation, before, first)) = request else {
            return;
        };
        if fresh {
            focused.set(None);
            if let Some(el) = viewport.get_untracked() {
                el.set_scroll_top(0);
            }
        }
        let limit = if first { FIRST_PAGE } else { PAGE };
        let query = applied.with_untracked(|f| f.query(before, limit, utc_offset_minutes()));
        let endpoint = app.endpoint.get_value();
        leptos::task::spawn_local(async move {
            let answer = api::messages(&endpoint, &query).await;
            results.try_update(|r| {
                if r.generation != generation {
                    return;
                }
                r.loading = false;
                match answer {
                    Ok(page) => r.append(page),
                    Err(e) => r.error = Some(e.to_string()),
                }
            });
            if first {
                baseline.try_set(newest_live());
            }
        });
    };

    // Text fields wait for a pause in typing; checkboxes, selects and dates apply at once.
    let schedule = move |immediate: bool| {
        keystrokes.update_value(|n| *n += 1);
        let mine = keystrokes.get_value();
        let apply = move || {
            if keystrokes.try_get_value() == Some(mine) {
                applied.set(typed.get_untracked());
            }
        };
        if immediate {
            apply();
        } else {
            set_timeout(apply, DEBOUNCE);
        }
    };
    Effect::new(move |_| {
        applied.track();
        load(true);
    });

    let export = move |format: &'static str| {
        let query = applied.with_untracked(|f| f.query(None, PAGE, utc_offset_minutes()));
        let endpoint = app.endpoint.get_value();
        leptos::task::spawn_local(async move {
            let outcome = match api::export(&endpoint, &query, format).await {
                Ok(bytes) => {
                    let mime = if format == "csv" {
                        "text/csv"
                    } else {
                        "application/x-ndjson"
                    };
                    download(&bytes, &format!("simrelay-messages.{format}"), mime)
                        .map_err(|_| "The browser refused the download.".to_owned())
                }
                Err(e) => Err(e.to_string()),
            };
            export_error.try_set(outcome.err());
        });
    };

    let on_details = Callback::new(move |id: i64| selected.set(Some(id)));
    let on_close = Callback::new(move |()| selected.set(None));
    let on_deleted = Callback::new(move |id: i64| {
        selected.set(None);
        results.update(|r| r.rows.retain(|m| m.id != id));
        app.inbox.update(|i| i.remove(id));
    });
    let needle = Memo::new(move |_| applied.with(|f| f.q.trim().to_owned()));
    // Live messages newer than the list, with the filters that can be checked here (a search or a date range
    // is the server's to answer: those count every new message).
    let new_count = Memo::new(move |_| {
        let top = results.with(|r| {
            (!r.loading || !r.rows.is_empty()).then(|| r.rows.first().map_or(0, |m| m.id))
        });
        let Some(top) = top else {
            return 0;
        };
        let above = top.max(baseline.get());
        applied.with(|f| {
            let (sender, modem) = (f.sender.trim(), f.modem.trim());
            app.inbox.with(|i| {
                i.messages()
                    .iter()
                    .take_while(|m| m.id > above)
                    .filter(|m| sender.is_empty() || m.sender == sender)
                    .filter(|m| modem.is_empty() || m.modem == modem)
                    .filter(|m| !f.has_code || m.code.is_some())
                    .count()
            })
        })
    });
    let showing_calls = Memo::new(move |_| applied.with(|f| f.calls));
    let call_modem = Memo::new(move |_| applied.with(|f| f.modem.trim().to_owned()));
    let show_newest = move |_| {
        load(true);
    };

    view! {
        <section class="screen history" aria-labelledby="history-title">
            <h2 id="history-title">"History"</h2>
            <FilterBar typed=typed schedule=Callback::new(schedule) />
            <Show
                when=move || !showing_calls.get()
                fallback=move || view! { <CallList modem=call_modem /> }
            >
                <div class="list-bar">
                    <p class="result-info" role="status" aria-live="polite">
                        {move || results.with(|r| match (&r.error, r.loading, r.rows.len()) {
                            (Some(e), _, _) => e.clone(),
                            (None, true, 0) => "Loading…".to_owned(),
                            (None, false, 0) => "No messages match.".to_owned(),
                            (None, _, 1) if r.done => "1 message".to_owned(),
                            (None, _, n) => format!("{}{} messages", thousands(n), if r.done { "" } else { "+" }),
                        })}
                    </p>
                    <div class="actions">
                        <button type="button" class="btn" on:click=move |_| export("csv")>"Export CSV"</button>
                        <button type="button" class="btn" on:click=move |_| export("jsonl")>"Export JSONL"</button>
                    </div>
                </div>
                {move || export_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                {move || selected.get().map(|id| view! { <DetailPanel id=id on_close=on_close on_deleted=on_deleted /> })}
                <Show when=move || { new_count.get() > 0 }>
                    <button type="button" class="btn new-messages" on:click=show_newest>
                        {move || match new_count.get() {
                            1 => "1 new message ↑".to_owned(),
                            n => format!("{} new messages ↑", thousands(n)),
                        }}
                    </button>
                </Show>
                <HistoryList
                    results=results
                    viewport=viewport
                    focused=focused
                    needle=needle
                    load=Callback::new(load)
                    on_details=on_details
                />
            </Show>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(50_000), "50,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
