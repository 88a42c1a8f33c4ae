//! The Settings screen's paired devices section: pairing a device (its link and QR code shown once), the list of
//! paired devices with when each was last seen, and revoking one.

use chrono::DateTime;
use leptos::prelude::*;
use simrelay_protocol::{Device, NewDevice};

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
    let new_device = RwSignal::new(None::<NewDevice>);
    let pair_name = RwSignal::new(String::new());
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
        leptos::task::spawn_local(async move {
            let answer = api::add_device(&endpoint, &name).await;
            pairing_busy.try_set(false);
            match answer {
                Ok(created) => {
                    new_device.try_set(Some(created));
                    pair_name.try_set(String::new());
                    reload.run(());
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
