//! What the engine's test modules share: an engine on an ephemeral loopback port, messages committed and
//! published as ingest does it, and the HTTP and hub waits every module needs. Fixtures that do not need the
//! engine (ports, PDUs, the `/ws` client, `eventually`) are in `simrelay-testkit`.

use std::io::BufReader;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use simrelay_engine::store::{Inserted, NewMessage};
use simrelay_engine::{Config, Engine};
use simrelay_protocol::{ApiError, Message, ServerEvent};
use simrelay_testkit::pdu::{time, SENT_AT};
use simrelay_testkit::ws::WsClient;

/// Starts `command` (the `simrelay` binary, with the test's environment) as `serve --listen 127.0.0.1:0 --db <db>`
/// plus `args`, its standard output piped for the lines it announces.
pub fn serve(command: &mut Command, db: &Path, args: &[&str]) -> (Child, BufReader<ChildStdout>) {
    let mut child = command
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawns");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    (child, stdout)
}

/// How long a test waits for a message to come through the hub: generous, for a busy machine.
pub const HUB_LIMIT: Duration = Duration::from_secs(30);

/// How long [`eventually`] polls.
pub const EVENTUALLY_LIMIT: Duration = Duration::from_secs(30);

/// Polls `check` until it holds (for up to [`EVENTUALLY_LIMIT`]); a failed test names `what` it waited for.
pub async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    check: impl FnMut() -> F,
) {
    if let Err(e) = simrelay_testkit::eventually(what, EVENTUALLY_LIMIT, check).await {
        panic!("{e}");
    }
}

/// An engine's configuration on an ephemeral loopback port over `db`, everything else by default, except that a
/// TLS certificate (LAN sharing makes one) goes next to `db`, never into the user's own config directory. The
/// main token is generated for the run (`Engine::token`).
pub fn config(db: &Path) -> Config {
    Config {
        db: db.to_path_buf(),
        listen: "127.0.0.1:0".parse().expect("a socket address"),
        tls_dir: Some(db.with_extension("tls")),
        ..Config::default()
    }
}

/// Starts an engine.
pub async fn start(config: Config) -> Engine {
    Engine::start(config).await.expect("engine starts")
}

/// Starts an engine with the default configuration over a database in `dir`.
pub async fn start_in(dir: &Path) -> Engine {
    start(config(&dir.join("engine.db"))).await
}

/// A message as ingest would store it, from modem `m` at [`SENT_AT`]; `pdu` makes it unique (the dedup key).
pub fn message(pdu: Vec<u8>, sender: &str, text: &str, code: Option<&str>) -> NewMessage {
    NewMessage {
        modem: "m".into(),
        sender: sender.into(),
        text: text.into(),
        code: code.map(str::to_owned),
        code_span: None,
        confidence: None,
        origin: None,
        alternatives: Vec::new(),
        sent_at: time(SENT_AT),
        encoding: None,
        decode_error: None,
        incomplete: false,
        pdus: vec![pdu],
        extra_pdus: Vec::new(),
        ..NewMessage::default()
    }
}

/// Commits through the store and publishes on the hub, as ingest does after a modem read.
pub async fn commit(engine: &Engine, new: &NewMessage) -> Message {
    match engine.store().insert_message(new).await.expect("insert") {
        Inserted::New(message) => {
            engine.hub().publish_sms((*message).clone());
            *message
        }
        Inserted::Duplicate => panic!("{:?} was already stored", new.text),
    }
}

/// `http://<engine>/path`.
pub fn url(engine: &Engine, path: &str) -> String {
    format!("http://{}{path}", engine.local_addr())
}

/// An HTTP client that sends `engine`'s main token with every request, as a script holding the token
/// `simrelay token show` prints does: every client needs one, on loopback too.
pub fn client(engine: &Engine) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {}", engine.token())
            .parse()
            .expect("a header value"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("an HTTP client")
}

/// `GET path` with the main token.
pub async fn get(engine: &Engine, path: &str) -> reqwest::Response {
    client(engine)
        .get(url(engine, path))
        .send()
        .await
        .expect("get")
}

/// `GET path`, which must answer 200, as JSON.
pub async fn get_json<T: serde::de::DeserializeOwned>(engine: &Engine, path: &str) -> T {
    let r = get(engine, path).await;
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.expect("json")
}

/// Asserts an API error's status and `error` kind; returns its `detail`.
pub async fn expect_error(response: reqwest::Response, status: u16, kind: &str) -> String {
    let what = response.url().path().to_owned();
    assert_eq!(response.status(), status, "{what}");
    let error: ApiError = response.json().await.expect("error json");
    assert_eq!(error.error, kind, "{what}: {}", error.detail);
    error.detail
}

/// A `/ws` client of `engine` with its main token, past its `hello` frame.
pub async fn ws(engine: &Engine) -> WsClient {
    WsClient::connect(engine.local_addr(), Some(engine.token()))
        .await
        .expect("ws connects and says hello")
        .0
}

/// A `/ws` client of `engine` with its main token in the query, before its `hello` frame (for the tests
/// that read that frame themselves).
pub async fn ws_before_hello(engine: &Engine) -> WsClient {
    WsClient::open(format!(
        "ws://{}/ws?token={}",
        engine.local_addr(),
        engine.token()
    ))
    .await
    .expect("ws connects")
}

/// The next message the hub publishes.
pub async fn next_sms(events: &mut tokio::sync::broadcast::Receiver<ServerEvent>) -> Message {
    loop {
        match tokio::time::timeout(HUB_LIMIT, events.recv())
            .await
            .expect("a message in time")
        {
            Ok(ServerEvent::Sms { message }) => return message,
            Ok(_) => continue,
            Err(e) => panic!("hub: {e}"),
        }
    }
}
