//! [`OpenFile`]: the state of a file open for appending (header, template, data end,
//! buffers, mapped windows) and how its appends are committed to the header and published.

use std::fs::File;
use std::io;
use std::path::Path;

use crate::cast::{CastPlan, Casting};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::file::{self, Locked, create_with_header, lock_waiting, parent_dir, read_header_of};
use crate::header::{Header, Leniency, Template, Version};
use crate::layout::Order;
use crate::recover::{RecoverOptions, RecoverReport, recover_file};
use crate::sys::{self, DataMap, HeaderMap, PositionalIo};

use super::block::{BlockTarget, Prepared};
use super::{AppendOptions, Durability};

/// How far past the end of what it writes a writer marks the file as not data: a collective
/// step ([`Collective::begin_step`](super::Collective::begin_step)) or a shared-mode block
/// ([`OpenFile::mark_in_flight`]). The steps or blocks that follow and end within it are
/// written without a new mark (for a collective step, without the wait for it).
pub(super) const MARK_WINDOW: u64 = 16 << 20;

/// Header updates done with `pwrite` before the header is memory-mapped. Keeps short-lived
/// handles (open, append, close) from paying for a mapping they barely use.
const MAP_AFTER_WRITES: u32 = 2;

#[derive(Debug)]
pub(super) struct OpenFile {
    pub(super) header: Header,
    pub(super) version: Version,
    pub(super) header_len: u64,
    pub(super) template: Template,
    pub(super) axis: usize,
    /// File offset where the next data byte goes: header length plus data written.
    pub(super) data_end: u64,
    /// Number of digits of the growth dimension in the header on disk, when that header is the
    /// template's rendering (then a count of as many digits is written over them in place);
    /// `None` while it is not (a header in another spelling, not rewritten yet).
    pub(super) disk_digits: Option<usize>,
    /// Byte offset of those digits in the header (`Template::digits_offset`, computed once).
    pub(super) digits_offset: usize,
    /// The conversion used by the last append and its source dtype: a run of appends of one
    /// dtype (the common case) reuses it instead of re-deriving the casting rules each time.
    /// Boxed so that taking it out and putting it back moves a pointer, not the plan.
    pub(super) last_cast: Option<Box<(Dtype, CastPlan)>>,
    pub(super) header_writes: u32,
    pub(super) map: Option<HeaderMap>,
    /// Mapped mode: the mapping of the reserved space that small appends are copied into.
    pub(super) window: Option<DataMap>,
    /// The file's length as this handle made it: `data_end`, or more while space is reserved
    /// past the data (mapped mode; the reservation mark then ends the file, see
    /// `sys::set_reserved_mark`).
    pub(super) alloc_end: u64,
    /// Set when reserving or mapping failed: the handle writes with `pwrite` from then on.
    pub(super) mapping_failed: bool,
    pub(super) buffer: Vec<u8>,
    pub(super) buffered_rows: u64,
    pub(super) unsynced: u64,
    pub(super) scratch: Vec<u8>,
    /// Shared mode: the process that opened `file` ([`OpenFile::shared`]); a child forked
    /// since shares the open file, and with it the lock, and must open its own. `None` for an
    /// exclusive handle, which holds its lock throughout and never asks (saving a `getpid` per
    /// open); a shared handle without it opens its own file at its next turn.
    pub(super) opened_by: Option<Opener>,
    /// Declared last so that it is dropped (unlocked where needed, and closed) after the
    /// mappings above, which hold the open file too.
    pub(super) file: Locked,
}

/// An existing file opened for a writer: see [`open_existing`].
pub(super) struct Opened {
    /// The open file; `None` when there is none (it does not exist, or `delete_if_exists`
    /// deleted it): the first append creates it.
    pub(super) file: Option<Box<OpenFile>>,
    /// What [`AppendOptions::recover`] repaired before the file was opened; `None` when it is
    /// off or there was no file.
    pub(super) recovered: Option<RecoverReport>,
}

/// Opens, locks and validates the file at `path` for a writer with `options`, repairing it
/// first under the same lock if [`AppendOptions::recover`] says so. The errors of
/// [`AppendArray::open`].
pub(super) fn open_existing(path: &Path, options: &AppendOptions) -> Result<Opened> {
    let nothing = Opened {
        file: None,
        recovered: None,
    };
    match sys::open_rw(path) {
        Ok(file) => {
            let file = lock_waiting(file, path, options.lock_wait())?;
            if options.shared {
                // Checked and brought up to date under the lock, which is then released: the
                // others append between this handle's operations.
                let len = sys::file_len(&file)
                    .map_err(|e| Error::io(path, "reading file metadata", e))?;
                if len == 0 {
                    // A file another writer is creating the plain way (no O_TMPFILE): the
                    // first append writes its header ([`OpenFile::adopt_empty`]).
                    return Ok(nothing);
                }
                let recovered = if options.recover {
                    Some(recover_file(&file, path, RecoverOptions::new())?)
                } else {
                    None
                };
                let f = Box::new(OpenFile::existing(file, path, true)?.shared());
                f.release(path)?;
                return Ok(Opened {
                    file: Some(f),
                    recovered,
                });
            }
            if options.delete_if_exists {
                sys::remove_open(path)
                    .map_err(|e| Error::io(path, "deleting the existing file", e))?;
                return Ok(nothing);
            }
            let recovered = if options.recover {
                Some(recover_file(&file, path, RecoverOptions::new())?)
            } else {
                None
            };
            Ok(Opened {
                file: Some(Box::new(OpenFile::existing(file, path, false)?)),
                recovered,
            })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            check_directory(path)?;
            Ok(nothing)
        }
        Err(e) => Err(Error::io(path, "opening for appending", e)),
    }
}

/// The rule for a file that the first append will create: its directory must exist now, so
/// that every front end fails at open rather than at that append.
fn check_directory(path: &Path) -> Result<()> {
    let dir = parent_dir(path);
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::NoSuchDirectory {
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::NoSuchDirectory {
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
        }),
        Err(e) => Err(Error::io(dir, "reading the directory", e)),
    }
}

/// The process that opened a file.
#[derive(Debug)]
pub(super) struct Opener {
    pid: u32,
}

impl Opener {
    /// The calling process.
    pub(super) fn current() -> Self {
        Opener {
            pid: std::process::id(),
        }
    }

    /// Whether the calling process is the opener (one `getpid`: a child forked since the file
    /// was opened is not).
    pub(super) fn is_current(&self) -> bool {
        std::process::id() == self.pid
    }
}

/// The header of a new file for a first block of `dtype` and `shape` in `order`
/// ([`Header::for_new_file`]), and its bytes.
fn new_header(dtype: &Dtype, shape: &[u64], order: Order) -> Result<(Header, Vec<u8>)> {
    let header = Header::for_new_file(dtype.clone(), order, shape)?;
    let bytes = header.to_npy_bytes();
    Ok((header, bytes))
}

/// Fails with [`Error::FileChanged`] if `file` has no name any more: someone deleted it, or
/// replaced it (renamed another file over its path) while this handle was appending. The
/// appends then went to a file that no name reaches; a file now at the path is never touched.
/// Checked on update_header, sync and close (one `statx` of the open file on Linux), not on
/// every append.
pub(super) fn check_still_linked(file: &File, path: &Path) -> Result<()> {
    match sys::still_named(file, path) {
        Ok(false) => Err(Error::FileChanged {
            path: path.to_path_buf(),
            what: "the file was deleted or replaced while open: what was appended went to the \
                   old file, which no name reaches any more, and a file now at this path was \
                   not touched"
                .to_owned(),
        }),
        Ok(true) => Ok(()),
        Err(e) => Err(Error::io(
            path,
            "checking that the file still has a name",
            e,
        )),
    }
}

impl OpenFile {
    /// Reads and checks the header of an existing file, locked by the caller. Space a killed
    /// writer left reserved is cut; for a `shared` writer, only where nothing forbids the cut
    /// (see [`sys::unreserve_unless_mapped`]): shared appends write over such space anyway.
    pub(super) fn existing(file: Locked, path: &Path, shared: bool) -> Result<Self> {
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
                sys::cut_killed_reservation(&file, len, shared)
                    .map_err(|e| Error::io(path, "cutting space reserved by a killed writer", e))?;
            } else {
                return Err(Error::NeedsRecovery {
                    path: path.to_path_buf(),
                    expected,
                    present,
                });
            }
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
            opened_by: None,
            header,
        })
    }

    /// Creates the file at `path` for a first block of `dtype` and `shape` in `order`, locked
    /// (waiting `wait` for the lock, see [`create_with_header`]).
    pub(super) fn create(
        path: &Path,
        dtype: &Dtype,
        shape: &[u64],
        order: Order,
        wait: Option<std::time::Duration>,
    ) -> Result<Self> {
        let (header, bytes) = new_header(dtype, shape, order)?;
        let file = create_with_header(path, &bytes, wait)?;
        Ok(Self::created(file, header, &bytes))
    }

    /// Shared mode: writes the header for a first block of `dtype` and `shape` in `order` into
    /// `file`, an empty file found under the lock: another writer created it the plain way
    /// and has not locked it yet; it will find the header and append after this block.
    pub(super) fn adopt_empty(
        file: Locked,
        path: &Path,
        dtype: &Dtype,
        shape: &[u64],
        order: Order,
    ) -> Result<Self> {
        let (header, bytes) = new_header(dtype, shape, order)?;
        file.write_all_at(&bytes, 0)
            .map_err(|e| Error::io(path, "writing the header", e))?;
        Ok(Self::created(file, header, &bytes))
    }

    /// The state of `file`, holding just `bytes`, the rendering of `header`.
    fn created(file: Locked, header: Header, bytes: &[u8]) -> Self {
        let axis = header.growth_axis().unwrap_or(0);
        let parsed_len = bytes.len() as u64;
        let version = match bytes[6] {
            1 => Version::V1,
            2 => Version::V2,
            _ => Version::V3,
        };
        let template = header.template();
        OpenFile {
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
            opened_by: None,
            header,
        }
    }

    /// Validates a block against the file at `path`. Give the plan back with
    /// [`Self::keep_cast`].
    pub(super) fn prepare(
        &mut self,
        path: &Path,
        dtype: &Dtype,
        shape: &[u64],
        casting: Casting,
    ) -> Result<Prepared> {
        let target = BlockTarget {
            path,
            header: &self.header,
            axis: self.axis,
            header_len: self.header_len,
            pending_rows: self.buffered_rows,
        };
        target.prepare(self.last_cast.take(), dtype, shape, casting)
    }

    /// Keeps the conversion of a prepared block for the next append.
    pub(super) fn keep_cast(&mut self, prepared: Prepared) {
        self.last_cast = Some(prepared.cast);
    }

    /// Cuts the file back to `growth` items along the growth axis, ending at `data_end`
    /// ([`AppendArray::rollback_to`](super::AppendArray::rollback_to), checked there), buffered
    /// items dropped; synced unless `durability` is `None`.
    pub(super) fn rollback_to(
        &mut self,
        path: &Path,
        growth: u64,
        data_end: u64,
        durability: Durability,
    ) -> Result<()> {
        let counted = self.header.shape[self.axis];
        self.header.shape[self.axis] = growth;
        // Header first, then the cut: at every step the header counts no more than is written.
        // The cut also gives back reserved space (mapped mode), whose window goes first.
        self.window = None;
        let reserved = self.alloc_end != self.data_end;
        let cut = self.publish(false).and_then(|()| {
            if reserved {
                sys::unreserve(&self.file, data_end)
            } else {
                self.file.set_len(data_end)
            }
        });
        if let Err(e) = cut {
            let error = Error::io(path, "undoing appends", e);
            if matches!(error, Error::MappedElsewhere { .. }) {
                // Windows, a reader maps the items to cut: nothing was cut, so the count goes
                // back to what it was and the file is as it was, buffered items included.
                self.header.shape[self.axis] = counted;
                self.publish(false)
                    .map_err(|e| Error::io(path, "restoring the header", e))?;
            } else {
                self.buffer.clear();
                self.buffered_rows = 0;
            }
            return Err(error);
        }
        self.buffer.clear();
        self.buffered_rows = 0;
        if durability != Durability::None {
            self.file
                .sync_data()
                .map_err(|e| Error::io(path, "undoing appends", e))?;
        }
        self.data_end = data_end;
        self.alloc_end = data_end;
        self.unsynced = 0;
        Ok(())
    }

    /// Undoes the bytes of a failed append: the file goes back to its previous length.
    pub(super) fn rollback(&mut self, buffered: bool, buffer_start: usize) {
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
    pub(super) fn write_mapped(&mut self, bytes: &[u8], at: u64, window: usize) -> bool {
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

    /// Before `len` bytes are written at `at` other than through the mapping (a block too
    /// large for it, a kernel-side copy): if they would reach the mark that ends reserved space,
    /// gives the reservation back first (the file is cut to `at`), so that the mark is never
    /// overwritten by data. Writes inside the reserved space leave it as it is.
    pub(super) fn clear_way(&mut self, at: u64, len: u64) -> io::Result<()> {
        if self.alloc_end > self.data_end && at.saturating_add(len) > self.alloc_end - sys::MARK_LEN
        {
            self.window = None;
            sys::unreserve(&self.file, at)?;
            self.alloc_end = self.data_end;
        }
        Ok(())
    }

    /// Replaces the window with one of `window` bytes from `at`, newly reserved.
    fn remap(&mut self, at: u64, window: usize) -> io::Result<&mut DataMap> {
        // The old window goes first: the file may not shrink below a live mapping. Unused
        // space of the previous reservation becomes part of the new one, whose mark is
        // written before the file is cut to it: the file ends with a mark at every moment.
        self.window = None;
        let end = at
            .checked_add(window as u64)
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        self.alloc_end = sys::reserve(&self.file, at, end)?;
        Ok(self.window.insert(DataMap::new(&self.file, at, window)?))
    }

    /// Gives back reserved space past the data: drops the window, cuts the file to the data's
    /// end and removes the reservation mark. Does nothing when nothing is reserved.
    pub(super) fn release_reservation(&mut self) -> io::Result<()> {
        self.window = None;
        if self.alloc_end == self.data_end {
            return Ok(());
        }
        sys::unreserve(&self.file, self.data_end)?;
        self.alloc_end = self.data_end;
        Ok(())
    }

    /// Counts `rows` just written (`bytes` long) and updates the header as the options say.
    pub(super) fn commit(
        &mut self,
        rows: u64,
        bytes: u64,
        options: &AppendOptions,
    ) -> io::Result<()> {
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
    pub(super) fn flush_buffer(&mut self, options: &AppendOptions) -> io::Result<()> {
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
    pub(super) fn sync_all(&mut self, options: &AppendOptions) -> io::Result<()> {
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
    pub(super) fn publish(&mut self, fast: bool) -> io::Result<()> {
        let growth = self.header.shape[self.axis];
        let mut buf = [0u8; 20];
        let digits = crate::fmt::digits(growth, &mut buf);
        let in_place = self.disk_digits == Some(digits.len());
        if in_place
            && fast
            && let Some(map) = &mut self.map
            && map.store_digits(self.digits_offset, digits)
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
        let no_room = || io::Error::other("the new shape no longer fits in the header");
        let total = usize::try_from(self.header_len).map_err(|_| no_room())?;
        with_header_buffer(total, |bytes, _| {
            if !self.template.render_into(growth, self.version, bytes) {
                return Err(no_room());
            }
            self.file.write_all_at(bytes, 0)
        })
    }
}

/// Runs `f` with two zeroed buffers of `total` bytes each, for a header: on the stack for
/// headers up to 512 bytes (`np.save` writes 128 bytes for most arrays), else on the heap.
pub(super) fn with_header_buffer<R>(total: usize, f: impl FnOnce(&mut [u8], &mut [u8]) -> R) -> R {
    const ON_STACK: usize = 512;
    let mut stack = [[0u8; ON_STACK]; 2];
    let mut heap = Vec::new();
    let [first, second] = &mut stack;
    match (first.get_mut(..total), second.get_mut(..total)) {
        (Some(a), Some(b)) => f(a, b),
        _ => {
            heap.resize(2 * total, 0);
            let (a, b) = heap.split_at_mut(total);
            f(a, b)
        }
    }
}
