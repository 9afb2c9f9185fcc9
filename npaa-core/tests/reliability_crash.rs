//! Crash consistency of the Rust API: a writer killed with SIGKILL at a random moment leaves a
//! file that NumPy loads as an exact prefix of what was appended, and that `recover` turns
//! into an exact prefix of whole items (with zero-fill: whole items plus one zero-completed
//! item).
//!
//! A child process (this test binary run again, see `reliability_support`) appends rows whose
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

mod reliability_support;

use std::path::PathBuf;
use std::time::Duration;

use npaa_core::{AppendOptions, Durability, Order};
use reliability_support::crash::{self, Mode};
use reliability_support::{ROW_WORDS, child_arg, child_role, rows};

/// Each mode is one way the header and the data can be out of step.
const MODES: [Mode; 6] = [
    // Defaults: header rewritten after every append (pwrite or mmap store).
    Mode {
        name: "rewrite",
        fortran: false,
    },
    // The same in a Fortran-order file (grows along the last axis).
    Mode {
        name: "rewrite-fortran",
        fortran: true,
    },
    // The header counts 0 until close.
    Mode {
        name: "no-rewrite",
        fortran: false,
    },
    // A 4 KiB write buffer: items reach the file in batches.
    Mode {
        name: "buffered",
        fortran: false,
    },
    // The header advances only at sync points (every 64 KiB).
    Mode {
        name: "every-bytes",
        fortran: false,
    },
    // Mapped mode: rows copied into reserved space (a 16 KiB window: a new reservation every
    // 680 rows; blocks over 2 KiB are written with pwrite).
    Mode {
        name: "mapped",
        fortran: false,
    },
];

fn options(mode: &str) -> AppendOptions {
    let o = AppendOptions::new();
    match mode {
        "rewrite" => o,
        "rewrite-fortran" => o.order(Order::Fortran),
        "no-rewrite" => o.rewrite_header_on_append(false),
        "buffered" => o.buffer_capacity(4096),
        "every-bytes" => o.durability(Durability::EveryBytes(64 << 10)),
        "mapped" => o.mapped_window(16 << 10),
        _ => panic!("unknown mode {mode}"),
    }
}

/// The child's work: append rows until killed (or until `crash::MAX_ROWS`).
#[test]
fn crash_child_writer() {
    if child_role().as_deref() != Some("crash-writer") {
        return;
    }
    let path = PathBuf::from(child_arg("NPAA_CRASH_PATH"));
    let mode = child_arg("NPAA_CRASH_MODE");
    let fortran = mode == "rewrite-fortran";
    let array = options(&mode).open(&path).unwrap();
    println!("READY");
    crash::child_appends(child_arg("NPAA_CRASH_SEED").parse().unwrap(), |start, n| {
        // Column-major blocks of shape (3, n) have the same bytes as C-order (n, 3) rows.
        let shape = if fortran {
            [ROW_WORDS as u64, n]
        } else {
            [n, ROW_WORDS as u64]
        };
        array.append(&rows(start, n), &shape).unwrap();
    });
    array.close().unwrap();
    println!("DONE");
}

#[test]
fn killed_writers_leave_loadable_prefixes() {
    // A bound on the wall time, so that a slow machine makes fewer kills, not a slow test.
    let tally = crash::run_child_test(
        600,
        120,
        Duration::from_secs(50),
        &MODES,
        "crash_child_writer",
        "crash-writer",
    );
    // Some mapped-mode writers must have died with space reserved.
    assert!(tally.kills < 60 || tally.reserved_tail > 0, "{tally:?}");
}
