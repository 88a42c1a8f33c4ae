//! SimRelay's web UI: a Leptos app rendered in the browser (wasm32), built by Trunk into `dist/`.
//!
//! The engine serves this bundle both to LAN browsers and to the desktop window, and the app talks to the engine
//! only through its HTTP and WebSocket API. Logic that can be checked without a browser (merging, counting,
//! highlighting, time formatting, token handling) lives in plain modules with unit tests; the views stay thin.

mod api;
mod app;
mod clipboard;
#[cfg(all(test, target_arch = "wasm32"))]
mod component_tests;
mod connection;
#[cfg(all(test, target_arch = "wasm32"))]
mod contract_tests;
mod endpoint;
mod highlight;
mod inbox;
mod outbox;
mod prefs;
mod reltime;

mod sms_len;
mod state;
mod views;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
