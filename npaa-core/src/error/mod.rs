//! The error types of the crate.
//!
//! [`Error`] is what every fallible public function returns. Header problems are described by a
//! [`FormatError`] inside [`Error::Format`], so that a caller can tell "this is not a valid .npy
//! file" apart from "the file is fine but this call was wrong".
//!
//! Messages say what is wrong. What to do about it is not baked into the text: it is
//! [`Error::remedy`], a [`Remedy`] each front end words in its own terms (the CLI's
//! `npaa recover FILE`, the C ABI's `npaa_recover()`), so that none rewrites another's text.

use std::io;
use std::path::{Path, PathBuf};

use crate::casting::Casting;
use crate::fmt::fmt_shape;

mod writers;

pub use writers::{CollectiveError, RegionError};

/// Shorthand for `Result<T, npaa_core::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in npaa-core.
///
/// Every variant that concerns a file carries its path ([`Error::path`]) and shows it. Messages
/// say what was wrong; where a call fixes it, [`Error::remedy`] says which.
///
/// Only npaa-core builds these: every variant is `#[non_exhaustive]`, so other crates read a
/// variant's fields by matching it (with `..`) but cannot construct one, and fields may be
/// added without breaking them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system call failed.
    #[error("{path}: {op}: {source}", path = .path.display())]
    #[non_exhaustive]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What npaa was doing, e.g. "writing data" or "reading the header".
        op: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The path names a directory where a .npy file was expected (from any operation: opening
    /// for appending, inspecting, recovering, ...).
    #[error("{path}: is a directory, not a .npy file", path = .path.display())]
    #[non_exhaustive]
    IsDirectory {
        /// The directory.
        path: PathBuf,
    },

    /// The file's header is not a valid .npy header.
    #[error("{path}: not a valid .npy file: {kind}", path = .path.display())]
    #[non_exhaustive]
    Format {
        /// The file concerned.
        path: PathBuf,
        /// What exactly is wrong.
        kind: FormatError,
    },

    /// A dtype description given by the caller (not read from a file) is invalid.
    #[error("invalid dtype {descr:?}: {reason}")]
    #[non_exhaustive]
    InvalidDtype {
        /// The descr as given.
        descr: String,
        /// Why it was refused.
        reason: String,
    },

    /// Another writer holds the file's exclusive lock (and the wait for it, if any, ran out:
    /// [`AppendOptions::lock_timeout`](crate::AppendOptions::lock_timeout)).
    #[error(
        "{path}: locked by another writer (another process or handle is appending to it); \
         one writer appends at a time: try again when it has finished, or wait for the lock \
         (a lock timeout, or shared mode, whose appends take turns)",
        path = .path.display()
    )]
    #[non_exhaustive]
    Locked {
        /// The file concerned.
        path: PathBuf,
    },

    /// The header has no spare room for the growing shape. Remedy:
    /// [`Remedy::EnsureAppendable`].
    #[error(
        "{path}: header is not appendable (its {available} bytes cannot hold a shape of any \
         length; {needed} are needed)",
        path = .path.display()
    )]
    #[non_exhaustive]
    NotAppendable {
        /// The file concerned.
        path: PathBuf,
        /// Header bytes needed to hold the largest growth dimension.
        needed: u64,
        /// Header bytes the file has.
        available: u64,
    },

    /// The data present does not match what the header announces. Remedy: [`Remedy::Recover`].
    #[error(
        "{path}: needs recovery: the header announces {expected} data bytes but {present} are \
         present (an interrupted write or download)",
        path = .path.display()
    )]
    #[non_exhaustive]
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
        "cannot append a block of shape {block} to {path}, an array of shape {file}: {reason}",
        path = .path.display(),
        block = fmt_shape(.block),
        file = fmt_shape(.file)
    )]
    #[non_exhaustive]
    ShapeMismatch {
        /// The file appended to.
        path: PathBuf,
        /// The file's current shape.
        file: Vec<u64>,
        /// The shape of the block being appended.
        block: Vec<u64>,
        /// Which rule was broken.
        reason: &'static str,
    },

    /// The file holds a 0-d array, which has no axis to grow along.
    #[error("{path}: holds a 0-d (scalar) array, which has no axis to grow along", path = .path.display())]
    #[non_exhaustive]
    ScalarFile {
        /// The file concerned.
        path: PathBuf,
    },

    /// 0-d arrays have no growth axis.
    #[error("cannot append a 0-d (scalar) array: it has no axis to grow along; give it shape (1,)")]
    #[non_exhaustive]
    ZeroDimensional,

    /// The byte length of a raw block does not match its shape and dtype.
    #[error("block of shape {shape} and item size {itemsize} needs {expected} bytes, got {got}", shape = fmt_shape(.shape))]
    #[non_exhaustive]
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
    #[error(
        "{file}dtype {descr} holds Python objects (pickles); object arrays cannot be appended to",
        file = in_file(.path.as_deref())
    )]
    #[non_exhaustive]
    ObjectDtype {
        /// The offending descr.
        descr: String,
        /// The file that holds it, when the dtype is a file's (not a block's or an argument's).
        path: Option<PathBuf>,
    },

    /// The block's dtype cannot be cast to the file's dtype under the chosen rule. Remedy
    /// (unless the rule is already `unsafe`): [`Remedy::AllowUnsafeCasting`].
    #[error(
        "cannot cast {from} to {to}{of} under the {casting} casting rule",
        of = dtype_of(.path.as_deref())
    )]
    #[non_exhaustive]
    Cast {
        /// The block's descr.
        from: String,
        /// The file's descr.
        to: String,
        /// The file appended to, when the cast was asked for by an append (not by a plain
        /// [`can_cast`](crate::can_cast)-like check of two dtypes).
        path: Option<PathBuf>,
        /// The rule in force.
        casting: Casting,
    },

    /// A cast NumPy can do but npaa does not implement.
    #[error(
        "casting {from} to {to}{of} is not supported by npaa; convert the data before appending",
        of = dtype_of(.path.as_deref())
    )]
    #[non_exhaustive]
    CastUnsupported {
        /// The block's descr.
        from: String,
        /// The file's descr.
        to: String,
        /// The file appended to, as for [`Error::Cast`].
        path: Option<PathBuf>,
    },

    /// A size computation overflowed 64 bits.
    #[error("shape {shape} with item size {itemsize} is too large (more than 2^64 bytes)", shape = fmt_shape(.shape))]
    #[non_exhaustive]
    Overflow {
        /// The offending shape.
        shape: Vec<u64>,
        /// The item size.
        itemsize: usize,
    },

    /// The file changed underneath an open handle (truncated, replaced, or written by someone
    /// who ignored the lock).
    #[error("{path}: {what}; the file was changed by someone else while open", path = .path.display())]
    #[non_exhaustive]
    FileChanged {
        /// The file concerned.
        path: PathBuf,
        /// What was found.
        what: String,
    },

    /// The file could not be shortened because a mapping covers the bytes to cut: Windows
    /// refuses to cut a file below the end of a live mapping, another program's
    /// (`np.memmap`, `np.load(mmap_mode=...)`, a [`Reader`](crate::Reader)'s items) or this
    /// one's. Only on Windows; whatever was to be cut is still in the file, and where the cut
    /// was part of a larger change (a rollback), that change is undone too. Retry once the
    /// readers have let go of the items.
    #[error(
        "{path}: {op}: the file cannot be shortened while another reader maps the bytes to cut \
         (Windows); close the readers (np.memmap, np.load with mmap_mode) and retry",
        path = .path.display()
    )]
    #[non_exhaustive]
    MappedElsewhere {
        /// The file concerned.
        path: PathBuf,
        /// What npaa was doing, e.g. "undoing appends".
        op: &'static str,
    },

    /// The data given for a block ended before the bytes its shape needs (a reader or source
    /// file that ended early); nothing of the block was appended.
    #[error(
        "{path}: the block provided {written} bytes instead of the {expected} its shape needs; \
         nothing of it was appended",
        path = .path.display()
    )]
    #[non_exhaustive]
    ShortBlock {
        /// The file appended to.
        path: PathBuf,
        /// Bytes the block's shape needs, in the file's dtype.
        expected: u64,
        /// Bytes provided.
        written: u64,
    },

    /// Two options were set that cannot work together (e.g. shared mode with a header that
    /// is not rewritten on every append); nothing was opened or written.
    #[error("these options cannot be combined: {what}")]
    #[non_exhaustive]
    IncompatibleOptions {
        /// Which options, and why they conflict.
        what: &'static str,
    },

    /// A savepoint that does not come from this handle's file: it lies beyond the file's
    /// current end.
    #[error("the savepoint lies beyond the file's current end")]
    #[non_exhaustive]
    BadSavepoint,

    /// [`Durability::EveryBytes`](crate::Durability::EveryBytes) with 0 bytes: a sync interval
    /// must be a positive number of bytes.
    #[error("durability every:0: the bytes between syncs must be a positive number")]
    #[non_exhaustive]
    ZeroSyncInterval,

    /// A name of a closed set (casting rule, durability mode) that the core does not know.
    #[error("unknown {what} {given:?} (expected {expected})")]
    #[non_exhaustive]
    UnknownName {
        /// What the name names, e.g. "casting rule".
        what: &'static str,
        /// The name given.
        given: String,
        /// The names accepted.
        expected: &'static str,
    },

    /// Raw bytes given for items whose length is not a whole number of items.
    #[error("{len} bytes is not a whole number of {itemsize}-byte items")]
    #[non_exhaustive]
    PartialItem {
        /// Bytes given.
        len: u64,
        /// The item size.
        itemsize: usize,
    },

    /// A shape with more dimensions than NumPy can load
    /// ([`MAX_DIMS`](crate::MAX_DIMS), NumPy's `NPY_MAXDIMS`).
    #[error("a shape of {ndim} dimensions has more than the {limit} NumPy can load")]
    #[non_exhaustive]
    TooManyDimensions {
        /// The dimensions asked for.
        ndim: usize,
        /// The limit, [`MAX_DIMS`](crate::MAX_DIMS).
        limit: usize,
    },

    /// The destination path has no file name (`/`, `..`).
    #[error("{path}: not a file name", path = .path.display())]
    #[non_exhaustive]
    NotAFileName {
        /// The path given.
        path: PathBuf,
    },

    /// The directory a new file would be created in does not exist (or is not a directory).
    /// Opening for appending checks it, so a front end fails at open, not at the first
    /// append.
    #[error(
        "{path}: cannot create the file: {dir} is not an existing directory; create it first",
        path = .path.display(),
        dir = .dir.display()
    )]
    #[non_exhaustive]
    NoSuchDirectory {
        /// The file to create.
        path: PathBuf,
        /// Its directory.
        dir: PathBuf,
    },

    /// A file given as a source of its own destination
    /// ([`append_files`](crate::append_files())).
    #[error(
        "{path}: is the destination itself; copy it first to append a file to itself",
        path = .path.display()
    )]
    #[non_exhaustive]
    SourceIsDestination {
        /// The source.
        path: PathBuf,
    },

    /// The index of a ragged pair ([`RaggedAppendArray`](crate::RaggedAppendArray)) does not
    /// describe its data file: it is not a 1-D `<i8` array of record ends that never
    /// decrease, or it is missing beside a data file that holds items.
    #[error("{path}: {what}", path = .path.display())]
    #[non_exhaustive]
    BadIndex {
        /// The index file.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },

    /// Record lengths given to build a ragged index
    /// ([`index_from_lengths`](crate::index_from_lengths), [`read_lengths`](crate::read_lengths))
    /// that do not describe the data: a line that is not a length, or lengths that do not add
    /// up to the data's items (its length along the growth axis).
    #[error("{path}: {what}", path = .path.display())]
    #[non_exhaustive]
    BadLengths {
        /// The lengths file, or the data file the lengths were given for.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },

    /// [`append_files`](crate::append_files()) without sources for a destination that does not
    /// exist: nothing says what to create.
    #[non_exhaustive]
    #[error("{path}: no source to create it from", path = .path.display())]
    NoSources {
        /// The destination.
        path: PathBuf,
    },

    /// An error about one source of [`append_files`](crate::append_files()) that names the
    /// destination (a shape or a dtype it does not take): the message names the source first.
    /// [`Error::innermost`] is the error itself.
    #[non_exhaustive]
    #[error("{path}: {cause}", path = .path.display())]
    InSource {
        /// The source.
        path: PathBuf,
        /// What is wrong with it.
        cause: Box<Error>,
    },

    /// [`append_files`](crate::append_files()) failed part-way into an existing destination,
    /// and returned it to its state before the call.
    #[non_exhaustive]
    #[error("{cause}; the append was undone: {path} is as it was", path = .path.display())]
    Undone {
        /// The destination.
        path: PathBuf,
        /// What failed.
        cause: Box<Error>,
    },

    /// [`append_files`](crate::append_files()) failed part-way into an existing destination,
    /// and returning it to its state before the call failed too. Remedy: [`Remedy::Recover`].
    #[non_exhaustive]
    #[error("{cause}; undoing the append failed too ({undo})")]
    UndoFailed {
        /// The destination.
        path: PathBuf,
        /// What failed first.
        cause: Box<Error>,
        /// Why undoing failed.
        undo: Box<Error>,
    },

    /// A call of the collective protocol ([`Collective`](crate::Collective)) out of turn or
    /// with options it cannot share.
    #[error("collective append: {0}")]
    #[non_exhaustive]
    Collective(CollectiveError),

    /// A chunk of a region write ([`RegionTarget`](crate::RegionTarget)) that does not fit,
    /// or a target that cannot be read.
    #[error("region write: {0}")]
    #[non_exhaustive]
    Region(RegionError),
}

/// Why a header is not a valid .npy header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The file is empty.
    #[error("the file is empty")]
    Empty,
    /// The file does not start with `\x93NUMPY`. The message shows the bytes found as Python
    /// shows bytes, and what the file looks like when that is recognisable.
    #[error(
        "it starts with {found} instead of b'\\x93NUMPY'{looks}",
        found = crate::fmt::repr_bytes(.found),
        looks = looks_like(.found)
    )]
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
    /// (npyz, npy). Remedy: [`Remedy::Recover`].
    #[error("shape is a placeholder left by a streaming writer that did not finish")]
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
    /// The shape has more dimensions than NumPy can load ([`MAX_DIMS`](crate::MAX_DIMS)).
    #[error("shape has {ndim} dimensions, more than the {limit} NumPy can load")]
    TooManyDimensions {
        /// Dimensions found.
        ndim: usize,
        /// The limit.
        limit: usize,
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

/// `"{path}: "` for a message about a file, or "".
fn in_file(path: Option<&Path>) -> String {
    path.map(|p| format!("{}: ", p.display()))
        .unwrap_or_default()
}

/// `", the dtype of {path},"` for a dtype that is a file's, or "".
fn dtype_of(path: Option<&Path>) -> String {
    path.map(|p| format!(", the dtype of {},", p.display()))
        .unwrap_or_default()
}

/// What a file that is not a .npy file looks like, from its first bytes (` (...)`), or "".
fn looks_like(start: &[u8]) -> &'static str {
    if start.starts_with(b"PK\x03\x04") || start.starts_with(b"PK\x05\x06") {
        " (a zip archive: an .npz file holds one .npy file per array; load it with np.load or \
         unzip it)"
    } else if start.starts_with(b"\x1f\x8b") {
        " (a gzip-compressed file: decompress it first)"
    } else if !start.is_empty()
        && start
            .iter()
            .all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        " (it looks like a text file)"
    } else {
        ""
    }
}

/// What fixes an [`Error`]: the call (or option) a front end names in its own terms.
///
/// Each front end renders these its own way: the CLI as a command (`npaa recover FILE`), the C
/// ABI as a function (`npaa_recover()`), Rust callers as [`recover`](crate::recover()). The
/// file concerned is [`Error::path`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Remedy {
    /// Repair the file with [`recover`](crate::recover()) first: its data does not match its
    /// header, or a streaming writer left a placeholder shape.
    Recover,
    /// Give the header room to grow with [`ensure_appendable`](crate::ensure_appendable())
    /// first.
    EnsureAppendable,
    /// Append under the `unsafe` casting rule ([`Casting::Unsafe`]) to force the conversion.
    AllowUnsafeCasting,
    /// Repair the ragged pair of the data file with
    /// [`recover_ragged`](crate::recover_ragged) first: a crash left one of its files, or the
    /// two together, out of step.
    RecoverRagged,
}

impl std::fmt::Display for Remedy {
    /// The remedy in the Rust API's terms, e.g. "call npaa_core::recover() on the file first";
    /// other front ends word it themselves.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Remedy::Recover => "call npaa_core::recover() on the file first",
            Remedy::EnsureAppendable => "call npaa_core::ensure_appendable() on the file first",
            Remedy::AllowUnsafeCasting => "append with Casting::Unsafe to force it",
            Remedy::RecoverRagged => "call npaa_core::recover_ragged() on the data file first",
        })
    }
}

/// The path field of an [`Error`] (`$error` a reference, shared or mutable), for the variants
/// that have one; `$as_ref` is `as_ref` or `as_mut`, for the variants whose path is optional.
/// One match for [`Error::path`] and `Error::path_mut`.
macro_rules! path_field {
    ($error:expr, $as_ref:ident) => {
        match $error {
            Error::Io { path, .. }
            | Error::IsDirectory { path }
            | Error::Format { path, .. }
            | Error::Locked { path }
            | Error::NotAppendable { path, .. }
            | Error::NeedsRecovery { path, .. }
            | Error::ShapeMismatch { path, .. }
            | Error::ScalarFile { path }
            | Error::FileChanged { path, .. }
            | Error::MappedElsewhere { path, .. }
            | Error::ShortBlock { path, .. }
            | Error::BadIndex { path, .. }
            | Error::BadLengths { path, .. }
            | Error::NotAFileName { path }
            | Error::NoSuchDirectory { path, .. }
            | Error::SourceIsDestination { path }
            | Error::NoSources { path }
            | Error::InSource { path, .. }
            | Error::Undone { path, .. }
            | Error::UndoFailed { path, .. } => Some(path),
            Error::ObjectDtype { path, .. }
            | Error::Cast { path, .. }
            | Error::CastUnsupported { path, .. } => path.$as_ref(),
            _ => None,
        }
    };
}

impl Error {
    /// What fixes this error, if a call or option does. `None` for errors only the caller's
    /// data or environment can fix (a shape mismatch, a full disk).
    pub fn remedy(&self) -> Option<Remedy> {
        match self {
            Error::NeedsRecovery { .. }
            | Error::Format {
                kind: FormatError::PlaceholderShape,
                ..
            } => Some(Remedy::Recover),
            Error::NotAppendable { .. } => Some(Remedy::EnsureAppendable),
            Error::UndoFailed { .. } => Some(Remedy::Recover),
            Error::InSource { cause, .. } => cause.remedy(),
            Error::Cast { casting, .. } if *casting != Casting::Unsafe => {
                Some(Remedy::AllowUnsafeCasting)
            }
            _ => None,
        }
    }

    /// The error that says what went wrong: the error itself, or the cause that
    /// [`Error::InSource`], [`Error::Undone`] and [`Error::UndoFailed`] wrap (for a front end
    /// that picks an exception class or a status code by kind).
    pub fn innermost(&self) -> &Error {
        match self {
            Error::InSource { cause, .. }
            | Error::Undone { cause, .. }
            | Error::UndoFailed { cause, .. } => cause.innermost(),
            other => other,
        }
    }

    /// The error with `from` as the file it names replaced by `to`: an error about a file
    /// built under a temporary name, as the user should read it (about the destination).
    pub(crate) fn renamed(self, from: &Path, to: &Path) -> Self {
        let mut renamed = match self {
            Error::InSource { path, cause } => Error::InSource {
                path,
                cause: Box::new(cause.renamed(from, to)),
            },
            Error::Undone { path, cause } => Error::Undone {
                path,
                cause: Box::new(cause.renamed(from, to)),
            },
            Error::UndoFailed { path, cause, undo } => Error::UndoFailed {
                path,
                cause: Box::new(cause.renamed(from, to)),
                undo: Box::new(undo.renamed(from, to)),
            },
            other => other,
        };
        if let Some(path) = renamed.path_mut()
            && path == from
        {
            *path = to.to_path_buf();
        }
        renamed
    }

    /// [`Error::path`], for [`renamed`](Self::renamed).
    fn path_mut(&mut self) -> Option<&mut PathBuf> {
        path_field!(self, as_mut)
    }

    /// The file the error concerns, when it concerns one (the message then names it).
    pub fn path(&self) -> Option<&Path> {
        path_field!(self, as_ref).map(PathBuf::as_path)
    }

    /// Wraps an I/O error with the file and the operation. A directory where a file was
    /// expected (`EISDIR`, whatever the operation; see [`crate::sys::is_directory_error`]) is
    /// [`Error::IsDirectory`], so that every operation reports it alike.
    pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str, source: io::Error) -> Self {
        let path = path.into();
        if crate::sys::is_directory_error(&source, &path) {
            return Error::IsDirectory { path };
        }
        if crate::sys::is_mapped_elsewhere(&source) {
            return Error::MappedElsewhere { path, op };
        }
        Error::Io { path, op, source }
    }

    /// The error of a conversion asked for by an append to `path`: a cast error then names
    /// the file whose dtype it is. Other errors are returned as they are.
    pub(crate) fn in_file(self, path: &Path) -> Self {
        match self {
            Error::Cast {
                from,
                to,
                casting,
                path: None,
            } => Error::Cast {
                from,
                to,
                casting,
                path: Some(path.to_path_buf()),
            },
            Error::CastUnsupported {
                from,
                to,
                path: None,
            } => Error::CastUnsupported {
                from,
                to,
                path: Some(path.to_path_buf()),
            },
            other => other,
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
    fn bad_magic_shows_python_bytes_and_what_the_file_looks_like() {
        let bad = |found: &[u8]| {
            FormatError::BadMagic {
                found: found.to_vec(),
            }
            .to_string()
        };
        assert_eq!(
            bad(b"hello "),
            "it starts with b'hello ' instead of b'\\x93NUMPY' (it looks like a text file)"
        );
        assert_eq!(
            bad(b"PK\x03\x04\x14\x00"),
            "it starts with b'PK\\x03\\x04\\x14\\x00' instead of b'\\x93NUMPY' (a zip archive: \
             an .npz file holds one .npy file per array; load it with np.load or unzip it)"
        );
        assert_eq!(
            bad(b"\x1f\x8b\x08\x00\x00\x00"),
            "it starts with b'\\x1f\\x8b\\x08\\x00\\x00\\x00' instead of b'\\x93NUMPY' (a \
             gzip-compressed file: decompress it first)"
        );
        assert_eq!(
            bad(b"\x00\xff"),
            "it starts with b'\\x00\\xff' instead of b'\\x93NUMPY'"
        );
    }

    #[test]
    fn remedies_are_data_not_text() {
        let err = Error::NeedsRecovery {
            path: "a.npy".into(),
            expected: 8,
            present: 4,
        };
        assert_eq!(err.remedy(), Some(Remedy::Recover));
        assert!(!err.to_string().contains("run"), "{err}");
        assert_eq!(
            Remedy::Recover.to_string(),
            "call npaa_core::recover() on the file first"
        );
        let cast = |casting| Error::Cast {
            from: "<f8".into(),
            to: "<i4".into(),
            casting,
            path: None,
        };
        assert_eq!(
            cast(Casting::SameKind).remedy(),
            Some(Remedy::AllowUnsafeCasting)
        );
        assert_eq!(cast(Casting::Unsafe).remedy(), None);
        let placeholder = Error::format("p.npy", FormatError::PlaceholderShape);
        assert_eq!(placeholder.remedy(), Some(Remedy::Recover));
        assert_eq!(placeholder.path(), Some(Path::new("p.npy")));
    }

    #[test]
    fn a_directory_is_one_error_whatever_the_operation() {
        let eisdir = io::Error::from(io::ErrorKind::IsADirectory);
        let err = Error::io("d", "reading the header", eisdir);
        assert_eq!(err.to_string(), "d: is a directory, not a .npy file");
    }
}
