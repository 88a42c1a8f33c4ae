//! The AT command channel: one command at a time over a [`Transport`], URCs set aside.
//!
//! Every command waits for its final result or its own timeout; where a modem family needs a guard
//! time (Telit, see [`crate::config::guard_for`]), the next command waits until that long after the
//! previous final result, so a command that follows a quiet spell is not delayed at all. URCs that
//! arrive at any moment, even inside a response, are queued for the driver instead of being mixed
//! into the answer, and [`AtChannel::take_ready`] collects the ones already waiting on the port
//! without blocking, so the driver can look before it starts housekeeping.
//! After a timeout the channel is "out of step" (a late answer may still come), so the next command
//! first waits for the line to go quiet, and the framer drops `+NAME:` lines that do not belong to
//! the command in flight. A bare `OK` arriving even later cannot be told apart, which is why the
//! driver also treats any timeout as a broken link and reinitialises the modem.

use std::collections::VecDeque;
use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::config::Guard;
use crate::errors::ModemError;
use crate::framer::{FinalResult, Frame, Framer, Urc};
use crate::transport::BoxTransport;

const CTRL_Z: u8 = 0x1A;
const ESC: u8 = 0x1B;

/// How long the line must stay silent after a timeout before the next command is written.
const QUIET: Duration = Duration::from_millis(500);
/// Upper bound of that wait, for a modem that keeps chattering.
const QUIET_MAX: Duration = Duration::from_secs(3);

/// An AT command channel over one open port.
pub(crate) struct AtChannel {
    io: BoxTransport,
    framer: Framer,
    urcs: VecDeque<Urc>,
    guard: Guard,
    last_final: Option<Instant>,
    out_of_step: bool,
    buf: Vec<u8>,
    /// Frames that suggest the line loses or mangles bytes (garbage, stray lines and results).
    oddities: u32,
}

impl AtChannel {
    pub fn new(io: BoxTransport, guard: Guard) -> AtChannel {
        AtChannel {
            io,
            framer: Framer::new(),
            urcs: VecDeque::new(),
            guard,
            last_final: None,
            out_of_step: false,
            buf: vec![0; 1024],
            oddities: 0,
        }
    }

    /// Changes the guard time from the next command on (once the modem family is known).
    pub fn set_guard(&mut self, guard: Guard) {
        self.guard = guard;
    }

    /// The next queued URC.
    pub fn next_urc(&mut self) -> Option<Urc> {
        self.urcs.pop_front()
    }

    /// How many frames since the last call looked like a line that loses or mangles bytes
    /// (garbage, a line or result outside any command): a URC may have been lost with them.
    pub fn take_oddities(&mut self) -> u32 {
        std::mem::take(&mut self.oddities)
    }

    /// Sends `command` and returns its information lines once it ends with `OK`.
    pub async fn command(
        &mut self,
        command: &str,
        timeout: Duration,
    ) -> Result<Vec<String>, ModemError> {
        self.prepare(command).await?;
        tracing::trace!(command = %shown(command), "AT >");
        self.framer.expect(command, false);
        self.write(format!("{command}\r").as_bytes()).await?;
        self.finish(command, Instant::now() + timeout).await
    }

    /// Sends one SMS-SUBMIT PDU (with its SMSC field, usually `00`) with `AT+CMGS` and returns the
    /// message reference.
    pub async fn send_pdu(
        &mut self,
        pdu: &[u8],
        prompt_timeout: Duration,
        timeout: Duration,
    ) -> Result<u8, ModemError> {
        let smsc = usize::from(pdu.first().copied().unwrap_or(0));
        let tpdu_len = pdu.len().saturating_sub(1 + smsc);
        let command = format!("AT+CMGS={tpdu_len}");
        self.prepare(&command).await?;
        self.framer.expect(&command, true);
        self.write(format!("{command}\r").as_bytes()).await?;
        // Wait for the prompt; an error instead of it ends the command.
        let deadline = Instant::now() + prompt_timeout;
        loop {
            let frames = match tokio::time::timeout_at(deadline, self.read_frames()).await {
                Ok(frames) => frames?,
                Err(_) => {
                    // Cancel whatever the modem thinks it is waiting for.
                    let _ = self.write(&[ESC]).await;
                    return Err(self.timed_out(&command, prompt_timeout));
                }
            };
            let mut prompt = false;
            let mut result = None;
            for frame in frames {
                match frame {
                    Frame::Prompt => prompt = true,
                    Frame::Final(r) => result = Some(r),
                    other => self.side(other),
                }
            }
            if let Some(result) = result {
                self.ended();
                into_result(&command, result, Vec::new())?;
                return Err(ModemError::Protocol {
                    command,
                    detail: "OK without a prompt".into(),
                });
            }
            if prompt {
                break;
            }
        }
        let mut body = hex::encode_upper(pdu).into_bytes();
        body.push(CTRL_Z);
        self.write(&body).await?;
        let lines = self.finish(&command, Instant::now() + timeout).await?;
        lines
            .iter()
            .find_map(|l| l.strip_prefix("+CMGS:"))
            .and_then(|mr| mr.trim().split(',').next()?.trim().parse::<u8>().ok())
            .ok_or_else(|| ModemError::Protocol {
                command,
                detail: format!("no message reference in {lines:?}"),
            })
    }

    /// Waits up to `timeout` for a readiness URC (`SMS Ready`, `SMS DONE`, ...), consuming it.
    /// Returns whether one came.
    pub async fn wait_ready_urc(&mut self, timeout: Duration) -> Result<bool, ModemError> {
        let deadline = Instant::now() + timeout;
        loop {
            let before = self.urcs.len();
            self.urcs.retain(|u| !matches!(u, Urc::Ready(_)));
            if self.urcs.len() != before {
                return Ok(true);
            }
            match tokio::time::timeout_at(deadline, self.read_idle()).await {
                Err(_) => return Ok(false),
                Ok(read) => read?,
            }
        }
    }

    /// Makes the next command wait for the line to go quiet first, dropping whatever answers
    /// are still on their way (stale output from before the port was opened, say).
    pub fn resync(&mut self) {
        self.out_of_step = true;
    }

    /// Writes bytes outside any command (e.g. ESC to cancel a pending `AT+CMGS`).
    pub async fn write_raw(&mut self, bytes: &[u8]) -> Result<(), ModemError> {
        self.write(bytes).await
    }

    /// Reads once and queues any URCs. Cancel-safe: it is a single read, so a `select!` may drop it.
    pub async fn read_idle(&mut self) -> Result<(), ModemError> {
        let frames = self.read_frames().await?;
        for frame in frames {
            self.side(frame);
        }
        Ok(())
    }

    /// Queues the URCs of whatever the port already holds, without waiting for more: a `+CMTI`
    /// that arrived after the last final result is seen before the next command is chosen.
    pub async fn take_ready(&mut self) -> Result<(), ModemError> {
        loop {
            let n = {
                let mut read = std::pin::pin!(self.io.read(&mut self.buf));
                match std::future::poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await {
                    Poll::Pending => return Ok(()),
                    Poll::Ready(read) => read?,
                }
            };
            if n == 0 {
                return Err(ModemError::Disconnected);
            }
            for frame in self.framer.push(&self.buf[..n]) {
                self.side(frame);
            }
            if n < self.buf.len() {
                return Ok(());
            }
        }
    }

    /// Handles a frame that is not part of the answer being collected.
    fn side(&mut self, frame: Frame) {
        match frame {
            Frame::Urc(urc) => return self.urcs.push_back(urc),
            Frame::Noise(text) => return tracing::trace!(%text, "vendor status noise ignored"),
            Frame::Echo(_) => return,
            Frame::Garbage(text) => tracing::debug!(%text, "garbage from the modem skipped"),
            Frame::Prompt => tracing::debug!("stray prompt ignored"),
            Frame::Line(text) => tracing::debug!(%text, "line outside a command ignored"),
            Frame::Final(result) => tracing::debug!(?result, "late final result ignored"),
        }
        self.oddities = self.oddities.saturating_add(1);
    }

    /// Collects the answer of the command in flight until its final result.
    async fn finish(
        &mut self,
        command: &str,
        deadline: Instant,
    ) -> Result<Vec<String>, ModemError> {
        let mut lines = Vec::new();
        let started = Instant::now();
        loop {
            let frames = match tokio::time::timeout_at(deadline, self.read_frames()).await {
                Ok(frames) => frames?,
                Err(_) => return Err(self.timed_out(command, deadline - started)),
            };
            let mut result = None;
            for frame in frames {
                match frame {
                    Frame::Line(line) if result.is_none() => lines.push(line),
                    Frame::Final(r) if result.is_none() => result = Some(r),
                    other => self.side(other),
                }
            }
            if let Some(result) = result {
                self.ended();
                return into_result(command, result, lines);
            }
        }
    }

    fn ended(&mut self) {
        self.framer.clear();
        self.last_final = Some(Instant::now());
    }

    fn timed_out(&mut self, command: &str, after: Duration) -> ModemError {
        self.framer.clear();
        self.out_of_step = true;
        ModemError::Timeout {
            command: shown(command),
            seconds: after.as_secs_f64(),
        }
    }

    /// Waits out the guard time `command` needs, and after a timeout, for the line to go quiet.
    async fn prepare(&mut self, command: &str) -> Result<(), ModemError> {
        if self.out_of_step {
            self.out_of_step = false;
            let give_up = Instant::now() + QUIET_MAX;
            while Instant::now() < give_up {
                match tokio::time::timeout(QUIET, self.read_frames()).await {
                    Err(_) => break,
                    Ok(frames) => {
                        for frame in frames? {
                            self.side(frame);
                        }
                    }
                }
            }
            self.framer.reset();
        }
        if let Some(last) = self.last_final {
            // Counted from the previous final result: no timer at all when it has passed.
            let ready = last + self.guard.before(command);
            if Instant::now() < ready {
                tokio::time::sleep_until(ready).await;
            }
        }
        Ok(())
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), ModemError> {
        self.io.write_all(bytes).await?;
        self.io.flush().await?;
        Ok(())
    }

    async fn read_frames(&mut self) -> Result<Vec<Frame>, ModemError> {
        let n = self.io.read(&mut self.buf).await?;
        if n == 0 {
            return Err(ModemError::Disconnected);
        }
        Ok(self.framer.push(&self.buf[..n]))
    }
}

fn into_result(
    command: &str,
    result: FinalResult,
    lines: Vec<String>,
) -> Result<Vec<String>, ModemError> {
    match result {
        FinalResult::Ok => Ok(lines),
        FinalResult::AtError(error) => Err(ModemError::Rejected {
            command: shown(command),
            error,
        }),
        FinalResult::Error => Err(ModemError::Failed {
            command: shown(command),
            result: "ERROR".into(),
        }),
        FinalResult::Other(text) => Err(ModemError::Failed {
            command: shown(command),
            result: text,
        }),
    }
}

/// A command as errors and logs may show it: the SIM PIN (`AT+CPIN="1234"`) is a secret that must not reach a
/// status line, the API or a log file.
fn shown(command: &str) -> String {
    if command.to_ascii_uppercase().starts_with("AT+CPIN=") {
        "AT+CPIN=<PIN>".into()
    } else {
        command.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt, DuplexStream};

    #[test]
    fn the_pin_never_appears_in_what_errors_and_logs_show() {
        assert_eq!(shown("AT+CPIN=\"4711\""), "AT+CPIN=<PIN>");
        assert_eq!(shown("at+cpin=4711"), "AT+CPIN=<PIN>");
        assert_eq!(shown("AT+CPIN?"), "AT+CPIN?");
        assert_eq!(shown("AT+CMGR=3"), "AT+CMGR=3");
    }

    fn channel() -> (AtChannel, DuplexStream) {
        let (a, b) = duplex(4096);
        (AtChannel::new(Box::new(a), crate::config::TELIT_GUARD), b)
    }

    async fn expect_written(modem: &mut DuplexStream, text: &str) {
        let mut buf = vec![0; text.len()];
        modem.read_exact(&mut buf).await.unwrap();
        assert_eq!(String::from_utf8_lossy(&buf), text);
    }

    #[tokio::test(start_paused = true)]
    async fn urc_inside_a_response_is_queued_not_returned() {
        let (mut ch, mut modem) = channel();
        let answer = tokio::spawn(async move {
            expect_written(&mut modem, "AT+CMGL=4\r").await;
            modem
                .write_all(b"\r\n+CMGL: 1,0,,2\r\n0001\r\n+CMTI: \"SM\",2\r\n\r\nOK\r\n")
                .await
                .unwrap();
            modem
        });
        let lines = ch
            .command("AT+CMGL=4", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(lines, vec!["+CMGL: 1,0,,2", "0001"]);
        assert_eq!(
            ch.next_urc(),
            Some(Urc::NewMessage {
                mem: "SM".into(),
                index: 2
            })
        );
        answer.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn timeout_then_late_ok_is_not_taken_for_the_next_answer() {
        let (mut ch, mut modem) = channel();
        let script = tokio::spawn(async move {
            expect_written(&mut modem, "AT+CSQ\r").await;
            // Answer too late: after the driver gave up.
            tokio::time::sleep(Duration::from_millis(2300)).await;
            modem
                .write_all(b"\r\n+CSQ: 9,99\r\n\r\nOK\r\n")
                .await
                .unwrap();
            expect_written(&mut modem, "AT+CMGD=1\r").await;
            modem.write_all(b"\r\n+CMS ERROR: 321\r\n").await.unwrap();
            modem
        });
        let err = ch
            .command("AT+CSQ", Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(matches!(err, ModemError::Timeout { .. }), "{err}");
        // The late OK belongs to AT+CSQ; AT+CMGD must get its own answer.
        let err = ch
            .command("AT+CMGD=1", Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(err.at_error().is_some_and(|e| e.is_cms(321)), "{err}");
        script.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn send_pdu_waits_for_prompt_and_reads_reference() {
        let (mut ch, mut modem) = channel();
        let script = tokio::spawn(async move {
            expect_written(&mut modem, "AT+CMGS=2\r").await;
            modem.write_all(b"\r\n> ").await.unwrap();
            expect_written(&mut modem, "000102\x1a").await;
            modem
                .write_all(b"\r\n+CMGS: 17\r\n\r\nOK\r\n")
                .await
                .unwrap();
            modem
        });
        let mr = ch
            .send_pdu(&[0, 1, 2], Duration::from_secs(5), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(mr, 17);
        script.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn guard_time_separates_commands() {
        let (mut ch, mut modem) = channel();
        let script = tokio::spawn(async move {
            expect_written(&mut modem, "AT\r").await;
            modem.write_all(b"\r\nOK\r\n").await.unwrap();
            let answered = Instant::now();
            expect_written(&mut modem, "AT\r").await;
            let gap = answered.elapsed();
            modem.write_all(b"\r\nOK\r\n").await.unwrap();
            gap
        });
        ch.command("AT", Duration::from_secs(1)).await.unwrap();
        ch.command("AT", Duration::from_secs(1)).await.unwrap();
        let gap = script.await.unwrap();
        assert!(gap >= Duration::from_millis(20), "{gap:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_guard_counts_from_the_previous_result_not_from_the_next_command() {
        let (mut ch, mut modem) = channel();
        let script = tokio::spawn(async move {
            expect_written(&mut modem, "AT\r").await;
            modem.write_all(b"\r\nOK\r\n").await.unwrap();
            let answered = Instant::now();
            expect_written(&mut modem, "AT+CMGR=1\r").await;
            let gap = answered.elapsed();
            modem.write_all(b"\r\nOK\r\n").await.unwrap();
            gap
        });
        ch.command("AT", Duration::from_secs(1)).await.unwrap();
        // A quiet spell longer than the guard: the next command goes at once.
        tokio::time::sleep(Duration::from_millis(50)).await;
        ch.command("AT+CMGR=1", Duration::from_secs(1))
            .await
            .unwrap();
        let gap = script.await.unwrap();
        assert_eq!(
            gap,
            Duration::from_millis(50),
            "no guard added after the quiet spell"
        );
    }

    #[tokio::test]
    async fn take_ready_queues_what_is_waiting_and_never_blocks() {
        let (mut ch, mut modem) = channel();
        ch.take_ready().await.unwrap();
        assert_eq!(ch.next_urc(), None);
        modem
            .write_all(b"\r\n+CMTI: \"SM\",4\r\n\r\n+CMTI: \"SM\",5\r\n")
            .await
            .unwrap();
        ch.take_ready().await.unwrap();
        let slots: Vec<_> = std::iter::from_fn(|| ch.next_urc()).collect();
        assert_eq!(
            slots,
            vec![
                Urc::NewMessage {
                    mem: "SM".into(),
                    index: 4
                },
                Urc::NewMessage {
                    mem: "SM".into(),
                    index: 5
                }
            ]
        );
        drop(modem);
        assert!(ch.take_ready().await.unwrap_err().is_link_lost());
    }

    #[tokio::test(start_paused = true)]
    async fn readiness_urc_ends_the_wait_early() {
        let (mut ch, mut modem) = channel();
        let started = Instant::now();
        assert!(!ch.wait_ready_urc(Duration::from_secs(1)).await.unwrap());
        assert!(started.elapsed() >= Duration::from_secs(1));
        let script = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            modem
                .write_all(b"\r\n^MODE:5,4\r\nSMS Ready\r\n")
                .await
                .unwrap();
            modem
        });
        let started = Instant::now();
        assert!(ch.wait_ready_urc(Duration::from_secs(5)).await.unwrap());
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(ch.next_urc(), None, "the readiness URC is consumed");
        script.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn closed_stream_is_disconnected() {
        let (mut ch, modem) = channel();
        drop(modem);
        let err = ch.command("AT", Duration::from_secs(1)).await.unwrap_err();
        assert!(err.is_link_lost(), "{err}");
    }
}
