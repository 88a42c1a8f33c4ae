//! The History list: every fetched message in compact form ([`Results`]), and the virtualised list that shows the
//! rows under the viewport ([`super::window`]), one [`HistoryRow`] each, moved through with the keyboard.

use leptos::html::Div;
use leptos::prelude::*;
use simrelay_protocol::MessagePage;
use wasm_bindgen::JsCast;

use super::rows::{Interner, Row};
use super::window::{self, Window, OVERSCAN, PREFETCH_ROWS, ROW_HEIGHT};
use crate::highlight;
use crate::views::code_actions::CodeOriginLabel;
use crate::views::{CopyCode, Flags, MessageText, TimeAgo};

/// Results and paging state of the current search.
#[derive(Debug, Default)]
pub(super) struct Results {
    /// Every message fetched so far, newest first, in compact form.
    pub rows: Vec<Row>,
    names: Interner,
    /// Cursor of the next page; `None` when there is none.
    pub next: Option<i64>,
    /// A page is on its way.
    pub loading: bool,
    /// True once the last page arrived.
    pub done: bool,
    /// Why the last page failed.
    pub error: Option<String>,
    /// Which search these results belong to.
    pub generation: u64,
}

impl Results {
    /// Adds a page. A page that does not go further back (a server that ignores `before`) ends paging instead
    /// of looping over the same page forever.
    pub fn append(&mut self, page: MessagePage) {
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

    /// Empties the results for a new search, whose answers alone are taken from now on.
    pub fn restart(&mut self) {
        *self = Results {
            generation: self.generation + 1,
            ..Default::default()
        };
    }

    /// Index of the row with `id` (rows are sorted by id, descending).
    pub fn index_of(&self, id: i64) -> Option<usize> {
        self.rows.binary_search_by(|r| id.cmp(&r.id)).ok()
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
                <CodeOriginLabel message=message.clone() />
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

/// The virtualised list of `results`, in `viewport`. `load(false)` fetches the next older page.
#[component]
pub(super) fn HistoryList(
    /// Everything fetched.
    results: RwSignal<Results>,
    /// The scrolling element.
    viewport: NodeRef<Div>,
    /// The row holding the focus: it stays rendered wherever the list is scrolled, so the focus is never lost.
    focused: RwSignal<Option<i64>>,
    /// The search words typed, for highlighting.
    needle: Memo<String>,
    /// Fetches a page: the first of a new search (`true`) or the next older one.
    load: Callback<bool>,
    /// Opens a message's details.
    on_details: Callback<i64>,
) -> impl IntoView {
    // The rows under the viewport, from the last animation frame's scrollTop.
    let span = RwSignal::new(Window::for_scroll(0.0, 900.0, ROW_HEIGHT, OVERSCAN));
    let frame_pending = StoredValue::new(false);
    let retry = move || {
        results.update(|r| r.error = None);
        load.run(false);
    };
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
            load.run(false);
        }
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
    view! {
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
                        <button type="button" class="btn" on:click=move |_| load.run(false)>"Load older"</button>
                    }
                        .into_any()
                } else {
                    ().into_any()
                }
            }}
        </div>
    </div>
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
}
