//! What a process tree costs, read from `/proc`: the processes below the app (WebKit's web and network
//! processes are its children), their proportional set size, and how often their threads woke up.
//!
//! PSS rather than RSS: WebKit's processes share most of their libraries with the app, and PSS charges each
//! shared page once across them, so the sum over the tree is what the app costs the machine.

use std::collections::HashMap;

/// `root` and every process below it, `root` first.
pub fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_string_lossy().parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // Field 4 (ppid) follows the ")" that ends the command name (which may itself hold spaces).
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut pids = vec![root];
    let mut i = 0;
    while i < pids.len() {
        let parent = pids[i];
        for (pid, ppid) in &parents {
            if *ppid == parent && !pids.contains(pid) {
                pids.push(*pid);
            }
        }
        i += 1;
    }
    pids
}

/// The process's command name (`/proc/PID/comm`, at most 15 bytes: `WebKitWebProces`), empty once it is gone.
pub fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Proportional set size of one process in KiB (`Pss:` of `/proc/PID/smaps_rollup`), `None` once it is gone.
pub fn pss_kib(pid: u32) -> Option<u64> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    rollup
        .lines()
        .find(|l| l.starts_with("Pss:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
}

/// One process of a tree and its PSS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessPss {
    /// Process id.
    pub pid: u32,
    /// Command name.
    pub comm: String,
    /// Proportional set size, KiB.
    pub pss_kib: u64,
}

/// PSS of `root` and each of its descendants.
pub fn tree_pss(root: u32) -> Vec<ProcessPss> {
    descendants(root)
        .into_iter()
        .filter_map(|pid| {
            Some(ProcessPss {
                pid,
                pss_kib: pss_kib(pid)?,
                comm: comm(pid),
            })
        })
        .collect()
}

/// Sum of the PSS of `root` and its descendants, KiB.
pub fn total_pss_kib(root: u32) -> u64 {
    tree_pss(root).iter().map(|p| p.pss_kib).sum()
}

/// Context switches of each process of the tree below `root` (and `root`), by pid.
pub fn tree_context_switches(root: u32) -> HashMap<u32, (String, u64)> {
    descendants(root)
        .into_iter()
        .filter_map(|pid| {
            Some((
                pid,
                (
                    comm(pid),
                    simrelay_testkit::procfs::context_switches(pid).ok()?,
                ),
            ))
        })
        .collect()
}

/// Wake-ups between two readings of [`tree_context_switches`], per process name, counting only processes
/// present in both (a thread or process that ended in between is not an idle cost).
pub fn wakeups_between(
    before: &HashMap<u32, (String, u64)>,
    after: &HashMap<u32, (String, u64)>,
) -> Vec<(String, u64)> {
    let mut by_name: HashMap<String, u64> = HashMap::new();
    for (pid, (name, end)) in after {
        if let Some((_, start)) = before.get(pid) {
            *by_name.entry(name.clone()).or_default() += end.saturating_sub(*start);
        }
    }
    let mut out: Vec<(String, u64)> = by_name.into_iter().collect();
    out.sort();
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_and_a_child() {
        let me = std::process::id();
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let tree = descendants(me);
        assert_eq!(tree[0], me);
        assert!(tree.contains(&child.id()), "{tree:?}");
        assert_eq!(comm(child.id()), "sleep");
        assert!(pss_kib(me).unwrap() > 100);
        assert!(total_pss_kib(me) > pss_kib(me).unwrap() / 2);
        let before = tree_context_switches(me);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let after = tree_context_switches(me);
        assert!(wakeups_between(&before, &after).iter().any(|(_, n)| *n > 0));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(pss_kib(child.id()), None);
    }
}
