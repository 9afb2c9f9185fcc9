//! Repairing files whose data does not match their header: [`recover`].

use std::fs::{File, OpenOptions};
use std::path::Path;

use crate::error::{Error, Result};
use crate::file::{check_not_object, lock, read_parsed_len};
use crate::header::Leniency;
use crate::inspect::FileInfo;
use crate::sys::{self, PositionalIo};

/// Options for [`recover_with`]: a builder, as [`AppendOptions`](crate::AppendOptions) is.
///
/// ```
/// use npaa_core::{RecoverOptions, recover_with};
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("a.npy");
/// # let array = npaa_core::AppendArray::open(&path)?;
/// # array.append(&[1.0f64, 2.0], &[2])?;
/// # array.close()?;
/// // What would a repair that completes the last item with zeros do?
/// let report = recover_with(&path, RecoverOptions::new().zerofill_incomplete(true).dry_run(true))?;
/// assert!(!report.changed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecoverOptions {
    zerofill_incomplete: bool,
    dry_run: bool,
}

impl RecoverOptions {
    /// The defaults: an incomplete last item is cut off, and the file is changed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Complete an incomplete last item with zeros instead of cutting it off (default false).
    pub fn zerofill_incomplete(mut self, yes: bool) -> Self {
        self.zerofill_incomplete = yes;
        self
    }

    /// Only report what would be done; change nothing and take no lock (default false).
    pub fn dry_run(mut self, yes: bool) -> Self {
        self.dry_run = yes;
        self
    }
}

/// What [`recover`] did (or, in a dry run, would do).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoverReport {
    /// Growth-axis length the header announced; `None` for a placeholder shape.
    pub items_before: Option<u64>,
    /// Growth-axis length after recovery.
    pub items_after: u64,
    /// Bytes cut from the end (an incomplete last item, or bytes no item can hold).
    pub bytes_cut: u64,
    /// Zero bytes added to complete the last item.
    pub bytes_zero_filled: u64,
    /// False when the file did not need recovery.
    pub changed: bool,
}

/// Makes an incomplete file loadable again, inferring the growth length from the file size.
///
/// Works when the file is shorter than its header says (an interrupted append or download)
/// and when it is longer (a crash before the header update, or `rewrite_header_on_append`
/// off). Space reserved past the data by a killed writer in mapped mode
/// ([`FileInfo::reserved_tail`]) is cut, not counted. An incomplete last item is cut off
/// ([`recover_with`] and [`RecoverOptions::zerofill_incomplete`] complete it with zeros
/// instead). The cost does not depend on the file size: one header rewrite and at most one
/// item of zeros (added as a sparse extension).
///
/// The header is rewritten in place; if the new shape does not fit in it (a legacy header
/// without spare room), this fails with [`Error::NotAppendable`]: run
/// [`ensure_appendable`](crate::ensure_appendable()) first, then `recover`.
///
/// This is [`recover_with`] with the default [`RecoverOptions`].
pub fn recover(path: impl AsRef<Path>) -> Result<RecoverReport> {
    recover_with(path, RecoverOptions::new())
}

/// [`recover`] with options: zero-filling the last item, a dry run.
pub fn recover_with(path: impl AsRef<Path>, options: RecoverOptions) -> Result<RecoverReport> {
    let path = path.as_ref();
    let opened = OpenOptions::new()
        .read(true)
        .write(!options.dry_run)
        .open(path)
        .map_err(|e| Error::io(path, "opening", e))?;
    // A dry run reads without the lock; a real one holds it until it returns.
    if options.dry_run {
        recover_file(&opened, path, options)
    } else {
        let locked = lock(opened, path)?;
        recover_file(&locked, path, options)
    }
}

/// [`recover_with`] on `file`, open at `path` for reading (and writing unless it is a dry
/// run), and locked by the caller unless it is a dry run: the repair
/// [`AppendOptions::recover`](crate::AppendOptions::recover) makes under the writer's lock.
pub(crate) fn recover_file(
    file: &File,
    path: &Path,
    options: RecoverOptions,
) -> Result<RecoverReport> {
    let (parsed, file_len) = read_parsed_len(file, path, Leniency::AllowPlaceholder)?;
    let info = FileInfo::from_parsed(path, file, &parsed, file_len)?;
    let header = &parsed.header;
    check_not_object(path, header)?;
    let items_before = (!parsed.placeholder).then(|| header.growth_len());
    if !info.needs_recovery {
        return Ok(RecoverReport {
            items_before,
            items_after: header.growth_len(),
            bytes_cut: 0,
            bytes_zero_filled: 0,
            changed: false,
        });
    }
    if info.reserved_tail > 0 {
        // Space a killed mapped-mode writer reserved: not data, whatever it holds.
        let report = RecoverReport {
            items_before,
            items_after: header.growth_len(),
            bytes_cut: info.reserved_tail,
            bytes_zero_filled: 0,
            changed: true,
        };
        if !options.dry_run {
            sys::cut_killed_reservation(file, parsed.header_len + info.data_expected, false)
                .map_err(|e| Error::io(path, "cutting reserved space", e))?;
            file.sync_data()
                .map_err(|e| Error::io(path, "syncing to stable storage", e))?;
        }
        return Ok(report);
    }
    let Some(item_len) = header.item_len() else {
        return Err(Error::ScalarFile {
            path: path.to_path_buf(),
        });
    };
    let present = info.data_present;
    let (items_after, new_data_len) =
        match (present.checked_div(item_len), present.checked_rem(item_len)) {
            (Some(whole), Some(partial)) if partial > 0 && options.zerofill_incomplete => {
                (whole + 1, (whole + 1) * item_len)
            }
            (Some(whole), _) => (whole, whole * item_len),
            // No item holds any byte: the length cannot be inferred, and no byte is data.
            _ => (header.growth_len(), 0),
        };
    let mut new_header = header.clone();
    if let Some(axis) = header.growth_axis() {
        new_header.shape[axis] = items_after;
    }
    let bytes = new_header
        .template()
        .render_at(items_after, parsed.version, parsed.header_len)
        .ok_or_else(|| Error::NotAppendable {
            path: path.to_path_buf(),
            needed: new_header.template().appendable_len(parsed.version),
            available: parsed.header_len,
        })?;
    let report = RecoverReport {
        items_before,
        items_after,
        bytes_cut: present.saturating_sub(new_data_len),
        bytes_zero_filled: new_data_len.saturating_sub(present),
        changed: true,
    };
    if options.dry_run {
        return Ok(report);
    }
    let new_len = parsed.header_len + new_data_len;
    // At every step the header counts no more bytes than the file holds.
    if new_len > file_len {
        file.set_len(new_len)
            .map_err(|e| Error::io(path, "zero-filling the last item", e))?;
    }
    file.write_all_at(&bytes, 0)
        .map_err(|e| Error::io(path, "writing the header", e))?;
    if new_len < file_len {
        file.set_len(new_len)
            .map_err(|e| Error::io(path, "cutting the incomplete item", e))?;
    }
    file.sync_data()
        .map_err(|e| Error::io(path, "syncing to stable storage", e))?;
    Ok(report)
}
