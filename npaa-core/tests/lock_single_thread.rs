//! Closing a locked file in a single-threaded process (no test harness: `main` runs on the
//! process's only thread, which is checked first).
//!
//! A handle skips the explicit unlock before closing when the process has one thread and has
//! not forked since the file was opened; otherwise it unlocks first. Checked here:
//! a. open, append, close, reopen, 1000 times: closing alone releases the lock;
//! b. a child forked while the file is open, still alive after the close: the parent reopens
//!    at once, which only works if the fork forced the explicit unlock;
//! c. with strace: a single-threaded process takes the lock once and never calls
//!    `flock(LOCK_UN)`; one that started a thread does. Like an `#[ignore]`d test, this check
//!    runs only when asked (`--ignored` or `--include-ignored`, as `scripts/test` does), and
//!    then fails when strace or glibc's `__libc_single_threaded` is missing.
//!
//! The processes of check c are this binary run again, with `CHILD_ENV` naming what to do
//! (this binary has no harness, so they are no `#[test]`s).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use npaa_core::{AppendArray, AppendOptions, Error, inspect};
use npaa_testutil::require;

/// Set in the children of check c: `single` or `threaded`.
const CHILD_ENV: &str = "NPAA_LOCK_SINGLE_THREAD_CHILD";
/// The file the child appends to.
const PATH_ENV: &str = "NPAA_LOCK_SINGLE_THREAD_PATH";

const COLS: u64 = 3;

fn row(i: u64) -> [u64; COLS as usize] {
    [i, i * 2 + 1, i * 3 + 2]
}

/// The bytes of rows `0..n` as the file stores them (`<u8`).
fn data(n: u64) -> Vec<u8> {
    (0..n).flat_map(row).flat_map(|v| v.to_le_bytes()).collect()
}

/// Checks that the file at `path` holds exactly rows `0..n`.
fn assert_rows(path: &Path, n: u64) {
    let info = inspect(path).unwrap();
    assert_eq!(info.header.shape(), vec![n, COLS], "{}", path.display());
    assert!(!info.needs_recovery, "{}", path.display());
    let bytes = fs::read(path).unwrap();
    let header_len = usize::try_from(info.header_len).unwrap();
    assert!(bytes[header_len..] == data(n), "{}: data", path.display());
}

/// The number of threads of this process, from `/proc/self/status`.
fn threads() -> u32 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .expect("no Threads: line in /proc/self/status")
        .trim()
        .parse()
        .unwrap()
}

/// glibc's `__libc_single_threaded`, or `None` where it does not exist.
fn glibc_single_threaded() -> Option<bool> {
    // SAFETY: dlsym with the global-scope pseudo-handle and a NUL-terminated literal only
    // looks the symbol up.
    let address = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"__libc_single_threaded".as_ptr()) };
    if address.is_null() {
        return None;
    }
    // SAFETY: the symbol is glibc's one-byte flag, alive for the whole process; this thread is
    // the only one that could touch it while the tests run.
    Some(unsafe { std::ptr::read_volatile(address as *const libc::c_char) } != 0)
}

/// Opens `path` (existing), appends row `i`, closes.
fn cycle(path: &Path, i: u64) {
    let array = AppendArray::open(path).unwrap_or_else(|e| panic!("cycle {i}: opening: {e}"));
    array.append(&row(i), &[1, COLS]).unwrap();
    array.close().unwrap();
}

/// Creates `path` holding row 0.
fn create(path: &Path) {
    let array = AppendOptions::new()
        .delete_if_exists(true)
        .open(path)
        .unwrap();
    array.append(&row(0), &[1, COLS]).unwrap();
    array.close().unwrap();
}

fn check_reopen_after_close(dir: &Path) {
    let path = dir.join("reopen.npy");
    create(&path);
    let cycles = 1000;
    for i in 1..=cycles {
        cycle(&path, i);
    }
    assert_rows(&path, cycles + 1);
}

fn check_fork_forces_the_unlock(dir: &Path) {
    let path = dir.join("forked.npy");
    create(&path);
    let array = AppendArray::open(&path).unwrap();
    array.append(&row(1), &[1, COLS]).unwrap();

    // SAFETY: the process has one thread (checked in main), so the child may run any code;
    // it only sleeps and leaves with _exit, without running this program's destructors (the
    // handle's among them) or flushing anything.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // The child: keeps its copy of the open file (and of its lock) for 2 s.
        // SAFETY: sleep and _exit are async-signal-safe and take no pointers.
        unsafe {
            libc::sleep(2);
            libc::_exit(0);
        }
    }
    let child_alive = || {
        let mut status = 0;
        // SAFETY: `pid` is our child; `status` is a valid out pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert!(r >= 0, "waitpid: {}", std::io::Error::last_os_error());
        r == 0
    };

    array.close().unwrap();
    assert!(
        child_alive(),
        "the child exited before the close: nothing checked"
    );
    // The child still shares the parent's open file: the lock is free only if the parent
    // released it explicitly before closing.
    let reopened = match AppendArray::open(&path) {
        Ok(a) => a,
        Err(e @ Error::Locked { .. }) => {
            panic!("reopening while the forked child lives: {e} (the close did not unlock)")
        }
        Err(e) => panic!("reopening: {e}"),
    };
    assert!(
        child_alive(),
        "the child exited before the reopen: nothing checked"
    );
    reopened.append(&row(2), &[1, COLS]).unwrap();
    reopened.close().unwrap();
    // Later handles, opened after the fork, skip the unlock again; the lock is still freed.
    cycle(&path, 3);
    cycle(&path, 4);
    assert_rows(&path, 5);

    let mut status = 0;
    // SAFETY: `pid` is our child; `status` is a valid out pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid, "waitpid: {}", std::io::Error::last_os_error());
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child status {status:#x}"
    );
}

/// Runs this binary as a child in `mode` under `strace -f -e trace=flock` and returns the
/// traced `flock` lines.
fn traced_flocks(strace: &Path, dir: &Path, mode: &str) -> Vec<String> {
    let path = dir.join(format!("traced-{mode}.npy"));
    create(&path);
    let trace = dir.join(format!("{mode}.trace"));
    let out = Command::new(strace)
        .args(["-f", "-qq", "-e", "signal=none", "-e", "trace=flock", "-o"])
        .arg(&trace)
        .arg(std::env::current_exe().unwrap())
        .env(CHILD_ENV, mode)
        .env(PATH_ENV, &path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{mode} child: {:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("CHILD DONE"), "{mode} child: {stdout}");
    assert_rows(&path, 2);
    fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter(|l| l.contains("flock("))
        .map(str::to_owned)
        .collect()
}

fn check_traced_unlocks(dir: &Path) {
    let strace = require::tool("strace", "trace the flock calls of a single-threaded close");
    let count = |lines: &[String], what: &str| lines.iter().filter(|l| l.contains(what)).count();

    let single = traced_flocks(&strace, dir, "single");
    if glibc_single_threaded().is_none() {
        require::missing(
            "glibc's __libc_single_threaded",
            "skip the unlock (without it the unlock is never skipped)",
        );
    }
    assert_eq!(count(&single, "LOCK_EX|LOCK_NB"), 1, "single: {single:#?}");
    assert_eq!(count(&single, "LOCK_UN"), 0, "single: {single:#?}");
    assert_eq!(single.len(), 1, "single: {single:#?}");

    let threaded = traced_flocks(&strace, dir, "threaded");
    assert_eq!(
        count(&threaded, "LOCK_EX|LOCK_NB"),
        1,
        "threaded: {threaded:#?}"
    );
    assert_eq!(count(&threaded, "LOCK_UN"), 1, "threaded: {threaded:#?}");
    assert_eq!(threaded.len(), 2, "threaded: {threaded:#?}");
}

/// The child of check c: one open-append-close cycle on an existing file, after starting and
/// joining a thread in `threaded` mode.
fn child(mode: &str) {
    let path = PathBuf::from(std::env::var_os(PATH_ENV).expect("no path for the child"));
    match mode {
        "single" => assert_eq!(threads(), 1),
        "threaded" => std::thread::spawn(|| ()).join().unwrap(),
        other => panic!("unknown child mode {other:?}"),
    }
    println!(
        "child {mode}: glibc single-threaded flag {:?}",
        glibc_single_threaded()
    );
    cycle(&path, 1);
    println!("CHILD DONE");
}

/// A named check, run in order by `main`, and whether it is ignored unless asked for (as
/// `#[ignore]` marks a test: it needs a system tool).
type Check = (&'static str, fn(&Path), bool);

fn main() {
    if let Ok(mode) = std::env::var(CHILD_ENV) {
        child(&mode);
        return;
    }
    assert_eq!(
        threads(),
        1,
        "the test must run on the process's only thread"
    );
    if let Some(flag) = glibc_single_threaded() {
        assert!(flag, "glibc says this process may have threads");
    }
    let dir = tempfile::tempdir().unwrap();
    // libtest's flags for ignored tests, which `cargo test -- --include-ignored` passes on:
    // `--ignored` runs only those, `--include-ignored` those too.
    let flag = |f: &str| std::env::args().any(|a| a == f);
    let (only_ignored, include_ignored) = (flag("--ignored"), flag("--include-ignored"));
    let checks: [Check; 3] = [
        ("reopen_after_close", check_reopen_after_close, false),
        (
            "fork_forces_the_unlock",
            check_fork_forces_the_unlock,
            false,
        ),
        ("traced_unlocks", check_traced_unlocks, true),
    ];
    for (name, check, ignored) in checks {
        let runs = if ignored {
            only_ignored || include_ignored
        } else {
            !only_ignored
        };
        if !runs {
            println!("check {name}: not run (ignored checks need strace: --include-ignored)");
            continue;
        }
        println!("check {name} ...");
        check(dir.path());
        assert_eq!(threads(), 1, "{name} left threads behind");
        if let Some(flag) = glibc_single_threaded() {
            assert!(flag, "{name}: glibc now says this process may have threads");
        }
        println!("check {name}: ok");
    }
}
