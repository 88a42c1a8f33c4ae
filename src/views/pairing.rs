//! What a phone sees when it opens a pairing link (`/?pair=CODE`): the app exchanges the one-time code for this
//! device's own access token (`POST /api/pair/claim`), keeps it, and opens SimRelay. A code that was used or has
//! expired says how to get a new one. The main token never reaches the phone.

use leptos::prelude::*;

use crate::api::{self, ApiFailure};
use crate::endpoint::Endpoint;

/// Where the exchange stands.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Claiming,
    Paired(String),
    Failed(String),
}

/// The pairing page for `code`, shown instead of the app until the exchange is done.
#[component]
pub fn Pairing(
    /// The page's origin (no token yet).
    endpoint: Endpoint,
    /// The code the link carried.
    code: String,
) -> impl IntoView {
    let step = RwSignal::new(Step::Claiming);
    leptos::task::spawn_local(async move {
        match api::claim(&endpoint, &code).await {
            Ok(claimed) => {
                crate::endpoint::store_token(&claimed.token);
                step.try_set(Step::Paired(claimed.device.name));
                // The app proper, now with this device's token (the address no longer has the code).
                let path = location().pathname().unwrap_or_else(|_| "/".into());
                let hash = location().hash().unwrap_or_default();
                let _ = location().replace(&format!("{path}{hash}"));
            }
            Err(e @ ApiFailure::BadPairingCode) => _ = step.try_set(Step::Failed(e.to_string())),
            Err(e) => _ = step.try_set(Step::Failed(format!("Pairing failed. {e}"))),
        }
    });
    view! {
        <main class="screen pairing" id="main">
            <h2>"Pairing with SimRelay"</h2>
            {move || match step.get() {
                Step::Claiming => view! { <p role="status" id="pairing-status">"Pairing this device…"</p> }.into_any(),
                Step::Paired(name) => view! {
                    <p role="status" id="pairing-status">{format!("Paired as \u{201c}{name}\u{201d}. Opening SimRelay…")}</p>
                }.into_any(),
                Step::Failed(why) => view! { <p class="banner banner-bad" role="alert" id="pairing-status">{why}</p> }.into_any(),
            }}
        </main>
    }
}
