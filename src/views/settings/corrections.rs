//! Settings › Code corrections: what the user told SimRelay about senders' codes ("this sender's code is the
//! 8-digit one", "this sender never sends codes"), listed with `GET /api/corrections` and removed with
//! `DELETE /api/corrections/{sender}`. A correction is made on a message ("Not this one", "Never from this
//! sender"); here it can only be seen and undone.

use leptos::prelude::*;
use simrelay_protocol::CodeCorrection;

use crate::api;
use crate::reltime;
use crate::state::AppState;

/// The list of corrections, each with a Remove button.
#[component]
pub fn CorrectionsSection() -> impl IntoView {
    let app = expect_context::<AppState>();
    let corrections = RwSignal::new(None::<Vec<CodeCorrection>>);
    let error = RwSignal::new(None::<String>);
    let load = move || {
        let endpoint = app.endpoint.get_value();
        leptos::task::spawn_local(async move {
            match api::corrections(&endpoint).await {
                Ok(list) => {
                    _ = corrections.try_set(Some(list));
                    _ = error.try_set(None);
                }
                Err(e) => _ = error.try_set(Some(e.to_string())),
            }
        });
    };
    load();
    let remove = move |sender: String| {
        let endpoint = app.endpoint.get_value();
        leptos::task::spawn_local(async move {
            match api::remove_correction(&endpoint, &sender).await {
                Ok(()) => load(),
                Err(e) => _ = error.try_set(Some(e.to_string())),
            }
        });
    };
    view! {
        <fieldset class="card" id="settings-corrections">
            <legend>"Code corrections"</legend>
            <p class="hint">
                "What you told SimRelay about a sender's codes, with \u{201c}Not this one\u{201d} or \u{201c}never sends codes\u{201d} on a message. It decides that sender's later messages, also for /api/codes/wait."
            </p>
            <ul class="corrections" aria-label="Code corrections">
                <For
                    each=move || corrections.get().unwrap_or_default()
                    key=|c| (c.sender.clone(), c.created_at)
                    let:c
                >
                    {
                        let sender = c.sender.clone();
                        let created = c.created_at;
                        view! {
                            <li class="correction" data-sender=c.sender.clone()>
                                <div class="device-info">
                                    <span class="device-name">{c.sender.clone()}</span>
                                    <span class="hint">
                                        {move || format!(
                                            "{} · set {}",
                                            c.rule.describe(),
                                            reltime::relative(&created, app.now_ms.get()),
                                        )}
                                    </span>
                                </div>
                                <button
                                    type="button"
                                    class="btn btn-danger"
                                    aria-label=format!("Remove the correction for {sender}")
                                    on:click=move |_| remove(sender.clone())
                                >
                                    "Remove"
                                </button>
                            </li>
                        }
                    }
                </For>
            </ul>
            <Show when=move || corrections.with(|c| c.as_ref().is_some_and(Vec::is_empty))>
                <p class="hint" id="no-corrections">"No correction yet."</p>
            </Show>
            <p class="error" role="alert">{move || error.get()}</p>
        </fieldset>
    }
}
