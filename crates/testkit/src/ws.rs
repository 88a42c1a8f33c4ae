//! A client of SimRelay's `/ws`: text frames parsed as `protocol::ServerFrame`, each wait bounded in time.
//!
//! Pings and pongs are skipped; a close (or a dropped connection) is `None`, so a test can assert that the
//! server cut a client off.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use simrelay_protocol::{Message, ServerEvent, ServerFrame};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::KitError;

/// The WebSocket stream under a [`WsClient`].
pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long the `*_in_time` waits last: generous, for a busy machine.
pub const FRAME_LIMIT: Duration = Duration::from_secs(20);

/// One connection to `/ws`.
pub struct WsClient {
    stream: WsStream,
}

impl WsClient {
    /// Opens `request` (a `ws://` URL, or a request with headers) and reads nothing yet.
    pub async fn open<R>(request: R) -> Result<WsClient, KitError>
    where
        R: IntoClientRequest + Unpin,
    {
        let (stream, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(WsClient { stream })
    }

    /// Connects to `ws://addr/ws` (with `?token=` when given) and reads the `hello` frame, which it returns.
    pub async fn connect(
        addr: SocketAddr,
        token: Option<&str>,
    ) -> Result<(WsClient, ServerEvent), KitError> {
        let url = match token {
            Some(t) => format!("ws://{addr}/ws?token={t}"),
            None => format!("ws://{addr}/ws"),
        };
        let mut client = WsClient::open(url).await?;
        match client.next_event(FRAME_LIMIT).await? {
            Some(hello @ ServerEvent::Hello { .. }) => Ok((client, hello)),
            other => Err(KitError::Protocol(format!("expected hello, got {other:?}"))),
        }
    }

    /// A client on a stream opened elsewhere (over TLS, say).
    pub fn from_stream(stream: WsStream) -> WsClient {
        WsClient { stream }
    }

    /// The underlying stream, for frames no helper here sends.
    pub fn stream_mut(&mut self) -> &mut WsStream {
        &mut self.stream
    }

    /// The next text frame, or `None` once the server closed the connection.
    pub async fn next_text(&mut self, limit: Duration) -> Result<Option<String>, KitError> {
        let read = async {
            loop {
                match self.stream.next().await {
                    None | Some(Ok(WsMessage::Close(_))) => return Ok(None),
                    Some(Err(tungstenite::Error::ConnectionClosed)) => return Ok(None),
                    Some(Err(e)) => return Err(KitError::from(e)),
                    Some(Ok(WsMessage::Text(text))) => return Ok(Some(text.as_str().to_owned())),
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_))) => {}
                    Some(Ok(WsMessage::Binary(_))) => {
                        return Err(KitError::Protocol("a binary frame".into()))
                    }
                }
            }
        };
        tokio::time::timeout(limit, read)
            .await
            .map_err(|_| KitError::Timeout(limit, "a WebSocket frame".into()))?
    }

    /// The next frame, parsed; `None` once closed.
    pub async fn next_frame(&mut self, limit: Duration) -> Result<Option<ServerFrame>, KitError> {
        match self.next_text(limit).await? {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| KitError::Protocol(format!("{e}: {text:.200}"))),
        }
    }

    /// The next frame, which must be an event (not a notice); `None` once closed.
    pub async fn next_event(&mut self, limit: Duration) -> Result<Option<ServerEvent>, KitError> {
        match self.next_frame(limit).await? {
            None => Ok(None),
            Some(ServerFrame::Event(event)) => Ok(Some(event)),
            Some(other) => Err(KitError::Protocol(format!(
                "expected an event, got {other:?}"
            ))),
        }
    }

    /// The next frame within [`FRAME_LIMIT`]; panics (a failed test) on a timeout or a close.
    pub async fn frame_in_time(&mut self) -> ServerFrame {
        match self.next_frame(FRAME_LIMIT).await {
            Ok(Some(frame)) => frame,
            Ok(None) => panic!("the server closed the WebSocket"),
            Err(e) => panic!("{e}"),
        }
    }

    /// The next event within [`FRAME_LIMIT`]; panics (a failed test) on a timeout, a close or a notice.
    pub async fn event_in_time(&mut self) -> ServerEvent {
        match self.next_event(FRAME_LIMIT).await {
            Ok(Some(event)) => event,
            Ok(None) => panic!("the server closed the WebSocket"),
            Err(e) => panic!("{e}"),
        }
    }

    /// Skips frames until an `sms` event, within `limit` in all.
    pub async fn next_sms(&mut self, limit: Duration) -> Result<Message, KitError> {
        let wait = async {
            loop {
                match self.next_frame(limit).await? {
                    None => {
                        return Err(KitError::Protocol("the server closed the WebSocket".into()))
                    }
                    Some(ServerFrame::Event(ServerEvent::Sms { message })) => return Ok(message),
                    Some(_) => {}
                }
            }
        };
        tokio::time::timeout(limit, wait)
            .await
            .map_err(|_| KitError::Timeout(limit, "an sms frame".into()))?
    }

    /// Sends a text frame.
    pub async fn send_text(&mut self, text: &str) -> Result<(), KitError> {
        self.stream.send(WsMessage::Text(text.into())).await?;
        Ok(())
    }

    /// Closes politely.
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}
