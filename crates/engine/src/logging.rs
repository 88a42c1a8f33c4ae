//! Where SimRelay's log lines go: standard error, and a daily file in the OS log directory that the user (or
//! a bug report) can find after the fact. Both `simrelay serve` and the desktop shell call [`init`] once at
//! start-up with the directory [`crate::config::resolve`] found; the desktop's "Open logs folder" opens
//! [`log_dir`]. A system service turns the files off (`log_files = false`): its journal keeps standard error.
//!
//! Lines are written to the file as they happen (no background writer thread): an engine killed in the
//! middle of something still leaves the lines that led up to it, and SimRelay logs little enough that a
//! blocking write per line costs nothing measurable.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// Environment variable that overrides the log directory (tests, portable installs).
pub const LOG_DIR_ENV: &str = "SIMRELAY_LOG_DIR";
/// Environment variable with the log filter (`info`, `debug`, `simrelay_engine=debug,info`, ...); `RUST_LOG`
/// is read when it is not set.
pub const FILTER_ENV: &str = "SIMRELAY_LOG";
/// How many daily files are kept; older ones are deleted when a new one is started.
pub const KEEP_FILES: usize = 7;
/// Log files are named `simrelay.YYYY-MM-DD.log` (the date in UTC).
pub const FILE_PREFIX: &str = "simrelay";
/// See [`FILE_PREFIX`].
pub const FILE_SUFFIX: &str = "log";

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// `SIMRELAY_LOG` (or `RUST_LOG`) is not a valid filter.
    #[error("invalid log filter {variable}={value:?}: {message} (use a level such as info or debug, or target=level pairs separated by commas)")]
    Filter {
        /// The variable it came from.
        variable: &'static str,
        /// Its value.
        value: String,
        /// What the parser said.
        message: String,
    },
    /// A global subscriber is already installed (logging was initialised twice).
    #[error("logging is already set up in this process")]
    AlreadySet,
}

/// What [`init`] set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logging {
    /// The directory of the log files (`None`: standard error only, as configured).
    pub dir: Option<PathBuf>,
    /// Why lines go to standard error only, when the log directory could not be created or written; the
    /// reason is also logged as a warning.
    pub file_error: Option<String>,
}

/// The directory of SimRelay's log files: `SIMRELAY_LOG_DIR` when set, otherwise the OS log directory
/// ([`crate::config::default_log_dir`]). [`crate::config::resolve`] uses it too (and `log_files = false`
/// turns the files off).
pub fn log_dir() -> PathBuf {
    std::env::var_os(LOG_DIR_ENV)
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(crate::config::default_log_dir)
}

/// Sends `tracing` output to standard error and, when `dir` is given (the resolved
/// [`crate::config::Paths::log_dir`]), to a daily-rotated file there, filtered by `SIMRELAY_LOG` / `RUST_LOG`
/// (default `info`). Call once per process. A log directory that cannot be created does not stop the program:
/// lines then go to standard error only, and [`Logging::file_error`] says why.
pub fn init(dir: Option<&Path>) -> Result<Logging, LoggingError> {
    let filter = filter_from_env(|name| std::env::var(name).ok())?;
    let (file, file_error) = match dir.map(open_appender) {
        Some(Ok(appender)) => (Some(appender), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let file = file.map(|appender| {
        tracing_subscriber::fmt::layer()
            .with_writer(appender)
            .with_ansi(false)
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(file)
        .try_init()
        .map_err(|_| LoggingError::AlreadySet)?;
    match (&file_error, dir) {
        (Some(error), _) => tracing::warn!("logging to standard error only: {error}"),
        (None, Some(dir)) => tracing::debug!(dir = %dir.display(), "log files"),
        (None, None) => tracing::debug!("no log files (log_files = false): standard error only"),
    }
    Ok(Logging {
        dir: dir.map(Path::to_path_buf),
        file_error,
    })
}

fn open_appender(dir: &Path) -> Result<RollingFileAppender, String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the log directory {}: {e}", dir.display()))?;
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(FILE_PREFIX)
        .filename_suffix(FILE_SUFFIX)
        .max_log_files(KEEP_FILES)
        .build(dir)
        .map_err(|e| format!("cannot open a log file in {}: {e}", dir.display()))
}

/// The filter from `SIMRELAY_LOG`, else `RUST_LOG`, else `info`.
fn filter_from_env(env: impl Fn(&str) -> Option<String>) -> Result<EnvFilter, LoggingError> {
    for variable in [FILTER_ENV, "RUST_LOG"] {
        if let Some(value) = env(variable).filter(|v| !v.trim().is_empty()) {
            return EnvFilter::try_new(&value).map_err(|e| LoggingError::Filter {
                variable,
                value,
                message: e.to_string(),
            });
        }
    }
    Ok(EnvFilter::new("info"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_comes_from_simrelay_log_then_rust_log() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let f = filter_from_env(env(&[("SIMRELAY_LOG", "debug"), ("RUST_LOG", "error")]))
            .expect("valid");
        assert_eq!(f.to_string(), "debug");
        let f = filter_from_env(env(&[("RUST_LOG", "warn")])).expect("valid");
        assert_eq!(f.to_string(), "warn");
        let f = filter_from_env(env(&[])).expect("valid");
        assert_eq!(f.to_string(), "info");
        let err = filter_from_env(env(&[("SIMRELAY_LOG", "debug,[[[")])).expect_err("invalid");
        assert!(err.to_string().contains("SIMRELAY_LOG"), "{err}");
    }

    #[test]
    fn an_unwritable_log_dir_is_reported_not_fatal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"").expect("write");
        // A directory cannot be created below a regular file.
        let err = open_appender(&file.join("logs")).expect_err("not a directory");
        assert!(err.contains("cannot create the log directory"), "{err}");
    }
}
