//! Real servers the relay tests talk to, each started by the test on a free loopback port and stopped when
//! dropped: Debian's `mosquitto` broker, Python's `aiosmtpd` SMTP server, and an HTTP receiver that records
//! every request and answers as told. Plus an MQTT subscriber (rumqttc) that keeps everything it hears.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

/// How long a test waits for something that should come at once: generous, for a busy machine.
pub const LIMIT: Duration = Duration::from_secs(30);

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Polls `check` until it holds, for up to [`LIMIT`].
pub async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut check: impl FnMut() -> F,
) {
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < LIMIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn find_program(name: &str, also: &[&str]) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .chain(also.iter().map(PathBuf::from))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is not installed: run scripts/setup.sh (Debian: apt-get install {name})")
        })
}

async fn wait_for_port(port: u16, child: &mut Child, what: &str) {
    let start = Instant::now();
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited with {status} before it listened on {port}");
        }
        assert!(start.elapsed() < LIMIT, "{what} did not listen on {port}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A `mosquitto` broker of our own.
pub struct Mosquitto {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

/// How a broker is set up.
#[derive(Default, Clone)]
pub struct BrokerSetup {
    /// Serve TLS with this certificate and key (PEM) instead of plain MQTT.
    pub tls: Option<(String, String)>,
    /// Only this user (and password) may connect.
    pub login: Option<(String, String)>,
    /// Listen on this port (a restarted broker keeps its port).
    pub port: Option<u16>,
}

impl Mosquitto {
    /// A plain broker, anonymous clients allowed, nothing persisted.
    pub async fn start() -> Mosquitto {
        Mosquitto::start_with(BrokerSetup::default()).await
    }

    pub async fn start_with(setup: BrokerSetup) -> Mosquitto {
        let program = find_program("mosquitto", &["/usr/sbin/mosquitto"]);
        let dir = tempfile::tempdir().expect("tempdir");
        let port = setup.port.unwrap_or_else(free_port);
        let mut conf = format!("listener {port} 127.0.0.1\npersistence false\n");
        // As root, mosquitto would switch to the `mosquitto` user, who cannot read our temporary files.
        let root =
            std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").expect("/proc"))
                == 0;
        if root {
            conf.push_str("user root\n");
        }
        match &setup.login {
            Some((user, password)) => {
                let file = dir.path().join("passwords");
                let status = Command::new(find_program(
                    "mosquitto_passwd",
                    &["/usr/bin/mosquitto_passwd"],
                ))
                .args(["-c", "-b"])
                .arg(&file)
                .args([user, password])
                .status()
                .expect("mosquitto_passwd runs");
                assert!(status.success(), "mosquitto_passwd failed");
                conf.push_str(&format!(
                    "allow_anonymous false\npassword_file {}\n",
                    file.display()
                ));
            }
            None => conf.push_str("allow_anonymous true\n"),
        }
        if let Some((cert, key)) = &setup.tls {
            let cert_file = dir.path().join("cert.pem");
            let key_file = dir.path().join("key.pem");
            std::fs::write(&cert_file, cert).expect("write cert");
            std::fs::write(&key_file, key).expect("write key");
            conf.push_str(&format!(
                "certfile {}\nkeyfile {}\n",
                cert_file.display(),
                key_file.display()
            ));
        }
        let conf_file = dir.path().join("mosquitto.conf");
        std::fs::write(&conf_file, conf).expect("write config");
        let mut child = Command::new(program)
            .arg("-c")
            .arg(&conf_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("mosquitto.log")).expect("log file"),
            ))
            .spawn()
            .expect("mosquitto starts");
        wait_for_port(port, &mut child, "mosquitto").await;
        Mosquitto { child, port, dir }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// What the broker logged (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One message the subscriber heard.
#[derive(Debug, Clone)]
pub struct Heard {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

impl Heard {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload)
            .unwrap_or_else(|e| panic!("{} is not JSON ({e}): {:?}", self.topic, self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
}

/// An MQTT client that subscribes to `filters` and keeps everything it hears.
pub struct Subscriber {
    pub client: AsyncClient,
    heard: Arc<Mutex<Vec<Heard>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Subscriber {
    pub async fn connect(port: u16, filters: &[&str]) -> Subscriber {
        Subscriber::connect_with(port, filters, None).await
    }

    pub async fn connect_with(
        port: u16,
        filters: &[&str],
        login: Option<(&str, &str)>,
    ) -> Subscriber {
        let id = format!("test-{}", &simrelay_engine::generate_token()[..8]);
        let mut options = MqttOptions::new(id, "127.0.0.1", port);
        options.set_keep_alive(Duration::from_secs(30));
        if let Some((user, password)) = login {
            options.set_credentials(user, password);
        }
        let (client, mut eventloop) = AsyncClient::new(options, 64);
        let heard: Arc<Mutex<Vec<Heard>>> = Arc::default();
        let (ready_tx, mut ready) = mpsc::channel(1);
        let sink = heard.clone();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = ready_tx.try_send(());
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        sink.lock().expect("lock").push(Heard {
                            topic: p.topic,
                            payload: p.payload.to_vec(),
                            retain: p.retain,
                        })
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        for filter in filters {
            client
                .subscribe(*filter, QoS::AtLeastOnce)
                .await
                .expect("subscribe");
            tokio::time::timeout(LIMIT, ready.recv())
                .await
                .expect("the broker acknowledges the subscription");
        }
        Subscriber {
            client,
            heard,
            task,
        }
    }

    /// Everything heard so far.
    pub fn heard(&self) -> Vec<Heard> {
        self.heard.lock().expect("lock").clone()
    }

    /// Everything heard on `topic`.
    pub fn on(&self, topic: &str) -> Vec<Heard> {
        self.heard()
            .into_iter()
            .filter(|h| h.topic == topic)
            .collect()
    }

    /// The last message on `topic`, waiting for one that satisfies `accept`.
    pub async fn wait_for(&self, topic: &str, accept: impl Fn(&Heard) -> bool) -> Heard {
        let start = Instant::now();
        loop {
            if let Some(h) = self.on(topic).into_iter().rev().find(|h| accept(h)) {
                return h;
            }
            assert!(
                start.elapsed() < LIMIT,
                "nothing fitting on {topic}; heard: {:?}",
                self.heard()
                    .iter()
                    .map(|h| (&h.topic, h.text()))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn publish(&self, topic: &str, payload: &str, retain: bool) {
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload.as_bytes().to_vec())
            .await
            .expect("publish");
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// An HTTP server that records every POST and answers with the next status of its script (then 200).
pub struct Receiver {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Answers `script` in order, then 200 to everything; each answer after `delay`.
    pub async fn start(script: &[u16], delay: Duration) -> Receiver {
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let script: Arc<Mutex<VecDeque<u16>>> =
            Arc::new(Mutex::new(script.iter().copied().collect()));
        let sink = requests.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
                let (sink, script) = (sink.clone(), script.clone());
                async move {
                    sink.lock().expect("lock").push(Request {
                        path: uri.path().to_owned(),
                        headers,
                        body,
                        at: Instant::now(),
                    });
                    tokio::time::sleep(delay).await;
                    let status = script.lock().expect("lock").pop_front().unwrap_or(200);
                    StatusCode::from_u16(status).expect("a status")
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            addr,
            requests,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("lock").clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Python's `aiosmtpd` SMTP server, storing what it receives in a Maildir.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

/// How an SMTP server secures its connections.
pub enum SmtpTls {
    /// Plain SMTP.
    None,
    /// STARTTLS offered and required, with this certificate and key (PEM).
    Starttls(String, String),
    /// TLS from the first byte (SMTPS), with this certificate and key (PEM).
    Wrapper(String, String),
}

impl SmtpServer {
    pub async fn start(tls: SmtpTls) -> SmtpServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let maildir = dir.path().join("mail");
        let port = free_port();
        let python = find_program("python3", &[]);
        let mut command = Command::new(python);
        command
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"));
        let mut pem_files = |cert: &str, key: &str| {
            let (c, k) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
            std::fs::write(&c, cert).expect("write cert");
            std::fs::write(&k, key).expect("write key");
            (c, k)
        };
        match &tls {
            SmtpTls::None => {}
            SmtpTls::Starttls(cert, key) => {
                let (c, k) = pem_files(cert, key);
                command.arg("--tlscert").arg(c).arg("--tlskey").arg(k);
            }
            SmtpTls::Wrapper(cert, key) => {
                let (c, k) = pem_files(cert, key);
                command.arg("--smtpscert").arg(c).arg("--smtpskey").arg(k);
            }
        }
        let mut child = command
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("smtp.log")).expect("log file"),
            ))
            .spawn()
            .expect("python3 starts");
        // A missing module makes Python exit at once: say how to install it.
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Ok(Some(_)) = child.try_wait() {
            let log = std::fs::read_to_string(dir.path().join("smtp.log")).unwrap_or_default();
            panic!(
                "aiosmtpd did not start (scripts/test.sh installs it: pip install aiosmtpd): {log}"
            );
        }
        wait_for_port(port, &mut child, "aiosmtpd").await;
        SmtpServer {
            child,
            port,
            maildir,
            _dir: dir,
        }
    }

    /// Every mail received, as raw text.
    pub fn mails(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        let mut mails: Vec<(std::time::SystemTime, String)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let at = e.metadata().ok()?.modified().ok()?;
                Some((at, std::fs::read_to_string(e.path()).ok()?))
            })
            .collect();
        mails.sort();
        mails.into_iter().map(|(_, m)| m).collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Checks a webhook signature with Python's `hmac` module: an implementation independent of the engine's.
pub fn python_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let script = "import hmac, hashlib, sys\n\
                  secret, ts = sys.argv[1].encode(), sys.argv[2].encode()\n\
                  body = sys.stdin.buffer.read()\n\
                  print('sha256=' + hmac.new(secret, ts + b'.' + body, hashlib.sha256).hexdigest())";
    let mut child = Command::new(find_program("python3", &[]))
        .args(["-c", script, secret, timestamp])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body)
        .expect("write body");
    let out = child.wait_with_output().expect("python3 finishes");
    assert!(out.status.success(), "python3 failed");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// A CA and a certificate it signed for `localhost` and 127.0.0.1 (PEM: CA cert, server cert, server key).
pub fn test_certificates(dir: &Path) -> (PathBuf, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "SimRelay test CA");
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("CA");
    let key = KeyPair::generate().expect("key");
    let params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("params");
    let cert = params.signed_by(&key, &ca).expect("certificate");
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write CA");
    (ca_file, cert.pem(), key.serialize_pem())
}
