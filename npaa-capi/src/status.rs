//! Status codes: what every fallible entry point returns, and how [`npaa_core::Error`] maps to
//! them.

use std::ffi::{CStr, c_char};

/// The result of every npaa function that can fail: NPAA_OK (0) on success, one of the other
/// NPAA_* status codes otherwise.
///
/// The numbers are stable: a code keeps its meaning in every later version, and new codes are
/// only ever added (so treat an unknown non-zero code as a generic failure). The status tells
/// what kind of failure it was; npaa_last_error_message() tells the details (which file, which
/// shape, what to do).
pub type npaa_status = u32;

/// Success.
pub const NPAA_OK: npaa_status = 0;

/// A pointer argument that must not be NULL was NULL. The message names the argument.
pub const NPAA_NULL_ARGUMENT: npaa_status = 1;

/// An argument has a value that is never valid: an unknown option or flag value, an
/// npaa_options whose struct_size is wrong, an empty path, more than NPAA_MAX_DIMS dimensions.
pub const NPAA_INVALID_ARGUMENT: npaa_status = 2;

/// An operating-system call failed: the file or its directory does not exist, the path is a
/// directory, permission denied, disk full, ... The message holds the path, the operation and
/// the system's error text.
pub const NPAA_IO: npaa_status = 3;

/// The file is not a valid .npy file (bad magic string, unsupported version, unreadable
/// header), or the index of a ragged pair is not a ragged index. The message says what is
/// wrong.
pub const NPAA_FORMAT: npaa_status = 4;

/// Another writer (another process, or another npaa_array handle in this process) has the file
/// open for appending. Only one writer may append to a file at a time; readers (NumPy) are not
/// affected.
pub const NPAA_LOCKED: npaa_status = 5;

/// The file's header has no spare room for a growing shape (written by an old NumPy or
/// another library). Fix: npaa_ensure_appendable(), then open again.
pub const NPAA_NOT_APPENDABLE: npaa_status = 6;

/// The file's data does not match its header (an interrupted write or download). Fix:
/// npaa_recover(), then open again.
pub const NPAA_NEEDS_RECOVERY: npaa_status = 7;

/// The block's shape does not fit the file: a different number of dimensions, or a dimension
/// other than the growth axis (the first for C order, the last for Fortran order) differs.
pub const NPAA_SHAPE_MISMATCH: npaa_status = 8;

/// The block's descr does not match the file's and cannot be converted to it under the
/// casting rule in force (npaa_options.casting; NumPy's "same_kind" by default).
pub const NPAA_CAST: npaa_status = 9;

/// The conversion from the block's descr to the file's is allowed but not implemented by
/// npaa: convert the data before appending.
pub const NPAA_CAST_UNSUPPORTED: npaa_status = 10;

/// The descr given is not a valid NumPy descr (e.g. "<f8", "|u1", or a structured list
/// literal such as "[('t', '<f8'), ('pos', '<f4', (3,))]").
pub const NPAA_INVALID_DTYPE: npaa_status = 11;

/// The dtype holds Python objects ("|O"): such arrays hold pickles and can never be appended
/// to.
pub const NPAA_OBJECT_DTYPE: npaa_status = 12;

/// The block is 0-dimensional (ndim == 0): it has no axis to grow along. Give it shape (1,).
pub const NPAA_ZERO_DIMENSIONAL: npaa_status = 13;

/// The file holds a 0-dimensional (scalar) array, which can never grow.
pub const NPAA_SCALAR_FILE: npaa_status = 14;

/// A size computation overflowed: the block or the grown file would exceed 2^64 bytes (or
/// the block does not fit in this process's address space).
pub const NPAA_OVERFLOW: npaa_status = 15;

/// The file was changed by someone else while open (truncated, replaced, or written by a
/// program that ignored the lock).
pub const NPAA_FILE_CHANGED: npaa_status = 16;

/// An internal error (a bug in npaa): a panic was caught at the library boundary. The
/// message holds the panic's text; please report it. The handle stays usable but the file
/// may need npaa_recover().
pub const NPAA_PANIC: npaa_status = 17;

/// An error this version of the C API does not classify more precisely. The message says
/// what it is.
pub const NPAA_UNKNOWN: npaa_status = 18;

/// Static text for every status: `(code, name: description)`. Indexed by code.
const STATUS_TEXT: [(npaa_status, &CStr); 19] = [
    (NPAA_OK, c"NPAA_OK: success"),
    (
        NPAA_NULL_ARGUMENT,
        c"NPAA_NULL_ARGUMENT: a required pointer argument is NULL",
    ),
    (
        NPAA_INVALID_ARGUMENT,
        c"NPAA_INVALID_ARGUMENT: an argument has an invalid value",
    ),
    (NPAA_IO, c"NPAA_IO: an operating-system call failed"),
    (NPAA_FORMAT, c"NPAA_FORMAT: not a valid .npy file"),
    (
        NPAA_LOCKED,
        c"NPAA_LOCKED: the file is locked by another writer",
    ),
    (
        NPAA_NOT_APPENDABLE,
        c"NPAA_NOT_APPENDABLE: the header has no room to grow; run npaa_ensure_appendable",
    ),
    (
        NPAA_NEEDS_RECOVERY,
        c"NPAA_NEEDS_RECOVERY: the data does not match the header; run npaa_recover",
    ),
    (
        NPAA_SHAPE_MISMATCH,
        c"NPAA_SHAPE_MISMATCH: the block's shape does not fit the file's shape",
    ),
    (
        NPAA_CAST,
        c"NPAA_CAST: the block's dtype cannot be cast to the file's dtype under the casting rule",
    ),
    (
        NPAA_CAST_UNSUPPORTED,
        c"NPAA_CAST_UNSUPPORTED: npaa does not implement this dtype conversion",
    ),
    (NPAA_INVALID_DTYPE, c"NPAA_INVALID_DTYPE: invalid descr"),
    (
        NPAA_OBJECT_DTYPE,
        c"NPAA_OBJECT_DTYPE: object arrays cannot be appended to",
    ),
    (
        NPAA_ZERO_DIMENSIONAL,
        c"NPAA_ZERO_DIMENSIONAL: a 0-d block has no axis to grow along",
    ),
    (
        NPAA_SCALAR_FILE,
        c"NPAA_SCALAR_FILE: the file holds a 0-d array, which cannot grow",
    ),
    (
        NPAA_OVERFLOW,
        c"NPAA_OVERFLOW: size exceeds 2^64 bytes or the address space",
    ),
    (
        NPAA_FILE_CHANGED,
        c"NPAA_FILE_CHANGED: the file was changed by someone else while open",
    ),
    (
        NPAA_PANIC,
        c"NPAA_PANIC: internal error in npaa (a bug; please report it)",
    ),
    (NPAA_UNKNOWN, c"NPAA_UNKNOWN: unclassified error"),
];

/// Number of status codes this version defines (all codes are below it).
#[cfg(test)]
pub(crate) const STATUS_COUNT: u32 = STATUS_TEXT.len() as u32;

/// A static description of a status code, starting with its name, e.g.
/// "NPAA_LOCKED: the file is locked by another writer".
///
/// Any value is accepted: an unknown code gives "unknown npaa status code". Returns a static
/// NUL-terminated string: never NULL, never to be freed. Thread-safe; does not change the last
/// error message. For the details of a failure, use npaa_last_error_message().
#[unsafe(no_mangle)]
pub extern "C" fn npaa_status_str(status: npaa_status) -> *const c_char {
    status_text(status).as_ptr()
}

/// The static text of a status.
pub(crate) fn status_text(status: u32) -> &'static CStr {
    match STATUS_TEXT.get(status as usize) {
        Some(&(code, text)) if code == status => text,
        _ => c"unknown npaa status code",
    }
}

/// The status a core error maps to.
pub(crate) fn status_of(error: &npaa_core::Error) -> npaa_status {
    use npaa_core::Error as E;
    match error {
        // MappedElsewhere: Windows refused to cut a file a reader maps (an I/O refusal).
        E::Io { .. }
        | E::IsDirectory { .. }
        | E::NoSuchDirectory { .. }
        | E::MappedElsewhere { .. } => NPAA_IO,
        E::Format { .. } | E::BadIndex { .. } => NPAA_FORMAT,
        E::InvalidDtype { .. } => NPAA_INVALID_DTYPE,
        E::Locked { .. } => NPAA_LOCKED,
        E::NotAppendable { .. } => NPAA_NOT_APPENDABLE,
        E::NeedsRecovery { .. } => NPAA_NEEDS_RECOVERY,
        E::ShapeMismatch { .. } => NPAA_SHAPE_MISMATCH,
        E::ScalarFile { .. } => NPAA_SCALAR_FILE,
        E::ZeroDimensional { .. } => NPAA_ZERO_DIMENSIONAL,
        // npaa_append_sized(): the caller's length is not the block's.
        E::DataLength { .. } => NPAA_INVALID_ARGUMENT,
        E::ObjectDtype { .. } => NPAA_OBJECT_DTYPE,
        E::Cast { .. } => NPAA_CAST,
        E::CastUnsupported { .. } => NPAA_CAST_UNSUPPORTED,
        E::Overflow { .. } => NPAA_OVERFLOW,
        E::FileChanged { .. } => NPAA_FILE_CHANGED,
        // The data handed over for a block ended early: the caller's argument was short.
        E::ShortBlock { .. } => NPAA_INVALID_ARGUMENT,
        // Calls the caller got wrong: more than NPAA_MAX_DIMS dimensions, a closed handle, a
        // savepoint of another file, a sync interval of 0, a collective call out of turn,
        // options that cannot be combined (shared mode without header rewrites, ...).
        E::TooManyDimensions { .. }
        | E::BadSavepoint { .. }
        | E::ZeroSyncInterval { .. }
        | E::UnknownName { .. }
        | E::PartialItem { .. }
        | E::NotAFileName { .. }
        | E::SourceIsDestination { .. }
        | E::Collective { .. }
        | E::NoSources { .. }
        | E::IncompatibleOptions { .. } => NPAA_INVALID_ARGUMENT,
        // npaa_append_files(): the status of what went wrong; an undo that failed leaves
        // the destination needing recovery.
        E::UndoFailed { .. } => NPAA_NEEDS_RECOVERY,
        E::InSource { .. } | E::Undone { .. } => status_of(error.innermost()),
        // `Error` is #[non_exhaustive]: variants added to the core later land here until
        // they get a code of their own.
        _ => NPAA_UNKNOWN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_own_text_in_order() {
        for (i, (code, text)) in STATUS_TEXT.iter().enumerate() {
            assert_eq!(*code as usize, i, "STATUS_TEXT must be indexed by code");
            assert!(text.to_str().unwrap().starts_with("NPAA_"));
        }
        assert_eq!(status_text(STATUS_COUNT), c"unknown npaa status code");
        assert_eq!(status_text(u32::MAX), c"unknown npaa status code");
    }
}
