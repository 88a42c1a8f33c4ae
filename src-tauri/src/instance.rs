//! Single instance: the first `simrelay-desktop` owns a name on the D-Bus session bus; a second launch asks it to
//! show its window and exits.
//!
//! A bus name rather than a lock file: the bus frees it the moment the first instance dies, however it died, and
//! the same connection carries the "show yourself" request.

use std::sync::Arc;
use zbus::fdo::RequestNameFlags;
use zbus::fdo::RequestNameReply;

/// The bus name the running instance owns.
pub const BUS_NAME: &str = "app.simrelay.Desktop";
/// Object path of the instance's interface.
pub const OBJECT_PATH: &str = "/app/simrelay/Desktop";
/// Interface with the `Open` method.
pub const INTERFACE: &str = "app.simrelay.Desktop1";

/// Result of [`claim`].
pub enum Claim {
    /// This is the first instance; keep the connection for as long as the app runs (dropping it frees the name).
    First(zbus::Connection),
    /// Another instance runs and was asked to show its window.
    Handed,
}

struct Desktop {
    on_open: Arc<dyn Fn() + Send + Sync>,
}

#[zbus::interface(name = "app.simrelay.Desktop1")]
impl Desktop {
    /// Shows the window (a second launch calls this).
    fn open(&self) {
        (self.on_open)();
    }
}

/// Claims the instance name on the session bus (or the bus at `address`); `on_open` runs whenever a later launch
/// asks this instance to show itself. Errors mean there is no usable bus: the app then runs without
/// single-instance protection.
pub async fn claim(
    address: Option<&str>,
    on_open: Arc<dyn Fn() + Send + Sync>,
) -> zbus::Result<Claim> {
    let builder = match address {
        Some(address) => zbus::connection::Builder::address(address)?,
        None => zbus::connection::Builder::session()?,
    };
    let connection = builder
        .serve_at(OBJECT_PATH, Desktop { on_open })?
        .build()
        .await?;
    match connection
        .request_name_with_flags(BUS_NAME, RequestNameFlags::DoNotQueue.into())
        .await
    {
        Ok(RequestNameReply::PrimaryOwner | RequestNameReply::AlreadyOwner) => {
            Ok(Claim::First(connection))
        }
        Ok(RequestNameReply::Exists | RequestNameReply::InQueue) | Err(zbus::Error::NameTaken) => {
            connection
                .call_method(Some(BUS_NAME), OBJECT_PATH, Some(INTERFACE), "Open", &())
                .await?;
            Ok(Claim::Handed)
        }
        Err(error) => Err(error),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A private session bus (a real dbus-daemon), so the test neither needs nor disturbs the user's.
    struct Bus(Child, String);

    impl Bus {
        fn start(dir: &std::path::Path) -> Self {
            let mut child = Command::new("dbus-daemon")
                .args(["--session", "--nofork", "--print-address=1"])
                .arg(format!("--address=unix:path={}", dir.join("bus").display()))
                .stdout(Stdio::piped())
                .spawn()
                .expect("dbus-daemon (Debian package dbus-daemon)");
            let mut address = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut address)
                .unwrap();
            Self(child, address.trim().to_owned())
        }
    }

    impl Drop for Bus {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[tokio::test]
    async fn a_second_launch_asks_the_first_to_open_and_the_name_is_freed_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let bus = Bus::start(dir.path());
        let opened = Arc::new(AtomicUsize::new(0));
        let counter = opened.clone();
        let first = claim(
            Some(&bus.1),
            Arc::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .await
        .unwrap();
        assert!(matches!(first, Claim::First(_)));

        let second = claim(
            Some(&bus.1),
            Arc::new(|| panic!("the second instance is never asked")),
        )
        .await
        .unwrap();
        assert!(matches!(second, Claim::Handed));
        assert_eq!(
            opened.load(Ordering::SeqCst),
            1,
            "the first instance was asked to show its window"
        );

        // The first instance ends: the next launch is the first again.
        drop(first);
        let mut third = None;
        for _ in 0..50 {
            if let Claim::First(connection) = claim(Some(&bus.1), Arc::new(|| {})).await.unwrap() {
                third = Some(connection);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(third.is_some(), "the name was not freed");
    }
}
