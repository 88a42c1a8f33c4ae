//! Ingest: turns one modem's events into committed messages, in the only safe order:
//! decode → extract the code → **commit** → publish → delete the SIM slot.
//!
//! The commit is what protects a message, so everything after it may happen in any order; publishing before the
//! delete keeps the modem's command round trip (and its guard time) out of the latency every client sees.
//!
//! Nothing read from a SIM is dropped. A PDU that does not decode is committed as a message whose text is the
//! raw PDU in hex and whose `decode_error` says why. A part of a multipart message is committed to the `pdus`
//! table on its own, so its slot can be freed at once and the set survives a restart; the message is committed
//! when the set is complete, or flagged incomplete after [`MULTIPART_TIMEOUT`]. A commit that fails leaves the
//! slot on the SIM (and the hub shows the failure in the modem's status until a commit succeeds). Ingest keeps
//! what it could not commit and tries again every [`RETRY_COMMIT`] (the database may be restarting), and the
//! driver offers the slot again later too; the store's dedup key makes any repeat harmless.
//!
//! A delivery report (SMS-STATUS-REPORT, from `+CDS` or `+CDSI`, also from a separate `SR` storage) is not a
//! message: it updates the sent message it reports on (same order: commit the new status, publish a `sent`
//! event, delete the slot).
//!
//! "Delete the slot" is [`ModemHandle::queue_release`]: for a message delivered directly (`+CMT`/`+CDS`) by a
//! modem in phase 2+ (the driver's default route where the modem allows it), the same after-commit step
//! acknowledges it with `AT+CNMA` instead; unacknowledged, the network delivers it again and the dedup key
//! absorbs the repeat. Ingest does not wait for the modem's answer: the driver acknowledges at once and deletes
//! when no message waits to be read, so the next message's commit never queues behind a delete.
//!
//! Every message is stored under the id the driver learned from the modem (`imei:...`), carried by each
//! [`Received`], so a modem keeps its history and dedup key whatever port it comes back on.

use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, Utc};
use simrelay_modem::{LinkState, ModemEvent, ModemHandle, Received};
use simrelay_pdu::{
    Assembled, Assembler, Content, Deliver, MessageWaiting, Pdu, StatusCategory, StatusReport,
};
use simrelay_protocol::{
    ContentKind, Indication, Message, MessageContent, ModemHealth, ModemState, ModemStatus,
    Registration, StorageUse, WaitingKind,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::hub::{publish_stored_sent, Hub};
use crate::store::{Inserted, NewMessage, PartInserted, PartKey, Store, StoreError};

/// How long the parts of a multipart message wait for their siblings before the message is delivered
/// incomplete. Networks deliver parts seconds apart; minutes means a part was lost.
pub const MULTIPART_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// Runs until `shutdown` is cancelled or the driver stops, then stops the driver. Parts still waiting for
/// siblings stay in the store and are picked up by the next run.
pub(crate) async fn run(
    modem: ModemHandle,
    mut events: mpsc::Receiver<ModemEvent>,
    store: Store,
    hub: Hub,
    demo: bool,
    shutdown: CancellationToken,
) {
    // Messages are stored under the id the modem tells at start-up (IMEI based), so wait for it.
    let modem_id = tokio::select! {
        id = modem.identified() => id,
        () = shutdown.cancelled() => {
            modem.shutdown().await;
            return;
        }
    };
    let mut listed_as = None;
    let mut ingest = Ingest::new(modem_id, store);
    if let Err(e) = ingest.recover().await {
        tracing::error!(modem = %ingest.modem_id, error = %e, "cannot reload waiting multipart parts");
    }
    ingest.publish_waiting(&hub).await;
    loop {
        let deadline = ingest.assembler.next_deadline();
        let retry_at = ingest.retry_at;
        tokio::select! {
            () = shutdown.cancelled() => break,
            event = events.recv() => match event {
                None => break,
                Some(ModemEvent::Received(received)) => {
                    // Whatever else is already queued goes into the same commit (see `received_batch`).
                    let mut batch = vec![received];
                    let mut after = None;
                    while batch.len() < MAX_BATCH {
                        match events.try_recv() {
                            Ok(ModemEvent::Received(received)) => batch.push(received),
                            Ok(other) => {
                                after = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    ingest.received_batch(&modem, &hub, batch).await;
                    match after {
                        Some(ModemEvent::Call(call)) => ingest.call(&hub, call).await,
                        Some(event) => other_event(&hub, event, demo, &mut listed_as),
                        None => {}
                    }
                }
                Some(ModemEvent::Call(call)) => ingest.call(&hub, call).await,
                Some(other) => other_event(&hub, other, demo, &mut listed_as),
            },
            () = sleep_until(deadline), if deadline.is_some() => {
                for message in ingest.expire().await {
                    ingest.publish(&hub, message, None).await;
                }
            }
            () = sleep_until(retry_at), if retry_at.is_some() => {
                ingest.retry_at = None;
                let batch = std::mem::take(&mut ingest.retry);
                ingest.received_batch(&modem, &hub, batch).await;
            }
        }
    }
    modem.shutdown().await;
}

/// Most messages committed in one transaction when they queue up.
const MAX_BATCH: usize = 64;

/// How long after a failed commit ingest tries it again (the messages wait on the modem meanwhile).
const RETRY_COMMIT: Duration = Duration::from_secs(1);

/// Most messages kept for another commit attempt: more than a SIM holds. Beyond it the oldest are left to the
/// driver, which offers their slots again later.
const MAX_RETRY: usize = 1024;

/// A modem event that is not a received message. `listed_as` is the id this modem's status was last published
/// under, so a status under a new id replaces the old entry instead of listing the modem twice.
fn other_event(hub: &Hub, event: ModemEvent, demo: bool, listed_as: &mut Option<String>) {
    match event {
        ModemEvent::Status(status) => {
            if let Some(old) = listed_as.take().filter(|old| *old != status.id) {
                hub.forget_modem(&old);
            }
            *listed_as = Some(status.id.clone());
            hub.publish_modem(status_for_api(status, demo));
        }
        ModemEvent::Notice(notice) => {
            use simrelay_modem::NoticeKind as K;
            use simrelay_protocol::ModemEventKind as E;
            let event = match notice.kind {
                K::RegistrationLost => E::RegistrationLost,
                K::RegistrationRegained => E::RegistrationRegained,
                K::Reset => E::Reset,
                K::Restarted => E::Restarted,
                K::StorageFull => E::StorageFull,
            };
            tracing::info!(modem = %notice.modem, ?event, detail = %notice.detail, "modem event");
            hub.publish_modem_event(&notice.modem, event, notice.detail, notice.at);
        }
        other => tracing::debug!(?other, "modem event not handled yet"),
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline.into()).await;
    }
}

/// The per-modem state of ingest: its multipart assembler (tagged with each part's raw PDU).
struct Ingest {
    modem_id: String,
    store: Store,
    assembler: Assembler<Vec<u8>>,
    /// When the batch being handled reached the engine (for the latency metric).
    arrived: Instant,
    /// Messages whose commit failed, to be tried again after [`RETRY_COMMIT`] (not released meanwhile).
    retry: Vec<Received>,
    /// When to try `retry` again (a deadline, so that arriving messages do not postpone it).
    retry_at: Option<Instant>,
}

impl Ingest {
    fn new(modem_id: String, store: Store) -> Ingest {
        Ingest {
            modem_id,
            store,
            assembler: Assembler::new(MULTIPART_TIMEOUT),
            arrived: Instant::now(),
            retry: Vec::new(),
            retry_at: None,
        }
    }

    /// Counts a committed message and publishes it; `arrived` is when its PDU reached the engine, if that
    /// is what its latency should count from. One that carried a message-waiting indication also changed what
    /// waits for this modem (committed with it), which its status then shows.
    async fn publish(&self, hub: &Hub, message: Message, arrived: Option<Instant>) {
        let metrics = hub.metrics();
        metrics.stored(&message.modem, message.id, message.code.is_some(), arrived);
        let indicates = !message.indications.is_empty();
        hub.publish_sms(message);
        if indicates {
            self.publish_waiting(hub).await;
        }
    }

    /// Stores an incoming call in the history, then publishes it (a `call` frame, the desktop's "Missed
    /// call"). A call the store cannot take is still published: it is not a message, nothing retries it.
    async fn call(&self, hub: &Hub, call: simrelay_modem::Call) {
        match self
            .store
            .insert_call(&self.modem_id, call.from.as_deref(), call.at, call.rejected)
            .await
        {
            Ok(stored) => hub.publish_call(stored),
            Err(e) => {
                tracing::error!(modem = %self.modem_id, error = %e, "cannot store a call");
                hub.publish_call(simrelay_protocol::Call {
                    id: 0,
                    modem: self.modem_id.clone(),
                    from: call
                        .from
                        .unwrap_or_else(|| simrelay_protocol::UNKNOWN_CALLER.to_owned()),
                    at: call.at.fixed_offset(),
                    rejected: call.rejected,
                });
            }
        }
    }

    /// Puts the parts that were waiting when the engine last stopped back into the assembler.
    async fn recover(&mut self) -> Result<(), StoreError> {
        let now = Instant::now();
        for raw in self.store.pending_parts(&self.modem_id).await? {
            if let Ok(Pdu::Deliver(deliver)) = simrelay_pdu::decode(&raw) {
                // A set that this reload completes (every part was stored, but the engine stopped before the
                // message was committed) is committed now.
                if let Some(done) = self.assembler.push(deliver, raw, now) {
                    let message = assembled_message(&self.modem_id, done);
                    self.store.insert_message(&message).await?;
                }
            }
        }
        Ok(())
    }

    /// Takes the id the driver now reports (a swapped modem, or one identified only after a failed start-up):
    /// its waiting multipart parts are its own.
    async fn switch_to(&mut self, hub: &Hub, modem_id: &str) {
        if modem_id == self.modem_id {
            return;
        }
        tracing::info!(from = %self.modem_id, to = %modem_id, "the modem's id changed");
        self.modem_id = modem_id.to_owned();
        self.assembler = Assembler::new(MULTIPART_TIMEOUT);
        if let Err(e) = self.recover().await {
            tracing::error!(modem = %self.modem_id, error = %e, "cannot reload waiting multipart parts");
        }
        self.publish_waiting(hub).await;
    }

    /// Gives the hub what the store says is waiting for this modem (voicemail, ...), for its status.
    async fn publish_waiting(&self, hub: &Hub) {
        match self.store.waiting(&self.modem_id).await {
            Ok(waiting) => hub.set_waiting(&self.modem_id, waiting),
            Err(e) => tracing::warn!(modem = %self.modem_id, error = %e,
                "cannot read what is waiting for the modem's SIM"),
        }
    }

    /// Handles messages that queued up while the previous ones were committed. Single-part messages (and
    /// undecodable PDUs) are committed together in one transaction, then published, then released: a burst
    /// costs one commit instead of one per message, and a lone message is still committed at once. Parts of
    /// multipart messages and delivery reports take their own path, in order.
    async fn received_batch(&mut self, modem: &ModemHandle, hub: &Hub, batch: Vec<Received>) {
        self.arrived = Instant::now();
        let mut pending: Vec<(Received, NewMessage)> = Vec::new();
        for received in batch {
            if received.modem != self.modem_id {
                self.commit_batch(modem, hub, &mut pending).await;
                self.switch_to(hub, &received.modem).await;
            }
            let classified = classify(&self.modem_id, &received.pdu);
            let decoded = !matches!(&classified, Classified::Simple(m) if m.decode_error.is_some());
            hub.metrics().pdu_received(&self.modem_id, decoded);
            match classified {
                Classified::Simple(message) => pending.push((received, *message)),
                Classified::Part(..) | Classified::Report => {
                    self.commit_batch(modem, hub, &mut pending).await;
                    self.received(modem, hub, received).await;
                }
            }
        }
        self.commit_batch(modem, hub, &mut pending).await;
    }

    /// Keeps messages whose commit failed for another attempt, the oldest left to the driver beyond
    /// [`MAX_RETRY`].
    fn keep_for_retry(&mut self, received: impl IntoIterator<Item = Received>) {
        self.retry.extend(received);
        if self.retry_at.is_none() {
            self.retry_at = Some(Instant::now() + RETRY_COMMIT);
        }
        if self.retry.len() > MAX_RETRY {
            let dropped = self.retry.len() - MAX_RETRY;
            self.retry.drain(..dropped);
            tracing::warn!(modem = %self.modem_id, dropped,
                "too many messages wait for the database; the modem offers the oldest again later");
        }
    }

    /// Commits `pending` in one transaction, publishes what is new, then releases each from the modem.
    async fn commit_batch(
        &mut self,
        modem: &ModemHandle,
        hub: &Hub,
        pending: &mut Vec<(Received, NewMessage)>,
    ) {
        if pending.is_empty() {
            return;
        }
        let (received, messages): (Vec<Received>, Vec<NewMessage>) =
            std::mem::take(pending).into_iter().unzip();
        match self.store.insert_messages(&messages).await {
            Ok(inserted) => {
                hub.database_ok();
                for outcome in inserted {
                    if let Inserted::New(message) = outcome {
                        self.publish(hub, *message, Some(self.arrived)).await;
                    }
                }
            }
            Err(e) => {
                tracing::error!(modem = %self.modem_id, messages = received.len(), error = %e,
                    "cannot commit messages; they stay on the SIM and are tried again");
                hub.database_failed(&e);
                self.keep_for_retry(received);
                return;
            }
        }
        for received in &received {
            release(modem, &self.modem_id, received).await;
        }
    }

    /// Commits, then publishes, then releases the slot (delete, or `AT+CNMA`). On a store error the slot is
    /// kept for a later retry.
    async fn received(&mut self, modem: &ModemHandle, hub: &Hub, received: Received) {
        self.switch_to(hub, &received.modem).await;
        if let Ok(Pdu::StatusReport(report)) = simrelay_pdu::decode(&received.pdu) {
            return self.report(modem, hub, &received, report).await;
        }
        let committed = match self.commit(&received.pdu).await {
            Ok(committed) => committed,
            Err(e) => {
                tracing::error!(modem = %self.modem_id, slot = ?received.slot, error = %e,
                    "cannot commit a message; it stays on the SIM and is tried again");
                hub.database_failed(&e);
                self.keep_for_retry([received]);
                return;
            }
        };
        hub.database_ok();
        for message in committed {
            self.publish(hub, message, Some(self.arrived)).await;
        }
        release(modem, &self.modem_id, &received).await;
    }

    /// Applies a delivery report to the sent message it is about, then publishes the message's new status and
    /// frees the slot. Reports that say nothing final (the service centre is still trying) are only
    /// deleted.
    async fn report(
        &mut self,
        modem: &ModemHandle,
        hub: &Hub,
        received: &Received,
        report: StatusReport,
    ) {
        let slot = received.slot;
        let failure = match report.status_category() {
            _ if report.delivered() => Some(None),
            StatusCategory::PermanentError | StatusCategory::TemporaryStopped => {
                Some(Some(report.status_text()))
            }
            _ => None,
        };
        let mut changed = None;
        if let Some(failure) = failure {
            match self
                .store
                .apply_report(
                    &self.modem_id,
                    report.message_reference,
                    &report.recipient.number,
                    failure,
                )
                .await
            {
                Ok(Some(id)) => changed = Some(id),
                Ok(None) => {
                    tracing::info!(modem = %self.modem_id, reference = report.message_reference,
                    "a delivery report matches no sent message; dropping it")
                }
                Err(e) => {
                    tracing::error!(modem = %self.modem_id, ?slot, error = %e,
                        "cannot record a delivery report; it stays on the SIM and is tried again");
                    hub.database_failed(&e);
                    self.keep_for_retry([received.clone()]);
                    return;
                }
            }
        }
        if let Some(id) = changed {
            publish_stored_sent(&self.store, hub, id).await;
        }
        release(modem, &self.modem_id, received).await;
    }

    /// Commits what this PDU completes; returns the messages that are new.
    async fn commit(&mut self, raw: &[u8]) -> Result<Vec<Message>, StoreError> {
        let message = match classify(&self.modem_id, raw) {
            Classified::Simple(message) => *message,
            Classified::Part(deliver, key) => {
                let stored = self
                    .store
                    .insert_part(&self.modem_id, raw, &deliver.sender.number, key)
                    .await?;
                // Pending or Committed: the assembler (or a committed message) already has this part.
                if stored != PartInserted::New {
                    return Ok(Vec::new());
                }
                match self.assembler.push(*deliver, raw.to_vec(), Instant::now()) {
                    Some(done) => assembled_message(&self.modem_id, done),
                    None => return Ok(Vec::new()),
                }
            }
            Classified::Report => undecodable(
                &self.modem_id,
                raw,
                "a delivery report (SMS-STATUS-REPORT), not a message",
            ),
        };
        Ok(match self.store.insert_message(&message).await? {
            Inserted::New(message) => vec![*message],
            Inserted::Duplicate => Vec::new(),
        })
    }

    /// Commits, flagged incomplete, every multipart set that waited too long.
    async fn expire(&mut self) -> Vec<Message> {
        let mut out = Vec::new();
        for done in self.assembler.expire(Instant::now()) {
            let message = assembled_message(&self.modem_id, done);
            match self.store.insert_message(&message).await {
                Ok(Inserted::New(message)) => out.push(*message),
                Ok(Inserted::Duplicate) => {}
                // The parts stay in the store and are reloaded at the next start.
                Err(e) => {
                    tracing::error!(modem = %self.modem_id, error = %e, "cannot commit an incomplete message")
                }
            }
        }
        out
    }
}

/// Hands a committed message back to the driver: delete its slot, or acknowledge it. The driver does it when
/// nothing more urgent waits and logs a failure; none needs a retry here (the next sweep reads the slot again,
/// or the network delivers an unacknowledged message again, and the dedup key ignores the repeat).
async fn release(modem: &ModemHandle, modem_id: &str, received: &Received) {
    if let Err(e) = modem.queue_release(received).await {
        tracing::warn!(modem = %modem_id, slot = ?received.slot, error = %e,
            "cannot release a committed message from the modem");
    }
}

/// What a raw PDU is to ingest.
enum Classified {
    /// A message on its own: a single-part SMS-DELIVER, or a PDU kept raw (undecodable, an SMS-SUBMIT).
    Simple(Box<NewMessage>),
    /// A part of a multipart message, waiting for its siblings.
    Part(Box<Deliver>, PartKey),
    /// A delivery report.
    Report,
}

fn classify(modem: &str, raw: &[u8]) -> Classified {
    match simrelay_pdu::decode(raw) {
        Ok(Pdu::Deliver(deliver)) => match deliver.concat.filter(|c| c.total > 1) {
            Some(concat) => {
                let key = PartKey {
                    reference: concat.reference,
                    total: concat.total,
                    seq: concat.seq,
                };
                Classified::Part(Box::new(deliver), key)
            }
            None => Classified::Simple(Box::new(single_message(modem, deliver, raw))),
        },
        Ok(Pdu::Submit(_)) => Classified::Simple(Box::new(undecodable(
            modem,
            raw,
            "an outgoing message (SMS-SUBMIT) stored on the SIM",
        ))),
        Ok(Pdu::StatusReport(_)) => Classified::Report,
        Err(e) => Classified::Simple(Box::new(undecodable(
            modem,
            raw,
            &format!("cannot decode the PDU: {e}"),
        ))),
    }
}

/// A message from a single-part SMS-DELIVER.
fn single_message(modem: &str, deliver: Deliver, raw: &[u8]) -> NewMessage {
    let flash = deliver.is_flash();
    with_code(NewMessage {
        modem: modem.to_owned(),
        sender: deliver.sender.number,
        // Empty for binary data: its bytes are not characters, and `content` says what it is.
        text: deliver.text,
        code: None,
        code_span: None,
        confidence: None,
        origin: None,
        alternatives: Vec::new(),
        sent_at: deliver.timestamp,
        encoding: Some(deliver.encoding.as_str().to_owned()),
        decode_error: None,
        incomplete: false,
        pdus: vec![raw.to_vec()],
        extra_pdus: Vec::new(),
        content: content_for_api(&deliver.content),
        flash,
        indications: deliver.indications.iter().map(indication_for_api).collect(),
        truncated: deliver.truncated,
    })
}

/// A message from a completed (or expired) multipart set.
fn assembled_message(modem: &str, done: Assembled<Vec<u8>>) -> NewMessage {
    let flash = done.parts.first().is_some_and(|p| p.deliver.is_flash());
    let indications = done
        .parts
        .iter()
        .flat_map(|p| p.deliver.indications.iter().map(indication_for_api))
        .collect();
    with_code(NewMessage {
        modem: modem.to_owned(),
        sender: done.sender.number,
        text: done.text,
        code: None,
        code_span: None,
        confidence: None,
        origin: None,
        alternatives: Vec::new(),
        sent_at: done.timestamp,
        encoding: Some(done.encoding.as_str().to_owned()),
        decode_error: None,
        incomplete: !done.complete,
        pdus: done.parts.into_iter().map(|p| p.tag).collect(),
        extra_pdus: done.duplicates.into_iter().map(|p| p.tag).collect(),
        content: content_for_api(&done.content),
        flash,
        indications,
        truncated: done.truncated,
    })
}

/// What a message is, in the API's terms: `None` for plain text to the inbox.
fn content_for_api(content: &Content) -> Option<MessageContent> {
    let bytes = |n: usize| Some(u32::try_from(n).unwrap_or(u32::MAX));
    let description = content.describe();
    match content {
        Content::Text { port: None } => None,
        Content::Text { port } => Some(MessageContent {
            kind: ContentKind::Text,
            port: *port,
            source_port: None,
            length: None,
            content_type: None,
            description,
        }),
        Content::Binary {
            port,
            source_port,
            length,
        } => Some(MessageContent {
            kind: ContentKind::Binary,
            port: *port,
            source_port: *source_port,
            length: bytes(*length),
            content_type: None,
            description,
        }),
        Content::WapPush {
            port,
            length,
            content_type,
        } => Some(MessageContent {
            kind: ContentKind::WapPush,
            port: Some(*port),
            source_port: None,
            length: bytes(*length),
            content_type: content_type.clone(),
            description,
        }),
        // A kind of content this engine does not know yet: never shown as text.
        other => Some(MessageContent {
            kind: ContentKind::Binary,
            port: other.port(),
            source_port: None,
            length: None,
            content_type: None,
            description,
        }),
    }
}

/// The payload of a message's raw PDUs: each part's user data (headers left out) in part order, a repeated part
/// number once. What `GET /api/messages/{id}` shows in hex for binary data.
pub(crate) fn payload(raw_pdus: &[Vec<u8>]) -> Vec<u8> {
    let mut parts: Vec<(u8, Vec<u8>)> = raw_pdus
        .iter()
        .filter_map(|raw| match simrelay_pdu::decode(raw) {
            Ok(Pdu::Deliver(d)) => Some((d.concat.map_or(1, |c| c.seq), d.user_data)),
            _ => None,
        })
        .collect();
    // Stable: of two copies of a part number, the first stored stays.
    parts.sort_by_key(|(seq, _)| *seq);
    parts.dedup_by_key(|(seq, _)| *seq);
    parts.into_iter().flat_map(|(_, data)| data).collect()
}

fn indication_for_api(waiting: &MessageWaiting) -> Indication {
    Indication {
        kind: match waiting.kind {
            simrelay_pdu::WaitingKind::Voicemail => WaitingKind::Voicemail,
            simrelay_pdu::WaitingKind::Fax => WaitingKind::Fax,
            simrelay_pdu::WaitingKind::Email => WaitingKind::Email,
            simrelay_pdu::WaitingKind::Video => WaitingKind::Video,
            simrelay_pdu::WaitingKind::Other => WaitingKind::Other,
        },
        active: waiting.active,
        count: waiting.count,
        store: waiting.store,
    }
}

/// A message that keeps a PDU we cannot show as text: the text is the raw PDU in hex, so the user can see
/// and report it (`simrelay decode-pdu` takes exactly this).
fn undecodable(modem: &str, raw: &[u8], why: &str) -> NewMessage {
    NewMessage {
        modem: modem.to_owned(),
        sender: String::new(),
        text: hex::encode_upper(raw),
        code: None,
        code_span: None,
        confidence: None,
        origin: None,
        alternatives: Vec::new(),
        sent_at: now(),
        encoding: None,
        decode_error: Some(why.to_owned()),
        incomplete: false,
        pdus: vec![raw.to_vec()],
        extra_pdus: Vec::new(),
        ..NewMessage::default()
    }
}

/// Fills in the code, its confidence and origin, and the other plausible codes; binary data and WAP push have
/// no text to search. The sender's correction, if the user made one, is applied when the store commits the message.
pub(crate) fn with_code(mut message: NewMessage) -> NewMessage {
    if message
        .content
        .as_ref()
        .is_some_and(|c| c.kind != ContentKind::Text)
    {
        return message;
    }
    (
        message.code,
        message.code_span,
        message.confidence,
        message.origin,
        message.alternatives,
    ) = crate::store::code_fields(simrelay_otp::analyse(&message.text));
    message
}

fn now() -> DateTime<FixedOffset> {
    Utc::now().fixed_offset()
}

/// The driver's status in the API's terms.
pub(crate) fn status_for_api(status: simrelay_modem::ModemStatus, demo: bool) -> ModemStatus {
    use simrelay_modem::Registration as R;
    let signal_bars = status.signal_bars();
    ModemStatus {
        id: status.id,
        port: status.port,
        state: match status.state {
            LinkState::Connecting => ModemState::Connecting,
            LinkState::Connected => ModemState::Connected,
            LinkState::Disconnected => ModemState::Disconnected,
            LinkState::Failed => ModemState::Failed,
            LinkState::PinRequired => ModemState::PinRequired,
            LinkState::PukRequired => ModemState::PukRequired,
        },
        model: status.model,
        operator: status.operator,
        signal_dbm: status.signal_dbm,
        last_error: status.last_error,
        demo,
        label: status.label,
        manufacturer: status.manufacturer,
        imei: status.imei,
        iccid: status.iccid,
        registration: status.registration.map(|r| match r {
            R::Home => Registration::Home,
            R::Roaming => Registration::Roaming,
            R::Searching => Registration::Searching,
            R::Denied => Registration::Denied,
            R::NotRegistered => Registration::NotRegistered,
            R::Unknown => Registration::Unknown,
        }),
        signal_bars,
        storage_used: status.storage.map(|(used, _)| used),
        storage_total: status.storage.map(|(_, total)| total),
        // The hub adds what the network said is waiting (see `Hub::set_waiting`).
        waiting: Vec::new(),
        node: None,
        source: None,
        pin_attempts_left: status.pin_attempts_left,
        health: ModemHealth {
            storages: status
                .storages
                .into_iter()
                .map(|s| StorageUse {
                    memory: s.memory,
                    used: s.used,
                    total: s.total,
                })
                .collect(),
            storage_warning: status.storage_warning,
            resets: status.resets,
            last_reset: status.last_reset,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simrelay_protocol::ServerEvent;

    fn ts() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-11-22T10:00:00+01:00").expect("valid")
    }

    async fn ingest() -> (tempfile::TempDir, Ingest) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("i.db")).await.expect("open");
        (dir, Ingest::new("m1".into(), store))
    }

    #[tokio::test]
    async fn a_single_part_sms_is_decoded_with_its_code_and_stored_once() {
        let (_dir, mut ingest) = ingest().await;
        let pdus = simrelay_pdu::encode_deliver(
            "+4915123456789",
            "Your verification code is 482913.",
            ts(),
        );
        assert_eq!(pdus.len(), 1);
        let committed = ingest.commit(&pdus[0]).await.expect("commit");
        assert_eq!(committed.len(), 1);
        let m = &committed[0];
        assert_eq!(
            (m.sender.as_str(), m.code.as_deref()),
            ("+4915123456789", Some("482913"))
        );
        let [start, end] = m.code_span.expect("span");
        assert_eq!(&m.text[start..end], "482913");
        assert_eq!(m.sent_at, ts());
        assert_eq!(m.encoding.as_deref(), Some("gsm7"));
        assert!(
            ingest.commit(&pdus[0]).await.expect("again").is_empty(),
            "a re-read is a no-op"
        );
        assert_eq!(ingest.store.count().await.expect("count"), 1);
    }

    #[tokio::test]
    async fn a_bad_pdu_is_stored_raw_with_its_error() {
        let (_dir, mut ingest) = ingest().await;
        let raw = [0x07, 0x91, 0x44, 0x77, 0x58, 0x10, 0x06, 0x50, 0x04, 0x0B];
        let committed = ingest.commit(&raw).await.expect("commit");
        assert_eq!(committed.len(), 1);
        assert_eq!(committed[0].text, hex::encode_upper(raw));
        assert!(committed[0]
            .decode_error
            .as_deref()
            .is_some_and(|e| e.starts_with("cannot decode")));
        assert_eq!(
            ingest.store.raw_pdus(committed[0].id).await.expect("raw"),
            vec![raw.to_vec()]
        );
        assert!(
            ingest.commit(&[]).await.expect("empty PDU").len() == 1,
            "even an empty PDU is kept"
        );
    }

    #[tokio::test]
    async fn multipart_parts_survive_a_restart_and_join_in_order() {
        let text = "[DEMO] A long message that needs three parts. ".repeat(8);
        let pdus = simrelay_pdu::encode_deliver("DemoAir", &text, ts());
        assert!(pdus.len() >= 3, "{} parts", pdus.len());
        let (dir, mut first) = ingest().await;
        // The last part arrives first; then the engine stops.
        assert!(first
            .commit(&pdus[pdus.len() - 1])
            .await
            .expect("part")
            .is_empty());
        assert!(first
            .commit(&pdus[pdus.len() - 1])
            .await
            .expect("dup part")
            .is_empty());
        first.store.close().await;

        let store = Store::open(&dir.path().join("i.db")).await.expect("reopen");
        let mut second = Ingest::new("m1".into(), store);
        second.recover().await.expect("recover");
        let mut committed = Vec::new();
        for pdu in &pdus[..pdus.len() - 1] {
            committed.extend(second.commit(pdu).await.expect("part"));
        }
        assert_eq!(committed.len(), 1);
        assert_eq!(committed[0].text, text);
        assert!(!committed[0].incomplete);
        assert_eq!(
            second.store.raw_pdus(committed[0].id).await.expect("raw"),
            pdus
        );
        assert!(second
            .store
            .pending_parts("m1")
            .await
            .expect("pending")
            .is_empty());
    }

    #[tokio::test]
    async fn an_incomplete_set_is_delivered_flagged_after_the_timeout() {
        let pdus = simrelay_pdu::encode_deliver("+4911", &"x".repeat(400), ts());
        let (_dir, mut ingest) = ingest().await;
        ingest.assembler = Assembler::new(Duration::ZERO);
        assert!(ingest.commit(&pdus[0]).await.expect("part").is_empty());
        let expired = ingest.expire().await;
        assert_eq!(expired.len(), 1);
        assert!(expired[0].incomplete);
        assert!(expired[0].text.starts_with("xxx"));
    }

    #[tokio::test]
    async fn binary_data_is_described_never_shown_as_text_and_its_bytes_are_kept() {
        use simrelay_testkit::pdu::{binary_to_port, mms_notification, SENDER};
        let (_dir, mut ingest) = ingest().await;
        let data: Vec<u8> = (0u8..97).map(|b| b.wrapping_mul(37) | 0x80).collect();
        let raw = binary_to_port(SENDER, 5499, &data);
        let m = ingest.commit(&raw).await.expect("commit").remove(0);
        assert_eq!(m.text, "", "bytes never become characters");
        assert_eq!(
            (m.code.as_deref(), m.encoding.as_deref()),
            (None, Some("binary"))
        );
        let content = m.content.clone().expect("content");
        assert_eq!(
            (
                content.kind,
                content.port,
                content.source_port,
                content.length
            ),
            (ContentKind::Binary, Some(5499), Some(9200), Some(97))
        );
        assert_eq!(
            m.description(),
            Some("binary message to port 5499, 97 bytes")
        );
        let stored = ingest.store.get(m.id).await.expect("get").expect("stored");
        assert_eq!(stored, m, "read back the same");
        assert_eq!(
            payload(&ingest.store.raw_pdus(m.id).await.expect("raw")),
            data
        );

        let push = ingest
            .commit(&mms_notification(SENDER, 60))
            .await
            .expect("commit")
            .remove(0);
        let content = push.content.expect("content");
        assert_eq!(
            (content.kind, content.port, content.content_type.as_deref()),
            (
                ContentKind::WapPush,
                Some(2948),
                Some("application/vnd.wap.mms-message")
            )
        );
        assert_eq!(
            content.description.as_deref(),
            Some("WAP push (application/vnd.wap.mms-message), 64 bytes")
        );
    }

    #[tokio::test]
    async fn a_text_to_an_application_port_keeps_its_text_and_code() {
        use simrelay_testkit::pdu::{text_to_port, SENDER};
        let (_dir, mut ingest) = ingest().await;
        let raw = text_to_port(SENDER, 5499, "Your code is 482913");
        let m = ingest.commit(&raw).await.expect("commit").remove(0);
        let content = m.content.clone().expect("content");
        assert_eq!(
            (content.kind, content.port, content.description),
            (ContentKind::Text, Some(5499), None)
        );
        assert_eq!(m.text, "Your code is 482913");
        assert_eq!(m.code.as_deref(), Some("482913"));
        assert_eq!(m.description(), None, "shown as text");
    }

    #[tokio::test]
    async fn flash_and_truncated_messages_are_marked() {
        use simrelay_testkit::pdu::{deliver, flash, truncated, SENDER};
        let (_dir, mut ingest) = ingest().await;
        let m = ingest
            .commit(&flash(SENDER, "Your code is 4711"))
            .await
            .expect("commit")
            .remove(0);
        assert!(m.flash && !m.truncated);
        assert_eq!(m.code.as_deref(), Some("4711"));
        let cut = truncated(
            deliver(SENDER, "Your verification code is 482913, valid 5 min"),
            4,
        );
        let m = ingest.commit(&cut).await.expect("commit").remove(0);
        assert!(m.truncated && !m.flash);
        assert!(m.text.starts_with("Your verification code is 482913"));
        assert_eq!(ingest.store.get(m.id).await.expect("get"), Some(m));
    }

    #[tokio::test]
    async fn a_voicemail_indication_is_kept_and_changes_what_waits() {
        use simrelay_testkit::pdu::voicemail_indication;
        let (_dir, mut ingest) = ingest().await;
        let hub = Hub::new();
        hub.publish_modem(ModemStatus::new("m1", "/dev/pts/1", ModemState::Connected));
        let mut events = hub.subscribe();
        for message in ingest
            .commit(&voicemail_indication("+491710000000", 2))
            .await
            .expect("commit")
        {
            assert!(message.is_pure_indication(), "{message:?}");
            assert_eq!(message.indication_summaries(), vec!["Voicemail: 2 waiting"]);
            ingest.publish(&hub, message, None).await;
        }
        assert!(matches!(events.recv().await, Ok(ServerEvent::Sms { .. })));
        let Ok(ServerEvent::Modem { modem }) = events.recv().await else {
            panic!("the modem's status follows");
        };
        assert_eq!(modem.waiting.len(), 1);
        assert_eq!(modem.waiting[0].summary(), "Voicemail: 2 waiting");

        for message in ingest
            .commit(&voicemail_indication("+491710000000", 0))
            .await
            .expect("commit")
        {
            ingest.publish(&hub, message, None).await;
        }
        assert!(matches!(events.recv().await, Ok(ServerEvent::Sms { .. })));
        let Ok(ServerEvent::Modem { modem }) = events.recv().await else {
            panic!("the modem's status follows");
        };
        assert!(modem.waiting.is_empty(), "an inactive indication clears it");
        assert_eq!(ingest.store.count().await.expect("count"), 2, "both kept");
    }

    #[tokio::test]
    async fn a_multipart_wap_push_counts_the_bytes_of_every_part() {
        let (_dir, mut ingest) = ingest().await;
        // Two parts of a push from Android's test suite (tests/data/pdu/dev/android.jsonl, testUdh#1 and #2).
        let parts = [
            "07914140279510F6440A8111110301003BF56080207130138A8C0B05040B8423F000032A02010106276170706C69636174696F6E2F766E642E7761702E6D6D732D6D65737361676500AF848D0185B4848C8298524E453955304A6D713551414142666C414141414D7741414236514141414141008D908918802B31353132323937373638332F545950453D504C4D4E008A808E022B918805810306977F83687474703A2F2F36",
            "07914140279510F6440A8111110301003BF56080207130238A3B0B05040B8423F000032A0202362E3130322E3137312E3135302F524E453955304A6D713551414142666C414141414D774141423651414141414100",
        ];
        let mut committed = Vec::new();
        for hex in parts {
            let raw = simrelay_pdu::parse_hex(hex).expect("hex");
            committed.extend(ingest.commit(&raw).await.expect("part"));
        }
        assert_eq!(committed.len(), 1);
        let m = &committed[0];
        assert_eq!(m.text, "");
        let content = m.content.as_ref().expect("content");
        assert_eq!(content.kind, ContentKind::WapPush);
        let raw = ingest.store.raw_pdus(m.id).await.expect("raw");
        assert_eq!(
            content.length,
            Some(u32::try_from(payload(&raw).len()).expect("small"))
        );
        assert!(content
            .description
            .as_deref()
            .is_some_and(|d| d.starts_with("WAP push (application/vnd.wap.mms-message)")));
    }
}
