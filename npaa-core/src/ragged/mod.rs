//! Ragged records: a data file of records of any length along the growth axis, and an index
//! of where each ends, committed together ([`RaggedAppendArray`], [`recover_ragged`]).
//!
//! # The pair on disk
//! - The data file (`feats.npy`) is a plain .npy file: NumPy loads it as the concatenation of
//!   all records along the growth axis (axis 0 for C order, the last for Fortran order).
//! - The index beside it ([`index_path`]: `feats.idx.npy`) is a 1-D `<i8` .npy file of record
//!   *ends*: record `i` is rows `ends[i-1]..ends[i]` of the data (`0..ends[0]` for the first).
//!   It has one entry per record, never decreases, and its last entry is the data's length
//!   along the growth axis once the pair is closed. fairseq's `offsets` (the starts) are
//!   `np.concatenate(([0], ends[:-1]))`, its lengths `np.diff(ends, prepend=0)`.
//!
//! # Commit order
//! A record is appended to the data first (its rows written, then counted by the data's
//! header), and only then its end to the index (written, then counted). A process killed at
//! any moment therefore leaves an index that names no rows the data does not count; at most
//! the data counts rows no index entry names yet: a half-appended record. Readers
//! ([`RaggedReader`]) read the indexed records and ignore those rows; opening for appending and
//! [`recover_ragged`] cut them, so that every record that was fully appended and indexed
//! survives exactly, and a half-appended one is gone.
//!
//! Where the data's header lags behind its appends on purpose (a write buffer,
//! [`Durability::EveryBytes`]), index entries are held back as well, and appended only once
//! the data that they name is counted (and, for `EveryBytes`, durable): the index then never
//! runs ahead of the data after a power loss either.
//!
//! # Lock
//! The index file's writer lock is the pair's: it is taken first and held as long as the pair
//! is open, so a second ragged writer fails with [`Error::Locked`] whatever it opens first.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::appender::{AppendArray, AppendOptions, Durability};
use crate::dtype::Dtype;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::inspect::FileInfo;
use crate::layout::Order;
use crate::recover::{RecoverReport, recover};

mod reader;

pub use reader::{RaggedReader, RaggedView};

/// What an index file name ends with: `feats.npy` has the index `feats.idx.npy`.
pub const INDEX_SUFFIX: &str = ".idx.npy";

/// The mapping window of an index whose data file is written in mapped mode: entries are 8
/// bytes, so a small window serves thousands of records.
const INDEX_WINDOW: usize = 64 << 10;

/// The index file of the ragged data file `data`: `feats.npy` → `feats.idx.npy`; a name that
/// does not end in `.npy` gets `.idx.npy` added (`feats` → `feats.idx.npy`).
pub fn index_path(data: impl AsRef<Path>) -> PathBuf {
    let data = data.as_ref();
    let name = data.file_name().map(|n| n.to_string_lossy().into_owned());
    let stem = match &name {
        Some(n) => n.strip_suffix(".npy").unwrap_or(n).to_owned(),
        None => String::new(),
    };
    data.with_file_name(format!("{stem}{INDEX_SUFFIX}"))
}

/// The dtype of a ragged index: `<i8` (record ends, little-endian 64-bit integers).
pub fn index_dtype() -> Dtype {
    i64::dtype()
}

/// The data file and the index of a ragged pair, each open for appending.
#[derive(Debug)]
struct Pair {
    index: AppendArray,
    data: AppendArray,
    /// Ends appended to the data but not yet to the index (deferred mode).
    pending: Vec<i64>,
    /// Bytes of the records in `pending`, as given.
    pending_bytes: u64,
    /// The data's length along the growth axis after the last record (buffered rows included).
    end: u64,
    /// The last end the index holds (0 for an empty index).
    indexed_end: u64,
    /// Records appended, pending ones included.
    records: u64,
}

/// A ragged pair open for appending: records of any length (0 included) along the growth
/// axis of a .npy data file, and their ends in an index file beside it (see the
/// [module docs](self) for the layout and the commit order).
///
/// Opening restores a consistent pair first, as [`recover_ragged`] does: a record a killed
/// writer left half-appended is cut. Every [`AppendOptions`] applies (the data file's dtype,
/// order and casting rule come from its first record, as for [`AppendArray`]).
///
/// `RaggedAppendArray` is `Send + Sync`; records appended from several threads land whole, each
/// with its index entry, in the order the calls took the handle's lock.
///
/// ```
/// use npaa_core::{RaggedAppendArray, RaggedReader, index_path};
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("feats.npy");
/// let feats = RaggedAppendArray::open(&path)?;
/// feats.append(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2])?; // a record of 2 rows of 2
/// feats.append::<f32>(&[], &[0, 2])?; // an empty record
/// feats.append(&[5.0f32, 6.0], &[1, 2])?;
/// assert_eq!(feats.len(), 3);
/// feats.close()?;
/// assert!(index_path(&path).ends_with("feats.idx.npy"));
///
/// let view = RaggedReader::open(&path)?.refresh()?;
/// assert_eq!(view.ends(), vec![2, 2, 3]);
/// assert_eq!(view.record_rows(2), Some(2..3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct RaggedAppendArray {
    path: PathBuf,
    index_path: PathBuf,
    /// `Some((threshold, sync))` when index entries are held back until the data that they
    /// name is counted: a write buffer (flushed at `threshold` bytes) or `EveryBytes`
    /// (synced at `threshold` bytes, `sync` true).
    deferred: Option<(u64, bool)>,
    pair: Mutex<Option<Pair>>,
}

impl RaggedAppendArray {
    /// Opens the ragged pair whose data file is `path` (its index is [`index_path`]) with
    /// default options, creating the index if there is none: a new pair's data file is created
    /// by the first record.
    ///
    /// # Errors
    /// [`Error::Locked`] if another writer has the pair open; [`Error::BadIndex`] if the index
    /// is not a ragged index, or is missing beside a data file that holds rows (build one with
    /// [`index_from_lengths`]); the errors of [`AppendArray::open`] for either file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, AppendOptions::default())
    }

    /// Opens the pair with `options`; see [`open`](Self::open). `delete_if_exists` deletes both
    /// files (the data first, so that a kill in between leaves an index without data, which
    /// opens as an empty pair).
    pub fn open_with(path: impl AsRef<Path>, options: AppendOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        options.check()?;
        let deferred = match options.durability {
            Durability::EveryBytes(n) => Some((n, true)),
            _ if options.buffer_capacity > 0 => Some((options.buffer_capacity as u64, false)),
            _ => None,
        };
        let (pair, _) = open_pair(&path, &options)?;
        Ok(RaggedAppendArray {
            index_path: index_path(&path),
            path,
            deferred,
            pair: Mutex::new(Some(pair)),
        })
    }

    /// The data file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The index file's path.
    pub fn index_path(&self) -> &Path {
        &self.index_path
    }

    /// Records appended so far (those whose index entries are still held back included); 0
    /// after close.
    pub fn len(&self) -> u64 {
        self.lock_pair().as_ref().map_or(0, |p| p.records)
    }

    /// True when no record has been appended.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The data file's shape (`None` before the first record created it, or after close).
    pub fn shape(&self) -> Option<Vec<u64>> {
        self.lock_pair().as_ref().and_then(|p| p.data.shape())
    }

    /// The data file's dtype (`None` before the first record created it, or after close).
    pub fn dtype(&self) -> Option<Dtype> {
        self.lock_pair().as_ref().and_then(|p| p.data.dtype())
    }

    /// The data file's memory order (`None` before the first record created it).
    pub fn order(&self) -> Option<Order> {
        self.lock_pair().as_ref().and_then(|p| p.data.order())
    }

    /// Appends one record given in the file's memory order: `shape` as for
    /// [`AppendArray::append`], any length (0 included) along the growth axis.
    pub fn append<T: Element>(&self, data: &[T], shape: &[u64]) -> Result<()> {
        self.append_raw(&T::dtype(), shape, bytemuck::cast_slice(data))
    }

    /// Appends one record given as raw bytes of `dtype`, in the file's memory order; see
    /// [`AppendArray::append_raw`].
    pub fn append_raw(&self, dtype: &Dtype, shape: &[u64], data: &[u8]) -> Result<()> {
        self.append_records(std::iter::once(()), |array, ()| {
            array.append_raw(dtype, shape, data)?;
            Ok(data.len() as u64)
        })
    }

    /// Appends one record given as raw bytes of `dtype` laid out in `order`; see
    /// [`AppendArray::append_raw_in_order`].
    pub fn append_raw_in_order(
        &self,
        dtype: &Dtype,
        shape: &[u64],
        order: Order,
        data: &[u8],
    ) -> Result<()> {
        self.append_records(std::iter::once(()), |array, ()| {
            array.append_raw_in_order(dtype, shape, order, data)?;
            Ok(data.len() as u64)
        })
    }

    /// Appends several records, each `(elements, shape)` as for [`append`](Self::append),
    /// with one index update for all of them: a kill in between leaves none of them indexed.
    /// A record that is refused stops the call; the records before it stay appended.
    pub fn extend<'a, T: Element>(
        &self,
        records: impl IntoIterator<Item = (&'a [T], &'a [u64])>,
    ) -> Result<()> {
        let dtype = T::dtype();
        self.append_records(records, |array, (data, shape)| {
            array.append_raw(&dtype, shape, bytemuck::cast_slice(data))?;
            Ok(std::mem::size_of_val(data) as u64)
        })
    }

    /// Appends several records given as raw bytes, each `(dtype, shape, order, data)` as for
    /// [`append_raw_in_order`](Self::append_raw_in_order), with one index update for all of
    /// them, as [`extend`](Self::extend) does.
    pub fn extend_raw<'a>(
        &self,
        records: impl IntoIterator<Item = (&'a Dtype, &'a [u64], Order, &'a [u8])>,
    ) -> Result<()> {
        self.append_records(records, |array, (dtype, shape, order, data)| {
            array.append_raw_in_order(dtype, shape, order, data)?;
            Ok(data.len() as u64)
        })
    }

    /// Appends each record with `append` (which returns its size in bytes), then the ends of
    /// those that were appended to the index, unless index entries are deferred.
    fn append_records<R>(
        &self,
        records: impl IntoIterator<Item = R>,
        mut append: impl FnMut(&AppendArray, R) -> Result<u64>,
    ) -> Result<()> {
        let mut guard = self.lock_pair();
        let Some(pair) = guard.as_mut() else {
            return Err(closed());
        };
        let first = pair.pending.len();
        let mut result = Ok(());
        for record in records {
            match append(&pair.data, record) {
                Ok(bytes) => {
                    pair.end = growth_len(&pair.data);
                    pair.pending.push(pair.end as i64);
                    pair.pending_bytes += bytes;
                    pair.records += 1;
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let committed = match self.deferred {
            Some((threshold, sync)) if pair.pending_bytes >= threshold => pair.commit_pending(sync),
            Some(_) => Ok(()),
            None => pair.commit_pending(false),
        };
        if let Err(e) = committed {
            pair.undo_pending(first);
            return Err(e);
        }
        result
    }

    /// Writes records held back (a write buffer, `EveryBytes`) to the data, then their index
    /// entries.
    pub fn flush(&self) -> Result<()> {
        self.with_pair(|pair| pair.commit_pending(false))
    }

    /// Writes everything and forces it to stable storage: the data (and its header) first,
    /// then the index.
    pub fn sync(&self) -> Result<()> {
        self.with_pair(|pair| {
            pair.commit_pending(true)?;
            pair.index.sync()
        })
    }

    /// Closes the pair: the data file first (flushed, counted, synced as the durability
    /// setting asks), then the index entries held back, then the index. Errors here mean the
    /// last records may not be indexed (the next open cuts what is not).
    pub fn close(self) -> Result<()> {
        self.finish()
    }

    fn finish(&self) -> Result<()> {
        let Some(pair) = self.lock_pair().take() else {
            return Ok(());
        };
        let Pair {
            index,
            data,
            pending,
            ..
        } = pair;
        // Closing the data publishes it (and syncs it, as the durability setting asks); only
        // then may the index count it.
        data.close()?;
        if !pending.is_empty() {
            index.append(&pending, &[pending.len() as u64])?;
        }
        index.close()
    }

    fn with_pair(&self, op: impl FnOnce(&mut Pair) -> Result<()>) -> Result<()> {
        match self.lock_pair().as_mut() {
            Some(pair) => op(pair),
            None => Ok(()),
        }
    }

    fn lock_pair(&self) -> MutexGuard<'_, Option<Pair>> {
        // Every mutation of a pair happens after the write it describes succeeded.
        self.pair.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl AppendOptions {
    /// Opens the ragged pair of `path` with these options: see
    /// [`RaggedAppendArray::open_with`].
    pub fn open_ragged(self, path: impl AsRef<Path>) -> Result<RaggedAppendArray> {
        RaggedAppendArray::open_with(path, self)
    }
}

impl Drop for RaggedAppendArray {
    fn drop(&mut self) {
        // Best effort: errors cannot be reported from drop. Call `close` to see them.
        let _ = self.finish();
    }
}

impl Pair {
    /// Appends the held-back index entries, the data's rows that they name counted first
    /// (flushed; with `sync`, synced).
    fn commit_pending(&mut self, sync: bool) -> Result<()> {
        if sync {
            self.data.sync()?;
        } else {
            self.data.flush()?;
        }
        if !self.pending.is_empty() {
            self.index
                .append(&self.pending, &[self.pending.len() as u64])?;
            if sync {
                self.index.sync()?;
            }
            self.indexed_end = self.end;
            self.pending.clear();
            self.pending_bytes = 0;
        }
        Ok(())
    }

    /// After the index refused the entries from `pending[first..]`: cuts their records from
    /// the data, so that the pair is as it was before the call.
    fn undo_pending(&mut self, first: usize) {
        let back_to = match first {
            0 => self.indexed_end,
            n => self.pending[n - 1] as u64,
        };
        self.records -= (self.pending.len() - first) as u64;
        self.pending.truncate(first);
        if self.data.cut_to(back_to).is_ok() {
            self.end = back_to;
        }
    }
}

/// The data's length along its growth axis, buffered rows included (0 before it exists).
fn growth_len(data: &AppendArray) -> u64 {
    let (Some(shape), Some(order)) = (data.shape(), data.order()) else {
        return 0;
    };
    order.growth_axis(shape.len()).map_or(0, |axis| shape[axis])
}

fn closed() -> Error {
    Error::InvalidArgument("the ragged array was closed".into())
}

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
    /// The data's length along its growth axis after the repair.
    pub rows: u64,
    /// Index entries cut: ends beyond the data's rows (only a power loss leaves those).
    pub entries_cut: u64,
    /// Rows cut from the data: a half-appended record that no index entry names.
    pub rows_cut: u64,
    /// False when the pair needed no repair.
    pub changed: bool,
}

/// Restores a consistent ragged pair after a crash, under the pair's lock: each file is
/// repaired on its own as [`recover`] does (an incomplete row or entry cut, reserved space
/// cut, rows written but not yet counted restored), then index entries naming rows the data
/// does not hold are cut, and then data rows no entry names (a half-appended record). Every
/// record that was fully appended and indexed survives exactly.
///
/// [`RaggedAppendArray::open`] does the same before appending. Costs constant time in the
/// files' sizes (a binary search of the index's tail).
///
/// # Errors
/// [`Error::Io`] (not found) when neither file exists; [`Error::Locked`] while a writer has
/// the pair open; [`Error::BadIndex`] for an index that is not a ragged index, or a missing
/// index beside data rows; the errors of [`recover`].
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
fn open_pair(path: &Path, options: &AppendOptions) -> Result<(Pair, RaggedRecoverReport)> {
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
                    "no index beside a data file of {rows} rows: build one from the records' \
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
    if kept < entries {
        index.cut_to(kept)?;
    }
    if end < rows {
        data.cut_to(end)?;
    }
    report.records = kept;
    report.rows = end;
    report.entries_cut = entries - kept;
    report.rows_cut = rows - end;
    report.changed |= report.entries_cut > 0
        || report.rows_cut > 0
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
fn check_index(path: &Path, dtype: Option<Dtype>, shape: Option<Vec<u64>>) -> Result<u64> {
    match (dtype, shape.as_deref()) {
        (Some(d), Some(&[n])) if d == index_dtype() => Ok(n),
        (dtype, shape) => Err(Error::BadIndex {
            path: path.to_path_buf(),
            what: format!(
                "not a ragged index: a ragged index is a 1-D '<i8' array of record ends, this \
                 is {} of shape {}",
                dtype.map_or_else(|| "?".to_owned(), |d| d.descr()),
                shape.map_or_else(|| "?".to_owned(), crate::fmt_shape),
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
            what: format!("entry {i} is negative ({end}): record ends are row counts"),
        })
    }

    /// How many of the first `entries` entries (ends never decrease) are at most `rows`.
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

/// What a ragged pair holds and whether it is consistent: [`inspect_ragged`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RaggedInfo {
    /// The data file, as [`inspect`](crate::inspect()) describes it; `None` when there is
    /// none (a new pair before its first record).
    pub data: Option<FileInfo>,
    /// The index file, as [`inspect`](crate::inspect()) describes it.
    pub index: FileInfo,
    /// Complete records: index entries whose rows the data counts.
    pub records: u64,
    /// Entries the index counts.
    pub entries: u64,
    /// The data's length along its growth axis, as its header counts it.
    pub rows: u64,
    /// Rows the complete records span (the last complete record's end).
    pub indexed_rows: u64,
    /// What is wrong, one sentence each; empty for a consistent pair. All but a decreasing
    /// or negative entry are what a crash leaves, and [`recover_ragged`] repairs them.
    pub problems: Vec<String>,
}

impl RaggedInfo {
    /// True when the pair needs no repair.
    pub fn is_consistent(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Looks at a ragged pair without changing it, and checks every index entry (reads the whole
/// index: time proportional to the number of records).
///
/// # Errors
/// The errors of [`inspect`](crate::inspect()) for either file; [`Error::BadIndex`] if the
/// index is not a 1-D `<i8` array.
pub fn inspect_ragged(path: impl AsRef<Path>) -> Result<RaggedInfo> {
    let path = path.as_ref();
    let idx = index_path(path);
    let index = crate::inspect(&idx)?;
    let data = match crate::inspect(path) {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => None,
        other => Some(other?),
    };
    let entries = check_index(
        &idx,
        Some(index.header.dtype.clone()),
        Some(index.header.shape.clone()),
    )?;
    let rows = data.as_ref().map_or(0, |d| d.header.growth_len());
    let mut problems = Vec::new();
    for (info, what) in [
        (data.as_ref(), "the data file"),
        (Some(&index), "the index"),
    ] {
        let Some(info) = info else { continue };
        if info.needs_recovery {
            problems.push(format!(
                "{what} holds {} bytes of data where its header counts {}",
                info.data_present, info.data_expected
            ));
        }
    }
    // Only the entries the file holds are read.
    let readable = entries.min(index.data_present / 8);
    let mut ends = Vec::with_capacity(usize::try_from(readable).unwrap_or(0));
    if readable > 0 {
        let file = File::open(&idx).map_err(|e| Error::io(&idx, "opening", e))?;
        let len = usize::try_from(index.header_len + readable * 8).map_err(|_| {
            Error::io(
                &idx,
                "mapping the index",
                std::io::Error::other("the index is larger than the address space"),
            )
        })?;
        let map = crate::sys::ReadMap::new(&file, len)
            .map_err(|e| Error::io(&idx, "mapping the index", e))?;
        for chunk in map.bytes()[index.header_len as usize..].chunks_exact(8) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            ends.push(i64::from_le_bytes(b));
        }
    }
    let mut previous = 0i64;
    for (i, &end) in ends.iter().enumerate() {
        if end < previous {
            problems.push(format!(
                "index entry {i} ({end}) is smaller than the one before it ({previous}): record \
                 ends never decrease"
            ));
            break;
        }
        previous = end;
    }
    let records = ends
        .iter()
        .take_while(|&&e| e >= 0 && e as u64 <= rows)
        .count() as u64;
    let indexed_rows = match records {
        0 => 0,
        k => ends[k as usize - 1] as u64,
    };
    if records < entries {
        problems.push(format!(
            "the index names {} records past the {rows} rows the data holds",
            entries - records
        ));
    }
    if indexed_rows < rows {
        problems.push(format!(
            "the data holds {} rows past its last complete record (a half-appended record)",
            rows - indexed_rows
        ));
    }
    Ok(RaggedInfo {
        data,
        index,
        records,
        entries,
        rows,
        indexed_rows,
        problems,
    })
}

/// Reads a lengths file as fairseq writes them: one record length (a non-negative integer) per
/// line; blank lines are skipped.
///
/// # Errors
/// [`Error::Io`] if it cannot be read; [`Error::InvalidArgument`] naming the first line that
/// is not a length.
pub fn read_lengths(path: impl AsRef<Path>) -> Result<Vec<u64>> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "reading", e))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            line.trim().parse::<u64>().map_err(|_| {
                Error::InvalidArgument(format!(
                    "{}: line {}: {:?} is not a record length (a non-negative integer)",
                    path.display(),
                    n + 1,
                    line.trim()
                ))
            })
        })
        .collect()
}

/// Builds the index of the existing data file `path` from its records' lengths (in rows, in
/// order), as a fairseq-style feature dump has them: the migration to a ragged pair. The
/// index ([`index_path`]) appears complete or not at all; returns the number of records.
///
/// # Errors
/// [`Error::InvalidArgument`] unless the lengths add up to the data's rows; [`Error::Io`]
/// (kind `AlreadyExists`) if the index exists; [`Error::Locked`] while a writer has the data
/// open; [`Error::NeedsRecovery`] if the data does not match its header.
pub fn index_from_lengths(path: impl AsRef<Path>, lengths: &[u64]) -> Result<u64> {
    let path = path.as_ref();
    let _lock = crate::WriterLock::acquire(path)?;
    let data = crate::inspect(path)?;
    if data.needs_recovery {
        return Err(Error::NeedsRecovery {
            path: path.to_path_buf(),
            expected: data.data_expected,
            present: data.data_present,
        });
    }
    crate::file::growth_axis_of(path, &data.header)?;
    let rows = data.header.growth_len();
    let mut ends = Vec::with_capacity(lengths.len());
    let mut total = 0u64;
    for &n in lengths {
        total = total.saturating_add(n);
        ends.push(i64::try_from(total).unwrap_or(i64::MAX));
    }
    if total != rows {
        return Err(Error::InvalidArgument(format!(
            "{}: the {} lengths add up to {total} rows, but the data holds {rows}",
            path.display(),
            lengths.len()
        )));
    }
    let idx = index_path(path);
    if idx.exists() {
        return Err(Error::io(
            &idx,
            "creating the index",
            std::io::Error::from(std::io::ErrorKind::AlreadyExists),
        ));
    }
    let staged = crate::StagedFile::beside(&idx)?;
    let index = AppendOptions::new()
        .durability(Durability::OnClose)
        .open(staged.path())?;
    index.append(&ends, &[ends.len() as u64])?;
    index.close()?;
    staged.persist(false)?;
    Ok(lengths.len() as u64)
}
