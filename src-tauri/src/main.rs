//! Desktop shell placeholder: see issue 2.
fn main() {}
