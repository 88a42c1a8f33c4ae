//! The list of conversations: one row per correspondent, most recent first, with the newest message, its time
//! and the unread count. Each row is a link to its thread, so it works with the keyboard (Tab, Enter) and with
//! the browser's Back. The first page is fetched again whenever the WebSocket brings a message or tells of one
//! sent from any client, and when it reconnects; older pages come with "Load more" (keyset cursor).

use leptos::prelude::*;
use simrelay_protocol::Conversation;

use super::model;
use crate::api;
use crate::connection::ConnState;
use crate::state::AppState;
use crate::views::TimeAgo;

/// The list of conversations.
#[component]
pub fn ConversationList() -> impl IntoView {
    let app = expect_context::<AppState>();
    let rows = RwSignal::new(Vec::<Conversation>::new());
    let next = RwSignal::new(None::<String>);
    let loaded = RwSignal::new(false);
    let loading_more = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // Answers to an older refresh are dropped, so a slow one cannot overwrite a newer list.
    let generation = StoredValue::new(0u64);

    let refresh = move || {
        let current = generation.get_value() + 1;
        generation.set_value(current);
        let endpoint = app.endpoint.get_value();
        leptos::task::spawn_local(async move {
            let answer = api::conversations(&endpoint, None).await;
            if generation.try_get_value() != Some(current) {
                return;
            }
            match answer {
                Ok(page) => {
                    rows.try_update(|list| {
                        // A row missing from the fresh first page is older than all of it (loaded with "Load
                        // more", or pushed down by newer activity): it stays, after them.
                        let fresh = page.conversations;
                        let older: Vec<Conversation> = list
                            .drain(..)
                            .filter(|c| !fresh.iter().any(|f| f.peer == c.peer))
                            .collect();
                        *list = fresh;
                        list.extend(older);
                    });
                    if !loaded.get_untracked() {
                        next.try_set(page.next);
                    }
                    error.try_set(None);
                }
                Err(e) => _ = error.try_set(Some(e.to_string())),
            }
            loaded.try_set(true);
        });
    };
    // On arrival, and live: whenever a message comes in, one is sent from any client (a `sent` frame with a new
    // id), or the WebSocket comes back (frames may have been missed meanwhile).
    Effect::new(move |_| {
        app.inbox.with(|i| i.newest().map(|m| m.id));
        app.outbox.with(|o| o.recent().last().map(|s| s.id));
        app.outbox.with(|o| o.items().len());
        if app.conn.get() == ConnState::Live || !loaded.get_untracked() {
            refresh();
        }
    });

    let load_more = move |_| {
        let Some(cursor) = next.get_untracked() else {
            return;
        };
        loading_more.set(true);
        let endpoint = app.endpoint.get_value();
        leptos::task::spawn_local(async move {
            match api::conversations(&endpoint, Some(&cursor)).await {
                Ok(page) => {
                    rows.try_update(|list| {
                        for c in page.conversations {
                            if !list.iter().any(|known| known.peer == c.peer) {
                                list.push(c);
                            }
                        }
                    });
                    next.try_set(page.next);
                }
                Err(e) => _ = error.try_set(Some(e.to_string())),
            }
            loading_more.try_set(false);
        });
    };

    view! {
        <section class="screen conversations" aria-labelledby="conversations-title">
            <h2 id="conversations-title">"Conversations"</h2>
            {move || error.get().map(|e| view! { <p class="banner banner-bad" role="alert">{e}</p> })}
            <Show when=move || loaded.get() && rows.with(Vec::is_empty) && error.with(Option::is_none)>
                <div class="empty">
                    <p class="empty-title">"No conversations yet"</p>
                    <p>"Messages you receive and send are grouped here by who you talk to."</p>
                </div>
            </Show>
            <ul class="conv-list" aria-label="Conversations" aria-busy=move || (!loaded.get()).to_string()>
                <For
                    each=move || rows.get()
                    key=|c| (c.peer.clone(), c.last.key(), c.unread)
                    let:conversation
                >
                    <ConversationRow conversation=conversation />
                </For>
            </ul>
            <Show when=move || next.with(Option::is_some)>
                <div class="sentinel">
                    <button type="button" class="btn" on:click=load_more disabled=move || loading_more.get()>
                        {move || if loading_more.get() { "Loading…" } else { "Load more" }}
                    </button>
                </div>
            </Show>
        </section>
    }
}

/// One correspondent: who, the newest message, when, and how many are unread.
#[component]
pub(super) fn ConversationRow(conversation: Conversation) -> impl IntoView {
    let Conversation {
        peer,
        last,
        unread,
        reply_from,
    } = conversation;
    let href = model::thread_hash(&peer);
    let preview = model::preview(&last);
    let at = last.at();
    let modem = reply_from.unwrap_or_else(|| last.modem().to_owned());
    let class = if unread > 0 {
        "conv-row conv-unread"
    } else {
        "conv-row"
    };
    let data_peer = peer.clone();
    view! {
        <li class=class data-peer=data_peer>
            <a class="conv-link" href=href>
                <span class="conv-top">
                    <span class="conv-peer">{peer}</span>
                    <TimeAgo received=at sent=at />
                </span>
                <span class="conv-bottom">
                    <span class="conv-preview">{preview}</span>
                    {(unread > 0).then(|| view! {
                        <span class="unread conv-count">
                            {unread}
                            <span class="sr-only">" unread"</span>
                        </span>
                    })}
                </span>
                <span class="conv-via">{modem}</span>
            </a>
        </li>
    }
}
