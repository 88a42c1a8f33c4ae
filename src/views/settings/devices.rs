//! The Settings screen's paired devices section: pairing a device (a one-time pairing code as a link and a QR
//! code, with the certificate's fingerprint to compare on the phone), the list of paired devices with what each
//! may do and when it was last seen, and revoking one.

use chrono::DateTime;
use leptos::prelude::*;
use simrelay_protocol::{Device, PairingCode, Scope, Scopes};

use super::lan::LinkCard;
use super::Access;
use crate::api::{self, ApiFailure};
use crate::reltime;
use crate::state::AppState;

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

/// What a device's scopes let it do, in words.
fn scopes_text(scopes: Scopes) -> String {
    let mut can: Vec<&str> = Vec::new();
    if scopes.has(Scope::Read) {
        can.push("read messages");
    }
    if scopes.has(Scope::Send) {
        can.push("send SMS");
    }
    if scopes.has(Scope::Admin) {
        can.push("change settings");
    }
    if can.is_empty() {
        "may do nothing".to_owned()
    } else {
        format!("may {}", can.join(", "))
    }
}

/// `HH:MM` of an RFC 3339 time in the time zone `utc_offset_minutes` east of UTC; the text itself if it does not
/// parse.
fn clock(t: &str, utc_offset_minutes: i32) -> String {
    let zone = chrono::FixedOffset::east_opt(utc_offset_minutes * 60)
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("UTC"));
    match DateTime::parse_from_rfc3339(t) {
        Ok(t) => t.with_timezone(&zone).format("%H:%M").to_string(),
        Err(_) => t.to_owned(),
    }
}

/// This browser's offset from UTC, in minutes east.
fn browser_utc_offset() -> i32 {
    -(js_sys::Date::new_0().get_timezone_offset() as i32)
}

/// The "Paired devices" card. `devices` and `devices_error` are what the screen last read with `reload`.
#[component]
pub(super) fn DevicesCard(
    /// Whether this browser may change the settings.
    access: RwSignal<Access>,
    /// True while it may not.
    locked: Signal<bool>,
    /// The paired devices.
    devices: RwSignal<Vec<Device>>,
    /// Why they could not be read.
    devices_error: RwSignal<Option<String>>,
    /// Reads the devices again.
    reload: Callback<()>,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let new_device = RwSignal::new(None::<PairingCode>);
    let pair_name = RwSignal::new(String::new());
    let pair_admin = RwSignal::new(false);
    let pair_error = RwSignal::new(None::<String>);
    let pairing_busy = RwSignal::new(false);
    let revoke_error = RwSignal::new(None::<String>);
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
        let endpoint = app.endpoint.get_value();
        let admin = pair_admin.get_untracked();
        leptos::task::spawn_local(async move {
            let answer = api::start_pairing(&endpoint, &name, admin).await;
            pairing_busy.try_set(false);
            match answer {
                Ok(code) => {
                    new_device.try_set(Some(code));
                    pair_name.try_set(String::new());
                    pair_admin.try_set(false);
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
        let endpoint = app.endpoint.get_value();
        leptos::task::spawn_local(async move {
            match api::revoke_device(&endpoint, &id).await {
                Ok(()) => {
                    devices.try_update(|list| list.retain(|d| d.id != id));
                    revoke_error.try_set(None);
                    reload.run(());
                }
                Err(e) => _ = revoke_error.try_set(Some(e.to_string())),
            }
        });
    };

    view! {
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
                        <label class="check" for="pair-admin">
                            <input
                                id="pair-admin"
                                type="checkbox"
                                prop:checked=move || pair_admin.get()
                                on:change=move |ev| pair_admin.set(event_target_checked(&ev))
                            />
                            <span>
                                "May change settings"
                                <small>"Off: the device reads messages and sends SMS only."</small>
                            </span>
                        </label>
                        <button type="submit" class="btn btn-primary" disabled=move || pairing_busy.get()>
                            {move || if pairing_busy.get() { "Pairing…" } else { "Pair" }}
                        </button>
                    </form>
                    <p id="pair-error" class="field-error" aria-live="polite">{move || pair_error.get()}</p>
                    {move || new_device.get().map(|code| {
                        let name = code.name.clone();
                        let until = clock(&code.expires_at, browser_utc_offset());
                        let scopes = scopes_text(code.scopes);
                        let fingerprint = code.fingerprint.clone();
                        view! {
                            <section class="new-device" aria-labelledby="new-device-title">
                                <h3 id="new-device-title">{format!("Pair \u{201c}{name}\u{201d}")}</h3>
                                <p>{format!(
                                    "Scan the code with the other device's camera, or open the link on it. It works once, until {until}; the device then gets its own access ({scopes})."
                                )}</p>
                                {code.links.into_iter().map(|link| view! { <LinkCard link=link /> }).collect_view()}
                                {fingerprint.map(|fp| view! {
                                    <p class="fingerprint" id="pair-fingerprint">
                                        "The connection is encrypted. If the phone asks about the certificate, check that it shows this SHA-256 fingerprint: "
                                        <code class="link-text">{fp}</code>
                                    </p>
                                })}
                                <button type="button" class="btn" id="pair-done" on:click=move |_| { new_device.set(None); reload.run(()); }>"Done"</button>
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
                                let scopes = scopes_text(d.scopes);
                                view! {
                                    <li class="device" data-device-id=d.id.clone()>
                                        <div class="device-info">
                                            <span class="device-name">{d.name.clone()}</span>
                                            <span class="device-scopes">{scopes}</span>
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_in_the_browsers_time() {
        assert_eq!(clock("2026-11-22T09:10:00Z", 60), "10:10");
        assert_eq!(clock("2026-11-22T09:10:00Z", -300), "04:10");
        assert_eq!(clock("soon", 0), "soon");
    }

    #[test]
    fn scopes_in_words() {
        assert_eq!(
            scopes_text(Scopes::DEFAULT_DEVICE),
            "may read messages, send SMS"
        );
        assert_eq!(
            scopes_text(Scopes::ALL),
            "may read messages, send SMS, change settings"
        );
        assert_eq!(scopes_text(Scopes::default()), "may do nothing");
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
}
