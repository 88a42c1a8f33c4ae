//! The first-run wizard: shown on the Live screen when the server has no modem at all (and the user has not
//! dismissed it), in the desktop window and in LAN browsers alike. Step 1 lists the serial ports with what probing found, step 2
//! tests the chosen one, step 3 says it is done; the demo modem is one click away throughout.
//!
//! Also the pure logic the Modems screen's "Add a modem" panel shares: how a probe result reads. Port names,
//! model strings and info lines come from devices and the OS: they are only ever inserted as text.

use leptos::html;
use leptos::prelude::*;
use simrelay_protocol::{PortErrorKind, PortReport};

use crate::api;
use crate::state::{AppState, Screen};
use crate::views::ports::{PortPicker, PortResult};

/// Local-storage key remembering that the user closed the wizard.
const DISMISSED_KEY: &str = "simrelay.wizard_dismissed";

/// How a probe result looks: good (a modem), neutral (nothing to fix), bad (something to fix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// It answers like a modem.
    Good,
    /// In use, not probed, or silent.
    Neutral,
    /// It could not be opened.
    Bad,
}

impl Tone {
    /// CSS class of the verdict line.
    pub fn class(self) -> &'static str {
        match self {
            Tone::Good => "port-verdict verdict-good",
            Tone::Neutral => "port-verdict verdict-neutral",
            Tone::Bad => "port-verdict verdict-bad",
        }
    }
}

/// A probe result in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// One line: "Modem · SIMCOM_SIM800L", "No permission to open it", ...
    pub title: String,
    /// What to do about it (the server's hint), if anything.
    pub hint: Option<String>,
    /// Good, neutral or bad.
    pub tone: Tone,
}

/// Reads a probe result for the user.
pub fn verdict(report: &PortReport) -> Verdict {
    if let Some(id) = &report.in_use_by {
        return Verdict {
            title: format!("In use by the modem {id}"),
            hint: None,
            tone: Tone::Neutral,
        };
    }
    if !report.probed {
        return Verdict {
            title: "Not probed yet".into(),
            hint: None,
            tone: Tone::Neutral,
        };
    }
    if report.error.is_some() || report.error_kind.is_some() {
        let title = match report.error_kind {
            Some(PortErrorKind::PermissionDenied) => "No permission to open it",
            Some(PortErrorKind::Busy) => "Busy: another program has it open",
            Some(PortErrorKind::NotFound) => "No such device",
            Some(PortErrorKind::Other) | None => "Cannot open it",
        };
        return Verdict {
            title: title.into(),
            hint: report.hint.clone(),
            tone: Tone::Bad,
        };
    }
    if report.is_modem {
        let model = report
            .model
            .clone()
            .or_else(|| report.info.iter().find(|l| !l.trim().is_empty()).cloned())
            .unwrap_or_else(|| "model unknown".into());
        return Verdict {
            title: format!("Modem · {model}"),
            hint: None,
            tone: Tone::Good,
        };
    }
    Verdict {
        title: "No answer to AT: not a modem, or not the modem's AT port".into(),
        hint: report.hint.clone(),
        tone: Tone::Neutral,
    }
}

/// "Probing 3 ports…" while a scan runs; `None` while the ports are still being listed.
pub fn probing_label(ports: Option<usize>) -> String {
    match ports {
        None => "Looking for serial ports…".into(),
        Some(0) => "No serial ports found.".into(),
        Some(1) => "Probing 1 port…".into(),
        Some(n) => format!("Probing {n} ports…"),
    }
}

/// "Quectel EC25 · 2c7c:0125" for a USB port.
pub fn usb_label(report: &PortReport) -> Option<String> {
    let usb = report.usb.as_ref()?;
    let name = [usb.manufacturer.as_deref(), usb.product.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let ids = format!("{}:{}", usb.vid, usb.pid);
    Some(if name.is_empty() {
        format!("USB {ids}")
    } else {
        format!("{name} · USB {ids}")
    })
}

/// Modems first, then the rest, each by port name.
pub fn sort_ports(ports: &mut [PortReport]) {
    ports.sort_by(|a, b| b.is_modem.cmp(&a.is_modem).then(a.port.cmp(&b.port)));
}

/// Whether the wizard opens: the server has no modem, and the user did not close it before.
pub fn should_open(modem_count: usize, dismissed: bool) -> bool {
    modem_count == 0 && !dismissed
}

fn dismissed() -> bool {
    window()
        .local_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item(DISMISSED_KEY).ok().flatten())
        .is_some()
}

fn remember_dismissed() {
    // Private mode or full storage only means the wizard may show again next time.
    if let Ok(Some(storage)) = window().local_storage() {
        let _ = storage.set_item(DISMISSED_KEY, "1");
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Ports,
    Test,
    Done(String),
}

impl Step {
    fn number(&self) -> u8 {
        match self {
            Step::Ports => 1,
            Step::Test => 2,
            Step::Done(_) => 3,
        }
    }
}

/// The wizard; renders nothing unless the server has no modem and the user has not closed it.
#[component]
pub fn Wizard() -> impl IntoView {
    let app = expect_context::<AppState>();
    let open = RwSignal::new(false);
    let step = RwSignal::new(Step::Ports);
    let port = RwSignal::new(String::new());
    let result = RwSignal::new(None::<PortReport>);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let heading = NodeRef::<html::H2>::new();

    // Asked once: the WebSocket's hello may not have arrived yet, and an empty list before it means nothing.
    if !dismissed() {
        leptos::task::spawn_local(async move {
            let endpoint = app.endpoint.get_value();
            if let Ok(modems) = api::modems(&endpoint).await {
                if should_open(modems.len(), dismissed()) {
                    open.try_set(true);
                }
            }
        });
    }
    // Another client (or the Modems screen) added a modem before the user chose one: nothing left to do.
    Effect::new(move |_| {
        if step.get() == Step::Ports && !app.modems.with(Vec::is_empty) {
            open.set(false);
        }
    });
    // Each new step's heading takes the focus, so keyboard and screen-reader users land on it. Not when the
    // wizard first appears: it opens beside whatever the user is doing and must not pull the focus from there.
    Effect::new(move |shown: Option<Step>| {
        let now = step.get();
        if shown.as_ref().is_some_and(|s| *s != now) && open.get_untracked() {
            if let Some(h) = heading.get_untracked() {
                let _ = h.focus();
            }
        }
        now
    });

    let close = move || {
        remember_dismissed();
        open.set(false);
    };
    let test = move || {
        let path = port.get_untracked().trim().to_owned();
        if path.is_empty() {
            error.set(Some(
                "Choose a port from the list or type its path first.".into(),
            ));
            return;
        }
        error.set(None);
        result.set(None);
        busy.set(true);
        step.set(Step::Test);
        leptos::task::spawn_local(async move {
            let endpoint = app.endpoint.get_value();
            match api::probe_port(&endpoint, &path).await {
                Ok(report) => {
                    result.try_set(Some(report));
                }
                Err(e) => {
                    error.try_set(Some(e.to_string()));
                }
            }
            busy.try_set(false);
        });
    };
    let use_it = move |_| {
        let path = port.get_untracked().trim().to_owned();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let endpoint = app.endpoint.get_value();
            match api::add_modem(&endpoint, &path, None).await {
                Ok(modem) => {
                    app.upsert_modem(modem.clone());
                    let name = modem.model.clone().unwrap_or_else(|| path.clone());
                    step.try_set(Step::Done(format!(
                        "SimRelay now reads SMS from {name} ({}). New messages appear on Live.",
                        modem.id
                    )));
                }
                Err(e) => {
                    error.try_set(Some(e.to_string()));
                }
            }
            busy.try_set(false);
        });
    };
    let demo = move |_| {
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let endpoint = app.endpoint.get_value();
            match api::start_demo_modem(&endpoint).await {
                Ok(modem) => {
                    app.upsert_modem(modem);
                    step.try_set(Step::Done(
                        "The demo modem is running: a sample message arrives every few seconds on Live. \
                         Add a real modem any time on the Modems screen."
                            .into(),
                    ));
                }
                Err(e) => {
                    error.try_set(Some(e.to_string()));
                }
            }
            busy.try_set(false);
        });
    };
    let finish = move |_| {
        remember_dismissed();
        open.set(false);
        let _ = window().location().set_hash("#/live");
    };

    let body = move || {
        match step.get() {
        Step::Ports => view! {
            <p>"SimRelay has no modem yet. Pick the port your GSM modem is on; the list shows which ports answer like a modem."</p>
            <PortPicker
                port=port
                pick_label="Choose"
                input_id="wizard-port"
                input_label="Or type the port path"
                on_test=Callback::new(move |()| test())
                test_on_enter=true
            />
            <div class="actions">
                <button id="wizard-test" type="button" class="btn btn-primary" on:click=move |_| test()>
                    "Test"
                </button>
                <button id="wizard-demo" type="button" class="btn" disabled=move || busy.get() on:click=demo>
                    "Start the demo modem"
                </button>
            </div>
        }
        .into_any(),
        Step::Test => view! {
            <p>"Testing " <code>{move || port.get()}</code> " (AT, ATI and AT+CGMM only)."</p>
            <div class="probe-result" role="status" aria-live="polite">
                {move || match result.get() {
                    None if busy.get() => view! { <p class="muted">"Probing 1 port…"</p> }.into_any(),
                    None => ().into_any(),
                    Some(report) => view! { <PortResult report=report /> }.into_any(),
                }}
            </div>
            <div class="actions">
                <button
                    id="wizard-use"
                    type="button"
                    class="btn btn-primary"
                    disabled=move || busy.get() || !result.with(|r| r.as_ref().is_some_and(|r| r.is_modem))
                    on:click=use_it
                >
                    "Use this modem"
                </button>
                <button type="button" class="btn" on:click=move |_| { result.set(None); step.set(Step::Ports); }>
                    "Back"
                </button>
                <button type="button" class="btn" disabled=move || busy.get() on:click=demo>
                    "Start the demo modem"
                </button>
            </div>
        }
        .into_any(),
        Step::Done(text) => view! {
            <p id="wizard-done" role="status">{text}</p>
            <div class="actions">
                <button id="wizard-finish" type="button" class="btn btn-primary" on:click=finish>
                    "Go to Live"
                </button>
            </div>
        }
        .into_any(),
    }
    };

    view! {
        // On the Live screen, where a first run lands: the other screens stay as they are (Modems has its own
        // "Add a modem" panel).
        <Show when=move || open.get() && app.screen.get() == Screen::Live>
            <section id="wizard" class="card wizard" aria-labelledby="wizard-title">
                <header class="wizard-head">
                    <h2 id="wizard-title" tabindex="-1" node_ref=heading>
                        {move || match step.get() {
                            Step::Ports => "Set up your modem · 1 of 3: choose a port",
                            Step::Test => "Set up your modem · 2 of 3: test it",
                            Step::Done(_) => "Set up your modem · 3 of 3: done",
                        }}
                    </h2>
                    <button type="button" class="link-btn" on:click=move |_| close()>
                        "Skip for now"
                    </button>
                </header>
                <ol class="wizard-steps" aria-label="Steps">
                    {[(1u8, "Choose a port"), (2, "Test it"), (3, "Done")]
                        .into_iter()
                        .map(|(n, name)| {
                            view! {
                                <li
                                    class=move || if step.get().number() == n { "wizard-step current" } else { "wizard-step" }
                                    aria-current=move || (step.get().number() == n).then_some("step")
                                >
                                    {name}
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
                {body}
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            </section>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simrelay_protocol::UsbIdentity;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn report(port: &str) -> PortReport {
        PortReport {
            port: port.into(),
            usb: None,
            in_use_by: None,
            probed: true,
            is_modem: false,
            model: None,
            info: Vec::new(),
            error: None,
            error_kind: None,
            hint: None,
        }
    }

    #[wasm_bindgen_test]
    fn verdicts_name_the_model_or_the_problem() {
        let modem = PortReport {
            is_modem: true,
            model: Some("SIMCOM_SIM800L".into()),
            ..report("/dev/ttyUSB2")
        };
        let v = verdict(&modem);
        assert_eq!(
            (v.title.as_str(), v.tone),
            ("Modem · SIMCOM_SIM800L", Tone::Good)
        );
        // No model: the first ATI line stands in.
        let ati = PortReport {
            is_modem: true,
            info: vec!["".into(), "Quectel EC25".into()],
            ..report("/dev/ttyUSB2")
        };
        assert_eq!(verdict(&ati).title, "Modem · Quectel EC25");
        let denied = PortReport {
            error: Some("Permission denied".into()),
            error_kind: Some(PortErrorKind::PermissionDenied),
            hint: Some("sudo usermod -aG dialout $USER".into()),
            ..report("/dev/ttyUSB2")
        };
        let v = verdict(&denied);
        assert_eq!(v.title, "No permission to open it");
        assert_eq!(v.tone, Tone::Bad);
        assert_eq!(v.hint.as_deref(), Some("sudo usermod -aG dialout $USER"));
        let busy = PortReport {
            error_kind: Some(PortErrorKind::Busy),
            ..report("/dev/ttyUSB2")
        };
        assert!(verdict(&busy).title.starts_with("Busy"));
        let used = PortReport {
            in_use_by: Some("imei:1".into()),
            probed: false,
            ..report("/dev/ttyUSB2")
        };
        assert_eq!(verdict(&used).title, "In use by the modem imei:1");
        assert_eq!(verdict(&report("/dev/ttyS0")).tone, Tone::Neutral);
    }

    #[wasm_bindgen_test]
    fn progress_usb_order_and_opening() {
        assert_eq!(probing_label(Some(3)), "Probing 3 ports…");
        assert_eq!(probing_label(Some(1)), "Probing 1 port…");
        assert_eq!(probing_label(None), "Looking for serial ports…");
        let mut usb = report("/dev/ttyUSB2");
        usb.usb = Some(UsbIdentity {
            vid: "2c7c".into(),
            pid: "0125".into(),
            serial_number: None,
            manufacturer: Some("Quectel".into()),
            product: Some("EC25".into()),
        });
        assert_eq!(
            usb_label(&usb).as_deref(),
            Some("Quectel EC25 · USB 2c7c:0125")
        );
        assert_eq!(usb_label(&report("/dev/ttyS0")), None);
        let mut ports = vec![
            report("/dev/ttyS0"),
            PortReport {
                is_modem: true,
                ..report("/dev/ttyUSB3")
            },
            report("/dev/ttyACM0"),
        ];
        sort_ports(&mut ports);
        let order: Vec<_> = ports.iter().map(|p| p.port.as_str()).collect();
        assert_eq!(order, ["/dev/ttyUSB3", "/dev/ttyACM0", "/dev/ttyS0"]);
        assert!(should_open(0, false));
        assert!(!should_open(0, true));
        assert!(!should_open(1, false));
    }
}
