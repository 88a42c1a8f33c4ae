//! Incoming calls in the history (`calls`): one row per call the driver reported, listed newest
//! first by `GET /api/calls`, filterable by modem.

use chrono::{DateTime, SubsecRound, Utc};
use simrelay_protocol::{Call, CallPage, UNKNOWN_CALLER};
use sqlx::Row;

use super::{on_db, Store, StoreError};

/// Most calls one page lists.
pub const MAX_CALL_PAGE: u32 = 500;

impl Store {
    /// Records a call and returns it as clients see it (`from` is [`UNKNOWN_CALLER`] when the
    /// number was withheld).
    pub async fn insert_call(
        &self,
        modem: &str,
        from: Option<&str>,
        at: DateTime<Utc>,
        rejected: bool,
    ) -> Result<Call, StoreError> {
        // What both databases keep (PostgreSQL: microseconds), so the answer equals what is read back.
        let at = at.trunc_subsecs(6);
        let id: i64 = on_db!(self, db => {
            sqlx::query_scalar(
                "INSERT INTO calls (modem, caller, at, rejected) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(modem)
            .bind(from)
            .bind(db.time(at))
            .bind(rejected)
            .fetch_one(db.writer())
            .await?
        });
        Ok(Call {
            id,
            modem: modem.to_owned(),
            from: from.unwrap_or(UNKNOWN_CALLER).to_owned(),
            at: at.fixed_offset(),
            rejected,
        })
    }

    /// Calls, newest first: of one modem (or all), older than the call `before` (or from the
    /// newest), at most `limit` (up to [`MAX_CALL_PAGE`]).
    pub async fn calls(
        &self,
        modem: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<CallPage, StoreError> {
        let limit = limit.clamp(1, MAX_CALL_PAGE);
        on_db!(self, db => {
            let rows = sqlx::query(
                "SELECT id, modem, caller, at, rejected FROM calls \
                 WHERE ($1 IS NULL OR modem = $1) AND ($2 IS NULL OR id < $2) \
                 ORDER BY id DESC LIMIT $3",
            )
            .bind(modem)
            .bind(before)
            .bind(i64::from(limit) + 1)
            .fetch_all(db.reader())
            .await?;
            let mut calls = Vec::with_capacity(rows.len());
            for row in rows.iter().take(limit as usize) {
                let caller: Option<String> = row.try_get("caller")?;
                calls.push(Call {
                    id: row.try_get("id")?,
                    modem: row.try_get("modem")?,
                    from: caller.unwrap_or_else(|| UNKNOWN_CALLER.to_owned()),
                    at: row.time("at")?,
                    rejected: row.try_get("rejected")?,
                });
            }
            let next_before = (rows.len() > limit as usize)
                .then(|| calls.last().map(|c| c.id))
                .flatten();
            Ok(CallPage { calls, next_before })
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    #[tokio::test]
    async fn calls_are_listed_newest_first_per_modem_and_paged() {
        for store in crate::store::testing::stores().await {
            let t0 = Utc::now() - Duration::minutes(10);
            let first = store
                .insert_call("imei:1", Some("+4915112345678"), t0, false)
                .await
                .expect("insert");
            store
                .insert_call("imei:2", None, t0 + Duration::minutes(1), true)
                .await
                .expect("insert");
            let third = store
                .insert_call("imei:1", Some("0301234"), t0 + Duration::minutes(2), false)
                .await
                .expect("insert");
            let all = store.calls(None, None, 50).await.expect("list");
            assert_eq!(all.calls.len(), 3, "{}", store.backend);
            assert_eq!(all.calls[0], third);
            assert_eq!(all.calls[1].from, "unknown");
            assert!(all.calls[1].rejected);
            assert_eq!(all.next_before, None);
            let one = store.calls(Some("imei:1"), None, 1).await.expect("list");
            assert_eq!(one.calls, vec![third.clone()], "{}", store.backend);
            let next = store
                .calls(Some("imei:1"), one.next_before, 1)
                .await
                .expect("list");
            assert_eq!(next.calls, vec![first.clone()]);
            assert_eq!(next.next_before, None);
            assert_eq!(next.calls[0].at.timestamp(), t0.timestamp());
        }
    }
}
