//! The alarm of the safety sweep: a deadline a minute or more away that should wake the process
//! once.
//!
//! tokio's timer wheel reaches such a deadline in steps: it files the timer on a coarse level and
//! moves it to finer ones as the deadline nears, and every move is a wake-up of the runtime
//! (`strace` of an idle `simrelay serve` shows `epoll_wait` returning about 3 s, then 36 ms and
//! 18 ms before a one-minute sweep). An idle relay is judged by its wake-ups and the sweep is the
//! only timer it has left, so on Linux the sweep waits on a timerfd, which the kernel fires once,
//! at the deadline. Elsewhere, and in the crate's unit tests on tokio's paused clock (which no
//! kernel timer follows), it is a tokio sleep.

use tokio::time::Instant;

/// A one-shot alarm at an [`Instant`], re-armed at will.
pub(super) struct Alarm {
    deadline: Option<Instant>,
    #[cfg(all(target_os = "linux", not(test)))]
    timer: Option<kernel::Timer>,
}

impl Alarm {
    /// An alarm that is not set.
    pub(super) fn new() -> Alarm {
        Alarm {
            deadline: None,
            #[cfg(all(target_os = "linux", not(test)))]
            timer: kernel::Timer::new()
                .map_err(|e| tracing::debug!(%e, "no timerfd; the sweep uses a tokio timer"))
                .ok(),
        }
    }

    /// When it goes off, if set.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Sets it to go off at `deadline`, or (`None`) never.
    pub(super) fn set(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
        #[cfg(all(target_os = "linux", not(test)))]
        if let Some(timer) = &self.timer {
            if let Err(e) = timer.set(deadline) {
                tracing::debug!(%e, "cannot set the timerfd; the sweep uses a tokio timer");
                self.timer = None;
            }
        }
    }

    /// Returns once the deadline has passed; never while the alarm is not set. Cancel-safe.
    pub(super) async fn wait(&mut self) {
        let Some(deadline) = self.deadline else {
            return std::future::pending().await;
        };
        #[cfg(all(target_os = "linux", not(test)))]
        if let Some(timer) = &self.timer {
            if timer.fired().await.is_ok() {
                return;
            }
        }
        tokio::time::sleep_until(deadline).await;
    }
}

#[cfg(all(target_os = "linux", not(test)))]
mod kernel {
    //! The timerfd behind [`super::Alarm`] on Linux.

    use std::io;
    use std::os::fd::AsFd;
    use std::time::Duration;

    use nix::sys::time::TimeSpec;
    use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
    use tokio::net::unix::pipe;
    use tokio::time::Instant;

    pub(super) struct Timer {
        timer: TimerFd,
        /// The same timer, watched by tokio's reactor: readable once it has fired. (tokio's pipe
        /// type polls any non-blocking fd, as the simulator does with its pty.)
        fired: pipe::Receiver,
    }

    impl Timer {
        pub(super) fn new() -> io::Result<Timer> {
            // CLOCK_MONOTONIC is the clock tokio's Instant (std's) reads.
            let timer = TimerFd::new(
                ClockId::CLOCK_MONOTONIC,
                TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
            )?;
            let watched = timer.as_fd().try_clone_to_owned()?;
            Ok(Timer {
                timer,
                fired: pipe::Receiver::from_owned_fd_unchecked(watched)?,
            })
        }

        pub(super) fn set(&self, deadline: Option<Instant>) -> io::Result<()> {
            match deadline {
                // A zero expiration would disarm it: at least a nanosecond.
                Some(at) => self.timer.set(
                    Expiration::OneShot(TimeSpec::from_duration(
                        at.saturating_duration_since(Instant::now())
                            .max(Duration::from_nanos(1)),
                    )),
                    TimerSetTimeFlags::empty(),
                )?,
                None => self.timer.unset()?,
            }
            Ok(())
        }

        /// Waits until the timer has fired (and takes the expiration).
        pub(super) async fn fired(&self) -> io::Result<()> {
            let mut count = [0u8; 8];
            loop {
                self.fired.readable().await?;
                match self.fired.try_read(&mut count) {
                    Ok(_) => return Ok(()),
                    // Not yet (readiness left over from an expiration taken before a re-arm).
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Err(e),
                }
            }
        }
    }
}
