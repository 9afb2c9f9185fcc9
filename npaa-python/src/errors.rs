//! The exceptions of the `npaa` package and the one place that turns an [`npaa_core::Error`]
//! into one of them.
//!
//! ```text
//! ValueError
//! └── npaa.NpaaError            everything npaa refuses (the reference raises ValueError)
//!     ├── FormatError           not a valid .npy file
//!     ├── NotAppendableError    the header has no room to grow: npaa.ensure_appendable(path)
//!     ├── NeedsRecoveryError    data and header disagree: npaa.recover(path)
//!     ├── LockedError           another writer has the file open
//!     ├── ShapeError            the block does not fit the file (or is 0-d, or the file is)
//!     ├── DtypeError            a dtype npaa cannot append (object, unsupported)
//!     │   └── CastingError      the casting rule refuses: casting="unsafe" forces it
//!     ├── ClosedError           the NpyAppendArray was closed
//!     └── FileChangedError      the file was changed or deleted under an open handle
//! OSError (FileNotFoundError, IsADirectoryError, ...)  system calls, with errno and filename
//! ```

use std::path::Path;

use npaa_core::{Error as CoreError, FormatError, Remedy};
use pyo3::create_exception;
use pyo3::exceptions::{PyFileNotFoundError, PyIsADirectoryError, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;

create_exception!(
    npaa,
    NpaaError,
    PyValueError,
    "Base of every error npaa raises instead of writing bad data (a ValueError, as the \
     reference raises)."
);
create_exception!(
    npaa,
    NpaaFormatError,
    NpaaError,
    "The file is not a valid .npy file."
);
create_exception!(
    npaa,
    NotAppendableError,
    NpaaError,
    "The header has no spare room for a growing shape: call npaa.ensure_appendable(path)."
);
create_exception!(
    npaa,
    NeedsRecoveryError,
    NpaaError,
    "The file's data does not match its header: call npaa.recover(path)."
);
create_exception!(
    npaa,
    LockedError,
    NpaaError,
    "Another writer (process or handle) has the file open for appending."
);
create_exception!(
    npaa,
    ShapeError,
    NpaaError,
    "The block's shape does not fit the file (or it is 0-d, or the file holds a 0-d array)."
);
create_exception!(
    npaa,
    DtypeError,
    NpaaError,
    "A dtype npaa cannot append: object arrays, or a dtype npaa does not support."
);
create_exception!(
    npaa,
    CastingError,
    DtypeError,
    "The casting rule refuses to convert the block to the file's dtype: pass casting=\"unsafe\" \
     to force it."
);
create_exception!(
    npaa,
    ClosedError,
    NpaaError,
    "The NpyAppendArray was closed: open a new one to append more."
);
create_exception!(
    npaa,
    FileChangedError,
    NpaaError,
    "The file was changed, replaced or deleted by someone else while it was open."
);

/// An error of a call into the binding: npaa-core's, or one Python raised. `?` converts
/// either into it, and PyO3 raises it as the exception [`to_py`] chooses.
#[derive(Debug)]
pub(crate) enum Error {
    /// npaa-core refused or failed.
    Core(npaa_core::Error),
    /// A Python exception (a conversion, a NumPy call).
    Python(PyErr),
}

/// The binding's result type.
pub(crate) type Result<T> = std::result::Result<T, Error>;

impl From<npaa_core::Error> for Error {
    fn from(err: npaa_core::Error) -> Self {
        Error::Core(err)
    }
}

impl From<PyErr> for Error {
    fn from(err: PyErr) -> Self {
        Error::Python(err)
    }
}

impl From<Error> for PyErr {
    fn from(err: Error) -> PyErr {
        match err {
            Error::Core(err) => Python::attach(|py| to_py(py, err)),
            Error::Python(err) => err,
        }
    }
}

/// Adds the exception classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("NpaaError", py.get_type::<NpaaError>())?;
    // `FormatError` in Python; the Rust name avoids a clash with npaa_core's.
    let format = py.get_type::<NpaaFormatError>();
    format.setattr("__name__", "FormatError")?;
    format.setattr("__qualname__", "FormatError")?;
    m.add("FormatError", format)?;
    m.add("NotAppendableError", py.get_type::<NotAppendableError>())?;
    m.add("NeedsRecoveryError", py.get_type::<NeedsRecoveryError>())?;
    m.add("LockedError", py.get_type::<LockedError>())?;
    m.add("ShapeError", py.get_type::<ShapeError>())?;
    m.add("DtypeError", py.get_type::<DtypeError>())?;
    m.add("CastingError", py.get_type::<CastingError>())?;
    m.add("ClosedError", py.get_type::<ClosedError>())?;
    m.add("FileChangedError", py.get_type::<FileChangedError>())?;
    Ok(())
}

/// The error raised when a closed `NpyAppendArray` is used.
pub(crate) fn closed(py: Python<'_>, path: &Path) -> PyErr {
    closed_as(py, path, "NpyAppendArray")
}

/// The error raised when a closed handle of the class `class` is used.
pub(crate) fn closed_as(py: Python<'_>, path: &Path, class: &str) -> PyErr {
    ClosedError::new_err(format!(
        "{}: this {class} was closed; open a new npaa.{class}({}) to append more",
        path.display(),
        py_repr(py, path)
    ))
}

/// The exception and message for an error of npaa-core: the one mapping of the package.
///
/// The class follows the variant; the message is the core's, followed by its
/// [`Remedy`](npaa_core::Remedy) worded as the Python call or argument that fixes it
/// (`npaa.recover(path)`, `casting="unsafe"`).
fn to_py(py: Python<'_>, err: CoreError) -> PyErr {
    if let CoreError::Io {
        path, op, source, ..
    } = &err
    {
        let filename = path.to_string_lossy().into_owned();
        return match source.raw_os_error() {
            // OSError(errno, strerror, filename) becomes FileNotFoundError,
            // IsADirectoryError, ... The text is Python's for the errno (Rust's adds
            // "(os error N)").
            Some(errno) => {
                let strerror = py
                    .import("os")
                    .and_then(|os| os.getattr("strerror")?.call1((errno,))?.extract::<String>())
                    .unwrap_or_else(|_| source.to_string());
                PyOSError::new_err((errno, format!("{op}: {strerror}"), filename))
            }
            None => PyOSError::new_err(format!("{filename}: {op}: {source}")),
        };
    }
    let message = match err.remedy() {
        Some(remedy) => format!("{err}{}", remedy_text(py, remedy, err.path())),
        None => err.to_string(),
    };
    // The class follows what went wrong (inside concatenate_files' wrappers too).
    match err.innermost() {
        CoreError::NotAppendable { .. } => NotAppendableError::new_err(message),
        CoreError::NeedsRecovery { .. }
        | CoreError::Format {
            kind: FormatError::PlaceholderShape,
            ..
        } => NeedsRecoveryError::new_err(message),
        CoreError::Cast { .. } => CastingError::new_err(message),
        CoreError::IsDirectory { path, .. } => PyIsADirectoryError::new_err((
            libc::EISDIR,
            "is a directory, not a .npy file",
            path.to_string_lossy().into_owned(),
        )),
        CoreError::NoSuchDirectory { path, .. } => PyFileNotFoundError::new_err((
            libc::ENOENT,
            message,
            path.to_string_lossy().into_owned(),
        )),
        CoreError::Format { .. } => NpaaFormatError::new_err(message),
        CoreError::Locked { .. } => LockedError::new_err(message),
        CoreError::ShapeMismatch { .. }
        | CoreError::ScalarFile { .. }
        | CoreError::ZeroDimensional { .. }
        | CoreError::DataLength { .. }
        | CoreError::Overflow { .. } => ShapeError::new_err(message),
        CoreError::ObjectDtype { .. }
        | CoreError::InvalidDtype { .. }
        | CoreError::CastUnsupported { .. } => DtypeError::new_err(message),
        CoreError::FileChanged { .. } => FileChangedError::new_err(message),
        _ => NpaaError::new_err(message),
    }
}

/// A remedy in Python terms, as the tail of a message: `: call npaa.recover('p') first`.
pub(crate) fn remedy_text(py: Python<'_>, remedy: Remedy, path: Option<&Path>) -> String {
    let path = path.map_or_else(|| "path".to_owned(), |p| py_repr(py, p));
    match remedy {
        Remedy::Recover => format!(": call npaa.recover({path}) first"),
        Remedy::RecoverRagged => format!(": call npaa.recover_ragged({path}) first"),
        Remedy::EnsureAppendable => format!(
            ": call npaa.ensure_appendable({path}) first (inplace=True avoids a second copy)"
        ),
        Remedy::AllowUnsafeCasting => {
            "; pass casting=\"unsafe\" to NpyAppendArray to force it".to_owned()
        }
        // Remedy is #[non_exhaustive]: one this version does not know is not worded.
        _ => String::new(),
    }
}

/// The path as a Python string literal (Python's own `repr`), for messages that show a call.
fn py_repr(py: Python<'_>, path: &Path) -> String {
    let text = PyString::new(py, &path.to_string_lossy());
    text.repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| format!("{:?}", path.display().to_string()))
}
