//! Access tokens: the main token (generated once and kept in the config directory, mode 0600), and paired-device
//! tokens, one per device, each with a name and its scopes, kept in `tokens.toml` in the config directory (mode
//! 0600) and revocable one by one (`simrelay token revoke NAME`, `DELETE /api/devices/{id}`).
//!
//! Only a SHA-256 of each device token is stored: the file alone does not let anyone in. A device token is shown
//! once, when it is created; a device paired from the UI never sees the main token: it scans a one-time pairing
//! code ([`Devices::start_pairing`]) and exchanges it for its own token ([`Devices::claim`]).
//!
//! A running server keeps the devices in a [`Devices`] registry over the same file: changes made through the API
//! are written there at once; changes the CLI writes are seen at the next request (the file's identity is checked
//! each time), and while a device holds a WebSocket or a long poll the file is also watched every
//! [`WATCH_EVERY`], so a revocation from another process closes them within a second. Every revocation is
//! published ([`Devices::subscribe_revoked`]).
//!
//! Nodes of a cluster (a PostgreSQL store) share their devices and pairing codes instead: [`Devices::open_shared`]
//! keeps them in the database (`store/devices.rs`), and each node reads them again when another one notifies a
//! change (`cluster.rs`), so a phone paired on one node works on all and a revocation reaches every node within a
//! moment. The registry in memory stays the one that authenticates, so a request never waits for the database.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;

use crate::store::{PairingPut, Store, StoreError};

/// Longest device name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Shortest main token accepted from the configuration: 32 characters (a generated one has 64 hex digits).
pub const MIN_TOKEN_CHARS: usize = 32;
/// The file, in the config directory, that keeps the generated main token.
pub const MAIN_TOKEN_FILE: &str = "token";
/// How long a pairing code may be exchanged for a device token.
pub const PAIRING_TTL: Duration = Duration::from_secs(10 * 60);
/// How often the tokens file is looked at while a device holds a WebSocket or a long poll.
pub const WATCH_EVERY: Duration = Duration::from_millis(200);
/// A device's last-seen time and address are written to the file at most this often (they are kept in memory
/// meanwhile), so a busy phone does not rewrite the file on every request.
const TOUCH_WRITE_EVERY: Duration = Duration::from_secs(60);
/// Pairing codes waiting to be used at once; more means something is wrong (or someone is pressing a button).
const MAX_PENDING: usize = 16;

/// What a token may do: the wire types.
pub use simrelay_protocol::{Scope, Scopes};

/// Parses a comma-separated list of scopes (`read,send`); an empty or unknown name is an error naming it.
pub fn parse_scopes(list: &str) -> Result<Scopes, TokensError> {
    let mut scopes = Scopes::default();
    for name in list.split(',') {
        let scope =
            Scope::parse(name).ok_or_else(|| TokensError::InvalidScope(name.trim().to_owned()))?;
        scopes = scopes.with(scope);
    }
    Ok(scopes)
}

fn default_device_scopes() -> Scopes {
    // Entries written before scopes existed were accepted wherever the main token was, except on the routes only
    // this machine may use; read and send is what a device paired from the UI gets now.
    Scopes::DEFAULT_DEVICE
}

/// One paired device's token, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairedToken {
    /// A name for the device ("phone", "laptop").
    pub name: String,
    /// Lower-case hex SHA-256 of the token.
    pub sha256: String,
    /// What the token may do.
    #[serde(default = "default_device_scopes")]
    pub scopes: Scopes,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When the token last authenticated a request (RFC 3339), if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// The client address of that request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ip: Option<String>,
}

impl PairedToken {
    /// The device's stable id: derived from the stored hash, so entries written before ids existed have one too,
    /// and it never changes while the token lives. It tells nothing about the token.
    pub fn id(&self) -> String {
        let digest = Sha256::digest(format!("simrelay-device:{}", self.sha256).as_bytes());
        hex::encode(&digest[..8])
    }

    /// The device as the API shows it.
    pub fn device(&self) -> Device {
        Device {
            id: self.id(),
            name: self.name.clone(),
            scopes: self.scopes,
            created_at: self.created_at.clone(),
            last_seen: self.last_seen.clone(),
            last_ip: self.last_ip.clone(),
        }
    }
}

/// A paired device as `GET /api/devices` lists it: the wire type.
pub use simrelay_protocol::Device;

/// A one-time pairing code, as handed to the owner to show as a QR code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairingCode {
    /// The code (32 hex digits); exchanged once, within [`PAIRING_TTL`], for the device's own token.
    pub code: String,
    /// The name the device will get.
    pub name: String,
    /// The scopes it will get.
    pub scopes: Scopes,
    /// When the code stops working (RFC 3339).
    pub expires_at: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TokensFile {
    #[serde(default, rename = "token")]
    tokens: Vec<PairedToken>,
}

/// Why the tokens file, a token or a pairing code could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    /// Reading or writing failed.
    #[error("cannot use the tokens file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("invalid tokens file {path}: {message}; fix or delete it (this revokes every paired device)")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A token with this name exists already.
    #[error("a token named {0:?} exists already; revoke it first or pick another name")]
    Exists(String),
    /// No token has this name.
    #[error("no token is named {0:?}; see `simrelay token list`")]
    NotFound(String),
    /// No device has this id.
    #[error("no paired device has the id {0:?}; see GET /api/devices")]
    NoDevice(String),
    /// The name is empty, too long or holds control characters.
    #[error("{0}")]
    InvalidName(String),
    /// A scope name is not one of read, send, admin.
    #[error("unknown scope {0:?}: the scopes are read, send and admin (comma-separated)")]
    InvalidScope(String),
    /// A device must be allowed something.
    #[error("a device needs at least one scope: read, send or admin")]
    NoScopes,
    /// The pairing code is unknown, already used, or expired.
    #[error("this pairing code is unknown, already used or expired; ask for a new QR code in SimRelay's Settings")]
    BadCode,
    /// Too many pairing codes are waiting.
    #[error("too many pairing codes are waiting to be used; wait for them to expire (10 minutes) or use them")]
    TooManyPairings,
    /// The database that keeps a cluster's devices failed.
    #[error("cannot read or write the paired devices in the database: {0}")]
    Database(#[from] StoreError),
    /// The stored main token is not usable.
    #[error(
        "the access token file {path} {message}; delete it to make SimRelay generate a new one"
    )]
    MainToken {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Checks a device name and returns it trimmed.
pub fn check_name(name: &str) -> Result<&str, TokensError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(TokensError::InvalidName(
            "the device name is empty; give a name such as \"Pixel 8\"".into(),
        ));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(TokensError::InvalidName(format!(
            "the device name is longer than {MAX_NAME_CHARS} characters; use a shorter one"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(TokensError::InvalidName(
            "the device name holds control characters; use plain text".into(),
        ));
    }
    Ok(name)
}

/// Why a token given in the configuration is refused, phrased for the user; `None` when it is good enough.
/// An empty, blank or short token, or one with spaces or control characters, would be guessable or would not
/// survive a URL.
pub fn weak_token(token: &str) -> Option<String> {
    let chars = token.chars().count();
    let problem = if token.trim().is_empty() {
        "is empty".to_owned()
    } else if !token.chars().all(|c| c.is_ascii_graphic()) {
        "holds spaces, control or non-ASCII characters".to_owned()
    } else if chars < MIN_TOKEN_CHARS {
        format!("is {chars} characters long; it must have at least {MIN_TOKEN_CHARS}")
    } else {
        return None;
    };
    Some(problem)
}

/// The main token kept in `path`: read when the file exists, otherwise generated and written there first (mode
/// 0600 from its creation, in a directory made 0700). Two processes starting together end up with the same one.
pub fn load_or_create_main_token(path: &Path) -> Result<String, TokensError> {
    let io = |source| TokensError::Io {
        path: path.to_path_buf(),
        source,
    };
    for _ in 0..3 {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let token = text.trim().to_owned();
                if let Some(problem) = weak_token(&token) {
                    return Err(TokensError::MainToken {
                        path: path.to_path_buf(),
                        message: format!("holds a token that {problem}"),
                    });
                }
                return Ok(token);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(io)?;
        }
        let token = crate::generate_token();
        // Written whole under a temporary name, then linked into place only if no other process got there
        // first: a reader never sees half a token, and two racing starts agree on one.
        let tmp = path.with_extension(format!("{}-{}.tmp", std::process::id(), random_hex(4)));
        write_private(&tmp, format!("{token}\n").as_bytes()).map_err(io)?;
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                tracing::info!(path = %path.display(), "generated the access token");
                return Ok(token);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io(e)),
        }
    }
    Err(TokensError::MainToken {
        path: path.to_path_buf(),
        message: "keeps changing while it is read".into(),
    })
}

/// The main token stored in `path`, if there is one (nothing is generated).
pub fn stored_main_token(path: &Path) -> Result<Option<String>, TokensError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text.trim().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(TokensError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Creates `dir` and its missing parents, each new one readable by the owner only (0700 on Unix).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes a new file (or replaces one) readable by the owner only: 0600 from the moment it exists on Unix.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    std::io::Write::write_all(&mut file, bytes)?;
    file.sync_all()
}

fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `tokens.toml` next to the configuration file.
pub fn default_tokens_path() -> PathBuf {
    crate::config::default_config_path().with_file_name("tokens.toml")
}

/// The main token's file next to the configuration file.
pub fn default_main_token_path() -> PathBuf {
    crate::config::default_config_path().with_file_name(MAIN_TOKEN_FILE)
}

/// Lower-case hex SHA-256 of a token, as stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The paired tokens in `path` (none when the file does not exist).
pub fn load(path: &Path) -> Result<Vec<PairedToken>, TokensError> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str::<TokensFile>(&text)
            .map(|file| file.tokens)
            .map_err(|e| TokensError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(TokensError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Creates a token named `name` with the scopes a device paired from the UI gets (read, send), stores its hash,
/// and returns the token (shown to the user once).
pub fn add(path: &Path, name: &str) -> Result<String, TokensError> {
    add_with_scopes(path, name, Scopes::DEFAULT_DEVICE)
}

/// [`add`] with the given scopes.
pub fn add_with_scopes(path: &Path, name: &str, scopes: Scopes) -> Result<String, TokensError> {
    locked(path, || {
        let mut tokens = load(path)?;
        let (_, token) = push_new(&mut tokens, name, scopes)?;
        save(path, tokens)?;
        Ok(token)
    })
}

/// Runs `f` holding an exclusive lock on `<file>.lock`, so the CLI and a running server never interleave their
/// read-modify-write cycles of the file (one would silently undo the other's change, a revocation say).
fn locked<T>(path: &Path, f: impl FnOnce() -> Result<T, TokensError>) -> Result<T, TokensError> {
    let io = |source| TokensError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(io)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path.with_extension("toml.lock")).map_err(io)?;
    #[cfg(unix)]
    let _lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, errno)| io(std::io::Error::from(errno)))?;
    #[cfg(not(unix))]
    let _lock = file;
    f()
}

/// Adds a new token named `name` to `tokens`; returns the entry and the token.
fn push_new(
    tokens: &mut Vec<PairedToken>,
    name: &str,
    scopes: Scopes,
) -> Result<(PairedToken, String), TokensError> {
    let name = check_name(name)?;
    if scopes.is_empty() {
        return Err(TokensError::NoScopes);
    }
    if tokens.iter().any(|t| t.name == name) {
        return Err(TokensError::Exists(name.to_owned()));
    }
    let token = crate::generate_token();
    let entry = PairedToken {
        name: name.to_owned(),
        sha256: token_hash(&token),
        scopes,
        created_at: now_rfc3339(),
        last_seen: None,
        last_ip: None,
    };
    tokens.push(entry.clone());
    Ok((entry, token))
}

/// Adds paired devices as another relay or a cluster's database holds them to the file in `path` (`simrelay
/// copy-db` back from a cluster), keeping their hashes, scopes and times. Idempotent, like
/// [`Store::import_paired_devices`]: a device already in the file (the same token) is kept as it is, and one
/// whose name another device has is not added.
pub fn import(
    path: &Path,
    devices: &[PairedToken],
) -> Result<crate::store::DevicesImport, TokensError> {
    locked(path, || {
        let mut tokens = load(path)?;
        let mut report = crate::store::DevicesImport::default();
        for device in devices {
            let there = tokens.iter().any(|t| t.sha256 == device.sha256);
            let free = !there && !tokens.iter().any(|t| t.name == device.name);
            if free {
                tokens.push(device.clone());
            }
            report.count(device, free, there);
        }
        if report.added > 0 {
            save(path, tokens)?;
        }
        Ok(report)
    })
}

/// Removes the token named `name`.
pub fn revoke(path: &Path, name: &str) -> Result<(), TokensError> {
    locked(path, || {
        let mut tokens = load(path)?;
        let before = tokens.len();
        tokens.retain(|t| t.name != name);
        if tokens.len() == before {
            return Err(TokensError::NotFound(name.to_owned()));
        }
        save(path, tokens)
    })
}

/// The paired devices of a running server: the tokens it accepts besides the main one, kept in step with
/// `tokens.toml` (or only in memory when the engine was given no file), and the pairing codes waiting.
#[derive(Debug)]
pub struct Devices {
    path: Option<PathBuf>,
    /// In a cluster, the database that keeps the devices and pairing codes of every node (`path` is `None`).
    shared: Option<Store>,
    /// Serialises reading the shared devices and taking them as the state, so an older read never replaces a
    /// newer one (a revoked device must not come back).
    refreshing: tokio::sync::Mutex<()>,
    state: Mutex<State>,
    /// Serialises read-modify-write cycles of the file, so two changes never lose one another.
    writing: Mutex<()>,
    revoked: broadcast::Sender<String>,
    pending: Mutex<Vec<Pending>>,
    /// Long-lived requests of devices (WebSockets, long polls) open now; the file is watched while there are any.
    watchers: AtomicUsize,
    watchers_changed: Notify,
}

#[derive(Debug)]
struct State {
    tokens: Vec<PairedToken>,
    /// Decoded hashes with the device id and scopes, for authentication.
    hashes: Vec<([u8; 32], String, Scopes)>,
    /// When each device's last-seen time was last written to the file.
    written: HashMap<String, Instant>,
    /// The file's identity when last read or written.
    stamp: Option<Stamp>,
}

/// A pairing code waiting to be used: only its hash is kept.
#[derive(Debug)]
struct Pending {
    hash: [u8; 32],
    name: String,
    scopes: Scopes,
    expires: Instant,
}

/// What tells one version of the file from another: modification time, length and (Unix) inode, since the file
/// is replaced by a rename on every write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp(SystemTime, u64, u64);

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Stamp(meta.modified().ok()?, meta.len(), inode))
}

/// Keeps the tokens file watched while it lives (see [`Devices::watch`]).
#[derive(Debug)]
pub struct WatchGuard(Arc<Devices>);

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.0.watchers.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Devices {
    /// The devices in `path` (created on the first change), or, without a file, `seed` kept in memory.
    pub fn open(path: Option<PathBuf>, seed: Vec<PairedToken>) -> Result<Devices, TokensError> {
        let tokens = match &path {
            Some(path) => load(path)?,
            None => seed,
        };
        let stamp = path.as_deref().and_then(stamp);
        let (revoked, _) = broadcast::channel(64);
        Ok(Devices {
            path,
            shared: None,
            refreshing: tokio::sync::Mutex::new(()),
            state: Mutex::new(State {
                hashes: hashes(&tokens),
                tokens,
                written: HashMap::new(),
                stamp,
            }),
            writing: Mutex::new(()),
            revoked,
            pending: Mutex::new(Vec::new()),
            watchers: AtomicUsize::new(0),
            watchers_changed: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every writer replaces the fields whole; a panic elsewhere cannot leave them half-updated.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every paired device, in the order they were paired.
    pub fn list(&self) -> Vec<Device> {
        self.reload_if_changed();
        self.lock().tokens.iter().map(PairedToken::device).collect()
    }

    /// The devices a cluster's nodes share in `store` (see the module documentation).
    pub async fn open_shared(store: Store) -> Result<Devices, TokensError> {
        let tokens = store.paired_devices().await?;
        let mut devices = Devices::open(None, tokens)?;
        devices.shared = Some(store);
        Ok(devices)
    }

    /// Reads the shared devices again (in a cluster; nothing otherwise) and announces those revoked meanwhile.
    pub async fn refresh(&self) -> Result<(), TokensError> {
        let Some(store) = &self.shared else {
            return Ok(());
        };
        let _one_at_a_time = self.refreshing.lock().await;
        let tokens = store.paired_devices().await?;
        let tokens = self.merge_seen(tokens);
        self.replace(tokens, None);
        Ok(())
    }

    /// Runs `f`, which reads or writes the tokens file, off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, TokensError> + Send + 'static,
    ) -> Result<T, TokensError> {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| TokensError::Io {
                path: self.path.clone().unwrap_or_default(),
                source: std::io::Error::other(e.to_string()),
            })?
    }

    /// Pairs a new device: returns it and its token (the only time the token is seen). The device is stored
    /// (the file written and synced, or the database row committed) before this returns.
    pub async fn create(
        self: &Arc<Self>,
        name: &str,
        scopes: Scopes,
    ) -> Result<(Device, String), TokensError> {
        let Some(store) = &self.shared else {
            let (devices, name) = (self.clone(), name.to_owned());
            return self
                .blocking(move || devices.create_in_file(&name, scopes))
                .await;
        };
        let (entry, token) = push_new(&mut Vec::new(), name, scopes)?;
        if !store.add_paired_device(&entry).await? {
            return Err(TokensError::Exists(entry.name));
        }
        self.refresh().await?;
        Ok((entry.device(), token))
    }

    fn create_in_file(&self, name: &str, scopes: Scopes) -> Result<(Device, String), TokensError> {
        let mut created = None;
        self.change(|tokens| {
            created = Some(push_new(tokens, name, scopes)?);
            Ok(())
        })?;
        let (entry, token) = created.ok_or_else(|| TokensError::NoDevice(String::new()))?;
        Ok((entry.device(), token))
    }

    /// Revokes the device `id`: its token is refused from now on (on every node of a cluster) and its
    /// WebSockets are closed.
    pub async fn revoke(self: &Arc<Self>, id: &str) -> Result<Device, TokensError> {
        let Some(store) = &self.shared else {
            let (devices, id) = (self.clone(), id.to_owned());
            return self.blocking(move || devices.revoke_in_file(&id)).await;
        };
        let find = || self.lock().tokens.iter().find(|t| t.id() == id).cloned();
        // Paired on another node a moment ago, perhaps: read them again before saying there is no such device.
        let entry = match find() {
            Some(entry) => entry,
            None => {
                self.refresh().await?;
                find().ok_or_else(|| TokensError::NoDevice(id.to_owned()))?
            }
        };
        if !store.remove_paired_device(&entry.sha256).await? {
            self.refresh().await?;
            return Err(TokensError::NoDevice(id.to_owned()));
        }
        self.refresh().await?;
        Ok(entry.device())
    }

    fn revoke_in_file(&self, id: &str) -> Result<Device, TokensError> {
        let mut removed = None;
        self.change(|tokens| {
            let index = tokens
                .iter()
                .position(|t| t.id() == id)
                .ok_or_else(|| TokensError::NoDevice(id.to_owned()))?;
            removed = Some(tokens.remove(index).device());
            Ok(())
        })?;
        removed.ok_or_else(|| TokensError::NoDevice(id.to_owned()))
    }

    /// Makes a one-time code that pairs a device called `name` with `scopes` when exchanged ([`Devices::claim`])
    /// within [`PAIRING_TTL`]. A code made earlier for the same name is replaced. In a cluster the code waits
    /// in the database, so any node can exchange it (once).
    pub async fn start_pairing(
        &self,
        name: &str,
        scopes: Scopes,
    ) -> Result<PairingCode, TokensError> {
        let name = check_name(name)?.to_owned();
        if scopes.is_empty() {
            return Err(TokensError::NoScopes);
        }
        self.reload_if_changed();
        self.refresh().await?;
        if self.lock().tokens.iter().any(|t| t.name == name) {
            return Err(TokensError::Exists(name));
        }
        let code = random_hex(16);
        let hash: [u8; 32] = Sha256::digest(code.as_bytes()).into();
        if let Some(store) = &self.shared {
            let ttl = chrono::Duration::from_std(PAIRING_TTL).unwrap_or_default();
            let put = store
                .put_pairing_code(
                    &hex::encode(hash),
                    &name,
                    scopes,
                    Utc::now() + ttl,
                    MAX_PENDING,
                )
                .await?;
            if put == PairingPut::TooMany {
                return Err(TokensError::TooManyPairings);
            }
        } else {
            let now = Instant::now();
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            pending.retain(|p| p.expires > now && p.name != name);
            if pending.len() >= MAX_PENDING {
                return Err(TokensError::TooManyPairings);
            }
            pending.push(Pending {
                hash,
                name: name.clone(),
                scopes,
                expires: now + PAIRING_TTL,
            });
        }
        let ttl = chrono::Duration::from_std(PAIRING_TTL).unwrap_or_default();
        Ok(PairingCode {
            code,
            name,
            scopes,
            expires_at: (Utc::now() + ttl).to_rfc3339_opts(SecondsFormat::Secs, true),
        })
    }

    /// Exchanges a pairing code for the device's own token: the device is created (and stored) now, and the code
    /// is spent whatever happens next.
    pub async fn claim(self: &Arc<Self>, code: &str) -> Result<(Device, String), TokensError> {
        let hash: [u8; 32] = Sha256::digest(code.trim().as_bytes()).into();
        if let Some(store) = &self.shared {
            // Looked up by its hash: a lookup's timing tells nothing about a code nobody knows.
            let (name, scopes) = store
                .take_pairing_code(&hex::encode(hash))
                .await?
                .ok_or(TokensError::BadCode)?;
            return self.create(&name, scopes).await;
        }
        let now = Instant::now();
        let found = {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            pending.retain(|p| p.expires > now);
            let mut index = None;
            for (i, p) in pending.iter().enumerate() {
                if constant_time_eq(&p.hash, &hash) {
                    index = Some(i);
                }
            }
            index.map(|i| pending.remove(i))
        };
        let pending = found.ok_or(TokensError::BadCode)?;
        self.create(&pending.name, pending.scopes).await
    }

    /// The id and scopes of the device whose token hashes to `hash`, comparing with every stored hash in constant
    /// time. The file is checked for changes first, so a revocation from the CLI counts at once.
    pub fn authenticate(&self, hash: &[u8; 32]) -> Option<(String, Scopes)> {
        self.reload_if_changed();
        let state = self.lock();
        let mut found = None;
        for (stored, id, scopes) in &state.hashes {
            if constant_time_eq(stored, hash) {
                found = Some((id.clone(), *scopes));
            }
        }
        found
    }

    /// Whether device `id` is still paired.
    pub fn contains(&self, id: &str) -> bool {
        self.lock().hashes.iter().any(|(_, d, _)| d == id)
    }

    /// Ids of revoked devices, as they are revoked.
    pub fn subscribe_revoked(&self) -> broadcast::Receiver<String> {
        self.revoked.subscribe()
    }

    /// Keeps the tokens file watched (every [`WATCH_EVERY`], by [`Devices::follow_file`]) until the guard is
    /// dropped: a device's WebSocket or long poll holds one, so a revocation by another process reaches it.
    pub fn watch(self: &Arc<Self>) -> WatchGuard {
        self.watchers.fetch_add(1, Ordering::Relaxed);
        self.watchers_changed.notify_one();
        WatchGuard(self.clone())
    }

    /// Looks at the tokens file every [`WATCH_EVERY`] while anyone [`Devices::watch`]es it, until `shutdown`. With
    /// nobody watching it sleeps without waking.
    pub async fn follow_file(self: Arc<Self>, shutdown: CancellationToken) {
        if self.path.is_none() {
            return;
        }
        loop {
            if self.watchers.load(Ordering::Relaxed) == 0 {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = self.watchers_changed.notified() => continue,
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(WATCH_EVERY) => {}
            }
            let devices = self.clone();
            let _ = tokio::task::spawn_blocking(move || devices.reload_if_changed()).await;
        }
    }

    /// Records in memory that device `id` just authenticated from `ip`. Returns whether the record is due to
    /// be written to the file ([`Devices::persist_seen`]): at most once a minute per device, or when its address
    /// changed, so a busy phone does not rewrite the file on every request.
    pub fn touch(&self, id: &str, ip: Option<IpAddr>) -> bool {
        let now = Instant::now();
        let ip = ip.map(|ip| ip.to_string());
        let mut state = self.lock();
        let Some(entry) = state.tokens.iter_mut().find(|t| t.id() == id) else {
            return false;
        };
        let moved = ip.is_some() && entry.last_ip != ip;
        entry.last_seen = Some(now_rfc3339());
        if ip.is_some() {
            entry.last_ip = ip;
        }
        let due = state
            .written
            .get(id)
            .is_none_or(|at| now.duration_since(*at) >= TOUCH_WRITE_EVERY);
        if (due || moved) && (self.path.is_some() || self.shared.is_some()) {
            state.written.insert(id.to_owned(), now);
            true
        } else {
            false
        }
    }

    /// Writes device `id`'s last-seen time and address, as held in memory, to the file or the database.
    pub async fn persist_seen(self: Arc<Self>, id: String) {
        let Some(store) = &self.shared else {
            let devices = self.clone();
            let _ = self
                .blocking(move || {
                    devices.persist_seen_in_file(&id);
                    Ok(())
                })
                .await;
            return;
        };
        let entry = self.lock().tokens.iter().find(|t| t.id() == id).cloned();
        let Some(entry) = entry else { return };
        if let Err(e) = store
            .paired_device_seen(
                &entry.sha256,
                entry.last_seen.as_deref(),
                entry.last_ip.as_deref(),
            )
            .await
        {
            tracing::warn!(error = %e, "cannot record when a paired device was last seen");
        }
    }

    fn persist_seen_in_file(&self, id: &str) {
        // `change` re-reads the file and keeps the newer in-memory last-seen times: that is the write.
        let result = self.change(|tokens| {
            if tokens.iter().any(|t| t.id() == id) {
                Ok(())
            } else {
                Err(TokensError::NoDevice(id.to_owned()))
            }
        });
        match result {
            Ok(()) | Err(TokensError::NoDevice(_)) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot record when a paired device was last seen")
            }
        }
    }

    /// Applies `edit` to the devices as the file holds them now (so changes the CLI made meanwhile are kept),
    /// writes the file, and takes the result as the new state.
    fn change(
        &self,
        edit: impl FnOnce(&mut Vec<PairedToken>) -> Result<(), TokensError>,
    ) -> Result<(), TokensError> {
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(path) = &self.path else {
            let mut tokens = self.lock().tokens.clone();
            edit(&mut tokens)?;
            self.replace(tokens, None);
            return Ok(());
        };
        locked(path, || {
            let mut tokens = self.merge_seen(load(path)?);
            edit(&mut tokens)?;
            save(path, tokens.clone())?;
            self.replace(tokens, stamp(path));
            Ok(())
        })
    }

    /// Keeps the last-seen times this server holds in memory but has not written yet.
    fn merge_seen(&self, mut tokens: Vec<PairedToken>) -> Vec<PairedToken> {
        let state = self.lock();
        for token in &mut tokens {
            if let Some(known) = state.tokens.iter().find(|t| t.sha256 == token.sha256) {
                if known.last_seen > token.last_seen {
                    token.last_seen.clone_from(&known.last_seen);
                    token.last_ip.clone_from(&known.last_ip);
                }
            }
        }
        tokens
    }

    /// Takes `tokens` as the new state and announces every device that is gone.
    fn replace(&self, tokens: Vec<PairedToken>, stamp: Option<Stamp>) {
        let gone: Vec<String> = {
            let mut state = self.lock();
            let new = hashes(&tokens);
            let gone = state
                .hashes
                .iter()
                .filter(|(_, id, _)| !new.iter().any(|(_, n, _)| n == id))
                .map(|(_, id, _)| id.clone())
                .collect();
            state.hashes = new;
            state.tokens = tokens;
            state.stamp = stamp;
            gone
        };
        for id in gone {
            tracing::info!(device = %id, "paired device revoked");
            // Nobody listening is fine: no WebSocket of that device is open.
            let _ = self.revoked.send(id);
        }
    }

    /// Re-reads the file when it changed on disk (the CLI added or revoked a device). Costs one `stat` when it
    /// did not.
    fn reload_if_changed(&self) {
        let Some(path) = &self.path else { return };
        let now = stamp(path);
        if now == self.lock().stamp {
            return;
        }
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        match load(path) {
            Ok(tokens) => {
                let tokens = self.merge_seen(tokens);
                self.replace(tokens, now);
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot reload the paired devices; keeping the ones known")
            }
        }
    }
}

fn hashes(tokens: &[PairedToken]) -> Vec<([u8; 32], String, Scopes)> {
    tokens
        .iter()
        .filter_map(|t| {
            let hash: [u8; 32] = hex::decode(&t.sha256).ok()?.try_into().ok()?;
            Some((hash, t.id(), t.scopes))
        })
        .collect()
}

/// `bytes` random bytes as lower-case hex.
fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Compares without an early exit, so the time taken does not tell how many leading bytes were right.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn save(path: &Path, tokens: Vec<PairedToken>) -> Result<(), TokensError> {
    let io = |source| TokensError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(io)?;
    }
    let text = toml::to_string(&TokensFile { tokens }).map_err(|e| TokensError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    // Written to a new file created private, then renamed over the old one: never world-readable, never half
    // written. Named per process: a reader never sees another writer's half-written file under this name either.
    let tmp = path.with_extension(format!("toml.{}.tmp", std::process::id()));
    write_private(&tmp, text.as_bytes()).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).expect("meta").permissions().mode() & 0o777
    }

    #[test]
    fn add_list_revoke_and_only_hashes_are_stored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub").join("tokens.toml");
        assert!(load(&path).expect("empty").is_empty());
        let phone = add(&path, "phone").expect("add");
        let laptop = add_with_scopes(&path, "laptop", Scopes::ALL).expect("add");
        assert_ne!(phone, laptop);
        assert!(matches!(add(&path, "phone"), Err(TokensError::Exists(_))));
        let stored = std::fs::read_to_string(&path).expect("read");
        assert!(
            !stored.contains(&phone),
            "the token itself is never written"
        );
        assert!(stored.contains("scopes = [\"read\", \"send\"]"), "{stored}");
        let tokens = load(&path).expect("load");
        assert_eq!(
            tokens.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            vec!["phone", "laptop"]
        );
        assert_eq!(tokens[0].sha256, token_hash(&phone));
        assert_eq!(tokens[0].scopes, Scopes::DEFAULT_DEVICE);
        assert_eq!(tokens[1].scopes, Scopes::ALL);
        #[cfg(unix)]
        {
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(&path.with_extension("toml.lock")), 0o600);
            assert_eq!(mode(path.parent().expect("dir")), 0o700);
        }
        revoke(&path, "phone").expect("revoke");
        assert!(matches!(
            revoke(&path, "phone"),
            Err(TokensError::NotFound(_))
        ));
        assert_eq!(load(&path).expect("load").len(), 1);
    }

    /// Devices copied back from a cluster into a relay's file: added once with their hashes, scopes and times;
    /// a device already in the file is kept, one whose name is taken is reported; a second import writes nothing.
    #[test]
    fn an_import_into_the_file_adds_each_device_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens.toml");
        let phone = add(&path, "phone").expect("add");
        let there = load(&path).expect("load");
        let laptop = PairedToken {
            name: "laptop".into(),
            sha256: token_hash("laptop token"),
            scopes: Scopes::ALL,
            created_at: "2026-12-01T08:00:00Z".into(),
            last_seen: Some("2026-12-07T20:00:00Z".into()),
            last_ip: Some("10.0.0.9".into()),
        };
        let other_phone = PairedToken {
            sha256: token_hash("another phone"),
            ..there[0].clone()
        };
        let devices = [there[0].clone(), laptop.clone(), other_phone];
        let report = import(&path, &devices).expect("import");
        assert_eq!(
            report,
            crate::store::DevicesImport {
                added: 1,
                present: 1,
                name_taken: vec!["phone".into()]
            }
        );
        let before = stamp(&path);
        let again = import(&path, &devices).expect("again");
        assert_eq!((again.added, again.present), (0, 2));
        assert_eq!(stamp(&path), before, "nothing to write");
        let stored = load(&path).expect("load");
        assert_eq!(stored[0].sha256, token_hash(&phone));
        assert_eq!(stored[1], laptop);
        assert_eq!(stored.len(), 2);
    }

    #[test]
    fn entries_written_before_scopes_read_and_send() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens.toml");
        std::fs::write(
            &path,
            "[[token]]\nname = \"old\"\nsha256 = \"00\"\ncreated_at = \"2026-01-01T00:00:00Z\"\n",
        )
        .expect("write");
        assert_eq!(load(&path).expect("load")[0].scopes, Scopes::DEFAULT_DEVICE);
        std::fs::write(
            &path,
            "[[token]]\nname = \"x\"\nsha256 = \"00\"\nscopes = [\"root\"]\ncreated_at = \"2026-01-01T00:00:00Z\"\n",
        )
        .expect("write");
        let err = load(&path).expect_err("unknown scope").to_string();
        assert!(err.contains("root") && err.contains("tokens.toml"), "{err}");
    }

    #[test]
    fn scope_lists_parse_and_print() {
        let s = parse_scopes("read, admin").expect("parses");
        assert!(s.has(Scope::Read) && s.has(Scope::Admin) && !s.has(Scope::Send));
        assert_eq!(s.to_string(), "read,admin");
        assert_eq!(Scopes::ALL.to_string(), "read,send,admin");
        let err = parse_scopes("read,wrte").expect_err("typo").to_string();
        assert!(
            err.contains("wrte") && err.contains("read, send and admin"),
            "{err}"
        );
        assert!(parse_scopes("").is_err());
        assert_eq!(
            serde_json::to_string(&Scopes::DEFAULT_DEVICE).expect("json"),
            "[\"read\",\"send\"]"
        );
    }

    #[test]
    fn weak_tokens_are_named() {
        for (token, says) in [
            ("", "empty"),
            ("   ", "empty"),
            ("short", "5 characters"),
            (&"a b".repeat(20), "spaces"),
            (&"é".repeat(40), "non-ASCII"),
        ] {
            let problem = weak_token(token).expect("refused");
            assert!(problem.contains(says), "{token:?}: {problem}");
        }
        assert_eq!(weak_token(&"x".repeat(MIN_TOKEN_CHARS)), None);
        assert_eq!(weak_token(&crate::generate_token()), None);
    }

    #[test]
    fn the_main_token_is_made_once_private_and_then_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("conf").join(MAIN_TOKEN_FILE);
        assert_eq!(stored_main_token(&path).expect("read"), None);
        let first = load_or_create_main_token(&path).expect("made");
        assert_eq!(first.len(), 64);
        assert_eq!(load_or_create_main_token(&path).expect("read"), first);
        assert_eq!(stored_main_token(&path).expect("read"), Some(first));
        #[cfg(unix)]
        {
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().expect("dir")), 0o700);
        }
        assert_eq!(
            std::fs::read_dir(path.parent().expect("dir"))
                .expect("ls")
                .count(),
            1,
            "no temporary file is left"
        );
        std::fs::write(&path, "tiny\n").expect("write");
        let err = load_or_create_main_token(&path)
            .expect_err("weak")
            .to_string();
        assert!(
            err.contains("delete it") && err.contains(MAIN_TOKEN_FILE),
            "{err}"
        );
    }

    #[test]
    fn racing_starts_agree_on_one_main_token() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(MAIN_TOKEN_FILE);
        let tokens: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| load_or_create_main_token(&path).expect("token")))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        assert!(tokens.windows(2).all(|w| w[0] == w[1]), "{tokens:?}");
    }

    #[tokio::test]
    async fn a_pairing_code_is_spent_once_and_names_the_device() {
        let devices = Arc::new(Devices::open(None, Vec::new()).expect("open"));
        let pairing = devices
            .start_pairing("Pixel 8", Scopes::DEFAULT_DEVICE)
            .await
            .expect("code");
        assert_eq!(pairing.code.len(), 32);
        assert!(matches!(
            devices.claim("not-the-code").await,
            Err(TokensError::BadCode)
        ));
        let (device, token) = devices.claim(&pairing.code).await.expect("claimed");
        assert_eq!(device.name, "Pixel 8");
        assert_eq!(device.scopes, Scopes::DEFAULT_DEVICE);
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        assert_eq!(
            devices.authenticate(&hash),
            Some((device.id.clone(), Scopes::DEFAULT_DEVICE))
        );
        assert!(
            matches!(
                devices.claim(&pairing.code).await,
                Err(TokensError::BadCode)
            ),
            "single use"
        );
        // A name that is taken cannot be paired again, and a device needs some scope.
        assert!(matches!(
            devices.start_pairing("Pixel 8", Scopes::ALL).await,
            Err(TokensError::Exists(_))
        ));
        assert!(matches!(
            devices.start_pairing("tablet", Scopes::default()).await,
            Err(TokensError::NoScopes)
        ));
        // A new code for the same name replaces the old one.
        let old = devices
            .start_pairing("tablet", Scopes::ALL)
            .await
            .expect("code");
        let new = devices
            .start_pairing("tablet", Scopes::ALL)
            .await
            .expect("code");
        assert!(matches!(
            devices.claim(&old.code).await,
            Err(TokensError::BadCode)
        ));
        assert_eq!(
            devices.claim(&new.code).await.expect("claimed").0.scopes,
            Scopes::ALL
        );
    }

    #[tokio::test]
    async fn pairing_codes_expire_and_are_bounded() {
        let devices = Arc::new(Devices::open(None, Vec::new()).expect("open"));
        let pairing = devices
            .start_pairing("phone", Scopes::ALL)
            .await
            .expect("code");
        // Expire it by hand rather than waiting ten minutes.
        for p in devices.pending.lock().expect("lock").iter_mut() {
            p.expires = Instant::now();
        }
        assert!(matches!(
            devices.claim(&pairing.code).await,
            Err(TokensError::BadCode)
        ));
        for i in 0..MAX_PENDING {
            devices
                .start_pairing(&format!("d{i}"), Scopes::ALL)
                .await
                .expect("code");
        }
        assert!(matches!(
            devices.start_pairing("one more", Scopes::ALL).await,
            Err(TokensError::TooManyPairings)
        ));
    }

    /// Two nodes' registries on one PostgreSQL database: a code made on A is exchanged on B, once; the device
    /// is accepted on A once A reads the devices again (what a notification makes it do), and a revocation on B
    /// is announced on A by A's next read. Neither touches a tokens file.
    #[tokio::test]
    async fn nodes_sharing_a_database_share_devices_and_pairing_codes() {
        let store = crate::store::testing::postgres().await;
        let a = Arc::new(
            Devices::open_shared(store.open_node_again("a").await)
                .await
                .expect("a"),
        );
        let b = Arc::new(
            Devices::open_shared(store.open_node_again("b").await)
                .await
                .expect("b"),
        );
        let pairing = a
            .start_pairing("phone", Scopes::DEFAULT_DEVICE)
            .await
            .expect("code");
        let (device, token) = b.claim(&pairing.code).await.expect("claimed on B");
        assert!(
            matches!(a.claim(&pairing.code).await, Err(TokensError::BadCode)),
            "spent"
        );
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        assert_eq!(
            b.authenticate(&hash).map(|(id, _)| id),
            Some(device.id.clone())
        );
        a.refresh().await.expect("refresh");
        assert_eq!(
            a.authenticate(&hash),
            Some((device.id.clone(), Scopes::DEFAULT_DEVICE))
        );
        assert!(matches!(
            a.start_pairing("phone", Scopes::ALL).await,
            Err(TokensError::Exists(_))
        ));
        // Last seen on A: written to the database, listed on B.
        assert!(a.touch(&device.id, Some("10.1.2.3".parse().expect("ip"))));
        a.clone().persist_seen(device.id.clone()).await;
        b.refresh().await.expect("refresh");
        assert_eq!(b.list()[0].last_ip.as_deref(), Some("10.1.2.3"));

        let mut revoked_on_a = a.subscribe_revoked();
        b.revoke(&device.id).await.expect("revoked on B");
        assert_eq!(b.authenticate(&hash), None);
        a.refresh().await.expect("refresh");
        assert_eq!(revoked_on_a.try_recv().expect("announced on A"), device.id);
        assert_eq!(a.authenticate(&hash), None);
        assert!(matches!(
            a.revoke(&device.id).await,
            Err(TokensError::NoDevice(_))
        ));
    }

    #[tokio::test]
    async fn a_revocation_by_another_process_is_announced_while_watched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens.toml");
        add(&path, "phone").expect("add");
        let devices = Arc::new(Devices::open(Some(path.clone()), Vec::new()).expect("open"));
        let shutdown = CancellationToken::new();
        let follower = tokio::spawn(devices.clone().follow_file(shutdown.clone()));
        let mut revoked = devices.subscribe_revoked();
        let guard = devices.watch();
        // Another process (the CLI) revokes it; nothing asks the registry meanwhile.
        revoke(&path, "phone").expect("revoke");
        let id = tokio::time::timeout(Duration::from_secs(1), revoked.recv())
            .await
            .expect("announced within a second")
            .expect("id");
        assert!(!devices.contains(&id));
        drop(guard);
        shutdown.cancel();
        follower.await.expect("follower ends");
    }
}
