//! The Settings screen's retention section: how long messages are kept, and when codes are blanked out.

use leptos::prelude::*;

use super::form::{Form, Retention, Section};

/// The "Retention" card.
#[component]
pub(super) fn RetentionCard(
    /// The settings form.
    form: Form,
) -> impl IntoView {
    let retention = Section::Retention;
    let locked = form.locked;
    view! {
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
            {form.save_row(retention)}
        </fieldset>
    }
}
