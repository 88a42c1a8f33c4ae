//! The user's corrections of senders' codes (`code_corrections`): "this sender never sends codes", "this sender's
//! code is the 8-digit one", and the user's word on one message's code ([`Store::choose_code`]). A sender's
//! correction is read in the transaction that commits its later messages ([`Store::insert_messages`]), so it
//! applies at once, on every node sharing the database.

use chrono::{DateTime, FixedOffset, Utc};
use simrelay_otp::{Alternative, Code, CodeKind, CodeShape, Correction, Extraction, Origin};
use simrelay_protocol::{CodeAlternative, CodeOrigin, Message};

use super::backend::{Column, StoreRow};
use super::{on_db, NewMessage, Store, StoreError};

/// The code fields of a message as the extractor's [`Extraction`].
pub(crate) fn extraction_of(
    code: Option<&str>,
    span: Option<[usize; 2]>,
    confidence: Option<f64>,
    origin: Option<&CodeOrigin>,
    alternatives: &[CodeAlternative],
) -> Extraction {
    Extraction {
        code: code.map(|value| Code {
            value: value.to_owned(),
            span: span.map_or(0..0, |[s, e]| s..e),
            confidence: confidence.map_or(0.5, |c| c as f32),
            kind: CodeShape::of(value).kind,
            origin: origin.map(|o| Origin {
                host: o.host.clone(),
                embedded: o.embedded.clone(),
            }),
        }),
        alternatives: alternatives
            .iter()
            .map(|a| Alternative {
                value: a.code.clone(),
                span: a.span[0]..a.span[1],
                confidence: a.confidence as f32,
                kind: CodeShape::of(&a.code).kind,
            })
            .collect(),
    }
}

/// The wire form of an extraction's code fields: code, span, confidence, origin, alternatives.
pub(crate) type CodeFields = (
    Option<String>,
    Option<[usize; 2]>,
    Option<f64>,
    Option<CodeOrigin>,
    Vec<CodeAlternative>,
);

/// A confidence as the API shows it: three decimals are all it means (0.943, not 0.9426758289337158).
fn wire_confidence(c: f32) -> f64 {
    (f64::from(c) * 1000.0).round() / 1000.0
}

/// An [`Extraction`] as the fields a message stores.
pub(crate) fn fields_of(e: Extraction) -> CodeFields {
    let alternatives = e
        .alternatives
        .into_iter()
        .map(|a| CodeAlternative {
            code: a.value,
            span: [a.span.start, a.span.end],
            confidence: wire_confidence(a.confidence),
        })
        .collect();
    match e.code {
        Some(c) => (
            Some(c.value),
            Some([c.span.start, c.span.end]),
            Some(wire_confidence(c.confidence)),
            c.origin.map(|o| CodeOrigin {
                host: o.host,
                embedded: o.embedded,
            }),
            alternatives,
        ),
        None => (None, None, None, None, alternatives),
    }
}

/// `new` after the user's `correction` of its sender.
pub(crate) fn apply(mut new: NewMessage, correction: &Correction) -> NewMessage {
    let extraction = extraction_of(
        new.code.as_deref(),
        new.code_span,
        new.confidence,
        new.origin.as_ref(),
        &new.alternatives,
    )
    .corrected(correction);
    (
        new.code,
        new.code_span,
        new.confidence,
        new.origin,
        new.alternatives,
    ) = fields_of(extraction);
    new
}

/// A stored correction.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeCorrection {
    /// The sender it applies to, exactly as the network gives it.
    pub sender: String,
    /// What the user said.
    pub correction: Correction,
    /// When the user said it.
    pub created_at: DateTime<FixedOffset>,
}

fn columns(correction: &Correction) -> (&'static str, Option<&'static str>, Option<i64>) {
    match correction {
        Correction::NoCode => ("no_code", None, None),
        Correction::Shape(shape) => (
            "shape",
            Some(shape.kind.name()),
            Some(i64::try_from(shape.len).unwrap_or(i64::MAX)),
        ),
    }
}

/// A correction from a row of `code_corrections` (`sender, kind, code_kind, code_len, created_at`), on any backend.
pub(crate) fn from_row<R>(row: &R) -> Result<CodeCorrection, StoreError>
where
    R: StoreRow,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    i64: Column<R::Database>,
    String: Column<R::Database>,
{
    let sender: String = row.try_get("sender")?;
    let corrupt = |reason: String| StoreError::CorruptCorrection {
        sender: sender.clone(),
        reason,
    };
    let kind: String = row.try_get("kind")?;
    let correction = match kind.as_str() {
        "no_code" => Correction::NoCode,
        "shape" => {
            let code_kind: Option<String> = row.try_get("code_kind")?;
            let code_len: Option<i64> = row.try_get("code_len")?;
            let kind = code_kind
                .as_deref()
                .and_then(CodeKind::from_name)
                .ok_or_else(|| corrupt(format!("code_kind {code_kind:?}")))?;
            let len = code_len
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| corrupt(format!("code_len {code_len:?}")))?;
            Correction::Shape(CodeShape { kind, len })
        }
        other => return Err(corrupt(format!("kind {other:?}"))),
    };
    let created_at = row
        .time("created_at")
        .map_err(|e| corrupt(format!("created_at: {e}")))?;
    Ok(CodeCorrection {
        sender: sender.clone(),
        correction,
        created_at,
    })
}

/// What [`Store::choose_code`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Chosen {
    /// The message now has the chosen code (or none); here it is as stored.
    Updated(Box<Message>),
    /// No message has this id.
    NoMessage,
    /// The code is neither the message's code nor one of its alternatives.
    NotACandidate,
}

impl Store {
    /// The user's word on message `id`: its code is `code` (the current one or one of its alternatives), or it has
    /// none (`None`). With `remember`, the same goes for the sender's later messages: "this sender's code is shaped
    /// like this one", or "this sender never sends codes".
    pub async fn choose_code(
        &self,
        id: i64,
        code: Option<&str>,
        remember: bool,
    ) -> Result<Chosen, StoreError> {
        let Some(message) = self.get(id).await? else {
            return Ok(Chosen::NoMessage);
        };
        let mut e = extraction_of(
            message.code.as_deref(),
            message.code_span,
            message.confidence,
            message.origin.as_ref(),
            &message.alternatives,
        );
        let correction = match code {
            None => {
                e = e.corrected(&Correction::NoCode);
                Correction::NoCode
            }
            Some(chosen) if e.code.as_ref().is_some_and(|c| c.value == chosen) => {
                if let Some(c) = e.code.as_mut() {
                    c.confidence = 1.0;
                }
                Correction::Shape(CodeShape::of(chosen))
            }
            Some(chosen) => {
                let Some(i) = e.alternatives.iter().position(|a| a.value == chosen) else {
                    return Ok(Chosen::NotACandidate);
                };
                let picked = e.alternatives.remove(i);
                if let Some(old) = e.code.take() {
                    e.alternatives.insert(
                        0,
                        Alternative {
                            value: old.value,
                            span: old.span,
                            confidence: old.confidence,
                            kind: old.kind,
                        },
                    );
                }
                e.code = Some(Code {
                    value: picked.value,
                    span: picked.span,
                    confidence: 1.0,
                    kind: picked.kind,
                    origin: None,
                });
                Correction::Shape(CodeShape::of(chosen))
            }
        };
        let (code, span, confidence, origin, alternatives) = fields_of(e);
        let (start, end) = match span {
            Some([s, e]) => (Some(super::to_i64(s)), Some(super::to_i64(e))),
            None => (None, None),
        };
        on_db!(self, db => {
            sqlx::query(
                "UPDATE messages SET code = $1, code_start = $2, code_end = $3, code_confidence = $4, \
                 code_origin = $5, code_origin_embedded = $6, code_alternatives = $7 WHERE id = $8",
            )
            .bind(&code)
            .bind(start)
            .bind(end)
            .bind(confidence)
            .bind(origin.as_ref().map(|o| o.host.clone()))
            .bind(origin.as_ref().and_then(|o| o.embedded.clone()))
            .bind(super::alternatives_json(&alternatives))
            .bind(id)
            .execute(db.writer())
            .await?;
        });
        if let Some(cluster) = self.cluster() {
            if let Err(e) = cluster.announce_code_changed(id).await {
                tracing::warn!(message = id, error = %e, "cannot tell the other nodes of a changed code");
            }
        }
        if remember {
            self.set_correction(&message.sender, correction).await?;
        }
        Ok(match self.get(id).await? {
            Some(m) => Chosen::Updated(Box::new(m)),
            None => Chosen::NoMessage,
        })
    }

    /// Stores what the user said about `sender`'s codes (replacing an earlier correction); it applies to the
    /// sender's messages committed from now on.
    pub async fn set_correction(
        &self,
        sender: &str,
        correction: Correction,
    ) -> Result<CodeCorrection, StoreError> {
        let now = Utc::now();
        let (kind, code_kind, code_len) = columns(&correction);
        on_db!(self, db => {
            sqlx::query(
                "INSERT INTO code_corrections (sender, kind, code_kind, code_len, created_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (sender) DO UPDATE SET kind = excluded.kind, code_kind = excluded.code_kind, \
                 code_len = excluded.code_len, created_at = excluded.created_at",
            )
            .bind(sender)
            .bind(kind)
            .bind(code_kind)
            .bind(code_len)
            .bind(db.time(now))
            .execute(db.writer())
            .await?;
        });
        Ok(CodeCorrection {
            sender: sender.to_owned(),
            correction,
            created_at: now.fixed_offset(),
        })
    }

    /// Forgets the correction for `sender`; true if there was one. Messages already stored keep their code.
    pub async fn remove_correction(&self, sender: &str) -> Result<bool, StoreError> {
        on_db!(self, db => {
            let done = sqlx::query("DELETE FROM code_corrections WHERE sender = $1")
                .bind(sender)
                .execute(db.writer())
                .await?;
            Ok(done.rows_affected() > 0)
        })
    }

    /// Every stored correction, newest first.
    pub async fn corrections(&self) -> Result<Vec<CodeCorrection>, StoreError> {
        on_db!(self, db => {
            let rows = sqlx::query(
                "SELECT sender, kind, code_kind, code_len, created_at FROM code_corrections \
                 ORDER BY created_at DESC, sender",
            )
            .fetch_all(db.reader())
            .await?;
            rows.iter().map(from_row).collect()
        })
    }

    /// The correction for `sender`, if the user made one.
    pub async fn correction_for(&self, sender: &str) -> Result<Option<Correction>, StoreError> {
        on_db!(self, db => {
            let row = sqlx::query(
                "SELECT sender, kind, code_kind, code_len, created_at FROM code_corrections WHERE sender = $1",
            )
            .bind(sender)
            .fetch_optional(db.reader())
            .await?;
            row.as_ref().map(from_row).transpose().map(|c| c.map(|c| c.correction))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::stores;
    use crate::store::Inserted;

    fn analysed(sender: &str, text: &str, pdu: u8) -> NewMessage {
        let (code, code_span, confidence, origin, alternatives) =
            fields_of(simrelay_otp::analyse(text));
        NewMessage {
            code,
            code_span,
            confidence,
            origin,
            alternatives,
            sent_at: Utc::now().fixed_offset(),
            ..crate::store::testing::received("m", sender, text, [pdu])
        }
    }

    async fn insert(store: &Store, new: &NewMessage) -> Message {
        match store.insert_message(new).await.expect("insert") {
            Inserted::New(m) => *m,
            Inserted::Duplicate => panic!("duplicate"),
        }
    }

    const TWO_CODES: &str = "Security code: 55102288\nVerification code: 482913";

    #[tokio::test]
    async fn corrections_survive_a_reopen_replace_each_other_and_can_be_removed() {
        for mut store in stores().await {
            let eight = Correction::Shape(CodeShape::of("12345678"));
            store
                .set_correction("Nimbus", Correction::NoCode)
                .await
                .expect("set");
            store
                .set_correction("Nimbus", eight)
                .await
                .expect("replace");
            store
                .set_correction("+4915123456789", Correction::NoCode)
                .await
                .expect("set");
            store.reopen().await;
            let backend = store.backend;
            assert_eq!(
                store.correction_for("Nimbus").await.expect("read"),
                Some(eight),
                "{backend}"
            );
            assert_eq!(
                store.correction_for("+4915123456789").await.expect("read"),
                Some(Correction::NoCode)
            );
            let listed = store.corrections().await.expect("list");
            assert_eq!(listed.len(), 2);
            assert_eq!(
                listed[0].sender, "+4915123456789",
                "newest first ({backend})"
            );
            assert!(store.remove_correction("Nimbus").await.expect("remove"));
            assert!(!store.remove_correction("Nimbus").await.expect("again"));
            assert_eq!(store.correction_for("Nimbus").await.expect("read"), None);
            assert_eq!(store.corrections().await.expect("list").len(), 1);
        }
    }

    #[tokio::test]
    async fn a_senders_correction_decides_its_later_messages_only() {
        for store in stores().await {
            let backend = store.backend;
            let before = insert(&store, &analysed("Nimbus", TWO_CODES, 1)).await;
            assert_eq!(before.code.as_deref(), Some("482913"));
            store
                .set_correction("Nimbus", Correction::Shape(CodeShape::of("12345678")))
                .await
                .expect("set");
            let after = insert(&store, &analysed("Nimbus", TWO_CODES, 2)).await;
            assert_eq!(after.code.as_deref(), Some("55102288"), "{backend}");
            assert_eq!(
                &after.text[after.code_span.expect("span")[0]..][..8],
                "55102288"
            );
            assert_eq!(after.alternatives[0].code, "482913");
            // Stored that way, and other senders are left alone.
            let stored = store.get(after.id).await.expect("get").expect("there");
            assert_eq!(stored, after, "{backend}");
            let other = insert(&store, &analysed("Other", TWO_CODES, 3)).await;
            assert_eq!(other.code.as_deref(), Some("482913"));
            // The first message keeps what it had.
            assert_eq!(
                store
                    .get(before.id)
                    .await
                    .expect("get")
                    .expect("there")
                    .code
                    .as_deref(),
                Some("482913")
            );
            store
                .set_correction("Nimbus", Correction::NoCode)
                .await
                .expect("set");
            let none = insert(&store, &analysed("Nimbus", "Your code is 730215", 4)).await;
            assert_eq!(none.code, None);
            assert_eq!(none.alternatives[0].code, "730215");
        }
    }

    #[tokio::test]
    async fn choosing_an_alternative_or_no_code_updates_the_message_and_may_be_remembered() {
        for store in stores().await {
            let backend = store.backend;
            let m = insert(&store, &analysed("Nimbus", TWO_CODES, 1)).await;
            assert_eq!(
                store
                    .choose_code(m.id, Some("999999"), true)
                    .await
                    .expect("choose"),
                Chosen::NotACandidate
            );
            assert_eq!(
                store.correction_for("Nimbus").await.expect("read"),
                None,
                "nothing remembered"
            );
            let Chosen::Updated(chosen) = store
                .choose_code(m.id, Some("55102288"), true)
                .await
                .expect("choose")
            else {
                panic!("not updated ({backend})")
            };
            assert_eq!(chosen.code.as_deref(), Some("55102288"));
            assert_eq!(chosen.confidence, Some(1.0));
            assert_eq!(chosen.alternatives[0].code, "482913");
            assert_eq!(
                store.correction_for("Nimbus").await.expect("read"),
                Some(Correction::Shape(CodeShape::of("12345678")))
            );
            let Chosen::Updated(none) = store.choose_code(m.id, None, false).await.expect("none")
            else {
                panic!("not updated ({backend})")
            };
            assert_eq!((none.code, none.code_span), (None, None));
            assert_eq!(none.alternatives[0].code, "55102288");
            assert!(
                matches!(
                    store.correction_for("Nimbus").await.expect("read"),
                    Some(Correction::Shape(_))
                ),
                "not remembered this time"
            );
            assert_eq!(
                store
                    .choose_code(m.id + 100, None, true)
                    .await
                    .expect("missing"),
                Chosen::NoMessage
            );
        }
    }

    #[tokio::test]
    async fn a_damaged_row_is_an_error_naming_the_sender_and_is_not_applied() {
        // Only an SQLite file can hold a time that does not parse (a hand edit).
        let store = crate::store::testing::sqlite().await;
        on_db!(store.store, db => {
            sqlx::query(
                "INSERT INTO code_corrections (sender, kind, code_kind, code_len, created_at) \
                 VALUES ('Bank', 'no_code', NULL, NULL, 'yesterday')",
            )
            .execute(db.writer())
            .await
            .expect("insert");
        });
        let err = store.corrections().await.expect_err("damaged");
        assert!(err.to_string().contains("Bank"), "{err}");
        // Its messages are committed as the extractor sees them.
        let m = insert(&store, &analysed("Bank", "Your code is 730215", 1)).await;
        assert_eq!(m.code.as_deref(), Some("730215"));
    }
}
