//! Rebuilds the engine when a migration changes: `sqlx::migrate!` embeds `migrations/` at compile time, and
//! cargo does not see files outside the package on its own.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
