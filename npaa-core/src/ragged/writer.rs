//! The ragged writer: [`RaggedAppendArray`], which appends each record to the data, then its
//! end to the index.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::appender::{AppendArray, AppendOptions, Durability};
use crate::dtype::Dtype;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::layout::Order;

use super::index_path;
use super::pair::{Pair, growth_len};
use super::repair::open_pair;

/// A ragged pair open for appending: records of any length (0 included) along the growth
/// axis of a .npy data file, and their ends in an index file beside it (see the
/// [module docs](crate::ragged) for the layout and the commit order).
///
/// Opening restores a consistent pair first, as [`recover_ragged`](super::recover_ragged) does: a record a killed
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
/// feats.append(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2])?; // a record of 2 items (rows of 2)
/// feats.append::<f32>(&[], &[0, 2])?; // an empty record
/// feats.append(&[5.0f32, 6.0], &[1, 2])?;
/// assert_eq!(feats.len(), 3);
/// feats.close()?;
/// assert!(index_path(&path).ends_with("feats.idx.npy"));
///
/// let view = RaggedReader::open(&path)?.refresh()?;
/// assert_eq!(view.ends(), vec![2, 2, 3]);
/// assert_eq!(view.record_items(2), Some(2..3));
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
    pair: Mutex<Pair>,
}

impl RaggedAppendArray {
    /// Opens the ragged pair whose data file is `path` (its index is [`index_path`]) with
    /// default options, creating the index if there is none: a new pair's data file is created
    /// by the first record.
    ///
    /// # Errors
    /// [`Error::Locked`](crate::Error::Locked) if another writer has the pair open;
    /// [`Error::BadIndex`](crate::Error::BadIndex) if the index is not a ragged index, or is
    /// missing beside a data file that holds items (build one with
    /// [`index_from_lengths`](super::index_from_lengths)); the errors of
    /// [`AppendArray::open`] for either file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, AppendOptions::default())
    }

    /// Opens the pair with `options`; see [`open`](Self::open). `delete_if_exists` deletes both
    /// files (the data first, so that a kill in between leaves an index without data, which
    /// opens as an empty pair).
    pub fn open_with(path: impl AsRef<Path>, options: AppendOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        options.durability.check()?;
        if options.shared {
            return Err(Error::IncompatibleOptions {
                what: "a ragged pair has one writer at a time: shared mode does not apply to it",
            });
        }
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
            pair: Mutex::new(pair),
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

    /// Records appended so far (those whose index entries are still held back included).
    pub fn len(&self) -> u64 {
        self.lock_pair().records
    }

    /// True when no record has been appended.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The data file's shape (`None` before the first record created it).
    pub fn shape(&self) -> Option<Vec<u64>> {
        self.lock_pair().data.shape()
    }

    /// The data file's dtype (`None` before the first record created it).
    pub fn dtype(&self) -> Option<Dtype> {
        self.lock_pair().data.dtype()
    }

    /// The data file's memory order (`None` before the first record created it).
    pub fn order(&self) -> Option<Order> {
        self.lock_pair().data.order()
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
        let pair = &mut *guard;
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
        self.lock_pair().commit_pending(false)
    }

    /// Writes everything and forces it to stable storage: the data (and its header) first,
    /// then the index.
    pub fn sync(&self) -> Result<()> {
        let mut pair = self.lock_pair();
        pair.commit_pending(true)?;
        pair.index.sync()
    }

    /// Closes the pair: the data file first (flushed, counted, synced as the durability
    /// setting asks), then the index entries held back, then the index. Errors here mean the
    /// last records may not be indexed (the next open cuts what is not).
    pub fn close(self) -> Result<()> {
        self.finish()
    }

    /// Closes both files, the data's first; a second call (`drop` after `close`) finds them
    /// closed and nothing held back.
    fn finish(&self) -> Result<()> {
        let mut pair = self.lock_pair();
        let pending = std::mem::take(&mut pair.pending);
        // Closing the data publishes it (and syncs it, as the durability setting asks); only
        // then may the index count it.
        pair.data.finish()?;
        if !pending.is_empty() {
            pair.index.append(&pending, &[pending.len() as u64])?;
        }
        pair.index.finish()
    }

    fn lock_pair(&self) -> MutexGuard<'_, Pair> {
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
