//! Who is watching the modems' status: while anyone is, drivers refresh signal, operator and
//! storage use every [`ModemConfig::status_interval`](crate::ModemConfig::status_interval);
//! while nobody is, they rely on the modem's unsolicited codes alone, so an idle relay makes no
//! periodic status traffic at all.
//!
//! A [`StatusWatch`] is a guard: the count goes up when it is made and down when it is dropped,
//! so a client that disconnects without saying goodbye stops counting as soon as its connection
//! task ends.

use std::sync::Arc;

use tokio::sync::watch;

/// The number of [`StatusWatch`]es alive, shared by every driver given a clone.
#[derive(Debug, Clone)]
pub struct StatusWatchers {
    count: Arc<watch::Sender<usize>>,
}

impl Default for StatusWatchers {
    fn default() -> Self {
        StatusWatchers::new()
    }
}

impl StatusWatchers {
    /// A set of watchers with nobody watching yet.
    pub fn new() -> StatusWatchers {
        StatusWatchers {
            count: Arc::new(watch::Sender::new(0)),
        }
    }

    /// Starts watching: until the returned guard is dropped, the drivers sharing these watchers
    /// keep their status fresh (one refresh at once, then one per status interval).
    pub fn watch(&self) -> StatusWatch {
        self.count.send_modify(|n| *n += 1);
        StatusWatch {
            watchers: self.clone(),
        }
    }

    /// How many are watching now.
    pub fn count(&self) -> usize {
        *self.count.borrow()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<usize> {
        self.count.subscribe()
    }
}

/// Someone watching the status; dropping it stops the watch.
#[derive(Debug)]
#[must_use = "the watch ends when this guard is dropped"]
pub struct StatusWatch {
    watchers: StatusWatchers,
}

impl Drop for StatusWatch {
    fn drop(&mut self) {
        self.watchers
            .count
            .send_modify(|n| *n = n.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_count_up_and_down() {
        let watchers = StatusWatchers::new();
        let mut rx = watchers.subscribe();
        assert_eq!(watchers.count(), 0);
        let a = watchers.watch();
        let b = watchers.clone().watch();
        assert_eq!(watchers.count(), 2);
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), 2);
        drop(a);
        drop(b);
        assert_eq!(watchers.count(), 0);
        assert_eq!(*rx.borrow_and_update(), 0);
    }
}
