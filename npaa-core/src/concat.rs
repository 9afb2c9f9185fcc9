//! Appending whole .npy files to another as one transaction: [`append_files`], what `npaa
//! append DEST SRC...`, `npaa.concatenate_files` and `npaa_append_files()` do.
//!
//! Its safety rules, in order:
//! 1. Every source is inspected before the destination is touched (complete, not an object
//!    array, not 0-d), and none may be the destination itself.
//! 2. Every source is checked against the real destination ([`AppendArray::check_append`]:
//!    shape, dtype cast under the casting rule) before any data is written. Memory order is
//!    the destination's business, as with `np.concatenate`: a source in the other order is
//!    converted while it is appended.
//! 3. A destination that does not exist yet (or is replaced, with
//!    [`AppendOptions::delete_if_exists`]) is built under a temporary name in its directory
//!    and renamed into place only when complete: the checks of rule 2 run against that file,
//!    and on any failure it is removed, leaving the destination as it was. Readers never see
//!    a half-built file. Errors name the destination, never the temporary name.
//! 4. Appending to an existing destination happens under its lock, after rule 2. If writing
//!    fails half-way (a full disk), the destination is returned to its savepoint (header, then
//!    length) while still locked ([`Error::Undone`], or [`Error::UndoFailed`]).
//! 5. In shared mode ([`AppendOptions::shared`]) other writers append to the destination
//!    between these appends: it is opened as it is (a missing one is created by the first
//!    append, whoever makes it: never built beside it, since the others must see it), each
//!    source is one append that lands whole in its own turn, and a failure leaves the
//!    sources before it appended: there is no savepoint to return to. Rules 1 and 2 hold.

use std::io;
use std::path::Path;

use crate::appender::{AppendArray, AppendFileOptions, AppendOptions, Durability};
use crate::error::{Error, Result};
use crate::file::{StagedFile, WriterLock, sync_parent_dir};
use crate::header::Header;
use crate::inspect::{FileInfo, inspect_source};
use crate::progress::Progress;
use crate::sys;

/// Options of [`append_files`]: the [`AppendOptions`] the destination is opened with
/// (casting, durability, buffering; `delete_if_exists` replaces it), and progress calls.
#[derive(Debug, Default)]
pub struct AppendFilesOptions<'a> {
    append: AppendOptions,
    progress: Progress<'a>,
}

impl<'a> AppendFilesOptions<'a> {
    /// The defaults: [`AppendOptions::new`], no progress calls.
    pub fn new() -> Self {
        Self::default()
    }

    /// Open the destination with `options`. With
    /// [`delete_if_exists`](AppendOptions::delete_if_exists), the result holds the sources
    /// only, built beside the old destination and renamed over it when complete. A new
    /// destination takes the first source's memory order; [`AppendOptions::order`] is not
    /// used.
    pub fn append_options(mut self, options: AppendOptions) -> Self {
        self.append = options;
        self
    }

    /// Call `progress(bytes_done, bytes_total)` (data bytes of all the sources) as the copy
    /// advances.
    pub fn progress(mut self, progress: impl FnMut(u64, u64) + 'a) -> Self {
        self.progress = Progress::new(progress);
        self
    }
}

/// What [`append_files`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppendFilesReport {
    /// The destination's header afterwards (its dtype, order and new shape).
    pub header: Header,
    /// Items appended along the growth axis, all sources together.
    pub items: u64,
    /// Data bytes of the sources.
    pub bytes: u64,
    /// True when the destination was created (or replaced) rather than appended to.
    pub created: bool,
}

/// Appends the arrays of the .npy files `sources`, in order, to the .npy file `dest`, as
/// one transaction: the destination ends up with every source appended, or as it was
/// (see the rules in the module's documentation). A missing `dest` is created from the first
/// source's dtype, item shape and order.
///
/// ```
/// use npaa_core::{AppendArray, AppendFilesOptions, append_files};
/// # let dir = tempfile::tempdir()?;
/// # let day = |name: &str, value: f64| -> npaa_core::Result<std::path::PathBuf> {
/// #     let path = dir.path().join(name);
/// #     let array = AppendArray::open(&path)?;
/// #     array.append(&[value; 6], &[2, 3])?;
/// #     array.close()?;
/// #     Ok(path)
/// # };
/// let sources = [day("day1.npy", 1.0)?, day("day2.npy", 2.0)?];
/// let all = dir.path().join("all.npy");
/// let report = append_files(&all, &sources, AppendFilesOptions::new())?;
/// assert_eq!((report.items, report.header.shape()), (4, &[4, 3][..]));
/// assert!(report.created);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// Those of [`inspect_source`] for a bad source (naming it); [`Error::SourceIsDestination`];
/// [`Error::NoSources`] for no source and no destination; those of
/// [`AppendOptions::open`] for the destination; [`Error::InSource`] around a shape or dtype
/// a source has and the destination does not take; [`Error::Undone`] or
/// [`Error::UndoFailed`] around a failure while an existing destination was written.
pub fn append_files<P: AsRef<Path>>(
    dest: impl AsRef<Path>,
    sources: &[P],
    options: AppendFilesOptions<'_>,
) -> Result<AppendFilesReport> {
    let dest = dest.as_ref();
    let dest_meta = match std::fs::metadata(dest) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(dest, "reading metadata", e)),
    };
    let sources = inspect_all(sources, dest_meta.as_ref().map(|_| dest))?;
    let AppendFilesOptions {
        append,
        mut progress,
    } = options;
    match dest_meta {
        _ if append.shared => {
            into_shared(dest, dest_meta.is_none(), &sources, append, &mut progress)
        }
        Some(_) if !append.delete_if_exists => into_existing(dest, &sources, append, &mut progress),
        _ => into_new(dest, dest_meta.is_some(), &sources, append, &mut progress),
    }
}

/// Rule 1: every source, inspected, none the destination (`dest`, when it exists).
fn inspect_all<P: AsRef<Path>>(sources: &[P], dest: Option<&Path>) -> Result<Vec<FileInfo>> {
    sources
        .iter()
        .map(|path| {
            let path = path.as_ref();
            let info = inspect_source(path)?;
            if let Some(dest) = dest {
                let same = sys::same_file(path, dest)
                    .map_err(|e| Error::io(path, "reading metadata", e))?;
                if same {
                    return Err(Error::SourceIsDestination {
                        path: path.to_path_buf(),
                    });
                }
            }
            Ok(info)
        })
        .collect()
}

/// Rules 2 and 4: appending to an existing destination, undone on failure.
fn into_existing(
    dest: &Path,
    sources: &[FileInfo],
    options: AppendOptions,
    progress: &mut Progress<'_>,
) -> Result<AppendFilesReport> {
    let array = options.open(dest)?;
    check_all(&array, sources)?;
    let savepoint = array.savepoint()?;
    let cause = match copy_all(&array, sources, progress) {
        Ok(items) => {
            let header = array.header();
            array.close()?;
            return report(dest, header, items, sources, false);
        }
        Err(cause) => cause,
    };
    let undone = match savepoint {
        Some(savepoint) => array.rollback_to(savepoint),
        None => Ok(()),
    };
    // The failure is what the caller hears about; closing after it only releases the lock.
    let _ = array.close();
    let path = dest.to_path_buf();
    let cause = Box::new(cause);
    Err(match undone {
        Ok(()) => Error::Undone { path, cause },
        Err(undo) => Error::UndoFailed {
            path,
            cause,
            undo: Box::new(undo),
        },
    })
}

/// Rules 2 and 5: appending in shared mode, each source in its own turn; `missing`: the
/// destination did not exist when the call began.
fn into_shared(
    dest: &Path,
    missing: bool,
    sources: &[FileInfo],
    options: AppendOptions,
    progress: &mut Progress<'_>,
) -> Result<AppendFilesReport> {
    if missing && sources.is_empty() {
        return Err(Error::NoSources {
            path: dest.to_path_buf(),
        });
    }
    let array = options.open(dest)?;
    check_and_copy(array, dest, sources, progress, missing)
}

/// Rules 2 and 3: building a new destination beside it, moved into place when complete.
fn into_new(
    dest: &Path,
    replace: bool,
    sources: &[FileInfo],
    options: AppendOptions,
    progress: &mut Progress<'_>,
) -> Result<AppendFilesReport> {
    let Some(first) = sources.first() else {
        return Err(Error::NoSources {
            path: dest.to_path_buf(),
        });
    };
    // Replacing an existing destination: hold its lock, as another writer would, so that
    // nobody is appending to the file replaced.
    let old_lock = if replace {
        Some(WriterLock::acquire(dest)?)
    } else {
        None
    };
    let durable = options.durability != Durability::None;
    let staged = StagedFile::beside(dest)?;
    let built = build(&staged, first, sources, options, progress)
        .map_err(|e| e.renamed(staged.path(), dest))?;
    staged.persist(replace)?;
    if durable {
        // Best effort, as for ensure_appendable: the data is in place either way.
        let _ = sync_parent_dir(dest);
    }
    drop(old_lock);
    Ok(built)
}

/// Writes the new destination at the staged file's temporary name.
fn build(
    staged: &StagedFile,
    first: &FileInfo,
    sources: &[FileInfo],
    options: AppendOptions,
    progress: &mut Progress<'_>,
) -> Result<AppendFilesReport> {
    let template = &first.header;
    let array = options
        .delete_if_exists(false)
        .order(template.order())
        .open(staged.path())?;
    // Created with the first source's dtype and shape, growth dimension 0: the checks then
    // run against a real file, exactly as for an existing destination.
    let empty = template.order().block_shape(0, &template.item_shape());
    array.append_raw(template.dtype(), &empty, &[])?;
    check_and_copy(array, staged.path(), sources, progress, true)
}

/// Rule 2, then the copy, for a destination no other call can see yet (a new one, or one in
/// shared mode, where each source takes its own turn): every source checked against `array`
/// before any is appended, then all appended and `array` closed (also when a copy failed:
/// that error wins). The report is `path`'s; `created`: the destination is new.
fn check_and_copy(
    array: AppendArray,
    path: &Path,
    sources: &[FileInfo],
    progress: &mut Progress<'_>,
    created: bool,
) -> Result<AppendFilesReport> {
    check_all(&array, sources)?;
    let copied = copy_all(&array, sources, progress);
    let header = array.header();
    let closed = array.close();
    let items = copied?;
    closed?;
    report(path, header, items, sources, created)
}

/// Rule 2: every source against the destination, before any data is written.
fn check_all(array: &AppendArray, sources: &[FileInfo]) -> Result<()> {
    for src in sources {
        array
            .check_append(src.header.dtype(), src.header.shape())
            .map_err(|cause| in_source(src, cause))?;
    }
    Ok(())
}

/// Appends every source, reporting the progress of all of them together; returns the items
/// appended along the destination's growth axis.
fn copy_all(array: &AppendArray, sources: &[FileInfo], progress: &mut Progress<'_>) -> Result<u64> {
    let total: u64 = sources.iter().map(|s| s.data_expected).sum();
    let mut done_before = 0u64;
    let mut items = 0;
    for src in sources {
        let options = AppendFileOptions::new().progress(|done, _| {
            progress.report(done_before + done, total);
        });
        items += array
            .append_npy_file_with(&src.path, options)
            .map_err(|cause| in_source(src, cause))?;
        done_before += src.data_expected;
    }
    Ok(items)
}

/// An error about `src`: as it is when it names a file (the source, or the destination it
/// was written to), else [`Error::InSource`] naming the source.
fn in_source(src: &FileInfo, cause: Error) -> Error {
    match cause {
        Error::ShapeMismatch { .. } | Error::Cast { .. } | Error::CastUnsupported { .. } => {
            Error::InSource {
                path: src.path.clone(),
                cause: Box::new(cause),
            }
        }
        cause if cause.path().is_some() => cause,
        cause => Error::InSource {
            path: src.path.clone(),
            cause: Box::new(cause),
        },
    }
}

fn report(
    dest: &Path,
    header: Option<Header>,
    items: u64,
    sources: &[FileInfo],
    created: bool,
) -> Result<AppendFilesReport> {
    // Both callers read the header of a file they opened or created: it is there.
    let header = header.ok_or_else(|| {
        Error::io(
            dest,
            "reading the header back",
            io::Error::other("the file was not created"),
        )
    })?;
    Ok(AppendFilesReport {
        header,
        items,
        bytes: sources.iter().map(|s| s.data_expected).sum(),
        created,
    })
}
