//! Rebuilds the engine when a migration or the built UI changes: `sqlx::migrate!` embeds `migrations/` and
//! rust-embed resolves `dist/` at compile time, and cargo does not see files outside the package on its own.
//! Without the `dist` line, an engine compiled before `trunk build` keeps serving "UI not built".

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
    println!("cargo:rerun-if-changed=../../dist");
}
