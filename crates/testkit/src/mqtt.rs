//! MQTT for tests and benchmarks: a Mosquitto broker of the test's own ([`Mosquitto`], Debian's `mosquitto`, on
//! a free loopback port, nothing persisted) and a subscriber that keeps everything it hears ([`Subscriber`]).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

use crate::process::Guard;
use crate::{bins, free_port, KitError};

/// How long a broker may take to listen, and a subscription to be acknowledged.
const LIMIT: Duration = Duration::from_secs(30);

/// How a broker is set up.
#[derive(Debug, Default, Clone)]
pub struct BrokerSetup {
    /// Serve TLS with this certificate and key (PEM) instead of plain MQTT.
    pub tls: Option<(String, String)>,
    /// Only this user (and password) may connect.
    pub login: Option<(String, String)>,
    /// Listen on this port (a restarted broker keeps its port); a free one when `None`.
    pub port: Option<u16>,
}

/// A running `mosquitto`, killed when dropped.
#[derive(Debug)]
pub struct Mosquitto {
    _guard: Guard,
    port: u16,
    dir: tempfile::TempDir,
}

fn mosquitto_tool(name: &str) -> Result<PathBuf, KitError> {
    bins::on_path(name)
        .or_else(|| [format!("/usr/sbin/{name}"), format!("/usr/bin/{name}")].into_iter().map(PathBuf::from).find(|p| p.is_file()))
        .ok_or_else(|| {
            KitError::Missing(format!(
                "{name} is not installed: run scripts/setup.sh (on Debian: apt-get install mosquitto)"
            ))
        })
}

impl Mosquitto {
    /// A plain broker on a free port, anonymous clients allowed.
    pub async fn start() -> Result<Mosquitto, KitError> {
        Mosquitto::start_with(BrokerSetup::default()).await
    }

    /// A broker as `setup` says.
    pub async fn start_with(setup: BrokerSetup) -> Result<Mosquitto, KitError> {
        let program = mosquitto_tool("mosquitto")?;
        let dir = tempfile::tempdir().map_err(KitError::io("cannot make a temporary folder"))?;
        let port = match setup.port {
            Some(port) => port,
            None => free_port()?,
        };
        let mut conf = format!("listener {port} 127.0.0.1\npersistence false\n");
        // Started as root, mosquitto would switch to the `mosquitto` user, who cannot read our temporary folder.
        let uid = std::os::unix::fs::MetadataExt::uid(
            &std::fs::metadata("/proc/self").map_err(KitError::io("cannot read /proc/self"))?,
        );
        if uid == 0 {
            conf.push_str("user root\n");
        }
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text)
                .map_err(KitError::io(format!("cannot write {}", path.display())))
                .map(|()| path)
        };
        match &setup.login {
            Some((user, password)) => {
                let file = dir.path().join("passwords");
                let status = Command::new(mosquitto_tool("mosquitto_passwd")?)
                    .args(["-c", "-b"])
                    .arg(&file)
                    .args([user, password])
                    .status()
                    .map_err(KitError::io("cannot run mosquitto_passwd"))?;
                if !status.success() {
                    return Err(KitError::Protocol(format!(
                        "mosquitto_passwd failed: {status}"
                    )));
                }
                conf.push_str(&format!(
                    "allow_anonymous false\npassword_file {}\n",
                    file.display()
                ));
            }
            None => conf.push_str("allow_anonymous true\n"),
        }
        if let Some((cert, key)) = &setup.tls {
            let cert = write("cert.pem", cert)?;
            let key = write("key.pem", key)?;
            conf.push_str(&format!(
                "certfile {}\nkeyfile {}\n",
                cert.display(),
                key.display()
            ));
        }
        let conf = write("mosquitto.conf", &conf)?;
        let log = std::fs::File::create(dir.path().join("mosquitto.log"))
            .map_err(KitError::io("cannot create the broker's log"))?;
        let mut guard = Guard::spawn(
            "mosquitto",
            Command::new(program)
                .arg("-c")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log),
        )?;
        crate::wait_for_port(port, &mut guard, LIMIT).await?;
        Ok(Mosquitto {
            _guard: guard,
            port,
            dir,
        })
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `mqtt://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// What the broker logged (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }
}

/// One message a [`Subscriber`] heard.
#[derive(Debug, Clone)]
pub struct Heard {
    /// The topic.
    pub topic: String,
    /// The payload.
    pub payload: Vec<u8>,
    /// Delivered from the broker's retained store (not live).
    pub retain: bool,
    /// When it arrived.
    pub at: Instant,
}

impl Heard {
    /// The payload as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).unwrap_or(serde_json::Value::Null)
    }

    /// The payload as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
}

/// An MQTT client (rumqttc, QoS 1) that subscribes to topic filters and keeps everything it hears.
pub struct Subscriber {
    client: AsyncClient,
    heard: Arc<Mutex<Vec<Heard>>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber").finish_non_exhaustive()
    }
}

impl Subscriber {
    /// Connects anonymously to the broker on 127.0.0.1:`port` and subscribes to `filters` (each acknowledged
    /// before this returns).
    pub async fn connect(port: u16, filters: &[&str]) -> Result<Subscriber, KitError> {
        let id = format!("test-{}-{}", std::process::id(), free_port()?);
        let mut options = MqttOptions::new(id, "127.0.0.1", port);
        options.set_keep_alive(Duration::from_secs(30));
        let (client, mut eventloop) = AsyncClient::new(options, 64);
        let mut network = rumqttc::NetworkOptions::new();
        network.set_tcp_nodelay(true);
        eventloop.set_network_options(network);
        let heard: Arc<Mutex<Vec<Heard>>> = Arc::default();
        let (acks, mut acked) = mpsc::channel(16);
        let sink = heard.clone();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = acks.try_send(());
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let heard = Heard {
                            topic: p.topic,
                            payload: p.payload.to_vec(),
                            retain: p.retain,
                            at: Instant::now(),
                        };
                        sink.lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(heard);
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
                .map_err(|e| KitError::Protocol(format!("cannot subscribe to {filter}: {e}")))?;
            tokio::time::timeout(LIMIT, acked.recv())
                .await
                .map_err(|_| {
                    KitError::Timeout(LIMIT, format!("the broker to acknowledge {filter}"))
                })?;
        }
        Ok(Subscriber {
            client,
            heard,
            task,
        })
    }

    /// Everything heard so far.
    pub fn heard(&self) -> Vec<Heard> {
        self.heard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many messages were heard so far.
    pub fn count(&self) -> usize {
        self.heard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Everything heard on `topic`.
    pub fn on(&self, topic: &str) -> Vec<Heard> {
        self.heard()
            .into_iter()
            .filter(|h| h.topic == topic)
            .collect()
    }

    /// The newest message on `topic` that `accept`s, waiting up to `limit` for one.
    pub async fn wait_for(
        &self,
        topic: &str,
        limit: Duration,
        accept: impl Fn(&Heard) -> bool,
    ) -> Result<Heard, KitError> {
        let start = Instant::now();
        loop {
            if let Some(h) = self.on(topic).into_iter().rev().find(|h| accept(h)) {
                return Ok(h);
            }
            if start.elapsed() > limit {
                let heard: Vec<(String, String)> = self
                    .heard()
                    .iter()
                    .map(|h| (h.topic.clone(), h.text()))
                    .collect();
                return Err(KitError::Timeout(
                    limit,
                    format!("a fitting message on {topic}; heard {heard:?}"),
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Publishes `payload` on `topic` (QoS 1).
    pub async fn publish(&self, topic: &str, payload: &str, retain: bool) -> Result<(), KitError> {
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload.as_bytes().to_vec())
            .await
            .map_err(|e| KitError::Protocol(format!("cannot publish on {topic}: {e}")))
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}
