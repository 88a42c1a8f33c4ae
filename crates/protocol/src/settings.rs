//! Run-time settings: what they are ([`Settings`], `GET /api/settings`, the `settings` frame), how one is changed
//! ([`SettingsPatch`], `PATCH /api/settings`, `Engine::update_settings`), and the notification mode.

use serde::{Deserialize, Deserializer, Serialize};

/// Which messages raise a desktop notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notifications {
    /// Only messages with a verification code.
    #[default]
    Codes,
    /// Every message.
    All,
    /// None.
    None,
}

impl Notifications {
    /// Every mode, in the order a form lists them.
    pub const ALL: [Notifications; 3] = [
        Notifications::Codes,
        Notifications::All,
        Notifications::None,
    ];

    /// The mode's name on the wire and on command lines (`codes`, `all`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            Notifications::Codes => "codes",
            Notifications::All => "all",
            Notifications::None => "none",
        }
    }

    /// Whether a new message raises a notification in this mode.
    pub fn notifies(self, has_code: bool) -> bool {
        match self {
            Notifications::Codes => has_code,
            Notifications::All => true,
            Notifications::None => false,
        }
    }
}

impl std::fmt::Display for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Notifications {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Notifications::ALL
            .into_iter()
            .find(|mode| mode.as_str() == name)
            .ok_or_else(|| format!("{name:?} is not a notification mode: use codes, all or none"))
    }
}

/// The settings a user changes at run time (`GET`/`PATCH /api/settings`, the `settings` frame on `/ws`).
///
/// The server persists them; the UI's Settings screen and the desktop shell both read and change them through
/// the API, so this one type keeps them in agreement. `None` in an optional field means "not set": keep
/// everything (retention) or run nothing (hooks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Whether the server is reachable from the LAN (besides this machine).
    pub lan: bool,
    /// Which messages raise a desktop notification.
    pub notifications: Notifications,
    /// Copy each new code to the clipboard without a click (desktop).
    pub auto_copy: bool,
    /// Clear a copied code from the clipboard after this many seconds, if it still holds it (0 = never).
    pub clear_clipboard_secs: u32,
    /// Hide the code in notification bodies ("New code from Google — click to copy").
    pub hide_code: bool,
    /// Delete messages received more than this many days ago.
    pub retention_days: Option<u32>,
    /// Keep only this many newest messages.
    pub retention_messages: Option<u32>,
    /// Scrub codes (and raw PDUs) of messages older than this many minutes.
    pub purge_codes_after_minutes: Option<u32>,
    /// Program and arguments (no shell) run for each new message.
    pub hook_command: Option<Vec<String>>,
    /// URL that gets each new message as a JSON POST.
    pub hook_url: Option<String>,
    /// Run the hooks only for messages with a code.
    pub hook_only_codes: bool,
    /// The key that signs `hook_url`'s requests (and webhook forwarders' without a `secret` of their own):
    /// generated at first start unless configured.
    pub hook_secret: Option<String>,
    /// Where new messages are forwarded through the outbox (webhooks, ntfy, Gotify, Telegram, e-mail).
    pub forwarders: Vec<crate::Forwarder>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            lan: false,
            notifications: Notifications::Codes,
            auto_copy: false,
            clear_clipboard_secs: 60,
            hide_code: false,
            retention_days: None,
            retention_messages: None,
            purge_codes_after_minutes: None,
            hook_command: None,
            hook_url: None,
            // The engine's documented default (`hook_only_codes` in the configuration): hooks see every message.
            hook_only_codes: false,
            hook_secret: None,
            forwarders: Vec::new(),
        }
    }
}

/// A change to the settings: the body of `PATCH /api/settings`, and what the desktop shell hands
/// `Engine::update_settings`. A field left out (`None`) keeps its value; for the settings that may be unset,
/// `Some(None)` (JSON `null`) unsets it. The engine checks every value and applies the change all or nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    /// See [`Settings::lan`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lan: Option<bool>,
    /// See [`Settings::notifications`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<Notifications>,
    /// See [`Settings::auto_copy`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_copy: Option<bool>,
    /// See [`Settings::clear_clipboard_secs`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_clipboard_secs: Option<u32>,
    /// See [`Settings::hide_code`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hide_code: Option<bool>,
    /// See [`Settings::retention_days`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub retention_days: Option<Option<u32>>,
    /// See [`Settings::retention_messages`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub retention_messages: Option<Option<u32>>,
    /// See [`Settings::purge_codes_after_minutes`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub purge_codes_after_minutes: Option<Option<u32>>,
    /// See [`Settings::hook_command`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub hook_command: Option<Option<Vec<String>>>,
    /// See [`Settings::hook_url`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub hook_url: Option<Option<String>>,
    /// See [`Settings::hook_only_codes`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_only_codes: Option<bool>,
    /// See [`Settings::hook_secret`] (it cannot be unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_secret: Option<String>,
    /// See [`Settings::forwarders`]: the whole new list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarders: Option<Vec<crate::Forwarder>>,
}

/// A field that is present is `Some`, even when it is `null` (`Some(None)`): only an absent field is `None`.
fn present<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

impl SettingsPatch {
    /// `settings` with this change applied (unchecked: the engine checks the values first).
    pub fn applied_to(&self, settings: &Settings) -> Settings {
        fn set<T: Clone>(target: &mut T, value: &Option<T>) {
            if let Some(value) = value {
                *target = value.clone();
            }
        }
        let mut next = settings.clone();
        set(&mut next.lan, &self.lan);
        set(&mut next.notifications, &self.notifications);
        set(&mut next.auto_copy, &self.auto_copy);
        set(&mut next.clear_clipboard_secs, &self.clear_clipboard_secs);
        set(&mut next.hide_code, &self.hide_code);
        set(&mut next.retention_days, &self.retention_days);
        set(&mut next.retention_messages, &self.retention_messages);
        set(
            &mut next.purge_codes_after_minutes,
            &self.purge_codes_after_minutes,
        );
        set(&mut next.hook_command, &self.hook_command);
        set(&mut next.hook_url, &self.hook_url);
        set(&mut next.hook_only_codes, &self.hook_only_codes);
        if let Some(secret) = &self.hook_secret {
            next.hook_secret = Some(secret.clone());
        }
        set(&mut next.forwarders, &self.forwarders);
        next
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == SettingsPatch::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ServerFrame, ServerNotice};

    #[test]
    fn settings_frames_round_trip_with_every_field() {
        let frame = ServerNotice::Settings {
            settings: Settings::default(),
        };
        let json = serde_json::to_value(&frame).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"type": "settings", "settings": {"lan": false, "notifications": "codes",
                "auto_copy": false, "clear_clipboard_secs": 60, "hide_code": false, "retention_days": null,
                "retention_messages": null, "purge_codes_after_minutes": null, "hook_command": null,
                "hook_url": null, "hook_only_codes": false, "hook_secret": null, "forwarders": []}})
        );
        let parsed: ServerFrame = serde_json::from_value(json).expect("parses");
        assert_eq!(parsed, ServerFrame::Notice(frame));
    }

    #[test]
    fn a_patch_carries_only_its_fields_and_null_unsets() {
        let patch: SettingsPatch =
            serde_json::from_str(r#"{"lan":true,"retention_days":null,"hook_url":"http://x/"}"#)
                .expect("parses");
        assert_eq!(
            patch,
            SettingsPatch {
                lan: Some(true),
                retention_days: Some(None),
                hook_url: Some(Some("http://x/".into())),
                ..SettingsPatch::default()
            }
        );
        assert_eq!(
            serde_json::to_value(&patch).expect("serialises"),
            serde_json::json!({"lan": true, "retention_days": null, "hook_url": "http://x/"})
        );
        let before = Settings {
            retention_days: Some(7),
            ..Settings::default()
        };
        let after = patch.applied_to(&before);
        assert!(after.lan);
        assert_eq!(after.retention_days, None);
        assert_eq!(after.hook_url.as_deref(), Some("http://x/"));
        assert_eq!(after.clear_clipboard_secs, 60, "untouched");
        assert!(SettingsPatch::default().is_empty() && !patch.is_empty());
        assert!(serde_json::from_str::<SettingsPatch>(r#"{"theme":"dark"}"#).is_err());
    }

    #[test]
    fn notification_modes_have_one_name_each() {
        for mode in Notifications::ALL {
            assert_eq!(mode.as_str().parse::<Notifications>(), Ok(mode));
            assert_eq!(
                serde_json::to_value(mode).expect("serialises"),
                serde_json::json!(mode.as_str())
            );
        }
        assert!("loud".parse::<Notifications>().is_err());
        assert!(Notifications::Codes.notifies(true) && !Notifications::Codes.notifies(false));
        assert!(Notifications::All.notifies(false) && !Notifications::None.notifies(true));
    }
}
