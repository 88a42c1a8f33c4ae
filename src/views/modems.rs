//! The Modems screen: one card per modem with its connection state, network, signal, identity and SIM storage.
//!
//! Everything a modem reports (operator names, model strings, errors) is inserted as text, never as HTML.

use leptos::prelude::*;
use simrelay_protocol::{ModemState, ModemStatus, Registration};

use crate::state::AppState;

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
                        view! { <span class=cls style=format!("height:{}px", 4 + i * 3)></span> }
                    })
                    .collect_view()}
            </span>
            <span class="dbm">{format!("{dbm} dBm")}</span>
        }
    });
    let name = modem.label.clone().unwrap_or_else(|| modem.id.clone());
    let id_line = modem.label.is_some().then(|| modem.id.clone());
    let device = device_label(modem.manufacturer.as_deref(), modem.model.as_deref());
    let storage = storage_label(modem.storage_used, modem.storage_total);
    let registration = modem.registration.map(registration_label);
    let aria = format!("Modem {name}");
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
                <dt>"SIM storage"</dt>
                <dd>{storage.unwrap_or_else(|| "unknown".into())}</dd>
                <dt>"Model"</dt>
                <dd>{device.unwrap_or_else(|| "unknown".into())}</dd>
                {modem.imei.map(|imei| view! { <dt>"IMEI"</dt><dd class="mono">{imei}</dd> })}
                {modem.iccid.map(|iccid| view! { <dt>"ICCID"</dt><dd class="mono">{iccid}</dd> })}
            </dl>
            {modem.last_error.map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </article>
    }
}

/// The Modems screen.
#[component]
pub fn Modems() -> impl IntoView {
    let app = expect_context::<AppState>();
    view! {
        <section class="screen" aria-labelledby="modems-title">
            <h2 id="modems-title">"Modems"</h2>
            <Show
                when=move || app.modems.with(|m| !m.is_empty())
                fallback=|| view! { <p class="empty">"No modem reported yet. Start SimRelay with --modem PATH or --demo."</p> }
            >
                <div class="cards">
                    <For each=move || app.modems.get() key=|m| format!("{m:?}") let:m>
                        <ModemCard modem=m />
                    </For>
                </div>
            </Show>
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
