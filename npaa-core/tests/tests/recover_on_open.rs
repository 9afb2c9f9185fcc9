//! `AppendOptions::recover`: opening a file a crash left inconsistent repairs it under the
//! writer's lock, reports what it repaired, then appends; checked with NumPy.

use std::fs::{self, OpenOptions};
use std::io::Write;

use npaa_core::{AppendArray, AppendOptions, Error, needs_recovery};
use npaa_testutil::{assert_numpy_loads, tempdir};

/// A file of rows `[i, i]` (f8) whose header counts `counted` of them, followed by `extra`
/// uncounted bytes: what a writer killed before its header update (or with the header rewrite
/// off) leaves.
fn uncounted(path: &std::path::Path, counted: u64, extra: &[u8]) {
    let array = AppendOptions::new()
        .rewrite_header_on_append(false)
        .open(path)
        .unwrap();
    let rows: Vec<f64> = (0..counted).flat_map(|i| [i as f64, i as f64]).collect();
    array.append(&rows, &[counted, 2]).unwrap();
    array.close().unwrap();
    OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(extra)
        .unwrap();
}

#[test]
fn repairs_counts_uncounted_rows_and_cuts_a_partial_one_then_appends() {
    let dir = tempdir();
    let path = dir.path().join("a.npy");
    // Two whole uncounted rows ([3, 3], [4, 4]) and 5 bytes of a third.
    let extra: Vec<u8> = [3.0f64, 3.0, 4.0, 4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .chain([1, 2, 3, 4, 5])
        .collect();
    uncounted(&path, 3, &extra);
    assert!(needs_recovery(&path).unwrap());
    let before = fs::read(&path).unwrap();

    // Without the option the file is refused, untouched.
    let refused = AppendArray::open(&path).unwrap_err();
    assert!(
        matches!(refused, Error::NeedsRecovery { .. }),
        "{refused:?}"
    );
    assert_eq!(fs::read(&path).unwrap(), before);

    let array = AppendOptions::new().recover(true).open(&path).unwrap();
    let report = array.recovered().expect("a report").clone();
    assert_eq!(report.items_before, Some(3));
    assert_eq!(report.items_after, 5);
    assert_eq!(report.bytes_cut, 5);
    assert_eq!(report.bytes_zero_filled, 0);
    assert!(report.changed);
    array.append(&[5.0f64, 5.0], &[1, 2]).unwrap();
    array.close().unwrap();
    assert_numpy_loads(&path, "np.repeat(np.arange(6.0), 2).reshape(6, 2)");
}

#[test]
fn a_consistent_file_is_reported_unchanged_and_a_missing_one_not_at_all() {
    let dir = tempdir();
    let path = dir.path().join("a.npy");
    uncounted(&path, 2, &[]);
    let array = AppendOptions::new().recover(true).open(&path).unwrap();
    let report = array.recovered().unwrap();
    assert!(!report.changed);
    assert_eq!((report.items_before, report.items_after), (Some(2), 2));
    drop(array);
    // No recovery asked: no report.
    assert!(AppendArray::open(&path).unwrap().recovered().is_none());
    // No file: nothing to repair; the first append creates it.
    let new = dir.path().join("new.npy");
    let array = AppendOptions::new().recover(true).open(&new).unwrap();
    assert!(array.recovered().is_none());
    array.append(&[1u8, 2], &[2]).unwrap();
    array.close().unwrap();
    assert_numpy_loads(&new, "np.array([1, 2], dtype=np.uint8)");
    // delete_if_exists starts over: nothing is repaired.
    let extra = [0u8; 3];
    uncounted(&path, 1, &extra);
    let array = AppendOptions::new()
        .recover(true)
        .delete_if_exists(true)
        .open(&path)
        .unwrap();
    assert!(array.recovered().is_none());
}

#[test]
fn a_file_another_writer_holds_is_neither_repaired_nor_opened() {
    let dir = tempdir();
    let path = dir.path().join("a.npy");
    uncounted(&path, 1, &[9; 20]);
    let before = fs::read(&path).unwrap();
    let holder = AppendOptions::new().recover(true).open(&path).unwrap();
    assert!(holder.recovered().unwrap().changed);
    let repaired = fs::read(&path).unwrap();
    assert_ne!(repaired, before);
    let second = AppendOptions::new().recover(true).open(&path).unwrap_err();
    assert!(matches!(second, Error::Locked { .. }), "{second:?}");
    assert_eq!(fs::read(&path).unwrap(), repaired);
}
