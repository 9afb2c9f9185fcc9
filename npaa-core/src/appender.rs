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
//! mapped into memory (shared with the page cache) and only the digits of the growth
//! dimension are stored, last digit first, so that a reader, or a file left behind by a killed
//! process, never sees a count larger than what is written (see `sys::HeaderMap`). When the
//! number of digits changes (at 10, 100, 1000, ... items) the header is rewritten with one
//! `pwrite`.
//!
//! # Mapped mode
//! With [`AppendOptions::mapped_window`], small appends cost no system call at all: space is
//! reserved past the data (allocated, then marked in the file's `user.npaa.reserved` extended
//! attribute, then added to the file's length in one step), mapped into memory, and each append
//! copies its bytes into the mapping before storing the header digits that count them. Closing
//! cuts the unused reserved space and removes the mark. A file left behind by a killed process
//! keeps its reserved space, which NumPy ignores (it reads only what the header counts); the
//! mark, which applies while the file is no longer than the length it records, tells
//! [`recover`](crate::recover()) and the next [`AppendArray::open`] that those bytes are not
//! data, and they cut them.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::cast::{CastPlan, Casting};
use crate::dtype::Dtype;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::file::{self, Locked, SourceFile, create_with_header, lock, read_header_of};
use crate::header::{Header, Leniency, Template, Version};
use crate::layout::{self, Order, Relayout};
use crate::progress::Progress;
use crate::sys::{self, DataMap, HeaderMap, ReadMap};

/// When appended data is forced to stable storage.
///
/// What survives a crash of the *process* does not depend on this setting: the header never
/// counts bytes that were not written, so the file always loads as a prefix of what was
/// appended. This setting is about a crash of the *machine* (power loss, kernel panic).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Durability {
    /// Never sync explicitly (what NumPy does). After a power loss, the file may hold any
    /// mixture of old and new pages: the header may count items whose bytes never reached the
    /// disk (they read as zeros or garbage) until `recover` is run.
    #[default]
    None,
    /// Sync data, then header, on [`AppendArray::close`] and [`AppendArray::sync`]. Everything
    /// appended before a successful close survives a power loss; appends after the last sync
    /// may be lost as with `None`.
    OnClose,
    /// Sync data and then the header on every append (`fdatasync` twice): a successful append
    /// survives a power loss. Slow: two disk flushes per append.
    EveryAppend,
    /// Sync whenever at least this many bytes were appended since the last sync. The header
    /// is advanced only at those sync points (after the data it counts is durable), so after
    /// a power loss the file loads as a prefix that ends at the last sync point; `recover`
    /// restores whatever later data did reach the disk.
    EveryBytes(u64),
}

/// Options for opening an [`AppendArray`].
///
/// ```
/// use npaa_core::{AppendOptions, Casting, Durability};
/// let options = AppendOptions::new()
///     .casting(Casting::Unsafe)
///     .durability(Durability::OnClose)
///     .buffer_capacity(1 << 20);
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
pub struct AppendOptions {
    delete_if_exists: bool,
    rewrite_header_on_append: bool,
    order: Option<Order>,
    casting: Casting,
    durability: Durability,
    buffer_capacity: usize,
    mapped_window: usize,
}

impl Default for AppendOptions {
    fn default() -> Self {
        AppendOptions {
            delete_if_exists: false,
            rewrite_header_on_append: true,
            order: None,
            casting: Casting::SameKind,
            durability: Durability::None,
            buffer_capacity: 0,
            mapped_window: 0,
        }
    }
}

impl AppendOptions {
    /// The defaults: keep an existing file, rewrite the header on every append, C order for
    /// new files, `same_kind` casting, no explicit syncs, no buffering.
    pub fn new() -> Self {
        Self::default()
    }

    /// Delete an existing file when opening, so the first append starts a new one. An existing
    /// file locked by another writer is not deleted ([`Error::Locked`]).
    pub fn delete_if_exists(mut self, yes: bool) -> Self {
        self.delete_if_exists = yes;
        self
    }

    /// Rewrite the header after every append (default true). When false, the header is
    /// written by [`AppendArray::update_header`], [`AppendArray::sync`] and on close only:
    /// until then NumPy sees the shape of the last header update.
    pub fn rewrite_header_on_append(mut self, yes: bool) -> Self {
        self.rewrite_header_on_append = yes;
        self
    }

    /// Memory order for a file created by the first append. Ignored for existing files (their
    /// header decides). Unset: C order, except that [`AppendArray::append_array`] follows the
    /// array's own layout.
    pub fn order(mut self, order: Order) -> Self {
        self.order = Some(order);
        self
    }

    /// Which dtype conversions appends may make (default [`Casting::SameKind`], as NumPy).
    pub fn casting(mut self, casting: Casting) -> Self {
        self.casting = casting;
        self
    }

    /// When data is forced to stable storage (default [`Durability::None`]).
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Coalesce appends in memory up to this many bytes (0, the default, disables it).
    ///
    /// Buffered items are **not on disk** until the buffer is flushed: when it is full, on
    /// [`AppendArray::flush`], [`AppendArray::sync`], [`AppendArray::update_header`] and on
    /// close. A crash loses them; the file still loads as a prefix of what was appended.
    /// Appends larger than the capacity bypass the buffer.
    pub fn buffer_capacity(mut self, bytes: usize) -> Self {
        self.buffer_capacity = bytes;
        self
    }

    /// Write small appends through a shared memory mapping of space reserved past the data,
    /// `bytes` at a time (0, the default, disables it). An append then costs a memory copy
    /// and the header update, no system call: several times faster than a `pwrite` for rows
    /// of a few hundred bytes. Blocks larger than an eighth of the window, and buffered
    /// appends, are written as usual. 1 MiB is a good window for rows of up to a few KiB.
    ///
    /// What a reader or a crash sees is the same as without it (the header counts only bytes
    /// already copied, and is updated after every append), except that
    /// while the handle is open, and after the process is killed, the file is longer than its
    /// data: the reserved space, marked in the file's `user.npaa.reserved` extended attribute.
    /// NumPy ignores it; [`recover`](crate::recover()) and the next
    /// [`AppendArray::open`] cut it, and so does [`close`](AppendArray::close). Copy such a
    /// file with its extended attributes (`cp -a`, `rsync -X`) or recover it first: without
    /// the mark, the reserved zeros look like data to `recover`.
    ///
    /// Mapped mode needs the header to count every append: with
    /// [`rewrite_header_on_append(false)`](Self::rewrite_header_on_append) or
    /// [`Durability::EveryBytes`], appends are written as usual (their uncounted bytes must
    /// stay recoverable). Where the file system cannot preallocate space or store user
    /// extended attributes (`fallocate`, `fsetxattr`), or the mapping fails, the handle
    /// silently goes on with positional writes. Like any memory-mapped file, a process that
    /// ignores the file's lock and truncates it while it is mapped makes the writer fault
    /// (SIGBUS).
    pub fn mapped_window(mut self, bytes: usize) -> Self {
        self.mapped_window = bytes;
        self
    }

    /// The window mapped mode uses, or 0 when it is off. It is off unless the header counts
    /// every append (header rewrite on, and no [`Durability::EveryBytes`], whose header lags
    /// behind on purpose): appended bytes the header does not count yet must stay
    /// recoverable data, and reserved space is cut, not recovered.
    fn mapping_window(&self) -> usize {
        if self.header_counts_every_append() {
            self.mapped_window
        } else {
            0
        }
    }

    /// False in the modes where appended bytes may stay uncounted by the header for a while
    /// (header rewrite off, [`Durability::EveryBytes`]): such bytes are data to `recover`.
    fn header_counts_every_append(&self) -> bool {
        self.rewrite_header_on_append && !matches!(self.durability, Durability::EveryBytes(_))
    }

    /// Opens `path` with these options: see [`AppendArray::open_with`].
    pub fn open(self, path: impl AsRef<Path>) -> Result<AppendArray> {
        AppendArray::open_with(path, self)
    }
}

/// Options for [`AppendArray::append_npy_file_with`]: a builder, as [`AppendOptions`] is.
///
/// ```
/// use npaa_core::{AppendArray, AppendFileOptions};
/// # let dir = tempfile::tempdir()?;
/// # let source = dir.path().join("chunk.npy");
/// # let chunk = AppendArray::open(&source)?;
/// # chunk.append(&[1.0f64, 2.0, 3.0], &[3])?;
/// # chunk.close()?;
/// let array = AppendArray::open(dir.path().join("all.npy"))?;
/// let mut copied = 0;
/// let options = AppendFileOptions::new().progress(|done, _total| copied = done);
/// assert_eq!(array.append_npy_file_with(&source, options)?, 3);
/// array.close()?;
/// assert_eq!(copied, 24);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct AppendFileOptions<'a> {
    progress: Progress<'a>,
}

impl<'a> AppendFileOptions<'a> {
    /// The defaults: no progress calls.
    pub fn new() -> Self {
        Self::default()
    }

    /// Call `progress(bytes_done, bytes_total)` (bytes of the source's data) as the copy
    /// advances.
    pub fn progress(mut self, progress: impl FnMut(u64, u64) + 'a) -> Self {
        self.progress = Progress::new(progress);
        self
    }
}

/// A .npy file open for appending.
///
/// `AppendArray` is `Send + Sync`: share one handle between threads (e.g. in an `Arc`) and
/// call [`append`](Self::append) from all of them. Appends to one handle are serialized; each
/// lands whole, in the order the calls took the handle's lock. Handles on different files do
/// not wait for each other.
///
/// Only one writer may have a file open: the handle holds an exclusive advisory lock
/// (`flock`) on it, and a second open fails with [`Error::Locked`]. Readers (NumPy) are not
/// affected.
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
}

/// A state of a file to return to: see [`AppendArray::savepoint`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Savepoint {
    growth: u64,
    data_end: u64,
}

#[derive(Debug)]
enum State {
    /// The file does not exist yet: the first append creates it.
    Pending,
    Open(Box<OpenFile>),
    Closed,
}

/// Items per conversion chunk: conversions never hold more than this many items at once.
const CHUNK_ITEMS: usize = 64 * 1024;

/// Header updates done with `pwrite` before the header is memory-mapped. Keeps short-lived
/// handles (open, append, close) from paying for a mapping they barely use.
const MAP_AFTER_WRITES: u32 = 2;

#[derive(Debug)]
struct OpenFile {
    header: Header,
    version: Version,
    header_len: u64,
    template: Template,
    axis: usize,
    /// File offset where the next data byte goes: header length plus data written.
    data_end: u64,
    /// Number of digits of the growth dimension in the header on disk, when that header is the
    /// template's rendering (then a count of as many digits is written over them in place);
    /// `None` while it is not (a header in another spelling, not rewritten yet).
    disk_digits: Option<usize>,
    /// Byte offset of those digits in the header (`Template::digits_offset`, computed once).
    digits_offset: usize,
    /// The conversion used by the last append and its source dtype: a run of appends of one
    /// dtype (the common case) reuses it instead of re-deriving the casting rules each time.
    /// Boxed so that taking it out and putting it back moves a pointer, not the plan.
    last_cast: Option<Box<(Dtype, CastPlan)>>,
    header_writes: u32,
    map: Option<HeaderMap>,
    /// Mapped mode: the mapping of the reserved space that small appends are copied into.
    window: Option<DataMap>,
    /// The file's length as this handle made it: `data_end`, or more while space is reserved
    /// past the data (mapped mode; the file's reservation mark then holds this value).
    alloc_end: u64,
    /// Set when reserving or mapping failed: the handle writes with `pwrite` from then on.
    mapping_failed: bool,
    buffer: Vec<u8>,
    buffered_rows: u64,
    unsynced: u64,
    scratch: Vec<u8>,
    /// Declared last so that it is dropped (unlocked where needed, and closed) after the
    /// mappings above, which hold the open file too.
    file: Locked,
}

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
        if let Durability::EveryBytes(0) = options.durability {
            return Err(Error::InvalidArgument(
                "Durability::EveryBytes needs a positive byte count".into(),
            ));
        }
        let forks = sys::fork_generation();
        let state = match sys::open_rw(&path) {
            Ok(file) => {
                let file = lock(file, &path, forks)?;
                if options.delete_if_exists {
                    std::fs::remove_file(&path)
                        .map_err(|e| Error::io(&path, "deleting the existing file", e))?;
                    State::Pending
                } else {
                    State::Open(Box::new(OpenFile::existing(file, &path, &options)?))
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => State::Pending,
            Err(e) => return Err(Error::io(&path, "opening for appending", e)),
        };
        Ok(AppendArray {
            path,
            options,
            state: Mutex::new(state),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current shape, buffered items included; `None` before the first append created the
    /// file.
    pub fn shape(&self) -> Option<Vec<u64>> {
        match &*self.lock_state() {
            State::Open(f) => {
                let mut shape = f.header.shape.clone();
                shape[f.axis] += f.buffered_rows;
                Some(shape)
            }
            State::Pending | State::Closed => None,
        }
    }

    /// The file's dtype; `None` before the first append created the file.
    pub fn dtype(&self) -> Option<Dtype> {
        match &*self.lock_state() {
            State::Open(f) => Some(f.header.dtype.clone()),
            State::Pending | State::Closed => None,
        }
    }

    /// The file's memory order; `None` before the first append created the file.
    pub fn order(&self) -> Option<Order> {
        match &*self.lock_state() {
            State::Open(f) => Some(f.header.order()),
            State::Pending | State::Closed => None,
        }
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
    /// A file created by this append takes its order from [`AppendOptions::order`], as with
    /// [`append_raw`](Self::append_raw), not from `order`.
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
        self.append_in_order(dtype, shape, order, data, None)
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
        let rows = header.growth_len();
        check_block(&header.dtype, &header.shape)?;
        self.append_with(
            &header.dtype,
            &header.shape,
            Some(order),
            |sink, file_order| match layout::relayout(&header.shape, order, file_order) {
                Relayout::AsIs => sink.copy_from(
                    &src.file,
                    source,
                    src.parsed.header_len,
                    src.data_len,
                    progress,
                ),
                Relayout::ReverseAxes => {
                    let start = src.parsed.header_len as usize;
                    let end =
                        usize::try_from(src.parsed.header_len + src.data_len).map_err(|_| {
                            Error::Overflow {
                                shape: header.shape.clone(),
                                itemsize: header.dtype.itemsize(),
                            }
                        })?;
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
            },
        )?;
        Ok(rows)
    }

    /// Checks that a block of this dtype and shape could be appended, without writing
    /// anything. For a file not created yet, only the block itself is checked.
    pub fn check_append(&self, dtype: &Dtype, shape: &[u64]) -> Result<()> {
        check_block(dtype, shape)?;
        match &mut *self.lock_state() {
            State::Open(f) => {
                let prepared = f.prepare(&self.path, dtype, shape, self.options.casting)?;
                f.keep_cast(prepared);
                Ok(())
            }
            State::Pending => Ok(()),
            State::Closed => Err(closed()),
        }
    }

    /// Marks the file's current state, buffered items flushed first, so that a group of
    /// appends can be undone with [`rollback_to`](Self::rollback_to). `None` before the first
    /// append created the file.
    pub fn savepoint(&self) -> Result<Option<Savepoint>> {
        let mut state = self.lock_state();
        let State::Open(f) = &mut *state else {
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
    /// [`Error::InvalidArgument`] if `savepoint` does not come from this handle's file (it
    /// lies beyond the current end); [`Error::Io`] if the file cannot be rewritten or cut.
    pub fn rollback_to(&self, savepoint: Savepoint) -> Result<()> {
        let mut state = self.lock_state();
        let State::Open(f) = &mut *state else {
            return Err(closed());
        };
        if savepoint.data_end > f.data_end
            || savepoint.data_end < f.header_len
            || savepoint.growth > f.header.shape[f.axis]
        {
            return Err(Error::InvalidArgument(
                "the savepoint lies beyond the file's current end".into(),
            ));
        }
        f.buffer.clear();
        f.buffered_rows = 0;
        f.header.shape[f.axis] = savepoint.growth;
        // Header first, then the cut: at every step the header counts no more than is written.
        // The cut also gives back reserved space (mapped mode), whose window goes first.
        f.window = None;
        let reserved = f.alloc_end != f.data_end;
        f.publish(false)
            .and_then(|()| {
                if reserved {
                    sys::unreserve(&f.file, savepoint.data_end)
                } else {
                    f.file.set_len(savepoint.data_end)
                }
            })
            .and_then(|()| match self.options.durability {
                Durability::None => Ok(()),
                _ => f.file.sync_data(),
            })
            .map_err(|e| Error::io(&self.path, "undoing appends", e))?;
        f.data_end = savepoint.data_end;
        f.alloc_end = savepoint.data_end;
        f.unsynced = 0;
        Ok(())
    }

    /// Writes buffered items to the file and, if header rewriting is on, updates the header.
    pub fn flush(&self) -> Result<()> {
        let mut state = self.lock_state();
        let State::Open(f) = &mut *state else {
            return Ok(());
        };
        f.flush_buffer(&self.options)
            .map_err(|e| Error::io(&self.path, "writing buffered items", e))
    }

    /// Writes buffered items and the header (whatever `rewrite_header_on_append` says), so
    /// that NumPy sees everything appended so far.
    pub fn update_header(&self) -> Result<()> {
        let mut state = self.lock_state();
        let State::Open(f) = &mut *state else {
            return Ok(());
        };
        f.flush_buffer(&self.options)
            .and_then(|()| f.publish(false))
            .map_err(|e| Error::io(&self.path, "updating the header", e))?;
        check_still_linked(&f.file, &self.path)
    }

    /// Writes buffered items and the header, and forces both to stable storage (data first,
    /// then the header that counts it).
    pub fn sync(&self) -> Result<()> {
        let mut state = self.lock_state();
        let State::Open(f) = &mut *state else {
            return Ok(());
        };
        f.sync_all(&self.options)
            .map_err(|e| Error::io(&self.path, "syncing to stable storage", e))?;
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

    fn finish(&self) -> Result<()> {
        let mut state = self.lock_state();
        let previous = std::mem::replace(&mut *state, State::Closed);
        let State::Open(mut f) = previous else {
            return Ok(());
        };
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
        if matches!(*state, State::Pending) {
            let order = self.options.order.or(order_hint).unwrap_or_default();
            let file = match OpenFile::create(&self.path, dtype, shape, order) {
                // Another writer created the file since this handle was opened: append to it
                // as if it had existed at open (or report that writer's lock).
                Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::AlreadyExists => {
                    let forks = sys::fork_generation();
                    let file = sys::open_rw(&self.path)
                        .map_err(|e| Error::io(&self.path, "opening for appending", e))?;
                    let file = lock(file, &self.path, forks)?;
                    OpenFile::existing(file, &self.path, &self.options)?
                }
                created => created?,
            };
            *state = State::Open(Box::new(file));
            if self.options.durability != Durability::None {
                // The file's name must survive a power loss as well as its data, and syncing
                // the file does not promise that (POSIX): sync the directory too, once.
                file::sync_parent_dir(&self.path)
                    .map_err(|e| Error::io(&self.path, "syncing the directory", e))?;
            }
        }
        let State::Open(f) = &mut *state else {
            return Err(closed());
        };
        let plan = f.prepare(&self.path, dtype, shape, self.options.casting)?;
        let result = self.fill_and_commit(f, &plan, shape, fill);
        f.keep_cast(plan);
        // Rebuilding `Ok(())` rather than returning `result` saves moving the whole (large)
        // error type on the success path, measurable on tiny buffered appends.
        result?;
        Ok(())
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

fn closed() -> Error {
    Error::InvalidArgument("the array was closed".into())
}

/// Checks what can be checked about a block without the file; returns its length in bytes.
fn check_block(dtype: &Dtype, shape: &[u64]) -> Result<u64> {
    if dtype.has_object() {
        return Err(Error::ObjectDtype {
            descr: dtype.descr(),
            path: None,
        });
    }
    if shape.is_empty() {
        return Err(Error::ZeroDimensional);
    }
    if let Dtype::Subarray(a) = dtype {
        // NumPy folds a top-level subarray into the array's shape: a header saying
        // `('<f8', (5,))` would be read as another array.
        return Err(Error::InvalidDtype {
            descr: dtype.descr(),
            reason: format!(
                "a subarray is only valid as a field's dtype; append its base {} with the \
                 subarray's shape {} as the block's last dimensions",
                a.base.descr(),
                crate::fmt_shape(&a.shape)
            ),
        });
    }
    block_len(dtype, shape)
}

/// Checks a raw block ([`check_block`]) and that `data` holds exactly its bytes.
fn check_data_len(dtype: &Dtype, shape: &[u64], data: &[u8]) -> Result<()> {
    let expected = check_block(dtype, shape)?;
    if data.len() as u64 != expected {
        return Err(Error::DataLength {
            shape: shape.to_vec(),
            itemsize: dtype.itemsize(),
            expected,
            got: data.len() as u64,
        });
    }
    Ok(())
}

/// Bytes of a block: itemsize × product(shape), checked.
fn block_len(dtype: &Dtype, shape: &[u64]) -> Result<u64> {
    shape
        .iter()
        .try_fold(dtype.itemsize() as u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::Overflow {
            shape: shape.to_vec(),
            itemsize: dtype.itemsize(),
        })
}

/// Fails with [`Error::FileChanged`] if `file` has no name any more: someone deleted it, or
/// replaced it (renamed another file over its path) while this handle was appending. The
/// appends then went to a file that no name reaches; a file now at the path is never touched.
/// Checked on update_header, sync and close (one `statx` of the open file), not on every
/// append.
fn check_still_linked(file: &File, path: &Path) -> Result<()> {
    match sys::link_count(file) {
        Ok(0) => Err(Error::FileChanged {
            path: path.to_path_buf(),
            what: "the file was deleted or replaced while open: what was appended went to the \
                   old file, which no name reaches any more, and a file now at this path was \
                   not touched"
                .to_owned(),
        }),
        Ok(_) => Ok(()),
        Err(e) => Err(Error::io(
            path,
            "checking that the file still has a name",
            e,
        )),
    }
}

/// A block validated against the file: the conversion to apply and the bytes it will write.
struct Prepared {
    /// The block's dtype and the conversion to the file's, kept for [`OpenFile::last_cast`].
    cast: Box<(Dtype, CastPlan)>,
    dst_len: u64,
}

/// Where [`AppendArray::append_with`]'s fill function writes the block's bytes.
pub(crate) struct Sink<'a> {
    file: &'a mut OpenFile,
    path: &'a Path,
    plan: &'a CastPlan,
    buffered: bool,
    /// [`AppendOptions::mapped_window`]: 0, or the size of the reservations small writes are
    /// copied into.
    window: usize,
    /// Bytes written so far, in the file's dtype.
    written: u64,
}

impl Sink<'_> {
    /// Writes whole items in the block's dtype.
    fn write(&mut self, src: &[u8]) -> Result<()> {
        let src_size = self.plan.src_itemsize();
        if src_size == 0 || src.is_empty() {
            return Ok(());
        }
        if !src.len().is_multiple_of(src_size) {
            return Err(Error::InvalidArgument(format!(
                "{} bytes is not a whole number of {src_size}-byte items",
                src.len()
            )));
        }
        if self.plan.is_identity() {
            return self.put(src);
        }
        let dst_size = self.plan.dst_itemsize();
        let mut scratch = std::mem::take(&mut self.file.scratch);
        let mut result = Ok(());
        for chunk in src.chunks(CHUNK_ITEMS * src_size) {
            let n = chunk.len() / src_size;
            scratch.resize(n * dst_size, 0);
            self.plan.convert(chunk, &mut scratch);
            result = self.put(&scratch);
            if result.is_err() {
                break;
            }
        }
        self.file.scratch = scratch;
        result
    }

    /// Writes `len` bytes of `src` starting at `offset` (data in the block's dtype).
    fn copy_from(
        &mut self,
        src: &File,
        src_path: &Path,
        offset: u64,
        len: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<()> {
        if self.plan.is_identity() && !self.buffered {
            let at = self.file.data_end + self.written;
            sys::copy_range(src, offset, &self.file.file, at, len, &mut |done| {
                progress(done, len)
            })
            .map_err(|e| Error::io(self.path, "copying data", e))?;
            self.written += len;
            return Ok(());
        }
        let step = (CHUNK_ITEMS * self.plan.src_itemsize().max(1)) as u64;
        let mut buf = vec![0u8; len.min(step) as usize];
        let mut done = 0u64;
        while done < len {
            let n = (len - done).min(step) as usize;
            src.read_exact_at(&mut buf[..n], offset + done)
                .map_err(|e| Error::io(src_path, "reading data", e))?;
            self.write(&buf[..n])?;
            done += n as u64;
            progress(done, len);
        }
        Ok(())
    }

    /// Writes bytes already in the file's dtype.
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        let at = self.file.data_end + self.written;
        if self.buffered {
            self.file.buffer.extend_from_slice(bytes);
        } else if !self.file.write_mapped(bytes, at, self.window) {
            self.file
                .file
                .write_all_at(bytes, at)
                .map_err(|e| Error::io(self.path, "writing data", e))?;
        }
        self.written += bytes.len() as u64;
        Ok(())
    }
}

impl OpenFile {
    /// Reads and checks the header of an existing file, locked by the caller, for a handle
    /// with `options`.
    fn existing(file: Locked, path: &Path, options: &AppendOptions) -> Result<Self> {
        let len = sys::file_len(&file).map_err(|e| Error::io(path, "reading file metadata", e))?;
        let (parsed, template) = read_header_of(&file, path, Leniency::Strict, len)?;
        // The header on disk is the template's rendering when the template comes from its text.
        let disk_is_template = template.is_some();
        let header = parsed.header;
        let axis = file::growth_axis_of(path, &header)?;
        let template = template.unwrap_or_else(|| header.template());
        let needed = template.appendable_len(parsed.version);
        if needed > parsed.header_len {
            return Err(Error::NotAppendable {
                path: path.to_path_buf(),
                needed,
                available: parsed.header_len,
            });
        }
        let expected = header
            .data_len()
            .map_err(|kind| Error::format(path, kind))?;
        let present = len - parsed.header_len;
        let mut len = len;
        if present != expected {
            if present > expected && sys::is_reserved(&file, parsed.header_len + expected, len) {
                // Space reserved by a mapped-mode writer that was killed: not data. This handle
                // holds the lock, so that writer is gone; cut it.
                len = parsed.header_len + expected;
                sys::unreserve(&file, len)
                    .map_err(|e| Error::io(path, "cutting space reserved by a killed writer", e))?;
            } else {
                return Err(Error::NeedsRecovery {
                    path: path.to_path_buf(),
                    expected,
                    present,
                });
            }
        }
        if !options.header_counts_every_append() {
            // A stale reservation mark (its writer killed between cutting the space and
            // removing the mark) must not make this handle's uncounted bytes look reserved
            // after a crash. Best effort: only a file system that cannot remove attributes
            // fails here, and it cannot set them either.
            let _ = sys::clear_reserved_mark(&file);
        }
        let disk_digits = disk_is_template.then(|| crate::fmt::decimal_len(header.growth_len()));
        Ok(OpenFile {
            file,
            version: parsed.version,
            header_len: parsed.header_len,
            digits_offset: template.digits_offset(parsed.version),
            template,
            axis,
            data_end: len,
            disk_digits,
            last_cast: None,
            header_writes: 0,
            map: None,
            window: None,
            alloc_end: len,
            mapping_failed: false,
            buffer: Vec::new(),
            buffered_rows: 0,
            unsynced: 0,
            scratch: Vec::new(),
            header,
        })
    }

    fn create(path: &Path, dtype: &Dtype, shape: &[u64], order: Order) -> Result<Self> {
        let fortran_order = order == Order::Fortran && shape.len() > 1;
        let mut header = Header {
            dtype: dtype.clone(),
            fortran_order,
            shape: shape.to_vec(),
        };
        let axis = header.growth_axis().unwrap_or(0);
        header.shape[axis] = 0;
        let bytes = header.to_npy_bytes();
        let file = create_with_header(path, &bytes)?;
        let parsed_len = bytes.len() as u64;
        let version = match bytes[6] {
            1 => Version::V1,
            2 => Version::V2,
            _ => Version::V3,
        };
        let template = header.template();
        Ok(OpenFile {
            file,
            version,
            header_len: parsed_len,
            digits_offset: template.digits_offset(version),
            template,
            axis,
            data_end: parsed_len,
            disk_digits: Some(1),
            last_cast: None,
            header_writes: 1,
            map: None,
            window: None,
            alloc_end: parsed_len,
            mapping_failed: false,
            buffer: Vec::new(),
            buffered_rows: 0,
            unsynced: 0,
            scratch: Vec::new(),
            header,
        })
    }

    /// Validates a block against the file at `path`. Give the plan back with
    /// [`Self::keep_cast`].
    fn prepare(
        &mut self,
        path: &Path,
        dtype: &Dtype,
        shape: &[u64],
        casting: Casting,
    ) -> Result<Prepared> {
        let file_shape = &self.header.shape;
        if shape.len() != file_shape.len() {
            return Err(Error::ShapeMismatch {
                path: path.to_path_buf(),
                file: file_shape.clone(),
                block: shape.to_vec(),
                reason: "the number of dimensions differs",
            });
        }
        let others_match = shape
            .iter()
            .zip(file_shape)
            .enumerate()
            .all(|(i, (a, b))| i == self.axis || a == b);
        if !others_match {
            return Err(Error::ShapeMismatch {
                path: path.to_path_buf(),
                file: file_shape.clone(),
                block: shape.to_vec(),
                reason: if self.header.fortran_order {
                    "all dimensions but the last (the growth axis of a Fortran-order file) must match"
                } else {
                    "all dimensions but the first (the growth axis of a C-order file) must match"
                },
            });
        }
        // `casting` and the file's dtype are fixed for the life of the handle, so the plan
        // depends on the block's dtype only.
        let cast = match self.last_cast.take() {
            Some(cached) if cached.0 == *dtype => cached,
            _ => Box::new((
                dtype.clone(),
                CastPlan::new(dtype, &self.header.dtype, casting).map_err(|e| e.in_file(path))?,
            )),
        };
        let items = shape.iter().product::<u64>();
        let overflow = || Error::Overflow {
            shape: shape.to_vec(),
            itemsize: self.header.dtype.itemsize(),
        };
        let dst_len = items
            .checked_mul(cast.1.dst_itemsize() as u64)
            .ok_or_else(overflow)?;
        let grown = self.header.shape[self.axis]
            .checked_add(self.buffered_rows)
            .and_then(|g| g.checked_add(shape[self.axis]))
            .ok_or_else(overflow)?;
        self.header
            .shape
            .iter()
            .enumerate()
            .try_fold(self.header.dtype.itemsize() as u64, |acc, (i, &d)| {
                acc.checked_mul(if i == self.axis { grown } else { d })
            })
            .and_then(|n| n.checked_add(self.header_len))
            .ok_or_else(overflow)?;
        Ok(Prepared { cast, dst_len })
    }

    /// Keeps the conversion of a prepared block for the next append.
    fn keep_cast(&mut self, prepared: Prepared) {
        self.last_cast = Some(prepared.cast);
    }

    /// Undoes the bytes of a failed append: the file goes back to its previous length.
    fn rollback(&mut self, buffered: bool, buffer_start: usize) {
        if buffered {
            self.buffer.truncate(buffer_start);
        } else {
            self.drop_unwritten();
        }
    }

    /// Cuts bytes written past the data by a failed write, keeping the reserved space (which
    /// a live mapping may cover). Best effort: if even this fails, the extra bytes are beyond
    /// what the header counts, NumPy ignores them and `recover` removes them.
    fn drop_unwritten(&mut self) {
        let _ = self.file.set_len(self.data_end.max(self.alloc_end));
    }

    /// Mapped mode: copies `bytes` to file offset `at` (the end of the data) through the
    /// mapping of reserved space, reserving and mapping a new window of `window` bytes when the
    /// current one is too small. Returns false when the caller must `pwrite` them instead:
    /// mapped mode off, a block larger than an eighth of the window, or reserving or mapping
    /// failed (then the handle stays with `pwrite`).
    fn write_mapped(&mut self, bytes: &[u8], at: u64, window: usize) -> bool {
        if window == 0 || bytes.len() > window / 8 || self.mapping_failed {
            return false;
        }
        if let Some(map) = &mut self.window
            && map.write_at(bytes, at)
        {
            return true;
        }
        match self.remap(at, window) {
            Ok(map) => map.write_at(bytes, at),
            Err(_) => {
                self.mapping_failed = true;
                // Give back whatever was reserved, but not the bytes this append may already
                // have written before `at` (a block converted in chunks). Best effort: space
                // left reserved is cut by the next open or `recover`.
                self.window = None;
                let _ = sys::unreserve(&self.file, at);
                self.alloc_end = self.data_end;
                false
            }
        }
    }

    /// Replaces the window with one of `window` bytes from `at`, newly reserved.
    fn remap(&mut self, at: u64, window: usize) -> io::Result<&mut DataMap> {
        // The old window goes first: the file may not shrink below a live mapping.
        self.window = None;
        // Unused space of the previous reservation is cut before the next is marked: the mark
        // must equal the file's length whenever space is reserved.
        if self.alloc_end > at {
            self.file.set_len(at)?;
            self.alloc_end = at;
        }
        let end = at
            .checked_add(window as u64)
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        sys::reserve(&self.file, self.alloc_end, end)?;
        self.alloc_end = end;
        Ok(self.window.insert(DataMap::new(&self.file, at, window)?))
    }

    /// Gives back reserved space past the data: drops the window, cuts the file to the data's
    /// end and removes the reservation mark. Does nothing when nothing is reserved.
    fn release_reservation(&mut self) -> io::Result<()> {
        self.window = None;
        if self.alloc_end == self.data_end {
            return Ok(());
        }
        sys::unreserve(&self.file, self.data_end)?;
        self.alloc_end = self.data_end;
        Ok(())
    }

    /// Counts `rows` just written (`bytes` long) and updates the header as the options say.
    fn commit(&mut self, rows: u64, bytes: u64, options: &AppendOptions) -> io::Result<()> {
        let before = self.data_end;
        let alloc_before = self.alloc_end;
        self.data_end += bytes;
        // A pwrite may have taken the file past the reserved space.
        self.alloc_end = self.alloc_end.max(self.data_end);
        self.header.shape[self.axis] += rows;
        let Err((error, header_counts_them)) = self.after_write(bytes, options) else {
            return Ok(());
        };
        self.data_end = before;
        self.alloc_end = alloc_before;
        self.header.shape[self.axis] -= rows;
        // When the sync after the header update failed, the header on disk already counts the
        // new rows: write the old count back before cutting them off, so that the file is never
        // shorter than its header says. If even that fails, keep the rows (all there, counted).
        if !header_counts_them || self.publish(false).is_ok() {
            self.drop_unwritten();
        }
        Err(error)
    }

    /// Updates the header and syncs as the options say. On failure, also tells whether the
    /// header on disk may already count the rows just written.
    fn after_write(
        &mut self,
        bytes: u64,
        options: &AppendOptions,
    ) -> Result<(), (io::Error, bool)> {
        let before_header = |e| (e, false);
        let after_header = |e| (e, true);
        match options.durability {
            Durability::None | Durability::OnClose => {
                if options.rewrite_header_on_append {
                    self.publish(true).map_err(before_header)?;
                }
            }
            Durability::EveryAppend => {
                self.file.sync_data().map_err(before_header)?;
                if options.rewrite_header_on_append {
                    self.publish(false).map_err(before_header)?;
                    self.file.sync_data().map_err(after_header)?;
                }
            }
            Durability::EveryBytes(n) => {
                self.unsynced += bytes;
                if self.unsynced >= n {
                    self.file.sync_data().map_err(before_header)?;
                    if options.rewrite_header_on_append {
                        self.publish(false).map_err(before_header)?;
                        self.file.sync_data().map_err(after_header)?;
                    }
                    self.unsynced = 0;
                }
            }
        }
        Ok(())
    }

    /// Writes the buffered items to the file and counts them.
    fn flush_buffer(&mut self, options: &AppendOptions) -> io::Result<()> {
        if self.buffer.is_empty() && self.buffered_rows == 0 {
            return Ok(());
        }
        if let Err(e) = self.file.write_all_at(&self.buffer, self.data_end) {
            // Keep the buffer: nothing the user appended is dropped; a later flush may succeed.
            self.drop_unwritten();
            return Err(e);
        }
        let bytes = self.buffer.len() as u64;
        let rows = self.buffered_rows;
        self.commit(rows, bytes, options)?;
        self.buffer.clear();
        self.buffered_rows = 0;
        Ok(())
    }

    /// Flushes, then makes data and header durable, in that order.
    fn sync_all(&mut self, options: &AppendOptions) -> io::Result<()> {
        self.flush_buffer(options)?;
        self.file.sync_data()?;
        self.publish(false)?;
        self.file.sync_data()?;
        self.unsynced = 0;
        Ok(())
    }

    /// Writes the current shape into the header on disk. When the digit count is unchanged,
    /// only the digits are written, in place (with `fast`, by a memory store once the header
    /// is mapped); otherwise the whole header.
    fn publish(&mut self, fast: bool) -> io::Result<()> {
        let growth = self.header.shape[self.axis];
        let mut buf = [0u8; 20];
        let digits = crate::fmt::digits(growth, &mut buf);
        let in_place = self.disk_digits == Some(digits.len());
        if in_place
            && fast
            && let Some(map) = &mut self.map
            && map.store_descending(self.digits_offset, digits)
        {
            return Ok(());
        }
        // A write that fails may leave the header half written: until one succeeds, the next
        // update writes all of it.
        self.disk_digits = None;
        if in_place {
            self.file.write_all_at(digits, self.digits_offset as u64)?;
        } else {
            self.write_whole_header(growth)?;
        }
        self.disk_digits = Some(digits.len());
        self.header_writes = self.header_writes.saturating_add(1);
        if fast && self.map.is_none() && self.header_writes >= MAP_AFTER_WRITES {
            // If mapping fails (unusual file system), keep using pwrite.
            self.map = usize::try_from(self.header_len)
                .ok()
                .and_then(|len| HeaderMap::new(&self.file, len).ok());
        }
        Ok(())
    }

    /// Renders the header for `growth` and writes it over the one on disk.
    fn write_whole_header(&self, growth: u64) -> io::Result<()> {
        /// Headers up to this long (`np.save` writes 128 bytes for most arrays) are rendered
        /// on the stack.
        const ON_STACK: usize = 512;
        let no_room = || io::Error::other("the new shape no longer fits in the header");
        let total = usize::try_from(self.header_len).map_err(|_| no_room())?;
        let mut stack = [0u8; ON_STACK];
        let mut heap = Vec::new();
        let bytes = match stack.get_mut(..total) {
            Some(bytes) => bytes,
            None => {
                heap.resize(total, 0);
                &mut heap[..]
            }
        };
        if !self.template.render_into(growth, self.version, bytes) {
            return Err(no_room());
        }
        self.file.write_all_at(bytes, 0)
    }
}
