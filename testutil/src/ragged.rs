//! The kill campaign of ragged writers (`RaggedAppendArray`): children that append records of
//! random length (0 included) made of rows encoding their index, killed with SIGKILL at random
//! moments in every durability mode, and the checks of every pair they leave behind: what a
//! reader sees before any repair, what `recover_ragged` keeps, and what NumPy loads.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use npaa_core::{
    AppendOptions, Durability, Order, RaggedReader, index_path, inspect, inspect_ragged,
    recover_ragged,
};

use crate::child;
use crate::crash::{MAX_ROWS, Tally, kill_once};
use crate::rows::{ROW_BYTES, ROW_WORDS, Rng, check_rows_prefix};
use crate::{python_path, run_python, tempdir};

/// The ways of writing a ragged pair that the campaign cycles through, by the names the child
/// takes in `NPAA_CRASH_MODE`: each durability mode, a write buffer, mapped mode, the header
/// rewrite off, and a Fortran-order pair.
pub const MODES: [&str; 8] = [
    "none",
    "on-close",
    "every-append",
    "every-bytes",
    "buffered",
    "mapped",
    "no-rewrite",
    "fortran",
];

/// The options of `mode` (one of [`MODES`]).
///
/// # Panics
/// On an unknown mode.
pub fn options(mode: &str) -> AppendOptions {
    let o = AppendOptions::new();
    match mode {
        "none" => o,
        "on-close" => o.durability(Durability::OnClose),
        "every-append" => o.durability(Durability::EveryAppend),
        "every-bytes" => o.durability(Durability::EveryBytes(16 << 10)),
        "buffered" => o.buffer_capacity(4096),
        "mapped" => o.mapped_window(16 << 10),
        "no-rewrite" => o.rewrite_header_on_append(false),
        "fortran" => o.order(Order::Fortran),
        _ => panic!("unknown ragged mode {mode}"),
    }
}

/// The record lengths a child with `seed` appends, in order, until they hold
/// [`MAX_ROWS`] rows: mostly 1 to 30 rows, one in four empty, one in twenty 300 to 3300 rows.
/// The second value tells which records are large.
pub fn record_lengths(seed: u64) -> Vec<(u64, bool)> {
    let mut rng = Rng::new(seed);
    let mut total = 0;
    let mut out = Vec::new();
    while total < MAX_ROWS {
        let big = rng.below(20) == 0;
        let n = if big {
            300 + rng.below(3000)
        } else if rng.below(4) == 0 {
            0
        } else {
            1 + rng.below(30)
        }
        .min(MAX_ROWS - total);
        out.push((n, big));
        total += n;
    }
    out
}

/// What the ragged kills left behind.
#[derive(Debug, Default)]
pub struct RaggedTally {
    /// Kills, finished children and pairs never created, as the plain campaign counts them.
    pub kills: Tally,
    /// Pairs a reader saw with some records before any repair.
    pub records_seen: usize,
    /// Pairs whose repair cut a half-appended record.
    pub half_records_cut: usize,
    /// Pairs whose repair restored records a reader could not see yet (header rewrite off).
    pub records_restored: usize,
    /// The most records a reader saw.
    pub max_records: u64,
}

/// Runs the campaign: `kills` children of the helper binary's `ragged-crash-writer` role
/// (fewer if `budget` runs out, never fewer than `minimum`), cycling through [`MODES`].
/// `$NPAA_CRASH_KILLS` overrides `kills`.
pub fn run(kills: usize, minimum: usize, budget: Duration) -> RaggedTally {
    let kills = std::env::var("NPAA_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(kills);
    let dir = tempdir();
    let mut rng = Rng::from_env();
    let mut tally = RaggedTally::default();
    let mut manifest = String::new();
    let started = Instant::now();
    for k in 0..kills {
        if k >= minimum.min(kills) && started.elapsed() > budget {
            break;
        }
        let mode = MODES[k % MODES.len()];
        let path = dir.path().join(format!("k{k}.npy"));
        let seed = rng.next_u64();
        let mut command: Command = child::command("ragged-crash-writer");
        command
            .env("NPAA_CRASH_PATH", &path)
            .env("NPAA_CRASH_MODE", mode)
            .env("NPAA_CRASH_SEED", seed.to_string());
        let delay = kill_once(command, &mut rng, &mut tally.kills);
        let what = format!(
            "{} ({mode}, seed {seed}, killed after {delay:?})",
            path.display()
        );
        check_outcome(&path, mode, seed, &what, &mut manifest, &mut tally);
    }
    eprintln!(
        "{} ragged kills in {:.1} s: {tally:?}",
        tally.kills.kills,
        started.elapsed().as_secs_f64()
    );
    assert!(tally.kills.kills >= minimum.min(kills));
    // The kills must have landed at interesting moments.
    assert!(tally.records_seen > tally.kills.kills / 4, "{tally:?}");
    assert!(
        tally.half_records_cut > 0 && tally.max_records >= 100,
        "{tally:?}"
    );
    let manifest_path = dir.path().join("manifest.txt");
    fs::write(&manifest_path, manifest).unwrap();
    // Each line: data path, index path, Fortran flag, records; the lengths file beside.
    let checked = run_python(
        "import sys, numpy as np\n\
         n_files = 0\n\
         for line in open(sys.argv[1]):\n\
         \x20   path, idx, fortran, k, lengths = line.split()\n\
         \x20   ends = np.cumsum(np.loadtxt(lengths, dtype='<i8', ndmin=1))[:int(k)]\n\
         \x20   index = np.load(idx)\n\
         \x20   assert index.dtype == np.dtype('<i8') and (index == ends).all(), (idx, index, ends)\n\
         \x20   a = np.load(path, mmap_mode='r')\n\
         \x20   if fortran == '1': a = a.T\n\
         \x20   n = int(ends[-1]) if len(ends) else 0\n\
         \x20   e = np.arange(n, dtype='<u8')[:, None] * 1000003 + np.arange(3, dtype='<u8')\n\
         \x20   assert a.shape == (n, 3), (path, a.shape, n)\n\
         \x20   assert (a == e).all(), path\n\
         \x20   n_files += 1\n\
         print(n_files)\n",
        &[&manifest_path],
    );
    eprintln!("NumPy loaded {} pairs", checked.trim());
    tally
}

/// Checks that `ends` are the first record ends of `lengths`.
fn check_ends(ends: &[u64], lengths: &[(u64, bool)], what: &str) {
    let mut total = 0;
    for (i, (&end, &(n, _))) in ends.iter().zip(lengths).enumerate() {
        total += n;
        assert_eq!(
            end, total,
            "{what}: record {i} does not end where it was appended"
        );
    }
    assert!(
        ends.len() <= lengths.len(),
        "{what}: more records than appended"
    );
}

/// Checks one pair left by a killed writer, before and after `recover_ragged`, and adds it
/// to the manifest for NumPy.
fn check_outcome(
    path: &Path,
    mode: &str,
    seed: u64,
    what: &str,
    manifest: &mut String,
    t: &mut RaggedTally,
) {
    let idx = index_path(path);
    if !idx.exists() {
        assert!(!path.exists(), "{what}: a data file without its index");
        t.kills.no_file += 1;
        return;
    }
    // Without O_TMPFILE (other systems than Linux, and the portable build) a new file is
    // created, then given its header: a kill between the two leaves it empty, as documented.
    // The index is created before the data, and data is committed before the index names it:
    // an empty index goes with no data file or an empty one, and an empty data file with an
    // index that names nothing.
    let portable = cfg!(npaa_portable) || !cfg!(any(target_os = "linux", target_os = "android"));
    let empty = |p: &Path| fs::metadata(p).is_ok_and(|m| m.len() == 0);
    if portable && (empty(&idx) || empty(path)) {
        if empty(&idx) {
            assert!(
                !path.exists() || empty(path),
                "{what}: data beside an empty index"
            );
        } else {
            let index = inspect(&idx).unwrap_or_else(|e| panic!("{what}: the index: {e}"));
            assert_eq!(
                index.data_expected, 0,
                "{what}: entries for an empty data file"
            );
        }
        t.kills.no_file += 1;
        return;
    }
    let lengths = record_lengths(seed);
    let fortran = mode == "fortran";
    // A reader, before any repair: complete records only, each exact.
    let seen = if path.exists() {
        let view = RaggedReader::open(path)
            .and_then(|mut r| r.refresh())
            .unwrap_or_else(|e| panic!("{what}: reading: {e}"));
        check_ends(&view.ends(), &lengths, what);
        let end = view.end(view.len().wrapping_sub(1)).unwrap_or(0);
        let (whole, partial) = check_rows_prefix(view.data().bytes(), what);
        assert_eq!((whole, partial), (end, 0), "{what}");
        view.len()
    } else {
        0
    };
    if seen > 0 {
        t.records_seen += 1;
    }
    t.max_records = t.max_records.max(seen);

    let report = recover_ragged(path).unwrap_or_else(|e| panic!("{what}: recover_ragged: {e}"));
    assert!(report.records >= seen, "{what}: {report:?}");
    if report.items_cut > 0 {
        t.half_records_cut += 1;
    }
    if report.records > seen {
        t.records_restored += 1;
    }
    let info = inspect_ragged(path).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(info.is_consistent(), "{what}: {info:?}");
    assert_eq!(info.records, report.records, "{what}");
    if !path.exists() {
        assert_eq!(report.records, 0, "{what}");
        return;
    }
    let data = inspect(path).unwrap();
    let bytes = fs::read(path).unwrap();
    let (whole, partial) = check_rows_prefix(&bytes[data.header_len as usize..], what);
    assert_eq!((whole, partial), (report.items, 0), "{what}: {report:?}");
    // A file of one row or none has the same bytes in both orders: its header may say either
    // (npaa-core's rule for new files).
    if report.items > 1 {
        assert_eq!(data.header.order() == Order::Fortran, fortran, "{what}");
    }
    assert_eq!(
        bytes.len(),
        data.header_len as usize + report.items as usize * ROW_BYTES,
        "{what}"
    );
    let view = RaggedReader::open(path).unwrap().refresh().unwrap();
    check_ends(&view.ends(), &lengths, what);
    assert_eq!(view.len(), report.records, "{what}");
    let lengths_path = path.with_extension("len");
    let text: String = lengths
        .iter()
        .take(report.records as usize)
        .map(|(n, _)| format!("{n}\n"))
        .collect();
    fs::write(&lengths_path, text).unwrap();
    manifest.push_str(&format!(
        "{} {} {} {} {}\n",
        python_path(path),
        python_path(&idx),
        u8::from(fortran),
        report.records,
        python_path(&lengths_path)
    ));
}

/// The child's side (`ragged-crash-writer`): opens the pair at `path` in `mode`, says READY,
/// and appends the records of [`record_lengths`]`(seed)` (announcing large ones with BIG)
/// until killed, then closes and says DONE.
///
/// # Panics
/// If an append fails.
pub fn child_writes(path: &Path, mode: &str, seed: u64) {
    let pair = options(mode).open_ragged(path).unwrap();
    println!("READY");
    let mut next = 0u64;
    for (n, big) in record_lengths(seed) {
        if big {
            println!("BIG");
        }
        let shape = if mode == "fortran" {
            [ROW_WORDS as u64, n]
        } else {
            [n, ROW_WORDS as u64]
        };
        pair.append(&crate::rows::rows(next, n), &shape).unwrap();
        next += n;
    }
    pair.close().unwrap();
    println!("DONE");
}
