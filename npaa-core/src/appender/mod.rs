//! The append engine: [`AppendArray`] grows a .npy file along its growth axis.
//!
//! # How an append reaches the disk
//! 1. Everything is validated first (shape, dtype, cast, byte length): a refused append writes
//!    nothing.
//! 2. The data is written at the end of the data with positional writes (`pwrite`), converted
//!    in bounded chunks if the block's dtype differs from the file's.
//! 3. Only then is the header updated to count the new items. The header never counts bytes
//!    that are not written; if the process dies between 2 and 3, NumPy loads the old, shorter
//!    array and [`recover`](crate::recover()) restores the new items.
//!
//! The header update usually costs no system call: after the first few appends, the header is
//! mapped into memory (shared with the page cache) and only the digits of the growth dimension are
//! stored, last digit first, so that a reader, or a file left behind by a killed process, never
//! sees a count larger than what is written (see `sys::HeaderMap`). When the number of digits
//! changes (at 10, 100, 1000, ... items) the header is rewritten with one `pwrite`.
//!
//! # Shared mode
//! With [`AppendOptions::shared`], a handle holds the file open without its lock, and every
//! operation that writes is a *turn*: take the lock (waiting as the options say), re-read the count
//! from the header (one `pread`: the digits, checked against the template's rendering), cut a block
//! a killed writer left in flight, mark the extent of the block about to be written as not data
//! (the mark mapped mode uses, set ahead so that most appends find it set), write, count it in the
//! header, release. A crash between the write and the count leaves marked bytes that the next turn,
//! [`AppendArray::open`] and [`recover`](crate::recover()) cut; closing removes the mark.
//!
//! # Mapped mode
//! With [`AppendOptions::mapped_window`], small appends cost no system call at all: space is
//! reserved past the data (ended by a 24-byte mark, the file's last bytes, then allocated),
//! mapped into memory, and each append copies its bytes into the mapping before storing the
//! header digits that count them. Closing cuts the unused reserved space, and the mark with
//! it. A file left behind by a killed process keeps its reserved space, which NumPy ignores
//! (it reads only what the header counts); the mark, which applies while it ends the file and
//! records the file's length, tells [`recover`](crate::recover()) and the next
//! [`AppendArray::open`] that those bytes are not data, and they cut them. The mark needs
//! nothing of the file system (no extended attribute) and travels with the file's bytes.

use std::io;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::dtype::Dtype;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::file::{self, SourceFile, lock_waiting};
use crate::header::Header;
use crate::layout::{self, Order, Relayout};
use crate::recover::RecoverReport;
use crate::sys::{self, ReadMap};

mod block;
mod collective;
mod open_file;
mod options;
mod region;
mod sink;
mod turns;

pub use block::check_block;
use block::{BlockTarget, Prepared, check_data_len};
pub use collective::Collective;
use open_file::{OpenFile, check_still_linked, open_existing};
pub use options::{AppendFileOptions, AppendOptions, Durability, parse_byte_count};
pub use region::{RegionTarget, RegionWrite};
pub(crate) use sink::Sink;

/// A .npy file open for appending.
///
/// `AppendArray` is `Send + Sync`: share one handle between threads (e.g. in an `Arc`) and
/// call [`append`](Self::append) from all of them. Appends to one handle are serialized; each
/// lands whole, in the order the calls took the handle's lock. Handles on different files do
/// not wait for each other.
///
/// Only one writer may have a file open: the handle holds an exclusive advisory lock
/// (`flock`) on it, and a second open fails with [`Error::Locked`] (or waits for it, see
/// [`AppendOptions::lock_timeout`]). Readers (NumPy) are not affected. In shared mode
/// ([`AppendOptions::shared`]) any number of writers hold the file open at once, each append
/// taking the lock for its own duration.
///
/// Call [`close`](Self::close) to see errors of the final header update; dropping the handle
/// closes it too, ignoring errors.
///
/// ```
/// use npaa_core::AppendArray;
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("out.npy");
/// let array = AppendArray::open(&path)?;
/// array.append(&[1.0f64, 2.0, 3.0, 4.0], &[2, 2])?;
/// array.append(&[5.0f64, 6.0], &[1, 2])?;
/// assert_eq!(array.shape(), Some(vec![3, 2]));
/// array.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AppendArray {
    path: PathBuf,
    options: AppendOptions,
    state: Mutex<State>,
    recovered: Option<RecoverReport>,
}

/// A state of a file to return to: see [`AppendArray::savepoint`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Savepoint {
    growth: u64,
    data_end: u64,
}

/// The open file; `None` while it does not exist yet (the first append creates it), and once
/// the handle has finished (only `Drop` runs after that: `close` consumes the handle).
type State = Option<Box<OpenFile>>;

/// Blocks of at least this many bytes get their file blocks allocated in one call before
/// they are written ([`sys::preallocate`]), as NumPy's `tofile` does from the same size:
/// 64 MiB appends to ext4 then run at `tofile`'s speed, about 25 % faster than plain writes.
const PREALLOCATE_FROM: u64 = 16 << 20;

/// Items per conversion chunk: conversions never hold more than this many items at once.
const CHUNK_ITEMS: usize = 64 * 1024;

impl AppendArray {
    /// Opens `path` for appending with default options. If the file does not exist, it is
    /// created by the first append, from that block's dtype and shape.
    ///
    /// # Errors
    /// [`Error::Locked`] if another writer has it open; [`Error::Format`] if it is not a .npy
    /// file; [`Error::NotAppendable`] if its header has no spare room (run
    /// [`ensure_appendable`](crate::ensure_appendable())); [`Error::NeedsRecovery`] if its
    /// data does not match its header (run [`recover`](crate::recover())); [`Error::ObjectDtype`]
    /// and [`Error::ScalarFile`] for files that can never grow; [`Error::Io`] otherwise.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, AppendOptions::default())
    }

    /// Opens `path` for appending with `options`; see [`open`](Self::open).
    pub fn open_with(path: impl AsRef<Path>, options: AppendOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        options.validate()?;
        let opened = open_existing(&path, &options)?;
        let state = opened.file;
        Ok(AppendArray {
            path,
            options,
            state: Mutex::new(state),
            recovered: opened.recovered,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What [`AppendOptions::recover`] repaired when the file was opened (its
    /// [`changed`](RecoverReport::changed) is false when nothing needed repair); `None` when
    /// recovery was not asked for or there was no file to open.
    ///
    /// ```
    /// use npaa_core::{AppendArray, AppendOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("log.npy");
    /// # let array = AppendArray::open(&path)?;
    /// # array.append(&[1.0f64, 2.0], &[1, 2])?;
    /// # array.close()?;
    /// // A killed writer left half a row behind the last counted one.
    /// std::fs::OpenOptions::new().append(true).open(&path)?.write_all(&[0u8; 12])?;
    /// let array = AppendOptions::new().recover(true).open(&path)?;
    /// assert_eq!(array.recovered().map(|r| r.bytes_cut), Some(12));
    /// array.append(&[3.0f64, 4.0], &[1, 2])?;
    /// assert_eq!(array.shape(), Some(vec![2, 2]));
    /// # use std::io::Write;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recovered(&self) -> Option<&RecoverReport> {
        self.recovered.as_ref()
    }

    /// The current shape, buffered items included; `None` before the first append created the
    /// file.
    pub fn shape(&self) -> Option<Vec<u64>> {
        self.lock_state().as_ref().map(|f| {
            let mut shape = f.header.shape.clone();
            shape[f.axis] += f.buffered_rows;
            shape
        })
    }

    /// The file's header as it stands (dtype, order, and the shape with buffered items
    /// included); `None` before the first append created the file.
    pub fn header(&self) -> Option<Header> {
        self.lock_state().as_ref().map(|f| {
            let mut header = f.header.clone();
            header.shape[f.axis] += f.buffered_rows;
            header
        })
    }

    /// The file's dtype; `None` before the first append created the file.
    pub fn dtype(&self) -> Option<Dtype> {
        self.lock_state().as_ref().map(|f| f.header.dtype.clone())
    }

    /// The file's memory order; `None` before the first append created the file.
    pub fn order(&self) -> Option<Order> {
        self.lock_state().as_ref().map(|f| f.header.order())
    }

    /// The memory order a block laid out in `block` order is written in: the file's; before
    /// the first append created the file, the order that append gives it:
    /// [`AppendOptions::order`] if set, else `block` (as `np.save` of the block would, and as
    /// [`append_raw_in_order`](Self::append_raw_in_order) does).
    ///
    /// A front end that gathers a non-contiguous block in pieces along the growth axis asks
    /// this first, to cut the pieces along the axis they will grow.
    pub fn order_for(&self, block: Order) -> Order {
        match &*self.lock_state() {
            Some(f) => f.header.order(),
            None => self.new_file_order(Some(block)),
        }
    }

    /// The order of a file created by an append whose block suggests `hint`.
    fn new_file_order(&self, hint: Option<Order>) -> Order {
        self.options.order.or(hint).unwrap_or_default()
    }

    /// Appends a block of elements given in the file's memory order.
    ///
    /// `shape` is the block's shape; all dimensions but the growth axis (0 for C order, the
    /// last for Fortran order) must equal the file's, and `data.len()` must be their product.
    /// The elements are cast to the file's dtype under the handle's casting rule.
    pub fn append<T: Element>(&self, data: &[T], shape: &[u64]) -> Result<()> {
        self.append_raw(&T::dtype(), shape, bytemuck::cast_slice(data))
    }

    /// Appends a block given as raw bytes of dtype `dtype`, in the file's memory order.
    ///
    /// This is the most general form: any dtype (structured, strings, datetimes, either byte
    /// order). `data.len()` must be `itemsize × product(shape)`.
    pub fn append_raw(&self, dtype: &Dtype, shape: &[u64], data: &[u8]) -> Result<()> {
        check_data_len(dtype, shape, data)?;
        self.append_with(dtype, shape, None, |sink, _| sink.write(data))
    }

    /// Appends a block given as raw bytes of dtype `dtype`, laid out in `order`, which may
    /// differ from the file's: the values are appended, as `np.concatenate` would append
    /// them, and written in the file's order.
    ///
    /// A block whose bytes are the same in both orders (see
    /// [`same_bytes_in_both_orders`](crate::same_bytes_in_both_orders)) is written as it is;
    /// any other block in the other order is rewritten in the file's order (and cast to the
    /// file's dtype) in pieces of at most 1 MiB, so memory use does not grow with the block.
    /// A file created by this append takes the block's `order` unless [`AppendOptions::order`]
    /// sets one, as [`append_npy_file`](Self::append_npy_file) and `append_array` do (and as
    /// `np.save` of the block would).
    ///
    /// # Errors
    /// As [`append_raw`](Self::append_raw): [`Error::DataLength`] unless `data.len()` is
    /// `itemsize × product(shape)`, [`Error::ShapeMismatch`], [`Error::Cast`], ...
    pub fn append_raw_in_order(
        &self,
        dtype: &Dtype,
        shape: &[u64],
        order: Order,
        data: &[u8],
    ) -> Result<()> {
        check_data_len(dtype, shape, data)?;
        self.append_in_order(dtype, shape, order, data, Some(order))
    }

    /// [`append_raw_in_order`](Self::append_raw_in_order) once the length is checked, with
    /// the order a new file takes when the options do not say.
    fn append_in_order(
        &self,
        dtype: &Dtype,
        shape: &[u64],
        order: Order,
        data: &[u8],
        order_hint: Option<Order>,
    ) -> Result<()> {
        self.append_with(
            dtype,
            shape,
            order_hint,
            |sink, file_order| match layout::relayout(shape, order, file_order) {
                Relayout::AsIs => sink.write(data),
                Relayout::ReverseAxes => layout::reverse_axes(
                    data,
                    &layout::physical_shape(shape, order),
                    dtype.itemsize(),
                    &mut |piece| sink.write(piece),
                    &mut |_| {},
                ),
            },
        )
    }

    /// Appends an [`ndarray`] array of any layout (non-contiguous views too), written in the
    /// file's memory order. A new file takes the array's layout (Fortran if the array is
    /// Fortran-contiguous only) unless [`AppendOptions::order`] says otherwise.
    #[cfg(feature = "ndarray")]
    pub fn append_array<T, S, D>(&self, array: &ndarray::ArrayBase<S, D>) -> Result<()>
    where
        T: Element,
        S: ndarray::Data<Elem = T>,
        D: ndarray::Dimension,
    {
        let shape: Vec<u64> = array.shape().iter().map(|&d| d as u64).collect();
        let dtype = T::dtype();
        check_block(&dtype, &shape)?;
        // A contiguous array is a block in its own order.
        let contiguous = if array.is_standard_layout() {
            array.as_slice().map(|slice| (Order::C, slice))
        } else if array.t().is_standard_layout() {
            array
                .as_slice_memory_order()
                .map(|slice| (Order::Fortran, slice))
        } else {
            None
        };
        if let Some((order, slice)) = contiguous {
            let data = bytemuck::cast_slice(slice);
            return self.append_in_order(&dtype, &shape, order, data, Some(order));
        }
        // Any other view is gathered item by item in the file's order.
        self.append_with(&dtype, &shape, Some(Order::C), |sink, file_order| {
            let view = match file_order {
                Order::Fortran => array.view().reversed_axes(),
                Order::C => array.view(),
            };
            if let Some(slice) = view.as_slice() {
                return sink.write(bytemuck::cast_slice(slice));
            }
            let mut chunk: Vec<T> = Vec::with_capacity(CHUNK_ITEMS.min(view.len()));
            for &item in view.iter() {
                chunk.push(item);
                if chunk.len() == CHUNK_ITEMS {
                    sink.write(bytemuck::cast_slice(&chunk))?;
                    chunk.clear();
                }
            }
            sink.write(bytemuck::cast_slice(&chunk))
        })
    }

    /// Appends the array stored in another .npy file, streaming it: memory use does not depend
    /// on its size, and where no conversion is needed the bytes are copied by the kernel
    /// (`copy_file_range`). Returns the number of items appended along the growth axis.
    ///
    /// The source must be complete (not needing recovery). A source in the other memory
    /// order is rewritten in this file's order while it is copied (see
    /// [`relayout`](crate::relayout)): the source is mapped read-only and written in pieces of
    /// at most 1 MiB, so memory use beyond the source's (clean, reclaimable) page-cache pages
    /// does not depend on its size. A file created by this append takes the source's order
    /// unless [`AppendOptions::order`] says otherwise.
    ///
    /// This is [`append_npy_file_with`](Self::append_npy_file_with) with the default
    /// [`AppendFileOptions`].
    pub fn append_npy_file(&self, source: impl AsRef<Path>) -> Result<u64> {
        self.append_npy_file_with(source, AppendFileOptions::new())
    }

    /// [`append_npy_file`](Self::append_npy_file) with options: progress calls.
    pub fn append_npy_file_with(
        &self,
        source: impl AsRef<Path>,
        options: AppendFileOptions<'_>,
    ) -> Result<u64> {
        let mut progress = options.progress;
        let progress = &mut |done, total| progress.report(done, total);
        let source = source.as_ref();
        let src = SourceFile::open(source)?;
        let header = src.parsed.header.clone();
        let order = header.order();
        // Items along the file's growth axis, which is the source's unless their orders
        // differ (a Fortran-order (4, 3) source adds 4 rows to a C-order file, not 3).
        let mut rows = 0;
        check_block(&header.dtype, &header.shape)?;
        self.append_with(
            &header.dtype,
            &header.shape,
            Some(order),
            |sink, file_order| {
                rows = file_order
                    .growth_axis(header.shape.len())
                    .map_or(0, |axis| header.shape[axis]);
                match layout::relayout(&header.shape, order, file_order) {
                    Relayout::AsIs => sink.copy_from(
                        &src.file,
                        source,
                        src.parsed.header_len,
                        src.data_len,
                        progress,
                    ),
                    Relayout::ReverseAxes => {
                        let start = src.parsed.header_len as usize;
                        let end = usize::try_from(src.parsed.header_len + src.data_len).map_err(
                            |_| Error::Overflow {
                                shape: header.shape.clone(),
                                itemsize: header.dtype.itemsize(),
                            },
                        )?;
                        let map = ReadMap::new(&src.file, end)
                            .map_err(|e| Error::io(source, "mapping the data", e))?;
                        let total = src.data_len;
                        layout::reverse_axes(
                            &map.bytes()[start..end],
                            &layout::physical_shape(&header.shape, order),
                            header.dtype.itemsize(),
                            &mut |piece| sink.write(piece),
                            &mut |done| progress(done, total),
                        )
                    }
                }
            },
        )?;
        Ok(rows)
    }

    /// Checks that a block of this dtype and shape could be appended, without writing
    /// anything. For a file not created yet, only the block itself is checked.
    pub fn check_append(&self, dtype: &Dtype, shape: &[u64]) -> Result<()> {
        check_block(dtype, shape)?;
        match &mut *self.lock_state() {
            Some(f) => {
                let prepared = f.prepare(&self.path, dtype, shape, self.options.casting)?;
                f.keep_cast(prepared);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Marks the file's current state, buffered items flushed first, so that a group of
    /// appends can be undone with [`rollback_to`](Self::rollback_to). `None` before the first
    /// append created the file.
    pub fn savepoint(&self) -> Result<Option<Savepoint>> {
        let mut state = self.lock_state();
        let Some(f) = &mut *state else {
            return Ok(None);
        };
        f.flush_buffer(&self.options)
            .map_err(|e| Error::io(&self.path, "writing buffered items", e))?;
        Ok(Some(Savepoint {
            growth: f.header.shape[f.axis],
            data_end: f.data_end,
        }))
    }

    /// Undoes every append made through this handle since `savepoint` (buffered items
    /// included): the header is rewritten to count only the items before it, then the file is
    /// cut back. The lock is held throughout, so no other writer can interleave.
    ///
    /// # Errors
    /// [`Error::BadSavepoint`] if `savepoint` does not come from this handle's file (it
    /// lies beyond the current end); [`Error::Io`] if the file cannot be rewritten or cut.
    pub fn rollback_to(&self, savepoint: Savepoint) -> Result<()> {
        if self.options.shared {
            return Err(Error::IncompatibleOptions {
                what: "rollback_to in shared mode: other writers may have appended after the \
                       savepoint",
            });
        }
        let mut state = self.lock_state();
        let Some(f) = &mut *state else {
            return Err(Error::BadSavepoint);
        };
        if savepoint.data_end > f.data_end
            || savepoint.data_end < f.header_len
            || savepoint.growth > f.header.shape[f.axis]
        {
            return Err(Error::BadSavepoint);
        }
        f.rollback_to(
            &self.path,
            savepoint.growth,
            savepoint.data_end,
            self.options.durability,
        )
    }

    /// Cuts the file back to its first `growth` items along the growth axis, buffered items
    /// dropped: [`rollback_to`](Self::rollback_to) a savepoint at that count. The ragged
    /// pair's repair and its undo of a record whose index entry failed use it.
    pub(crate) fn cut_to(&self, growth: u64) -> Result<()> {
        let data_end = self.lock_state().as_ref().and_then(|f| {
            let len = f.header.item_len()?.checked_mul(growth)?;
            len.checked_add(f.header_len)
        });
        let data_end = data_end.ok_or(Error::BadSavepoint)?;
        self.rollback_to(Savepoint { growth, data_end })
    }

    /// Writes buffered items to the file and, if header rewriting is on, updates the header.
    pub fn flush(&self) -> Result<()> {
        let mut state = self.lock_state();
        let Some(f) = &mut *state else {
            return Ok(());
        };
        f.flush_buffer(&self.options)
            .map_err(|e| Error::io(&self.path, "writing buffered items", e))
    }

    /// Writes buffered items and the header (whatever `rewrite_header_on_append` says), so
    /// that NumPy sees everything appended so far.
    pub fn update_header(&self) -> Result<()> {
        let mut state = self.lock_state();
        let Some(f) = &mut *state else {
            return Ok(());
        };
        self.in_turn(f, Turn::Check, |f| {
            f.flush_buffer(&self.options)
                .and_then(|()| f.publish(false))
                .map_err(|e| Error::io(&self.path, "updating the header", e))
        })?;
        check_still_linked(&f.file, &self.path)
    }

    /// Writes buffered items and the header, and forces both to stable storage (data first,
    /// then the header that counts it).
    pub fn sync(&self) -> Result<()> {
        let mut state = self.lock_state();
        let Some(f) = &mut *state else {
            return Ok(());
        };
        self.in_turn(f, Turn::Check, |f| {
            f.sync_all(&self.options)
                .map_err(|e| Error::io(&self.path, "syncing to stable storage", e))
        })?;
        check_still_linked(&f.file, &self.path)
    }

    /// Flushes buffered items, writes the final header, syncs as the durability setting asks,
    /// and releases the file. Errors here mean the last appends may not be counted.
    ///
    /// [`Error::FileChanged`] here (and from [`sync`](Self::sync) and
    /// [`update_header`](Self::update_header)) means the file this handle wrote has no name any
    /// more: it was deleted or replaced while open, and the appends are lost with it.
    pub fn close(self) -> Result<()> {
        self.finish()
    }

    /// [`close`](Self::close) without giving up the handle (for `drop`, and for the ragged
    /// pair, whose files close in order); a closed handle's state is that of a file not
    /// created yet, and closing it again does nothing.
    pub(crate) fn finish(&self) -> Result<()> {
        let mut state = self.lock_state();
        let Some(mut f) = state.take() else {
            return Ok(());
        };
        self.in_turn(&mut f, Turn::Check, |f| {
            let durable = self.options.durability != Durability::None;
            let result = if durable {
                f.sync_all(&self.options)
            } else {
                f.flush_buffer(&self.options).and_then(|()| {
                    if self.options.rewrite_header_on_append {
                        Ok(())
                    } else {
                        f.publish(false)
                    }
                })
            };
            // Reserved space is given back even if the steps above failed (the first error is
            // reported): it is past the data either way.
            let reserved = f.alloc_end != f.data_end;
            let released = f.release_reservation();
            result
                .and(released)
                .and_then(|()| {
                    if durable && reserved {
                        f.file.sync_data()
                    } else {
                        Ok(())
                    }
                })
                .map_err(|e| Error::io(&self.path, "closing", e))?;
            if self.options.shared {
                // The turn cut what killed writers left in flight; no block is in flight now.
                f.clear_mark(&self.path)?;
            }
            Ok(())
        })?;
        check_still_linked(&f.file, &self.path)
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated in a way that
        // matters: every mutation happens after the write it describes succeeded.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The one path every append takes: validate, create the file if needed, let `fill` write
    /// the data through a [`Sink`], then count it in the header — or roll back. The caller has
    /// checked the block with [`check_block`].
    fn append_with(
        &self,
        dtype: &Dtype,
        shape: &[u64],
        order_hint: Option<Order>,
        fill: impl FnOnce(&mut Sink<'_>, Order) -> Result<()>,
    ) -> Result<()> {
        let mut state = self.lock_state();
        // Whether the lock is held already: by the creation of the file (or the opening of
        // the one another writer created first), which is this append's turn in shared mode.
        let held = state.is_none();
        let f = match state.as_mut() {
            Some(f) => f,
            None => state.insert(Box::new(self.create_or_join(dtype, shape, order_hint)?)),
        };
        let turn = if held { Turn::Held } else { Turn::Append };
        self.in_turn(f, turn, |f| {
            if held && self.options.durability != Durability::None {
                // The file's name must survive a power loss as well as its data, and syncing
                // the file does not promise that (POSIX): sync the directory too, once.
                file::sync_parent_dir(&self.path)
                    .map_err(|e| Error::io(&self.path, "syncing the directory", e))?;
            }
            let plan = f.prepare(&self.path, dtype, shape, self.options.casting)?;
            let result = self.fill_and_commit(f, &plan, shape, fill);
            f.keep_cast(plan);
            // Rebuilding `Ok(())` rather than returning `result` saves moving the whole
            // (large) error type on the success path, measurable on tiny buffered appends.
            result?;
            Ok(())
        })
    }

    /// Creates the file for a first block of `dtype` and `shape`, locked; or, if another
    /// writer created it since this handle was opened, opens and locks that file, as if it
    /// had existed at open (waiting for that writer's lock as the options say).
    fn create_or_join(
        &self,
        dtype: &Dtype,
        shape: &[u64],
        order_hint: Option<Order>,
    ) -> Result<OpenFile> {
        let order = self.new_file_order(order_hint);
        let wait = self.options.lock_wait();
        let file = match OpenFile::create(&self.path, dtype, shape, order, wait) {
            Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::AlreadyExists => {
                let file = sys::open_rw(&self.path)
                    .map_err(|e| Error::io(&self.path, "opening for appending", e))?;
                let file = lock_waiting(file, &self.path, wait)?;
                let empty = sys::file_len(&file)
                    .map_err(|e| Error::io(&self.path, "reading file metadata", e))?
                    == 0;
                if self.options.shared && empty {
                    // Created the plain way by a writer that has not locked it yet.
                    return OpenFile::adopt_empty(file, &self.path, dtype, shape, order)
                        .map(OpenFile::shared);
                }
                OpenFile::existing(file, &self.path, self.options.shared)
            }
            created => created,
        }?;
        Ok(if self.options.shared {
            file.shared()
        } else {
            file
        })
    }

    /// Runs `op` on the open file. In shared mode, in a `turn`: with the file's lock, the
    /// handle brought up to date with what the other writers committed, and the lock released
    /// afterwards, whatever `op` did (a panic included). Otherwise, as it is: an exclusive
    /// handle holds the lock throughout.
    fn in_turn<R>(
        &self,
        f: &mut OpenFile,
        turn: Turn,
        op: impl FnOnce(&mut OpenFile) -> Result<R>,
    ) -> Result<R> {
        if !self.options.shared {
            return op(f);
        }
        match turn {
            Turn::Held => {}
            Turn::Append => f.take_turn(&self.path, self.options.lock_wait(), false)?,
            Turn::Check => f.take_turn(&self.path, self.options.lock_wait(), true)?,
        }
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| op(&mut *f)));
        let released = f.release(&self.path);
        match outcome {
            Ok(result) => {
                let value = result?;
                released?;
                Ok(value)
            }
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// [`append_with`](Self::append_with) once the block is validated.
    fn fill_and_commit(
        &self,
        f: &mut OpenFile,
        plan: &Prepared,
        shape: &[u64],
        fill: impl FnOnce(&mut Sink<'_>, Order) -> Result<()>,
    ) -> Result<()> {
        let rows = shape[f.axis];
        let dst_len = plan.dst_len;
        let file_order = f.header.order();
        let buffered =
            self.options.buffer_capacity > 0 && dst_len <= self.options.buffer_capacity as u64;
        if buffered && f.buffer.len() as u64 + dst_len > self.options.buffer_capacity as u64 {
            f.flush_buffer(&self.options)
                .map_err(|e| Error::io(&self.path, "writing buffered items", e))?;
        }
        if !buffered {
            f.flush_buffer(&self.options)
                .map_err(|e| Error::io(&self.path, "writing buffered items", e))?;
        }
        if !buffered && dst_len >= PREALLOCATE_FROM {
            // Best effort (a hint): where the file system cannot, or the disk is full, the
            // writes below go ahead, or fail, as they would have.
            let _ = sys::preallocate(&f.file, f.data_end, dst_len);
        }
        if self.options.shared {
            f.mark_in_flight(&self.path, dst_len)?;
        }
        let buffer_start = f.buffer.len();
        let mut sink = Sink {
            file: f,
            path: &self.path,
            plan: &plan.cast.1,
            buffered,
            window: self.options.mapping_window(),
            written: 0,
        };
        let filled = fill(&mut sink, file_order);
        let written = sink.written;
        let outcome = filled.and_then(|()| {
            if written == dst_len {
                Ok(())
            } else {
                Err(Error::ShortBlock {
                    path: self.path.clone(),
                    expected: dst_len,
                    written,
                })
            }
        });
        if let Err(e) = outcome {
            f.rollback(buffered, buffer_start);
            return Err(e);
        }
        if buffered {
            f.buffered_rows += rows;
            if f.buffer.len() >= self.options.buffer_capacity {
                f.flush_buffer(&self.options)
                    .map_err(|e| Error::io(&self.path, "writing buffered items", e))?;
            }
            return Ok(());
        }
        f.commit(rows, dst_len, &self.options)
            .map_err(|e| Error::io(&self.path, "updating the header", e))
    }
}

impl Drop for AppendArray {
    fn drop(&mut self) {
        // Best effort: errors cannot be reported from drop. Call `close` to see them.
        let _ = self.finish();
    }
}

/// What a shared-mode operation does to get its turn ([`AppendArray::in_turn`]).
#[derive(Clone, Copy, Debug)]
enum Turn {
    /// Nothing: the caller holds the lock already (it created or opened the file).
    Held,
    /// An append: take the lock, read the count (see `OpenFile::refresh`).
    Append,
    /// Take the lock, read the count and check the file's length, cutting a block a killed
    /// writer left in flight (closing, syncing, updating the header).
    Check,
}
