//! [`ModemHandle`]: how the engine talks to a running driver task (delete, send, shut down).

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::errors::ModemError;

/// A request from a [`ModemHandle`] to its driver task.
pub(crate) enum Request {
    Delete {
        slot: u32,
        reply: oneshot::Sender<Result<(), ModemError>>,
    },
    Send {
        pdus: Vec<Vec<u8>>,
        reply: oneshot::Sender<Result<Vec<u8>, ModemError>>,
    },
    Shutdown(oneshot::Sender<()>),
}

/// A send waiting for the modem to come back, with its caller's reply channel.
pub(crate) type PendingSend = (Vec<Vec<u8>>, oneshot::Sender<Result<Vec<u8>, ModemError>>);

/// A cheap, clonable handle to a running driver.
#[derive(Clone, Debug)]
pub struct ModemHandle {
    pub(crate) id: Arc<str>,
    pub(crate) requests: mpsc::Sender<Request>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Delete { slot, .. } => write!(f, "Delete({slot})"),
            Request::Send { pdus, .. } => write!(f, "Send({} parts)", pdus.len()),
            Request::Shutdown(_) => write!(f, "Shutdown"),
        }
    }
}

impl ModemHandle {
    /// The modem's id (as in [`Received::modem`](crate::Received::modem)).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Deletes a slot. Call it only after the message is committed. An already empty slot
    /// (`+CMS ERROR: 321`) counts as deleted.
    pub async fn delete(&self, slot: u32) -> Result<(), ModemError> {
        let (reply, rx) = oneshot::channel();
        self.request(Request::Delete { slot, reply }).await?;
        rx.await.map_err(|_| ModemError::Stopped)?
    }

    /// Sends SMS-SUBMIT PDUs (one per part, each starting with its SMSC field, usually `00`) and
    /// returns their message references. Transient network errors are retried; while the modem
    /// is disconnected the send waits in a queue (up to 64) and goes out after the reconnect.
    pub async fn send(&self, pdus: Vec<Vec<u8>>) -> Result<Vec<u8>, ModemError> {
        let (reply, rx) = oneshot::channel();
        self.request(Request::Send { pdus, reply }).await?;
        rx.await.map_err(|_| ModemError::Stopped)?
    }

    /// Stops the driver and closes the port; returns when it is closed.
    pub async fn shutdown(&self) {
        let (ack, rx) = oneshot::channel();
        if self.requests.send(Request::Shutdown(ack)).await.is_ok() {
            let _ = rx.await;
        }
    }

    async fn request(&self, request: Request) -> Result<(), ModemError> {
        self.requests
            .send(request)
            .await
            .map_err(|_| ModemError::Stopped)
    }
}
