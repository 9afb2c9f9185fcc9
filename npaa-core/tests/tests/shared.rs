//! Shared mode (`AppendOptions::shared`): many writers, one file. Threads with handles of their
//! own (each its own open file, as separate processes have) and real processes (the helper
//! binary's `shared-writer`) append blocks that say who wrote them; every file must hold an
//! exact sequence of whole blocks, checked in Rust and with NumPy. Writers killed with SIGKILL
//! cost at most their block in flight, which neither the next append nor `recover` counts;
//! once every writer has closed, the file is clean. Plus the refused combinations and the
//! waits for the lock (`lock_timeout`).

use std::fs;
use std::io::BufReader;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use npaa_core::{AppendArray, AppendOptions, Durability, Error, Reader, inspect, recover};
use npaa_testutil::child::{self, describe};
use npaa_testutil::rows::Rng;
use npaa_testutil::shared::{WORDS, check_blocks, numpy_check_blocks, write_blocks};
use npaa_testutil::tempdir;

/// The counted data of the file at `path`, checked as whole blocks; the blocks of each writer.
fn blocks_of(path: &Path, what: &str) -> std::collections::BTreeMap<u64, u64> {
    let info = inspect(path).unwrap_or_else(|e| panic!("{what}: {e}"));
    let bytes = fs::read(path).unwrap();
    let start = info.header_len as usize;
    let counted = &bytes[start..start + info.data_expected as usize];
    check_blocks(counted, what)
}

#[test]
fn threads_with_handles_of_their_own_land_whole_blocks() {
    let dir = tempdir();
    let path = dir.path().join("shared.npy");
    let writers = 8;
    let blocks = 150;
    // All start at once, before the file exists: they race to create it.
    let start = Arc::new(Barrier::new(writers));
    let mut rng = Rng::from_env();
    let handles: Vec<_> = (0..writers as u64)
        .map(|w| {
            let (path, start) = (path.clone(), Arc::clone(&start));
            let mut rng = Rng::new(rng.next_u64());
            std::thread::spawn(move || {
                start.wait();
                write_blocks(&path, w, blocks, &mut rng)
            })
        })
        .collect();
    let rows: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let info = inspect(&path).unwrap();
    assert_eq!(info.header.shape(), [rows, WORDS]);
    assert!(!info.needs_recovery, "{info:?}");
    let per_writer = blocks_of(&path, "threads");
    assert_eq!(per_writer.len(), writers);
    assert!(per_writer.values().all(|&b| b == blocks), "{per_writer:?}");
    numpy_check_blocks(&[&path]);
}

/// Starts a `shared-writer` child: writer `writer` appends `blocks` blocks to `path`.
fn start_writer(path: &Path, writer: u64, blocks: u64, seed: u64) -> Child {
    child::command("shared-writer")
        .env("NPAA_SHARED_PATH", path)
        .env("NPAA_SHARED_WRITER", writer.to_string())
        .env("NPAA_SHARED_BLOCKS", blocks.to_string())
        .env("NPAA_SHARED_SEED", seed.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting a shared writer")
}

/// Reads the child's output up to `count` lines saying `marker` (fewer if it exits first),
/// and returns the rest of it, to be kept open until the child is dead.
fn wait_for(child: &mut Child, marker: &str, count: u64) -> BufReader<std::process::ChildStdout> {
    let mut out = BufReader::new(child.stdout.take().unwrap());
    child::wait_for(&mut out, marker, count);
    out
}

fn finish(mut child: Child) {
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "a shared writer failed: {}",
        describe(status)
    );
}

#[test]
fn processes_land_whole_blocks() {
    let dir = tempdir();
    let path = dir.path().join("shared.npy");
    let mut rng = Rng::from_env();
    let children: Vec<Child> = (0..4)
        .map(|w| start_writer(&path, w, 400, rng.next_u64()))
        .collect();
    children.into_iter().for_each(finish);
    let info = inspect(&path).unwrap();
    assert!(!info.needs_recovery, "{info:?}");
    let per_writer = blocks_of(&path, "processes");
    assert_eq!(
        per_writer.into_iter().collect::<Vec<_>>(),
        [(0, 400), (1, 400), (2, 400), (3, 400)]
    );
    numpy_check_blocks(&[&path]);
}

/// Kills `child` (which may have finished) and reaps it.
fn kill(mut child: Child, out: Option<BufReader<std::process::ChildStdout>>) {
    let _ = child.kill();
    let status = child.wait().unwrap();
    drop(out);
    assert!(
        status.success() || describe(status) == child::KILLED,
        "a shared writer failed by itself: {}",
        describe(status)
    );
}

/// Blocks a writer of the kill campaign appends if it is not killed first.
const BLOCKS: u64 = 300;

#[test]
fn killed_writers_cost_only_their_block_in_flight() {
    let dir = tempdir();
    let path = dir.path().join("shared.npy");
    let mut rng = Rng::from_env();
    // Writer ids: the children's count up from 1; the stalled writers' from 1 000 000.
    let mut next_id = 0;
    let mut start = |rng: &mut Rng, blocks: u64| {
        next_id += 1;
        start_writer(&path, next_id, blocks, rng.next_u64())
    };
    let mut next_writer = 1_000_000;
    let writers = 3;
    let mut running: Vec<Child> = (0..writers).map(|_| start(&mut rng, BLOCKS)).collect();
    // The kills start once a writer has created the file: a writer says READY when its handle
    // is open, before its first append creates the file, which takes a while under emulation
    // (qemu-aarch64) or load.
    let waiting = Instant::now();
    while !path.exists() {
        assert!(
            waiting.elapsed() < Duration::from_secs(120),
            "no writer created the file"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut snapshots = Vec::new();
    let (mut torn_seen, mut kills) = (0, 0);
    let started = Instant::now();
    for round in 0..40 {
        if round >= 8 && started.elapsed() > Duration::from_secs(12) {
            break;
        }
        // One writer killed at a random moment (a third of the time just as it starts a
        // large block) while the others go on.
        let mut victim = running.swap_remove(rng.below(writers) as usize);
        let out = if rng.below(3) == 0 {
            let out = wait_for(&mut victim, "BIG", 1 + rng.below(2));
            std::thread::sleep(Duration::from_micros(rng.below(200)));
            Some(out)
        } else {
            let out = wait_for(&mut victim, "READY", 1);
            std::thread::sleep(Duration::from_micros(rng.below(15_000)));
            Some(out)
        };
        kill(victim, out);
        kills += 1;
        // What a reader sees meanwhile: whole blocks.
        let snapshot = dir.path().join(format!("snap{round}.npy"));
        fs::copy(&path, &snapshot).unwrap();
        blocks_of(&snapshot, &format!("snapshot {round}"));
        snapshots.push(snapshot);
        if round % 4 == 3 {
            // A writer killed in the middle of a block: some of its rows are in the file,
            // none counted, and the extent is marked as a block in flight.
            next_writer += 1;
            let source = dir.path().join(format!("source{round}.npy"));
            let mut staller = child::command("shared-staller")
                .env("NPAA_SHARED_PATH", &path)
                .env("NPAA_SHARED_SOURCE", &source)
                .env("NPAA_SHARED_WRITER", next_writer.to_string())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let out = wait_for(&mut staller, "MIDWAY", 1);
            let info = inspect(&path).unwrap();
            let tail = info.data_present - info.data_expected;
            assert!(info.needs_recovery && tail > 0, "round {round}: {info:?}");
            assert_eq!(
                info.reserved_tail, tail,
                "round {round}: not marked: {info:?}"
            );
            torn_seen += 1;
            if round % 8 == 3 {
                // With every writer gone, recover cuts it, counting nothing of it.
                for child in running.drain(..) {
                    kill(child, None);
                    kills += 1;
                }
                kill(staller, Some(out));
                let report = recover(&path).unwrap();
                assert_eq!(report.items_after, info.header.shape()[0], "{report:?}");
                assert_eq!(report.bytes_cut, tail, "{report:?}");
                let after = inspect(&path).unwrap();
                assert!(!after.needs_recovery, "round {round}: {after:?}");
                blocks_of(&path, &format!("round {round}, after recover"));
                running.extend((0..writers).map(|_| start(&mut rng, BLOCKS)));
            } else {
                // The writers waiting for the lock go on: the first one cuts it.
                kill(staller, Some(out));
                running.push(start(&mut rng, BLOCKS));
            }
            kills += 1;
        } else {
            running.push(start(&mut rng, BLOCKS));
        }
    }
    // The end: one more writer is killed at a random moment, then new writers start (their
    // turns come after the kill) and every writer finishes and closes.
    let mut victim = running.swap_remove(0);
    let out = wait_for(&mut victim, "READY", 1);
    std::thread::sleep(Duration::from_micros(rng.below(5_000)));
    kill(victim, Some(out));
    kills += 1;
    running.extend((0..writers).map(|_| start(&mut rng, 50)));
    running.into_iter().for_each(finish);
    let info = inspect(&path).unwrap();
    assert!(!info.needs_recovery, "after every writer closed: {info:?}");
    eprintln!(
        "{kills} kills in {:.1} s, {torn_seen} of them mid-block, {} rows",
        started.elapsed().as_secs_f64(),
        info.header.shape()[0]
    );
    blocks_of(&path, "the end");
    let mut all: Vec<&Path> = snapshots.iter().map(|p| p.as_path()).collect();
    all.push(&path);
    numpy_check_blocks(&all);
}

#[test]
fn a_reader_mapping_the_file_never_makes_a_shared_writer_fail() {
    let dir = tempdir();
    let path = dir.path().join("shared.npy");
    let mut rng = Rng::from_env();
    let first = write_blocks(&path, 1, 20, &mut rng);
    let mut reader = Reader::open(&path).unwrap();
    assert_eq!(reader.refresh().unwrap().count(), first);
    // A writer killed in the middle of a block leaves its extent past the count, marked.
    let mut staller = child::command("shared-staller")
        .env("NPAA_SHARED_PATH", &path)
        .env("NPAA_SHARED_SOURCE", dir.path().join("source.npy"))
        .env("NPAA_SHARED_WRITER", "2")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_for(&mut staller, "MIDWAY", 1);
    kill(staller, Some(out));
    let torn = inspect(&path).unwrap();
    assert!(torn.reserved_tail > 0, "{torn:?}");
    // Shared writers cut such space when they can; while the reader maps the file, Windows
    // may refuse (under Wine, always): the space then stays marked, and the writers append
    // and close all the same.
    let second = write_blocks(&path, 3, 20, &mut rng);
    let info = inspect(&path).unwrap();
    assert_eq!(
        info.data_present - info.data_expected,
        info.reserved_tail,
        "{info:?}"
    );
    if !cfg!(windows) {
        assert!(!info.needs_recovery, "{info:?}");
    }
    let per_writer = blocks_of(&path, "with a reader");
    assert_eq!(per_writer.get(&1), Some(&20));
    assert_eq!(per_writer.get(&3), Some(&20));
    assert_eq!(reader.refresh().unwrap().count(), info.header.shape()[0]);
    assert!(info.header.shape()[0] > first + second, "{info:?}");
    // Once nothing maps it, the next shared writer to close leaves the file clean.
    drop(reader);
    write_blocks(&path, 4, 1, &mut rng);
    let info = inspect(&path).unwrap();
    assert!(!info.needs_recovery && info.reserved_tail == 0, "{info:?}");
    numpy_check_blocks(&[&path]);
}

#[test]
fn shared_mode_refuses_what_cannot_work() {
    let dir = tempdir();
    let path = dir.path().join("a.npy");
    let shared = || AppendOptions::new().shared(true);
    for (name, options) in [
        ("no rewrite", shared().rewrite_header_on_append(false)),
        (
            "every bytes",
            shared().durability(Durability::EveryBytes(4096)),
        ),
        ("buffered", shared().buffer_capacity(4096)),
        ("mapped", shared().mapped_window(1 << 20)),
        ("delete", shared().delete_if_exists(true)),
    ] {
        match options.open(&path) {
            Err(Error::IncompatibleOptions { what, .. }) => {
                assert!(what.contains("shared mode"), "{name}: {what}")
            }
            other => panic!("{name}: expected IncompatibleOptions, got {other:?}"),
        }
        assert!(!path.exists(), "{name}");
    }
    let array = shared().open(&path).unwrap();
    array.append(&[1u64, 2], &[1, 2]).unwrap();
    let savepoint = array.savepoint().unwrap().unwrap();
    array.append(&[3u64, 4], &[1, 2]).unwrap();
    assert!(matches!(
        array.rollback_to(savepoint),
        Err(Error::IncompatibleOptions { .. })
    ));
    array.close().unwrap();
    assert_eq!(inspect(&path).unwrap().header.shape(), [2, 2]);
}

#[test]
fn waits_for_the_lock_are_bounded_by_the_timeout() {
    let dir = tempdir();
    let path = dir.path().join("a.npy");
    let holder = AppendArray::open(&path).unwrap();
    holder.append(&[1u64, 2], &[1, 2]).unwrap();
    let before = fs::read(&path).unwrap();

    // Exclusive, by default: fails at once.
    let t = Instant::now();
    assert!(matches!(
        AppendArray::open(&path),
        Err(Error::Locked { .. })
    ));
    assert!(t.elapsed() < Duration::from_millis(100));

    // A bounded wait that runs out: Locked, after the wait, and nothing changed.
    let wait = Duration::from_millis(150);
    let t = Instant::now();
    let timed_out = AppendOptions::new().lock_timeout(Some(wait)).open(&path);
    assert!(
        matches!(timed_out, Err(Error::Locked { .. })),
        "{timed_out:?}"
    );
    assert!(t.elapsed() >= wait);
    let t = Instant::now();
    let shared = AppendOptions::new()
        .shared(true)
        .lock_timeout(Some(wait))
        .open(&path);
    assert!(matches!(shared, Err(Error::Locked { .. })), "{shared:?}");
    assert!(t.elapsed() >= wait);
    assert_eq!(fs::read(&path).unwrap(), before);

    // A shared handle opened before the holder took the lock: its append times out too.
    let other = dir.path().join("b.npy");
    let early = AppendOptions::new()
        .shared(true)
        .lock_timeout(Some(wait))
        .open(&other)
        .unwrap();
    early.append(&[1u64, 2], &[1, 2]).unwrap();
    let b_holder = AppendArray::open(&other).unwrap();
    let b_before = fs::read(&other).unwrap();
    assert!(matches!(
        early.append(&[3u64, 4], &[1, 2]),
        Err(Error::Locked { .. })
    ));
    assert_eq!(fs::read(&other).unwrap(), b_before);
    drop(b_holder);
    early.append(&[3u64, 4], &[1, 2]).unwrap();
    early.close().unwrap();
    assert_eq!(inspect(&other).unwrap().header.shape(), [2, 2]);

    // Waiting writers get the lock when the holder lets go: an exclusive one with a bound,
    // a shared one with the default (forever).
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        holder.append(&[3u64, 4], &[1, 2]).unwrap();
        holder.close().unwrap();
    });
    let t = Instant::now();
    let shared = AppendOptions::new().shared(true).open(&path).unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(150),
        "{:?}",
        t.elapsed()
    );
    release.join().unwrap();
    shared.append(&[5u64, 6], &[1, 2]).unwrap();
    assert_eq!(shared.shape(), Some(vec![3, 2]));
    let exclusive = AppendOptions::new().lock_timeout(Some(Duration::from_secs(5)));
    let waiter = std::thread::spawn(move || {
        let array = exclusive.open(&path).unwrap();
        array.append(&[7u64, 8], &[1, 2]).unwrap();
        array.close().unwrap();
        path
    });
    // The shared handle holds no lock between appends: the exclusive writer gets in.
    let path = waiter.join().unwrap();
    shared.append(&[9u64, 10], &[1, 2]).unwrap();
    shared.close().unwrap();
    npaa_testutil::assert_numpy_loads(&path, "np.arange(1, 11, dtype='<u8').reshape(5, 2)");
}

#[test]
fn a_header_in_another_spelling_is_read_and_then_rewritten() {
    // A header npaa would not write (no trailing comma, double quotes) with room to grow:
    // shared writers parse it, and the first append rewrites it as np.save would.
    let dir = tempdir();
    let path = dir.path().join("spelled.npy");
    let text = "{\"descr\": \"<u8\", \"fortran_order\": False, \"shape\": (1, 2)}";
    let mut header = format!("{text}{}", " ".repeat(40));
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&[1u64, 2].map(u64::to_le_bytes).concat());
    fs::write(&path, bytes).unwrap();
    let first = AppendOptions::new().shared(true).open(&path).unwrap();
    let second = AppendOptions::new().shared(true).open(&path).unwrap();
    first.append(&[3u64, 4], &[1, 2]).unwrap();
    second.append(&[5u64, 6], &[1, 2]).unwrap();
    first.append(&[7u64, 8], &[1, 2]).unwrap();
    first.close().unwrap();
    second.close().unwrap();
    npaa_testutil::assert_numpy_loads(&path, "np.arange(1, 9, dtype='<u8').reshape(4, 2)");
    let text = String::from_utf8_lossy(&fs::read(&path).unwrap()[10..70]).into_owned();
    assert!(text.starts_with("{'descr': '<u8', 'fortran_order': False, 'shape': (4, 2), }"));
}

#[test]
fn an_empty_file_is_created_over_by_a_shared_writer() {
    // What a plain creation (no O_TMPFILE) leaves for an instant, or for good if its writer
    // was killed then: an empty file. A shared writer writes the header for its block there.
    let dir = tempdir();
    let path = dir.path().join("empty.npy");
    fs::write(&path, b"").unwrap();
    let array = AppendOptions::new().shared(true).open(&path).unwrap();
    assert_eq!(array.shape(), None);
    let other = AppendOptions::new().shared(true).open(&path).unwrap();
    array.append(&[1u64, 2, 3, 4], &[2, 2]).unwrap();
    other.append(&[5u64, 6], &[1, 2]).unwrap();
    array.close().unwrap();
    other.close().unwrap();
    npaa_testutil::assert_numpy_loads(&path, "np.arange(1, 7, dtype='<u8').reshape(3, 2)");
    // An exclusive writer still refuses an empty file: it is not a .npy file.
    fs::write(&path, b"").unwrap();
    assert!(matches!(
        AppendArray::open(&path),
        Err(Error::Format { .. })
    ));
}
