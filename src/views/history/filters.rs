//! The History screen's filter bar: what to show (messages or calls), search, sender, modem, date range and
//! "has code", and the query they make. Calls are filtered by modem only; the other fields are disabled for them.

use leptos::prelude::*;

use crate::api::PageQuery;
use crate::reltime;
use crate::state::AppState;

/// The filters a page is fetched with, as typed.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Filters {
    /// Full-text search.
    pub q: String,
    /// Exact sender.
    pub sender: String,
    /// Exact modem id.
    pub modem: String,
    /// Only messages with a code.
    pub has_code: bool,
    /// `YYYY-MM-DD` from the date inputs, in the browser's time zone.
    pub from: String,
    /// The last day, as `from`.
    pub to: String,
    /// List calls instead of messages.
    pub calls: bool,
}

impl Filters {
    /// The query of one page of these results.
    pub fn query(&self, before: Option<i64>, limit: usize, utc_offset_minutes: i32) -> PageQuery {
        let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        PageQuery {
            limit,
            before,
            q: some(&self.q),
            sender: some(&self.sender),
            modem: some(&self.modem),
            has_code: self.has_code,
            since: reltime::day_bound(&self.from, utc_offset_minutes, false),
            until: reltime::day_bound(&self.to, utc_offset_minutes, true),
        }
    }
}

/// The filter bar. `schedule(immediate)` applies what was typed: at once, or after a pause in typing.
#[component]
pub(super) fn FilterBar(
    /// The filters as typed.
    typed: RwSignal<Filters>,
    /// Applies them.
    schedule: Callback<bool>,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let modem_options = move || {
        app.modems
            .with(|ms| ms.iter().map(|m| m.id.clone()).collect::<Vec<_>>())
    };

    let text_input = move |label: &'static str,
                           kind: &'static str,
                           get: fn(&Filters) -> String,
                           set: fn(&mut Filters, String)| {
        view! {
            <label class=if kind == "search" { "field grow" } else { "field" }>
                <span>{label}</span>
                <input
                    type=kind
                    prop:disabled=move || typed.with(|f| f.calls)
                    prop:value=move || typed.with(get)
                    on:input=move |ev| {
                        typed.update(|f| set(f, event_target_value(&ev)));
                        schedule.run(kind != "date");
                    }
                />
            </label>
        }
    };

    view! {
        <form class="filters" role="search" on:submit=move |ev| {
            ev.prevent_default();
            schedule.run(true);
        }>
            <label class="field">
                <span>"Show"</span>
                <select class="history-kind" on:change=move |ev| {
                    typed.update(|f| f.calls = event_target_value(&ev) == "calls");
                    schedule.run(true);
                }>
                    <option value="messages">"Messages"</option>
                    <option value="calls">"Calls"</option>
                </select>
            </label>
            {text_input("Search", "search", |f| f.q.clone(), |f, v| f.q = v)}
            {text_input("Sender", "text", |f| f.sender.clone(), |f, v| f.sender = v)}
            <label class="field">
                <span>"Modem"</span>
                <select on:change=move |ev| {
                    typed.update(|f| f.modem = event_target_value(&ev));
                    schedule.run(true);
                }>
                    <option value="">"All"</option>
                    <For each=modem_options key=|m| m.clone() let:m>
                        <option value=m.clone()>{m.clone()}</option>
                    </For>
                </select>
            </label>
            {text_input("From", "date", |f| f.from.clone(), |f, v| f.from = v)}
            {text_input("To", "date", |f| f.to.clone(), |f, v| f.to = v)}
            <label class="check inline">
                <input
                    type="checkbox"
                    prop:disabled=move || typed.with(|f| f.calls)
                    on:change=move |ev| {
                        typed.update(|f| f.has_code = event_target_checked(&ev));
                        schedule.run(true);
                    }
                />
                <span>"Has code"</span>
            </label>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_query_params() {
        let f = Filters {
            q: " otp ".into(),
            modem: "m1".into(),
            has_code: true,
            from: "2026-11-01".into(),
            ..Default::default()
        };
        let q = f.query(Some(40), 50, 0);
        assert_eq!(
            q.path(),
            "/api/messages?limit=50&before=40&q=otp&modem=m1&since=2026-11-01T00%3A00%3A00.000%2B00%3A00&has_code=true"
        );
    }
}
