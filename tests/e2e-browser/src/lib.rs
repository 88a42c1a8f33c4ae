//! Test harness for SimRelay's browser end-to-end tests.
//!
//! Starts the real `simrelay` binary on a free loopback port with a fresh SQLite file, starts a real browser under
//! its own WebDriver server with a fresh profile, and gives the tests a fantoccini client. Every child process is
//! killed when its guard is dropped, so a failing assertion cannot leave a server or a browser behind.
//!
//! # Three browsers
//! [`BrowserKind`] names the engines the UI must work in, each driven by its own vendor's WebDriver:
//! - Chromium: Debian's `chromium` under `chromedriver` (`chromium-driver`), headless;
//! - Firefox: Debian's `firefox-esr` under `geckodriver` (built by `cargo install geckodriver`), headless;
//! - WebKit: WebKitGTK's MiniBrowser (shipped in `libwebkit2gtk-4.1-0`) under `WebKitWebDriver`
//!   (`webkit2gtk-driver`). This MiniBrowser has no headless mode, so each WebKit browser gets its own Xvfb.
//!
//! A test written as `async fn name(kind: BrowserKind)` and declared with [`in_browsers!`] runs once per browser,
//! as the tests `name::chromium`, `name::firefox`, `name::webkit`. `SIMRELAY_BROWSERS` (a comma list, default
//! `chromium,firefox,webkit`) says which of them run: a browser it leaves out is reported as skipped on stderr;
//! a browser it includes but that is not installed fails the test with the command that installs it.
//! [`Browser::start`] (tests not written for the matrix) opens `SIMRELAY_DEFAULT_BROWSER`, default Chromium.
//!
//! # Finding the binaries
//! - `simrelay`: `$SIMRELAY_BIN` if set; else the newest `simrelay` in the workspace's target folders
//!   (`simrelay_testkit::bins`). Build it with `cargo build -p simrelay-engine`. A debug engine serves the UI from
//!   `<repo>/dist` on disk, so build the UI first with `trunk build --release --offline`; the harness refuses to
//!   run against a missing `dist/`.
//! - `chromedriver` and `chromium`: `$CHROMEDRIVER` / `$CHROMIUM`, else `/usr/bin/chromedriver` and
//!   `/usr/bin/chromium` (Debian's `chromium-driver` and `chromium` packages).
//! - `geckodriver` and Firefox: `$GECKODRIVER` (else `geckodriver` on `PATH`, else `~/.cargo/bin/geckodriver`)
//!   and `$FIREFOX` (else `/usr/bin/firefox-esr`).
//! - `WebKitWebDriver` and MiniBrowser: `$WEBKIT_WEBDRIVER` / `$MINIBROWSER`, else `/usr/bin/WebKitWebDriver` and
//!   `/usr/lib/<multiarch>/webkit2gtk-4.1/MiniBrowser`; and `Xvfb` on `PATH`.
//!
//! # Running
//! ```sh
//! PATH=$PWD/node_modules/.bin:$PATH trunk build --release --offline   # the UI into dist/
//! cargo build -p simrelay-engine                                     # target/debug/simrelay
//! cargo test -p simrelay-e2e-browser                                 # screenshots land in target/screenshots/
//! cargo xtask screenshots                                            # Chromium's into docs/screenshots/
//! SIMRELAY_BROWSERS=firefox cargo test -p simrelay-e2e-browser       # one browser only
//! ```
//! Build the engine *after* `dist/` exists: rust-embed resolves the folder when the engine is compiled, and a
//! debug engine compiled while `dist/` was missing never serves the UI (it answers "web UI was not built").

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};
use simrelay_testkit::bins;
use simrelay_testkit::process::{Guard, Serve, ServerProcess};
pub use simrelay_testkit::{free_port, wait_until};

/// The repository root.
pub fn repo_root() -> PathBuf {
    bins::workspace_root()
}

/// Where screenshots go: `screenshots/` in the target directory (`$CARGO_TARGET_DIR`, else `<repo>/target`).
pub fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| repo_root().join(dir))
        .unwrap_or_else(|| repo_root().join("target"));
    target.join("screenshots")
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

/// Sends one plain HTTP/1.1 GET to 127.0.0.1:`port` and returns (status, body).
pub fn http_get(port: u16, path_and_query: &str, token: Option<&str>) -> Result<(u16, String)> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let response = simrelay_testkit::http::get_blocking(addr, path_and_query, token)?;
    Ok((response.status, response.text()))
}

/// A running `simrelay serve` with its own database.
pub struct Server {
    /// Port it listens on (127.0.0.1).
    pub port: u16,
    /// Its main token: the one it was started with, else the one it generated, as `simrelay token show` prints
    /// it (every client needs a token, on this machine too).
    pub token: Option<String>,
    serve: Serve,
    process: Option<ServerProcess>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts `simrelay serve --db <tmp> --listen 127.0.0.1:<free>` with `extra` arguments (e.g. `--demo`), with
    /// its configuration (and so its paired devices) in the same temporary directory.
    pub fn start(extra: &[&str], token: Option<&str>) -> Result<Server> {
        Server::start_with_config(extra, token, "")
    }

    /// [`Server::start`] with `config` as its `config.toml` (e.g. `lan_addresses`).
    pub fn start_with_config(extra: &[&str], token: Option<&str>, config: &str) -> Result<Server> {
        require_dist()?;
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("config.toml"), config)?;
        let serve = Serve {
            token: token.map(str::to_owned),
            args: extra.iter().map(|s| (*s).to_owned()).collect(),
            ..Serve::new(bins::simrelay()?, dir.path(), free_port()?)
        };
        let mut server = Server {
            port: serve.port,
            token: Some(serve.token()?),
            serve,
            process: None,
            _dir: dir,
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
        let mut process = self.serve.spawn()?;
        process
            .wait_ready_blocking(Duration::from_secs(30))
            .context("simrelay to answer /api/health")?;
        self.process = Some(process);
        Ok(())
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The address a user opens on this machine: the URL `simrelay serve` prints, with the token, on `route`
    /// (`/`, `/#/settings`). The page keeps the token and takes it out of the address bar.
    pub fn page(&self, route: &str) -> String {
        let (path, fragment) = route
            .split_once('#')
            .map_or((route, None), |(path, fragment)| (path, Some(fragment)));
        let separator = if path.contains('?') { '&' } else { '?' };
        let token = self.token.as_deref().unwrap_or_default();
        let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
        self.url(&format!("{path}{separator}token={token}{fragment}"))
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

/// A browser engine the UI must work in (see the crate docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrowserKind {
    /// Chromium under chromedriver, headless.
    Chromium,
    /// Firefox ESR under geckodriver, headless.
    Firefox,
    /// WebKitGTK's MiniBrowser under WebKitWebDriver, on a private Xvfb.
    WebKit,
}

impl BrowserKind {
    /// Every browser, in the order tests run them.
    pub const ALL: [BrowserKind; 3] = [
        BrowserKind::Chromium,
        BrowserKind::Firefox,
        BrowserKind::WebKit,
    ];

    /// The name used in `SIMRELAY_BROWSERS` and in test names.
    pub fn name(self) -> &'static str {
        match self {
            BrowserKind::Chromium => "chromium",
            BrowserKind::Firefox => "firefox",
            BrowserKind::WebKit => "webkit",
        }
    }

    /// The browser called `name` (as in `SIMRELAY_BROWSERS`).
    pub fn from_name(name: &str) -> Result<BrowserKind> {
        BrowserKind::ALL
            .into_iter()
            .find(|k| k.name() == name.trim().to_ascii_lowercase())
            .with_context(|| {
                format!("unknown browser {name:?}: expected chromium, firefox or webkit")
            })
    }

    /// Whether `SIMRELAY_BROWSERS` (default: all three) includes this browser. A name it does not know is an
    /// error, so a typo cannot quietly turn a browser off.
    pub fn selected(self) -> Result<bool> {
        let Ok(list) = std::env::var("SIMRELAY_BROWSERS") else {
            return Ok(true);
        };
        let mut chosen = Vec::new();
        for name in list.split(',').filter(|n| !n.trim().is_empty()) {
            chosen.push(BrowserKind::from_name(name).context("in SIMRELAY_BROWSERS")?);
        }
        Ok(chosen.contains(&self))
    }

    /// The browser [`Browser::start`] opens: `SIMRELAY_DEFAULT_BROWSER`, else Chromium.
    pub fn default_browser() -> Result<BrowserKind> {
        match std::env::var("SIMRELAY_DEFAULT_BROWSER") {
            Ok(name) => BrowserKind::from_name(&name).context("in SIMRELAY_DEFAULT_BROWSER"),
            Err(_) => Ok(BrowserKind::Chromium),
        }
    }

    /// Whether a matrix test should run in this browser; says on stderr when `SIMRELAY_BROWSERS` leaves it out.
    /// Used by [`in_browsers!`].
    pub fn should_run(self, test: &str) -> bool {
        match self.selected() {
            Ok(true) => true,
            Ok(false) => {
                eprintln!(
                    "{test}: not run in {}: SIMRELAY_BROWSERS={} leaves it out",
                    self.name(),
                    std::env::var("SIMRELAY_BROWSERS").unwrap_or_default()
                );
                false
            }
            Err(e) => panic!("{e:#}"),
        }
    }
}

/// Declares a test that runs once in each listed browser: `in_browsers!(name: chromium, firefox, webkit);` turns
/// `async fn name(kind: BrowserKind)` into the tests `name::chromium`, `name::firefox` and `name::webkit`, each
/// skipped (and saying so) when `SIMRELAY_BROWSERS` leaves its browser out. The test crate needs `tokio` (for
/// `#[tokio::test]`), as every test crate of this package has.
#[macro_export]
macro_rules! in_browsers {
    ($test:ident : $($kind:ident),+ $(,)?) => {
        mod $test {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $kind() {
                    let kind = $crate::BrowserKind::from_name(stringify!($kind)).expect("a browser name");
                    if kind.should_run(stringify!($test)) {
                        super::$test(kind).await;
                    }
                }
            )+
        }
    };
}

/// A file that must exist, or an error saying which package provides it.
fn installed(path: PathBuf, what: &str, install: &str) -> Result<PathBuf> {
    if path.is_file() {
        return Ok(path);
    }
    bail!(
        "{what} not found at {}: install it with `{install}` (or run scripts/setup.sh), point the matching \
         environment variable at it, or leave the browser out with SIMRELAY_BROWSERS",
        path.display()
    )
}

/// `$var` if set, else `default`.
fn env_path(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

/// `name` on `PATH` or in `~/.cargo/bin`, else the bare name (for the error message).
fn on_path(name: &str) -> PathBuf {
    bins::on_path(name).unwrap_or_else(|| PathBuf::from(name))
}

/// WebKitGTK's MiniBrowser: `$MINIBROWSER`, else wherever this machine's multiarch library folder has it.
fn minibrowser() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("MINIBROWSER") {
        return installed(
            PathBuf::from(path),
            "MiniBrowser",
            "apt-get install libwebkit2gtk-4.1-0",
        );
    }
    let found = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("webkit2gtk-4.1/MiniBrowser"))
        .find(|p| p.is_file());
    installed(
        found.unwrap_or_else(|| {
            PathBuf::from("/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser")
        }),
        "MiniBrowser",
        "apt-get install libwebkit2gtk-4.1-0",
    )
}

/// A private X server for one WebKit browser: `Xvfb -displayfd` picks a free display itself and prints its
/// number, so parallel tests (and the desktop tests' Xvfb) never race for one.
fn start_xvfb() -> Result<(Guard, String)> {
    use std::io::BufRead;
    let xvfb = on_path("Xvfb");
    if !xvfb.is_file() {
        bail!("Xvfb not found: install it with `apt-get install xvfb` (or run scripts/setup.sh), or leave WebKit out with SIMRELAY_BROWSERS");
    }
    let mut guard = Guard::spawn(
        "Xvfb",
        Command::new(xvfb)
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1600x1200x24",
                "-nolisten",
                "tcp",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    )?
    .gentle();
    let stdout = guard
        .child_mut()
        .stdout
        .take()
        .context("Xvfb has no stdout")?;
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    let number: u32 = line
        .trim()
        .parse()
        .with_context(|| format!("Xvfb printed no display number ({line:?})"))?;
    Ok((guard, format!(":{number}")))
}

/// How long a page may take to connect its WebSocket: generous, for a loaded machine.
pub const LIVE_LIMIT: Duration = Duration::from_secs(30);

/// A browser under its WebDriver server, with a fresh profile.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    /// Which browser this is.
    pub kind: BrowserKind,
    // Dropped in this order: the driver (and the browser it started) before the X server they draw on.
    _driver: Guard,
    display: Option<(Guard, String)>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Opens the default browser (`SIMRELAY_DEFAULT_BROWSER`, else Chromium) with a window of `width`×`height`.
    ///
    /// A test that needs something only Chromium has (`performance.memory`, a 360 px wide window) should call
    /// `start_in(BrowserKind::Chromium, ..)`, so that `SIMRELAY_DEFAULT_BROWSER` cannot send it elsewhere.
    pub async fn start(width: u32, height: u32) -> Result<Browser> {
        Browser::start_in(BrowserKind::default_browser()?, width, height).await
    }

    /// Starts `kind`'s WebDriver server and opens that browser with a window of `width`×`height`.
    ///
    /// WebKit's MiniBrowser cannot be narrower than its toolbar (447 px), so a WebKit window asked for less is
    /// 447 px wide, and its page area is the toolbar's height (38 px) shorter than asked.
    pub async fn start_in(kind: BrowserKind, width: u32, height: u32) -> Result<Browser> {
        let port = free_port()?;
        let profile = tempfile::tempdir()?;
        let mut display = None;
        let mut caps = serde_json::Map::new();
        let mut command;
        match kind {
            BrowserKind::Chromium => {
                let driver_bin = installed(
                    env_path("CHROMEDRIVER", "/usr/bin/chromedriver"),
                    "chromedriver",
                    "apt-get install chromium-driver",
                )?;
                let chromium = installed(
                    env_path("CHROMIUM", "/usr/bin/chromium"),
                    "Chromium",
                    "apt-get install chromium",
                )?;
                command = Command::new(driver_bin);
                command.arg(format!("--port={port}"));
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
                caps.insert("browserName".into(), "chrome".into());
                caps.insert(
                    "goog:chromeOptions".into(),
                    serde_json::json!({ "binary": chromium, "args": args }),
                );
            }
            BrowserKind::Firefox => {
                let driver_bin = installed(
                    std::env::var_os("GECKODRIVER")
                        .map(PathBuf::from)
                        .unwrap_or_else(|| on_path("geckodriver")),
                    "geckodriver",
                    "cargo install geckodriver --version 0.37.1 --locked",
                )?;
                let firefox = installed(
                    env_path("FIREFOX", "/usr/bin/firefox-esr"),
                    "Firefox",
                    "apt-get install firefox-esr",
                )?;
                command = Command::new(driver_bin);
                command
                    .arg(format!("--port={port}"))
                    // Its own Marionette port, so parallel tests never meet on the default 2828.
                    .arg("--marionette-port=0")
                    .arg("--log=error");
                caps.insert("browserName".into(), "firefox".into());
                caps.insert(
                    "moz:firefoxOptions".into(),
                    serde_json::json!({
                        "binary": firefox,
                        "args": ["-headless", format!("--width={width}"), format!("--height={height}")],
                        // Nothing may reach for the internet: the tests run offline and must not wait on it.
                        "prefs": {
                            "app.update.enabled": false,
                            "browser.safebrowsing.malware.enabled": false,
                            "browser.safebrowsing.phishing.enabled": false,
                            "network.captive-portal-service.enabled": false,
                            "network.connectivity-service.enabled": false,
                            "datareporting.policy.dataSubmissionEnabled": false,
                            "toolkit.telemetry.enabled": false,
                        },
                    }),
                );
            }
            BrowserKind::WebKit => {
                let driver_bin = installed(
                    env_path("WEBKIT_WEBDRIVER", "/usr/bin/WebKitWebDriver"),
                    "WebKitWebDriver",
                    "apt-get install webkit2gtk-driver",
                )?;
                let binary = minibrowser()?;
                let (xvfb, name) = start_xvfb()?;
                command = Command::new(driver_bin);
                command
                    .arg(format!("--port={port}"))
                    .env("DISPLAY", &name)
                    // No session bus: nothing may autolaunch a dbus-daemon that outlives the test.
                    .env("DBUS_SESSION_BUS_ADDRESS", "disabled:")
                    .env("HOME", profile.path())
                    .env("XDG_CACHE_HOME", profile.path().join("cache"))
                    .env("XDG_DATA_HOME", profile.path().join("data"));
                caps.insert("browserName".into(), "MiniBrowser".into());
                caps.insert(
                    "webkitgtk:browserOptions".into(),
                    serde_json::json!({ "binary": binary, "args": ["--automation"] }),
                );
                display = Some((xvfb, name));
            }
        }
        let driver = Guard::spawn(
            kind.name(),
            command
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .stdin(Stdio::null()),
        )?;
        wait_until(
            "the WebDriver server to listen",
            Duration::from_secs(20),
            || TcpStream::connect(("127.0.0.1", port)).is_ok(),
        )?;
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .with_context(|| format!("the {} WebDriver server refused the session", kind.name()))?;
        let browser = Browser {
            client,
            kind,
            _driver: driver,
            display,
            _profile: profile,
        };
        if kind == BrowserKind::WebKit {
            browser.client.set_window_size(width, height).await?;
        }
        Ok(browser)
    }

    /// The X display the browser draws on (WebKit's private Xvfb), where its clipboard can be read back with
    /// `xclip`; `None` for the headless browsers, whose clipboard is their own.
    pub fn x_display(&self) -> Option<&str> {
        self.display.as_ref().map(|(_, name)| name.as_str())
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

    /// Waits until the connection indicator says `live` (the page's WebSocket is open and caught up).
    pub async fn wait_live(&self) -> Result<String> {
        self.wait_text("#conn", LIVE_LIMIT, |t| t.contains("live"))
            .await
    }

    /// Opens `url` (a [`Server::page`]) and waits until the page is [live](Browser::wait_live).
    pub async fn open_live(&self, url: &str) -> Result<String> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("open {url}"))?;
        self.wait_live().await
    }

    /// Clicks the first element matching `css`, as a user's click does.
    pub async fn click(&self, css: &str) -> Result<()> {
        self.client
            .find(Locator::Css(css))
            .await
            .with_context(|| format!("no element matches {css}"))?
            .click()
            .await
            .with_context(|| format!("click {css}"))?;
        Ok(())
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

    /// Saves a PNG screenshot and returns its path, `<target>/screenshots/<browser>/<name>.png` (see
    /// [`screenshots_dir`]): a test run leaves the working tree as it was. `cargo xtask screenshots` copies
    /// Chromium's into `docs/screenshots/`, the README's pictures.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let png = self.client.screenshot().await?;
        let dir = screenshots_dir().join(self.kind.name());
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Ends the WebDriver session (the WebDriver server, and so the browser, is killed on drop).
    pub async fn close(self) -> Result<()> {
        self.client.close().await?;
        Ok(())
    }
}
