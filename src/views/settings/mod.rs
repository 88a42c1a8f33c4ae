//! The Settings screen: the server's settings (LAN sharing and pairing, paired devices, desktop notifications,
//! retention, hooks), this browser's preferences, access token and server facts.
//!
//! The server's settings are read with `GET /api/settings`, kept current by `settings` frames on the WebSocket
//! (another window may change them), and saved one section at a time with `PATCH /api/settings`. Management
//! endpoints answer `403 loopback_only` to LAN browsers: there the settings are shown read-only, with a short
//! explanation. Each section is a component of its own around the shared [`form::Form`]: `lan.rs` (sharing and
//! pairing links), `devices.rs`, `notifications.rs`, `retention.rs`, `hooks.rs`, `forwarders.rs` (webhooks,
//! ntfy, Gotify, Telegram, e-mail), `deliveries.rs` (the outbox log with Replay); `corrections.rs` lists the code
//! corrections the user made on messages (its own endpoints, open to every browser that may read messages).

mod corrections;
mod deliveries;
mod devices;
pub(crate) mod form;
mod forwarders;
mod hooks;
pub(crate) mod lan;
mod notifications;
mod retention;

use leptos::prelude::*;
use simrelay_protocol::Device;

use self::devices::DevicesCard;
use self::form::Form;
use self::hooks::HooksCard;
use self::lan::SharingCard;
use self::notifications::NotificationsCard;
use self::retention::RetentionCard;
use crate::api::{self, ApiFailure};
use crate::state::AppState;

/// Whether this browser may change the server's settings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Access {
    /// Still asking.
    Loading,
    /// This computer: everything can be changed.
    Manage,
    /// A LAN browser: the server refused management (`loopback_only`).
    ReadOnly,
    /// The server has no settings API, or could not be asked.
    Unavailable(String),
}

/// The Settings screen.
#[component]
pub fn Settings() -> impl IntoView {
    let app = expect_context::<AppState>();
    let endpoint = move || app.endpoint.get_value();
    let has_token = RwSignal::new(app.endpoint.with_value(|e| e.token.is_some()));
    let server = LocalResource::new(move || {
        let endpoint = endpoint();
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

    let access = RwSignal::new(Access::Loading);
    let locked = Signal::derive(move || access.get() != Access::Manage);
    let devices = RwSignal::new(Vec::<Device>::new());
    let devices_error = RwSignal::new(None::<String>);
    let form = Form::new(app, locked);

    // Reading the devices also tells whether this browser may manage the server.
    let load_devices = move || {
        let endpoint = endpoint();
        leptos::task::spawn_local(async move {
            match api::devices(&endpoint).await {
                Ok(list) => {
                    devices.try_set(list);
                    devices_error.try_set(None);
                    access.try_set(Access::Manage);
                }
                Err(ApiFailure::LoopbackOnly) => _ = access.try_set(Access::ReadOnly),
                Err(e) => {
                    devices_error.try_set(Some(e.to_string()));
                    if access.get_untracked() == Access::Loading {
                        access.try_set(Access::Manage);
                    }
                }
            }
        });
    };
    {
        let endpoint = endpoint();
        leptos::task::spawn_local(async move {
            match api::settings(&endpoint).await {
                Ok(s) => {
                    app.server_settings.try_set(Some(s));
                    load_devices();
                }
                Err(ApiFailure::LoopbackOnly) => _ = access.try_set(Access::ReadOnly),
                Err(ApiFailure::NotSupported(_)) => {
                    access.try_set(Access::Unavailable(
                        "This SimRelay server does not offer these settings yet.".into(),
                    ));
                }
                Err(e) => _ = access.try_set(Access::Unavailable(e.to_string())),
            }
        });
    }

    // Settings changed elsewhere (a `settings` frame, the tray) show up in every section the user is not editing.
    Effect::new(move |_| {
        if let Some(s) = app.server_settings.get() {
            form.follow(&s);
        }
    });

    view! {
        <section class="screen settings" aria-labelledby="settings-title">
            <h2 id="settings-title">"Settings"</h2>
            {move || match access.get() {
                Access::Loading => view! { <p class="hint" role="status">"Reading the server's settings…"</p> }.into_any(),
                Access::Manage => ().into_any(),
                Access::ReadOnly => view! {
                    <p class="banner banner-info" id="settings-readonly" role="note">
                        "Sharing, paired devices, notifications, retention and hooks are managed on the computer SimRelay runs on: open SimRelay there to see or change them."
                    </p>
                }.into_any(),
                Access::Unavailable(why) => view! { <p class="banner banner-bad" role="alert">{why}</p> }.into_any(),
            }}
            // A LAN browser cannot read the server's settings at all: rather than defaults that look real, it gets
            // only the explanation above.
            <Show when=move || app.server_settings.with(Option::is_some)>
                <SharingCard access=access locked=locked />
                <DevicesCard
                    access=access
                    locked=locked
                    devices=devices
                    devices_error=devices_error
                    reload=Callback::new(move |()| load_devices())
                />
                <NotificationsCard form=form />
                <RetentionCard form=form />
                <HooksCard form=form />
                <forwarders::ForwardersCard locked=locked />
                <deliveries::DeliveriesCard locked=locked />
            </Show>
            <corrections::CorrectionsSection />
            {crate::endpoint::in_desktop_shell(&location().search().unwrap_or_default()).then(|| view! {
                <fieldset class="card" id="settings-desktop">
                    <legend>"This computer"</legend>
                    <p class="hint">"SimRelay writes a log file each day (the last seven are kept). It helps when a modem misbehaves."</p>
                    <button
                        type="button"
                        class="btn"
                        id="open-logs"
                        // The desktop window intercepts this address and opens the folder instead.
                        on:click=move |_| _ = location().set_href("/__desktop/open-logs")
                    >
                        "Open logs folder"
                    </button>
                </fieldset>
            })}
            <fieldset class="card">
                <legend>"This browser"</legend>
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
