//! `simrelay serve` writes its log lines to a daily file in the log directory (here a temporary one, through
//! `SIMRELAY_LOG_DIR`), keeps at most a week of files, and `simrelay config` names that directory.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use simrelay_engine::logging::{FILE_PREFIX, FILE_SUFFIX, KEEP_FILES, LOG_DIR_ENV};

fn simrelay(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_simrelay"));
    command
        .env(LOG_DIR_ENV, dir.join("logs"))
        .env("SIMRELAY_CONFIG", dir.join("config.toml"))
        .env_remove("SIMRELAY_LOG")
        .env_remove("RUST_LOG");
    command
}

fn log_files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("log dir exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(FILE_PREFIX) && n.ends_with(FILE_SUFFIX))
        .collect();
    names.sort();
    names
}

#[test]
fn a_started_server_writes_its_log_lines_to_the_daily_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("mkdir");
    // Nine files from earlier days (and one unrelated file, which must survive the pruning).
    for day in 1..=9 {
        std::fs::write(logs.join(format!("simrelay.2020-01-0{day}.log")), "old\n").expect("write");
    }
    std::fs::write(logs.join("notes.txt"), "keep me").expect("write");

    let (mut child, mut stdout) = crate::common::serve(
        simrelay(dir.path()).stderr(Stdio::piped()),
        &dir.path().join("log.db"),
        &[],
    );
    let mut line = String::new();
    stdout.read_line(&mut line).expect("first line");
    assert!(line.contains("listening on"), "{line}");

    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let file = logs.join(format!("{FILE_PREFIX}.{today}.{FILE_SUFFIX}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut text = String::new();
    while Instant::now() < deadline {
        text = std::fs::read_to_string(&file).unwrap_or_default();
        if text.contains("SimRelay engine started") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        text.contains("SimRelay engine started") && text.contains("INFO"),
        "the start-up line is in {}: {text:?}",
        file.display()
    );
    assert!(!text.contains('\u{1b}'), "no colour codes in the file");

    // Lines are in the file as they happen: killing the process loses none of them. Standard error got the
    // same lines.
    child.kill().expect("kill");
    let out = child.wait_with_output().expect("exits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SimRelay engine started"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).expect("log file"), text);

    // A week of files: today's and six of the old ones (the appender prunes by creation time, which is the
    // same instant for all of these).
    let files = log_files(&logs);
    assert_eq!(files.len(), KEEP_FILES, "{files:?}");
    assert!(files.contains(&format!("{FILE_PREFIX}.{today}.{FILE_SUFFIX}")));
    assert!(logs.join("notes.txt").exists());
}

#[test]
fn config_prints_the_log_directory_and_a_bad_filter_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = simrelay(dir.path()).arg("config").output().expect("runs");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let logs_line = stdout
        .lines()
        .find(|l| l.starts_with("# logs:"))
        .unwrap_or_default();
    assert!(
        logs_line.ends_with(&dir.path().join("logs").display().to_string()),
        "{stdout}"
    );

    let out = simrelay(dir.path())
        .env("SIMRELAY_LOG", "info,[[[")
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("x.db"))
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SIMRELAY_LOG"), "{stderr}");
}
