//! Concurrency stress: many threads appending to one handle, many handles on different files
//! at once, and readers watching the files while they grow. Every item of every file is
//! checked afterwards, in Rust and with NumPy (one Python call for all files).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use npaa_core::{AppendArray, AppendOptions, Durability, Error, inspect};
use npaa_testutil::rows::Rng;
use npaa_testutil::{python_path, run_python, tempdir};

/// A row: writer id, the writer's row number, and a checksum of both. A torn or misplaced
/// row cannot pass [`check_row`].
fn row(writer: u64, seq: u64) -> [u64; 3] {
    [
        writer,
        seq,
        writer.wrapping_mul(1_000_003) ^ seq.wrapping_mul(0x9E37_79B9),
    ]
}

fn check_row(words: &[u64], what: &str) -> (u64, u64) {
    let (w, s) = (words[0], words[1]);
    assert_eq!(words, row(w, s), "{what}: a torn or foreign row");
    (w, s)
}

/// Appends `rows` rows for writer `id` in blocks of random size (1 to 40 rows).
fn append_rows(array: &AppendArray, id: u64, rows: u64, rng: &mut Rng) {
    let mut seq = 0;
    while seq < rows {
        let n = (1 + rng.below(40)).min(rows - seq);
        let block: Vec<u64> = (seq..seq + n).flat_map(|s| row(id, s)).collect();
        array.append(&block, &[n, 3]).unwrap();
        seq += n;
    }
}

/// Reads `path` while it grows: whenever the header can be read, it counts no more bytes than
/// the file holds, and every counted row is whole. Returns (checks made, transient failures).
fn watch(path: &Path, done: &AtomicBool, transient: &AtomicU64) -> u64 {
    let mut checks = 0;
    while !done.load(Ordering::Relaxed) {
        let info = match inspect(path) {
            Ok(info) => info,
            // Not created yet.
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                continue;
            }
            // A read that raced the header rewrite at a digit-count change (99 -> 100) may see
            // a half-copied header: counted below, never more than a handful.
            Err(Error::Format { .. }) => {
                transient.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        assert!(info.data_present >= info.data_expected, "{info:?}");
        let bytes = fs::read(path).unwrap();
        let counted = &bytes[info.header_len as usize..][..info.data_expected as usize];
        let words: Vec<u64> = counted
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        for r in words.chunks_exact(3) {
            check_row(r, "a concurrent reader");
        }
        checks += 1;
    }
    checks
}

/// Checks a finished file: each writer's rows are all there, whole, in their order.
fn check_file(path: &Path, writers: u64, rows: u64) {
    let info = inspect(path).unwrap();
    assert!(!info.needs_recovery);
    assert_eq!(info.header.shape(), vec![writers * rows, 3]);
    let bytes = fs::read(path).unwrap();
    let words: Vec<u64> = bytes[info.header_len as usize..]
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let mut next = vec![0u64; writers as usize];
    for r in words.chunks_exact(3) {
        let (w, s) = check_row(r, &path.display().to_string());
        assert_eq!(
            s,
            next[w as usize],
            "{}: writer {w} out of order",
            path.display()
        );
        next[w as usize] += 1;
    }
    assert!(next.iter().all(|&n| n == rows), "{next:?}");
}

#[test]
fn threads_and_handles_at_once() {
    const SHARED_THREADS: u64 = 8;
    const SHARED_ROWS: u64 = 25_000;
    const SOLO_FILES: u64 = 16;
    const SOLO_ROWS: u64 = 10_000;
    let dir = tempdir();
    let mut seed_rng = Rng::from_env();
    // Shared handles, one per write mode, each appended to by SHARED_THREADS threads.
    let shared: Vec<(PathBuf, Arc<AppendArray>)> = [
        ("default", AppendOptions::new()),
        ("buffered", AppendOptions::new().buffer_capacity(8 << 10)),
        (
            "no-rewrite",
            AppendOptions::new().rewrite_header_on_append(false),
        ),
        (
            "every-bytes",
            AppendOptions::new().durability(Durability::EveryBytes(256 << 10)),
        ),
    ]
    .into_iter()
    .map(|(name, options)| {
        let path = dir.path().join(format!("shared-{name}.npy"));
        let array = Arc::new(options.open(&path).unwrap());
        (path, array)
    })
    .collect();
    let solo: Vec<PathBuf> = (0..SOLO_FILES)
        .map(|i| dir.path().join(format!("solo-{i}.npy")))
        .collect();
    let done = AtomicBool::new(false);
    let transient = AtomicU64::new(0);
    let checks = std::thread::scope(|s| {
        let watchers: Vec<_> = [&shared[0].0, &solo[0]]
            .into_iter()
            .map(|p| s.spawn(|| watch(p, &done, &transient)))
            .collect();
        let mut writers = Vec::new();
        for (_, array) in &shared {
            for t in 0..SHARED_THREADS {
                let array = Arc::clone(array);
                let mut rng = Rng::new(seed_rng.next_u64());
                writers.push(s.spawn(move || append_rows(&array, t, SHARED_ROWS, &mut rng)));
            }
        }
        for path in &solo {
            let mut rng = Rng::new(seed_rng.next_u64());
            writers.push(s.spawn(move || {
                let array = AppendArray::open(path).unwrap();
                append_rows(&array, 0, SOLO_ROWS, &mut rng);
                array.close().unwrap();
            }));
        }
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        watchers
            .into_iter()
            .map(|w| w.join().unwrap())
            .collect::<Vec<_>>()
    });
    let transient = transient.into_inner();
    eprintln!("concurrent reads checked: {checks:?}; transient header read failures: {transient}");
    assert!(checks.iter().all(|&c| c > 0));
    assert!(
        transient <= 8,
        "{transient} reads saw a half-written header"
    );

    let mut manifest = String::new();
    for (path, array) in shared {
        Arc::into_inner(array).unwrap().close().unwrap();
        check_file(&path, SHARED_THREADS, SHARED_ROWS);
        manifest.push_str(&format!(
            "{} {SHARED_THREADS} {SHARED_ROWS}\n",
            python_path(&path)
        ));
    }
    for path in &solo {
        check_file(path, 1, SOLO_ROWS);
        manifest.push_str(&format!("{} 1 {SOLO_ROWS}\n", python_path(path)));
    }
    let manifest_path = dir.path().join("manifest.txt");
    fs::write(&manifest_path, manifest).unwrap();
    run_python(
        "import sys, numpy as np\n\
         for line in open(sys.argv[1]):\n\
         \x20   path, writers, rows = line.split()\n\
         \x20   a = np.load(path, mmap_mode='r')\n\
         \x20   assert a.dtype == np.dtype('<u8') and a.shape == (int(writers) * int(rows), 3), (path, a.shape)\n\
         \x20   w, s = a[:, 0], a[:, 1]\n\
         \x20   assert (a[:, 2] == ((w * np.uint64(1000003)) ^ (s * np.uint64(0x9E3779B9)))).all(), path\n\
         \x20   for i in range(int(writers)):\n\
         \x20       assert (s[w == i] == np.arange(int(rows))).all(), (path, i)\n",
        &[&manifest_path],
    );
}
