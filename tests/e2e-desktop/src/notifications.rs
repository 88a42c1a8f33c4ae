//! A small `org.freedesktop.Notifications` server (the freedesktop Desktop Notifications spec, 1.2) that records
//! what the app asks to show and can press an action button, as a user would.
//!
//! A server of our own, rather than dunst, makes the test deterministic: it advertises `actions`, never expires a
//! notification by itself, and lets the test emit `ActionInvoked` for exactly the notification it inspected.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PATH: &str = "/org/freedesktop/Notifications";

/// One recorded `Notify` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyCall {
    /// The id the server answered with.
    pub id: u32,
    /// `app_name` argument.
    pub app_name: String,
    /// `summary` argument (the title).
    pub summary: String,
    /// `body` argument.
    pub body: String,
    /// `actions` argument: pairs of action id and label, flattened.
    pub actions: Vec<String>,
    /// When the server's handler got the call (for the benchmark's injection → Notify latency).
    pub received: Instant,
}

impl NotifyCall {
    /// Whether the notification offers the action `id`.
    pub fn has_action(&self, id: &str) -> bool {
        self.actions
            .chunks(2)
            .any(|pair| pair.first().map(String::as_str) == Some(id))
    }
}

/// The D-Bus object. Private, because zbus generates public but undocumented signal helpers for it.
mod recorder {
    use super::NotifyCall;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use zbus::object_server::SignalEmitter;
    use zbus::zvariant::OwnedValue;

    #[derive(Debug, Default)]
    pub(super) struct Recorder {
        pub(super) calls: Arc<Mutex<Vec<NotifyCall>>>,
    }

    #[zbus::interface(name = "org.freedesktop.Notifications")]
    impl Recorder {
        fn get_capabilities(&self) -> Vec<String> {
            vec!["actions".into(), "body".into()]
        }

        #[allow(clippy::too_many_arguments)] // the spec's signature
        fn notify(
            &self,
            app_name: String,
            _replaces_id: u32,
            _app_icon: String,
            summary: String,
            body: String,
            actions: Vec<String>,
            _hints: HashMap<String, OwnedValue>,
            _expire_timeout: i32,
        ) -> u32 {
            let received = std::time::Instant::now();
            let mut calls = self
                .calls
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let id = u32::try_from(calls.len()).unwrap_or(u32::MAX - 1) + 1;
            calls.push(NotifyCall {
                id,
                app_name,
                summary,
                body,
                actions,
                received,
            });
            id
        }

        fn close_notification(&self, _id: u32) {}

        fn get_server_information(&self) -> (String, String, String, String) {
            (
                "simrelay-e2e".into(),
                "SimRelay".into(),
                "0.1".into(),
                "1.2".into(),
            )
        }

        /// The user pressed action `action_key` of notification `id`.
        #[zbus(signal)]
        pub(super) async fn action_invoked(
            emitter: &SignalEmitter<'_>,
            id: u32,
            action_key: &str,
        ) -> zbus::Result<()>;

        /// Notification `id` went away; `reason` 2 means the user dismissed it.
        #[zbus(signal)]
        pub(super) async fn notification_closed(
            emitter: &SignalEmitter<'_>,
            id: u32,
            reason: u32,
        ) -> zbus::Result<()>;
    }
}
use recorder::Recorder;

/// The running server; it owns the bus name while this value lives.
#[derive(Debug)]
pub struct NotificationServer {
    connection: zbus::Connection,
    calls: Arc<Mutex<Vec<NotifyCall>>>,
}

impl NotificationServer {
    /// Connects to the bus at `address` and takes the name `org.freedesktop.Notifications`.
    pub async fn start(address: &str) -> zbus::Result<Self> {
        let recorder = Recorder::default();
        let calls = recorder.calls.clone();
        let connection = zbus::connection::Builder::address(address)?
            .name("org.freedesktop.Notifications")?
            .serve_at(PATH, recorder)?
            .build()
            .await?;
        Ok(Self { connection, calls })
    }

    /// Every `Notify` call so far.
    pub fn calls(&self) -> Vec<NotifyCall> {
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Waits up to `timeout` for a call that satisfies `pred`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&NotifyCall) -> bool,
    ) -> Option<NotifyCall> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(call) = self.calls().into_iter().find(&pred) {
                return Some(call);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    /// Presses action `action` of notification `id` (emits `ActionInvoked`, then `NotificationClosed` with reason 2,
    /// "dismissed by the user", as real servers do).
    pub async fn invoke_action(&self, id: u32, action: &str) -> zbus::Result<()> {
        let iface = self
            .connection
            .object_server()
            .interface::<_, Recorder>(PATH)
            .await?;
        Recorder::action_invoked(iface.signal_emitter(), id, action).await?;
        Recorder::notification_closed(iface.signal_emitter(), id, 2).await
    }

    /// Lets notification `id` expire (`NotificationClosed` with reason 1), as a real server does after a few
    /// seconds; the app then stops waiting for an action on it.
    pub async fn expire(&self, id: u32) -> zbus::Result<()> {
        let iface = self
            .connection
            .object_server()
            .interface::<_, Recorder>(PATH)
            .await?;
        Recorder::notification_closed(iface.signal_emitter(), id, 1).await
    }
}
