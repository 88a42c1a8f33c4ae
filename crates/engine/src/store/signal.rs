//! Signal samples (`signal_samples`) and message counts per time range: what `GET /api/modems/{id}/health` and the
//! Modems screen's charts draw. Samples come from the statuses the drivers publish anyway ([`crate::health`]);
//! nothing polls a modem for them.
//!
//! Bounded by construction: one row per modem and minute (a later status in the same minute replaces the
//! earlier), and each write deletes that modem's rows older than [`KEEP`]. The chart shows 24 hours; a week is
//! kept so a modem that was away for a weekend still shows what it had before, and no more, since nothing else
//! reads them and a chatty modem must not grow the database.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sqlx::Row;

use super::{on_db, Store, StoreError};

/// How long samples are kept.
pub const KEEP: Duration = Duration::days(7);

fn minute_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}

impl Store {
    /// Records that `modem` reported `dbm` at `at` (replacing a sample of the same minute), and forgets its
    /// samples older than [`KEEP`].
    pub async fn record_signal(
        &self,
        modem: &str,
        at: DateTime<Utc>,
        dbm: i32,
    ) -> Result<(), StoreError> {
        let minute = minute_of(at);
        let oldest = minute_of(at - KEEP);
        on_db!(self, db => {
            sqlx::query(
                "INSERT INTO signal_samples (modem, minute, dbm) VALUES ($1, $2, $3) \
                 ON CONFLICT (modem, minute) DO UPDATE SET dbm = excluded.dbm",
            )
            .bind(modem)
            .bind(minute)
            .bind(dbm)
            .execute(db.writer())
            .await?;
            sqlx::query("DELETE FROM signal_samples WHERE modem = $1 AND minute < $2")
                .bind(modem)
                .bind(oldest)
                .execute(db.writer())
                .await?;
        });
        Ok(())
    }

    /// `modem`'s samples from `since` on, oldest first, as (start of the minute, dBm).
    pub async fn signal_since(
        &self,
        modem: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, i32)>, StoreError> {
        on_db!(self, db => {
            let rows = sqlx::query(
                "SELECT minute, dbm FROM signal_samples WHERE modem = $1 AND minute >= $2 ORDER BY minute",
            )
            .bind(modem)
            .bind(minute_of(since))
            .fetch_all(db.reader())
            .await?;
            rows.iter()
                .map(|row| {
                    let minute: i64 = row.try_get(0)?;
                    let dbm: i32 = row.try_get(1)?;
                    let at = Utc
                        .timestamp_opt(minute.saturating_mul(60), 0)
                        .single()
                        .unwrap_or_default();
                    Ok((at, dbm))
                })
                .collect()
        })
    }

    /// How many messages `modem` received in each of the ranges `[from, to)`, in their order.
    pub async fn received_counts(
        &self,
        modem: &str,
        ranges: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> Result<Vec<u64>, StoreError> {
        let mut counts = Vec::with_capacity(ranges.len());
        on_db!(self, db => {
            for (from, to) in ranges {
                let count: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM messages WHERE modem = $1 AND received_at >= $2 AND received_at < $3",
                )
                .bind(modem)
                .bind(db.time(*from))
                .bind(db.time(*to))
                .fetch_one(db.reader())
                .await?;
                counts.push(u64::try_from(count).unwrap_or(0));
            }
        });
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid")
            .with_timezone(&Utc)
    }

    #[tokio::test]
    async fn one_sample_a_minute_kept_for_a_week() {
        for store in crate::store::testing::stores().await {
            let b = store.backend;
            store
                .record_signal("imei:1", at("2026-12-01T10:00:05Z"), -90)
                .await
                .expect("record");
            // The same minute: the later report replaces the earlier.
            store
                .record_signal("imei:1", at("2026-12-01T10:00:50Z"), -75)
                .await
                .expect("record");
            store
                .record_signal("imei:1", at("2026-12-01T10:01:00Z"), -80)
                .await
                .expect("record");
            store
                .record_signal("imei:2", at("2026-12-01T10:00:30Z"), -60)
                .await
                .expect("other modem");
            assert_eq!(
                store
                    .signal_since("imei:1", at("2026-12-01T00:00:00Z"))
                    .await
                    .expect("read"),
                vec![
                    (at("2026-12-01T10:00:00Z"), -75),
                    (at("2026-12-01T10:01:00Z"), -80)
                ],
                "{b}"
            );
            assert_eq!(
                store
                    .signal_since("imei:1", at("2026-12-01T10:01:00Z"))
                    .await
                    .expect("read")
                    .len(),
                1,
                "{b}: from the given minute on"
            );
            // A week and a minute later, the first samples are gone; the other modem's are its own business.
            store
                .record_signal("imei:1", at("2026-12-08T10:01:30Z"), -70)
                .await
                .expect("record");
            assert_eq!(
                store
                    .signal_since("imei:1", at("2026-11-01T00:00:00Z"))
                    .await
                    .expect("read"),
                vec![
                    (at("2026-12-01T10:01:00Z"), -80),
                    (at("2026-12-08T10:01:00Z"), -70)
                ],
                "{b}"
            );
            assert_eq!(
                store
                    .signal_since("imei:2", at("2026-11-01T00:00:00Z"))
                    .await
                    .expect("read")
                    .len(),
                1,
                "{b}"
            );
        }
    }

    #[tokio::test]
    async fn messages_are_counted_per_range_and_modem() {
        use crate::store::testing::received;
        for store in crate::store::testing::stores().await {
            let b = store.backend;
            for (modem, pdu) in [
                ("imei:1", "a"),
                ("imei:1", "b"),
                ("imei:1", "c"),
                ("imei:2", "d"),
            ] {
                store
                    .insert_message(&received(modem, "+4915123456789", "hello", pdu))
                    .await
                    .expect("insert");
            }
            // Messages are stamped with the time they are committed: now.
            let now = Utc::now();
            let ranges = [
                (now - Duration::days(1), now - Duration::hours(1)),
                (now - Duration::hours(1), now + Duration::hours(1)),
                (now + Duration::hours(1), now + Duration::days(1)),
            ];
            assert_eq!(
                store
                    .received_counts("imei:1", &ranges)
                    .await
                    .expect("count"),
                vec![0, 3, 0],
                "{b}"
            );
            assert_eq!(
                store
                    .received_counts("imei:2", &ranges)
                    .await
                    .expect("count"),
                vec![0, 1, 0],
                "{b}"
            );
            assert_eq!(
                store
                    .received_counts("imei:3", &ranges)
                    .await
                    .expect("count"),
                vec![0, 0, 0],
                "{b}"
            );
        }
    }
}
