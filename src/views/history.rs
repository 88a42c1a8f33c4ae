//! The History screen: stored messages, newest first, with search, filters and scroll-to-load-more.
//!
//! Pages are fetched with keyset paging (`before` = the oldest id shown), so loading page 100 costs the server
//! the same as page 1. Every change of the filters starts a new "generation"; answers to an older generation are
//! dropped, so a slow reply to an old search can never overwrite the results of the current one.

use std::time::Duration;

use leptos::html::Div;
use leptos::prelude::*;
use simrelay_protocol::Message;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use super::MessageRow;
use crate::api::{self, PageQuery};
use crate::state::AppState;

/// Messages per page.
const PAGE: usize = 50;
/// Quiet time after the last keystroke before a search is sent.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// The filters a page is fetched with.
#[derive(Debug, Clone, Default, PartialEq)]
struct Filters {
    q: String,
    sender: String,
    modem: String,
    has_code: bool,
}

impl Filters {
    fn query(&self, before: Option<i64>) -> PageQuery {
        let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        PageQuery {
            limit: PAGE,
            before,
            q: some(&self.q),
            sender: some(&self.sender),
            modem: some(&self.modem),
            has_code: self.has_code,
        }
    }
}

/// Results and paging state of the current search.
#[derive(Debug, Clone, Default)]
struct Results {
    messages: Vec<Message>,
    loading: bool,
    /// No older page exists (or the server cannot page).
    done: bool,
    error: Option<String>,
    generation: u64,
}

/// Appends `page` to `have`; returns false when the page did not go further back (a server that ignores
/// `before`), which ends paging instead of looping over the same page forever.
fn append_page(have: &mut Vec<Message>, page: Vec<Message>) -> bool {
    let oldest = have.last().map(|m| m.id);
    let mut progressed = false;
    for m in page {
        if oldest.is_none_or(|o| m.id < o) {
            have.push(m);
            progressed = true;
        }
    }
    progressed
}

/// The History screen.
#[component]
pub fn History() -> impl IntoView {
    let app = expect_context::<AppState>();
    let typed = RwSignal::new(Filters::default());
    let applied = RwSignal::new(Filters::default());
    let results = RwSignal::new(Results::default());
    let keystrokes = StoredValue::new(0u64);

    let load = move |fresh: bool| {
        let (generation, before) = {
            let mut stop = false;
            let mut out = (0, None);
            results.update(|r| {
                if fresh {
                    *r = Results {
                        generation: r.generation + 1,
                        ..Default::default()
                    };
                } else if r.loading || r.done {
                    stop = true;
                    return;
                }
                r.loading = true;
                r.error = None;
                out = (r.generation, r.messages.last().map(|m| m.id));
            });
            if stop {
                return;
            }
            out
        };
        let query = applied.with_untracked(|f| f.query(before));
        let endpoint = app.endpoint.get_value();
        leptos::task::spawn_local(async move {
            let answer = api::messages(&endpoint, &query).await;
            results.try_update(|r| {
                if r.generation != generation {
                    return;
                }
                r.loading = false;
                match answer {
                    Ok(page) => {
                        let full = page.len() >= PAGE;
                        let progressed = append_page(&mut r.messages, page);
                        r.done = !full || !progressed;
                    }
                    Err(e) => r.error = Some(e.to_string()),
                }
            });
        });
    };

    // Text fields wait for a pause in typing; the checkbox and modem choice apply at once.
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

    let modem_options = move || {
        app.modems
            .with(|ms| ms.iter().map(|m| m.id.clone()).collect::<Vec<_>>())
    };
    let search_term = move || applied.with(|f| f.q.clone());

    view! {
        <section class="screen history" aria-labelledby="history-title">
            <h2 id="history-title">"History"</h2>
            <form class="filters" role="search" on:submit=move |ev| {
                ev.prevent_default();
                schedule(true);
            }>
                <label class="field grow">
                    <span>"Search"</span>
                    <input
                        type="search"
                        placeholder="Text, sender or code"
                        prop:value=move || typed.with(|f| f.q.clone())
                        on:input=move |ev| {
                            typed.update(|f| f.q = event_target_value(&ev));
                            schedule(false);
                        }
                    />
                </label>
                <label class="field">
                    <span>"Sender"</span>
                    <input
                        type="text"
                        prop:value=move || typed.with(|f| f.sender.clone())
                        on:input=move |ev| {
                            typed.update(|f| f.sender = event_target_value(&ev));
                            schedule(false);
                        }
                    />
                </label>
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
            <p class="result-info" role="status" aria-live="polite">
                {move || results.with(|r| match (&r.error, r.loading, r.messages.len()) {
                    (Some(e), _, _) => e.clone(),
                    (None, true, 0) => "Loading…".to_owned(),
                    (None, false, 0) => "No messages match.".to_owned(),
                    (None, _, 1) => "1 message".to_owned(),
                    (None, _, n) => format!("{n}{} messages", if r.done { "" } else { "+" }),
                })}
            </p>
            <ol class="msg-list" aria-label="Messages">
                <For each=move || results.with(|r| r.messages.clone()) key=|m| m.id let:m>
                    <MessageRow message=m highlight=search_term() />
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

    #[test]
    fn paging_stops_when_the_server_ignores_before() {
        let mut have = vec![msg(9, "a"), msg(8, "b")];
        assert!(append_page(&mut have, vec![msg(7, "c"), msg(6, "d")]));
        assert!(
            !append_page(&mut have, vec![msg(9, "a"), msg(8, "b")]),
            "same page again: no progress"
        );
        assert_eq!(
            have.iter().map(|m| m.id).collect::<Vec<_>>(),
            vec![9, 8, 7, 6]
        );
        let mut empty = Vec::new();
        assert!(append_page(&mut empty, vec![msg(3, "x")]));
    }

    #[test]
    fn filters_become_query_params() {
        let f = Filters {
            q: " otp ".into(),
            sender: String::new(),
            modem: "m1".into(),
            has_code: true,
        };
        let q = f.query(Some(40));
        assert_eq!(
            q.path(),
            "/api/messages?limit=50&before=40&q=otp&modem=m1&has_code=true"
        );
    }
}
