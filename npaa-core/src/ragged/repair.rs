//! Restoring a consistent pair: [`recover_ragged`], and the opening of a pair for appending
//! that repairs it first.

use crate::sys::PositionalIo;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::appender::{AppendOptions, Durability};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::layout::Order;
use crate::recover::{RecoverReport, recover};

use super::pair::{Pair, growth_len};
use super::{INDEX_WINDOW, index_dtype, index_path};

/// What [`recover_ragged`] (or opening a ragged pair) repaired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RaggedRecoverReport {
    /// What [`recover`] did to the data file on its own (`None`: there is no data file yet).
    pub data: Option<RecoverReport>,
    /// What [`recover`] did to the index on its own (`None`: there was no index; an empty one
    /// was created).
    pub index: Option<RecoverReport>,
    /// Records after the repair.
    pub records: u64,
    /// The data's length along its growth axis (items) after the repair.
    pub items: u64,
    /// Index entries cut: ends beyond the data's items (only a power loss leaves those).
    pub entries_cut: u64,
    /// Items cut from the data: a half-appended record that no index entry names.
    pub items_cut: u64,
    /// False when the pair needed no repair.
    pub changed: bool,
}

/// Restores a consistent ragged pair after a crash, under the pair's lock: each file is
/// repaired on its own as [`recover`] does (an incomplete item or entry cut, reserved space
/// cut, items written but not yet counted restored), then index entries naming items the data
/// does not hold are cut, and then data items no entry names (a half-appended record). Every
/// record that was fully appended and indexed survives exactly.
///
/// [`RaggedAppendArray::open`](super::RaggedAppendArray::open) does the same before appending. Costs constant time in the
/// files' sizes (a binary search of the index's tail).
///
/// # Errors
/// [`Error::Io`] (not found) when neither file exists; [`Error::Locked`] while a writer has
/// the pair open; [`Error::BadIndex`] for an index that is not a ragged index, a missing
/// index beside data items, or, when the pair must be cut, an index whose record ends
/// decrease somewhere (nothing is cut then: reading the whole index to check it is the one
/// cost that grows with its size, paid only when cutting); the errors of [`recover`].
pub fn recover_ragged(path: impl AsRef<Path>) -> Result<RaggedRecoverReport> {
    let path = path.as_ref();
    if !path.exists() && !index_path(path).exists() {
        return Err(Error::io(
            path,
            "opening",
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    let options = AppendOptions::new().durability(Durability::OnClose);
    let (pair, report) = open_pair(path, &options)?;
    pair.data.close()?;
    pair.index.close()?;
    Ok(report)
}

/// Opens (creating the index if needed) and repairs the pair of `path` for appending with
/// `options`.
pub(super) fn open_pair(
    path: &Path,
    options: &AppendOptions,
) -> Result<(Pair, RaggedRecoverReport)> {
    let idx = index_path(path);
    let index_options = AppendOptions {
        order: Some(Order::C),
        casting: crate::Casting::Safe,
        buffer_capacity: 0,
        // `EveryBytes`: the ragged writer syncs the index itself, after the data.
        durability: match options.durability {
            Durability::EveryBytes(_) => Durability::OnClose,
            other => other,
        },
        mapped_window: if options.mapped_window > 0 {
            INDEX_WINDOW
        } else {
            0
        },
        ..options.clone()
    };
    let mut report = RaggedRecoverReport::default();
    if !options.delete_if_exists {
        // Each file on its own first (each under its lock, the index's first): a writer that
        // has the pair open makes this fail with `Locked` before anything changes.
        if idx.exists() {
            report.index = Some(recover(&idx)?);
        }
        if path.exists() {
            report.data = Some(recover(path)?);
        }
    }
    let (index, data) = if options.delete_if_exists {
        // The data first: a kill in between leaves an index without data, an empty pair.
        let data = options.clone().open(path)?;
        (index_options.open(&idx)?, data)
    } else {
        let index = index_options.open(&idx)?;
        (index, options.clone().open(path)?)
    };
    let rows = growth_len(&data);
    if index.shape().is_none() {
        if rows > 0 {
            return Err(Error::BadIndex {
                path: idx,
                what: format!(
                    "no index beside a data file of {rows} items: build one from the records' \
                     lengths (index_from_lengths)"
                ),
            });
        }
        index.append::<i64>(&[], &[0])?;
        report.changed |= !options.delete_if_exists;
    }
    let entries = check_index(&idx, index.dtype(), index.shape())?;
    let ends = IndexFile::open(&idx)?;
    let kept = ends.entries_within(entries, rows)?;
    let end = match kept {
        0 => 0,
        k => ends.get(k - 1)?,
    };
    if kept < entries || end < rows {
        // About to cut: only if the ends never decrease, which the search assumed. An index
        // that decreases is not one npaa wrote, and cutting by it could drop items a later
        // entry names. Read whole only here: a pair in step costs no more than the search.
        ends.check_ascending(entries)?;
    }
    if kept < entries {
        index.cut_to(kept)?;
    }
    if end < rows {
        data.cut_to(end)?;
    }
    report.records = kept;
    report.items = end;
    report.entries_cut = entries - kept;
    report.items_cut = rows - end;
    report.changed |= report.entries_cut > 0
        || report.items_cut > 0
        || report.data.as_ref().is_some_and(|r| r.changed)
        || report.index.as_ref().is_some_and(|r| r.changed);
    let pair = Pair {
        index,
        data,
        pending: Vec::new(),
        pending_bytes: 0,
        end,
        indexed_end: end,
        records: kept,
    };
    Ok((pair, report))
}

/// Refuses an index that is not a 1-D C-order `<i8` array; returns its number of entries.
pub(super) fn check_index(
    path: &Path,
    dtype: Option<Dtype>,
    shape: Option<Vec<u64>>,
) -> Result<u64> {
    match (dtype, shape.as_deref()) {
        (Some(d), Some(&[n])) if d == index_dtype() => Ok(n),
        (dtype, shape) => Err(Error::BadIndex {
            path: path.to_path_buf(),
            what: format!(
                "not a ragged index: a ragged index is a 1-D '<i8' array of record ends, this \
                 is {} of shape {}",
                dtype.map_or_else(|| "?".to_owned(), |d| d.descr()),
                shape.map_or_else(|| "?".to_owned(), crate::repr::fmt_shape),
            ),
        }),
    }
}

/// An index file read entry by entry (positional reads: a repair reads a handful).
struct IndexFile {
    path: PathBuf,
    file: File,
    header_len: u64,
}

impl IndexFile {
    fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, "opening", e))?;
        let parsed = crate::file::read_parsed(&file, path, crate::header::Leniency::Strict)?;
        Ok(IndexFile {
            path: path.to_path_buf(),
            file,
            header_len: parsed.header_len,
        })
    }

    /// Entry `i` (the end of record `i`).
    fn get(&self, i: u64) -> Result<u64> {
        let mut bytes = [0u8; 8];
        self.file
            .read_exact_at(&mut bytes, self.header_len + 8 * i)
            .map_err(|e| Error::io(&self.path, "reading the index", e))?;
        let end = i64::from_le_bytes(bytes);
        u64::try_from(end).map_err(|_| Error::BadIndex {
            path: self.path.clone(),
            what: format!("entry {i} is negative ({end}): record ends are item counts"),
        })
    }

    /// Refuses ([`Error::BadIndex`]) an index whose first `entries` entries decrease
    /// somewhere, or are negative, naming the first such entry.
    fn check_ascending(&self, entries: u64) -> Result<()> {
        const CHUNK: u64 = 8192;
        let mut bytes = vec![0u8; 8 * CHUNK as usize];
        let mut last = 0u64;
        let mut start = 0;
        while start < entries {
            let n = (entries - start).min(CHUNK);
            let chunk = &mut bytes[..8 * n as usize];
            self.file
                .read_exact_at(chunk, self.header_len + 8 * start)
                .map_err(|e| Error::io(&self.path, "reading the index", e))?;
            for (k, entry) in chunk.chunks_exact(8).enumerate() {
                let i = start + k as u64;
                let end = i64::from_le_bytes(entry.try_into().unwrap_or_default());
                match u64::try_from(end) {
                    Ok(end) if end >= last => last = end,
                    _ => {
                        return Err(Error::BadIndex {
                            path: self.path.clone(),
                            what: format!(
                                "entry {i} ({end}) is smaller than the one before it ({last}):                                  record ends never decrease in an index npaa writes; nothing                                  was cut (rebuild the index from the records' lengths)"
                            ),
                        });
                    }
                }
            }
            start += n;
        }
        Ok(())
    }

    /// How many of the first `entries` entries (ends never decrease) are at most `items`.
    fn entries_within(&self, entries: u64, rows: u64) -> Result<u64> {
        let (mut lo, mut hi) = (0, entries);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.get(mid)? <= rows {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }
}
