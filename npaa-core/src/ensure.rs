//! Giving a legacy header room to grow: [`ensure_appendable`].

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

use crate::error::{Error, Result};
use crate::file::{StagedFile, growth_axis_of, lock, read_parsed_len, sync_parent_dir};
use crate::header::{Leniency, NUMPY_MAX_HEADER_SIZE, ParsedHeader, Version};
use crate::progress::Progress;
use crate::sys::{self, PositionalIo};

/// How [`ensure_appendable`] made room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnsureMethod {
    /// Nothing to do: the header already had room.
    AlreadyAppendable,
    /// Whole blocks were inserted at the front of the file (`FALLOC_FL_INSERT_RANGE`): no data
    /// was moved, whatever the file size.
    InsertedBlocks,
    /// The data was moved towards the end of the same file.
    MovedInPlace,
    /// A new file was written next to the old one and renamed over it atomically.
    Copied,
}

impl EnsureMethod {
    /// The method's name in snake case (`"already_appendable"`, `"inserted_blocks"`,
    /// `"moved_in_place"`, `"copied"`), as machine-readable front ends report it.
    pub fn name(self) -> &'static str {
        match self {
            EnsureMethod::AlreadyAppendable => "already_appendable",
            EnsureMethod::InsertedBlocks => "inserted_blocks",
            EnsureMethod::MovedInPlace => "moved_in_place",
            EnsureMethod::Copied => "copied",
        }
    }
}

/// What [`ensure_appendable`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnsureReport {
    /// How it was done.
    pub method: EnsureMethod,
    /// Header size before, in bytes.
    pub header_len_before: u64,
    /// Header size after, in bytes.
    pub header_len_after: u64,
    /// Bytes after the header (moved or copied verbatim, even if the file needs recovery).
    pub data_len: u64,
}

/// Options for [`ensure_appendable_with`]: a builder, as
/// [`AppendOptions`](crate::AppendOptions) is.
///
/// ```
/// use npaa_core::{EnsureMethod, EnsureOptions, ensure_appendable_with};
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("a.npy");
/// # let array = npaa_core::AppendArray::open(&path)?;
/// # array.append(&[1.0f64, 2.0], &[2])?;
/// # array.close()?;
/// let mut moved = 0;
/// let options = EnsureOptions::new()
///     .in_place(true)
///     .progress(|done, _total| moved = done);
/// let report = ensure_appendable_with(&path, options)?;
/// // npaa writes headers with room to grow: nothing to move.
/// assert_eq!((report.method, moved), (EnsureMethod::AlreadyAppendable, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct EnsureOptions<'a> {
    in_place: bool,
    progress: Progress<'a>,
}

impl<'a> EnsureOptions<'a> {
    /// The defaults: a new file renamed over the old one, no progress calls.
    pub fn new() -> Self {
        Self::default()
    }

    /// Change the file itself instead of writing a new one and renaming it over the old one
    /// (default false). See [`ensure_appendable`] for what each way costs and risks.
    pub fn in_place(mut self, yes: bool) -> Self {
        self.in_place = yes;
        self
    }

    /// Call `progress(bytes_done, bytes_total)` (bytes of data) while data is copied or
    /// moved; with blocks inserted, once, at the end.
    pub fn progress(mut self, progress: impl FnMut(u64, u64) + 'a) -> Self {
        self.progress = Progress::new(progress);
        self
    }
}

/// Gives the header of `path` the spare room appends need (a growth dimension of any length),
/// as `np.save` of NumPy >= 1.24 writes it.
///
/// By default a new file is written in the same directory and renamed over the old
/// one: atomic, but it needs room for a second copy. With [`EnsureOptions::in_place`]
/// ([`ensure_appendable_with`]), the file itself is changed: on file systems that support it
/// (ext4, XFS) whole blocks are inserted at the front so no data moves and the cost does not
/// depend on the file size; elsewhere the data is moved with large buffers. An in-place change
/// is not atomic: a crash in the middle of moving data leaves a damaged file (inserting blocks
/// has a window of one header write).
///
/// The data is carried over byte for byte, so a file that needs recovery still does
/// afterwards (run [`recover`](crate::recover()) next). Files with no data work too.
///
/// This is [`ensure_appendable_with`] with the default [`EnsureOptions`].
pub fn ensure_appendable(path: impl AsRef<Path>) -> Result<EnsureReport> {
    ensure_appendable_with(path, EnsureOptions::new())
}

/// [`ensure_appendable`] with options: in place, progress calls.
pub fn ensure_appendable_with(
    path: impl AsRef<Path>,
    options: EnsureOptions<'_>,
) -> Result<EnsureReport> {
    let EnsureOptions {
        in_place,
        mut progress,
    } = options;
    let progress = &mut |done, total| progress.report(done, total);
    let path = path.as_ref();
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, "opening", e))?;
    let file = lock(file, path)?;
    let (parsed, file_len) = read_parsed_len(&file, path, Leniency::Strict)?;
    let header = &parsed.header;
    growth_axis_of(path, header)?;
    let data_len = file_len - parsed.header_len;
    let template = header.template();
    let mut report = EnsureReport {
        method: EnsureMethod::AlreadyAppendable,
        header_len_before: parsed.header_len,
        header_len_after: parsed.header_len,
        data_len,
    };
    if template.appendable_len(parsed.version) <= parsed.header_len {
        return Ok(report);
    }
    let fresh = template.render_fresh(header.growth_len());
    report.header_len_after = fresh.len() as u64;
    let io_err = |op| move |e| Error::io(path, op, e);
    if !in_place {
        copy_with_header(&file, path, &fresh, parsed.header_len, data_len, progress)?;
        report.method = EnsureMethod::Copied;
        return Ok(report);
    }
    if let Some(len) = insert_blocks(&file, &parsed).map_err(io_err("inserting blocks"))? {
        report.method = EnsureMethod::InsertedBlocks;
        report.header_len_after = len;
        progress(data_len, data_len);
    } else {
        sys::move_up(
            &file,
            parsed.header_len,
            fresh.len() as u64,
            data_len,
            &mut |done| progress(done, data_len),
        )
        .map_err(io_err("moving data"))?;
        file.write_all_at(&fresh, 0)
            .map_err(io_err("writing the header"))?;
        report.method = EnsureMethod::MovedInPlace;
    }
    file.sync_all()
        .map_err(io_err("syncing to stable storage"))?;
    Ok(report)
}

/// Tries to grow the header by inserting whole file-system blocks at the front. Returns the
/// new header length, or `None` when the file system cannot (the caller then moves data).
fn insert_blocks(file: &File, parsed: &ParsedHeader) -> io::Result<Option<u64>> {
    let block = sys::block_size(file)?;
    let template = parsed.header.template();
    let growth = parsed.header.growth_len();
    let needed = template
        .appendable_len(Version::V1)
        .max(template.appendable_len(parsed.version));
    let extra = needed.saturating_sub(parsed.header_len).div_ceil(block) * block;
    let total = parsed.header_len + extra;
    // Pick the smallest version that can describe a header of this size.
    let Some(bytes) = [Version::V1, Version::V2, Version::V3]
        .into_iter()
        .find_map(|v| template.render_at(growth, v, total))
    else {
        return Ok(None);
    };
    let text_len = total - u64::from(bytes[6] != 1) * 2 - 10;
    if text_len > NUMPY_MAX_HEADER_SIZE as u64 {
        // NumPy would refuse to load it by default: move the data instead, for a 64-byte
        // aligned header of the usual size.
        return Ok(None);
    }
    match sys::insert_front(file, extra) {
        Ok(()) => {}
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::Unsupported | io::ErrorKind::InvalidInput
            ) || e.raw_os_error() == Some(95) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e),
    }
    file.write_all_at(&bytes, 0)?;
    Ok(Some(total))
}

/// Writes `header` and then the data of `src` into a [`StagedFile`] beside `path`, and
/// renames it over `path`.
fn copy_with_header(
    src: &File,
    path: &Path,
    header: &[u8],
    data_offset: u64,
    data_len: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<()> {
    let io_err = |op| move |e| Error::io(path, op, e);
    let staged = StagedFile::beside(path)?;
    let out = &staged.create()?;
    out.write_all_at(header, 0)
        .map_err(io_err("writing the header"))?;
    sys::copy_range(
        src,
        data_offset,
        out,
        header.len() as u64,
        data_len,
        &mut |done| progress(done, data_len),
    )
    .map_err(io_err("copying data"))?;
    let permissions = src
        .metadata()
        .map_err(io_err("reading file metadata"))?
        .permissions();
    out.set_permissions(permissions)
        .map_err(io_err("copying permissions"))?;
    out.sync_all()
        .map_err(io_err("syncing to stable storage"))?;
    staged.persist(true)?;
    // Best effort: the new file is in place whether or not its name is durable yet.
    let _ = sync_parent_dir(path);
    Ok(())
}
