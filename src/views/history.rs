//! The History screen: stored messages, newest first, with search, filters, details, delete and export.
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

mod rows;
pub(crate) mod window;

use std::time::Duration;

use leptos::html::Div;
use leptos::prelude::*;
use simrelay_protocol::{MessageDetail, MessagePage};
use wasm_bindgen::JsCast;

use self::rows::{Interner, Row};
use self::window::{Window, OVERSCAN, PREFETCH_ROWS, ROW_HEIGHT};
use super::{CopyCode, Flags, MessageText, TimeAgo};
use crate::api::{self, PageQuery};
use crate::highlight;
use crate::reltime;
use crate::state::AppState;

/// Messages in the first page: enough to fill a tall screen quickly.
const FIRST_PAGE: usize = 100;
/// Messages per later page (the server allows 500): fewer round trips on the way to row 100,000.
const PAGE: usize = 500;
/// Quiet time after the last keystroke before a search is sent.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// The filters a page is fetched with, as typed.
#[derive(Debug, Clone, Default, PartialEq)]
struct Filters {
    q: String,
    sender: String,
    modem: String,
    has_code: bool,
    /// `YYYY-MM-DD` from the date inputs, in the browser's time zone.
    from: String,
    to: String,
}

impl Filters {
    fn query(&self, before: Option<i64>, limit: usize, utc_offset_minutes: i32) -> PageQuery {
        let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        PageQuery {
            limit,
            before,
            q: some(&self.q),
            sender: some(&self.sender),
            modem: some(&self.modem),
            has_code: self.has_code,
            since: reltime::day_bound(&self.from, utc_offset_minutes, false),
            until: reltime::day_bound(&self.to, utc_offset_minutes, true),
        }
    }
}

/// Results and paging state of the current search.
#[derive(Debug, Default)]
struct Results {
    /// Every message fetched so far, newest first, in compact form.
    rows: Vec<Row>,
    names: Interner,
    /// Cursor of the next page; `None` when there is none.
    next: Option<i64>,
    loading: bool,
    /// True once the last page arrived.
    done: bool,
    error: Option<String>,
    generation: u64,
}

impl Results {
    /// Adds a page. A page that does not go further back (a server that ignores `before`) ends paging instead
    /// of looping over the same page forever.
    fn append(&mut self, page: MessagePage) {
        let MessagePage {
            messages,
            next,
            mut highlights,
        } = page;
        let oldest = self.rows.last().map(|m| m.id);
        let mut progressed = false;
        for m in messages {
            if oldest.is_none_or(|o| m.id < o) {
                let matches = highlights.remove(&m.id);
                self.rows.push(Row::new(m, matches, &mut self.names));
                progressed = true;
            }
        }
        self.next = next.or_else(|| self.rows.last().map(|m| m.id));
        self.done = next.is_none() || !progressed;
    }

    /// Index of the row with `id` (rows are sorted by id, descending).
    fn index_of(&self, id: i64) -> Option<usize> {
        self.rows.binary_search_by(|r| id.cmp(&r.id)).ok()
    }
}

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

/// The detail panel of one message: every field, raw PDUs, delete.
#[component]
fn DetailPanel(
    /// The message id shown.
    id: i64,
    /// Closes the panel.
    on_close: Callback<()>,
    /// Called after the message was deleted on the server.
    on_deleted: Callback<i64>,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let detail = LocalResource::new(move || {
        let endpoint = app.endpoint.get_value();
        async move { api::message(&endpoint, id).await }
    });
    let error = RwSignal::new(None::<String>);
    let delete = move |_| {
        let confirmed = window()
            .confirm_with_message("Delete this message from SimRelay? This cannot be undone.");
        if !confirmed.unwrap_or(false) {
            return;
        }
        let endpoint = app.endpoint.get_value();
        leptos::task::spawn_local(async move {
            match api::delete(&endpoint, id).await {
                Ok(()) => on_deleted.run(id),
                Err(e) => _ = error.try_set(Some(e.to_string())),
            }
        });
    };
    let fields = move |d: MessageDetail| {
        let m = d.message;
        let rows = [
            ("Id", m.id.to_string()),
            ("Sender", m.sender),
            ("Modem", m.modem),
            ("Code", m.code.unwrap_or_else(|| "none".into())),
            ("Sent (network time)", reltime::exact(&m.sent_at)),
            ("Received", reltime::exact(&m.received_at)),
            ("Encoding", m.encoding.unwrap_or_else(|| "unknown".into())),
            ("Parts", d.pdus.len().to_string()),
            (
                "Complete",
                if m.incomplete {
                    "no: parts are missing".into()
                } else {
                    "yes".into()
                },
            ),
        ];
        view! {
            <dl class="facts">
                {rows.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                {m.decode_error.map(|e| view! { <dt>"Decode error"</dt><dd>{e}</dd> })}
            </dl>
            <h4>"Text"</h4>
            <p class="msg-text">{m.text}</p>
            <h4>"Raw PDUs"</h4>
            <ol class="pdus">
                {d.pdus.into_iter().map(|p| view! { <li><code>{p}</code></li> }).collect_view()}
            </ol>
        }
    };
    // Opened from the keyboard (Enter on a row) or a notification, the panel takes the focus and comes into view,
    // so the next Tab is inside it; on a phone it may open above the visible part of the list.
    let panel = NodeRef::<leptos::html::Section>::new();
    Effect::new(move |_| {
        if let Some(el) = panel.get() {
            el.scroll_into_view_with_bool(true);
            let _ = el.focus();
        }
    });
    view! {
        <section
            node_ref=panel
            class="card detail"
            role="region"
            tabindex="-1"
            aria-label=format!("Details of message {id}")
        >
            <div class="detail-head">
                <h3>"Message details"</h3>
                <button type="button" class="btn" on:click=move |_| on_close.run(())>"Close"</button>
            </div>
            {move || match detail.get() {
                None => view! { <p>"Loading…"</p> }.into_any(),
                Some(Ok(d)) => fields(d).into_any(),
                Some(Err(e)) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
            }}
            <div class="actions">
                <button type="button" class="btn btn-danger" on:click=delete>"Delete"</button>
                <span class="error" role="alert">{move || error.get()}</span>
            </div>
        </section>
    }
}

/// One message on its own (`#/message/<id>`): what a click on a desktop notification opens.
#[component]
pub fn MessageScreen(
    /// The message id.
    id: i64,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let back = move || {
        let _ = location().set_hash("#/history");
    };
    let on_close = Callback::new(move |()| back());
    let on_deleted = Callback::new(move |id: i64| {
        app.inbox.update(|i| i.remove(id));
        back();
    });
    view! {
        <section class="screen message" aria-labelledby="message-title">
            <h2 id="message-title">"Message"</h2>
            <DetailPanel id=id on_close=on_close on_deleted=on_deleted />
        </section>
    }
}

/// One row of the History list, absolutely placed at its index (see [`window`]).
#[component]
fn HistoryRow(
    /// The message.
    row: Row,
    /// Its position in the list (0 = newest).
    index: usize,
    /// `aria-setsize`: the number of rows, or -1 while older pages remain.
    setsize: Signal<i64>,
    /// The search words typed, for highlighting when the server sent no match ranges.
    needle: String,
    /// Called with the message id to open its details.
    on_details: Callback<i64>,
    /// Arrow keys, Home and End on the row: move the focus to the row at this index.
    on_move: Callback<(usize, &'static str)>,
    /// The row got or lost the focus (`Some(id)` / `None`).
    on_focus: Callback<Option<i64>>,
) -> impl IntoView {
    let id = row.id;
    let message = row.message();
    let body = if needle.is_empty() {
        view! { <MessageText text=message.text.clone() span=message.code_span /> }.into_any()
    } else {
        let pieces = match &row.matches {
            Some(ranges) => {
                let ranges: Vec<[usize; 2]> = ranges
                    .iter()
                    .map(|&[a, b]| [a as usize, b as usize])
                    .collect();
                highlight::split_ranges(&row.preview, &ranges)
            }
            None => highlight::split_matches(&row.preview, &needle),
        };
        pieces
            .into_iter()
            .map(|(hit, s)| {
                if hit {
                    view! { <mark class="search-hl">{s}</mark> }.into_any()
                } else {
                    s.into_any()
                }
            })
            .collect_view()
            .into_any()
    };
    let on_keydown = move |ev: web_sys::KeyboardEvent| {
        // Keys pressed on the buttons inside the row keep their own meaning.
        if ev.target() != ev.current_target() {
            return;
        }
        match ev.key().as_str() {
            "Enter" => on_details.run(id),
            "ArrowDown" => on_move.run((index, "ArrowDown")),
            "ArrowUp" => on_move.run((index, "ArrowUp")),
            "Home" => on_move.run((index, "Home")),
            "End" => on_move.run((index, "End")),
            _ => return,
        }
        ev.prevent_default();
    };
    let on_focusout = move |ev: web_sys::FocusEvent| {
        let row: Option<web_sys::Node> = ev.current_target().and_then(|t| t.dyn_into().ok());
        let to: Option<web_sys::Node> = ev.related_target().and_then(|t| t.dyn_into().ok());
        let inside = matches!((row, to), (Some(row), Some(to)) if row.contains(Some(&to)));
        if !inside {
            on_focus.run(None);
        }
    };
    view! {
        <article
            class="msg hrow"
            tabindex="0"
            data-id=id.to_string()
            aria-posinset=(index + 1).to_string()
            aria-setsize=move || setsize.get().to_string()
            style:top=format!("{}px", window::row_top(index, window::ROW_HEIGHT))
            on:keydown=on_keydown
            on:focusin=move |_| on_focus.run(Some(id))
            on:focusout=on_focusout
        >
            <div class="msg-head">
                {row.code.as_deref().map(|c| view! { <CopyCode code=c.to_owned() /> })}
                <span class="sender">{row.sender.to_string()}</span>
                <span class="modem" title="Modem">{row.modem.to_string()}</span>
                <Flags message=message.clone() />
                <TimeAgo received=row.received_at sent=row.sent_at />
                <button type="button" class="link-btn details" tabindex="-1" on:click=move |_| on_details.run(id)>
                    "Details"
                </button>
            </div>
            <p class="msg-text hrow-text">{body}</p>
        </article>
    }
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
    // The rows under the viewport, from the last animation frame's scrollTop.
    let span = RwSignal::new(Window::for_scroll(0.0, 900.0, ROW_HEIGHT, OVERSCAN));
    let frame_pending = StoredValue::new(false);
    // The row holding the focus stays rendered wherever the list is scrolled, so the focus is never lost.
    let focused = RwSignal::new(None::<i64>);
    // Newest message id the inbox knew when the current list was fetched: live messages above it are counted
    // in "N new messages" instead of being pushed into the list under the reader's eyes.
    let baseline = RwSignal::new(0i64);

    let newest_live = move || app.inbox.with_untracked(|i| i.newest().map_or(0, |m| m.id));
    let load = move |fresh: bool| {
        let mut request = None;
        results.update(|r| {
            if fresh {
                *r = Results {
                    generation: r.generation + 1,
                    ..Default::default()
                };
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
    let retry = move || {
        results.update(|r| r.error = None);
        load(false);
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

    // scrollTop and the viewport height are read once per animation frame, never in between DOM writes.
    // The frame may come after the screen was left: every access below tolerates a disposed value.
    let measure = move || {
        frame_pending.try_update_value(|p| *p = false);
        let Some(Some(el)) = viewport.try_get_untracked() else {
            return;
        };
        let now = Window::for_scroll(
            f64::from(el.scroll_top()),
            f64::from(el.client_height()),
            ROW_HEIGHT,
            OVERSCAN,
        );
        if span.try_get_untracked().is_some_and(|w| w != now) {
            span.try_set(now);
        }
    };
    let on_scroll = move |_| {
        if frame_pending.try_get_value() == Some(false) {
            frame_pending.set_value(true);
            request_animation_frame(measure);
        }
    };
    Effect::new(move |_| {
        if viewport.get().is_some() {
            request_animation_frame(measure);
        }
    });
    let resize = window_event_listener(leptos::ev::resize, move |_| on_scroll(()));
    on_cleanup(move || resize.remove());

    // Fetch older pages as the window nears the last row held.
    Effect::new(move |_| {
        let w = span.get();
        let wanted = results.with(|r| {
            !r.loading && !r.done && r.error.is_none() && w.wants_more(r.rows.len(), PREFETCH_ROWS)
        });
        if wanted {
            load(false);
        }
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
    let on_focus = Callback::new(move |id: Option<i64>| focused.set(id));
    // Moves the focus to another row: scroll it into view, keep it rendered, then focus it once it exists.
    let on_move = Callback::new(move |(from, key): (usize, &'static str)| {
        let (len, target_id, target) = results.with_untracked(|r| {
            let last = r.rows.len().saturating_sub(1);
            let to = match key {
                "ArrowDown" => (from + 1).min(last),
                "ArrowUp" => from.saturating_sub(1),
                "Home" => 0,
                _ => last,
            };
            (r.rows.len(), r.rows.get(to).map(|m| m.id), to)
        });
        let (Some(el), Some(id)) = (viewport.get_untracked(), target_id) else {
            return;
        };
        if len == 0 {
            return;
        }
        if let Some(top) = window::reveal(
            target,
            f64::from(el.scroll_top()),
            f64::from(el.client_height()),
            ROW_HEIGHT,
        ) {
            el.set_scroll_top(top.round() as i32);
        }
        focused.set(Some(id));
        on_scroll(());
        // Runs after the frame that renders the row.
        request_animation_frame(move || {
            request_animation_frame(move || {
                let Some(Some(el)) = viewport.try_get_untracked() else {
                    return;
                };
                if let Ok(Some(row)) = el.query_selector(&format!("article[data-id=\"{id}\"]")) {
                    if let Ok(row) = row.dyn_into::<web_sys::HtmlElement>() {
                        let _ = row.focus();
                    }
                }
            });
        });
    });

    let setsize =
        Signal::derive(move || results.with(|r| if r.done { r.rows.len() as i64 } else { -1 }));
    let needle = Memo::new(move |_| applied.with(|f| f.q.trim().to_owned()));
    // The rows to render: the window, plus the focused row wherever it is.
    let shown = Memo::new(move |_| {
        let w = span.get();
        let focus = focused.get();
        results.with(|r| {
            let w = w.clamp(r.rows.len());
            let mut rows: Vec<(u64, usize, Row)> = (w.start..w.end)
                .map(|i| (r.generation, i, r.rows[i].clone()))
                .collect();
            if let Some(i) = focus.and_then(|id| r.index_of(id)) {
                if !(w.start..w.end).contains(&i) {
                    rows.push((r.generation, i, r.rows[i].clone()));
                }
            }
            rows
        })
    });
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
    let show_newest = move |_| {
        load(true);
    };

    let modem_options = move || {
        app.modems
            .with(|ms| ms.iter().map(|m| m.id.clone()).collect::<Vec<_>>())
    };

    let text_input = move |label: &'static str,
                           kind: &'static str,
                           get: fn(&Filters) -> String,
                           set: fn(&mut Filters, String)| {
        view! {
            <label class=if kind == "search" { "field grow" } else { "field" }>
                <span>{label}</span>
                <input
                    type=kind
                    prop:value=move || typed.with(get)
                    on:input=move |ev| {
                        typed.update(|f| set(f, event_target_value(&ev)));
                        schedule(kind != "date");
                    }
                />
            </label>
        }
    };

    view! {
        <section class="screen history" aria-labelledby="history-title">
            <h2 id="history-title">"History"</h2>
            <form class="filters" role="search" on:submit=move |ev| {
                ev.prevent_default();
                schedule(true);
            }>
                {text_input("Search", "search", |f| f.q.clone(), |f, v| f.q = v)}
                {text_input("Sender", "text", |f| f.sender.clone(), |f, v| f.sender = v)}
                <label class="field">
                    <span>"Modem"</span>
                    <select on:change=move |ev| {
                        typed.update(|f| f.modem = event_target_value(&ev));
                        schedule(true);
                    }>
                        <option value="">"All"</option>
                        <For each=modem_options key=|m| m.clone() let:m>
                            <option value=m.clone()>{m.clone()}</option>
                        </For>
                    </select>
                </label>
                {text_input("From", "date", |f| f.from.clone(), |f, v| f.from = v)}
                {text_input("To", "date", |f| f.to.clone(), |f, v| f.to = v)}
                <label class="check inline">
                    <input
                        type="checkbox"
                        on:change=move |ev| {
                            typed.update(|f| f.has_code = event_target_checked(&ev));
                            schedule(true);
                        }
                    />
                    <span>"Has code"</span>
                </label>
            </form>
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
            <div node_ref=viewport class="history-viewport" on:scroll=move |_| on_scroll(())>
                <div
                    class="history-canvas history-list"
                    role="feed"
                    aria-label="Messages"
                    aria-busy=move || results.with(|r| r.loading).to_string()
                    data-row-height=ROW_HEIGHT.to_string()
                    style:height=move || {
                        format!("{}px", window::list_height(results.with(|r| r.rows.len()), ROW_HEIGHT))
                    }
                >
                    <For each=move || shown.get() key=|(g, i, row)| (*g, *i, row.id) let:item>
                        <HistoryRow
                            row=item.2
                            index=item.1
                            setsize=setsize
                            needle=needle.get_untracked()
                            on_details=on_details
                            on_move=on_move
                            on_focus=on_focus
                        />
                    </For>
                </div>
                <div class="sentinel">
                    {move || {
                        let (loading, done, empty, failed) = results
                            .with(|r| (r.loading, r.done, r.rows.is_empty(), r.error.is_some()));
                        if failed {
                            view! {
                                <button type="button" class="btn" on:click=move |_| retry()>"Retry"</button>
                            }
                                .into_any()
                        } else if loading && !empty {
                            view! { <span class="hint">"Loading older messages…"</span> }.into_any()
                        } else if done && !empty {
                            view! { <span class="hint list-end">"No older messages"</span> }.into_any()
                        } else if !empty {
                            view! {
                                <button type="button" class="btn" on:click=move |_| load(false)>"Load older"</button>
                            }
                                .into_any()
                        } else {
                            ().into_any()
                        }
                    }}
                </div>
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::tests::msg;

    fn page(ids: &[i64], next: Option<i64>) -> MessagePage {
        MessagePage {
            messages: ids.iter().map(|&i| msg(i, "x")).collect(),
            next,
            ..Default::default()
        }
    }

    #[test]
    fn paging_follows_the_cursor_and_stops() {
        let mut r = Results::default();
        r.append(page(&[9, 8], Some(8)));
        assert_eq!((r.next, r.done), (Some(8), false));
        r.append(page(&[7, 6], None));
        assert!(r.done, "no cursor: last page");
        assert_eq!(
            r.rows.iter().map(|m| m.id).collect::<Vec<_>>(),
            vec![9, 8, 7, 6]
        );
    }

    #[test]
    fn paging_stops_when_the_server_ignores_before() {
        let mut r = Results::default();
        r.append(page(&[9, 8], Some(8)));
        r.append(page(&[9, 8], Some(8)));
        assert!(r.done, "same page again: no progress, no endless loop");
        assert_eq!(r.rows.len(), 2);
    }

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(50_000), "50,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn filters_become_query_params() {
        let f = Filters {
            q: " otp ".into(),
            modem: "m1".into(),
            has_code: true,
            from: "2026-11-01".into(),
            ..Default::default()
        };
        let q = f.query(Some(40), 50, 0);
        assert_eq!(
            q.path(),
            "/api/messages?limit=50&before=40&q=otp&modem=m1&since=2026-11-01T00%3A00%3A00.000%2B00%3A00&has_code=true"
        );
    }
}
