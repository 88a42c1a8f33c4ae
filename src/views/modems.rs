//! The Modems screen: one card per modem with its connection state, network, signal, identity and SIM storage,
//! and its signal over 24 hours and messages per day as small charts ([`crate::views::charts`]).
//!
//! Everything a modem reports (operator names, model strings, errors) is inserted as text, never as HTML.
//!
//! The "Add a modem" panel picks a port (the [`PortPicker`] the first-run wizard uses too), tests it, adds it,
//! or starts the demo modem; each card has a Remove button.

use leptos::prelude::*;
use simrelay_protocol::{ModemState, ModemStatus, PortReport, Registration};

use crate::api;
use crate::state::AppState;
use crate::views::charts::{HealthCache, ModemHealthCharts};
use crate::views::ports::{PortPicker, PortResult};

/// Signal bars (0–4) for a received signal strength in dBm, using the usual GSM/LTE phone thresholds.
pub fn signal_bars(dbm: i32) -> u8 {
    match dbm {
        -73.. => 4,
        -83..=-74 => 3,
        -93..=-84 => 2,
        -103..=-94 => 1,
        _ => 0,
    }
}

fn state_label(state: ModemState) -> (&'static str, &'static str) {
    match state {
        ModemState::Connecting => ("connecting", "state state-connecting"),
        ModemState::Connected => ("connected", "state state-ok"),
        ModemState::Disconnected => ("disconnected, retrying", "state state-warn"),
        ModemState::Failed => ("stopped", "state state-bad"),
        ModemState::PinRequired => ("SIM needs its PIN", "state state-warn"),
        ModemState::PukRequired => ("SIM needs its PUK", "state state-bad"),
    }
}

fn registration_label(registration: Registration) -> &'static str {
    match registration {
        Registration::Home => "home network",
        Registration::Roaming => "roaming",
        Registration::Searching => "searching",
        Registration::Denied => "denied by the network",
        Registration::NotRegistered => "not registered",
        Registration::Unknown => "unknown",
    }
}

/// "12 of 30 used", or what is known of it.
fn storage_label(used: Option<u32>, total: Option<u32>) -> Option<String> {
    match (used, total) {
        (Some(used), Some(total)) => Some(format!("{used} of {total} used")),
        (Some(used), None) => Some(format!("{used} used")),
        _ => None,
    }
}

/// "SIM 25 of 30 · modem 3 of 100": each storage the relay reads, else the one figure older relays send.
fn storages_label(modem: &ModemStatus) -> Option<String> {
    if modem.health.storages.is_empty() {
        return storage_label(modem.storage_used, modem.storage_total);
    }
    let parts: Vec<String> = modem
        .health
        .storages
        .iter()
        .map(|s| match s.total {
            0 => format!("{} {} used", s.label(), s.used),
            total => format!("{} {} of {total}", s.label(), s.used),
        })
        .collect();
    Some(parts.join(" \u{b7} "))
}

/// "Quectel EC25": the manufacturer only when the model does not already start with it.
fn device_label(manufacturer: Option<&str>, model: Option<&str>) -> Option<String> {
    match (manufacturer, model) {
        (Some(m), Some(model)) if !model.to_lowercase().starts_with(&m.to_lowercase()) => {
            Some(format!("{m} {model}"))
        }
        (_, Some(model)) => Some(model.to_owned()),
        (Some(m), None) => Some(m.to_owned()),
        (None, None) => None,
    }
}

/// "2 attempts left", or nothing when the modem does not tell.
fn attempts_label(left: Option<u8>) -> Option<String> {
    match left? {
        0 => None,
        1 => Some("1 attempt left before the SIM needs its PUK".into()),
        n => Some(format!("{n} attempts left")),
    }
}

/// What a locked SIM needs from the user: a PIN field (tried once per press, never on its own), or, for a SIM
/// that wants its PUK, how to unblock it.
#[component]
pub(crate) fn SimLock(
    /// The modem's id.
    id: String,
    /// `PinRequired` or `PukRequired`.
    state: ModemState,
    /// Wrong PINs the SIM still takes, where the modem tells.
    attempts_left: Option<u8>,
) -> impl IntoView {
    if state == ModemState::PukRequired {
        return view! {
            <p class="sim-lock" role="note">
                "The SIM is blocked after three wrong PINs. Put it in a phone, enter its PUK (on the card the SIM \
                 came on, or from your operator) and choose a new PIN there; then put it back and enter the new PIN \
                 here. SimRelay never enters a PUK."
            </p>
        }
        .into_any();
    }
    let app = expect_context::<AppState>();
    let pin = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let entered = pin.get_untracked().trim().to_owned();
        if !(4..=8).contains(&entered.len()) || !entered.bytes().all(|b| b.is_ascii_digit()) {
            error.set(Some("A SIM PIN is 4 to 8 digits.".into()));
            return;
        }
        let id = id.clone();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let endpoint = app.endpoint.get_value();
            match api::enter_pin(&endpoint, &id, &entered).await {
                Ok(modem) => {
                    pin.try_set(String::new());
                    app.modems.update(|all| {
                        if let Some(m) = all.iter_mut().find(|m| m.id == modem.id) {
                            *m = modem;
                        }
                    });
                }
                Err(e) => {
                    pin.try_set(String::new());
                    error.try_set(Some(e.to_string()));
                }
            }
            busy.try_set(false);
        });
    };
    view! {
        <form class="sim-lock" on:submit=submit>
            <label>
                "SIM PIN"
                <input
                    type="password"
                    inputmode="numeric"
                    autocomplete="off"
                    maxlength="8"
                    prop:value=move || pin.get()
                    on:input=move |ev| pin.set(event_target_value(&ev))
                />
            </label>
            {attempts_label(attempts_left).map(|a| view! { <span class="hint">{a}</span> })}
            <button type="submit" class="btn btn-primary" disabled=move || busy.get()>"Unlock"</button>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </form>
    }
    .into_any()
}

#[component]
fn ModemCard(
    /// The modem.
    modem: ModemStatus,
) -> impl IntoView {
    let (label, class) = state_label(modem.state);
    let signal = modem.signal_dbm.map(|dbm| {
        let bars = modem.signal_bars.unwrap_or_else(|| signal_bars(dbm)).min(4);
        let desc = format!("Signal {bars} of 4 bars, {dbm} dBm");
        view! {
            <span class="bars" role="img" aria-label=desc.clone() title=desc>
                {(1..=4u8)
                    .map(|i| {
                        let cls = if i <= bars { "bar bar-on" } else { "bar" };
                        // `style:` sets the property through the CSSOM, which the page's CSP allows; a `style`
                        // attribute is inline CSS, which it does not.
                        view! { <span class=cls style:height=format!("{}px", 4 + i * 3)></span> }
                    })
                    .collect_view()}
            </span>
            <span class="dbm">{format!("{dbm} dBm")}</span>
        }
    });
    let name = modem.label.clone().unwrap_or_else(|| modem.id.clone());
    let id_line = modem.label.is_some().then(|| modem.id.clone());
    let device = device_label(modem.manufacturer.as_deref(), modem.model.as_deref());
    let storage = storages_label(&modem);
    let storage_warning = modem.health.storage_warning.clone();
    let last_reset = modem.health.last_reset.clone();
    let registration = modem.registration.map(registration_label);
    // What the network says waits for this SIM (voicemail, ...): a status, not a message to read.
    let waiting = (!modem.waiting.is_empty()).then(|| {
        let line = modem
            .waiting
            .iter()
            .map(simrelay_protocol::Waiting::summary)
            .collect::<Vec<_>>()
            .join(" \u{b7} ");
        view! { <dt>"Waiting"</dt><dd class="waiting">{line}</dd> }
    });
    let aria = format!("Modem {name}");
    let app = expect_context::<AppState>();
    let confirming = RwSignal::new(false);
    let removing = RwSignal::new(false);
    let remove_error = RwSignal::new(None::<String>);
    let id = modem.id.clone();
    let remove = move |_| {
        let id = id.clone();
        removing.set(true);
        remove_error.set(None);
        leptos::task::spawn_local(async move {
            let endpoint = app.endpoint.get_value();
            match api::remove_modem(&endpoint, &id).await {
                // The `modem_removed` frame drops the card on every client; this one need not wait for it.
                Ok(()) => app.modems.update(|m| m.retain(|x| x.id != id)),
                Err(e) => {
                    remove_error.try_set(Some(e.to_string()));
                    removing.try_set(false);
                }
            }
        });
    };
    let remove_label = format!("Remove the modem {name}");
    let confirm_text = format!("Stop reading SMS from {name} and forget it?");
    view! {
        <article class="card modem-card" aria-label=aria>
            <header class="modem-head">
                <h3 class="modem-name">{name}</h3>
                {modem.demo.then(|| view! { <span class="badge badge-demo">"demo"</span> })}
                <span class=class>{label}</span>
            </header>
            {id_line.map(|id| view! { <p class="modem-id">{id}</p> })}
            <dl class="facts">
                <dt>"Port"</dt>
                <dd>{modem.port}</dd>
                <dt>"Operator"</dt>
                <dd>{modem.operator.unwrap_or_else(|| "unknown".into())}</dd>
                <dt>"Network"</dt>
                <dd>{registration.unwrap_or("unknown")}</dd>
                <dt>"Signal"</dt>
                <dd>{signal.map(IntoAny::into_any).unwrap_or_else(|| "unknown".into_any())}</dd>
                <dt>"Storage"</dt>
                <dd>{storage.unwrap_or_else(|| "unknown".into())}</dd>
                {last_reset.map(|r| view! { <dt>"Last reset"</dt><dd>{r}</dd> })}
                {waiting}
                <dt>"Model"</dt>
                <dd>{device.unwrap_or_else(|| "unknown".into())}</dd>
                {modem.imei.map(|imei| view! { <dt>"IMEI"</dt><dd class="mono">{imei}</dd> })}
                {modem.iccid.map(|iccid| view! { <dt>"ICCID"</dt><dd class="mono">{iccid}</dd> })}
            </dl>
            <ModemHealthCharts id=modem.id.clone() />
            {modem.last_error.map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {storage_warning.map(|w| view! { <p class="storage-warning" role="status">{w}</p> })}
            {matches!(modem.state, ModemState::PinRequired | ModemState::PukRequired).then(|| view! {
                <SimLock id=modem.id.clone() state=modem.state attempts_left=modem.pin_attempts_left/>
            })}
            {(modem.state == ModemState::Connected && modem.source.is_none()).then(|| view! {
                <super::voice::Ussd id=modem.id.clone()/>
            })}
            <super::voice::RecentCalls id=modem.id.clone()/>
            <div class="actions modem-actions">
                <Show
                    when=move || confirming.get()
                    fallback=move || view! {
                        <button type="button" class="btn btn-quiet" aria-label=remove_label.clone() on:click=move |_| confirming.set(true)>
                            "Remove"
                        </button>
                    }
                >
                    <p class="confirm">{confirm_text.clone()}</p>
                    <button type="button" class="btn btn-danger" disabled=move || removing.get() on:click=remove.clone()>
                        "Yes, remove"
                    </button>
                    <button type="button" class="btn" on:click=move |_| confirming.set(false)>"Cancel"</button>
                </Show>
            </div>
            {move || remove_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </article>
    }
}

/// The "Add a modem" panel: ports with probe results, a path field, Test, Use this modem, Start demo modem.
#[component]
fn AddModem() -> impl IntoView {
    let app = expect_context::<AppState>();
    let port = RwSignal::new(String::new());
    let label = RwSignal::new(String::new());
    let result = RwSignal::new(None::<PortReport>);
    let busy = RwSignal::new(None::<&'static str>);
    let message = RwSignal::new(None::<(bool, String)>);
    let test = move || {
        let path = port.get_untracked().trim().to_owned();
        if path.is_empty() {
            message.set(Some((
                false,
                "Choose a port or type its path first.".into(),
            )));
            return;
        }
        busy.set(Some("Probing 1 port…"));
        result.set(None);
        message.set(None);
        leptos::task::spawn_local(async move {
            let endpoint = app.endpoint.get_value();
            match api::probe_port(&endpoint, &path).await {
                Ok(report) => {
                    result.try_set(Some(report));
                }
                Err(e) => {
                    message.try_set(Some((false, e.to_string())));
                }
            }
            busy.try_set(None);
        });
    };
    let done = move |outcome: Result<ModemStatus, api::ApiFailure>| match outcome {
        Ok(modem) => {
            let text = format!(
                "Added {}.",
                modem.label.clone().unwrap_or_else(|| modem.id.clone())
            );
            app.upsert_modem(modem);
            message.try_set(Some((true, text)));
            result.try_set(None);
            port.try_set(String::new());
            label.try_set(String::new());
        }
        Err(e) => {
            message.try_set(Some((false, e.to_string())));
        }
    };
    let use_it = move |_| {
        let path = port.get_untracked().trim().to_owned();
        if path.is_empty() {
            message.set(Some((
                false,
                "Choose a port or type its path first.".into(),
            )));
            return;
        }
        let name = label.get_untracked().trim().to_owned();
        busy.set(Some("Starting the modem…"));
        message.set(None);
        leptos::task::spawn_local(async move {
            let endpoint = app.endpoint.get_value();
            let name = (!name.is_empty()).then_some(name);
            done(api::add_modem(&endpoint, &path, name.as_deref()).await);
            busy.try_set(None);
        });
    };
    let demo = move |_| {
        busy.set(Some("Starting the demo modem…"));
        message.set(None);
        leptos::task::spawn_local(async move {
            let endpoint = app.endpoint.get_value();
            done(api::start_demo_modem(&endpoint).await);
            busy.try_set(None);
        });
    };
    view! {
        <section class="card add-modem" aria-labelledby="add-modem-title">
            <h3 id="add-modem-title">"Add a modem"</h3>
            <PortPicker
                port=port
                pick_label="Test"
                input_id="add-port"
                input_label="Port path"
                on_test=Callback::new(move |()| test())
                test_on_enter=false
            />
            <div class="field">
                <label for="add-label">"Name (optional)"</label>
                <input
                    id="add-label"
                    type="text"
                    maxlength="64"
                    placeholder="Work SIM"
                    prop:value=move || label.get()
                    on:input=move |ev| label.set(event_target_value(&ev))
                />
            </div>
            <div class="actions">
                <button id="add-test" type="button" class="btn" disabled=move || busy.get().is_some() on:click=move |_| test()>
                    "Test"
                </button>
                <button id="add-use" type="button" class="btn btn-primary" disabled=move || busy.get().is_some() on:click=use_it>
                    "Use this modem"
                </button>
                <button id="add-demo" type="button" class="btn" disabled=move || busy.get().is_some() on:click=demo>
                    "Start demo modem"
                </button>
            </div>
            <div class="probe-result" role="status" aria-live="polite">
                {move || busy.get().map(|b| view! { <p class="muted">{b}</p> })}
                {move || result.get().map(|r| view! { <PortResult report=r /> })}
                {move || message.get().map(|(ok, text)| {
                    let class = if ok { "notice" } else { "error" };
                    view! { <p class=class>{text}</p> }
                })}
            </div>
        </section>
    }
}

/// The Modems screen.
#[component]
pub fn Modems() -> impl IntoView {
    let app = expect_context::<AppState>();
    provide_context(HealthCache::new());
    view! {
        <section class="screen" aria-labelledby="modems-title">
            <h2 id="modems-title">"Modems"</h2>
            <Show
                when=move || app.modems.with(|m| !m.is_empty())
                fallback=|| view! { <p class="empty">"No modem yet. Add one below, or start the demo modem."</p> }
            >
                <div class="cards">
                    <For each=move || app.modems.get() key=|m| format!("{m:?}") let:m>
                        <ModemCard modem=m />
                    </For>
                </div>
            </Show>
            <AddModem />
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_for_storage_and_device() {
        assert_eq!(
            storage_label(Some(3), Some(30)).as_deref(),
            Some("3 of 30 used")
        );
        assert_eq!(storage_label(None, Some(30)), None);
        let mut modem = ModemStatus::new("imei:1", "/dev/ttyUSB2", ModemState::Connected);
        modem.storage_used = Some(3);
        modem.storage_total = Some(30);
        assert_eq!(storages_label(&modem).as_deref(), Some("3 of 30 used"));
        modem.health.storages = vec![
            simrelay_protocol::StorageUse {
                memory: "ME".into(),
                used: 3,
                total: 100,
            },
            simrelay_protocol::StorageUse {
                memory: "SM".into(),
                used: 25,
                total: 30,
            },
        ];
        assert_eq!(
            storages_label(&modem).as_deref(),
            Some("modem 3 of 100 \u{b7} SIM 25 of 30")
        );
        assert_eq!(
            device_label(Some("Quectel"), Some("EC25")).as_deref(),
            Some("Quectel EC25")
        );
        assert_eq!(
            device_label(Some("SIMCOM_Ltd"), Some("SIMCOM_SIM800L")).as_deref(),
            Some("SIMCOM_Ltd SIMCOM_SIM800L")
        );
        assert_eq!(
            device_label(Some("huawei"), Some("Huawei E3372")).as_deref(),
            Some("Huawei E3372")
        );
        assert_eq!(registration_label(Registration::Roaming), "roaming");
    }

    #[test]
    fn attempts_left_are_said_only_when_known() {
        assert_eq!(attempts_label(None), None);
        assert_eq!(attempts_label(Some(0)), None);
        assert_eq!(
            attempts_label(Some(1)).as_deref(),
            Some("1 attempt left before the SIM needs its PUK")
        );
        assert_eq!(attempts_label(Some(2)).as_deref(), Some("2 attempts left"));
    }

    #[test]
    fn bars_follow_thresholds() {
        let cases = [
            (-51, 4),
            (-73, 4),
            (-74, 3),
            (-83, 3),
            (-84, 2),
            (-93, 2),
            (-94, 1),
            (-103, 1),
            (-104, 0),
            (-113, 0),
        ];
        for (dbm, bars) in cases {
            assert_eq!(signal_bars(dbm), bars, "{dbm} dBm");
        }
    }
}
