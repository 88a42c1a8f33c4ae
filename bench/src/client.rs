//! The measuring clients: SimRelay's `/ws` and the baseline's Socket.IO, reduced to "the next SMS text, and
//! the instant its frame arrived".
//!
//! Both run on tokio-tungstenite in the same process and stamp a frame as soon as it is read, before any
//! parsing, so the two servers are measured by the same code. The Socket.IO side speaks Engine.IO v4 over a
//! WebSocket from the first request (`transport=websocket`, no long-polling upgrade), as the python-socketio
//! client does when told to use only websockets.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use simrelay_testkit::ws::WsClient;
use simrelay_testkit::KitError;

/// How long [`SmsClient::next_sms`] waits: as long as a benchmark runs.
const NO_LIMIT: Duration = Duration::from_secs(24 * 3600);

/// Which server a client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// SimRelay's `/ws`: JSON frames tagged by `type`.
    SimRelay,
    /// Flask-SocketIO: Engine.IO v4 packets carrying Socket.IO v5 events.
    SocketIo,
}

impl Flavor {
    /// `simrelay` or `baseline`.
    pub fn parse(name: &str) -> Option<Flavor> {
        match name {
            "simrelay" => Some(Flavor::SimRelay),
            "baseline" => Some(Flavor::SocketIo),
            _ => None,
        }
    }
}

/// One connected client.
pub struct SmsClient {
    ws: WsClient,
    flavor: Flavor,
}

impl SmsClient {
    /// Connects and completes the handshake (SimRelay's `hello`; Engine.IO open + Socket.IO connect).
    pub async fn connect(
        flavor: Flavor,
        addr: SocketAddr,
        token: Option<&str>,
    ) -> Result<SmsClient, KitError> {
        let url = match flavor {
            Flavor::SimRelay => match token {
                Some(t) => format!("ws://{addr}/ws?token={t}"),
                None => format!("ws://{addr}/ws"),
            },
            Flavor::SocketIo => format!("ws://{addr}/socket.io/?EIO=4&transport=websocket"),
        };
        let ws = WsClient::open(url).await?;
        let mut client = SmsClient { ws, flavor };
        match flavor {
            Flavor::SimRelay => {
                let hello = client.next_text().await?;
                if !hello.contains("\"hello\"") {
                    return Err(KitError::Protocol(format!(
                        "expected hello, got {hello:.80}"
                    )));
                }
            }
            Flavor::SocketIo => {
                let open = client.next_text().await?;
                if !open.starts_with('0') {
                    return Err(KitError::Protocol(format!(
                        "expected an Engine.IO open packet, got {open:.80}"
                    )));
                }
                client.ws.send_text("40").await?;
                loop {
                    let text = client.next_text().await?;
                    if text.starts_with("40") {
                        break;
                    }
                    if text.starts_with("44") {
                        return Err(KitError::Protocol(format!(
                            "Socket.IO connect refused: {text:.80}"
                        )));
                    }
                }
            }
        }
        Ok(client)
    }

    /// The next text frame (answering Engine.IO pings on the way).
    async fn next_text(&mut self) -> Result<String, KitError> {
        loop {
            let Some(text) = self.ws.next_text(NO_LIMIT).await? else {
                return Err(KitError::Protocol(
                    "the server closed the connection".into(),
                ));
            };
            if self.flavor == Flavor::SocketIo && text == "2" {
                self.ws.send_text("3").await?;
                continue;
            }
            return Ok(text);
        }
    }

    /// Waits for the next SMS event; returns when its frame arrived and the message text.
    pub async fn next_sms(&mut self) -> Result<(Instant, String), KitError> {
        loop {
            let text = self.next_text().await?;
            let arrived = Instant::now();
            if let Some(sms) = self.sms_text(&text) {
                return Ok((arrived, sms));
            }
        }
    }

    /// Like [`SmsClient::next_sms`], bounded in time.
    pub async fn next_sms_within(
        &mut self,
        limit: Duration,
    ) -> Result<(Instant, String), KitError> {
        tokio::time::timeout(limit, self.next_sms())
            .await
            .map_err(|_| KitError::Timeout(limit, "an SMS event".into()))?
    }

    /// The text of the SMS in this frame, if it carries one.
    fn sms_text(&self, frame: &str) -> Option<String> {
        match self.flavor {
            Flavor::SimRelay => {
                let value: serde_json::Value = serde_json::from_str(frame).ok()?;
                if value.get("type")?.as_str()? != "sms" {
                    return None;
                }
                Some(value.get("message")?.get("text")?.as_str()?.to_owned())
            }
            Flavor::SocketIo => {
                let value: serde_json::Value =
                    serde_json::from_str(frame.strip_prefix("42")?).ok()?;
                let array = value.as_array()?;
                if array.first()?.as_str()? != "sms" {
                    return None;
                }
                Some(array.get(1)?.get("text")?.as_str()?.to_owned())
            }
        }
    }

    /// Closes politely.
    pub async fn close(self) {
        self.ws.close().await;
    }
}
