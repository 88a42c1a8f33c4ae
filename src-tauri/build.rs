//! Generates Tauri's context (config, icons, capabilities) at build time.
fn main() {
    tauri_build::build();
}
