//! What the processes an app started cost, read from `/proc`: the app and every process below it (WebKit's web
//! and network processes are its children), the ones that lost their parent on the way (orphans), their
//! proportional set size, and how often their threads woke up.
//!
//! PSS rather than RSS: WebKit's processes share most of their libraries with the app, and PSS charges each
//! shared page once across them, so the sum over the processes is what the app costs the machine.
//!
//! Orphans: a process whose parent exits is re-parented to init and drops out of the app's tree, although the app
//! started it and it still costs memory. The benchmark makes itself their subreaper ([`become_subreaper`]), so
//! they are re-parented to it instead, and [`AppTree`] counts every process that appears below it after the app
//! was started, besides the app's own tree.

use std::collections::{HashMap, HashSet};

/// Makes this process the subreaper of its descendants (Linux `PR_SET_CHILD_SUBREAPER`): orphans below it are
/// re-parented here, not to init.
pub fn become_subreaper() -> std::io::Result<()> {
    nix::sys::prctl::set_child_subreaper(true).map_err(std::io::Error::from)
}

/// The processes an app started, orphans included: the app's own tree, and each process that became a child
/// of this (subreaper) process after [`AppTree::new`] was called, with everything below it.
#[derive(Debug, Clone)]
pub struct AppTree {
    app: u32,
    reaper: u32,
    before: HashSet<u32>,
}

impl AppTree {
    /// Call it before starting the app (`app` is its pid once started; see [`AppTree::with_app`]): it notes the
    /// children this process already has (the X server, the session bus), which are not the app's.
    pub fn before_start() -> AppTree {
        let reaper = std::process::id();
        AppTree {
            app: 0,
            reaper,
            before: children(reaper).into_iter().collect(),
        }
    }

    /// The same, now that the app runs as `app`.
    pub fn with_app(mut self, app: u32) -> AppTree {
        self.app = app;
        self
    }

    /// Every process the app started, still running: the app first.
    pub fn pids(&self) -> Vec<u32> {
        let mut pids = descendants(self.app);
        for orphan in self.orphans() {
            for pid in descendants(orphan) {
                if !pids.contains(&pid) {
                    pids.push(pid);
                }
            }
        }
        pids
    }

    /// The processes that lost their parent in the app's tree and were re-parented to this process: its new
    /// children outside its own process group. The app runs in a process group of its own (the harness's
    /// `Guard`), which its processes inherit; the commands this process runs for itself stay in its group.
    pub fn orphans(&self) -> Vec<u32> {
        let own_group = process_group(self.reaper);
        children(self.reaper)
            .into_iter()
            .filter(|pid| *pid != self.app && !self.before.contains(pid))
            .filter(|pid| process_group(*pid).is_some_and(|g| Some(g) != own_group))
            .collect()
    }
}

/// The direct children of `parent`.
pub fn children(parent: u32) -> Vec<u32> {
    parents()
        .into_iter()
        .filter(|(_, ppid)| *ppid == parent)
        .map(|(pid, _)| pid)
        .collect()
}

/// The process group of `pid` (field 5 of `/proc/PID/stat`), `None` once it is gone.
pub fn process_group(pid: u32) -> Option<u32> {
    stat_field(pid, 2)
}

/// Field `n` (0-based) after the command name of `/proc/PID/stat`: 1 is the parent, 2 the process group.
fn stat_field(pid: u32, n: usize) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields follow the ")" that ends the command name (which may itself hold spaces).
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(n)?
        .parse()
        .ok()
}

/// Every process and its parent.
fn parents() -> Vec<(u32, u32)> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_string_lossy().parse().ok()?;
            Some((pid, stat_field(pid, 1)?))
        })
        .collect()
}

/// `root` and every process below it, `root` first.
pub fn descendants(root: u32) -> Vec<u32> {
    let parents = parents();
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
    pss_of(descendants(root))
}

/// PSS of each of `pids` still running.
pub fn pss_of(pids: Vec<u32>) -> Vec<ProcessPss> {
    pids.into_iter()
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
    context_switches_of(descendants(root))
}

/// Context switches of each of `pids` still running, by pid.
pub fn context_switches_of(pids: Vec<u32>) -> HashMap<u32, (String, u64)> {
    pids.into_iter()
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
        // This thread's own sleeps are wake-ups of the tree; a busy machine may delay when they are counted.
        let before = tree_context_switches(me);
        let woke = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            let after = tree_context_switches(me);
            wakeups_between(&before, &after).iter().any(|(_, n)| *n > 0)
        });
        assert!(woke, "no wake-up counted in the tree of {me} within 2 s");
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(pss_kib(child.id()), None);
    }

    #[test]
    fn an_orphan_of_the_app_is_still_counted() {
        // This test process plays the benchmark; `sh` plays the app (in a process group of its own, as the
        // harness starts it) and leaves a `sleep` behind when it exits.
        use std::os::unix::process::CommandExt;
        become_subreaper().unwrap();
        let tree = AppTree::before_start();
        let mut app = std::process::Command::new("sh")
            .process_group(0)
            // The sleep must not hold the pipe, or reading it waits for the sleep too.
            .args(["-c", "sleep 30 >/dev/null 2>&1 & echo $!"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let tree = tree.with_app(app.id());
        let mut out = String::new();
        std::io::Read::read_to_string(app.stdout.as_mut().unwrap(), &mut out).unwrap();
        app.wait().unwrap();
        let orphan: u32 = out.trim().parse().unwrap();
        assert_eq!(comm(orphan), "sleep");
        assert!(
            !descendants(app.id()).contains(&orphan),
            "its parent is gone"
        );
        assert_eq!(tree.orphans(), vec![orphan]);
        assert!(tree.pids().contains(&orphan));
        assert!(!pss_of(tree.pids()).is_empty());
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(orphan).unwrap()),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        // Reaped here, by the subreaper.
        nix::sys::wait::waitpid(
            nix::unistd::Pid::from_raw(i32::try_from(orphan).unwrap()),
            None,
        )
        .unwrap();
        assert!(tree.orphans().is_empty());
    }
}
