//! Files shared with readers, checked without NumPy so that they run everywhere, Windows (under
//! Wine) included: the writer lock keeps writers out and never readers (on Windows, byte-range
//! locks are mandatory: a lock covering the data would make `np.load` fail), and
//! `delete_if_exists` and a deleted file behave as on Unix while other handles are open.
//!
//! Readers here are other handles of this process: Windows locks belong to a handle, so a
//! handle of this process is kept out exactly as another process would be (the `lock-contender`
//! child checks another process too).

use std::fs::{self, File};
use std::io::Read;
use std::path::Path;

use npaa_core::{AppendArray, AppendOptions, Error, inspect, recover};
use npaa_testutil::child;
use npaa_testutil::rows::{check_rows_prefix, rows};
use npaa_testutil::tempdir;

/// Every byte of the file at `path`, read through a handle of its own.
fn read_all(path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .unwrap_or_else(|e| panic!("a reader could not read {}: {e}", path.display()));
    bytes
}

/// Checks that `bytes` are a whole .npy file of rows `0..n` (the header read by npaa from a
/// copy at `copy`, the data row by row).
fn assert_rows_file(bytes: &[u8], copy: &Path, n: u64) {
    fs::write(copy, bytes).unwrap();
    let info = inspect(copy).unwrap();
    assert_eq!(info.header.shape(), [n, 3], "{info:?}");
    assert_eq!(info.data_present, info.data_expected, "{info:?}");
    let data = &bytes[info.header_len as usize..];
    assert_eq!(check_rows_prefix(data, "the file"), (n, 0));
}

#[test]
fn readers_read_every_byte_while_a_writer_holds_the_lock() {
    let dir = tempdir();
    let path = dir.path().join("held.npy");
    let array = AppendArray::open(&path).unwrap();
    array.append(&rows(0, 10), &[10, 3]).unwrap();
    array.update_header().unwrap();

    // A reader opened while the writer holds its lock reads the whole file, header and data.
    let mut reader = File::open(&path).unwrap();
    assert_rows_file(&read_all(&path), &dir.path().join("copy.npy"), 10);

    // Writers are kept out: this process's (appending, recovering), another process's.
    let locked = |r: Result<(), Error>, what: &str| match r {
        Err(Error::Locked { path: p, .. }) => assert_eq!(p, path, "{what}"),
        other => panic!("{what}: expected Locked, got {other:?}"),
    };
    locked(AppendArray::open(&path).map(drop), "open");
    locked(recover(&path).map(drop), "recover");
    let out = child::command("lock-contender")
        .env("NPAA_LOCK_PATH", &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("LOCKED-ERROR"),
        "another process: {stdout}"
    );

    // The writer goes on while the reader's handle is open; the reader sees the new rows.
    array.append(&rows(10, 5), &[5, 3]).unwrap();
    array.update_header().unwrap();
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).unwrap();
    assert_rows_file(&bytes, &dir.path().join("copy.npy"), 15);
    array.close().unwrap();

    // Closing released the lock.
    let array = AppendArray::open(&path).unwrap();
    array.append(&rows(15, 1), &[1, 3]).unwrap();
    array.close().unwrap();
    assert_rows_file(&read_all(&path), &dir.path().join("copy.npy"), 16);
}

#[test]
fn delete_if_exists_replaces_a_file_that_a_reader_holds_open() {
    let dir = tempdir();
    let path = dir.path().join("replaced.npy");
    let array = AppendArray::open(&path).unwrap();
    array.append(&rows(0, 5), &[5, 3]).unwrap();
    array.close().unwrap();
    let old = read_all(&path);
    let mut reader = File::open(&path).unwrap();

    // The old file's name is free at once (POSIX semantics on Windows): the new file is
    // created while the reader still has the old one open.
    let array = AppendOptions::new()
        .delete_if_exists(true)
        .open(&path)
        .unwrap();
    array.append(&rows(0, 2), &[2, 3]).unwrap();
    array.close().unwrap();
    assert_rows_file(&read_all(&path), &dir.path().join("copy.npy"), 2);

    // The reader still reads the old file, whole.
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).unwrap();
    assert_eq!(bytes, old);
}

/// Appends 5 rows, lets `delete` take the file away from its name, appends 5 more: closing
/// reports `FileChanged`, and the open file holds all ten rows.
fn deleted_while_appending(name: &str, delete: impl FnOnce(&Path)) {
    let dir = tempdir();
    let path = dir.path().join(name);
    let array = AppendArray::open(&path).unwrap();
    array.append(&rows(0, 5), &[5, 3]).unwrap();
    let mut original = File::open(&path).unwrap();
    delete(&path);
    // Appends go on to the open file; closing says what happened.
    array.append(&rows(5, 5), &[5, 3]).unwrap();
    match array.close() {
        Err(Error::FileChanged { path: p, what, .. }) => {
            assert_eq!(p, path);
            assert!(what.contains("deleted"), "{what}");
        }
        other => panic!("expected FileChanged, got {other:?}"),
    }
    let mut bytes = Vec::new();
    original.read_to_end(&mut bytes).unwrap();
    assert_rows_file(&bytes, &dir.path().join("kept.npy"), 10);
    drop(original);
    assert!(!path.exists(), "the deleted file came back");
}

/// Deleted by name (on Windows the deletion may wait for the open handles: a pending deletion
/// counts as deleted). Wine 8 shows a pending deletion to no other handle: not run there.
#[test]
fn a_file_deleted_while_appending_is_reported_and_keeps_its_rows() {
    deleted_while_appending("deleted.npy", |path| fs::remove_file(path).unwrap());
}

/// Moved away, then deleted under its new name: the name is gone at once, as Windows 10's
/// POSIX deletion does it (and Wine, which has no such deletion, can check this way).
#[test]
fn a_file_moved_away_and_deleted_while_appending_is_reported() {
    deleted_while_appending("moved.npy", |path| {
        let away = path.with_extension("away");
        fs::rename(path, &away).unwrap();
        fs::remove_file(&away).unwrap();
    });
}
