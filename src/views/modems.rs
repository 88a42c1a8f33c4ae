//! The Modems screen: one card per modem with its connection state, network and signal.

use leptos::prelude::*;
use simrelay_protocol::{ModemState, ModemStatus};

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

#[component]
fn ModemCard(
    /// The modem.
    modem: ModemStatus,
) -> impl IntoView {
    let (label, class) = state_label(modem.state);
    let signal = modem.signal_dbm.map(|dbm| {
        let bars = signal_bars(dbm);
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
    view! {
        <article class="card modem-card" aria-label=format!("Modem {}", modem.id)>
            <header class="modem-head">
                <h3 class="modem-name">{modem.id.clone()}</h3>
                {modem.demo.then(|| view! { <span class="badge badge-demo">"demo"</span> })}
                <span class=class>{label}</span>
            </header>
            <dl class="facts">
                <dt>"Port"</dt>
                <dd>{modem.port}</dd>
                <dt>"Operator"</dt>
                <dd>{modem.operator.unwrap_or_else(|| "unknown".into())}</dd>
                <dt>"Signal"</dt>
                <dd>{signal.map(IntoAny::into_any).unwrap_or_else(|| "unknown".into_any())}</dd>
                <dt>"Model"</dt>
                <dd>{modem.model.unwrap_or_else(|| "unknown".into())}</dd>
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
