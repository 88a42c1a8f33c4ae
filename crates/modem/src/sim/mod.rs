//! A GSM modem simulator on a real pseudo-terminal.
//!
//! The driver opens the simulator's slave side (`/dev/pts/N`) exactly like a USB serial port, so
//! tests and the `--demo` mode exercise the real serial code path, termios included. A tokio task
//! drives the master side: it feeds what the driver writes to the AT interpreter (`at.rs`) and
//! writes back its answers and URCs. The SIM contents live behind a mutex shared with the
//! [`Simulator`] handle, so a test can put messages on the SIM and check what is left.

pub(crate) mod at;
pub mod demo;
pub mod voice;

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use at::Logged;
use at::{lock, AtModem, SimState};
pub use voice::{UssdAnswer, UssdCoding};

/// Which real modem the simulator imitates (model strings and vendor quirks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Personality {
    /// A plain TS 27.005 modem.
    #[default]
    Generic,
    /// SIMCom SIM800L: SMS commands fail with `+CMS ERROR: 302` until `SMS Ready`.
    Sim800l,
    /// Huawei E3372 stick: `^RSSI`/`^MODE` status noise, accepts `AT^CURC=0`.
    HuaweiE3372,
    /// Quectel EC25: `+QIND: SMS DONE`; answers `AT+CNMI=?` with ERROR and refuses `ds=2`.
    Ec25,
    /// SIMCom SIM7600: `SMS DONE`/`PB DONE`; lists no `ds=2` in `AT+CNMI=?`.
    Sim7600,
    /// Telit LE910C4: `#CCID`, TS 27.007 indicators; its manual asks for a 20 ms pause after
    /// each answer (pair it with [`SimOptions::command_gap`] to see what happens without one).
    Telit,
}

impl Personality {
    /// Every family the simulator imitates, for tests that must hold for each of them.
    pub const ALL: [Personality; 6] = [
        Personality::Generic,
        Personality::Sim800l,
        Personality::Ec25,
        Personality::Sim7600,
        Personality::HuaweiE3372,
        Personality::Telit,
    ];

    fn model(self) -> &'static str {
        match self {
            Personality::Generic => "SimRelay Simulated Modem",
            Personality::Sim800l => "SIMCOM_SIM800L",
            Personality::HuaweiE3372 => "E3372",
            Personality::Ec25 => "EC25",
            Personality::Sim7600 => "SIMCOM_SIM7600E-H",
            Personality::Telit => "LE910C4-EU",
        }
    }

    fn manufacturer(self) -> &'static str {
        match self {
            Personality::Generic => "SimRelay",
            Personality::Sim800l => "SIMCOM_Ltd",
            Personality::HuaweiE3372 => "huawei",
            Personality::Ec25 => "Quectel",
            Personality::Sim7600 => "SIMCOM INCORPORATED",
            Personality::Telit => "Telit",
        }
    }

    /// Whether it answers `AT+CPINR`: the simulated SIM800L, E3372 and EC25 know only their
    /// vendor's counter command, so the driver's fallback to those is exercised.
    pub(crate) fn answers_cpinr(self) -> bool {
        matches!(
            self,
            Personality::Generic | Personality::Sim7600 | Personality::Telit
        )
    }

    /// The vendor command (name as `AT+CPIN` parses it) that tells the SIM's tries left.
    pub(crate) fn pin_counter_command(self) -> Option<&'static str> {
        match self {
            Personality::Sim800l | Personality::Sim7600 => Some("+SPIC"),
            Personality::HuaweiE3372 => Some("^CPIN"),
            Personality::Ec25 => Some("+QPINC"),
            Personality::Generic | Personality::Telit => None,
        }
    }

    /// The readiness line it prints once SMS is usable, if any.
    fn ready_line(self) -> &'static str {
        match self {
            Personality::Sim800l => "\r\nCall Ready\r\n\r\nSMS Ready\r\n",
            Personality::Ec25 => "\r\n+QIND: PB DONE\r\n\r\n+QIND: SMS DONE\r\n",
            Personality::Sim7600 => "\r\nSMS DONE\r\n\r\nPB DONE\r\n",
            _ => "\r\nSMS DONE\r\n",
        }
    }
}

/// Faults the simulator can inject, to prove the driver copes with real-world modems.
#[derive(Debug, Clone, Default)]
pub struct Chaos {
    /// Write output in random chunks of 1..=7 bytes with tiny pauses, so the driver sees every
    /// kind of read boundary.
    pub small_chunks: bool,
    /// Print vendor status noise (`^RSSI:..`) before and inside responses. (A Huawei personality
    /// does this anyway until the driver sends `AT^CURC=0`.)
    pub noise: bool,
    /// Hold new-message URCs back and print them in the middle of the next response (after its
    /// first line), where a careless driver swallows them; on their own after 2 s if no command
    /// comes.
    pub urc_inside_responses: bool,
    /// Store new messages without any URC, as modems that drop URCs do: only a sweep finds them.
    pub lose_urcs: bool,
    /// Print `+CMT` with the PDU as well as storing it and printing `+CMTI` (some modems do both).
    pub cmt_and_cmti: bool,
    /// Never store new messages: print them with `+CMT` whatever AT+CNMI asked, as modems
    /// without usable message storage do.
    pub route_directly: bool,
    /// Pace output like a UART at this baud rate (10 bits per byte), as a SIM800L board on
    /// 115200 baud; `None` writes as fast as the pty takes it.
    pub baud: Option<u32>,
}

/// How to build a [`Simulator`].
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The modem imitated.
    pub personality: Personality,
    /// Number of SIM slots.
    pub capacity: u32,
    /// Slots of the modem's own message memory (`ME`, offered by `AT+CPMS=?` besides the SIM);
    /// 0: none, the modem stores messages only on the SIM.
    pub me_capacity: u32,
    /// A SIM PIN the driver must enter (`None`: SIM unlocked).
    pub pin: Option<String>,
    /// The SIM's PUK (`AT+CPIN=<puk>,<new pin>` after three wrong PINs).
    pub puk: String,
    /// Time after (re)plugging before SMS commands work and the readiness line is printed.
    pub ready_delay: Duration,
    /// A symlink kept pointing at the current pty, like udev's `/dev/serial/by-id/...`: the driver
    /// can open this stable path and find the modem again after a replug under a new pty.
    pub link: Option<PathBuf>,
    /// Fault injection.
    pub chaos: Chaos,
    /// The IMEI `AT+CGSN` reports (empty: `AT+CGSN` answers ERROR).
    pub imei: String,
    /// The ICCID the personality's command reports (`AT+CCID`, `AT+QCCID`, `AT+CICCID`,
    /// `AT^ICCID?`); empty: ERROR, as without a SIM.
    pub iccid: String,
    /// Start in phase 2+ (`AT+CSMS?` answers service 1, as after `AT+CSMS=1` and `AT&W`): each
    /// `+CMT`/`+CDS` then waits for `AT+CNMA`, later ones are held back meanwhile, and one not
    /// acknowledged within `ack_timeout` is delivered again (the network retries).
    pub phase2: bool,
    /// How long a phase 2+ direct delivery waits for `AT+CNMA`.
    pub ack_timeout: Duration,
    /// On an acknowledgement timeout do what TS 27.005 prescribes instead of delivering again:
    /// switch routing to the driver off (until the next `AT+CNMI`) and keep the message, and
    /// every later one, in storage without any URC (where the network's retry lands).
    pub ack_timeout_stores: bool,
    /// Ignore a command that arrives sooner than this after the modem's last output, as 2G UART
    /// modules do (the driver's guard time exists for them); see [`Simulator::dropped`].
    pub command_gap: Option<Duration>,
    /// Keep status reports in a separate `SR` storage (`+CDSI: "SR",<n>`), offered by
    /// `AT+CPMS=?` for reading only; see [`Simulator::deliver_report`].
    pub report_storage: bool,
    /// Refuse `AT+CSMS=1` (`+CMS ERROR: 303`), as modems without phase 2+ service do: no direct
    /// delivery with acknowledgement, so a driver must take stored messages (`+CMTI`).
    pub refuse_phase2: bool,
    /// Refuse `AT+CNMA` (`+CMS ERROR: 303`) although `AT+CSMS=1` was taken, as broken firmware
    /// does: the unacknowledged delivery comes again after `ack_timeout`, routed as `AT+CNMI`
    /// says then.
    pub refuse_cnma: bool,
    /// How long the network takes to accept a sent message: the answer to `AT+CMGS` (`+CMGS:
    /// <mr>`) comes this long after the PDU, as on real networks (seconds), while URCs are
    /// printed meanwhile. Zero answers at once.
    pub send_delay: Duration,
    /// What the network answers to USSD codes ([`voice::default_ussd`]: `*100#` plain text,
    /// `*101#` UCS2, `*111#` a menu, `*999#` never answered).
    pub ussd: Vec<(String, Option<UssdAnswer>)>,
    /// How long after `AT+CUSD` the network's reply comes.
    pub ussd_delay: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            personality: Personality::Generic,
            capacity: 30,
            me_capacity: 0,
            pin: None,
            puk: "12345678".into(),
            ready_delay: Duration::ZERO,
            link: None,
            chaos: Chaos::default(),
            imei: "356938035643809".into(),
            iccid: "8949000000000000001".into(),
            phase2: false,
            ack_timeout: Duration::from_secs(15),
            ack_timeout_stores: false,
            report_storage: false,
            command_gap: None,
            refuse_phase2: false,
            refuse_cnma: false,
            send_delay: Duration::ZERO,
            ussd: voice::default_ussd(),
            ussd_delay: Duration::from_millis(300),
        }
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The pseudo-terminal could not be created or configured.
    #[error("cannot create a pseudo-terminal for the modem simulator: {0}")]
    Pty(#[from] nix::Error),
    /// tokio could not watch the pty.
    #[error("cannot register the pseudo-terminal with tokio: {0}")]
    Io(#[from] io::Error),
    /// The simulator task has stopped.
    #[error("the modem simulator has stopped")]
    Stopped,
}

enum Command {
    /// A message was stored in this slot: print the URC that AT+CNMI asks for.
    Arrived(u32),
    /// Print these bytes as they are.
    Raw(Vec<u8>),
    /// A message found the storage full: print the modem's storage-full indication.
    Full,
    /// Deliver a message or report directly (`+CMT`/`+CDS` with its PDU), through the phase 2+
    /// acknowledgement gate.
    Direct(Delivery),
    /// The signal changed to this `<rssi>`: print the report the driver switched on, if any.
    Signal(u8),
    /// The registration changed to this `<stat>`: print the reports switched on.
    Registration(u8),
    /// Ring once for the call in progress with this serial number, if it still rings.
    Ring(u64),
    /// Stop (or resume) answering anything, like hung firmware.
    Mute(bool),
    /// Hang (or recover): as `Mute`, but a reset command still gets through and restarts it.
    Hang(bool),
    /// Restart on its own, as after a power dip: settings back to defaults, boot lines printed.
    Reboot,
    /// Close the pty as if the USB cable was pulled.
    Unplug(oneshot::Sender<()>),
    /// Create a new pty (a new path) as if the modem came back.
    Replug(oneshot::Sender<Result<PathBuf, SimError>>),
    Shutdown,
}

/// A running simulated modem. Dropping it without [`Simulator::shutdown`] also stops it.
pub struct Simulator {
    path: PathBuf,
    report_storage: bool,
    link: Option<PathBuf>,
    state: Arc<Mutex<SimState>>,
    commands: mpsc::UnboundedSender<Command>,
    task: Option<JoinHandle<()>>,
}

impl Simulator {
    /// Creates the pty and starts the task that answers on it.
    pub async fn start(options: SimOptions) -> Result<Simulator, SimError> {
        let state = Arc::new(Mutex::new(SimState::new(options.capacity.max(1))));
        {
            let mut sim = lock(&state);
            sim.pin = options.pin.clone();
            sim.puk = options.puk.clone();
            sim.me_capacity = options.me_capacity;
        }
        let pty = Pty::open()?;
        let path = pty.path.clone();
        if let Some(link) = &options.link {
            relink(link, &path)?;
        }
        let (commands, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(pty, rx, state.clone(), options.clone()));
        Ok(Simulator {
            path,
            report_storage: options.report_storage,
            link: options.link,
            state,
            commands,
            task: Some(task),
        })
    }

    /// The slave side (`/dev/pts/N`), to be opened like a serial port.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stable symlink, if [`SimOptions::link`] was set.
    pub fn link(&self) -> Option<&Path> {
        self.link.as_deref()
    }

    /// Puts a PDU (with its SMSC field) on the SIM (`SM`) without any URC, as if it arrived while
    /// nobody listened. Returns its slot, or 0 when the SIM is full (the message is then dropped).
    pub fn store(&self, pdu: Vec<u8>) -> u32 {
        lock(&self.state).store_on_sim(pdu).unwrap_or(0)
    }

    /// A message arrives now: it is stored and the modem prints `+CMTI: "SM",<slot>` (or routes it
    /// with `+CMT`, or stays silent, as AT+CNMI was set). Returns the slot; 0 when the storage is
    /// full: the modem prints its storage-full indication, and the network keeps the message and
    /// delivers it again as soon as a slot is freed (the memory-available notification).
    pub fn deliver(&self, pdu: Vec<u8>) -> u32 {
        let arrived = {
            let mut state = lock(&self.state);
            let slot = state.arrive(pdu.clone());
            if slot.is_none() {
                state.network.push_back(pdu);
            }
            slot
        };
        let Some(slot) = arrived else {
            let _ = self.commands.send(Command::Full);
            return 0;
        };
        if self.commands.send(Command::Arrived(slot)).is_err() {
            // A stopped task only means nobody will see the URC; the message is on the SIM.
            let mut state = lock(&self.state);
            if let Some(pdu) = state.arriving.remove(&slot) {
                state.receiving().insert(slot, (pdu, false));
            }
        }
        slot
    }

    /// Puts a status report in the `SR` storage without any URC (it arrived while nobody
    /// listened). Returns its slot, 0 when full.
    pub fn store_report(&self, pdu: Vec<u8>) -> u32 {
        lock(&self.state).store_report(pdu).unwrap_or(0)
    }

    /// A status report arrives: kept in `SR` (with [`SimOptions::report_storage`]) or with the
    /// messages, announced with `+CDSI: "<mem>",<slot>`. Returns the slot, 0 when full.
    pub fn deliver_report(&self, pdu: Vec<u8>) -> u32 {
        let (mem, slot) = if self.report_storage {
            ("SR", lock(&self.state).store_report(pdu))
        } else {
            let mut state = lock(&self.state);
            (state.receiving_name(), state.store(pdu))
        };
        let Some(slot) = slot else { return 0 };
        let urc = format!("\r\n+CDSI: \"{mem}\",{slot}\r\n").into_bytes();
        let _ = self.commands.send(Command::Raw(urc));
        slot
    }

    /// A status report delivered directly: `+CDS: <length>` and its PDU (acknowledged with
    /// `AT+CNMA` in phase 2+).
    pub fn deliver_report_directly(&self, pdu: &[u8]) {
        let _ = self
            .commands
            .send(Command::Direct(Delivery::Report(pdu.to_vec())));
    }

    /// The signal changes to `rssi` (the `AT+CSQ` scale: 0–31, 99 unknown): `AT+CSQ` answers it
    /// from now on, and the report the driver switched on is printed (`+CSQN` on a SIM800L,
    /// `+CSQ` on a SIM7600, `+QIND: "csq"` on an EC25, `^RSSI` on a Huawei stick that was not
    /// silenced, `+CIEV` where `AT+CMER` asked for it).
    pub fn set_signal(&self, rssi: u8) {
        let _ = self.commands.send(Command::Signal(rssi));
    }

    /// The registration changes to `stat` (TS 27.007: 1 home, 5 roaming, 2 searching, 0 not
    /// registered, 3 denied): `AT+CREG?` answers it, and the `+CREG`/`+CGREG`/`+CEREG` reports
    /// the driver switched on are printed.
    pub fn set_registration(&self, stat: u8) {
        let _ = self.commands.send(Command::Registration(stat));
    }

    /// The commands the modem took, oldest first (the latest 4096).
    pub fn commands(&self) -> Vec<Logged> {
        lock(&self.state).log.iter().cloned().collect()
    }

    /// Status reports still in the `SR` storage, by slot.
    pub fn stored_reports(&self) -> Vec<(u32, Vec<u8>)> {
        lock(&self.state)
            .reports
            .iter()
            .map(|(slot, (pdu, _))| (*slot, pdu.clone()))
            .collect()
    }

    /// Commands ignored because they came too soon after the last output
    /// ([`SimOptions::command_gap`]).
    pub fn dropped(&self) -> u32 {
        lock(&self.state).dropped
    }

    /// `AT+CNMA` acknowledgements the modem took.
    pub fn acks(&self) -> u32 {
        lock(&self.state).acks
    }

    /// Direct deliveries printed again because `AT+CNMA` did not come in time.
    pub fn ack_timeouts(&self) -> u32 {
        lock(&self.state).ack_timeouts
    }

    /// Messages still stored (on the SIM, and in the modem's own memory), by slot.
    ///
    /// A message [`Simulator::deliver`] just handed over counts from that moment, in the slot
    /// kept for it, until the modem has stored it there or routed it to the computer.
    pub fn stored(&self) -> Vec<(u32, Vec<u8>)> {
        let state = lock(&self.state);
        let mut stored: Vec<(u32, Vec<u8>)> = state
            .slots
            .iter()
            .map(|(slot, (pdu, _))| (*slot, pdu.clone()))
            .chain(
                state
                    .arriving
                    .iter()
                    .map(|(slot, pdu)| (*slot, pdu.clone())),
            )
            .chain(state.me.iter().map(|(slot, (pdu, _))| (*slot, pdu.clone())))
            .collect();
        stored.sort_by_key(|(slot, _)| *slot);
        stored
    }

    /// Messages the network still holds because the storage was full.
    pub fn held_by_network(&self) -> usize {
        lock(&self.state).network.len()
    }

    /// Messages in the modem's own memory (`ME`), by slot.
    pub fn stored_in_modem(&self) -> Vec<(u32, Vec<u8>)> {
        let state = lock(&self.state);
        state
            .me
            .iter()
            .map(|(slot, (pdu, _))| (*slot, pdu.clone()))
            .collect()
    }

    /// Makes the modem print `bytes` now, as they are: any URC (`+CDS`, `RING`, `SMS Ready`),
    /// vendor noise or garbage a test needs.
    pub fn inject(&self, bytes: &[u8]) {
        let _ = self.commands.send(Command::Raw(bytes.to_vec()));
    }

    /// The last `AT+CNMI` setting the modem accepted (e.g. `2,1,0,2,0`), if any.
    pub fn cnmi(&self) -> Option<String> {
        lock(&self.state).cnmi.clone()
    }

    /// Makes the modem hang (stop answering, drop input) or come back to life. The pty stays.
    pub fn set_mute(&self, muted: bool) {
        let _ = self.commands.send(Command::Mute(muted));
    }

    /// Makes the modem hang (`true`): it answers nothing and prints nothing, until a reset
    /// command (`AT+CFUN=1,1`, Telit `AT#REBOOT`) gets through to the part of the firmware that
    /// still listens and restarts it, or `hang(false)`. Unlike [`Simulator::set_mute`], a driver
    /// can bring it back itself.
    pub fn hang(&self, hung: bool) {
        let _ = self.commands.send(Command::Hang(hung));
    }

    /// Makes the modem restart on its own now (a power dip, a firmware watchdog): its settings go
    /// back to power-on defaults (echo on, no `AT+CNMI` indications, the SIM as storage), it
    /// prints `RDY` and `+CPIN: READY`, then its readiness line after
    /// [`SimOptions::ready_delay`]. The pty stays open, like a UART modem's line. Messages on the
    /// SIM stay.
    pub fn reboot(&self) {
        let _ = self.commands.send(Command::Reboot);
    }

    /// How often the driver tried a PIN with `AT+CPIN=...`.
    pub fn pin_attempts(&self) -> u32 {
        lock(&self.state).pin_attempts
    }

    /// Wrong PINs the SIM still takes before it wants its PUK (0: it wants the PUK).
    pub fn pin_left(&self) -> u8 {
        lock(&self.state).pin_left
    }

    /// The SIM's current PIN (a PUK unblock changes it).
    pub fn current_pin(&self) -> Option<String> {
        lock(&self.state).pin.clone()
    }

    /// How many times held-back URCs were printed inside a response (`Chaos::urc_inside_responses`).
    pub fn spliced(&self) -> u32 {
        lock(&self.state).spliced
    }

    /// How many `+CMS ERROR`/`+CME ERROR` results the modem printed.
    pub fn errors_sent(&self) -> u32 {
        lock(&self.state).errors_sent
    }

    /// Removes a message from the SIM behind the driver's back (another program deleted it).
    pub fn remove(&self, slot: u32) -> bool {
        lock(&self.state).slots.remove(&slot).is_some()
    }

    /// Someone calls: `RING` (and `+CLIP` with `from`, `None` withheld, if the driver asked for
    /// caller id) now and every `every`, `rings` times in all, unless the driver hangs up first.
    pub fn call(&self, from: Option<&str>, rings: u32, every: Duration) {
        let serial = {
            let mut state = lock(&self.state);
            state.calls.started += 1;
            let serial = state.calls.started;
            state.calls.ringing = Some((serial, from.map(str::to_owned)));
            serial
        };
        let commands = self.commands.clone();
        let state = self.state.clone();
        tokio::spawn(async move {
            for ring in 0..rings {
                if ring > 0 {
                    tokio::time::sleep(every).await;
                }
                let rings_still = lock(&state)
                    .calls
                    .ringing
                    .as_ref()
                    .is_some_and(|(s, _)| *s == serial);
                if !rings_still || commands.send(Command::Ring(serial)).is_err() {
                    return;
                }
            }
            tokio::time::sleep(every).await;
            // The caller gives up.
            let mut state = lock(&state);
            if state
                .calls
                .ringing
                .as_ref()
                .is_some_and(|(s, _)| *s == serial)
            {
                state.calls.ringing = None;
            }
        });
    }

    /// How often the driver hung up on a ringing call (`ATH`/`AT+CHUP`).
    pub fn hangups(&self) -> u32 {
        lock(&self.state).calls.hangups
    }

    /// PDUs the driver sent with `AT+CMGS`, in order.
    pub fn sent(&self) -> Vec<Vec<u8>> {
        lock(&self.state).sent.clone()
    }

    /// Pulls the plug: the pty closes, the driver's reads fail, and the symlink disappears (as
    /// udev removes `/dev/serial/by-id/...`). The SIM keeps its messages.
    pub async fn unplug(&self) {
        if let Some(link) = &self.link {
            let _ = std::fs::remove_file(link);
        }
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Unplug(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Plugs the modem back in on a fresh pty (usually a new `/dev/pts/N`), reset to power-on
    /// settings, and updates the symlink. Returns the new path.
    pub async fn replug(&mut self) -> Result<PathBuf, SimError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Replug(tx))
            .map_err(|_| SimError::Stopped)?;
        let path = rx.await.map_err(|_| SimError::Stopped)??;
        if let Some(link) = &self.link {
            relink(link, &path)?;
        }
        self.path = path.clone();
        Ok(path)
    }

    /// Stops the task and closes the pty.
    pub async fn shutdown(mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Points `link` at `target`, replacing an old link atomically enough for a test.
fn relink(link: &Path, target: &Path) -> io::Result<()> {
    let tmp = link.with_extension("simrelay-tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    std::fs::rename(&tmp, link)
}

/// The master side of a pty, plus the slave fd we keep open: with no slave fd open, reads on the
/// master fail with EIO between two driver sessions, and the raw termios would be lost.
struct Pty {
    reader: pipe::Receiver,
    writer: pipe::Sender,
    _slave: OwnedFd,
    path: PathBuf,
}

impl Pty {
    fn open() -> Result<Pty, SimError> {
        let pair = nix::pty::openpty(None, None)?;
        // Raw mode: no line discipline echo or CR/LF translation, like a real serial line.
        let mut termios = tcgetattr(&pair.slave)?;
        cfmakeraw(&mut termios);
        tcsetattr(&pair.slave, SetArg::TCSANOW, &termios)?;
        let path = nix::unistd::ttyname(&pair.slave)?;
        fcntl(
            pair.master.as_raw_fd(),
            FcntlArg::F_SETFL(OFlag::O_NONBLOCK),
        )?;
        // tokio's pipe types drive any pollable fd; a pty master is one. Two handles on the same
        // master let reads and writes proceed independently.
        let master = std::fs::File::from(pair.master);
        let writer = pipe::Sender::from_file_unchecked(master.try_clone()?)?;
        let reader = pipe::Receiver::from_file_unchecked(master)?;
        Ok(Pty {
            reader,
            writer,
            _slave: pair.slave,
            path,
        })
    }
}

/// Sleeps until `at`; never returns for `None`.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Writes modem output, applying the chaos options.
async fn emit(pty: &mut Pty, chaos: &Chaos, noisy: bool, bytes: &[u8]) -> io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    let bytes = if noisy {
        with_noise(bytes)
    } else {
        bytes.to_vec()
    };
    if let Some(baud) = chaos.baud.filter(|b| *b > 0) {
        // Line by line, so the pacing shows in when each line arrives.
        for line in bytes.split_inclusive(|b| *b == b'\n') {
            tokio::time::sleep(Duration::from_secs_f64(
                line.len() as f64 * 10.0 / f64::from(baud),
            ))
            .await;
            pty.writer.write_all(line).await?;
        }
        return Ok(());
    }
    if !chaos.small_chunks {
        return pty.writer.write_all(&bytes).await;
    }
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        let n = rand::rng().random_range(1..=7).min(rest.len());
        pty.writer.write_all(&rest[..n]).await?;
        rest = &rest[n..];
        // A pause lets the driver's read return, so the chunks arrive as separate reads.
        tokio::time::sleep(Duration::from_micros(300)).await;
    }
    Ok(())
}

/// Puts a Huawei status line before the output and inside it.
fn with_noise(bytes: &[u8]) -> Vec<u8> {
    let mut out = b"\r\n^RSSI:17\r\n".to_vec();
    out.extend(splice_inside(bytes, b"\r\n^MODE:5,4\r\n"));
    out
}

/// Inserts `insert` inside `bytes`: after its first line when more lines follow (between a
/// `+CMGR:` header and its PDU, say), else before it (ahead of a lone `OK`, in the same write).
fn splice_inside(bytes: &[u8], insert: &[u8]) -> Vec<u8> {
    // Skip the leading CR LF of a response, then find the end of its first line.
    let first_end = bytes
        .windows(2)
        .enumerate()
        .skip(2)
        .find(|(_, w)| *w == b"\r\n")
        .map(|(i, _)| i + 2);
    let cut = match first_end {
        Some(end) if end < bytes.len() => end,
        _ => 0,
    };
    let mut out = bytes[..cut].to_vec();
    out.extend_from_slice(insert);
    out.extend_from_slice(&bytes[cut..]);
    out
}

/// What woke the simulator task.
enum Wake {
    Command(Option<Command>),
    Ready,
    /// Held URCs waited long enough for a response to hide in.
    Release,
    /// The network accepted a sent message: its answer is due.
    Sent,
    /// A phase 2+ direct delivery was not acknowledged in time, or one waits to be printed.
    AckDue,
    /// The network's USSD reply is due.
    UssdReply,
    Read(io::Result<usize>),
}

async fn run(
    pty: Pty,
    mut commands: mpsc::UnboundedReceiver<Command>,
    state: Arc<Mutex<SimState>>,
    options: SimOptions,
) {
    let mut pty = Some(pty);
    let new_modem = || {
        let mut modem = AtModem::new(state.clone(), options.personality);
        modem.imei = options.imei.clone();
        modem.iccid = options.iccid.clone();
        modem.report_storage = options.report_storage;
        modem.refuse_phase2 = options.refuse_phase2;
        modem.refuse_cnma = options.refuse_cnma;
        modem.set_phase2(options.phase2);
        modem.ready = options.ready_delay.is_zero();
        modem.voice.script = options.ussd.clone();
        modem
    };
    let mut modem = new_modem();
    let mut ready_at = tokio::time::Instant::now() + options.ready_delay;
    let mut buf = [0u8; 1024];
    // URCs held back by `Chaos::urc_inside_responses`.
    let mut held: Vec<u8> = Vec::new();
    let mut held_until = tokio::time::Instant::now();
    let mut muted = false;
    // Hung until a reset command (`Command::Hang`).
    let mut hung = false;
    // Phase 2+: the direct delivery waiting for AT+CNMA, and those held back behind it.
    let mut gate = AckGate::new();
    let mut last_output: Option<tokio::time::Instant> = None;
    // The answer to an `AT+CMGS` waiting for the network (`SimOptions::send_delay`).
    let mut sending: Option<(tokio::time::Instant, Vec<u8>)> = None;
    // The network's USSD reply on its way (`SimOptions::ussd_delay`).
    let mut ussd_due: Option<(tokio::time::Instant, Vec<u8>)> = None;
    loop {
        let not_ready = !modem.ready;
        let holding = !held.is_empty();
        let gated = gate.busy() && pty.is_some();
        let send_due = sending.as_ref().map(|(at, _)| *at);
        let ussd_at = ussd_due.as_ref().map(|(at, _)| *at);
        let wake = tokio::select! {
            command = commands.recv() => Wake::Command(command),
            _ = tokio::time::sleep_until(gate.deadline), if gated => Wake::AckDue,
            _ = tokio::time::sleep_until(held_until), if holding => Wake::Release,
            _ = sleep_until_some(send_due), if send_due.is_some() => Wake::Sent,
            _ = sleep_until_some(ussd_at), if ussd_at.is_some() => Wake::UssdReply,
            _ = tokio::time::sleep_until(ready_at), if not_ready => Wake::Ready,
            read = async {
                match &mut pty {
                    Some(p) => p.reader.read(&mut buf).await,
                    None => std::future::pending().await,
                }
            } => Wake::Read(read),
        };
        // The modem restarts after this output (a reset command, or on its own).
        let mut reboot = false;
        let output = match wake {
            Wake::Command(None | Some(Command::Shutdown)) => return,
            Wake::Command(Some(Command::Arrived(slot))) => {
                let chaos = &options.chaos;
                let routed_anyway = chaos.route_directly && !modem.routing_off;
                let pdu = {
                    // One lock: the slot must not look free between the two maps.
                    let mut state = lock(&state);
                    let Some(pdu) = state.arriving.remove(&slot) else {
                        continue;
                    };
                    if !routed_anyway {
                        state.receiving().insert(slot, (pdu.clone(), false));
                    }
                    pdu
                };
                if chaos.lose_urcs || modem.routing_off {
                    continue;
                }
                let (mut urc, routed) = if routed_anyway {
                    (Vec::new(), Some(pdu))
                } else {
                    let copy = chaos.cmt_and_cmti.then_some(pdu);
                    let (cmti, routed) = modem.notify(slot);
                    (cmti, routed.or(copy))
                };
                if let Some(pdu) = routed {
                    let direct =
                        gate.offer(&modem, &state, Delivery::Message(pdu), options.ack_timeout);
                    urc.splice(0..0, direct);
                }
                if chaos.urc_inside_responses {
                    held.extend(urc);
                    // Released on its own if no response comes to hide in.
                    held_until = tokio::time::Instant::now() + Duration::from_secs(2);
                    continue;
                }
                urc
            }
            Wake::Command(Some(Command::Raw(bytes))) => bytes,
            Wake::Command(Some(Command::Ring(serial))) => {
                let number = match &lock(&state).calls.ringing {
                    Some((s, number)) if *s == serial => Some(number.clone()),
                    _ => None,
                };
                let Some(number) = number else { continue };
                let ring = modem.voice.ring(number.as_deref());
                if options.chaos.urc_inside_responses {
                    held.extend(ring);
                    held_until = tokio::time::Instant::now() + Duration::from_secs(2);
                    continue;
                }
                ring
            }
            Wake::UssdReply => ussd_due.take().map(|(_, reply)| reply).unwrap_or_default(),
            Wake::Command(Some(Command::Full)) => modem.full_urc(),
            Wake::Command(Some(Command::Direct(delivery))) => {
                gate.offer(&modem, &state, delivery, options.ack_timeout)
            }
            Wake::Command(Some(Command::Signal(rssi))) => {
                lock(&state).rssi = rssi;
                modem.signal_urcs()
            }
            Wake::Command(Some(Command::Registration(stat))) => {
                lock(&state).registration = stat;
                modem.registration_urcs()
            }
            Wake::AckDue if options.ack_timeout_stores && gate.waiting.is_some() => {
                gate.give_up(&mut modem, &state, options.ack_timeout);
                continue;
            }
            Wake::AckDue => gate.due(
                &mut modem,
                &state,
                options.ack_timeout,
                options.chaos.route_directly,
            ),
            Wake::Command(Some(Command::Mute(on))) => {
                muted = on;
                continue;
            }
            Wake::Command(Some(Command::Hang(on))) => {
                hung = on;
                continue;
            }
            Wake::Command(Some(Command::Reboot)) => {
                reboot = true;
                Vec::new()
            }
            Wake::Command(Some(Command::Unplug(done))) => {
                pty = None;
                let _ = done.send(());
                continue;
            }
            Wake::Command(Some(Command::Replug(done))) => {
                let reply = match Pty::open() {
                    Ok(p) => {
                        let path = p.path.clone();
                        pty = Some(p);
                        // A replugged modem has power-cycled: settings are back to defaults,
                        // and what it had not printed yet is gone.
                        modem = new_modem();
                        held.clear();
                        sending = None;
                        ussd_due = None;
                        ready_at = tokio::time::Instant::now() + options.ready_delay;
                        // What was never acknowledged, the network delivers again later.
                        gate.restart(&state, ready_at + Duration::from_secs(1));
                        Ok(path)
                    }
                    Err(e) => Err(e),
                };
                let _ = done.send(reply);
                continue;
            }
            Wake::Ready => {
                modem.ready = true;
                options.personality.ready_line().as_bytes().to_vec()
            }
            Wake::Release => std::mem::take(&mut held),
            Wake::Sent => sending.take().map(|(_, answer)| answer).unwrap_or_default(),
            Wake::Read(Ok(0)) => continue,
            // Hung firmware: what the driver writes is lost.
            Wake::Read(Ok(_)) if muted => continue,
            // Hung, but a reset command still restarts it.
            Wake::Read(Ok(n)) if hung => {
                let text = String::from_utf8_lossy(&buf[..n]).to_ascii_uppercase();
                if !(text.contains("AT+CFUN=1,1") || text.contains("AT#REBOOT")) {
                    continue;
                }
                hung = false;
                reboot = true;
                modem.input(&buf[..n])
            }
            // Too soon after the last answer: a slow UART module misses the command.
            Wake::Read(Ok(n))
                if buf[..n].contains(&b'\r')
                    && options
                        .command_gap
                        .zip(last_output)
                        .is_some_and(|(gap, last)| last.elapsed() < gap) =>
            {
                lock(&state).dropped += 1;
                continue;
            }
            Wake::Read(Ok(n)) => {
                let mut out = modem.input(&buf[..n]);
                if let Some(reply) = modem.voice.reply.take() {
                    ussd_due = Some((tokio::time::Instant::now() + options.ussd_delay, reply));
                }
                reboot = std::mem::take(&mut modem.reboot);
                if std::mem::take(&mut modem.sent) && !options.send_delay.is_zero() {
                    sending = Some((tokio::time::Instant::now() + options.send_delay, out));
                    continue;
                }
                // Acknowledged: the next held-back delivery may go.
                out.extend(gate.acked(
                    &mut modem,
                    &state,
                    options.ack_timeout,
                    options.chaos.route_directly,
                ));
                // A slot freed: what the network held for the full storage comes now.
                out.extend(redeliver(
                    &mut modem,
                    &state,
                    &mut gate,
                    options.ack_timeout,
                ));
                if held.is_empty() || out.is_empty() {
                    out
                } else {
                    lock(&state).spliced += 1;
                    splice_inside(&out, &std::mem::take(&mut held))
                }
            }
            Wake::Read(Err(e)) => {
                tracing::debug!("simulator read failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let mut output = output;
        if reboot {
            // Power-on defaults; what it had not printed yet is gone.
            modem = new_modem();
            held.clear();
            sending = None;
            ready_at = tokio::time::Instant::now() + options.ready_delay;
            gate.restart(&state, ready_at + Duration::from_secs(1));
            output.extend_from_slice(b"\r\nRDY\r\n\r\n+CPIN: READY\r\n");
            if modem.ready {
                output.extend_from_slice(options.personality.ready_line().as_bytes());
            }
        }
        if muted || hung {
            continue;
        }
        // A Huawei stick chatters until AT^CURC=0.
        let noisy = options.chaos.noise
            || (options.personality == Personality::HuaweiE3372 && !modem.curc_off);
        if let Some(p) = &mut pty {
            if let Err(e) = emit(p, &options.chaos, noisy, &output).await {
                tracing::debug!("simulator write failed: {e}");
            }
            if !output.is_empty() {
                last_output = Some(tokio::time::Instant::now());
                lock(&state).last_output = Some(std::time::Instant::now());
            }
        }
    }
}

/// Delivers what the network held for a full storage while there is room: stored and announced,
/// or routed, as `AT+CNMI` says.
fn redeliver(
    modem: &mut AtModem,
    state: &Mutex<SimState>,
    gate: &mut AckGate,
    timeout: Duration,
) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let slot = {
            let mut state = lock(state);
            let Some(pdu) = state.network.front().cloned() else {
                break;
            };
            // Still full: the network waits for the next freed slot.
            let Some(slot) = state.store(pdu) else { break };
            state.network.pop_front();
            slot
        };
        if modem.routing_off {
            continue;
        }
        let (cmti, routed) = modem.notify(slot);
        out.extend(cmti);
        if let Some(pdu) = routed {
            out.extend(gate.offer(modem, state, Delivery::Message(pdu), timeout));
        }
    }
    out
}

/// A message or status report the network delivers directly.
#[derive(Debug, Clone)]
enum Delivery {
    Message(Vec<u8>),
    Report(Vec<u8>),
}

impl Delivery {
    fn urc(&self) -> Vec<u8> {
        match self {
            Delivery::Message(pdu) => at::cmt_urc(pdu),
            Delivery::Report(pdu) => at::cds_urc(pdu),
        }
    }

    fn pdu(&self) -> &[u8] {
        match self {
            Delivery::Message(pdu) | Delivery::Report(pdu) => pdu,
        }
    }
}

/// The phase 2+ rule of TS 27.005 for `+CMT`/`+CDS`: one at a time, each waiting for `AT+CNMA`;
/// unacknowledged, the network delivers it again, routed as `AT+CNMI` says by then (printed
/// again, or stored and announced with `+CMTI`).
struct AckGate {
    /// The delivery printed and not acknowledged yet.
    waiting: Option<Delivery>,
    /// Deliveries held back until then.
    queue: std::collections::VecDeque<Delivery>,
    /// When `waiting` is given up on (and delivered again), or when the queue goes on.
    deadline: tokio::time::Instant,
}

impl AckGate {
    fn new() -> AckGate {
        AckGate {
            waiting: None,
            queue: std::collections::VecDeque::new(),
            deadline: tokio::time::Instant::now(),
        }
    }

    fn busy(&self) -> bool {
        self.waiting.is_some() || !self.queue.is_empty()
    }

    /// What to print for a new direct delivery now: it, or (in phase 2+, while another waits)
    /// nothing yet.
    fn offer(
        &mut self,
        modem: &AtModem,
        state: &Mutex<SimState>,
        delivery: Delivery,
        timeout: Duration,
    ) -> Vec<u8> {
        if !modem.phase2() {
            return delivery.urc();
        }
        if self.waiting.is_some() {
            self.queue.push_back(delivery);
            return Vec::new();
        }
        lock(state).awaiting_ack = true;
        let urc = delivery.urc();
        self.waiting = Some(delivery);
        self.deadline = tokio::time::Instant::now() + timeout;
        urc
    }

    /// Delivers `delivery` as the modem is set now: a message the modem no longer routes
    /// (`AT+CNMI` changed meanwhile) is stored and announced; the rest goes through
    /// [`AckGate::offer`]. `always_route` is `Chaos::route_directly`. A message the full SIM
    /// cannot take comes back (`Err`): the network keeps it and tries again later.
    fn route(
        &mut self,
        modem: &mut AtModem,
        state: &Mutex<SimState>,
        delivery: Delivery,
        timeout: Duration,
        always_route: bool,
    ) -> Result<Vec<u8>, Delivery> {
        match delivery {
            Delivery::Message(pdu) if !always_route && !modem.routes_directly() => {
                let slot = lock(state).store(pdu.clone());
                match slot {
                    Some(slot) if !modem.routing_off => Ok(modem.notify(slot).0),
                    Some(_) => Ok(Vec::new()),
                    None => Err(Delivery::Message(pdu)),
                }
            }
            delivery => Ok(self.offer(modem, state, delivery, timeout)),
        }
    }

    /// Keeps a delivery the SIM had no room for at the head of the queue, for another try after
    /// `timeout`.
    fn keep(&mut self, delivery: Delivery, timeout: Duration) {
        self.queue.push_front(delivery);
        self.deadline = tokio::time::Instant::now() + timeout;
    }

    /// Goes on with the held-back deliveries while nothing waits for an acknowledgement.
    fn pump(
        &mut self,
        modem: &mut AtModem,
        state: &Mutex<SimState>,
        timeout: Duration,
        always_route: bool,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        while self.waiting.is_none() {
            let Some(next) = self.queue.pop_front() else {
                break;
            };
            match self.route(modem, state, next, timeout, always_route) {
                Ok(urc) => out.extend(urc),
                Err(kept) => {
                    self.keep(kept, timeout);
                    break;
                }
            }
        }
        out
    }

    /// After the driver's input: if `AT+CNMA` took the waiting delivery, the next ones.
    fn acked(
        &mut self,
        modem: &mut AtModem,
        state: &Mutex<SimState>,
        timeout: Duration,
        always_route: bool,
    ) -> Vec<u8> {
        if self.waiting.is_none() || lock(state).awaiting_ack {
            return Vec::new();
        }
        self.waiting = None;
        self.pump(modem, state, timeout, always_route)
    }

    /// The deadline passed: the waiting delivery comes again from the network, then the held
    /// ones go on.
    fn due(
        &mut self,
        modem: &mut AtModem,
        state: &Mutex<SimState>,
        timeout: Duration,
        always_route: bool,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(delivery) = self.waiting.take() {
            {
                let mut state = lock(state);
                state.ack_timeouts += 1;
                state.awaiting_ack = false;
            }
            match self.route(modem, state, delivery, timeout, always_route) {
                Ok(urc) => out = urc,
                Err(kept) => {
                    self.keep(kept, timeout);
                    return out;
                }
            }
        }
        out.extend(self.pump(modem, state, timeout, always_route));
        out
    }

    /// TS 27.005 on a missing acknowledgement: routing off, and the waiting delivery and those
    /// held back kept in storage without a URC.
    fn give_up(&mut self, modem: &mut AtModem, state: &Mutex<SimState>, timeout: Duration) {
        let mut state = lock(state);
        state.ack_timeouts += 1;
        state.awaiting_ack = false;
        let mut kept = std::collections::VecDeque::new();
        for delivery in self.waiting.take().into_iter().chain(self.queue.drain(..)) {
            if state.store(delivery.pdu().to_vec()).is_none() {
                // No room: the network keeps it and tries again later.
                kept.push_back(delivery);
            }
        }
        self.queue = kept;
        self.deadline = tokio::time::Instant::now() + timeout;
        modem.routing_off = true;
    }

    /// A power cycle: the waiting delivery is delivered again after `at`, behind nothing.
    fn restart(&mut self, state: &Mutex<SimState>, at: tokio::time::Instant) {
        if let Some(delivery) = self.waiting.take() {
            self.queue.push_front(delivery);
        }
        lock(state).awaiting_ack = false;
        self.deadline = at;
    }
}
