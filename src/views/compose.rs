//! The Compose screen: recipient with E.164 validation, a live length counter, and sending with progress.
//!
//! After `POST /api/send` accepts a message, its progress arrives as `sent` frames on the WebSocket (no polling);
//! each message sent from this page keeps its status line and steps (queued → sending → sent → delivered, or
//! failed with the reason). The list lives in the app state, so it survives switching screens, and a reconnect
//! asks once for the status of messages still under way (see `connection.rs`).

use leptos::prelude::*;

use simrelay_protocol::SendStatus;

use crate::outbox::{self, Outgoing, Progress};
use crate::sms_len::{self, normalise_e164};
use crate::state::AppState;

fn status_line(status: Option<&Progress>) -> (String, &'static str) {
    match status {
        None => ("queued…".to_owned(), "state state-connecting"),
        Some(s) => match (s.status, &s.error) {
            (SendStatus::Failed, Some(e)) => (format!("failed: {e}"), "state state-bad"),
            (SendStatus::Failed, None) => ("failed".to_owned(), "state state-bad"),
            (SendStatus::Sent | SendStatus::Delivered, _) => {
                (s.status.as_str().to_owned(), "state state-ok")
            }
            (other, _) => (format!("{}…", other.as_str()), "state state-connecting"),
        },
    }
}

/// One message sent from this page, with its live status.
#[component]
pub(crate) fn SentRow(
    /// The message.
    item: Outgoing,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let id = item.id;
    let status = Memo::new(move |_| app.outbox.with(|o| o.status(id).cloned()));
    let line = move || status.with(|s| status_line(s.as_ref()));
    let steps = move || {
        let current = status.with(|s| s.as_ref().map_or(SendStatus::Queued, |s| s.status));
        outbox::steps(current)
            .into_iter()
            .map(|(label, reached)| {
                let class = match (reached, label) {
                    (true, "failed") => "step step-bad",
                    (true, _) => "step step-on",
                    (false, _) => "step",
                };
                view! { <li class=class>{label}</li> }
            })
            .collect_view()
    };
    view! {
        <li class="msg" data-sent-id=id.to_string()>
            <div class="msg-head">
                <span class="sender">{item.to}</span>
                <span class=move || format!("{} sent-status", line().1) role="status">{move || line().0}</span>
            </div>
            <p class="msg-text">{item.text}</p>
            <ol class="steps" aria-label="Progress">{steps}</ol>
        </li>
    }
}

/// The Compose screen.
#[component]
pub fn Compose() -> impl IntoView {
    let app = expect_context::<AppState>();
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
    let problem = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        to_touched.set(true);
        let Ok(number) = to.with_untracked(|t| normalise_e164(t)) else {
            return;
        };
        let body = text.get_untracked();
        if body.is_empty() {
            problem.set(Some("Write a message first.".into()));
            return;
        }
        problem.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let answer = app.send(number, body, None).await;
            busy.try_set(false);
            match answer {
                Ok(_) => {
                    text.try_set(String::new());
                }
                Err(e) => _ = problem.try_set(Some(e.to_string())),
            }
        });
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
                <p id="compose-counter" class="counter" aria-live="polite">{counter}</p>
                <div class="actions">
                    <button type="submit" class="btn btn-primary" disabled=move || busy.get()>
                        {move || if busy.get() { "Sending…" } else { "Send" }}
                    </button>
                    <span class="error" role="alert">{move || problem.get()}</span>
                </div>
            </form>
            <Show when=move || app.outbox.with(|o| !o.items().is_empty())>
                <h3 class="section-title">"Sent from here"</h3>
                <ol class="msg-list sent-list" aria-label="Sent messages">
                    <For
                        each=move || app.outbox.with(|o| o.items().iter().rev().cloned().collect::<Vec<_>>())
                        key=|o| o.id
                        let:item
                    >
                        <SentRow item=item />
                    </For>
                </ol>
            </Show>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(s: &str, error: Option<&str>) -> Progress {
        Progress {
            id: 1,
            status: s.parse().expect("a status"),
            error: error.map(Into::into),
        }
    }

    #[test]
    fn status_lines() {
        assert_eq!(status_line(Some(&status("queued", None))).0, "queued…");
        assert_eq!(
            status_line(Some(&status("sent", None))),
            ("sent".to_owned(), "state state-ok")
        );
        assert_eq!(
            status_line(Some(&status("failed", Some("no network")))).0,
            "failed: no network"
        );
        assert_eq!(status_line(None).1, "state state-connecting");
    }
}
