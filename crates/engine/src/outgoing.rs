//! Sending an SMS: the one path `POST /api/send`, MQTT's `<prefix>/send` and Home Assistant's notify entity all
//! take. The message is checked, recorded as `queued` (and published), then handed to the modem in the
//! background; each later status is recorded and published as it happens.

use simrelay_modem::ModemHandle;
use simrelay_pdu::SubmitOptions;

use crate::hub::{publish_stored_sent as publish, Hub};
use crate::modems::Modems;
use crate::store::{SendStatus, Store, StoreError};

/// Longest text accepted: ten UCS2 parts, about what phones allow.
pub(crate) const MAX_TEXT: usize = 670;
/// Longest recipient number (E.164 has at most 15 digits; some networks add prefixes).
pub(crate) const MAX_TO: usize = 20;

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
/// connected modem), and starts sending it. Returns its id in the sent sequence.
pub(crate) async fn submit(
    store: &Store,
    hub: &Hub,
    modems: &Modems,
    to: &str,
    text: &str,
    modem: Option<&str>,
) -> Result<i64, SendError> {
    let to = check(to, text)?;
    let (modem_id, handle) = pick_modem(hub, modems, modem)?;
    let options = SubmitOptions {
        concat_reference: rand::random(),
        // Delivery reports turn `sent` into `delivered` (or `failed`); networks normally do not charge for them.
        request_status_report: true,
        ..SubmitOptions::default()
    };
    let pdus = simrelay_pdu::encode_submit(to, text, &options)
        .map_err(|e| SendError::BadRequest(format!("cannot encode the message: {e}")))?;
    let id = store.insert_sent(&modem_id, to, text, pdus.len()).await?;
    publish(store, hub, id).await;
    tokio::spawn(deliver(store.clone(), hub.clone(), handle, id, pdus));
    Ok(id)
}

fn pick_modem(
    hub: &Hub,
    modems: &Modems,
    wanted: Option<&str>,
) -> Result<(String, ModemHandle), SendError> {
    match wanted {
        // Sent messages are recorded under the modem's current id, the one its delivery reports come under.
        Some(id) => modems.named(id).map(|h| (h.id(), h)).ok_or_else(|| {
            SendError::BadRequest(format!("there is no modem {id:?}; see GET /api/modems"))
        }),
        None => {
            let connected = hub
                .modems()
                .into_iter()
                .find(|m| m.state == simrelay_protocol::ModemState::Connected);
            let id = connected
                .map(|m| m.id)
                .or_else(|| modems.handles().first().map(ModemHandle::id));
            id.and_then(|id| modems.named(&id).map(|h| (h.id(), h)))
                .ok_or(SendError::NoModem)
        }
    }
}

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
    record(SendStatus::Sending, None, Vec::new()).await;
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
