//! [`ModemHandle`]: how the engine talks to a running driver task (release, send, watch the
//! status, shut down).

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use crate::driver::UssdReply;
use crate::errors::ModemError;
use crate::events::Received;
use crate::watch::{StatusWatch, StatusWatchers};

/// The modem's id as the driver knows it, and whether it is final for this run (learned from
/// the modem, set in the configuration, or given up on after a failed first start-up).
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub id: Arc<str>,
    pub settled: bool,
}

/// Where the driver sends the outcome of a request, when the caller waits for it.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, ModemError>>;

/// A request from a [`ModemHandle`] to its driver task.
pub(crate) enum Request {
    Delete {
        slot: u32,
        /// `None`: the storage the driver receives into.
        storage: Option<String>,
        /// The PDU committed from the slot (see `Deletion::pdu` in the driver); `None`: delete
        /// whatever is there.
        pdu: Option<Vec<u8>>,
        /// `None`: nobody waits (the engine's after-commit release); the driver logs a failure.
        reply: Option<Reply<()>>,
    },
    /// Acknowledge the `+CMT`/`+CDS` of this PDU with `AT+CNMA`, if it still waits for one.
    Ack {
        pdu: Option<Vec<u8>>,
        reply: Option<Reply<()>>,
    },
    Send {
        pdus: Vec<Vec<u8>>,
        reply: Reply<Vec<u8>>,
    },
    /// Try this PIN once on a SIM that waits for one.
    EnterPin {
        pin: String,
        reply: Reply<()>,
    },
    /// Send a USSD code (or a menu choice in an open session) and wait for the network's reply.
    Ussd {
        code: String,
        reply: Reply<UssdReply>,
    },
    /// Hang up on incoming calls from now on (true), or let them ring.
    RejectCalls(bool),
    Shutdown(oneshot::Sender<()>),
}

/// A send waiting for the modem to come back, with its caller's reply channel.
pub(crate) type PendingSend = (Vec<Vec<u8>>, Reply<Vec<u8>>);

/// A cheap, clonable handle to a running driver.
#[derive(Clone, Debug)]
pub struct ModemHandle {
    pub(crate) id: watch::Receiver<Identity>,
    pub(crate) requests: mpsc::Sender<Request>,
    pub(crate) watchers: StatusWatchers,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Delete { slot, storage, .. } => write!(f, "Delete({storage:?}, {slot})"),
            Request::Ack { .. } => write!(f, "Ack"),
            Request::Send { pdus, .. } => write!(f, "Send({} parts)", pdus.len()),
            // Never the PIN itself: requests end up in logs.
            Request::EnterPin { .. } => write!(f, "EnterPin"),
            Request::Ussd { .. } => write!(f, "Ussd"),
            Request::RejectCalls(on) => write!(f, "RejectCalls({on})"),
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
    /// acknowledges a direct delivery that awaits `AT+CNMA`; nothing for other messages. Returns
    /// when the modem has answered; [`ModemHandle::queue_release`] does not wait.
    pub async fn release(&self, received: &Received) -> Result<(), ModemError> {
        let (reply, rx) = oneshot::channel();
        if self.release_request(received, Some(reply)).await? {
            rx.await.map_err(|_| ModemError::Stopped)?
        } else {
            Ok(())
        }
    }

    /// [`ModemHandle::release`] without waiting for the modem: the driver acknowledges at once
    /// (the modem holds the next direct delivery back until then) and deletes when it has
    /// nothing more urgent to do (reads come first, deletes go together). Returns once the
    /// driver has the request. A delete that fails needs no retry: the slot is read again after
    /// a reconnect or by the next sweep, and the store's dedup key ignores the repeat.
    pub async fn queue_release(&self, received: &Received) -> Result<(), ModemError> {
        self.release_request(received, None).await.map(drop)
    }

    /// Sends the request `received` needs, if any; true if one was sent.
    async fn release_request(
        &self,
        received: &Received,
        reply: Option<Reply<()>>,
    ) -> Result<bool, ModemError> {
        let request = match received.slot {
            Some(slot) => Request::Delete {
                slot,
                storage: received.storage.clone(),
                pdu: Some(received.pdu.clone()),
                reply,
            },
            None if received.needs_ack => Request::Ack {
                pdu: Some(received.pdu.clone()),
                reply,
            },
            None => return Ok(false),
        };
        self.request(request).await.map(|()| true)
    }

    async fn delete_in(&self, storage: Option<String>, slot: u32) -> Result<(), ModemError> {
        let (reply, rx) = oneshot::channel();
        self.request(Request::Delete {
            slot,
            storage,
            pdu: None,
            reply: Some(reply),
        })
        .await?;
        rx.await.map_err(|_| ModemError::Stopped)?
    }

    /// Starts watching the status (a client shows the Modems screen, say): while the returned
    /// guard lives, this driver, and every other one sharing its
    /// [`ModemConfig::status_watchers`](crate::ModemConfig::status_watchers), refreshes signal,
    /// operator and storage use at once and then every status interval.
    pub fn watch_status(&self) -> StatusWatch {
        self.watchers.watch()
    }

    /// Sends SMS-SUBMIT PDUs (one per part, each starting with its SMSC field, usually `00`) and
    /// returns their message references. Transient network errors are retried; while the modem
    /// is disconnected the send waits in a queue (up to 64) and goes out after the reconnect.
    pub async fn send(&self, pdus: Vec<Vec<u8>>) -> Result<Vec<u8>, ModemError> {
        let (reply, rx) = oneshot::channel();
        self.request(Request::Send { pdus, reply }).await?;
        rx.await.map_err(|_| ModemError::Stopped)?
    }

    /// Tries `pin` once on a SIM that waits for its PIN ([`crate::LinkState::PinRequired`]);
    /// on success the driver keeps it for reconnects in this run and the modem starts. A wrong
    /// PIN is [`ModemError::PinRejected`] (never retried); a SIM that does not wait for a PIN,
    /// or wants its PUK, is [`ModemError::Pin`] with the reason.
    pub async fn enter_pin(&self, pin: String) -> Result<(), ModemError> {
        let (reply, rx) = oneshot::channel();
        self.request(Request::EnterPin { pin, reply }).await?;
        rx.await.map_err(|_| ModemError::Stopped)?
    }

    /// Sends a USSD code (`*100#`, or the answer to an open menu) with `AT+CUSD=1,"<code>",15` and
    /// returns the network's decoded reply. One request at a time per modem: a second one while
    /// the first waits is [`ModemError::Busy`]. No reply within the USSD timeout (30 s) is
    /// [`ModemError::Timeout`]; a code the network refuses is [`ModemError::Ussd`]. SMS work goes on meanwhile.
    pub async fn ussd(&self, code: String) -> Result<UssdReply, ModemError> {
        let (reply, rx) = oneshot::channel();
        self.request(Request::Ussd { code, reply }).await?;
        rx.await.map_err(|_| ModemError::Stopped)?
    }

    /// Hangs up on incoming calls from now on (`ATH` on `RING`), or lets them ring (`false`).
    /// Calls are reported either way.
    pub async fn set_reject_calls(&self, reject: bool) -> Result<(), ModemError> {
        self.request(Request::RejectCalls(reject)).await
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
