//! `probe` against the simulator and against a pty that is not a modem.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::os::fd::AsRawFd;
use std::time::Duration;

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use simrelay_modem::probe;
use simrelay_modem::sim::{Personality, SimOptions, Simulator};

#[tokio::test]
async fn a_modem_is_recognised_and_identified() {
    let sim = Simulator::start(SimOptions {
        personality: Personality::Sim800l,
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let result = probe(&sim.path().to_string_lossy()).await;
    assert!(result.is_modem, "{result:?}");
    assert_eq!(result.model.as_deref(), Some("SIMCOM_SIM800L"));
    assert!(
        result.info.iter().any(|l| l.contains("SIMCOM")),
        "{result:?}"
    );
    assert_eq!(result.error, None);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_silent_port_gets_nothing_but_at() {
    let pair = nix::pty::openpty(None, None).unwrap();
    let mut termios = tcgetattr(&pair.slave).unwrap();
    cfmakeraw(&mut termios);
    tcsetattr(&pair.slave, SetArg::TCSANOW, &termios).unwrap();
    let path = nix::unistd::ttyname(&pair.slave).unwrap();
    fcntl(
        pair.master.as_raw_fd(),
        FcntlArg::F_SETFL(OFlag::O_NONBLOCK),
    )
    .unwrap();

    let result = tokio::time::timeout(Duration::from_secs(20), probe(&path.to_string_lossy()))
        .await
        .unwrap();
    assert!(!result.is_modem);
    assert_eq!(result.model, None);

    let mut master = std::fs::File::from(pair.master);
    let mut written = Vec::new();
    let mut buf = [0u8; 256];
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 {
            break;
        }
        written.extend_from_slice(&buf[..n]);
    }
    let written = String::from_utf8(written).unwrap();
    assert!(!written.is_empty());
    assert_eq!(
        written.replace("AT\r", ""),
        "",
        "wrote more than AT: {written:?}"
    );
}

#[tokio::test]
async fn a_missing_port_reports_the_error() {
    let result = probe("/dev/does-not-exist-simrelay").await;
    assert!(!result.is_modem);
    assert!(result.error.is_some());
    assert_eq!(
        result.error_kind,
        Some(simrelay_modem::port_access::OpenErrorKind::NotFound)
    );
    let hint = result.hint.expect("a hint says what to do");
    assert!(
        hint.contains("/dev/does-not-exist-simrelay") && hint.contains("plugged in"),
        "{hint}"
    );
}
