//! The thread-local message of the last failure, and the error type of the boundary.

use std::cell::RefCell;
use std::ffi::{CString, c_char};

use npaa_core::Remedy;

use crate::status::{NPAA_INVALID_ARGUMENT, NPAA_NULL_ARGUMENT, npaa_status, status_of};

/// A failure on its way to C: the status to return and the message to keep.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: npaa_status,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: npaa_status, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }

    /// A NULL pointer where one is required; `what` says what to pass instead.
    pub(crate) fn null(name: &str, what: &str) -> Self {
        Failure::new(NPAA_NULL_ARGUMENT, format!("`{name}` is NULL; pass {what}"))
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Failure::new(NPAA_INVALID_ARGUMENT, message)
    }
}

impl From<npaa_core::Error> for Failure {
    fn from(error: npaa_core::Error) -> Self {
        let message = match error.remedy() {
            Some(r @ Remedy::AllowUnsafeCasting) => format!("{error}; {}", remedy(r)),
            Some(r) => format!("{error}: {}", remedy(r)),
            None => error.to_string(),
        };
        Failure {
            status: status_of(&error),
            message,
        }
    }
}

/// What fixes an error, in the C API's terms: the function to call or the option to set.
pub(crate) fn remedy(remedy: Remedy) -> String {
    match remedy {
        Remedy::Recover => "call npaa_recover() on it first".to_owned(),
        Remedy::EnsureAppendable => "call npaa_ensure_appendable() on it first".to_owned(),
        Remedy::RecoverRagged => "call npaa_ragged_recover() on its data file first".to_owned(),
        Remedy::AllowUnsafeCasting => {
            "set npaa_options.casting to NPAA_CASTING_UNSAFE to force it".to_owned()
        }
        // Remedy is #[non_exhaustive]: one this version does not know is named as in Rust.
        other => format!("see npaa-core's Remedy::{other:?}"),
    }
}

thread_local! {
    /// `None` after a successful call: no allocation on the success path.
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Forgets the last message (at the start of every fallible entry point).
pub(crate) fn clear() {
    // `try_with` fails only while the thread's locals are being destroyed: nothing to clear.
    let _ = LAST_ERROR.try_with(|m| {
        if let Ok(mut m) = m.try_borrow_mut() {
            *m = None;
        }
    });
}

/// Keeps `message` as the thread's last error message.
pub(crate) fn set(message: &str) {
    // A C string cannot hold NUL bytes; none is expected in our messages, but a path or a
    // descr quoted in one must not be able to cut it short or make this fail.
    let text = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|m| {
        if let Ok(mut m) = m.try_borrow_mut() {
            *m = Some(text);
        }
    });
}

/// The message of the last failed npaa call on the calling thread: what went wrong and, where
/// possible, what to do about it, e.g. "npaa_open: data/run.npy: needs recovery: ...: call
/// npaa_recover() on it first".
///
/// Returns "" (never NULL) when the last npaa call on this thread succeeded or no call was made
/// yet. Every npaa function that returns an npaa_status first clears the message and sets it
/// if it fails, so read it right after the failing call.
///
/// Lifetime: the string belongs to the library. It stays valid until the next call on the same
/// thread of an npaa function that returns an npaa_status, or until the thread exits; copy it
/// to keep it longer. npaa_status_str(), npaa_version() and npaa_last_error_message() do not
/// change it.
///
/// Thread-safety: the message is per thread, so a failure on one thread never overwrites the
/// message another thread is reading.
#[unsafe(no_mangle)]
pub extern "C" fn npaa_last_error_message() -> *const c_char {
    // Nothing here can panic: this function is not behind the boundary's catch_unwind.
    LAST_ERROR
        .try_with(|m| match m.try_borrow().as_deref() {
            // The CString's heap buffer does not move when the RefCell is borrowed again; it
            // lives until `clear` or `set` replaces it, as documented above.
            Ok(Some(text)) => text.as_ptr(),
            Ok(None) | Err(_) => c"".as_ptr(),
        })
        .unwrap_or(c"".as_ptr())
}

/// The current message, for tests.
#[cfg(test)]
pub(crate) fn last_message() -> String {
    LAST_ERROR.with(|m| {
        m.borrow()
            .as_ref()
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use npaa_core::{AppendArray, AppendOptions, Casting};

    /// The message of a real core error (only the core builds them).
    fn message(error: npaa_core::Error) -> String {
        Failure::from(error).message
    }

    #[test]
    fn remedies_name_the_c_functions_and_options() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run.npy");
        let array = AppendArray::open(&run).unwrap();
        array.append(&[1.0f64; 10], &[10]).unwrap();
        array.close().unwrap();
        let header_len = npaa_core::inspect(&run).unwrap().header_len;
        let file = std::fs::OpenOptions::new().write(true).open(&run).unwrap();
        file.set_len(header_len + 72).unwrap();
        assert_eq!(
            message(AppendArray::open(&run).unwrap_err()),
            format!(
                "{}: needs recovery: the header announces 80 data bytes but 72 are present (an \
                 interrupted write or download): call npaa_recover() on it first",
                run.display()
            )
        );

        // A legacy header (16-byte alignment, no room to grow), as cnpy writes.
        let old = dir.path().join("old.npy");
        let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }";
        let text = format!("{dict}{}\n", " ".repeat(80 - 10 - dict.len() - 1));
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(text.len() as u16).to_le_bytes());
        bytes.extend_from_slice(text.as_bytes());
        bytes.extend_from_slice(&[0; 8]);
        std::fs::write(&old, bytes).unwrap();
        assert_eq!(
            message(AppendArray::open(&old).unwrap_err()),
            format!(
                "{}: header is not appendable (its 80 bytes cannot hold a shape of any length; \
                 88 are needed): call npaa_ensure_appendable() on it first",
                old.display()
            )
        );

        let data = dir.path().join("data.npy");
        let array = AppendOptions::new()
            .casting(Casting::SameKind)
            .open(&data)
            .unwrap();
        array.append(&[1i32], &[1]).unwrap();
        assert_eq!(
            message(array.append(&[0.5f64], &[1]).unwrap_err()),
            format!(
                "cannot cast <f8 to <i4, the dtype of {}, under the same_kind casting rule; \
                 set npaa_options.casting to NPAA_CASTING_UNSAFE to force it",
                data.display()
            )
        );
    }
}
