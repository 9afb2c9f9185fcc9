//! The error types of the crate.
//!
//! [`Error`] is what every fallible public function returns. Header problems are described by a
//! [`FormatError`] inside [`Error::Format`], so that a caller can tell "this is not a valid .npy
//! file" apart from "the file is fine but this call was wrong".

use std::io;
use std::path::PathBuf;

use crate::cast::Casting;

/// Shorthand for `Result<T, npaa_core::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in npaa-core.
///
/// Every variant that concerns a file carries its path. Messages say what was wrong and, where
/// one exists, what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system call failed.
    #[error("{path}: {op}: {source}", path = .path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What npaa was doing, e.g. "writing data" or "reading the header".
        op: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The file's header is not a valid .npy header.
    #[error("{path}: not a valid .npy file: {kind}", path = .path.display())]
    Format {
        /// The file concerned.
        path: PathBuf,
        /// What exactly is wrong.
        kind: FormatError,
    },

    /// A dtype description given by the caller (not read from a file) is invalid.
    #[error("invalid dtype {descr:?}: {reason}")]
    InvalidDtype {
        /// The descr as given.
        descr: String,
        /// Why it was refused.
        reason: String,
    },

    /// Another writer holds the file's exclusive lock.
    #[error(
        "{path}: locked by another writer (another process or handle is appending to it); \
         only one writer may append to a file at a time",
        path = .path.display()
    )]
    Locked {
        /// The file concerned.
        path: PathBuf,
    },

    /// The header has no spare room for the growing shape.
    #[error(
        "{path}: header is not appendable (its {available} bytes cannot hold a shape of any \
         length; {needed} are needed): run ensure_appendable on it first",
        path = .path.display()
    )]
    NotAppendable {
        /// The file concerned.
        path: PathBuf,
        /// Header bytes needed to hold the largest growth dimension.
        needed: u64,
        /// Header bytes the file has.
        available: u64,
    },

    /// The data present does not match what the header announces.
    #[error(
        "{path}: needs recovery: the header announces {expected} data bytes but {present} are \
         present (an interrupted write or download); run recover on it first",
        path = .path.display()
    )]
    NeedsRecovery {
        /// The file concerned.
        path: PathBuf,
        /// Data bytes the header announces.
        expected: u64,
        /// Data bytes present in the file.
        present: u64,
    },

    /// The block's shape does not fit the file's shape.
    #[error(
        "cannot append a block of shape {block} to an array of shape {file}: {reason}",
        block = fmt_shape(.block),
        file = fmt_shape(.file)
    )]
    ShapeMismatch {
        /// The file's current shape.
        file: Vec<u64>,
        /// The shape of the block being appended.
        block: Vec<u64>,
        /// Which rule was broken.
        reason: &'static str,
    },

    /// The file holds a 0-d array, which has no axis to grow along.
    #[error("{path}: holds a 0-d (scalar) array, which has no axis to grow along", path = .path.display())]
    ScalarFile {
        /// The file concerned.
        path: PathBuf,
    },

    /// 0-d arrays have no growth axis.
    #[error("cannot append a 0-d (scalar) array: it has no axis to grow along; give it shape (1,)")]
    ZeroDimensional,

    /// The byte length of a raw block does not match its shape and dtype.
    #[error("block of shape {shape} and item size {itemsize} needs {expected} bytes, got {got}", shape = fmt_shape(.shape))]
    DataLength {
        /// The block's shape.
        shape: Vec<u64>,
        /// The block's item size in bytes.
        itemsize: usize,
        /// Bytes the shape needs.
        expected: u64,
        /// Bytes given.
        got: u64,
    },

    /// Object arrays hold Python pickles, which cannot be appended to.
    #[error("dtype {descr} holds Python objects (pickles); object arrays cannot be appended to")]
    ObjectDtype {
        /// The offending descr.
        descr: String,
    },

    /// The block's dtype cannot be cast to the file's dtype under the chosen rule.
    #[error(
        "cannot cast {from} to {to} under the {casting} casting rule{hint}",
        hint = if matches!(.casting, Casting::Unsafe) { "" } else { " (opt in to unsafe casting to force it)" }
    )]
    Cast {
        /// The block's descr.
        from: String,
        /// The file's descr.
        to: String,
        /// The rule in force.
        casting: Casting,
    },

    /// A cast NumPy can do but npaa does not implement.
    #[error("casting {from} to {to} is not supported by npaa; convert the data before appending")]
    CastUnsupported {
        /// The block's descr.
        from: String,
        /// The file's descr.
        to: String,
    },

    /// A size computation overflowed 64 bits.
    #[error("shape {shape} with item size {itemsize} is too large (more than 2^64 bytes)", shape = fmt_shape(.shape))]
    Overflow {
        /// The offending shape.
        shape: Vec<u64>,
        /// The item size.
        itemsize: usize,
    },

    /// The file changed underneath an open handle (truncated, replaced, or written by someone
    /// who ignored the lock).
    #[error("{path}: {what}; the file was changed by someone else while open", path = .path.display())]
    FileChanged {
        /// The file concerned.
        path: PathBuf,
        /// What was found.
        what: String,
    },

    /// The requested combination of arguments is invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// Why a header is not a valid .npy header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The file is empty.
    #[error("the file is empty")]
    Empty,
    /// The file does not start with `\x93NUMPY`.
    #[error("bad magic string (expected \\x93NUMPY, found {found:?})")]
    BadMagic {
        /// The first bytes found (up to 6).
        found: Vec<u8>,
    },
    /// The version is not 1.0, 2.0 or 3.0.
    #[error("unsupported format version {major}.{minor} (only 1.0, 2.0 and 3.0 exist)")]
    UnsupportedVersion {
        /// Major version byte.
        major: u8,
        /// Minor version byte.
        minor: u8,
    },
    /// The file ends inside the magic string or the header.
    #[error("truncated: {what} needs {needed} bytes but the file has {got}")]
    Truncated {
        /// Which part is cut short.
        what: &'static str,
        /// Bytes needed.
        needed: u64,
        /// Bytes available.
        got: u64,
    },
    /// The header length field is larger than npaa accepts.
    #[error("header length {len} exceeds the limit of {limit} bytes")]
    HeaderTooLarge {
        /// The length field's value.
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// The header text is not valid in its encoding (UTF-8 for version 3.0).
    #[error("header text is not valid {encoding}")]
    Encoding {
        /// The expected encoding.
        encoding: &'static str,
    },
    /// The header text is not a Python literal.
    #[error("header is not a valid Python literal at byte {pos}: {msg}")]
    Syntax {
        /// Byte offset in the header text.
        pos: usize,
        /// What the parser expected.
        msg: String,
    },
    /// The literal nests deeper than npaa accepts.
    #[error("header nests deeper than {limit} levels")]
    TooDeep {
        /// The nesting limit.
        limit: usize,
    },
    /// The header literal is not a dict.
    #[error("header is not a dictionary")]
    NotADict,
    /// A required key is missing.
    #[error("header has no {0:?} key")]
    MissingKey(&'static str),
    /// A key other than descr, fortran_order and shape is present.
    #[error("header has an unexpected key {0:?}")]
    ExtraKey(String),
    /// `shape` is not a tuple of non-negative integers.
    #[error("shape is not a tuple of non-negative integers: {0}")]
    BadShape(String),
    /// The shape holds a placeholder written by a streaming writer that never finished
    /// (npyz, npy).
    #[error(
        "shape is a placeholder left by a streaming writer that did not finish; run recover on it"
    )]
    PlaceholderShape,
    /// `fortran_order` is not a bool.
    #[error("fortran_order is not True or False: {0}")]
    BadFortranOrder(String),
    /// `descr` does not describe a dtype.
    #[error("invalid descr {descr}: {reason}")]
    BadDescr {
        /// The descr as found (Python repr).
        descr: String,
        /// Why it was refused.
        reason: String,
    },
    /// shape × itemsize does not fit in 64 bits.
    #[error("shape {shape} with item size {itemsize} exceeds 2^64 bytes", shape = fmt_shape(.shape))]
    Overflow {
        /// The offending shape.
        shape: Vec<u64>,
        /// The item size.
        itemsize: usize,
    },
}

/// Formats a shape the way Python prints a tuple: `()`, `(5,)`, `(3, 4)`.
pub fn fmt_shape(shape: &[u64]) -> String {
    match shape {
        [] => "()".to_owned(),
        [one] => format!("({one},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(u64::to_string).collect();
            format!("({})", parts.join(", "))
        }
    }
}

impl Error {
    /// Wraps an I/O error with the file and the operation.
    pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            op,
            source,
        }
    }

    /// Wraps a header problem with the file.
    pub(crate) fn format(path: impl Into<PathBuf>, kind: FormatError) -> Self {
        Error::Format {
            path: path.into(),
            kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_print_like_python_tuples() {
        assert_eq!(fmt_shape(&[]), "()");
        assert_eq!(fmt_shape(&[5]), "(5,)");
        assert_eq!(fmt_shape(&[3, 4]), "(3, 4)");
    }
}
