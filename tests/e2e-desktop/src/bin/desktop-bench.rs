//! `simrelay-desktop-bench`: one measured run of the real desktop app, printed as one JSON line for
//! `cargo xtask bench desktop`.
//!
//! The release `simrelay-desktop` runs under a private Xvfb and D-Bus session with the test harness's own
//! `org.freedesktop.Notifications` server, on a pty modem simulator the benchmark feeds. One run measures:
//! launch → the window is mapped; total PSS and wake-ups of the app and every process below it (WebKit's) with
//! the window open, then after the window is closed to the tray; injection → the `Notify` call at the server for
//! each of `--messages` messages; and, with tauri-driver, launch → the first message row in the window.
//!
//! Usage: `simrelay-desktop-bench --app <simrelay-desktop> [--messages 200] [--idle-seconds 10]
//! [--settle-seconds 5] [--no-webdriver]`.

use anyhow::{bail, Context};
use fantoccini::{ClientBuilder, Locator};
use rand::Rng;
use serde_json::{json, Value};
use simrelay_bench::stats::Summary;
use simrelay_e2e_desktop::bus::SessionBus;
use simrelay_e2e_desktop::display::Xvfb;
use simrelay_e2e_desktop::footprint::{
    comm, descendants, tree_context_switches, tree_pss, wakeups_between, ProcessPss,
};
use simrelay_e2e_desktop::notifications::NotificationServer;
use simrelay_e2e_desktop::process::{free_port, tauri_driver, wait_for_port, Guard};
use simrelay_e2e_desktop::windows;
use simrelay_modem::{SimOptions, Simulator};
use simrelay_testkit::pdu::{numbered, numbered_index};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Series name of the timed messages (their text is `Desk #<i>: your verification code is ...`).
const SERIES: &str = "Desk";
/// Messages sent before anything is measured, so first-use costs (the notification thread, D-Bus) are paid.
const WARM_UP: usize = 5;
/// How long one message may take before it counts as lost.
const LOST_AFTER: Duration = Duration::from_secs(10);

struct Opts {
    app: PathBuf,
    messages: usize,
    idle: Duration,
    settle: Duration,
    webdriver: bool,
}

fn parse_args() -> anyhow::Result<Opts> {
    let mut opts = Opts {
        app: PathBuf::new(),
        messages: 200,
        idle: Duration::from_secs(10),
        settle: Duration::from_secs(5),
        webdriver: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--app" => opts.app = PathBuf::from(value()?),
            "--messages" => opts.messages = value()?.parse().context("--messages")?,
            "--idle-seconds" => {
                opts.idle = Duration::from_secs(value()?.parse().context("--idle-seconds")?)
            }
            "--settle-seconds" => {
                opts.settle = Duration::from_secs(value()?.parse().context("--settle-seconds")?)
            }
            "--no-webdriver" => opts.webdriver = false,
            other => bail!("unknown argument {other:?}"),
        }
    }
    if opts.app.as_os_str().is_empty() {
        bail!("--app <simrelay-desktop binary> is required");
    }
    opts.app = std::fs::canonicalize(&opts.app)
        .with_context(|| format!("no app at {}", opts.app.display()))?;
    Ok(opts)
}

/// A private desktop session: X server, session bus, notification server, throwaway home.
struct Session {
    xvfb: Xvfb,
    bus: SessionBus,
    notes: NotificationServer,
    home: tempfile::TempDir,
}

impl Session {
    async fn start() -> anyhow::Result<Self> {
        let xvfb = Xvfb::start().context("Xvfb")?;
        let bus = SessionBus::start(xvfb.display()).context("dbus-daemon")?;
        let notes = NotificationServer::start(bus.address())
            .await
            .context("notification server")?;
        let home = tempfile::tempdir()?;
        for dir in ["config", "data", "cache", "runtime"] {
            std::fs::create_dir_all(home.path().join(dir))?;
        }
        Ok(Self {
            xvfb,
            bus,
            notes,
            home,
        })
    }

    fn apply(&self, command: &mut Command) {
        let home = self.home.path();
        command
            .env("DISPLAY", self.xvfb.display())
            .env("DBUS_SESSION_BUS_ADDRESS", self.bus.address())
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_RUNTIME_DIR", home.join("runtime"))
            .env("RUST_LOG", "warn")
            .env_remove("WAYLAND_DISPLAY");
    }

    fn windows(&self) -> anyhow::Result<Vec<u32>> {
        windows::find_by_title(self.xvfb.display(), "SimRelay")
            .map_err(|e| anyhow::anyhow!("cannot list X windows: {e}"))
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pss_json(tree: &[ProcessPss]) -> Value {
    json!({
        "total_kib": tree.iter().map(|p| p.pss_kib).sum::<u64>(),
        "total_mib": tree.iter().map(|p| p.pss_kib).sum::<u64>() as f64 / 1024.0,
        "processes": tree.iter().map(|p| json!({"comm": p.comm, "pss_kib": p.pss_kib})).collect::<Vec<_>>(),
    })
}

/// Wake-ups per second of the whole tree over `window`, and per process name.
async fn wakeups(pid: u32, window: Duration) -> Value {
    let before = tree_context_switches(pid);
    tokio::time::sleep(window).await;
    let after = tree_context_switches(pid);
    let per_name = wakeups_between(&before, &after);
    let total: u64 = per_name.iter().map(|(_, n)| n).sum();
    let seconds = window.as_secs_f64();
    json!({
        "per_s": total as f64 / seconds,
        "seconds": seconds,
        "by_process": per_name.iter().map(|(name, n)| json!({"comm": name, "per_s": *n as f64 / seconds})).collect::<Vec<_>>(),
    })
}

fn webkit_children(pid: u32) -> Vec<String> {
    descendants(pid)
        .into_iter()
        .skip(1)
        .map(comm)
        .filter(|c| !c.is_empty())
        .collect()
}

/// Kills the app's descendants (WebKit's processes; they are ours, started by the app we started), by pid.
fn kill_tree(pid: u32) {
    for child in descendants(pid).into_iter().skip(1) {
        let _ = Command::new("kill")
            .arg("-9")
            .arg(child.to_string())
            .status();
    }
}

/// Delivers `pdu` and waits for the `Notify` call carrying message `index`; the latency, or `None` if lost.
async fn time_one(
    sim: &Simulator,
    notes: &NotificationServer,
    pdu: Vec<u8>,
    series: &str,
    index: usize,
    seen: &mut usize,
) -> anyhow::Result<Option<Duration>> {
    let start = Instant::now();
    sim.deliver(pdu);
    loop {
        let calls = notes.calls();
        for call in &calls[*seen..] {
            if numbered_index(series, &call.body) == Some(index) {
                *seen = calls.len();
                // Like a real server after its timeout: the app's notification thread stops waiting.
                notes.expire(call.id).await.context("NotificationClosed")?;
                return Ok(Some(call.received.saturating_duration_since(start)));
            }
        }
        if start.elapsed() > LOST_AFTER {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Launch through tauri-driver (WebKitWebDriver starts the app) → the first message row (`li.msg`) exists in
/// the window's document. Milliseconds from the new-session request, and until the session was made.
async fn launch_to_data(
    session: &Session,
    app: &Path,
    app_args: &[String],
) -> anyhow::Result<(f64, f64)> {
    let driver = tauri_driver().context("tauri-driver not found")?;
    let (driver_port, native_port) = (free_port()?, free_port()?);
    let mut command = Command::new(driver);
    command
        .args([
            "--port",
            &driver_port.to_string(),
            "--native-port",
            &native_port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    session.apply(&mut command);
    let _driver = Guard::spawn("tauri-driver", &mut command)?;
    if !wait_for_port(driver_port, Duration::from_secs(20))
        || !wait_for_port(native_port, Duration::from_secs(30))
    {
        bail!("tauri-driver or WebKitWebDriver did not listen");
    }
    let capabilities = json!({
        "browserName": "wry",
        "tauri:options": { "application": app, "args": app_args },
    });
    let Value::Object(capabilities) = capabilities else {
        bail!("capabilities are not an object");
    };
    let start = Instant::now();
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .context("WebDriver session with the app")?;
    let session_ms = ms(start.elapsed());
    let data_ms = loop {
        let rows = client
            .find_all(Locator::Css("li.msg"))
            .await
            .context("find message rows")?;
        if !rows.is_empty() {
            break ms(start.elapsed());
        }
        if start.elapsed() > Duration::from_secs(60) {
            bail!("no message row in the window after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Ending the session makes tauri-driver stop the app.
    let _ = client.close().await;
    Ok((data_ms, session_ms))
}

async fn run(opts: &Opts) -> anyhow::Result<Value> {
    let session = Session::start().await?;
    let sim = Simulator::start(SimOptions {
        capacity: 255,
        ..SimOptions::default()
    })
    .await?;
    let db = session.home.path().join("simrelay.db");
    let port = free_port()?;
    let app_args: Vec<String> = vec![
        "--modem".into(),
        sim.path().display().to_string(),
        "--db".into(),
        db.display().to_string(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
    ];
    let log = std::fs::File::create(session.home.path().join("app.log"))?;
    let mut command = Command::new(&opts.app);
    command.args(&app_args).stdout(Stdio::null()).stderr(log);
    session.apply(&mut command);

    // 1. Launch → the window is mapped on the X server.
    let launched = Instant::now();
    let mut app = Guard::spawn("simrelay-desktop", &mut command)?;
    let pid = app.id();
    let window_ms = loop {
        if !session.windows()?.is_empty() {
            break ms(launched.elapsed());
        }
        if !app.is_alive() || launched.elapsed() > Duration::from_secs(60) {
            let log =
                std::fs::read_to_string(session.home.path().join("app.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            bail!(
                "the app showed no window (exited: {}); its log ends:\n{}",
                !app.is_alive(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    if !wait_for_port(port, Duration::from_secs(30)) {
        bail!("the engine did not listen");
    }

    // Warm up: a few messages through the whole path, then let the app settle.
    let mut seen = 0;
    for i in 0..WARM_UP {
        if time_one(
            &sim,
            &session.notes,
            numbered("Warm", i),
            "Warm",
            i,
            &mut seen,
        )
        .await?
        .is_none()
        {
            bail!("warm-up message {i} raised no notification within {LOST_AFTER:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(opts.settle).await;

    // 2. Window open: PSS of the tree, wake-ups at idle.
    let open = tree_pss(pid);
    let wakeups_open = wakeups(pid, opts.idle).await;

    // 3. Close the window as a window manager's "×" does; wait for WebKit's processes to go.
    let closing = Instant::now();
    loop {
        let open_windows = session.windows()?;
        if open_windows.is_empty() {
            break;
        }
        if closing.elapsed() > Duration::from_secs(30) {
            bail!("the window did not close");
        }
        for window in open_windows {
            windows::request_close(session.xvfb.display(), window)
                .map_err(|e| anyhow::anyhow!("WM_DELETE_WINDOW: {e}"))?;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let closed = Instant::now();
    let children_gone_ms = loop {
        if webkit_children(pid).is_empty() {
            break Some(ms(closed.elapsed()));
        }
        if closed.elapsed() > Duration::from_secs(20) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let left_after_close = webkit_children(pid);
    if !app.is_alive() {
        bail!("the app quit when its window closed");
    }
    tokio::time::sleep(opts.settle).await;
    let tray = tree_pss(pid);
    let wakeups_tray = wakeups(pid, opts.idle).await;

    // 4. Injection → Notify, one message at a time with 30-60 ms between them (the modem driver's 20 ms guard
    //    time after each command stays out of the next message's path), the app in the tray.
    let pdus: Vec<Vec<u8>> = (0..opts.messages).map(|i| numbered(SERIES, i)).collect();
    let mut latencies = Vec::with_capacity(opts.messages);
    let mut lost = 0;
    for (i, pdu) in pdus.into_iter().enumerate() {
        let pause = rand::rng().random_range(30_000..=60_000);
        tokio::time::sleep(Duration::from_micros(pause)).await;
        match time_one(&sim, &session.notes, pdu, SERIES, i, &mut seen).await? {
            Some(latency) => latencies.push(ms(latency)),
            None => lost += 1,
        }
    }
    let notify_calls = session.notes.calls().len();
    tokio::time::sleep(opts.settle).await;
    let tray_after = tree_pss(pid);
    let threads_after = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count())
        .unwrap_or(0);

    kill_tree(pid);
    drop(app);

    // 5. Launch → the window shows data, on the same store (now holding the messages above), via WebDriver.
    let (data_ms, session_ms) = if opts.webdriver {
        match launch_to_data(&session, &opts.app, &app_args).await {
            Ok((data, session)) => (Some(data), Some(session)),
            Err(error) => {
                eprintln!("launch to data not measured: {error:#}");
                (None, None)
            }
        }
    } else {
        (None, None)
    };
    sim.shutdown().await;

    Ok(json!({
        "scenario": "desktop",
        "launch_to_window_ms": window_ms,
        "launch_to_data_ms": data_ms,
        "launch_to_webdriver_session_ms": session_ms,
        "pss_open": pss_json(&open),
        "pss_tray": pss_json(&tray),
        "pss_tray_after_notifications": pss_json(&tray_after),
        "webkit_gone_after_close_ms": children_gone_ms,
        "left_after_close": left_after_close,
        "wakeups_open": wakeups_open,
        "wakeups_tray": wakeups_tray,
        "threads_tray_after_notifications": threads_after,
        "messages": opts.messages,
        "notify_calls": notify_calls,
        "lost": lost,
        "notify_ms": Summary::of(&latencies),
    }))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let opts = parse_args()?;
    let result = run(&opts).await?;
    println!("{result}");
    Ok(())
}
