//! Desktop notifications for new messages: what they say, and how they reach the OS.
//!
//! [`Note::for_message`] decides the words (code first in the title, the untrusted SMS text shortened and escaped in
//! the body); a [`Notifier`] shows it and reports which action the user took. [`DesktopNotifier`] uses notify-rust,
//! which speaks `org.freedesktop.Notifications` on Linux (with actions) and does what it can on Windows and macOS.
//! [`Note::for_locked_sim`] tells the user when a SIM waits for its PIN (or PUK), [`Note::for_call`] of a missed call.

use simrelay_protocol::{Call, Message, ModemState, ModemStatus};

/// Longest body, in characters, before the text is cut with an ellipsis: notification popups show about three
/// lines, and a long SMS would only push the code out of view.
pub const BODY_MAX_CHARS: usize = 160;

/// Action id of the "Copy code" button.
pub const ACTION_COPY: &str = "copy";
/// Action id the freedesktop spec reserves for a click on the notification itself.
pub const ACTION_DEFAULT: &str = "default";

/// A notification ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Summary line: `583014 · Google` for a code (`583014 for example.com · Google` for an origin-bound one),
    /// else the sender.
    pub title: String,
    /// Body: the message text, shortened, with markup characters escaped.
    pub body: String,
    /// The code the "Copy code" action copies; `None` shows no such button.
    pub code: Option<String>,
    /// Store id of the message, so a click can open it.
    pub message_id: i64,
    /// A click on the notification copies the code instead of opening the message: with the code hidden, the
    /// body promises exactly that ("click to copy").
    pub click_copies: bool,
}

/// What the user did with a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteAction {
    /// Pressed "Copy code".
    CopyCode,
    /// Clicked the notification itself.
    Open,
    /// It went away without an action (timeout or dismissed), or the server could not report one.
    Dismissed,
}

impl NoteAction {
    /// Maps an action id from the notification server.
    pub fn from_id(id: &str) -> Self {
        match id {
            ACTION_COPY => Self::CopyCode,
            ACTION_DEFAULT => Self::Open,
            _ => Self::Dismissed,
        }
    }
}

impl Note {
    /// The notification for `message`; `hide_code` keeps the code out of the text (privacy option).
    pub fn for_message(message: &Message, hide_code: bool) -> Self {
        let sender = one_line(&message.sender);
        let code = message
            .code
            .as_deref()
            .map(one_line)
            .filter(|c| !c.is_empty());
        // The site an origin-bound code is for, so the user types it only there ("583014 for example.com").
        let site = message
            .origin
            .as_ref()
            .map(|o| format!(" for {}", one_line(&o.describe())))
            .unwrap_or_default();
        // Binary data has no text: its description ("binary message to port 2948, 97 bytes") stands in; a pure
        // voicemail indication says what waits.
        let text = match message.description() {
            Some(description) => description.to_owned(),
            None if message.is_pure_indication() => message.indication_summaries().join(", "),
            None => message.text.clone(),
        };
        let (title, body) = match (&code, hide_code) {
            (Some(_), true) => (
                sender.clone(),
                format!("New code{site} from {sender} \u{2014} click to copy"),
            ),
            (Some(code), false) => (format!("{code}{site} \u{b7} {sender}"), shorten(&text)),
            // A flash message without a code raises a notification in "codes" mode too: say why it did.
            (None, _) if message.flash => {
                (format!("Flash message \u{b7} {sender}"), shorten(&text))
            }
            (None, _) => (sender, shorten(&text)),
        };
        Self {
            // Some servers interpret markup in the summary too; the sender (and code) are untrusted like the text.
            title: escape_markup(&title),
            body: escape_markup(&body),
            click_copies: hide_code && code.is_some(),
            code,
            message_id: message.id,
        }
    }
}

impl Note {
    /// "Missed call from …" for an incoming call (the caller's number is untrusted text, escaped like an SMS);
    /// `modem` is the called modem's name. A click opens the window.
    pub fn for_call(call: &Call, modem: &str) -> Self {
        let from = one_line(&call.from);
        let title = if call.rejected {
            format!("Rejected call from {from}")
        } else {
            format!("Missed call from {from}")
        };
        Self {
            title: escape_markup(&title),
            body: escape_markup(&format!("on {}", one_line(modem))),
            code: None,
            message_id: 0,
            click_copies: false,
        }
    }

    /// The notification for a modem that just started waiting for its SIM PIN (or PUK); `None` when `modem` does
    /// not wait for one, or already did (`previous`), so a status refresh does not raise it again.
    pub fn for_locked_sim(previous: Option<ModemState>, modem: &ModemStatus) -> Option<Self> {
        if previous == Some(modem.state) {
            return None;
        }
        let name = one_line(modem.label.as_deref().unwrap_or(&modem.id));
        let (title, body) = match modem.state {
            ModemState::PinRequired => {
                let left = match modem.pin_attempts_left {
                    Some(1) => " (1 attempt left before it needs its PUK)".to_owned(),
                    Some(n) => format!(" ({n} attempts left)"),
                    None => String::new(),
                };
                (
                    "SIM PIN needed".to_owned(),
                    format!("{name}: enter the SIM PIN on the Modems screen{left}"),
                )
            }
            ModemState::PukRequired => (
                "SIM blocked: PUK needed".to_owned(),
                format!(
                    "{name}: three wrong PINs; put the SIM in a phone, enter its PUK and choose a new PIN, \
                     then enter that PIN on the Modems screen"
                ),
            ),
            _ => return None,
        };
        Some(Self {
            title: escape_markup(&title),
            body: escape_markup(&body),
            code: None,
            // No message: a click opens the window.
            message_id: 0,
            click_copies: false,
        })
    }
}

/// Collapses whitespace (including newlines an attacker may use to push fake lines) into single spaces.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One line of at most [`BODY_MAX_CHARS`] characters, cut on a character boundary.
fn shorten(text: &str) -> String {
    let flat = one_line(text);
    if flat.chars().count() <= BODY_MAX_CHARS {
        return flat;
    }
    let mut cut: String = flat.chars().take(BODY_MAX_CHARS - 1).collect();
    cut.push('\u{2026}');
    cut
}

/// Servers that advertise `body-markup` interpret a subset of HTML in the body (and some in the summary); SMS text and
/// senders are untrusted, so the three markup characters are escaped in both (servers without markup show the text
/// as is, which the spec allows for entities).
fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Shows notifications. Implementations must not block the caller: `on_action` is called later, at most once,
/// from any thread.
pub trait Notifier: Send + Sync + 'static {
    /// Shows `note` and reports the user's action through `on_action`.
    fn show(&self, note: Note, on_action: Box<dyn FnOnce(NoteAction) + Send>);
}

/// How long a notification's action is waited for. A server that keeps notifications until the user clears them
/// (GNOME's message list) may never answer; a code is stale long before this, and the wait must not outlive it.
pub const ACTION_WAIT: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// The OS notification system, through notify-rust. Each notification is a task on the tokio runtime it was created
/// in, which ends when the notification is acted on, closed, or after [`ACTION_WAIT`].
#[derive(Debug, Clone)]
pub struct DesktopNotifier {
    runtime: tokio::runtime::Handle,
}

impl DesktopNotifier {
    /// A notifier on the current tokio runtime; `None` outside one.
    pub fn on_current_runtime() -> Option<Self> {
        tokio::runtime::Handle::try_current()
            .ok()
            .map(|runtime| Self { runtime })
    }
}

impl Notifier for DesktopNotifier {
    fn show(&self, note: Note, on_action: Box<dyn FnOnce(NoteAction) + Send>) {
        self.runtime.spawn(show(note, on_action));
    }
}

async fn show(note: Note, on_action: Box<dyn FnOnce(NoteAction) + Send>) {
    let mut notification = notify_rust::Notification::new();
    notification
        .appname("SimRelay")
        .summary(&note.title)
        .body(&note.body)
        .icon("simrelay-desktop");
    if note.code.is_some() {
        notification.action(ACTION_COPY, "Copy code");
    }
    notification.action(ACTION_DEFAULT, "Open");
    #[cfg(all(unix, not(target_os = "macos")))]
    match notification.show_async().await {
        Ok(handle) => {
            let mut action = NoteAction::Dismissed;
            let waited = handle.wait_for_action_async(|response| {
                if let notify_rust::NotificationResponse::Action(id) = response {
                    action = NoteAction::from_id(id);
                } else if let notify_rust::NotificationResponse::Default = response {
                    action = NoteAction::Open;
                }
            });
            if tokio::time::timeout(ACTION_WAIT, waited).await.is_err() {
                tracing::debug!(
                    id = handle.id(),
                    "no answer to a notification; no longer waiting"
                );
            }
            on_action(action);
        }
        Err(error) => {
            tracing::warn!(%error, "could not show a notification");
            on_action(NoteAction::Dismissed);
        }
    }
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    {
        // Windows and macOS report no actions through notify-rust's portable API.
        if let Err(error) = notification.show() {
            tracing::warn!(%error, "could not show a notification");
        }
        on_action(NoteAction::Dismissed);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use chrono::DateTime;

    fn message(sender: &str, text: &str, code: Option<&str>) -> Message {
        let at = DateTime::parse_from_rfc3339("2026-11-22T10:00:00+01:00").unwrap();
        Message {
            id: 3,
            modem: "demo".into(),
            sender: sender.into(),
            text: text.into(),
            code: code.map(Into::into),
            code_span: None,
            sent_at: at,
            received_at: at,
            encoding: None,
            decode_error: None,
            incomplete: false,
            confidence: None,
            origin: None,
            alternatives: Vec::new(),
            ..Message::default()
        }
    }

    #[test]
    fn a_call_says_missed_and_escapes_the_number() {
        let at = DateTime::parse_from_rfc3339("2026-12-07T18:00:00+01:00").unwrap();
        let mut call = Call {
            id: 1,
            modem: "imei:1".into(),
            from: "+49<b>151</b>".into(),
            at,
            rejected: false,
        };
        let note = Note::for_call(&call, "Work SIM");
        assert_eq!(note.title, "Missed call from +49&lt;b&gt;151&lt;/b&gt;");
        assert_eq!(note.body, "on Work SIM");
        assert_eq!(note.code, None);
        call.rejected = true;
        call.from = "unknown".into();
        assert_eq!(
            Note::for_call(&call, "x").title,
            "Rejected call from unknown"
        );
    }

    #[test]
    fn flash_binary_and_voicemail_say_what_they_are() {
        let mut m = message("Parcel<b>", "Arrives <i>today</i>", None);
        m.flash = true;
        let note = Note::for_message(&m, false);
        // Titles are escaped like bodies (some notification servers render markup in both).
        assert_eq!(note.title, "Flash message \u{b7} Parcel&lt;b&gt;");
        assert_eq!(note.body, "Arrives &lt;i&gt;today&lt;/i&gt;");

        let mut m = message("+4917", "", None);
        m.content = Some(simrelay_protocol::MessageContent {
            kind: simrelay_protocol::ContentKind::Binary,
            port: Some(5499),
            source_port: None,
            length: Some(97),
            content_type: None,
            description: Some("binary message to port 5499, 97 bytes".into()),
        });
        assert_eq!(
            Note::for_message(&m, false).body,
            "binary message to port 5499, 97 bytes"
        );

        let mut m = message("+4917", "", None);
        m.indications = vec![simrelay_protocol::Indication {
            kind: simrelay_protocol::WaitingKind::Voicemail,
            active: true,
            count: Some(2),
            store: false,
        }];
        assert_eq!(Note::for_message(&m, false).body, "Voicemail: 2 waiting");
    }

    #[test]
    fn an_origin_bound_code_names_its_site() {
        let mut m = message(
            "GitHub",
            "660679 is your GitHub authentication code.\n\n@github.com #660679",
            Some("660679"),
        );
        m.origin = Some(simrelay_protocol::CodeOrigin {
            host: "github.com".into(),
            embedded: None,
        });
        let note = Note::for_message(&m, false);
        assert_eq!(note.title, "660679 for github.com \u{b7} GitHub");
        assert_eq!(
            note.code.as_deref(),
            Some("660679"),
            "the site is not copied"
        );
        let hidden = Note::for_message(&m, true);
        assert_eq!(
            hidden.body,
            "New code for github.com from GitHub \u{2014} click to copy"
        );
    }

    #[test]
    fn code_comes_first_in_the_title() {
        let note = Note::for_message(
            &message(
                "Google",
                "G-583014 is your Google verification code.",
                Some("583014"),
            ),
            false,
        );
        assert_eq!(note.title, "583014 \u{b7} Google");
        assert_eq!(note.body, "G-583014 is your Google verification code.");
        assert_eq!(note.code.as_deref(), Some("583014"));
        assert_eq!(note.message_id, 3);
    }

    #[test]
    fn privacy_option_keeps_the_code_out_of_the_text() {
        let note = Note::for_message(
            &message("Google", "G-583014 is your code", Some("583014")),
            true,
        );
        assert!(
            !note.title.contains("583014") && !note.body.contains("583014"),
            "{note:?}"
        );
        assert_eq!(note.title, "Google");
        assert_eq!(note.body, "New code from Google \u{2014} click to copy");
        assert!(note.click_copies, "the body promises that a click copies");
        assert_eq!(
            note.code.as_deref(),
            Some("583014"),
            "the action still copies it"
        );
    }

    #[test]
    fn a_message_without_code_has_no_copy_action() {
        let note = Note::for_message(&message("+4917012345", "See you at 8", None), false);
        assert_eq!(note.title, "+4917012345");
        assert_eq!(note.code, None);
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let text = "\u{1f600}".repeat(400);
        let note = Note::for_message(&message("X", &text, None), false);
        assert_eq!(note.body.chars().count(), BODY_MAX_CHARS);
        assert!(note.body.ends_with('\u{2026}'));
    }

    #[test]
    fn untrusted_text_cannot_inject_markup_or_lines() {
        let note = Note::for_message(
            &message(
                "Bank\nFAKE",
                "<b>1234</b> & <a href=x>y</a>\n\nline",
                Some("1234"),
            ),
            false,
        );
        assert_eq!(note.title, "1234 \u{b7} Bank FAKE");
        assert_eq!(
            note.body,
            "&lt;b&gt;1234&lt;/b&gt; &amp; &lt;a href=x&gt;y&lt;/a&gt; line"
        );
    }

    #[test]
    fn titles_are_escaped_like_bodies() {
        let note = Note::for_message(&message("<i>Bank</i> & Co", "hello", None), false);
        assert_eq!(note.title, "&lt;i&gt;Bank&lt;/i&gt; &amp; Co");
        let note = Note::for_message(&message("<b>x</b>", "code", Some("12<34")), false);
        assert_eq!(note.title, "12&lt;34 \u{b7} &lt;b&gt;x&lt;/b&gt;");
    }

    #[test]
    fn a_locked_sim_is_announced_once_with_the_tries_left() {
        let mut modem = ModemStatus::new("imei:1", "/dev/ttyUSB2", ModemState::PinRequired);
        modem.label = Some("Work <SIM>".into());
        modem.pin_attempts_left = Some(2);
        let note = Note::for_locked_sim(Some(ModemState::Connecting), &modem).expect("a note");
        assert_eq!(note.title, "SIM PIN needed");
        assert!(note.body.contains("Work &lt;SIM&gt;"), "{}", note.body);
        assert!(note.body.contains("2 attempts left"), "{}", note.body);
        assert!(note.code.is_none());
        assert!(Note::for_locked_sim(Some(ModemState::PinRequired), &modem).is_none());
        modem.state = ModemState::PukRequired;
        let puk = Note::for_locked_sim(Some(ModemState::PinRequired), &modem).expect("a note");
        assert!(
            puk.title.contains("PUK") && puk.body.contains("phone"),
            "{puk:?}"
        );
        modem.state = ModemState::Connected;
        assert!(Note::for_locked_sim(Some(ModemState::PukRequired), &modem).is_none());
    }

    #[test]
    fn action_ids_map_to_actions() {
        assert_eq!(NoteAction::from_id("copy"), NoteAction::CopyCode);
        assert_eq!(NoteAction::from_id("default"), NoteAction::Open);
        assert_eq!(NoteAction::from_id("__closed"), NoteAction::Dismissed);
    }
}
