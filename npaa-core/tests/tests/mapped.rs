//! Mapped mode (`AppendOptions::mapped_window`): small appends copied into reserved space past
//! the data. The file is byte-identical to `np.save` after close; while open (and after a
//! kill) it carries reserved space that NumPy ignores, that `inspect` reports, and that the
//! next open cuts; where space cannot be reserved, the handle goes on with `pwrite`.

use std::fs;
use std::path::Path;
use std::process::Stdio;

use npaa_core::{AppendArray, AppendOptions, Error, Order, inspect};
use npaa_testutil::child;
use npaa_testutil::mount::Tmpfs;
use npaa_testutil::rows::{
    ROW_BYTES, ROW_WORDS, append_in_blocks, check_rows_prefix, rows, rows_expr,
};
use npaa_testutil::{assert_numpy_loads, np_save, run_python, tempdir};

/// A small window, so that a few thousand appends take many reservations: blocks of up to 512
/// bytes go through the mapping, larger ones through `pwrite`.
const WINDOW: usize = 4096;

/// True when `path` carries no extended attribute (the reservation mark is gone).
fn has_no_xattr(path: &Path) -> bool {
    run_python("import os, sys\nprint(os.listxattr(sys.argv[1]))", &[path]).trim() == "[]"
}

fn assert_same_as_np_save(path: &Path, expr: &str) {
    let expected = path.with_extension("expected.npy");
    np_save(&expected, expr);
    assert!(
        fs::read(path).unwrap() == fs::read(&expected).unwrap(),
        "{} differs from np.save({expr})",
        path.display()
    );
}

#[test]
fn closed_files_are_byte_identical_to_np_save() {
    let dir = tempdir();
    for (fortran, name) in [(false, "c.npy"), (true, "f.npy")] {
        let path = dir.path().join(name);
        let order = if fortran { Order::Fortran } else { Order::C };
        let array = AppendOptions::new()
            .mapped_window(WINDOW)
            .order(order)
            .open(&path)
            .unwrap();
        append_in_blocks(&array, 0, 3000, fortran);
        // A cast on the way (u32 into the u64 file) goes through the mapping too.
        let small: Vec<u32> = (0..6).collect();
        let shape = if fortran { [3, 2] } else { [2, 3] };
        array.append(&small, &shape).unwrap();
        array.close().unwrap();
        let tail = "np.arange(6, dtype='<u8').reshape(2, 3)";
        let expr = if fortran {
            format!(
                "np.asfortranarray(np.concatenate([{}, {tail}]).T)",
                rows_expr(3000)
            )
        } else {
            format!("np.concatenate([{}, {tail}])", rows_expr(3000))
        };
        assert_same_as_np_save(&path, &expr);
        assert!(has_no_xattr(&path), "{name}: the reservation mark is left");
    }
}

#[test]
fn open_files_carry_marked_space_that_numpy_ignores() {
    let dir = tempdir();
    let path = dir.path().join("open.npy");
    let array = AppendOptions::new()
        .mapped_window(WINDOW)
        .open(&path)
        .unwrap();
    append_in_blocks(&array, 0, 500, false);
    let info = inspect(&path).unwrap();
    assert_eq!(info.header.shape(), vec![500, 3]);
    assert!(info.needs_recovery && info.reserved_tail > 0, "{info:?}");
    assert_eq!(
        info.data_present,
        info.data_expected + info.reserved_tail,
        "{info:?}"
    );
    // NumPy, reading while the writer is open, sees exactly the rows appended.
    assert_numpy_loads(&path, &rows_expr(500));

    // Rolling back gives the reserved space back too; appends then reserve anew.
    let savepoint = array.savepoint().unwrap().unwrap();
    append_in_blocks(&array, 500, 700, false);
    array.rollback_to(savepoint).unwrap();
    let info = inspect(&path).unwrap();
    assert!(!info.needs_recovery && info.reserved_tail == 0, "{info:?}");
    assert_eq!(info.header.shape(), vec![500, 3]);
    append_in_blocks(&array, 500, 800, false);
    array.close().unwrap();
    assert_same_as_np_save(&path, &rows_expr(800));
    assert!(has_no_xattr(&path));
}

#[test]
fn space_left_by_a_killed_writer_is_cut_by_the_next_open() {
    use std::io::{BufRead, BufReader};
    let dir = tempdir();
    let path = dir.path().join("killed.npy");
    // The helper's `mapped-writer`: 1000 rows through a 4 KiB window, then READY.
    let mut child = child::command("mapped-writer")
        .env("NPAA_MAPPED_PATH", &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    while line.trim() != "READY" {
        line.clear();
        assert_ne!(
            stdout.read_line(&mut line).unwrap(),
            0,
            "the child ended early"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let info = inspect(&path).unwrap();
    assert_eq!(info.header.shape(), vec![1000, 3]);
    assert!(info.reserved_tail > 0, "{info:?}");
    let bytes = fs::read(&path).unwrap();
    let data = &bytes[info.header_len as usize..];
    assert_eq!(
        check_rows_prefix(&data[..1000 * ROW_BYTES], "killed"),
        (1000, 0)
    );
    assert!(data[1000 * ROW_BYTES..].iter().all(|&b| b == 0));
    assert_numpy_loads(&path, &rows_expr(1000));

    // Opening for appending (no mapped mode needed) cuts the reserved space and goes on.
    let array = AppendArray::open(&path).unwrap();
    assert_eq!(array.shape(), Some(vec![1000, 3]));
    append_in_blocks(&array, 1000, 1010, false);
    array.close().unwrap();
    assert_same_as_np_save(&path, &rows_expr(1010));
    assert!(has_no_xattr(&path));
}

/// Sets the reservation mark of `path` to `value`, as a mapped-mode writer does.
fn mark(path: &Path, value: usize) {
    run_python(
        "import os, sys\nos.setxattr(sys.argv[1], 'user.npaa.reserved', sys.argv[2].encode())",
        &[path.as_os_str(), value.to_string().as_ref()],
    );
}

#[test]
fn the_mark_covers_reserved_space_only() {
    let dir = tempdir();
    let path = dir.path().join("marks.npy");
    np_save(&path, &rows_expr(10));
    let saved = fs::read(&path).unwrap();
    let header_len = saved.len() - 10 * ROW_BYTES;

    // A file that grew past the length its mark records: the mark says nothing about the
    // bytes past the header's count, which are data to `recover`.
    let mut bytes = saved.clone();
    for i in 10..12 {
        bytes.extend_from_slice(&npaa_testutil::rows::row_bytes(i));
    }
    fs::write(&path, &bytes).unwrap();
    mark(&path, bytes.len() - 1);
    let info = inspect(&path).unwrap();
    assert!(info.needs_recovery && info.reserved_tail == 0, "{info:?}");
    assert!(matches!(
        AppendArray::open(&path),
        Err(Error::NeedsRecovery { .. })
    ));
    let report = npaa_core::recover(&path).unwrap();
    assert_eq!(report.items_after, 12);
    assert_eq!(fs::read(&path).unwrap().len(), header_len + 12 * ROW_BYTES);
    assert_numpy_loads(&path, &rows_expr(12));
    assert!(has_no_xattr(&path), "recover leaves the mark");

    // Reserved space (zeros past the counted rows, the file as long as its mark says), then
    // cut mid-row as a broken copy would: still reserved space, not 4 rows of zeros.
    let mut bytes = fs::read(&path).unwrap();
    bytes.extend_from_slice(&[0u8; 100]);
    fs::write(&path, &bytes).unwrap();
    mark(&path, bytes.len() + 4096);
    let dry = npaa_core::recover_with(
        &path,
        npaa_core::RecoverOptions::new()
            .zerofill_incomplete(true)
            .dry_run(true),
    )
    .unwrap();
    assert_eq!((dry.items_after, dry.bytes_cut), (12, 100));
    assert_eq!(
        fs::read(&path).unwrap(),
        bytes,
        "a dry run changed the file"
    );
    let report = npaa_core::recover_with(
        &path,
        npaa_core::RecoverOptions::new().zerofill_incomplete(true),
    )
    .unwrap();
    assert_eq!(
        (
            report.items_after,
            report.bytes_cut,
            report.bytes_zero_filled
        ),
        (12, 100, 0)
    );
    assert_same_as_np_save(&path, &rows_expr(12));
    assert!(has_no_xattr(&path));
}

#[test]
fn modes_whose_header_lags_clear_a_stale_mark_at_open() {
    // A stale mark (a writer killed between cutting its space and removing the mark) on a
    // file then appended to with the header rewrite off: after a crash, the uncounted rows are
    // data that `recover` restores, not reserved space.
    let dir = tempdir();
    let path = dir.path().join("stale.npy");
    np_save(&path, &rows_expr(10));
    mark(&path, fs::metadata(&path).unwrap().len() as usize + 4096);
    let array = AppendOptions::new()
        .rewrite_header_on_append(false)
        .open(&path)
        .unwrap();
    assert!(has_no_xattr(&path), "the stale mark was kept");
    append_in_blocks(&array, 10, 20, false);
    // The state a crash leaves: 10 rows counted, 20 written.
    let info = inspect(&path).unwrap();
    assert_eq!((info.header.growth_len(), info.reserved_tail), (10, 0));
    std::mem::forget(array);
    let report =
        npaa_core::recover_with(&path, npaa_core::RecoverOptions::new().dry_run(true)).unwrap();
    assert_eq!(report.items_after, 20);
}

#[test]
#[ignore = "needs root (mounts a tmpfs); scripts/test runs it"]
fn without_room_to_reserve_appends_fall_back_to_pwrite() {
    // A 256 KiB tmpfs cannot hold a 1 MiB reservation: the handle writes with pwrite until
    // the disk is full, and the file is then exact (no reserved space, no mark).
    let dir = tempdir();
    let fs_ = Tmpfs::mount(&dir.path().join("mnt"), "256k");
    let path = fs_.at.join("full.npy");
    let array = AppendOptions::new()
        .mapped_window(1 << 20)
        .open(&path)
        .unwrap();
    let mut appended = 0u64;
    let error = loop {
        match array.append(&rows(appended, 1), &[1, ROW_WORDS as u64]) {
            Ok(()) => appended += 1,
            Err(e) => break e,
        }
        assert!(appended < 20_000, "the file system never filled up");
    };
    assert!(
        matches!(&error, Error::Io { source, .. } if source.raw_os_error() == Some(libc::ENOSPC)),
        "{error}"
    );
    assert!(appended > 1000, "only {appended} rows fit");
    array.close().unwrap();
    let info = inspect(&path).unwrap();
    assert!(!info.needs_recovery, "{info:?}");
    assert_eq!(info.header.shape(), vec![appended, 3]);
    assert_numpy_loads(&path, &rows_expr(appended));
    assert!(has_no_xattr(&path));
}

#[test]
fn modes_whose_header_lags_do_not_map() {
    // Rows the header does not count yet must stay recoverable data, so these modes write as
    // usual: no space is ever reserved.
    let dir = tempdir();
    for (name, options) in [
        (
            "no-rewrite.npy",
            AppendOptions::new().rewrite_header_on_append(false),
        ),
        (
            "every-bytes.npy",
            AppendOptions::new().durability(npaa_core::Durability::EveryBytes(1 << 20)),
        ),
    ] {
        let path = dir.path().join(name);
        let array = options.mapped_window(WINDOW).open(&path).unwrap();
        append_in_blocks(&array, 0, 300, false);
        let info = inspect(&path).unwrap();
        assert_eq!(info.reserved_tail, 0, "{name}: {info:?}");
        assert_eq!(
            info.data_present,
            300 * ROW_BYTES as u64,
            "{name}: {info:?}"
        );
        assert!(has_no_xattr(&path), "{name}");
        array.close().unwrap();
        assert_same_as_np_save(&path, &rows_expr(300));
    }
}

#[test]
fn blocks_converted_in_chunks_cross_windows() {
    // 200,000 u8 items cast to <u2 are converted 65,536 at a time: each 128 KiB chunk goes
    // through the mapping (an eighth of the 2 MiB window), and the second window is reserved
    // in the middle of the block.
    let dir = tempdir();
    let path = dir.path().join("chunks.npy");
    let array = AppendOptions::new()
        .mapped_window(2 << 20)
        .open(&path)
        .unwrap();
    let first: Vec<u16> = (0..1000).collect();
    array.append(&first, &[1000]).unwrap();
    let block: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    for _ in 0..8 {
        array.append(&block, &[200_000]).unwrap();
    }
    array.close().unwrap();
    assert_same_as_np_save(
        &path,
        "np.concatenate([np.arange(1000, dtype='<u2')] + \
         [(np.arange(200000) % 251).astype('<u2')] * 8)",
    );
    assert!(has_no_xattr(&path));
}
