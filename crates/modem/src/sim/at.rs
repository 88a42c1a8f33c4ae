//! The simulator's AT interpreter: bytes in, bytes out, like the firmware of a GSM modem.
//!
//! It is pure (the pty task in `sim/mod.rs` moves the bytes), so its answers can be checked
//! directly. It follows TS 27.005/27.007 in PDU mode with the formats real modems print, including
//! the inconvenient parts a driver must cope with: echo until `ATE0`, numeric or verbose errors per
//! `AT+CMEE`, and `+CMS ERROR: 321` for an empty slot.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::errors::{standard_text, ErrorFamily};
use crate::sim::Personality;

/// What the simulated SIM holds.
#[derive(Debug, Default)]
pub(crate) struct SimState {
    /// Stored messages by slot: (raw PDU with SMSC field, already read).
    pub slots: BTreeMap<u32, (Vec<u8>, bool)>,
    /// Messages arriving from the network, by the slot kept for them: not readable yet, until the
    /// modem stores them there or routes them straight to the computer (then the slot stays free).
    pub arriving: BTreeMap<u32, Vec<u8>>,
    /// PDUs received through `AT+CMGS`, exactly as the driver sent them (SMSC field included).
    pub sent: Vec<Vec<u8>>,
    /// Number of slots.
    pub capacity: u32,
    /// Next message reference for `+CMGS`.
    pub next_mr: u8,
    /// How often `AT+CPIN=<pin>` was tried (a real SIM locks after three wrong ones).
    pub pin_attempts: u32,
    /// The SIM's PIN (`None`: no PIN lock). A PUK unblock sets a new one; it survives a replug.
    pub pin: Option<String>,
    /// The SIM's PUK, which unblocks it after three wrong PINs.
    pub puk: String,
    /// Wrong PINs the SIM still takes before it wants its PUK (3 when it is fresh).
    pub pin_left: u8,
    /// Wrong PUKs the SIM still takes before it is blocked for good (10 when fresh).
    pub puk_left: u8,
    /// Responses that carried held-back URCs inside them (chaos statistics for tests).
    pub spliced: u32,
    /// Extended errors printed.
    pub errors_sent: u32,
    /// The last accepted `AT+CNMI` argument.
    pub cnmi: Option<String>,
    /// Status reports kept in the separate `SR` storage, by slot (as `slots`).
    pub reports: BTreeMap<u32, (Vec<u8>, bool)>,
    /// A `+CMT`/`+CDS` was printed in phase 2+ and `AT+CNMA` has not come yet.
    pub awaiting_ack: bool,
    /// `AT+CNMA` acknowledgements taken.
    pub acks: u32,
    /// Direct deliveries printed again because their acknowledgement did not come in time.
    pub ack_timeouts: u32,
    /// Commands ignored for arriving too soon (`SimOptions::command_gap`).
    pub dropped: u32,
    /// The latest commands taken, oldest first, each with the time since the modem's previous
    /// output (how long the driver waited after an answer), for tests of the driver's order and
    /// pauses. Bounded: a demo modem runs for days.
    pub log: VecDeque<Logged>,
    /// When the modem last printed something.
    pub last_output: Option<Instant>,
    /// Signal on the `AT+CSQ` scale (0–31, 99 unknown).
    pub rssi: u8,
    /// Registration `<stat>` (1 home, 5 roaming, 2 searching, ...).
    pub registration: u8,
    /// The call ringing, and hang-ups (`voice.rs`).
    pub calls: super::voice::CallState,
    /// The modem's own message memory (`ME`), by slot (as `slots`, which is the SIM).
    pub me: BTreeMap<u32, (Vec<u8>, bool)>,
    /// Slots of `ME`; 0: the modem has no memory of its own and offers only the SIM.
    pub me_capacity: u32,
    /// New messages are stored in `ME` (`AT+CPMS` `<mem3>`), not on the SIM.
    pub receive_me: bool,
    /// Messages the network holds because the storage was full: delivered as soon as a slot is
    /// free again (the memory-available notification of TS 23.040 §10.3).
    pub network: VecDeque<Vec<u8>>,
    /// The modem printed its storage-full indication and no slot was freed since.
    pub full_told: bool,
}

/// Wrong PINs a fresh SIM takes before it asks for its PUK (TS 31.102 and every real SIM).
pub(crate) const PIN_TRIES: u8 = 3;
/// Wrong PUKs a SIM takes before it is blocked for good.
pub(crate) const PUK_TRIES: u8 = 10;

/// A command the modem took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// The command line as typed (`AT+CMGR=3`).
    pub command: String,
    /// Time since the modem's previous output, if it had printed anything.
    pub after_output: Option<Duration>,
}

/// How many commands [`SimState::log`] keeps.
const LOG_LIMIT: usize = 4096;

impl SimState {
    /// A state with `capacity` slots, full signal and registered at home.
    pub fn new(capacity: u32) -> SimState {
        SimState {
            capacity,
            puk: "12345678".into(),
            pin_left: PIN_TRIES,
            puk_left: PUK_TRIES,
            rssi: 21,
            registration: 1,
            ..SimState::default()
        }
    }

    /// Stores a PDU in the lowest free slot of the storage new messages go to (like a SIM);
    /// `None` when full.
    pub fn store(&mut self, pdu: Vec<u8>) -> Option<u32> {
        let slot = self.free_slot()?;
        self.receiving().insert(slot, (pdu, false));
        Some(slot)
    }

    /// Stores a PDU on the SIM (`SM`) whatever the storage for new messages; `None` when full.
    pub fn store_on_sim(&mut self, pdu: Vec<u8>) -> Option<u32> {
        let slot = (1..=self.capacity).find(|s| {
            !self.slots.contains_key(s) && (self.receive_me || !self.arriving.contains_key(s))
        })?;
        self.slots.insert(slot, (pdu, false));
        Some(slot)
    }

    /// The storage new messages go to (`ME` when `AT+CPMS` chose it, else the SIM).
    pub fn receiving(&mut self) -> &mut BTreeMap<u32, (Vec<u8>, bool)> {
        if self.receive_me {
            &mut self.me
        } else {
            &mut self.slots
        }
    }

    /// The name of the storage new messages go to, as `+CMTI` prints it.
    pub fn receiving_name(&self) -> &'static str {
        if self.receive_me {
            "ME"
        } else {
            "SM"
        }
    }

    /// Keeps a slot for a message arriving from the network (see [`SimState::arriving`]);
    /// `None` when the SIM is full.
    pub fn arrive(&mut self, pdu: Vec<u8>) -> Option<u32> {
        let slot = self.free_slot()?;
        self.arriving.insert(slot, pdu);
        Some(slot)
    }

    fn free_slot(&self) -> Option<u32> {
        let (taken, capacity) = if self.receive_me {
            (&self.me, self.me_capacity)
        } else {
            (&self.slots, self.capacity)
        };
        (1..=capacity).find(|s| !taken.contains_key(s) && !self.arriving.contains_key(s))
    }

    /// Stores a status report in the `SR` storage (as many slots as the SIM); `None` when full.
    pub fn store_report(&mut self, pdu: Vec<u8>) -> Option<u32> {
        let slot = (1..=self.capacity).find(|s| !self.reports.contains_key(s))?;
        self.reports.insert(slot, (pdu, false));
        Some(slot)
    }

    /// The slots of a storage (`SR`: the status reports; `ME`/`MT` the modem's own memory where
    /// it has one; anything else: the SIM).
    fn storage(&mut self, mem: &str) -> &mut BTreeMap<u32, (Vec<u8>, bool)> {
        match mem {
            "SR" => &mut self.reports,
            "ME" | "MT" if self.me_capacity > 0 => &mut self.me,
            _ => &mut self.slots,
        }
    }

    /// Messages in a storage and its capacity.
    fn usage_of(&mut self, mem: &str) -> (usize, u32) {
        let capacity = match mem {
            "ME" | "MT" if self.me_capacity > 0 => self.me_capacity,
            _ => self.capacity,
        };
        (self.storage(mem).len(), capacity)
    }
}

/// Locks the shared state; a poisoned lock (a panicking test thread) still holds valid data.
pub(crate) fn lock(state: &Mutex<SimState>) -> MutexGuard<'_, SimState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Settings the driver changes with AT commands.
#[derive(Debug, Clone)]
struct Settings {
    echo: bool,
    cmee: u8,
    pdu_mode: bool,
    /// `<mt>` of AT+CNMI: 0 store silently, 1 store and send +CMTI, 2 route directly with +CMT.
    cnmi_mt: u8,
    pin_ok: bool,
    /// `<mem1>` of AT+CPMS: the storage `AT+CMGR`/`AT+CMGL`/`AT+CMGD` work on.
    mem1: String,
    /// `<mem2>` and `<mem3>` of AT+CPMS (writing, and where new messages go).
    mem23: [String; 2],
    /// `<service>` of AT+CSMS: 1 (phase 2+) makes `+CMT`/`+CDS` wait for `AT+CNMA`.
    csms: u8,
    /// `<n>` of AT+CREG, AT+CGREG, AT+CEREG: 0 no reports, 1 the state, 2 with the location.
    reg_reports: [u8; 3],
    /// AT+CMER=3,0,0,1: indicator changes reported with `+CIEV`.
    indicator_reports: bool,
    /// The family's own signal report is on (`AT+EXUNSOL="SQ",1`, `AT+AUTOCSQ=1,1`,
    /// `AT+QINDCFG="csq",1`).
    signal_reports: bool,
}

/// The registration commands, in the order of [`Settings::reg_reports`].
const REG_COMMANDS: [&str; 3] = ["+CREG", "+CGREG", "+CEREG"];

enum Mode {
    Command,
    /// Waiting for a PDU after `AT+CMGS=<len>`, up to Ctrl-Z.
    Pdu,
}

/// The AT interpreter.
pub(crate) struct AtModem {
    state: Arc<Mutex<SimState>>,
    settings: Settings,
    personality: Personality,
    line: Vec<u8>,
    mode: Mode,
    /// SMS commands answer `+CMS ERROR: 302` until the modem is ready (SIM800L behaviour).
    pub ready: bool,
    /// `AT^CURC=0` was given: a Huawei stick stops its status noise.
    pub curc_off: bool,
    /// Reported by `AT+CGSN` (empty: the modem answers ERROR).
    pub imei: String,
    /// Reported by the personality's ICCID command (empty: ERROR, as with no SIM).
    pub iccid: String,
    /// Offers a separate `SR` storage for status reports in `AT+CPMS`.
    pub report_storage: bool,
    /// An acknowledgement timed out and, as TS 27.005 says, routing to the driver is off
    /// (messages are stored silently) until `AT+CNMI` is set again.
    pub routing_off: bool,
    /// `AT+CSMS=1` is refused (a modem without phase 2+ service).
    pub refuse_phase2: bool,
    /// `AT+CNMA` is refused although phase 2+ was taken (broken firmware).
    pub refuse_cnma: bool,
    /// The last input finished an `AT+CMGS` (its answer is the network's, and may be delayed).
    pub sent: bool,
    /// Caller id and USSD (`voice.rs`).
    pub voice: super::voice::Voice,
    /// The last input asked for a reset (`AT+CFUN=1,1`, Telit `AT#REBOOT`): the modem restarts.
    pub reboot: bool,
}

const CTRL_Z: u8 = 0x1A;
const ESC: u8 = 0x1B;

impl AtModem {
    pub fn new(state: Arc<Mutex<SimState>>, personality: Personality) -> Self {
        let pin_ok = {
            let mut state = lock(&state);
            // A power cycle brings the modem's default storage back.
            state.receive_me = false;
            state.pin.is_none()
        };
        let settings = Settings {
            echo: true,
            cmee: 0,
            pdu_mode: false,
            cnmi_mt: 0,
            pin_ok,
            mem1: "SM".into(),
            mem23: ["SM".into(), "SM".into()],
            csms: 0,
            reg_reports: [0; 3],
            indicator_reports: false,
            signal_reports: false,
        };
        AtModem {
            state,
            settings,
            personality,
            line: Vec::new(),
            mode: Mode::Command,
            ready: true,
            curc_off: false,
            imei: "356938035643809".into(),
            iccid: "8949000000000000001".into(),
            report_storage: false,
            routing_off: false,
            refuse_phase2: false,
            refuse_cnma: false,
            sent: false,
            voice: super::voice::Voice {
                script: super::voice::default_ussd(),
                ..Default::default()
            },
            reboot: false,
        }
    }

    /// Starts in phase 2+ (`AT+CSMS` service 1), as a modem whose settings were saved that way.
    pub fn set_phase2(&mut self, on: bool) {
        self.settings.csms = u8::from(on);
    }

    /// Whether `+CMT`/`+CDS` must be acknowledged with `AT+CNMA`.
    pub fn phase2(&self) -> bool {
        self.settings.csms == 1
    }

    /// What a modem does with a message just stored in `slot`, per AT+CNMI: nothing (mt=0),
    /// `+CMTI` (mt=1), or route it (mt=2; the message then leaves the SIM, as a directly routed
    /// message is never stored). Returns (`+CMTI` to print, the PDU to route with `+CMT`).
    pub fn notify(&mut self, slot: u32) -> (Vec<u8>, Option<Vec<u8>>) {
        match self.settings.cnmi_mt {
            1 => {
                let mem = lock(&self.state).receiving_name();
                (
                    format!("\r\n+CMTI: \"{mem}\",{slot}\r\n").into_bytes(),
                    None,
                )
            }
            2 => (
                Vec::new(),
                lock(&self.state)
                    .receiving()
                    .remove(&slot)
                    .map(|(pdu, _)| pdu),
            ),
            _ => (Vec::new(), None),
        }
    }

    /// Whether new messages are routed with `+CMT` (AT+CNMI mt=2).
    pub fn routes_directly(&self) -> bool {
        self.settings.cnmi_mt == 2 && !self.routing_off
    }

    /// The registration reports switched on, for a registration `<stat>` that just changed.
    pub fn registration_urcs(&self) -> Vec<u8> {
        let stat = lock(&self.state).registration;
        let mut out = Vec::new();
        for (name, n) in REG_COMMANDS.iter().zip(self.settings.reg_reports) {
            match n {
                1 => out.extend(format!("\r\n{name}: {stat}\r\n").bytes()),
                2 => out.extend(format!("\r\n{name}: {stat},\"1A2B\",\"01C2D3E4\",7\r\n").bytes()),
                _ => {}
            }
        }
        out
    }

    /// The signal report this modem prints when the signal changed, if one is switched on.
    pub fn signal_urcs(&self) -> Vec<u8> {
        let rssi = lock(&self.state).rssi;
        let line = match self.personality {
            _ if self.settings.signal_reports => match self.personality {
                Personality::Sim800l => format!("+CSQN: {rssi},0"),
                Personality::Sim7600 => format!("+CSQ: {rssi},99"),
                _ => format!("+QIND: \"csq\",{rssi},99"),
            },
            Personality::HuaweiE3372 if !self.curc_off => format!("^RSSI:{rssi}"),
            _ if self.settings.indicator_reports => format!("+CIEV: 2,{}", signal_level(rssi)),
            _ => return Vec::new(),
        };
        format!("\r\n{line}\r\n").into_bytes()
    }

    /// Feeds bytes typed by the driver; returns the modem's output.
    pub fn input(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for &b in bytes {
            match self.mode {
                Mode::Command => {
                    // ESC in command mode is ignored (it cancels nothing), like real firmware.
                    if b == ESC {
                        self.line.clear();
                        continue;
                    }
                    if self.settings.echo {
                        out.push(b);
                    }
                    match b {
                        b'\r' => {
                            let line = std::mem::take(&mut self.line);
                            let line = String::from_utf8_lossy(&line).trim().to_string();
                            if !line.is_empty() {
                                self.command(&line, &mut out);
                            }
                        }
                        b'\n' => {}
                        // Backspace, as a terminal user would type it.
                        0x08 => {
                            self.line.pop();
                        }
                        _ if self.line.len() < 4096 => self.line.push(b),
                        _ => {}
                    }
                }
                Mode::Pdu => match b {
                    CTRL_Z => {
                        self.mode = Mode::Command;
                        let text = std::mem::take(&mut self.line);
                        self.finish_send(&text, &mut out);
                    }
                    ESC => {
                        self.mode = Mode::Command;
                        self.line.clear();
                        out.extend_from_slice(b"\r\nOK\r\n");
                    }
                    b'\r' | b'\n' => {}
                    _ if self.line.len() < 4096 => self.line.push(b),
                    _ => {}
                },
            }
        }
        out
    }

    fn command(&mut self, line: &str, out: &mut Vec<u8>) {
        {
            let mut state = lock(&self.state);
            let after_output = state.last_output.map(|t| t.elapsed());
            if state.log.len() == LOG_LIMIT {
                state.log.pop_front();
            }
            state.log.push_back(Logged {
                command: line.to_string(),
                after_output,
            });
        }
        let upper = line.to_ascii_uppercase();
        let Some(body) = upper.strip_prefix("AT") else {
            return self.error(out, None);
        };
        // The argument keeps its case (a PIN or a phone number could care).
        let arg_raw = line.get(2..).unwrap_or("");
        let (name, arg) = split_command(body);
        let arg_raw = arg_raw
            .get(name.len()..)
            .unwrap_or("")
            .trim_start_matches('=');
        match (name, arg) {
            ("", _) => self.ok(out),
            ("E0", _) => {
                self.settings.echo = false;
                self.ok(out)
            }
            ("E1" | "E", _) => {
                self.settings.echo = true;
                self.ok(out)
            }
            ("Z", _) => {
                self.settings.echo = true;
                self.settings.cmee = 0;
                self.settings.cnmi_mt = 0;
                self.ok(out)
            }
            ("I", _) => {
                let info = format!(
                    "{}\r\n{}\r\nRevision: SIMRELAY-SIM 1.0",
                    self.personality.manufacturer(),
                    self.personality.model()
                );
                self.info(out, &info);
                self.ok(out)
            }
            ("+CGMM", _) => {
                self.info(out, self.personality.model());
                self.ok(out)
            }
            ("+CGMI", _) => {
                self.info(out, self.personality.manufacturer());
                self.ok(out)
            }
            ("+CGSN", _) if !self.imei.is_empty() => {
                let imei = self.imei.clone();
                self.info(out, &imei);
                self.ok(out)
            }
            // Each family reads the ICCID with its own command.
            ("+CCID", _)
                if !self.iccid.is_empty()
                    && matches!(
                        self.personality,
                        Personality::Generic | Personality::Sim800l
                    ) =>
            {
                let line = match self.personality {
                    // SIM800L prints the bare number.
                    Personality::Sim800l => self.iccid.clone(),
                    _ => format!("+CCID: {}", self.iccid),
                };
                self.info(out, &line);
                self.ok(out)
            }
            ("+QCCID", _) if !self.iccid.is_empty() && self.personality == Personality::Ec25 => {
                let line = format!("+QCCID: {}", self.iccid);
                self.info(out, &line);
                self.ok(out)
            }
            ("#CCID", _) if !self.iccid.is_empty() && self.personality == Personality::Telit => {
                let line = format!("#CCID: {}", self.iccid);
                self.info(out, &line);
                self.ok(out)
            }
            ("+CICCID", _)
                if !self.iccid.is_empty() && self.personality == Personality::Sim7600 =>
            {
                let line = format!("+ICCID: {}", self.iccid);
                self.info(out, &line);
                self.ok(out)
            }
            ("^ICCID", Arg::Query)
                if !self.iccid.is_empty() && self.personality == Personality::HuaweiE3372 =>
            {
                // The raw EF-ICCID: digits in swapped pairs, padded with F.
                let mut digits = self.iccid.clone();
                if digits.len() % 2 == 1 {
                    digits.push('F');
                }
                let swapped: String = digits
                    .as_bytes()
                    .chunks(2)
                    .flat_map(|pair| pair.iter().rev())
                    .map(|b| char::from(*b))
                    .collect();
                self.info(out, &format!("^ICCID: {swapped}"));
                self.ok(out)
            }
            ("+CMEE", Arg::Set(v)) => match v.parse::<u8>() {
                Ok(n) if n <= 2 => {
                    self.settings.cmee = n;
                    self.ok(out)
                }
                _ => self.error(out, None),
            },
            ("+CPIN", Arg::Query) => {
                let status = match self.sim_lock() {
                    SimLock::Ready => "READY",
                    SimLock::Pin => "SIM PIN",
                    SimLock::Puk => "SIM PUK",
                    // A blocked SIM answers like a broken one: only the operator can help.
                    SimLock::Blocked => return self.cme(out, 13),
                };
                self.info(out, &format!("+CPIN: {status}"));
                self.ok(out)
            }
            ("+CPIN", Arg::Set(_)) => self.enter_pin(out, arg_raw),
            // TS 27.007 8.65: the tries left for each code, whatever the lock state.
            ("+CPINR", Arg::None | Arg::Set(_)) if self.personality.answers_cpinr() => {
                let (pin_left, puk_left) = {
                    let state = lock(&self.state);
                    (state.pin_left, state.puk_left)
                };
                self.info(out, &format!("+CPINR: SIM PIN,{pin_left},{PIN_TRIES}"));
                self.info(out, &format!("+CPINR: SIM PUK,{puk_left},{PUK_TRIES}"));
                self.ok(out)
            }
            // The family's own counter command (see `pin_counters` for the formats).
            ("+SPIC" | "^CPIN" | "+QPINC", counter_arg)
                if self.personality.pin_counter_command() == Some(name) =>
            {
                self.vendor_pin_counter(name, &counter_arg, out)
            }
            ("^CURC", Arg::Set(v)) if self.personality == Personality::HuaweiE3372 => {
                self.curc_off = v.trim() == "0";
                self.ok(out)
            }
            _ if !self.settings.pin_ok && is_sms_command(name) => self.cms(out, 311),
            _ if !self.ready && is_sms_command(name) => self.cms(out, 302),
            ("+CMGF", Arg::Set(v)) => match v.as_str() {
                "0" => {
                    self.settings.pdu_mode = true;
                    self.ok(out)
                }
                "1" => {
                    self.settings.pdu_mode = false;
                    self.ok(out)
                }
                _ => self.error(out, None),
            },
            ("+CSMS", Arg::Set(v)) if v.trim() == "1" && self.refuse_phase2 => self.cms(out, 303),
            ("+CSMS", Arg::Set(v)) => match v.trim() {
                "0" | "1" => {
                    self.settings.csms = u8::from(v.trim() == "1");
                    self.info(out, "+CSMS: 1,1,1");
                    self.ok(out)
                }
                _ => self.cms(out, 303),
            },
            ("+CSMS", Arg::Query) => {
                let service = self.settings.csms;
                self.info(out, &format!("+CSMS: {service},1,1,1"));
                self.ok(out)
            }
            ("+CPMS", Arg::Test) => {
                // The modem's own memory only where it has one.
                let mems = if lock(&self.state).me_capacity > 0 {
                    "\"SM\",\"ME\""
                } else {
                    "\"SM\""
                };
                let sr = if self.report_storage { ",\"SR\"" } else { "" };
                self.info(out, &format!("+CPMS: ({mems}{sr}),({mems}),({mems})"));
                self.ok(out)
            }
            ("+CPMS", Arg::Query) => {
                let mems = [
                    self.settings.mem1.clone(),
                    self.settings.mem23[0].clone(),
                    self.settings.mem23[1].clone(),
                ];
                let fields: Vec<String> = mems
                    .iter()
                    .map(|mem| {
                        let (used, total) = self.usage(mem);
                        format!("\"{mem}\",{used},{total}")
                    })
                    .collect();
                self.info(out, &format!("+CPMS: {}", fields.join(",")));
                self.ok(out)
            }
            ("+CPMS", Arg::Set(v)) => {
                let mems: Vec<&str> = v.split(',').map(|m| m.trim().trim_matches('"')).collect();
                let report_storage = self.report_storage;
                let has_me = lock(&self.state).me_capacity > 0;
                let valid = mems.len() <= 3
                    && mems.iter().enumerate().all(|(i, m)| {
                        matches!(*m, "SM" | "")
                            || (has_me && matches!(*m, "ME" | "MT"))
                            || (i == 0 && *m == "SR" && report_storage)
                    });
                if valid {
                    for (i, mem) in mems.iter().enumerate().filter(|(_, m)| !m.is_empty()) {
                        match i {
                            0 => self.settings.mem1 = (*mem).to_string(),
                            i => self.settings.mem23[i - 1] = (*mem).to_string(),
                        }
                    }
                    lock(&self.state).receive_me = self.settings.mem23[1] != "SM";
                    let fields: Vec<String> = [
                        self.settings.mem1.clone(),
                        self.settings.mem23[0].clone(),
                        self.settings.mem23[1].clone(),
                    ]
                    .iter()
                    .map(|mem| {
                        let (used, total) = self.usage(mem);
                        format!("{used},{total}")
                    })
                    .collect();
                    self.info(out, &format!("+CPMS: {}", fields.join(",")));
                    self.ok(out)
                } else {
                    self.cms(out, 302)
                }
            }
            ("+CNMI", Arg::Test) => match self.personality {
                Personality::Ec25 => self.error(out, None),
                Personality::Sim7600 => {
                    self.info(out, "+CNMI: (0-2),(0-3),(0,2),(0,1),(0,1)");
                    self.ok(out)
                }
                _ => {
                    self.info(out, "+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)");
                    self.ok(out)
                }
            },
            ("+CNMI", Arg::Query) => {
                let mt = self.settings.cnmi_mt;
                self.info(out, &format!("+CNMI: 2,{mt},0,0,0"));
                self.ok(out)
            }
            ("+CNMI", Arg::Set(v)) => {
                let parts: Vec<&str> = v.split(',').map(str::trim).collect();
                let no_ds2 = matches!(self.personality, Personality::Ec25 | Personality::Sim7600);
                if no_ds2 && parts.get(3) == Some(&"2") {
                    return self.cms(out, 303);
                }
                match parts.get(1).map(|p| p.parse::<u8>()) {
                    Some(Ok(mt)) if mt <= 3 => {
                        self.settings.cnmi_mt = mt.min(2);
                        self.routing_off = false;
                        lock(&self.state).cnmi = Some(parts.join(","));
                        self.ok(out)
                    }
                    None => {
                        self.settings.cnmi_mt = 0;
                        self.ok(out)
                    }
                    _ => self.cms(out, 303),
                }
            }
            ("+CMGR", Arg::Set(v)) => {
                if !self.settings.pdu_mode {
                    return self.cms(out, 302);
                }
                let Ok(slot) = v.trim().parse::<u32>() else {
                    return self.cms(out, 321);
                };
                let mem = self.settings.mem1.clone();
                let mut state = lock(&self.state);
                match state.storage(&mem).get_mut(&slot) {
                    Some((pdu, read)) => {
                        let stat = u8::from(*read);
                        *read = true;
                        let line = format!(
                            "+CMGR: {stat},,{}\r\n{}",
                            tpdu_len(pdu),
                            hex::encode_upper(&*pdu)
                        );
                        drop(state);
                        self.info(out, &line);
                        self.ok(out)
                    }
                    None => {
                        drop(state);
                        self.cms(out, 321)
                    }
                }
            }
            ("+CMGL", arg) => {
                if !self.settings.pdu_mode {
                    return self.cms(out, 302);
                }
                let wanted = match arg {
                    Arg::Set(v) => match v.trim().parse::<u8>() {
                        Ok(n) if n <= 4 => n,
                        _ => return self.cms(out, 304),
                    },
                    Arg::None => 0,
                    _ => return self.cms(out, 304),
                };
                let mem = self.settings.mem1.clone();
                let mut state = lock(&self.state);
                let mut lines = Vec::new();
                for (slot, (pdu, read)) in state.storage(&mem).iter_mut() {
                    let stat = u8::from(*read);
                    if wanted == 4 || wanted == stat {
                        lines.push(format!(
                            "+CMGL: {slot},{stat},,{}\r\n{}",
                            tpdu_len(pdu),
                            hex::encode_upper(&*pdu)
                        ));
                        *read = true;
                    }
                }
                drop(state);
                if !lines.is_empty() {
                    // Real modems print the list without blank lines between entries.
                    out.extend_from_slice(b"\r\n");
                    out.extend_from_slice(lines.join("\r\n").as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
                self.ok(out)
            }
            ("+CMGD", Arg::Set(v)) => {
                let mut parts = v.split(',').map(str::trim);
                let slot = parts.next().and_then(|s| s.parse::<u32>().ok());
                let flag = parts.next().and_then(|s| s.parse::<u8>().ok()).unwrap_or(0);
                let mem = self.settings.mem1.clone();
                let mut state = lock(&self.state);
                let slots = state.storage(&mem);
                match (slot, flag) {
                    (_, 4) => slots.clear(),
                    (_, 1) => slots.retain(|_, (_, read)| !*read),
                    (Some(slot), 0) => {
                        // Deleting an empty slot answers OK on most modems (SIM800, EC25).
                        slots.remove(&slot);
                    }
                    _ => {
                        drop(state);
                        return self.cms(out, 321);
                    }
                }
                // Room again: a later full storage is told again.
                state.full_told = false;
                drop(state);
                self.ok(out)
            }
            ("+CMGS", Arg::Set(v)) => {
                if !self.settings.pdu_mode || v.trim().parse::<u16>().is_err() {
                    return self.cms(out, 304);
                }
                self.mode = Mode::Pdu;
                self.line.clear();
                out.extend_from_slice(b"\r\n> ");
            }
            ("+CNMA", _) if self.refuse_cnma => self.cms(out, 303),
            ("+CNMA", _) => {
                let mut state = lock(&self.state);
                if state.awaiting_ack {
                    state.awaiting_ack = false;
                    state.acks += 1;
                    drop(state);
                    self.ok(out)
                } else {
                    drop(state);
                    // No +CNMA acknowledgement expected.
                    self.cms(out, 340)
                }
            }
            ("+CSQ", Arg::None) => {
                let rssi = lock(&self.state).rssi;
                self.info(out, &format!("+CSQ: {rssi},99"));
                self.ok(out)
            }
            ("+CREG" | "+CGREG" | "+CEREG", Arg::Query) => {
                let i = REG_COMMANDS.iter().position(|c| *c == name).unwrap_or(0);
                let n = self.settings.reg_reports[i];
                let stat = lock(&self.state).registration;
                let location = if n == 2 {
                    ",\"1A2B\",\"01C2D3E4\",7"
                } else {
                    ""
                };
                self.info(out, &format!("{name}: {n},{stat}{location}"));
                self.ok(out)
            }
            // A 2G module has no LTE registration.
            ("+CEREG", Arg::Set(_)) if self.personality == Personality::Sim800l => {
                self.error(out, Some(4))
            }
            ("+CREG" | "+CGREG" | "+CEREG", Arg::Set(v)) => match v.trim().parse::<u8>() {
                Ok(n) if n <= 2 => {
                    let i = REG_COMMANDS.iter().position(|c| *c == name).unwrap_or(0);
                    self.settings.reg_reports[i] = n;
                    self.ok(out)
                }
                _ => self.error(out, Some(4)),
            },
            // Each family's own signal report.
            ("+EXUNSOL", Arg::Set(v)) if self.personality == Personality::Sim800l => {
                self.signal_switch(v.eq_ignore_ascii_case("\"SQ\",1"), out)
            }
            ("+AUTOCSQ", Arg::Set(v)) if self.personality == Personality::Sim7600 => {
                self.signal_switch(v.trim() == "1,1", out)
            }
            ("+QINDCFG", Arg::Set(v)) if self.personality == Personality::Ec25 => {
                self.signal_switch(v.to_ascii_lowercase().starts_with("\"csq\",1"), out)
            }
            // TS 27.007 indicators, where the personality has them.
            ("+CIND", Arg::Test) if self.has_indicators() => {
                self.info(
                    out,
                    "+CIND: (\"battchg\",(0-5)),(\"signal\",(0-5)),(\"service\",(0,1)),(\"roam\",(0,1)),(\"smsfull\",(0,1))",
                );
                self.ok(out)
            }
            ("+CIND", Arg::Query) if self.has_indicators() => {
                let (rssi, stat) = {
                    let state = lock(&self.state);
                    (state.rssi, state.registration)
                };
                let line = format!(
                    "+CIND: 5,{},{},{},0",
                    signal_level(rssi),
                    u8::from(matches!(stat, 1 | 5)),
                    u8::from(stat == 5)
                );
                self.info(out, &line);
                self.ok(out)
            }
            ("+CMER", Arg::Set(v)) if self.has_indicators() => {
                let fields: Vec<&str> = v.split(',').map(str::trim).collect();
                self.settings.indicator_reports =
                    fields.first() == Some(&"3") && fields.get(3) == Some(&"1");
                self.ok(out)
            }
            ("+COPS", Arg::Query) => {
                self.info(out, "+COPS: 0,0,\"SimRelay Demo\",7");
                self.ok(out)
            }
            // TS 27.007 §8.2: `<rst>` 1 resets the modem; Telit's own reboot command.
            ("+CFUN", Arg::Set(v)) if v.replace(' ', "").ends_with(",1") => {
                self.reboot = true;
                self.ok(out)
            }
            ("#REBOOT", Arg::None) if self.personality == Personality::Telit => {
                self.reboot = true;
                self.ok(out)
            }
            ("+CSCS", _) | ("+CFUN", _) | ("+CMMS", _) => self.ok(out),
            ("+CLIP", Arg::Set(v)) => {
                self.voice.clip = v.trim() == "1";
                self.ok(out)
            }
            ("+CLIP", Arg::Query) => {
                self.info(out, &format!("+CLIP: {},1", u8::from(self.voice.clip)));
                self.ok(out)
            }
            ("H" | "H0" | "+CHUP", Arg::None) => {
                let mut state = lock(&self.state);
                if state.calls.ringing.take().is_some() {
                    state.calls.hangups += 1;
                }
                drop(state);
                self.ok(out)
            }
            ("+CUSD", Arg::Set(_)) => {
                if self.voice.request(arg_raw) {
                    self.ok(out)
                } else {
                    self.error(out, Some(4))
                }
            }
            ("+CUSD", Arg::Query) => {
                self.info(out, "+CUSD: 1");
                self.ok(out)
            }
            _ => self.error(out, Some(4)),
        }
    }

    /// Switches the family's signal report on (`on`) or off.
    fn signal_switch(&mut self, on: bool, out: &mut Vec<u8>) {
        self.settings.signal_reports = on;
        self.ok(out)
    }

    /// Whether the personality answers `AT+CIND`/`AT+CMER`.
    fn has_indicators(&self) -> bool {
        matches!(
            self.personality,
            Personality::Generic | Personality::Telit | Personality::HuaweiE3372
        )
    }

    fn finish_send(&mut self, text: &[u8], out: &mut Vec<u8>) {
        let text = String::from_utf8_lossy(text);
        match hex::decode(text.trim()) {
            Ok(pdu) if !pdu.is_empty() => {
                let mut state = lock(&self.state);
                state.next_mr = state.next_mr.wrapping_add(1);
                let mr = state.next_mr;
                state.sent.push(pdu);
                drop(state);
                self.sent = true;
                self.info(out, &format!("+CMGS: {mr}"));
                self.ok(out)
            }
            _ => self.cms(out, 304),
        }
    }

    fn usage(&self, mem: &str) -> (usize, u32) {
        lock(&self.state).usage_of(mem)
    }

    /// What the modem prints when its storage for new messages is full (once, until a slot is
    /// freed), in its family's words: Huawei `^SMMEMFULL`, Quectel `+QIND: "smsfull"`, SIMCom
    /// `+CIEV: "SMSFULL",1`, the TS 27.007 `smsfull` indicator where `AT+CMER` asked for it.
    pub fn full_urc(&self) -> Vec<u8> {
        let mut state = lock(&self.state);
        if std::mem::replace(&mut state.full_told, true) {
            return Vec::new();
        }
        let mem = state.receiving_name();
        drop(state);
        let line = match self.personality {
            Personality::HuaweiE3372 => format!("^SMMEMFULL: \"{mem}\""),
            Personality::Ec25 => format!("+QIND: \"smsfull\",\"{mem}\""),
            Personality::Sim800l | Personality::Sim7600 => "+CIEV: \"SMSFULL\",1".into(),
            // `smsfull` is the fifth indicator `AT+CIND=?` lists.
            _ if self.settings.indicator_reports => "+CIEV: 5,1".into(),
            _ => return Vec::new(),
        };
        format!("\r\n{line}\r\n").into_bytes()
    }

    /// Where the SIM stands: a wrong PIN too many moves it to PUK, a wrong PUK too many blocks it.
    fn sim_lock(&self) -> SimLock {
        let state = lock(&self.state);
        if state.puk_left == 0 {
            SimLock::Blocked
        } else if state.pin_left == 0 {
            SimLock::Puk
        } else if self.settings.pin_ok {
            SimLock::Ready
        } else {
            SimLock::Pin
        }
    }

    /// SIMCom `AT+SPIC`, Huawei `AT^CPIN?`, Quectel `AT+QPINC="SC"`/`AT+QPINC?`: the tries left
    /// in each vendor's format (PIN2 and PUK2 are not simulated: always fresh).
    fn vendor_pin_counter(&mut self, name: &str, arg: &Arg, out: &mut Vec<u8>) {
        let lock_now = self.sim_lock();
        let (pin, puk) = {
            let state = lock(&self.state);
            (state.pin_left, state.puk_left)
        };
        let lines = match (name, arg) {
            ("+SPIC", Arg::None) => vec![format!("+SPIC: {pin},{puk},{PIN_TRIES},{PUK_TRIES}")],
            ("^CPIN", Arg::Query) => {
                let (code, times) = match lock_now {
                    SimLock::Ready => ("READY", String::new()),
                    SimLock::Pin => ("SIM PIN", pin.to_string()),
                    SimLock::Puk | SimLock::Blocked => ("SIM PUK", puk.to_string()),
                };
                vec![format!(
                    "^CPIN: {code},{times},{puk},{pin},{PUK_TRIES},{PIN_TRIES}"
                )]
            }
            ("+QPINC", Arg::Set(facility)) if facility.trim() == "\"SC\"" => {
                vec![format!("+QPINC: \"SC\",{pin},{puk}")]
            }
            ("+QPINC", Arg::Set(facility)) if facility.trim() == "\"P2\"" => {
                vec![format!("+QPINC: \"P2\",{PIN_TRIES},{PUK_TRIES}")]
            }
            ("+QPINC", Arg::Query) => vec![
                format!("+QPINC: \"SC\",{pin},{puk}"),
                format!("+QPINC: \"P2\",{PIN_TRIES},{PUK_TRIES}"),
            ],
            _ => return self.cme(out, 3),
        };
        for line in lines {
            self.info(out, &line);
        }
        self.ok(out)
    }

    /// `AT+CPIN=<pin>` or, once the SIM wants its PUK, `AT+CPIN=<puk>,<new pin>`.
    fn enter_pin(&mut self, out: &mut Vec<u8>, arg_raw: &str) {
        let mut parts = arg_raw.split(',').map(|p| p.trim().trim_matches('"'));
        let given = parts.next().unwrap_or("").to_string();
        let new_pin = parts.next().map(str::to_string);
        let lock_now = self.sim_lock();
        let mut state = lock(&self.state);
        state.pin_attempts += 1;
        match lock_now {
            SimLock::Ready => {
                drop(state);
                self.cme(out, 3)
            }
            SimLock::Blocked => {
                drop(state);
                self.cme(out, 13)
            }
            SimLock::Pin if state.pin.as_deref() == Some(given.as_str()) => {
                state.pin_left = PIN_TRIES;
                drop(state);
                self.settings.pin_ok = true;
                self.ok(out)
            }
            SimLock::Pin => {
                state.pin_left -= 1;
                drop(state);
                self.cme(out, 16)
            }
            SimLock::Puk => match new_pin {
                // The PIN alone does not help any more: the SIM wants its PUK.
                None => {
                    drop(state);
                    self.cme(out, 12)
                }
                Some(new_pin) if given == state.puk => {
                    state.pin = Some(new_pin);
                    state.pin_left = PIN_TRIES;
                    state.puk_left = PUK_TRIES;
                    drop(state);
                    self.settings.pin_ok = true;
                    self.ok(out)
                }
                Some(_) => {
                    state.puk_left -= 1;
                    drop(state);
                    self.cme(out, 16)
                }
            },
        }
    }

    fn info(&self, out: &mut Vec<u8>, line: &str) {
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }

    fn ok(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\r\nOK\r\n");
    }

    /// Plain `ERROR`, or `+CME ERROR` with `code` when extended errors are on.
    fn error(&self, out: &mut Vec<u8>, code: Option<u16>) {
        match code {
            Some(code) if self.settings.cmee > 0 => self.cme(out, code),
            _ => out.extend_from_slice(b"\r\nERROR\r\n"),
        }
    }

    fn cme(&self, out: &mut Vec<u8>, code: u16) {
        self.extended(out, ErrorFamily::Cme, code);
    }

    fn cms(&self, out: &mut Vec<u8>, code: u16) {
        self.extended(out, ErrorFamily::Cms, code);
    }

    fn extended(&self, out: &mut Vec<u8>, family: ErrorFamily, code: u16) {
        lock(&self.state).errors_sent += 1;
        let prefix = match family {
            ErrorFamily::Cme => "+CME ERROR",
            ErrorFamily::Cms => "+CMS ERROR",
        };
        let line = match (self.settings.cmee, standard_text(family, code)) {
            (0, _) if family == ErrorFamily::Cme => "ERROR".to_string(),
            (2, Some(text)) => format!("{prefix}: {text}"),
            _ => format!("{prefix}: {code}"),
        };
        self.info(out, &line);
    }
}

/// The 0–5 signal indicator (`+CIND` "signal") for an `AT+CSQ` `<rssi>`: about 6 steps apart.
fn signal_level(rssi: u8) -> u8 {
    match rssi {
        99 => 0,
        r => (r / 6).min(5),
    }
}

/// A `+CDS` URC for a status report PDU (direct delivery format).
pub(crate) fn cds_urc(pdu: &[u8]) -> Vec<u8> {
    format!(
        "\r\n+CDS: {}\r\n{}\r\n",
        tpdu_len(pdu),
        hex::encode_upper(pdu)
    )
    .into_bytes()
}

/// A `+CMT` URC for a PDU (direct delivery format).
pub(crate) fn cmt_urc(pdu: &[u8]) -> Vec<u8> {
    format!(
        "\r\n+CMT: ,{}\r\n{}\r\n",
        tpdu_len(pdu),
        hex::encode_upper(pdu)
    )
    .into_bytes()
}

/// The length `AT+CMGR` reports: the TPDU without the SMSC field.
fn tpdu_len(pdu: &[u8]) -> usize {
    let smsc = pdu.first().copied().unwrap_or(0) as usize;
    pdu.len().saturating_sub(1 + smsc)
}

/// The SIM's lock, as `AT+CPIN?` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SimLock {
    Ready,
    Pin,
    Puk,
    /// Ten wrong PUKs: nothing but the operator helps.
    Blocked,
}

#[derive(Debug, PartialEq, Eq)]
enum Arg {
    None,
    Query,
    Test,
    Set(String),
}

/// `+CMGR=3` → (`+CMGR`, Set("3")); `+CPMS?` → Query; `+CNMI=?` → Test; `E0` → (`E0`, None).
fn split_command(body: &str) -> (&str, Arg) {
    if let Some(name) = body.strip_suffix("=?") {
        return (name, Arg::Test);
    }
    if let Some(name) = body.strip_suffix('?') {
        return (name, Arg::Query);
    }
    if let Some((name, value)) = body.split_once('=') {
        return (name, Arg::Set(value.to_string()));
    }
    (body, Arg::None)
}

fn is_sms_command(name: &str) -> bool {
    matches!(
        name,
        "+CMGF" | "+CPMS" | "+CNMI" | "+CMGR" | "+CMGL" | "+CMGD" | "+CMGS" | "+CSMS" | "+CNMA"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modem() -> (AtModem, Arc<Mutex<SimState>>) {
        let state = Arc::new(Mutex::new(SimState::new(3)));
        (AtModem::new(state.clone(), Personality::Generic), state)
    }

    fn run(m: &mut AtModem, input: &str) -> String {
        String::from_utf8(m.input(input.as_bytes())).unwrap()
    }

    #[test]
    fn echo_until_ate0() {
        let (mut m, _) = modem();
        assert_eq!(run(&mut m, "AT\r"), "AT\r\r\nOK\r\n");
        assert_eq!(run(&mut m, "ATE0\r"), "ATE0\r\r\nOK\r\n");
        assert_eq!(run(&mut m, "AT\r"), "\r\nOK\r\n");
    }

    #[test]
    fn read_list_delete_in_pdu_mode() {
        let (mut m, state) = modem();
        run(&mut m, "ATE0\rAT+CMEE=1\rAT+CMGF=0\r");
        let slot = lock(&state).store(vec![0x00, 0x04, 0x01]).unwrap();
        assert_eq!(slot, 1);
        assert_eq!(
            run(&mut m, "AT+CMGR=1\r"),
            "\r\n+CMGR: 0,,2\r\n000401\r\n\r\nOK\r\n"
        );
        assert_eq!(
            run(&mut m, "AT+CMGL=4\r"),
            "\r\n+CMGL: 1,1,,2\r\n000401\r\n\r\nOK\r\n"
        );
        assert_eq!(run(&mut m, "AT+CMGD=1\r"), "\r\nOK\r\n");
        assert_eq!(run(&mut m, "AT+CMGR=1\r"), "\r\n+CMS ERROR: 321\r\n");
        run(&mut m, "AT+CMEE=2\r");
        assert_eq!(
            run(&mut m, "AT+CMGR=1\r"),
            "\r\n+CMS ERROR: invalid memory index\r\n"
        );
    }

    #[test]
    fn send_with_prompt_and_ctrl_z() {
        let (mut m, state) = modem();
        run(&mut m, "ATE0\rAT+CMGF=0\r");
        assert_eq!(run(&mut m, "AT+CMGS=3\r"), "\r\n> ");
        assert_eq!(run(&mut m, "00010203\x1a"), "\r\n+CMGS: 1\r\n\r\nOK\r\n");
        assert_eq!(lock(&state).sent, vec![vec![0, 1, 2, 3]]);
    }

    #[test]
    fn cnmi_decides_the_urc() {
        let (mut m, state) = modem();
        let slot = lock(&state).store(vec![0, 1]).unwrap();
        assert_eq!(m.notify(slot), (Vec::new(), None));
        run(&mut m, "AT+CNMI=2,1,0,0,0\r");
        assert_eq!(m.notify(slot), (b"\r\n+CMTI: \"SM\",1\r\n".to_vec(), None));
        run(&mut m, "AT+CNMI=2,2,0,0,0\r");
        assert!(m.routes_directly());
        assert_eq!(m.notify(slot), (Vec::new(), Some(vec![0, 1])));
        assert_eq!(cmt_urc(&[0, 1]), b"\r\n+CMT: ,1\r\n0001\r\n".to_vec());
        assert!(lock(&state).slots.is_empty());
        for _ in 0..3 {
            assert!(lock(&state).store(vec![0]).is_some());
        }
        assert_eq!(lock(&state).store(vec![0]), None, "SIM full");
    }

    #[test]
    fn sms_commands_wait_for_pin_and_readiness() {
        let state = Arc::new(Mutex::new(SimState::new(3)));
        lock(&state).pin = Some("1234".into());
        let mut m = AtModem::new(state, Personality::Generic);
        run(&mut m, "ATE0\rAT+CMEE=1\r");
        assert_eq!(
            run(&mut m, "AT+CPIN?\r"),
            "\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n"
        );
        assert_eq!(run(&mut m, "AT+CMGF=0\r"), "\r\n+CMS ERROR: 311\r\n");
        assert_eq!(run(&mut m, "AT+CPIN=\"0000\"\r"), "\r\n+CME ERROR: 16\r\n");
        assert_eq!(run(&mut m, "AT+CPIN=\"1234\"\r"), "\r\nOK\r\n");
        m.ready = false;
        assert_eq!(run(&mut m, "AT+CMGF=0\r"), "\r\n+CMS ERROR: 302\r\n");
        m.ready = true;
        assert_eq!(run(&mut m, "AT+CMGF=0\r"), "\r\nOK\r\n");
    }

    #[test]
    fn each_personality_tells_the_tries_left_its_own_way() {
        let locked = |personality| {
            let state = Arc::new(Mutex::new(SimState::new(3)));
            lock(&state).pin = Some("1234".into());
            let mut m = AtModem::new(state, personality);
            run(&mut m, "ATE0\rAT+CMEE=1\r");
            assert_eq!(run(&mut m, "AT+CPIN=\"0000\"\r"), "\r\n+CME ERROR: 16\r\n");
            m
        };
        let mut m = locked(Personality::Sim800l);
        assert_eq!(
            run(&mut m, "AT+SPIC\r"),
            "\r\n+SPIC: 2,10,3,10\r\n\r\nOK\r\n"
        );
        assert_eq!(run(&mut m, "AT+CPINR\r"), "\r\n+CME ERROR: 4\r\n");
        let mut m = locked(Personality::HuaweiE3372);
        assert_eq!(
            run(&mut m, "AT^CPIN?\r"),
            "\r\n^CPIN: SIM PIN,2,10,2,10,3\r\n\r\nOK\r\n"
        );
        assert_eq!(run(&mut m, "AT+SPIC\r"), "\r\n+CME ERROR: 4\r\n");
        let mut m = locked(Personality::Ec25);
        assert_eq!(
            run(&mut m, "AT+QPINC=\"SC\"\r"),
            "\r\n+QPINC: \"SC\",2,10\r\n\r\nOK\r\n"
        );
        assert_eq!(
            run(&mut m, "AT+QPINC?\r"),
            "\r\n+QPINC: \"SC\",2,10\r\n\r\n+QPINC: \"P2\",3,10\r\n\r\nOK\r\n"
        );
        assert_eq!(run(&mut m, "AT+QPINC=\"XX\"\r"), "\r\n+CME ERROR: 3\r\n");
        let mut m = locked(Personality::Sim7600);
        assert!(run(&mut m, "AT+SPIC\r").contains("+SPIC: 2,10,3,10"));
        assert!(run(&mut m, "AT+CPINR\r").contains("+CPINR: SIM PIN,2,3"));
        // Once the SIM wants its PUK, Huawei names it and counts PUK tries.
        let mut m = locked(Personality::HuaweiE3372);
        run(&mut m, "AT+CPIN=\"0000\"\rAT+CPIN=\"0000\"\r");
        assert_eq!(
            run(&mut m, "AT^CPIN?\r"),
            "\r\n^CPIN: SIM PUK,10,10,0,10,3\r\n\r\nOK\r\n"
        );
    }

    #[test]
    fn three_wrong_pins_want_the_puk_and_ten_wrong_puks_block() {
        let state = Arc::new(Mutex::new(SimState::new(3)));
        lock(&state).pin = Some("1234".into());
        let mut m = AtModem::new(state.clone(), Personality::Generic);
        run(&mut m, "ATE0\rAT+CMEE=1\r");
        assert_eq!(
            run(&mut m, "AT+CPINR\r"),
            "\r\n+CPINR: SIM PIN,3,3\r\n\r\n+CPINR: SIM PUK,10,10\r\n\r\nOK\r\n"
        );
        for left in [2, 1] {
            assert_eq!(run(&mut m, "AT+CPIN=\"0000\"\r"), "\r\n+CME ERROR: 16\r\n");
            assert_eq!(
                run(&mut m, "AT+CPINR=\"SIM PIN\"\r"),
                format!("\r\n+CPINR: SIM PIN,{left},3\r\n\r\n+CPINR: SIM PUK,10,10\r\n\r\nOK\r\n")
            );
        }
        assert_eq!(run(&mut m, "AT+CPIN=\"0000\"\r"), "\r\n+CME ERROR: 16\r\n");
        assert_eq!(
            run(&mut m, "AT+CPIN?\r"),
            "\r\n+CPIN: SIM PUK\r\n\r\nOK\r\n"
        );
        // The right PIN is no use now, and does not count against the PUK.
        assert_eq!(run(&mut m, "AT+CPIN=\"1234\"\r"), "\r\n+CME ERROR: 12\r\n");
        assert_eq!(run(&mut m, "AT+CMGF=0\r"), "\r\n+CMS ERROR: 311\r\n");
        assert_eq!(
            run(&mut m, "AT+CPIN=\"11111111\",\"4321\"\r"),
            "\r\n+CME ERROR: 16\r\n"
        );
        assert_eq!(lock(&state).puk_left, 9);
        assert_eq!(run(&mut m, "AT+CPIN=\"12345678\",\"4321\"\r"), "\r\nOK\r\n");
        assert_eq!(run(&mut m, "AT+CPIN?\r"), "\r\n+CPIN: READY\r\n\r\nOK\r\n");
        assert_eq!(lock(&state).pin.as_deref(), Some("4321"));
        let counters = {
            let sim = lock(&state);
            (sim.pin_left, sim.puk_left)
        };
        assert_eq!(counters, (3, 10));
        assert_eq!(run(&mut m, "AT+CPIN=\"4321\"\r"), "\r\n+CME ERROR: 3\r\n");

        // A replugged modem asks for the new PIN again; ten wrong PUKs block the SIM for good.
        let mut m = AtModem::new(state.clone(), Personality::Generic);
        run(&mut m, "ATE0\rAT+CMEE=1\r");
        assert_eq!(
            run(&mut m, "AT+CPIN?\r"),
            "\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n"
        );
        for _ in 0..3 {
            run(&mut m, "AT+CPIN=\"1234\"\r");
        }
        for _ in 0..10 {
            assert_eq!(
                run(&mut m, "AT+CPIN=\"00000000\",\"1\"\r"),
                "\r\n+CME ERROR: 16\r\n"
            );
        }
        assert_eq!(run(&mut m, "AT+CPIN?\r"), "\r\n+CME ERROR: 13\r\n");
        assert_eq!(
            run(&mut m, "AT+CPIN=\"12345678\",\"1\"\r"),
            "\r\n+CME ERROR: 13\r\n"
        );
    }

    #[test]
    fn registration_and_signal_reports_per_family() {
        let (mut m, state) = modem();
        run(&mut m, "ATE0\r");
        assert_eq!(run(&mut m, "AT+CREG?\r"), "\r\n+CREG: 0,1\r\n\r\nOK\r\n");
        assert!(m.registration_urcs().is_empty(), "reports off by default");
        run(&mut m, "AT+CREG=2\rAT+CEREG=1\r");
        lock(&state).registration = 5;
        assert_eq!(
            String::from_utf8(m.registration_urcs()).unwrap(),
            "\r\n+CREG: 5,\"1A2B\",\"01C2D3E4\",7\r\n\r\n+CEREG: 5\r\n"
        );
        assert!(m.signal_urcs().is_empty());
        assert!(run(&mut m, "AT+CIND=?\r").contains("\"signal\""));
        run(&mut m, "AT+CMER=3,0,0,1\r");
        lock(&state).rssi = 31;
        assert_eq!(m.signal_urcs(), b"\r\n+CIEV: 2,5\r\n".to_vec());
        assert_eq!(run(&mut m, "AT+CSQ\r"), "\r\n+CSQ: 31,99\r\n\r\nOK\r\n");

        let mut sim800 = AtModem::new(state.clone(), Personality::Sim800l);
        run(&mut sim800, "ATE0\r");
        assert!(run(&mut sim800, "AT+CIND=?\r").contains("ERROR"));
        run(&mut sim800, "AT+EXUNSOL=\"SQ\",1\r");
        assert_eq!(sim800.signal_urcs(), b"\r\n+CSQN: 31,0\r\n".to_vec());
    }

    #[test]
    fn refusals_and_the_command_log() {
        let (mut m, state) = modem();
        m.refuse_phase2 = true;
        run(&mut m, "ATE0\rAT+CMEE=1\r");
        assert_eq!(run(&mut m, "AT+CSMS=1\r"), "\r\n+CMS ERROR: 303\r\n");
        assert_eq!(run(&mut m, "AT+CSMS=0\r"), "\r\n+CSMS: 1,1,1\r\n\r\nOK\r\n");
        m.refuse_phase2 = false;
        m.refuse_cnma = true;
        run(&mut m, "AT+CSMS=1\r");
        lock(&state).awaiting_ack = true;
        assert_eq!(run(&mut m, "AT+CNMA\r"), "\r\n+CMS ERROR: 303\r\n");
        let log: Vec<String> = lock(&state).log.iter().map(|l| l.command.clone()).collect();
        assert_eq!(
            log,
            [
                "ATE0",
                "AT+CMEE=1",
                "AT+CSMS=1",
                "AT+CSMS=0",
                "AT+CSMS=1",
                "AT+CNMA"
            ]
        );
    }
}
