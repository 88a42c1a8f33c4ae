//! The Live screen: the newest code as a large card, earlier messages below.

use leptos::prelude::*;
use simrelay_protocol::Message;

use super::code_actions::{CodeActions, CodeOriginLabel};
use super::{CopyCode, Flags, MessageBody, MessageRow, TimeAgo};
use crate::state::AppState;

/// How many earlier messages the Live screen lists.
const EARLIER: usize = 50;

/// The newest code (or, before any code arrived, the newest message), big.
#[component]
fn Hero(
    /// The message to show.
    message: Message,
) -> impl IntoView {
    let m = message.clone();
    let code = match m.code.clone() {
        Some(code) => view! { <CopyCode code=code big=true /> }.into_any(),
        None => view! { <p class="no-code">"No code in this message"</p> }.into_any(),
    };
    view! {
        <article class="hero" class:hero-flash=m.flash aria-labelledby="hero-sender" data-id=m.id.to_string()>
            <div class="hero-code">{code}<CodeOriginLabel message=message.clone() /></div>
            <CodeActions message=message.clone() />
            <div class="hero-meta">
                <span class="sender" id="hero-sender">{m.sender}</span>
                <span class="modem" title="Modem">{m.modem}</span>
                <Flags message=message.clone() />
                <TimeAgo received=m.received_at sent=m.sent_at />
            </div>
            <p class="hero-text">
                <MessageBody message=message.clone() />
            </p>
        </article>
    }
}

/// The Live screen.
#[component]
pub fn Live() -> impl IntoView {
    let app = expect_context::<AppState>();
    let newest = Memo::new(move |_| app.inbox.with(|i| i.newest().cloned()));
    // The big card is for the newest *code*, what the user came for: a chatty SMS arriving after it must not
    // push the code out of the card. A flash (class 0) message takes it too: its sender wants it seen at once.
    // Without either, the newest message takes the card.
    let hero = Memo::new(move |_| {
        app.inbox.with(|i| {
            i.messages()
                .iter()
                .find(|m| m.code.is_some() || m.flash)
                .or_else(|| i.newest())
                .cloned()
        })
    });
    let earlier = Memo::new(move |_| {
        let hero_id = hero.with(|h| h.as_ref().map(|m| m.id));
        app.inbox.with(|i| {
            i.messages()
                .iter()
                .filter(|m| Some(m.id) != hero_id)
                .take(EARLIER)
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    // Screen readers hear about a new code without the focus moving.
    let announcement = move || {
        newest.with(|m| match m {
            Some(m) => match m.code_for_display() {
                Some(code) => format!("New code {code} from {}", m.sender),
                None if m.flash => format!("Flash message from {}", m.sender),
                None => format!("New message from {}", m.sender),
            },
            None => String::new(),
        })
    };
    view! {
        <section class="screen live" aria-labelledby="live-title">
            <h2 id="live-title" class="sr-only">"Live"</h2>
            <p class="sr-only" aria-live="polite">{announcement}</p>
            {move || match hero.get() {
                Some(m) => view! { <Hero message=m /> }.into_any(),
                None => view! {
                    <div class="empty">
                        <p class="empty-title">"Waiting for messages…"</p>
                        <p>"New SMS appear here the moment the modem receives them."</p>
                    </div>
                }.into_any(),
            }}
            <Show when=move || earlier.with(|e| !e.is_empty())>
                <h3 class="section-title">"Earlier"</h3>
                <ol class="msg-list" aria-label="Earlier messages">
                    <For each=move || earlier.get() key=|m| m.id let:m>
                        <MessageRow message=m />
                    </For>
                </ol>
            </Show>
        </section>
    }
}
