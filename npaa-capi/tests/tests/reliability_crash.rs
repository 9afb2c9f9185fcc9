//! Crash consistency through the C ABI: a writer appending with npaa_open() / npaa_append() /
//! npaa_close(), killed with SIGKILL at random moments, leaves files that NumPy loads as an
//! exact prefix of what was appended and that npaa_recover()'s core turns into whole items.
//!
//! The campaign (kill timing, checks of every outcome, one NumPy call for all files) is the
//! one of npaa-core's `reliability_crash` test, shared through `npaa_testutil::crash`; only
//! the writer differs: here it calls the C functions, as a C program linked to libnpaa does
//! (the helper binary's `capi-crash-writer`, see `npaa_testutil::child`).
//! `NPAA_CRASH_KILLS` changes the number of kills (default 250).

use std::time::Duration;

use npaa_testutil::crash::{self, Mode};

/// The crash modes of the C ABI writer: all of npaa-core's but `buffered`, which its child
/// (`npaa-test-child capi-crash-writer`) does not write.
fn modes() -> Vec<Mode> {
    crash::MODES
        .into_iter()
        .filter(|m| m.name != "buffered")
        .collect()
}

#[test]
fn killed_c_writers_leave_loadable_prefixes() {
    let dir = npaa_testutil::tempdir();
    let tally = crash::run_children(
        dir.path(),
        250,
        75,
        Duration::from_secs(30),
        &modes(),
        "capi-crash-writer",
    );
    // Some mapped-mode writers must have died with space reserved (not on Windows, which has
    // no reservation mark: mapped mode appends with positional writes there).
    assert!(
        cfg!(windows) || tally.kills < 50 || tally.reserved_tail > 0,
        "{tally:?}"
    );
}
