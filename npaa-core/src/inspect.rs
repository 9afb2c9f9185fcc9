//! Looking at a .npy file without changing it: [`inspect`], [`is_appendable`],
//! [`needs_recovery`].

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Remedy, Result};
use crate::file::{SourceFile, read_parsed};
use crate::header::{Header, Leniency, NUMPY_MAX_HEADER_SIZE, ParsedHeader, Version};
use crate::sys;

/// What a .npy file holds, as far as its header and size tell.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileInfo {
    /// The file inspected.
    pub path: PathBuf,
    /// Format version.
    pub version: Version,
    /// Header size in bytes, magic included (the data offset).
    pub header_len: u64,
    /// Bytes by which the header's dict text can still grow in place.
    pub spare: u64,
    /// dtype, order and shape. For a placeholder header (see `placeholder`) the growth
    /// dimension reads 0.
    pub header: Header,
    /// Bytes present after the header.
    pub data_present: u64,
    /// Bytes the shape announces.
    pub data_expected: u64,
    /// True when the file can grow: it has an axis to grow along (it is not 0-d), its dtype
    /// holds no Python objects, its shape is not a placeholder, and its header has room for a
    /// growth dimension of any length (21 digits). It can be opened for appending as soon as
    /// it does not need recovery. [`FileInfo::problems`] says what is wrong when it is false.
    pub appendable: bool,
    /// True when the data does not match the header (`recover` fixes it).
    pub needs_recovery: bool,
    /// Bytes past the data that a writer in mapped mode
    /// ([`AppendOptions::mapped_window`](crate::AppendOptions::mapped_window)) reserved and
    /// was killed before giving back, or that a shared-mode writer
    /// ([`AppendOptions::shared`](crate::AppendOptions::shared)) reserved for the block it was
    /// writing when it was killed (or a shared writer holds now): not data (the mark that ends
    /// the file says so; see
    /// [`AppendOptions::mapped_window`](crate::AppendOptions::mapped_window)). It includes the
    /// mark's 24 bytes. `needs_recovery` is set; `recover` and the next open for appending cut
    /// them.
    pub reserved_tail: u64,
    /// True when the shape is a `****` placeholder of an unfinished streaming writer.
    pub placeholder: bool,
    /// True when the header is longer than NumPy reads by default (`max_header_size`, 10000
    /// characters): `np.load` then needs `max_header_size=` to open it.
    pub exceeds_numpy_header_limit: bool,
}

/// What keeps a file from loading in NumPy or from being appended to: one finding of
/// [`FileInfo::problems`].
///
/// The message ([`Display`](std::fmt::Display)) says what is wrong, starting with "needs
/// recovery: " or "not appendable: " where that is the consequence; what fixes it is
/// [`Problem::remedy`], which each front end words in its own terms.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The shape is a `****` placeholder left by a streaming writer that did not finish.
    #[error(
        "needs recovery: the shape is a placeholder left by a streaming writer that did not \
         finish ({data_present} data bytes present)"
    )]
    #[non_exhaustive]
    PlaceholderShape {
        /// Data bytes present after the header.
        data_present: u64,
    },
    /// Space past the data that a writer in mapped mode reserved and was killed before giving
    /// back; opening the file for appending also cuts it.
    #[error(
        "needs recovery: {bytes} bytes past the data are space reserved by a writer in mapped \
         mode that did not close the file (NumPy loads the {items} items the header counts; \
         opening the file for appending also cuts it)"
    )]
    #[non_exhaustive]
    ReservedTail {
        /// The reserved bytes.
        bytes: u64,
        /// The growth dimension the header counts.
        items: u64,
    },
    /// The data does not match what the header announces: fewer bytes (NumPy cannot load
    /// the file) or more (NumPy loads only what the header counts).
    #[error(
        "needs recovery: {present} data bytes present, the header announces {expected} ({})",
        if present < expected {
            "NumPy cannot load it"
        } else {
            "NumPy loads only the items the header counts"
        }
    )]
    #[non_exhaustive]
    DataMismatch {
        /// Data bytes the header announces.
        expected: u64,
        /// Data bytes present.
        present: u64,
    },
    /// The dtype holds Python objects (pickles).
    #[error("not appendable: it holds Python objects (pickles), which cannot be appended to")]
    ObjectDtype,
    /// A 0-d array.
    #[error("not appendable: it holds a 0-d (scalar) array, which has no axis to grow along")]
    Scalar,
    /// The header has no spare room for a growing shape.
    #[error("not appendable: its {header_len}-byte header has no spare room for a growing shape")]
    #[non_exhaustive]
    NoRoomToGrow {
        /// The header's size in bytes.
        header_len: u64,
    },
    /// The header is longer than `np.load` reads by default.
    #[error(
        "its header is longer than the {limit} characters NumPy reads by default: np.load \
         needs max_header_size= to open it"
    )]
    #[non_exhaustive]
    ExceedsNumpyHeaderLimit {
        /// NumPy's default `max_header_size`.
        limit: usize,
    },
}

impl Problem {
    /// The call that fixes the problem, if one does.
    pub fn remedy(&self) -> Option<Remedy> {
        match self {
            Problem::PlaceholderShape { .. }
            | Problem::ReservedTail { .. }
            | Problem::DataMismatch { .. } => Some(Remedy::Recover),
            Problem::NoRoomToGrow { .. } => Some(Remedy::EnsureAppendable),
            _ => None,
        }
    }
}

impl FileInfo {
    /// What keeps the file from loading in NumPy or from being appended to, most urgent
    /// first: at most one finding about its data (needs recovery), one about growing (not
    /// appendable) and one about its header's length. Empty when the file is fine.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if self.placeholder {
            problems.push(Problem::PlaceholderShape {
                data_present: self.data_present,
            });
        } else if self.reserved_tail > 0 {
            problems.push(Problem::ReservedTail {
                bytes: self.reserved_tail,
                items: self.header.growth_len(),
            });
        } else if self.needs_recovery {
            problems.push(Problem::DataMismatch {
                expected: self.data_expected,
                present: self.data_present,
            });
        }
        if self.header.dtype.has_object() {
            problems.push(Problem::ObjectDtype);
        } else if self.header.shape.is_empty() {
            problems.push(Problem::Scalar);
        } else if !self.appendable && !self.placeholder {
            problems.push(Problem::NoRoomToGrow {
                header_len: self.header_len,
            });
        }
        if self.exceeds_numpy_header_limit {
            problems.push(Problem::ExceedsNumpyHeaderLimit {
                limit: NUMPY_MAX_HEADER_SIZE,
            });
        }
        problems
    }

    /// Fails with [`Error::NeedsRecovery`] when data the header announces is missing (or the
    /// shape is a placeholder): what a reader of the data refuses. Extra bytes after the data
    /// are fine, as NumPy ignores them.
    ///
    /// # Errors
    /// [`Error::NeedsRecovery`], remedy [`Remedy::Recover`].
    pub fn require_complete(&self) -> Result<()> {
        if self.placeholder || self.data_present < self.data_expected {
            return Err(Error::NeedsRecovery {
                path: self.path.clone(),
                expected: self.data_expected,
                present: self.data_present,
            });
        }
        Ok(())
    }

    /// Item size in bytes.
    pub fn itemsize(&self) -> usize {
        self.header.dtype.itemsize()
    }

    /// Describes `file`, `file_len` bytes long, whose header is `parsed`.
    pub(crate) fn from_parsed(
        path: &Path,
        file: &File,
        parsed: &ParsedHeader,
        file_len: u64,
    ) -> Result<Self> {
        let header = parsed.header.clone();
        let data_expected = header
            .data_len()
            .map_err(|kind| Error::format(path, kind))?;
        let data_present = file_len.saturating_sub(parsed.header_len);
        let text_room = parsed
            .header_len
            .saturating_sub(parsed.version.prefix_len() as u64 + 1);
        let appendable = header.growth_axis().is_some()
            && !header.dtype.has_object()
            && !parsed.placeholder
            && header.template().appendable_len(parsed.version) <= parsed.header_len;
        let needs_recovery =
            parsed.placeholder || (!header.dtype.has_object() && data_present != data_expected);
        // Asked only when the file is longer than its data: no extra system call otherwise.
        let reserved_tail = if needs_recovery
            && !parsed.placeholder
            && data_present > data_expected
            && sys::is_reserved(file, parsed.header_len + data_expected, file_len)
        {
            data_present - data_expected
        } else {
            0
        };
        Ok(FileInfo {
            path: path.to_path_buf(),
            version: parsed.version,
            header_len: parsed.header_len,
            spare: text_room.saturating_sub(parsed.text_len),
            data_present,
            data_expected,
            appendable,
            needs_recovery,
            reserved_tail,
            placeholder: parsed.placeholder,
            exceeds_numpy_header_limit: parsed.header_len - parsed.version.prefix_len() as u64
                > NUMPY_MAX_HEADER_SIZE as u64,
            header,
        })
    }
}

impl Header {
    /// Reads the header of the .npy file at `path`, as `np.load` does before it reads data:
    /// the dtype, order and shape, with the format version and the header's length (the offset
    /// of the data).
    ///
    /// ```
    /// use npaa_core::{AppendArray, Header};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("a.npy");
    /// let array = AppendArray::open(&path)?;
    /// array.append(&[1u8, 2, 3, 4, 5, 6], &[2, 3])?;
    /// array.close()?;
    /// let parsed = Header::read(&path)?;
    /// assert_eq!(parsed.header.shape(), [2, 3]);
    /// assert_eq!(parsed.header_len, 128);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be opened or read; [`Error::Format`] if its header is
    /// not a valid .npy header, including the `****` placeholder shape an unfinished streaming
    /// writer leaves ([`inspect`] reports those). The data is not looked at: use [`inspect`] to
    /// compare it with the header.
    pub fn read(path: impl AsRef<Path>) -> Result<ParsedHeader> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::io(path, "opening", e))?;
        read_parsed(&file, path, Leniency::Strict)
    }
}

/// Reads the header and size of `path`.
///
/// Files left by an unfinished streaming writer (`****` placeholder shape) are reported with
/// `placeholder` and `needs_recovery` set rather than refused.
pub fn inspect(path: impl AsRef<Path>) -> Result<FileInfo> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| Error::io(path, "opening", e))?;
    let parsed = read_parsed(&file, path, Leniency::AllowPlaceholder)?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(path, "reading file metadata", e))?
        .len();
    FileInfo::from_parsed(path, &file, &parsed, len)
}

/// Inspects a file to append from, refusing it exactly as
/// [`AppendArray::append_npy_file`](crate::AppendArray::append_npy_file) would on its own
/// account (before looking at the destination), so that a front end can check every source
/// before it touches anything.
///
/// # Errors
/// [`Error::NeedsRecovery`] if its data is incomplete; [`Error::Format`] if it is not a valid
/// .npy file (a placeholder shape included); [`Error::ObjectDtype`] for an object array;
/// [`Error::ScalarFile`] for a 0-d array; [`Error::IsDirectory`], [`Error::Io`]. Each names
/// the file.
pub fn inspect_source(path: impl AsRef<Path>) -> Result<FileInfo> {
    let path = path.as_ref();
    let src = SourceFile::open(path)?;
    FileInfo::from_parsed(path, &src.file, &src.parsed, src.file_len)
}

/// [`FileInfo::appendable`] of `path`: true when it can grow (see there).
pub fn is_appendable(path: impl AsRef<Path>) -> Result<bool> {
    inspect(path).map(|info| info.appendable)
}

/// True when the data of `path` does not match its header (an interrupted write, a broken
/// download, a placeholder shape): [`recover`](crate::recover()) repairs it.
pub fn needs_recovery(path: impl AsRef<Path>) -> Result<bool> {
    inspect(path).map(|info| info.needs_recovery)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AppendArray;

    /// A version 1.0 file with `dict` as its header text, followed by `data`.
    fn npy(path: &Path, dict: &str, data: &[u8]) {
        let total = 10 + dict.len() + 1;
        let text = format!("{dict}{}\n", " ".repeat((64 - total % 64) % 64));
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(text.len() as u16).to_le_bytes());
        bytes.extend_from_slice(text.as_bytes());
        bytes.extend_from_slice(data);
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn sources_are_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name);
        let message = |name: &str| inspect_source(at(name)).unwrap_err().to_string();

        npy(
            &at("obj.npy"),
            "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
            &[0; 8],
        );
        assert_eq!(
            message("obj.npy"),
            format!(
                "{}: dtype |O holds Python objects (pickles); object arrays cannot be appended \
                 to",
                at("obj.npy").display()
            )
        );
        npy(
            &at("scalar.npy"),
            "{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
            &[0; 8],
        );
        assert_eq!(
            message("scalar.npy"),
            format!(
                "{}: holds a 0-d (scalar) array, which has no axis to grow along",
                at("scalar.npy").display()
            )
        );

        let array = AppendArray::open(at("cut.npy")).unwrap();
        array.append(&[1.0f64, 2.0], &[2]).unwrap();
        array.close().unwrap();
        let good = inspect_source(at("cut.npy")).unwrap();
        assert_eq!(good.header.shape, vec![2]);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(at("cut.npy"))
            .unwrap();
        file.set_len(good.header_len + 12).unwrap();
        let err = inspect_source(at("cut.npy")).unwrap_err();
        assert_eq!(err.path(), Some(at("cut.npy").as_path()));
        assert_eq!(err.remedy(), Some(crate::Remedy::Recover));
    }
}
