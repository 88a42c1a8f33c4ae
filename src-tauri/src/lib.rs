//! SimRelay's desktop app, resident process (`simrelay-desktop`).
//!
//! The app is two processes. This one lives for the whole session: it runs the engine in-process on 127.0.0.1,
//! raises a native notification with a "Copy code" action for every new verification code, keeps a clipboard that
//! forgets the code again, shows the tray icon (a StatusNotifierItem over D-Bus), and holds the single-instance
//! name and the start-at-login entry. The window is the other process, `simrelay-window` (`src/window/`): a Tauri
//! webview on the engine's own URL, started on "Open" and gone when closed, so that WebKit's memory (a few hundred
//! MB, of which WebKitGTK gives nothing back while its process lives) is only spent while the user looks at it.
//! The window shows exactly the UI a LAN browser gets, through the same HTTP/WebSocket API.
//!
//! This library must not use `tauri` (see Cargo.toml). Notifications go through the [`Notifier`] trait so tests
//! can record them instead of talking to D-Bus.

mod app;
mod autostart;
mod cli;
pub mod clipboard;
mod instance;
pub mod launcher;
pub mod notify;
pub mod pause;
pub mod settings;
mod shell;
mod tray;
pub mod window_link;

pub use app::{run, start, DesktopError, Ended, Resident, Started, WindowProgram};
pub use cli::DesktopArgs;
pub use instance::{BUS_NAME, INTERFACE, OBJECT_PATH};
pub use notify::{DesktopNotifier, Note, NoteAction, Notifier};
pub use settings::NoteSettings;
pub use shell::{message_url, window_url, Shell, TrayMood, SHELL_PARAM};
pub use tray::tooltip;
