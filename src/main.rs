//! SimRelay's web UI placeholder: see issue 2.
fn main() {}
