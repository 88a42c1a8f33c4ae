//! Runs `extract` over the project corpus many times and prints messages per second of wall time. On a busy
//! machine run it under `perf stat -e task-clock` and divide by CPU time instead:
//! `cargo run --release -p simrelay-otp --example throughput -- 2000`.

use std::time::Instant;

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/otp/corpus.jsonl"
    );
    let data = std::fs::read_to_string(path).unwrap_or_default();
    let messages: Vec<String> = data
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_owned))
        .collect();
    let _ = simrelay_otp::extract("warm up 123456");
    let start = Instant::now();
    let mut found = 0usize;
    for _ in 0..rounds {
        for m in &messages {
            found += usize::from(simrelay_otp::extract(std::hint::black_box(m)).is_some());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let total = rounds * messages.len();
    println!(
        "{total} messages ({found} with a code) in {secs:.3} s wall: {:.0} messages/s",
        total as f64 / secs
    );
}
