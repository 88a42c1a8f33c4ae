//! Paired-device tokens: extra access tokens, one per device, each with a name, kept in `tokens.toml` in the
//! config directory (mode 0600) and revocable one by one with `simrelay token revoke NAME`.
//!
//! Only a SHA-256 of each token is stored: the file alone does not let anyone in. The token itself is shown
//! once, when it is created.

use std::path::{Path, PathBuf};

use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One paired device's token, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairedToken {
    /// A name for the device ("phone", "laptop").
    pub name: String,
    /// Lower-case hex SHA-256 of the token.
    pub sha256: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

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
    let mut tokens = load(path)?;
    if tokens.iter().any(|t| t.name == name) {
        return Err(TokensError::Exists(name.to_owned()));
    }
    let token = crate::generate_token();
    tokens.push(PairedToken {
        name: name.to_owned(),
        sha256: token_hash(&token),
        created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    save(path, tokens)?;
    Ok(token)
}

/// Removes the token named `name`.
pub fn revoke(path: &Path, name: &str) -> Result<(), TokensError> {
    let mut tokens = load(path)?;
    let before = tokens.len();
    tokens.retain(|t| t.name != name);
    if tokens.len() == before {
        return Err(TokensError::NotFound(name.to_owned()));
    }
    save(path, tokens)
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
    let tmp = path.with_extension("toml.tmp");
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
