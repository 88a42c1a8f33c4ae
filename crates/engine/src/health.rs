//! Modem health at a glance: signal samples recorded from the statuses the hub publishes anyway (the drivers'
//! own reports and the refresh that runs while someone watches the Modems screen; nothing polls a modem for
//! them), and the answer of `GET /api/modems/{id}/health`, signal over 24 hours and messages per day.

use std::collections::HashMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveTime, TimeZone, Utc};
use simrelay_protocol::{
    DayCount, ModemHistory, ModemStatus, ServerEvent, SignalSample, HEALTH_DAYS,
};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::hub::Hub;
use crate::store::{Store, StoreError};

/// The signal chart's window.
pub(crate) const SIGNAL_WINDOW: Duration = Duration::hours(24);

/// Records a sample for every modem status that carries a signal, until `shutdown`. The store keeps one per
/// modem and minute (the minute's latest); this writes only when the minute or the value changed, sparing the
/// store the writes of statuses that repeat what it has (every other field of a status changes too).
pub(crate) async fn record(hub: Hub, store: Store, shutdown: CancellationToken) {
    let mut events = hub.subscribe();
    let mut last: HashMap<String, (i64, i32)> = HashMap::new();
    // Statuses published before this task subscribed.
    for status in hub.modems() {
        sample(&store, &mut last, &status).await;
    }
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            () = shutdown.cancelled() => return,
        };
        match event {
            Ok(ServerEvent::Modem { modem }) => sample(&store, &mut last, &modem).await,
            Ok(ServerEvent::ModemRemoved { id }) => {
                last.remove(&id);
            }
            Ok(_) => {}
            // Missed statuses are missed samples; the next one is recorded.
            Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return,
        }
    }
}

async fn sample(store: &Store, last: &mut HashMap<String, (i64, i32)>, status: &ModemStatus) {
    let Some(dbm) = status.signal_dbm else {
        return;
    };
    let now = Utc::now();
    let minute = now.timestamp().div_euclid(60);
    if last.get(&status.id) == Some(&(minute, dbm)) {
        return;
    }
    last.insert(status.id.clone(), (minute, dbm));
    if let Err(e) = store.record_signal(&status.id, now, dbm).await {
        tracing::warn!(modem = %status.id, error = %e, "cannot record a signal sample");
    }
}

/// The days (local to `offset`) ending with the one `now` falls on, oldest first, each with its start and end.
fn days(
    now: DateTime<Utc>,
    offset: FixedOffset,
) -> Vec<(chrono::NaiveDate, DateTime<Utc>, DateTime<Utc>)> {
    let today = now.with_timezone(&offset).date_naive();
    (0..HEALTH_DAYS)
        .rev()
        .filter_map(|back| {
            let day = today - chrono::Days::new(u64::try_from(back).ok()?);
            let start = offset
                .from_local_datetime(&day.and_time(NaiveTime::MIN))
                .single()?
                .with_timezone(&Utc);
            Some((day, start, start + Duration::days(1)))
        })
        .collect()
}

/// `modem`'s health as of `now`, its days counted in the time zone `offset`.
pub(crate) async fn health(
    store: &Store,
    modem: &str,
    now: DateTime<Utc>,
    offset: FixedOffset,
) -> Result<ModemHistory, StoreError> {
    let since = now - SIGNAL_WINDOW;
    let signal = store
        .signal_since(modem, since)
        .await?
        .into_iter()
        .map(|(at, dbm)| SignalSample { at, dbm })
        .collect();
    let days = days(now, offset);
    let ranges: Vec<_> = days.iter().map(|(_, from, to)| (*from, *to)).collect();
    let counts = store.received_counts(modem, &ranges).await?;
    Ok(ModemHistory {
        modem: modem.to_owned(),
        since,
        until: now,
        signal,
        messages_per_day: days
            .iter()
            .zip(counts)
            .map(|((day, _, _), messages)| DayCount {
                day: *day,
                messages,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_end_today_in_the_asked_time_zone() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T23:30:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        let utc = days(now, FixedOffset::east_opt(0).expect("utc"));
        assert_eq!(utc.len(), HEALTH_DAYS);
        assert_eq!(utc[6].0.to_string(), "2026-12-07");
        assert_eq!(utc[0].0.to_string(), "2026-12-01");
        assert_eq!(utc[6].1.to_rfc3339(), "2026-12-07T00:00:00+00:00");
        // An hour east of UTC it is already the 8th, which began at 23:00 UTC.
        let berlin = days(now, FixedOffset::east_opt(3600).expect("+1"));
        assert_eq!(berlin[6].0.to_string(), "2026-12-08");
        assert_eq!(berlin[6].1.to_rfc3339(), "2026-12-07T23:00:00+00:00");
        assert!(
            berlin.windows(2).all(|w| w[0].2 == w[1].1),
            "days follow each other"
        );
    }

    #[tokio::test]
    async fn statuses_with_a_signal_become_one_sample_a_minute() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("h.db")).await.expect("store");
        let hub = Hub::new();
        let shutdown = CancellationToken::new();
        let mut status = ModemStatus::new(
            "imei:1",
            "/dev/pts/1",
            simrelay_protocol::ModemState::Connected,
        );
        status.signal_dbm = Some(-81);
        // Published before the recorder started: taken from the hub's snapshot.
        hub.publish_modem(status.clone());
        let task = tokio::spawn(record(hub.clone(), store.clone(), shutdown.clone()));
        let mut other = ModemStatus::new(
            "imei:2",
            "/dev/pts/2",
            simrelay_protocol::ModemState::Connected,
        );
        other.signal_dbm = None;
        let give_up = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            // Statuses keep coming (the same minute: still one sample); one without a signal records nothing.
            hub.publish_modem(status.clone());
            hub.publish_modem(other.clone());
            let samples = store
                .signal_since("imei:1", Utc::now() - Duration::hours(1))
                .await
                .expect("read");
            if !samples.is_empty() {
                assert_eq!(samples.len(), 1);
                assert_eq!(samples[0].1, -81);
                break;
            }
            assert!(std::time::Instant::now() < give_up, "no sample recorded");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let health = health(
            &store,
            "imei:1",
            Utc::now(),
            FixedOffset::east_opt(0).expect("utc"),
        )
        .await
        .expect("health");
        assert_eq!(health.signal.len(), 1);
        assert_eq!(health.messages_per_day.len(), HEALTH_DAYS);
        assert!(store
            .signal_since("imei:2", Utc::now() - Duration::hours(1))
            .await
            .expect("read")
            .is_empty());
        shutdown.cancel();
        task.await.expect("recorder stops");
    }
}
