//! Readings about a running process from `/proc`: resident memory and context switches.
//!
//! A thread that sleeps in the kernel and is woken counts one voluntary context switch, so the sum over all
//! threads of a process is its number of wake-ups: an idle event-driven server should show almost none.

use std::path::Path;

use crate::KitError;

/// A field of `/proc/PID/status` (or of a task's status) in its unit (kB for memory, a count otherwise).
fn status_field(status: &Path, field: &str) -> Result<u64, KitError> {
    let text = std::fs::read_to_string(status)
        .map_err(KitError::io(format!("cannot read {}", status.display())))?;
    text.lines()
        .find_map(|line| {
            let rest = line.strip_prefix(field)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .ok_or_else(|| KitError::Protocol(format!("no {field} in {}", status.display())))
}

/// Resident set size in KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> Result<u64, KitError> {
    status_field(Path::new(&format!("/proc/{pid}/status")), "VmRSS")
}

/// Peak resident set size in KiB (`VmHWM`).
pub fn peak_rss_kib(pid: u32) -> Result<u64, KitError> {
    status_field(Path::new(&format!("/proc/{pid}/status")), "VmHWM")
}

/// Voluntary plus involuntary context switches of every live thread of `pid`.
pub fn context_switches(pid: u32) -> Result<u64, KitError> {
    let tasks = format!("/proc/{pid}/task");
    let mut total = 0;
    for entry in std::fs::read_dir(&tasks).map_err(KitError::io(format!("cannot list {tasks}")))? {
        let status = entry
            .map_err(KitError::io(format!("cannot list {tasks}")))?
            .path()
            .join("status");
        // A thread may end between the listing and the read; its switches are then simply not counted.
        let Ok(voluntary) = status_field(&status, "voluntary_ctxt_switches") else {
            continue;
        };
        total += voluntary + status_field(&status, "nonvoluntary_ctxt_switches").unwrap_or(0);
    }
    Ok(total)
}

/// Number of threads of `pid`.
pub fn threads(pid: u32) -> Result<u64, KitError> {
    status_field(Path::new(&format!("/proc/{pid}/status")), "Threads")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        assert!(rss_kib(pid).expect("rss") > 100);
        assert!(peak_rss_kib(pid).expect("hwm") >= rss_kib(pid).expect("rss") / 2);
        assert!(context_switches(pid).expect("switches") > 0);
        assert!(threads(pid).expect("threads") >= 1);
        assert!(rss_kib(u32::MAX).is_err());
    }
}
