//! Start-up of a session: sync, echo off, extended errors, identity, PIN, readiness, PDU mode,
//! storage, how new messages arrive (direct with acknowledgement, or stored and announced), and
//! which status the modem reports on its own.

use std::time::Duration;

use tokio::time::Instant;

use super::{optional, Driver};
use crate::answers::{parse_csms_phase2, parse_csms_set, parse_iccid, parse_imei, parse_plain};
use crate::channel::AtChannel;
use crate::config::{family_of, urc_route, Family, PortKind};
use crate::errors::{ErrorFamily, ModemError};
use crate::handle::Identity;
use crate::negotiate::{choose_storage, cnmi_candidates, cnmi_command, parse_groups, Route};
use crate::pin_counters::{counters_for, Code};

impl Driver {
    pub(super) async fn init(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        // A modem left waiting for a PDU after `AT+CMGS` (we crashed mid-send) would take our
        // commands as message text: ESC cancels that, and is ignored in command mode.
        at.write_raw(&[0x1B]).await?;
        // Answers to a previous program's commands may still sit in the port's buffer; each
        // would be taken for the answer to one of ours and put every later answer out of step.
        at.resync();
        // Auto-bauding modems (SIM800L) need a few `AT`s to lock onto the baud rate.
        let mut synced = false;
        for _ in 0..10 {
            self.serve_during_init()?;
            match at
                .command("AT", self.config.timeouts.quick.min(Duration::from_secs(1)))
                .await
            {
                Ok(_) => {
                    synced = true;
                    break;
                }
                Err(e) if e.is_link_lost() => return Err(e),
                Err(_) => {}
            }
        }
        if !synced {
            return Err(ModemError::Protocol {
                command: "AT".into(),
                detail: "no OK after 10 tries: is this a modem, and is the baud rate right?".into(),
            });
        }
        at.command("ATE0", self.config.timeouts.quick).await?;
        optional(at.command("AT+CMEE=2", self.config.timeouts.quick).await)?;
        // Huawei sticks print ^RSSI/^MODE/^BOOT unless told not to; other modems answer ERROR.
        optional(at.command("AT^CURC=0", self.config.timeouts.quick).await)?;
        // Before anything can be reported: every message carries the modem's id.
        self.identify(at).await?;
        // A multi-port modem prints unsolicited codes on one of its ports: this one.
        if let Some(route) = self
            .family
            .and_then(|f| urc_route(f, PortKind::of(&self.config.port)))
        {
            optional(at.command(route, self.config.timeouts.quick).await)?;
        }
        self.unlock_sim(at).await?;
        if self.status.imei.is_none() && self.status.iccid.is_none() {
            // Some modems read the SIM only once it is unlocked.
            self.status.iccid = self.read_iccid(at).await?;
            // With neither, the id stays what it is (the port path on a first start-up).
            self.identify_by_what_is_known(true);
        }
        self.wait_ready(at).await?;
        self.select_storage(at).await?;
        self.choose_route(at).await?;
        self.select_indications(at).await?;
        self.enable_status_reports(at).await?;
        self.enable_caller_id(at).await?;
        self.refresh_status(at).await?;
        Ok(())
    }

    /// Reads the model, manufacturer, IMEI and ICCID, and settles the modem's id on them.
    async fn identify(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        if let Some(lines) = optional(at.command("AT+CGMM", self.config.timeouts.quick).await)? {
            self.status.model = parse_plain(&lines, "+CGMM:");
        }
        if let Some(lines) = optional(at.command("AT+CGMI", self.config.timeouts.quick).await)? {
            self.status.manufacturer = parse_plain(&lines, "+CGMI:");
        }
        if self.status.model.is_some() || self.status.manufacturer.is_some() {
            self.family = Some(family_of(
                self.status.manufacturer.as_deref(),
                self.status.model.as_deref(),
            ));
        }
        at.set_guard(self.guard());
        let imei = optional(at.command("AT+CGSN", self.config.timeouts.quick).await)?
            .and_then(|lines| parse_imei(&lines));
        if let (Some(old), Some(new)) = (&self.status.imei, &imei) {
            if old != new {
                // Not fatal (a swapped modem still receives, under its own id), but the user
                // should know.
                tracing::warn!(modem = %self.status.id, %old, %new, "a different modem is on this port");
                self.warning = Some(format!(
                    "a different modem (IMEI {new}, was {old}) is now on {}",
                    self.status.port
                ));
            }
        }
        if imei.is_some() {
            self.status.imei = imei;
        }
        self.status.iccid = self.read_iccid(at).await?;
        // Knowing neither, wait for the unlocked SIM's ICCID before settling.
        self.identify_by_what_is_known(false);
        Ok(())
    }

    /// Settles the id on the IMEI, else the ICCID; with neither, and if `last_chance`, keeps the
    /// id it has (the port path on a first start-up).
    fn identify_by_what_is_known(&mut self, last_chance: bool) {
        if self.config.id.is_some() {
            return;
        }
        let learned = match (&self.status.imei, &self.status.iccid) {
            (Some(imei), _) => Some(format!("imei:{imei}")),
            (None, Some(iccid)) => Some(format!("iccid:{iccid}")),
            (None, None) if last_chance => None,
            (None, None) => return,
        };
        self.settle(learned);
    }

    /// The SIM's ICCID, with the command this modem family knows first, then the others.
    async fn read_iccid(&mut self, at: &mut AtChannel) -> Result<Option<String>, ModemError> {
        let first = match self.family {
            Some(Family::Quectel) => "AT+QCCID",
            Some(Family::Huawei) => "AT^ICCID?",
            Some(Family::SimcomLte) => "AT+CICCID",
            Some(Family::Telit) => "AT#CCID",
            _ => "AT+CCID",
        };
        let mut commands = vec![first];
        commands.extend(
            ["AT+CCID", "AT+QCCID", "AT+CICCID", "AT^ICCID?", "AT#CCID"]
                .into_iter()
                .filter(|c| *c != first),
        );
        for command in commands {
            if let Some(lines) = optional(at.command(command, self.config.timeouts.quick).await)? {
                if let Some(iccid) = parse_iccid(&lines) {
                    return Ok(Some(iccid));
                }
            }
        }
        Ok(None)
    }

    /// Makes `learned` (or, with `None`, the id it has) the modem's id for this run, tells the
    /// handles, and lets the held-back status out.
    pub(super) fn settle(&mut self, learned: Option<String>) {
        if let Some(id) = learned.filter(|id| *id != self.status.id) {
            tracing::info!(modem = %self.status.id, %id, "modem identified");
            self.status.id = id;
            // Slots handed on under the old id must be handed on again under the new one.
            self.in_flight.clear();
        } else if self.settled {
            return;
        }
        self.settled = true;
        self.identity.send_replace(Identity {
            id: self.status.id.as_str().into(),
            settled: true,
        });
        self.publish_status();
    }

    /// Enters the PIN if the SIM asks: the one the user just gave, else the configured one. A
    /// rejected PIN is never retried (the SIM locks after three): the start-up stops and the
    /// driver waits for the user ([`End::Locked`](super::End)), as it does when there is no PIN.
    async fn unlock_sim(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        let entered = self.entered_pin.take();
        let lines = match at.command("AT+CPIN?", self.config.timeouts.slot).await {
            Ok(lines) => lines,
            Err(e) if e.at_error().is_some_and(|a| a.needs_user()) => {
                if let Some((_, reply)) = entered {
                    let _ =
                        reply.send(Err(ModemError::Pin(format!("the SIM is not usable ({e})"))));
                }
                return Err(ModemError::Pin(format!(
                    "the SIM is not usable ({e}); check the SIM card"
                )));
            }
            // Some modems do not implement AT+CPIN?; the SMS commands will tell.
            Err(e) if !e.is_link_lost() => return Ok(()),
            Err(e) => {
                // The user's PIN was not tried: it is tried after the reconnect.
                self.entered_pin = entered;
                return Err(e);
            }
        };
        let status = lines
            .iter()
            .find_map(|l| l.strip_prefix("+CPIN:"))
            .map(|s| s.trim().to_ascii_uppercase())
            .unwrap_or_else(|| "READY".into());
        match status.as_str() {
            "READY" => {
                if let Some((_, reply)) = entered {
                    let _ = reply.send(Err(ModemError::Pin(
                        "the SIM does not ask for a PIN now".into(),
                    )));
                }
                self.status.pin_attempts_left = None;
                Ok(())
            }
            "SIM PIN" => {
                let (pin, reply) = match (entered, self.config.pin.clone()) {
                    (Some((pin, reply)), _) => (pin, Some(reply)),
                    (None, Some(pin)) => (pin, None),
                    (None, None) => {
                        let reason = format!(
                            "the SIM needs its PIN: enter it in the Modems screen, or put it in \
                             the configuration file as [modem_pins] {:?} = \"<PIN>\"",
                            self.config.port
                        );
                        return self.wait_for_user(at, false, reason).await;
                    }
                };
                match at
                    .command(&format!("AT+CPIN=\"{pin}\""), self.config.timeouts.slot)
                    .await
                {
                    Ok(_) => {
                        // Reconnects in this run need it again (a replug powers the SIM down).
                        self.config.pin = Some(pin);
                        // What the status said about the locked SIM is over: shown at once, not only
                        // once the start-up is done (the answer to the user's PIN reads it).
                        self.status.pin_attempts_left = None;
                        self.status.last_error = None;
                        self.publish_status();
                        if let Some(reply) = reply {
                            let _ = reply.send(Ok(()));
                        }
                        Ok(())
                    }
                    Err(e) if e.is_link_lost() => {
                        if let Some(reply) = reply {
                            let _ = reply.send(Err(ModemError::Disconnected));
                        }
                        Err(e)
                    }
                    Err(e) => {
                        // Never again on its own: each try costs one of the SIM's three.
                        self.config.pin = None;
                        let puk = e
                            .at_error()
                            .is_some_and(|a| a.family == ErrorFamily::Cme && a.code == Some(12));
                        let left = self.pin_retries(at, puk).await;
                        let puk = puk || left == Some(0);
                        let reason = match reply {
                            Some(reply) => {
                                let _ = reply.send(Err(ModemError::PinRejected {
                                    attempts_left: left,
                                }));
                                ModemError::PinRejected {
                                    attempts_left: left,
                                }
                                .to_string()
                            }
                            None => format!(
                                "the SIM rejected the configured PIN ({e}); it is not tried \
                                 again, so the SIM does not lock: enter the right PIN in the \
                                 Modems screen, or fix [modem_pins] {:?} in the configuration file",
                                self.config.port
                            ),
                        };
                        let reason = if puk {
                            super::PUK_EXPLAINED.to_string()
                        } else {
                            reason
                        };
                        self.wait_for_user(at, puk, reason).await
                    }
                }
            }
            "SIM PUK" => {
                if let Some((_, reply)) = entered {
                    let _ = reply.send(Err(ModemError::Pin(super::PUK_EXPLAINED.into())));
                }
                self.wait_for_user(at, true, super::PUK_EXPLAINED.into())
                    .await
            }
            other => {
                if let Some((_, reply)) = entered {
                    let _ = reply.send(Err(ModemError::Pin(format!("the SIM reports {other}"))));
                }
                Err(ModemError::Pin(format!(
                    "the SIM reports {other}; unlock it in a phone, then restart"
                )))
            }
        }
    }

    /// Stops the start-up at a locked SIM: the status tells the tries left, the driver waits for
    /// the user's PIN (or, for a PUK, for the SIM to be unblocked elsewhere).
    async fn wait_for_user(
        &mut self,
        at: &mut AtChannel,
        puk: bool,
        reason: String,
    ) -> Result<(), ModemError> {
        self.status.pin_attempts_left = self.pin_retries(at, puk).await;
        self.sim_wait = Some(puk);
        Err(ModemError::Pin(reason))
    }

    /// The wrong PINs (or PUKs) the SIM still takes, where the modem tells: its family's own
    /// command first, then `AT+CPINR` (see [`crate::pin_counters`]). A command the modem refuses
    /// or answers oddly only means the count is not shown.
    async fn pin_retries(&mut self, at: &mut AtChannel, puk: bool) -> Option<u8> {
        let code = if puk { Code::Puk } else { Code::Pin };
        for counter in counters_for(self.family) {
            match at
                .command(counter.command(), self.config.timeouts.quick)
                .await
            {
                Ok(lines) => {
                    if let Some(left) = counter.parse(&lines, code) {
                        return Some(left);
                    }
                }
                Err(e) if e.is_link_lost() => return None,
                Err(_) => {}
            }
        }
        None
    }

    /// Reads, deletes and receives in one storage, so `+CMTI` slots are the slots `AT+CMGR` reads.
    async fn select_storage(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        let offered =
            optional(at.command("AT+CPMS=?", self.config.timeouts.slot).await)?.unwrap_or_default();
        let mem = choose_storage(&offered);
        // Status reports some modems keep apart (`+CDSI: "SR",<n>`): offered for reading.
        self.report_storage = offered
            .iter()
            .find_map(|l| l.strip_prefix("+CPMS:"))
            .and_then(|answer| parse_groups(answer).into_iter().next())
            .and_then(|readable| readable.into_iter().find(|m| m.eq_ignore_ascii_case("SR")))
            .filter(|sr| !sr.eq_ignore_ascii_case(mem));
        let command = format!("AT+CPMS=\"{mem}\",\"{mem}\",\"{mem}\"");
        match at.command(&command, self.config.timeouts.slot).await {
            Ok(lines) => {
                self.storage = mem.to_string();
                self.storages_chosen(&offered);
                self.note_usage(mem, &lines);
            }
            Err(e) if e.is_link_lost() => return Err(e),
            // Keep the modem's default storage: still readable, and the sweep lists it.
            Err(e) => {
                self.storages_chosen(&[]);
                self.note_error(&e)
            }
        }
        Ok(())
    }

    /// Enters phase 2+ (`AT+CSMS=1`), where direct deliveries are acknowledged after the commit,
    /// and chooses the direct route if the modem takes it for received messages; else the
    /// stored route, in phase 2 where the modem allows it (nothing then waits for `AT+CNMA`; a
    /// modem kept in phase 2+ anyway still gets its `+CDS` reports acknowledged).
    async fn choose_route(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        let mut direct = false;
        if !self.direct_refused {
            match at.command("AT+CSMS=1", self.config.timeouts.quick).await {
                // `+CSMS: <mt>,<mo>,<bm>`: <mt> 1 = received messages can be acknowledged.
                Ok(lines) => direct = parse_csms_set(&lines).unwrap_or(true),
                Err(e) if e.is_link_lost() => return Err(e),
                Err(e) => {
                    tracing::info!(modem = %self.status.id, %e, "no phase 2+: messages are stored and read (+CMTI)");
                }
            }
        }
        if !direct {
            optional(at.command("AT+CSMS=0", self.config.timeouts.quick).await)?;
        }
        self.phase2 = match optional(at.command("AT+CSMS?", self.config.timeouts.quick).await)? {
            Some(lines) => parse_csms_phase2(&lines).unwrap_or(false),
            None => false,
        };
        self.route = if direct && self.phase2 {
            Route::Direct
        } else {
            Route::Stored
        };
        Ok(())
    }

    /// Back to phase 2 (`AT+CSMS=0`), where nothing waits for `AT+CNMA`; a modem that knows no
    /// phases is fine as it is.
    pub(super) async fn leave_phase2(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        optional(at.command("AT+CSMS=0", self.config.timeouts.quick).await)?;
        if let Some(lines) = optional(at.command("AT+CSMS?", self.config.timeouts.quick).await)? {
            self.phase2 = parse_csms_phase2(&lines).unwrap_or(false);
        }
        self.route = Route::Stored;
        Ok(())
    }

    /// Asks for new messages on the session's route, with the best `AT+CNMI` setting the modem
    /// accepts; a modem that takes no direct setting gets the stored route.
    pub(super) async fn select_indications(
        &mut self,
        at: &mut AtChannel,
    ) -> Result<(), ModemError> {
        let offered = optional(at.command("AT+CNMI=?", self.config.timeouts.quick).await)?
            .unwrap_or_default();
        let mut last = None;
        let routes: &[Route] = match self.route {
            Route::Direct => &[Route::Direct, Route::Stored],
            Route::Stored => &[Route::Stored],
        };
        for &route in routes {
            for candidate in cnmi_candidates(&offered, route) {
                match at
                    .command(&cnmi_command(&candidate), self.config.timeouts.quick)
                    .await
                {
                    Ok(_) => {
                        if route != self.route {
                            tracing::info!(modem = %self.status.id, "no direct delivery setting accepted; messages are stored and read (+CMTI)");
                            self.route = route;
                        }
                        tracing::debug!(modem = %self.status.id, route = ?self.route, "new message route");
                        return Ok(());
                    }
                    Err(e) if e.is_link_lost() => return Err(e),
                    Err(e) => last = Some(e),
                }
            }
        }
        // No URCs: messages still arrive, through the safety sweep only.
        if let Some(e) = last {
            self.note_error(&e);
        }
        Ok(())
    }

    /// Switches to PDU mode, retrying while the modem says it is not ready yet (SIM800L answers
    /// SMS commands with errors until `SMS Ready`).
    async fn wait_ready(&mut self, at: &mut AtChannel) -> Result<(), ModemError> {
        let ready = self.config.timeouts.ready;
        let give_up = Instant::now() + ready;
        loop {
            self.serve_during_init()?;
            match at.command("AT+CMGF=0", self.config.timeouts.quick).await {
                Ok(_) => return Ok(()),
                Err(e) if e.is_link_lost() => return Err(e),
                Err(e) if Instant::now() >= give_up => {
                    return Err(ModemError::Protocol {
                        command: "AT+CMGF=0".into(),
                        detail: format!("SMS not ready after {} s: {e}", ready.as_secs()),
                    })
                }
                Err(e) => {
                    tracing::debug!(modem = %self.status.id, %e, "SMS not ready yet");
                    self.status.last_error = Some(format!("waiting for SMS readiness: {e}"));
                    self.publish_status();
                    // Retry in a second, or as soon as the modem says `SMS Ready`.
                    at.wait_ready_urc(Duration::from_secs(1)).await?;
                }
            }
        }
    }
}
