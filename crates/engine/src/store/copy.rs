//! Copying a whole store into an empty one, on any pair of backends: how one SQLite relay's history moves into
//! the PostgreSQL database of a cluster (`simrelay copy-db`), or back into a file.
//!
//! Rows keep their ids, so links (`#/message/<id>`), `after=` cursors and delivery reports stay valid; each table
//! is read by id in pages and written in batches of [`BATCH`] rows, one transaction each (PostgreSQL's trigger
//! then names at most that many messages in one notification). Afterwards each id sequence is moved past the
//! copied ids. The node's own rows (remembered modem ids, added modems) are copied under the target's node.
//! Beside the history it copies what the relay keeps in its database that a user would miss: incoming calls,
//! the last week of signal samples, the generated webhook signing key (receivers keep verifying), Home
//! Assistant's notify recipients and what the network said is waiting (voicemail). Paired devices live in
//! `tokens.toml` on a single relay and in the database in a cluster: [`Store::import_paired_devices`] moves them.
//!
//! Copied messages are history, not news: the outbox trigger queues deliveries for every message inserted, so
//! each batch deletes the rows it queued in the transaction that wrote them, and a target database that already
//! has delivery targets (a node started on it before) never sees a delivery of an old message. On PostgreSQL the
//! batches are also quiet ([`Backend::QUIET`](super::backend::Backend)): a node running on the target is not
//! told of copied messages as if they had just arrived (its hooks and MQTT would act on them).

use chrono::{DateTime, FixedOffset, Utc};
use simrelay_protocol::Message;
use sqlx::Row;

use super::{message_from_row, on_db, Store, StoreError, MESSAGE_COLUMNS};

/// Rows per read page and per write transaction.
const BATCH: i64 = 500;

/// What [`Store::copy_into`] copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Messages.
    pub messages: u64,
    /// Raw PDUs (of messages, and parts still waiting for their siblings).
    pub pdus: u64,
    /// Sent messages.
    pub sent: u64,
    /// Saved settings.
    pub settings: u64,
    /// Added modems and remembered modem ids of this node.
    pub modems: u64,
    /// Incoming calls.
    pub calls: u64,
    /// The user's code corrections, conversation read marks, provider delivery records, signal samples, the
    /// generated webhook signing key, Home Assistant notify recipients and waiting-message indications.
    pub other: u64,
}

/// A message's stored columns beyond its wire form: its dedup key and its code's details as stored.
struct Stored {
    sha256: String,
    confidence: Option<f64>,
    origin: [Option<String>; 2],
    alternatives: Option<String>,
}

struct Pdu {
    id: i64,
    message_id: Option<i64>,
    modem: String,
    sha256: String,
    raw: Vec<u8>,
    received_at: DateTime<FixedOffset>,
    sender: Option<String>,
    concat: [Option<i64>; 3],
}

struct Sent {
    id: i64,
    text: [String; 4],
    optional: [Option<String>; 3],
    parts: i64,
    times: [DateTime<FixedOffset>; 2],
}

struct Call {
    id: i64,
    modem: String,
    caller: Option<String>,
    at: DateTime<FixedOffset>,
    rejected: bool,
}

/// Copies one table page by page in id order: `read` gives the rows after an id, `write` puts a page into the
/// target, `id` is a row's id (the next page's cursor). Returns how many rows were written.
async fn copy_table<T>(
    read: impl AsyncFn(i64) -> Result<Vec<T>, StoreError>,
    write: impl AsyncFn(&[T]) -> Result<u64, StoreError>,
    id: impl Fn(&T) -> i64,
) -> Result<u64, StoreError> {
    let (mut after, mut written) = (0, 0);
    loop {
        let page = read(after).await?;
        let Some(last) = page.last() else {
            return Ok(written);
        };
        after = id(last);
        written += write(&page).await?;
    }
}

fn utc(t: DateTime<FixedOffset>) -> DateTime<Utc> {
    t.with_timezone(&Utc)
}

impl Store {
    /// Copies everything in this store into `target`, which must hold no message yet.
    pub async fn copy_into(&self, target: &Store) -> Result<CopyReport, StoreError> {
        if target.count().await? > 0 {
            return Err(StoreError::NotEmpty);
        }
        let mut report = CopyReport {
            messages: copy_table(
                async |after| self.messages_page(after).await,
                async |page| target.write_messages(page).await,
                |(message, _)| message.id,
            )
            .await?,
            pdus: copy_table(
                async |after| self.pdus_page(after).await,
                async |page| target.write_pdus(page).await,
                |pdu| pdu.id,
            )
            .await?,
            sent: copy_table(
                async |after| self.sent_page(after).await,
                async |page| target.write_sent(page).await,
                |sent| sent.id,
            )
            .await?,
            calls: copy_table(
                async |after| self.calls_page(after).await,
                async |page| target.write_calls(page).await,
                |call| call.id,
            )
            .await?,
            ..CopyReport::default()
        };
        report.settings = self.copy_settings(target).await?;
        report.modems = self.copy_node_rows(target).await?;
        report.other = self.copy_small_tables(target).await?;
        report.other += self.copy_modem_state(target).await?;
        target.resequence().await?;
        Ok(report)
    }

    async fn messages_page(&self, after: i64) -> Result<Vec<(Message, Stored)>, StoreError> {
        on_db!(self, db => {
            let rows = sqlx::query(&format!(
                "SELECT {MESSAGE_COLUMNS}, pdu_sha256 FROM messages WHERE id > $1 ORDER BY id LIMIT $2"
            ))
            .bind(after)
            .bind(BATCH)
            .fetch_all(db.reader())
            .await?;
            rows.iter()
                .map(|row| {
                    Ok((
                        message_from_row(row)?,
                        Stored {
                            sha256: row.try_get("pdu_sha256")?,
                            confidence: row.try_get("code_confidence")?,
                            origin: [row.try_get("code_origin")?, row.try_get("code_origin_embedded")?],
                            alternatives: row.try_get("code_alternatives")?,
                        },
                    ))
                })
                .collect()
        })
    }

    async fn write_messages(&self, page: &[(Message, Stored)]) -> Result<u64, StoreError> {
        on_db!(self, db => {
            let mut tx = db.begin().await?;
            if let Some(quiet) = db_quiet(db) {
                sqlx::query(quiet).execute(&mut *tx).await?;
            }
            let mut insert = db.builder(
                "INSERT INTO messages (id, modem, sender, text, code, code_start, code_end, sent_at, \
                 received_at, encoding, decode_error, incomplete, pdu_sha256, code_confidence, code_origin, \
                 code_origin_embedded, code_alternatives) ",
            );
            insert.push_values(page, |mut row, (m, stored)| {
                let span = m.code_span.map(|[s, e]| (super::to_i64(s), super::to_i64(e)));
                row.push_bind(m.id)
                    .push_bind(&m.modem)
                    .push_bind(&m.sender)
                    .push_bind(&m.text)
                    .push_bind(&m.code)
                    .push_bind(span.map(|s| s.0))
                    .push_bind(span.map(|s| s.1))
                    .push_bind(m.sent_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false))
                    .push_bind(db.time(utc(m.received_at)))
                    .push_bind(&m.encoding)
                    .push_bind(&m.decode_error)
                    .push_bind(m.incomplete)
                    .push_bind(&stored.sha256)
                    .push_bind(stored.confidence)
                    .push_bind(&stored.origin[0])
                    .push_bind(&stored.origin[1])
                    .push_bind(&stored.alternatives);
            });
            let done = insert.build().execute(&mut *tx).await?.rows_affected();
            let mut queued = db.builder("DELETE FROM deliveries WHERE message_id IN (");
            let mut ids = queued.separated(", ");
            for (m, _) in page {
                ids.push_bind(m.id);
            }
            queued.push(")");
            queued.build().execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(done)
        })
    }

    async fn pdus_page(&self, after: i64) -> Result<Vec<Pdu>, StoreError> {
        on_db!(self, db => {
            let rows = sqlx::query(
                "SELECT id, message_id, modem, sha256, raw, received_at, sender, concat_ref, concat_total, \
                 concat_seq FROM pdus WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after)
            .bind(BATCH)
            .fetch_all(db.reader())
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(Pdu {
                        id: row.try_get("id")?,
                        message_id: row.try_get("message_id")?,
                        modem: row.try_get("modem")?,
                        sha256: row.try_get("sha256")?,
                        raw: row.try_get("raw")?,
                        received_at: row.time("received_at")?,
                        sender: row.try_get("sender")?,
                        concat: [
                            row.try_get("concat_ref")?,
                            row.try_get("concat_total")?,
                            row.try_get("concat_seq")?,
                        ],
                    })
                })
                .collect()
        })
    }

    async fn write_pdus(&self, page: &[Pdu]) -> Result<u64, StoreError> {
        on_db!(self, db => {
            let mut tx = db.begin().await?;
            let mut insert = db.builder(
                "INSERT INTO pdus (id, message_id, modem, sha256, raw, received_at, sender, concat_ref, \
                 concat_total, concat_seq) ",
            );
            insert.push_values(page, |mut row, p| {
                row.push_bind(p.id)
                    .push_bind(p.message_id)
                    .push_bind(&p.modem)
                    .push_bind(&p.sha256)
                    .push_bind(p.raw.as_slice())
                    .push_bind(db.time(utc(p.received_at)))
                    .push_bind(&p.sender)
                    .push_bind(p.concat[0])
                    .push_bind(p.concat[1])
                    .push_bind(p.concat[2]);
            });
            let done = insert.build().execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok(done)
        })
    }

    async fn sent_page(&self, after: i64) -> Result<Vec<Sent>, StoreError> {
        on_db!(self, db => {
            let rows = sqlx::query(
                "SELECT id, modem, recipient, text, status, error, message_refs, delivered_refs, parts, \
                 created_at, updated_at FROM sent WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after)
            .bind(BATCH)
            .fetch_all(db.reader())
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(Sent {
                        id: row.try_get("id")?,
                        text: [
                            row.try_get("modem")?,
                            row.try_get("recipient")?,
                            row.try_get("text")?,
                            row.try_get("status")?,
                        ],
                        optional: [
                            row.try_get("error")?,
                            row.try_get("message_refs")?,
                            row.try_get("delivered_refs")?,
                        ],
                        parts: row.try_get("parts")?,
                        times: [row.time("created_at")?, row.time("updated_at")?],
                    })
                })
                .collect()
        })
    }

    async fn write_sent(&self, page: &[Sent]) -> Result<u64, StoreError> {
        on_db!(self, db => {
            let mut tx = db.begin().await?;
            if let Some(quiet) = db_quiet(db) {
                sqlx::query(quiet).execute(&mut *tx).await?;
            }
            let mut insert = db.builder(
                "INSERT INTO sent (id, modem, recipient, text, status, error, message_refs, delivered_refs, \
                 parts, created_at, updated_at) ",
            );
            insert.push_values(page, |mut row, s| {
                row.push_bind(s.id);
                for text in &s.text {
                    row.push_bind(text);
                }
                for optional in &s.optional {
                    row.push_bind(optional);
                }
                row.push_bind(s.parts)
                    .push_bind(db.time(utc(s.times[0])))
                    .push_bind(db.time(utc(s.times[1])));
            });
            let done = insert.build().execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok(done)
        })
    }

    async fn calls_page(&self, after: i64) -> Result<Vec<Call>, StoreError> {
        on_db!(self, db => {
            let rows = sqlx::query(
                "SELECT id, modem, caller, at, rejected FROM calls WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after)
            .bind(BATCH)
            .fetch_all(db.reader())
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(Call {
                        id: row.try_get("id")?,
                        modem: row.try_get("modem")?,
                        caller: row.try_get("caller")?,
                        at: row.time("at")?,
                        rejected: row.try_get("rejected")?,
                    })
                })
                .collect()
        })
    }

    async fn write_calls(&self, page: &[Call]) -> Result<u64, StoreError> {
        on_db!(self, db => {
            let mut insert = db.builder("INSERT INTO calls (id, modem, caller, at, rejected) ");
            insert.push_values(page, |mut row, c| {
                row.push_bind(c.id)
                    .push_bind(&c.modem)
                    .push_bind(&c.caller)
                    .push_bind(db.time(utc(c.at)))
                    .push_bind(c.rejected);
            });
            Ok(insert.build().execute(db.writer()).await?.rows_affected())
        })
    }

    /// What the relay keeps per modem and for its deliveries beside the history: signal samples (the Modems
    /// screen's chart), waiting-message indications, Home Assistant notify recipients, and the generated webhook
    /// signing key, which replaces one a node made on the target before (receivers know the relay's).
    async fn copy_modem_state(&self, target: &Store) -> Result<u64, StoreError> {
        type Waiting = (String, String, Option<i64>, DateTime<FixedOffset>);
        /// `(is a generated secret, name or modem, secret or recipient)`.
        type Pair = (bool, String, String);
        type Read = (Vec<(String, i64, i32)>, Vec<Waiting>, Vec<Pair>);
        let (samples, waiting, pairs): Read = on_db!(self, db => {
            let samples = sqlx::query("SELECT modem, minute, dbm FROM signal_samples ORDER BY modem, minute")
                .fetch_all(db.reader())
                .await?
                .iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?;
            let waiting = sqlx::query(
                "SELECT modem, kind, count, updated_at FROM modem_waiting ORDER BY modem, kind",
            )
            .fetch_all(db.reader())
            .await?
            .iter()
            .map(|row| {
                Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.time("updated_at")?))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
            let mut pairs = Vec::new();
            for row in sqlx::query("SELECT name, secret FROM generated_secrets ORDER BY name")
                .fetch_all(db.reader())
                .await?
            {
                pairs.push((true, row.try_get(0)?, row.try_get(1)?));
            }
            for row in sqlx::query("SELECT modem, recipient FROM ha_recipients ORDER BY modem")
                .fetch_all(db.reader())
                .await?
            {
                pairs.push((false, row.try_get(0)?, row.try_get(1)?));
            }
            (samples, waiting, pairs)
        });
        let copied = samples.len() + waiting.len() + pairs.len();
        on_db!(target, db => {
            let mut tx = db.begin().await?;
            for chunk in samples.chunks(usize::try_from(BATCH).unwrap_or(500)) {
                let mut insert = db.builder("INSERT INTO signal_samples (modem, minute, dbm) ");
                insert.push_values(chunk, |mut row, (modem, minute, dbm)| {
                    row.push_bind(modem).push_bind(*minute).push_bind(*dbm);
                });
                insert.push(" ON CONFLICT (modem, minute) DO NOTHING");
                insert.build().execute(&mut *tx).await?;
            }
            for (modem, kind, count, updated_at) in &waiting {
                sqlx::query(
                    "INSERT INTO modem_waiting (modem, kind, count, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (modem, kind) DO NOTHING",
                )
                .bind(modem)
                .bind(kind)
                .bind(*count)
                .bind(db.time(utc(*updated_at)))
                .execute(&mut *tx)
                .await?;
            }
            for (secret, key, value) in &pairs {
                let sql = if *secret {
                    "INSERT INTO generated_secrets (name, secret) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET secret = excluded.secret"
                } else {
                    "INSERT INTO ha_recipients (modem, recipient) VALUES ($1, $2) \
                     ON CONFLICT (modem) DO UPDATE SET recipient = excluded.recipient"
                };
                sqlx::query(sql).bind(key).bind(value).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(u64::try_from(copied).unwrap_or(u64::MAX))
    }

    async fn copy_settings(&self, target: &Store) -> Result<u64, StoreError> {
        let saved = self.saved_settings().await?;
        let map: serde_json::Map<String, serde_json::Value> = saved.into_iter().collect();
        target.save_settings(&map).await?;
        Ok(u64::try_from(map.len()).unwrap_or(u64::MAX))
    }

    /// This node's added modems and remembered ids, under the target's node.
    async fn copy_node_rows(&self, target: &Store) -> Result<u64, StoreError> {
        let mut copied = 0;
        for modem in self.added_modems().await? {
            target.remember_added_modem(&modem).await?;
            copied += 1;
        }
        let ids: Vec<(String, String)> = on_db!(self, db => {
            sqlx::query("SELECT port, id FROM modem_ids WHERE node = $1 ORDER BY port")
                .bind(db.node())
                .fetch_all(db.reader())
                .await?
                .iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                .collect::<Result<_, sqlx::Error>>()?
        });
        for (port, id) in ids {
            target.remember_modem_id(&port, &id).await?;
            copied += 1;
        }
        Ok(copied)
    }

    /// The code corrections, conversation read marks and provider delivery records (small tables).
    async fn copy_small_tables(&self, target: &Store) -> Result<u64, StoreError> {
        let mut copied = 0;
        for c in self.corrections().await? {
            target.set_correction(&c.sender, c.correction).await?;
            copied += 1;
        }
        let reads: Vec<(String, i64)> = on_db!(self, db => {
            sqlx::query("SELECT peer, read_up_to FROM conversation_reads ORDER BY peer")
                .fetch_all(db.reader())
                .await?
                .iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                .collect::<Result<_, sqlx::Error>>()?
        });
        for (peer, up_to) in reads {
            target.mark_read(&peer, Some(up_to)).await?;
            copied += 1;
        }
        type ProviderRow = (
            String,
            String,
            Option<i64>,
            String,
            Option<String>,
            DateTime<FixedOffset>,
        );
        let provider: Vec<ProviderRow> = on_db!(self, db => {
            sqlx::query(
                "SELECT source, provider_id, sent_id, status, error, updated_at FROM provider_sent \
                 ORDER BY source, provider_id",
            )
            .fetch_all(db.reader())
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get(0)?,
                    row.try_get(1)?,
                    row.try_get(2)?,
                    row.try_get(3)?,
                    row.try_get(4)?,
                    row.time("updated_at")?,
                ))
            })
            .collect::<Result<_, StoreError>>()?
        });
        for (source, provider_id, sent_id, status, error, updated_at) in provider {
            on_db!(target, db => {
                sqlx::query(
                    "INSERT INTO provider_sent (source, provider_id, sent_id, status, error, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&source)
                .bind(&provider_id)
                .bind(sent_id)
                .bind(&status)
                .bind(&error)
                .bind(db.time(utc(updated_at)))
                .execute(db.writer())
                .await?;
            });
            copied += 1;
        }
        Ok(copied)
    }

    /// Moves each id sequence past the highest id present, so new rows never take a copied id.
    async fn resequence(&self) -> Result<(), StoreError> {
        on_db!(self, db => {
            for table in ["messages", "pdus", "sent", "calls"] {
                if let Some(sql) = db.resequence(table) {
                    sqlx::query(&sql).execute(db.writer()).await?;
                }
            }
        });
        Ok(())
    }
}

/// The backend's `QUIET`, through a value (an associated constant cannot be named from a macro body's binding).
fn db_quiet<B: super::backend::Backend>(_: &B) -> Option<&'static str> {
    B::QUIET
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::search::tests::{store_with, COMPLETIONS};
    use crate::store::testing::{postgres, sqlite};
    use crate::store::{AddedModem, Inserted, MessageQuery, PartKey, SendStatus};

    fn webhook() -> crate::store::deliveries::TargetRow {
        crate::store::deliveries::TargetRow {
            name: "webhook".into(),
            kind: simrelay_protocol::ForwarderKind::Webhook,
            only_codes: false,
            sender_like: None,
            modem: None,
        }
    }

    /// SQLite to PostgreSQL and back: every row arrives with its id, search finds the same messages, new rows
    /// continue after the copied ids, and a target that has delivery targets queues none for copied messages.
    #[tokio::test]
    async fn a_history_moves_between_backends_whole() {
        let from = sqlite().await;
        let ids = store_with(&from, &COMPLETIONS).await;
        from.insert_part(
            "m",
            b"waiting",
            "S",
            PartKey {
                reference: 1,
                total: 2,
                seq: 1,
            },
        )
        .await
        .expect("part");
        let sent = from
            .insert_sent("m", "+4915123456789", "hi", 1)
            .await
            .expect("sent");
        from.update_sent(sent, SendStatus::Sent, None, &[9])
            .await
            .expect("update");
        from.save_settings(
            serde_json::json!({"hide_code": true, "lan": true})
                .as_object()
                .expect("obj"),
        )
        .await
        .expect("settings");
        from.remember_added_modem(&AddedModem::Demo)
            .await
            .expect("added");
        from.remember_modem_id("/dev/ttyUSB2", "imei:1")
            .await
            .expect("id");
        assert!(
            from.delete(ids[1]).await.expect("delete"),
            "a gap in the ids is kept"
        );
        from.set_correction("Bank", simrelay_otp::Correction::NoCode)
            .await
            .expect("correction");
        let peer = from
            .get(ids[2])
            .await
            .expect("get")
            .expect("message")
            .sender;
        from.mark_read(&peer, Some(ids[2])).await.expect("read");
        let call = from
            .insert_call("m", Some("+4915100000001"), Utc::now(), true)
            .await
            .expect("call");
        from.record_signal("m", Utc::now(), -71)
            .await
            .expect("signal");
        let secret = from
            .generated_secret("hook_secret", "the relay's key")
            .await
            .expect("secret");
        from.set_ha_recipient("m", Some("+4915100000002"))
            .await
            .expect("recipient");

        let to = postgres().await;
        // A node started on the target before made a signing key of its own: the relay's replaces it, since
        // its webhook receivers know that one.
        to.generated_secret("hook_secret", "made on the target")
            .await
            .expect("secret");
        // A node ran on the target before and set up a webhook: the copied messages are not delivered to it.
        to.sync_delivery_targets(&[webhook()])
            .await
            .expect("a delivery target");
        // A node running on the target meanwhile hears of nothing copied.
        let watcher = to.open_node_again("watcher").await;
        let mut listener = watcher
            .cluster()
            .expect("PostgreSQL")
            .listen()
            .await
            .expect("listen");
        let report = from.copy_into(&to).await.expect("copy");
        assert_eq!(
            report,
            CopyReport {
                messages: 6,
                pdus: 7,
                sent: 1,
                calls: 1,
                settings: 2,
                modems: 2,
                other: 5
            }
        );
        assert_eq!(
            to.calls(None, None, 10).await.expect("calls").calls,
            vec![call.clone()],
            "a call keeps its id, time and rejection"
        );
        assert_eq!(
            to.signal_since("m", Utc::now() - chrono::Duration::hours(1))
                .await
                .expect("signal"),
            from.signal_since("m", Utc::now() - chrono::Duration::hours(1))
                .await
                .expect("signal")
        );
        assert_eq!(
            to.generated_secret("hook_secret", "unused")
                .await
                .expect("secret"),
            secret
        );
        let base = simrelay_protocol::Settings::default();
        let here = to.effective_settings(base.clone()).await.expect("settings");
        assert!(
            here.hide_code && here.lan,
            "the relay's settings, LAN sharing as the target node's"
        );
        let there = watcher.effective_settings(base).await.expect("settings");
        assert!(
            there.hide_code && !there.lan,
            "another node shares the settings, not the LAN"
        );
        assert_eq!(
            to.ha_recipient("m").await.expect("recipient").as_deref(),
            Some("+4915100000002")
        );
        let next_call = to
            .insert_call("m", None, Utc::now(), false)
            .await
            .expect("a call after the copy");
        assert!(next_call.id > call.id, "the calls' sequence moved on");
        for store in [&from, &to] {
            let found = store
                .search(&MessageQuery {
                    text: Some("cod".into()),
                    limit: 100,
                    ..Default::default()
                })
                .await
                .expect("search");
            let found: Vec<i64> = found.messages.iter().map(|m| m.id).collect();
            assert_eq!(
                found,
                vec![ids[6], ids[4], ids[3], ids[2], ids[0]],
                "{}",
                store.backend
            );
        }
        assert_eq!(
            to.get(ids[3]).await.expect("get"),
            from.get(ids[3]).await.expect("get")
        );
        assert_eq!(
            to.pending_parts("m").await.expect("parts"),
            vec![b"waiting".to_vec()]
        );
        assert_eq!(
            to.get_sent(sent).await.expect("sent"),
            from.get_sent(sent).await.expect("sent")
        );
        assert_eq!(
            to.added_modems().await.expect("added"),
            vec![AddedModem::Demo]
        );
        assert_eq!(
            to.correction_for("Bank").await.expect("correction"),
            Some(simrelay_otp::Correction::NoCode)
        );
        assert_eq!(
            to.unread(&peer).await.expect("unread"),
            from.unread(&peer).await.expect("unread")
        );
        assert_eq!(
            to.known_modem_id("/dev/ttyUSB2")
                .await
                .expect("id")
                .as_deref(),
            Some("imei:1")
        );
        let Inserted::New(next) = to
            .insert_message(&crate::store::tests::sample(b"after the copy"))
            .await
            .expect("insert")
        else {
            panic!("new");
        };
        assert!(next.id > ids[6], "the sequence moved past the copied ids");
        let heard = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            loop {
                match listener.next().await.expect("a notice") {
                    crate::store::postgres::cluster::Notice::Messages(ids) => return ids,
                    crate::store::postgres::cluster::Notice::Settings => {}
                    other => panic!("the copy notified {other:?}"),
                }
            }
        })
        .await
        .expect("the new message notified");
        assert_eq!(heard, vec![next.id], "copied messages are not notified");
        let queued = to
            .deliveries(&crate::store::deliveries::LogQuery {
                limit: 100,
                ..Default::default()
            })
            .await
            .expect("deliveries");
        let queued: Vec<Option<i64>> = queued.deliveries.iter().map(|d| d.message_id).collect();
        assert_eq!(
            queued,
            vec![Some(next.id)],
            "only the message committed after the copy is delivered"
        );
        assert!(matches!(
            from.copy_into(&to).await,
            Err(StoreError::NotEmpty)
        ));

        let back = sqlite().await;
        back.sync_delivery_targets(&[webhook()])
            .await
            .expect("a delivery target");
        let report = to.copy_into(&back).await.expect("copy back");
        assert_eq!(report.messages, 7);
        assert_eq!(report.calls, 2);
        assert_eq!(
            back.pending_deliveries().await.expect("pending"),
            0,
            "nothing copied is delivered"
        );
        assert_eq!(back.get(next.id).await.expect("get"), Some(*next));
    }
}
