//! The Compose screen: recipient with E.164 validation, a live length counter, and sending with progress.
//!
//! After `POST /api/send` accepts a message, its status is polled until it is final, and each message sent from
//! this page keeps its own status line (queued → sending → sent, or failed with the reason).

use std::time::Duration;

use leptos::prelude::*;

use crate::api::{self, SendRequest, SentStatus};
use crate::sms_len::{self, normalise_e164};
use crate::state::AppState;

/// Time between two status checks of a message being sent.
const POLL: Duration = Duration::from_secs(1);
/// Status checks before giving up on showing progress (the message itself keeps going on the server).
const MAX_POLLS: u32 = 120;

/// One message sent from this page.
#[derive(Debug, Clone, PartialEq)]
struct Outgoing {
    to: String,
    text: String,
    status: Result<SentStatus, String>,
}

fn status_line(status: &Result<SentStatus, String>) -> (String, &'static str) {
    match status {
        Err(e) => (e.clone(), "state state-bad"),
        Ok(s) => match (s.status.as_str(), &s.error) {
            ("failed", Some(e)) => (format!("failed: {e}"), "state state-bad"),
            ("failed", None) => ("failed".to_owned(), "state state-bad"),
            ("sent" | "delivered", _) => (s.status.clone(), "state state-ok"),
            (other, _) => (format!("{other}…"), "state state-connecting"),
        },
    }
}

/// Polls `/api/sent/{id}` until the status is final, updating entry `index` of `outgoing`.
async fn follow(app: AppState, outgoing: RwSignal<Vec<Outgoing>>, index: usize, id: i64) {
    let endpoint = app.endpoint.get_value();
    for _ in 0..MAX_POLLS {
        gloo_timers::future::sleep(POLL).await;
        let Ok(status) = api::sent(&endpoint, id).await else {
            continue;
        };
        let done = status.is_final();
        let still_here = outgoing.try_update(|list| {
            if let Some(item) = list.get_mut(index) {
                item.status = Ok(status);
            }
        });
        if done || still_here.is_none() {
            return;
        }
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
    let outgoing = RwSignal::new(Vec::<Outgoing>::new());
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
        let endpoint = app.endpoint.get_value();
        leptos::task::spawn_local(async move {
            let request = SendRequest {
                to: number.clone(),
                text: body.clone(),
            };
            let answer = api::send(&endpoint, &request).await;
            busy.try_set(false);
            match answer {
                Ok(status) => {
                    let id = status.id;
                    let final_already = status.is_final();
                    let mut index = 0;
                    outgoing.try_update(|list| {
                        list.push(Outgoing {
                            to: number,
                            text: body,
                            status: Ok(status),
                        });
                        index = list.len() - 1;
                    });
                    text.try_set(String::new());
                    if !final_already {
                        follow(app, outgoing, index, id).await;
                    }
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
            <Show when=move || outgoing.with(|o| !o.is_empty())>
                <h3 class="section-title">"Sent from here"</h3>
                <ol class="msg-list sent-list" aria-label="Sent messages">
                    {move || {
                        outgoing
                            .get()
                            .into_iter()
                            .rev()
                            .map(|o| {
                                let (line, class) = status_line(&o.status);
                                view! {
                                    <li class="msg">
                                        <div class="msg-head">
                                            <span class="sender">{o.to}</span>
                                            <span class=format!("{class} sent-status") role="status">{line}</span>
                                        </div>
                                        <p class="msg-text">{o.text}</p>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ol>
            </Show>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(s: &str, error: Option<&str>) -> Result<SentStatus, String> {
        Ok(SentStatus {
            id: 1,
            status: s.into(),
            error: error.map(Into::into),
            parts: None,
        })
    }

    #[test]
    fn status_lines() {
        assert_eq!(status_line(&status("queued", None)).0, "queued…");
        assert_eq!(
            status_line(&status("sent", None)),
            ("sent".to_owned(), "state state-ok")
        );
        assert_eq!(
            status_line(&status("failed", Some("no network"))).0,
            "failed: no network"
        );
        assert_eq!(
            status_line(&Err("Cannot reach SimRelay".into())).1,
            "state state-bad"
        );
    }
}
