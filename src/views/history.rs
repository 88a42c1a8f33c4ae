//! The History screen: stored messages, newest first, with search, filters, details, delete and export.
//!
//! Pages are fetched with keyset paging (the server's `next` cursor is passed back as `before`), so loading page
//! 100 costs the server the same as page 1; a sentinel under the list loads the next page when it scrolls into
//! view. Every change of the filters starts a new "generation"; answers to an older generation are dropped, so a
//! slow reply to an old search can never overwrite the results of the current one.

use std::time::Duration;

use leptos::html::Div;
use leptos::prelude::*;
use simrelay_protocol::Message;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use super::MessageRow;
use crate::api::{self, Detail, Page, PageQuery};
use crate::highlight;
use crate::reltime;
use crate::state::AppState;

/// Messages per page.
const PAGE: usize = 50;
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
    fn query(&self, before: Option<i64>, utc_offset_minutes: i32) -> PageQuery {
        let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        PageQuery {
            limit: PAGE,
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
#[derive(Debug, Clone, Default)]
struct Results {
    messages: Vec<Message>,
    /// Search-match ranges by message id, from the server.
    highlights: std::collections::BTreeMap<i64, Vec<[usize; 2]>>,
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
    fn append(&mut self, page: Page) {
        let oldest = self.messages.last().map(|m| m.id);
        let mut progressed = false;
        for m in page.messages {
            if oldest.is_none_or(|o| m.id < o) {
                self.messages.push(m);
                progressed = true;
            }
        }
        self.highlights.extend(page.highlights);
        self.next = page.next.or_else(|| self.messages.last().map(|m| m.id));
        self.done = page.next.is_none() || !progressed;
    }
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
    let fields = move |d: Detail| {
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
    view! {
        <section class="card detail" role="region" aria-label=format!("Details of message {id}")>
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

    let load = move |fresh: bool| {
        let mut request = None;
        results.update(|r| {
            if fresh {
                *r = Results {
                    generation: r.generation + 1,
                    ..Default::default()
                };
            } else if r.loading || r.done {
                return;
            }
            r.loading = true;
            r.error = None;
            request = Some((r.generation, r.next));
        });
        let Some((generation, before)) = request else {
            return;
        };
        let query = applied.with_untracked(|f| f.query(before, utc_offset_minutes()));
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

    // Load the next page when the sentinel under the list scrolls into view.
    let sentinel = NodeRef::<Div>::new();
    Effect::new(move |_| {
        let Some(el) = sentinel.get() else { return };
        let callback = Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
            let visible = entries
                .iter()
                .filter_map(|e| e.dyn_into::<web_sys::IntersectionObserverEntry>().ok())
                .any(|e| e.is_intersecting());
            if visible {
                load(false);
            }
        });
        if let Ok(observer) = web_sys::IntersectionObserver::new(callback.as_ref().unchecked_ref())
        {
            observer.observe(&el);
            let observer = send_wrapper::SendWrapper::new(observer);
            on_cleanup(move || observer.disconnect());
        }
        // The observer holds the callback for as long as the element lives.
        callback.forget();
    });

    let export = move |format: &'static str| {
        let query = applied.with_untracked(|f| f.query(None, utc_offset_minutes()));
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
        results.update(|r| r.messages.retain(|m| m.id != id));
        app.inbox.update(|i| i.remove(id));
    });

    let modem_options = move || {
        app.modems
            .with(|ms| ms.iter().map(|m| m.id.clone()).collect::<Vec<_>>())
    };
    let rows = move || {
        let needle = applied.with(|f| f.q.trim().to_owned());
        results.with(|r| {
            r.messages
                .iter()
                .map(|m| {
                    let matches = if needle.is_empty() {
                        None
                    } else if let Some(ranges) = r.highlights.get(&m.id) {
                        Some(highlight::split_ranges(&m.text, ranges))
                    } else {
                        Some(highlight::split_matches(&m.text, &needle))
                    };
                    (m.clone(), matches)
                })
                .collect::<Vec<_>>()
        })
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
                    {move || results.with(|r| match (&r.error, r.loading, r.messages.len()) {
                        (Some(e), _, _) => e.clone(),
                        (None, true, 0) => "Loading…".to_owned(),
                        (None, false, 0) => "No messages match.".to_owned(),
                        (None, _, 1) => "1 message".to_owned(),
                        (None, _, n) => format!("{n}{} messages", if r.done { "" } else { "+" }),
                    })}
                </p>
                <div class="actions">
                    <button type="button" class="btn" on:click=move |_| export("csv")>"Export CSV"</button>
                    <button type="button" class="btn" on:click=move |_| export("jsonl")>"Export JSONL"</button>
                </div>
            </div>
            {move || export_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || selected.get().map(|id| view! { <DetailPanel id=id on_close=on_close on_deleted=on_deleted /> })}
            <ol class="msg-list history-list" aria-label="Messages">
                <For each=rows key=|(m, matches)| (m.id, matches.is_some()) let:row>
                    <MessageRow message=row.0 matches=row.1 on_details=on_details />
                </For>
            </ol>
            <div node_ref=sentinel class="sentinel">
                <Show when=move || results.with(|r| !r.done && !r.messages.is_empty())>
                    <button type="button" class="btn" on:click=move |_| load(false)>
                        {move || if results.with(|r| r.loading) { "Loading…" } else { "Load older" }}
                    </button>
                </Show>
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::tests::msg;

    fn page(ids: &[i64], next: Option<i64>) -> Page {
        Page {
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
            r.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
            vec![9, 8, 7, 6]
        );
    }

    #[test]
    fn paging_stops_when_the_server_ignores_before() {
        let mut r = Results::default();
        r.append(page(&[9, 8], Some(8)));
        r.append(page(&[9, 8], Some(8)));
        assert!(r.done, "same page again: no progress, no endless loop");
        assert_eq!(r.messages.len(), 2);
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
        let q = f.query(Some(40), 0);
        assert_eq!(
            q.path(),
            "/api/messages?limit=50&before=40&q=otp&modem=m1&since=2026-11-01T00%3A00%3A00.000%2B00%3A00&has_code=true"
        );
    }
}
