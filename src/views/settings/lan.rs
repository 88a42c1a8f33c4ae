//! The Settings screen's sharing section: LAN sharing on and off, the addresses other devices reach (and the
//! certificate's fingerprint when sharing over HTTPS), and the card that shows a pairing link (which carries a
//! one-time pairing code, never a token). The only server markup the screen shows is a pairing link's QR code, an
//! SVG our own server made, and even that is loaded as an `<img>` from a `data:` URL, never inserted into the page.

use leptos::prelude::*;
use simrelay_protocol::PairLink;

use super::form::{saving_text, Saving};
use super::Access;
use crate::api;
use crate::state::AppState;

/// An `<img src>` for a QR code SVG from our server: a `data:` URL, so the markup is parsed as an isolated image
/// (no scripts, no access to the page) and never inserted into the page's DOM. Anything that does not look like
/// an SVG document gives `None`.
pub fn qr_data_url(svg: &str) -> Option<String> {
    let trimmed = svg.trim_start();
    let looks_like_svg = trimmed.starts_with("<svg") || trimmed.starts_with("<?xml");
    if !looks_like_svg || !svg.contains("</svg>") {
        return None;
    }
    Some(format!(
        "data:image/svg+xml;charset=utf-8,{}",
        crate::endpoint::percent_encode(svg)
    ))
}

/// A LAN address without its `?token=`: the token is a secret, and the screen only needs to say where to go.
fn without_token(url: &str) -> String {
    url.split_once('?').map_or(url, |(base, _)| base).to_owned()
}

/// A pairing link: its QR code (as an image) and the address with a Copy button.
#[component]
pub(crate) fn LinkCard(
    /// The link.
    link: PairLink,
) -> impl IntoView {
    let copied = RwSignal::new(None::<bool>);
    let url = link.url.clone();
    let copy = move |_| {
        let url = url.clone();
        leptos::task::spawn_local(async move {
            let ok = crate::clipboard::copy(&url).await;
            copied.try_set(Some(ok));
        });
    };
    let qr = link.qr_svg.as_deref().and_then(qr_data_url);
    view! {
        <div class="pair-link">
            {qr.map(|src| view! {
                <img class="qr" src=src width="200" height="200" alt="QR code of the pairing link: scan it with the other device" />
            })}
            <div class="pair-url">
                <code class="link-text">{link.url.clone()}</code>
                <div class="actions">
                    <button type="button" class="btn" on:click=copy>"Copy link"</button>
                    <span class="copy-status" role="status" aria-live="polite">
                        {move || match copied.get() {
                            Some(true) => "Copied",
                            Some(false) => "Copy failed: select the link and copy it by hand",
                            None => "",
                        }}
                    </span>
                </div>
            </div>
        </div>
    }
}

/// The "Sharing" card: LAN sharing, and where other devices reach this server.
#[component]
pub(super) fn SharingCard(
    /// Whether this browser may change the settings.
    access: RwSignal<Access>,
    /// True while it may not.
    locked: Signal<bool>,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let lan_state = RwSignal::new(Saving::Idle);
    let toggle_lan = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        lan_state.set(Saving::Busy);
        let endpoint = app.endpoint.get_value();
        leptos::task::spawn_local(async move {
            match api::patch_settings(&endpoint, &api::body::lan(on)).await {
                Ok(new) => {
                    app.server_settings.try_set(Some(new));
                    lan_state.try_set(Saving::Saved);
                }
                Err(e) => {
                    lan_state.try_set(Saving::Failed {
                        field: None,
                        message: e.to_string(),
                    });
                    // Put the checkbox back to what the server says.
                    app.server_settings.try_update(|_| {});
                }
            }
        });
    };
    let lan_on = move || {
        app.server_settings
            .with(|s| s.as_ref().is_some_and(|s| s.lan))
    };
    let addresses = LocalResource::new(move || {
        let wanted = lan_on() && access.get() == Access::Manage;
        let endpoint = app.endpoint.get_value();
        async move {
            if wanted {
                Some(api::pair(&endpoint).await)
            } else {
                None
            }
        }
    });
    view! {
            <fieldset class="card" id="settings-sharing">
                <legend>"Sharing"</legend>
                <label class="check" for="set-lan">
                    <input
                        id="set-lan"
                        type="checkbox"
                        prop:checked=lan_on
                        disabled=move || locked.get() || lan_state.with(|s| *s == Saving::Busy)
                        on:change=toggle_lan
                    />
                    <span>
                        "Share on the local network"
                        <small>"Lets your phone or another computer on the same network show your messages. Each device needs pairing."</small>
                    </span>
                </label>
                <p class=move || lan_state.with(|s| if matches!(s, Saving::Failed { .. }) { "save-status error" } else { "save-status" })
                    role="status" aria-live="polite">
                    {move || lan_state.with(saving_text)}
                </p>
                {move || addresses.get().flatten().map(|answer| match answer {
                    Ok(p) => {
                        let fingerprint = p.fingerprint.clone();
                        view! {
                            <p class="hint">"Other devices reach SimRelay at "
                                {p.urls.into_iter().map(|u| view! { <code class="link-text">{without_token(&u)}</code>" " }).collect_view()}
                            </p>
                            {fingerprint.map(|fp| view! {
                                <p class="hint" id="sharing-fingerprint">"Over HTTPS, with the certificate whose SHA-256 fingerprint is "<code class="link-text">{fp}</code></p>
                            })}
                        }.into_any()
                    }
                    Err(e) => view! { <p class="hint">{e.to_string()}</p> }.into_any(),
                })}
            </fieldset>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_shown_without_the_token() {
        assert_eq!(
            without_token("http://192.168.1.20:8731/?token=3f5c"),
            "http://192.168.1.20:8731/"
        );
        assert_eq!(without_token("http://h:1/"), "http://h:1/");
    }

    #[test]
    fn only_svg_becomes_a_data_url() {
        let url =
            qr_data_url(r#"<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0h1"/></svg>"#)
                .expect("svg");
        assert!(url.starts_with("data:image/svg+xml;charset=utf-8,%3Csvg"));
        assert!(!url.contains('<') && !url.contains('"') && !url.contains('#'));
        assert_eq!(qr_data_url("<img src=x onerror=alert(1)>"), None);
        assert_eq!(qr_data_url("javascript:alert(1)</svg>"), None);
    }
}
