//! SIM PINs entered in the app (`POST /api/modems/{id}/pin`), kept in `pins.toml` next to `tokens.toml`
//! (mode 0600) so the next start unlocks those SIMs by itself.
//!
//! Only a PIN the SIM accepted is stored. A PIN in the config file (`modem_pins`) wins over a stored one: the
//! file is what the user wrote by hand.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// The file's name, next to `tokens.toml`.
pub const PINS_FILE: &str = "pins.toml";

/// Serialises this process's read-modify-write cycles of the file (two PINs entered at once keep both).
static WRITING: Mutex<()> = Mutex::new(());

#[derive(Debug, Default, Serialize, Deserialize)]
struct PinsFile {
    /// PIN by the port the modem was started on.
    #[serde(default)]
    pins: BTreeMap<String, String>,
}

/// Why the PINs file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PinsError {
    /// Reading or writing failed.
    #[error("cannot use the SIM PIN file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("invalid SIM PIN file {path}: {message}; fix or delete it (then enter the PINs in the app again)")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The stored PINs by port (none when the file does not exist).
pub fn load(path: &Path) -> Result<BTreeMap<String, String>, PinsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str::<PinsFile>(&text)
            .map(|file| file.pins)
            .map_err(|e| PinsError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(source) => Err(PinsError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// `configured` plus the stored PINs for the ports it has none for. A broken file is logged and skipped: the
/// SIMs then wait for their PIN in the app, which is where the user can fix it.
pub(crate) fn merged(
    configured: &BTreeMap<String, String>,
    path: Option<&Path>,
) -> BTreeMap<String, String> {
    let mut pins = configured.clone();
    let Some(path) = path else {
        return pins;
    };
    match load(path) {
        Ok(stored) => {
            for (port, pin) in stored {
                pins.entry(port).or_insert(pin);
            }
        }
        Err(e) => tracing::warn!(error = %e, "SIM PINs entered in the app are not used"),
    }
    pins
}

/// Stores `pin` for the modem on `port`: written to a new private file, then renamed over the old one, so the
/// file is never world-readable nor half written.
pub(crate) fn store(path: &Path, port: &str, pin: &str) -> Result<(), PinsError> {
    let _writing = WRITING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let io = |source| PinsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = PinsFile { pins: load(path)? };
    file.pins.insert(port.to_owned(), pin.to_owned());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let text = toml::to_string(&file).map_err(|e| PinsError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let tmp = path.with_extension(format!("toml.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(&tmp).map_err(io)?;
    std::io::Write::write_all(&mut out, text.as_bytes()).map_err(io)?;
    out.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_pins_fill_in_for_ports_the_config_has_none_for() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(PINS_FILE);
        store(&path, "/dev/a", "1111").expect("stores");
        store(&path, "/dev/b", "2222").expect("stores");
        store(&path, "/dev/a", "3333").expect("replaces");
        let configured = BTreeMap::from([("/dev/b".to_owned(), "9999".to_owned())]);
        let pins = merged(&configured, Some(&path));
        assert_eq!(pins.get("/dev/a").map(String::as_str), Some("3333"));
        assert_eq!(pins.get("/dev/b").map(String::as_str), Some("9999"));
        std::fs::write(&path, "pins = 3").expect("writes");
        assert_eq!(merged(&configured, Some(&path)), configured);
    }
}
