//! The two files of a pair open for appending, and the order in which a record is committed
//! to them.

use crate::appender::AppendArray;
use crate::error::Result;

/// The data file and the index of a ragged pair, each open for appending.
#[derive(Debug)]
pub(super) struct Pair {
    pub(super) index: AppendArray,
    pub(super) data: AppendArray,
    /// Ends appended to the data but not yet to the index (deferred mode).
    pub(super) pending: Vec<i64>,
    /// Bytes of the records in `pending`, as given.
    pub(super) pending_bytes: u64,
    /// The data's length along the growth axis after the last record (buffered items included).
    pub(super) end: u64,
    /// The last end the index holds (0 for an empty index).
    pub(super) indexed_end: u64,
    /// Records appended, pending ones included.
    pub(super) records: u64,
}

impl Pair {
    /// Appends the held-back index entries, the data's items that they name counted first
    /// (flushed; with `sync`, synced).
    pub(super) fn commit_pending(&mut self, sync: bool) -> Result<()> {
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
    pub(super) fn undo_pending(&mut self, first: usize) {
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

/// The data's length along its growth axis, buffered items included (0 before it exists).
pub(super) fn growth_len(data: &AppendArray) -> u64 {
    let (Some(shape), Some(order)) = (data.shape(), data.order()) else {
        return 0;
    };
    order.growth_axis(shape.len()).map_or(0, |axis| shape[axis])
}
