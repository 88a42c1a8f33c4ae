//! The shell's state and what it does with the engine's events: remember the latest code, keep the tray current,
//! notify, copy, and follow the engine's settings (notification mode, hidden codes, auto-copy, clipboard delay,
//! LAN sharing) as the Settings screen or the tray change them.

use crate::cli::{DesktopArgs, NotifyMode};
use crate::clipboard::ClipboardKeeper;
use crate::notify::{Note, NoteAction, Notifier};
use crate::pause::Pause;
use crate::settings::NoteSettings;
use crate::{tray, window};
use simrelay_engine::{Config, Engine, EngineError};
use simrelay_protocol::{Message, ModemState, ServerEvent, Settings};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tauri::{AppHandle, Manager, Runtime};
use tokio::sync::{broadcast, watch};

/// State shared by the window, the tray and the event loop; managed by Tauri (`app.state::<Shell>()`).
pub struct Shell {
    url: tauri::Url,
    engine: Mutex<Option<Engine>>,
    options: DesktopArgs,
    notifier: Arc<dyn Notifier>,
    clipboard: ClipboardKeeper,
    pause: Mutex<Pause>,
    latest: Mutex<Option<Message>>,
    unread: AtomicBool,
    modems: Mutex<HashMap<String, ModemState>>,
    settings: Mutex<NoteSettings>,
    lan: AtomicBool,
}

/// What the tray shows about the app's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayMood {
    /// Modems connected (or none reported yet), nothing unread.
    Normal,
    /// A code arrived since the window was last opened.
    Unread,
    /// No modem, or a modem is disconnected or failed.
    Trouble,
}

/// Locks a mutex even if a panicking thread poisoned it: the data here stays consistent field by field.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shell {
    pub(crate) fn new(
        engine: Engine,
        url: tauri::Url,
        options: DesktopArgs,
        notifier: Arc<dyn Notifier>,
    ) -> Self {
        let clipboard = ClipboardKeeper::spawn();
        let current = engine.settings();
        let settings = NoteSettings::effective(&current, Some(&options));
        Self {
            url,
            engine: Mutex::new(Some(engine)),
            options,
            notifier,
            clipboard,
            pause: Mutex::new(Pause::Off),
            latest: Mutex::new(None),
            unread: AtomicBool::new(false),
            modems: Mutex::new(HashMap::new()),
            settings: Mutex::new(settings),
            lan: AtomicBool::new(current.lan),
        }
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
    }

    /// Copies `code` and clears it after the configured delay.
    pub fn copy_code(&self, code: String) {
        self.clipboard.copy(code, self.note_settings().clear_after);
    }

    /// Changes engine settings as `PATCH /api/settings` does (`patch` is a JSON object with some of the fields).
    /// Blocks until the engine answered; call it off the UI thread. The change comes back as a settings event.
    pub fn update_settings(&self, patch: &serde_json::Value) -> Result<Settings, String> {
        let engine = lock(&self.engine);
        let Some(engine) = engine.as_ref() else {
            return Err("the engine is shutting down".into());
        };
        tauri::async_runtime::block_on(engine.update_settings(patch)).map_err(|e| e.to_string())
    }

    /// Switches LAN sharing (the tray's "LAN sharing" item).
    pub fn set_lan(&self, on: bool) -> Result<Settings, String> {
        self.update_settings(&serde_json::json!({ "lan": on }))
    }

    /// The engine's URL, which the window loads (`http://127.0.0.1:PORT/`, with `?token=` when one is set).
    pub fn url(&self) -> &tauri::Url {
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
    }

    /// What the tray icon should show.
    pub fn mood(&self) -> TrayMood {
        let modems = lock(&self.modems);
        let trouble = modems
            .values()
            .any(|s| matches!(s, ModemState::Disconnected | ModemState::Failed));
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
        self.unread.store(false, Ordering::Relaxed);
    }

    /// Stops the engine and closes its store; later calls do nothing.
    pub fn shutdown_engine(&self) {
        let engine = lock(&self.engine).take();
        if let Some(engine) = engine {
            tracing::info!("shutting the engine down");
            tauri::async_runtime::block_on(engine.shutdown());
        }
    }
}

/// Engine configuration from the desktop flags (the same flags as `simrelay serve`).
pub(crate) fn engine_config(options: &DesktopArgs) -> Config {
    let mut config = Config {
        modems: options.modems.clone(),
        demo: options.demo,
        ..Config::default()
    };
    if let Some(listen) = options.listen {
        config.listen = listen;
    }
    if let Some(db) = &options.db {
        config.db = db.clone();
    }
    config
}

/// Starts the engine in-process. Without `--listen`, a taken default port (a `simrelay serve` already running, say)
/// is no reason to fail: the window only needs some loopback port, so a free one is used instead.
pub(crate) fn start_engine(options: &DesktopArgs) -> Result<Engine, EngineError> {
    let config = engine_config(options);
    tauri::async_runtime::block_on(async move {
        match Engine::start(config.clone()).await {
            Err(EngineError::Listen { addr, source }) if options.listen.is_none() => {
                tracing::warn!(%addr, %source, "default port taken; using a free port");
                let listen = std::net::SocketAddr::new(addr.ip(), 0);
                Engine::start(Config { listen, ..config }).await
            }
            other => other,
        }
    })
}

/// Whether a message raises a notification.
pub fn should_notify(mode: NotifyMode, paused: bool, has_code: bool) -> bool {
    !paused
        && match mode {
            NotifyMode::Codes => has_code,
            NotifyMode::All => true,
            NotifyMode::None => false,
        }
}

/// Follows the engine's settings: every change (Settings screen, tray, another client) takes effect for the next
/// notification and shows in the tray at once.
pub(crate) fn spawn_settings_loop<R: Runtime>(
    app: AppHandle<R>,
    mut settings: watch::Receiver<Settings>,
) {
    tauri::async_runtime::spawn(async move {
        while settings.changed().await.is_ok() {
            let current = settings.borrow_and_update().clone();
            if let Some(shell) = app.try_state::<Shell>() {
                shell.apply_settings(&current);
            }
            tray::refresh(&app);
        }
    });
}

/// Follows the engine's hub until it closes. A lagging receiver skips what it missed: the store has it and the
/// window shows it; only popups for a burst are lost.
pub(crate) fn spawn_event_loop<R: Runtime>(
    app: AppHandle<R>,
    mut events: broadcast::Receiver<ServerEvent>,
) {
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => on_event(&app, event),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "desktop shell fell behind the engine's events");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// What one engine event changes in the shell: a notification, the tray's latest code or its mood.
pub(crate) fn on_event<R: Runtime>(app: &AppHandle<R>, event: ServerEvent) {
    match event {
        ServerEvent::Sms { message } => on_sms(app, message),
        ServerEvent::Modem { modem } => {
            lock(&app.state::<Shell>().modems).insert(modem.id.clone(), modem.state);
            tray::refresh(app);
        }
        ServerEvent::ModemRemoved { id } => {
            // A removed modem's last state must not keep the tray showing trouble.
            lock(&app.state::<Shell>().modems).remove(&id);
            tray::refresh(app);
        }
        _ => {}
    }
}

fn on_sms<R: Runtime>(app: &AppHandle<R>, message: Message) {
    let shell = app.state::<Shell>();
    let code = message.code.clone();
    if code.is_some() {
        *lock(&shell.latest) = Some(message.clone());
        let window_focused = app
            .get_webview_window(window::MAIN_WINDOW)
            .and_then(|w| w.is_focused().ok())
            .unwrap_or(false);
        if !window_focused {
            shell.unread.store(true, Ordering::Relaxed);
        }
        if shell.note_settings().auto_copy {
            if let Some(code) = &code {
                shell.copy_code(code.clone());
            }
        }
    }
    tray::refresh(app);

    let paused = shell.pause().is_paused(Instant::now());
    let settings = shell.note_settings();
    if !should_notify(settings.mode, paused, code.is_some()) {
        return;
    }
    let note = Note::for_message(&message, settings.hide_code);
    let click_copies = note.click_copies;
    let id = message.id;
    let app = app.clone();
    shell.notifier.show(
        note,
        Box::new(move |action| match action {
            NoteAction::CopyCode => {
                if let Some(code) = code {
                    app.state::<Shell>().copy_code(code);
                }
            }
            NoteAction::Open if click_copies => {
                if let Some(code) = code {
                    app.state::<Shell>().copy_code(code);
                }
            }
            NoteAction::Open => window::open_message(&app, id),
            NoteAction::Dismissed => {}
        }),
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn notify_modes() {
        assert!(should_notify(NotifyMode::Codes, false, true));
        assert!(!should_notify(NotifyMode::Codes, false, false));
        assert!(should_notify(NotifyMode::All, false, false));
        assert!(!should_notify(NotifyMode::None, false, true));
        assert!(
            !should_notify(NotifyMode::All, true, true),
            "a pause holds everything back"
        );
    }
}
