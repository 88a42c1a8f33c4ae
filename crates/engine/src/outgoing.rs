//! Sending an SMS: the one path `POST /api/send`, MQTT's `<prefix>/send` and Home Assistant's notify entity all
//! take. The message is checked, recorded as `queued` (and published), then handed to the modem in the
//! background; each later status is recorded and published as it happens.
//!
//! In a cluster a modem is driven by one node, and a request may reach any node (MQTT hands each request to one
//! node of the cluster). A message for another node's modem is recorded `queued` under that modem; the row's
//! notification reaches the node driving it, which takes it (`queued` → `sending`, once: [`Store::take_sent`])
//! and sends it. A node that was not listening takes what was queued for its modems when it is back, if it is
//! younger than [`ROUTED_WAIT`]; a message nobody took by then fails, so none is sent long after it was asked for.

use simrelay_modem::ModemHandle;
use simrelay_pdu::SubmitOptions;

use crate::hub::{publish_stored_sent as publish, Hub};
use crate::modems::Modems;
use crate::store::{SendStatus, Store, StoreError};

/// Longest text accepted: ten UCS2 parts, about what phones allow.
pub(crate) const MAX_TEXT: usize = 670;
/// Longest recipient number (E.164 has at most 15 digits; some networks add prefixes).
pub(crate) const MAX_TO: usize = 20;
/// How long a message queued for another node's modem waits for that node to take it.
pub(crate) const ROUTED_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Why a message was not accepted.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    /// The request is wrong (the text says how).
    #[error("{0}")]
    BadRequest(String),
    /// No modem could send it.
    #[error("no modem is configured; start with --modem PATH or --demo")]
    NoModem,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether `to` is a number a modem can send to: digits, optionally after `+`.
pub(crate) fn valid_recipient(to: &str) -> bool {
    let digits = to.strip_prefix('+').unwrap_or(to);
    !digits.is_empty() && to.len() <= MAX_TO && digits.chars().all(|c| c.is_ascii_digit())
}

/// Checks a message before it is sent anywhere (a modem or a provider source): returns the recipient, trimmed.
pub(crate) fn check<'a>(to: &'a str, text: &str) -> Result<&'a str, SendError> {
    let to = to.trim();
    if !valid_recipient(to) {
        return Err(SendError::BadRequest(
            "to must be a phone number: digits, optionally starting with +".into(),
        ));
    }
    if text.is_empty() || text.chars().count() > MAX_TEXT {
        return Err(SendError::BadRequest(format!(
            "text must have 1 to {MAX_TEXT} characters"
        )));
    }
    Ok(to)
}

/// Checks and records a message to `to` (trimmed) through `modem` (an id or port; default: the first
/// connected modem of this node, else of the cluster), and starts sending it. Returns its id in the sent
/// sequence.
pub(crate) async fn submit(
    store: &Store,
    hub: &Hub,
    modems: &Modems,
    to: &str,
    text: &str,
    modem: Option<&str>,
) -> Result<i64, SendError> {
    let to = check(to, text)?;
    let target = pick_modem(hub, modems, modem)?;
    let pdus = encode(to, text)?;
    match target {
        Target::Local(modem_id, handle) => {
            let id = store.insert_sent(&modem_id, to, text, pdus.len()).await?;
            publish(store, hub, id).await;
            tokio::spawn(deliver(store.clone(), hub.clone(), handle, id, pdus));
            Ok(id)
        }
        Target::Remote(modem_id, node) => {
            // The node driving the modem encodes it again (a fresh concatenation reference) when it takes it.
            let id = store.insert_sent(&modem_id, to, text, pdus.len()).await?;
            // Published as `queued` only while it is: the other node may have taken and sent it already, and
            // publishes those statuses itself (each status once in the cluster).
            match store.get_sent(id).await {
                Ok(Some(sent)) if sent.status == SendStatus::Queued => hub.publish_sent(sent),
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(id, error = %e, "cannot read a queued message to publish it")
                }
            }
            tracing::info!(id, modem = %modem_id, %node, "queued a message for another node's modem");
            let (store, hub) = (store.clone(), hub.clone());
            tokio::spawn(async move {
                tokio::time::sleep(ROUTED_WAIT).await;
                let error = format!(
                    "node {node}, which drives the modem, did not take the message within {}s",
                    ROUTED_WAIT.as_secs()
                );
                match store.fail_queued_sent(id, &error).await {
                    Ok(true) => {
                        tracing::warn!(id, %error, "a message for another node's modem was not sent");
                        publish(&store, &hub, id).await;
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(id, error = %e, "cannot fail a message nobody took"),
                }
            });
            Ok(id)
        }
    }
}

/// Sends queued message `id` if this node drives its modem and nobody took it yet (another node queued it for
/// this node's modem). Anything else is left alone.
pub(crate) async fn take(store: &Store, hub: &Hub, modems: &Modems, id: i64) {
    let sent = match store.get_sent(id).await {
        Ok(Some(sent)) if sent.status == simrelay_protocol::SendStatus::Queued => sent,
        Ok(_) => return,
        Err(e) => return tracing::warn!(id, error = %e, "cannot read a queued message"),
    };
    let Some(handle) = modems.named(&sent.modem) else {
        return;
    };
    let pdus = match encode(&sent.to, &sent.text) {
        Ok(pdus) => pdus,
        Err(e) => {
            // Checked by the node that queued it; another version may encode differently.
            let error = e.to_string();
            if let Ok(true) = store.fail_queued_sent(id, &error).await {
                publish(store, hub, id).await;
            }
            return;
        }
    };
    tracing::info!(id, modem = %sent.modem, "sending a message another node queued for this node's modem");
    tokio::spawn(deliver(store.clone(), hub.clone(), handle, id, pdus));
}

fn encode(to: &str, text: &str) -> Result<Vec<Vec<u8>>, SendError> {
    let options = SubmitOptions {
        concat_reference: rand::random(),
        // Delivery reports turn `sent` into `delivered` (or `failed`); networks normally do not charge for them.
        request_status_report: true,
        ..SubmitOptions::default()
    };
    simrelay_pdu::encode_submit(to, text, &options)
        .map_err(|e| SendError::BadRequest(format!("cannot encode the message: {e}")))
}

/// Where a message goes: a modem this node drives, or another node's (id, node).
enum Target {
    Local(String, ModemHandle),
    Remote(String, String),
}

fn pick_modem(hub: &Hub, modems: &Modems, wanted: Option<&str>) -> Result<Target, SendError> {
    let listed = hub.modems();
    // Provider numbers send only through `POST /api/send`'s own path; never route to one.
    let remote = |m: &simrelay_protocol::ModemStatus| {
        (!hub.is_local(m) && m.source.is_none())
            .then(|| {
                m.node
                    .clone()
                    .map(|node| Target::Remote(m.id.clone(), node))
            })
            .flatten()
    };
    match wanted {
        // Sent messages are recorded under the modem's current id, the one its delivery reports come under.
        Some(id) => {
            if let Some(h) = modems.named(id) {
                return Ok(Target::Local(h.id(), h));
            }
            // Another node's modem by its id only: a port path names a device on one machine, and other
            // machines may have the same path.
            listed
                .iter()
                .find(|m| m.id == id)
                .and_then(remote)
                .ok_or_else(|| {
                    SendError::BadRequest(format!("there is no modem {id:?}; see GET /api/modems"))
                })
        }
        None => {
            let connected = |m: &&simrelay_protocol::ModemStatus| {
                m.state == simrelay_protocol::ModemState::Connected
            };
            // This node's connected modem first (no round trip through the database), then another node's,
            // then this node's first modem whatever its state (it says why it cannot send).
            let local = listed
                .iter()
                .filter(connected)
                .filter(|m| hub.is_local(m))
                .find_map(|m| modems.named(&m.id));
            if let Some(h) = local {
                return Ok(Target::Local(h.id(), h));
            }
            if let Some(target) = listed.iter().filter(connected).find_map(remote) {
                return Ok(target);
            }
            modems
                .handles()
                .first()
                .map(|h| Target::Local(h.id(), h.clone()))
                .ok_or(SendError::NoModem)
        }
    }
}

/// Sends message `id` (queued) through `modem`, recording each status; a message someone else took meanwhile is
/// left to them.
async fn deliver(store: Store, hub: Hub, modem: ModemHandle, id: i64, pdus: Vec<Vec<u8>>) {
    let record = |status, error: Option<String>, refs: Vec<u8>| {
        let store = store.clone();
        let hub = hub.clone();
        async move {
            match store.update_sent(id, status, error.as_deref(), &refs).await {
                Ok(()) => publish(&store, &hub, id).await,
                Err(e) => {
                    tracing::error!(id, error = %e, "cannot record the status of a sent message")
                }
            }
        }
    };
    match store.take_sent(id).await {
        Ok(true) => publish(&store, &hub, id).await,
        Ok(false) => return,
        Err(e) => {
            tracing::error!(id, error = %e, "cannot record that a message is being sent; not sending it");
            return;
        }
    }
    match modem.send(pdus).await {
        Ok(refs) => record(SendStatus::Sent, None, refs).await,
        Err(e) => {
            tracing::warn!(id, error = %e, "sending failed");
            record(SendStatus::Failed, Some(e.to_string()), Vec::new()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_digits_with_an_optional_plus() {
        for ok in ["+4915123456789", "015123456789", "12345"] {
            assert!(valid_recipient(ok), "{ok}");
        }
        for bad in ["", "+", "+49 151", "abc", "+123456789012345678901", "++49"] {
            assert!(!valid_recipient(bad), "{bad}");
        }
    }
}
