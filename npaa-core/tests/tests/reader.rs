//! Readers that follow a growing file (`Reader`, `RaggedReader`): a writer and a follower at
//! once, in threads and in processes, in every writer mode; every refreshed view is checked
//! as an exact prefix of what was appended, never shrinking.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use npaa_core::{AppendArray, AppendOptions, Durability, Error, Items, RaggedReader, Reader};
use npaa_testutil::rows::{ROW_WORDS, Rng, check_rows_prefix, rows};
use npaa_testutil::{child, crash, tempdir};

/// Checks that `view` is rows `0..n` exactly, with `n >= at_least`; returns `n`.
fn check_view(view: &Items, at_least: u64, what: &str) -> u64 {
    let (whole, partial) = check_rows_prefix(view.bytes(), what);
    assert_eq!(partial, 0, "{what}: a partial row");
    assert_eq!(whole, view.count(), "{what}");
    assert!(
        whole >= at_least,
        "{what}: the view shrank from {at_least} to {whole}"
    );
    whole
}

#[test]
fn a_follower_thread_sees_exact_prefixes_in_every_writer_mode() {
    let dir = tempdir();
    let modes = [
        ("default", AppendOptions::new()),
        ("mapped", AppendOptions::new().mapped_window(8192)),
        ("buffered", AppendOptions::new().buffer_capacity(2000)),
        (
            "every-bytes",
            AppendOptions::new().durability(Durability::EveryBytes(1 << 14)),
        ),
        (
            "no-rewrite",
            AppendOptions::new().rewrite_header_on_append(false),
        ),
    ];
    const TOTAL: u64 = 20_000;
    for (k, (name, options)) in modes.into_iter().enumerate() {
        let path = dir.path().join(format!("{name}.npy"));
        let array = options.open(&path).unwrap();
        array.append(&rows(0, 1), &[1, 3]).unwrap();
        array.update_header().unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let refreshed = Arc::new(AtomicU64::new(0));
        let follower = {
            let (path, done, refreshed) = (path.clone(), Arc::clone(&done), Arc::clone(&refreshed));
            std::thread::spawn(move || follow_until_done(&path, &done, &refreshed, name))
        };
        // Half the rows, then a pause until the follower has refreshed at least twice: the
        // two run at once whatever the scheduler does.
        write_rows_from(&array, 1, TOTAL / 2, k as u64 + 1);
        while refreshed.load(Ordering::Acquire) < 2 {
            std::thread::yield_now();
        }
        write_rows_from(&array, TOTAL / 2, TOTAL, k as u64 + 100);
        array.close().unwrap();
        done.store(true, Ordering::Release);
        let (refreshes, blocks_rows) = follower.join().unwrap();
        assert!(refreshes > 2, "{name}");
        assert_eq!(blocks_rows, TOTAL, "{name}");
    }
}

/// Appends rows `start..total` in random blocks.
fn write_rows_from(array: &AppendArray, start: u64, total: u64, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut next = start;
    while next < total {
        let n = match rng.below(10) {
            0 => 100 + rng.below(400),
            1..=3 => 2 + rng.below(10),
            _ => 1,
        }
        .min(total - next);
        array
            .append(&rows(next, n), &[n, ROW_WORDS as u64])
            .unwrap();
        next += n;
        if next.is_multiple_of(97) {
            std::thread::yield_now();
        }
    }
}

/// Refreshes `path` until `done` and one more time: every view an exact prefix that never
/// shrinks, and the blocks of `next_block` (on a second reader) adding up to it. Returns the
/// number of refreshes and the rows the blocks held.
fn follow_until_done(
    path: &Path,
    done: &AtomicBool,
    refreshed: &AtomicU64,
    what: &str,
) -> (u64, u64) {
    let mut reader = Reader::open(path).unwrap();
    let mut blocks = Reader::open(path).unwrap();
    let (mut seen, mut refreshes, mut block_rows) = (0, 0, 0);
    loop {
        let last = done.load(Ordering::Acquire);
        let view = reader.refresh().unwrap();
        seen = check_view(&view, seen, what);
        refreshes += 1;
        refreshed.store(refreshes, Ordering::Release);
        while let Some(block) = blocks.next_block().unwrap() {
            assert_eq!(block.first_item(), block_rows, "{what}");
            let bytes = block.bytes();
            assert_eq!(
                bytes,
                bytemuck::cast_slice::<u64, u8>(&rows(block_rows, block.count()))
            );
            block_rows += block.count();
        }
        if last {
            return (refreshes, block_rows);
        }
    }
}

#[test]
fn a_follower_process_sees_exact_prefixes_of_a_writer_process() {
    let dir = tempdir();
    for mode in crash::MODES {
        let path = dir.path().join(format!("{}.npy", mode.name));
        let mut writer = child::command("crash-writer")
            .env("NPAA_CRASH_PATH", &path)
            .env("NPAA_CRASH_MODE", mode.name)
            .env("NPAA_CRASH_SEED", "7")
            // Halfway, the writer waits for a line: sent after two refreshes, so that the two
            // run at once whatever the scheduler does.
            .env("NPAA_CRASH_PAUSE_AT", (crash::MAX_ROWS / 2).to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut resume = writer.stdin.take();
        let mut out = BufReader::new(writer.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "READY");
        // The file exists once the first append created it.
        while !path.exists() {
            std::thread::sleep(Duration::from_micros(100));
        }
        let mut reader = loop {
            match Reader::open(&path) {
                Ok(r) => break r,
                // Created but not yet linked with its header: try again.
                Err(Error::Format { .. }) => std::thread::sleep(Duration::from_micros(100)),
                Err(e) => panic!("{e}"),
            }
        };
        let what = mode.name;
        let mut seen = 0;
        let mut uncounted_seen = false;
        let mut refreshes = 0;
        loop {
            let finished = writer.try_wait().unwrap().is_some();
            let view = reader.refresh().unwrap();
            // Fortran-order (3, n) rows have the bytes of C-order (n, 3) rows.
            seen = check_view(&view, seen, what);
            uncounted_seen |= reader.uncounted_items() > 0;
            refreshes += 1;
            if refreshes == 2 {
                resume.take().unwrap().write_all(b"go\n").unwrap();
            }
            if finished {
                break;
            }
        }
        assert!(writer.wait().unwrap().success(), "{what}");
        assert_eq!(seen, crash::MAX_ROWS, "{what}");
        assert!(refreshes > 2, "{what}");
        if mode.name == "no-rewrite" {
            assert!(
                uncounted_seen,
                "{what}: the reader never said rows were uncounted"
            );
        }
        if mode.name == "mapped" {
            assert_eq!(
                reader.uncounted_items(),
                0,
                "{what}: reserved space is not rows"
            );
        }
    }
}

#[test]
fn the_view_never_shrinks_and_a_cut_or_replaced_file_is_reported() {
    let dir = tempdir();
    let path = dir.path().join("r.npy");
    let array = AppendArray::open(&path).unwrap();
    array.append(&rows(0, 10), &[10, 3]).unwrap();
    let savepoint = array.savepoint().unwrap().unwrap();
    array.append(&rows(10, 5), &[5, 3]).unwrap();
    let mut reader = Reader::open(&path).unwrap();
    let before = reader.refresh().unwrap();
    assert_eq!(before.shape(), [15, 3]);
    if cfg!(windows) {
        // Windows refuses to cut a file under a live mapping (one that covers the bytes to
        // cut; under Wine, any mapping of the file): the rollback is refused with a typed
        // error, and the file stays as it was, header and rows.
        let err = array.rollback_to(savepoint).unwrap_err();
        assert!(matches!(err, Error::MappedElsewhere { .. }), "{err}");
        let info = npaa_core::inspect(&path).unwrap();
        assert!(!info.needs_recovery, "{info:?}");
        assert_eq!(info.header.shape(), [15, 3]);
        assert_eq!(reader.refresh().unwrap().shape(), [15, 3]);
        assert_eq!(
            before.bytes(),
            bytemuck::cast_slice::<u64, u8>(&rows(0, 15))
        );
        // Once the reader and its views let go, the same rollback succeeds.
        drop((before, reader));
        array.rollback_to(savepoint).unwrap();
    } else {
        // A rollback cuts the file below the rows the reader has shown: reported, not shrunk.
        array.rollback_to(savepoint).unwrap();
        let err = reader.refresh().unwrap_err();
        assert!(matches!(err, Error::FileChanged { .. }), "{err}");
        // The view taken before still reads its rows: it holds its own mapping.
        assert_eq!(before.count(), 15);
    }
    array.close().unwrap();

    let mut reader = Reader::open(&path).unwrap();
    assert_eq!(reader.refresh().unwrap().shape(), [10, 3]);
    // Replaced the way npaa replaces a file (which frees the name at once on Windows too,
    // where a file another handle holds open keeps its name until it is closed).
    let other = AppendOptions::new()
        .delete_if_exists(true)
        .open(&path)
        .unwrap();
    other.append(&[1.0f32; 30], &[10, 3]).unwrap();
    other.close().unwrap();
    // The reader holds the old file open: still readable.
    assert_eq!(reader.refresh().unwrap().shape(), [10, 3]);
    let replaced = Reader::open(&path).unwrap();
    assert_eq!(replaced.dtype().descr(), "<f4");
}

#[test]
fn a_ragged_follower_sees_each_record_whole() {
    let dir = tempdir();
    let path = dir.path().join("feats.npy");
    let pair = Arc::new(npaa_core::RaggedAppendArray::open(&path).unwrap());
    pair.append(&rows(0, 2), &[2, 3]).unwrap();
    let lengths: Vec<u64> = {
        let mut rng = Rng::new(3);
        (0..2000).map(|_| rng.below(12)).collect()
    };
    let writer = {
        let (pair, lengths) = (Arc::clone(&pair), lengths.clone());
        std::thread::spawn(move || {
            let mut next = 2;
            for n in lengths {
                pair.append(&rows(next, n), &[n, 3]).unwrap();
                next += n;
            }
        })
    };
    let mut reader = RaggedReader::open(&path).unwrap();
    let mut expected_ends = vec![2u64];
    let mut total = 2;
    for &n in &lengths {
        total += n;
        expected_ends.push(total);
    }
    let mut got = 0u64;
    while got < expected_ends.len() as u64 {
        let Some((new, view)) = reader.next_records().unwrap() else {
            continue;
        };
        assert_eq!(new.start, got);
        for i in new.clone() {
            let range = view.record_items(i).unwrap();
            assert_eq!(range.end, expected_ends[i as usize]);
            let bytes = &view.data().bytes()[range.start as usize * 24..range.end as usize * 24];
            assert_eq!(
                bytes,
                bytemuck::cast_slice::<u64, u8>(&rows(range.start, range.end - range.start))
            );
        }
        got = new.end;
    }
    writer.join().unwrap();
}

#[test]
fn rows_of_no_bytes_are_counted() {
    let dir = tempdir();
    let path = dir.path().join("z.npy");
    let array = AppendArray::open(&path).unwrap();
    array.append::<u64>(&[], &[5, 0]).unwrap();
    let mut reader = Reader::open(&path).unwrap();
    assert_eq!(reader.refresh().unwrap().shape(), [5, 0]);
    array.append::<u64>(&[], &[2, 0]).unwrap();
    let block = reader.next_block().unwrap().unwrap();
    assert_eq!((block.first_item(), block.shape()), (5, &[2, 0][..]));
    array.close().unwrap();
}
