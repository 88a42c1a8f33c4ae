//! Test harness for SimRelay's browser end-to-end tests.
//!
//! Starts the real `simrelay` binary on a free loopback port with a fresh SQLite file, starts Debian's
//! `chromedriver` driving a headless `chromium` with a fresh profile, and gives the tests a fantoccini client.
//! Every child process is killed when its guard is dropped, so a failing assertion cannot leave a server or a
//! browser behind.
//!
//! # Finding the binaries
//! - `simrelay`: `$SIMRELAY_BIN` if set; else the first that exists of `$CARGO_TARGET_DIR/debug/simrelay`,
//!   `<repo>/target/debug/simrelay`, `<repo>/target/release/simrelay`. Build it with
//!   `cargo build -p simrelay-engine`. A debug engine serves the UI from `<repo>/dist` on disk, so build the UI
//!   first with `trunk build --release --offline`; the harness refuses to run against a missing `dist/`.
//! - `chromedriver` and `chromium`: `$CHROMEDRIVER` / `$CHROMIUM`, else `/usr/bin/chromedriver` and
//!   `/usr/bin/chromium` (Debian's `chromium-driver` and `chromium` packages).
//!
//! # Running
//! ```sh
//! PATH=$PWD/node_modules/.bin:$PATH trunk build --release --offline   # the UI into dist/
//! cargo build -p simrelay-engine                                     # target/debug/simrelay
//! cargo test -p simrelay-e2e-browser                                 # screenshots land in docs/screenshots/
//! ```
//! Build the engine *after* `dist/` exists: rust-embed resolves the folder when the engine is compiled, and a
//! debug engine compiled while `dist/` was missing never serves the UI (it answers "web UI was not built").

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// Locates the `simrelay` binary (see the crate docs for the search order).
pub fn simrelay_bin() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("SIMRELAY_BIN") {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(path);
        }
        bail!("SIMRELAY_BIN={} does not exist", path.display());
    }
    let root = repo_root();
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(dir).join("debug/simrelay"));
    }
    candidates.push(root.join("target/debug/simrelay"));
    candidates.push(root.join("target/release/simrelay"));
    candidates.into_iter().find(|p| p.is_file()).with_context(|| {
        "no simrelay binary found: build it with `cargo build -p simrelay-engine` or set SIMRELAY_BIN".to_owned()
    })
}

/// Fails unless the UI was built into `<repo>/dist`.
pub fn require_dist() -> Result<()> {
    let index = repo_root().join("dist/index.html");
    if !index.is_file() {
        bail!(
            "{} is missing: build the UI with `trunk build --release --offline` first",
            index.display()
        );
    }
    Ok(())
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A child process killed (and reaped) on drop, together with everything it started.
///
/// The child runs in its own process group: chromedriver starts chromium, and a test that panics before it
/// ends its WebDriver session would otherwise leave that browser running.
pub struct Guard {
    child: Child,
    name: &'static str,
}

impl Guard {
    fn spawn(name: &'static str, command: &mut Command) -> Result<Guard> {
        use std::os::unix::process::CommandExt;
        let child = command
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start {name}: {command:?}"))?;
        Ok(Guard { child, name })
    }

    /// Fails if the process has already exited (it crashed on start-up, say).
    pub fn check_running(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited early with {status}", self.name);
        }
        Ok(())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // The group id is the child's pid (process_group(0)); a negative pid addresses the whole group.
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg("--")
            .arg(format!("-{}", self.child.id()))
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one plain HTTP/1.1 GET to 127.0.0.1:`port` and returns (status, body).
pub fn http_get(port: u16, path_and_query: &str, token: Option<&str>) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(stream, "GET {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Connection: close\r\n\r\n")?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no HTTP status line")?;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Polls `ready` every 100 ms until it returns true or `timeout` passes.
pub fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if ready() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("timed out after {timeout:?} waiting for {what}")
}

/// A running `simrelay serve` with its own database.
pub struct Server {
    /// Port it listens on (127.0.0.1).
    pub port: u16,
    /// The token it requires, if started with one.
    pub token: Option<String>,
    extra: Vec<String>,
    process: Option<Guard>,
    dir: tempfile::TempDir,
}

impl Server {
    /// Starts `simrelay serve --db <tmp> --listen 127.0.0.1:<free>` with `extra` arguments (e.g. `--demo`), with
    /// its configuration (and so its paired devices) in the same temporary directory.
    pub fn start(extra: &[&str], token: Option<&str>) -> Result<Server> {
        require_dist()?;
        let mut server = Server {
            port: free_port()?,
            token: token.map(str::to_owned),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            process: None,
            dir: tempfile::tempdir()?,
        };
        server.spawn()?;
        Ok(server)
    }

    /// Kills the server and starts it again on the same port with the same database (a server restart, as
    /// clients see it: every connection drops).
    pub fn restart(&mut self) -> Result<()> {
        self.process = None;
        self.spawn()
    }

    fn spawn(&mut self) -> Result<()> {
        let bin = simrelay_bin()?;
        let port = self.port;
        let mut command = Command::new(&bin);
        command
            .arg("serve")
            .arg("--db")
            .arg(self.dir.path().join("simrelay.sqlite"))
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .args(&self.extra)
            // A config path in the temporary directory: paired-device tokens (kept next to the config file) and
            // settings must not leak into the user's real configuration or from one test into another.
            .env("SIMRELAY_CONFIG", self.dir.path().join("config.toml"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null());
        if let Some(token) = &self.token {
            command.arg("--token").arg(token);
        }
        let mut process = Guard::spawn("simrelay", &mut command)?;
        let mut crashed = None;
        wait_until(
            "simrelay to answer /api/health",
            Duration::from_secs(30),
            || {
                if let Err(e) = process.check_running() {
                    crashed = Some(e);
                    return true;
                }
                matches!(http_get(port, "/api/health", None), Ok((200, _)))
            },
        )?;
        if let Some(e) = crashed {
            return Err(e);
        }
        self.process = Some(process);
        Ok(())
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `GET /api/messages?limit=N` as JSON.
    pub fn messages(&self, limit: usize) -> Result<Vec<serde_json::Value>> {
        let (status, body) = http_get(
            self.port,
            &format!("/api/messages?limit={limit}"),
            self.token.as_deref(),
        )?;
        if status != 200 {
            bail!("GET /api/messages answered {status}: {body}");
        }
        let page: serde_json::Value = serde_json::from_str(&body)?;
        Ok(page["messages"].as_array().cloned().unwrap_or_default())
    }
}

/// Headless Chromium under chromedriver, with a fresh profile.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    _driver: Guard,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and opens a headless Chromium window of `width`×`height`.
    pub async fn start(width: u32, height: u32) -> Result<Browser> {
        let driver_bin =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let port = free_port()?;
        let driver = Guard::spawn(
            "chromedriver",
            Command::new(&driver_bin)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stdin(Stdio::null()),
        )?;
        wait_until("chromedriver to listen", Duration::from_secs(20), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        })?;
        let profile = tempfile::tempdir()?;
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "chrome".into());
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": chromium, "args": args }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .context("chromedriver refused the session")?;
        Ok(Browser {
            client,
            _driver: driver,
            _profile: profile,
        })
    }

    /// Waits up to `timeout` for an element matching `css` whose text satisfies `pred`; returns that text.
    pub async fn wait_text(
        &self,
        css: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < timeout {
            if let Ok(elements) = self.client.find_all(Locator::Css(css)).await {
                for element in elements {
                    if let Ok(text) = element.text().await {
                        if pred(&text) {
                            return Ok(text);
                        }
                        last = text;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("timed out after {timeout:?} waiting for `{css}`; last text seen: {last:?}")
    }

    /// Runs `script` (a function body) in the page and returns its result.
    pub async fn eval(&self, script: &str) -> Result<serde_json::Value> {
        Ok(self.client.execute(script, vec![]).await?)
    }

    /// Presses `key` (a WebDriver key code such as `Key::Tab.into()`) through the Actions API, as a user's
    /// keyboard would, on whatever has the focus; with `shift` held down when asked.
    pub async fn press(&self, key: char, shift: bool) -> Result<()> {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let shift_key: char = fantoccini::key::Key::Shift.into();
        let mut actions = KeyActions::new("keyboard".to_owned());
        if shift {
            actions = actions.then(KeyAction::Down { value: shift_key });
        }
        actions = actions
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        if shift {
            actions = actions.then(KeyAction::Up { value: shift_key });
        }
        self.client.perform_actions(actions).await?;
        Ok(())
    }

    /// The focused element: `{tag, id, cls, text, visible_focus}`, where `visible_focus` says whether it
    /// matches `:focus-visible` and the computed style draws an outline.
    pub async fn focused(&self) -> Result<serde_json::Value> {
        self.eval(
            "const e = document.activeElement;
             if (!e || e === document.body) return {tag: 'body', id: '', cls: '', text: '', visible_focus: false};
             const s = getComputedStyle(e);
             return {tag: e.tagName.toLowerCase(), id: e.id, cls: e.className || '', text: (e.innerText || e.value || '').trim().slice(0, 60),
                     visible_focus: e.matches(':focus-visible') && s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0};",
        )
        .await
    }

    /// Saves a PNG screenshot to `docs/screenshots/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let png = self.client.screenshot().await?;
        let dir = repo_root().join("docs/screenshots");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Ends the WebDriver session (chromedriver is killed on drop).
    pub async fn close(self) -> Result<()> {
        self.client.close().await?;
        Ok(())
    }
}
