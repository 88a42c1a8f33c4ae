//! One conversation, like a phone shows it: received messages on the left, sent ones on the right with their
//! delivery status, oldest at the top; codes highlighted with a copy button; a search within the thread; and a
//! reply box that sends through the modem or source the conversation came in on.
//!
//! The newest page is fetched on arrival, after a reply and after the WebSocket reconnects; older pages come
//! with "Load older" (keyset cursor). In between the thread follows the WebSocket without refetching: a message
//! from the correspondent (the app's inbox) and a message sent to them from any client (the outbox's recent
//! `sent` frames) join it as they come, and a sent message's status moves on with its frames. Entries are kept
//! once each, in order ([`model::Thread`]). Opening the thread, and a message arriving while it is on screen,
//! marks it read. Replies go through [`AppState::send`], the send path Compose uses too.
//!
//! Keyboard: everything is reachable with Tab; Ctrl+Enter (or ⌘+Enter) in the reply box sends, Escape outside a
//! text field goes back to the list.

use std::time::Duration;

use leptos::ev::{KeyboardEvent, SubmitEvent};
use leptos::prelude::*;
use simrelay_protocol::{Message, SentMessage, ThreadEntry};

use super::model::{self, Thread};
use crate::api;
use crate::connection::ConnState;
use crate::highlight::split_ranges;
use crate::sms_len::normalise_e164;
use crate::state::AppState;
use crate::views::code_actions::CodeOriginLabel;
use crate::views::{CopyCode, MessageText, TimeAgo};

/// Quiet time after the last keystroke before a search is sent.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// A thread's search: the words, and what matched them.
#[derive(Clone, Default, PartialEq)]
struct Search {
    words: Vec<String>,
    found: Thread,
}

/// One conversation with `peer`.
#[component]
pub fn ThreadView(
    /// The correspondent.
    peer: String,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let peer = StoredValue::new(peer);
    let thread = RwSignal::new(Thread::default());
    let older = RwSignal::new(None::<String>);
    let loaded = RwSignal::new(false);
    let loading_older = RwSignal::new(false);
    let reply_from = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let search = RwSignal::new(None::<Search>);
    let typed = RwSignal::new(String::new());
    let keystrokes = StoredValue::new(0u64);

    let mark_read = move || {
        if document().hidden() {
            return;
        }
        let endpoint = app.endpoint.get_value();
        leptos::task::spawn_local(async move {
            let _ = api::mark_read(&endpoint, &peer.get_value()).await;
        });
    };
    let refresh = move || {
        let endpoint = app.endpoint.get_value();
        leptos::task::spawn_local(async move {
            match api::thread(&endpoint, &peer.get_value(), None, None).await {
                Ok(page) => {
                    let first = !loaded.get_untracked();
                    thread.try_update(|t| t.merge(page.entries));
                    reply_from.try_set(page.reply_from);
                    if first {
                        older.try_set(page.next);
                        scroll_to_newest();
                    }
                    loaded.try_set(true);
                    error.try_set(None);
                    if page.unread > 0 {
                        mark_read();
                    }
                }
                Err(e) => {
                    loaded.try_set(true);
                    error.try_set(Some(e.to_string()));
                }
            }
        });
    };
    // On arrival, and again when the WebSocket comes back (frames may have been missed while it was down).
    let live = Memo::new(move |_| app.conn.get() == ConnState::Live);
    Effect::new(move |was_live: Option<bool>| {
        let now = live.get();
        if was_live.is_none() || (now && was_live == Some(false)) {
            refresh();
        }
        now
    });
    // Live: what the WebSocket brings for this correspondent joins the thread once the first page is in.
    Effect::new(move |_| {
        if !loaded.get() {
            return;
        }
        let who = peer.get_value();
        let mut arrived: Vec<ThreadEntry> = app.inbox.with(|i| {
            i.messages()
                .iter()
                .filter(|m| m.sender == who)
                .cloned()
                .map(ThreadEntry::Received)
                .collect()
        });
        app.outbox.with(|o| {
            arrived.extend(
                o.recent()
                    .iter()
                    .filter(|s| s.to == who)
                    .cloned()
                    .map(ThreadEntry::Sent),
            );
        });
        let complete = older.with_untracked(Option::is_none);
        let mut new_received = 0;
        thread.update(|t| new_received = t.merge_live(arrived, complete));
        if new_received > 0 {
            mark_read();
        }
    });

    let load_older = move |_| {
        let Some(cursor) = older.get_untracked() else {
            return;
        };
        loading_older.set(true);
        let endpoint = app.endpoint.get_value();
        leptos::task::spawn_local(async move {
            match api::thread(&endpoint, &peer.get_value(), None, Some(&cursor)).await {
                Ok(page) => {
                    thread.try_update(|t| t.merge(page.entries));
                    older.try_set(page.next);
                }
                Err(e) => _ = error.try_set(Some(e.to_string())),
            }
            loading_older.try_set(false);
        });
    };

    let run_search = move |q: String| {
        let words: Vec<String> = q.split_whitespace().map(str::to_owned).collect();
        if words.is_empty() {
            search.set(None);
            return;
        }
        let endpoint = app.endpoint.get_value();
        leptos::task::spawn_local(async move {
            match api::thread(&endpoint, &peer.get_value(), Some(&q), None).await {
                // Only the answer to what is typed now counts.
                Ok(page) if typed.try_get_untracked().as_deref() == Some(q.as_str()) => {
                    let mut found = Thread::default();
                    found.merge(page.entries);
                    search.try_set(Some(Search { words, found }));
                }
                Ok(_) => {}
                Err(e) => _ = error.try_set(Some(e.to_string())),
            }
        });
    };
    let on_search = move |ev| {
        let q = event_target_value(&ev);
        typed.set(q.clone());
        let n = keystrokes.get_value() + 1;
        keystrokes.set_value(n);
        set_timeout(
            move || {
                if keystrokes.try_get_value() == Some(n) {
                    run_search(q);
                }
            },
            DEBOUNCE,
        );
    };

    let on_key = move |ev: KeyboardEvent| {
        if ev.key() != "Escape" {
            return;
        }
        let in_field = document()
            .active_element()
            .is_some_and(|e| matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA"));
        if !in_field {
            ev.prevent_default();
            let _ = window().location().set_hash(model::LIST_HASH);
        }
    };

    let shown = move || {
        search.with(|s| match s {
            Some(s) => (
                s.words.clone(),
                s.found.entries().cloned().collect::<Vec<_>>(),
            ),
            None => (
                Vec::new(),
                thread.with(|t| t.entries().cloned().collect::<Vec<_>>()),
            ),
        })
    };
    let peer_name = peer.get_value();
    let list_label = format!("Messages with {peer_name}");
    view! {
        <section class="screen thread" aria-labelledby="thread-title" on:keydown=on_key>
            <div class="thread-head">
                <a class="thread-back" href=model::LIST_HASH>
                    <span aria-hidden="true">"← "</span>"Conversations"
                </a>
                <h2 id="thread-title" class="thread-peer">{peer_name.clone()}</h2>
                {move || reply_from.get().map(|m| view! {
                    <span class="thread-via">"via "<span class="modem">{m}</span></span>
                })}
            </div>
            <div class="thread-search">
                <label class="sr-only" for="thread-search">"Search this conversation"</label>
                <input
                    id="thread-search"
                    type="search"
                    placeholder="Search this conversation"
                    autocomplete="off"
                    prop:value=move || typed.get()
                    on:input=on_search
                />
                <span class="result-info" role="status" aria-live="polite">
                    {move || search.with(|s| s.as_ref().map(|s| match s.found.len() {
                        0 => "No message matches".to_owned(),
                        1 => "1 message matches".to_owned(),
                        n => format!("{n} messages match"),
                    }))}
                </span>
            </div>
            {move || error.get().map(|e| view! { <p class="banner banner-bad" role="alert">{e}</p> })}
            <Show when=move || older.with(Option::is_some) && search.with(Option::is_none)>
                <div class="sentinel">
                    <button type="button" class="btn" on:click=load_older disabled=move || loading_older.get()>
                        {move || if loading_older.get() { "Loading…" } else { "Load older messages" }}
                    </button>
                </div>
            </Show>
            <Show when=move || loaded.get() && thread.with(Thread::is_empty)>
                <p class="empty">"No messages with this correspondent yet."</p>
            </Show>
            <ol class="bubbles" aria-label=list_label aria-busy=move || (!loaded.get()).to_string()>
                {move || {
                    let (words, entries) = shown();
                    entries
                        .into_iter()
                        .map(|entry| match entry {
                            ThreadEntry::Received(m) => view! { <Received message=m words=words.clone() /> }.into_any(),
                            ThreadEntry::Sent(s) => view! { <Sent sent=s words=words.clone() /> }.into_any(),
                        })
                        .collect_view()
                }}
            </ol>
            <ReplyBox peer=peer_name reply_from=reply_from on_sent=Callback::new(move |()| refresh()) />
        </section>
    }
}

/// Brings the newest message into view (after the first page rendered).
fn scroll_to_newest() {
    request_animation_frame(|| {
        if let Ok(Some(last)) = document().query_selector(".bubbles > li:last-child") {
            last.scroll_into_view_with_bool(false);
        }
    });
}

/// A message's text: search matches marked when searching, else the code marked.
fn body(text: String, span: Option<[usize; 2]>, words: &[String]) -> AnyView {
    if words.is_empty() {
        return view! { <MessageText text=text span=span /> }.into_any();
    }
    let ranges = model::search_ranges(&text, words);
    split_ranges(&text, &ranges)
        .into_iter()
        .map(|(hit, piece)| {
            if hit {
                view! { <mark class="search-hl">{piece}</mark> }.into_any()
            } else {
                piece.into_any()
            }
        })
        .collect_view()
        .into_any()
}

/// A received message: on the left, with its code copyable.
#[component]
fn Received(message: Message, words: Vec<String>) -> impl IntoView {
    let Message {
        id,
        modem,
        text,
        code,
        code_span,
        sent_at,
        received_at,
        incomplete,
        ..
    } = message.clone();
    view! {
        <li class="bubble bubble-in" data-key=format!("r{id}")>
            {code.map(|c| view! { <CopyCode code=c /> })}
            <CodeOriginLabel message=message />
            <p class="bubble-text">{body(text, code_span, &words)}</p>
            <p class="bubble-meta">
                <TimeAgo received=received_at sent=sent_at />
                <span class="modem" title="Received on">{modem}</span>
                {incomplete.then(|| view! {
                    <span class="badge badge-warn" title="Not all parts of this multipart message arrived">"incomplete"</span>
                })}
            </p>
        </li>
    }
}

/// A sent message: on the right, with its delivery status as the `sent` frames move it on.
#[component]
fn Sent(sent: SentMessage, words: Vec<String>) -> impl IntoView {
    let app = expect_context::<AppState>();
    let SentMessage {
        id,
        text,
        status,
        error,
        created_at,
        modem,
        ..
    } = sent;
    let shown = Memo::new(move |_| {
        app.outbox
            .with(|o| model::shown_status(status, error.as_deref(), o.status(id)))
    });
    let label = move || shown.with(|(s, e)| model::status_label(*s, e.as_deref()));
    view! {
        <li class="bubble bubble-out" data-key=format!("s{id}")>
            <p class="bubble-text">{body(text, None, &words)}</p>
            <p class="bubble-meta">
                <TimeAgo received=created_at sent=created_at />
                <span class="modem" title="Sent through">{modem}</span>
                <span class=move || format!("{} sent-status", label().1)>{move || label().0}</span>
            </p>
        </li>
    }
}

/// The reply box: sends to `peer` through `reply_from` (the modem or source the conversation came in on).
#[component]
fn ReplyBox(
    peer: String,
    reply_from: RwSignal<Option<String>>,
    on_sent: Callback<()>,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let text = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);
    // An alphanumeric sender (a bank's name) cannot be answered: there is no number to send to.
    let number = normalise_e164(&peer).ok();
    let Some(number) = number else {
        return view! {
            <p class="hint reply-none">
                {format!(
                    "Replies go to numbers in international form (+…); {peer} is not one, so it cannot be \
                     answered from here."
                )}
            </p>
        }
        .into_any();
    };
    let number = StoredValue::new(number);
    let send = move || {
        let body = text.get_untracked();
        if body.trim().is_empty() {
            problem.set(Some("Write a message first.".into()));
            return;
        }
        problem.set(None);
        busy.set(true);
        let modem = reply_from.get_untracked();
        let to = number.get_value();
        leptos::task::spawn_local(async move {
            let answer = app.send(to, body, modem).await;
            busy.try_set(false);
            match answer {
                Ok(_) => {
                    text.try_set(String::new());
                    on_sent.run(());
                }
                Err(e) => _ = problem.try_set(Some(e.to_string())),
            }
        });
    };
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        send();
    };
    let on_key = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
            ev.prevent_default();
            send();
        }
    };
    view! {
        <form class="reply" on:submit=on_submit novalidate=true>
            <label class="sr-only" for="reply-text">"Reply"</label>
            <textarea
                id="reply-text"
                rows="2"
                placeholder="Reply"
                aria-describedby="reply-hint reply-problem"
                prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))
                on:keydown=on_key
            ></textarea>
            <button type="submit" class="btn btn-primary" disabled=move || busy.get()>
                {move || if busy.get() { "Sending…" } else { "Send" }}
            </button>
            <p id="reply-hint" class="hint reply-hint">
                {move || match reply_from.get() {
                    Some(m) => format!("Sends through {m}. Ctrl+Enter sends."),
                    None => "Sends through the first connected modem. Ctrl+Enter sends.".to_owned(),
                }}
            </p>
            <p id="reply-problem" class="error" role="alert">{move || problem.get()}</p>
        </form>
    }
    .into_any()
}
