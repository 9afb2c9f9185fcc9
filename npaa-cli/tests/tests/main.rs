//! End-to-end tests of the `npaa` binary, one test binary with a module per area (as ripgrep
//! keeps its tests). `cargo test -p npaa-cli --test tests`. A new area is a file
//! `tests/tests/<area>.rs` (starting with `use crate::common::*;`) and a `mod <area>;` line
//! here.

mod common;

mod append;
mod cli;
mod conformance;
mod info_check;
mod ragged_tail;
mod raw;
mod repair;
mod shared;
mod show;
