//! The user's word over the extractor's: `PUT /api/messages/{id}/code` ("not this one: it is that one", "no code
//! here", optionally remembered for the sender) and the remembered corrections, `GET /api/corrections` and
//! `DELETE /api/corrections/{sender}`. A remembered correction decides the sender's later messages as they are
//! committed, so `/api/codes/latest` and `/api/codes/wait` answer with the corrected code.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use simrelay_protocol::{CodeChoice, CodeCorrection, CodeKind, CorrectionRule, Message};

use super::error::Failure;
use super::AppState;
use crate::store::Chosen;

/// Longest sender accepted in a path: far longer than any address the network gives (an alphanumeric sender is at
/// most 11 characters, a number at most 20 digits).
const MAX_SENDER: usize = 256;

/// `PUT /api/messages/{id}/code` with a [`CodeChoice`]: the message as it is now stored.
pub(crate) async fn choose(
    State(state): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
    body: Bytes,
) -> Result<Json<Message>, Failure> {
    let id = id
        .map(|Path(id)| id)
        .map_err(|_| Failure::bad_request("the message id must be an integer"))?;
    let shape = |e: String| {
        Failure::bad_request(format!(
            "the body must be {{\"code\": \"<one of the message's codes>\" or null, \"remember\": true|false}}: {e}"
        ))
    };
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| shape(e.to_string()))?;
    if !value.is_object() {
        return Err(shape("not a JSON object".into()));
    }
    let choice: CodeChoice = serde_json::from_value(value).map_err(|e| shape(e.to_string()))?;
    match state
        .store
        .choose_code(id, choice.code.as_deref(), choice.remember)
        .await?
    {
        Chosen::Updated(message) => {
            tracing::info!(id, sender = %message.sender, has_code = message.code.is_some(),
                remember = choice.remember, "the user chose a message's code");
            state.hub.publish_code_changed(*message.clone());
            Ok(Json(*message))
        }
        Chosen::NoMessage => Err(Failure::not_found(format!("there is no message {id}"))),
        Chosen::NotACandidate => Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_a_candidate",
            "that code is neither the message's code nor one of its alternatives; pick one of `alternatives`, or \
             send null for \"no code here\"",
        )),
    }
}

/// `GET /api/corrections`: every remembered correction, newest first.
pub(crate) async fn list(
    State(state): State<AppState>,
) -> Result<Json<Vec<CodeCorrection>>, Failure> {
    let corrections = state.store.corrections().await?;
    Ok(Json(
        corrections
            .into_iter()
            .map(|c| CodeCorrection {
                sender: c.sender,
                rule: wire_rule(c.correction),
                created_at: c.created_at,
            })
            .collect(),
    ))
}

/// `DELETE /api/corrections/{sender}`: forgets the sender's correction (its stored messages keep their codes).
pub(crate) async fn remove(
    State(state): State<AppState>,
    sender: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Failure> {
    let sender = sender
        .map(|Path(s)| s)
        .map_err(|_| Failure::bad_request("the sender must be percent-encoded text"))?;
    if sender.is_empty() || sender.len() > MAX_SENDER {
        return Err(Failure::bad_request(format!(
            "the sender must be 1 to {MAX_SENDER} bytes"
        )));
    }
    if state.store.remove_correction(&sender).await? {
        tracing::info!(%sender, "forgot a code correction");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Failure::not_found(format!(
            "there is no correction for sender {sender:?}"
        )))
    }
}

fn wire_rule(correction: simrelay_otp::Correction) -> CorrectionRule {
    match correction {
        simrelay_otp::Correction::NoCode => CorrectionRule::NoCode,
        simrelay_otp::Correction::Shape(shape) => CorrectionRule::Shape {
            code_kind: match shape.kind {
                simrelay_otp::CodeKind::Numeric => CodeKind::Numeric,
                simrelay_otp::CodeKind::Alphanumeric => CodeKind::Alphanumeric,
            },
            code_len: u32::try_from(shape.len).unwrap_or(u32::MAX),
        },
    }
}
