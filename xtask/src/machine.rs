//! What machine the figures were measured on, and how busy it was.

use std::process::Command;

/// The facts BENCHMARKS.md states about the machine.
pub struct Machine {
    /// Logical CPUs (`nproc --all`: the machine's, not the ones this process is pinned to).
    pub cpus: String,
    /// CPU model from /proc/cpuinfo.
    pub cpu_model: String,
    /// Total memory from /proc/meminfo.
    pub memory: String,
    /// `rustc -V`.
    pub rustc: String,
    /// `uname -sr`.
    pub kernel: String,
}

/// Reads the machine's description (unknown parts say so).
pub fn describe() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |text: &str, name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
    };
    let memory = field(&meminfo, "MemTotal")
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or("unknown".into(), |kib| {
            format!("{:.1} GiB", kib / 1024.0 / 1024.0)
        });
    Machine {
        cpus: output("nproc", &["--all"]),
        cpu_model: field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into()),
        memory,
        rustc: output("rustc", &["-V"]),
        kernel: output("uname", &["-sr"]),
    }
}

/// The checkout's commit, and whether the engine's sources differ from it.
pub fn revision() -> String {
    let commit = output("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = Command::new("git")
        .args([
            "status",
            "--porcelain",
            "--",
            "crates",
            "migrations",
            "bench",
        ])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    if dirty {
        format!("{commit} (crates/, migrations/ or bench/ had uncommitted changes)")
    } else {
        commit
    }
}

/// The 1/5/15-minute load averages, as `uptime` prints them.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

/// The 1-minute load average.
pub fn load1() -> f64 {
    load()
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// How many `simrelay-bench` and `simrelay-desktop-bench` processes are running (other benchmarks sharing the
/// machine with the one about to start, when called before it starts).
pub fn benches_running() -> usize {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| {
            std::fs::read_to_string(entry.path().join("comm")).is_ok_and(|comm| {
                // `comm` holds at most 15 bytes: "simrelay-deskto".
                matches!(comm.trim(), "simrelay-bench" | "simrelay-deskto")
            })
        })
        .count()
}

fn output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

/// The CPUs this process may run on (`Cpus_allowed_list` of `/proc/self/status`, e.g. `0-1` or `1`); the bench it
/// starts inherits them.
pub fn cpus_allowed() -> String {
    allowed_list(std::path::Path::new("/proc/self")).unwrap_or_else(|| "unknown".into())
}

/// How many user processes other than this one may run on this process's CPUs. When the bench is pinned to a CPU
/// of its own, 0 says the rest of the machine's work really was kept off it (kernel threads are not counted).
pub fn others_on_our_cpus() -> usize {
    let ours = cpu_set(&cpus_allowed());
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|n| n != me && n.bytes().all(|b| b.is_ascii_digit()))
        })
        // Kernel threads have an empty command line.
        .filter(|entry| std::fs::read(entry.path().join("cmdline")).is_ok_and(|c| !c.is_empty()))
        .filter_map(|entry| allowed_list(&entry.path()))
        .filter(|list| cpu_set(list).iter().any(|cpu| ours.contains(cpu)))
        .count()
}

fn allowed_list(proc_dir: &std::path::Path) -> Option<String> {
    let status = std::fs::read_to_string(proc_dir.join("status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|v| v.trim().to_owned())
}

/// `0-2,5` → [0, 1, 2, 5].
fn cpu_set(list: &str) -> Vec<u32> {
    list.split(',')
        .filter_map(|part| {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            Some(a.trim().parse::<u32>().ok()?..=b.trim().parse::<u32>().ok()?)
        })
        .flatten()
        .collect()
}
