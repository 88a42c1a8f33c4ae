//! What passes between the resident process and the window process it starts.
//!
//! The resident starts the window with [`LOG_DIR_ARG`], then writes [`Command`]s to its standard input, one per
//! line; the window writes [`WindowEvent`]s to its standard output. Pipes rather than a socket: only the parent can
//! talk to the window, the engine's URL (which may carry the access token) never appears on a command line, and the
//! window notices its parent is gone when its standard input closes.

use std::ffi::OsString;
use std::path::PathBuf;

use url::Url;

/// The window's argument naming the folder of the app's log files, which "Open logs folder" shows. The resident
/// knows it (the engine's logging decides it), so the window does not link the engine to find it.
pub const LOG_DIR_ARG: &str = "--log-dir";

/// The log folder among the window's arguments (`--log-dir DIR`), if they name one.
pub fn log_dir_arg(args: impl IntoIterator<Item = OsString>) -> Option<PathBuf> {
    let mut args = args.into_iter();
    args.find(|arg| arg == LOG_DIR_ARG)?;
    args.next().map(PathBuf::from)
}

/// What the resident asks of the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Show this page: create the window on it, or move the open window there (a fragment-only change, such as
    /// `#/message/42`, switches screens without reloading), then raise and focus it.
    Open(Url),
    /// Raise and focus the window as it is.
    Show,
    /// Close the window and exit.
    Quit,
}

/// What the window tells the resident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowEvent {
    /// The window gained (`true`) or lost (`false`) the keyboard focus.
    Focus(bool),
}

/// A line that is not a command or an event of this protocol.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a window protocol line: {0:?}")]
pub struct BadLine(pub String);

impl Command {
    /// The line that carries this command (without the newline).
    pub fn to_line(&self) -> String {
        match self {
            Self::Open(url) => format!("open {url}"),
            Self::Show => "show".to_owned(),
            Self::Quit => "quit".to_owned(),
        }
    }

    /// Parses one line (a trailing `\r` or `\n` is ignored).
    pub fn parse(line: &str) -> Result<Self, BadLine> {
        let line = line.trim_end_matches(['\r', '\n']);
        let bad = || BadLine(line.to_owned());
        match line.split_once(' ') {
            Some(("open", url)) => Url::parse(url).map(Self::Open).map_err(|_| bad()),
            None if line == "show" => Ok(Self::Show),
            None if line == "quit" => Ok(Self::Quit),
            _ => Err(bad()),
        }
    }
}

impl WindowEvent {
    /// The line that carries this event (without the newline).
    pub fn to_line(self) -> String {
        match self {
            Self::Focus(focused) => format!("focus {focused}"),
        }
    }

    /// Parses one line (a trailing `\r` or `\n` is ignored).
    pub fn parse(line: &str) -> Result<Self, BadLine> {
        match line.trim_end_matches(['\r', '\n']) {
            "focus true" => Ok(Self::Focus(true)),
            "focus false" => Ok(Self::Focus(false)),
            other => Err(BadLine(other.to_owned())),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip() {
        let url =
            Url::parse("http://127.0.0.1:8731/?token=a%20b&shell=desktop#/message/7").unwrap();
        for command in [Command::Open(url), Command::Show, Command::Quit] {
            assert_eq!(Command::parse(&command.to_line()).unwrap(), command);
        }
        assert_eq!(Command::parse("show\r\n").unwrap(), Command::Show);
    }

    #[test]
    fn events_round_trip() {
        for event in [WindowEvent::Focus(true), WindowEvent::Focus(false)] {
            assert_eq!(WindowEvent::parse(&event.to_line()).unwrap(), event);
        }
    }

    #[test]
    fn the_log_dir_is_read_from_the_arguments() {
        let args = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            log_dir_arg(args(&["--log-dir", "/home/a b/logs"])),
            Some(PathBuf::from("/home/a b/logs"))
        );
        assert_eq!(log_dir_arg(args(&[])), None);
        assert_eq!(log_dir_arg(args(&["--log-dir"])), None);
    }

    #[test]
    fn anything_else_is_rejected() {
        for line in [
            "",
            "open",
            "open not a url",
            "show now",
            "Quit",
            "focus maybe",
        ] {
            assert!(Command::parse(line).is_err(), "{line:?}");
        }
        assert!(WindowEvent::parse("Gtk-WARNING: something").is_err());
    }
}
