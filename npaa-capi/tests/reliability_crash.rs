//! Crash consistency through the C ABI: a writer appending with npaa_open() / npaa_append() /
//! npaa_close(), killed with SIGKILL at random moments, leaves files that NumPy loads as an
//! exact prefix of what was appended and that npaa_recover()'s core turns into whole items.
//!
//! The campaign (kill timing, checks of every outcome, one NumPy call for all files) is the
//! one of npaa-core's `reliability_crash` test, shared through its `reliability_support`
//! module; only the writer differs: here it calls the C functions, as a C program linked to
//! libnpaa does. The child is this test binary run again (see `reliability_support`).
//! `NPAA_CRASH_KILLS` changes the number of kills (default 250).

#[path = "../../npaa-core/tests/reliability_support/mod.rs"]
mod reliability_support;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::ptr;
use std::time::Duration;

use npaa::array::{npaa_append, npaa_array, npaa_close, npaa_open};
use npaa::options::{NPAA_DURABILITY_EVERY_BYTES, npaa_options, npaa_options_default};
use npaa::status::NPAA_OK;
use reliability_support::crash::{self, Mode};
use reliability_support::{child_arg, child_role, rows};

const MODES: [Mode; 5] = [
    Mode {
        name: "rewrite",
        fortran: false,
    },
    Mode {
        name: "rewrite-fortran",
        fortran: true,
    },
    Mode {
        name: "no-rewrite",
        fortran: false,
    },
    Mode {
        name: "every-bytes",
        fortran: false,
    },
    Mode {
        name: "mapped",
        fortran: false,
    },
];

/// The child: a C-style writer.
#[test]
fn capi_crash_child_writer() {
    if child_role().as_deref() != Some("capi-crash-writer") {
        return;
    }
    let path = PathBuf::from(child_arg("NPAA_CRASH_PATH"));
    let mode = child_arg("NPAA_CRASH_MODE");
    let c_path = CString::new(path.as_os_str().as_bytes()).unwrap();
    let mut options = std::mem::MaybeUninit::<npaa_options>::uninit();
    // SAFETY: npaa_options_default initializes the whole struct it is given.
    let mut options = unsafe {
        assert_eq!(npaa_options_default(options.as_mut_ptr()), NPAA_OK);
        options.assume_init()
    };
    match mode.as_str() {
        "rewrite" => {}
        "rewrite-fortran" => options.fortran_order = 1,
        "no-rewrite" => options.rewrite_header_on_append = 0,
        "every-bytes" => {
            options.durability = NPAA_DURABILITY_EVERY_BYTES;
            options.durability_bytes = 64 << 10;
        }
        "mapped" => options.mapped_window = 16 << 10,
        _ => panic!("unknown mode {mode}"),
    }
    let mut array: *mut npaa_array = ptr::null_mut();
    // SAFETY: valid NUL-terminated path, initialized options, writable out-pointer.
    let status = unsafe { npaa_open(c_path.as_ptr(), &options, &mut array) };
    assert_eq!(status, NPAA_OK);
    println!("READY");
    let descr = c"<u8";
    crash::child_appends(child_arg("NPAA_CRASH_SEED").parse().unwrap(), |start, n| {
        let data = rows(start, n);
        let shape = if mode == "rewrite-fortran" {
            [3, n]
        } else {
            [n, 3]
        };
        // SAFETY: a live handle; `data` holds 3 * n u64 = itemsize * product(shape) bytes;
        // `descr` and `shape` are valid for the call.
        let status = unsafe {
            npaa_append(
                array,
                data.as_ptr().cast(),
                descr.as_ptr(),
                shape.len(),
                shape.as_ptr(),
            )
        };
        assert_eq!(status, NPAA_OK);
    });
    // SAFETY: the live handle, closed once.
    assert_eq!(unsafe { npaa_close(array) }, NPAA_OK);
    println!("DONE");
}

#[test]
fn killed_c_writers_leave_loadable_prefixes() {
    let tally = crash::run_child_test(
        250,
        75,
        Duration::from_secs(30),
        &MODES,
        "capi_crash_child_writer",
        "capi-crash-writer",
    );
    // Some mapped-mode writers must have died with space reserved.
    assert!(tally.kills < 50 || tally.reserved_tail > 0, "{tally:?}");
}
