//! Top-level X11 windows by title, and closing one the way a window manager's close button does
//! (a `WM_DELETE_WINDOW` client message), which is what a user's click on "×" sends to the app.
//!
//! WebDriver cannot be used for this: closing the last window through WebDriver ends the session, and the driver
//! then terminates the app, which would hide whether the app itself quits.

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    AtomEnum, ClientMessageEvent, ConnectionExt, EventMask, MapState, Window, CLIENT_MESSAGE_EVENT,
};

/// Errors talking to the X server.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

fn atom(conn: &impl Connection, name: &str) -> Result<u32, Error> {
    Ok(conn.intern_atom(false, name.as_bytes())?.reply()?.atom)
}

fn title(conn: &impl Connection, window: Window, utf8: u32) -> Result<Option<String>, Error> {
    for (property, kind) in [
        (atom(conn, "_NET_WM_NAME")?, utf8),
        (AtomEnum::WM_NAME.into(), AtomEnum::STRING.into()),
    ] {
        let reply = conn
            .get_property(false, window, property, kind, 0, 1024)?
            .reply()?;
        if !reply.value.is_empty() {
            return Ok(Some(String::from_utf8_lossy(&reply.value).into_owned()));
        }
    }
    Ok(None)
}

/// Every mapped (viewable) window on `display`, at any depth, whose title is exactly `wanted`. Unmapped windows
/// (GTK's client leader, a destroyed window's leftovers) are not something a user sees, so they do not count.
pub fn find_by_title(display: &str, wanted: &str) -> Result<Vec<Window>, Error> {
    let (conn, screen) = x11rb::connect(Some(display))?;
    let root = conn.setup().roots[screen].root;
    let utf8 = atom(&conn, "UTF8_STRING")?;
    let mut stack = vec![root];
    let mut found = Vec::new();
    while let Some(window) = stack.pop() {
        let viewable = conn.get_window_attributes(window)?.reply()?.map_state == MapState::VIEWABLE;
        if viewable && title(&conn, window, utf8)?.as_deref() == Some(wanted) {
            found.push(window);
        }
        stack.extend(conn.query_tree(window)?.reply()?.children);
    }
    Ok(found)
}

/// Asks `window` to close itself, as a window manager does.
pub fn request_close(display: &str, window: Window) -> Result<(), Error> {
    let (conn, _) = x11rb::connect(Some(display))?;
    let protocols = atom(&conn, "WM_PROTOCOLS")?;
    let delete = atom(&conn, "WM_DELETE_WINDOW")?;
    let event = ClientMessageEvent {
        response_type: CLIENT_MESSAGE_EVENT,
        format: 32,
        sequence: 0,
        window,
        type_: protocols,
        data: [delete, x11rb::CURRENT_TIME, 0, 0, 0].into(),
    };
    conn.send_event(false, window, EventMask::NO_EVENT, event)?;
    conn.flush()?;
    Ok(())
}
