//! Where the engine is and how to prove we may talk to it.
//!
//! The UI is always served by the engine it talks to (a LAN browser, or the desktop window loading the engine's
//! local URL), so the API's address is the page's own origin. The address `simrelay serve` prints (and the one
//! the desktop app hands its window) carries the access token as `?token=T`: it is moved into storage at start-up
//! and removed from the address bar, so it does not linger in history, bookmarks or screenshots. A pairing link
//! carries a one-time code instead (`?pair=C`), which the app exchanges for this device's own token
//! (`views/pairing.rs`), and is taken out of the address bar the same way.

/// Storage key of the access token.
const TOKEN_KEY: &str = "simrelay.token";

/// The engine's address and the access token, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http(s)://host:port` of the engine, without a trailing slash.
    pub origin: String,
    /// Token sent as `Authorization: Bearer` (HTTP) or `?token=` (WebSocket, which cannot set headers).
    pub token: Option<String>,
}

impl Endpoint {
    /// Absolute URL of an API path such as `/api/messages?limit=50`.
    pub fn http_url(&self, path: &str) -> String {
        format!("{}{}", self.origin, path)
    }

    /// The WebSocket URL, with the token in the query when there is one.
    pub fn ws_url(&self) -> String {
        let base = if let Some(rest) = self.origin.strip_prefix("https://") {
            format!("wss://{rest}/ws")
        } else if let Some(rest) = self.origin.strip_prefix("http://") {
            format!("ws://{rest}/ws")
        } else {
            format!("{}/ws", self.origin)
        };
        match &self.token {
            Some(t) => format!("{base}?token={}", percent_encode(t)),
            None => base,
        }
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` and `+` in a query value; malformed escapes are kept as they are.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Takes `token` out of a location's query string (`?a=1&token=T&b=2`).
///
/// Returns the token (if present and non-empty) and the query string to put back, with its `?`, or an empty
/// string when nothing else remains.
pub fn take_token(search: &str) -> (Option<String>, String) {
    take_param(search, "token")
}

/// Takes parameter `name` out of a location's query string; like [`take_token`].
pub fn take_param(search: &str, name: &str) -> (Option<String>, String) {
    let query = search.strip_prefix('?').unwrap_or(search);
    let mut token = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some((key, value)) if key == name => {
                let value = percent_decode(value);
                if !value.is_empty() {
                    token = Some(value);
                }
            }
            Some(_) => kept.push(pair),
            None if pair == name => {}
            None => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    };
    (token, rest)
}

/// Takes a pairing code (`?pair=`) out of the page's address, if it has one.
pub fn take_pairing_code() -> Option<String> {
    let window = leptos::prelude::window();
    let location = window.location();
    let (code, rest) = take_param(&location.search().unwrap_or_default(), "pair");
    if code.is_some() {
        let path = location.pathname().unwrap_or_else(|_| "/".into());
        let hash = location.hash().unwrap_or_default();
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(
                &wasm_bindgen::JsValue::NULL,
                "",
                Some(&format!("{path}{rest}{hash}")),
            );
        }
    }
    code
}

/// Keeps `token` as this browser's access token (in local storage; storage may be disabled, then the server's
/// cookie carries it).
pub fn store_token(token: &str) {
    if let Ok(Some(storage)) = leptos::prelude::window().local_storage() {
        let _ = storage.set_item(TOKEN_KEY, token);
    }
}

/// Reads the endpoint from the page: origin from `window.location`, token from `?token=` (then stored and
/// removed from the address bar) or from storage.
pub fn from_page() -> Endpoint {
    let window = leptos::prelude::window();
    let location = window.location();
    let origin = location.origin().unwrap_or_default();
    let search = location.search().unwrap_or_default();
    let (from_url, rest) = take_token(&search);
    let storage = window.local_storage().ok().flatten();
    let token = match from_url {
        Some(token) => {
            if let Some(storage) = &storage {
                // Storage may be full or disabled (private mode); the token then lives for this page only.
                let _ = storage.set_item(TOKEN_KEY, &token);
            }
            let path = location.pathname().unwrap_or_else(|_| "/".into());
            let hash = location.hash().unwrap_or_default();
            if let Ok(history) = window.history() {
                let _ = history.replace_state_with_url(
                    &wasm_bindgen::JsValue::NULL,
                    "",
                    Some(&format!("{path}{rest}{hash}")),
                );
            }
            Some(token)
        }
        None => storage.and_then(|s| s.get_item(TOKEN_KEY).ok().flatten()),
    };
    Endpoint { origin, token }
}

/// Whether the page runs in the desktop app's window: the shell adds `shell=desktop` to the address it loads.
pub fn in_desktop_shell(search: &str) -> bool {
    search
        .strip_prefix('?')
        .unwrap_or(search)
        .split('&')
        .any(|pair| pair == "shell=desktop")
}

/// Forgets the stored token (Settings → "Log out").
pub fn forget_token() {
    if let Ok(Some(storage)) = leptos::prelude::window().local_storage() {
        let _ = storage.remove_item(TOKEN_KEY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_taken_and_other_params_kept() {
        assert_eq!(
            take_token("?token=abc"),
            (Some("abc".into()), String::new())
        );
        assert_eq!(
            take_token("?a=1&token=a%2Bb%3D&b=2"),
            (Some("a+b=".into()), "?a=1&b=2".into())
        );
        assert_eq!(take_token(""), (None, String::new()));
        assert_eq!(take_token("?token=&x"), (None, "?x".into()));
        assert_eq!(take_token("?tokens=1"), (None, "?tokens=1".into()));
    }

    #[test]
    fn a_pairing_code_is_taken_like_a_token() {
        assert_eq!(
            take_param("?pair=c0de&shell=desktop", "pair"),
            (Some("c0de".into()), "?shell=desktop".into())
        );
        assert_eq!(take_param("?token=t", "pair"), (None, "?token=t".into()));
        assert_eq!(take_param("?pairs=1", "pair"), (None, "?pairs=1".into()));
    }

    #[test]
    fn desktop_shell_marker() {
        assert!(in_desktop_shell("?token=a&shell=desktop"));
        assert!(in_desktop_shell("?shell=desktop"));
        assert!(!in_desktop_shell("?shell=desktops"));
        assert!(!in_desktop_shell(""));
        // The marker survives taking the token out of the address.
        assert!(in_desktop_shell(&take_token("?token=a&shell=desktop").1));
    }

    #[test]
    fn malformed_escapes_do_not_panic() {
        for s in [
            "?token=%",
            "?token=%4",
            "?token=%zz",
            "?token=%E2%82",
            "?token=é%",
        ] {
            let (token, _) = take_token(s);
            assert!(token.is_some(), "{s}");
        }
        assert_eq!(take_token("?token=%zz").0.as_deref(), Some("%zz"));
    }

    #[test]
    fn ws_url_follows_the_page_scheme_and_encodes_the_token() {
        let mut e = Endpoint {
            origin: "http://127.0.0.1:8080".into(),
            token: None,
        };
        assert_eq!(e.ws_url(), "ws://127.0.0.1:8080/ws");
        e.token = Some("a b&c".into());
        assert_eq!(e.ws_url(), "ws://127.0.0.1:8080/ws?token=a%20b%26c");
        e.origin = "https://box.lan".into();
        assert!(e.ws_url().starts_with("wss://box.lan/ws?"));
        assert_eq!(e.http_url("/api/health"), "https://box.lan/api/health");
    }
}
