//! The app shell: header with the connection indicator, navigation between screens, and the screen itself.

use std::time::Duration;

use leptos::prelude::*;

use crate::connection::Connection;
use crate::state::{now_ms, AppState, Screen};
use crate::views::{
    compose::Compose, conversations::Conversations, history::History, history::MessageScreen,
    live::Live, modems::Modems, settings::Settings, wizard::Wizard,
};

/// How often relative times ("3 min ago") are refreshed.
const CLOCK_TICK: Duration = Duration::from_secs(15);

/// The whole app. Reads the endpoint from the page, opens the live connection and renders the chosen screen. A
/// page opened from a pairing link first exchanges its code for this device's token.
#[component]
pub fn App() -> impl IntoView {
    let endpoint = crate::endpoint::from_page();
    if let Some(code) = crate::endpoint::take_pairing_code() {
        return view! { <crate::views::pairing::Pairing endpoint=endpoint code=code /> }.into_any();
    }
    let app = AppState::new(endpoint);
    provide_context(app);
    let connection = StoredValue::new_local(Connection::start(app));

    set_interval(move || app.now_ms.set(now_ms()), CLOCK_TICK);

    // The screen follows the address's #fragment, so Back/Forward and bookmarks work.
    let read_hash = move || {
        app.screen
            .set(Screen::from_hash(&location().hash().unwrap_or_default()))
    };
    read_hash();
    let hash_listener = window_event_listener(leptos::ev::hashchange, move |_| read_hash());
    on_cleanup(move || hash_listener.remove());

    // Looking at the Live screen in a visible tab counts as having read what arrived.
    let mark_read = move || {
        if app.is_watching_live() {
            app.unread.set(0);
        }
    };
    Effect::new(move |_| {
        app.screen.track();
        mark_read();
    });
    let visibility = Closure::<dyn FnMut()>::new(mark_read);
    let _ = document()
        .add_event_listener_with_callback("visibilitychange", visibility.as_ref().unchecked_ref());
    visibility.forget();

    Effect::new(move |_| {
        let title = match app.unread.get() {
            0 => "SimRelay".to_owned(),
            n => format!("({n}) SimRelay"),
        };
        document().set_title(&title);
    });

    let retry = move |_| connection.with_value(|c| c.reconnect_now_if_down());

    view! {
        <a class="skip" href="#main">"Skip to content"</a>
        <header class="topbar">
            <h1 class="brand">
                <span class="brand-mark" aria-hidden="true">"▮"</span>
                "SimRelay"
            </h1>
            <div
                id="conn"
                class=move || app.conn.get().class()
                role="status"
                aria-live="polite"
                data-state=move || app.conn.get().label()
            >
                <span class="dot" aria-hidden="true"></span>
                <span class="conn-label">{move || app.conn.get().label()}</span>
                <Show when=move || !matches!(app.conn.get(), crate::connection::ConnState::Live | crate::connection::ConnState::Connecting)>
                    <button type="button" class="link-btn" on:click=retry>"Retry now"</button>
                </Show>
            </div>
        </header>
        <nav class="tabs" aria-label="Screens">
            {Screen::ALL
                .into_iter()
                .map(|s| {
                    view! {
                        <a
                            href=s.hash()
                            class="tab"
                            aria-current=move || (app.screen.get().tab() == s).then_some("page")
                        >
                            {s.label()}
                            {(s == Screen::Live).then(|| view! {
                                <Show when=move || { app.unread.get() > 0 }>
                                    <span class="unread" aria-label=move || format!("{} unread", app.unread.get())>
                                        {move || app.unread.get()}
                                    </span>
                                </Show>
                            })}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
        {move || app.auth_error.get().map(|e| view! { <p class="banner banner-bad" role="alert">{e}</p> })}
        <main id="main" tabindex="-1">
            <Wizard />
            {move || match app.screen.get() {
                Screen::Live => view! { <Live /> }.into_any(),
                Screen::Conversations => view! { <Conversations /> }.into_any(),
                Screen::History => view! { <History /> }.into_any(),
                Screen::Compose => view! { <Compose /> }.into_any(),
                Screen::Modems => view! { <Modems /> }.into_any(),
                Screen::Settings => view! { <Settings /> }.into_any(),
                Screen::Message(id) => view! { <MessageScreen id=id /> }.into_any(),
            }}
        </main>
    }
    .into_any()
}

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
