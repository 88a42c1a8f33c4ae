//! Throughput of `extract` on typical SMS: the project corpus (codes, hard negatives, many languages), measured
//! as messages per second on one core. Target: at least 200,000 messages per second.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn corpus() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/otp/corpus.jsonl"
    );
    let data = std::fs::read_to_string(path).unwrap_or_default();
    data.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_owned))
        .collect()
}

fn bench(c: &mut Criterion) {
    let messages = corpus();
    assert!(!messages.is_empty(), "corpus not found");
    // Compile the matcher outside the measurement.
    let _ = simrelay_otp::extract("warm up 123456");
    let mut group = c.benchmark_group("extract");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function("corpus", |b| {
        b.iter(|| {
            let mut found = 0usize;
            for m in &messages {
                found += usize::from(simrelay_otp::extract(std::hint::black_box(m)).is_some());
            }
            found
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
