//! npaa-core's integration tests, one binary with a module per area (as ripgrep keeps its
//! tests): one link instead of one per file. `cargo test -p npaa-core --test tests`; one area:
//! `cargo test -p npaa-core --test tests mapped::`.
//!
//! A new area is a file `tests/tests/<area>.rs` and a `mod <area>;` line here. Shared support
//! lives in the `npaa-testutil` crate. Tests that need root or a system tool are `#[ignore]`d
//! and fail when run without it (see `npaa_testutil::require`); `scripts/test` runs them.

mod append;
mod append_files;
mod dtype_model;
mod fuzz_regressions;
mod mapped;
mod numpy_conformance;
mod numpy_interop;
mod ragged;
mod reader;
mod recover_on_open;
mod region;
mod reliability_bad_calls;
mod reliability_crash;
// File-size limits, tmpfs and loop devices: Unix only.
#[cfg(unix)]
mod reliability_disk_full;
mod reliability_durability;
mod reliability_lock;
mod reliability_placeholder;
mod reliability_stress;
mod repair;
mod shared;
mod sharing;
