//! The shell's state and what it does with the engine's events: remember the latest code, keep the tray current,
//! notify, copy.

use crate::cli::{DesktopArgs, NotifyMode};
use crate::clipboard::ClipboardKeeper;
use crate::notify::{Note, NoteAction, Notifier};
use crate::pause::Pause;
use crate::{tray, window};
use simrelay_engine::{Config, Engine, EngineError};
use simrelay_protocol::{Message, ModemState, ServerEvent};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tauri::{AppHandle, Manager, Runtime};
use tokio::sync::broadcast;

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
        let clipboard = ClipboardKeeper::spawn(Duration::from_secs(options.clipboard_clear_secs));
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
        }
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
            self.clipboard.copy(code);
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

/// Follows the engine's hub until it closes. A lagging receiver skips what it missed: the store has it and the
/// window shows it; only popups for a burst are lost.
pub(crate) fn spawn_event_loop<R: Runtime>(
    app: AppHandle<R>,
    mut events: broadcast::Receiver<ServerEvent>,
) {
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(ServerEvent::Sms { message }) => on_sms(&app, message),
                Ok(ServerEvent::Modem { modem }) => {
                    let shell = app.state::<Shell>();
                    lock(&shell.modems).insert(modem.id.clone(), modem.state);
                    tray::refresh(&app);
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "desktop shell fell behind the engine's events");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
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
        if shell.options.auto_copy {
            if let Some(code) = &code {
                shell.clipboard.copy(code.clone());
            }
        }
    }
    tray::refresh(app);

    let paused = shell.pause().is_paused(Instant::now());
    if !should_notify(shell.options.notify, paused, code.is_some()) {
        return;
    }
    let note = Note::for_message(&message, shell.options.hide_code);
    let app = app.clone();
    shell.notifier.show(
        note,
        Box::new(move |action| match action {
            NoteAction::CopyCode => {
                if let Some(code) = code {
                    app.state::<Shell>().clipboard.copy(code);
                }
            }
            NoteAction::Open => window::show_main(&app),
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
