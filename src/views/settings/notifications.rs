//! The Settings screen's desktop notifications section: which messages notify, auto-copy, the clipboard delay,
//! hidden codes.

use leptos::prelude::*;
use simrelay_protocol::Notifications;

use super::form::{mode_label, Form, Section};

/// The "Desktop notifications" card.
#[component]
pub(super) fn NotificationsCard(
    /// The settings form.
    form: Form,
) -> impl IntoView {
    let notifications = Section::Notifications;
    let locked = form.locked;
    view! {
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
            {form.save_row(notifications)}
        </fieldset>
    }
}
