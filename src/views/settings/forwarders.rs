//! Settings → Forwarders: where new messages are forwarded through the outbox (webhooks, ntfy, Gotify, Telegram,
//! e-mail), edited one at a time and saved as the whole `forwarders` list (`PATCH /api/settings`), plus the key
//! that signs webhook requests (`hook_secret`).
//!
//! The engine checks every field (one set of rules for the config file and this form) and names the one that is
//! wrong (`forwarders[2].topic: ...`); the form shows that message next to the editor.

use leptos::prelude::*;
use simrelay_protocol::{Forwarder, ForwarderKind, SmtpSecurity};

use crate::api::{self, ApiFailure};
use crate::state::AppState;

/// A kind's name in the form.
pub(crate) fn kind_label(kind: ForwarderKind) -> &'static str {
    match kind {
        ForwarderKind::Webhook => "Webhook",
        ForwarderKind::Ntfy => "ntfy",
        ForwarderKind::Gotify => "Gotify",
        ForwarderKind::Telegram => "Telegram",
        ForwarderKind::Email => "E-mail",
    }
}

/// One input of the editor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field {
    /// The forwarder's field (and the input's id suffix).
    pub key: &'static str,
    pub label: &'static str,
    pub placeholder: &'static str,
    /// A password-style input.
    pub secret: bool,
}

const fn field(key: &'static str, label: &'static str, placeholder: &'static str) -> Field {
    Field {
        key,
        label,
        placeholder,
        secret: false,
    }
}

const fn secret(key: &'static str, label: &'static str, placeholder: &'static str) -> Field {
    Field {
        key,
        label,
        placeholder,
        secret: true,
    }
}

const WEBHOOK: &[Field] = &[
    field(
        "url",
        "URL (gets each message as a signed JSON POST)",
        "https://example.org/sms",
    ),
    secret(
        "secret",
        "Signing key (empty: the webhook signing key below)",
        "",
    ),
];
const NTFY: &[Field] = &[
    field("url", "Server (empty: https://ntfy.sh)", "https://ntfy.sh"),
    field(
        "topic",
        "Topic (on ntfy.sh the topic is the password: make it unguessable)",
        "simrelay-k3j4h5",
    ),
    secret("token", "Access token (for a protected topic)", "tk_..."),
];
const GOTIFY: &[Field] = &[
    field("url", "Server", "https://push.example.org"),
    secret("token", "Application token (Gotify → Apps)", ""),
];
const TELEGRAM: &[Field] = &[
    secret(
        "token",
        "Bot token (from @BotFather)",
        "123456789:ABC-DEF...",
    ),
    field("chat_id", "Chat (a number, or @channelname)", "123456789"),
    field(
        "url",
        "Bot API server (empty: https://api.telegram.org)",
        "https://api.telegram.org",
    ),
];
const EMAIL: &[Field] = &[
    field("smtp_host", "SMTP server", "smtp.example.org"),
    field(
        "smtp_port",
        "Port (empty: 587, 465 or 25 by the security below)",
        "587",
    ),
    field("smtp_username", "Login", "sms@example.org"),
    secret("smtp_password", "Password", ""),
    field("from", "From", "SimRelay <sms@example.org>"),
    field("to", "To (comma-separated)", "me@example.org"),
    field(
        "smtp_ca_file",
        "CA file on the server (empty: the public CAs)",
        "/etc/simrelay/mail-ca.pem",
    ),
];

/// The inputs a kind needs, in order (the filters come after, for every kind).
pub(crate) fn fields(kind: ForwarderKind) -> &'static [Field] {
    match kind {
        ForwarderKind::Webhook => WEBHOOK,
        ForwarderKind::Ntfy => NTFY,
        ForwarderKind::Gotify => GOTIFY,
        ForwarderKind::Telegram => TELEGRAM,
        ForwarderKind::Email => EMAIL,
    }
}

/// The form's copy of one forwarder: every field as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Draft {
    pub kind: ForwarderKind,
    pub name: String,
    /// Text fields by key (see [`fields`]), plus `sender` and `modem`.
    pub text: std::collections::BTreeMap<&'static str, String>,
    pub smtp_security: SmtpSecurity,
    pub only_codes: bool,
}

/// Every text field a draft keeps (for the tests' check that each kind's inputs are among them).
#[cfg(test)]
const TEXT_KEYS: [&str; 13] = [
    "url",
    "secret",
    "topic",
    "token",
    "chat_id",
    "to",
    "from",
    "smtp_host",
    "smtp_port",
    "smtp_username",
    "smtp_password",
    "smtp_ca_file",
    "sender",
];

impl Draft {
    /// An empty forwarder of `kind`.
    pub(crate) fn new(kind: ForwarderKind) -> Draft {
        Draft::of(&Forwarder::new("", kind))
    }

    /// The form's copy of `f`.
    pub(crate) fn of(f: &Forwarder) -> Draft {
        let mut text = std::collections::BTreeMap::new();
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        for (key, value) in [
            ("url", opt(&f.url)),
            ("secret", opt(&f.secret)),
            ("topic", opt(&f.topic)),
            ("token", opt(&f.token)),
            ("chat_id", opt(&f.chat_id)),
            ("to", f.to.join(", ")),
            ("from", opt(&f.from)),
            ("smtp_host", opt(&f.smtp_host)),
            (
                "smtp_port",
                f.smtp_port.map(|p| p.to_string()).unwrap_or_default(),
            ),
            ("smtp_username", opt(&f.smtp_username)),
            ("smtp_password", opt(&f.smtp_password)),
            ("smtp_ca_file", opt(&f.smtp_ca_file)),
            ("sender", opt(&f.sender)),
            ("modem", opt(&f.modem)),
        ] {
            text.insert(key, value);
        }
        Draft {
            kind: f.kind,
            name: f.name.clone(),
            text,
            smtp_security: f.smtp_security,
            only_codes: f.only_codes,
        }
    }

    pub(crate) fn get(&self, key: &str) -> String {
        self.text.get(key).cloned().unwrap_or_default()
    }

    pub(crate) fn set(&mut self, key: &'static str, value: String) {
        self.text.insert(key, value);
    }

    /// The forwarder, with only the fields its kind uses (so switching kinds leaves nothing behind); `Err`
    /// names the field the form can tell is wrong. The engine checks the rest.
    pub(crate) fn forwarder(&self) -> Result<Forwarder, (&'static str, String)> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err((
                "name",
                "Give it a name, such as phone or bank-codes.".into(),
            ));
        }
        let mut f = Forwarder::new(name, self.kind);
        let used: Vec<&str> = fields(self.kind)
            .iter()
            .map(|f| f.key)
            .chain(["sender", "modem"])
            .collect();
        let value = |key: &str| {
            let v = self.get(key).trim().to_owned();
            (used.contains(&key) && !v.is_empty()).then_some(v)
        };
        f.url = value("url");
        f.secret = value("secret");
        f.topic = value("topic");
        f.token = value("token");
        f.chat_id = value("chat_id");
        f.from = value("from");
        f.smtp_host = value("smtp_host");
        f.smtp_username = value("smtp_username");
        f.smtp_password = value("smtp_password");
        f.smtp_ca_file = value("smtp_ca_file");
        f.sender = value("sender");
        f.modem = value("modem");
        f.to = value("to")
            .map(|to| {
                to.split([',', '\n'])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        f.smtp_port = match value("smtp_port") {
            None => None,
            Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or((
                "smtp_port",
                "The port is a number from 1 to 65535.".to_owned(),
            ))?),
        };
        if self.kind == ForwarderKind::Email {
            f.smtp_security = self.smtp_security;
        }
        f.only_codes = self.only_codes;
        Ok(f)
    }
}

/// One line about where a forwarder sends and what it takes, without any secret.
pub(crate) fn summary(f: &Forwarder) -> String {
    let target = match f.kind {
        ForwarderKind::Webhook => f.url.clone().unwrap_or_default(),
        ForwarderKind::Ntfy => format!(
            "{} · topic {}",
            f.url.as_deref().unwrap_or("https://ntfy.sh"),
            f.topic.as_deref().unwrap_or("?")
        ),
        ForwarderKind::Gotify => f.url.clone().unwrap_or_default(),
        ForwarderKind::Telegram => format!("chat {}", f.chat_id.as_deref().unwrap_or("?")),
        ForwarderKind::Email => format!(
            "{} via {}",
            f.to.join(", "),
            f.smtp_host.as_deref().unwrap_or("?")
        ),
    };
    let mut filters = Vec::new();
    if f.only_codes {
        filters.push("codes only".to_owned());
    }
    if let Some(sender) = &f.sender {
        filters.push(format!("from {sender}"));
    }
    if let Some(modem) = &f.modem {
        filters.push(format!("modem {modem}"));
    }
    let filters = if filters.is_empty() {
        "every message".to_owned()
    } else {
        filters.join(", ")
    };
    format!("{} · {target} · {filters}", kind_label(f.kind))
}

/// Where the editor is.
#[derive(Debug, Clone, PartialEq)]
struct Editing {
    /// The forwarder's place in the list; `None` for a new one.
    at: Option<usize>,
    draft: Draft,
    error: Option<String>,
    busy: bool,
}

/// The Forwarders card. `locked`: this browser may not change the settings.
#[component]
pub(crate) fn ForwardersCard(locked: Signal<bool>) -> impl IntoView {
    let app = expect_context::<AppState>();
    let list = move || {
        app.server_settings
            .with(|s| s.as_ref().map(|s| s.forwarders.clone()).unwrap_or_default())
    };
    let editing = RwSignal::new(None::<Editing>);
    let status = RwSignal::new(None::<String>);
    let show_key = RwSignal::new(false);

    // Saves `forwarders` as the whole list; `then` runs on success.
    let save_list = move |forwarders: Vec<Forwarder>, done: &'static str| {
        let endpoint = app.endpoint.get_value();
        editing.update(|e| {
            if let Some(e) = e {
                e.busy = true;
                e.error = None;
            }
        });
        leptos::task::spawn_local(async move {
            let change = simrelay_protocol::SettingsPatch {
                forwarders: Some(forwarders),
                ..simrelay_protocol::SettingsPatch::default()
            };
            match api::patch_settings(&endpoint, &change).await {
                Ok(new) => {
                    app.server_settings.try_set(Some(new));
                    editing.try_set(None);
                    status.try_set(Some(done.to_owned()));
                }
                Err(e) => {
                    let message = match e {
                        ApiFailure::InvalidSetting { detail, .. } => detail,
                        other => other.to_string(),
                    };
                    let shown = editing.try_update(|ed| match ed {
                        Some(ed) => {
                            ed.busy = false;
                            ed.error = Some(message.clone());
                            true
                        }
                        None => false,
                    });
                    if shown != Some(true) {
                        status.try_set(Some(message));
                    }
                }
            }
        });
    };
    let save = move |_| {
        let Some(current) = editing.get_untracked() else {
            return;
        };
        let forwarder = match current.draft.forwarder() {
            Ok(f) => f,
            Err((field, message)) => {
                editing.update(|e| {
                    if let Some(e) = e {
                        e.error = Some(format!("{field}: {message}"));
                    }
                });
                return;
            }
        };
        let mut forwarders = list();
        match current.at.filter(|i| *i < forwarders.len()) {
            Some(i) => forwarders[i] = forwarder,
            None => forwarders.push(forwarder),
        }
        save_list(forwarders, "Saved: the next message goes there.");
    };
    let remove = move |i: usize, name: String| {
        let question =
            format!("Stop forwarding to \u{201c}{name}\u{201d}? Its queued deliveries fail.");
        if !window().confirm_with_message(&question).unwrap_or(false) {
            return;
        }
        let mut forwarders = list();
        if i < forwarders.len() {
            forwarders.remove(i);
            save_list(forwarders, "Removed.");
        }
    };
    let key = move || {
        app.server_settings
            .with(|s| s.as_ref().and_then(|s| s.hook_secret.clone()))
            .unwrap_or_default()
    };
    let copied = RwSignal::new(None::<bool>);
    let copy_key = move |_| {
        let k = key();
        leptos::task::spawn_local(async move {
            copied.try_set(Some(crate::clipboard::copy(&k).await));
        });
    };

    view! {
        <fieldset class="card" id="settings-forwarders">
            <legend>"Forwarders"</legend>
            <p class="hint">
                "Forward each new message to a webhook, ntfy, Gotify, Telegram or e-mail. Each delivery is kept and retried \
                 until it succeeds (see Deliveries below). The message text is untrusted: it is sent as plain text."
            </p>
            <ul class="forwarders" aria-label="Forwarders">
                {move || list().into_iter().enumerate().map(|(i, f)| {
                    let name = f.name.clone();
                    let draft = Draft::of(&f);
                    view! {
                        <li class="forwarder" data-forwarder=f.name.clone()>
                            <div class="forwarder-info">
                                <span class="forwarder-name">{f.name.clone()}</span>
                                <small>{summary(&f)}</small>
                            </div>
                            <div class="actions">
                                <button type="button" class="btn" disabled=move || locked.get()
                                    aria-label=format!("Edit {}", f.name)
                                    on:click=move |_| editing.set(Some(Editing { at: Some(i), draft: draft.clone(), error: None, busy: false }))>
                                    "Edit"
                                </button>
                                <button type="button" class="btn btn-danger" disabled=move || locked.get()
                                    aria-label=format!("Remove {}", f.name)
                                    on:click=move |_| remove(i, name.clone())>
                                    "Remove"
                                </button>
                            </div>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <Show when=move || list().is_empty()>
                <p class="hint" id="no-forwarders">"No forwarder yet."</p>
            </Show>
            <div class="actions">
                <label class="field inline" for="forwarder-add-kind">
                    <span>"Add"</span>
                    <select id="forwarder-add-kind" disabled=move || locked.get()
                        on:change=move |ev| {
                            if let Some(kind) = ForwarderKind::parse(&event_target_value(&ev)) {
                                editing.set(Some(Editing { at: None, draft: Draft::new(kind), error: None, busy: false }));
                                status.set(None);
                            }
                        }>
                        <option value="" selected=true>"choose a kind…"</option>
                        {ForwarderKind::ALL.into_iter().map(|k| view! { <option value=k.as_str()>{kind_label(k)}</option> }).collect_view()}
                    </select>
                </label>
            </div>
            <p class="save-status" role="status" aria-live="polite">{move || status.get()}</p>
            {move || editing.get().map(|current| {
                let kind = current.draft.kind;
                let title = match current.at {
                    Some(_) => format!("Edit {}", current.draft.name),
                    None => format!("New {} forwarder", kind_label(kind)),
                };
                let text_input = move |f: Field| {
                    let id = format!("forwarder-{}", f.key);
                    let label_for = id.clone();
                    view! {
                        <label class="field" for=label_for>
                            <span>{f.label}</span>
                            <input
                                id=id
                                type=if f.secret { "password" } else { "text" }
                                autocomplete="off"
                                spellcheck="false"
                                placeholder=f.placeholder
                                prop:value=move || editing.with(|e| e.as_ref().map(|e| e.draft.get(f.key)).unwrap_or_default())
                                on:input=move |ev| {
                                    let v = event_target_value(&ev);
                                    editing.update(|e| if let Some(e) = e { e.draft.set(f.key, v) });
                                }
                            />
                        </label>
                    }
                };
                view! {
                    <section class="forwarder-editor" aria-labelledby="forwarder-editor-title">
                        <h3 id="forwarder-editor-title">{title}</h3>
                        <label class="field" for="forwarder-name">
                            <span>"Name (letters, digits, _ - .)"</span>
                            <input id="forwarder-name" type="text" maxlength="64" autocomplete="off"
                                prop:value=move || editing.with(|e| e.as_ref().map(|e| e.draft.name.clone()).unwrap_or_default())
                                on:input=move |ev| {
                                    let v = event_target_value(&ev);
                                    editing.update(|e| if let Some(e) = e { e.draft.name = v });
                                } />
                        </label>
                        {fields(kind).iter().copied().map(text_input).collect_view()}
                        {(kind == ForwarderKind::Email).then(|| view! {
                            <label class="field" for="forwarder-smtp_security">
                                <span>"Security"</span>
                                <select id="forwarder-smtp_security" on:change=move |ev| {
                                    let security = match event_target_value(&ev).as_str() {
                                        "tls" => SmtpSecurity::Tls,
                                        "none" => SmtpSecurity::None,
                                        _ => SmtpSecurity::Starttls,
                                    };
                                    editing.update(|e| if let Some(e) = e { e.draft.smtp_security = security });
                                }>
                                    {[("starttls", "STARTTLS (port 587)", SmtpSecurity::Starttls), ("tls", "TLS (port 465)", SmtpSecurity::Tls), ("none", "None (a relay on this machine only)", SmtpSecurity::None)]
                                        .into_iter()
                                        .map(|(value, label, s)| view! {
                                            <option value=value selected=move || editing.with(|e| e.as_ref().is_some_and(|e| e.draft.smtp_security == s))>{label}</option>
                                        })
                                        .collect_view()}
                                </select>
                            </label>
                        })}
                        <label class="check" for="forwarder-only_codes">
                            <input id="forwarder-only_codes" type="checkbox"
                                prop:checked=move || editing.with(|e| e.as_ref().is_some_and(|e| e.draft.only_codes))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    editing.update(|e| if let Some(e) = e { e.draft.only_codes = on });
                                } />
                            <span>"Only messages with a code"</span>
                        </label>
                        {text_input(field("sender", "Only from senders matching (* any characters, ? one; empty: all)", "*Bank*"))}
                        {text_input(field("modem", "Only from modem (its id; empty: all)", "imei:356938035643809"))}
                        <p class="field-error" id="forwarder-error" role="alert">{move || editing.with(|e| e.as_ref().and_then(|e| e.error.clone()))}</p>
                        <div class="actions">
                            <button type="button" class="btn btn-primary" id="forwarder-save"
                                disabled=move || locked.get() || editing.with(|e| e.as_ref().is_some_and(|e| e.busy))
                                on:click=save>
                                "Save"
                            </button>
                            <button type="button" class="btn" on:click=move |_| editing.set(None)>"Cancel"</button>
                        </div>
                    </section>
                }
            })}
            <div class="signing-key">
                <p class="hint">
                    "Webhooks are signed with this key: X-SimRelay-Signature is sha256= and the HMAC-SHA256 of \
                     \u{201c}timestamp.body\u{201d} (see docs/INTEGRATIONS.md). Give it to the receiver."
                </p>
                <code class="link-text" id="hook-secret">
                    {move || if show_key.get() { key() } else { "\u{2022}".repeat(16) }}
                </code>
                <div class="actions">
                    <button type="button" class="btn" on:click=move |_| show_key.update(|s| *s = !*s)>
                        {move || if show_key.get() { "Hide" } else { "Show" }}
                    </button>
                    <button type="button" class="btn" on:click=copy_key>"Copy key"</button>
                    <span class="copy-status" role="status" aria-live="polite">
                        {move || match copied.get() { Some(true) => "Copied", Some(false) => "Copy failed", None => "" }}
                    </span>
                </div>
            </div>
        </fieldset>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // Run by wasm-bindgen-test-runner in the browser, with the component tests (plain #[test]s are not).
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn a_draft_keeps_only_its_kinds_fields_and_reads_lists_and_ports() {
        let mut d = Draft::new(ForwarderKind::Email);
        d.name = " mail ".into();
        d.set("smtp_host", "smtp.example.org".into());
        d.set("smtp_port", "465".into());
        d.set("to", "a@example.org, b@example.org\n".into());
        d.set("topic", "left over from ntfy".into());
        d.smtp_security = SmtpSecurity::Tls;
        d.only_codes = true;
        d.set("sender", " *Bank* ".into());
        let f = d.forwarder().expect("valid");
        assert_eq!(f.name, "mail");
        assert_eq!(f.smtp_port, Some(465));
        assert_eq!(f.to, ["a@example.org", "b@example.org"]);
        assert_eq!(f.topic, None, "not an e-mail field");
        assert_eq!(f.sender.as_deref(), Some("*Bank*"));
        assert_eq!(f.smtp_security, SmtpSecurity::Tls);
        assert_eq!(Draft::of(&f).forwarder(), Ok(f.clone()));
        d.set("smtp_port", "70000".into());
        assert_eq!(d.forwarder().map_err(|(field, _)| field), Err("smtp_port"));
        d.name = "  ".into();
        assert_eq!(d.forwarder().map_err(|(field, _)| field), Err("name"));
    }

    #[wasm_bindgen_test]
    fn summaries_say_where_and_what_without_secrets() {
        let mut f = Forwarder::new("phone", ForwarderKind::Ntfy);
        f.topic = Some("sms".into());
        f.token = Some("tk_secret".into());
        f.only_codes = true;
        f.sender = Some("*Bank*".into());
        let s = summary(&f);
        assert_eq!(
            s,
            "ntfy · https://ntfy.sh · topic sms · codes only, from *Bank*"
        );
        assert!(!s.contains("tk_secret"));
        let mut t = Forwarder::new("tg", ForwarderKind::Telegram);
        t.token = Some("123:ABC".into());
        t.chat_id = Some("42".into());
        assert_eq!(summary(&t), "Telegram · chat 42 · every message");
        for kind in ForwarderKind::ALL {
            assert!(!fields(kind).is_empty());
            assert!(fields(kind).iter().all(|f| TEXT_KEYS.contains(&f.key)));
        }
    }
}
