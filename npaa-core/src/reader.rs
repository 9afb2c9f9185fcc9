//! Reading a .npy file while a writer grows it: [`Reader`].
//!
//! A reader trusts the header: a writer counts items in the header only after their bytes are
//! written (see the appender's docs), so the items the header counts are complete, whatever
//! the writer's mode. Bytes past them (items not counted yet, a write buffer's flush in
//! progress, space a mapped-mode writer reserved) are never shown.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::file::{growth_axis_of, read_header_of};
use crate::header::{Header, Leniency};
use crate::layout::Order;
use crate::sys::{self, ReadMap};

/// How many times [`Reader::refresh`] reads the header again when two reads in a row disagree
/// (a writer was rewriting it) before it keeps the items it had.
const HEADER_READS: usize = 8;

/// A reader of a .npy file that a writer may be growing: each [`refresh`](Self::refresh)
/// maps the items committed so far, read-only, without copying them.
///
/// - Only items the header counts are shown: never a partial item, never space a writer
///   reserved past its data. A writer with `rewrite_header_on_append(false)` counts items only
///   when it updates its header: the reader then sees what is counted, and
///   [`uncounted_items`](Self::uncounted_items) says how many whole items lie past it.
/// - The item count never shrinks from one refresh to the next: a header read while a writer
///   was rewriting it, or one counting fewer items than before (a rollback), keeps the previous
///   count as long as the file still holds those items. A file cut below them, or replaced by
///   one of another dtype or shape, is [`Error::FileChanged`].
/// - A refresh costs the same whatever the file's size: two short reads of the header, the
///   file's length, and a new mapping only when the items outgrew the last one.
///
/// ```
/// use npaa_core::{AppendArray, Reader};
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("log.npy");
/// let writer = AppendArray::open(&path)?;
/// writer.append(&[1.0f64, 2.0], &[1, 2])?;
/// let mut reader = Reader::open(&path)?;
/// assert_eq!(reader.refresh()?.shape(), [1, 2]);
/// writer.append(&[3.0f64, 4.0, 5.0, 6.0], &[2, 2])?;
/// let new = reader.next_block()?.expect("two new items");
/// assert_eq!((new.first_item(), new.shape()), (1, &[2, 2][..]));
/// assert_eq!(new.bytes(), bytemuck::cast_slice::<f64, u8>(&[3.0, 4.0, 5.0, 6.0]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Reader {
    path: PathBuf,
    file: File,
    header_len: u64,
    /// The header as first read; its growth dimension is the items seen so far.
    header: Header,
    axis: usize,
    item_len: u64,
    /// Items committed so far (the last refresh's count).
    rows: u64,
    /// Items [`next_block`](Self::next_block) has returned.
    returned: u64,
    /// Whole items past the counted ones at the last refresh (header rewrite off).
    uncounted: u64,
    map: Option<Arc<ReadMap>>,
}

/// Items of a file, mapped read-only: what [`Reader::refresh`] and [`Reader::next_block`]
/// return. Cheap to clone; the mapping lives as long as any clone.
#[derive(Clone, Debug)]
pub struct Items {
    map: Option<Arc<ReadMap>>,
    start: usize,
    len: usize,
    item_len: u64,
    first_item: u64,
    shape: Vec<u64>,
    order: Order,
}

impl Items {
    /// The items' bytes, in the file's dtype and memory order.
    pub fn bytes(&self) -> &[u8] {
        match &self.map {
            Some(map) => &map.bytes()[self.start..self.start + self.len],
            None => &[],
        }
    }

    /// Their shape: the file's, with the growth dimension the number of items here.
    pub fn shape(&self) -> &[u64] {
        &self.shape
    }

    /// The memory order of [`bytes`](Self::bytes) (the file's).
    pub fn order(&self) -> Order {
        self.order
    }

    /// The index along the growth axis of the first item here.
    pub fn first_item(&self) -> u64 {
        self.first_item
    }

    /// The first `items` of these items (all of them if there are fewer).
    pub fn prefix(&self, items: u64) -> Items {
        let items = items.min(self.count());
        let mut prefix = self.clone();
        if let Some(axis) = self.order.growth_axis(self.shape.len()) {
            prefix.shape[axis] = items;
        }
        prefix.len = (items * self.item_len) as usize;
        prefix
    }

    /// The last `items` of these items (all of them if there are fewer).
    pub fn suffix(&self, items: u64) -> Items {
        let items = items.min(self.count());
        let mut suffix = self.prefix(items);
        suffix.start = self.start + self.len - suffix.len;
        suffix.first_item = self.first_item + self.count() - items;
        suffix
    }

    /// The number of items here (the growth dimension of [`shape`](Self::shape)).
    pub fn count(&self) -> u64 {
        self.order
            .growth_axis(self.shape.len())
            .map_or(0, |a| self.shape[a])
    }
}

impl Reader {
    /// Opens `path` for reading. Nothing is mapped until [`refresh`](Self::refresh).
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be opened; [`Error::Format`] if it is not a .npy file (a
    /// placeholder shape included); [`Error::ObjectDtype`] and [`Error::ScalarFile`] for
    /// files that cannot grow.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|e| Error::io(&path, "opening", e))?;
        let len = sys::file_len(&file).map_err(|e| Error::io(&path, "reading file metadata", e))?;
        let (parsed, _) = read_header_of(&file, &path, Leniency::Strict, len)?;
        let axis = growth_axis_of(&path, &parsed.header)?;
        let item_len = parsed.header.item_len().ok_or_else(|| Error::Overflow {
            shape: parsed.header.shape.clone(),
            itemsize: parsed.header.dtype.itemsize(),
        })?;
        let mut header = parsed.header;
        header.shape[axis] = 0;
        Ok(Reader {
            path,
            file,
            header_len: parsed.header_len,
            header,
            axis,
            item_len,
            rows: 0,
            returned: 0,
            uncounted: 0,
            map: None,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's dtype.
    pub fn dtype(&self) -> &Dtype {
        &self.header.dtype
    }

    /// The file's memory order.
    pub fn order(&self) -> Order {
        self.header.order()
    }

    /// The file's shape at the last refresh (growth dimension 0 before the first).
    pub fn shape(&self) -> Vec<u64> {
        let mut shape = self.header.shape.clone();
        shape[self.axis] = self.rows;
        shape
    }

    /// Bytes of one item (one step along the growth axis).
    pub fn item_len(&self) -> u64 {
        self.item_len
    }

    /// Whole items the file held past the counted ones at the last refresh: items a writer with
    /// the header rewrite off has written but not yet counted (0 otherwise; space a mapped-mode
    /// writer reserved is not counted here). They are not shown until the header counts them.
    pub fn uncounted_items(&self) -> u64 {
        self.uncounted
    }

    /// Reads the header again and returns every item committed so far, mapped read-only. They
    /// count as returned: [`next_block`](Self::next_block) goes on after them.
    ///
    /// # Errors
    /// [`Error::FileChanged`] if the file was cut below the items already seen, or its header
    /// now describes another dtype or shape; [`Error::Io`].
    pub fn refresh(&mut self) -> Result<Items> {
        self.update()?;
        self.returned = self.rows;
        Ok(self.items_between(0, self.rows))
    }

    /// Refreshes, then returns the items committed since they were last returned (by this or
    /// [`refresh`](Self::refresh); all of them, the first time), or `None` when there are
    /// none.
    pub fn next_block(&mut self) -> Result<Option<Items>> {
        self.update()?;
        if self.rows == self.returned {
            return Ok(None);
        }
        let rows = self.items_between(self.returned, self.rows);
        self.returned = self.rows;
        Ok(Some(rows))
    }

    /// Follows the file like `tail -f`: an endless iterator of the blocks
    /// [`next_block`](Self::next_block) returns, sleeping `poll` whenever there is none. The
    /// first block holds whatever was committed and not yet returned (by
    /// [`refresh`](Self::refresh) or [`next_block`](Self::next_block)).
    pub fn follow(&mut self, poll: Duration) -> Follow<'_> {
        Follow { reader: self, poll }
    }

    /// The items `[first, end)`, which the current mapping holds.
    fn items_between(&self, first: u64, end: u64) -> Items {
        let mut shape = self.header.shape.clone();
        shape[self.axis] = end - first;
        Items {
            map: self.map.clone(),
            // Within the mapping, which is in memory: these fit in usize.
            start: (self.header_len + first * self.item_len) as usize,
            len: ((end - first) * self.item_len) as usize,
            item_len: self.item_len,
            first_item: first,
            shape,
            order: self.header.order(),
        }
    }

    /// Reads the header and the file's length, and maps what the new count needs.
    fn update(&mut self) -> Result<()> {
        let file_len = sys::file_len(&self.file)
            .map_err(|e| Error::io(&self.path, "reading file metadata", e))?;
        if file_len < self.header_len + self.rows * self.item_len {
            return Err(self.changed(format!(
                "the file was cut below the {} rows already read",
                self.rows
            )));
        }
        let counted = self.counted_rows(file_len)?.unwrap_or(self.rows);
        // Items of no bytes (a dimension of 0 beside the growth axis) are all present.
        let present = match self.item_len {
            0 => counted,
            item_len => (file_len - self.header_len) / item_len,
        };
        // Never more than the file holds (a header whose data a power loss lost), never fewer
        // than before.
        let rows = counted.min(present).max(self.rows);
        let uncounted = present.saturating_sub(counted);
        self.uncounted = if uncounted > 0
            && sys::is_reserved(
                &self.file,
                self.header_len + counted * self.item_len,
                file_len,
            ) {
            0
        } else {
            uncounted
        };
        let needed = self.header_len + rows * self.item_len;
        let mapped = self.map.as_ref().map_or(0, |m| m.bytes().len() as u64);
        if needed > mapped || self.map.is_none() {
            // The whole file where the platform allows: later items already written then need
            // no new mapping.
            let len = usize::try_from(sys::reader_map_len(needed, file_len)).map_err(|_| {
                Error::io(
                    &self.path,
                    "mapping the data",
                    std::io::Error::other("the file is larger than the address space"),
                )
            })?;
            let map = ReadMap::new(&self.file, len)
                .map_err(|e| Error::io(&self.path, "mapping the data", e))?;
            self.map = Some(Arc::new(map));
        }
        self.rows = rows;
        Ok(())
    }

    /// The header's count of items, read until two reads in a item agree; `None` if they never
    /// did (a writer rewriting it all along).
    fn counted_rows(&self, file_len: u64) -> Result<Option<u64>> {
        let mut last = None;
        for _ in 0..HEADER_READS {
            let read = match read_header_of(&self.file, &self.path, Leniency::Strict, file_len) {
                Ok((parsed, _)) => {
                    let mut header = parsed.header;
                    let count = header.shape.get(self.axis).copied();
                    if let Some(dim) = header.shape.get_mut(self.axis) {
                        *dim = 0;
                    }
                    count.map(|c| (header, parsed.header_len, c))
                }
                // A header caught half rewritten does not parse: read it again.
                Err(Error::Format { .. }) => None,
                Err(e) => return Err(e),
            };
            if read.is_some() && read == last {
                let Some((header, header_len, count)) = read else {
                    unreachable!("checked above")
                };
                if header != self.header || header_len != self.header_len {
                    return Err(self.changed(format!(
                        "its header now describes {} {}, not the array it was opened with",
                        header.dtype.descr(),
                        crate::repr::fmt_shape(&header.shape),
                    )));
                }
                return Ok(Some(count));
            }
            last = read;
        }
        Ok(None)
    }

    fn changed(&self, what: String) -> Error {
        Error::FileChanged {
            path: self.path.clone(),
            what,
        }
    }
}

/// The iterator [`Reader::follow`] returns.
#[derive(Debug)]
pub struct Follow<'a> {
    reader: &'a mut Reader,
    poll: Duration,
}

impl Iterator for Follow<'_> {
    type Item = Result<Items>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.reader.next_block() {
                Ok(Some(rows)) => return Some(Ok(rows)),
                Ok(None) => std::thread::sleep(self.poll),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
