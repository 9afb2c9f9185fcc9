//! Crash consistency of the Rust API: a writer killed with SIGKILL at a random moment leaves a
//! file that NumPy loads as an exact prefix of what was appended, and that `recover` turns
//! into an exact prefix of whole items (with zero-fill: whole items plus one zero-completed
//! item).
//!
//! A child process (the helper binary's `crash-writer`, see `npaa_testutil::child`) appends rows whose
//! content encodes their index, in blocks of random size: mostly single rows, so that the
//! header is updated thousands of times through both paths (the `pwrite` when the number of
//! digits changes, 9 -> 10, 99 -> 100, ..., 9999 -> 10000, and the memory-mapped digit store
//! otherwise), and some blocks of thousands of rows, so that a kill can cut a large data write
//! (rows are 24 bytes, so a write cut at a page boundary cuts a row). The parent kills it at a
//! random moment, hundreds of times over the modes below, and checks every file left behind:
//! in Rust byte by byte, then all of them with NumPy in one Python call.
//!
//! `NPAA_CRASH_KILLS` changes the number of kills (default 600); `NPAA_TEST_SEED` replays a
//! run.

use std::time::Duration;

use npaa_testutil::crash;

#[test]
fn killed_writers_leave_loadable_prefixes() {
    // A bound on the wall time, so that a slow machine makes fewer kills, not a slow test.
    let tally = crash::run_children(
        600,
        120,
        Duration::from_secs(50),
        &crash::MODES,
        "crash-writer",
    );
    // Some mapped-mode writers must have died with space reserved (not on Windows, which has
    // no reservation mark: mapped mode appends with positional writes there).
    assert!(
        cfg!(windows) || tally.kills < 60 || tally.reserved_tail > 0,
        "{tally:?}"
    );
}
