//! npaa-capi's integration tests, one binary with a module per area (as ripgrep keeps its
//! tests). `cargo test -p npaa-capi --test tests`. A new area is a file
//! `tests/tests/<area>.rs` and a `mod <area>;` line here; shared support lives in the
//! `npaa-testutil` crate.

mod capi;
mod reliability_crash;
