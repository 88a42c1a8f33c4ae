//! The modem driver: one tokio task per modem that owns the port and never loses a message.
//!
//! The task opens the port, initialises the modem (sync, echo off, extended errors, PIN, PDU mode,
//! storage, new-message indications), drains what is already stored with `AT+CMGL=4`, then waits
//! for URCs, requests from its [`ModemHandle`]s and its timers. Every message is handed on as a
//! [`ModemEvent::Received`] with its raw PDU and slot; the driver deletes a slot only when the
//! engine asks, after its commit. If the port goes away, the task reports `Disconnected`, reopens
//! with backoff and drains again.
//!
//! Events leave through an outbox that is flushed only when the receiver has room, so the task
//! keeps serving `delete` requests while the engine is busy: a bounded channel could otherwise
//! deadlock (the engine waiting for a delete, the driver waiting for channel space).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::channel::AtChannel;
use crate::config::{guard_for, ModemConfig, Timeouts, DEFAULT_GUARD};
use crate::errors::{cms, ModemError};
use crate::events::{LinkState, ModemEvent, ModemStatus, Received};
use crate::framer::Urc;
use crate::handle::{Identity, ModemHandle, PendingSend, Request};
use crate::listing::{
    parse_cops, parse_cpms_usage, parse_creg, parse_csms_phase2, parse_csq, parse_iccid,
    parse_imei, parse_listing, parse_plain,
};
use crate::negotiate::{choose_storage, cnmi_candidates, cnmi_command, parse_groups};
use crate::probe::{find_usb_port, list_ports, usb_serial_of};
use crate::transport::{BoxTransport, Opener, SerialOpener};

/// Status (signal, operator) refresh period.
const STATUS_INTERVAL: Duration = Duration::from_secs(30);
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A message handed on but not deleted is offered again after this long (the engine may have
/// failed to commit it; its dedup makes the repeat harmless).
const REOFFER_AFTER: Duration = Duration::from_secs(600);
/// Sends held while the modem is disconnected; more are refused with `Disconnected`.
const MAX_QUEUED_SENDS: usize = 64;
/// Sends are retried this often on transient errors.
const SEND_ATTEMPTS: u32 = 3;

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
    let (requests_tx, requests) = mpsc::channel(32);
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
    };
    let driver = Driver {
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
        acks_due: 0,
        storage_lost: false,
    };
    tokio::spawn(driver.run());
    (
        ModemHandle {
            id: identity_rx,
            requests: requests_tx,
        },
        events_rx,
    )
}

/// What woke the driver task.
enum Wake {
    Request(Option<Request>),
    /// An event was handed over (false: the receiver is gone).
    Permit(bool),
    Read(Result<(), ModemError>),
    Sweep,
    Refresh,
}

/// How a session (one open port) ended.
enum End {
    Shutdown(Option<oneshot::Sender<()>>),
    /// The link broke or the modem stopped answering: reopen.
    Lost(String),
    /// Needs the user (PIN): do not retry.
    Fatal(String),
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
    in_flight: HashMap<(Option<String>, u32), (Vec<u8>, Instant)>,
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
    /// The modem runs in phase 2+ (`AT+CSMS?` service 1): `+CMT`/`+CDS` need `AT+CNMA`.
    phase2: bool,
    /// `+CMT`/`+CDS` handed on in this session and not acknowledged yet.
    acks_due: u32,
    /// Reading another storage left the modem on it (restoring failed): reinitialise.
    storage_lost: bool,
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
            let wake = tokio::select! {
                _ = tokio::time::sleep_until(until) => return true,
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
                Wake::Request(None) => return false,
                Wake::Request(Some(Request::Shutdown(ack))) => {
                    self.flush_best_effort();
                    let _ = ack.send(());
                    return false;
                }
                Wake::Request(Some(Request::Delete { reply, .. } | Request::Ack { reply })) => {
                    let _ = reply.send(Err(ModemError::Disconnected));
                }
                Wake::Request(Some(Request::Send { pdus, reply })) => {
                    if queue_sends && self.pending_sends.len() < MAX_QUEUED_SENDS {
                        self.pending_sends.push_back((pdus, reply));
                    } else {
                        let _ = reply.send(Err(ModemError::Disconnected));
                    }
                }
                Wake::Permit(true) => {}
                Wake::Permit(false) => return false,
                _ => {}
            }
        }
    }

    /// Answers requests that arrived during a long start-up (sync retries, readiness wait):
    /// deletes fail (nothing was handed on yet in this session), sends wait in the queue, and a
    /// shutdown ends the start-up at once.
    fn serve_during_init(&mut self) -> Result<(), ModemError> {
        while let Ok(request) = self.requests.try_recv() {
            match request {
                Request::Shutdown(ack) => {
                    self.shutdown_ack = Some(ack);
                    return Err(ModemError::Stopped);
                }
                // An acknowledgement is for a previous session's +CMT: too late now (the
                // network delivers it again).
                Request::Delete { reply, .. } | Request::Ack { reply } => {
                    let _ = reply.send(Err(ModemError::Disconnected));
                }
                Request::Send { pdus, reply } if self.pending_sends.len() < MAX_QUEUED_SENDS => {
                    self.pending_sends.push_back((pdus, reply));
                }
                Request::Send { reply, .. } => {
                    let _ = reply.send(Err(ModemError::Disconnected));
                }
            }
        }
        Ok(())
    }

    async fn session(&mut self, io: BoxTransport) -> End {
        // The family's own guard once known (the previous session told it); the default first.
        let mut at = AtChannel::new(io, self.guard());
        self.acks_due = 0;
        self.storage_lost = false;
        if let Err(e) = self.init(&mut at).await {
            return match e {
                ModemError::Stopped => End::Shutdown(self.shutdown_ack.take()),
                ModemError::Pin(_) => End::Fatal(e.to_string()),
                e => End::Lost(e.to_string()),
            };
        }
        self.connected = true;
        self.status.last_error = self.warning.take();
        self.set_state(LinkState::Connected, None);
        if let Err(e) = self.drain(&mut at).await {
            return End::Lost(e.to_string());
        }
        // Messages the user sent while the modem was away go out now, in order.
        while let Some((pdus, reply)) = self.pending_sends.pop_front() {
            let result = send_all(&mut at, &pdus, &self.config.timeouts).await;
            let lost = lost_reason(&result);
            let _ = reply.send(result);
            if let Some(reason) = lost {
                return End::Lost(reason);
            }
        }
        let interval = self.config.sweep_interval.max(Duration::from_millis(100));
        let mut sweep = tokio::time::interval_at(Instant::now() + interval, interval);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut refresh =
            tokio::time::interval_at(Instant::now() + STATUS_INTERVAL, STATUS_INTERVAL);
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if self.storage_lost {
                return End::Lost("the modem could not switch back to its message storage".into());
            }
            while let Some(urc) = at.next_urc() {
                if let Err(e) = self.on_urc(&mut at, urc).await {
                    if e.is_link_lost() || matches!(e, ModemError::Timeout { .. }) {
                        return End::Lost(e.to_string());
                    }
                    self.note_error(&e);
                }
            }
            let wake = tokio::select! {
                // Requests first: a delete after a commit should not wait behind a sweep.
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
                _ = sweep.tick() => Wake::Sweep,
                _ = refresh.tick() => Wake::Refresh,
            };
            match wake {
                Wake::Request(None) => return End::Shutdown(None),
                Wake::Request(Some(Request::Shutdown(ack))) => return End::Shutdown(Some(ack)),
                Wake::Request(Some(Request::Delete {
                    slot,
                    storage,
                    reply,
                })) => {
                    let result = self.delete(&mut at, storage, slot).await;
                    let lost = lost_reason(&result);
                    let _ = reply.send(result);
                    if let Some(reason) = lost {
                        return End::Lost(reason);
                    }
                }
                Wake::Request(Some(Request::Ack { reply })) => {
                    let result = self.acknowledge(&mut at).await;
                    let lost = lost_reason(&result);
                    let _ = reply.send(result);
                    if let Some(reason) = lost {
                        return End::Lost(reason);
                    }
                }
                Wake::Request(Some(Request::Send { pdus, reply })) => {
                    let result = send_all(&mut at, &pdus, &self.config.timeouts).await;
                    let lost = lost_reason(&result);
                    let _ = reply.send(result);
                    if let Some(reason) = lost {
                        return End::Lost(reason);
                    }
                }
                Wake::Permit(true) => {}
                // Nobody listens any more: stop.
                Wake::Permit(false) => return End::Shutdown(None),
                Wake::Read(Ok(())) => {}
                Wake::Read(Err(e)) => return End::Lost(e.to_string()),
                Wake::Sweep => {
                    if let Err(e) = self.drain(&mut at).await {
                        if e.is_link_lost() || matches!(e, ModemError::Timeout { .. }) {
                            return End::Lost(e.to_string());
                        }
                        self.note_error(&e);
                    }
                }
                Wake::Refresh => {
                    if let Err(e) = self.refresh_status(&mut at).await {
                        return End::Lost(e.to_string());
                    }
                    self.publish_status();
                }
            }
        }
    }

    async fn init(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        // A modem left waiting for a PDU after `AT+CMGS` (we crashed mid-send) would take our
        // commands as message text: ESC cancels that, and is ignored in command mode.
        at.write_raw(&[0x1B]).await?;
        // Answers to a previous program's commands may still sit in the port's buffer; each
        // would be taken for the answer to one of ours and put every later answer out of step.
        at.resync();
        // Auto-bauding modems (SIM800L) need a few `AT`s to lock onto the baud rate.
        let mut synced = false;
        for _ in 0..10 {
            self.serve_during_init()?;
            match at
                .command("AT", self.config.timeouts.quick.min(Duration::from_secs(1)))
                .await
            {
                Ok(_) => {
                    synced = true;
                    break;
                }
                Err(e) if e.is_link_lost() => return Err(e),
                Err(_) => {}
            }
        }
        if !synced {
            return Err(ModemError::Protocol {
                command: "AT".into(),
                detail: "no OK after 10 tries: is this a modem, and is the baud rate right?".into(),
            });
        }
        at.command("ATE0", self.config.timeouts.quick).await?;
        optional(at.command("AT+CMEE=2", self.config.timeouts.quick).await)?;
        // Huawei sticks print ^RSSI/^MODE/^BOOT unless told not to; other modems answer ERROR.
        optional(at.command("AT^CURC=0", self.config.timeouts.quick).await)?;
        // Before anything can be reported: every message carries the modem's id.
        self.identify(at).await?;
        self.unlock_sim(at).await?;
        if self.status.imei.is_none() && self.status.iccid.is_none() {
            // Some modems read the SIM only once it is unlocked.
            self.status.iccid = self.read_iccid(at).await?;
            // With neither, the id stays what it is (the port path on a first start-up).
            self.identify_by_what_is_known(true);
        }
        self.wait_ready(at).await?;
        self.select_storage(at).await?;
        self.select_indications(at).await?;
        if let Some(lines) = optional(at.command("AT+CSMS?", self.config.timeouts.quick).await)? {
            self.phase2 = parse_csms_phase2(&lines).unwrap_or(false);
        }
        self.refresh_status(at).await?;
        Ok(())
    }

    /// Reads the model, manufacturer, IMEI and ICCID, and settles the modem's id on them.
    async fn identify(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        if let Some(lines) = optional(at.command("AT+CGMM", self.config.timeouts.quick).await)? {
            self.status.model = parse_plain(&lines, "+CGMM:");
        }
        if let Some(lines) = optional(at.command("AT+CGMI", self.config.timeouts.quick).await)? {
            self.status.manufacturer = parse_plain(&lines, "+CGMI:");
        }
        at.set_guard(self.guard());
        let imei = optional(at.command("AT+CGSN", self.config.timeouts.quick).await)?
            .and_then(|lines| parse_imei(&lines));
        if let (Some(old), Some(new)) = (&self.status.imei, &imei) {
            if old != new {
                // Not fatal (a swapped modem still receives, under its own id), but the user
                // should know.
                tracing::warn!(modem = %self.status.id, %old, %new, "a different modem is on this port");
                self.warning = Some(format!(
                    "a different modem (IMEI {new}, was {old}) is now on {}",
                    self.status.port
                ));
            }
        }
        if imei.is_some() {
            self.status.imei = imei;
        }
        self.status.iccid = self.read_iccid(at).await?;
        // Knowing neither, wait for the unlocked SIM's ICCID before settling.
        self.identify_by_what_is_known(false);
        Ok(())
    }

    /// The pause after each final result: configured, else the modem family's (slow firmware
    /// drops commands that follow too closely).
    fn guard(&self) -> Duration {
        match (self.config.guard, &self.status.model) {
            (Some(guard), _) => guard,
            (None, None) => DEFAULT_GUARD,
            (None, Some(model)) => guard_for(self.status.manufacturer.as_deref(), Some(model)),
        }
    }

    /// Settles the id on the IMEI, else the ICCID; with neither, and if `last_chance`, keeps the
    /// id it has (the port path on a first start-up).
    fn identify_by_what_is_known(&mut self, last_chance: bool) {
        if self.config.id.is_some() {
            return;
        }
        let learned = match (&self.status.imei, &self.status.iccid) {
            (Some(imei), _) => Some(format!("imei:{imei}")),
            (None, Some(iccid)) => Some(format!("iccid:{iccid}")),
            (None, None) if last_chance => None,
            (None, None) => return,
        };
        self.settle(learned);
    }

    /// The SIM's ICCID, with the command this modem family knows first, then the others.
    async fn read_iccid(&mut self, at: &mut AtChannel) -> Result<Option<String>, ModemError> {
        let vendor = format!(
            "{} {}",
            self.status.manufacturer.as_deref().unwrap_or(""),
            self.status.model.as_deref().unwrap_or("")
        )
        .to_ascii_lowercase();
        let first = if vendor.contains("quectel") {
            "AT+QCCID"
        } else if vendor.contains("huawei") {
            "AT^ICCID?"
        } else if vendor.contains("sim7") || vendor.contains("a76") {
            "AT+CICCID"
        } else {
            "AT+CCID"
        };
        let mut commands = vec![first];
        commands.extend(
            ["AT+CCID", "AT+QCCID", "AT+CICCID", "AT^ICCID?"]
                .into_iter()
                .filter(|c| *c != first),
        );
        for command in commands {
            if let Some(lines) = optional(at.command(command, self.config.timeouts.quick).await)? {
                if let Some(iccid) = parse_iccid(&lines) {
                    return Ok(Some(iccid));
                }
            }
        }
        Ok(None)
    }

    /// Makes `learned` (or, with `None`, the id it has) the modem's id for this run, tells the
    /// handles, and lets the held-back status out.
    fn settle(&mut self, learned: Option<String>) {
        if let Some(id) = learned.filter(|id| *id != self.status.id) {
            tracing::info!(modem = %self.status.id, %id, "modem identified");
            self.status.id = id;
            // Slots handed on under the old id must be handed on again under the new one.
            self.in_flight.clear();
        } else if self.settled {
            return;
        }
        self.settled = true;
        self.identity.send_replace(Identity {
            id: self.status.id.as_str().into(),
            settled: true,
        });
        self.publish_status();
    }

    /// Enters the PIN if the SIM asks and one is configured; never retries a rejected PIN.
    async fn unlock_sim(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        let lines = match at.command("AT+CPIN?", self.config.timeouts.slot).await {
            Ok(lines) => lines,
            Err(e) if e.at_error().is_some_and(|a| a.needs_user()) => {
                return Err(ModemError::Pin(format!(
                    "the SIM is not usable ({e}); check the SIM card"
                )))
            }
            // Some modems do not implement AT+CPIN?; the SMS commands will tell.
            Err(e) if !e.is_link_lost() => return Ok(()),
            Err(e) => return Err(e),
        };
        let status = lines
            .iter()
            .find_map(|l| l.strip_prefix("+CPIN:"))
            .map(|s| s.trim().to_ascii_uppercase())
            .unwrap_or_else(|| "READY".into());
        match status.as_str() {
            "READY" => Ok(()),
            "SIM PIN" => {
                let Some(pin) = self.config.pin.clone() else {
                    return Err(ModemError::Pin(format!(
                        "the SIM needs a PIN: add it to the configuration file as \
                         [modem_pins] {:?} = \"<PIN>\", then restart",
                        self.config.port
                    )));
                };
                match at
                    .command(&format!("AT+CPIN=\"{pin}\""), self.config.timeouts.slot)
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(e) if e.is_link_lost() => Err(e),
                    Err(e) => Err(ModemError::Pin(format!(
                        "the SIM rejected the configured PIN ({e}); not retrying, so the SIM \
                         does not lock: fix [modem_pins] {:?} in the configuration file and restart",
                        self.config.port
                    ))),
                }
            }
            other => Err(ModemError::Pin(format!(
                "the SIM reports {other}; unlock it in a phone, then restart"
            ))),
        }
    }

    /// Reads, deletes and receives in one storage, so `+CMTI` slots are the slots `AT+CMGR` reads.
    async fn select_storage(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        let offered =
            optional(at.command("AT+CPMS=?", self.config.timeouts.slot).await)?.unwrap_or_default();
        let mem = choose_storage(&offered);
        // Status reports some modems keep apart (`+CDSI: "SR",<n>`): offered for reading.
        self.report_storage = offered
            .iter()
            .find_map(|l| l.strip_prefix("+CPMS:"))
            .and_then(|answer| parse_groups(answer).into_iter().next())
            .and_then(|readable| readable.into_iter().find(|m| m.eq_ignore_ascii_case("SR")))
            .filter(|sr| !sr.eq_ignore_ascii_case(mem));
        let command = format!("AT+CPMS=\"{mem}\",\"{mem}\",\"{mem}\"");
        match at.command(&command, self.config.timeouts.slot).await {
            Ok(_) => self.storage = mem.to_string(),
            Err(e) if e.is_link_lost() => return Err(e),
            // Keep the modem's default storage: still readable, and the sweep lists it.
            Err(e) => self.note_error(&e),
        }
        Ok(())
    }

    /// Asks for `+CMTI` on new messages, with the best `AT+CNMI` setting the modem accepts.
    async fn select_indications(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        let offered = optional(at.command("AT+CNMI=?", self.config.timeouts.quick).await)?
            .unwrap_or_default();
        let mut last = None;
        for candidate in cnmi_candidates(&offered) {
            match at
                .command(&cnmi_command(&candidate), self.config.timeouts.quick)
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if e.is_link_lost() => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        // No URCs: messages still arrive, through the safety sweep only.
        if let Some(e) = last {
            self.note_error(&e);
        }
        Ok(())
    }

    /// Switches to PDU mode, retrying while the modem says it is not ready yet (SIM800L answers
    /// SMS commands with errors until `SMS Ready`).
    async fn wait_ready(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        let ready = self.config.timeouts.ready;
        let give_up = Instant::now() + ready;
        loop {
            self.serve_during_init()?;
            match at.command("AT+CMGF=0", self.config.timeouts.quick).await {
                Ok(_) => return Ok(()),
                Err(e) if e.is_link_lost() => return Err(e),
                Err(e) if Instant::now() >= give_up => {
                    return Err(ModemError::Protocol {
                        command: "AT+CMGF=0".into(),
                        detail: format!("SMS not ready after {} s: {e}", ready.as_secs()),
                    })
                }
                Err(e) => {
                    tracing::debug!(modem = %self.status.id, %e, "SMS not ready yet");
                    self.status.last_error = Some(format!("waiting for SMS readiness: {e}"));
                    self.publish_status();
                    // Retry in a second, or as soon as the modem says `SMS Ready`.
                    at.wait_ready_urc(Duration::from_secs(1)).await?;
                }
            }
        }
    }

    async fn refresh_status(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        if let Some(lines) = optional(at.command("AT+CSQ", self.config.timeouts.quick).await)? {
            self.status.signal_dbm = parse_csq(&lines);
        }
        if let Some(lines) = optional(at.command("AT+COPS?", self.config.timeouts.slot).await)? {
            self.status.operator = parse_cops(&lines);
        }
        if let Some(lines) = optional(at.command("AT+CREG?", self.config.timeouts.quick).await)? {
            self.status.registration = parse_creg(&lines);
        }
        if let Some(lines) = optional(at.command("AT+CPMS?", self.config.timeouts.quick).await)? {
            self.status.storage = parse_cpms_usage(&lines);
        }
        Ok(())
    }

    async fn on_urc(&mut self, at: &mut AtChannel, urc: Urc) -> Result<(), ModemError> {
        match urc {
            Urc::NewMessage { mem, index } if mem.eq_ignore_ascii_case(&self.storage) => {
                tracing::debug!(modem = %self.status.id, %mem, index, "new message indication");
                self.read_slot(at, None, index).await
            }
            Urc::NewMessage { mem, index } => {
                // Stored somewhere we do not read: the slot number means nothing in our storage.
                tracing::warn!(modem = %self.status.id, %mem, index, storage = %self.storage,
                    "new message in another storage; listing ours");
                self.drain(at).await
            }
            // A direct delivery or status report: nothing stored, so nothing to delete. In phase
            // 2+ the modem waits for AT+CNMA, which the engine asks for after its commit (the
            // network delivers the message again if it never comes). The engine tells an
            // SMS-DELIVER from an SMS-STATUS-REPORT when it decodes the PDU.
            Urc::Deliver { pdu, .. } | Urc::StatusReport { pdu, .. } => {
                let needs_ack = self.phase2;
                if needs_ack {
                    self.acks_due += 1;
                }
                self.emit(None, None, pdu, needs_ack);
                Ok(())
            }
            Urc::StatusReportStored { mem, index } if mem.eq_ignore_ascii_case(&self.storage) => {
                self.read_slot(at, None, index).await
            }
            Urc::StatusReportStored { mem, index } => {
                // Kept in a storage of its own (`SR`): read it there, then switch back.
                self.read_slot(at, Some(mem), index).await
            }
            Urc::Other(text) if is_registration_urc(&text) => {
                // `+CREG: <stat>` (unsolicited form: one number, or stat first with location).
                let args = text.split_once(':').map(|(_, a)| a).unwrap_or("");
                let first = args.split(',').next().unwrap_or("").trim();
                let line = format!("+CREG: 0,{first}");
                if let Some(registration) = parse_creg(&[line]) {
                    self.status.registration = Some(registration);
                    self.publish_status();
                }
                Ok(())
            }
            Urc::Other(text)
                if text.to_ascii_uppercase().contains("MEMFULL")
                    || text.to_ascii_uppercase().contains("SMSFULL") =>
            {
                // A full SIM refuses new messages: free it as soon as the engine commits.
                tracing::warn!(modem = %self.status.id, %text, "message storage full; draining");
                self.drain(at).await
            }
            other => {
                tracing::debug!(modem = %self.status.id, ?other, "URC ignored");
                Ok(())
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
            Some(mem) => at
                .command(&format!("AT+CPMS=\"{mem}\""), self.config.timeouts.slot)
                .await
                .map(drop),
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

    /// Lists every stored message (and status report kept apart) and hands on those not already
    /// with the engine.
    async fn drain(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        self.drain_storage(at, None).await?;
        if let Some(sr) = self.report_storage.clone() {
            match self.drain_storage(at, Some(sr)).await {
                Err(e) if !e.is_link_lost() && !matches!(e, ModemError::Timeout { .. }) => {
                    // Offered but not readable: reports then only come as they are announced.
                    tracing::info!(modem = %self.status.id, %e, "cannot list the status report storage");
                    self.report_storage = None;
                }
                other => other?,
            }
        }
        Ok(())
    }

    async fn drain_storage(
        &mut self,
        at: &mut AtChannel,
        storage: Option<String>,
    ) -> Result<(), ModemError> {
        self.enter(at, storage.as_deref()).await?;
        let result = at.command("AT+CMGL=4", self.config.timeouts.list).await;
        self.leave(at, storage.as_deref()).await?;
        let listed = parse_listing(&result?);
        let now = Instant::now();
        self.in_flight.retain(|(mem, slot), _| {
            *mem != storage || listed.iter().any(|l| l.index == Some(*slot))
        });
        for entry in listed {
            let Some(slot) = entry.index else { continue };
            match self.in_flight.get(&(storage.clone(), slot)) {
                Some((pdu, when))
                    if *pdu == entry.pdu && now.duration_since(*when) < REOFFER_AFTER =>
                {
                    continue
                }
                _ => self.emit(storage.clone(), Some(slot), entry.pdu, false),
            }
        }
        Ok(())
    }

    async fn delete(
        &mut self,
        at: &mut AtChannel,
        storage: Option<String>,
        slot: u32,
    ) -> Result<(), ModemError> {
        // The receiving storage is named `None` everywhere, whatever the engine passed.
        let storage = storage.filter(|mem| !mem.eq_ignore_ascii_case(&self.storage));
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
            self.in_flight.remove(&(storage, slot));
        }
        result
    }

    /// `AT+CNMA` for the oldest `+CMT`/`+CDS` still waiting. A modem that gave up waiting
    /// (`+CMS ERROR: 340`, no acknowledgement expected) has, per TS 27.005, also switched
    /// its routing off: `AT+CNMI` is chosen again and the storage listed, where the network's
    /// retry (or the modem) may have put the message.
    async fn acknowledge(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        if self.acks_due == 0 {
            return Ok(());
        }
        self.acks_due -= 1;
        match at.command("AT+CNMA", self.config.timeouts.quick).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_link_lost() || matches!(e, ModemError::Timeout { .. }) => Err(e),
            Err(e) => {
                // It may also have stored the message meanwhile (the network's retry): list.
                tracing::info!(modem = %self.status.id, %e, "acknowledgement not taken; choosing AT+CNMI again");
                self.select_indications(at).await?;
                self.drain(at).await
            }
        }
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

fn is_registration_urc(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    upper.starts_with("+CREG:") || upper.starts_with("+CGREG:") || upper.starts_with("+CEREG:")
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
            let mut modem = AtModem::new(self.state.clone(), Personality::Generic, None);
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
        let state = Arc::new(Mutex::new(SimState {
            capacity: 10,
            ..SimState::default()
        }));
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
}
