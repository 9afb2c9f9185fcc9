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
use npaa_testutil::{assert_numpy_loads, assert_same_as_np_save, np_save, run_python, tempdir};

/// A small window, so that a few thousand appends take many reservations: blocks of up to 512
/// bytes go through the mapping, larger ones through `pwrite`.
const WINDOW: usize = 4096;

/// The reservation mark as documented (`AppendOptions::mapped_window`): 24 bytes ending the
/// file, `\x93NPAA-reserved\0\n` and then the file's length as a little-endian u64.
fn mark_ending_at(len: u64) -> Vec<u8> {
    let mut mark = b"\x93NPAA-reserved\0\n".to_vec();
    mark.extend_from_slice(&len.to_le_bytes());
    mark
}

/// True when `path` ends with a reservation mark.
fn ends_with_mark(path: &Path) -> bool {
    let bytes = fs::read(path).unwrap();
    bytes.len() >= 24 && bytes[bytes.len() - 24..] == mark_ending_at(bytes.len() as u64)[..]
}

/// True when `path` carries no reservation mark (nor any extended attribute: the mark is in
/// the file's bytes).
fn has_no_mark(path: &Path) -> bool {
    !ends_with_mark(path)
        && run_python("import os, sys\nprint(os.listxattr(sys.argv[1]))", &[path]).trim() == "[]"
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
        assert!(has_no_mark(&path), "{name}: the reservation mark is left");
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
    assert!(
        ends_with_mark(&path),
        "reserved space must end with the mark"
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
    assert!(has_no_mark(&path));
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
    let reserved = &data[1000 * ROW_BYTES..data.len() - 24];
    assert!(reserved.iter().all(|&b| b == 0));
    assert!(ends_with_mark(&path));
    assert_numpy_loads(&path, &rows_expr(1000));

    // Opening for appending (no mapped mode needed) cuts the reserved space and goes on.
    let array = AppendArray::open(&path).unwrap();
    assert_eq!(array.shape(), Some(vec![1000, 3]));
    append_in_blocks(&array, 1000, 1010, false);
    array.close().unwrap();
    assert_same_as_np_save(&path, &rows_expr(1010));
    assert!(has_no_mark(&path));
}

/// Ends `path` with a reservation mark after `zeros` reserved zeros, as a mapped-mode writer
/// killed with that much space left does.
fn reserve_zeros(path: &Path, zeros: usize) {
    let mut bytes = fs::read(path).unwrap();
    bytes.resize(bytes.len() + zeros, 0);
    let mark = mark_ending_at(bytes.len() as u64 + 24);
    bytes.extend_from_slice(&mark);
    fs::write(path, &bytes).unwrap();
}

#[test]
fn only_a_mark_that_ends_the_file_and_records_its_length_reserves() {
    let dir = tempdir();
    let path = dir.path().join("marks.npy");
    np_save(&path, &rows_expr(10));
    let saved = fs::read(&path).unwrap();
    let header_len = saved.len() - 10 * ROW_BYTES;
    let two_rows: Vec<u8> = (10..12).flat_map(npaa_testutil::rows::row_bytes).collect();

    // A mark cut short (a broken copy): not a mark. The bytes past the count are data to
    // `recover`, as for any writer: 2 whole rows, and 10 bytes of an incomplete one.
    let mut bytes = saved.clone();
    bytes.extend_from_slice(&two_rows);
    bytes.extend_from_slice(&mark_ending_at(bytes.len() as u64 + 24)[..10]);
    fs::write(&path, &bytes).unwrap();
    let info = inspect(&path).unwrap();
    assert!(info.needs_recovery && info.reserved_tail == 0, "{info:?}");
    assert!(matches!(
        AppendArray::open(&path),
        Err(Error::NeedsRecovery { .. })
    ));
    let report = npaa_core::recover(&path).unwrap();
    assert_eq!((report.items_after, report.bytes_cut), (12, 10));
    assert_eq!(fs::read(&path).unwrap().len(), header_len + 12 * ROW_BYTES);
    assert_numpy_loads(&path, &rows_expr(12));

    // A mark that records another length (the file grew past it, or was cut and grown
    // again): not a mark either; its bytes are data (here exactly one more 24-byte row).
    let mut bytes = fs::read(&path).unwrap();
    bytes.extend_from_slice(&mark_ending_at(bytes.len() as u64));
    fs::write(&path, &bytes).unwrap();
    let info = inspect(&path).unwrap();
    assert!(info.needs_recovery && info.reserved_tail == 0, "{info:?}");
    let dry =
        npaa_core::recover_with(&path, npaa_core::RecoverOptions::new().dry_run(true)).unwrap();
    assert_eq!((dry.items_after, dry.bytes_cut), (13, 0));
    fs::write(&path, &bytes[..bytes.len() - 24]).unwrap();

    // Reserved space (zeros past the counted rows, ended by the mark): cut, not 4 rows of
    // zeros, even with zero-filling asked for.
    reserve_zeros(&path, 100);
    let bytes = fs::read(&path).unwrap();
    let info = inspect(&path).unwrap();
    assert_eq!(info.reserved_tail, 124, "{info:?}");
    let dry = npaa_core::recover_with(
        &path,
        npaa_core::RecoverOptions::new()
            .zerofill_incomplete(true)
            .dry_run(true),
    )
    .unwrap();
    assert_eq!((dry.items_after, dry.bytes_cut), (12, 124));
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
        (12, 124, 0)
    );
    assert_same_as_np_save(&path, &rows_expr(12));
}

#[test]
fn modes_whose_header_lags_cut_reserved_space_at_open() {
    // A file a mapped-mode writer left reserved space in, then opened with the header
    // rewrite off: the open cuts the space (mark included), so that after a crash the
    // uncounted rows are data that `recover` restores, with no mark to hide them.
    let dir = tempdir();
    let path = dir.path().join("lagging.npy");
    np_save(&path, &rows_expr(10));
    reserve_zeros(&path, 4096);
    let array = AppendOptions::new()
        .rewrite_header_on_append(false)
        .open(&path)
        .unwrap();
    assert!(has_no_mark(&path), "the reserved space was kept");
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
    assert!(has_no_mark(&path));
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
        assert!(has_no_mark(&path), "{name}");
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
    assert!(has_no_mark(&path));
}
