//! The resident process's state and what it does with the engine's events: remember the latest code, keep the tray
//! current, notify, copy, open the window, and follow the engine's settings (notification mode, hidden codes,
//! auto-copy, clipboard delay, LAN sharing) as the Settings screen or the tray change them.

use crate::autostart::Autostart;
use crate::cli::DesktopArgs;
use crate::clipboard::ClipboardKeeper;
use crate::launcher::WindowLauncher;
use crate::notify::{Note, NoteAction, Notifier};
use crate::pause::Pause;
use crate::settings::NoteSettings;
use simrelay_engine::Engine;
use simrelay_protocol::{
    Call, Message, ModemState, ModemStatus, Notifications, ServerEvent, Settings, SettingsPatch,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};
use url::Url;

/// Query parameter added to the window's URL so the page knows it runs in the desktop window (it then offers
/// "Open logs folder").
pub const SHELL_PARAM: (&str, &str) = ("shell", "desktop");

/// State shared by the tray, the notifications, the window launcher and the event loops.
pub struct Shell {
    url: Url,
    engine: tokio::sync::Mutex<Option<Engine>>,
    options: DesktopArgs,
    notifier: Arc<dyn Notifier>,
    clipboard: ClipboardKeeper,
    windows: WindowLauncher,
    autostart: Option<Autostart>,
    pause: Mutex<Pause>,
    latest: Mutex<Option<Message>>,
    unread: AtomicBool,
    modems: Mutex<HashMap<String, ModemState>>,
    settings: Mutex<NoteSettings>,
    lan: AtomicBool,
    /// Bumped whenever something the tray shows changed; the tray follows it.
    changed: watch::Sender<u64>,
    quit: watch::Sender<bool>,
    runtime: tokio::runtime::Handle,
}

/// What the tray shows about the app's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayMood {
    /// Modems connected (or none reported yet), nothing unread.
    Normal,
    /// A code arrived since the window was last looked at.
    Unread,
    /// No modem, or a modem is disconnected or failed.
    Trouble,
}

/// Locks a mutex even if a panicking thread poisoned it: the data here stays consistent field by field.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The URL the window loads for `engine_url`: the engine's own page, marked as the desktop window.
pub fn window_url(engine_url: &str) -> Result<Url, url::ParseError> {
    let mut url = Url::parse(engine_url)?;
    url.query_pairs_mut()
        .append_pair(SHELL_PARAM.0, SHELL_PARAM.1);
    Ok(url)
}

/// The window's URL opened on one message (`#/message/<id>`, the UI's route for it).
pub fn message_url(base: &Url, id: i64) -> Url {
    let mut url = base.clone();
    url.set_fragment(Some(&format!("/message/{id}")));
    url
}

impl Shell {
    /// The shell around a started engine. Call from inside the tokio runtime (it keeps a handle to it).
    pub(crate) fn new(
        engine: Engine,
        url: Url,
        options: DesktopArgs,
        notifier: Arc<dyn Notifier>,
        windows: WindowLauncher,
        autostart: Option<Autostart>,
    ) -> Self {
        let current = engine.settings();
        let settings = NoteSettings::effective(&current, Some(&options));
        Self {
            url,
            engine: tokio::sync::Mutex::new(Some(engine)),
            options,
            notifier,
            clipboard: ClipboardKeeper::spawn(),
            windows,
            autostart,
            pause: Mutex::new(Pause::Off),
            latest: Mutex::new(None),
            unread: AtomicBool::new(false),
            modems: Mutex::new(HashMap::new()),
            settings: Mutex::new(settings),
            lan: AtomicBool::new(current.lan),
            changed: watch::Sender::new(0),
            quit: watch::Sender::new(false),
            runtime: tokio::runtime::Handle::current(),
        }
    }

    /// Tells the tray that what it shows changed.
    pub(crate) fn touch(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Follows changes the tray shows.
    pub fn watch_changes(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// The notification and clipboard behaviour in effect (engine settings, then this run's flags).
    pub fn note_settings(&self) -> NoteSettings {
        *lock(&self.settings)
    }

    /// Whether the engine shares on the LAN, as last published.
    pub fn lan(&self) -> bool {
        self.lan.load(Ordering::Relaxed)
    }

    /// Applies settings the engine published.
    pub(crate) fn apply_settings(&self, settings: &Settings) {
        *lock(&self.settings) = NoteSettings::effective(settings, Some(&self.options));
        self.lan.store(settings.lan, Ordering::Relaxed);
        self.touch();
    }

    /// Copies `code` and clears it after the configured delay.
    pub fn copy_code(&self, code: String) {
        self.clipboard.copy(code, self.note_settings().clear_after);
    }

    /// Changes engine settings as `PATCH /api/settings` does. The change comes back as a settings event.
    pub async fn update_settings(&self, patch: &SettingsPatch) -> Result<Settings, String> {
        let engine = self.engine.lock().await;
        let Some(engine) = engine.as_ref() else {
            return Err("the engine is shutting down".into());
        };
        engine
            .update_settings(patch)
            .await
            .map_err(|e| e.to_string())
    }

    /// Switches LAN sharing to the opposite of what the engine last published (the tray's "LAN sharing" item).
    /// The engine binds or closes its LAN listeners, which takes a moment, so it runs as a task; the settings event
    /// that follows updates the check mark (and every open Settings screen).
    pub fn toggle_lan(self: &Arc<Self>) {
        let shell = self.clone();
        self.runtime.spawn(async move {
            let wanted = !shell.lan();
            if let Err(error) = shell
                .update_settings(&SettingsPatch {
                    lan: Some(wanted),
                    ..SettingsPatch::default()
                })
                .await
            {
                tracing::warn!(%error, wanted, "could not switch LAN sharing");
            }
        });
    }

    /// The engine's page as the window loads it (`http://127.0.0.1:PORT/?shell=desktop`, with `token=` when the
    /// engine has one).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The newest message that carried a code.
    pub fn latest_code(&self) -> Option<Message> {
        lock(&self.latest).clone()
    }

    /// Copies the newest code, if any.
    pub fn copy_latest(&self) {
        if let Some(code) = self.latest_code().and_then(|m| m.code) {
            self.copy_code(code);
        }
    }

    /// Current pause state.
    pub fn pause(&self) -> Pause {
        *lock(&self.pause)
    }

    /// Pauses or resumes notifications.
    pub fn set_pause(&self, pause: Pause) {
        *lock(&self.pause) = pause;
        self.touch();
    }

    /// Whether start at login is available here, and whether it is on.
    pub fn autostart(&self) -> (bool, bool) {
        match &self.autostart {
            Some(entry) => (true, entry.is_enabled()),
            None => (false, false),
        }
    }

    /// Turns start at login on or off.
    pub fn toggle_autostart(&self) {
        if let Some(entry) = &self.autostart {
            if let Err(error) = entry.set(!entry.is_enabled()) {
                tracing::warn!(%error, "could not change start at login");
            }
        }
        self.touch();
    }

    /// What the tray icon should show.
    pub fn mood(&self) -> TrayMood {
        let modems = lock(&self.modems);
        let trouble = modems.values().any(|s| {
            matches!(
                s,
                ModemState::Disconnected
                    | ModemState::Failed
                    | ModemState::PinRequired
                    | ModemState::PukRequired
            )
        });
        if trouble {
            TrayMood::Trouble
        } else if self.unread.load(Ordering::Relaxed) {
            TrayMood::Unread
        } else {
            TrayMood::Normal
        }
    }

    /// The user looked at the window: the unread mark goes away.
    pub(crate) fn mark_read(&self) {
        if self.unread.swap(false, Ordering::Relaxed) {
            self.touch();
        }
    }

    /// Whether the window process runs.
    pub fn window_open(&self) -> bool {
        self.windows.is_open()
    }

    /// Shows the window: brings it to the front, or starts it. Errors are logged: a failure here must not take the
    /// tray or the engine down.
    pub fn show_window(&self) {
        self.mark_read();
        if let Err(error) = self.windows.show_or_open(&self.url) {
            tracing::error!(%error, "could not open the SimRelay window");
        }
    }

    /// Shows the window on message `id` (a click on its notification).
    pub fn open_message(&self, id: i64) {
        self.mark_read();
        if let Err(error) = self.windows.open(&message_url(&self.url, id)) {
            tracing::error!(%error, "could not open the SimRelay window");
        }
    }

    /// Closes the window (if open).
    pub fn close_window(&self) {
        self.windows.close(Duration::from_secs(3));
    }

    /// Asks the app to quit (the tray's Quit); [`Shell::quit_requested`] then completes.
    pub fn request_quit(&self) {
        self.quit.send_replace(true);
    }

    /// Completes once Quit was asked for.
    pub async fn quit_requested(&self) {
        let mut quit = self.quit.subscribe();
        let _ = quit.wait_for(|q| *q).await;
    }

    /// Stops the engine and closes its store; later calls do nothing.
    pub async fn shutdown_engine(&self) {
        let engine = self.engine.lock().await.take();
        if let Some(engine) = engine {
            tracing::info!("shutting the engine down");
            engine.shutdown().await;
        }
    }

    /// What one engine event changes: a notification, the latest code, the tray's mood.
    pub(crate) fn on_event(self: &Arc<Self>, event: ServerEvent) {
        match event {
            ServerEvent::Sms { message } => self.on_sms(message),
            ServerEvent::Modem { modem } => {
                let previous = lock(&self.modems).insert(modem.id.clone(), modem.state);
                self.touch();
                self.on_locked_sim(previous, &modem);
            }
            ServerEvent::ModemRemoved { id } => {
                // A removed modem's last state must not keep the tray showing trouble.
                lock(&self.modems).remove(&id);
                self.touch();
            }
            ServerEvent::CodeChanged { message } => {
                // The user picked another code for the latest one (or none): the tray copies what they chose.
                let mut latest = lock(&self.latest);
                if latest.as_ref().is_some_and(|m| m.id == message.id) {
                    *latest = message.code.is_some().then_some(message);
                    drop(latest);
                    self.touch();
                }
            }
            _ => {}
        }
    }

    /// A SIM that just started waiting for its PIN (or PUK) raises a notification, unless notifications are
    /// paused (the tray still shows the trouble); a click opens the window, whose Modems screen asks for it.
    fn on_locked_sim(self: &Arc<Self>, previous: Option<ModemState>, modem: &ModemStatus) {
        let Some(note) = Note::for_locked_sim(previous, modem) else {
            return;
        };
        if self.pause().is_paused(Instant::now()) {
            return;
        }
        let shell = self.clone();
        self.notifier.show(
            note,
            Box::new(move |action| {
                if action == NoteAction::Open {
                    shell.show_window();
                }
            }),
        );
    }

    /// An incoming call raises "Missed call from …" as a code would (not with notifications off or paused); a
    /// click opens the window.
    pub(crate) fn on_call(self: &Arc<Self>, call: Call, modem: &str) {
        let settings = self.note_settings();
        if !should_notify(settings.mode, self.pause().is_paused(Instant::now()), true) {
            return;
        }
        let shell = self.clone();
        self.notifier.show(
            Note::for_call(&call, modem),
            Box::new(move |action| {
                if action == NoteAction::Open {
                    shell.show_window();
                }
            }),
        );
    }

    fn on_sms(self: &Arc<Self>, message: Message) {
        let code = message.code.clone();
        if let Some(code) = &code {
            *lock(&self.latest) = Some(message.clone());
            if !self.windows.is_focused() {
                self.unread.store(true, Ordering::Relaxed);
            }
            if self.note_settings().auto_copy {
                self.copy_code(code.clone());
            }
        }
        self.touch();

        let paused = self.pause().is_paused(Instant::now());
        let settings = self.note_settings();
        if !raises_notification(settings.mode, paused, &message) {
            return;
        }
        let note = Note::for_message(&message, settings.hide_code);
        let click_copies = note.click_copies;
        let id = message.id;
        let shell = self.clone();
        self.notifier.show(
            note,
            Box::new(move |action| match (action, code) {
                (NoteAction::CopyCode, Some(code)) => shell.copy_code(code),
                (NoteAction::Open, Some(code)) if click_copies => shell.copy_code(code),
                (NoteAction::Open, _) => shell.open_message(id),
                _ => {}
            }),
        );
    }
}

/// Whether a message raises a notification.
pub fn should_notify(mode: Notifications, paused: bool, has_code: bool) -> bool {
    !paused && mode.notifies(has_code)
}

/// Whether `message` raises a notification. A flash (class 0) message counts as one with a code: its sender
/// meant it to be shown at once, as a phone does, so "codes only" shows it too (never when paused or "none").
pub fn raises_notification(mode: Notifications, paused: bool, message: &Message) -> bool {
    should_notify(mode, paused, message.code.is_some() || message.flash)
}

/// Raises a notification for every incoming call the engine stored.
pub(crate) fn spawn_call_loop(
    shell: Arc<Shell>,
    mut calls: broadcast::Receiver<Call>,
    hub: simrelay_engine::hub::Hub,
) {
    tokio::spawn(async move {
        loop {
            match calls.recv().await {
                Ok(call) => {
                    // The modem's label where the user gave one.
                    let modem = hub
                        .modems()
                        .into_iter()
                        .find(|m| m.id == call.modem)
                        .and_then(|m| m.label)
                        .unwrap_or_else(|| call.modem.clone());
                    shell.on_call(call, &modem);
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "desktop shell fell behind the engine's calls");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// Follows the engine's settings: every change (Settings screen, tray, another client) takes effect for the next
/// notification and shows in the tray at once.
pub(crate) fn spawn_settings_loop(shell: Arc<Shell>, mut settings: watch::Receiver<Settings>) {
    tokio::spawn(async move {
        while settings.changed().await.is_ok() {
            let current = settings.borrow_and_update().clone();
            shell.apply_settings(&current);
        }
    });
}

/// Follows the engine's hub until it closes. A lagging receiver skips what it missed: the store has it and the
/// window shows it; only popups for a burst are lost.
pub(crate) fn spawn_event_loop(shell: Arc<Shell>, mut events: broadcast::Receiver<ServerEvent>) {
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => shell.on_event(event),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "desktop shell fell behind the engine's events");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn a_flash_message_notifies_like_a_code() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-22T10:00:00+01:00").unwrap();
        let mut m = Message {
            text: "Your parcel arrives today".into(),
            sent_at: at,
            received_at: at,
            ..Message::default()
        };
        assert!(!raises_notification(Notifications::Codes, false, &m));
        m.flash = true;
        assert!(raises_notification(Notifications::Codes, false, &m));
        assert!(
            !raises_notification(Notifications::Codes, true, &m),
            "paused"
        );
        assert!(!raises_notification(Notifications::None, false, &m));
    }

    #[test]
    fn notify_modes() {
        assert!(should_notify(Notifications::Codes, false, true));
        assert!(!should_notify(Notifications::Codes, false, false));
        assert!(should_notify(Notifications::All, false, false));
        assert!(!should_notify(Notifications::None, false, true));
        assert!(
            !should_notify(Notifications::All, true, true),
            "a pause holds everything back"
        );
    }

    #[test]
    fn window_urls_keep_the_engine_address() {
        let base = window_url("http://127.0.0.1:8731/?token=t").unwrap();
        assert_eq!(
            base.as_str(),
            "http://127.0.0.1:8731/?token=t&shell=desktop"
        );
        assert_eq!(
            message_url(&base, 42).as_str(),
            "http://127.0.0.1:8731/?token=t&shell=desktop#/message/42"
        );
    }
}
