//! Replays every input saved in `fuzz/regressions/<target>/` through the very code the fuzz
//! targets run (`npaa_testutil::fuzz`), so that the normal `cargo test`
//! (stable toolchain, no libFuzzer) keeps every crash the fuzzers found fixed.
//!
//! Each input must finish without a panic (the targets check npaa's promises, not just the
//! absence of crashes: see `npaa_testutil::fuzz`) and within a few seconds (no infinite loop).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use npaa_testutil::fuzz as targets;

/// The longest one input may take (they take milliseconds; a hang fails the test).
const TIME_LIMIT: Duration = Duration::from_secs(20);

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    files.sort();
    files
}

fn replay(target: &str, run: fn(&Path, &[u8])) {
    let files = inputs(target);
    assert!(!files.is_empty(), "no inputs in fuzz/regressions/{target}");
    for file in files {
        let data = std::fs::read(&file).unwrap();
        let (tx, rx) = mpsc::channel();
        let name = file.display().to_string();
        std::thread::spawn(move || {
            let dir = npaa_testutil::tempdir();
            let outcome = std::panic::catch_unwind(|| run(dir.path(), &data));
            let _ = tx.send(outcome.is_ok());
        });
        match rx.recv_timeout(TIME_LIMIT) {
            Ok(true) => {}
            Ok(false) => panic!("{name}: the {target} target failed on this input (see above)"),
            Err(_) => panic!("{name}: the {target} target took more than {TIME_LIMIT:?}"),
        }
    }
}

#[test]
fn header_regressions() {
    replay("header", targets::header);
}

#[test]
fn open_inspect_recover_regressions() {
    replay("open_inspect_recover", targets::open_inspect_recover);
}
