//! The live link to the engine: one WebSocket on `/ws`, reopened with exponential backoff when it drops.
//!
//! The server's first frame on every connection is `hello` with the recent messages, so a reconnect catches up by
//! merging that list (and one longer HTTP page when `hello` does not reach back to what we hold). The socket is
//! reopened at once when the browser comes back online or the tab becomes visible again, because a phone that
//! slept for an hour should not wait out a 30 s backoff.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;

use leptos::prelude::*;
use simrelay_protocol::{SentMessage, ServerEvent, ServerFrame, ServerNotice, Settings};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::api::{self, ApiFailure, PageQuery};
use crate::state::AppState;

/// What the connection indicator shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// First attempt under way.
    Connecting,
    /// Socket open; events flow.
    Live,
    /// Lost; the next attempt starts in `retry_in_ms`.
    Reconnecting {
        /// Consecutive failed attempts.
        attempt: u32,
        /// Delay before the next attempt.
        retry_in_ms: u32,
    },
    /// The browser is offline, or the server has not answered for a while; still retrying.
    Offline {
        /// Delay before the next attempt.
        retry_in_ms: u32,
    },
}

impl ConnState {
    /// Short label for the indicator.
    pub fn label(self) -> String {
        match self {
            ConnState::Connecting => "connecting…".to_owned(),
            ConnState::Live => "live".to_owned(),
            ConnState::Reconnecting { retry_in_ms, .. } => {
                format!("reconnecting in {} s", retry_in_ms.div_ceil(1000))
            }
            ConnState::Offline { retry_in_ms } => {
                format!("offline · retry in {} s", retry_in_ms.div_ceil(1000))
            }
        }
    }

    /// CSS modifier class of the indicator.
    pub fn class(self) -> &'static str {
        match self {
            ConnState::Connecting | ConnState::Reconnecting { .. } => "conn conn-reconnecting",
            ConnState::Live => "conn conn-live",
            ConnState::Offline { .. } => "conn conn-offline",
        }
    }
}

/// Delay before reconnect attempt number `attempt` (1-based): 0.5 s doubling to at most 30 s.
pub fn backoff_ms(attempt: u32) -> u32 {
    const BASE_MS: u32 = 500;
    const MAX_MS: u32 = 30_000;
    BASE_MS
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(MAX_MS)
}

/// After this many failed attempts in a row the indicator says "offline" rather than "reconnecting".
const OFFLINE_AFTER: u32 = 5;

/// How many messages to fetch when a reconnect may have missed some.
const CATCH_UP_LIMIT: usize = 200;

/// Callbacks kept alive as long as their socket.
struct Handlers {
    _open: Closure<dyn FnMut()>,
    _message: Closure<dyn FnMut(MessageEvent)>,
    _close: Closure<dyn FnMut(CloseEvent)>,
}

struct Inner {
    app: AppState,
    socket: Option<(WebSocket, Handlers)>,
    attempt: u32,
    /// True once any connection opened, so later `hello` frames are catch-ups.
    ever_opened: bool,
    retry: Option<TimeoutHandle>,
}

/// The reconnecting WebSocket; cloning shares the same socket.
#[derive(Clone)]
pub struct Connection(Rc<RefCell<Inner>>);

impl Connection {
    /// Opens the socket and keeps it open for the life of the page.
    pub fn start(app: AppState) -> Self {
        let conn = Connection(Rc::new(RefCell::new(Inner {
            app,
            socket: None,
            attempt: 0,
            ever_opened: false,
            retry: None,
        })));
        conn.open();
        for event in ["online", "visibilitychange"] {
            let weak = Rc::downgrade(&conn.0);
            let wake = Closure::<dyn FnMut()>::new(move || {
                if let Some(inner) = weak.upgrade() {
                    Connection(inner).reconnect_now_if_down();
                }
            });
            let _ = window().add_event_listener_with_callback(event, wake.as_ref().unchecked_ref());
            let _ =
                document().add_event_listener_with_callback(event, wake.as_ref().unchecked_ref());
            // The listener lives as long as the page.
            wake.forget();
        }
        conn
    }

    /// Skips the backoff wait when the socket is down (used by the "Retry now" button and wake-up events).
    pub fn reconnect_now_if_down(&self) {
        let down = !matches!(
            self.0.borrow().app.conn.get_untracked(),
            ConnState::Live | ConnState::Connecting
        );
        if down && !document().hidden() {
            if let Some(timer) = self.0.borrow_mut().retry.take() {
                timer.clear();
            }
            self.open();
        }
    }

    fn open(&self) {
        let app = self.0.borrow().app;
        let url = app.endpoint.with_value(|e| e.ws_url());
        let ws = match WebSocket::new(&url) {
            Ok(ws) => ws,
            Err(_) => {
                self.schedule_retry();
                return;
            }
        };
        let weak = Rc::downgrade(&self.0);
        let handlers = Handlers {
            _open: Closure::new({
                let weak = weak.clone();
                move || with_conn(&weak, |c| c.on_open())
            }),
            _message: Closure::new({
                let weak = weak.clone();
                move |ev: MessageEvent| with_conn(&weak, |c| c.on_message(ev))
            }),
            _close: Closure::new(move |_: CloseEvent| with_conn(&weak, |c| c.on_close())),
        };
        ws.set_onopen(Some(handlers._open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(handlers._message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(handlers._close.as_ref().unchecked_ref()));
        let old = self.0.borrow_mut().socket.replace((ws, handlers));
        if let Some((old_ws, _)) = old {
            detach(&old_ws);
        }
    }

    fn on_open(&self) {
        let mut inner = self.0.borrow_mut();
        inner.attempt = 0;
        inner.app.conn.set(ConnState::Live);
        inner.app.auth_error.set(None);
    }

    fn on_message(&self, ev: MessageEvent) {
        let Some(text) = ev.data().as_string() else {
            return;
        };
        let frame = match Frame::parse(&text) {
            Some(frame) => frame,
            None => {
                // A newer server may send frame types we do not know yet: skip them, keep the socket.
                leptos::logging::warn!("ignoring a frame this UI does not understand");
                return;
            }
        };
        let (app, catch_up) = {
            let mut inner = self.0.borrow_mut();
            let catch_up = inner.ever_opened;
            if matches!(frame, Frame::Event(ServerEvent::Hello { .. })) {
                inner.ever_opened = true;
            }
            (inner.app, catch_up)
        };
        match frame {
            Frame::Event(event) => {
                let hello = matches!(event, ServerEvent::Hello { .. });
                handle_event(app, event, catch_up);
                if hello && catch_up {
                    catch_up_outbox(app);
                }
            }
            Frame::Sent(sent) => {
                app.outbox.update(|o| {
                    o.observe(sent);
                });
            }
            Frame::Settings(settings) => app.server_settings.set(Some(settings)),
            Frame::Error(detail) => leptos::logging::warn!("server: {detail}"),
            Frame::Call(call) => app.calls.update(|calls| {
                calls.insert(0, call);
                calls.truncate(100);
            }),
        }
    }

    fn on_close(&self) {
        let app = self.0.borrow().app;
        if self.0.borrow().attempt == 0 && app.conn.get_untracked() == ConnState::Live {
            leptos::logging::log!("connection lost; reconnecting");
        }
        // A refused token looks like any failed handshake to a WebSocket; ask the API why.
        leptos::task::spawn_local(async move {
            let endpoint = app.endpoint.get_value();
            let probe = PageQuery {
                limit: 1,
                ..Default::default()
            };
            if let Err(ApiFailure::Unauthorized) = api::messages(&endpoint, &probe).await {
                app.auth_error
                    .set(Some(ApiFailure::Unauthorized.to_string()));
            }
        });
        self.schedule_retry();
    }

    fn schedule_retry(&self) {
        let (app, attempt) = {
            let mut inner = self.0.borrow_mut();
            inner.attempt += 1;
            (inner.app, inner.attempt)
        };
        // ±20 % jitter so many tabs do not hammer a restarted server in lockstep.
        let jitter = 0.8 + 0.4 * js_sys::Math::random();
        let delay = (f64::from(backoff_ms(attempt)) * jitter) as u32;
        let online = window().navigator().on_line();
        app.conn.set(if !online || attempt > OFFLINE_AFTER {
            ConnState::Offline { retry_in_ms: delay }
        } else {
            ConnState::Reconnecting {
                attempt,
                retry_in_ms: delay,
            }
        });
        let weak = Rc::downgrade(&self.0);
        let timer = set_timeout_with_handle(
            move || {
                if let Some(inner) = weak.upgrade() {
                    inner.borrow_mut().retry = None;
                    Connection(inner).open();
                }
            },
            Duration::from_millis(u64::from(delay)),
        );
        self.0.borrow_mut().retry = timer.ok();
    }
}

fn with_conn(weak: &Weak<RefCell<Inner>>, f: impl FnOnce(Connection)) {
    if let Some(inner) = weak.upgrade() {
        f(Connection(inner));
    }
}

/// Silences and closes a socket that has been replaced.
fn detach(ws: &WebSocket) {
    ws.set_onopen(None);
    ws.set_onmessage(None);
    ws.set_onclose(None);
    let _ = ws.close();
}

/// One frame from `/ws`, sorted by its `type`.
// A frame lives only while it is handled, one at a time: the size of its largest variant costs nothing, a box would
// cost an allocation per message.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `hello`, `sms`, `modem`.
    Event(ServerEvent),
    /// `sent`: an outgoing message's new status.
    Sent(SentMessage),
    /// `settings`: the server's settings changed.
    Settings(Settings),
    /// `error`: the server's answer to a frame it could not act on.
    Error(String),
    /// `call`: someone called a modem.
    Call(simrelay_protocol::Call),
}

impl Frame {
    /// Parses a text frame; `None` for a type this UI does not know or a body it cannot read.
    pub fn parse(text: &str) -> Option<Frame> {
        Some(match serde_json::from_str::<ServerFrame>(text).ok()? {
            ServerFrame::Event(event) => Frame::Event(event),
            ServerFrame::Notice(ServerNotice::Sent { sent }) => Frame::Sent(sent),
            ServerFrame::Notice(ServerNotice::Settings { settings }) => Frame::Settings(settings),
            ServerFrame::Notice(ServerNotice::Error { detail, .. }) if detail.is_empty() => {
                Frame::Error("error".into())
            }
            ServerFrame::Notice(ServerNotice::Error { detail, .. }) => Frame::Error(detail),
            ServerFrame::Notice(ServerNotice::Call(call)) => Frame::Call(call),
        })
    }
}

/// After a reconnect, asks once for the status of every message sent from this page that was still under way:
/// its `sent` frames may have gone out while we were disconnected.
fn catch_up_outbox(app: AppState) {
    let pending = app.outbox.with_untracked(|o| o.pending());
    if pending.is_empty() {
        return;
    }
    leptos::task::spawn_local(async move {
        let endpoint = app.endpoint.get_value();
        for id in pending {
            if let Ok(status) = api::sent(&endpoint, id).await {
                app.outbox.try_update(|o| o.apply(status));
            }
        }
    });
}

/// Applies one server event to the app state. `catch_up` is true for a `hello` after a reconnect.
pub fn handle_event(app: AppState, event: ServerEvent, catch_up: bool) {
    match event {
        ServerEvent::Hello { recent, modems } => {
            let gap = catch_up && app.inbox.with_untracked(|i| i.has_gap_before(&recent));
            let added = app
                .inbox
                .try_update(|i| i.merge(recent))
                .unwrap_or_default();
            if catch_up {
                note_new(app, &added);
            }
            app.modems.set(modems);
            if gap {
                leptos::task::spawn_local(async move {
                    let endpoint = app.endpoint.get_value();
                    let query = PageQuery {
                        limit: CATCH_UP_LIMIT,
                        ..Default::default()
                    };
                    if let Ok(page) = api::messages(&endpoint, &query).await {
                        let added = app
                            .inbox
                            .try_update(|i| i.merge(page.messages))
                            .unwrap_or_default();
                        note_new(app, &added);
                    }
                });
            }
        }
        ServerEvent::Sms { message } => {
            let added = app
                .inbox
                .try_update(|i| i.merge([message]))
                .unwrap_or_default();
            note_new(app, &added);
        }
        ServerEvent::Modem { modem } => app.upsert_modem(modem),
        ServerEvent::ModemRemoved { id } => app.modems.update(|m| m.retain(|x| x.id != id)),
        ServerEvent::CodeChanged { message } => app.inbox.update(|i| i.replace(message)),
        // The status that comes with it (`modem`) shows what changed; the card needs no more.
        ServerEvent::ModemEvent { .. } => {}
    }
}

/// Counts new messages as unread unless the user is watching, and auto-copies a new code if asked to.
fn note_new(app: AppState, added: &[i64]) {
    if added.is_empty() {
        return;
    }
    if !app.is_watching_live() {
        app.unread.update(|n| *n += added.len());
    }
    if app.prefs.with_untracked(|p| p.auto_copy) {
        let newest = app.inbox.with_untracked(|i| {
            i.newest()
                .filter(|m| added.contains(&m.id))
                .and_then(|m| m.code.clone())
        });
        if let Some(code) = newest {
            leptos::task::spawn_local(async move {
                crate::clipboard::copy(&code).await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff_ms(1), 500);
        assert_eq!(backoff_ms(2), 1000);
        assert_eq!(backoff_ms(3), 2000);
        assert_eq!(backoff_ms(7), 30_000);
        assert_eq!(backoff_ms(u32::MAX), 30_000);
        assert_eq!(backoff_ms(0), 500);
    }

    #[test]
    fn frames_are_sorted_by_type_and_unknown_ones_skipped() {
        let sent = Frame::parse(
            r#"{"type":"sent","sent":{"id":4,"modem":"demo","to":"+1555","text":"t","status":"sending","message_refs":[],"parts":1,"created_at":"2026-11-22T09:00:00Z","updated_at":"2026-11-22T09:00:00Z"}}"#,
        );
        assert!(
            matches!(&sent, Some(Frame::Sent(s)) if s.id == 4 && s.status.as_str() == "sending"),
            "{sent:?}"
        );
        assert!(matches!(
            Frame::parse(r#"{"type":"hello","recent":[]}"#),
            Some(Frame::Event(ServerEvent::Hello { .. }))
        ));
        assert!(matches!(
            Frame::parse(r#"{"type":"settings","settings":{"lan":true}}"#),
            Some(Frame::Settings(s)) if s.lan
        ));
        assert_eq!(
            Frame::parse(r#"{"type":"error","error":"unsupported","detail":"no"}"#),
            Some(Frame::Error("no".into()))
        );
        assert_eq!(Frame::parse(r#"{"type":"weather","sun":true}"#), None);
        assert_eq!(Frame::parse("not json"), None);
        assert_eq!(Frame::parse(r#"{"type":"sent"}"#), None);
    }

    #[test]
    fn labels() {
        assert_eq!(ConnState::Live.label(), "live");
        assert_eq!(
            ConnState::Reconnecting {
                attempt: 2,
                retry_in_ms: 1001
            }
            .label(),
            "reconnecting in 2 s"
        );
        assert!(ConnState::Offline {
            retry_in_ms: 30_000
        }
        .class()
        .contains("offline"));
    }
}
