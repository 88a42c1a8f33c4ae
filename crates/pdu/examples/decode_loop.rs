//! Decodes one single-part PDU N times and prints PDUs per second of *CPU* time, so the figure holds on a
//! busy machine where criterion's wall-clock numbers swing with the load. Usage:
//! `cargo run --release -p simrelay-pdu --example decode_loop -- [gsm7_short|gsm7_150_chars|ucs2_30_chars] [N]`

use std::hint::black_box;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "gsm7_short".to_owned());
    let n: u64 = args.next().map_or(Ok(2_000_000), |s| s.parse())?;
    let ts = chrono::DateTime::parse_from_rfc3339("2025-01-02T03:04:05+01:00")?;
    let pdu = match which.as_str() {
        "gsm7_150_chars" => {
            simrelay_pdu::encode_deliver("Megafon", &"Your code is 123456. ".repeat(8)[..150], ts)
                .remove(0)
        }
        "ucs2_30_chars" => {
            simrelay_pdu::encode_deliver("+4915123456789", "Ваш код подтверждения: 123456 😀", ts)
                .remove(0)
        }
        _ => simrelay_pdu::parse_hex(
            "07911326040000F0040B911346610089F60000208062917314080CC8329BFD065DDF72363904",
        )?,
    };
    let cpu = || -> Result<f64, Box<dyn std::error::Error>> {
        // utime + stime of this process, in clock ticks (fields 14 and 15 of /proc/self/stat).
        let stat = std::fs::read_to_string("/proc/self/stat")?;
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let ticks: f64 = fields.get(11).unwrap_or(&"0").parse::<f64>()?
            + fields.get(12).unwrap_or(&"0").parse::<f64>()?;
        Ok(ticks / 100.0)
    };
    let (cpu0, wall0) = (cpu()?, std::time::Instant::now());
    for _ in 0..n {
        black_box(simrelay_pdu::decode(black_box(&pdu))?);
    }
    let (cpu_s, wall_s) = (cpu()? - cpu0, wall0.elapsed().as_secs_f64());
    println!(
        "{which}: {n} decodes, {:.0} per CPU-second ({cpu_s:.2} s CPU), {:.0} per wall-second ({wall_s:.2} s)",
        n as f64 / cpu_s,
        n as f64 / wall_s
    );
    Ok(())
}
