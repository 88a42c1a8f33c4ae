//! The user's word over the extractor's, on one message: "Not this one" opens the message's other plausible codes
//! (pick one, and optionally always take that kind of code from this sender), "No code here" drops the code, and
//! "Never from this sender" stops codes from the sender altogether. Each choice is one
//! `PUT /api/messages/{id}/code`; the answer replaces the message in the inbox (and a `code_changed` frame tells
//! every other client).

use leptos::prelude::*;
use simrelay_protocol::Message;

use crate::api;
use crate::state::AppState;

/// "for example.com": the site an origin-bound code is for, shown next to the code.
#[component]
pub fn CodeOriginLabel(
    /// The message whose code it is.
    message: Message,
) -> impl IntoView {
    message.origin.map(|origin| {
        let site = origin.describe();
        view! {
            <span
                class="code-origin"
                title=format!("The sender bound this code to {site}: enter it only there")
            >
                {format!("for {site}")}
            </span>
        }
    })
}

/// "Not this one", "No code here" and the alternatives for `message`.
#[component]
pub fn CodeActions(
    /// The message whose code the user corrects.
    message: Message,
    /// Called with the message as stored after a choice (the inbox is updated either way).
    #[prop(optional)]
    on_changed: Option<Callback<Message>>,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let open = RwSignal::new(false);
    let remember = RwSignal::new(true);
    let busy = RwSignal::new(false);
    let status = RwSignal::new(None::<String>);
    let id = message.id;
    let sender = message.sender.clone();
    let has_code = message.code.is_some();
    let alternatives = message.alternatives.clone();
    if !has_code && alternatives.is_empty() {
        return ().into_any();
    }
    let choose = move |code: Option<String>, remember: bool| {
        let endpoint = app.endpoint.get_value();
        busy.set(true);
        status.set(None);
        leptos::task::spawn_local(async move {
            let choice = api::body::code_choice(code.as_deref(), remember);
            match api::choose_code(&endpoint, id, &choice).await {
                Ok(message) => {
                    if let Some(cb) = on_changed {
                        cb.run(message.clone());
                    }
                    app.inbox.update(|i| i.replace(message));
                    _ = status.try_set(Some("Saved".into()));
                    _ = open.try_set(false);
                }
                Err(e) => _ = status.try_set(Some(e.to_string())),
            }
            _ = busy.try_set(false);
        });
    };
    let toggle_label = if has_code {
        "Not this one"
    } else {
        "Pick the code"
    };
    let panel_id = format!("alternatives-{id}");
    let never_label = StoredValue::new(format!("{sender} never sends codes"));
    let remember_label = StoredValue::new(format!("Always take this kind of code from {sender}"));
    let alternatives = StoredValue::new(alternatives);
    let list = move || {
        alternatives
            .get_value()
            .into_iter()
            .map(|a| {
                let code = a.code.clone();
                view! {
                    <li>
                        <button
                            type="button"
                            class="code code-chip alternative"
                            aria-label=format!("Use {}", a.code)
                            disabled=move || busy.get()
                            on:click=move |_| choose(Some(code.clone()), remember.get_untracked())
                        >
                            {a.code.clone()}
                        </button>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <div class="code-actions">
            <button
                type="button"
                class="link-btn not-this"
                aria-expanded=move || open.get().to_string()
                aria-controls=panel_id.clone()
                on:click=move |_| open.update(|o| *o = !*o)
            >
                {toggle_label}
            </button>
            {has_code.then(|| view! {
                <button
                    type="button"
                    class="link-btn no-code-here"
                    disabled=move || busy.get()
                    on:click=move |_| choose(None, false)
                >
                    "No code here"
                </button>
            })}
            <span class="code-action-status" role="status" aria-live="polite">{move || status.get()}</span>
            <Show when=move || open.get()>
                <div class="alternatives" id=panel_id.clone() role="group" aria-label="Other codes in this message">
                    <ul class="alternative-list">{list}</ul>
                    <Show when=move || alternatives.with_value(Vec::is_empty)>
                        <p class="hint">"No other code-like string in this message."</p>
                    </Show>
                    <label class="check">
                        <input
                            type="checkbox"
                            class="remember"
                            prop:checked=move || remember.get()
                            on:change=move |ev| remember.set(event_target_checked(&ev))
                        />
                        <span>{remember_label.get_value()}</span>
                    </label>
                    <button
                        type="button"
                        class="link-btn never-codes"
                        disabled=move || busy.get()
                        on:click=move |_| choose(None, true)
                    >
                        {never_label.get_value()}
                    </button>
                </div>
            </Show>
        </div>
    }
    .into_any()
}
