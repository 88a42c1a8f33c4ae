//! On each modem's card: the "USSD / balance" field (a code such as `*100#`, the network's reply shown as
//! text, never as markup) and the modem's recent calls, loaded from `GET /api/calls` and kept current by the
//! `call` frames.

use leptos::prelude::*;
use simrelay_protocol::{Call, UssdRequest};

use crate::api;
use crate::state::AppState;

/// Calls a card shows.
const SHOWN_CALLS: u32 = 5;

/// The USSD field of one modem.
#[component]
pub(crate) fn Ussd(
    /// The modem's id.
    id: String,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let code = RwSignal::new("*100#".to_owned());
    let busy = RwSignal::new(false);
    let reply = RwSignal::new(None::<(String, bool)>);
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let entered = code.get_untracked().trim().to_owned();
        if let Some(problem) = (UssdRequest {
            code: entered.clone(),
        })
        .problem()
        {
            error.set(Some(problem.to_owned()));
            return;
        }
        let id = id.clone();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let endpoint = app.endpoint.get_value();
            match api::ussd(&endpoint, &id, &entered).await {
                Ok(answer) => {
                    reply.try_set(Some((answer.reply, answer.session_open)));
                    if answer.session_open {
                        // The menu's choice goes in the same field.
                        code.try_set(String::new());
                    }
                }
                Err(e) => {
                    error.try_set(Some(e.to_string()));
                }
            }
            busy.try_set(false);
        });
    };
    view! {
        <form class="ussd" on:submit=submit>
            <label>
                "USSD / balance"
                <input
                    type="text"
                    inputmode="tel"
                    autocomplete="off"
                    maxlength="182"
                    placeholder="*100#"
                    prop:value=move || code.get()
                    on:input=move |ev| code.set(event_target_value(&ev))
                />
            </label>
            <button type="submit" class="btn" disabled=move || busy.get()>
                {move || if busy.get() { "Waiting for the network…" } else { "Send" }}
            </button>
            {move || reply.get().map(|(text, open)| view! {
                <p class="ussd-reply" role="status">
                    <span class="ussd-text">{text}</span>
                    {open.then(|| view! { <span class="hint">" The network waits for your choice: type it above."</span> })}
                </p>
            })}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </form>
    }
}

/// A modem's recent calls.
#[component]
pub(crate) fn RecentCalls(
    /// The modem's id.
    id: String,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let loaded = RwSignal::new(Vec::<Call>::new());
    {
        let id = id.clone();
        leptos::task::spawn_local(async move {
            let endpoint = app.endpoint.get_value();
            match api::calls(&endpoint, Some(&id), SHOWN_CALLS, None).await {
                Ok(page) => {
                    loaded.try_set(page.calls);
                }
                Err(e) => leptos::logging::warn!("cannot load the calls of {id}: {e}"),
            }
        });
    }
    let calls = Memo::new(move |_| {
        let mut all: Vec<Call> = app
            .calls
            .get()
            .into_iter()
            .filter(|c| c.modem == id)
            .collect();
        for call in loaded.get() {
            if !all.iter().any(|c| c.id == call.id) {
                all.push(call);
            }
        }
        all.sort_by_key(|c| std::cmp::Reverse(c.at));
        all.truncate(SHOWN_CALLS as usize);
        all
    });
    view! {
        <Show when=move || !calls.get().is_empty()>
            <div class="modem-calls">
                <h3>"Recent calls"</h3>
                <ul>
                    {move || calls.get().into_iter().map(|call| {
                        let when = call.at.format("%Y-%m-%d %H:%M").to_string();
                        let what = if call.rejected { "rejected" } else { "missed" };
                        view! {
                            <li class="call">
                                <span class="mono">{call.from}</span>
                                " "
                                <time datetime=call.at.to_rfc3339()>{when}</time>
                                " "
                                <span class="muted">{what}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </div>
        </Show>
    }
}
