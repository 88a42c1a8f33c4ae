//! SimRelay's desktop shell.
//!
//! The shell runs the engine in-process on 127.0.0.1 and points a Tauri window at the engine's own URL, so the
//! window shows exactly the UI a LAN browser gets (one UI, one API; no Tauri IPC is exposed to the page). Around
//! that it adds what only a desktop app can do: a native notification with a "Copy code" action for every new
//! verification code, a clipboard that forgets the code again, a tray icon where the app lives when its window is
//! closed, single instance and start at login.
//!
//! The app is generic over [`tauri::Runtime`] ([`run_app`]) so tests build it with `tauri::test::mock_builder()`,
//! and notifications go through the [`Notifier`] trait so tests can record them instead of talking to D-Bus.

mod app;
mod cli;
pub mod clipboard;
pub mod notify;
pub mod pause;
pub mod settings;
mod shell;
mod tray;
mod window;

pub use app::{on_run_event, run_app, with_desktop_plugins, DesktopError};
pub use cli::{DesktopArgs, NotifyMode};
pub use notify::{DesktopNotifier, Note, NoteAction, Notifier};
pub use settings::NoteSettings;
pub use shell::Shell;
pub use window::{message_url, MAIN_WINDOW};
