//! Placeholder; the collector is being written.
fn main() {}
