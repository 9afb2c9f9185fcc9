//! Roles that write through the C ABI, as a C program linked to libnpaa does.

use std::ffi::CString;
use std::path::PathBuf;
use std::ptr;

use npaa::array::{npaa_append, npaa_array, npaa_close, npaa_open};
use npaa::options::{NPAA_DURABILITY_EVERY_BYTES, npaa_options, npaa_options_default};
use npaa::status::NPAA_OK;
use npaa_testutil::child::arg;
use npaa_testutil::crash;
use npaa_testutil::rows::rows;

/// The C ABI crash campaign's writer (npaa-capi's `reliability_crash`): npaa_open() of
/// `NPAA_CRASH_PATH` in `NPAA_CRASH_MODE`, READY, npaa_append() until killed, npaa_close().
pub fn crash_writer() {
    let path = PathBuf::from(arg("NPAA_CRASH_PATH"));
    let mode = arg("NPAA_CRASH_MODE");
    // The bytes of the path on Unix; its UTF-8 on Windows, as the C ABI takes it there.
    let c_path = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
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
    crash::child_appends(arg("NPAA_CRASH_SEED").parse().unwrap(), |start, n| {
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
