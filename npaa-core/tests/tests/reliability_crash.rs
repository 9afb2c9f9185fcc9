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

use npaa_testutil::mount::Tmpfs;
use npaa_testutil::{crash, run_python, tempdir};

#[test]
fn killed_writers_leave_loadable_prefixes() {
    // A bound on the wall time, so that a slow machine makes fewer kills, not a slow test.
    let dir = tempdir();
    let tally = crash::run_children(
        dir.path(),
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

/// On a file system without extended attributes (ramfs, as NFSv3 or exFAT), mapped mode still
/// reserves and maps space (its mark is in the file's bytes), and writers killed in mapped
/// mode leave files that NumPy loads and `recover` cuts right.
#[test]
#[ignore = "needs root (mounts a ramfs); scripts/test runs it"]
fn killed_mapped_writers_on_a_file_system_without_xattrs() {
    let dir = tempdir();
    let ramfs = Tmpfs::mount_ramfs(&dir.path().join("mnt"));
    let refused = run_python(
        "import os, sys, errno\n\
         p = os.path.join(sys.argv[1], 'probe')\n\
         open(p, 'w').close()\n\
         try:\n\
         \x20   os.setxattr(p, 'user.probe', b'1')\n\
         \x20   print('stored')\n\
         except OSError as e:\n\
         \x20   print('refused' if e.errno == errno.EOPNOTSUPP else e)\n\
         os.remove(p)\n",
        &[&ramfs.at],
    );
    assert_eq!(refused.trim(), "refused", "ramfs must have no user xattrs");
    let mapped: Vec<crash::Mode> = crash::MODES
        .iter()
        .copied()
        .filter(|m| m.name == "mapped")
        .collect();
    let tally = crash::run_children(
        &ramfs.at,
        150,
        40,
        Duration::from_secs(20),
        &mapped,
        "crash-writer",
    );
    // Most writers die with space reserved: mapped mode did not fall back to `pwrite`.
    assert!(tally.reserved_tail > tally.counted_some / 2, "{tally:?}");
}
