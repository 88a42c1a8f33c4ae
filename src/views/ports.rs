//! Choosing a serial port, shared by the first-run wizard and the Modems screen's "Add a modem": the server's
//! ports with what probing found ([`PortScan`], each [`PortResult`]), and a field to type a path ([`PortPicker`]).
//! Everything a port or modem reports is inserted as text, never as HTML.

use leptos::prelude::*;
use simrelay_protocol::PortReport;

use crate::api;
use crate::state::AppState;
use crate::views::wizard::{probing_label, sort_ports, usb_label, verdict};

/// One probe result: the port, its USB identity, the verdict and what to do. All of it text.
#[component]
pub fn PortResult(
    /// The result.
    report: PortReport,
) -> impl IntoView {
    let v = verdict(&report);
    let usb = usb_label(&report);
    // The OS's own words, when they add something to the hint.
    let error = report.error.clone();
    view! {
        <div class="port-result">
            <p class="port-name"><code>{report.port.clone()}</code>{usb.map(|u| view! { <span class="muted">" · " {u}</span> })}</p>
            <p class=v.tone.class()>{v.title}</p>
            {v.hint.map(|h| view! { <p class="port-hint">{h}</p> })}
            {error.map(|e| view! { <p class="port-error muted">{e}</p> })}
            {(!report.info.is_empty()).then(|| view! {
                <details class="port-info">
                    <summary>"Modem says (ATI)"</summary>
                    <ul>{report.info.iter().map(|l| view! { <li>{l.clone()}</li> }).collect_view()}</ul>
                </details>
            })}
        </div>
    }
}

/// The server's serial ports, probed, each with a button that hands its path to `on_pick`.
#[component]
pub fn PortScan(
    /// The button text on each port ("Choose", "Test").
    pick_label: &'static str,
    /// Called with the port path the user picked.
    on_pick: Callback<String>,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let ports = RwSignal::new(None::<Vec<PortReport>>);
    // `Some(Some(n))`: probing n ports; `Some(None)`: listing them; `None`: idle.
    let scanning = RwSignal::new(None::<Option<usize>>);
    let error = RwSignal::new(None::<String>);
    let scan = move || {
        if scanning.get_untracked().is_some() {
            return;
        }
        scanning.set(Some(None));
        error.set(None);
        leptos::task::spawn_local(async move {
            let endpoint = app.endpoint.get_value();
            // Listing is instant; it says how many ports the (slower) probe is about to try.
            if let Ok(listed) = api::ports(&endpoint, false).await {
                let free = listed.iter().filter(|p| p.in_use_by.is_none()).count();
                scanning.try_set(Some(Some(free)));
            }
            match api::ports(&endpoint, true).await {
                Ok(mut found) => {
                    sort_ports(&mut found);
                    ports.try_set(Some(found));
                }
                Err(e) => {
                    error.try_set(Some(e.to_string()));
                }
            }
            scanning.try_set(None);
        });
    };
    scan();
    view! {
        <div class="port-scan">
            <div class="port-scan-head">
                <h3>"Serial ports"</h3>
                <button type="button" class="btn" disabled=move || scanning.get().is_some() on:click=move |_| scan()>
                    "Scan again"
                </button>
            </div>
            <p class="muted" role="status" aria-live="polite">
                {move || scanning.get().map(probing_label)}
            </p>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || ports.get().map(|list| {
                if list.is_empty() {
                    return view! {
                        <p class="empty">"The system lists no serial ports. Plug the modem in and scan again, or type its path."</p>
                    }.into_any();
                }
                view! {
                    <ul class="port-list" aria-label="Serial ports">
                        {list.into_iter().map(|report| {
                            let path = report.port.clone();
                            let free = report.in_use_by.is_none();
                            let label = format!("{pick_label} {path}");
                            view! {
                                <li class="port-row">
                                    <PortResult report=report />
                                    {free.then(|| view! {
                                        <button type="button" class="btn" aria-label=label on:click=move |_| on_pick.run(path.clone())>
                                            {pick_label}
                                        </button>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            })}
        </div>
    }
}

/// The port list and a path field: picking a port from the list, or pressing Enter in the field when
/// `test_on_enter`, puts its path in `port` and calls `on_test`.
#[component]
pub fn PortPicker(
    /// The chosen or typed path.
    port: RwSignal<String>,
    /// The button text on each listed port ("Choose", "Test").
    pick_label: &'static str,
    /// The path field's id.
    input_id: &'static str,
    /// The path field's label.
    input_label: &'static str,
    /// Tests the port now in `port`.
    on_test: Callback<()>,
    /// Whether Enter in the path field tests it.
    test_on_enter: bool,
) -> impl IntoView {
    view! {
        <PortScan
            pick_label=pick_label
            on_pick=Callback::new(move |p: String| {
                port.set(p);
                on_test.run(());
            })
        />
        <div class="field">
            <label for=input_id>{input_label}</label>
            <input
                id=input_id
                type="text"
                placeholder="/dev/ttyUSB2"
                autocomplete="off"
                spellcheck="false"
                prop:value=move || port.get()
                on:input=move |ev| port.set(event_target_value(&ev))
                on:keydown=move |ev| {
                    if test_on_enter && ev.key() == "Enter" {
                        on_test.run(());
                    }
                }
            />
        </div>
    }
}
