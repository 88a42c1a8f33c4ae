//! Paired-device tokens: extra access tokens, one per device, each with a name, kept in `tokens.toml` in the
//! config directory (mode 0600) and revocable one by one (`simrelay token revoke NAME`, `DELETE /api/devices/{id}`).
//!
//! Only a SHA-256 of each token is stored: the file alone does not let anyone in. The token itself is shown
//! once, when it is created. A running server keeps the devices in a [`Devices`] registry over the same file:
//! changes made through the API are written there at once, changes the CLI writes are picked up within a second,
//! and a revocation is published so open WebSockets of that device are closed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

/// Longest device name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// A device's last-seen time and address are written to the file at most this often (they are kept in memory
/// meanwhile), so a busy phone does not rewrite the file on every request.
const TOUCH_WRITE_EVERY: Duration = Duration::from_secs(60);
/// How often a running server looks at the file for changes the CLI made.
const RELOAD_EVERY: Duration = Duration::from_secs(1);

/// One paired device's token, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairedToken {
    /// A name for the device ("phone", "laptop").
    pub name: String,
    /// Lower-case hex SHA-256 of the token.
    pub sha256: String,
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
            created_at: self.created_at.clone(),
            last_seen: self.last_seen.clone(),
            last_ip: self.last_ip.clone(),
        }
    }
}

/// A paired device as `GET /api/devices` lists it: the wire type.
pub use simrelay_protocol::Device;

#[derive(Debug, Default, Serialize, Deserialize)]
struct TokensFile {
    #[serde(default, rename = "token")]
    tokens: Vec<PairedToken>,
}

/// Why the tokens file could not be used.
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

fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `tokens.toml` next to the configuration file.
pub fn default_tokens_path() -> PathBuf {
    crate::config::default_config_path().with_file_name("tokens.toml")
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

/// Creates a token named `name`, stores its hash, and returns the token (shown to the user once).
pub fn add(path: &Path, name: &str) -> Result<String, TokensError> {
    locked(path, || {
        let mut tokens = load(path)?;
        let (_, token) = push_new(&mut tokens, name)?;
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
        std::fs::create_dir_all(dir).map_err(io)?;
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
) -> Result<(PairedToken, String), TokensError> {
    let name = check_name(name)?;
    if tokens.iter().any(|t| t.name == name) {
        return Err(TokensError::Exists(name.to_owned()));
    }
    let token = crate::generate_token();
    let entry = PairedToken {
        name: name.to_owned(),
        sha256: token_hash(&token),
        created_at: now_rfc3339(),
        last_seen: None,
        last_ip: None,
    };
    tokens.push(entry.clone());
    Ok((entry, token))
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
/// `tokens.toml` (or only in memory when the engine was given no file).
#[derive(Debug)]
pub struct Devices {
    path: Option<PathBuf>,
    state: Mutex<State>,
    /// Serialises read-modify-write cycles of the file, so two changes never lose one another.
    writing: Mutex<()>,
    revoked: broadcast::Sender<String>,
}

#[derive(Debug)]
struct State {
    tokens: Vec<PairedToken>,
    /// Decoded hashes with the device id, for authentication.
    hashes: Vec<([u8; 32], String)>,
    /// When each device's last-seen time was last written to the file.
    written: HashMap<String, Instant>,
    /// Modification time and length of the file when last read or written.
    stamp: Option<(SystemTime, u64)>,
    checked: Instant,
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
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
            state: Mutex::new(State {
                hashes: hashes(&tokens),
                tokens,
                written: HashMap::new(),
                stamp,
                checked: Instant::now(),
            }),
            writing: Mutex::new(()),
            revoked,
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

    /// Pairs a new device: returns it and its token (the only time the token is seen).
    pub fn create(&self, name: &str) -> Result<(Device, String), TokensError> {
        let mut created = None;
        self.change(|tokens| {
            created = Some(push_new(tokens, name)?);
            Ok(())
        })?;
        let (entry, token) = created.ok_or_else(|| TokensError::NoDevice(String::new()))?;
        Ok((entry.device(), token))
    }

    /// Revokes the device `id`: its token is refused from now on and its WebSockets are closed.
    pub fn revoke(&self, id: &str) -> Result<Device, TokensError> {
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

    /// The id of the device whose token hashes to `hash`, comparing with every stored hash in constant time.
    pub fn authenticate(&self, hash: &[u8; 32]) -> Option<String> {
        self.reload_if_changed();
        let state = self.lock();
        let mut found = None;
        for (stored, id) in &state.hashes {
            if constant_time_eq(stored, hash) {
                found = Some(id.clone());
            }
        }
        found
    }

    /// Whether device `id` is still paired.
    pub fn contains(&self, id: &str) -> bool {
        self.lock().hashes.iter().any(|(_, d)| d == id)
    }

    /// Ids of revoked devices, as they are revoked.
    pub fn subscribe_revoked(&self) -> broadcast::Receiver<String> {
        self.revoked.subscribe()
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
        if (due || moved) && self.path.is_some() {
            state.written.insert(id.to_owned(), now);
            true
        } else {
            false
        }
    }

    /// Writes device `id`'s last-seen time and address, as held in memory, to the file.
    pub fn persist_seen(&self, id: &str) {
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
    fn replace(&self, tokens: Vec<PairedToken>, stamp: Option<(SystemTime, u64)>) {
        let gone: Vec<String> = {
            let mut state = self.lock();
            let new = hashes(&tokens);
            let gone = state
                .hashes
                .iter()
                .filter(|(_, id)| !new.iter().any(|(_, n)| n == id))
                .map(|(_, id)| id.clone())
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

    /// Re-reads the file when it changed on disk (the CLI added or revoked a device), at most once a second.
    fn reload_if_changed(&self) {
        let Some(path) = &self.path else { return };
        {
            let mut state = self.lock();
            if state.checked.elapsed() < RELOAD_EVERY {
                return;
            }
            state.checked = Instant::now();
        }
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

fn hashes(tokens: &[PairedToken]) -> Vec<([u8; 32], String)> {
    tokens
        .iter()
        .filter_map(|t| {
            let hash: [u8; 32] = hex::decode(&t.sha256).ok()?.try_into().ok()?;
            Some((hash, t.id()))
        })
        .collect()
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
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let text = toml::to_string(&TokensFile { tokens }).map_err(|e| TokensError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    // Written to a new file created private, then renamed over the old one: never world-readable, never half
    // written.
    // Named per process: a reader never sees another writer's half-written file under this name either.
    let tmp = path.with_extension(format!("toml.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(io)?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_list_revoke_and_only_hashes_are_stored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub").join("tokens.toml");
        assert!(load(&path).expect("empty").is_empty());
        let phone = add(&path, "phone").expect("add");
        let laptop = add(&path, "laptop").expect("add");
        assert_ne!(phone, laptop);
        assert!(matches!(add(&path, "phone"), Err(TokensError::Exists(_))));
        let stored = std::fs::read_to_string(&path).expect("read");
        assert!(
            !stored.contains(&phone),
            "the token itself is never written"
        );
        let tokens = load(&path).expect("load");
        assert_eq!(
            tokens.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            vec!["phone", "laptop"]
        );
        assert_eq!(tokens[0].sha256, token_hash(&phone));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        revoke(&path, "phone").expect("revoke");
        assert!(matches!(
            revoke(&path, "phone"),
            Err(TokensError::NotFound(_))
        ));
        assert_eq!(load(&path).expect("load").len(), 1);
    }
}
