//! Collective appends: [`Collective`], one writer's side of a session in which many writers
//! (MPI ranks) grow one file in steps.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use super::open_file::MARK_WINDOW;
use super::{
    AppendOptions, BlockTarget, Durability, OpenFile, Order, check_block, check_data_len,
    open_existing,
};
use crate::cast::CastPlan;
use crate::dtype::Dtype;
use crate::error::{CollectiveError, Error, Result};
use crate::header::Header;
use crate::layout::MAX_DIMS;
use crate::{file, sys};

/// What every writer knows of the file: its header (the shape counts the steps committed so
/// far), where the data ends, and the root's options that shape every step.
///
/// [`Collective::layout`] encodes it as bytes for the transport; [`Collective::set_layout`]
/// decodes them.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Layout {
    /// `None` until the first step's block on the root defined the file.
    file: Option<FileLayout>,
    casting: crate::Casting,
    durability: Durability,
    rewrite_header_on_append: bool,
    fortran_for_new: bool,
    /// Bytes committed since the data was last synced ([`Durability::EveryBytes`]).
    unsynced: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct FileLayout {
    header: Header,
    axis: usize,
    header_len: u64,
    data_end: u64,
}

/// One writer's side of a collective append session.
///
/// Collective appends: a group of writers (the ranks of an MPI job) growing one file together,
/// step after step, each step holding one block per writer, laid out in writer order.
///
/// npaa-core holds every format rule of collective appends; the transport (who sends what
/// to whom, and the parallel writes of the data) belongs to the caller, which makes no
/// decision of its own. Every writer has a [`Collective`]; exactly one, the *root*, opened the
/// file: it holds the file's lock for the whole session, creates the file, marks each step's
/// extent and writes the header. The others hold the file's [`layout`](Collective::layout)
/// (sent by the root) to validate and convert their blocks.
///
/// # One step
/// 1. Every writer calls [`prepare`](Collective::prepare) on its block (validation and
///    conversion to the file's dtype, nothing written). If any writer's block is refused, the
///    step ends there on every writer: nothing is written.
/// 2. The writers agree on the byte counts; writer `r` writes at
///    [`data_end`](Collective::data_end) plus the bytes of writers `0..r`.
/// 3. The root calls [`begin_step`](Collective::begin_step) with the step's total bytes:
///    it creates the file if needed and sets the file's reservation mark to the step's end.
///    **No writer may write before this returned on the root.**
/// 4. Every writer writes its bytes. Then, if [`sync_due`](Collective::sync_due) says so,
///    the data is forced to stable storage.
/// 5. Once every writer's data is written, every writer calls
///    [`commit`](Collective::commit); on the root it rewrites the header.
///
/// # Why a crash never counts a hole
/// Writers finish their writes in any order: a writer killed in step 4 can leave a file
/// whose later blocks are written while earlier ones are not (holes, which read as zeros).
/// The header only counts a step after all of its data is written (step 5), so NumPy never
/// reads a hole. Before anyone writes, the root ends the file with the reservation mark of
/// mapped mode (24 bytes past the step's end, see
/// [`AppendOptions::mapped_window`](crate::AppendOptions::mapped_window)): every byte past the
/// header's count lies below it, so [`recover`](crate::recover()) and the next open treat
/// those bytes as reserved space and cut them instead of counting them as items. Closing cuts
/// the file to its data, and the mark with it. The mark is in the file's bytes, so any file
/// system will do.
/// Where the options defer the header (`rewrite_header_on_append(false)`,
/// [`Durability::EveryBytes`] between sync points), the steps it does not count yet lie under
/// the mark too and are cut as well: collective appends never restore uncounted bytes, which
/// may hold holes.
///
/// ```
/// use npaa_core::{AppendOptions, Collective, Dtype};
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("steps.npy");
/// // Two writers in one process; in an MPI job each rank has one, rank 0 the root.
/// let options = AppendOptions::new();
/// let mut root = Collective::open_root(&path, &options)?;
/// let mut other = Collective::open_peer(&path, &options)?;
/// let f8 = Dtype::parse("<f8")?;
/// root.define(&f8, &[1, 2])?;
/// other.set_layout(&root.layout())?;
/// let (a, b) = ([1.0f64, 2.0], [3.0f64, 4.0, 5.0, 6.0]);
/// let (bytes_a, rows_a) = {
///     let (data, items) = root.prepare(&f8, &[1, 2], bytemuck::cast_slice(&a))?;
///     (data.to_vec(), items)
/// };
/// let (bytes_b, rows_b) = {
///     let (data, items) = other.prepare(&f8, &[2, 2], bytemuck::cast_slice(&b))?;
///     (data.to_vec(), items)
/// };
/// let start = root.data_end().unwrap();
/// let total = (bytes_a.len() + bytes_b.len()) as u64;
/// root.begin_step(total)?;
/// // The transport writes each block at its offset (here: plain positional writes).
/// use std::os::unix::fs::FileExt;
/// let file = std::fs::OpenOptions::new().write(true).open(&path)?;
/// file.write_all_at(&bytes_a, start)?;
/// file.write_all_at(&bytes_b, start + bytes_a.len() as u64)?;
/// let due = root.sync_due(total);
/// assert!(!due && !other.sync_due(total));
/// root.commit(rows_a + rows_b, total, due)?;
/// other.commit(rows_a + rows_b, total, due)?;
/// root.close()?;
/// assert_eq!(npaa_core::inspect(&path)?.header.shape(), [3, 2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Collective {
    /// The root's open file (`None` on the other writers, and on the root until the file
    /// exists).
    file: Option<Box<OpenFile>>,
    /// The root's path; `None` on the other writers.
    path: Option<PathBuf>,
    /// The file's path as every writer names it, for errors.
    name: PathBuf,
    layout: Layout,
    /// The conversion of the last block and its dtype, reused by the next.
    last_cast: Option<Box<(Dtype, CastPlan)>>,
    /// Converted bytes of the last block when its dtype differs from the file's.
    scratch: Vec<u8>,
    /// The end of the extent the file's reservation mark covers, as every writer knows it
    /// (0 before the first mark): steps that end within it need no new mark.
    marked_end: u64,
}

impl Collective {
    /// The root's side: opens `path` as [`AppendArray::open_with`](crate::AppendArray::open_with)
    /// would (same checks, same errors; the lock is held until [`close`](Self::close)); a file
    /// that does not exist is created by the first step, from the root's block.
    ///
    /// # Errors
    /// Those of [`AppendArray::open`](crate::AppendArray::open); [`Error::Collective`]
    /// for options that writers on several machines cannot share (see
    /// [`open_peer`](Self::open_peer)).
    pub fn open_root(path: impl AsRef<Path>, options: &AppendOptions) -> Result<Self> {
        let path = path.as_ref();
        check_options(options)?;
        let file = open_existing(path, options)?.file;
        let layout = Layout {
            file: file.as_deref().map(|f| FileLayout {
                header: f.header.clone(),
                axis: f.axis,
                header_len: f.header_len,
                data_end: f.data_end,
            }),
            casting: options.casting,
            durability: options.durability,
            rewrite_header_on_append: options.rewrite_header_on_append,
            fortran_for_new: options.order == Some(Order::Fortran),
            unsynced: 0,
        };
        Ok(Collective {
            file,
            path: Some(path.to_path_buf()),
            name: path.to_path_buf(),
            layout,
            last_cast: None,
            scratch: Vec::new(),
            marked_end: 0,
        })
    }

    /// The side of every other writer: no file access (`path`, the file all writers append
    /// to, only names it in errors). Its layout comes from the root
    /// ([`set_layout`](Self::set_layout)); `options` are only checked, the root's apply.
    ///
    /// # Errors
    /// [`Error::Collective`] for options collective appends refuse: a mapped window
    /// ([`AppendOptions::mapped_window`]) or a buffer
    /// ([`AppendOptions::buffer_capacity`]), which would keep one writer's items out of the
    /// step they belong to, and `Durability::EveryBytes(0)`.
    pub fn open_peer(path: impl AsRef<Path>, options: &AppendOptions) -> Result<Self> {
        check_options(options)?;
        Ok(Collective {
            file: None,
            path: None,
            name: path.as_ref().to_path_buf(),
            layout: Layout {
                file: None,
                casting: options.casting,
                durability: options.durability,
                rewrite_header_on_append: options.rewrite_header_on_append,
                fortran_for_new: options.order == Some(Order::Fortran),
                unsynced: 0,
            },
            last_cast: None,
            scratch: Vec::new(),
            marked_end: 0,
        })
    }

    /// True once the file's dtype and shape are known: it existed when the root opened it, or
    /// a block [`define`](Self::define)d it.
    pub fn is_defined(&self) -> bool {
        self.layout.file.is_some()
    }

    /// The file's memory order once it is defined (see [`is_defined`](Self::is_defined)):
    /// every writer's blocks are laid out in it.
    pub fn order(&self) -> Option<Order> {
        self.layout.file.as_ref().map(|f| f.header.order)
    }

    /// Defines a file that does not exist yet from a block of `dtype` and `shape` (the root's
    /// first block, which the other writers' first blocks must then match): its dtype, its
    /// dimensions but the growth axis, and its order (the root's
    /// [`AppendOptions::order`]). Nothing is written; the root creates the file in
    /// [`begin_step`](Self::begin_step).
    ///
    /// # Errors
    /// [`CollectiveError::AlreadyDefined`] if the file is already defined; the block errors of
    /// [`AppendArray::append_raw`](crate::AppendArray::append_raw) (object dtype, 0-d block,
    /// overflow).
    pub fn define(&mut self, dtype: &Dtype, shape: &[u64]) -> Result<()> {
        if self.layout.file.is_some() {
            return Err(Error::Collective(CollectiveError::AlreadyDefined));
        }
        check_block(dtype, shape)?;
        let order = Order::from_fortran(self.layout.fortran_for_new);
        let header = Header::for_new_file(dtype.clone(), order, shape)?;
        let axis = header.growth_axis().unwrap_or(0);
        let header_len = header.to_npy_bytes().len() as u64;
        self.layout.file = Some(FileLayout {
            header,
            axis,
            header_len,
            data_end: header_len,
        });
        Ok(())
    }

    /// The layout as bytes, for the transport to send to the other writers'
    /// [`set_layout`](Self::set_layout): the file's header fields, where its data ends, and
    /// the root's casting and durability options.
    pub fn layout(&self) -> Vec<u8> {
        self.layout.encode()
    }

    /// Replaces this writer's layout with the root's ([`layout`](Self::layout)).
    ///
    /// # Errors
    /// [`CollectiveError::MalformedLayout`] if `bytes` are not a layout from this version of
    /// npaa.
    pub fn set_layout(&mut self, bytes: &[u8]) -> Result<()> {
        self.layout =
            Layout::decode(bytes).ok_or(Error::Collective(CollectiveError::MalformedLayout))?;
        self.last_cast = None;
        Ok(())
    }

    /// Validates this writer's block of the step (`data` holds `shape`'s items of `dtype`, in
    /// the file's memory order) and converts it to the file's dtype, writing nothing.
    /// Returns the bytes to write (`data` itself when no conversion is needed; otherwise
    /// valid until the next call) and the block's length along the growth axis. Blocks of 0
    /// items are fine.
    ///
    /// # Errors
    /// Those of [`AppendArray::append_raw`](crate::AppendArray::append_raw) for the block
    /// (shape, dtype, casting, length); [`Error::Collective`] before the file is
    /// defined.
    pub fn prepare<'a>(
        &'a mut self,
        dtype: &Dtype,
        shape: &[u64],
        data: &'a [u8],
    ) -> Result<(Cow<'a, [u8]>, u64)> {
        check_data_len(dtype, shape, data)?;
        let Some(file) = &self.layout.file else {
            return Err(undefined());
        };
        let target = BlockTarget {
            path: &self.name,
            header: &file.header,
            axis: file.axis,
            header_len: file.header_len,
            pending_rows: 0,
        };
        let prepared = target.prepare(self.last_cast.take(), dtype, shape, self.layout.casting)?;
        let items = shape[file.axis];
        let plan = &prepared.cast.1;
        let bytes = if plan.is_identity() {
            Cow::Borrowed(data)
        } else {
            let len = usize::try_from(prepared.dst_len).map_err(|_| Error::Overflow {
                shape: shape.to_vec(),
                itemsize: plan.dst_itemsize(),
            })?;
            self.scratch.clear();
            self.scratch.resize(len, 0);
            plan.convert(data, &mut self.scratch);
            Cow::Borrowed(&self.scratch[..])
        };
        self.last_cast = Some(prepared.cast);
        Ok((bytes, items))
    }

    /// Where the next step's data starts (the end of the committed data); `None` before the
    /// file is defined.
    pub fn data_end(&self) -> Option<u64> {
        self.layout.file.as_ref().map(|f| f.data_end)
    }

    /// Whether the step of `bytes` (all writers' together) ends past the extent the
    /// reservation mark covers (always true for the first step): then the root must call
    /// [`begin_step`](Self::begin_step) before any writer writes the step, and the writers
    /// wait for it. Every writer gets the same answer.
    pub fn step_needs_mark(&self, bytes: u64) -> bool {
        self.layout
            .file
            .as_ref()
            .is_none_or(|f| f.data_end.saturating_add(bytes) > self.marked_end)
    }

    /// Before any writer writes a step of `bytes` that [`step_needs_mark`](Self::step_needs_mark):
    /// on the root, creates the file if it does not exist yet, then sets its reservation mark
    /// past the step's end (by a window of 16 MiB, which the next steps may fill without a new
    /// mark); the other writers call it after the root's call succeeded, to know the mark.
    ///
    /// # Errors
    /// [`CollectiveError::Undefined`] before the file is defined; creation errors
    /// ([`Error::Io`], [`Error::Locked`] if another writer created the file meanwhile);
    /// [`Error::Io`] if the mark cannot be set. Nothing was written then.
    pub fn begin_step(&mut self, bytes: u64) -> Result<()> {
        let Some(layout) = &self.layout.file else {
            return Err(undefined());
        };
        let end = layout
            .data_end
            .checked_add(bytes)
            .ok_or(Error::Collective(CollectiveError::StepOverflow { bytes }))?;
        let marked = end.saturating_add(MARK_WINDOW);
        if let Some(path) = self.path.clone() {
            if self.file.is_none() {
                let file = OpenFile::create(
                    &path,
                    &layout.header.dtype,
                    &layout.header.shape,
                    layout.header.order,
                    file::NO_WAIT,
                )?;
                if self.layout.durability != Durability::None {
                    file::sync_parent_dir(&path)
                        .map_err(|e| Error::io(&path, "syncing the directory", e))?;
                }
                self.file = Some(Box::new(file));
            }
            if bytes == 0 {
                return Ok(());
            }
            if let Some(file) = &self.file {
                sys::set_reserved_mark(&file.file, marked)
                    .map_err(|e| Error::io(&path, "marking the step's extent", e))?;
            }
        } else if bytes == 0 {
            return Ok(());
        }
        self.marked_end = marked;
        Ok(())
    }

    /// Whether this step's data (`bytes` in total) must be forced to stable storage before its
    /// header is written: always with [`Durability::EveryAppend`], at every `n` bytes with
    /// [`Durability::EveryBytes`] (the header is then only advanced at those points), never
    /// otherwise. Every writer calls it once per step, with the same `bytes`, and gets the
    /// same answer; pass it to [`commit`](Self::commit).
    pub fn sync_due(&mut self, bytes: u64) -> bool {
        match self.layout.durability {
            Durability::None | Durability::OnClose => false,
            Durability::EveryAppend => true,
            Durability::EveryBytes(n) => {
                self.layout.unsynced = self.layout.unsynced.saturating_add(bytes);
                if self.layout.unsynced >= n {
                    self.layout.unsynced = 0;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Whether the data must be forced to stable storage before [`close`](Self::close) writes
    /// the final header (any durability but [`Durability::None`]).
    pub fn sync_due_at_close(&self) -> bool {
        self.layout.durability != Durability::None
    }

    /// Counts a step whose data every writer has written: `items` along the growth axis,
    /// `bytes` in all; `synced` is what [`sync_due`](Self::sync_due) said (the data was
    /// synced). Every writer advances its layout; the root also rewrites the header, unless
    /// the options defer it (`rewrite_header_on_append(false)`, or
    /// [`Durability::EveryBytes`] between sync points), and syncs it when `synced`.
    ///
    /// # Errors
    /// [`Error::Io`] on the root if the header cannot be written: the step is then not
    /// counted, on any writer that is told so (its bytes are past the header's count, under
    /// the reservation mark, and are cut by the next open or `recover`).
    pub fn commit(&mut self, items: u64, bytes: u64, synced: bool) -> Result<()> {
        let Some(layout) = &mut self.layout.file else {
            return Err(undefined());
        };
        let write_header = self.layout.rewrite_header_on_append
            && (synced || !matches!(self.layout.durability, Durability::EveryBytes(_)));
        if let (Some(f), Some(path)) = (&mut self.file, &self.path) {
            f.data_end += bytes;
            f.alloc_end = f.data_end;
            f.header.shape[f.axis] += items;
            if write_header {
                let written = f
                    .publish(!synced)
                    .and_then(|()| if synced { f.file.sync_data() } else { Ok(()) });
                if let Err(e) = written {
                    f.data_end -= bytes;
                    f.alloc_end = f.data_end;
                    f.header.shape[f.axis] -= items;
                    return Err(Error::io(path, "updating the header", e));
                }
            }
        }
        layout.data_end += bytes;
        layout.header.shape[layout.axis] += items;
        Ok(())
    }

    /// Ends the session. On the root: writes the final header (after the transport synced
    /// the data if [`sync_due_at_close`](Self::sync_due_at_close)), syncs it as the
    /// durability asks, cuts whatever a failed step left past the data, removes the
    /// reservation mark and releases the lock. A no-op on the other writers.
    ///
    /// # Errors
    /// [`Error::Io`] if the header cannot be written or synced, or the file cut;
    /// [`Error::FileChanged`] if the file was deleted or replaced while open.
    pub fn close(mut self) -> Result<()> {
        let (Some(mut f), Some(path)) = (self.file.take(), self.path.take()) else {
            return Ok(());
        };
        let durable = self.layout.durability != Durability::None;
        f.window = None;
        f.publish(false)
            .and_then(|()| sys::unreserve(&f.file, f.data_end))
            .and_then(|()| if durable { f.file.sync_data() } else { Ok(()) })
            .map_err(|e| Error::io(&path, "closing", e))?;
        super::check_still_linked(&f.file, &path)
    }
}

/// Refuses options that writers on several machines cannot share.
fn check_options(options: &AppendOptions) -> Result<()> {
    let unsupported = |option, reason| {
        Err(Error::Collective(CollectiveError::UnsupportedOption {
            option,
            reason,
        }))
    };
    if options.mapped_window != 0 {
        return unsupported(
            "mapped_window",
            "the data is written by every writer through parallel I/O, not through one \
             writer's memory mapping",
        );
    }
    if options.shared {
        return unsupported(
            "shared",
            "a collective step is already every writer's append at once, in rank order",
        );
    }
    if options.buffer_capacity != 0 {
        return unsupported(
            "buffer_capacity",
            "every step is written as a whole by all writers (append larger blocks instead)",
        );
    }
    options.durability.check()?;
    Ok(())
}

fn undefined() -> Error {
    Error::Collective(CollectiveError::Undefined)
}

/// The encoding of [`Layout`]: a version byte, flags, the options, then the file's fields.
const LAYOUT_VERSION: u8 = 1;

impl Layout {
    fn encode(&self) -> Vec<u8> {
        let mut out = vec![LAYOUT_VERSION];
        let (durability, every) = match self.durability {
            Durability::None => (0, 0),
            Durability::OnClose => (1, 0),
            Durability::EveryAppend => (2, 0),
            Durability::EveryBytes(n) => (3, n),
        };
        out.push(durability);
        out.push(self.casting as u8);
        out.push(u8::from(self.rewrite_header_on_append) | u8::from(self.fortran_for_new) << 1);
        out.extend_from_slice(&every.to_le_bytes());
        out.extend_from_slice(&self.unsynced.to_le_bytes());
        if let Some(f) = &self.file {
            out.push(1 | u8::from(f.header.order == Order::Fortran) << 1);
            for n in [f.header_len, f.data_end, f.header.shape.len() as u64] {
                out.extend_from_slice(&n.to_le_bytes());
            }
            for &d in &f.header.shape {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.extend_from_slice(f.header.dtype.descr().as_bytes());
        } else {
            out.push(0);
        }
        out
    }

    fn decode(bytes: &[u8]) -> Option<Layout> {
        let mut r = Reader(bytes);
        if r.byte()? != LAYOUT_VERSION {
            return None;
        }
        let durability_tag = r.byte()?;
        let casting = crate::Casting::ALL.get(usize::from(r.byte()?)).copied()?;
        let flags = r.byte()?;
        let every = r.u64()?;
        let unsynced = r.u64()?;
        let durability = match durability_tag {
            0 => Durability::None,
            1 => Durability::OnClose,
            2 => Durability::EveryAppend,
            3 => Durability::EveryBytes(every),
            _ => return None,
        };
        let file_flags = r.byte()?;
        let file = if file_flags & 1 == 0 {
            None
        } else {
            let header_len = r.u64()?;
            let data_end = r.u64()?;
            let ndim = usize::try_from(r.u64()?).ok().filter(|&n| n <= MAX_DIMS)?;
            let shape = (0..ndim).map(|_| r.u64()).collect::<Option<Vec<_>>>()?;
            let descr = std::str::from_utf8(r.0).ok()?;
            let header = Header::new(
                Dtype::parse(descr).ok()?,
                Order::from_fortran(file_flags & 2 != 0),
                shape,
            )
            .ok()?;
            Some(FileLayout {
                axis: header.growth_axis()?,
                header,
                header_len,
                data_end,
            })
        };
        Some(Layout {
            file,
            casting,
            durability,
            rewrite_header_on_append: flags & 1 != 0,
            fortran_for_new: flags & 2 != 0,
            unsynced,
        })
    }
}

/// Reads the fields of an encoded [`Layout`] (or region target) in order.
pub(super) struct Reader<'a>(pub(super) &'a [u8]);

impl<'a> Reader<'a> {
    pub(super) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    pub(super) fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    pub(super) fn u64(&mut self) -> Option<u64> {
        let (head, rest) = self.0.split_first_chunk::<8>()?;
        self.0 = rest;
        Some(u64::from_le_bytes(*head))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_survive_the_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        let options = AppendOptions::new()
            .durability(Durability::EveryBytes(77))
            .casting(crate::Casting::Unsafe)
            .order(Order::Fortran);
        let mut root = Collective::open_root(&path, &options).unwrap();
        let record = Dtype::parse("[('t', '<f8'), ('p', '<i2', (3,))]").unwrap();
        root.define(&record, &[4, 2]).unwrap();
        let mut peer = Collective::open_peer(&path, &AppendOptions::new()).unwrap();
        peer.set_layout(&root.layout()).unwrap();
        assert_eq!(peer.layout, root.layout);
        assert_eq!(
            peer.layout.file.as_ref().unwrap().header.order,
            Order::Fortran
        );
        assert!(peer.set_layout(&root.layout()[..20]).is_err());
    }

    /// One committed step of 2 writers × 1 row of 2 f8, then a step whose second block is
    /// written but not its first (a hole), and the writers are gone: returns the file's path.
    fn crash_with_a_hole(dir: &Path) -> PathBuf {
        use std::os::unix::fs::FileExt;
        let path = dir.join("holes.npy");
        let options = AppendOptions::new();
        let mut root = Collective::open_root(&path, &options).unwrap();
        let f8 = Dtype::parse("<f8").unwrap();
        root.define(&f8, &[1, 2]).unwrap();
        let row = bytemuck::cast_slice(&[1.0f64, 2.0]).to_vec();
        let start = root.data_end().unwrap();
        root.begin_step(32).unwrap();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.write_all_at(&row, start).unwrap();
        file.write_all_at(&row, start + 16).unwrap();
        root.commit(2, 32, false).unwrap();
        // The next step: writer 1's block lands, writer 0's never does.
        root.begin_step(32).unwrap();
        file.write_all_at(&row, start + 32 + 16).unwrap();
        drop(root);
        path
    }

    #[test]
    fn a_mark_covers_the_next_small_steps_and_every_writer_knows_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("window.npy");
        let options = AppendOptions::new();
        let mut root = Collective::open_root(&path, &options).unwrap();
        let mut peer = Collective::open_peer(&path, &options).unwrap();
        root.define(&Dtype::parse("<f8").unwrap(), &[1, 2]).unwrap();
        peer.set_layout(&root.layout()).unwrap();
        assert!(root.step_needs_mark(32) && peer.step_needs_mark(32));
        root.begin_step(32).unwrap();
        peer.begin_step(32).unwrap();
        root.commit(2, 32, false).unwrap();
        peer.commit(2, 32, false).unwrap();
        for writer in [&root, &peer] {
            assert!(!writer.step_needs_mark(32));
            assert!(!writer.step_needs_mark(MARK_WINDOW));
            assert!(writer.step_needs_mark(MARK_WINDOW + 1));
        }
        root.close().unwrap();
    }

    #[test]
    fn recover_never_counts_a_hole() {
        let dir = tempfile::tempdir().unwrap();
        let path = crash_with_a_hole(dir.path());
        let info = crate::inspect(&path).unwrap();
        assert_eq!(info.header.shape, vec![2, 2]);
        // The unfinished step, the rest of the marked window and the mark are reserved space.
        let tail = 32 + MARK_WINDOW + sys::MARK_LEN;
        assert_eq!(info.reserved_tail, tail);
        let report = crate::recover(&path).unwrap();
        assert_eq!((report.items_after, report.bytes_cut), (2, tail));
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            info.header_len + 32
        );
    }

    #[test]
    #[ignore = "needs root (mounts a ramfs); scripts/test runs it"]
    fn a_file_system_without_extended_attributes_will_do() {
        // ramfs stores no user extended attributes, like NFSv3 or exFAT: the mark is in the
        // file's bytes, so the root opens there and a crash is cut right.
        let dir = tempfile::tempdir().unwrap();
        let ramfs = npaa_testutil::mount::Tmpfs::mount_ramfs(&dir.path().join("mnt"));
        let path = crash_with_a_hole(&ramfs.at);
        let report = crate::recover(&path).unwrap();
        let tail = 32 + MARK_WINDOW + sys::MARK_LEN;
        assert_eq!((report.items_after, report.bytes_cut), (2, tail));
    }

    #[test]
    fn the_next_open_cuts_a_hole() {
        let dir = tempfile::tempdir().unwrap();
        let path = crash_with_a_hole(dir.path());
        let root = Collective::open_root(&path, &AppendOptions::new()).unwrap();
        assert_eq!(root.layout.file.as_ref().unwrap().header.shape, vec![2, 2]);
        let end = root.data_end().unwrap();
        root.close().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), end);
        assert!(!crate::inspect(&path).unwrap().needs_recovery);
    }

    #[test]
    fn options_that_cannot_be_shared_are_refused() {
        for options in [
            AppendOptions::new().mapped_window(1 << 20),
            AppendOptions::new().buffer_capacity(4096),
            AppendOptions::new().shared(true),
        ] {
            let err = Collective::open_peer("peer.npy", &options).unwrap_err();
            assert!(matches!(err, Error::Collective(_)), "{err}");
        }
    }
}
