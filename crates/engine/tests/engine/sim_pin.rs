//! A SIM PIN entered through the API (`POST /api/modems/{id}/pin`) on the real path: a simulated modem whose
//! SIM is locked, a wrong PIN answered with the tries left (and tried once), the right one unlocking the SIM so
//! its stored SMS arrives, the PIN kept private in `pins.toml`, and the next start unlocking the SIM by itself;
//! the endpoint's refusals (scopes, a SIM that wants no PIN or its PUK); and the PIN reaching a modem replugged
//! or removed and added again in the same run.

use std::path::Path;
use std::time::Duration;

use simrelay_engine::tokens::{self, Scope, Scopes};
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

/// An engine with the modem on `port` (which `POST /api/modems` accepts), no PIN configured, its state (tokens,
/// PINs) in `state`.
async fn engine(port: &str, state: &Path) -> Engine {
    common::start(Config {
        modems: vec![port.to_owned()],
        // A pty link is no serial device path: allowed, so the modem can be added again through the API.
        allowed_ports: vec![port.to_owned()],
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
    assert_eq!(unlocked.pin_attempts_left, None, "{unlocked:?}");
    assert_eq!(unlocked.last_error, None, "{unlocked:?}");
    let message = next_sms(&mut events).await;
    assert_eq!(message.code.as_deref(), Some("880341"));
    // An unlocked SIM is not sent a PIN: 409, and the SIM counts nothing.
    let r = post_pin(&engine, &id, serde_json::json!({"pin": PIN})).await;
    let detail = common::expect_error(r, 409, "no_pin_wanted").await;
    assert!(detail.contains("does not ask for a PIN"), "{detail}");
    assert_eq!(sim.pin_attempts(), 2);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pin_errors_are_answered_clearly_and_a_puk_is_explained_never_tried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("modem");
    let port = link.to_string_lossy().into_owned();
    let sim = locked_sim(&link).await;
    // A paired phone (read and send) and a reader: neither may enter a PIN, which is admin work.
    let tokens = dir.path().join("tokens.toml");
    let phone = tokens::add(&tokens, "phone").expect("add");
    let reader = tokens::add_with_scopes(&tokens, "reader", Scopes::default().with(Scope::Read))
        .expect("add");
    let engine = engine(&port, dir.path()).await;
    eventually("the modem waits for its PIN", || async {
        status(&engine).is_some_and(|s| s.state == ModemState::PinRequired)
    })
    .await;
    let id = status(&engine).expect("listed").id;

    for token in [&phone, &reader] {
        let r = reqwest::Client::new()
            .post(common::url(&engine, &format!("/api/modems/{id}/pin")))
            .bearer_auth(token)
            .json(&serde_json::json!({"pin": PIN}))
            .send()
            .await
            .expect("post");
        let detail = common::expect_error(r, 403, "insufficient_scope").await;
        assert!(detail.contains("admin"), "{detail}");
    }
    assert_eq!(
        sim.pin_attempts(),
        0,
        "refused before the SIM sees anything"
    );

    // Each wrong PIN: 422 with the tries left, in the body and in the modem's status.
    for left in [2u8, 1, 0] {
        let r = post_pin(&engine, &id, serde_json::json!({"pin": "0000"})).await;
        assert_eq!(r.status(), 422);
        let rejected: PinRejected = r.json().await.expect("error body");
        assert_eq!(rejected.error, "pin_rejected");
        assert_eq!(rejected.attempts_left, Some(left), "{rejected:?}");
        assert!(rejected.detail.contains("not retried"), "{rejected:?}");
    }
    assert_eq!(sim.pin_attempts(), 3);

    // Now the SIM wants its PUK: the status says so with the PUK tries left, and a PIN is answered with how to
    // unblock it, never sent to the SIM.
    eventually("the modem reports the PUK", || async {
        status(&engine)
            .is_some_and(|s| s.state == ModemState::PukRequired && s.pin_attempts_left == Some(10))
    })
    .await;
    let explained = status(&engine)
        .and_then(|s| s.last_error)
        .unwrap_or_default();
    assert!(explained.contains("PUK"), "{explained}");
    let r = post_pin(&engine, &id, serde_json::json!({"pin": PIN})).await;
    let detail = common::expect_error(r, 409, "puk_required").await;
    assert!(
        detail.contains("PUK") && detail.contains("phone"),
        "{detail}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        sim.pin_attempts(),
        3,
        "nothing is sent to a SIM that wants its PUK"
    );
    assert!(!dir.path().join("pins.toml").exists());
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_entered_in_the_app_unlocks_a_replugged_or_re_added_modem_in_the_same_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("modem");
    let port = link.to_string_lossy().into_owned();
    let mut sim = locked_sim(&link).await;
    let engine = engine(&port, dir.path()).await;
    eventually("the modem waits for its PIN", || async {
        status(&engine).is_some_and(|s| s.state == ModemState::PinRequired)
    })
    .await;
    let id = status(&engine).expect("listed").id;
    let r = post_pin(&engine, &id, serde_json::json!({"pin": PIN})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(sim.pin_attempts(), 1);

    let arrived = |code: &'static str| {
        let engine = &engine;
        async move {
            let page: MessagePage = common::get_json(engine, "/api/messages").await;
            page.messages
                .iter()
                .any(|m| m.code.as_deref() == Some(code))
        }
    };

    // Replugged: the SIM is powered down and locked again; the driver enters the PIN it was given.
    sim.store(deliver_at(
        SENDER,
        "Your code is 310442",
        "2026-11-22T10:10:00+01:00",
    ));
    sim.replug().await.expect("replug");
    eventually(
        "the replugged SIM is unlocked and its SMS arrives",
        || async { sim.pin_attempts() >= 2 && arrived("310442").await },
    )
    .await;
    assert_eq!(sim.pin_attempts(), 2, "the app's PIN, once more");

    // Removed, the SIM power-cycled, and added again through the API: a new driver, which knows the PIN too.
    let r = common::client(&engine)
        .delete(common::url(&engine, &format!("/api/modems/{id}")))
        .send()
        .await
        .expect("delete");
    assert!(r.status().is_success(), "{}", r.status());
    eventually("the modem is gone", || async { status(&engine).is_none() }).await;
    sim.store(deliver_at(
        SENDER,
        "Your code is 772905",
        "2026-11-22T10:20:00+01:00",
    ));
    sim.replug().await.expect("replug");
    let r = common::client(&engine)
        .post(common::url(&engine, "/api/modems"))
        .json(&serde_json::json!({"port": port}))
        .send()
        .await
        .expect("add");
    assert!(r.status().is_success(), "{}", r.status());
    eventually("the re-added modem's SMS arrives", || arrived("772905")).await;
    assert_eq!(
        sim.pin_attempts(),
        3,
        "the app's PIN, once, by the new driver"
    );
    assert_ne!(
        status(&engine).map(|s| s.state),
        Some(ModemState::PinRequired)
    );
    engine.shutdown().await;
}
