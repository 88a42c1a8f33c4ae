//! `/metrics` against a real engine with the demo modem (a pty driven by the real driver): the token guards it,
//! and it counts what the modem delivered, the WebSocket clients, and the modem-to-client latency.

use futures_util::StreamExt;

use crate::common::{config, eventually, start};

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_token_and_count_messages_clients_and_latency() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = start(simrelay_engine::Config {
        demo: true,
        demo_interval_secs: 1,
        token: Some("metrics-token".into()),
        ..config(&dir.path().join("x.db"))
    })
    .await;
    let base = format!("http://{}/metrics", engine.local_addr());
    assert_eq!(reqwest::get(&base).await.expect("get").status(), 401);

    let (mut ws, _) = tokio_tungstenite::connect_async(format!(
        "ws://{}/ws?token=metrics-token",
        engine.local_addr()
    ))
    .await
    .expect("ws");
    let scrape = || {
        let base = base.clone();
        async move {
            let r = reqwest::Client::new()
                .get(&base)
                .bearer_auth("metrics-token")
                .send()
                .await
                .expect("get");
            assert_eq!(r.status(), 200);
            assert!(r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/openmetrics-text")));
            r.text().await.expect("text")
        }
    };
    // Read the socket meanwhile, so the server hands it messages.
    let reader = tokio::spawn(async move { while ws.next().await.is_some() {} });
    eventually(
        "two demo messages handed to the WebSocket client",
        || async {
            let text = scrape().await;
            value(
                &text,
                "simrelay_modem_to_client_seconds_count{client=\"ws\"}",
            )
            .is_some_and(|n| n >= 2.0)
        },
    )
    .await;
    let text = scrape().await;
    let stored = value(&text, "simrelay_messages_stored_total{modem=\"demo\"}").expect("stored");
    let received =
        value(&text, "simrelay_messages_received_total{modem=\"demo\"}").expect("received");
    let decoded = value(&text, "simrelay_messages_decoded_total{modem=\"demo\"}").expect("decoded");
    assert!(
        stored >= 2.0 && received >= stored && decoded >= stored,
        "{text}"
    );
    assert!(
        value(&text, "simrelay_codes_extracted_total{modem=\"demo\"}").is_some(),
        "{text}"
    );
    assert_eq!(
        value(&text, "simrelay_websocket_clients"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "simrelay_modem_connected{modem=\"demo\"}"),
        Some(1.0),
        "{text}"
    );
    assert!(
        value(&text, "simrelay_modem_signal_dbm{modem=\"demo\"}").is_some(),
        "{text}"
    );
    assert!(
        value(&text, "simrelay_modem_storage_total{modem=\"demo\"}").is_some(),
        "{text}"
    );
    // Every PDU arrived well within the histogram's range.
    let count = value(
        &text,
        "simrelay_modem_to_client_seconds_count{client=\"ws\"}",
    )
    .expect("count");
    let within = value(
        &text,
        "simrelay_modem_to_client_seconds_bucket{le=\"16.384\",client=\"ws\"}",
    )
    .expect("bucket");
    assert_eq!(count, within, "{text}");
    reader.abort();
    eventually("the client gone from the gauge", || async {
        value(&scrape().await, "simrelay_websocket_clients") == Some(0.0)
    })
    .await;
    engine.shutdown().await;
}
