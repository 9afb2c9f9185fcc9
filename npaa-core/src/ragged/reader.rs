//! Reading a ragged pair, while a writer grows it or as a crash left it: [`RaggedReader`].

use std::ops::Range;
use std::path::Path;

use crate::error::{Error, Result};
use crate::reader::{Items, Reader};

use super::index_path;

/// A reader of a ragged pair ([`RaggedAppendArray`](super::RaggedAppendArray)), read-only:
/// it needs no write access and repairs nothing.
///
/// Each [`refresh`](Self::refresh) shows the records that are complete: the index entries
/// whose items the data counts. The index is read before the data, and a writer commits the
/// data before the index, so a record being appended, or one a killed writer left
/// half-appended, is not shown; nor, after a power loss, are index entries beyond the data.
/// Built on two [`Reader`]s: what they promise (no partial items, counts that never shrink,
/// constant cost) holds for records too.
#[derive(Debug)]
pub struct RaggedReader {
    data: Reader,
    index: Reader,
    /// Records [`next_records`](Self::next_records) has returned.
    returned: u64,
}

/// The complete records of a ragged pair at one refresh: the data's items that they cover and
/// their ends, both mapped read-only.
#[derive(Clone, Debug)]
pub struct RaggedView {
    data: Items,
    index: Items,
    records: u64,
}

impl RaggedView {
    /// Number of records.
    pub fn len(&self) -> u64 {
        self.records
    }

    /// True when there are no records.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// The end of record `i` (its last item + 1), `None` past the last record.
    pub fn end(&self, i: u64) -> Option<u64> {
        (i < self.records).then(|| entry(self.index.bytes(), i))
    }

    /// Every record's end, copied out.
    pub fn ends(&self) -> Vec<u64> {
        (0..self.records)
            .map(|i| entry(self.index.bytes(), i))
            .collect()
    }

    /// The items of the data (along its growth axis) that record `i` spans, `None` past the
    /// last record. (An index whose ends decrease, which no npaa writer leaves, gives such a
    /// record no items.)
    pub fn record_items(&self, i: u64) -> Option<Range<u64>> {
        let end = self.end(i)?;
        let start = match i {
            0 => 0,
            _ => entry(self.index.bytes(), i - 1).min(end),
        };
        Some(start..end)
    }

    /// The data's items that the records cover (all of them, in order), mapped.
    pub fn data(&self) -> &Items {
        &self.data
    }

    /// The index entries of the records (`<i8` record ends), mapped.
    pub fn index(&self) -> &Items {
        &self.index
    }
}

/// Entry `i` of an index's bytes (`<i8`, non-negative where a reader looks: see
/// [`RaggedReader::refresh`]).
fn entry(bytes: &[u8], i: u64) -> u64 {
    let at = (i * 8) as usize;
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    i64::from_le_bytes(b).max(0) as u64
}

impl RaggedReader {
    /// Opens the pair whose data file is `path` (its index beside it, [`index_path`]).
    ///
    /// # Errors
    /// The errors of [`Reader::open`] for either file (the data file of a new pair exists
    /// once its first record is appended); [`Error::BadIndex`] if the index is not a 1-D
    /// `<i8` array.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let idx = index_path(path);
        let index = Reader::open(&idx)?;
        if index.dtype() != &super::index_dtype() || index.shape().len() != 1 {
            return Err(Error::BadIndex {
                path: idx,
                what: format!(
                    "not a ragged index: a ragged index is a 1-D '<i8' array of record ends, \
                     this is {} with {} dimensions",
                    index.dtype().descr(),
                    index.shape().len()
                ),
            });
        }
        Ok(RaggedReader {
            data: Reader::open(path)?,
            index,
            returned: 0,
        })
    }

    /// The data file's reader (its dtype, order, shape at the last refresh).
    pub fn data(&self) -> &Reader {
        &self.data
    }

    /// Reads both files again and returns the complete records so far. They count as
    /// returned: [`next_records`](Self::next_records) goes on after them.
    ///
    /// # Errors
    /// The errors of [`Reader::refresh`].
    pub fn refresh(&mut self) -> Result<RaggedView> {
        let view = self.view()?;
        self.returned = view.len();
        Ok(view)
    }

    /// The complete records as the files are now.
    fn view(&mut self) -> Result<RaggedView> {
        // The index first: every end it counts was counted by the data before.
        let index = self.index.refresh()?;
        let data = self.data.refresh()?;
        let rows = data.count();
        let bytes = index.bytes();
        // Ends never decrease: the complete records are those whose end the data holds.
        let (mut lo, mut hi) = (0, index.count());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if entry(bytes, mid) <= rows {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let end = if lo == 0 { 0 } else { entry(bytes, lo - 1) };
        Ok(RaggedView {
            data: data.prefix(end),
            index: index.prefix(lo),
            records: lo,
        })
    }

    /// Reads both files again, then returns the view and the records completed since they
    /// were last returned (all of them, the first time), or `None` when there are none.
    pub fn next_records(&mut self) -> Result<Option<(Range<u64>, RaggedView)>> {
        let view = self.view()?;
        if view.len() <= self.returned {
            return Ok(None);
        }
        let new = self.returned..view.len();
        self.returned = view.len();
        Ok(Some((new, view)))
    }
}
