//! The modem driver: one tokio task per modem that owns the port and never loses a message.
//!
//! The task opens the port, initialises the modem (`init.rs`: sync, echo off, extended errors,
//! identity, PIN, PDU mode, storage, how new messages arrive, which status the modem reports on
//! its own), lists what is already stored, then serves: URCs, requests from its [`ModemHandle`]s
//! and its timers become jobs (`work.rs`), done most urgent first, so a message that is waiting
//! is never queued behind housekeeping. Every message is handed on as a [`ModemEvent::Received`]
//! with its raw PDU; the driver deletes a slot, or acknowledges a direct delivery, only when the
//! engine asks, after its commit. If the port goes away, the task reports `Disconnected`, reopens
//! with backoff and lists the storage again.
//!
//! New messages arrive directly (`+CMT`, acknowledged with `AT+CNMA`) where the modem offers
//! phase 2+ (`AT+CSMS=1`), else stored and announced (`+CMTI`), and the driver falls back to the
//! latter for good if the modem refuses an acknowledgement. Status (`status.rs`) follows the
//! modem's unsolicited registration and signal reports; it is polled only while someone watches
//! ([`crate::StatusWatchers`]), so an idle driver sleeps between safety sweeps, which come ever
//! less often while they find nothing.
//!
//! Calls (`calls.rs`: `RING`/`+CLIP` → one event per call, `ATH` if the modem rejects calls) and
//! USSD (`ussd.rs`: the request is a job, the reply a URC) are served beside the messages.
//!
//! Events leave through an outbox that is flushed only when the receiver has room, so the task
//! keeps serving requests while the engine is busy: a bounded channel could otherwise deadlock
//! (the engine waiting for a delete, the driver waiting for channel space).

mod alarm;
mod calls;
mod health;
mod init;
mod status;
mod storage;
mod ussd;
mod work;

pub use ussd::UssdReply;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, Interval};

use crate::answers::parse_listing;
use crate::channel::AtChannel;
use crate::config::{guard_for, Family, Guard, ModemConfig, Timeouts, UNKNOWN_FAMILY_GUARD};
use crate::errors::{cms, ModemError};
use crate::events::{LinkState, ModemEvent, ModemStatus, Received, Registration};
use crate::framer::Urc;
use crate::handle::{Identity, ModemHandle, PendingSend, Reply, Request};
use crate::negotiate::Route;
use crate::probe::{find_usb_port, list_ports, usb_serial_of};
use crate::transport::{BoxTransport, Opener, SerialOpener};
use alarm::Alarm;
use work::{Deletion, Job, Slot, StatusRead, Work};

const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A message handed on but not deleted is offered again after this long (the engine may have
/// failed to commit it; its dedup makes the repeat harmless).
const REOFFER_AFTER: Duration = Duration::from_secs(600);
/// Sends held while the modem is disconnected; more are refused with `Disconnected`.
const MAX_QUEUED_SENDS: usize = 64;
/// Sends are retried this often on transient errors.
const SEND_ATTEMPTS: u32 = 3;
/// Safety sweeps that find nothing come ever less often, up to this many times the configured
/// interval apart (16 min with the default minute).
const SWEEP_BACKOFF_MAX: u32 = 16;
/// The answer to a PIN for a SIM that does not wait for one.
const NO_PIN_WANTED: &str = "the SIM does not ask for a PIN now";
/// What a user with a PUK-locked SIM must do; SimRelay never enters a PUK (ten wrong ones
/// destroy the SIM).
pub(crate) const PUK_EXPLAINED: &str = "the SIM is blocked after three wrong PINs and needs its \
     PUK (on the card holder, or from the operator): put the SIM in a phone, enter the PUK and \
     choose a new PIN there, then put it back and enter the new PIN here";

/// Starts a driver for a serial port (call it inside a tokio runtime). Events arrive on the
/// returned receiver; dropping it stops the driver.
pub fn spawn(config: ModemConfig) -> (ModemHandle, mpsc::Receiver<ModemEvent>) {
    spawn_with(config, Arc::new(SerialOpener))
}

/// Starts a driver that opens its port through `opener` (any byte stream; used by tests).
pub fn spawn_with(
    config: ModemConfig,
    opener: Arc<dyn Opener>,
) -> (ModemHandle, mpsc::Receiver<ModemEvent>) {
    // Until the modem tells its IMEI/ICCID (or for good, when the configuration names it).
    let id: Arc<str> = config
        .id
        .clone()
        .or_else(|| config.known_id.clone())
        .unwrap_or_else(|| config.port.clone())
        .into();
    let settled = config.id.is_some();
    let (identity, identity_rx) = watch::channel(Identity {
        id: id.clone(),
        settled,
    });
    // Large enough for a whole ingest batch of releases without making the engine wait.
    let (requests_tx, requests) = mpsc::channel(128);
    let (events, events_rx) = mpsc::channel(64);
    let status = ModemStatus {
        id: id.to_string(),
        label: config.label.clone(),
        iccid: None,
        port: config.port.clone(),
        state: LinkState::Connecting,
        model: None,
        operator: None,
        signal_dbm: None,
        last_error: None,
        manufacturer: None,
        imei: None,
        registration: None,
        storage: None,
        storages: Vec::new(),
        storage_warning: None,
        resets: 0,
        last_reset: None,
        pin_attempts_left: None,
    };
    let watchers = config.status_watchers.clone();
    let driver = Driver {
        watching: watchers.subscribe(),
        config,
        opener,
        requests,
        events,
        outbox: VecDeque::new(),
        status,
        in_flight: HashMap::new(),
        connected: false,
        storage: "SM".into(),
        report_storage: None,
        pending_sends: VecDeque::new(),
        warning: None,
        shutdown_ack: None,
        identity,
        settled,
        phase2: false,
        route: Route::Stored,
        direct_refused: false,
        unacked: VecDeque::new(),
        storage_lost: false,
        family: None,
        signal_indicator: None,
        registrations: [None; 3],
        sweep_every: Duration::ZERO,
        sweep_alarm: Alarm::new(),
        sim_wait: None,
        entered_pin: None,
        calls: calls::Calls::default(),
        ussd: ussd::Ussd::default(),
        storages: storage::Storages::default(),
        health: health::Health::default(),
    };
    tokio::spawn(driver.run());
    (
        ModemHandle {
            id: identity_rx,
            requests: requests_tx,
            watchers,
        },
        events_rx,
    )
}

/// What woke an idle driver task.
/// What ended a wait while the port is closed.
enum Away {
    Elapsed,
    Stop,
    Request(Request),
}

enum Wake {
    Request(Option<Request>),
    /// An event was handed over (false: the receiver is gone).
    Permit(bool),
    Read(Result<(), ModemError>),
    Sweep,
    Refresh,
    /// The number of status watchers changed.
    Watchers,
    /// A call rang without `+CLIP` for long enough.
    CallTimer,
    /// A USSD request waited too long for its reply.
    UssdTimer,
}

/// How a session (one open port) ended.
enum End {
    Shutdown(Option<oneshot::Sender<()>>),
    /// The link broke or the modem stopped answering: reopen.
    Lost(String),
    /// Needs the user (no SIM, a blocked SIM): do not retry.
    Fatal(String),
    /// The SIM waits for its PIN (false) or PUK (true): wait for the user.
    Locked(bool, String),
}

struct Driver {
    config: ModemConfig,
    opener: Arc<dyn Opener>,
    requests: mpsc::Receiver<Request>,
    events: mpsc::Sender<ModemEvent>,
    outbox: VecDeque<ModemEvent>,
    status: ModemStatus,
    /// Slots handed to the engine and not deleted yet, with their PDU and when: not handed on
    /// again by every `+CMTI` or sweep, but offered again after [`REOFFER_AFTER`] in case the
    /// engine could not commit them, at once if the slot now holds another PDU, and after every
    /// reconnect (the map is cleared then).
    in_flight: HashMap<Slot, (Vec<u8>, Instant)>,
    /// The current session reached `Connected` (resets the backoff).
    connected: bool,
    /// The caller of a shutdown that arrived during start-up, to be told when the port is closed.
    shutdown_ack: Option<oneshot::Sender<()>>,
    /// Something the user should see once the modem is connected (a swapped modem).
    warning: Option<String>,
    /// Sends requested while disconnected, sent after the next successful init.
    pending_sends: VecDeque<PendingSend>,
    /// The message storage selected with `AT+CPMS` (`SM` unless the modem lacks it).
    storage: String,
    /// A separate storage for status reports (`SR`) the modem offers, read and swept besides
    /// `storage`.
    report_storage: Option<String>,
    /// Publishes the modem's id to its handles.
    identity: watch::Sender<Identity>,
    /// The id is final for this run; statuses are held back until then, so the engine never
    /// lists the modem under a provisional id it is about to drop.
    settled: bool,
    /// The modem runs in phase 2+ (`AT+CSMS` service 1): `+CMT`/`+CDS` need `AT+CNMA`.
    phase2: bool,
    /// How new messages arrive in this session.
    route: Route,
    /// The modem refused an `AT+CNMA`: direct delivery is not tried again (for this run).
    direct_refused: bool,
    /// The PDUs of the `+CMT`/`+CDS` handed on in this session and not acknowledged yet, oldest
    /// first; a delivery the network repeats (its acknowledgement came too late) is listed once,
    /// since the modem waits for one acknowledgement of it.
    unacked: VecDeque<Vec<u8>>,
    /// Reading another storage left the modem on it (restoring failed): reinitialise.
    storage_lost: bool,
    /// The modem family, once `AT+CGMI`/`AT+CGMM` told it.
    family: Option<Family>,
    /// The index of the signal indicator in `+CIEV` reports, when those report the signal.
    signal_indicator: Option<u32>,
    /// The registration last reported per domain (circuit, packet, LTE).
    registrations: [Option<Registration>; 3],
    /// How many watch the status ([`crate::StatusWatchers`]).
    watching: watch::Receiver<usize>,
    /// The time between safety sweeps now (see [`Driver::swept`]).
    sweep_every: Duration,
    /// When the next safety sweep is due (not set: one is queued or running).
    sweep_alarm: Alarm,
    /// The start-up stopped at a locked SIM: true when it wants its PUK.
    sim_wait: Option<bool>,
    /// A PIN the user gave ([`ModemHandle::enter_pin`]), tried once by the next start-up, with
    /// its caller.
    entered_pin: Option<(String, Reply<()>)>,
    /// The call ringing now (`calls.rs`).
    calls: calls::Calls,
    /// The USSD request waiting for the network (`ussd.rs`).
    ussd: ussd::Ussd,
    /// Storages besides the receiving one, and a full storage to list (`storage.rs`).
    storages: storage::Storages,
    /// Unanswered commands, boot lines, registration (`health.rs`).
    health: health::Health,
}

impl Driver {
    async fn run(mut self) {
        let mut backoff = BACKOFF_MIN;
        loop {
            self.connected = false;
            self.set_state(LinkState::Connecting, None);
            let end = match self.open_port().await {
                Ok(io) => self.session(io).await,
                Err(e) => End::Lost(e.to_string()),
            };
            match end {
                End::Shutdown(ack) => {
                    self.settle(None);
                    self.set_state(LinkState::Disconnected, None);
                    self.flush_best_effort();
                    if let Some(ack) = ack {
                        let _ = ack.send(());
                    }
                    return;
                }
                End::Lost(reason) => {
                    self.settle(None);
                    tracing::warn!(modem = %self.status.id, %reason, "modem link lost; reopening");
                    self.set_state(LinkState::Disconnected, Some(reason));
                    // Hand everything on again after the reconnect: a delete the engine asked for
                    // while the port was gone failed, and only a new Received makes it retry.
                    // The engine's dedup makes the repeats harmless.
                    self.in_flight.clear();
                    if self.connected {
                        backoff = BACKOFF_MIN;
                    }
                    if !self.pause(backoff, true).await {
                        return;
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
                End::Locked(puk, reason) => {
                    self.settle(None);
                    tracing::warn!(modem = %self.status.id, %reason, "the SIM is locked");
                    let state = if puk {
                        LinkState::PukRequired
                    } else {
                        LinkState::PinRequired
                    };
                    self.set_state(state, Some(reason));
                    for (_, reply) in self.pending_sends.drain(..) {
                        let _ = reply.send(Err(ModemError::Disconnected));
                    }
                    if !self.wait_for_pin(puk).await {
                        return;
                    }
                }
                End::Fatal(reason) => {
                    self.settle(None);
                    tracing::error!(modem = %self.status.id, %reason, "modem stopped");
                    self.set_state(LinkState::Failed, Some(reason));
                    // Queued sends will never go out: tell their callers.
                    for (_, reply) in self.pending_sends.drain(..) {
                        let _ = reply.send(Err(ModemError::Disconnected));
                    }
                    while self.pause(BACKOFF_MAX, false).await {}
                    return;
                }
            }
        }
    }

    /// Opens the configured port, or, if it is gone and a USB serial number is configured, the
    /// port that modem re-enumerated as.
    async fn open_port(&mut self) -> std::io::Result<BoxTransport> {
        let first = self.opener.open(&self.config.port, self.config.baud).await;
        if first.is_ok() && self.config.usb_serial.is_none() {
            // Remember which USB device this is, to find it if it re-enumerates as another ttyUSB.
            self.config.usb_serial = usb_serial_of(&list_ports(), &self.config.port);
        }
        let serial = match (&first, &self.config.usb_serial) {
            (Err(e), Some(serial)) if e.kind() == std::io::ErrorKind::NotFound => serial.clone(),
            _ => return first,
        };
        let Some(port) = find_usb_port(&list_ports(), &serial) else {
            return first;
        };
        tracing::info!(modem = %self.status.id, %port, "modem found again under a new port");
        self.status.port = port.clone();
        self.opener.open(&port, self.config.baud).await
    }

    /// Waits `duration` while no port is open, answering deletes with `Disconnected` and queueing
    /// sends for the reconnect (if `queue_sends`). Returns false when the driver must stop.
    async fn pause(&mut self, duration: Duration, queue_sends: bool) -> bool {
        let until = Instant::now() + duration;
        loop {
            match self.next_while_away(Some(until)).await {
                Away::Elapsed => return true,
                Away::Stop => return false,
                Away::Request(request) => self.refuse_while_away(request, queue_sends),
            }
        }
    }

    /// Waits, port closed, until the user gives a PIN to try (true) or the driver must stop.
    /// A SIM that wants its PUK refuses every PIN here: only a phone can unblock it.
    async fn wait_for_pin(&mut self, puk: bool) -> bool {
        loop {
            match self.next_while_away(None).await {
                Away::Elapsed | Away::Stop => return false,
                Away::Request(Request::EnterPin { reply, .. }) if puk => {
                    let _ = reply.send(Err(ModemError::Pin(PUK_EXPLAINED.into())));
                }
                Away::Request(Request::EnterPin { pin, reply }) => {
                    self.entered_pin = Some((pin, reply));
                    return true;
                }
                Away::Request(request) => self.refuse_while_away(request, false),
            }
        }
    }

    /// While the port is closed: the next request, handing queued events over meanwhile; `Elapsed` at `until`,
    /// `Stop` when the driver must end (its handle or event receiver is gone, or a shutdown, acknowledged here).
    async fn next_while_away(&mut self, until: Option<Instant>) -> Away {
        loop {
            let wake = tokio::select! {
                _ = tokio::time::sleep_until(until.unwrap_or_else(Instant::now)), if until.is_some() => {
                    return Away::Elapsed
                }
                request = self.requests.recv() => Wake::Request(request),
                permit = self.events.reserve(), if !self.outbox.is_empty() => match permit {
                    Ok(permit) => {
                        if let Some(event) = self.outbox.pop_front() {
                            permit.send(event);
                        }
                        Wake::Permit(true)
                    }
                    Err(_) => Wake::Permit(false),
                },
            };
            match wake {
                Wake::Request(None) | Wake::Permit(false) => return Away::Stop,
                Wake::Request(Some(Request::Shutdown(ack))) => {
                    self.flush_best_effort();
                    let _ = ack.send(());
                    return Away::Stop;
                }
                Wake::Request(Some(request)) => return Away::Request(request),
                _ => {}
            }
        }
    }

    /// Answers a request while no session runs: deletes and acknowledgements fail (the slots are
    /// read again after the reconnect; an acknowledgement is for a `+CMT` of a previous session,
    /// too late now, the network delivers it again), sends wait in the queue if `queue_sends`.
    fn refuse_while_away(&mut self, request: Request, queue_sends: bool) {
        match request {
            Request::Delete { reply, .. } | Request::Ack { reply, .. } => {
                if let Some(reply) = reply {
                    let _ = reply.send(Err(ModemError::Disconnected));
                }
            }
            Request::Send { pdus, reply }
                if queue_sends && self.pending_sends.len() < MAX_QUEUED_SENDS =>
            {
                self.pending_sends.push_back((pdus, reply));
            }
            Request::Send { reply, .. } => {
                let _ = reply.send(Err(ModemError::Disconnected));
            }
            Request::EnterPin { reply, .. } => {
                let _ = reply.send(Err(ModemError::Pin(NO_PIN_WANTED.into())));
            }
            Request::Ussd { reply, .. } => {
                let _ = reply.send(Err(ModemError::Disconnected));
            }
            Request::RejectCalls(on) => self.config.reject_calls = on,
            Request::Shutdown(ack) => {
                self.shutdown_ack = Some(ack);
            }
        }
    }

    /// Answers requests that arrived during a long start-up (sync retries, readiness wait) as
    /// [`Driver::refuse_while_away`] does; a shutdown ends the start-up at once.
    fn serve_during_init(&mut self) -> Result<(), ModemError> {
        while let Ok(request) = self.requests.try_recv() {
            self.refuse_while_away(request, true);
            if self.shutdown_ack.is_some() {
                return Err(ModemError::Stopped);
            }
        }
        Ok(())
    }

    async fn session(&mut self, io: BoxTransport) -> End {
        // The family's own guard once known (the previous session told it); the longest first.
        let mut at = AtChannel::new(io, self.guard());
        self.unacked.clear();
        self.storage_lost = false;
        if let Err(e) = self.init(&mut at).await {
            return self.init_failed(e);
        }
        self.connected = true;
        self.status.last_error = self.warning.take();
        self.set_state(LinkState::Connected, None);
        let mut work = Work::default();
        // What is stored already, then the messages the user sent while the modem was away.
        work.drain();
        self.sweep_every = self.sweep_base();
        self.sweep_alarm.set(None);
        at.take_oddities();
        work.sends = std::mem::take(&mut self.pending_sends);
        let end = self.serve(&mut at, &mut work).await;
        self.pending_sends = work.abandon();
        self.abandon_ussd();
        self.forget_call();
        end
    }

    /// How a failed start-up ends the session.
    fn init_failed(&mut self, e: ModemError) -> End {
        match e {
            ModemError::Stopped => End::Shutdown(self.shutdown_ack.take()),
            ModemError::Pin(_) => match self.sim_wait.take() {
                Some(puk) => End::Locked(puk, e.to_string()),
                None => End::Fatal(e.to_string()),
            },
            e => End::Lost(e.to_string()),
        }
    }

    /// Runs the connected modem until the session ends: takes in URCs and requests, does the
    /// most urgent job, and sleeps when there is none.
    async fn serve(&mut self, at: &mut AtChannel, work: &mut Work) -> End {
        // The start-up read the status; while someone watches, it is read again periodically.
        let mut refresh = None;
        self.follow_watchers(&mut refresh, work, false);
        loop {
            if self.storage_lost {
                return End::Lost("the modem could not switch back to its message storage".into());
            }
            if let Some(end) = self.take_in(at, work) {
                return end;
            }
            if let Some(end) = self.after_boot_signal(at, work).await {
                return end;
            }
            if let Some(job) = work.next() {
                if job.yields_to_reads() {
                    // A message that arrived since the last answer goes first.
                    if let Err(e) = at.take_ready().await {
                        return End::Lost(e.to_string());
                    }
                    if let Some(end) = self.take_in(at, work) {
                        return end;
                    }
                    if work.overtakes(&job) {
                        work.put_back(job);
                        continue;
                    }
                }
                if let Some(end) = self.run_job(at, job).await {
                    match self.unless_alive(at, end).await {
                        Some(end) => return end,
                        None => continue,
                    }
                }
                continue;
            }
            let wake = tokio::select! {
                biased;
                request = self.requests.recv() => Wake::Request(request),
                permit = self.events.reserve(), if !self.outbox.is_empty() => match permit {
                    Ok(permit) => {
                        if let Some(event) = self.outbox.pop_front() {
                            permit.send(event);
                        }
                        Wake::Permit(true)
                    }
                    Err(_) => Wake::Permit(false),
                },
                read = at.read_idle() => Wake::Read(read),
                () = self.sweep_alarm.wait() => Wake::Sweep,
                () = tick(&mut refresh) => Wake::Refresh,
                _ = self.watching.changed() => Wake::Watchers,
                () = calls::until(self.calls.deadline) => Wake::CallTimer,
                () = calls::until(self.ussd.deadline) => Wake::UssdTimer,
            };
            match wake {
                Wake::Request(None) | Wake::Permit(false) => return End::Shutdown(None),
                Wake::Request(Some(request)) => {
                    if let Some(end) = self.accept(request, work) {
                        return end;
                    }
                }
                Wake::Permit(true) | Wake::Read(Ok(())) => {}
                Wake::Read(Err(e)) => return End::Lost(e.to_string()),
                Wake::Sweep => {
                    self.sweep_alarm.set(None);
                    work.sweep();
                }
                Wake::Refresh => work.status(StatusRead::Refresh),
                Wake::Watchers => self.follow_watchers(&mut refresh, work, true),
                Wake::CallTimer => self.call_timer(),
                Wake::UssdTimer => self.ussd_timer(),
            }
        }
    }

    /// Starts the periodic refresh when someone starts watching (reading the status at once if
    /// `now`), stops it when the last one leaves.
    fn follow_watchers(&mut self, refresh: &mut Option<Interval>, work: &mut Work, now: bool) {
        let watched = *self.watching.borrow_and_update() > 0;
        match (watched, refresh.is_some()) {
            (true, false) => {
                let period = self.config.status_interval.max(Duration::from_millis(100));
                let mut interval = tokio::time::interval_at(Instant::now() + period, period);
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                *refresh = Some(interval);
                if now {
                    work.status(StatusRead::Refresh);
                }
            }
            (false, true) => *refresh = None,
            _ => {}
        }
    }

    /// Takes in every URC and request already waiting, without talking to the modem.
    fn take_in(&mut self, at: &mut AtChannel, work: &mut Work) -> Option<End> {
        while let Some(urc) = at.next_urc() {
            self.on_urc(urc, work);
        }
        if std::mem::take(&mut self.storages.drain_wanted) {
            work.drain();
        }
        let oddities = at.take_oddities();
        if oddities > 0 {
            // The line mangles bytes: a URC may have gone with them.
            tracing::debug!(modem = %self.status.id, oddities, "odd lines from the modem; sweeping soon");
            self.sweep_soon();
        }
        loop {
            match self.requests.try_recv() {
                Ok(request) => {
                    if let Some(end) = self.accept(request, work) {
                        return Some(end);
                    }
                }
                Err(mpsc::error::TryRecvError::Empty) => return None,
                Err(mpsc::error::TryRecvError::Disconnected) => return Some(End::Shutdown(None)),
            }
        }
    }

    /// Queues the job a request asks for.
    fn accept(&mut self, request: Request, work: &mut Work) -> Option<End> {
        match request {
            Request::Shutdown(ack) => return Some(End::Shutdown(Some(ack))),
            Request::Delete {
                slot,
                storage,
                pdu,
                reply,
            } => {
                // The receiving storage is named `None` everywhere, whatever the engine passed.
                let storage = storage.filter(|mem| !mem.eq_ignore_ascii_case(&self.storage));
                work.delete(Deletion {
                    slot: (storage, slot),
                    pdu,
                    reply,
                });
            }
            Request::Ack { pdu, reply } => work.ack(pdu, reply),
            Request::Send { pdus, reply } => work.sends.push_back((pdus, reply)),
            Request::EnterPin { reply, .. } => {
                let _ = reply.send(Err(ModemError::Pin(NO_PIN_WANTED.into())));
            }
            Request::Ussd { code, reply } => self.ussd_request(code, reply, work),
            Request::RejectCalls(on) => self.config.reject_calls = on,
        }
        None
    }

    /// Does one job and answers whoever waits for it.
    async fn run_job(&mut self, at: &mut AtChannel, job: Job) -> Option<End> {
        match job {
            Job::Read((storage, index)) => {
                let result = self.read_slot(at, storage, index).await;
                self.outcome(result, None)
            }
            Job::Drain => {
                let result = self.drain(at).await;
                if result.is_ok() {
                    // A full listing: the next sweep is a whole interval away.
                    self.swept(None);
                }
                self.outcome(result.map(drop), None)
            }
            Job::Sweep => {
                let result = self.sweep(at).await;
                self.swept(result.as_ref().ok().copied());
                self.outcome(result.map(drop), None)
            }
            Job::Ack(pdu, reply) => {
                let result = self.acknowledge(at, pdu).await;
                self.outcome(result, reply)
            }
            Job::Send((pdus, reply)) => {
                let result = send_all(at, &pdus, &self.config.timeouts).await;
                self.outcome(result, Some(reply))
            }
            Job::HangUp => {
                let result = self.hang_up(at).await;
                self.outcome(result, None)
            }
            Job::Ussd(request) => self.start_ussd(at, request).await,
            Job::Delete(Deletion { slot, pdu, reply }) => {
                let result = self.delete(at, slot, pdu).await;
                self.outcome(result, reply)
            }
            Job::Status(read) => {
                let result = self.read_status(at, read).await;
                self.outcome(result, None)
            }
        }
    }

    /// Answers the caller of a job (if one waits) and tells whether the session must end: the
    /// link broke or the modem stopped answering. A failure nobody waits for goes in the status.
    fn outcome<T>(
        &mut self,
        result: Result<T, ModemError>,
        reply: Option<Reply<T>>,
    ) -> Option<End> {
        let lost = lost_reason(&result);
        self.watch_for_full(&result);
        self.watch_for_timeout(&result);
        match (reply, result) {
            (Some(reply), result) => {
                let _ = reply.send(result);
            }
            (None, Err(e)) if lost.is_none() => self.note_error(&e),
            (None, _) => {}
        }
        lost.map(End::Lost)
    }

    /// The pause before each command: configured, else the modem family's (see
    /// [`guard_for`]); before the family is known, the longest any family needs.
    fn guard(&self) -> Guard {
        match (self.config.guard, self.family) {
            (Some(pause), _) => Guard::every(pause),
            (None, Some(family)) => guard_for(family),
            (None, None) => UNKNOWN_FAMILY_GUARD,
        }
    }

    /// What a URC asks for: a read, a listing, an event, a status change. Talks to nobody.
    fn on_urc(&mut self, urc: Urc, work: &mut Work) {
        match urc {
            Urc::NewMessage { mem, index } if mem.eq_ignore_ascii_case(&self.storage) => {
                tracing::debug!(modem = %self.status.id, %mem, index, "new message indication");
                work.read((None, index));
            }
            Urc::NewMessage { mem, index } => {
                // Stored somewhere we do not read: the slot number means nothing in our storage.
                tracing::warn!(modem = %self.status.id, %mem, index, storage = %self.storage,
                    "new message in another storage; listing ours");
                work.drain();
            }
            // A direct delivery or status report: nothing stored, so nothing to delete. In phase
            // 2+ the modem waits for AT+CNMA, which the engine asks for after its commit (the
            // network delivers the message again if it never comes). The engine tells an
            // SMS-DELIVER from an SMS-STATUS-REPORT when it decodes the PDU.
            Urc::Deliver { pdu, .. } | Urc::StatusReport { pdu, .. } => {
                let needs_ack = self.phase2;
                if needs_ack && !self.unacked.contains(&pdu) {
                    self.unacked.push_back(pdu.clone());
                }
                self.emit(None, None, pdu, needs_ack);
            }
            Urc::StatusReportStored { mem, index } if mem.eq_ignore_ascii_case(&self.storage) => {
                work.read((None, index));
            }
            // Kept in a storage of its own (`SR`): read it there, then switch back.
            Urc::StatusReportStored { mem, index } => work.read((Some(mem), index)),
            Urc::Other(text) => {
                if !self.on_call_urc(&text, work) && !self.on_ussd_urc(&text) {
                    self.on_status_urc(&text, work);
                }
            }
            Urc::Ready(text) => {
                self.boot_signal(&text);
            }
        }
    }

    /// Reads one slot (of `storage`, `None` for the receiving storage) and hands it on.
    async fn read_slot(
        &mut self,
        at: &mut AtChannel,
        storage: Option<String>,
        index: u32,
    ) -> Result<(), ModemError> {
        if self.in_flight.contains_key(&(storage.clone(), index)) {
            return Ok(());
        }
        self.enter(at, storage.as_deref()).await?;
        let result = at
            .command(&format!("AT+CMGR={index}"), self.config.timeouts.slot)
            .await;
        self.leave(at, storage.as_deref()).await?;
        match result {
            Ok(lines) => {
                if let Some(listed) = parse_listing(&lines).into_iter().next() {
                    self.emit(storage, Some(index), listed.pdu, false);
                }
                Ok(())
            }
            // Already gone (read and deleted by a sweep that raced the URC).
            Err(e) if is_empty_slot(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Makes `storage` the one `AT+CMGR`/`AT+CMGL`/`AT+CMGD` work on (`None`: nothing to do,
    /// the receiving storage is selected).
    async fn enter(&mut self, at: &mut AtChannel, storage: Option<&str>) -> Result<(), ModemError> {
        match storage {
            Some(mem) => {
                let lines = at
                    .command(&format!("AT+CPMS=\"{mem}\""), self.config.timeouts.slot)
                    .await?;
                self.note_usage(mem, &lines);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Switches back to the receiving storage after [`Driver::enter`]: `+CMTI` slots and deletes
    /// mean that storage. If that fails the session ends, so the next one starts from a clean
    /// `AT+CPMS`.
    async fn leave(&mut self, at: &mut AtChannel, storage: Option<&str>) -> Result<(), ModemError> {
        if storage.is_none() {
            return Ok(());
        }
        let mem = self.storage.clone();
        let result = at
            .command(&format!("AT+CPMS=\"{mem}\""), self.config.timeouts.slot)
            .await;
        if let Err(e) = &result {
            tracing::warn!(modem = %self.status.id, %e, "cannot switch back to the message storage");
            self.storage_lost = true;
        }
        result.map(drop)
    }

    /// The safety sweep: lists the storages; returns how many messages it found. Anything it
    /// finds was announced by no URC; on the direct route that may mean the modem switched
    /// routing off (it does when an acknowledgement is missed, TS 27.005 §3.4.4), so `AT+CNMI`
    /// is set again.
    async fn sweep(&mut self, at: &mut AtChannel) -> Result<usize, ModemError> {
        let found = self.drain(at).await?;
        if found > 0 && self.route == Route::Direct {
            tracing::info!(modem = %self.status.id, found, "the sweep found unannounced messages; setting AT+CNMI again");
            self.select_indications(at).await?;
        }
        Ok(found)
    }

    /// The configured time between safety sweeps.
    fn sweep_base(&self) -> Duration {
        self.config.sweep_interval.max(Duration::from_millis(100))
    }

    /// Schedules the next sweep after a listing: `found` is what a safety sweep found (`None`
    /// for another listing, or a failed sweep). A sweep that finds nothing doubles the interval
    /// up to [`SWEEP_BACKOFF_MAX`] times the configured one, so an idle modem whose URCs all
    /// arrive is swept rarely; one that finds an unannounced message means URCs get lost, and
    /// the interval goes back to the configured one, as it does after a reconnect or odd lines
    /// on the port ([`Driver::sweep_soon`]).
    fn swept(&mut self, found: Option<usize>) {
        let base = self.sweep_base();
        self.sweep_every = match found {
            Some(0) => (self.sweep_every * 2).min(base * SWEEP_BACKOFF_MAX),
            Some(_) => base,
            None => self.sweep_every,
        };
        self.sweep_alarm
            .set(Some(Instant::now() + self.sweep_every));
    }

    /// Back to the configured sweep interval, counted from now if that is sooner.
    fn sweep_soon(&mut self) {
        let base = self.sweep_base();
        self.sweep_every = base;
        let soon = Instant::now() + base;
        if let Some(next) = self.sweep_alarm.deadline().filter(|next| *next > soon) {
            tracing::trace!(modem = %self.status.id, ?next, "sweep brought forward");
            self.sweep_alarm.set(Some(soon));
        }
    }

    /// Lists every stored message (and status report kept apart) and hands on those not already
    /// with the engine; returns how many it handed on.
    async fn drain(&mut self, at: &mut AtChannel) -> Result<usize, ModemError> {
        let mut found = self.drain_storage(at, None).await?;
        found += self.drain_sim(at).await?;
        if let Some(sr) = self.report_storage.clone() {
            match self.drain_storage(at, Some(sr)).await {
                Err(e) if !e.is_link_lost() && !matches!(e, ModemError::Timeout { .. }) => {
                    // Offered but not readable: reports then only come as they are announced.
                    tracing::info!(modem = %self.status.id, %e, "cannot list the status report storage");
                    self.report_storage = None;
                }
                other => found += other?,
            }
        }
        Ok(found)
    }

    async fn drain_storage(
        &mut self,
        at: &mut AtChannel,
        storage: Option<String>,
    ) -> Result<usize, ModemError> {
        self.enter(at, storage.as_deref()).await?;
        let result = at.command("AT+CMGL=4", self.config.timeouts.list).await;
        self.leave(at, storage.as_deref()).await?;
        let listed = parse_listing(&result?);
        self.listed(storage.as_deref(), listed.len());
        let now = Instant::now();
        self.in_flight.retain(|(mem, slot), _| {
            *mem != storage || listed.iter().any(|l| l.index == Some(*slot))
        });
        let mut found = 0;
        for entry in listed {
            let Some(slot) = entry.index else { continue };
            match self.in_flight.get(&(storage.clone(), slot)) {
                Some((pdu, when))
                    if *pdu == entry.pdu && now.duration_since(*when) < REOFFER_AFTER =>
                {
                    continue
                }
                _ => {
                    found += 1;
                    self.emit(storage.clone(), Some(slot), entry.pdu, false);
                }
            }
        }
        Ok(found)
    }

    /// Deletes a slot; with the `committed` PDU, only if the slot still holds the message the
    /// driver handed on from it in this session. Deletes are deferred until no read waits, so a
    /// delete asked for twice (a message handed on again after a reconnect or by a sweep) could
    /// otherwise take the next message stored in the slot before it is read. A slot not known
    /// (any more) is left alone: if it still holds the committed message, a listing hands it on
    /// again and its release deletes it then.
    async fn delete(
        &mut self,
        at: &mut AtChannel,
        (storage, slot): Slot,
        committed: Option<Vec<u8>>,
    ) -> Result<(), ModemError> {
        if let Some(committed) = committed {
            let holds = self
                .in_flight
                .get(&(storage.clone(), slot))
                .is_some_and(|(pdu, _)| *pdu == committed);
            if !holds {
                tracing::debug!(modem = %self.status.id, ?storage, slot,
                    "the slot no longer holds the committed message; not deleting it");
                return Ok(());
            }
        }
        self.enter(at, storage.as_deref()).await?;
        let result = match at
            .command(&format!("AT+CMGD={slot}"), self.config.timeouts.slot)
            .await
        {
            Err(e) if is_empty_slot(&e) => Ok(()),
            other => other.map(drop),
        };
        self.leave(at, storage.as_deref()).await?;
        if result.is_ok() {
            self.freed(storage.as_deref());
            self.in_flight.remove(&(storage, slot));
        }
        result
    }

    /// `AT+CNMA` for the `committed` `+CMT`/`+CDS` (`None`: the oldest), if it still waits for
    /// one in this session: the modem counts acknowledgements, not messages, so a second release
    /// of a repeated delivery, or one from before a reconnect, must not acknowledge the next
    /// delivery before its commit.
    ///
    /// A modem that gave up waiting (`+CMS ERROR: 340`, no acknowledgement expected) has, per TS
    /// 27.005, also switched its routing off: `AT+CNMI` is chosen again and the storage listed,
    /// where the network's retry (or the modem) may have put the message. A modem that refuses
    /// the acknowledgement outright cannot do direct delivery safely: the driver leaves phase 2+
    /// and falls back to stored messages (`+CMTI`) for the rest of the run; the unacknowledged
    /// message comes again from the network and is stored.
    async fn acknowledge(
        &mut self,
        at: &mut AtChannel,
        committed: Option<Vec<u8>>,
    ) -> Result<(), ModemError> {
        let waiting = match &committed {
            Some(pdu) => self.unacked.iter().position(|p| p == pdu),
            None => (!self.unacked.is_empty()).then_some(0),
        };
        let Some(waiting) = waiting else {
            tracing::debug!(modem = %self.status.id, "no delivery of that message waits for an acknowledgement");
            return Ok(());
        };
        self.unacked.remove(waiting);
        let e = match at.command("AT+CNMA", self.config.timeouts.quick).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_link_lost() || matches!(e, ModemError::Timeout { .. }) => return Err(e),
            Err(e) => e,
        };
        if e.at_error()
            .is_some_and(|a| a.is_cms(cms::NO_CNMA_EXPECTED))
        {
            tracing::info!(modem = %self.status.id, %e, "acknowledgement not expected any more; choosing AT+CNMI again");
        } else {
            tracing::warn!(modem = %self.status.id, %e,
                "the modem refuses AT+CNMA; receiving stored messages (+CMTI) from now on");
            self.direct_refused = true;
            self.leave_phase2(at).await?;
        }
        self.select_indications(at).await?;
        self.drain(at).await.map(drop)
    }

    fn emit(&mut self, storage: Option<String>, slot: Option<u32>, pdu: Vec<u8>, needs_ack: bool) {
        if let Some(slot) = slot {
            self.in_flight
                .insert((storage.clone(), slot), (pdu.clone(), Instant::now()));
        }
        self.outbox.push_back(ModemEvent::Received(Received {
            modem: self.status.id.clone(),
            slot,
            pdu,
            storage,
            needs_ack,
        }));
        // At once when there is room: a drain should not wait for the end of the listing.
        self.flush_best_effort();
    }

    fn note_error(&mut self, e: &ModemError) {
        tracing::warn!(modem = %self.status.id, %e, "modem command failed");
        self.status.last_error = Some(e.to_string());
        self.publish_status();
    }

    fn set_state(&mut self, state: LinkState, error: Option<String>) {
        self.status.state = state;
        if error.is_some() {
            self.status.last_error = error;
        }
        self.publish_status();
    }

    fn publish_status(&mut self) {
        if !self.settled {
            // The id may still change: the status goes out once it is known.
            return;
        }
        // Only the newest status matters: drop an older one still waiting in the outbox.
        self.outbox.retain(|e| !matches!(e, ModemEvent::Status(_)));
        self.outbox
            .push_back(ModemEvent::Status(self.status.clone()));
        self.flush_best_effort();
    }

    /// Hands over what fits without waiting, keeping the rest in order for the main loop.
    fn flush_best_effort(&mut self) {
        while let Some(event) = self.outbox.pop_front() {
            match self.events.try_send(event) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(event)) => {
                    self.outbox.push_front(event);
                    break;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.outbox.clear();
                    break;
                }
            }
        }
    }
}

/// The next tick of the status refresh, if it runs; never otherwise.
async fn tick(refresh: &mut Option<Interval>) {
    match refresh {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn send_all(
    at: &mut AtChannel,
    pdus: &[Vec<u8>],
    timeouts: &Timeouts,
) -> Result<Vec<u8>, ModemError> {
    let mut refs = Vec::with_capacity(pdus.len());
    for pdu in pdus {
        let mut attempt = 1;
        loop {
            match at.send_pdu(pdu, timeouts.prompt, timeouts.send).await {
                Ok(mr) => {
                    refs.push(mr);
                    break;
                }
                Err(e) if attempt < SEND_ATTEMPTS && is_transient(&e) => {
                    tracing::info!(%e, attempt, "send failed, retrying");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_secs(2) * attempt).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(refs)
}

fn is_transient(e: &ModemError) -> bool {
    match e {
        ModemError::Rejected { error, .. } => error.is_transient(),
        ModemError::Timeout { .. } => true,
        _ => false,
    }
}

fn is_empty_slot(e: &ModemError) -> bool {
    e.at_error()
        .is_some_and(|a| a.is_cms(cms::INVALID_MEMORY_INDEX))
}

fn lost_reason<T>(result: &Result<T, ModemError>) -> Option<String> {
    match result {
        Err(e) if e.is_link_lost() || matches!(e, ModemError::Timeout { .. }) => {
            Some(e.to_string())
        }
        _ => None,
    }
}

/// A command some modems do not support: its failure is not an error, but a lost link is.
fn optional(result: Result<Vec<String>, ModemError>) -> Result<Option<Vec<String>>, ModemError> {
    match result {
        Ok(lines) => Ok(Some(lines)),
        Err(e) if e.is_link_lost() => Err(e),
        Err(e) => {
            tracing::debug!(%e, "optional command failed");
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    //! Driver behaviour over long stretches of time, with paused tokio time: the simulator's AT
    //! interpreter runs over an in-memory stream, so tokio can jump the clock whenever all is idle.

    use std::sync::Mutex;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::sim::at::{lock, AtModem, SimState};
    use crate::sim::Personality;
    use crate::transport::OpenFuture;

    /// Opens an in-memory modem built from the simulator's interpreter.
    struct MemoryModem {
        state: Arc<Mutex<SimState>>,
        ready: bool,
    }

    impl Opener for MemoryModem {
        fn open<'a>(&'a self, _port: &'a str, _baud: u32) -> OpenFuture<'a> {
            let (driver_side, mut modem_side) = tokio::io::duplex(64 * 1024);
            let mut modem = AtModem::new(self.state.clone(), Personality::Generic);
            modem.ready = self.ready;
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = modem_side.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let out = modem.input(&buf[..n]);
                    if modem_side.write_all(&out).await.is_err() {
                        break;
                    }
                }
            });
            Box::pin(async move { Ok(Box::new(driver_side) as BoxTransport) })
        }
    }

    fn memory_modem(ready: bool) -> (Arc<Mutex<SimState>>, Arc<MemoryModem>) {
        let state = Arc::new(Mutex::new(SimState::new(10)));
        let opener = Arc::new(MemoryModem {
            state: state.clone(),
            ready,
        });
        (state, opener)
    }

    async fn status_where(
        events: &mut mpsc::Receiver<ModemEvent>,
        wanted: impl Fn(&ModemStatus) -> bool,
    ) -> ModemStatus {
        loop {
            match events.recv().await {
                Some(ModemEvent::Status(s)) if wanted(&s) => return s,
                Some(_) => {}
                None => panic!("driver stopped"),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_modem_that_never_gets_ready_gives_up_with_a_clear_error() {
        let (_state, opener) = memory_modem(false);
        let started = Instant::now();
        let (modem, mut events) = spawn_with(
            ModemConfig {
                port: "mem".into(),
                ..ModemConfig::default()
            },
            opener,
        );
        let waiting = status_where(&mut events, |s| s.last_error.is_some()).await;
        assert_eq!(waiting.state, LinkState::Connecting);
        assert!(waiting
            .last_error
            .unwrap()
            .contains("waiting for SMS readiness"));
        let gave_up = status_where(&mut events, |s| s.state == LinkState::Disconnected).await;
        assert!(gave_up.last_error.unwrap().contains("not ready after 60 s"));
        assert!(started.elapsed() >= Duration::from_secs(60));
        modem.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_during_a_long_readiness_wait_is_prompt() {
        let (_state, opener) = memory_modem(false);
        let (modem, mut events) = spawn_with(
            ModemConfig {
                port: "mem".into(),
                ..ModemConfig::default()
            },
            opener,
        );
        status_where(&mut events, |s| s.last_error.is_some()).await;
        let asked = Instant::now();
        modem.shutdown().await;
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "{:?}",
            asked.elapsed()
        );
        status_where(&mut events, |s| s.state == LinkState::Disconnected).await;
        assert!(matches!(modem.delete(1).await, Err(ModemError::Stopped)));
    }

    #[tokio::test(start_paused = true)]
    async fn the_default_sweep_finds_a_silent_message_after_a_minute() {
        let (state, opener) = memory_modem(true);
        let (modem, mut events) = spawn_with(
            ModemConfig {
                port: "mem".into(),
                ..ModemConfig::default()
            },
            opener,
        );
        status_where(&mut events, |s| s.state == LinkState::Connected).await;
        // Let the start-up drain finish before the message lands.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let stored_at = Instant::now();
        let slot = lock(&state).store(vec![0x00, 0x04, 0x00]).unwrap();
        let received = loop {
            if let Some(ModemEvent::Received(r)) = events.recv().await {
                break r;
            }
        };
        assert_eq!(received.slot, Some(slot));
        let waited = stored_at.elapsed();
        assert!(
            waited >= Duration::from_secs(55) && waited <= Duration::from_secs(65),
            "{waited:?}"
        );
        modem.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn sweeps_that_find_nothing_come_ever_less_often_until_one_finds_something() {
        let (state, opener) = memory_modem(true);
        let (modem, mut events) = spawn_with(
            ModemConfig {
                port: "mem".into(),
                ..ModemConfig::default()
            },
            opener,
        );
        status_where(&mut events, |s| s.state == LinkState::Connected).await;
        let listings = || {
            lock(&state)
                .log
                .iter()
                .filter(|l| l.command == "AT+CMGL=4")
                .count()
        };
        // The seconds between listings, from the start-up one on.
        let mut seen = 0;
        let mut last = Instant::now();
        let mut gaps = Vec::new();
        let mut stored = false;
        while gaps.len() < 9 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let n = listings();
            if n > seen {
                if seen > 0 {
                    gaps.push(last.elapsed().as_secs_f64().round() as u64);
                }
                seen = n;
                last = Instant::now();
                if gaps.len() == 6 && !stored {
                    // A message stored without any URC: the next sweep finds it.
                    lock(&state).store(vec![0x00, 0x04, 0x00]).unwrap();
                    stored = true;
                }
            }
        }
        assert_eq!(gaps, [60, 120, 240, 480, 960, 960, 960, 60, 120]);
        modem.shutdown().await;
    }
}
