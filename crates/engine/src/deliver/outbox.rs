//! The outbox table (`deliveries`, migration 0008): claiming due rows, recording each attempt, the retry
//! schedule, replays, and the delivery log.
//!
//! Rows are written by the `messages_outbox` trigger inside the transaction that commits a message, so this
//! module never enqueues: it only reads and updates. A claimed row's `next_try` is pushed forward by a lease
//! (longer than an attempt may take), so an attempt cut short by a crash is made again after a restart, and a
//! receiver may see an event twice, always with the same `X-SimRelay-Event-Id`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use simrelay_protocol::{Delivery, DeliveryPage, DeliveryStatus, ForwarderKind};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use crate::store::{Store, StoreError};

/// How a failed delivery is retried: after `first`, then twice as long each time, until `window` has passed
/// since the message was committed (or replayed); one last attempt is made at the end of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry (10 s).
    pub first: Duration,
    /// How long retries go on (24 h).
    pub window: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: Duration::from_secs(10),
            window: Duration::from_secs(24 * 60 * 60),
        }
    }
}

impl Backoff {
    /// When to try again after `attempts` failed attempts (at `now_ms`), or `None` to give up.
    pub fn next_try(&self, window_start_ms: i64, attempts: u32, now_ms: i64) -> Option<i64> {
        let deadline = window_start_ms.saturating_add(millis(self.window));
        if now_ms >= deadline {
            return None;
        }
        let doublings = attempts.saturating_sub(1).min(40);
        let delay = millis(self.first).saturating_mul(1i64 << doublings);
        Some(now_ms.saturating_add(delay).min(deadline))
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Milliseconds since 1970, the unit of `window_start` and `next_try`.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn rfc3339_of_ms(ms: i64) -> Option<DateTime<FixedOffset>> {
    DateTime::from_timestamp_millis(ms).map(|t| t.fixed_offset())
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, false)
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
    /// Lower-cased GLOB pattern.
    pub(crate) sender_glob: Option<String>,
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
        let mut tx = self.write_tx().await?;
        let existing: Vec<String> = sqlx::query_scalar("SELECT name FROM delivery_targets")
            .fetch_all(&mut *tx)
            .await?;
        for name in existing
            .iter()
            .filter(|name| !targets.iter().any(|t| &t.name == *name))
        {
            sqlx::query("DELETE FROM delivery_targets WHERE name = ?")
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        for t in targets {
            sqlx::query(
                "INSERT INTO delivery_targets (name, kind, only_codes, sender_glob, modem) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, only_codes = excluded.only_codes, \
                 sender_glob = excluded.sender_glob, modem = excluded.modem",
            )
            .bind(&t.name)
            .bind(t.kind.as_str())
            .bind(t.only_codes)
            .bind(&t.sender_glob)
            .bind(&t.modem)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Claims up to `limit` deliveries that are due at `now`: their `next_try` moves `lease` ahead, so the
    /// next claim skips them while their attempt runs, and a crash mid-attempt retries them after the lease.
    pub(crate) async fn claim_due_deliveries(
        &self,
        now: i64,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Claimed>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "UPDATE deliveries SET next_try = ? WHERE id IN \
             (SELECT id FROM deliveries WHERE status = 'pending' AND next_try <= ? ORDER BY next_try, id LIMIT ?) \
             RETURNING id, event_id, target, message_id, attempts, window_start",
        )
        .bind(now.saturating_add(millis(lease)))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(self.for_write())
        .await?;
        let mut claimed: Vec<Claimed> = rows
            .iter()
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
            .collect::<Result<_, sqlx::Error>>()?;
        claimed.sort_by_key(|c| c.id);
        Ok(claimed)
    }

    /// When the earliest pending delivery is due (milliseconds), if any is pending.
    pub(crate) async fn next_delivery_due(&self) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT MIN(next_try) FROM deliveries WHERE status = 'pending'")
                .fetch_one(self.reader())
                .await?,
        )
    }

    /// Records an attempt the target accepted.
    pub(crate) async fn delivery_succeeded(&self, id: i64) -> Result<(), StoreError> {
        let now = now_text();
        sqlx::query(
            "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, next_try = NULL, \
             last_try_at = ?, delivered_at = ? WHERE id = ?",
        )
        .bind(&now)
        .bind(&now)
        .bind(id)
        .execute(self.for_write())
        .await?;
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
        sqlx::query(
            "UPDATE deliveries SET status = ?, attempts = attempts + 1, next_try = ?, last_try_at = ?, \
             last_error = ? WHERE id = ?",
        )
        .bind(status)
        .bind(next_try)
        .bind(now_text())
        .bind(error)
        .bind(id)
        .execute(self.for_write())
        .await?;
        Ok(())
    }

    /// Gives up on a delivery without an attempt (its message or target is gone).
    pub(crate) async fn delivery_abandoned(&self, id: i64, why: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE deliveries SET status = 'failed', next_try = NULL, last_error = ? WHERE id = ?",
        )
        .bind(why)
        .bind(id)
        .execute(self.for_write())
        .await?;
        Ok(())
    }

    /// Makes delivery `id` pending again, due now, with a fresh 24-hour window and the same event id.
    /// `None` when there is no such delivery.
    pub(crate) async fn replay_delivery(&self, id: i64) -> Result<Option<Delivery>, StoreError> {
        let now = now_ms();
        let changed = sqlx::query(
            "UPDATE deliveries SET status = 'pending', next_try = ?, window_start = ? WHERE id = ?",
        )
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(self.for_write())
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        self.delivery(id).await
    }

    /// One delivery.
    pub(crate) async fn delivery(&self, id: i64) -> Result<Option<Delivery>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM deliveries WHERE id = ?"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(delivery_from_row).transpose()
    }

    /// The delivery log, newest first, one page.
    pub(crate) async fn deliveries(&self, query: &LogQuery) -> Result<DeliveryPage, StoreError> {
        let mut sql = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!(
            "SELECT {COLUMNS} FROM deliveries WHERE 1 = 1"
        ));
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
        let limit = query.limit.max(1);
        sql.push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows = sql.build().fetch_all(self.reader()).await?;
        let mut deliveries = rows
            .iter()
            .map(delivery_from_row)
            .collect::<Result<Vec<_>, _>>()?;
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
        sqlx::query("INSERT INTO generated_secrets (name, secret) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(fresh)
            .execute(self.for_write())
            .await?;
        Ok(
            sqlx::query_scalar("SELECT secret FROM generated_secrets WHERE name = ?")
                .bind(name)
                .fetch_one(self.reader())
                .await?,
        )
    }

    /// How many deliveries are pending (a gauge of `/metrics`).
    pub(crate) async fn pending_deliveries(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'")
                .fetch_one(self.reader())
                .await?,
        )
    }

    /// Deletes finished deliveries (delivered or failed) last touched before `cutoff`; returns how many.
    pub(crate) async fn prune_deliveries(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let cutoff = cutoff.to_rfc3339_opts(SecondsFormat::Micros, false);
        Ok(sqlx::query(
            "DELETE FROM deliveries WHERE status != 'pending' \
             AND COALESCE(delivered_at, last_try_at, created_at) < ?",
        )
        .bind(cutoff)
        .execute(self.for_write())
        .await?
        .rows_affected())
    }
}

fn delivery_from_row(row: &SqliteRow) -> Result<Delivery, StoreError> {
    let id: i64 = row.try_get("id")?;
    let corrupt = |reason: String| StoreError::Corrupt { id, reason };
    let time = |column: &str| -> Result<Option<DateTime<FixedOffset>>, StoreError> {
        let text: Option<String> = row.try_get(column)?;
        text.map(|t| {
            DateTime::parse_from_rfc3339(&t)
                .map_err(|e| corrupt(format!("delivery {column} {t:?}: {e}")))
        })
        .transpose()
    };
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
        created_at: time("created_at")?
            .ok_or_else(|| corrupt("delivery without created_at".into()))?,
        next_try_at: next_try
            .filter(|_| status == DeliveryStatus::Pending)
            .and_then(rfc3339_of_ms),
        last_try_at: time("last_try_at")?,
        delivered_at: time("delivered_at")?,
        last_error: row.try_get("last_error")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Inserted, NewMessage};

    #[test]
    fn retries_double_from_ten_seconds_and_stop_after_a_day() {
        let b = Backoff::default();
        let start = 1_000_000;
        let mut now = start;
        let mut delays = Vec::new();
        let mut attempts = 0;
        while let Some(next) = b.next_try(start, attempts + 1, now) {
            attempts += 1;
            delays.push((next - now) / 1000);
            now = next;
        }
        assert_eq!(&delays[..4], &[10, 20, 40, 80]);
        // 10 s · (2^13 − 1) = 22.75 h of doubling, then one last try at exactly 24 h.
        assert_eq!(delays.len(), 14, "{delays:?}");
        assert_eq!(now - start, 24 * 3600 * 1000);
        assert_eq!(b.next_try(start, 99, start + 24 * 3600 * 1000), None);
        // A huge attempt count does not overflow.
        assert_eq!(
            b.next_try(start, u32::MAX, start),
            Some(start + 24 * 3600 * 1000)
        );
    }

    fn message(n: u8, sender: &str, code: Option<&str>, modem: &str) -> NewMessage {
        NewMessage {
            modem: modem.into(),
            sender: sender.into(),
            text: "text".into(),
            code: code.map(str::to_owned),
            code_span: None,
            sent_at: DateTime::parse_from_rfc3339("2026-11-22T10:00:00+01:00").expect("valid"),
            encoding: None,
            decode_error: None,
            incomplete: false,
            pdus: vec![vec![n]],
            extra_pdus: Vec::new(),
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
            sender_glob: sender.map(str::to_owned),
            modem: modem.map(str::to_owned),
        }
    }

    #[tokio::test]
    async fn the_commit_queues_one_delivery_per_matching_target_and_repeats_queue_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("o.db")).await.expect("open");
        store
            .sync_delivery_targets(&[
                target("all", false, None, None),
                target("codes", true, None, None),
                target("bank", false, Some("*bank*"), None),
                target("m2", false, None, Some("m2")),
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
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("o.db")).await.expect("open");
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
            .claim_due_deliveries(now, 10, lease)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 1);
        assert!(store
            .claim_due_deliveries(now, 10, lease)
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

    #[tokio::test]
    async fn the_log_pages_newest_first_and_filters() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("o.db")).await.expect("open");
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
}
