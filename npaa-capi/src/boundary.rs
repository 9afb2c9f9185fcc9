//! The one helper every fallible entry point goes through ([`guard`]), and the checked
//! conversions of C arguments (pointers, strings, shapes, out-parameters).

use std::any::Any;
use std::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::ptr::NonNull;

use crate::error::{self, Failure};
use crate::status::{NPAA_OK, NPAA_PANIC, npaa_status};

/// Runs the body of the entry point `func`: clears the thread's last error, catches panics,
/// and turns the outcome into a status, keeping the message of a failure as
/// `"{func}: {message}"`.
///
/// Bodies write their out-parameters last, after everything that can fail, so that a failure
/// leaves them untouched.
pub(crate) fn guard(func: &'static str, body: impl FnOnce() -> Result<(), Failure>) -> npaa_status {
    error::clear();
    // AssertUnwindSafe: after a panic, nothing of the body's state is used again except the
    // handle, whose core state is behind a mutex that npaa-core recovers from poisoning (every
    // change to it happens after the write it describes succeeded).
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return NPAA_OK,
        Ok(Err(failure)) => failure,
        Err(payload) => Failure::new(
            NPAA_PANIC,
            format!(
                "internal error (a bug in npaa, please report it): panicked: {}",
                panic_text(payload.as_ref())
            ),
        ),
    };
    // Formatting could only panic on allocation failure, which aborts anyway.
    error::set(&format!("{func}: {}", failure.message));
    failure.status
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

/// A non-NULL pointer to an out-parameter, to be written once the call has succeeded.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// Checks `ptr` for NULL; `name` is the parameter's name in the header.
    pub(crate) fn new(ptr: *mut T, name: &str) -> Result<Self, Failure> {
        NonNull::new(ptr)
            .map(Out)
            .ok_or_else(|| Failure::null(name, "a pointer to a variable that receives the result"))
    }

    /// Like [`Out::new`], but NULL means "the caller does not want this result".
    pub(crate) fn optional(ptr: *mut T) -> Option<Self> {
        NonNull::new(ptr).map(Out)
    }

    /// Stores the result.
    ///
    /// # Safety
    /// The pointer given to [`Out::new`] must be valid for writes of a `T` and suitably
    /// aligned, as the header requires of every out-parameter.
    pub(crate) unsafe fn write(self, value: T) {
        // SAFETY: non-NULL by construction; valid and aligned per this function's contract.
        // `write` does not read or drop the old (possibly uninitialized) value.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// Borrows a NUL-terminated C string argument.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that stays valid and unchanged for
/// `'a`.
pub(crate) unsafe fn c_str<'a>(
    ptr: *const c_char,
    name: &str,
    what: &str,
) -> Result<&'a CStr, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name, what));
    }
    // SAFETY: non-NULL, and NUL-terminated and valid for 'a per this function's contract.
    Ok(unsafe { CStr::from_ptr(ptr) })
}

/// Borrows a path argument (bytes as the OS takes them; no encoding is assumed).
///
/// # Safety
/// As [`c_str`].
pub(crate) unsafe fn path<'a>(ptr: *const c_char, name: &str) -> Result<&'a Path, Failure> {
    // SAFETY: forwarded contract.
    let s = unsafe {
        c_str(
            ptr,
            name,
            "the path of a .npy file as a NUL-terminated string",
        )?
    };
    if s.is_empty() {
        return Err(Failure::invalid(format!(
            "`{name}` is an empty string; pass the path of a .npy file"
        )));
    }
    path_from_bytes(s.to_bytes(), name)
}

/// A C path's bytes as a path: any bytes on Unix, where paths are bytes.
#[cfg(unix)]
fn path_from_bytes<'a>(bytes: &'a [u8], _name: &str) -> Result<&'a Path, Failure> {
    use std::os::unix::ffi::OsStrExt;
    Ok(Path::new(std::ffi::OsStr::from_bytes(bytes)))
}

/// A C path's bytes as a path: UTF-8 on Windows (whose paths are UTF-16), as the header
/// documents; other bytes are refused.
#[cfg(not(unix))]
fn path_from_bytes<'a>(bytes: &'a [u8], name: &str) -> Result<&'a Path, Failure> {
    std::str::from_utf8(bytes).map(Path::new).map_err(|e| {
        Failure::invalid(format!(
            "`{name}` is not UTF-8 ({e}); on Windows, pass paths in UTF-8"
        ))
    })
}

/// Borrows a shape argument: `ndim` values at `ptr` (NULL allowed when `ndim` is 0).
///
/// # Safety
/// When `ndim > 0`, `ptr` must be NULL or point to `ndim` readable `uint64_t`s that stay
/// unchanged for `'a`.
pub(crate) unsafe fn shape<'a>(
    ptr: *const u64,
    ndim: usize,
    name: &str,
) -> Result<&'a [u64], Failure> {
    if ndim == 0 {
        return Ok(&[]);
    }
    // The core's limit, checked before `ptr` is read: a huge ndim must not size a slice.
    npaa_core::check_ndim(ndim)?;
    if ptr.is_null() {
        return Err(Failure::null(
            name,
            &format!("an array of {ndim} uint64_t (the block's shape), or ndim 0"),
        ));
    }
    if !ptr.is_aligned() {
        return Err(Failure::invalid(format!(
            "`{name}` is not aligned for uint64_t; pass a uint64_t array"
        )));
    }
    // SAFETY: non-NULL, aligned (checked), ndim <= 64 so the size cannot overflow isize, and
    // valid for reads of `ndim` values per this function's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, ndim) })
}

/// Borrows an array of `n` path arguments (NULL allowed when `n` is 0).
///
/// # Safety
/// When `n > 0`, `ptr` must be NULL or point to `n` readable pointers, each NULL or a
/// NUL-terminated string, that stay unchanged for `'a`.
pub(crate) unsafe fn paths<'a>(
    ptr: *const *const c_char,
    n: usize,
    name: &str,
) -> Result<Vec<&'a Path>, Failure> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if ptr.is_null() {
        return Err(Failure::null(
            name,
            &format!("an array of {n} paths, or 0 paths"),
        ));
    }
    if !ptr.is_aligned() {
        return Err(Failure::invalid(format!(
            "`{name}` is not aligned for a pointer; pass an array of const char *"
        )));
    }
    (0..n)
        .map(|i| {
            // SAFETY: non-NULL, aligned (checked), and `n` readable pointers per this
            // function's contract, so element `i < n` is readable.
            let one = unsafe { *ptr.add(i) };
            // SAFETY: NULL or a NUL-terminated string per the contract.
            unsafe { path(one, &format!("{name}[{i}]")) }
        })
        .collect()
}

/// Borrows a byte buffer argument of `len` bytes (NULL allowed when `len` is 0).
///
/// # Safety
/// When `len > 0`, `ptr` must be NULL or point to `len` readable bytes that stay unchanged
/// for `'a`.
pub(crate) unsafe fn bytes<'a>(
    ptr: *const u8,
    len: usize,
    name: &str,
    what: &str,
) -> Result<&'a [u8], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::null(name, what));
    }
    if len > isize::MAX as usize {
        return Err(Failure::new(
            crate::status::NPAA_OVERFLOW,
            format!("`{name}` would be {len} bytes long, more than the address space holds"),
        ));
    }
    // SAFETY: non-NULL, len <= isize::MAX (checked), u8 needs no alignment, and valid for
    // reads of `len` bytes per this function's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Copies `text`, NUL-terminated, into `buf` and stores its length (without the NUL) in
/// `len_out`, like snprintf: at most `capacity - 1` bytes are copied; `buf` may be NULL when
/// `capacity` is 0. Writes nothing on failure (a NULL `buf` with a capacity).
///
/// # Safety
/// `buf` must be NULL or point to `capacity` writable bytes.
pub(crate) unsafe fn copy_text(
    text: &str,
    buf: *mut c_char,
    capacity: usize,
    len_out: Out<usize>,
) -> Result<(), Failure> {
    if buf.is_null() && capacity > 0 {
        return Err(Failure::null(
            "buf",
            "a buffer of `capacity` bytes, or capacity 0",
        ));
    }
    if capacity > 0 {
        let n = text.len().min(capacity - 1);
        // SAFETY: n + 1 <= capacity bytes of `buf` are writable per the contract; the source
        // is a distinct Rust string.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
            buf.add(n).write(0);
        }
    }
    // SAFETY: writable (Out checked it is not NULL).
    unsafe { len_out.write(text.len()) };
    Ok(())
}

/// Borrows a handle argument.
///
/// # Safety
/// `ptr` must be NULL or a handle returned by `npaa_open` and not yet closed.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Failure> {
    // SAFETY: a live handle is a valid, aligned Box allocation, per this function's contract.
    unsafe { ptr.as_ref() }.ok_or_else(|| {
        Failure::null(
            name,
            "the handle npaa_open() returned (and that was not closed)",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{NPAA_NULL_ARGUMENT, NPAA_PANIC};

    #[test]
    fn panics_become_a_status_and_a_message() {
        let status = guard("npaa_test", || panic!("boom {}", 42));
        assert_eq!(status, NPAA_PANIC);
        let message = error::last_message();
        assert!(
            message.starts_with("npaa_test: internal error"),
            "{message}"
        );
        assert!(message.contains("boom 42"), "{message}");
        // The next successful call clears it.
        assert_eq!(guard("npaa_test", || Ok(())), NPAA_OK);
        assert_eq!(error::last_message(), "");
    }

    #[test]
    fn failures_keep_their_status_and_name_the_function() {
        let status = guard("npaa_test", || Err(Failure::null("out", "a pointer")));
        assert_eq!(status, NPAA_NULL_ARGUMENT);
        assert_eq!(
            error::last_message(),
            "npaa_test: `out` is NULL; pass a pointer"
        );
    }

    #[test]
    fn nul_bytes_in_messages_do_not_cut_them() {
        guard("npaa_test", || Err(Failure::invalid("a\0b")));
        assert_eq!(error::last_message(), "npaa_test: a\\0b");
    }
}
