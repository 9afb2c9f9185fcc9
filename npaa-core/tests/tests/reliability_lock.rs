//! Single writer, across real processes: a second writer gets `Error::Locked` naming the file
//! at once (not a corrupted file), NumPy reads meanwhile, and the lock dies with its holder.
//!
//! The processes are the helper binary's `lock-holder` and `lock-contender` (see
//! `npaa_testutil::child`).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use npaa_core::{
    AppendArray, AppendOptions, EnsureOptions, Error, RecoverOptions, ensure_appendable,
    ensure_appendable_with, recover, recover_with,
};
use npaa_testutil::child::{self, describe};
use npaa_testutil::rows::{rows, rows_expr};
use npaa_testutil::{assert_numpy_loads, tempdir};

/// The `lock-holder` child: it opens the file, appends rows 0..10, says LOCKED, waits for a
/// line on stdin, appends rows 10..20, closes.
struct Holder {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Holder {
    fn start(path: &Path) -> Holder {
        let mut child = child::command("lock-holder")
            .env("NPAA_LOCK_PATH", path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut holder = Holder {
            stdout: BufReader::new(child.stdout.take().unwrap()),
            child,
            stdin,
        };
        holder.wait_for("LOCKED");
        holder
    }

    fn wait_for(&mut self, marker: &str) {
        let mut line = String::new();
        while line.trim() != marker {
            line.clear();
            assert_ne!(
                self.stdout.read_line(&mut line).unwrap(),
                0,
                "the holder exited before printing {marker}"
            );
        }
    }
}

fn contend(path: &Path) -> String {
    let out = child::command("lock-contender")
        .env("NPAA_LOCK_PATH", path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(out.status));
    let stdout = String::from_utf8(out.stdout).unwrap();
    stdout
        .lines()
        .find(|l| l.contains(" after "))
        .unwrap_or_else(|| panic!("no outcome in {stdout:?}"))
        .to_owned()
}

#[test]
fn a_second_process_gets_locked_at_once_and_readers_are_unaffected() {
    let dir = tempdir();
    let path = dir.path().join("shared.npy");
    let mut holder = Holder::start(&path);
    let before = fs::read(&path).unwrap();

    // Another process: refused at once, naming the file.
    let outcome = contend(&path);
    assert!(
        outcome.starts_with(&format!("LOCKED-ERROR {} after ", path.display())),
        "{outcome}"
    );
    let ms: u64 = outcome.rsplit(' ').nth(1).unwrap().parse().unwrap();
    assert!(ms < 1000, "the refusal took {ms} ms: it must not wait");

    // This process, through every entry point that writes.
    let locked = |r: Result<(), Error>, what: &str| match r {
        Err(Error::Locked { path: p, .. }) => assert_eq!(p, path, "{what}"),
        other => panic!("{what}: expected Locked, got {other:?}"),
    };
    locked(AppendArray::open(&path).map(drop), "open");
    locked(
        AppendOptions::new()
            .delete_if_exists(true)
            .open(&path)
            .map(drop),
        "open with delete_if_exists",
    );
    locked(recover(&path).map(drop), "recover");
    locked(ensure_appendable(&path).map(drop), "ensure_appendable");
    locked(
        ensure_appendable_with(&path, EnsureOptions::new().in_place(true)).map(drop),
        "ensure_appendable in place",
    );
    let message = AppendArray::open(&path).unwrap_err().to_string();
    assert!(
        message.contains(&path.display().to_string()) && message.contains("locked"),
        "{message}"
    );
    // Read-only calls work: a dry-run recover reports nothing to do.
    let dry = recover_with(&path, RecoverOptions::new().dry_run(true)).unwrap();
    assert!(!dry.changed);
    assert_eq!(fs::read(&path).unwrap(), before, "a refused writer wrote");

    // NumPy reads while the holder writes.
    assert_numpy_loads(&path, &rows_expr(10));

    // The holder finishes; its file is whole.
    writeln!(holder.stdin, "go").unwrap();
    holder.wait_for("CLOSED");
    assert!(holder.child.wait().unwrap().success());
    assert_numpy_loads(&path, &rows_expr(20));

    // Free again: the next writer gets in.
    let outcome = contend(&path);
    assert!(outcome.starts_with("OPENED"), "{outcome}");
}

#[test]
fn the_lock_dies_with_a_killed_holder() {
    let dir = tempdir();
    let path = dir.path().join("killed.npy");
    let mut holder = Holder::start(&path);
    assert!(contend(&path).starts_with("LOCKED-ERROR"));
    holder.child.kill().unwrap();
    holder.child.wait().unwrap();
    // No stale lock: the kernel released it with the process.
    let deadline = Instant::now() + Duration::from_secs(5);
    let array = loop {
        match AppendArray::open(&path) {
            Ok(a) => break a,
            Err(Error::Locked { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("{e}"),
        }
    };
    array.append(&rows(10, 5), &[5, 3]).unwrap();
    array.close().unwrap();
    assert_numpy_loads(&path, &rows_expr(15));
}

/// Unix only: a Windows child inherits no handle std opens (they are not inheritable), and
/// Windows locks belong to the handle.
#[cfg(unix)]
#[test]
fn closing_releases_the_lock_while_other_threads_start_processes() {
    // A child process started by another thread shares the program's open files until it
    // executes its program. If closing only dropped this descriptor, the lock would stay held
    // through the child's copy for that while, and reopening right after a close would fail
    // with `Locked` now and then (it did, in the C ABI tests). Close unlocks explicitly.
    let dir = tempdir();
    let path = dir.path().join("spawning.npy");
    let array = AppendOptions::new()
        .delete_if_exists(true)
        .open(&path)
        .unwrap();
    array.append(&rows(0, 1), &[1, 3]).unwrap();
    array.close().unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let cycles = 3000;
    std::thread::scope(|s| {
        let spawner = s.spawn(|| {
            let mut spawned = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::process::Command::new("true").status().unwrap();
                spawned += 1;
            }
            spawned
        });
        // Stops the spawner however this thread leaves the loop, a failed assertion included.
        struct StopOnDrop<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let guard = StopOnDrop(&stop);
        for i in 1..=cycles {
            let array = AppendArray::open(&path)
                .unwrap_or_else(|e| panic!("cycle {i}: reopening after a close: {e}"));
            array.append(&rows(i, 1), &[1, 3]).unwrap();
            array.close().unwrap();
            // recover takes and releases the same lock.
            recover(&path).unwrap_or_else(|e| panic!("cycle {i}: recover: {e}"));
        }
        drop(guard);
        let spawned = spawner.join().unwrap();
        assert!(
            spawned > 10,
            "only {spawned} processes were started meanwhile"
        );
    });
    assert_numpy_loads(&path, &rows_expr(cycles + 1));
}
