//! Where the binaries under test and the tools tests drive are: an environment variable names each one
//! explicitly (the project's test script sets them), else the newest build in the workspace's target folders.

use std::path::{Path, PathBuf};

use crate::KitError;

/// The repository root (this crate lives in `crates/testkit`).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = here.join("../..");
    root.canonicalize().unwrap_or(root)
}

/// The `simrelay` binary: `$SIMRELAY_BIN`, else the newest `simrelay` built in this workspace
/// (`cargo build -p simrelay-engine`).
pub fn simrelay() -> Result<PathBuf, KitError> {
    built("simrelay", "SIMRELAY_BIN", "cargo build -p simrelay-engine")
}

/// The desktop app's resident `simrelay-desktop`: `$SIMRELAY_DESKTOP_BIN`, else the newest one built
/// (`cargo build -p simrelay-desktop`).
pub fn desktop() -> Result<PathBuf, KitError> {
    built(
        "simrelay-desktop",
        "SIMRELAY_DESKTOP_BIN",
        "cargo build -p simrelay-desktop",
    )
}

/// `$var` when set (it must exist: a typo must not fall back quietly), else the newest `name` in the target
/// folders (`$CARGO_TARGET_DIR`, `target/`, `target-*/`; debug or release).
fn built(name: &str, var: &str, build: &str) -> Result<PathBuf, KitError> {
    if let Some(path) = std::env::var_os(var) {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(path);
        }
        return Err(KitError::Missing(format!(
            "{var}={} does not exist",
            path.display()
        )));
    }
    newest_build(name).ok_or_else(|| {
        KitError::Missing(format!(
            "no {name} binary found: build it with `{build}` or set {var}"
        ))
    })
}

/// The most recently built `name` in the workspace's target folders.
pub fn newest_build(name: &str) -> Option<PathBuf> {
    let root = workspace_root();
    let mut dirs: Vec<PathBuf> = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        let folder = entry.file_name();
        let folder = folder.to_string_lossy();
        if folder == "target" || folder.starts_with("target-") {
            dirs.push(entry.path());
        }
    }
    dirs.iter()
        .flat_map(|d| ["debug", "release"].map(|profile| d.join(profile).join(name)))
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .max_by_key(|(modified, _)| *modified)
        .map(|(_, p)| p)
}

/// `name` on `PATH`, else in `~/.cargo/bin` (where `cargo install` puts it even when that is not on `PATH`).
pub fn on_path(name: &str) -> Option<PathBuf> {
    let dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let cargo_bin = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin"));
    dirs.into_iter()
        .chain(cargo_bin)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A tool named by `$var`, else found by [`on_path`].
pub fn tool(var: &str, name: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .or_else(|| on_path(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_holds_the_workspace_and_tools_are_found_on_path() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(workspace_root().join("crates/testkit").is_dir());
        assert!(on_path("sh").is_some());
        assert!(on_path("no-such-tool-anywhere").is_none());
    }
}
