//! Region writes ([`RegionWrite`], [`RegionTarget`]): one block written chunk by chunk, in any
//! order and from many threads, each chunk straight to its place; the header counts it last.
//! The files are checked against `np.save` of the same array; abort, late chunks and a
//! vanished driver leave the file as stated.

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use npaa_core::{
    AppendOptions, Dtype, Error, Order, RegionError, RegionTarget, RegionWrite, inspect, recover,
};
use npaa_testutil::{assert_same_as_np_save, np_save, tempdir};

/// The bytes after a region write's block while it lasts: its token (8) and the reservation
/// mark (24).
const TAIL: u64 = 8 + 24;

/// The first 16 bytes of the reservation mark.
const MARK_MAGIC: &[u8] = b"\x93NPAA-reserved\0\n";

/// The block's items: item `i` (in C order of the logical index) holds `i`.
fn value(index: &[u64], shape: &[u64]) -> f64 {
    index
        .iter()
        .zip(shape)
        .fold(0u64, |acc, (&i, &d)| acc * d + i) as f64
}

/// The chunk at `ranges` of the block, as i4 (cast to the file's f8 by the core), laid out in
/// `order`.
fn chunk(ranges: &[Range<u64>], shape: &[u64], order: Order) -> Vec<u8> {
    let lens: Vec<u64> = ranges.iter().map(|r| r.end - r.start).collect();
    let count: u64 = lens.iter().product();
    let mut out = Vec::with_capacity(count as usize * 4);
    for n in 0..count {
        // Decompose n into chunk coordinates, fastest axis last (C) or first (Fortran).
        let mut rest = n;
        let mut at = vec![0u64; lens.len()];
        let axes: Vec<usize> = match order {
            Order::C => (0..lens.len()).rev().collect(),
            _ => (0..lens.len()).collect(),
        };
        for axis in axes {
            at[axis] = ranges[axis].start + rest % lens[axis];
            rest /= lens[axis];
        }
        out.extend_from_slice(&(value(&at, shape) as i32).to_le_bytes());
    }
    out
}

/// Every chunk of `shape` split into `parts` along each axis.
fn chunks(shape: &[u64], parts: u64) -> Vec<Vec<Range<u64>>> {
    let mut all = vec![Vec::new()];
    for &d in shape {
        let step = d.div_ceil(parts).max(1);
        let mut next = Vec::new();
        for prefix in &all {
            for start in (0..d).step_by(step as usize) {
                let mut r = prefix.clone();
                r.push(start..(start + step).min(d));
                next.push(r);
            }
        }
        all = next;
    }
    all
}

fn write_all(target: &RegionTarget, shape: &[u64], parts: u64) {
    let i4 = &Dtype::parse("<i4").unwrap();
    let mut list = chunks(shape, parts);
    list.reverse(); // any order
    std::thread::scope(|s| {
        for group in list.chunks(list.len().div_ceil(3)) {
            s.spawn(move || {
                for ranges in group {
                    let data = chunk(ranges, shape, target.order());
                    target.write(ranges, i4, &data).unwrap();
                }
            });
        }
    });
}

fn np_expr(shape: &[u64], fortran: bool) -> String {
    let dims = shape
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let n: u64 = shape.iter().product();
    let a = format!("np.arange({n}, dtype='<f8').reshape(({dims},))");
    if fortran {
        format!("np.asfortranarray({a})")
    } else {
        a
    }
}

/// A file of 3 x 4 `<f8` saved by NumPy in `dir`, and its bytes.
fn three_rows(dir: &Path) -> (PathBuf, Vec<u8>) {
    let path = dir.join("a.npy");
    np_save(&path, "np.arange(12, dtype='<f8').reshape(3, 4)");
    let before = fs::read(&path).unwrap();
    (path, before)
}

/// Starts Python on `code` with `path` and `args`, and returns once it printed `locked`: the
/// child (a line on its stdin lets it go on) and its stdout.
#[cfg(unix)]
fn python_locking(
    code: &str,
    path: &Path,
    args: &[String],
) -> (
    std::process::Child,
    std::io::BufReader<std::process::ChildStdout>,
) {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut child = Command::new(npaa_testutil::python())
        .args(["-c", code])
        .arg(path)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "locked");
    (child, out)
}

#[test]
fn chunks_in_any_order_and_split_along_every_axis_give_np_save() {
    let dir = tempdir();
    let f8 = Dtype::parse("<f8").unwrap();
    for (order, name) in [(Order::C, "c.npy"), (Order::Fortran, "f.npy")] {
        let path = dir.path().join(name);
        let shape = [9u64, 4, 7];
        let options = AppendOptions::new().order(order).delete_if_exists(true);
        let region = RegionWrite::begin(&path, &options, &f8, &shape).unwrap();
        // Until the commit, readers see an empty array.
        let empty = if order == Order::C {
            [0, 4, 7]
        } else {
            [9, 4, 0]
        };
        assert_eq!(inspect(&path).unwrap().header.shape(), empty);
        let target = RegionTarget::decode(&region.target().encode()).unwrap();
        write_all(&target, &shape, 3);
        region.commit().unwrap();
        assert_same_as_np_save(&path, &np_expr(&shape, order == Order::Fortran));
        assert!(!inspect(&path).unwrap().needs_recovery);
    }
}

#[test]
fn abort_gives_the_file_back_and_later_chunks_are_refused() {
    let dir = tempdir();
    let (path, before) = three_rows(dir.path());
    let f8 = Dtype::parse("<f8").unwrap();
    let region = RegionWrite::begin(&path, &AppendOptions::new(), &f8, &[5, 4]).unwrap();
    let target = region.target().clone();
    let i4 = Dtype::parse("<i4").unwrap();
    target
        .write(&[0..2, 0..4], &i4, &chunk(&[0..2, 0..4], &[5, 4], Order::C))
        .unwrap();
    region.abort().unwrap();
    assert_eq!(fs::read(&path).unwrap(), before);
    let late = target.write(&[2..5, 0..4], &i4, &chunk(&[2..5, 0..4], &[5, 4], Order::C));
    assert!(matches!(late, Err(Error::FileChanged { .. })), "{late:?}");
    assert_eq!(fs::read(&path).unwrap(), before);

    // A file the region write created is deleted.
    let new = dir.path().join("new.npy");
    let region = RegionWrite::begin(&new, &AppendOptions::new(), &f8, &[5, 4]).unwrap();
    region.abort().unwrap();
    assert!(!new.exists());
}

#[test]
fn a_vanished_driver_leaves_what_recover_and_the_next_open_cut() {
    let dir = tempdir();
    let (path, before) = three_rows(dir.path());
    let f8 = Dtype::parse("<f8").unwrap();
    let region = RegionWrite::begin(&path, &AppendOptions::new(), &f8, &[50, 4]).unwrap();
    let target = region.target().clone();
    let i4 = Dtype::parse("<i4").unwrap();
    // One chunk near the end is written, the rest never: holes.
    target
        .write(
            &[40..50, 0..4],
            &i4,
            &chunk(&[40..50, 0..4], &[50, 4], Order::C),
        )
        .unwrap();
    drop(region); // as if the driver were killed: no commit, no abort
    // The file is [header][data][block extent][token][mark], the last three reserved.
    let end = before.len() as u64 + 50 * 4 * 8;
    let bytes = fs::read(&path).unwrap();
    assert_eq!(bytes.len() as u64, end + TAIL);
    assert_eq!(&bytes[bytes.len() - 24..bytes.len() - 8], MARK_MAGIC);
    assert_eq!(bytes[bytes.len() - 8..], (end + TAIL).to_le_bytes());
    assert_ne!(bytes[end as usize..end as usize + 8], [0; 8], "the token");
    let info = inspect(&path).unwrap();
    assert_eq!(info.header.shape(), [3, 4]);
    assert_eq!(info.reserved_tail, 50 * 4 * 8 + TAIL);
    let report = recover(&path).unwrap();
    assert_eq!(
        (report.items_after, report.bytes_cut),
        (3, 50 * 4 * 8 + TAIL)
    );
    assert_eq!(fs::read(&path).unwrap(), before);
    // Chunk writers that outlive their driver write nothing more.
    let late = target.write(
        &[0..10, 0..4],
        &i4,
        &chunk(&[0..10, 0..4], &[50, 4], Order::C),
    );
    assert!(matches!(late, Err(Error::FileChanged { .. })), "{late:?}");
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn blocks_are_checked_before_anything_changes() {
    let dir = tempdir();
    let path = dir.path().join("a.npy");
    np_save(&path, "np.arange(12, dtype='<i4').reshape(3, 4)");
    let before = fs::read(&path).unwrap();
    let f8 = Dtype::parse("<f8").unwrap();
    let err = RegionWrite::begin(&path, &AppendOptions::new(), &f8, &[2, 4]).unwrap_err();
    assert!(matches!(err, Error::Cast { .. }), "{err}");
    let i4 = Dtype::parse("<i4").unwrap();
    let err = RegionWrite::begin(&path, &AppendOptions::new(), &i4, &[2, 5]).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
    assert_eq!(fs::read(&path).unwrap(), before);
    let region = RegionWrite::begin(&path, &AppendOptions::new(), &i4, &[2, 4]).unwrap();
    let target = region.target();
    let err = target.write(&[0..2, 0..4], &f8, &[0; 64]).unwrap_err();
    assert!(matches!(err, Error::Cast { .. }), "{err}");
    let err = target.write(&[0..2, 0..4], &i4, &[0; 31]).unwrap_err();
    assert!(matches!(err, Error::DataLength { .. }), "{err}");
    let err = target.write(&[0..3, 0..4], &i4, &[0; 48]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Region {
                0: RegionError::ChunkOutside { .. },
                ..
            }
        ),
        "{err}"
    );
    region.abort().unwrap();
    assert_eq!(fs::read(&path).unwrap(), before);
}

/// A chunk writer of a killed driver, in the middle of its chunk, holding the region lock
/// shared: here a Python process taking the same byte's lock (a POSIX record lock, which
/// conflicts with npaa's on Linux whether it is an open-file-description lock or, in the
/// portable build, a record lock). Whoever cuts the killed driver's reserved space must wait
/// for it, so that its bytes land before the cut, not after it: written after the cut, they
/// would extend the file past its count with no mark, which a later `recover` would count as
/// rows.
#[cfg(unix)]
#[test]
fn cutting_a_killed_drivers_space_waits_for_its_chunk_writers() {
    use std::io::{BufRead, Write};
    let writer = r#"
import fcntl, os, sys
path, start, end, length = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
fd = os.open(path, os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_SH, 1, (1 << 63) - 2, os.SEEK_SET)
print("locked", flush=True)
sys.stdin.readline()
# As a chunk writer does under the lock: the token and mark are still there, so it writes.
tail = os.pread(fd, 32, end)
assert len(tail) == 32 and tail[8:24] == b"\x93NPAA-reserved\0\n", tail
os.pwrite(fd, b"\x01" * length, start)
fcntl.lockf(fd, fcntl.LOCK_UN, 1, (1 << 63) - 2, os.SEEK_SET)
print("wrote", flush=True)
"#;
    for cut_by_open in [false, true] {
        let dir = tempdir();
        let (path, before) = three_rows(dir.path());
        let f8 = Dtype::parse("<f8").unwrap();
        let region = RegionWrite::begin(&path, &AppendOptions::new(), &f8, &[50, 4]).unwrap();
        drop(region); // the driver is killed
        let start = before.len() as u64;
        let end = start + 50 * 4 * 8;
        let args = [start, end, 10 * 4 * 8].map(|n| n.to_string());
        let (mut child, mut out) = python_locking(writer, &path, &args);
        let cutter = {
            let path = path.clone();
            std::thread::spawn(move || {
                if cut_by_open {
                    npaa_core::AppendArray::open(&path).map(drop)
                } else {
                    recover(&path).map(drop)
                }
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert!(
            !cutter.is_finished(),
            "the cut did not wait for the chunk writer"
        );
        assert_eq!(fs::metadata(&path).unwrap().len(), end + TAIL);
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "wrote");
        assert!(child.wait().unwrap().success());
        cutter.join().unwrap().unwrap();
        assert_eq!(
            fs::read(&path).unwrap(),
            before,
            "cut by open: {cut_by_open}"
        );
        assert!(!inspect(&path).unwrap().needs_recovery);
    }
}

/// A region write is refused, with nothing changed, where chunk writers could not take the
/// region lock while the driver holds the writer lock: here because another process holds the
/// lock's byte exclusively (as a whole-file `flock` kept as a record lock does on macOS,
/// FreeBSD and NFS, which cannot be shown on this system).
#[cfg(unix)]
#[test]
fn a_region_write_is_refused_where_chunk_writers_could_not_lock() {
    use std::io::Write;
    let dir = tempdir();
    let (path, before) = three_rows(dir.path());
    let holder = r#"
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 0, 0, os.SEEK_SET)  # the whole file, as flock on NFS
print("locked", flush=True)
sys.stdin.readline()
"#;
    let (mut child, _out) = python_locking(holder, &path, &[]);
    let f8 = Dtype::parse("<f8").unwrap();
    let err = RegionWrite::begin(&path, &AppendOptions::new(), &f8, &[5, 4]).unwrap_err();
    assert!(
        matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::Unsupported),
        "{err:?}"
    );
    assert_eq!(fs::read(&path).unwrap(), before);
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    assert!(child.wait().unwrap().success());
    // Once the lock is free, the same region write goes through.
    let region = RegionWrite::begin(&path, &AppendOptions::new(), &f8, &[5, 4]).unwrap();
    region.abort().unwrap();
    assert_eq!(fs::read(&path).unwrap(), before);
}
