//! The server's settings and paired devices as the UI reads and edits them, and the form logic around them.
//!
//! The settings and devices are `simrelay_protocol`'s types, shared with the engine and the desktop shell. The
//! Settings screen edits a [`Draft`] (numbers as the user typed them); [`Draft::patch`] checks one section and
//! turns it into the [`SettingsPatch`] of `PATCH /api/settings`, naming the field when something is wrong, before
//! the server gets to refuse it.

use simrelay_protocol::{Notifications, Settings, SettingsPatch};

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

/// An `<img src>` for a QR code SVG from our server: a `data:` URL, so the markup is parsed as an isolated image
/// (no scripts, no access to the page) and never inserted into the page's DOM. Anything that does not look like
/// an SVG document gives `None`.
pub fn qr_data_url(svg: &str) -> Option<String> {
    let trimmed = svg.trim_start();
    let looks_like_svg = trimmed.starts_with("<svg") || trimmed.starts_with("<?xml");
    if !looks_like_svg || !svg.contains("</svg>") {
        return None;
    }
    Some(format!(
        "data:image/svg+xml;charset=utf-8,{}",
        crate::endpoint::percent_encode(svg)
    ))
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
    fn only_svg_becomes_a_data_url() {
        let url =
            qr_data_url(r#"<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0h1"/></svg>"#)
                .expect("svg");
        assert!(url.starts_with("data:image/svg+xml;charset=utf-8,%3Csvg"));
        assert!(!url.contains('<') && !url.contains('"') && !url.contains('#'));
        assert_eq!(qr_data_url("<img src=x onerror=alert(1)>"), None);
        assert_eq!(qr_data_url("javascript:alert(1)</svg>"), None);
    }

    #[test]
    fn server_errors_find_their_section() {
        assert_eq!(section_of("retention_days"), Some(Section::Retention));
        assert_eq!(section_of("hook_url"), Some(Section::Hooks));
        assert_eq!(section_of("lan"), None);
    }
}
