//! `GET /api/modems/{id}/health` on the real path: a simulated modem's signal, as its driver reports it, becomes
//! stored samples (the latest of a minute kept), its messages are counted per day, and bad requests get clear
//! errors.

use simrelay_modem::sim::Personality;
use simrelay_modem::{SimOptions, Simulator};
use simrelay_protocol::{ModemHistory, HEALTH_DAYS};
use simrelay_testkit::pdu::deliver;

use crate::common::{self, eventually, next_sms};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_endpoint_shows_the_signal_the_modem_reported_and_messages_per_day() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A SIM7600 reports its signal with +CSQ on its own once the driver asked it to.
    let sim = Simulator::start(SimOptions {
        personality: Personality::Sim7600,
        ..SimOptions::default()
    })
    .await
    .expect("simulator");
    let engine = common::start(simrelay_engine::Config {
        modems: vec![sim.path().to_string_lossy().into_owned()],
        ..common::config(&dir.path().join("health.db"))
    })
    .await;
    let mut events = engine.hub().subscribe();
    let mut id = String::new();
    eventually("the modem's status with a signal", || {
        let status = engine.hub().modems().into_iter().next();
        if let Some(s) = &status {
            id.clone_from(&s.id);
        }
        async move { status.is_some_and(|s| s.signal_dbm.is_some() && s.id.starts_with("imei:")) }
    })
    .await;
    let path = format!("/api/modems/{id}/health");

    // No new polling: the change arrives as the modem's own report, and the chart has it.
    sim.set_signal(10);
    eventually("the reported signal stored as a sample", || {
        let engine = &engine;
        let path = path.clone();
        async move {
            let health: ModemHistory = common::get_json(engine, &path).await;
            health.signal.last().is_some_and(|s| s.dbm == -93)
        }
    })
    .await;

    for text in ["first 111111", "second 222222"] {
        sim.deliver(deliver("+4915123456789", text));
        next_sms(&mut events).await;
    }
    let health: ModemHistory = common::get_json(&engine, &path).await;
    assert_eq!(health.modem, id);
    assert_eq!(health.until - health.since, chrono::Duration::hours(24));
    assert!(health
        .signal
        .iter()
        .all(|s| s.at >= health.since - chrono::Duration::minutes(1) && s.at <= health.until));
    assert!(
        health.signal.windows(2).all(|w| w[0].at < w[1].at),
        "oldest first, one a minute: {:?}",
        health.signal
    );
    assert_eq!(health.messages_per_day.len(), HEALTH_DAYS);
    let today = health.until.date_naive();
    assert_eq!(health.messages_per_day[HEALTH_DAYS - 1].day, today);
    assert_eq!(
        health
            .messages_per_day
            .iter()
            .map(|d| d.messages)
            .collect::<Vec<_>>(),
        vec![0, 0, 0, 0, 0, 0, 2]
    );
    // Days in the caller's time zone: fourteen hours east, today there may be tomorrow in UTC.
    let east: ModemHistory = common::get_json(&engine, &format!("{path}?utc_offset=840")).await;
    let east_today = (health.until + chrono::Duration::hours(14)).date_naive();
    assert_eq!(east.messages_per_day[HEALTH_DAYS - 1].day, east_today);
    assert_eq!(
        east.messages_per_day
            .iter()
            .map(|d| d.messages)
            .sum::<u64>(),
        2
    );

    for bad in ["abc", "900", "-841", "1.5"] {
        let detail = common::expect_error(
            common::get(&engine, &format!("{path}?utc_offset={bad}")).await,
            400,
            "bad_request",
        )
        .await;
        assert!(detail.contains("utc_offset"), "{detail}");
    }
    common::expect_error(
        common::get(&engine, "/api/modems/imei:000000000000000/health").await,
        404,
        "not_found",
    )
    .await;
    let anonymous = reqwest::get(common::url(&engine, &path))
        .await
        .expect("get");
    assert_eq!(anonymous.status(), 401, "a token is needed");
    engine.shutdown().await;
    sim.shutdown().await;
}
