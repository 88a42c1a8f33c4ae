//! The tray icon, where the app lives: its icon shows the state, its tooltip the latest code, its menu copies that
//! code, opens the window, pauses notifications, switches LAN sharing (through the engine's settings, like the
//! Settings screen), toggles start at login and quits. A left click on the icon opens the window.
//!
//! It is a StatusNotifierItem served over D-Bus (the `ksni` crate), the protocol KDE, GNOME's AppIndicator
//! extension, XFCE, Cinnamon, MATE and wlroots bars read. No GTK: the tray costs the resident process next to
//! nothing, which is the point of keeping the window in a process of its own.

use crate::pause::{Pause, ONE_HOUR};
use crate::shell::{Shell, TrayMood};
use ksni::menu::{CheckmarkItem, StandardItem};
use ksni::{MenuItem, TrayMethods};
use simrelay_protocol::Message;
use std::sync::Arc;
use std::time::Instant;

const ICON_NORMAL: &[u8] = include_bytes!("../../icons/tray.png");
const ICON_UNREAD: &[u8] = include_bytes!("../../icons/tray-unread.png");
const ICON_TROUBLE: &[u8] = include_bytes!("../../icons/tray-error.png");

/// The tray's three icons, decoded once into the ARGB32 pixmaps the protocol carries.
struct Icons {
    normal: Vec<ksni::Icon>,
    unread: Vec<ksni::Icon>,
    trouble: Vec<ksni::Icon>,
}

impl Icons {
    fn load() -> Self {
        let pixmap = |png: &[u8]| match decode_argb(png) {
            Ok(icon) => vec![icon],
            Err(error) => {
                // The PNGs are built into the binary; a broken one leaves that state without an icon.
                tracing::warn!(%error, "tray icon");
                Vec::new()
            }
        };
        Self {
            normal: pixmap(ICON_NORMAL),
            unread: pixmap(ICON_UNREAD),
            trouble: pixmap(ICON_TROUBLE),
        }
    }
}

/// Decodes a PNG into an ARGB32 (network byte order) pixmap.
fn decode_argb(png_bytes: &[u8]) -> Result<ksni::Icon, png::DecodingError> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    // Palette and 16-bit images become 8-bit RGB(A), so only the channel count varies below.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info()?;
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let frame = reader.next_frame(&mut buf)?;
    let pixels = &buf[..frame.buffer_size()];
    let mut data = Vec::with_capacity(frame.width as usize * frame.height as usize * 4);
    match frame.color_type {
        png::ColorType::Rgba => {
            for p in pixels.chunks_exact(4) {
                data.extend_from_slice(&[p[3], p[0], p[1], p[2]]);
            }
        }
        png::ColorType::Rgb => {
            for p in pixels.chunks_exact(3) {
                data.extend_from_slice(&[0xff, p[0], p[1], p[2]]);
            }
        }
        png::ColorType::GrayscaleAlpha => {
            for p in pixels.chunks_exact(2) {
                data.extend_from_slice(&[p[1], p[0], p[0], p[0]]);
            }
        }
        png::ColorType::Grayscale | png::ColorType::Indexed => {
            for &g in pixels {
                data.extend_from_slice(&[0xff, g, g, g]);
            }
        }
    }
    Ok(ksni::Icon {
        width: i32::try_from(frame.width).unwrap_or(0),
        height: i32::try_from(frame.height).unwrap_or(0),
        data,
    })
}

/// Menu labels treat `_` as a mnemonic marker; a sender name is shown as written.
fn label_text(s: &str) -> String {
    s.replace('_', "__")
}

/// Tooltip descriptions may carry a subset of HTML; SMS senders and codes are untrusted.
fn escape_markup(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The tray item: everything it shows is read from the shell when the host asks.
struct TrayIcon {
    shell: Arc<Shell>,
    icons: Icons,
}

impl ksni::Tray for TrayIcon {
    fn id(&self) -> String {
        "simrelay".into()
    }

    fn title(&self) -> String {
        "SimRelay".into()
    }

    fn icon_pixmap(&self) -> Vec<ksni::Icon> {
        match self.shell.mood() {
            TrayMood::Normal => self.icons.normal.clone(),
            TrayMood::Unread => self.icons.unread.clone(),
            TrayMood::Trouble => self.icons.trouble.clone(),
        }
    }

    fn tool_tip(&self) -> ksni::ToolTip {
        ksni::ToolTip {
            title: "SimRelay".into(),
            description: escape_markup(&tooltip(&self.shell)),
            ..Default::default()
        }
    }

    fn activate(&mut self, _x: i32, _y: i32) {
        self.shell.show_window();
    }

    fn menu(&self) -> Vec<MenuItem<Self>> {
        menu(&self.shell)
    }

    // The pause line counts minutes down: build the menu fresh each time it opens.
    fn menu_about_to_show(&mut self) {}

    fn watcher_offline(&self, reason: ksni::OfflineReason) -> bool {
        tracing::warn!(
            ?reason,
            "no tray host; the window and notifications still work"
        );
        true
    }

    fn watcher_online(&self) {
        tracing::info!("tray host available");
    }
}

/// The tooltip's text: the latest code and its sender.
pub fn tooltip(shell: &Shell) -> String {
    tooltip_for(shell.latest_code().as_ref())
}

/// The tooltip for `latest`: "Latest code 660679 for github.com from GitHub" names the site of an origin-bound code.
fn tooltip_for(latest: Option<&Message>) -> String {
    match latest {
        Some(m) => format!(
            "Latest code {} from {}",
            m.code_for_display().unwrap_or_default(),
            m.sender
        ),
        None => "No code yet".to_owned(),
    }
}

fn item(label: impl Into<String>, enabled: bool, action: fn(&Shell)) -> MenuItem<TrayIcon> {
    StandardItem {
        label: label.into(),
        enabled,
        activate: Box::new(move |tray: &mut TrayIcon| action(&tray.shell)),
        ..Default::default()
    }
    .into()
}

fn menu(shell: &Arc<Shell>) -> Vec<MenuItem<TrayIcon>> {
    let now = Instant::now();
    let pause = shell.pause();
    let latest = shell.latest_code().and_then(|m| {
        Some(format!(
            "Copy {} \u{b7} {}",
            m.code_for_display()?,
            m.sender
        ))
    });
    let (autostart_available, autostart_on) = shell.autostart();
    vec![
        match latest {
            Some(label) => item(label_text(&label), true, Shell::copy_latest),
            None => item("No code yet", false, |_| {}),
        },
        item("Open SimRelay", true, Shell::show_window),
        MenuItem::Separator,
        item(pause.label(now), false, |_| {}),
        item("Pause notifications for 1 hour", true, |shell| {
            shell.set_pause(Pause::Until(Instant::now() + ONE_HOUR));
        }),
        item("Pause notifications until resumed", true, |shell| {
            shell.set_pause(Pause::Indefinitely);
        }),
        item("Resume notifications", pause.is_paused(now), |shell| {
            shell.set_pause(Pause::Off);
        }),
        MenuItem::Separator,
        CheckmarkItem {
            label: "LAN sharing".into(),
            checked: shell.lan(),
            activate: Box::new(|tray: &mut TrayIcon| tray.shell.toggle_lan()),
            ..Default::default()
        }
        .into(),
        CheckmarkItem {
            label: "Start at login".into(),
            enabled: autostart_available,
            checked: autostart_on,
            activate: Box::new(|tray: &mut TrayIcon| tray.shell.toggle_autostart()),
            ..Default::default()
        }
        .into(),
        item("Quit SimRelay", true, Shell::request_quit),
    ]
}

/// A running tray icon.
pub struct Tray(ksni::Handle<TrayIcon>);

impl Tray {
    /// Puts the icon up and keeps it current with the shell. Fails only without a session bus; a desktop whose tray
    /// host is missing (or not up yet, early at login) gets the icon when its host appears.
    pub async fn spawn(shell: Arc<Shell>) -> Result<Self, ksni::Error> {
        let mut changes = shell.watch_changes();
        let handle = TrayIcon {
            shell,
            icons: Icons::load(),
        }
        .assume_sni_available(true)
        .spawn()
        .await?;
        let follower = handle.clone();
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                // ksni compares what the item shows now with what it showed, and signals the host only on change.
                if follower.update(|_| ()).await.is_none() {
                    break;
                }
            }
        });
        Ok(Self(handle))
    }

    /// Takes the icon down.
    pub async fn shutdown(self) {
        self.0.shutdown().await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn every_tray_icon_decodes_to_argb() {
        for png in [ICON_NORMAL, ICON_UNREAD, ICON_TROUBLE] {
            let icon = decode_argb(png).unwrap();
            assert!(
                icon.width >= 16 && icon.height == icon.width,
                "{}x{}",
                icon.width,
                icon.height
            );
            assert_eq!(icon.data.len(), (icon.width * icon.height * 4) as usize);
            assert!(
                icon.data.chunks_exact(4).any(|p| p[0] > 0),
                "some pixel is visible"
            );
        }
        assert!(decode_argb(b"not a png").is_err());
    }

    #[test]
    fn the_tooltip_names_the_site_of_an_origin_bound_code() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-22T10:00:00+01:00").unwrap();
        let mut m = Message {
            id: 1,
            modem: "demo".into(),
            sender: "GitHub".into(),
            text: "660679 is your GitHub authentication code.\n\n@github.com #660679".into(),
            code: Some("660679".into()),
            code_span: None,
            sent_at: at,
            received_at: at,
            encoding: None,
            decode_error: None,
            incomplete: false,
            confidence: Some(1.0),
            origin: Some(simrelay_protocol::CodeOrigin {
                host: "github.com".into(),
                embedded: None,
            }),
            alternatives: Vec::new(),
            ..Message::default()
        };
        assert_eq!(
            tooltip_for(Some(&m)),
            "Latest code 660679 for github.com from GitHub"
        );
        m.origin = None;
        assert_eq!(tooltip_for(Some(&m)), "Latest code 660679 from GitHub");
        assert_eq!(tooltip_for(None), "No code yet");
    }

    #[test]
    fn untrusted_text_cannot_become_markup_or_mnemonics() {
        assert_eq!(escape_markup("<b>A&B</b>"), "&lt;b&gt;A&amp;B&lt;/b&gt;");
        assert_eq!(
            label_text("Copy 1234 \u{b7} MY_BANK"),
            "Copy 1234 \u{b7} MY__BANK"
        );
    }
}
