//! What the fuzz targets do, shared by the libFuzzer binaries (`fuzz/fuzz_targets/`) and by
//! the regression replay in `npaa-core/tests/tests/fuzz_regressions.rs`, so that a saved input
//! goes through exactly the code that found it.
//!
//! Only npaa-core's public API is used, on real files (in `/dev/shm` when it exists, for
//! speed). Beyond "no panic, no unbounded allocation, no hang" (which libFuzzer watches: it
//! reports a panic, an allocation over `-rss_limit_mb`/`-malloc_limit_mb` or an input slower
//! than `-timeout` as a crash), every step checks what npaa promises, and panics when a promise
//! is broken:
//! - a call that fails leaves the file's bytes unchanged;
//! - what one function says agrees with the others (`inspect` vs `needs_recovery` vs `open`,
//!   a dry-run `recover` vs the real one);
//! - after a successful `recover` the file needs no recovery and holds exactly the reported
//!   items; after `ensure_appendable` it is appendable with the same header and data; after an
//!   append it holds one more item and the old data is untouched;
//! - what npaa writes it reads back to the same bytes (headers, dtype descrs).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use npaa_core::{
    AppendArray, AppendOptions, Dtype, EnsureOptions, Error, FileInfo, Header, Order,
    RecoverOptions, ensure_appendable_with, inspect, needs_recovery, recover_with,
};

/// The largest item (one step along the growth axis) this harness appends or zero-fills. A
/// hostile header can ask for items of petabytes; npaa handles that (sparse files, overflow
/// checks), but a fuzzer writing them would only measure the file system.
pub const MAX_ITEM_BYTES: u64 = 1 << 20;

/// A directory for the files of one fuzzing process, created on first use and never removed
/// (libFuzzer exits without running destructors): `npaa-fuzz.*` in `/dev/shm` or the temp dir.
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let mut builder = tempfile::Builder::new();
        builder.prefix("npaa-fuzz.");
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            builder.tempdir_in(shm)
        } else {
            builder.tempdir()
        };
        dir.expect("creating the fuzzing scratch directory").keep()
    })
}

/// Target `header`: the header reader and writer and the dtype parser.
///
/// The first byte picks how the rest is used: 0 as a whole file; 1, 2, 3 as the dict text
/// behind a valid version 1.0, 2.0, 3.0 prefix (so that the fuzzer reaches the literal and
/// dtype parsers without first having to find the magic string); 4 as a dtype string given to
/// [`Dtype::parse`].
pub fn header(dir: &Path, data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 5 {
        0 => header_file(dir, rest),
        m @ 1..=3 => {
            let mut file = b"\x93NUMPY".to_vec();
            file.push(m);
            file.push(0);
            if m == 1 {
                let text = &rest[..rest.len().min(usize::from(u16::MAX))];
                file.extend_from_slice(&(text.len() as u16).to_le_bytes());
                file.extend_from_slice(text);
            } else {
                file.extend_from_slice(&(rest.len() as u32).to_le_bytes());
                file.extend_from_slice(rest);
            }
            header_file(dir, &file);
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest) {
                dtype_text(dir, text);
            }
        }
    }
}

/// `bytes` as a file: inspect (lenient) and open for appending (strict) must agree, a header
/// read back renders to the same bytes, and opening then closing changes nothing.
fn header_file(dir: &Path, bytes: &[u8]) {
    let path = dir.join("header.npy");
    fs::write(&path, bytes).expect("writing the input");
    let info = match inspect(&path) {
        Ok(info) => {
            check_info(&info, bytes.len() as u64);
            Some(info)
        }
        Err(e) => {
            assert!(
                matches!(e, Error::Format { .. }),
                "inspect of a readable file failed with a non-format error: {e:?}"
            );
            let _ = e.to_string();
            None
        }
    };
    match AppendArray::open(&path) {
        Ok(array) => {
            let info = info.as_ref().expect("open succeeded where inspect failed");
            assert!(
                info.appendable && !info.needs_recovery && !info.placeholder,
                "open succeeded on a file inspect calls not appendable or needing recovery: {info:?}"
            );
            array.close().expect("closing without appending");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    assert_unchanged(&path, bytes, "inspect, open and close");
    if let Some(info) = info.filter(|i| !i.placeholder) {
        roundtrip_header(dir, &info.header);
        roundtrip_dtype(info.header.dtype());
    }
}

/// A header npaa renders is read back as one that renders to the same bytes.
fn roundtrip_header(dir: &Path, header: &Header) {
    let bytes = header.to_npy_bytes();
    let path = dir.join("rendered.npy");
    fs::write(&path, &bytes).expect("writing the rendered header");
    let back = inspect(&path)
        .unwrap_or_else(|e| panic!("npaa cannot read the header it wrote for {header:?}: {e}"));
    assert!(!back.placeholder);
    assert_eq!(back.header_len, bytes.len() as u64);
    assert_eq!(
        back.header.to_npy_bytes(),
        bytes,
        "rendering is not stable for {header:?}"
    );
    assert_eq!(back.header.shape(), header.shape());
    assert_eq!(back.header.order(), header.order());
    assert_eq!(back.header.dtype().itemsize(), header.dtype().itemsize());
}

/// A dtype's descr parses back to a dtype with the same descr and item size.
fn roundtrip_dtype(dtype: &Dtype) {
    let descr = dtype.descr();
    let back = Dtype::parse(&descr)
        .unwrap_or_else(|e| panic!("Dtype::parse refuses the descr npaa printed {descr:?}: {e}"));
    assert_eq!(back.descr(), descr);
    assert_eq!(back.itemsize(), dtype.itemsize());
    let _ = dtype.readable();
}

/// A dtype string: if it parses, it round-trips, and a header for it is readable.
fn dtype_text(dir: &Path, text: &str) {
    let dtype = match Dtype::parse(text) {
        Ok(d) => d,
        Err(e) => {
            assert!(
                matches!(e, Error::InvalidDtype { .. }),
                "unexpected error {e:?}"
            );
            let _ = e.to_string();
            return;
        }
    };
    roundtrip_dtype(&dtype);
    let header = Header::new(dtype, npaa_core::Order::C, vec![0, 2]).unwrap();
    roundtrip_header(dir, &header);
}

/// What `inspect` reports must be consistent with the file's size.
fn check_info(info: &FileInfo, file_len: u64) {
    assert!(info.header_len <= file_len, "{info:?}");
    assert_eq!(info.data_present, file_len - info.header_len, "{info:?}");
    if info.placeholder {
        assert!(info.needs_recovery && !info.appendable, "{info:?}");
    }
    if info.appendable {
        assert!(info.header.growth_axis().is_some(), "{info:?}");
    }
}

/// Target `open_inspect_recover`: every function that takes a file, on arbitrary bytes, each
/// on a fresh copy of the input.
pub fn open_inspect_recover(dir: &Path, data: &[u8]) {
    let path = dir.join("input.npy");
    let restore = || fs::write(&path, data).expect("writing the input");
    restore();

    let info = inspect(&path);
    match (&info, needs_recovery(&path)) {
        (Ok(info), Ok(nr)) => {
            assert_eq!(info.needs_recovery, nr);
            check_info(info, data.len() as u64);
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("inspect and needs_recovery disagree: {a:?} vs {b:?}"),
    }
    let info = info.ok();
    assert_unchanged(&path, data, "inspect");

    append_one(&path, data, info.as_ref());

    for zerofill_incomplete in [false, true] {
        restore();
        check_recover(&path, data, info.as_ref(), zerofill_incomplete);
    }

    for in_place in [false, true] {
        restore();
        check_ensure(&path, data, info.as_ref(), in_place);
    }
}

/// Opens for appending, in mapped mode (a small item is copied into reserved, mapped space,
/// which close must give back); on success appends one item (of at most [`MAX_ITEM_BYTES`])
/// and checks the result, on failure checks the file is untouched.
fn append_one(path: &Path, data: &[u8], info: Option<&FileInfo>) {
    let array = match AppendOptions::new().mapped_window(64 << 10).open(path) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.to_string();
            assert_unchanged(path, data, "a failed open");
            return;
        }
    };
    let info = info.expect("open succeeded where inspect failed");
    assert!(
        info.appendable && !info.needs_recovery,
        "open succeeded on a file inspect calls not appendable or needing recovery: {info:?}"
    );
    let dtype = array.dtype().expect("an open file has a dtype");
    let mut shape = array.shape().expect("an open file has a shape");
    assert_eq!(shape, info.header.shape());
    let axis = match array.order().expect("an open file has an order") {
        Order::C => 0,
        Order::Fortran => shape.len() - 1,
    };
    let before = shape[axis];
    shape[axis] = 1;
    let item: Option<u64> = shape
        .iter()
        .try_fold(dtype.itemsize() as u64, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_ITEM_BYTES);
    let Some(item) = item else {
        array.close().expect("closing without appending");
        assert_unchanged(path, data, "open and close");
        return;
    };
    let block: Vec<u8> = (0..item).map(|i| (i % 251) as u8).collect();
    array
        .append_raw(&dtype, &shape, &block)
        .unwrap_or_else(|e| panic!("appending one item of the file's own dtype failed: {e}"));
    array.close().expect("closing after an append");

    let after = inspect(path).expect("inspecting after an append");
    assert!(!after.needs_recovery && after.appendable, "{after:?}");
    assert_eq!(after.header_len, info.header_len);
    assert_eq!(after.header.shape()[axis], before + 1);
    let bytes = fs::read(path).expect("reading the result");
    let h = info.header_len as usize;
    assert_eq!(bytes.len(), data.len() + item as usize);
    assert_eq!(&bytes[h..data.len()], &data[h..], "old data changed");
    assert_eq!(&bytes[data.len()..], &block[..], "appended item");
}

/// A dry run changes nothing and predicts the real run; a real run leaves a file that needs no
/// recovery and holds what it reports; a failed run changes nothing.
fn check_recover(path: &Path, data: &[u8], info: Option<&FileInfo>, zerofill_incomplete: bool) {
    let dry = recover_with(
        path,
        RecoverOptions::new()
            .zerofill_incomplete(zerofill_incomplete)
            .dry_run(true),
    );
    assert_unchanged(path, data, "a dry-run recover");
    if let (Ok(_), None) = (&dry, info) {
        panic!("recover (dry run) accepted a file inspect refused");
    }
    let item_len = info.and_then(|i| i.header.item_len());
    if zerofill_incomplete && item_len.is_none_or(|r| r > MAX_ITEM_BYTES) {
        // Zero-filling may extend the file by one item: only do it for items of bounded size.
        return;
    }
    let real = recover_with(
        path,
        RecoverOptions::new().zerofill_incomplete(zerofill_incomplete),
    );
    match (&dry, &real) {
        (Ok(d), Ok(r)) => assert_eq!(d, r, "dry run and real run disagree"),
        (Err(d), Err(r)) => assert_eq!(d.to_string(), r.to_string()),
        (d, r) => panic!("dry run and real run disagree: {d:?} vs {r:?}"),
    }
    let report = match real {
        Ok(r) => r,
        Err(e) => {
            let _ = e.to_string();
            assert_unchanged(path, data, "a failed recover");
            return;
        }
    };
    if !report.changed {
        assert_unchanged(path, data, "a recover with nothing to do");
        return;
    }
    let after = inspect(path).expect("inspecting after recover");
    assert!(!after.needs_recovery && !after.placeholder, "{after:?}");
    assert_eq!(after.header.growth_len(), report.items_after);
    let expected_len = after.header_len + after.data_expected;
    assert_eq!(fs::metadata(path).unwrap().len(), expected_len);
    let info = info.expect("recover succeeded where inspect failed");
    assert_eq!(after.header_len, info.header_len);
    assert_eq!(after.header.dtype(), info.header.dtype());
    assert_eq!(after.header.order(), info.header.order());
    // The whole items kept are the bytes that were there.
    let bytes = fs::read(path).unwrap();
    let h = info.header_len as usize;
    let kept = (data.len() - h).min(bytes.len() - h);
    assert_eq!(
        &bytes[h..h + kept],
        &data[h..h + kept],
        "recover changed data"
    );
    assert!(bytes[h + kept..].iter().all(|&b| b == 0), "zero fill");
}

/// Success: the same header (now appendable) and the same data bytes. Failure: the file is
/// untouched.
fn check_ensure(path: &Path, data: &[u8], info: Option<&FileInfo>, in_place: bool) {
    let report = match ensure_appendable_with(path, EnsureOptions::new().in_place(in_place)) {
        Ok(r) => r,
        Err(e) => {
            let _ = e.to_string();
            assert_unchanged(path, data, "a failed ensure_appendable");
            return;
        }
    };
    let info = info.expect("ensure_appendable succeeded where inspect failed");
    assert!(
        !info.placeholder,
        "ensure_appendable accepted a placeholder"
    );
    let after = inspect(path).expect("inspecting after ensure_appendable");
    assert!(after.appendable, "{after:?}");
    assert_eq!(after.header_len, report.header_len_after);
    assert_eq!(after.header.shape(), info.header.shape());
    assert_eq!(after.header.dtype().descr(), info.header.dtype().descr());
    assert_eq!(after.header.order(), info.header.order());
    let bytes = fs::read(path).unwrap();
    assert_eq!(
        &bytes[after.header_len as usize..],
        &data[info.header_len as usize..],
        "ensure_appendable changed the data"
    );
}

fn assert_unchanged(path: &Path, data: &[u8], what: &str) {
    let now = fs::read(path).expect("reading the file back");
    assert!(
        now == data,
        "{what} changed the file ({} bytes -> {} bytes)",
        data.len(),
        now.len()
    );
}
