//! History's "Calls" kind: incoming calls, newest first, fetched a page at a time from `GET /api/calls` (its
//! `next_before` cursor passed back as `before`), with the calls announced by `call` frames since the page loaded
//! on top, filtered by modem like messages. Calls are rare (one entry per call, however often it rang), so the
//! list is a plain one, not virtualised. The caller's number is untrusted text and only ever becomes a text node.

use leptos::prelude::*;
use simrelay_protocol::{Call, CallPage, UNKNOWN_CALLER};

use crate::api;
use crate::state::AppState;
use crate::views::TimeAgo;

/// Calls per page (the server allows 500).
const PAGE: u32 = 100;

/// Calls fetched so far and their paging state.
#[derive(Debug, Default)]
pub(crate) struct CallResults {
    /// Newest first.
    pub calls: Vec<Call>,
    /// Cursor of the next older page; `None` when there is none.
    pub next: Option<i64>,
    /// A page is on its way.
    pub loading: bool,
    /// The last page arrived.
    pub done: bool,
    /// Why the last page failed.
    pub error: Option<String>,
    /// Which modem filter these results belong to.
    pub generation: u64,
}

impl CallResults {
    /// Adds an older page. A page that does not go further back (a server ignoring `before`) ends paging
    /// instead of fetching the same page forever.
    pub fn append(&mut self, page: CallPage) {
        let oldest = self.calls.last().map(|c| c.id);
        let before = self.calls.len();
        self.calls.extend(
            page.calls
                .into_iter()
                .filter(|c| oldest.is_none_or(|o| c.id < o)),
        );
        self.next = page.next_before;
        self.done = page.next_before.is_none() || self.calls.len() == before;
    }

    /// Empties the results for another filter, whose answers alone are taken from now on.
    pub fn restart(&mut self) {
        *self = CallResults {
            generation: self.generation + 1,
            ..Default::default()
        };
    }
}

/// What a call entry says: "Call from +49…", "Rejected call from unknown caller".
pub(crate) fn call_title(call: &Call) -> String {
    let who = if call.from.trim().is_empty() || call.from == UNKNOWN_CALLER {
        "unknown caller"
    } else {
        call.from.as_str()
    };
    if call.rejected {
        format!("Rejected call from {who}")
    } else {
        format!("Call from {who}")
    }
}

/// The calls to list: those announced live (newest first) on `modem` (empty: every modem), then those
/// fetched, each once, newest first.
pub(crate) fn shown(live: &[Call], fetched: &[Call], modem: &str) -> Vec<Call> {
    let mut all: Vec<Call> = live
        .iter()
        .filter(|c| modem.is_empty() || c.modem == modem)
        .chain(fetched)
        .cloned()
        .collect();
    all.sort_by_key(|c| std::cmp::Reverse(c.id));
    all.dedup_by_key(|c| c.id);
    all
}

/// The calls of `modem` (empty: every modem), fetched from the server.
#[component]
pub(super) fn CallList(
    /// The modem filter.
    modem: Memo<String>,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let results = RwSignal::new(CallResults::default());
    let load = move |fresh: bool| {
        let mut request = None;
        results.update(|r| {
            if fresh {
                r.restart();
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
        let endpoint = app.endpoint.get_value();
        let modem = modem.get_untracked();
        leptos::task::spawn_local(async move {
            let answer = api::calls(&endpoint, Some(&modem), PAGE, before).await;
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
    Effect::new(move |_| {
        modem.track();
        load(true);
    });
    view! { <CallEntries results=results modem=modem.into() load=Callback::new(load) /> }
}

/// The list of `results` and of the live calls on `modem`; `load(false)` fetches the next older page.
#[component]
pub(crate) fn CallEntries(
    /// Everything fetched.
    results: RwSignal<CallResults>,
    /// The modem filter (empty: every modem).
    modem: Signal<String>,
    /// Fetches the next older page.
    load: Callback<bool>,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let calls = Memo::new(move |_| {
        let modem = modem.get();
        let live = app.calls.get();
        results.with(|r| shown(&live, &r.calls, modem.trim()))
    });
    view! {
        <p class="result-info" role="status" aria-live="polite">
            {move || {
                let n = calls.with(Vec::len);
                results.with(|r| match (&r.error, r.loading, n) {
                    (Some(e), _, _) => e.clone(),
                    (None, true, 0) => "Loading…".to_owned(),
                    (None, false, 0) => "No calls.".to_owned(),
                    (None, _, 1) if r.done => "1 call".to_owned(),
                    (None, _, n) => format!("{n}{} calls", if r.done { "" } else { "+" }),
                })
            }}
        </p>
        <ol class="call-list msg-list" role="feed" aria-label="Calls">
            <For each=move || calls.get() key=|c| c.id let:call>
                <li class="msg call-entry" data-id=call.id.to_string() class:rejected=call.rejected>
                    <div class="msg-head">
                        <span class="call-title">{call_title(&call)}</span>
                        <span class="modem" title="Modem">{call.modem.clone()}</span>
                        <TimeAgo received=call.at sent=call.at />
                    </div>
                </li>
            </For>
        </ol>
        <div class="sentinel">
            {move || {
                let (loading, done, failed, empty) = results
                    .with(|r| (r.loading, r.done, r.error.is_some(), r.calls.is_empty()));
                if failed || (!done && !loading && !empty) {
                    view! {
                        <button type="button" class="btn" on:click=move |_| load.run(false)>"Load older"</button>
                    }
                        .into_any()
                } else if loading && !empty {
                    view! { <span class="hint">"Loading older calls…"</span> }.into_any()
                } else if done && !empty {
                    view! { <span class="hint list-end">"No older calls"</span> }.into_any()
                } else {
                    ().into_any()
                }
            }}
        </div>
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn call(id: i64, modem: &str, from: &str) -> Call {
        Call {
            id,
            modem: modem.into(),
            from: from.into(),
            at: chrono::DateTime::parse_from_rfc3339("2026-12-07T18:00:00+01:00").expect("date"),
            rejected: false,
        }
    }

    #[test]
    fn a_call_says_who_called_and_whether_it_was_rejected() {
        assert_eq!(
            call_title(&call(1, "m", "+4915112345678")),
            "Call from +4915112345678"
        );
        assert_eq!(
            call_title(&call(1, "m", UNKNOWN_CALLER)),
            "Call from unknown caller"
        );
        let mut rejected = call(1, "m", "+4915112345678");
        rejected.rejected = true;
        assert_eq!(call_title(&rejected), "Rejected call from +4915112345678");
    }

    #[test]
    fn paging_follows_the_cursor_and_stops_without_progress() {
        let mut r = CallResults::default();
        let page = |ids: &[i64], next| CallPage {
            calls: ids.iter().map(|&i| call(i, "m", "+1")).collect(),
            next_before: next,
        };
        r.append(page(&[9, 8], Some(8)));
        assert_eq!((r.next, r.done), (Some(8), false));
        r.append(page(&[9, 8], Some(8)));
        assert!(r.done, "the same page again ends paging");
        let mut r = CallResults::default();
        r.append(page(&[9, 8], Some(8)));
        r.append(page(&[7], None));
        assert!(r.done);
        assert_eq!(r.calls.iter().map(|c| c.id).collect::<Vec<_>>(), [9, 8, 7]);
    }

    #[test]
    fn live_calls_come_first_once_and_only_on_the_chosen_modem() {
        let live = [
            call(12, "b", "+2"),
            call(11, "a", "+1"),
            call(10, "a", "+1"),
        ];
        let fetched = [call(10, "a", "+1"), call(4, "a", "+3")];
        let ids = |v: Vec<Call>| v.into_iter().map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(ids(shown(&live, &fetched, "a")), [11, 10, 4]);
        assert_eq!(ids(shown(&live, &fetched, "")), [12, 11, 10, 4]);
    }
}
