//! The user's preferences, kept in the browser's local storage as one JSON object.
//!
//! Preferences belong to the device (a phone may want different ones than the desktop window), so they live in
//! the browser, not on the server. Unknown or broken stored JSON falls back to defaults instead of failing.

use serde::{Deserialize, Serialize};

const PREFS_KEY: &str = "simrelay.prefs";

/// What the user chose in Settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    /// Make `http(s)://` addresses in messages clickable. Off by default: SMS links are a phishing channel.
    pub clickable_links: bool,
    /// Copy each new code to the clipboard as it arrives (browsers allow this only while the page has focus).
    pub auto_copy: bool,
}

impl Prefs {
    /// Parses stored preferences; anything unreadable gives the defaults.
    pub fn parse(stored: Option<&str>) -> Self {
        stored
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default()
    }

    /// Loads from local storage.
    pub fn load() -> Self {
        let stored = leptos::prelude::window()
            .local_storage()
            .ok()
            .flatten()
            .and_then(|s| s.get_item(PREFS_KEY).ok().flatten());
        Self::parse(stored.as_deref())
    }

    /// Saves to local storage; failure (private mode, full storage) only means the choice is not remembered.
    pub fn save(&self) {
        if let (Ok(Some(storage)), Ok(json)) = (
            leptos::prelude::window().local_storage(),
            serde_json::to_string(self),
        ) {
            let _ = storage.set_item(PREFS_KEY, &json);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_or_partial_storage_gives_defaults() {
        assert_eq!(Prefs::parse(None), Prefs::default());
        assert_eq!(Prefs::parse(Some("{not json")), Prefs::default());
        let p = Prefs::parse(Some(r#"{"auto_copy":true,"future":1}"#));
        assert!(p.auto_copy && !p.clickable_links);
    }
}
