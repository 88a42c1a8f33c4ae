//! Harness for the desktop app's end-to-end tests: everything a real desktop session has, private to one test.
//!
//! - [`display::Xvfb`]: an X server on a free display number, for the window and the clipboard;
//! - [`bus::SessionBus`]: a private `dbus-daemon`, so notifications and single-instance never reach the
//!   developer's own session;
//! - [`notifications::NotificationServer`]: an `org.freedesktop.Notifications` server on that bus that records
//!   every `Notify` call and can invoke an action (`ActionInvoked`), as a user's click would;
//! - [`windows`]: finds top-level windows by title and closes one as a window manager's close button does;
//! - [`footprint`]: the app's process tree (WebKit's processes are its children), its PSS and wake-ups;
//! - [`process`]: child processes that are killed (by their own pid) when the test ends, free ports, and how the
//!   test finds the `simrelay-desktop` binary.

pub mod bus;
pub mod display;
pub mod footprint;
pub mod notifications;
pub mod process;
pub mod tray;
pub mod windows;
