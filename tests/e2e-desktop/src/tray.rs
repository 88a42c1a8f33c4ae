//! A tray host of our own: the `org.kde.StatusNotifierWatcher` and a StatusNotifierHost on the private session
//! bus, so the tests see the app's tray icon exactly as a desktop panel does: its tooltip, its menu (read with
//! `com.canonical.dbusmenu.GetLayout`, clicked with `Event`), and a left click (`Activate`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zbus::message::Header;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Structure, Value};
use zbus::Connection;

const ITEM_INTERFACE: &str = "org.kde.StatusNotifierItem";
const MENU_INTERFACE: &str = "com.canonical.dbusmenu";

/// A dbusmenu layout node: id, properties, children (each a variant holding another node).
type Layout = (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>);

/// Items registered with the watcher: (bus name, object path).
type Items = Arc<Mutex<Vec<(String, String)>>>;

struct Watcher {
    items: Items,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    fn register_status_notifier_item(&self, #[zbus(header)] header: Header<'_>, service: &str) {
        // The spec's quirk: an item may pass its object path instead of its bus name; the sender is then the name.
        let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
        let entry = if service.starts_with('/') {
            (sender, service.to_owned())
        } else {
            (service.to_owned(), "/StatusNotifierItem".to_owned())
        };
        if let Ok(mut items) = self.items.lock() {
            items.push(entry);
        }
    }

    fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        self.items
            .lock()
            .map(|items| items.iter().map(|(name, _)| name.clone()).collect())
            .unwrap_or_default()
    }

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }
}

/// The watcher and host; keep it alive for as long as items should be shown.
pub struct TrayHost {
    connection: Connection,
    items: Items,
}

impl TrayHost {
    /// Starts the watcher and host on the bus at `bus_address`.
    pub async fn start(bus_address: &str) -> anyhow::Result<Self> {
        let items = Items::default();
        let connection = zbus::connection::Builder::address(bus_address)?
            .serve_at(
                "/StatusNotifierWatcher",
                Watcher {
                    items: items.clone(),
                },
            )?
            .name("org.kde.StatusNotifierWatcher")?
            .build()
            .await?;
        connection
            .request_name(format!("org.kde.StatusNotifierHost-{}", std::process::id()))
            .await?;
        Ok(Self { connection, items })
    }

    /// Waits for the first item to register.
    pub async fn wait_for_item(&self, timeout: Duration) -> anyhow::Result<TrayItem> {
        let start = Instant::now();
        loop {
            let first = self
                .items
                .lock()
                .ok()
                .and_then(|items| items.first().cloned());
            if let Some((service, path)) = first {
                return Ok(TrayItem {
                    connection: self.connection.clone(),
                    service,
                    path,
                });
            }
            anyhow::ensure!(
                start.elapsed() < timeout,
                "no tray item registered within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One entry of an item's menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuEntry {
    /// The dbusmenu id (what [`TrayItem::click`] takes).
    pub id: i32,
    /// The label, as shown (an empty string for a separator).
    pub label: String,
    /// Whether it can be clicked.
    pub enabled: bool,
    /// For check items: whether it is checked.
    pub checked: Option<bool>,
    /// Whether it is a separator.
    pub separator: bool,
}

/// A registered tray item, as a panel sees it.
pub struct TrayItem {
    connection: Connection,
    service: String,
    path: String,
}

impl TrayItem {
    async fn property(&self, name: &str) -> anyhow::Result<OwnedValue> {
        let reply = self
            .connection
            .call_method(
                Some(self.service.as_str()),
                self.path.as_str(),
                Some("org.freedesktop.DBus.Properties"),
                "Get",
                &(ITEM_INTERFACE, name),
            )
            .await?;
        Ok(reply.body().deserialize::<OwnedValue>()?)
    }

    /// The tooltip's title and description.
    pub async fn tooltip(&self) -> anyhow::Result<(String, String)> {
        let value = self.property("ToolTip").await?;
        let fields = Structure::try_from(Value::from(value))?.into_fields();
        let text = |i: usize| -> anyhow::Result<String> {
            Ok(String::try_from(
                fields
                    .get(i)
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("short ToolTip"))?,
            )?)
        };
        Ok((text(2)?, text(3)?))
    }

    /// The icon pixmaps: (width, height, ARGB32 bytes).
    pub async fn icon_pixmaps(&self) -> anyhow::Result<Vec<(i32, i32, Vec<u8>)>> {
        let value = self.property("IconPixmap").await?;
        Ok(Vec::<(i32, i32, Vec<u8>)>::try_from(value)?)
    }

    /// A left click on the icon.
    pub async fn activate(&self) -> anyhow::Result<()> {
        self.connection
            .call_method(
                Some(self.service.as_str()),
                self.path.as_str(),
                Some(ITEM_INTERFACE),
                "Activate",
                &(0i32, 0i32),
            )
            .await?;
        Ok(())
    }

    async fn menu_path(&self) -> anyhow::Result<OwnedObjectPath> {
        Ok(OwnedObjectPath::try_from(self.property("Menu").await?)?)
    }

    /// The menu's entries, top level, in order.
    pub async fn menu(&self) -> anyhow::Result<Vec<MenuEntry>> {
        let path = self.menu_path().await?;
        let reply = self
            .connection
            .call_method(
                Some(self.service.as_str()),
                path.as_str(),
                Some(MENU_INTERFACE),
                "GetLayout",
                &(0i32, -1i32, Vec::<String>::new()),
            )
            .await?;
        let (_revision, (_root, _props, children)): (u32, Layout) = reply.body().deserialize()?;
        children.into_iter().map(entry).collect()
    }

    /// Clicks the menu entry `id`.
    pub async fn click(&self, id: i32) -> anyhow::Result<()> {
        let path = self.menu_path().await?;
        self.connection
            .call_method(
                Some(self.service.as_str()),
                path.as_str(),
                Some(MENU_INTERFACE),
                "Event",
                &(id, "clicked", Value::from(0i32), 0u32),
            )
            .await?;
        Ok(())
    }

    /// Clicks the first menu entry whose label starts with `prefix`.
    pub async fn click_label(&self, prefix: &str) -> anyhow::Result<()> {
        let menu = self.menu().await?;
        let Some(found) = menu.iter().find(|e| e.label.starts_with(prefix)) else {
            anyhow::bail!("no menu entry starting with {prefix:?} in {menu:?}");
        };
        self.click(found.id).await
    }
}

/// One child of a dbusmenu layout: a variant holding `(ia{sv}av)`.
fn entry(child: OwnedValue) -> anyhow::Result<MenuEntry> {
    let fields = Structure::try_from(Value::from(child))?.into_fields();
    let mut fields = fields.into_iter();
    let (Some(id), Some(props)) = (fields.next(), fields.next()) else {
        anyhow::bail!("a menu layout entry without id or properties");
    };
    let id = i32::try_from(id)?;
    let props = HashMap::<String, OwnedValue>::try_from(OwnedValue::try_from(props)?)?;
    let text = |key: &str| {
        props
            .get(key)
            .and_then(|v| String::try_from(v.clone()).ok())
    };
    let flag = |key: &str| props.get(key).and_then(|v| bool::try_from(v.clone()).ok());
    let separator = text("type").as_deref() == Some("separator");
    let checked = match text("toggle-type").as_deref() {
        Some("checkmark" | "radio") => props
            .get("toggle-state")
            .and_then(|v| i32::try_from(v.clone()).ok())
            .map(|s| s == 1),
        _ => None,
    };
    Ok(MenuEntry {
        id,
        // Mnemonic markers: "__" shows as "_", a lone "_" not at all.
        label: text("label")
            .unwrap_or_default()
            .replace("__", "\u{0}")
            .replace('_', "")
            .replace('\u{0}', "_"),
        enabled: flag("enabled").unwrap_or(true),
        checked,
        separator,
    })
}
