//! The form the Settings screen's sections share: the draft and its checks, and the signals and widgets each
//! section is built from.
//!
//! The settings are `simrelay_protocol`'s [`Settings`], shared with the engine and the desktop shell. The screen
//! edits a [`Draft`] (numbers as the user typed them); [`Draft::patch`] checks one section and turns it into the
//! [`SettingsPatch`] of `PATCH /api/settings`, naming the field when something is wrong, before the server gets to
//! refuse it. [`Form`] holds the draft, what is unsaved and how each save went, and draws the inputs, whose ids
//! (`set-<field>`) and error lines (`err-<field>`) are named after the server's fields.

use leptos::prelude::*;
use simrelay_protocol::{Notifications, Settings, SettingsPatch};

use crate::api::{self, ApiFailure};
use crate::state::AppState;

/// The label of a notification mode in the form.
pub fn mode_label(mode: Notifications) -> &'static str {
    match mode {
        Notifications::Codes => "Only messages with a code",
        Notifications::All => "Every message",
        Notifications::None => "None",
    }
}

/// A hook command (program and arguments) as one editable line; arguments with spaces or quotes are quoted.
pub fn command_line(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.is_empty() || a.contains([' ', '"', '\'', '\t', '\\']) {
                format!("\"{}\"", a.replace('\\', "\\\\").replace('"', "\\\""))
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Splits a command line into program and arguments: spaces separate, `"..."` and `'...'` group, `\` escapes.
pub fn split_command(line: &str) -> Result<Vec<String>, String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut in_arg = false;
    let mut quote = None::<char>;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') if quote != Some('\'') => match chars.next() {
                Some(next) => {
                    current.push(next);
                    in_arg = true;
                }
                None => return Err("ends with a lone \\".into()),
            },
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_arg = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_arg {
                    args.push(std::mem::take(&mut current));
                    in_arg = false;
                }
            }
            (None, c) => {
                current.push(c);
                in_arg = true;
            }
        }
    }
    if quote.is_some() {
        return Err("has a quote that is not closed".into());
    }
    if in_arg {
        args.push(current);
    }
    Ok(args)
}

/// How long messages are kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Retention {
    /// Keep everything.
    #[default]
    All,
    /// Delete messages older than N days.
    Days,
    /// Keep the N newest messages.
    Messages,
}

/// The parts of the Settings form that are saved together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Notifications and clipboard.
    Notifications,
    /// Retention and code purging.
    Retention,
    /// Hooks.
    Hooks,
}

/// Which section a server-side field belongs to, for placing the server's error message.
pub fn section_of(field: &str) -> Option<Section> {
    match field {
        "notifications" | "auto_copy" | "clear_clipboard_secs" | "hide_code" => {
            Some(Section::Notifications)
        }
        "retention_days" | "retention_messages" | "purge_codes_after_minutes" => {
            Some(Section::Retention)
        }
        "hook_command" | "hook_url" | "hook_only_codes" => Some(Section::Hooks),
        _ => None,
    }
}

/// What is wrong with a field of the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The server's name of the field (`retention_days`), also the input's id suffix.
    pub field: &'static str,
    /// What to fix, for a person.
    pub message: String,
}

/// The editable form: numbers and text as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    /// Notification mode.
    pub notifications: Notifications,
    /// Auto-copy new codes.
    pub auto_copy: bool,
    /// Seconds before the clipboard is cleared, as typed.
    pub clear_clipboard_secs: String,
    /// Hide codes in notifications.
    pub hide_code: bool,
    /// Retention mode.
    pub retention: Retention,
    /// Days, as typed.
    pub retention_days: String,
    /// Messages, as typed.
    pub retention_messages: String,
    /// Whether codes are purged.
    pub purge_codes: bool,
    /// Minutes, as typed.
    pub purge_minutes: String,
    /// The hook command line.
    pub hook_command: String,
    /// The hook URL.
    pub hook_url: String,
    /// Hooks only for codes.
    pub hook_only_codes: bool,
}

fn number(
    field: &'static str,
    typed: &str,
    min: u32,
    max: u32,
    unit: &str,
) -> Result<u32, FieldError> {
    let typed = typed.trim();
    let err = |message: String| FieldError { field, message };
    if typed.is_empty() {
        return Err(err(format!("Enter a number of {unit}.")));
    }
    let n: u32 = typed.parse().map_err(|_| {
        err(format!(
            "\u{201c}{typed}\u{201d} is not a whole number of {unit}."
        ))
    })?;
    if n < min || n > max {
        return Err(err(format!("Enter between {min} and {max} {unit}.")));
    }
    Ok(n)
}

impl Draft {
    /// The form showing `s`.
    pub fn from_settings(s: &Settings) -> Self {
        let text = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
        Self {
            notifications: s.notifications,
            auto_copy: s.auto_copy,
            clear_clipboard_secs: s.clear_clipboard_secs.to_string(),
            hide_code: s.hide_code,
            retention: match (s.retention_days, s.retention_messages) {
                (Some(_), _) => Retention::Days,
                (None, Some(_)) => Retention::Messages,
                (None, None) => Retention::All,
            },
            retention_days: text(s.retention_days),
            retention_messages: text(s.retention_messages),
            purge_codes: s.purge_codes_after_minutes.is_some(),
            purge_minutes: text(s.purge_codes_after_minutes),
            hook_command: s
                .hook_command
                .as_deref()
                .map(command_line)
                .unwrap_or_default(),
            hook_url: s.hook_url.clone().unwrap_or_default(),
            hook_only_codes: s.hook_only_codes,
        }
    }

    /// Replaces the fields of `section` with what `s` says (a settings frame from elsewhere), keeping the rest.
    pub fn refresh(&mut self, section: Section, s: &Settings) {
        let fresh = Draft::from_settings(s);
        match section {
            Section::Notifications => {
                self.notifications = fresh.notifications;
                self.auto_copy = fresh.auto_copy;
                self.clear_clipboard_secs = fresh.clear_clipboard_secs;
                self.hide_code = fresh.hide_code;
            }
            Section::Retention => {
                self.retention = fresh.retention;
                self.retention_days = fresh.retention_days;
                self.retention_messages = fresh.retention_messages;
                self.purge_codes = fresh.purge_codes;
                self.purge_minutes = fresh.purge_minutes;
            }
            Section::Hooks => {
                self.hook_command = fresh.hook_command;
                self.hook_url = fresh.hook_url;
                self.hook_only_codes = fresh.hook_only_codes;
            }
        }
    }

    /// The `PATCH /api/settings` body for `section`, or the first field that needs fixing.
    pub fn patch(&self, section: Section) -> Result<SettingsPatch, FieldError> {
        Ok(match section {
            Section::Notifications => SettingsPatch {
                notifications: Some(self.notifications),
                auto_copy: Some(self.auto_copy),
                clear_clipboard_secs: Some(number(
                    "clear_clipboard_secs",
                    &self.clear_clipboard_secs,
                    0,
                    86_400,
                    "seconds (0 keeps it)",
                )?),
                hide_code: Some(self.hide_code),
                ..SettingsPatch::default()
            },
            Section::Retention => {
                let (days, messages) = match self.retention {
                    Retention::All => (None, None),
                    Retention::Days => (
                        Some(number(
                            "retention_days",
                            &self.retention_days,
                            1,
                            36_500,
                            "days",
                        )?),
                        None,
                    ),
                    Retention::Messages => (
                        None,
                        Some(number(
                            "retention_messages",
                            &self.retention_messages,
                            1,
                            100_000_000,
                            "messages",
                        )?),
                    ),
                };
                let purge = if self.purge_codes {
                    Some(number(
                        "purge_codes_after_minutes",
                        &self.purge_minutes,
                        1,
                        525_600,
                        "minutes",
                    )?)
                } else {
                    None
                };
                SettingsPatch {
                    retention_days: Some(days),
                    retention_messages: Some(messages),
                    purge_codes_after_minutes: Some(purge),
                    ..SettingsPatch::default()
                }
            }
            Section::Hooks => {
                let line = self.hook_command.trim();
                let command = if line.is_empty() {
                    None
                } else {
                    Some(split_command(line).map_err(|why| FieldError {
                        field: "hook_command",
                        message: format!("The command {why}."),
                    })?)
                };
                let url = self.hook_url.trim();
                if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(FieldError {
                        field: "hook_url",
                        message: "The URL must start with http:// or https://.".into(),
                    });
                }
                SettingsPatch {
                    hook_command: Some(command),
                    hook_url: Some((!url.is_empty()).then(|| url.to_owned())),
                    hook_only_codes: Some(self.hook_only_codes),
                    ..SettingsPatch::default()
                }
            }
        })
    }
}

/// Where saving a section stands.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum Saving {
    /// Nothing to report.
    #[default]
    Idle,
    /// The PATCH is under way.
    Busy,
    /// The server took it.
    Saved,
    /// What went wrong; `field` places it next to an input.
    Failed {
        /// The server's name of the field, when the failure is about one.
        field: Option<String>,
        /// What went wrong, for a person.
        message: String,
    },
}

/// The sections saved one at a time.
pub(super) const SECTIONS: [Section; 3] =
    [Section::Notifications, Section::Retention, Section::Hooks];

fn index(section: Section) -> usize {
    match section {
        Section::Notifications => 0,
        Section::Retention => 1,
        Section::Hooks => 2,
    }
}

/// The status text after a section's Save button.
pub(super) fn saving_text(s: &Saving) -> String {
    match s {
        Saving::Idle => String::new(),
        Saving::Busy => "Saving…".into(),
        Saving::Saved => "Saved".into(),
        Saving::Failed { message, .. } => message.clone(),
    }
}

/// The signals of the server-settings form, shared by the sections and the field helpers below.
#[derive(Clone, Copy)]
pub(crate) struct Form {
    app: AppState,
    /// The form as typed.
    pub draft: RwSignal<Draft>,
    /// Which sections have unsaved changes.
    pub dirty: RwSignal<[bool; 3]>,
    /// How each section's last save went.
    pub saving: RwSignal<[Saving; 3]>,
    /// True while this browser may not change the settings.
    pub locked: Signal<bool>,
}

impl Form {
    /// The form showing the settings `app` knows, if any.
    pub fn new(app: AppState, locked: Signal<bool>) -> Form {
        Form {
            app,
            draft: RwSignal::new(
                app.server_settings
                    .with_untracked(|s| s.as_ref().map(Draft::from_settings))
                    .unwrap_or_default(),
            ),
            dirty: RwSignal::new([false; 3]),
            saving: RwSignal::new(Default::default()),
            locked,
        }
    }

    /// Shows settings changed elsewhere (a `settings` frame, the tray) in every section the user is not editing.
    pub fn follow(self, settings: &Settings) {
        let dirty = self.dirty.get_untracked();
        self.draft.update(|d| {
            for section in SECTIONS {
                if !dirty[index(section)] {
                    d.refresh(section, settings);
                }
            }
        });
    }

    /// Checks `section` and saves it with `PATCH /api/settings`; a refused field is shown next to its input.
    pub fn save(self, section: Section) {
        let i = index(section);
        let body = match self.draft.with_untracked(|d| d.patch(section)) {
            Ok(body) => body,
            Err(FieldError { field, message }) => {
                self.saving.update(|s| {
                    s[i] = Saving::Failed {
                        field: Some(field.to_owned()),
                        message,
                    }
                });
                return;
            }
        };
        self.saving.update(|s| s[i] = Saving::Busy);
        let (app, form) = (self.app, self);
        let endpoint = app.endpoint.get_value();
        leptos::task::spawn_local(async move {
            match api::patch_settings(&endpoint, &body).await {
                Ok(new) => {
                    form.dirty.try_update(|d| d[i] = false);
                    form.draft.try_update(|d| d.refresh(section, &new));
                    app.server_settings.try_set(Some(new));
                    form.saving.try_update(|s| s[i] = Saving::Saved);
                }
                Err(ApiFailure::InvalidSetting { field, detail }) => {
                    let at = field.as_deref().and_then(section_of).map_or(i, index);
                    form.saving.try_update(|s| {
                        s[i] = Saving::Idle;
                        s[at] = Saving::Failed {
                            field,
                            message: detail,
                        };
                    });
                }
                Err(e) => {
                    form.saving.try_update(|s| {
                        s[i] = Saving::Failed {
                            field: None,
                            message: e.to_string(),
                        }
                    });
                }
            }
        });
    }

    /// Applies an edit to `section`: it is now unsaved.
    pub fn edit(self, section: Section, change: impl FnOnce(&mut Draft)) {
        let i = index(section);
        self.draft.update(change);
        self.dirty.update(|d| d[i] = true);
        self.saving.update(|s| s[i] = Saving::Idle);
    }

    /// The error message for `field`, if the last save of its section failed on it.
    pub fn error_for(self, section: Section, field: &'static str) -> Option<String> {
        self.saving.with(|s| match &s[index(section)] {
            Saving::Failed {
                field: Some(f),
                message,
            } if f == field => Some(message.clone()),
            _ => None,
        })
    }

    pub fn check(
        self,
        section: Section,
        id: &'static str,
        label: &'static str,
        hint: &'static str,
        get: fn(&Draft) -> bool,
        set: fn(&mut Draft, bool),
    ) -> impl IntoView {
        view! {
            <label class="check" for=id>
                <input
                    id=id
                    type="checkbox"
                    prop:checked=move || self.draft.with(get)
                    disabled=move || self.locked.get()
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        self.edit(section, |d| set(d, on));
                    }
                />
                <span>
                    {label}
                    {(!hint.is_empty()).then(|| view! { <small>{hint}</small> })}
                </span>
            </label>
        }
    }

    /// A whole-number input for server field `field` (its id is `set-<field>`).
    pub fn number(
        self,
        section: Section,
        field: &'static str,
        label: &'static str,
        get: fn(&Draft) -> String,
        set: fn(&mut Draft, String),
        active: fn(&Draft) -> bool,
    ) -> impl IntoView {
        let id = format!("set-{field}");
        let label_for = id.clone();
        let err_id = format!("err-{field}");
        let described_by = err_id.clone();
        view! {
            <label class="field number" for=label_for>
                <span>{label}</span>
                <input
                    id=id
                    type="text"
                    inputmode="numeric"
                    autocomplete="off"
                    size="8"
                    aria-describedby=described_by
                    aria-invalid=move || if self.error_for(section, field).is_some() { "true" } else { "false" }
                    prop:value=move || self.draft.with(get)
                    disabled=move || self.locked.get() || !self.draft.with(active)
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        self.edit(section, |d| set(d, v));
                    }
                />
            </label>
            <p id=err_id class="field-error" aria-live="polite">{move || self.error_for(section, field)}</p>
        }
    }

    /// The Save button of a section and where it stands.
    pub fn save_row(self, section: Section) -> impl IntoView {
        let i = index(section);
        view! {
            <div class="actions">
                <button
                    type="button"
                    class="btn btn-primary"
                    disabled=move || self.locked.get() || self.saving.with(|s| s[i] == Saving::Busy)
                    on:click=move |_| self.save(section)
                >
                    "Save"
                </button>
                <span
                    class=move || self.saving.with(|s| match s[i] {
                        Saving::Failed { .. } => "save-status error",
                        Saving::Saved => "save-status saved",
                        _ => "save-status",
                    })
                    role="status"
                    aria-live="polite"
                >
                    {move || self.saving.with(|s| saving_text(&s[i]))}
                    {move || (self.dirty.with(|d| d[i]) && self.saving.with(|s| s[i] == Saving::Idle)).then_some("Unsaved changes")}
                </span>
            </div>
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const CONTRACT: &str = r#"{"lan":false,"notifications":"codes","auto_copy":false,"clear_clipboard_secs":60,"hide_code":false,"retention_days":null,"retention_messages":null,"purge_codes_after_minutes":null,"hook_command":null,"hook_url":null,"hook_only_codes":false}"#;

    #[test]
    fn contract_json_parses_and_partial_json_gets_defaults() {
        let s: Settings = serde_json::from_str(CONTRACT).expect("parses");
        assert_eq!(s, Settings::default());
        let s: Settings =
            serde_json::from_str(r#"{"lan":true,"hook_command":["/bin/x","a b"],"future":1}"#)
                .expect("parses");
        assert!(s.lan);
        assert_eq!(s.clear_clipboard_secs, 60);
        assert_eq!(
            s.hook_command.as_deref().map(command_line).as_deref(),
            Some("/bin/x \"a b\"")
        );
    }

    /// A patch as the server reads it.
    fn json(patch: SettingsPatch) -> serde_json::Value {
        serde_json::to_value(patch).expect("serialises")
    }

    /// Settings with every section changed from the defaults (also the contract test's).
    pub(crate) fn example() -> Settings {
        Settings {
            notifications: Notifications::All,
            clear_clipboard_secs: 30,
            retention_days: Some(7),
            purge_codes_after_minutes: Some(15),
            hook_command: Some(vec!["/bin/true".into(), "a b".into()]),
            hook_url: Some("http://127.0.0.1:9/h".into()),
            ..Settings::default()
        }
    }

    #[test]
    fn draft_round_trips_through_patch() {
        let d = Draft::from_settings(&example());
        assert_eq!(d.retention, Retention::Days);
        assert_eq!(
            json(d.patch(Section::Notifications).expect("valid")),
            serde_json::json!({"notifications":"all","auto_copy":false,"clear_clipboard_secs":30,"hide_code":false})
        );
        assert_eq!(
            json(d.patch(Section::Retention).expect("valid")),
            serde_json::json!({"retention_days":7,"retention_messages":null,"purge_codes_after_minutes":15})
        );
        assert_eq!(
            json(d.patch(Section::Hooks).expect("valid")),
            serde_json::json!({"hook_command":["/bin/true","a b"],"hook_url":"http://127.0.0.1:9/h","hook_only_codes":false})
        );
    }

    #[test]
    fn bad_numbers_name_the_field() {
        let mut d = Draft::from_settings(&Settings::default());
        d.clear_clipboard_secs = "ten".into();
        let e = d.patch(Section::Notifications).expect_err("invalid");
        assert_eq!(e.field, "clear_clipboard_secs");
        assert!(e.message.contains("whole number"), "{}", e.message);
        d.retention = Retention::Messages;
        d.retention_messages = "0".into();
        let e = d.patch(Section::Retention).expect_err("invalid");
        assert_eq!(e.field, "retention_messages");
        d.retention = Retention::All;
        d.purge_codes = true;
        d.purge_minutes = " ".into();
        assert_eq!(
            d.patch(Section::Retention).expect_err("invalid").field,
            "purge_codes_after_minutes"
        );
        d.hook_url = "ftp://x".into();
        assert_eq!(
            d.patch(Section::Hooks).expect_err("invalid").field,
            "hook_url"
        );
    }

    #[test]
    fn command_lines_split_like_a_shell_would_without_running_one() {
        assert_eq!(
            split_command(r#"/bin/notify-send "New code" it\'s 'a "b"'"#).expect("ok"),
            vec!["/bin/notify-send", "New code", "it's", "a \"b\""]
        );
        assert_eq!(split_command("  ").expect("ok"), Vec::<String>::new());
        assert_eq!(split_command(r#"x """#).expect("ok"), vec!["x", ""]);
        assert!(split_command("\"open").is_err());
        assert!(split_command("x \\").is_err());
        let args = vec!["/bin/x".to_owned(), "a \"b\" c".to_owned(), String::new()];
        assert_eq!(split_command(&command_line(&args)).expect("ok"), args);
    }

    #[test]
    fn server_errors_find_their_section() {
        assert_eq!(section_of("retention_days"), Some(Section::Retention));
        assert_eq!(section_of("hook_url"), Some(Section::Hooks));
        assert_eq!(section_of("lan"), None);
    }

    #[test]
    fn save_status_texts() {
        assert_eq!(saving_text(&Saving::Saved), "Saved");
        assert_eq!(
            saving_text(&Saving::Failed {
                field: None,
                message: "no".into()
            }),
            "no"
        );
    }
}
