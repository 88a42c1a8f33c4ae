//! The tray icon, where the app lives: its icon shows the state, its menu copies the latest code, opens the
//! window, pauses notifications, switches LAN sharing (through the engine's settings, like the Settings screen),
//! toggles start at login and quits.
//!
//! Linux trays (StatusNotifier/AppIndicator) do not report clicks on the icon, only menu choices, so "Open SimRelay"
//! is in the menu; on Windows and macOS a left click opens the window too.

use crate::pause::{Pause, ONE_HOUR};
use crate::shell::{Shell, TrayMood};
use crate::window;
use std::time::Instant;
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};

const ICON_NORMAL: &[u8] = include_bytes!("../../icons/tray.png");
const ICON_UNREAD: &[u8] = include_bytes!("../../icons/tray-unread.png");
const ICON_TROUBLE: &[u8] = include_bytes!("../../icons/tray-error.png");

/// The tray and the menu items whose text changes.
pub(crate) struct Tray<R: Runtime> {
    icon: TrayIcon<R>,
    latest: MenuItem<R>,
    status: MenuItem<R>,
    resume: MenuItem<R>,
    lan: CheckMenuItem<R>,
    autostart: CheckMenuItem<R>,
}

/// Id of the "LAN sharing" menu item.
pub(crate) const LAN_ITEM: &str = "lan";

/// Creates the tray. Without a tray host (a bare X server) the icon is simply not visible.
pub(crate) fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let latest = MenuItem::with_id(app, "copy-latest", "No code yet", false, None::<&str>)?;
    let open = MenuItem::with_id(app, "open", "Open SimRelay", true, None::<&str>)?;
    let status = MenuItem::with_id(app, "status", "Notifications on", false, None::<&str>)?;
    let pause_hour = MenuItem::with_id(
        app,
        "pause-hour",
        "Pause notifications for 1 hour",
        true,
        None::<&str>,
    )?;
    let pause_on = MenuItem::with_id(
        app,
        "pause",
        "Pause notifications until resumed",
        true,
        None::<&str>,
    )?;
    let resume = MenuItem::with_id(app, "resume", "Resume notifications", false, None::<&str>)?;
    let lan = CheckMenuItem::with_id(
        app,
        LAN_ITEM,
        "LAN sharing",
        true,
        app.state::<Shell>().lan(),
        None::<&str>,
    )?;
    let autostart = CheckMenuItem::with_id(
        app,
        "autostart",
        "Start at login",
        autostart_available(app),
        autostart_enabled(app),
        None::<&str>,
    )?;
    let quit = MenuItem::with_id(app, "quit", "Quit SimRelay", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &latest,
            &open,
            &PredefinedMenuItem::separator(app)?,
            &status,
            &pause_hour,
            &pause_on,
            &resume,
            &PredefinedMenuItem::separator(app)?,
            &lan,
            &autostart,
            &quit,
        ],
    )?;
    let icon = TrayIconBuilder::with_id("simrelay")
        .icon(Image::from_bytes(ICON_NORMAL)?)
        .tooltip("SimRelay")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(on_menu_event)
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                window::show_main(tray.app_handle());
            }
        })
        .build(app)?;
    app.manage(Tray {
        icon,
        latest,
        status,
        resume,
        lan,
        autostart,
    });
    Ok(())
}

fn on_menu_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    on_menu_id(app, event.id().as_ref());
}

/// Acts on the menu item with `id` (what a click on it does).
pub(crate) fn on_menu_id<R: Runtime>(app: &AppHandle<R>, id: &str) {
    let shell = app.state::<Shell>();
    match id {
        "copy-latest" => shell.copy_latest(),
        "open" => window::show_main(app),
        "pause-hour" => shell.set_pause(Pause::Until(Instant::now() + ONE_HOUR)),
        "pause" => shell.set_pause(Pause::Indefinitely),
        "resume" => shell.set_pause(Pause::Off),
        LAN_ITEM => toggle_lan(app),
        "autostart" => toggle_autostart(app),
        // Exit runs the engine's clean shutdown in `on_run_event`.
        "quit" => app.exit(0),
        _ => {}
    }
    refresh(app);
}

/// Whether the app has a tray icon (and so may live on without a window).
pub(crate) fn exists<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.try_state::<Tray<R>>().is_some()
}

/// Brings icon, tooltip and menu texts up to date with the shell's state. Does nothing before the tray exists.
pub(crate) fn refresh<R: Runtime>(app: &AppHandle<R>) {
    let (Some(tray), Some(shell)) = (app.try_state::<Tray<R>>(), app.try_state::<Shell>()) else {
        return;
    };
    let now = Instant::now();
    let pause = shell.pause();
    let latest = shell.latest_code();
    let label = latest.as_ref().and_then(|m| {
        m.code
            .as_ref()
            .map(|code| format!("Copy {code} \u{b7} {}", m.sender))
    });
    let tooltip = match &latest {
        Some(m) => format!(
            "SimRelay \u{2014} latest code {} from {}",
            m.code.as_deref().unwrap_or(""),
            m.sender
        ),
        None => "SimRelay \u{2014} no code yet".to_owned(),
    };
    let icon = match shell.mood() {
        TrayMood::Normal => ICON_NORMAL,
        TrayMood::Unread => ICON_UNREAD,
        TrayMood::Trouble => ICON_TROUBLE,
    };
    let results = [
        tray.latest
            .set_text(label.as_deref().unwrap_or("No code yet")),
        tray.latest.set_enabled(label.is_some()),
        tray.status.set_text(pause.label(now)),
        tray.resume.set_enabled(pause.is_paused(now)),
        tray.icon.set_tooltip(Some(tooltip)),
        Image::from_bytes(icon).and_then(|image| tray.icon.set_icon(Some(image))),
        tray.lan.set_checked(shell.lan()),
        tray.autostart.set_checked(autostart_enabled(app)),
    ];
    for error in results.into_iter().filter_map(Result::err) {
        tracing::warn!(%error, "could not update the tray");
    }
}

/// Switches LAN sharing to the opposite of what the engine last published. The engine binds or closes its LAN
/// listeners, which takes a moment, so it runs on its own thread; the settings event that follows updates the
/// check mark (and every open Settings screen).
pub(crate) fn toggle_lan<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    let spawned = std::thread::Builder::new()
        .name("lan-sharing".into())
        .spawn(move || {
            let shell = app.state::<Shell>();
            let wanted = !shell.lan();
            if let Err(error) = shell.set_lan(wanted) {
                tracing::warn!(%error, wanted, "could not switch LAN sharing");
            }
            refresh(&app);
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "could not start switching LAN sharing");
    }
}

fn autostart_available<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.try_state::<tauri_plugin_autostart::AutoLaunchManager>()
        .is_some()
}

fn autostart_enabled<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.try_state::<tauri_plugin_autostart::AutoLaunchManager>()
        .and_then(|m| m.is_enabled().ok())
        .unwrap_or(false)
}

fn toggle_autostart<R: Runtime>(app: &AppHandle<R>) {
    let Some(manager) = app.try_state::<tauri_plugin_autostart::AutoLaunchManager>() else {
        return;
    };
    let result = if manager.is_enabled().unwrap_or(false) {
        manager.disable()
    } else {
        manager.enable()
    };
    if let Err(error) = result {
        tracing::warn!(%error, "could not change start at login");
    }
}
