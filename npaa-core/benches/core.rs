//! Criterion benchmarks of npaa-core.
fn main() {}
