//! Run-time settings ([`Settings`]): checking a change ([`SettingsPatch`]) field by field, and keeping the changed
//! ones in SQLite (table `settings`, one JSON value per changed key) so they survive a restart.
//!
//! Every change is checked by one path, [`parse_patch`], on its JSON form: a `PATCH /api/settings` body, a typed
//! patch from the desktop shell ([`check`]) and a value read back from the database alike.
//!
//! Only keys that were changed at run time are stored: a key never changed in the UI keeps following the
//! config file and the environment. The precedence is spelled out in `docs/API.md` ("Settings").
//!
//! Nodes of a cluster share the table, except `lan`: sharing on the LAN opens one machine's listeners, so each
//! node keeps its own, stored as `lan@<node>` (a single relay, node `""`, keeps `lan`).

use chrono::Utc;
use serde_json::{Map, Value};
use simrelay_protocol::{Notifications, Settings, SettingsPatch};
use sqlx::Row;

use super::{on_db, Retention, Store, StoreError};
use crate::hooks::Hooks;

/// Every setting's name, in the order the API shows them.
pub const SETTING_KEYS: &[&str] = &[
    "lan",
    "notifications",
    "auto_copy",
    "clear_clipboard_secs",
    "hide_code",
    "retention_days",
    "retention_messages",
    "purge_codes_after_minutes",
    "hook_command",
    "hook_url",
    "hook_only_codes",
    "hook_secret",
    "forwarders",
];

/// Longest clipboard-clearing delay: a day.
const MAX_CLEAR_SECS: u64 = 86_400;
/// Longest retention in days: a century is "keep", said explicitly.
const MAX_DAYS: u64 = 36_500;
/// Most arguments and longest argument of a hook command, and longest hook URL.
const MAX_ARGS: usize = 64;
const MAX_ARG_CHARS: usize = 4096;
const MAX_URL_CHARS: usize = 2048;

/// A setting that cannot take the value given: `detail` is `"<field>: <what to do>"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SettingError {
    /// The field.
    pub field: String,
    /// What is wrong and what to send instead.
    pub message: String,
}

fn invalid(field: &str, message: impl Into<String>) -> SettingError {
    SettingError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Sets `key` of `patch` to the JSON `value`, checking it.
fn set_field(patch: &mut SettingsPatch, key: &str, value: &Value) -> Result<(), SettingError> {
    let boolean = || {
        value
            .as_bool()
            .ok_or_else(|| invalid(key, "must be true or false"))
    };
    match key {
        "lan" => patch.lan = Some(boolean()?),
        "auto_copy" => patch.auto_copy = Some(boolean()?),
        "hide_code" => patch.hide_code = Some(boolean()?),
        "hook_only_codes" => patch.hook_only_codes = Some(boolean()?),
        "notifications" => {
            let mode = value
                .as_str()
                .and_then(|name| name.parse::<Notifications>().ok());
            patch.notifications =
                Some(mode.ok_or_else(|| invalid(key, "must be \"codes\", \"all\" or \"none\""))?);
        }
        "clear_clipboard_secs" => {
            patch.clear_clipboard_secs = Some(
                number(value, 0, MAX_CLEAR_SECS)
                    .map_err(|m| invalid(key, format!("{m} (0 = never clear)")))?,
            );
        }
        "retention_days" => patch.retention_days = Some(optional(key, value, MAX_DAYS)?),
        "retention_messages" => {
            patch.retention_messages = Some(optional(key, value, u64::from(u32::MAX))?);
        }
        "purge_codes_after_minutes" => {
            patch.purge_codes_after_minutes = Some(optional(key, value, u64::from(u32::MAX))?);
        }
        "hook_command" => patch.hook_command = Some(command(value)?),
        "hook_url" => patch.hook_url = Some(url(value)?),
        "hook_secret" => patch.hook_secret = Some(secret(value)?),
        "forwarders" => patch.forwarders = Some(forwarders(value)?),
        _ => {
            return Err(invalid(
                key,
                format!(
                    "unknown setting; the settings are {}",
                    SETTING_KEYS.join(", ")
                ),
            ))
        }
    }
    Ok(())
}

fn number(value: &Value, min: u64, max: u64) -> Result<u32, String> {
    value
        .as_u64()
        .filter(|n| (min..=max).contains(n))
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("must be a whole number from {min} to {max}"))
}

/// `null` (keep everything) or a positive whole number.
fn optional(key: &str, value: &Value, max: u64) -> Result<Option<u32>, SettingError> {
    if value.is_null() {
        return Ok(None);
    }
    number(value, 1, max)
        .map(Some)
        .map_err(|m| invalid(key, format!("{m}, or null to keep everything")))
}

fn command(value: &Value) -> Result<Option<Vec<String>>, SettingError> {
    const KEY: &str = "hook_command";
    let shape = || {
        invalid(
            KEY,
            "must be null or an array of strings: the program, then its arguments \
             (no shell), e.g. [\"/usr/local/bin/notify-otp\", \"--quiet\"]",
        )
    };
    if value.is_null() {
        return Ok(None);
    }
    let items = value.as_array().ok_or_else(shape)?;
    if items.is_empty() || items.len() > MAX_ARGS {
        return Err(invalid(
            KEY,
            format!(
                "must hold the program and at most {} arguments; use null for no command",
                MAX_ARGS - 1
            ),
        ));
    }
    let mut argv = Vec::with_capacity(items.len());
    for item in items {
        let arg = item.as_str().ok_or_else(shape)?;
        if arg.chars().count() > MAX_ARG_CHARS || arg.contains('\0') {
            return Err(invalid(
                KEY,
                format!("each argument must be at most {MAX_ARG_CHARS} characters, without NUL"),
            ));
        }
        argv.push(arg.to_owned());
    }
    if argv[0].trim().is_empty() {
        return Err(invalid(KEY, "the program (first element) is empty"));
    }
    Ok(Some(argv))
}

fn url(value: &Value) -> Result<Option<String>, SettingError> {
    const KEY: &str = "hook_url";
    if value.is_null() {
        return Ok(None);
    }
    let text = value
        .as_str()
        .map(str::trim)
        .ok_or_else(|| invalid(KEY, "must be null or an http:// or https:// URL"))?;
    let parsed = reqwest::Url::parse(text)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if parsed.is_none() || text.chars().count() > MAX_URL_CHARS {
        return Err(invalid(
            KEY,
            format!(
                "must be an http:// or https:// URL of at most {MAX_URL_CHARS} characters, or null"
            ),
        ));
    }
    Ok(Some(text.to_owned()))
}

fn secret(value: &Value) -> Result<String, SettingError> {
    const KEY: &str = "hook_secret";
    let min = crate::deliver::MIN_SECRET;
    value
        .as_str()
        .filter(|s| (min..=512).contains(&s.len()) && !s.contains(['\r', '\n', '\0']))
        .map(str::to_owned)
        .ok_or_else(|| {
            invalid(
                KEY,
                format!("must be a string of {min} to 512 characters on one line (the key that signs webhook requests)"),
            )
        })
}

fn forwarders(value: &Value) -> Result<Vec<simrelay_protocol::Forwarder>, SettingError> {
    const KEY: &str = "forwarders";
    let list: Vec<simrelay_protocol::Forwarder> =
        serde_json::from_value(value.clone()).map_err(|e| {
            invalid(
                KEY,
                format!("must be an array of forwarders ({e}); see docs/INTEGRATIONS.md"),
            )
        })?;
    crate::deliver::check_forwarders(&list).map_err(|detail| match detail.split_once(": ") {
        Some((field, message)) => invalid(field, message),
        None => invalid(KEY, detail),
    })?;
    Ok(list)
}

/// Reads a change from its JSON form (a `PATCH /api/settings` body), checking every field; the error names the
/// first one that is wrong. Values come out normalised (a hook URL trimmed).
pub fn parse_patch(fields: &Map<String, Value>) -> Result<SettingsPatch, SettingError> {
    let mut patch = SettingsPatch::default();
    for (key, value) in fields {
        set_field(&mut patch, key, value)?;
    }
    Ok(patch)
}

/// The JSON form of `patch`: only the fields it changes (`null` for one it unsets).
pub fn patch_fields(patch: &SettingsPatch) -> Map<String, Value> {
    match serde_json::to_value(patch) {
        Ok(Value::Object(fields)) => fields,
        // A struct of plain fields always serialises to an object.
        _ => Map::new(),
    }
}

/// Checks a typed change (from the desktop shell, say) exactly as a `PATCH` body is checked; returns it
/// normalised.
pub fn check(patch: &SettingsPatch) -> Result<SettingsPatch, SettingError> {
    parse_patch(&patch_fields(patch))
}

/// The settings as the configuration gives them (before any run-time change).
pub fn from_config(retention: &Retention, hooks: &Hooks, lan: bool) -> Settings {
    Settings {
        lan,
        retention_days: retention.days,
        retention_messages: retention.messages,
        purge_codes_after_minutes: retention.purge_codes_after_minutes,
        hook_command: (!hooks.command.is_empty()).then(|| hooks.command.clone()),
        hook_url: hooks.url.clone(),
        hook_only_codes: hooks.only_codes,
        ..Settings::default()
    }
}

/// The retention rules of `settings`.
pub fn retention_of(settings: &Settings) -> Retention {
    Retention {
        days: settings.retention_days,
        messages: settings.retention_messages,
        purge_codes_after_minutes: settings.purge_codes_after_minutes,
    }
}

/// The hooks of `settings`, with the time limit from the configuration.
pub fn hooks_of(settings: &Settings, timeout_secs: u64) -> Hooks {
    Hooks {
        command: settings.hook_command.clone().unwrap_or_default(),
        url: settings.hook_url.clone(),
        only_codes: settings.hook_only_codes,
        timeout_secs,
    }
}

/// The key `lan` is stored under for `node`.
fn lan_key(node: &str) -> String {
    if node.is_empty() {
        "lan".to_owned()
    } else {
        format!("lan@{node}")
    }
}

impl Store {
    /// The settings changed at run time, as stored: key and JSON value (`lan` this node's own).
    pub async fn saved_settings(&self) -> Result<Vec<(String, Value)>, StoreError> {
        let own_lan = lan_key(self.node());
        let rows: Vec<(String, String)> = on_db!(self, db => {
            sqlx::query("SELECT key, value FROM settings ORDER BY key")
                .fetch_all(db.reader())
                .await?
                .iter()
                .map(|row| Ok((row.try_get("key")?, row.try_get("value")?)))
                .collect::<Result<_, sqlx::Error>>()?
        });
        let mut saved = Vec::with_capacity(rows.len());
        for (key, text) in rows {
            let key = if key == own_lan {
                "lan".to_owned()
            } else if key == "lan" || key.starts_with("lan@") {
                // Another node's (or, in a cluster, one saved before `lan` was kept per node).
                continue;
            } else {
                key
            };
            match serde_json::from_str(&text) {
                Ok(value) => saved.push((key, value)),
                Err(e) => tracing::warn!(%key, error = %e, "ignoring a damaged saved setting"),
            }
        }
        Ok(saved)
    }

    /// Stores the given settings (each replaces its previous value), in one transaction; `lan` as this node's.
    pub async fn save_settings(&self, changed: &Map<String, Value>) -> Result<(), StoreError> {
        let now = Utc::now();
        let own_lan = lan_key(self.node());
        on_db!(self, db => {
            let mut tx = db.begin().await?;
            for (key, value) in changed {
                let key = if key == "lan" { &own_lan } else { key };
                sqlx::query(
                    "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .bind(key)
                .bind(value.to_string())
                .bind(db.time(now))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// `base` with the saved run-time changes on top; a saved value that no longer passes the checks is
    /// skipped (and logged), so a bad row never stops start-up.
    pub async fn effective_settings(&self, base: Settings) -> Result<Settings, StoreError> {
        let mut settings = base;
        for (key, value) in self.saved_settings().await? {
            match parse_patch(&Map::from_iter([(key, value)])) {
                Ok(saved) => settings = saved.applied_to(&settings),
                Err(e) => tracing::warn!(error = %e, "ignoring a saved setting"),
            }
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(value: Value) -> Result<Settings, SettingError> {
        let Value::Object(map) = value else {
            panic!("object")
        };
        parse_patch(&map).map(|p| p.applied_to(&Settings::default()))
    }

    #[test]
    fn good_values_apply_and_bad_ones_name_the_field() {
        let s = patch(json!({"lan": true, "notifications": "all", "clear_clipboard_secs": 0,
            "retention_days": 30, "hook_command": ["/bin/true", "x"], "hook_url": "https://example.org/h"}))
        .expect("valid");
        assert!(s.lan);
        assert_eq!(s.notifications, Notifications::All);
        assert_eq!(s.clear_clipboard_secs, 0);
        assert_eq!(s.retention_days, Some(30));
        assert_eq!(s.hook_command, Some(vec!["/bin/true".into(), "x".into()]));
        let s2 = parse_patch(
            &json!({"retention_days": null, "hook_command": null})
                .as_object()
                .cloned()
                .expect("obj"),
        )
        .expect("valid")
        .applied_to(&s);
        assert_eq!((s2.retention_days, s2.hook_command), (None, None));

        for (bad, field) in [
            (json!({"lan": "yes"}), "lan"),
            (json!({"notifications": "some"}), "notifications"),
            (json!({"clear_clipboard_secs": -1}), "clear_clipboard_secs"),
            (
                json!({"clear_clipboard_secs": 86401}),
                "clear_clipboard_secs",
            ),
            (json!({"retention_days": 0}), "retention_days"),
            (json!({"retention_messages": 1.5}), "retention_messages"),
            (
                json!({"purge_codes_after_minutes": "10"}),
                "purge_codes_after_minutes",
            ),
            (json!({"hook_command": "rm -rf /"}), "hook_command"),
            (json!({"hook_command": []}), "hook_command"),
            (json!({"hook_command": [""]}), "hook_command"),
            (json!({"hook_url": "file:///etc/passwd"}), "hook_url"),
            (json!({"hook_url": "not a url"}), "hook_url"),
            (json!({"colour": "blue"}), "colour"),
        ] {
            let err = patch(bad.clone()).expect_err("invalid");
            assert_eq!(err.field, field, "{bad}");
            assert!(err.to_string().starts_with(&format!("{field}: ")), "{err}");
        }
    }

    #[tokio::test]
    async fn saved_settings_override_the_base_and_survive_reopening() {
        for mut store in crate::store::testing::stores().await {
            let base = Settings {
                retention_days: Some(90),
                ..Settings::default()
            };
            assert_eq!(
                store.effective_settings(base.clone()).await.expect("load"),
                base
            );
            let change = json!({"retention_days": 7, "hide_code": true});
            store
                .save_settings(change.as_object().expect("obj"))
                .await
                .expect("save");
            store
                .save_settings(json!({"hide_code": false}).as_object().expect("obj"))
                .await
                .expect("save");
            store.reopen().await;
            let s = store.effective_settings(base).await.expect("load");
            assert_eq!(s.retention_days, Some(7), "{}", store.backend);
            assert!(!s.hide_code);
            assert_eq!(store.saved_settings().await.expect("saved").len(), 2);
        }
    }

    /// LAN sharing switched on by one node of a cluster is that node's: another node sharing the database keeps
    /// its own (it would open that machine's listeners), while the other settings are shared.
    #[tokio::test]
    async fn lan_is_kept_per_node_and_the_rest_is_shared() {
        let store = crate::store::testing::postgres().await;
        let (a, b) = (
            store.open_node_again("a").await,
            store.open_node_again("b").await,
        );
        a.save_settings(
            json!({"lan": true, "hide_code": true})
                .as_object()
                .expect("obj"),
        )
        .await
        .expect("save");
        let on_a = a.effective_settings(Settings::default()).await.expect("a");
        let on_b = b.effective_settings(Settings::default()).await.expect("b");
        assert!(on_a.lan && on_a.hide_code);
        assert!(!on_b.lan, "A's LAN sharing is not B's");
        assert!(on_b.hide_code, "the other settings are shared");
        b.save_settings(json!({"lan": false}).as_object().expect("obj"))
            .await
            .expect("save");
        assert!(
            a.effective_settings(Settings::default())
                .await
                .expect("a")
                .lan
        );
    }

    #[test]
    fn a_typed_change_is_checked_like_a_json_one() {
        let bad = SettingsPatch {
            retention_days: Some(Some(0)),
            ..SettingsPatch::default()
        };
        assert_eq!(check(&bad).expect_err("invalid").field, "retention_days");
        let untrimmed = SettingsPatch {
            lan: Some(true),
            hook_url: Some(Some(" https://example.org/h ".into())),
            ..SettingsPatch::default()
        };
        let checked = check(&untrimmed).expect("valid");
        assert_eq!(checked.hook_url, Some(Some("https://example.org/h".into())));
        assert_eq!(
            Value::Object(patch_fields(&checked)),
            json!({"lan": true, "hook_url": "https://example.org/h"})
        );
    }
}
