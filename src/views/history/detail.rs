//! One message in full: the History screen's detail panel (every field, the raw PDUs, delete) and the screen
//! a notification opens (`#/message/<id>`).

use leptos::prelude::*;
use simrelay_protocol::{Message, MessageDetail};

use crate::api;
use crate::reltime;
use crate::state::AppState;
use crate::views::code_actions::CodeActions;

/// The detail panel of one message: every field, raw PDUs, delete.
#[component]
pub(super) fn DetailPanel(
    /// The message id shown.
    id: i64,
    /// Closes the panel.
    on_close: Callback<()>,
    /// Called after the message was deleted on the server.
    on_deleted: Callback<i64>,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let detail = LocalResource::new(move || {
        let endpoint = app.endpoint.get_value();
        async move { api::message(&endpoint, id).await }
    });
    let error = RwSignal::new(None::<String>);
    let delete = move |_| {
        let confirmed = window()
            .confirm_with_message("Delete this message from SimRelay? This cannot be undone.");
        if !confirmed.unwrap_or(false) {
            return;
        }
        let endpoint = app.endpoint.get_value();
        leptos::task::spawn_local(async move {
            match api::delete(&endpoint, id).await {
                Ok(()) => on_deleted.run(id),
                Err(e) => _ = error.try_set(Some(e.to_string())),
            }
        });
    };
    let fields = move |d: MessageDetail| {
        let m = d.message;
        let actions = view! {
            <CodeActions message=m.clone() on_changed=Callback::new(move |_| detail.refetch()) />
        };
        let code = match (m.code_for_display(), m.confidence) {
            (Some(code), Some(c)) => format!("{code} (confidence {:.0} %)", c * 100.0),
            (Some(code), None) => code,
            (None, _) => "none".into(),
        };
        let rows = [
            ("Id", m.id.to_string()),
            ("Sender", m.sender.clone()),
            ("Modem", m.modem.clone()),
            ("Code", code),
            ("Sent (network time)", reltime::exact(&m.sent_at)),
            ("Received", reltime::exact(&m.received_at)),
            (
                "Encoding",
                m.encoding.clone().unwrap_or_else(|| "unknown".into()),
            ),
            ("Parts", d.pdus.len().to_string()),
            (
                "Complete",
                if m.incomplete {
                    "no: parts are missing".into()
                } else if m.truncated {
                    "no: the message ended before its announced length".into()
                } else {
                    "yes".into()
                },
            ),
            ("Kind", kind_label(&m)),
        ];
        let flash = m.flash.then(|| {
            view! { <dt>"Flash"</dt><dd>"yes: a class 0 message, meant to be shown at once"</dd> }
        });
        let summaries = m.indication_summaries();
        let indications = (!summaries.is_empty()).then(|| {
            view! { <dt>"Indications"</dt><dd>{summaries.join(" \u{b7} ")}</dd> }
        });
        // Binary data has no text: its description stands in, and its bytes are shown in hex below.
        let body = match m.description() {
            Some(description) => {
                view! { <p class="msg-kind msg-binary">{description.to_owned()}</p> }.into_any()
            }
            None => view! { <p class="msg-text">{m.text.clone()}</p> }.into_any(),
        };
        let data = d.data.map(|hex| {
            view! {
                <h4>"Data (hex)"</h4>
                <pre class="hex"><code>{hex}</code></pre>
            }
        });
        view! {
            {actions}
            <dl class="facts">
                {rows.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                {flash}
                {indications}
                {m.decode_error.map(|e| view! { <dt>"Decode error"</dt><dd>{e}</dd> })}
            </dl>
            <h4>"Text"</h4>
            {body}
            {data}
            <h4>"Raw PDUs"</h4>
            <ol class="pdus">
                {d.pdus.into_iter().map(|p| view! { <li><code>{p}</code></li> }).collect_view()}
            </ol>
        }
    };
    // Opened from the keyboard (Enter on a row) or a notification, the panel takes the focus and comes into view,
    // so the next Tab is inside it; on a phone it may open above the visible part of the list.
    let panel = NodeRef::<leptos::html::Section>::new();
    Effect::new(move |_| {
        if let Some(el) = panel.get() {
            el.scroll_into_view_with_bool(true);
            let _ = el.focus();
        }
    });
    view! {
        <section
            node_ref=panel
            class="card detail"
            role="region"
            tabindex="-1"
            aria-label=format!("Details of message {id}")
        >
            <div class="detail-head">
                <h3>"Message details"</h3>
                <button type="button" class="btn" on:click=move |_| on_close.run(())>"Close"</button>
            </div>
            {move || match detail.get() {
                None => view! { <p>"Loading…"</p> }.into_any(),
                Some(Ok(d)) => fields(d).into_any(),
                Some(Err(e)) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
            }}
            <div class="actions">
                <button type="button" class="btn btn-danger" on:click=delete>"Delete"</button>
                <span class="error" role="alert">{move || error.get()}</span>
            </div>
        </section>
    }
}

/// What the message is, for the detail panel: "text", "text to port 5499", or the description of binary data and
/// WAP push.
pub(crate) fn kind_label(m: &Message) -> String {
    match (&m.content, m.description()) {
        (_, Some(description)) => description.to_owned(),
        (Some(content), None) => match content.port {
            Some(port) => format!("text to port {port}"),
            None => "text".into(),
        },
        (None, None) => "text".into(),
    }
}

/// One message on its own (`#/message/<id>`): what a click on a desktop notification opens.
#[component]
pub fn MessageScreen(
    /// The message id.
    id: i64,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let back = move || {
        let _ = location().set_hash("#/history");
    };
    let on_close = Callback::new(move |()| back());
    let on_deleted = Callback::new(move |id: i64| {
        app.inbox.update(|i| i.remove(id));
        back();
    });
    view! {
        <section class="screen message" aria-labelledby="message-title">
            <h2 id="message-title">"Message"</h2>
            <DetailPanel id=id on_close=on_close on_deleted=on_deleted />
        </section>
    }
}
