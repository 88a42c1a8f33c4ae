//! The app's shared reactive state, provided once as a Leptos context.
//!
//! Every field is a signal (cheap to copy), so components and the WebSocket callbacks, which run outside the
//! reactive owner tree, can all hold the same `AppState` by value.

use leptos::prelude::*;
use simrelay_protocol::{ModemStatus, SendAccepted, Settings};

use crate::api::{self, ApiFailure};
use crate::connection::ConnState;
use crate::endpoint::Endpoint;
use crate::inbox::Inbox;
use crate::outbox::{Outbox, Outgoing};
use crate::prefs::Prefs;

/// How many messages the live screens keep in memory; older ones are reached through History.
pub const LIVE_CAP: usize = 500;

/// The screens of the app, one per `#/name` address so they can be bookmarked and linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Newest code and recent messages.
    Live,
    /// Messages by correspondent, and one thread with its reply box (`#/conversations/<peer>`).
    Conversations,
    /// Every stored message, searchable.
    History,
    /// Send an SMS.
    Compose,
    /// Modem status cards.
    Modems,
    /// Preferences and access.
    Settings,
    /// One message in detail (`#/message/<id>`), opened from a desktop notification or a link.
    Message(i64),
}

impl Screen {
    /// All screens in navigation order.
    pub const ALL: [Screen; 6] = [
        Screen::Live,
        Screen::Conversations,
        Screen::History,
        Screen::Compose,
        Screen::Modems,
        Screen::Settings,
    ];

    /// The `#/...` fragment that selects the screen.
    pub fn hash(self) -> String {
        match self {
            Screen::Live => "#/live".into(),
            Screen::Conversations => "#/conversations".into(),
            Screen::History => "#/history".into(),
            Screen::Compose => "#/compose".into(),
            Screen::Modems => "#/modems".into(),
            Screen::Settings => "#/settings".into(),
            Screen::Message(id) => format!("#/message/{id}"),
        }
    }

    /// The name shown in the navigation.
    pub fn label(self) -> &'static str {
        match self {
            Screen::Live => "Live",
            Screen::Conversations => "Conversations",
            Screen::History => "History",
            Screen::Compose => "Compose",
            Screen::Modems => "Modems",
            Screen::Settings => "Settings",
            Screen::Message(_) => "Message",
        }
    }

    /// The navigation tab that stays marked on this screen (a message detail belongs to History).
    pub fn tab(self) -> Screen {
        match self {
            Screen::Message(_) => Screen::History,
            other => other,
        }
    }

    /// The screen a location hash selects; anything unknown shows Live.
    pub fn from_hash(hash: &str) -> Screen {
        if let Some(id) = hash
            .strip_prefix("#/message/")
            .and_then(|id| id.parse::<i64>().ok())
            .filter(|id| *id > 0)
        {
            return Screen::Message(id);
        }
        // The thread of one correspondent is part of the Conversations screen, which reads the rest itself.
        if hash.starts_with("#/conversations/") {
            return Screen::Conversations;
        }
        Screen::ALL
            .into_iter()
            .find(|s| s.hash() == hash)
            .unwrap_or(Screen::Live)
    }
}

/// Everything the screens share.
#[derive(Clone, Copy)]
pub struct AppState {
    /// Messages received live (and caught up on reconnect), newest first.
    pub inbox: RwSignal<Inbox>,
    /// Status of every modem, as the server reported it.
    pub modems: RwSignal<Vec<ModemStatus>>,
    /// Calls announced live since the page loaded (`call` frames), newest first; the Modems screen adds them
    /// to the history it loads.
    pub calls: RwSignal<Vec<simrelay_protocol::Call>>,
    /// State of the WebSocket.
    pub conn: RwSignal<ConnState>,
    /// Set when the server refused our token, phrased for the user.
    pub auth_error: RwSignal<Option<String>>,
    /// Messages that arrived while the user was not looking at the Live screen.
    pub unread: RwSignal<usize>,
    /// Wall clock in ms, ticking so relative times stay fresh.
    pub now_ms: RwSignal<i64>,
    /// The screen shown.
    pub screen: RwSignal<Screen>,
    /// The user's preferences.
    pub prefs: RwSignal<Prefs>,
    /// Where the engine is.
    pub endpoint: StoredValue<Endpoint>,
    /// Messages sent from this page and their progress, from `sent` frames.
    pub outbox: RwSignal<Outbox>,
    /// The server's settings, once read or pushed in a `settings` frame.
    pub server_settings: RwSignal<Option<Settings>>,
}

impl AppState {
    /// Creates the state for `endpoint`, with preferences loaded from storage.
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            inbox: RwSignal::new(Inbox::with_cap(LIVE_CAP)),
            modems: RwSignal::new(Vec::new()),
            calls: RwSignal::new(Vec::new()),
            conn: RwSignal::new(ConnState::Connecting),
            auth_error: RwSignal::new(None),
            unread: RwSignal::new(0),
            now_ms: RwSignal::new(now_ms()),
            screen: RwSignal::new(Screen::Live),
            prefs: RwSignal::new(Prefs::load()),
            endpoint: StoredValue::new(endpoint),
            outbox: RwSignal::new(Outbox::default()),
            server_settings: RwSignal::new(None),
        }
    }

    /// Inserts or replaces a modem's status.
    pub fn upsert_modem(&self, modem: ModemStatus) {
        self.modems
            .update(|list| match list.iter_mut().find(|m| m.id == modem.id) {
                Some(slot) => *slot = modem,
                None => list.push(modem),
            });
    }

    /// Sends `text` to `to` through `modem` (`None`: the first connected one) and tracks its progress in the
    /// outbox: the one send path of every screen (Compose, a conversation's reply box).
    pub async fn send(
        self,
        to: String,
        text: String,
        modem: Option<String>,
    ) -> Result<SendAccepted, ApiFailure> {
        let endpoint = self.endpoint.get_value();
        let accepted = api::send(&endpoint, &to, &text, modem.as_deref()).await?;
        let item = Outgoing {
            id: accepted.id,
            to,
            text,
        };
        self.outbox.try_update(|o| o.add(item, accepted.clone()));
        Ok(accepted)
    }

    /// True when the user is looking at the Live screen in a visible tab.
    pub fn is_watching_live(&self) -> bool {
        self.screen.get_untracked() == Screen::Live && !document().hidden()
    }
}

/// Milliseconds since the Unix epoch from the browser's clock.
pub fn now_ms() -> i64 {
    // f64 ms since 1970 is exact far beyond any date this app will see.
    js_sys::Date::now() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_round_trips_and_unknown_is_live() {
        for s in Screen::ALL {
            assert_eq!(Screen::from_hash(&s.hash()), s);
        }
        assert_eq!(Screen::from_hash(""), Screen::Live);
        assert_eq!(Screen::from_hash("#/nope"), Screen::Live);
        assert_eq!(Screen::from_hash("#/message/42"), Screen::Message(42));
        assert_eq!(Screen::Message(42).hash(), "#/message/42");
        assert_eq!(Screen::Message(42).tab(), Screen::History);
        assert_eq!(
            Screen::from_hash("#/conversations/%2B15555550100"),
            Screen::Conversations
        );
        for bad in [
            "#/message/",
            "#/message/x",
            "#/message/-1",
            "#/message/99999999999999999999",
        ] {
            assert_eq!(Screen::from_hash(bad), Screen::Live, "{bad}");
        }
    }
}
