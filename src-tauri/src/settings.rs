//! What the desktop shell does with the engine's run-time settings (the Settings screen, `PATCH /api/settings`):
//! which messages notify, whether the code shows, auto-copy and the clipboard delay, with the command-line flags
//! of this run taking precedence over them.

use crate::cli::DesktopArgs;
use simrelay_protocol::{Notifications, Settings};
use std::time::Duration;

/// The notification and clipboard behaviour in effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoteSettings {
    /// Which messages notify.
    pub mode: Notifications,
    /// Keep the code out of the notification text.
    pub hide_code: bool,
    /// Copy each new code without a click.
    pub auto_copy: bool,
    /// Clear a copied code after this long (if the clipboard still holds it); `None` keeps it.
    pub clear_after: Option<Duration>,
}

impl Default for NoteSettings {
    fn default() -> Self {
        NoteSettings::effective(&Settings::default(), None)
    }
}

impl NoteSettings {
    /// The engine's `settings`, overridden by whatever flags `args` gave explicitly.
    pub fn effective(settings: &Settings, args: Option<&DesktopArgs>) -> NoteSettings {
        let secs = args
            .and_then(|a| a.clipboard_clear_secs)
            .unwrap_or(u64::from(settings.clear_clipboard_secs));
        NoteSettings {
            mode: args
                .and_then(|a| a.notify)
                .unwrap_or(settings.notifications),
            hide_code: settings.hide_code || args.is_some_and(|a| a.hide_code),
            auto_copy: settings.auto_copy || args.is_some_and(|a| a.auto_copy),
            clear_after: (secs > 0).then(|| Duration::from_secs(secs)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> DesktopArgs {
        let mut argv = vec!["simrelay-desktop"];
        argv.extend_from_slice(extra);
        DesktopArgs::try_parse_from(argv).unwrap()
    }

    #[test]
    fn engine_settings_apply_without_flags() {
        let settings = Settings {
            notifications: Notifications::All,
            hide_code: true,
            auto_copy: true,
            clear_clipboard_secs: 30,
            ..Settings::default()
        };
        assert_eq!(
            NoteSettings::effective(&settings, Some(&args(&[]))),
            NoteSettings {
                mode: Notifications::All,
                hide_code: true,
                auto_copy: true,
                clear_after: Some(Duration::from_secs(30)),
            }
        );
        let never = Settings {
            clear_clipboard_secs: 0,
            ..Settings::default()
        };
        assert_eq!(NoteSettings::effective(&never, None).clear_after, None);
        assert_eq!(NoteSettings::default().mode, Notifications::Codes);
    }

    #[test]
    fn flags_override_the_engine_settings() {
        let flags = args(&[
            "--notify",
            "none",
            "--hide-code",
            "--auto-copy",
            "--clipboard-clear-secs",
            "4",
        ]);
        let s = NoteSettings::effective(&Settings::default(), Some(&flags));
        assert_eq!(s.mode, Notifications::None);
        assert!(s.hide_code && s.auto_copy);
        assert_eq!(s.clear_after, Some(Duration::from_secs(4)));
    }
}
