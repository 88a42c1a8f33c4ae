//! The outbox's rows (`deliveries`, `delivery_targets`, migration 0011) and what the relay keeps beside them
//! (`generated_secrets`, Home Assistant's `ha_recipients` and `ha_announced`).
//!
//! Rows are written by the `messages_outbox` trigger inside the transaction that commits a message, so this
//! module never enqueues: it only reads and updates. A claimed row's `next_try` is pushed forward by a lease
//! (longer than an attempt may take), so an attempt cut short by a crash is made again after a restart, and a
//! receiver may see an event twice, always with the same `X-SimRelay-Event-Id`. The claim re-checks that a row
//! is still due in the UPDATE itself, so two nodes sharing a PostgreSQL database never claim the same row.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use simrelay_protocol::{Delivery, DeliveryPage, DeliveryStatus, ForwarderKind};
use sqlx::{Row, ValueRef};

use super::backend::{Column, StoreRow};
use super::{on_db, Store, StoreError};
use crate::deliver::outbox::{millis, now_ms};

fn rfc3339_of_ms(ms: i64) -> Option<DateTime<FixedOffset>> {
    DateTime::from_timestamp_millis(ms).map(|t| t.fixed_offset())
}

/// A delivery claimed for an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claimed {
    pub(crate) id: i64,
    pub(crate) event_id: String,
    pub(crate) target: String,
    pub(crate) message_id: Option<i64>,
    /// Attempts made before this one.
    pub(crate) attempts: u32,
    pub(crate) window_start: i64,
}

/// The filters of one target, as the trigger reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TargetRow {
    pub(crate) name: String,
    pub(crate) kind: ForwarderKind,
    pub(crate) only_codes: bool,
    /// Lower-cased LIKE pattern (`%`, `_`, escaped with a backslash).
    pub(crate) sender_like: Option<String>,
    pub(crate) modem: Option<String>,
}

/// Filters of the delivery log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LogQuery {
    pub(crate) status: Option<DeliveryStatus>,
    pub(crate) target: Option<String>,
    pub(crate) message_id: Option<i64>,
    pub(crate) before: Option<i64>,
    pub(crate) limit: u32,
}

const COLUMNS: &str =
    "id, event_id, target, kind, message_id, status, attempts, created_at, next_try, \
                       last_try_at, delivered_at, last_error";

impl Store {
    /// Makes the `delivery_targets` table hold exactly `targets`, in one transaction.
    pub(crate) async fn sync_delivery_targets(
        &self,
        targets: &[TargetRow],
    ) -> Result<(), StoreError> {
        on_db!(self, db => {
            let mut tx = db.begin().await?;
            let existing: Vec<String> = sqlx::query_scalar("SELECT name FROM delivery_targets")
                .fetch_all(&mut *tx)
                .await?;
            for name in existing
                .iter()
                .filter(|name| !targets.iter().any(|t| &t.name == *name))
            {
                sqlx::query("DELETE FROM delivery_targets WHERE name = $1")
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
            }
            for t in targets {
                sqlx::query(
                    "INSERT INTO delivery_targets (name, kind, only_codes, sender_like, modem) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, only_codes = excluded.only_codes, \
                     sender_like = excluded.sender_like, modem = excluded.modem",
                )
                .bind(&t.name)
                .bind(t.kind.as_str())
                .bind(t.only_codes)
                .bind(&t.sender_like)
                .bind(&t.modem)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Claims up to `limit` deliveries that are due at `now`, at most `per_target` of each target and none of
    /// the targets in `skip` (those whose attempts already fill their share): their `next_try` moves `lease`
    /// ahead, so the next claim skips them while their attempt runs, and a crash mid-attempt retries them after
    /// the lease. The per-target share keeps one slow receiver from holding every attempt slot.
    pub(crate) async fn claim_due_deliveries(
        &self,
        now: i64,
        limit: u32,
        per_target: u32,
        skip: &[&str],
        lease: Duration,
    ) -> Result<Vec<Claimed>, StoreError> {
        if limit == 0 || per_target == 0 {
            return Ok(Vec::new());
        }
        let mut claimed: Vec<Claimed> = on_db!(self, db => {
            let mut sql = db.builder("UPDATE deliveries SET next_try = ");
            sql.push_bind(now.saturating_add(millis(lease)));
            sql.push(
                " WHERE id IN (SELECT id FROM (SELECT id, next_try AS due, \
                 row_number() OVER (PARTITION BY target ORDER BY next_try, id) AS n \
                 FROM deliveries WHERE status = 'pending' AND next_try <= ",
            );
            sql.push_bind(now);
            for target in skip {
                sql.push(" AND target <> ").push_bind(target.to_string());
            }
            sql.push(") AS due WHERE n <= ").push_bind(i64::from(per_target));
            sql.push(" ORDER BY due, id LIMIT ").push_bind(i64::from(limit));
            // The outer condition repeats the inner one: on PostgreSQL a row another node claimed meanwhile is
            // re-read after that node's UPDATE commits, and is then no longer due.
            sql.push(") AND status = 'pending' AND next_try <= ").push_bind(now);
            sql.push(" RETURNING id, event_id, target, message_id, attempts, window_start");
            let rows = sql.build().fetch_all(db.writer()).await?;
            rows.iter()
                .map(|row| {
                    Ok(Claimed {
                        id: row.try_get("id")?,
                        event_id: row.try_get("event_id")?,
                        target: row.try_get("target")?,
                        message_id: row.try_get("message_id")?,
                        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                        window_start: row.try_get("window_start")?,
                    })
                })
                .collect::<Result<_, sqlx::Error>>()?
        });
        claimed.sort_by_key(|c| c.id);
        Ok(claimed)
    }

    /// When the earliest pending delivery is due (milliseconds), if any is pending.
    pub(crate) async fn next_delivery_due(&self) -> Result<Option<i64>, StoreError> {
        Ok(on_db!(self, db => {
            sqlx::query_scalar("SELECT MIN(next_try) FROM deliveries WHERE status = 'pending'")
                .fetch_one(db.reader())
                .await?
        }))
    }

    /// Records an attempt the target accepted.
    pub(crate) async fn delivery_succeeded(&self, id: i64) -> Result<(), StoreError> {
        on_db!(self, db => {
            let now = db.time(Utc::now());
            sqlx::query(
                "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, next_try = NULL, \
                 last_try_at = $1, delivered_at = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(id)
            .execute(db.writer())
            .await?;
        });
        Ok(())
    }

    /// Records a failed attempt: pending again with `next_try`, or `failed` when `next_try` is `None`.
    pub(crate) async fn delivery_failed(
        &self,
        id: i64,
        error: &str,
        next_try: Option<i64>,
    ) -> Result<(), StoreError> {
        let status = if next_try.is_some() {
            "pending"
        } else {
            "failed"
        };
        on_db!(self, db => {
            sqlx::query(
                "UPDATE deliveries SET status = $1, attempts = attempts + 1, next_try = $2, last_try_at = $3, \
                 last_error = $4 WHERE id = $5",
            )
            .bind(status)
            .bind(next_try)
            .bind(db.time(Utc::now()))
            .bind(error)
            .bind(id)
            .execute(db.writer())
            .await?;
        });
        Ok(())
    }

    /// Gives up on a delivery without an attempt (its message or target is gone).
    pub(crate) async fn delivery_abandoned(&self, id: i64, why: &str) -> Result<(), StoreError> {
        on_db!(self, db => {
            sqlx::query(
                "UPDATE deliveries SET status = 'failed', next_try = NULL, last_error = $1 WHERE id = $2",
            )
            .bind(why)
            .bind(id)
            .execute(db.writer())
            .await?;
        });
        Ok(())
    }

    /// Makes delivery `id` pending again, due now, with a fresh 24-hour window and the same event id.
    /// `None` when there is no such delivery.
    pub(crate) async fn replay_delivery(&self, id: i64) -> Result<Option<Delivery>, StoreError> {
        let now = now_ms();
        let changed = on_db!(self, db => {
            sqlx::query(
                "UPDATE deliveries SET status = 'pending', next_try = $1, window_start = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(id)
            .execute(db.writer())
            .await?
            .rows_affected()
        });
        if changed == 0 {
            return Ok(None);
        }
        self.delivery(id).await
    }

    /// One delivery.
    pub(crate) async fn delivery(&self, id: i64) -> Result<Option<Delivery>, StoreError> {
        on_db!(self, db => {
            let row = sqlx::query(&format!("SELECT {COLUMNS} FROM deliveries WHERE id = $1"))
                .bind(id)
                .fetch_optional(db.reader())
                .await?;
            row.as_ref().map(delivery_from_row).transpose()
        })
    }

    /// The delivery log, newest first, one page.
    pub(crate) async fn deliveries(&self, query: &LogQuery) -> Result<DeliveryPage, StoreError> {
        let limit = query.limit.max(1);
        let mut deliveries = on_db!(self, db => {
            let mut sql = db.builder(&format!("SELECT {COLUMNS} FROM deliveries WHERE 1 = 1"));
            if let Some(status) = query.status {
                sql.push(" AND status = ").push_bind(status.as_str());
            }
            if let Some(target) = &query.target {
                sql.push(" AND target = ").push_bind(target.clone());
            }
            if let Some(message) = query.message_id {
                sql.push(" AND message_id = ").push_bind(message);
            }
            if let Some(before) = query.before {
                sql.push(" AND id < ").push_bind(before);
            }
            sql.push(" ORDER BY id DESC LIMIT ")
                .push_bind(i64::from(limit) + 1);
            let rows = sql.build().fetch_all(db.reader()).await?;
            rows.iter()
                .map(delivery_from_row)
                .collect::<Result<Vec<_>, _>>()?
        });
        let next = if deliveries.len() > limit as usize {
            deliveries.truncate(limit as usize);
            deliveries.last().map(|d| d.id)
        } else {
            None
        };
        Ok(DeliveryPage { deliveries, next })
    }

    /// The secret generated under `name` earlier, or `fresh` stored under it now.
    pub(crate) async fn generated_secret(
        &self,
        name: &str,
        fresh: &str,
    ) -> Result<String, StoreError> {
        Ok(on_db!(self, db => {
            sqlx::query(
                "INSERT INTO generated_secrets (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(fresh)
            .execute(db.writer())
            .await?;
            sqlx::query_scalar("SELECT secret FROM generated_secrets WHERE name = $1")
                .bind(name)
                .fetch_one(db.writer())
                .await?
        }))
    }

    /// How many deliveries are pending (a gauge of `/metrics`).
    pub(crate) async fn pending_deliveries(&self) -> Result<i64, StoreError> {
        Ok(on_db!(self, db => {
            sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'")
                .fetch_one(db.reader())
                .await?
        }))
    }

    /// Deletes finished deliveries (delivered or failed) last touched before `cutoff`; returns how many.
    pub(crate) async fn prune_deliveries(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(on_db!(self, db => {
            sqlx::query(
                "DELETE FROM deliveries WHERE status <> 'pending' \
                 AND COALESCE(delivered_at, last_try_at, created_at) < $1",
            )
            .bind(db.time(cutoff))
            .execute(db.writer())
            .await?
            .rows_affected()
        }))
    }

    /// The notify recipient of `modem` (Home Assistant's text entity sets it).
    pub(crate) async fn ha_recipient(&self, modem: &str) -> Result<Option<String>, StoreError> {
        Ok(on_db!(self, db => {
            sqlx::query_scalar("SELECT recipient FROM ha_recipients WHERE modem = $1")
                .bind(modem)
                .fetch_optional(db.reader())
                .await?
        }))
    }

    /// Sets (or, with `None`, clears) the notify recipient of `modem`.
    pub(crate) async fn set_ha_recipient(
        &self,
        modem: &str,
        recipient: Option<&str>,
    ) -> Result<(), StoreError> {
        on_db!(self, db => {
            match recipient {
                Some(recipient) => sqlx::query(
                    "INSERT INTO ha_recipients (modem, recipient) VALUES ($1, $2) \
                     ON CONFLICT (modem) DO UPDATE SET recipient = excluded.recipient",
                )
                .bind(modem)
                .bind(recipient),
                None => sqlx::query("DELETE FROM ha_recipients WHERE modem = $1").bind(modem),
            }
            .execute(db.writer())
            .await?;
        });
        Ok(())
    }

    /// The modems this node announced to Home Assistant under `discovery_prefix` (in a cluster each node
    /// removes only the entities it announced).
    pub(crate) async fn ha_announced(
        &self,
        discovery_prefix: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(on_db!(self, db => {
            sqlx::query_scalar(
                "SELECT modem FROM ha_announced WHERE discovery_prefix = $1 AND node = $2 ORDER BY modem",
            )
            .bind(discovery_prefix)
            .bind(db.node())
            .fetch_all(db.reader())
            .await?
        }))
    }

    /// Records that this node announced `modem` (`true`: it is this node's from now on, also when another node
    /// announced it before) or removed it (`false`).
    pub(crate) async fn set_ha_announced(
        &self,
        discovery_prefix: &str,
        modem: &str,
        announced: bool,
    ) -> Result<(), StoreError> {
        on_db!(self, db => {
            if announced {
                sqlx::query(
                    "INSERT INTO ha_announced (discovery_prefix, modem, node) VALUES ($1, $2, $3) \
                     ON CONFLICT (discovery_prefix, modem) DO UPDATE SET node = excluded.node",
                )
                .bind(discovery_prefix)
                .bind(modem)
                .bind(db.node())
                .execute(db.writer())
                .await?;
            } else {
                sqlx::query("DELETE FROM ha_announced WHERE discovery_prefix = $1 AND modem = $2")
                    .bind(discovery_prefix)
                    .bind(modem)
                    .execute(db.writer())
                    .await?;
            }
        });
        Ok(())
    }
}

/// A nullable time column.
fn optional_time<R: StoreRow>(
    row: &R,
    column: &str,
) -> Result<Option<DateTime<FixedOffset>>, StoreError>
where
    for<'c> &'c str: sqlx::ColumnIndex<R>,
{
    if row.try_get_raw(column)?.is_null() {
        Ok(None)
    } else {
        row.time(column).map(Some)
    }
}

fn delivery_from_row<R: StoreRow>(row: &R) -> Result<Delivery, StoreError>
where
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    i64: Column<R::Database>,
    String: Column<R::Database>,
{
    let id: i64 = row.try_get("id")?;
    let corrupt = |reason: String| StoreError::Corrupt { id, reason };
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    let status = DeliveryStatus::parse(&status)
        .ok_or_else(|| corrupt(format!("delivery status {status:?}")))?;
    let next_try: Option<i64> = row.try_get("next_try")?;
    Ok(Delivery {
        id,
        event_id: row.try_get("event_id")?,
        target: row.try_get("target")?,
        kind: ForwarderKind::parse(&kind)
            .ok_or_else(|| corrupt(format!("delivery kind {kind:?}")))?,
        message_id: row.try_get("message_id")?,
        status,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        created_at: row.time("created_at")?,
        next_try_at: next_try
            .filter(|_| status == DeliveryStatus::Pending)
            .and_then(rfc3339_of_ms),
        last_try_at: optional_time(row, "last_try_at")?,
        delivered_at: optional_time(row, "delivered_at")?,
        last_error: row.try_get("last_error")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::stores;
    use crate::store::{Inserted, NewMessage};

    fn message(n: u8, sender: &str, code: Option<&str>, modem: &str) -> NewMessage {
        NewMessage {
            code: code.map(str::to_owned),
            ..crate::store::testing::received(modem, sender, "text", [n])
        }
    }

    fn target(
        name: &str,
        only_codes: bool,
        sender: Option<&str>,
        modem: Option<&str>,
    ) -> TargetRow {
        TargetRow {
            name: name.into(),
            kind: ForwarderKind::Webhook,
            only_codes,
            sender_like: sender.map(str::to_owned),
            modem: modem.map(str::to_owned),
        }
    }

    #[tokio::test]
    async fn the_commit_queues_one_delivery_per_matching_target_and_repeats_queue_none() {
        for store in stores().await {
            eprintln!("on {}", store.backend);
            the_commit_queues_one_delivery_per_matching_target_and_repeats_queue_none_on(&store)
                .await;
        }
    }

    async fn the_commit_queues_one_delivery_per_matching_target_and_repeats_queue_none_on(
        store: &Store,
    ) {
        store
            .sync_delivery_targets(&[
                target("all", false, None, None),
                target("codes", true, None, None),
                target("bank", false, Some("%bank%"), None),
                target("m2", false, None, Some("m2")),
                // `_` escaped: matches only a literal underscore, so not "+4915".
                target("escaped", false, Some("+49\\_5"), None),
            ])
            .await
            .expect("sync");
        let batch = [
            message(1, "DemoBank", Some("123456"), "m1"),
            message(2, "+4915", None, "m2"),
            message(1, "DemoBank", Some("123456"), "m1"),
        ];
        let inserted = store.insert_messages(&batch).await.expect("insert");
        assert!(matches!(inserted[2], Inserted::Duplicate));
        let page = store
            .deliveries(&LogQuery {
                limit: 100,
                ..LogQuery::default()
            })
            .await
            .expect("log");
        let mut got: Vec<(String, Option<i64>)> = page
            .deliveries
            .iter()
            .map(|d| (d.target.clone(), d.message_id))
            .collect();
        got.sort();
        let (Inserted::New(a), Inserted::New(b)) = (&inserted[0], &inserted[1]) else {
            panic!("two new messages")
        };
        let mut want = vec![
            ("all".to_owned(), Some(a.id)),
            ("codes".to_owned(), Some(a.id)),
            ("bank".to_owned(), Some(a.id)),
            ("all".to_owned(), Some(b.id)),
            ("m2".to_owned(), Some(b.id)),
        ];
        want.sort();
        assert_eq!(got, want);
        let ids: std::collections::HashSet<_> =
            page.deliveries.iter().map(|d| d.event_id.clone()).collect();
        assert_eq!(ids.len(), 5, "every delivery has its own event id");
        assert!(page
            .deliveries
            .iter()
            .all(|d| d.status == DeliveryStatus::Pending && d.event_id.len() == 32));

        // Removing a target stops new deliveries to it; its queued ones stay in the log.
        store
            .sync_delivery_targets(&[target("codes", true, None, None)])
            .await
            .expect("sync");
        store
            .insert_message(&message(3, "DemoBank", None, "m1"))
            .await
            .expect("insert");
        assert_eq!(store.pending_deliveries().await.expect("count"), 5);
    }

    #[tokio::test]
    async fn claims_lease_attempts_record_and_replays_keep_the_event_id() {
        for store in stores().await {
            eprintln!("on {}", store.backend);
            claims_lease_attempts_record_and_replays_keep_the_event_id_on(&store).await;
        }
    }

    async fn claims_lease_attempts_record_and_replays_keep_the_event_id_on(store: &Store) {
        store
            .sync_delivery_targets(&[target("all", false, None, None)])
            .await
            .expect("sync");
        store
            .insert_message(&message(1, "x", None, "m1"))
            .await
            .expect("insert");
        let now = now_ms() + 1000;
        let lease = Duration::from_secs(30);
        let claimed = store
            .claim_due_deliveries(now, 10, 10, &[], lease)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 1);
        assert!(store
            .claim_due_deliveries(now, 10, 10, &[], lease)
            .await
            .expect("claim")
            .is_empty());
        assert_eq!(
            store.next_delivery_due().await.expect("due"),
            Some(now + 30_000),
            "leased"
        );
        let d = &claimed[0];
        store
            .delivery_failed(d.id, "answered 500", Some(now + 10_000))
            .await
            .expect("failed");
        let row = store.delivery(d.id).await.expect("get").expect("exists");
        assert_eq!(
            (row.status, row.attempts, row.last_error.as_deref()),
            (DeliveryStatus::Pending, 1, Some("answered 500"))
        );
        assert!(row.next_try_at.is_some() && row.last_try_at.is_some());
        store
            .delivery_failed(d.id, "answered 500", None)
            .await
            .expect("failed");
        let row = store.delivery(d.id).await.expect("get").expect("exists");
        assert_eq!(
            (row.status, row.next_try_at),
            (DeliveryStatus::Failed, None)
        );

        let replayed = store
            .replay_delivery(d.id)
            .await
            .expect("replay")
            .expect("exists");
        assert_eq!(replayed.status, DeliveryStatus::Pending);
        assert_eq!(replayed.event_id, d.event_id);
        assert_eq!(replayed.attempts, 2, "the count goes on");
        assert!(store.replay_delivery(999).await.expect("replay").is_none());
        store.delivery_succeeded(d.id).await.expect("ok");
        let row = store.delivery(d.id).await.expect("get").expect("exists");
        assert_eq!((row.status, row.attempts), (DeliveryStatus::Delivered, 3));
        assert!(row.delivered_at.is_some());
        assert_eq!(store.next_delivery_due().await.expect("due"), None);

        // Deleting the message keeps the log row.
        let m = row.message_id.expect("message");
        assert!(store.delete(m).await.expect("delete"));
        let row = store.delivery(d.id).await.expect("get").expect("exists");
        assert_eq!(row.message_id, None);
        assert_eq!(
            store
                .prune_deliveries(Utc::now() + chrono::Duration::seconds(1))
                .await
                .expect("prune"),
            1
        );
    }

    /// Two targets, `a` and `b`, that take every message, and three messages: six pending
    /// deliveries, three to each.
    async fn six_deliveries(store: &Store) {
        store
            .sync_delivery_targets(&[
                target("a", false, None, None),
                target("b", false, None, None),
            ])
            .await
            .expect("sync");
        for n in 0..3 {
            store
                .insert_message(&message(n, "x", None, "m1"))
                .await
                .expect("insert");
        }
    }

    #[tokio::test]
    async fn a_claim_takes_a_share_of_each_target_and_skips_full_ones() {
        for store in stores().await {
            eprintln!("on {}", store.backend);
            a_claim_takes_a_share_of_each_target_and_skips_full_ones_on(&store).await;
        }
    }

    async fn a_claim_takes_a_share_of_each_target_and_skips_full_ones_on(store: &Store) {
        six_deliveries(store).await;
        let now = now_ms() + 1000;
        let lease = Duration::from_secs(30);
        let targets = |claimed: &[Claimed]| {
            let mut t: Vec<String> = claimed.iter().map(|c| c.target.clone()).collect();
            t.sort();
            t
        };
        let first = store
            .claim_due_deliveries(now, 10, 2, &[], lease)
            .await
            .expect("claim");
        assert_eq!(targets(&first), ["a", "a", "b", "b"]);
        let second = store
            .claim_due_deliveries(now, 10, 5, &["a"], lease)
            .await
            .expect("claim");
        assert_eq!(targets(&second), ["b"]);
        let third = store
            .claim_due_deliveries(now, 10, 5, &[], lease)
            .await
            .expect("claim");
        assert_eq!(targets(&third), ["a"]);
    }

    #[tokio::test]
    async fn the_log_pages_newest_first_and_filters() {
        for store in stores().await {
            eprintln!("on {}", store.backend);
            the_log_pages_newest_first_and_filters_on(&store).await;
        }
    }

    async fn the_log_pages_newest_first_and_filters_on(store: &Store) {
        six_deliveries(store).await;
        let page = store
            .deliveries(&LogQuery {
                limit: 4,
                ..LogQuery::default()
            })
            .await
            .expect("log");
        assert_eq!(page.deliveries.len(), 4);
        assert!(page.deliveries[0].id > page.deliveries[3].id);
        let rest = store
            .deliveries(&LogQuery {
                limit: 4,
                before: page.next,
                ..LogQuery::default()
            })
            .await
            .expect("log");
        assert_eq!((rest.deliveries.len(), rest.next), (2, None));
        let only_b = store
            .deliveries(&LogQuery {
                limit: 10,
                target: Some("b".into()),
                status: Some(DeliveryStatus::Pending),
                ..LogQuery::default()
            })
            .await
            .expect("log");
        assert_eq!(only_b.deliveries.len(), 3);
        assert!(only_b.deliveries.iter().all(|d| d.target == "b"));
    }

    #[tokio::test]
    async fn ha_recipients_and_announcements_survive_a_reopen() {
        for mut store in stores().await {
            store
                .set_ha_recipient("imei:1", Some("+4915"))
                .await
                .expect("set");
            store
                .set_ha_recipient("imei:1", Some("+4916"))
                .await
                .expect("set");
            store
                .set_ha_announced("homeassistant", "imei:1", true)
                .await
                .expect("announce");
            store
                .set_ha_announced("homeassistant", "imei:1", true)
                .await
                .expect("again");
            store
                .set_ha_announced("homeassistant", "demo", true)
                .await
                .expect("announce");
            store
                .set_ha_announced("homeassistant", "demo", false)
                .await
                .expect("remove");
            store.reopen().await;
            assert_eq!(
                store.ha_recipient("imei:1").await.expect("get").as_deref(),
                Some("+4916")
            );
            assert_eq!(
                store.ha_announced("homeassistant").await.expect("list"),
                ["imei:1"]
            );
            assert!(store.ha_announced("other").await.expect("list").is_empty());
            store.set_ha_recipient("imei:1", None).await.expect("clear");
            assert_eq!(store.ha_recipient("imei:1").await.expect("get"), None);
        }
    }
}
