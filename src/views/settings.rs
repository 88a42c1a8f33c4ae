//! The Settings screen: preferences stored in this browser, access token, server facts.

use leptos::prelude::*;

use crate::api;
use crate::state::AppState;

/// The Settings screen.
#[component]
pub fn Settings() -> impl IntoView {
    let app = expect_context::<AppState>();
    let has_token = RwSignal::new(app.endpoint.with_value(|e| e.token.is_some()));
    let server = LocalResource::new(move || {
        let endpoint = app.endpoint.get_value();
        async move { api::health(&endpoint).await }
    });
    let toggle = move |set: fn(&mut crate::prefs::Prefs, bool)| {
        move |ev: leptos::ev::Event| {
            let on = event_target_checked(&ev);
            app.prefs.update(|p| {
                set(p, on);
                p.save();
            });
        }
    };
    let forget = move |_| {
        crate::endpoint::forget_token();
        has_token.set(false);
    };
    view! {
        <section class="screen settings" aria-labelledby="settings-title">
            <h2 id="settings-title">"Settings"</h2>
            <fieldset class="card">
                <legend>"Messages"</legend>
                <label class="check">
                    <input
                        type="checkbox"
                        prop:checked=move || app.prefs.with(|p| p.clickable_links)
                        on:change=toggle(|p, on| p.clickable_links = on)
                    />
                    <span>
                        "Make web links in messages clickable"
                        <small>"Off by default: links in SMS are a common phishing trick."</small>
                    </span>
                </label>
                <label class="check">
                    <input
                        type="checkbox"
                        prop:checked=move || app.prefs.with(|p| p.auto_copy)
                        on:change=toggle(|p, on| p.auto_copy = on)
                    />
                    <span>
                        "Copy each new code to the clipboard"
                        <small>"Works while this page has the focus."</small>
                    </span>
                </label>
                <p class="hint">"The theme follows your system's light or dark setting."</p>
            </fieldset>
            <fieldset class="card">
                <legend>"Access"</legend>
                <Show
                    when=move || has_token.get()
                    fallback=|| view! { <p>"This browser holds no access token (none is needed on this computer)."</p> }
                >
                    <p>"This browser is paired with SimRelay by an access token."</p>
                    <button type="button" class="btn" on:click=forget>
                        "Forget the token"
                    </button>
                    <p class="hint">"Takes effect when the page is reloaded; you will need the pairing link again."</p>
                </Show>
            </fieldset>
            <fieldset class="card">
                <legend>"Server"</legend>
                <p>
                    {move || match server.get() {
                        None => "Asking the server…".to_owned(),
                        Some(Ok(h)) => format!("SimRelay {} at {}", h.version, app.endpoint.with_value(|e| e.origin.clone())),
                        Some(Err(e)) => e.to_string(),
                    }}
                </p>
            </fieldset>
        </section>
    }
}
