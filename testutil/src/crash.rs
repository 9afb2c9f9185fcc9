//! The kill campaign shared by the crash tests of the Rust API (npaa-core) and of the C ABI
//! (npaa-capi): children that append rows encoding their index, killed with SIGKILL at random
//! moments, and the checks of every file they leave behind.

use std::fs;
use std::io::BufReader;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use npaa_core::{RecoverOptions, inspect, recover, recover_with};

use crate::child::{self, describe};
use crate::rows::{ROW_BYTES, Rng, check_rows_prefix, row_bytes};
use crate::{python_path, run_python};

/// A child stops after this many rows (a few hundred KiB) if it is not killed first.
pub const MAX_ROWS: u64 = 30_000;

/// The child's side: after the caller opened the file and printed READY, appends rows
/// `0..MAX_ROWS` through `append(start, n)` in blocks of random size (mostly single rows, so
/// that the header is updated thousands of times; 1 in 20 a block of 500 to 5000 rows,
/// announced on stdout as BIG, so that the parent can aim a kill at a large write).
pub fn child_appends(seed: u64, mut append: impl FnMut(u64, u64)) {
    let mut rng = Rng::new(seed);
    let mut next = 0u64;
    while next < MAX_ROWS {
        let big = rng.below(20) == 0;
        let n = match rng.below(4) {
            _ if big => 500 + rng.below(4500),
            0 => 2 + rng.below(20),
            _ => 1,
        }
        .min(MAX_ROWS - next);
        if big {
            println!("BIG");
        }
        append(next, n);
        next += n;
        if rng.below(4) == 0 {
            // Some work between appends, as a simulation does: spreads the run over ~50 ms.
            std::thread::sleep(Duration::from_micros(50));
        }
    }
}

/// What the kills left behind.
#[derive(Debug, Default)]
pub struct Tally {
    /// Children killed (or finished before the kill).
    pub kills: usize,
    /// Killed before the file existed (or, where new files are not made whole by O_TMPFILE,
    /// before its header was written: the file is then empty).
    pub no_file: usize,
    /// Finished all their rows before the kill.
    pub finished: usize,
    /// Files whose header counts no row.
    pub counted_zero: usize,
    /// Files whose header counts some rows.
    pub counted_some: usize,
    /// Files holding bytes the header does not count.
    pub uncounted_bytes: usize,
    /// Files ending in part of a row.
    pub partial_item: usize,
    /// The most rows a header counted.
    pub max_counted: u64,
    /// Files left with space reserved past the data (mapped mode).
    pub reserved_tail: usize,
}

/// One way of writing: a name the child understands, and whether the file is Fortran order.
#[derive(Clone, Copy, Debug)]
pub struct Mode {
    /// The mode's name, as the child takes it in `NPAA_CRASH_MODE`.
    pub name: &'static str,
    /// Whether the file is in Fortran order.
    pub fortran: bool,
}

/// Each mode is one way the header and the data can be out of step (the child makes the
/// options of each: `src/bin/npaa-test-child/core.rs`; the C ABI writer, `capi.rs`, makes
/// every one but `buffered`).
pub const MODES: [Mode; 6] = [
    // Defaults: header rewritten after every append (pwrite or mmap store).
    Mode {
        name: "rewrite",
        fortran: false,
    },
    // The same in a Fortran-order file (grows along the last axis).
    Mode {
        name: "rewrite-fortran",
        fortran: true,
    },
    // The header counts 0 until close.
    Mode {
        name: "no-rewrite",
        fortran: false,
    },
    // A 4 KiB write buffer: items reach the file in batches.
    Mode {
        name: "buffered",
        fortran: false,
    },
    // The header advances only at sync points (every 64 KiB).
    Mode {
        name: "every-bytes",
        fortran: false,
    },
    // Mapped mode: rows copied into reserved space (a 16 KiB window: a new reservation every
    // 680 rows; blocks over 2 KiB are written with pwrite).
    Mode {
        name: "mapped",
        fortran: false,
    },
];

/// [`run`] with children that are the helper binary in `role` (see [`crate::child`]), told
/// the file, mode and seed through `NPAA_CRASH_PATH`, `NPAA_CRASH_MODE` and `NPAA_CRASH_SEED`.
/// `$NPAA_CRASH_KILLS` overrides `default_kills`.
pub fn run_children(
    dir: &Path,
    default_kills: usize,
    minimum: usize,
    budget: Duration,
    modes: &[Mode],
    role: &str,
) -> Tally {
    let kills = std::env::var("NPAA_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_kills);
    let child = |path: &Path, mode: Mode, seed: u64| -> Command {
        let mut cmd = child::command(role);
        cmd.env("NPAA_CRASH_PATH", path)
            .env("NPAA_CRASH_MODE", mode.name)
            .env("NPAA_CRASH_SEED", seed.to_string());
        cmd
    };
    run(dir, kills, minimum.min(kills), budget, modes, &child)
}

/// Runs the campaign in the directory `dir`: `kills` children (fewer if `budget` runs out, never fewer than
/// `minimum`), cycling through `modes`; `child(path, mode, seed)` makes the command of one.
/// Checks every outcome in Rust, then all of them with NumPy in one Python call.
pub fn run(
    dir: &Path,
    kills: usize,
    minimum: usize,
    budget: Duration,
    modes: &[Mode],
    child: &dyn Fn(&Path, Mode, u64) -> Command,
) -> Tally {
    let mut rng = Rng::from_env();
    let mut manifest = String::new();
    let mut tally = Tally::default();
    let started = Instant::now();
    for k in 0..kills {
        if k >= minimum && started.elapsed() > budget {
            break;
        }
        let mode = modes[k % modes.len()];
        let path = dir.join(format!("k{k}.npy"));
        let seed = rng.next_u64();
        let delay = kill_once(child(&path, mode, seed), &mut rng, &mut tally);
        let what = format!(
            "{} ({}, seed {seed}, killed after {delay:?})",
            path.display(),
            mode.name
        );
        check_outcome(&path, mode.fortran, &what, &mut manifest, &mut tally);
    }
    eprintln!(
        "{} kills in {:.1} s: {tally:?}",
        tally.kills,
        started.elapsed().as_secs_f64()
    );
    assert!(tally.kills >= minimum);
    // The kills must have landed at interesting moments, not all before or after the work.
    assert!(tally.counted_some > tally.kills / 4, "{tally:?}");
    assert!(
        tally.uncounted_bytes > 0 && tally.max_counted >= 1000,
        "{tally:?}"
    );

    let manifest_path = dir.join("manifest.txt");
    fs::write(&manifest_path, manifest).unwrap();
    // One Python call for all outcomes. Each line: path, Fortran flag, rows that must hold
    // their index, total rows (one more for a zero-completed row, checked byte-wise in Rust).
    let checked = run_python(
        "import sys, numpy as np\n\
         n_files = 0\n\
         for line in open(sys.argv[1]):\n\
         \x20   path, fortran, n, total = line.split()\n\
         \x20   a = np.load(path, mmap_mode='r')\n\
         \x20   if fortran == '1': a = a.T\n\
         \x20   n = int(n)\n\
         \x20   e = np.arange(n, dtype='<u8')[:, None] * 1000003 + np.arange(3, dtype='<u8')\n\
         \x20   assert a.dtype == np.dtype('<u8'), (path, a.dtype)\n\
         \x20   assert a.shape == (int(total), 3), (path, a.shape, total)\n\
         \x20   assert (a[:n] == e).all(), path\n\
         \x20   n_files += 1\n\
         print(n_files)\n",
        &[&manifest_path],
    );
    eprintln!("NumPy loaded {} files", checked.trim());
    tally
}

/// Starts a writer and kills it after a random delay. Returns the delay (for messages).
pub(crate) fn kill_once(mut command: Command, rng: &mut Rng, tally: &mut Tally) -> Duration {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting the child writer");
    // Where the kill lands: one in eight while the child is still starting (0-3 ms after the
    // spawn, usually before the file exists); two in eight just after the child announced a
    // large write (0-150 us after its 1st to 3rd "BIG"); the others 0-15 ms after it opened
    // the array, anywhere in its run. The pipe stays open until the child is dead: it must
    // not die of a broken pipe.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut wait_for = |marker: &str, count: u64| child::wait_for(&mut stdout, marker, count);
    let delay = match rng.below(8) {
        0 => Duration::from_micros(rng.below(3_000)),
        1 | 2 => {
            wait_for("READY", 1);
            wait_for("BIG", 1 + rng.below(3));
            Duration::from_micros(rng.below(150))
        }
        _ => {
            wait_for("READY", 1);
            Duration::from_micros(rng.below(15_000))
        }
    };
    // Under an emulator (qemu-user runs cross-built tests about ten times slower) the child's
    // run stretches out likewise, and so do the delays that aim at its middle.
    let delay = if child::runner().is_empty() {
        delay
    } else {
        delay * 10
    };
    std::thread::sleep(delay);
    child.kill().expect("SIGKILL");
    let status = child.wait().unwrap();
    drop(stdout);
    if status.success() {
        tally.finished += 1;
    } else {
        assert_eq!(
            describe(status),
            child::KILLED,
            "the child failed by itself"
        );
    }
    tally.kills += 1;
    delay
}

/// Checks one file left by a killed writer, makes its recovered copies, and adds all three to
/// the manifest for NumPy.
fn check_outcome(path: &Path, fortran: bool, what: &str, manifest: &mut String, t: &mut Tally) {
    if !path.exists() {
        t.no_file += 1;
        return;
    }
    // Never an empty or half-written header: the file appears complete or not at all. Except
    // without O_TMPFILE (other systems than Linux, and the portable build), where a new file is
    // created, then given its header: a kill between the two leaves it empty, as documented.
    let portable = cfg!(npaa_portable) || !cfg!(any(target_os = "linux", target_os = "android"));
    if portable && fs::metadata(path).unwrap().len() == 0 {
        t.no_file += 1;
        return;
    }
    let info = inspect(path).unwrap_or_else(|e| panic!("{what}: not a valid .npy file: {e}"));
    assert_eq!(
        info.header.order() == npaa_core::Order::Fortran,
        fortran,
        "{what}"
    );
    let counted = info.header.growth_len();
    // NumPy loads it: the header counts no more bytes than are present...
    assert!(
        info.data_present >= info.data_expected,
        "{what}: the header counts {counted} items but only {} bytes are present",
        info.data_present
    );
    t.max_counted = t.max_counted.max(counted);
    if counted == 0 {
        t.counted_zero += 1;
    } else {
        t.counted_some += 1;
    }
    let bytes = fs::read(path).unwrap();
    let data = &bytes[info.header_len as usize..];
    if info.reserved_tail > 0 {
        check_reserved_tail(
            path,
            fortran,
            &bytes,
            info.header_len,
            counted,
            what,
            manifest,
            t,
        );
        return;
    }
    // ...and every byte present is where it belongs: rows 0, 1, 2, ... (+ part of the next).
    let (whole, partial) = check_rows_prefix(data, what);
    assert!(counted <= whole, "{what}");
    if info.needs_recovery {
        t.uncounted_bytes += 1;
    }
    if partial > 0 {
        t.partial_item += 1;
    }
    let f = u8::from(fortran);
    manifest.push_str(&format!("{} {f} {counted} {counted}\n", python_path(path)));

    // recover: exactly the whole rows present.
    let rec = path.with_extension("rec.npy");
    fs::copy(path, &rec).unwrap();
    let report = recover(&rec).unwrap_or_else(|e| panic!("{what}: recover: {e}"));
    assert_eq!(report.items_after, whole, "{what}: {report:?}");
    assert_eq!(report.bytes_cut, partial as u64, "{what}: {report:?}");
    let after = fs::read(&rec).unwrap();
    assert_eq!(
        after.len(),
        info.header_len as usize + whole as usize * ROW_BYTES
    );
    manifest.push_str(&format!("{} {f} {whole} {whole}\n", python_path(&rec)));

    // recover with zero-fill: the whole rows plus the partial one completed with zeros.
    let zf = path.with_extension("zf.npy");
    fs::copy(path, &zf).unwrap();
    let report = recover_with(&zf, RecoverOptions::new().zerofill_incomplete(true))
        .unwrap_or_else(|e| panic!("{what}: recover zf: {e}"));
    let expected = whole + u64::from(partial > 0);
    assert_eq!(report.items_after, expected, "{what}: {report:?}");
    let after = fs::read(&zf).unwrap();
    let zdata = &after[info.header_len as usize..];
    assert_eq!(zdata.len(), expected as usize * ROW_BYTES, "{what}");
    assert_eq!(&zdata[..data.len()], data, "{what}: zero-fill changed data");
    assert!(zdata[data.len()..].iter().all(|&b| b == 0), "{what}");
    manifest.push_str(&format!("{} {f} {whole} {expected}\n", python_path(&zf)));
}

/// Checks a file a mapped-mode writer left with reserved space past its data: the counted rows
/// are in place, the reserved space holds at most the start of the append in progress and
/// zeros, then the 24-byte mark that ends the file, and `recover` cuts it all.
#[expect(
    clippy::too_many_arguments,
    reason = "the facts check_outcome found, passed on as they are"
)]
fn check_reserved_tail(
    path: &Path,
    fortran: bool,
    bytes: &[u8],
    header_len: u64,
    counted: u64,
    what: &str,
    manifest: &mut String,
    t: &mut Tally,
) {
    t.reserved_tail += 1;
    // Reserved space is bytes the header does not count.
    t.uncounted_bytes += 1;
    let data = &bytes[header_len as usize..];
    let counted_len = counted as usize * ROW_BYTES;
    let (whole, partial) = check_rows_prefix(&data[..counted_len], what);
    assert_eq!((whole, partial), (counted, 0), "{what}");
    let tail = &data[counted_len..];
    let (space, mark) = tail.split_at(tail.len().saturating_sub(24));
    assert!(
        mark.starts_with(b"\x93NPAA-reserved\0\n")
            && mark[16..] == (bytes.len() as u64).to_le_bytes(),
        "{what}: reserved space must end with the mark"
    );
    let in_progress = space
        .iter()
        .enumerate()
        .take_while(|&(i, &b)| b == row_bytes(counted + (i / ROW_BYTES) as u64)[i % ROW_BYTES])
        .count();
    assert!(
        space[in_progress..].iter().all(|&b| b == 0),
        "{what}: the reserved space holds bytes that are neither the next rows nor zeros"
    );
    let f = u8::from(fortran);
    // NumPy reads the snapshot (with its reserved space) as the counted rows.
    let snapshot = path.with_extension("snap.npy");
    fs::copy(path, &snapshot).unwrap();
    manifest.push_str(&format!(
        "{} {f} {counted} {counted}\n",
        python_path(&snapshot)
    ));
    let report = recover_with(path, RecoverOptions::new().zerofill_incomplete(true))
        .unwrap_or_else(|e| panic!("{what}: recover: {e}"));
    assert_eq!(report.items_after, counted, "{what}: {report:?}");
    assert_eq!(report.bytes_cut, tail.len() as u64, "{what}: {report:?}");
    assert_eq!(report.bytes_zero_filled, 0, "{what}: {report:?}");
    let after = inspect(path).unwrap();
    assert!(
        !after.needs_recovery && after.reserved_tail == 0,
        "{what}: {after:?}"
    );
    assert_eq!(
        fs::metadata(path).unwrap().len(),
        after.header_len + counted_len as u64
    );
    manifest.push_str(&format!("{} {f} {counted} {counted}\n", python_path(path)));
}
