//! An HTTP receiver for webhook tests and benchmarks: records every request (path, headers, body, when) and
//! answers each with the next status of its script (then 200), after a delay. HTTP/1.1 over loopback, read by
//! hand (request line, headers, `Content-Length` body), one request per connection: enough for the engine's
//! reqwest client, with nothing between the test and the bytes.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::KitError;

/// Largest request read.
const MAX_REQUEST: usize = 1024 * 1024;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Request {
    /// Method (`POST`).
    pub method: String,
    /// Path (and query).
    pub path: String,
    /// Headers, names in lower case, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// When its headers had arrived.
    pub at: Instant,
}

impl Request {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A running receiver; stops when dropped.
#[derive(Debug)]
pub struct Receiver {
    /// Where it listens.
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Answers `script` in order (HTTP status codes), then 200 to everything; each answer after `delay`
    /// (requests are served concurrently, so a slow receiver is slow per request, not in total).
    pub async fn start(script: &[u16], delay: Duration) -> Result<Receiver, KitError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(KitError::io("cannot bind the receiver"))?;
        let addr = listener
            .local_addr()
            .map_err(KitError::io("cannot read the receiver's address"))?;
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let script: Arc<Mutex<VecDeque<u16>>> =
            Arc::new(Mutex::new(script.iter().copied().collect()));
        let sink = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (sink, script) = (sink.clone(), script.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, sink, script, delay).await;
                });
            }
        });
        Ok(Receiver {
            addr,
            requests,
            task,
        })
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many requests so far.
    pub fn count(&self) -> usize {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut stream: TcpStream,
    sink: Arc<Mutex<Vec<Request>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
    delay: Duration,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buf.len() > MAX_REQUEST {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let at = Instant::now();
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let path = request_line.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_REQUEST);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    sink.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Request {
            method,
            path,
            headers,
            body,
            at,
        });
    tokio::time::sleep(delay).await;
    let status = script
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pop_front()
        .unwrap_or(200);
    let answer =
        format!("HTTP/1.1 {status} Scripted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    stream.write_all(answer.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_requests_and_answers_the_script() {
        let receiver = Receiver::start(&[503], Duration::ZERO)
            .await
            .expect("starts");
        for expected in ["503", "200"] {
            let mut stream = TcpStream::connect(receiver.addr).await.expect("connects");
            stream
                .write_all(b"POST /hook?x=1 HTTP/1.1\r\nHost: h\r\nX-Thing: a b\r\nContent-Length: 4\r\n\r\nbody")
                .await
                .expect("writes");
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.expect("reads");
            assert!(
                answer.starts_with(&format!("HTTP/1.1 {expected} ")),
                "{answer}"
            );
        }
        let got = receiver.requests();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].method.as_str(), got[0].path.as_str()),
            ("POST", "/hook?x=1")
        );
        assert_eq!(got[0].header("x-thing").as_deref(), Some("a b"));
        assert_eq!(got[0].body, b"body");
    }
}
