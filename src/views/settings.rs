//! The Settings screen: the server's settings (LAN sharing and pairing, paired devices, desktop notifications,
//! retention, hooks), this browser's preferences, access token and server facts.
//!
//! The server's settings are read with `GET /api/settings`, kept current by `settings` frames on the WebSocket
//! (another window may change them), and saved one section at a time with `PATCH /api/settings`. Management
//! endpoints answer `403 loopback_only` to LAN browsers: there the settings are shown read-only, with a short
//! explanation. The only server markup this screen shows is the pairing QR code, an SVG our own server made,
//! and even that is loaded as an `<img>` from a `data:` URL, never inserted into the page.

use chrono::DateTime;
use leptos::prelude::*;

use simrelay_protocol::{Device, NewDevice, Notifications, PairLink};

use crate::api::{self, ApiFailure};
use crate::reltime;
use crate::server_settings::{
    mode_label, qr_data_url, section_of, Draft, FieldError, Retention, Section,
};
use crate::state::AppState;

/// Whether this browser may change the server's settings.
#[derive(Debug, Clone, PartialEq)]
enum Access {
    /// Still asking.
    Loading,
    /// This computer: everything can be changed.
    Manage,
    /// A LAN browser: the server refused management (`loopback_only`).
    ReadOnly,
    /// The server has no settings API, or could not be asked.
    Unavailable(String),
}

/// Where saving a section stands.
#[derive(Debug, Clone, PartialEq, Default)]
enum Saving {
    #[default]
    Idle,
    Busy,
    Saved,
    /// What went wrong; `field` places it next to an input.
    Failed {
        field: Option<String>,
        message: String,
    },
}

const SECTIONS: [Section; 3] = [Section::Notifications, Section::Retention, Section::Hooks];

fn index(section: Section) -> usize {
    match section {
        Section::Notifications => 0,
        Section::Retention => 1,
        Section::Hooks => 2,
    }
}

/// "3 min ago" for an RFC 3339 time from the server, the text itself if it does not parse, `none` for no time.
fn ago(t: Option<&str>, now_ms: i64, none: &str) -> String {
    match t {
        None => none.to_owned(),
        Some(t) => match DateTime::parse_from_rfc3339(t) {
            Ok(t) => reltime::relative(&t, now_ms),
            Err(_) => t.to_owned(),
        },
    }
}

/// The status text after a section's Save button.
fn saving_text(s: &Saving) -> String {
    match s {
        Saving::Idle => String::new(),
        Saving::Busy => "Saving…".into(),
        Saving::Saved => "Saved".into(),
        Saving::Failed { message, .. } => message.clone(),
    }
}

/// A pairing link: its QR code (as an image) and the address with a Copy button.
#[component]
pub(crate) fn LinkCard(
    /// The link.
    link: PairLink,
) -> impl IntoView {
    let copied = RwSignal::new(None::<bool>);
    let url = link.url.clone();
    let copy = move |_| {
        let url = url.clone();
        leptos::task::spawn_local(async move {
            let ok = crate::clipboard::copy(&url).await;
            copied.try_set(Some(ok));
        });
    };
    let qr = link.qr_svg.as_deref().and_then(qr_data_url);
    view! {
        <div class="pair-link">
            {qr.map(|src| view! {
                <img class="qr" src=src width="200" height="200" alt="QR code of the pairing link: scan it with the other device" />
            })}
            <div class="pair-url">
                <code class="link-text">{link.url.clone()}</code>
                <div class="actions">
                    <button type="button" class="btn" on:click=copy>"Copy link"</button>
                    <span class="copy-status" role="status" aria-live="polite">
                        {move || match copied.get() {
                            Some(true) => "Copied",
                            Some(false) => "Copy failed: select the link and copy it by hand",
                            None => "",
                        }}
                    </span>
                </div>
            </div>
        </div>
    }
}

/// The signals of the server-settings form, shared by the field helpers below.
#[derive(Clone, Copy)]
struct Form {
    draft: RwSignal<Draft>,
    dirty: RwSignal<[bool; 3]>,
    saving: RwSignal<[Saving; 3]>,
    locked: Signal<bool>,
}

impl Form {
    fn edit(self, section: Section, change: impl FnOnce(&mut Draft)) {
        let i = index(section);
        self.draft.update(change);
        self.dirty.update(|d| d[i] = true);
        self.saving.update(|s| s[i] = Saving::Idle);
    }

    /// The error message for `field`, if the last save of its section failed on it.
    fn error_for(self, section: Section, field: &'static str) -> Option<String> {
        self.saving.with(|s| match &s[index(section)] {
            Saving::Failed {
                field: Some(f),
                message,
            } if f == field => Some(message.clone()),
            _ => None,
        })
    }

    fn check(
        self,
        section: Section,
        id: &'static str,
        label: &'static str,
        hint: &'static str,
        get: fn(&Draft) -> bool,
        set: fn(&mut Draft, bool),
    ) -> impl IntoView {
        view! {
            <label class="check" for=id>
                <input
                    id=id
                    type="checkbox"
                    prop:checked=move || self.draft.with(get)
                    disabled=move || self.locked.get()
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        self.edit(section, |d| set(d, on));
                    }
                />
                <span>
                    {label}
                    {(!hint.is_empty()).then(|| view! { <small>{hint}</small> })}
                </span>
            </label>
        }
    }

    /// A whole-number input for server field `field` (its id is `set-<field>`).
    fn number(
        self,
        section: Section,
        field: &'static str,
        label: &'static str,
        get: fn(&Draft) -> String,
        set: fn(&mut Draft, String),
        active: fn(&Draft) -> bool,
    ) -> impl IntoView {
        let id = format!("set-{field}");
        let label_for = id.clone();
        let err_id = format!("err-{field}");
        let described_by = err_id.clone();
        view! {
            <label class="field number" for=label_for>
                <span>{label}</span>
                <input
                    id=id
                    type="text"
                    inputmode="numeric"
                    autocomplete="off"
                    size="8"
                    aria-describedby=described_by
                    aria-invalid=move || if self.error_for(section, field).is_some() { "true" } else { "false" }
                    prop:value=move || self.draft.with(get)
                    disabled=move || self.locked.get() || !self.draft.with(active)
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        self.edit(section, |d| set(d, v));
                    }
                />
            </label>
            <p id=err_id class="field-error" aria-live="polite">{move || self.error_for(section, field)}</p>
        }
    }

    /// The Save button of a section and where it stands.
    fn save_row(
        self,
        section: Section,
        on_save: impl Fn(Section) + Copy + 'static,
    ) -> impl IntoView {
        let i = index(section);
        view! {
            <div class="actions">
                <button
                    type="button"
                    class="btn btn-primary"
                    disabled=move || self.locked.get() || self.saving.with(|s| s[i] == Saving::Busy)
                    on:click=move |_| on_save(section)
                >
                    "Save"
                </button>
                <span
                    class=move || self.saving.with(|s| match s[i] {
                        Saving::Failed { .. } => "save-status error",
                        Saving::Saved => "save-status saved",
                        _ => "save-status",
                    })
                    role="status"
                    aria-live="polite"
                >
                    {move || self.saving.with(|s| saving_text(&s[i]))}
                    {move || (self.dirty.with(|d| d[i]) && self.saving.with(|s| s[i] == Saving::Idle)).then_some("Unsaved changes")}
                </span>
            </div>
        }
    }
}

/// A LAN address without its `?token=`: the token is a secret, and the screen only needs to say where to go.
fn without_token(url: &str) -> String {
    url.split_once('?').map_or(url, |(base, _)| base).to_owned()
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
    let form = Form {
        draft: RwSignal::new(
            app.server_settings
                .with_untracked(|s| s.as_ref().map(Draft::from_settings))
                .unwrap_or_default(),
        ),
        dirty: RwSignal::new([false; 3]),
        saving: RwSignal::new(Default::default()),
        locked,
    };
    let lan_state = RwSignal::new(Saving::Idle);
    let new_device = RwSignal::new(None::<NewDevice>);
    let pair_name = RwSignal::new(String::new());
    let pair_error = RwSignal::new(None::<String>);
    let pairing_busy = RwSignal::new(false);
    let revoke_error = RwSignal::new(None::<String>);

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
            let dirty = form.dirty.get_untracked();
            form.draft.update(|d| {
                for section in SECTIONS {
                    if !dirty[index(section)] {
                        d.refresh(section, &s);
                    }
                }
            });
        }
    });

    let save = move |section: Section| {
        let i = index(section);
        let body = match form.draft.with_untracked(|d| d.patch(section)) {
            Ok(body) => body,
            Err(FieldError { field, message }) => {
                form.saving.update(|s| {
                    s[i] = Saving::Failed {
                        field: Some(field.to_owned()),
                        message,
                    }
                });
                return;
            }
        };
        form.saving.update(|s| s[i] = Saving::Busy);
        let endpoint = endpoint();
        leptos::task::spawn_local(async move {
            match api::patch_settings(&endpoint, &body).await {
                Ok(new) => {
                    form.dirty.try_update(|d| d[i] = false);
                    form.draft.try_update(|d| d.refresh(section, &new));
                    app.server_settings.try_set(Some(new));
                    form.saving.try_update(|s| s[i] = Saving::Saved);
                }
                Err(ApiFailure::InvalidSetting { field, detail }) => {
                    let at = field.as_deref().and_then(section_of).map_or(i, index);
                    form.saving.try_update(|s| {
                        s[i] = Saving::Idle;
                        s[at] = Saving::Failed {
                            field,
                            message: detail,
                        };
                    });
                }
                Err(e) => {
                    form.saving.try_update(|s| {
                        s[i] = Saving::Failed {
                            field: None,
                            message: e.to_string(),
                        }
                    });
                }
            }
        });
    };

    let toggle_lan = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        lan_state.set(Saving::Busy);
        let endpoint = endpoint();
        leptos::task::spawn_local(async move {
            match api::patch_settings(&endpoint, &api::body::lan(on)).await {
                Ok(new) => {
                    app.server_settings.try_set(Some(new));
                    lan_state.try_set(Saving::Saved);
                }
                Err(e) => {
                    lan_state.try_set(Saving::Failed {
                        field: None,
                        message: e.to_string(),
                    });
                    // Put the checkbox back to what the server says.
                    app.server_settings.try_update(|_| {});
                }
            }
        });
    };
    let lan_on = move || {
        app.server_settings
            .with(|s| s.as_ref().is_some_and(|s| s.lan))
    };
    let addresses = LocalResource::new(move || {
        let wanted = lan_on() && access.get() == Access::Manage;
        let endpoint = endpoint();
        async move {
            if wanted {
                Some(api::pair(&endpoint).await)
            } else {
                None
            }
        }
    });

    let pair = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = pair_name.get_untracked().trim().to_owned();
        if name.is_empty() {
            pair_error.set(Some(
                "Give the device a name first, such as \u{201c}Anna's phone\u{201d}.".into(),
            ));
            return;
        }
        pair_error.set(None);
        pairing_busy.set(true);
        let endpoint = endpoint();
        leptos::task::spawn_local(async move {
            let answer = api::add_device(&endpoint, &name).await;
            pairing_busy.try_set(false);
            match answer {
                Ok(created) => {
                    new_device.try_set(Some(created));
                    pair_name.try_set(String::new());
                    load_devices();
                }
                Err(ApiFailure::NotShared) => {
                    pair_error.try_set(Some(
                        "Turn LAN sharing on first: the other device reaches SimRelay over the network.".into(),
                    ));
                }
                Err(e) => _ = pair_error.try_set(Some(e.to_string())),
            }
        });
    };
    let revoke = move |id: String, name: String| {
        let question = format!(
            "Revoke \u{201c}{name}\u{201d}? It loses access at once and would have to be paired again."
        );
        if !window().confirm_with_message(&question).unwrap_or(false) {
            return;
        }
        let endpoint = endpoint();
        leptos::task::spawn_local(async move {
            match api::revoke_device(&endpoint, &id).await {
                Ok(()) => {
                    devices.try_update(|list| list.retain(|d| d.id != id));
                    revoke_error.try_set(None);
                    load_devices();
                }
                Err(e) => _ = revoke_error.try_set(Some(e.to_string())),
            }
        });
    };

    let notifications = Section::Notifications;
    let retention = Section::Retention;
    let hooks = Section::Hooks;
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
            <fieldset class="card" id="settings-sharing">
                <legend>"Sharing"</legend>
                <label class="check" for="set-lan">
                    <input
                        id="set-lan"
                        type="checkbox"
                        prop:checked=lan_on
                        disabled=move || locked.get() || lan_state.with(|s| *s == Saving::Busy)
                        on:change=toggle_lan
                    />
                    <span>
                        "Share on the local network"
                        <small>"Lets your phone or another computer on the same network show your messages. Each device needs pairing."</small>
                    </span>
                </label>
                <p class=move || lan_state.with(|s| if matches!(s, Saving::Failed { .. }) { "save-status error" } else { "save-status" })
                    role="status" aria-live="polite">
                    {move || lan_state.with(saving_text)}
                </p>
                {move || addresses.get().flatten().map(|answer| match answer {
                    Ok(p) => {
                        let urls: Vec<String> = if p.links.is_empty() { p.urls } else { p.links.into_iter().map(|l| l.url).collect() };
                        view! {
                            <p class="hint">"Other devices reach SimRelay at "
                                {urls.into_iter().map(|u| view! { <code class="link-text">{without_token(&u)}</code>" " }).collect_view()}
                            </p>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="hint">{e.to_string()}</p> }.into_any(),
                })}
            </fieldset>

            <fieldset class="card" id="settings-devices">
                <legend>"Paired devices"</legend>
                <Show
                    when=move || !locked.get()
                    fallback=|| view! { <p class="hint">"Pairing and revoking devices is done on the computer SimRelay runs on."</p> }
                >
                    <form class="pair-form" on:submit=pair novalidate=true>
                        <label class="field grow" for="pair-name">
                            <span>"Pair a device"</span>
                            <input
                                id="pair-name"
                                type="text"
                                placeholder="Device name, e.g. Anna's phone"
                                maxlength="64"
                                aria-describedby="pair-error"
                                prop:value=move || pair_name.get()
                                on:input=move |ev| pair_name.set(event_target_value(&ev))
                            />
                        </label>
                        <button type="submit" class="btn btn-primary" disabled=move || pairing_busy.get()>
                            {move || if pairing_busy.get() { "Pairing…" } else { "Pair" }}
                        </button>
                    </form>
                    <p id="pair-error" class="field-error" aria-live="polite">{move || pair_error.get()}</p>
                    {move || new_device.get().map(|created| {
                        let name = created.device.name.clone();
                        let token = created.token.clone();
                        let no_links = created.links.is_empty();
                        view! {
                            <section class="new-device" aria-labelledby="new-device-title">
                                <h3 id="new-device-title">{format!("Pair \u{201c}{name}\u{201d}")}</h3>
                                <p>"Scan the code with the other device's camera, or open the link on it. This is shown only once: the link carries the device's own access key."</p>
                                {created.links.into_iter().map(|link| view! { <LinkCard link=link /> }).collect_view()}
                                {no_links.then(|| view! { <p>"Access key: "<code class="link-text">{token}</code></p> })}
                                <button type="button" class="btn" id="pair-done" on:click=move |_| new_device.set(None)>"Done"</button>
                            </section>
                        }
                    })}
                    <ul class="devices" aria-label="Paired devices">
                        <For each=move || devices.get() key=|d| d.id.clone() let:d>
                            {
                                let (id, name) = (d.id.clone(), d.name.clone());
                                let created = (!d.created_at.is_empty()).then(|| d.created_at.clone());
                                let seen = d.last_seen.clone();
                                let ip = d.last_ip.clone();
                                view! {
                                    <li class="device" data-device-id=d.id.clone()>
                                        <div class="device-info">
                                            <span class="device-name">{d.name.clone()}</span>
                                            <span class="hint">
                                                {move || format!(
                                                    "paired {} · last seen {}{}",
                                                    ago(created.as_deref(), app.now_ms.get(), "at an unknown time"),
                                                    ago(seen.as_deref(), app.now_ms.get(), "never"),
                                                    ip.as_deref().map(|ip| format!(" from {ip}")).unwrap_or_default(),
                                                )}
                                            </span>
                                        </div>
                                        <button
                                            type="button"
                                            class="btn btn-danger"
                                            aria-label=format!("Revoke {}", d.name)
                                            on:click=move |_| revoke(id.clone(), name.clone())
                                        >
                                            "Revoke"
                                        </button>
                                    </li>
                                }
                            }
                        </For>
                    </ul>
                    <Show when=move || devices.with(Vec::is_empty) && access.get() == Access::Manage>
                        <p class="hint" id="no-devices">"No device is paired yet."</p>
                    </Show>
                    <p class="error" role="alert">{move || devices_error.get().or_else(|| revoke_error.get())}</p>
                </Show>
            </fieldset>

            <fieldset class="card" id="settings-notifications">
                <legend>"Desktop notifications"</legend>
                <div role="radiogroup" aria-labelledby="notify-label" class="radios">
                    <span id="notify-label" class="field-label">"Notify about"</span>
                    {Notifications::ALL.into_iter().map(|mode| view! {
                        <label class="check inline">
                            <input
                                type="radio"
                                name="notify-mode"
                                value=mode.as_str()
                                prop:checked=move || form.draft.with(|d| d.notifications == mode)
                                disabled=move || locked.get()
                                on:change=move |_| form.edit(notifications, |d| d.notifications = mode)
                            />
                            <span>{mode_label(mode)}</span>
                        </label>
                    }).collect_view()}
                </div>
                {form.check(notifications, "set-auto_copy", "Copy each new code to the clipboard", "", |d| d.auto_copy, |d, on| d.auto_copy = on)}
                {form.number(notifications, "clear_clipboard_secs", "Clear the clipboard after (seconds, 0 = never)", |d| d.clear_clipboard_secs.clone(), |d, v| d.clear_clipboard_secs = v, |_| true)}
                {form.check(notifications, "set-hide_code", "Hide the code in notifications", "They then say \u{201c}New code from X — click to copy\u{201d}.", |d| d.hide_code, |d, on| d.hide_code = on)}
                {form.save_row(notifications, save)}
            </fieldset>

            <fieldset class="card" id="settings-retention">
                <legend>"Retention"</legend>
                <div role="radiogroup" aria-labelledby="retention-label" class="radios">
                    <span id="retention-label" class="field-label">"Keep"</span>
                    {[(Retention::All, "all", "Every message"), (Retention::Days, "days", "Messages of the last N days"), (Retention::Messages, "messages", "The N newest messages")]
                        .into_iter()
                        .map(|(mode, value, label)| view! {
                            <label class="check inline">
                                <input
                                    type="radio"
                                    name="retention-mode"
                                    value=value
                                    prop:checked=move || form.draft.with(|d| d.retention == mode)
                                    disabled=move || locked.get()
                                    on:change=move |_| form.edit(retention, |d| d.retention = mode)
                                />
                                <span>{label}</span>
                            </label>
                        })
                        .collect_view()}
                </div>
                <div class="number-row">
                    {form.number(retention, "retention_days", "Days", |d| d.retention_days.clone(), |d, v| d.retention_days = v, |d| d.retention == Retention::Days)}
                    {form.number(retention, "retention_messages", "Messages", |d| d.retention_messages.clone(), |d, v| d.retention_messages = v, |d| d.retention == Retention::Messages)}
                </div>
                {form.check(retention, "set-purge_codes", "Blank out codes after a while", "The code is replaced by * in the text and the raw PDUs are dropped.", |d| d.purge_codes, |d, on| d.purge_codes = on)}
                {form.number(retention, "purge_codes_after_minutes", "Blank out codes after (minutes)", |d| d.purge_minutes.clone(), |d, v| d.purge_minutes = v, |d| d.purge_codes)}
                {form.save_row(retention, save)}
            </fieldset>

            <fieldset class="card" id="settings-hooks">
                <legend>"Hooks"</legend>
                <p class="hint">"Run a program or call a URL for each new message. The message text is untrusted: treat it as data."</p>
                <label class="field" for="set-hook_command">
                    <span>"Command (program and arguments, no shell)"</span>
                    <input
                        id="set-hook_command"
                        type="text"
                        autocomplete="off"
                        spellcheck="false"
                        placeholder="/usr/local/bin/otp-to-clipboard"
                        aria-describedby="err-hook_command"
                        prop:value=move || form.draft.with(|d| d.hook_command.clone())
                        disabled=move || locked.get()
                        on:input=move |ev| { let v = event_target_value(&ev); form.edit(hooks, |d| d.hook_command = v) }
                    />
                </label>
                <p id="err-hook_command" class="field-error" aria-live="polite">{move || form.error_for(hooks, "hook_command")}</p>
                <label class="field" for="set-hook_url">
                    <span>"URL (gets each message as JSON POST)"</span>
                    <input
                        id="set-hook_url"
                        type="url"
                        autocomplete="off"
                        spellcheck="false"
                        placeholder="http://127.0.0.1:9000/sms"
                        aria-describedby="err-hook_url"
                        prop:value=move || form.draft.with(|d| d.hook_url.clone())
                        disabled=move || locked.get()
                        on:input=move |ev| { let v = event_target_value(&ev); form.edit(hooks, |d| d.hook_url = v) }
                    />
                </label>
                <p id="err-hook_url" class="field-error" aria-live="polite">{move || form.error_for(hooks, "hook_url")}</p>
                {form.check(hooks, "set-hook_only_codes", "Only for messages with a code", "", |d| d.hook_only_codes, |d, on| d.hook_only_codes = on)}
                {form.save_row(hooks, save)}
            </fieldset>

            </Show>
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_shown_without_the_token() {
        assert_eq!(
            without_token("http://192.168.1.20:8731/?token=3f5c"),
            "http://192.168.1.20:8731/"
        );
        assert_eq!(without_token("http://h:1/"), "http://h:1/");
    }

    #[test]
    fn times_from_the_server() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:05:00Z")
            .expect("valid")
            .timestamp_millis();
        assert_eq!(ago(Some("2026-11-22T10:00:00Z"), now, "never"), "5 min ago");
        assert_eq!(ago(None, now, "never"), "never");
        assert_eq!(ago(Some("soon"), now, "never"), "soon");
    }

    #[test]
    fn save_status_texts() {
        assert_eq!(saving_text(&Saving::Saved), "Saved");
        assert_eq!(
            saving_text(&Saving::Failed {
                field: None,
                message: "no".into()
            }),
            "no"
        );
    }
}
