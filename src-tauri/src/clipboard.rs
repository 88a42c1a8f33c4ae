//! Puts a code on the clipboard and takes it off again.
//!
//! A verification code should not linger: after the delay given with each copy (the Settings screen's "clear
//! the clipboard after N seconds") the clipboard is cleared, but only if it still holds
//! the code we put there (the user may have copied something else since). Where the platform allows, the code is
//! marked to stay out of clipboard-manager histories. On X11 the process that set the clipboard must keep serving
//! it, so one long-lived thread owns the clipboard for the app's lifetime.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Handle to the clipboard thread. Cheap to clone; the thread ends when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct ClipboardKeeper {
    tx: mpsc::Sender<(String, Option<Duration>)>,
}

impl ClipboardKeeper {
    /// Starts the clipboard thread. The system clipboard is opened on the first copy, so an app without a display
    /// (tests) never touches it.
    pub fn spawn() -> Self {
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("clipboard".into())
            .spawn(move || keeper_loop(&rx));
        if let Err(error) = spawned {
            tracing::warn!(%error, "could not start the clipboard thread; copying codes will not work");
        }
        Self { tx }
    }

    /// Copies `text` and schedules its removal after `clear_after` (`None`: it stays).
    pub fn copy(&self, text: String, clear_after: Option<Duration>) {
        if self.tx.send((text, clear_after)).is_err() {
            tracing::warn!("the clipboard thread is gone; the code was not copied");
        }
    }
}

/// Whether the clipboard, now holding `current`, should be cleared because it still holds what we `copied`.
pub fn should_clear(current: Option<&str>, copied: &str) -> bool {
    current == Some(copied)
}

fn keeper_loop(rx: &mpsc::Receiver<(String, Option<Duration>)>) {
    let mut clipboard: Option<arboard::Clipboard> = None;
    let mut pending: Option<(String, Instant)> = None;
    loop {
        let next = match &pending {
            Some((_, deadline)) => {
                rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            }
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match next {
            Ok((text, clear_after)) => {
                if clipboard.is_none() {
                    clipboard = arboard::Clipboard::new()
                        .map_err(|error| tracing::warn!(%error, "cannot open the clipboard"))
                        .ok();
                }
                if let Some(board) = clipboard.as_mut() {
                    match set_private_text(board, &text) {
                        Ok(()) => match clear_after {
                            Some(delay) => {
                                tracing::info!("code copied; clearing it in {}s", delay.as_secs());
                                pending = Some((text, Instant::now() + delay));
                            }
                            None => {
                                tracing::info!("code copied; kept (clearing is off)");
                                pending = None;
                            }
                        },
                        Err(error) => tracing::warn!(%error, "could not copy the code"),
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                if let (Some((copied, _)), Some(board)) = (pending.take(), clipboard.as_mut()) {
                    let current = board.get_text().ok();
                    if should_clear(current.as_deref(), &copied) {
                        match board.clear() {
                            Ok(()) => tracing::info!("cleared the copied code from the clipboard"),
                            Err(error) => tracing::warn!(%error, "could not clear the clipboard"),
                        }
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn set_private_text(board: &mut arboard::Clipboard, text: &str) -> Result<(), arboard::Error> {
    #[cfg(all(unix, not(target_os = "macos"), not(target_os = "android")))]
    {
        use arboard::SetExtLinux;
        board.set().exclude_from_history().text(text)
    }
    #[cfg(target_os = "windows")]
    {
        use arboard::SetExtWindows;
        board.set().exclude_from_history().text(text)
    }
    #[cfg(not(any(
        all(unix, not(target_os = "macos"), not(target_os = "android")),
        target_os = "windows"
    )))]
    {
        board.set_text(text)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn clears_only_what_we_copied() {
        assert!(should_clear(Some("583014"), "583014"));
        assert!(!should_clear(Some("something the user copied"), "583014"));
        assert!(!should_clear(None, "583014"));
    }

    #[test]
    fn copying_without_a_display_does_not_panic() {
        let keeper = ClipboardKeeper::spawn();
        // Under `cargo test` there may be no display: the keeper must log and go on.
        keeper.copy("123456".into(), Some(Duration::from_millis(10)));
        std::thread::sleep(Duration::from_millis(50));
        keeper.copy("654321".into(), None);
    }
}
