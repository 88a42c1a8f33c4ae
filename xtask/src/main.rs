//! Task runner placeholder.
fn main() {}
