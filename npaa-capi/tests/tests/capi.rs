//! The C ABI called from Rust, as a C program would call it: error paths (NULL pointers,
//! invalid descrs, mismatched shapes), status texts, version constants, the thread-local
//! message, and concurrent appends on one handle checked with NumPy.
//!
//! The C programs in examples-c/ (run by scripts/c-tests) cover the same ground from real C,
//! under the sanitizers.

use std::ffi::{CStr, CString, c_char};
use std::path::Path;
use std::ptr;

use npaa::array::*;
use npaa::dtype::npaa_dtype_itemsize;
use npaa::error::npaa_last_error_message;
use npaa::files::*;
use npaa::options::*;
use npaa::ragged::{npaa_ragged_problems, npaa_ragged_recover};
use npaa::status::*;
use npaa::{NPAA_VERSION_MAJOR, NPAA_VERSION_MINOR, NPAA_VERSION_PATCH, npaa_version};
use npaa_testutil::{assert_numpy_loads, run_python, tempdir, workspace_root};

fn c_path(path: &Path) -> CString {
    // The path's bytes on Unix, its UTF-8 on Windows: what the C ABI takes on each.
    CString::new(path.as_os_str().as_encoded_bytes()).unwrap()
}

fn last_message() -> String {
    // SAFETY: npaa_last_error_message always returns a valid NUL-terminated string, valid
    // until the next npaa call on this thread; it is copied at once.
    unsafe { CStr::from_ptr(npaa_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

fn status_name(status: npaa_status) -> String {
    // SAFETY: npaa_status_str returns a static NUL-terminated string for any value.
    unsafe { CStr::from_ptr(npaa_status_str(status)) }
        .to_string_lossy()
        .into_owned()
}

/// Asserts a status, and that the message is set on failure and empty on success.
#[track_caller]
fn expect(status: npaa_status, want: npaa_status) -> String {
    let message = last_message();
    assert_eq!(status_name(status), status_name(want), "message: {message}");
    if want == NPAA_OK {
        assert_eq!(message, "", "a successful call leaves no message");
    } else {
        assert!(
            !message.is_empty(),
            "{} without a message",
            status_name(want)
        );
    }
    message
}

/// Opens a new file (deleting an old one).
fn open_new(path: &Path) -> *mut npaa_array {
    let mut options = npaa_options {
        struct_size: 0,
        delete_if_exists: 0,
        rewrite_header_on_append: 0,
        fortran_order: 0,
        casting: 0,
        durability: 0,
        reserved: 0,
        durability_bytes: 0,
        buffer_capacity: 0,
        mapped_window: 0,
        shared: 0,
        lock_wait: 0,
        lock_timeout_ms: 0,
    };
    // SAFETY: a valid, writable npaa_options.
    expect(unsafe { npaa_options_default(&mut options) }, NPAA_OK);
    options.delete_if_exists = 1;
    let mut array = ptr::null_mut();
    let path = c_path(path);
    // SAFETY: valid string, options and out-pointer.
    expect(
        unsafe { npaa_open(path.as_ptr(), &options, &mut array) },
        NPAA_OK,
    );
    assert!(!array.is_null());
    array
}

const F8: &CStr = c"<f8";
const ROW: [u64; 2] = [1, 3];
const VALUES: [f64; 3] = [1.0, 2.0, 3.0];

fn append_row(array: *mut npaa_array, values: &[f64; 3]) -> npaa_status {
    // SAFETY: a live handle, a descr, 3 f64 for a (1, 3) block of <f8, a 2-value shape.
    unsafe { npaa_append(array, values.as_ptr().cast(), F8.as_ptr(), 2, ROW.as_ptr()) }
}

#[test]
fn null_pointers_are_refused_and_out_parameters_untouched() {
    let dir = tempdir();
    let path = c_path(&dir.path().join("a.npy"));
    let sentinel = 0x1000 as *mut npaa_array;
    let mut array = sentinel;
    // SAFETY: for all calls below, every pointer is NULL or valid for what the function does.
    unsafe {
        let m = expect(
            npaa_open(ptr::null(), ptr::null(), &mut array),
            NPAA_NULL_ARGUMENT,
        );
        assert!(m.starts_with("npaa_open: `path` is NULL"), "{m}");
        assert_eq!(array, sentinel);
        expect(
            npaa_open(path.as_ptr(), ptr::null(), ptr::null_mut()),
            NPAA_NULL_ARGUMENT,
        );
        expect(npaa_options_default(ptr::null_mut()), NPAA_NULL_ARGUMENT);
        let m = expect(
            npaa_append(ptr::null_mut(), ptr::null(), F8.as_ptr(), 2, ROW.as_ptr()),
            NPAA_NULL_ARGUMENT,
        );
        assert!(m.contains("`array` is NULL"), "{m}");
        let mut n = 7usize;
        let mut flag = true;
        expect(npaa_ndim(ptr::null(), &mut n), NPAA_NULL_ARGUMENT);
        expect(
            npaa_shape(ptr::null(), ptr::null_mut(), 0, &mut n),
            NPAA_NULL_ARGUMENT,
        );
        expect(
            npaa_descr(ptr::null(), ptr::null_mut(), 0, &mut n),
            NPAA_NULL_ARGUMENT,
        );
        expect(
            npaa_is_fortran_order(ptr::null(), &mut flag),
            NPAA_NULL_ARGUMENT,
        );
        expect(npaa_flush(ptr::null_mut()), NPAA_NULL_ARGUMENT);
        expect(npaa_sync(ptr::null_mut()), NPAA_NULL_ARGUMENT);
        expect(npaa_update_header(ptr::null_mut()), NPAA_NULL_ARGUMENT);
        expect(npaa_dtype_itemsize(ptr::null(), &mut n), NPAA_NULL_ARGUMENT);
        expect(
            npaa_recover(ptr::null(), 0, ptr::null_mut()),
            NPAA_NULL_ARGUMENT,
        );
        expect(
            npaa_ensure_appendable(ptr::null(), 0, ptr::null_mut()),
            NPAA_NULL_ARGUMENT,
        );
        expect(
            npaa_is_appendable(ptr::null(), &mut flag),
            NPAA_NULL_ARGUMENT,
        );
        expect(
            npaa_needs_recovery(path.as_ptr(), ptr::null_mut()),
            NPAA_NULL_ARGUMENT,
        );
        assert_eq!((n, flag), (7, true));
        expect(npaa_close(ptr::null_mut()), NPAA_OK);

        let array = open_new(&dir.path().join("a.npy"));
        let m = expect(
            npaa_append(array, VALUES.as_ptr().cast(), ptr::null(), 2, ROW.as_ptr()),
            NPAA_NULL_ARGUMENT,
        );
        assert!(m.contains("`descr` is NULL"), "{m}");
        expect(
            npaa_append(array, VALUES.as_ptr().cast(), F8.as_ptr(), 2, ptr::null()),
            NPAA_NULL_ARGUMENT,
        );
        expect(
            npaa_append(array, ptr::null(), F8.as_ptr(), 2, ROW.as_ptr()),
            NPAA_NULL_ARGUMENT,
        );
        // (NULL, 0) is a valid empty block.
        let empty = [0u64, 3];
        expect(
            npaa_append(array, ptr::null(), F8.as_ptr(), 2, empty.as_ptr()),
            NPAA_OK,
        );
        expect(npaa_shape(array, ptr::null_mut(), 0, &mut n), NPAA_OK);
        assert_eq!(n, 2);
        expect(npaa_close(array), NPAA_OK);
    }
    assert_numpy_loads(&dir.path().join("a.npy"), "np.zeros((0, 3))");
}

#[test]
fn bad_blocks_are_refused_before_anything_is_written() {
    let dir = tempdir();
    let path = dir.path().join("b.npy");
    let array = open_new(&path);
    // SAFETY: for all calls below, valid handle, strings, and data/shape of the sizes given.
    unsafe {
        let data = VALUES.as_ptr().cast();
        expect(
            npaa_append(array, data, F8.as_ptr(), 0, ROW.as_ptr()),
            NPAA_ZERO_DIMENSIONAL,
        );
        let m = expect(
            npaa_append(array, data, c"<f9".as_ptr(), 2, ROW.as_ptr()),
            NPAA_INVALID_DTYPE,
        );
        assert!(m.contains("<f9"), "{m}");
        let not_utf8 = [0xffu8 as c_char, 0];
        expect(
            npaa_append(array, data, not_utf8.as_ptr(), 2, ROW.as_ptr()),
            NPAA_INVALID_DTYPE,
        );
        expect(
            npaa_append(array, data, c"|O".as_ptr(), 2, ROW.as_ptr()),
            NPAA_OBJECT_DTYPE,
        );
        let huge = [u64::MAX, 3];
        expect(
            npaa_append(array, data, F8.as_ptr(), 2, huge.as_ptr()),
            NPAA_OVERFLOW,
        );
        let many = [1u64; 65];
        expect(
            npaa_append(array, data, F8.as_ptr(), 65, many.as_ptr()),
            NPAA_INVALID_ARGUMENT,
        );
        assert!(!path.exists(), "failed appends must not create the file");

        expect(append_row(array, &VALUES), NPAA_OK);
        let wide = [1u64, 4];
        let m = expect(
            npaa_append(array, data, F8.as_ptr(), 2, wide.as_ptr()),
            NPAA_SHAPE_MISMATCH,
        );
        assert!(m.contains("(1, 4)") && m.contains("(1, 3)"), "{m}");
        let flat = [3u64];
        expect(
            npaa_append(array, data, F8.as_ptr(), 1, flat.as_ptr()),
            NPAA_SHAPE_MISMATCH,
        );
        let m = expect(
            npaa_append(array, data, c"<c16".as_ptr(), 2, ROW.as_ptr()),
            NPAA_CAST,
        );
        assert!(
            m.contains("NPAA_CASTING_UNSAFE"),
            "C callers get the C remedy: {m}"
        );
        expect(
            npaa_check_append(array, c"<c16".as_ptr(), 2, ROW.as_ptr()),
            NPAA_CAST,
        );
        expect(
            npaa_check_append(array, F8.as_ptr(), 2, wide.as_ptr()),
            NPAA_SHAPE_MISMATCH,
        );

        // snprintf-like getters.
        let mut shape = [0u64, 99];
        let mut ndim = 0usize;
        expect(npaa_shape(array, shape.as_mut_ptr(), 1, &mut ndim), NPAA_OK);
        assert_eq!((ndim, shape), (2, [1, 99]));
        let mut buf = [b'x' as c_char; 3];
        let mut len = 0usize;
        expect(npaa_descr(array, buf.as_mut_ptr(), 3, &mut len), NPAA_OK);
        assert_eq!(len, 3);
        assert_eq!(CStr::from_ptr(buf.as_ptr()), c"<f");
        expect(npaa_close(array), NPAA_OK);
    }
    assert_numpy_loads(&path, "np.array([[1.0, 2.0, 3.0]])");
}

#[test]
fn bad_options_are_refused() {
    let dir = tempdir();
    let path = c_path(&dir.path().join("o.npy"));
    let defaults = {
        let mut o = std::mem::MaybeUninit::<npaa_options>::uninit();
        // SAFETY: writes a whole npaa_options.
        expect(unsafe { npaa_options_default(o.as_mut_ptr()) }, NPAA_OK);
        // SAFETY: initialized just above.
        unsafe { o.assume_init() }
    };
    assert_eq!(defaults.struct_size, std::mem::size_of::<npaa_options>());
    assert_eq!(defaults.casting, NPAA_CASTING_SAME_KIND);
    assert_eq!(defaults.rewrite_header_on_append, 1);
    for (bad, needle) in [
        (
            npaa_options {
                struct_size: 3,
                ..defaults
            },
            "struct_size",
        ),
        (
            npaa_options {
                casting: 5,
                ..defaults
            },
            "NPAA_CASTING_",
        ),
        (
            npaa_options {
                durability: 4,
                ..defaults
            },
            "NPAA_DURABILITY_",
        ),
        (
            npaa_options {
                durability: NPAA_DURABILITY_EVERY_BYTES,
                ..defaults
            },
            "durability_bytes",
        ),
        (
            npaa_options {
                reserved: 1,
                ..defaults
            },
            "reserved",
        ),
    ] {
        let mut array = ptr::null_mut();
        // SAFETY: valid string, options and out-pointer.
        let m = expect(
            unsafe { npaa_open(path.as_ptr(), &bad, &mut array) },
            NPAA_INVALID_ARGUMENT,
        );
        assert!(m.contains(needle), "{m}");
        assert!(array.is_null());
    }
    // SAFETY: valid strings; NULL reports are allowed.
    unsafe {
        expect(
            npaa_recover(path.as_ptr(), 0x100, ptr::null_mut()),
            NPAA_INVALID_ARGUMENT,
        );
        expect(
            npaa_ensure_appendable(path.as_ptr(), 0x100, ptr::null_mut()),
            NPAA_INVALID_ARGUMENT,
        );
        let mut array = ptr::null_mut();
        expect(
            npaa_open(c"".as_ptr(), ptr::null(), &mut array),
            NPAA_INVALID_ARGUMENT,
        );
        let missing = c_path(&dir.path().join("no/such/dir/x.npy"));
        let m = expect(
            npaa_open(missing.as_ptr(), ptr::null(), &mut array),
            NPAA_IO,
        );
        assert!(m.contains("no/such/dir"), "{m}");
        assert!(array.is_null());
    }
}

/// As npaa_open() documents: two handles opened on a path that does not exist yet both
/// succeed; the first append creates the file, the other handle's first append then gets
/// NPAA_LOCKED while the first is open, and appends to the file once it is closed.
#[test]
fn two_handles_on_a_new_path() {
    let dir = tempdir();
    let path = dir.path().join("new.npy");
    let cpath = c_path(&path);
    // SAFETY: valid strings, handles and out-pointers.
    unsafe {
        let (mut first, mut second) = (ptr::null_mut(), ptr::null_mut());
        expect(npaa_open(cpath.as_ptr(), ptr::null(), &mut first), NPAA_OK);
        expect(npaa_open(cpath.as_ptr(), ptr::null(), &mut second), NPAA_OK);
        expect(append_row(first, &VALUES), NPAA_OK);
        expect(append_row(second, &VALUES), NPAA_LOCKED);
        expect(npaa_close(first), NPAA_OK);
        expect(append_row(second, &VALUES), NPAA_OK);
        expect(npaa_close(second), NPAA_OK);
    }
    assert_numpy_loads(&path, "np.array([[1.0, 2.0, 3.0]] * 2)");
}

#[test]
fn broken_and_locked_files_say_what_to_do() {
    let dir = tempdir();
    let path = dir.path().join("r.npy");
    let cpath = c_path(&path);
    let array = open_new(&path);
    expect(append_row(array, &VALUES), NPAA_OK);
    expect(append_row(array, &VALUES), NPAA_OK);
    // SAFETY: for all calls below, valid strings, handles and out-pointers.
    unsafe {
        let mut second = ptr::null_mut();
        expect(
            npaa_open(cpath.as_ptr(), ptr::null(), &mut second),
            NPAA_LOCKED,
        );
        expect(
            npaa_recover(cpath.as_ptr(), 0, ptr::null_mut()),
            NPAA_LOCKED,
        );
        expect(npaa_close(array), NPAA_OK);

        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 5)
            .unwrap();
        let mut yes = false;
        expect(npaa_needs_recovery(cpath.as_ptr(), &mut yes), NPAA_OK);
        assert!(yes);
        let m = expect(
            npaa_open(cpath.as_ptr(), ptr::null(), &mut second),
            NPAA_NEEDS_RECOVERY,
        );
        assert!(
            m.contains("npaa_recover"),
            "C callers get the C function's name: {m}"
        );
        let mut report = npaa_recover_report::default();
        expect(npaa_recover(cpath.as_ptr(), 0, &mut report), NPAA_OK);
        assert_eq!(
            (
                report.items_before,
                report.items_after,
                report.bytes_cut,
                report.changed
            ),
            (2, 1, 19, true)
        );

        std::fs::write(&path, b"\x93NUMPY\x01\x00").unwrap();
        expect(
            npaa_open(cpath.as_ptr(), ptr::null(), &mut second),
            NPAA_FORMAT,
        );
        assert!(second.is_null());
    }

    // A legacy header without spare room.
    let legacy = dir.path().join("legacy.npy");
    let dict = b"{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }";
    let total = 10 + dict.len() + 1;
    let pad = (16 - total % 16) % 16;
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&((dict.len() + pad + 1) as u16).to_le_bytes());
    bytes.extend_from_slice(dict);
    bytes.extend(std::iter::repeat_n(b' ', pad));
    bytes.push(b'\n');
    bytes.extend_from_slice(&1.5f64.to_le_bytes());
    std::fs::write(&legacy, bytes).unwrap();
    let clegacy = c_path(&legacy);
    // SAFETY: valid strings and out-pointers.
    unsafe {
        let mut array = ptr::null_mut();
        let m = expect(
            npaa_open(clegacy.as_ptr(), ptr::null(), &mut array),
            NPAA_NOT_APPENDABLE,
        );
        assert!(m.contains("npaa_ensure_appendable"), "{m}");
        let mut report = npaa_ensure_report::default();
        expect(
            npaa_ensure_appendable(clegacy.as_ptr(), 0, &mut report),
            NPAA_OK,
        );
        assert_eq!(report.method, NPAA_ENSURE_COPIED);
        expect(
            npaa_open(clegacy.as_ptr(), ptr::null(), &mut array),
            NPAA_OK,
        );
        let one = [2.5f64];
        let shape = [1u64];
        expect(
            npaa_append(array, one.as_ptr().cast(), F8.as_ptr(), 1, shape.as_ptr()),
            NPAA_OK,
        );
        expect(npaa_close(array), NPAA_OK);
    }
    assert_numpy_loads(&legacy, "np.array([1.5, 2.5])");
}

#[test]
fn structured_rows_from_many_threads_on_one_handle() {
    const DESCR: &CStr =
        c"[('step', '<u8'), ('thread', '<u4'), ('t', '<f8'), ('pos', '<f4', (3,))]";
    let dir = tempdir();
    let path = dir.path().join("s.npy");
    let mut itemsize = 0;
    // SAFETY: valid string and out-pointer.
    expect(
        unsafe { npaa_dtype_itemsize(DESCR.as_ptr(), &mut itemsize) },
        NPAA_OK,
    );
    assert_eq!(itemsize, 32);

    struct Handle(*mut npaa_array);
    // SAFETY: npaa_array may be used from many threads at once (its documented contract).
    unsafe impl Sync for Handle {}
    let handle = Handle(open_new(&path));
    let (threads, steps) = (8u32, 200u64);
    std::thread::scope(|s| {
        for thread in 0..threads {
            let handle = &handle;
            s.spawn(move || {
                for step in 0..steps {
                    let mut row = [0u8; 32];
                    row[0..8].copy_from_slice(&step.to_le_bytes());
                    row[8..12].copy_from_slice(&thread.to_le_bytes());
                    row[12..20]
                        .copy_from_slice(&(step as f64 + f64::from(thread) / 8.0).to_le_bytes());
                    for (i, v) in [thread as f32, step as f32, -1.0f32].iter().enumerate() {
                        row[20 + 4 * i..24 + 4 * i].copy_from_slice(&v.to_le_bytes());
                    }
                    let shape = [1u64];
                    // SAFETY: a live handle shared across threads (allowed), a 32-byte row of
                    // the 32-byte dtype, a 1-value shape.
                    let status = unsafe {
                        npaa_append(
                            handle.0,
                            row.as_ptr().cast(),
                            DESCR.as_ptr(),
                            1,
                            shape.as_ptr(),
                        )
                    };
                    expect(status, NPAA_OK);
                }
            });
        }
    });
    // SAFETY: all threads are joined; the handle is not used again.
    expect(unsafe { npaa_close(handle.0) }, NPAA_OK);
    npaa_testutil::run_python(
        "import sys, numpy as np\n\
         a = np.load(sys.argv[1], mmap_mode='r')\n\
         assert a.shape == (1600,), a.shape\n\
         for t in range(8):\n\
         \x20   r = a[a['thread'] == t]\n\
         \x20   assert (r['step'] == np.arange(200)).all()\n\
         \x20   assert (r['t'] == np.arange(200) + t / 8).all()\n\
         \x20   assert (r['pos'][:, 0] == t).all() and (r['pos'][:, 1] == np.arange(200)).all()\n",
        &[&path],
    );
}

#[test]
fn every_status_has_a_static_text() {
    let codes = [
        NPAA_OK,
        NPAA_NULL_ARGUMENT,
        NPAA_INVALID_ARGUMENT,
        NPAA_IO,
        NPAA_FORMAT,
        NPAA_LOCKED,
        NPAA_NOT_APPENDABLE,
        NPAA_NEEDS_RECOVERY,
        NPAA_SHAPE_MISMATCH,
        NPAA_CAST,
        NPAA_CAST_UNSUPPORTED,
        NPAA_INVALID_DTYPE,
        NPAA_OBJECT_DTYPE,
        NPAA_ZERO_DIMENSIONAL,
        NPAA_SCALAR_FILE,
        NPAA_OVERFLOW,
        NPAA_FILE_CHANGED,
        NPAA_PANIC,
        NPAA_UNKNOWN,
    ];
    for (i, &code) in codes.iter().enumerate() {
        assert_eq!(code as usize, i, "codes are dense and stable");
        assert!(
            status_name(code).starts_with("NPAA_"),
            "{}",
            status_name(code)
        );
    }
    assert_eq!(status_name(NPAA_UNKNOWN + 1), "unknown npaa status code");
    assert_eq!(status_name(u32::MAX), "unknown npaa status code");
}

#[test]
fn version_constants_and_header_macros_match_cargo_toml() {
    // SAFETY: npaa_version returns a static NUL-terminated string.
    let linked = unsafe { CStr::from_ptr(npaa_version()) };
    assert_eq!(linked.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    let header = std::fs::read_to_string(workspace_root().join("include/npaa.h")).unwrap();
    for (name, value, cargo) in [
        (
            "NPAA_VERSION_MAJOR",
            NPAA_VERSION_MAJOR,
            env!("CARGO_PKG_VERSION_MAJOR"),
        ),
        (
            "NPAA_VERSION_MINOR",
            NPAA_VERSION_MINOR,
            env!("CARGO_PKG_VERSION_MINOR"),
        ),
        (
            "NPAA_VERSION_PATCH",
            NPAA_VERSION_PATCH,
            env!("CARGO_PKG_VERSION_PATCH"),
        ),
    ] {
        assert_eq!(value.to_string(), cargo, "{name} in src/lib.rs");
        let define = format!("#define {name} {cargo}\n");
        assert!(
            header.contains(&define),
            "include/npaa.h lacks {define:?}: regenerate it"
        );
    }
}

#[test]
fn the_message_is_per_thread_and_cleared_by_success() {
    let mut n = 0usize;
    // SAFETY: NULL handle (refused), valid out-pointer.
    expect(
        unsafe { npaa_ndim(ptr::null(), &mut n) },
        NPAA_NULL_ARGUMENT,
    );
    let mine = last_message();
    std::thread::spawn(|| {
        let mut n = 0usize;
        // SAFETY: an invalid descr (refused), valid out-pointer.
        expect(
            unsafe { npaa_dtype_itemsize(c"<q9".as_ptr(), &mut n) },
            NPAA_INVALID_DTYPE,
        );
    })
    .join()
    .unwrap();
    assert_eq!(last_message(), mine);
    // npaa_status_str and npaa_version do not touch it; a successful call clears it.
    let _ = npaa_status_str(NPAA_IO);
    let _ = npaa_version();
    assert_eq!(last_message(), mine);
    // SAFETY: valid string and out-pointer.
    expect(unsafe { npaa_dtype_itemsize(F8.as_ptr(), &mut n) }, NPAA_OK);
    assert_eq!(n, 8);
}

/// npaa_append_files(): the core's transaction from C. The result is np.save of the
/// concatenation; a bad source changes nothing and the message names it.
#[test]
fn append_files_is_the_cores_transaction() {
    let dir = tempdir();
    let at = |name: &str| dir.path().join(name);
    for (name, values) in [("a.npy", [1.0, 2.0, 3.0]), ("b.npy", [4.0, 5.0, 6.0])] {
        let array = open_new(&at(name));
        expect(append_row(array, &values), NPAA_OK);
        // SAFETY: a live handle, closed once.
        expect(unsafe { npaa_close(array) }, NPAA_OK);
    }
    npaa_testutil::np_save(&at("wide.npy"), "np.ones((1, 4))");
    let dest = c_path(&at("all.npy"));
    let names = [c_path(&at("a.npy")), c_path(&at("b.npy"))];
    let sources: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
    let mut report = npaa_append_files_report::default();
    // SAFETY: valid strings, an array of 2 of them, default options, a writable report.
    let status =
        unsafe { npaa_append_files(dest.as_ptr(), sources.as_ptr(), 2, ptr::null(), &mut report) };
    expect(status, NPAA_OK);
    assert_eq!(
        report,
        npaa_append_files_report {
            items: 2,
            bytes: 48,
            created: true
        }
    );
    assert_numpy_loads(&at("all.npy"), "np.arange(1.0, 7.0).reshape(2, 3)");

    let before = std::fs::read(at("all.npy")).unwrap();
    let names = [c_path(&at("a.npy")), c_path(&at("wide.npy"))];
    let sources: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
    // SAFETY: as above, without a report.
    let status = unsafe {
        npaa_append_files(
            dest.as_ptr(),
            sources.as_ptr(),
            2,
            ptr::null(),
            ptr::null_mut(),
        )
    };
    let message = expect(status, NPAA_SHAPE_MISMATCH);
    assert!(
        message.starts_with(&format!(
            "npaa_append_files: {}: ",
            at("wide.npy").display()
        )),
        "{message}"
    );
    assert_eq!(std::fs::read(at("all.npy")).unwrap(), before);

    // (NULL, 0): nothing to do for an existing file, nothing to create a new one from.
    // SAFETY: a valid string and an empty list.
    let status =
        unsafe { npaa_append_files(dest.as_ptr(), ptr::null(), 0, ptr::null(), ptr::null_mut()) };
    expect(status, NPAA_OK);
    let new = c_path(&at("none.npy"));
    // SAFETY: as above.
    let status =
        unsafe { npaa_append_files(new.as_ptr(), ptr::null(), 0, ptr::null(), ptr::null_mut()) };
    expect(status, NPAA_INVALID_ARGUMENT);
    // SAFETY: a NULL source list with a count: refused, not read.
    let status =
        unsafe { npaa_append_files(dest.as_ptr(), ptr::null(), 1, ptr::null(), ptr::null_mut()) };
    expect(status, NPAA_NULL_ARGUMENT);
}

/// npaa_append_sized(): the library checks the caller's length against the block (the rule
/// the C++ wrapper used to restate), and writes nothing when they differ.
#[test]
fn a_sized_append_checks_the_length() {
    let dir = tempdir();
    let path = dir.path().join("sized.npy");
    let array = open_new(&path);
    let values = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
    let shape = [2u64, 3];
    // SAFETY: a live handle, 40 readable bytes (fewer than the block needs), a descr, a
    // 2-value shape.
    let status = unsafe {
        npaa_append_sized(
            array,
            values.as_ptr().cast(),
            40,
            F8.as_ptr(),
            2,
            shape.as_ptr(),
        )
    };
    let message = expect(status, NPAA_INVALID_ARGUMENT);
    assert!(message.contains("needs 48 bytes, got 40"), "{message}");
    // SAFETY: as above, with the block's 48 bytes, in the other order.
    let status = unsafe {
        npaa_append_ordered_sized(
            array,
            values.as_ptr().cast(),
            48,
            F8.as_ptr(),
            2,
            shape.as_ptr(),
            NPAA_ORDER_F,
        )
    };
    expect(status, NPAA_OK);
    // SAFETY: a live handle, closed once.
    expect(unsafe { npaa_close(array) }, NPAA_OK);
    assert_numpy_loads(&path, "np.array([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]])");
}

/// The signature of npaa_problems() and npaa_ragged_problems().
type ProblemsFn =
    unsafe extern "C" fn(*const c_char, *mut c_char, usize, *mut usize, *mut usize) -> npaa_status;

/// The count and text `problems` gives for the path `c`: asked for the length first (NULL, 0),
/// then with a buffer of that length.
fn problems_text(problems: ProblemsFn, c: &CString) -> (usize, String) {
    let (mut len, mut count) = (usize::MAX, usize::MAX);
    // SAFETY: a valid string; (NULL, 0) asks for the length only.
    let status = unsafe { problems(c.as_ptr(), ptr::null_mut(), 0, &mut len, &mut count) };
    expect(status, NPAA_OK);
    let mut buf = vec![0 as c_char; len + 1];
    // SAFETY: a valid string and a buffer of len + 1 bytes.
    let status = unsafe {
        problems(
            c.as_ptr(),
            buf.as_mut_ptr(),
            buf.len(),
            &mut len,
            &mut count,
        )
    };
    expect(status, NPAA_OK);
    // SAFETY: NUL-terminated by the call.
    let text = unsafe { CStr::from_ptr(buf.as_ptr()) };
    (count, text.to_string_lossy().into_owned())
}

/// npaa_ragged_problems(): the core's findings about a pair, worded with the C functions that
/// fix them, on pairs broken in each way.
#[test]
fn ragged_problems_are_the_cores_findings_in_c_terms() {
    let dir = tempdir();
    let path = dir.path().join("f.npy");
    let c = c_path(&path);
    let pair = |setup: &str| {
        run_python(
            &format!(
                "import numpy as np, sys, os\nd, i = sys.argv[1], sys.argv[2]\n\
                 np.save(d, np.arange(20, dtype='<f4').reshape(10, 2))\n\
                 np.save(i, np.array([4, 4, 10], dtype='<i8'))\n{setup}"
            ),
            &[path.clone(), npaa_core::index_path(&path)],
        );
        problems_text(npaa_ragged_problems, &c)
    };
    assert_eq!(pair(""), (0, String::new()));
    let fix = ": call npaa_ragged_recover() on its data file first";
    assert_eq!(
        pair("np.save(i, np.array([4, 4, 10, 12], dtype='<i8'))"),
        (
            1,
            format!("needs recovery: 1 index entries end past the 10 items the data holds{fix}")
        )
    );
    assert_eq!(
        pair("np.save(i, np.array([4, 3, 10], dtype='<i8'))"),
        (
            1,
            "index entry 1 (3) is smaller than the one before it (4): record ends never \
             decrease"
                .to_owned()
        )
    );
    assert_eq!(
        pair("os.truncate(d, os.path.getsize(d) - 4)"),
        (
            1,
            format!(
                "the data file: needs recovery: 76 data bytes present, the header announces 80 \
                 (NumPy cannot load it){fix}"
            )
        )
    );
    assert_eq!(
        pair("np.save(i, np.array([4, 4], dtype='<i8'))"),
        (
            1,
            format!(
                "needs recovery: the data holds 6 items past its last indexed record (a \
                 half-appended record){fix}"
            )
        )
    );
    let mut records = 0;
    // SAFETY: a valid string and a writable u64.
    expect(
        unsafe { npaa_ragged_recover(c.as_ptr(), &mut records) },
        NPAA_OK,
    );
    assert_eq!(
        (records, problems_text(npaa_ragged_problems, &c)),
        (2, (0, String::new()))
    );
    // No pair: the error of a missing index, and nothing written.
    let none = c_path(&dir.path().join("none.npy"));
    let (mut len, mut count) = (7, 7);
    // SAFETY: a valid string; (NULL, 0) asks for the length only.
    let status =
        unsafe { npaa_ragged_problems(none.as_ptr(), ptr::null_mut(), 0, &mut len, &mut count) };
    expect(status, NPAA_IO);
    assert_eq!((len, count), (7, 7));
}

/// npaa_problems(): the core's findings, worded with the C functions that fix them.
#[test]
fn problems_are_the_cores_findings_in_c_terms() {
    let dir = tempdir();
    let path = dir.path().join("p.npy");
    let array = open_new(&path);
    expect(append_row(array, &VALUES), NPAA_OK);
    // SAFETY: a live handle, closed once.
    expect(unsafe { npaa_close(array) }, NPAA_OK);
    let c = c_path(&path);
    let problems = |c: &CString| problems_text(npaa_problems, c);
    assert_eq!(problems(&c), (0, String::new()));
    let len = std::fs::metadata(&path).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len - 4).unwrap();
    let (count, text) = problems(&c);
    assert_eq!(count, 1);
    assert!(
        text.starts_with("needs recovery: 20 data bytes present, the header announces 24")
            && text.ends_with(": call npaa_recover() on it first"),
        "{text}"
    );
}
