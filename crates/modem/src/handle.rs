//! [`ModemHandle`]: how the engine talks to a running driver task (release, send, shut down).

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use crate::errors::ModemError;
use crate::events::Received;

/// The modem's id as the driver knows it, and whether it is final for this run (learned from
/// the modem, set in the configuration, or given up on after a failed first start-up).
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub id: Arc<str>,
    pub settled: bool,
}

/// A request from a [`ModemHandle`] to its driver task.
pub(crate) enum Request {
    Delete {
        slot: u32,
        /// `None`: the storage the driver receives into.
        storage: Option<String>,
        reply: oneshot::Sender<Result<(), ModemError>>,
    },
    /// Acknowledge the oldest unacknowledged `+CMT`/`+CDS` with `AT+CNMA`.
    Ack {
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
    pub(crate) id: watch::Receiver<Identity>,
    pub(crate) requests: mpsc::Sender<Request>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Delete { slot, storage, .. } => write!(f, "Delete({storage:?}, {slot})"),
            Request::Ack { .. } => write!(f, "Ack"),
            Request::Send { pdus, .. } => write!(f, "Send({} parts)", pdus.len()),
            Request::Shutdown(_) => write!(f, "Shutdown"),
        }
    }
}

impl ModemHandle {
    /// The modem's id now (as in [`Received::modem`]). Until the driver has talked to the modem
    /// this may be provisional (the configured id, else the port path); see
    /// [`ModemHandle::identified`].
    pub fn id(&self) -> String {
        self.id.borrow().id.to_string()
    }

    /// Waits until the driver knows the modem's id for this run and returns it: learned from
    /// the modem (IMEI, else ICCID), set in the configuration, or, if the first start-up failed
    /// before the modem told it, the port path (learned later, it then changes).
    pub async fn identified(&self) -> String {
        let mut rx = self.id.clone();
        // An error means the driver stopped: its last id is all there is.
        let _ = rx.wait_for(|i| i.settled).await;
        let id = rx.borrow().id.to_string();
        id
    }

    /// Waits until the modem's id changes (a different modem on the port, or one identified only
    /// after a failed start-up) and returns it; `None` once the driver has stopped.
    pub async fn id_changed(&mut self) -> Option<String> {
        loop {
            self.id.changed().await.ok()?;
            let identity = self.id.borrow_and_update().clone();
            if identity.settled {
                return Some(identity.id.to_string());
            }
        }
    }

    /// Deletes a slot of the storage the driver receives into. Call it only after the message
    /// is committed. An already empty slot (`+CMS ERROR: 321`) counts as deleted.
    pub async fn delete(&self, slot: u32) -> Result<(), ModemError> {
        self.delete_in(None, slot).await
    }

    /// What the engine does once `received` is committed: deletes its slot (in its storage), or
    /// acknowledges a direct delivery that awaits `AT+CNMA`; nothing for other messages.
    pub async fn release(&self, received: &Received) -> Result<(), ModemError> {
        match received.slot {
            Some(slot) => self.delete_in(received.storage.clone(), slot).await,
            None if received.needs_ack => {
                let (reply, rx) = oneshot::channel();
                self.request(Request::Ack { reply }).await?;
                rx.await.map_err(|_| ModemError::Stopped)?
            }
            None => Ok(()),
        }
    }

    async fn delete_in(&self, storage: Option<String>, slot: u32) -> Result<(), ModemError> {
        let (reply, rx) = oneshot::channel();
        self.request(Request::Delete {
            slot,
            storage,
            reply,
        })
        .await?;
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
