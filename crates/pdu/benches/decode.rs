//! Single-part decode throughput (issue 3 asks for at least 1,000,000 PDUs per second on one core).

use criterion::{criterion_main, Criterion, Throughput};

const GSM7: &str = "07911326040000F0040B911346610089F60000208062917314080CC8329BFD065DDF72363904";

fn bench(c: &mut Criterion) {
    let gsm7 = simrelay_pdu::parse_hex(GSM7).expect("valid hex");
    let ts = chrono::DateTime::parse_from_rfc3339("2025-01-02T03:04:05+01:00").expect("valid time");
    let ucs2 =
        simrelay_pdu::encode_deliver("+4915123456789", "Ваш код подтверждения: 123456 😀", ts)
            .remove(0);
    let long7 =
        simrelay_pdu::encode_deliver("Megafon", &"Your code is 123456. ".repeat(8)[..150], ts)
            .remove(0);
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(1));
    for (name, pdu) in [
        ("gsm7_short", &gsm7),
        ("gsm7_150_chars", &long7),
        ("ucs2_30_chars", &ucs2),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| simrelay_pdu::decode(std::hint::black_box(pdu)))
        });
    }
    g.finish();
}

// The macro generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
use group::benches;
criterion_main!(benches);
