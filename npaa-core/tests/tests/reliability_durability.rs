//! Durability modes: the order in which data and header reach stable storage.
//!
//! 1. With `strace` (`#[ignore]`d: `scripts/test` runs it, and it fails without strace): a
//!    child process (the helper binary's `durability`, see `npaa_testutil::child`) appends in
//!    each mode under `strace -f -y`, and the sequence of
//!    system calls on the file is checked exactly: data writes (`pwrite64` past the header),
//!    header writes (`pwrite64` inside the header: all of it, or the digits of the count
//!    alone), `fdatasync`. The header that counts new data is written only after an
//!    `fdatasync` that follows that data, and is itself synced.
//!    In mapped mode, the calls that reserve, map and give back space are traced too, and
//!    between them the appends make no system call on the file at all.
//! 2. Without tracing: the header on disk, read after every append, advances exactly as each
//!    mode promises (every append, only at the `EveryBytes` sync points, or at close).

use std::path::{Path, PathBuf};
use std::process::Command;

use npaa_core::{AppendArray, AppendOptions, inspect};
use npaa_testutil::child::{self, describe, durability};
use npaa_testutil::mount::LoopMount;
use npaa_testutil::require;
use npaa_testutil::rows::{ROW_BYTES, check_rows_prefix, rows, rows_expr};
use npaa_testutil::{assert_numpy_loads, tempdir};

/// Rows the child appends, one per append (crossing 9 -> 10 digits).
const ROWS: u64 = 30;
/// `EveryBytes` threshold of `npaa_testutil::child::durability("every-bytes")`: a sync every
/// 8 rows.
const EVERY: u64 = 8 * ROW_BYTES as u64;

/// Runs the child under strace and returns the events on files in `dir`: `D` data write,
/// `H` header write (whole, or the digits alone), `S` fdatasync or fsync, `M` msync, `m` mmap;
/// for reserved space, `K` the write of its mark, `F` fallocate, `T` ftruncate. (Extended
/// attribute calls are traced too, and fail the test: npaa sets none.)
fn traced_events(strace: &Path, dir: &Path, mode: &str) -> String {
    traced_events_of(strace, dir, mode, ROWS)
}

/// [`traced_events`] of a child appending `n` rows.
fn traced_events_of(strace: &Path, dir: &Path, mode: &str, n: u64) -> String {
    let path = dir.join(format!("{mode}.npy"));
    let trace = dir.join(format!("{mode}.trace"));
    let out = Command::new(strace)
        .args(["-f", "-y", "-qq", "-e", "signal=none"])
        .args([
            "-e",
            "trace=pwrite64,pwritev,write,fdatasync,fsync,msync,sync_file_range,mmap,\
             fallocate,fsetxattr,ftruncate,fremovexattr",
        ])
        .arg("-o")
        .arg(&trace)
        .arg(child::exe())
        .arg("durability")
        .env("NPAA_DURABILITY_PATH", &path)
        .env("NPAA_DURABILITY_ROWS", n.to_string())
        .env("NPAA_DURABILITY_MODE", mode)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{mode}: {}: {}",
        describe(out.status),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_numpy_loads(&path, &rows_expr(n));
    // Writes below this offset are header writes: the whole header at 0, or its growth digits
    // alone, in place, when their count does not change.
    let header_len = npaa_core::inspect(&path).unwrap().header_len;
    let dir_text = format!("<{}/", dir.display());
    let text = std::fs::read_to_string(&trace).unwrap();
    let mut events = String::new();
    for line in text.lines() {
        // `123 pwrite64(3</dir/f.npy>, "..."..., 24, 152) = 24`. A file created through
        // O_TMPFILE shows as `</dir/#123>(deleted)` even after it was linked into place.
        let Some(fd_start) = line.find(&dir_text) else {
            continue;
        };
        // `PID call(args...`: the file is not always the first argument (mmap).
        let call = line[..fd_start]
            .split_once(' ')
            .and_then(|(_, c)| c.trim_start().split('(').next())
            .unwrap_or("");
        let event = match call {
            "pwrite64" => {
                let args = line.rsplit_once(") = ").map_or("", |(a, _)| a);
                let offset: u64 = args.rsplit(", ").next().unwrap().trim().parse().unwrap();
                if offset < header_len {
                    'H'
                } else if args.contains("NPAA-reserved") {
                    'K'
                } else {
                    'D'
                }
            }
            "fdatasync" | "fsync" => 'S',
            "msync" => 'M',
            "mmap" => 'm',
            "fallocate" => 'F',
            "ftruncate" => 'T',
            other => panic!("{mode}: unexpected call on the file: {other}: {line}"),
        };
        events.push(event);
    }
    events
}

#[test]
#[ignore = "needs strace; scripts/test runs it"]
fn syncs_come_in_the_promised_order() {
    let strace = require::tool(
        "strace",
        "check the order of system calls per durability mode",
    );
    let dir = tempdir();
    for mode in ["none", "on-close", "every-append", "every-bytes", "mapped"] {
        let events = traced_events(&strace, dir.path(), mode);
        eprintln!("{mode}: {events}");
        // The first event is the header of the new file.
        let (create, rest) = events.split_at(1);
        assert_eq!(create, "H", "{mode}: {events}");
        let d = |n: u64| "D".repeat(n as usize);
        match mode {
            // Like NumPy: never a sync. The header mostly goes through the shared mapping
            // (no system call), rewritten with pwrite only when its digit count changes.
            "none" => assert!(!rest.contains(['S', 'M']), "{mode}: {events}"),
            // Nothing synced until close; then data, header, header sync.
            "on-close" => {
                let last_data = rest.rfind('D').unwrap();
                assert!(!rest[..last_data].contains('S'), "{mode}: {events}");
                assert_eq!(&rest[last_data + 1..], "SHS", "{mode}: {events}");
            }
            // Every append: data, sync, header, sync. Close syncs once more.
            "every-append" => {
                assert_eq!(
                    rest,
                    format!("{}SHS", "DSHS".repeat(ROWS as usize)),
                    "{mode}"
                );
            }
            // A sync group after every 8 rows' bytes; the header moves only there.
            "every-bytes" => {
                let per = EVERY / ROW_BYTES as u64;
                let groups = ROWS / per;
                let expected = format!(
                    "{}{}SHS",
                    format!("{}SHS", d(per)).repeat(groups as usize),
                    d(ROWS % per)
                );
                assert_eq!(rest, expected, "{mode}");
            }
            // The first append reserves space (the mark that ends it, the length set to it,
            // then its blocks allocated: `fallocate` on Linux, zeros written elsewhere), maps
            // it and writes the header, which is mapped after that second write. Then no call
            // at all, but the header rewrite when the count reaches 10 digits. Close cuts the
            // unused space and the mark with it. 30 rows of 24 bytes fit in the 4 KiB window.
            "mapped" if cfg!(npaa_portable) => assert_eq!(rest, "KTDmHmHT", "{mode}"),
            "mapped" => assert_eq!(rest, "KTFmHmHT", "{mode}"),
            _ => unreachable!(),
        }
    }
}

/// A block of 16 MiB or more gets its file blocks allocated in one `fallocate` (keeping the
/// length) right before its data is written, as `ndarray.tofile` does; a smaller one does not.
#[test]
#[ignore = "needs strace; scripts/test runs it"]
fn large_blocks_are_preallocated_small_ones_not() {
    let strace = require::tool("strace", "check that large blocks are preallocated");
    let dir = tempdir();
    // 16 MiB of 24-byte rows and one more, appended as one block, then one row.
    let n = (16 << 20) / ROW_BYTES as u64 + 2;
    let events = traced_events_of(&strace, dir.path(), "large", n);
    // The new file's header; fallocate, the block, its header (the second header write, after
    // which the header is mapped); the row, counted through the mapping. Other systems than
    // Linux (and `--cfg npaa_portable`) have no preallocation that keeps the length: the
    // block is written as it comes.
    let expected = if cfg!(npaa_portable) {
        "HDHmD"
    } else {
        "HFDHmD"
    };
    assert_eq!(events, expected);
}

/// The header on disk after each append, as another process would read it.
#[test]
fn observable_header_states() {
    let dir = tempdir();
    for (mode, rewrite) in [
        ("none", true),
        ("on-close", true),
        ("every-append", true),
        ("every-bytes", true),
        ("every-append", false),
    ] {
        let path = dir.path().join(format!("{mode}-{rewrite}.npy"));
        let array = AppendOptions::new()
            .durability(durability(mode))
            .rewrite_header_on_append(rewrite)
            .open(&path)
            .unwrap();
        for i in 0..ROWS {
            array.append(&rows(i, 1), &[1, 3]).unwrap();
            let info = inspect(&path).unwrap();
            let counted = info.header.growth_len();
            let appended = i + 1;
            let expected = match (mode, rewrite) {
                (_, false) => 0,
                ("every-bytes", true) => appended / (EVERY / ROW_BYTES as u64) * 8,
                _ => appended,
            };
            assert_eq!(
                counted, expected,
                "{mode} rewrite={rewrite}, after {appended}"
            );
            // The data of every append is in the file at once, counted or not.
            assert_eq!(info.data_present, appended * ROW_BYTES as u64);
        }
        array.sync().unwrap();
        assert_eq!(inspect(&path).unwrap().header.growth_len(), ROWS);
        array.close().unwrap();
        assert_numpy_loads(&path, &rows_expr(ROWS));
    }
    // `sync` on a handle whose file was not created yet does nothing.
    let pending = AppendArray::open(dir.path().join("never.npy")).unwrap();
    pending.sync().unwrap();
    assert!(!dir.path().join("never.npy").exists());
}

/// Rows a power loss must not take away, if any is promised.
fn promise(mode: &str, appended: u64, closed: bool) -> Option<u64> {
    let per_sync = EVERY / ROW_BYTES as u64;
    match mode {
        "every-append" => Some(appended),
        "on-close" | "every-bytes" if closed => Some(appended),
        "every-bytes" => Some(appended / per_sync * per_sync),
        _ => None,
    }
}

/// Power loss, for real: the appends go to an ext4 file system on a loop device, and at chosen
/// moments the device's image is copied. A copy holds exactly what reached the device, i.e.
/// what a power loss at that moment would leave; it is then mounted and checked against each
/// mode's promise:
/// - `EveryAppend`: every append that returned is there and counted, the file included;
/// - `EveryBytes(n)`: the header counts exactly the rows of the last sync point, all there;
/// - `OnClose`: after close, everything; before, nothing is promised (as `None`).
#[test]
#[ignore = "needs root, losetup and mkfs.ext4 (mounts a loop device); scripts/test runs it"]
fn power_loss_keeps_what_each_mode_promises() {
    let dir = tempdir();
    let image = dir.path().join("disk.img");
    LoopMount::make_ext4(&image, 64 << 20);
    let live = LoopMount::mount(&image, &dir.path().join("live"), false);
    // (mode, rows appended when the power is cut, whether the handle was closed first)
    let mut snapshots: Vec<(&str, u64, bool, PathBuf)> = Vec::new();
    for mode in ["none", "on-close", "every-append", "every-bytes"] {
        let path = live.at.join(format!("{mode}.npy"));
        let array = AppendOptions::new()
            .durability(durability(mode))
            .open(&path)
            .unwrap();
        for i in 0..ROWS {
            array.append(&rows(i, 1), &[1, 3]).unwrap();
            if [1, 5, 17].contains(&(i + 1)) {
                let snap = dir.path().join(format!("{mode}-{}.img", i + 1));
                std::fs::copy(&image, &snap).unwrap();
                snapshots.push((mode, i + 1, false, snap));
            }
        }
        array.close().unwrap();
        let snap = dir.path().join(format!("{mode}-closed.img"));
        std::fs::copy(&image, &snap).unwrap();
        snapshots.push((mode, ROWS, true, snap));
    }
    drop(live);
    let mut report = Vec::new();
    for (k, (mode, appended, closed, snap)) in snapshots.iter().enumerate() {
        let m = LoopMount::mount(snap, &dir.path().join(format!("snap{k}")), true);
        let path = m.at.join(format!("{mode}.npy"));
        let what = format!("power cut in {mode} after {appended} appends (closed: {closed})");
        let state = match inspect(&path) {
            Ok(info) => {
                let bytes = std::fs::read(&path).unwrap();
                let counted = info.header.growth_len();
                // Whatever survived is never a header counting bytes that are not there.
                let promised = promise(mode, *appended, *closed);
                if let Some(p) = promised {
                    assert_eq!(counted, p, "{what}: {info:?}");
                    assert!(info.data_present >= info.data_expected, "{what}: {info:?}");
                    let data = &bytes[info.header_len as usize..][..info.data_expected as usize];
                    check_rows_prefix(data, &what);
                }
                format!("header counts {counted}, {} data bytes", info.data_present)
            }
            Err(e) => {
                // Before the first sync point, not even the file is promised.
                let promised = promise(mode, *appended, *closed).unwrap_or(0);
                assert_eq!(promised, 0, "{what}: {e}");
                format!("{e}")
            }
        };
        report.push(format!("{what}: {state}"));
    }
    eprintln!("{}", report.join("\n"));
}
