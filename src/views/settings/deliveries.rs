//! Settings → Deliveries: the outbox's log (`GET /api/deliveries`): where each new message went, how many
//! attempts it took, why the last one failed, and a Replay button (`POST /api/deliveries/{id}/replay`).
//!
//! Errors from receivers are text the server quotes from the network: shown as text nodes only.

use leptos::prelude::*;
use simrelay_protocol::{Delivery, DeliveryStatus};

use crate::api::{self, ApiFailure};
use crate::state::AppState;

/// Rows per page.
const PAGE: u32 = 20;

/// The filter choices, as (value, label).
const FILTERS: [(&str, &str); 4] = [
    ("", "All"),
    ("pending", "Waiting"),
    ("failed", "Failed"),
    ("delivered", "Delivered"),
];

/// What the status column says: `Delivered`, `Waiting for attempt 3, in 2 min`, `Failed after 14 attempts`.
pub(crate) fn status_text(d: &Delivery, now_ms: i64) -> String {
    let attempts = |n: u32| {
        if n == 1 {
            "1 attempt".to_owned()
        } else {
            format!("{n} attempts")
        }
    };
    match d.status {
        DeliveryStatus::Delivered => match d.attempts {
            0 | 1 => "Delivered".to_owned(),
            n => format!("Delivered after {}", attempts(n)),
        },
        DeliveryStatus::Failed => match d.attempts {
            0 => "Failed".to_owned(),
            n => format!("Failed after {}", attempts(n)),
        },
        DeliveryStatus::Pending => {
            let next = d
                .next_try_at
                .as_ref()
                .map(|t| t.timestamp_millis() - now_ms)
                .filter(|ms| *ms > 0)
                .map(|ms| format!(", in {}", span(ms)))
                .unwrap_or_default();
            format!("Waiting for attempt {}{next}", d.attempts.saturating_add(1))
        }
    }
}

/// `40 s`, `3 min`, `2 h` for a span of `ms` milliseconds.
fn span(ms: i64) -> String {
    let secs = (ms + 999) / 1000;
    match secs {
        ..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        _ => format!("{} h", secs / 3600),
    }
}

/// The CSS class of a status badge.
fn badge(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Delivered => "badge badge-ok",
        DeliveryStatus::Pending => "badge badge-warn",
        DeliveryStatus::Failed => "badge badge-bad",
    }
}

/// The delivery log card. `locked`: a LAN browser, which the server refuses the log anyway.
#[component]
pub(crate) fn DeliveriesCard(locked: Signal<bool>) -> impl IntoView {
    let app = expect_context::<AppState>();
    let rows = RwSignal::new(Vec::<Delivery>::new());
    let next = RwSignal::new(None::<i64>);
    let filter = RwSignal::new(None::<DeliveryStatus>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let replayed = RwSignal::new(None::<String>);

    let load = move |more: bool| {
        if locked.get_untracked() {
            return;
        }
        let endpoint = app.endpoint.get_value();
        let status = filter.get_untracked();
        let before = if more { next.get_untracked() } else { None };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let answer = api::deliveries(&endpoint, status, before, PAGE).await;
            busy.try_set(false);
            match answer {
                Ok(page) => {
                    if more {
                        rows.try_update(|r| r.extend(page.deliveries));
                    } else {
                        rows.try_set(page.deliveries);
                    }
                    next.try_set(page.next);
                    error.try_set(None);
                }
                Err(ApiFailure::LoopbackOnly) => {
                    error.try_set(Some(
                        "The delivery log is shown on the computer SimRelay runs on.".into(),
                    ));
                }
                Err(e) => _ = error.try_set(Some(e.to_string())),
            }
        });
    };
    // Loads once this browser is known to manage the server (the screen starts locked), and on each filter.
    Effect::new(move |_| {
        filter.track();
        if !locked.get() {
            load(false);
        }
    });
    let replay = move |id: i64| {
        let endpoint = app.endpoint.get_value();
        leptos::task::spawn_local(async move {
            match api::replay_delivery(&endpoint, id).await {
                Ok(d) => {
                    rows.try_update(|r| {
                        if let Some(row) = r.iter_mut().find(|row| row.id == id) {
                            *row = d.clone();
                        }
                    });
                    replayed.try_set(Some(format!(
                        "Delivery {id} to {} is queued again.",
                        d.target
                    )));
                }
                Err(e) => _ = error.try_set(Some(e.to_string())),
            }
        });
    };

    view! {
        <fieldset class="card" id="settings-deliveries">
            <legend>"Deliveries"</legend>
            <p class="hint">
                "Every message sent to a webhook or forwarder, newest first. Failed attempts are retried for 24 hours \
                 (after 10 s, 20 s, 40 s, …), also across restarts. Replay sends one again with the same event id."
            </p>
            <div class="actions">
                <label class="field inline" for="deliveries-filter">
                    <span>"Show"</span>
                    <select
                        id="deliveries-filter"
                        disabled=move || locked.get()
                        on:change=move |ev| filter.set(DeliveryStatus::parse(&event_target_value(&ev)))
                    >
                        {FILTERS.into_iter().map(|(value, label)| view! {
                            <option value=value selected=move || filter.get().map_or("", DeliveryStatus::as_str) == value>{label}</option>
                        }).collect_view()}
                    </select>
                </label>
                <button type="button" class="btn" id="deliveries-refresh" disabled=move || locked.get() || busy.get() on:click=move |_| load(false)>
                    "Refresh"
                </button>
            </div>
            <p class="save-status" role="status" aria-live="polite">{move || replayed.get()}</p>
            <p class="error" role="alert">{move || error.get()}</p>
            <Show when=move || rows.with(Vec::is_empty) && error.with(Option::is_none) && !busy.get()>
                <p class="hint" id="no-deliveries">"Nothing delivered yet: add a forwarder or a hook URL, and the next message shows up here."</p>
            </Show>
            <table class="deliveries" aria-label="Deliveries">
                <tbody>
                    <For each=move || rows.get() key=|d| (d.id, d.attempts, d.status.as_str()) let:d>
                        {
                            let id = d.id;
                            let status = d.status;
                            let row = d.clone();
                            let when = d.created_at;
                            view! {
                                <tr class="delivery" data-delivery-id=id.to_string() data-status=status.as_str()>
                                    <td class="delivery-target">
                                        <span class="delivery-name">{d.target.clone()}</span>
                                        <small>{d.kind.as_str()}</small>
                                    </td>
                                    <td class="delivery-message">
                                        {d.message_id.map_or_else(|| "message deleted".to_owned(), |m| format!("message {m}"))}
                                        <small>{move || crate::reltime::relative(&when, app.now_ms.get())}</small>
                                    </td>
                                    <td class="delivery-status">
                                        <span class=badge(status)>{move || status_text(&row, app.now_ms.get())}</span>
                                        {d.last_error.clone().map(|e| view! { <small class="delivery-error">{e}</small> })}
                                    </td>
                                    <td class="delivery-actions">
                                        <button
                                            type="button"
                                            class="btn"
                                            aria-label=format!("Replay delivery {id}")
                                            disabled=move || locked.get()
                                            on:click=move |_| replay(id)
                                        >
                                            "Replay"
                                        </button>
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            <Show when=move || next.with(Option::is_some)>
                <button type="button" class="btn" id="deliveries-more" disabled=move || busy.get() on:click=move |_| load(true)>
                    "Older deliveries"
                </button>
            </Show>
        </fieldset>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // Run by wasm-bindgen-test-runner in the browser, with the component tests (plain #[test]s are not).
    use chrono::DateTime;
    use simrelay_protocol::ForwarderKind;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn delivery(status: DeliveryStatus, attempts: u32) -> Delivery {
        Delivery {
            id: 1,
            event_id: "e".into(),
            target: "hook_url".into(),
            kind: ForwarderKind::Webhook,
            message_id: Some(42),
            status,
            attempts,
            created_at: DateTime::parse_from_rfc3339("2026-11-22T09:00:00Z").expect("time"),
            next_try_at: None,
            last_try_at: None,
            delivered_at: None,
            last_error: None,
        }
    }

    #[wasm_bindgen_test]
    fn the_status_says_how_it_went() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T09:00:00Z")
            .expect("time")
            .timestamp_millis();
        assert_eq!(
            status_text(&delivery(DeliveryStatus::Delivered, 1), now),
            "Delivered"
        );
        assert_eq!(
            status_text(&delivery(DeliveryStatus::Delivered, 3), now),
            "Delivered after 3 attempts"
        );
        assert_eq!(
            status_text(&delivery(DeliveryStatus::Failed, 14), now),
            "Failed after 14 attempts"
        );
        assert_eq!(
            status_text(&delivery(DeliveryStatus::Pending, 0), now),
            "Waiting for attempt 1"
        );
        let mut later = delivery(DeliveryStatus::Pending, 2);
        later.next_try_at =
            Some(DateTime::parse_from_rfc3339("2026-11-22T09:02:00Z").expect("time"));
        assert_eq!(status_text(&later, now), "Waiting for attempt 3, in 2 min");
        assert_eq!(span(40_000), "40 s");
        assert_eq!(span(7_200_000), "2 h");
    }
}
