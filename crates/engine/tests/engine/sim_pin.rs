//! A SIM PIN entered through the API (`POST /api/modems/{id}/pin`) on the real path: a simulated modem whose
//! SIM is locked, a wrong PIN answered with the tries left (and tried once), the right one unlocking the SIM so
//! its stored SMS arrives, the PIN kept private in `pins.toml`, and the next start unlocking the SIM by itself.

use std::path::Path;
use std::time::Duration;

use simrelay_engine::{Config, Engine};
use simrelay_modem::{SimOptions, Simulator};
use simrelay_protocol::{ApiError, MessagePage, ModemState, ModemStatus, PinRejected};
use simrelay_testkit::pdu::{deliver_at, SENDER};

use crate::common::{self, eventually, next_sms};

const PIN: &str = "4711";

/// A locked SIM behind `link`, a stable path like `/dev/serial/by-id/...`, so a second simulator is the same
/// port to the engine (the same SIM after a power cycle: locked again).
async fn locked_sim(link: &Path) -> Simulator {
    Simulator::start(SimOptions {
        pin: Some(PIN.into()),
        link: Some(link.to_path_buf()),
        ..SimOptions::default()
    })
    .await
    .expect("simulator")
}

/// An engine with the modem on `port`, no PIN configured, its state (tokens, PINs) in `state`.
async fn engine(port: &str, state: &Path) -> Engine {
    common::start(Config {
        modems: vec![port.to_owned()],
        state_dir: Some(state.to_path_buf()),
        ..common::config(&state.join("pin.db"))
    })
    .await
}

fn status(engine: &Engine) -> Option<ModemStatus> {
    engine.hub().modems().into_iter().next()
}

/// `POST /api/modems/{id}/pin` with the main token, as the Modems screen sends it.
async fn post_pin(engine: &Engine, id: &str, body: serde_json::Value) -> reqwest::Response {
    common::client(engine)
        .post(common::url(engine, &format!("/api/modems/{id}/pin")))
        .json(&body)
        .send()
        .await
        .expect("post")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_entered_in_the_app_unlocks_the_sim_now_and_at_the_next_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("modem");
    let port = link.to_string_lossy().into_owned();
    let sim = locked_sim(&link).await;
    sim.store(deliver_at(
        SENDER,
        "Your code is 880341",
        "2026-11-22T09:58:00+01:00",
    ));
    let engine = engine(&port, dir.path()).await;
    let mut events = engine.subscribe();
    eventually("the modem waits for its PIN", || async {
        status(&engine).is_some_and(|s| s.state == ModemState::PinRequired)
    })
    .await;
    let id = status(&engine).expect("listed").id;
    assert_eq!(sim.pin_attempts(), 0, "no PIN is configured: none is tried");

    // Without the token, not a PIN, an unknown modem: refused before the SIM sees anything.
    let r = reqwest::Client::new()
        .post(common::url(&engine, &format!("/api/modems/{id}/pin")))
        .json(&serde_json::json!({"pin": PIN}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 401);
    let r = post_pin(&engine, &id, serde_json::json!({"pin": "12a4"})).await;
    assert_eq!(r.status(), 400);
    let error: ApiError = r.json().await.expect("error body");
    assert!(error.detail.contains("4 to 8 digits"), "{error:?}");
    let r = post_pin(&engine, "imei:nope", serde_json::json!({"pin": PIN})).await;
    assert_eq!(r.status(), 404);
    assert_eq!(sim.pin_attempts(), 0);

    // A wrong PIN: tried once, answered with the tries left, never retried.
    let r = post_pin(&engine, &id, serde_json::json!({"pin": "0000"})).await;
    assert_eq!(r.status(), 422);
    let rejected: PinRejected = r.json().await.expect("error body");
    assert_eq!(rejected.error, "pin_rejected");
    assert_eq!(rejected.attempts_left, Some(2), "{rejected:?}");
    assert!(!rejected.detail.contains("0000"), "{rejected:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sim.pin_attempts(), 1);
    let pins = dir.path().join("pins.toml");
    assert!(!pins.exists(), "a rejected PIN is not stored");

    // The right one: the SIM unlocks and the SMS it held arrives.
    let r = post_pin(&engine, &id, serde_json::json!({"pin": PIN})).await;
    assert_eq!(r.status(), 200);
    let unlocked: ModemStatus = r.json().await.expect("status");
    assert_ne!(unlocked.state, ModemState::PinRequired, "{unlocked:?}");
    let message = next_sms(&mut events).await;
    assert_eq!(message.code.as_deref(), Some("880341"));
    let text = std::fs::read_to_string(&pins).expect("the PIN is stored");
    assert!(text.contains(PIN) && text.contains(&port), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&pins)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "pins.toml must be private");
    }
    engine.shutdown().await;
    drop(sim);

    // The next start (the SIM locked again, as after a power cycle) unlocks it with the stored PIN.
    let sim = locked_sim(&link).await;
    sim.store(deliver_at(
        SENDER,
        "Your code is 551207",
        "2026-11-22T10:05:00+01:00",
    ));
    let engine = self::engine(&port, dir.path()).await;
    eventually("the SMS the relocked SIM held arrives", || async {
        let page: MessagePage = common::get_json(&engine, "/api/messages").await;
        page.messages
            .iter()
            .any(|m| m.code.as_deref() == Some("551207"))
    })
    .await;
    assert_eq!(sim.pin_attempts(), 1, "the stored PIN, once");
    engine.shutdown().await;
}
