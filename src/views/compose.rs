//! The Compose screen: recipient with E.164 validation and a live length counter.

use leptos::prelude::*;

use crate::sms_len::{self, normalise_e164};

/// The Compose screen.
#[component]
pub fn Compose() -> impl IntoView {
    let to = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    // Errors show once the user left the field or tried to send, not while they are still typing.
    let to_touched = RwSignal::new(false);
    let to_error = move || {
        if !to_touched.get() {
            return None;
        }
        to.with(|t| normalise_e164(t).err().map(|e| e.to_string()))
    };
    let counter = move || {
        let m = text.with(|t| sms_len::measure(t));
        let parts = if m.parts == 1 {
            "1 part".to_owned()
        } else {
            format!("{} parts", m.parts)
        };
        format!(
            "{} characters · {} · {}",
            m.chars,
            parts,
            m.alphabet.label()
        )
    };
    let status = RwSignal::new(None::<String>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        to_touched.set(true);
        if to.with_untracked(|t| normalise_e164(t).is_err()) {
            return;
        }
        if text.with_untracked(|t| t.is_empty()) {
            status.set(Some("Write a message first.".into()));
            return;
        }
        status.set(Some("This SimRelay server cannot send SMS yet.".into()));
    };
    view! {
        <section class="screen compose" aria-labelledby="compose-title">
            <h2 id="compose-title">"Compose"</h2>
            <form class="card" on:submit=on_submit novalidate=true>
                <label class="field" for="compose-to">
                    <span>"To"</span>
                </label>
                <input
                    id="compose-to"
                    type="tel"
                    inputmode="tel"
                    autocomplete="tel"
                    placeholder="+491701234567"
                    aria-describedby="compose-to-error"
                    aria-invalid=move || if to_error().is_some() { "true" } else { "false" }
                    prop:value=move || to.get()
                    on:input=move |ev| to.set(event_target_value(&ev))
                    on:blur=move |_| to_touched.set(true)
                />
                <p id="compose-to-error" class="field-error" aria-live="polite">
                    {to_error}
                </p>
                <label class="field" for="compose-text">
                    <span>"Message"</span>
                </label>
                <textarea
                    id="compose-text"
                    rows="5"
                    aria-describedby="compose-counter"
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))
                ></textarea>
                <p id="compose-counter" class="counter">{counter}</p>
                <div class="actions">
                    <button type="submit" class="btn btn-primary">"Send"</button>
                    <span class="send-status" role="status">{move || status.get()}</span>
                </div>
            </form>
        </section>
    }
}
