//! Region writes: [`RegionWrite`], one block appended by many writers at once, each writing
//! its chunks straight to their place ([`RegionTarget`]), and counted by the header last.

use std::borrow::Cow;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::collective::Reader;
use super::{AppendOptions, Durability, OpenFile, check_block, open_existing};
use crate::cast::{CastPlan, Casting};
use crate::dtype::Dtype;
use crate::error::{Error, RegionError, Result};
use crate::file;
use crate::layout::{Order, physical_shape};
use crate::sys::{self, PositionalIo, RegionLock};

/// A block appended by many writers at once: the driver's side.
///
/// A region write appends one block (a Dask array, say) whose chunks are written in parallel
/// by writers that may be threads, processes or other machines sharing the file system, each
/// writing its chunks straight to their place in the file. Only the driver opens the file as
/// a writer (it holds the writer lock until the region write ends); the chunk writers hold a
/// [`RegionTarget`], which needs no lock.
///
/// 1. The driver calls [`begin`](Self::begin): the file is opened (or created) and checked,
///    the block is validated against it, and the extent the block will fill is marked as
///    reserved space (the file may be extended sparsely to its end). The header keeps counting
///    only what was there before.
/// 2. It hands [`target`](Self::target) (encoded with [`RegionTarget::encode`] where the
///    writers are other processes) to the writers, which call [`RegionTarget::write`] for each
///    chunk, in any order, concurrently.
/// 3. Once every chunk is written, the driver calls [`commit`](Self::commit): the data is
///    synced if the durability asks, the header then counts the block, and the mark is removed.
///    If anything failed, it calls [`abort`](Self::abort) instead: the file goes back to what
///    it was (a file the region write created is deleted).
///
/// Both `commit` and `abort` first wait for every chunk being written to finish, and from then
/// on refuse chunks that come late ([`Error::FileChanged`]): after `abort` returns, no chunk
/// of the region write can reach the file.
///
/// While it lasts, the file is `[header][data][block extent][token][mark]`: the block's extent
/// (holes until its chunks are written), then 8 bytes of the region write's token and the
/// reservation mark of mapped mode, which declares everything past the header's count
/// reserved space, not data. A chunk writer writes only while it finds that token there,
/// checked under the region lock (shared; the driver takes it exclusively to end the region
/// write): an open-file-description lock on Linux, a handle lock on Windows, a POSIX record
/// lock held for the whole process elsewhere (macOS, FreeBSD), where user code that closes
/// another descriptor of the file in a process while one of its threads writes a chunk
/// releases that process's lock early. No extended attributes are used. The region lock must
/// not meet the writer lock the driver holds meanwhile: it does not on Linux's local file
/// systems nor on Windows; where it would (macOS, FreeBSD and NFS keep `flock` as a whole-file
/// record lock), `begin` refuses instead of leaving chunk writers waiting forever.
///
/// # Crashes
/// A killed writer leaves part of its chunk written: the header never counts it. A killed
/// driver leaves the block's extent, token and mark as reserved space:
/// [`recover`](crate::recover()) and the next open cut it and never count it as rows, whatever
/// holes it holds. They take the region lock exclusively first, so that chunk writers still
/// running finish, and write nothing after the cut (they find no token).
///
/// ```
/// use npaa_core::{AppendOptions, Dtype, RegionWrite, RegionTarget};
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("grid.npy");
/// // A new file of 4 x 6 f8, written as four chunks of 2 x 3 (split along both axes).
/// let f8 = Dtype::parse("<f8")?;
/// let options = AppendOptions::new().delete_if_exists(true);
/// let region = RegionWrite::begin(&path, &options, &f8, &[4, 6])?;
/// // Writers may be other processes: they get the target as bytes.
/// let target = RegionTarget::decode(&region.target().encode())?;
/// for (rows, cols) in [(0..2, 0..3), (0..2, 3..6), (2..4, 0..3), (2..4, 3..6)] {
///     let chunk: Vec<f64> = rows.clone()
///         .flat_map(|r| cols.clone().map(move |c| (r * 6 + c) as f64))
///         .collect();
///     target.write(&[rows, cols], &f8, bytemuck::cast_slice(&chunk))?;
/// }
/// region.commit()?;
/// let info = npaa_core::inspect(&path)?;
/// assert_eq!(info.header.shape(), [4, 6]);
/// assert!(!info.needs_recovery);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct RegionWrite {
    file: Box<OpenFile>,
    path: PathBuf,
    /// Whether `begin` created the file (`abort` then deletes it).
    created: bool,
    /// Rows of the block along the growth axis.
    rows: u64,
    target: RegionTarget,
}

/// Where the chunks of a [`RegionWrite`] go: everything a chunk writer needs, and nothing
/// that needs the writer lock. Cheap to clone; [`encode`](Self::encode) it to send it to
/// other processes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionTarget {
    path: PathBuf,
    /// The file's dtype.
    dtype: Dtype,
    /// The block's shape, in the file's axis order (the growth axis is 0 in C order, the last
    /// one in Fortran order).
    shape: Vec<u64>,
    order: Order,
    casting: Casting,
    /// Whether each chunk is synced once written.
    durable: bool,
    /// File offset of the block's first byte.
    start: u64,
    /// File offset just past the block: where the token lies while the region write lasts.
    end: u64,
    /// The region write's token (at `end` in the file while it lasts; never 0).
    token: u64,
}

impl RegionWrite {
    /// Begins appending a block of `dtype` and `shape` to the file at `path`, opened with
    /// `options` as [`AppendArray::open_with`](crate::AppendArray::open_with) would (same
    /// checks and errors; `delete_if_exists(true)` starts a new file) and held under the
    /// writer lock until the region write ends. A file that does not exist is created from
    /// the block (its order is `options`' [`order`](AppendOptions::order), C by default).
    /// The block is checked as [`AppendArray::append_raw`](crate::AppendArray::append_raw)
    /// checks a block (its chunks may be of any dtype that casts to the file's under
    /// `options`' casting). With any [`Durability`] but `None`, each chunk is synced once
    /// written and the header once updated; buffering and mapped windows do not apply.
    ///
    /// # Errors
    /// Those of [`AppendArray::open`](crate::AppendArray::open) and
    /// [`AppendArray::append_raw`](crate::AppendArray::append_raw) (the block);
    /// [`Error::Io`] if the file cannot be extended to hold the block, its token and mark;
    /// [`Error::Io`] of kind `Unsupported` where chunk writers could not take the region lock
    /// while the driver holds the writer lock (see
    /// [`RegionTarget::write`]; macOS, FreeBSD and NFS keep the writer lock as a whole-file
    /// record lock), or another process holds the region lock. Nothing was changed then (a
    /// file created here is deleted).
    pub fn begin(
        path: impl AsRef<Path>,
        options: &AppendOptions,
        dtype: &Dtype,
        shape: &[u64],
    ) -> Result<Self> {
        let path = path.as_ref();
        check_block(dtype, shape)?;
        let (mut file, created) = match open_existing(path, options)?.file {
            Some(file) => (file, false),
            None => {
                let order = options.order.unwrap_or(Order::C);
                let file = OpenFile::create(path, dtype, shape, order, options.lock_wait())?;
                (Box::new(file), true)
            }
        };
        match Self::reserve(&mut file, path, options, dtype, shape) {
            Ok(target) => {
                if created && options.durability != Durability::None {
                    file::sync_parent_dir(path)
                        .map_err(|e| Error::io(path, "syncing the directory", e))?;
                }
                Ok(RegionWrite {
                    rows: shape[file.axis],
                    file,
                    path: path.to_path_buf(),
                    created,
                    target,
                })
            }
            Err(e) => {
                if created {
                    let _ = std::fs::remove_file(path);
                } else {
                    let _ = sys::unreserve(&file.file, file.data_end);
                }
                Err(e)
            }
        }
    }

    /// Validates the block against the open file, then extends the file sparsely past the
    /// block's end, with the token and mark there.
    fn reserve(
        file: &mut OpenFile,
        path: &Path,
        options: &AppendOptions,
        dtype: &Dtype,
        shape: &[u64],
    ) -> Result<RegionTarget> {
        let prepared = file.prepare(path, dtype, shape, options.casting)?;
        let blocked = sys::region_lock_blocked(&file.file)
            .map_err(|e| Error::io(path, "asking whether chunks could be written", e))?;
        if blocked {
            return Err(Error::io(
                path,
                "beginning a region write",
                std::io::Error::new(
                    std::io::ErrorKind::Unsupported,
                    "chunk writers could not take the region lock: another process holds it, \
                     or the writer lock is a whole-file record lock here (macOS, FreeBSD, NFS \
                     without local_lock=flock), which chunk writers would wait for forever",
                ),
            ));
        }
        let start = file.data_end;
        let end = start + prepared.dst_len; // `prepare` checked the file size fits.
        let token = new_token();
        sys::set_region_token(&file.file, end, token)
            .map_err(|e| Error::io(path, "extending the file past the block's end", e))?;
        file.alloc_end = end;
        let mut block_shape = file.header.shape.clone();
        block_shape[file.axis] = shape[file.axis];
        Ok(RegionTarget {
            path: path.to_path_buf(),
            dtype: file.header.dtype.clone(),
            shape: block_shape,
            order: file.header.order,
            casting: options.casting,
            durable: options.durability != Durability::None,
            start,
            end,
            token,
        })
    }

    /// Where the chunks go: hand it (or its [`encode`](RegionTarget::encode)d bytes) to the
    /// writers.
    pub fn target(&self) -> &RegionTarget {
        &self.target
    }

    /// Waits for every chunk being written, refuses later ones, then counts the block: syncs
    /// the data (unless the durability is `None`), writes the header, syncs it, cuts the token
    /// and mark and releases the writer lock. Call it once every chunk was written
    /// successfully: the header then counts the whole block.
    ///
    /// # Errors
    /// [`Error::Io`] if the data or header cannot be written or synced: the block is then not
    /// counted (it stays reserved space, which the next open or
    /// [`recover`](crate::recover()) cuts); [`Error::FileChanged`] if the file was deleted or
    /// replaced meanwhile.
    pub fn commit(mut self) -> Result<()> {
        let path = self.path.clone();
        self.end_chunks()?;
        let durable = self.target.durable;
        let f = &mut self.file;
        let end = f.alloc_end;
        let written = (|| {
            if durable {
                f.file.sync_data()?;
            }
            f.data_end = end;
            f.header.shape[f.axis] += self.rows;
            f.publish(false)?;
            if durable {
                f.file.sync_data()?;
            }
            sys::unreserve(&f.file, end)
        })();
        written.map_err(|e| Error::io(&path, "counting the region written", e))?;
        super::check_still_linked(&f.file, &path)
    }

    /// Waits for every chunk being written, refuses later ones, then gives the file back as it
    /// was before [`begin`](Self::begin): cut back to its old end (block, token and mark go), or
    /// deleted if `begin` created it.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be cut or deleted (the block's extent then stays
    /// reserved space: the next open or [`recover`](crate::recover()) cuts it).
    pub fn abort(self) -> Result<()> {
        self.end_chunks()?;
        if self.created {
            std::fs::remove_file(&self.path)
                .map_err(|e| Error::io(&self.path, "deleting the file of an aborted write", e))
        } else {
            sys::unreserve(&self.file.file, self.file.data_end)
                .map_err(|e| Error::io(&self.path, "cutting an aborted region write", e))
        }
    }

    /// Waits until no chunk is being written (the exclusive region lock), then zeros the
    /// token, so that no chunk is written from then on.
    fn end_chunks(&self) -> Result<()> {
        RegionLock::exclusive(&self.file.file)
            .and_then(|_lock| sys::clear_region_token(&self.file.file, self.target.end))
            .map_err(|e| Error::io(&self.path, "waiting for the chunks being written", e))
    }
}

impl RegionTarget {
    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's dtype: chunks are converted to it.
    pub fn dtype(&self) -> &Dtype {
        &self.dtype
    }

    /// The block's shape; chunks are given by index ranges in it.
    pub fn shape(&self) -> &[u64] {
        &self.shape
    }

    /// The file's memory order: a chunk's bytes are laid out in it.
    pub fn order(&self) -> Order {
        self.order
    }

    /// The file byte ranges `(offset, length)` a chunk covers, in the order of its bytes
    /// laid out in the file's memory order: the chunk's items at `index` (one range per axis of
    /// [`shape`](Self::shape)). A chunk spanning every axis but the growth axis is one range;
    /// one split along other axes is several strided ones (one per row of a C-order chunk
    /// split along its last axis). An empty chunk has none.
    ///
    /// # Errors
    /// [`RegionError::ChunkOutside`] if `index` does not have one range per axis or a range
    /// lies outside the block.
    pub fn pieces(&self, index: &[Range<u64>]) -> Result<Vec<(u64, u64)>> {
        let mut pieces = Vec::new();
        self.for_each_piece(index, |at, len| {
            pieces.push((at, len));
            Ok(())
        })?;
        Ok(pieces)
    }

    /// Calls `f(offset, length)` for each of [`pieces`](Self::pieces), in order.
    fn for_each_piece(
        &self,
        index: &[Range<u64>],
        mut f: impl FnMut(u64, u64) -> Result<()>,
    ) -> Result<()> {
        if index.len() != self.shape.len()
            || index
                .iter()
                .zip(&self.shape)
                .any(|(r, &d)| r.start > r.end || r.end > d)
        {
            return Err(Error::Region(RegionError::ChunkOutside {
                index: index.to_vec(),
                shape: self.shape.clone(),
            }));
        }
        if index.iter().any(|r| r.is_empty()) {
            return Ok(());
        }
        // In the file's physical order (axes reversed for Fortran order) the block is C
        // ordered from `start`; `begin` checked that its size fits in a u64.
        let shape = physical_shape(&self.shape, self.order);
        let mut ranges = index.to_vec();
        if self.order == Order::Fortran {
            ranges.reverse();
        }
        let n = shape.len();
        let mut strides = vec![0u64; n];
        let mut acc = self.dtype.itemsize() as u64;
        for j in (0..n).rev() {
            strides[j] = acc;
            acc *= shape[j];
        }
        // Axes after `k` are whole: each piece is a run of axis `k`.
        let mut k = n - 1;
        while k > 0 && ranges[k] == (0..shape[k]) {
            k -= 1;
        }
        let run = (ranges[k].end - ranges[k].start) * strides[k];
        let mut at: Vec<u64> = ranges[..k].iter().map(|r| r.start).collect();
        loop {
            let offset = self.start
                + ranges[k].start * strides[k]
                + at.iter().zip(&strides).map(|(i, s)| i * s).sum::<u64>();
            f(offset, run)?;
            let mut j = k;
            loop {
                if j == 0 {
                    return Ok(());
                }
                j -= 1;
                at[j] += 1;
                if at[j] < ranges[j].end {
                    break;
                }
                at[j] = ranges[j].start;
            }
        }
    }

    /// Writes a chunk: `data` holds the items at `index` (see [`pieces`](Self::pieces)) of
    /// `dtype`, laid out in the file's memory order ([`order`](Self::order)). They are
    /// converted to the file's dtype by the casting rule of the region write, then written to
    /// their place (synced if its durability asks). Needs no lock but the region lock, which
    /// it takes shared for the duration of the write; any number of chunks may be written at
    /// once, from any process that reaches the file.
    ///
    /// # Errors
    /// The block errors of [`AppendArray::append_raw`](crate::AppendArray::append_raw) for the
    /// chunk (dtype, casting, length); [`RegionError::ChunkOutside`] for an index outside
    /// the block; [`Error::FileChanged`] if the region write has ended (committed or aborted) or
    /// the file was replaced: nothing was written then; [`Error::Io`] for a failed write (part
    /// of the chunk may be written; the driver must abort).
    pub fn write(&self, index: &[Range<u64>], dtype: &Dtype, data: &[u8]) -> Result<()> {
        let chunk: Vec<u64> = index
            .iter()
            .map(|r| r.end.saturating_sub(r.start))
            .collect();
        super::check_data_len(dtype, &chunk, data)?;
        let plan =
            CastPlan::new(dtype, &self.dtype, self.casting).map_err(|e| e.in_file(&self.path))?;
        let bytes = if plan.is_identity() {
            Cow::Borrowed(data)
        } else {
            let mut converted = vec![0; data.len() / dtype.itemsize().max(1) * plan.dst_itemsize()];
            plan.convert(data, &mut converted);
            Cow::Owned(converted)
        };
        let path = &self.path;
        let lock = RegionLock::shared(path)
            .map_err(|e| Error::io(path, "opening the file to write a chunk", e))?;
        let file = lock.file();
        if !sys::has_region_token(file, self.end, self.token) {
            return Err(Error::FileChanged {
                path: path.clone(),
                what: "the region write this chunk belongs to has ended (committed or \
                       aborted), or the file was replaced: the chunk was not written"
                    .to_owned(),
            });
        }
        let mut done = 0usize;
        self.for_each_piece(index, |at, len| {
            let len = len as usize; // within `bytes`, whose length is a usize
            let piece = &bytes[done..done + len];
            done += len;
            file.write_all_at(piece, at)
                .map_err(|e| Error::io(path, "writing a chunk", e))
        })?;
        if self.durable {
            file.sync_data()
                .map_err(|e| Error::io(path, "syncing a chunk", e))?;
        }
        Ok(())
    }

    /// The target as bytes, for writers in other processes ([`decode`](Self::decode)).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![TARGET_VERSION];
        out.push(u8::from(self.order == Order::Fortran) | u8::from(self.durable) << 1);
        out.push(self.casting as u8);
        let path = sys::path_bytes(&self.path);
        for n in [self.start, self.token, self.shape.len() as u64] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        for &d in &self.shape {
            out.extend_from_slice(&d.to_le_bytes());
        }
        out.extend_from_slice(&(path.len() as u64).to_le_bytes());
        out.extend_from_slice(path);
        out.extend_from_slice(self.dtype.descr().as_bytes());
        out
    }

    /// A target from [`encode`](Self::encode)'s bytes.
    ///
    /// # Errors
    /// [`RegionError::MalformedTarget`] if `bytes` are not a target from this version of npaa.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        Self::decode_fields(bytes).ok_or(Error::Region(RegionError::MalformedTarget))
    }

    fn decode_fields(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        if r.byte()? != TARGET_VERSION {
            return None;
        }
        let flags = r.byte()?;
        let casting = Casting::ALL.get(usize::from(r.byte()?)).copied()?;
        let start = r.u64()?;
        let token = r.u64()?;
        let ndim = usize::try_from(r.u64()?)
            .ok()
            .filter(|&n| (1..=64).contains(&n))?;
        let shape = (0..ndim).map(|_| r.u64()).collect::<Option<Vec<_>>>()?;
        let path_len = usize::try_from(r.u64()?).ok()?;
        let path = r.take(path_len)?;
        let dtype = Dtype::parse(std::str::from_utf8(r.0).ok()?).ok()?;
        // The same checks as a block's: whatever the bytes say, offsets cannot overflow.
        let end = check_block(&dtype, &shape).ok()?.checked_add(start)?;
        end.checked_add(sys::REGION_TOKEN_LEN + sys::MARK_LEN)?;
        Some(RegionTarget {
            path: sys::path_from_bytes(path)?,
            dtype,
            shape,
            order: Order::from_fortran(flags & 1 != 0),
            casting,
            durable: flags & 2 != 0,
            start,
            end,
            token,
        })
    }
}

/// The encoding of [`RegionTarget`]: a version byte, flags, casting, the numbers, the path,
/// then the dtype's descr. Version 2: the token lies in the file, after the block.
const TARGET_VERSION: u8 = 2;

/// A token no other region write of this file is likely to have had; never 0 (the value of a
/// token cleared or not yet written).
fn new_token() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    h.finish().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(shape: &[u64], order: Order) -> RegionTarget {
        RegionTarget {
            path: PathBuf::from("t.npy"),
            dtype: Dtype::parse("<i2").unwrap(),
            shape: shape.to_vec(),
            order,
            casting: Casting::SameKind,
            durable: false,
            start: 128,
            end: 128 + 2 * shape.iter().product::<u64>(),
            token: 7,
        }
    }

    #[test]
    fn chunks_map_to_strided_pieces() {
        let c = target(&[4, 3, 5], Order::C);
        // Whole rows: one piece.
        assert_eq!(c.pieces(&[1..3, 0..3, 0..5]).unwrap(), [(128 + 30, 60)]);
        // Split along the last axis: one piece per (row, column) pair.
        assert_eq!(
            c.pieces(&[1..2, 1..3, 2..4]).unwrap(),
            [(128 + 30 + 10 + 4, 4), (128 + 30 + 20 + 4, 4)]
        );
        // Fortran order: the first axis is the fastest.
        let f = target(&[3, 2, 4], Order::Fortran);
        assert_eq!(f.pieces(&[0..3, 0..2, 1..3]).unwrap(), [(128 + 12, 24)]);
        assert_eq!(
            f.pieces(&[1..2, 0..2, 3..4]).unwrap(),
            [(128 + 36 + 2, 2), (128 + 36 + 6 + 2, 2)]
        );
        assert!(c.pieces(&[0..0, 0..3, 0..5]).unwrap().is_empty());
        assert!(c.pieces(&[0..5, 0..3, 0..5]).is_err());
        assert!(c.pieces(&[0..1, 0..3]).is_err());
    }

    #[test]
    fn targets_survive_the_round_trip() {
        let mut t = target(&[4, 3, 5], Order::Fortran);
        t.dtype = Dtype::parse("[('t', '<f8'), ('p', '<i2', (3,))]").unwrap();
        t.end = t.start + 4 * 3 * 5 * 14; // the block of the new dtype
        t.durable = true;
        let bytes = t.encode();
        assert_eq!(RegionTarget::decode(&bytes).unwrap(), t);
        for cut in 0..bytes.len() - 1 {
            let _ = RegionTarget::decode(&bytes[..cut]);
        }
        assert!(RegionTarget::decode(&bytes[..20]).is_err());
    }
}
