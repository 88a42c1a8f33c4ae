//! The Conversations screen, like a phone's messages app: one row per correspondent (`list.rs`), and a thread
//! with the received and sent messages interleaved, a search within it and a reply box (`thread.rs`). What can be
//! computed without a DOM is in `model.rs`.
//!
//! `#/conversations` shows the list, `#/conversations/<percent-encoded peer>` the thread; both are one screen
//! for the navigation, and this component follows the rest of the address itself. Message text, senders and
//! modem names only ever become text nodes or attribute values.

mod list;
pub mod model;
mod thread;

use leptos::prelude::*;

use self::list::ConversationList;
use self::thread::ThreadView;

fn peer_in_address() -> Option<String> {
    model::peer_from_hash(&location().hash().unwrap_or_default())
}

/// The Conversations screen: the list, or the thread the address names.
#[component]
pub fn Conversations() -> impl IntoView {
    let peer = RwSignal::new(peer_in_address());
    let listener = window_event_listener(leptos::ev::hashchange, move |_| {
        let now = peer_in_address();
        if peer.get_untracked() != now {
            peer.set(now);
        }
    });
    on_cleanup(move || listener.remove());
    move || match peer.get() {
        Some(peer) => view! { <ThreadView peer=peer /> }.into_any(),
        None => view! { <ConversationList /> }.into_any(),
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod component_tests;
