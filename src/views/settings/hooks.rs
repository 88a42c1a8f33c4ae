//! The Settings screen's hooks section: a program and a URL run for each new message.

use leptos::prelude::*;

use super::form::{Form, Section};

/// The "Hooks" card.
#[component]
pub(super) fn HooksCard(
    /// The settings form.
    form: Form,
) -> impl IntoView {
    let hooks = Section::Hooks;
    let locked = form.locked;
    view! {
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
                <span>"URL (gets each message as a signed JSON POST, retried until it succeeds; see Deliveries)"</span>
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
            {form.save_row(hooks)}
        </fieldset>
    }
}
