//! The few operating-system facilities npaa needs beyond `std`: shared memory maps of the header
//! (to update the shape without a system call) and of space reserved past the data (to append
//! without one) and the mark that ends such space, read-only maps of sources
//! converted to the other memory order, inserting blocks at the front of a file, and
//! kernel-side copies.
//! All `unsafe` of the crate lives here.
//!
//! The rest of the crate calls only the functions and types of this module, which never name
//! an operating system to their callers. Each function dispatches by `cfg` to the platform's
//! own code, the way std splits `sys/unix` and `sys/windows`:
//! - `unix`: POSIX, shared by Linux, macOS and FreeBSD (positional I/O, file metadata);
//! - `linux`: mechanisms only Linux has (`fallocate`, `O_TMPFILE`, `O_NOATIME`,
//!   `copy_file_range`, `statx`), each an optimisation whose fallback is written here, beside
//!   its dispatch;
//! - `macos`: `F_PREALLOCATE`; `freebsd`: `posix_fallocate` and `copy_file_range` (see
//!   there for why each is used where it is);
//! - `windows`: positional I/O, the writer lock (a byte-range lock far past the end of the
//!   file, which readers never meet), file identity, deleting an open file, read-only
//!   mappings whose section ends where the mapping does (a live section forbids cutting the
//!   file below its end).
//! - `region`: region writes' token and lock ([`RegionLock`]), dispatching to `linux`
//!   (open-file-description locks), `windows` (handle locks) and `posix_lock` (POSIX record
//!   locks held for the process: macOS, FreeBSD, Linux under `npaa_portable`).
//!
//! Built with `--cfg npaa_portable`, the crate compiles out every Linux-only mechanism and
//! takes, on Linux, the paths other systems take: that is how those paths are tested.

#![expect(
    unsafe_code,
    reason = "mapping a file needs memmap2's unsafe constructor"
)]

#[cfg(all(target_os = "freebsd", not(npaa_portable)))]
mod freebsd;
#[cfg(all(any(target_os = "linux", target_os = "android"), not(npaa_portable)))]
mod linux;
#[cfg(all(target_vendor = "apple", not(npaa_portable)))]
mod macos;
mod region;
#[cfg(unix)]
mod unix;
#[cfg(windows)]
mod windows;

/// The platform family's own module, for what every family provides under the same names.
#[cfg(unix)]
use unix as family;
#[cfg(windows)]
use windows as family;

use std::fs::{File, TryLockError};
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering, fence};

#[cfg(unix)]
use memmap2::Mmap;
use memmap2::{MmapMut, MmapOptions};

pub(crate) use region::{
    REGION_TOKEN_LEN, RegionLock, clear_region_token, cut_killed_reservation, has_region_token,
    path_bytes, path_from_bytes, region_lock_blocked, set_region_token,
};

/// A writable shared mapping of the first `len` bytes of a file: the header.
///
/// Stores into it reach the page cache directly, so they are visible to every reader of the
/// file and survive the death of the process exactly like a `write` would; they reach the disk
/// with the rest of the file's dirty pages (or on [`HeaderMap::flush`]).
#[derive(Debug)]
pub(crate) struct HeaderMap {
    map: MmapMut,
}

impl HeaderMap {
    /// Maps the first `len` bytes of `file`, which must be at least that long and open for
    /// reading and writing.
    ///
    /// Fails with `Unsupported` on Windows, where the caller writes the header with positional
    /// writes instead: there, a mapping made by memmap2 is backed by a section as long as the
    /// whole file, and Windows refuses to cut a file below a live section (`SetEndOfFile`
    /// fails), which rollback and giving back reserved space need.
    pub(crate) fn new(file: &File, len: usize) -> io::Result<Self> {
        if cfg!(windows) {
            return Err(io::Error::from(io::ErrorKind::Unsupported));
        }
        // SAFETY: the mapping covers the header only, which npaa never shrinks while the file
        // is open. The file is held under an exclusive advisory lock (see `lock`), so
        // cooperating processes do not truncate it; a process that ignores the lock and
        // truncates the file below `len` would make stores fault (SIGBUS), the same hazard
        // every memory-mapped file carries. All access goes through `&mut self` or `&self`,
        // so there is no aliasing inside this process.
        let map = unsafe { MmapOptions::new().len(len).map_mut(file)? };
        Ok(HeaderMap { map })
    }

    /// The header as it is in the page cache: what every process's stores and writes left
    /// there (a shared-mode writer reads the count here, under the file's lock).
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Stores `new` over the bytes at `offset`: the bytes that change in one unaligned 8-byte
    /// store when they lie within 8 bytes (every count below 10^8, and most changes of any
    /// count), after a release fence; otherwise from the last byte to the first, each with a
    /// release store.
    ///
    /// The single store matters to readers while other writers append (shared mode: every
    /// count a reader can see must end a whole block): a store is one instruction, which a
    /// writer preempted or killed never leaves half done, where byte stores leave states in
    /// between for as long as the writer is off its CPU (1099 becoming 1103 passes through
    /// 1093, a count inside an earlier block).
    ///
    /// Byte by byte, when `new` replaces a decimal number of the same width (a count that
    /// grows), the states in between have the old high digits and the new low ones: each is a
    /// valid number no larger than `new`, since the new number's leading digits are not
    /// smaller than the old ones. Why no state with a larger count can be seen:
    /// - After the process is killed at any point, the file holds a prefix, in program order,
    ///   of these stores: stores a CPU has executed are never lost, and later ones never
    ///   happen. That needs only the compiler to keep the order, which the atomic stores do.
    /// - A reader on another CPU sees them in this order, and sees every store made before
    ///   them (the data the count counts, see [`DataMap::write_at`]) on every architecture,
    ///   if it reads the digits from first to last with acquire loads (or a barrier between
    ///   loads): each store here is a release store (`stlrb` on aarch64, a plain store on
    ///   x86-64, whose stores are ordered anyway), so a reader that sees a new digit also sees
    ///   every later digit and all data stored before it. A fence between the stores would
    ///   not do that alone: `compiler_fence`, used before, orders nothing between CPUs on
    ///   weakly ordered machines (aarch64, POWER).
    /// - A reader whose loads are not ordered (a single `memcpy` of the header: `read(2)`
    ///   copies the page this way) may, on a weakly ordered CPU, take a digit from before and
    ///   another from after a carry (199 becoming 200 read as 299) during the nanoseconds
    ///   between two byte stores. No writer-side order can exclude that for such a reader;
    ///   the same holds for any header written with `pwrite`, which the kernel copies in
    ///   unordered pieces too.
    ///
    /// Returns false (and stores nothing) if the range is outside the map.
    pub(crate) fn store_digits(&mut self, offset: usize, new: &[u8]) -> bool {
        let Some(end) = offset
            .checked_add(new.len())
            .filter(|&end| end <= self.map.len())
        else {
            return false;
        };
        let changed = |i: &usize| self.map[offset + i] != new[*i];
        let first = (0..new.len()).find(changed);
        let last = (0..new.len()).rev().find(changed);
        let (Some(first), Some(last)) = (first, last) else {
            return true;
        };
        let (first, last) = (offset + first, offset + last);
        if last - first < 8 && self.map.len() >= 8 {
            let start = first.min(self.map.len() - 8);
            let mut word = [0u8; 8];
            word.copy_from_slice(&self.map[start..start + 8]);
            word[first - start..=last - start]
                .copy_from_slice(&new[first - offset..=last - offset]);
            fence(Ordering::Release);
            // SAFETY: `start..start + 8` lies within the mapping (checked above), which is
            // borrowed mutably from `self` for this call; an unaligned write is allowed for
            // any address. The bytes of the window outside `first..=last` are stored with the
            // values they hold (under the writer's lock, nobody else changes them).
            unsafe {
                self.map
                    .as_mut_ptr()
                    .add(start)
                    .cast::<u64>()
                    .write_unaligned(u64::from_ne_bytes(word));
            }
            return true;
        }
        let dst = &mut self.map[offset..end];
        for (d, &s) in dst.iter_mut().zip(new).rev() {
            if *d != s {
                // SAFETY: `d` is a valid, writable byte of the mapping (alignment 1 is all an
                // AtomicU8 needs), borrowed mutably from `self` for this call, so nothing in
                // this process accesses it otherwise meanwhile, atomically or not. Other
                // processes sharing the page are outside Rust's memory model; for them the
                // store is a single-byte store with release semantics.
                let byte = unsafe { AtomicU8::from_ptr(std::ptr::from_mut(d)) };
                byte.store(s, Ordering::Release);
            }
        }
        true
    }
}

/// A read-only mapping of the first `len` bytes of a file: a source whose data is read out
/// of order (converted to the other memory order), or the items a [`Reader`](crate::Reader)
/// shows. Its pages are clean page-cache pages, which the kernel reclaims at will: reading a
/// file larger than memory through it is fine. On Windows, its section is exactly as long as
/// the mapping (see `windows::ReadView`), so that writers can still cut what lies past it.
#[derive(Debug)]
pub(crate) struct ReadMap {
    #[cfg(unix)]
    map: Mmap,
    #[cfg(windows)]
    map: windows::ReadView,
}

impl ReadMap {
    /// Maps `len` bytes of `file` (`len` must be at most the file's length and not 0).
    pub(crate) fn new(file: &File, len: usize) -> io::Result<Self> {
        // SAFETY: the mapping is private to this function's caller, read-only and within the
        // file's length. It is only read while the source is being appended; a process that
        // truncated the source meanwhile would make the reads fault (SIGBUS), the hazard of
        // every memory-mapped file, and one that rewrote it would change the values read (as
        // for `np.load(mmap_mode='r')`). Nothing in npaa writes to a source.
        #[cfg(unix)]
        let map = unsafe { MmapOptions::new().len(len).map(file)? };
        #[cfg(windows)]
        let map = windows::ReadView::new(file, len)?;
        Ok(ReadMap { map })
    }

    /// The mapped bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        #[cfg(unix)]
        {
            &self.map
        }
        #[cfg(windows)]
        {
            self.map.bytes()
        }
    }
}

/// How many bytes of a file `len` bytes long a reader maps when it needs the first `needed`:
/// on Unix the whole file, so that items written later need no new mapping; on Windows only
/// `needed`, since a mapping there forbids cutting the file below its end, and the bytes past
/// the counted items are a writer's to cut (a killed writer's block in flight, reserved
/// space).
pub(crate) fn reader_map_len(needed: u64, len: u64) -> u64 {
    if cfg!(windows) { needed } else { len }
}

/// True when `error`, from cutting a file, says that a mapping in another process (or another
/// handle's) covers the bytes to cut: Windows refuses to shorten a file under a live mapping
/// (`ERROR_USER_MAPPED_FILE`); Unix never does.
pub(crate) fn is_mapped_elsewhere(error: &io::Error) -> bool {
    #[cfg(unix)]
    {
        let _ = error;
        false
    }
    #[cfg(windows)]
    {
        windows::is_mapped_elsewhere(error)
    }
}

/// A writable shared mapping of a range of a file past its data: the space a mapped-mode
/// appender reserved (see [`reserve`]) and copies small appends into.
///
/// Like [`HeaderMap`], stores reach the page cache directly: they are visible to readers and
/// survive the death of the process exactly like a `write`.
#[derive(Debug)]
pub(crate) struct DataMap {
    map: MmapMut,
    start: u64,
}

impl DataMap {
    /// Maps `len` bytes of `file` from offset `start` (any offset: the mapping is page-aligned
    /// internally). The range must lie within the file's length.
    pub(crate) fn new(file: &File, start: u64, len: usize) -> io::Result<Self> {
        // SAFETY: the caller maps only space it reserved inside the file's length (`reserve`),
        // and npaa never shrinks the file below the end of a live mapping: every cut drops the
        // mapping first. The exclusive advisory lock keeps cooperating processes from
        // truncating the file; one that ignores the lock and truncates it would make stores
        // fault (SIGBUS), the hazard of every memory-mapped file. Access goes through
        // `&mut self`, so there is no aliasing inside this process.
        let map = unsafe { MmapOptions::new().offset(start).len(len).map_mut(file)? };
        Ok(DataMap { map, start })
    }

    /// Copies `bytes` to file offset `at`. Returns false (and copies nothing) if the range is
    /// not inside the mapping.
    ///
    /// A release fence after the copy orders it before every store this thread makes next,
    /// as other CPUs see them, on every architecture (`dmb ish` on aarch64; on x86-64, whose
    /// stores are never reordered with each other, only the compiler is held back): the
    /// header digits that count these bytes, whether stored through [`HeaderMap`] (release
    /// stores, which would order the copy on their own) or written by the kernel for a
    /// `pwrite` of the header (which would not).
    pub(crate) fn write_at(&mut self, bytes: &[u8], at: u64) -> bool {
        let Some(dst) = at
            .checked_sub(self.start)
            .and_then(|offset| usize::try_from(offset).ok())
            .and_then(|offset| self.map.get_mut(offset..offset.checked_add(bytes.len())?))
        else {
            return false;
        };
        dst.copy_from_slice(bytes);
        fence(Ordering::Release);
        true
    }
}

/// Allocates the blocks of the `len` bytes at `offset` of `file` without changing its length
/// (`fallocate(FALLOC_FL_KEEP_SIZE)`), as `ndarray.tofile` does before a large write: the
/// write that follows then finds its blocks allocated instead of reserving and mapping them
/// page by page (ext4's delayed allocation). `offset` is the file's end. A hint: the caller
/// ignores its failure. macOS allocates past the end with `F_PREALLOCATE`; FreeBSD and
/// others have no call that keeps the length, and do nothing.
pub(crate) fn preallocate(file: &File, offset: u64, len: u64) -> io::Result<()> {
    #[cfg(all(any(target_os = "linux", target_os = "android"), not(npaa_portable)))]
    {
        linux::preallocate(file, offset, len)
    }
    #[cfg(all(target_vendor = "apple", not(npaa_portable)))]
    {
        let _ = offset;
        macos::preallocate(file, len)
    }
    #[cfg(not(any(
        all(any(target_os = "linux", target_os = "android"), not(npaa_portable)),
        all(target_vendor = "apple", not(npaa_portable))
    )))]
    {
        let _ = (file, offset, len);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// The mark that ends space reserved past the data: [`MARK_LEN`] bytes, the last of the file,
/// holding [`MARK_MAGIC`] and then the file's length (little-endian `u64`, the offset just
/// past the mark). See [`is_reserved`].
///
/// The mark lives in the file's bytes, where every reader already ignores it (NumPy reads
/// only the bytes the header counts and ignores the rest), not in an extended attribute or a
/// second file: it needs nothing of the file system, and it goes wherever the file's bytes go
/// (`cp`, `scp`, a download, another operating system). Nothing goes into the header, which
/// stays byte for byte what `np.save` writes and what every other `.npy` reader parses.
pub(crate) const MARK_LEN: u64 = 24;

/// The first 16 bytes of the mark (see [`MARK_LEN`]). Like the `.npy` magic, it opens with
/// `\x93`, which no text writer produces, and ends with a newline, so that a person looking at
/// the tail of the file sees what it is.
const MARK_MAGIC: [u8; 16] = *b"\x93NPAA-reserved\0\n";

/// The mark for reserved space ending at offset `to`: the mark occupies `to..to + MARK_LEN`.
fn mark_at(to: u64) -> [u8; MARK_LEN as usize] {
    let mut mark = [0u8; MARK_LEN as usize];
    mark[..16].copy_from_slice(&MARK_MAGIC);
    mark[16..].copy_from_slice(&(to + MARK_LEN).to_le_bytes());
    mark
}

/// Reserves the space `from..to` of `file`, whose data ends at `from`, for stores through a
/// mapping: marks it first ([`set_reserved_mark`]: the file is then `to + MARK_LEN` long),
/// then allocates its blocks, so that stores through a mapping cannot fail for lack of space.
/// Returns the file's new length.
///
/// At every moment, the bytes of `file` past `from` are either absent or end with the mark
/// that says they are reserved. Fails where the space cannot be allocated (the file is then
/// cut back to `from`).
///
/// Refused on Windows (`Unsupported`: mapped mode falls back to positional writes there): a
/// live mapping of a file, the writer's or a reader's `np.memmap`, forbids cutting it, and
/// closing or recovering must cut the space it reserved.
pub(crate) fn reserve(file: &File, from: u64, to: u64) -> io::Result<u64> {
    if cfg!(windows) {
        return Err(io::Error::from(io::ErrorKind::Unsupported));
    }
    set_reserved_mark(file, to)?;
    if let Err(e) = allocate(file, from, to - from) {
        let _ = file.set_len(from);
        return Err(e);
    }
    Ok(to + MARK_LEN)
}

/// Writes the mark at `to` and makes it the end of `file` (its length becomes
/// `to + MARK_LEN`): the bytes past the end of what the header counts, up to `to`, are then
/// not data (see [`is_reserved`]). [`reserve`] sets it for mapped mode; collective appends set
/// it past the end of a step before any writer writes it (a hole in between reads as zeros and
/// takes no space). Bytes between the header's count and `to` may be written afterwards
/// without touching the mark; never past `to`.
///
/// The mark is written before the length is set, so that a file longer than `to + MARK_LEN`
/// (space reserved before) still ends with a mark at every moment.
pub(crate) fn set_reserved_mark(file: &File, to: u64) -> io::Result<()> {
    family::write_all_at(file, &mark_at(to), to)?;
    file.set_len(to + MARK_LEN)
}

/// True when the bytes of `file` (`file_len` long) past `counted_end` (the end of what its
/// header counts) lie in space a mapped-mode writer or a collective append reserved: zeros,
/// or an append or step that never completed, not data. That is when the file ends with the
/// mark of [`set_reserved_mark`], recording this very length: a file that grew past its mark,
/// or was cut through it, is not reserved, and its bytes past the count are what `recover`
/// restores for any other writer.
///
/// Reads the file only when there are such bytes: no system call otherwise.
pub(crate) fn is_reserved(file: &File, counted_end: u64, file_len: u64) -> bool {
    let Some(at) = file_len.checked_sub(MARK_LEN) else {
        return false;
    };
    if at < counted_end {
        return false;
    }
    let mut found = [0u8; MARK_LEN as usize];
    family::read_exact_at(file, &mut found, at).is_ok() && found == mark_at(at)
}

/// Gives back reserved space: cuts `file` to `end` (the end of its data), which removes the
/// mark with the space it ends, in one step.
pub(crate) fn unreserve(file: &File, end: u64) -> io::Result<()> {
    file.set_len(end)
}

/// Gives back reserved space as [`unreserve`] does where nothing forbids the cut now; where a
/// mapping of the file does (Windows: a reader's `np.memmap` whose section reaches past `end`;
/// under Wine, any mapping of the file), leaves the space as it is, marked, which every reader
/// ignores and the next cut removes (the next close or open of a writer, `recover`). For the
/// cuts that only tidy up (shared mode's), which must not make an append or a close fail
/// because someone reads the file.
pub(crate) fn unreserve_unless_mapped(file: &File, end: u64) -> io::Result<()> {
    match unreserve(file, end) {
        Err(e) if is_mapped_elsewhere(&e) => Ok(()),
        other => other,
    }
}

/// Allocates the blocks of the `len` bytes at `offset`, inside `file`'s length, so that stores
/// to them through a mapping cannot fail for lack of space: `fallocate` on Linux and
/// `posix_fallocate` on FreeBSD where the file system has them, zeros written over them
/// elsewhere (which allocates blocks on every file system: ramfs, vfat, NFSv3 and ZFS have
/// neither call; on macOS, `F_PREALLOCATE` only allocates past the end of a file).
fn allocate(file: &File, offset: u64, len: u64) -> io::Result<()> {
    #[cfg(all(any(target_os = "linux", target_os = "android"), not(npaa_portable)))]
    match linux::preallocate(file, offset, len) {
        Err(e) if e.kind() == io::ErrorKind::Unsupported => {}
        result => return result,
    }
    #[cfg(all(target_os = "freebsd", not(npaa_portable)))]
    if let Some(result) = freebsd::allocate(file, offset, len) {
        return result;
    }
    static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(ZEROS.len() as u64) as usize;
        family::write_all_at(file, &ZEROS[..n], offset + done)?;
        done += n as u64;
    }
    Ok(())
}

/// An unnamed regular file in the directory `dir` (`O_TMPFILE`), readable and writable, that
/// [`link_unnamed`] gives a name once its content is complete. On Windows, a file under a
/// hidden temporary name, renamed by handle (see `windows::create_unnamed`). `None` where the
/// kernel or the file system cannot make one (the caller then creates a named file).
pub(crate) fn create_unnamed(dir: &std::path::Path) -> Option<File> {
    #[cfg(all(any(target_os = "linux", target_os = "android"), not(npaa_portable)))]
    {
        linux::create_unnamed(dir)
    }
    #[cfg(windows)]
    {
        windows::create_unnamed(dir)
    }
    #[cfg(not(any(
        all(any(target_os = "linux", target_os = "android"), not(npaa_portable)),
        windows
    )))]
    {
        let _ = dir;
        None
    }
}

/// Gives a file made by [`create_unnamed`] the name `path` (`linkat` through
/// `/proc/self/fd`; on Windows, a rename through its handle). Fails with `AlreadyExists` if the
/// name is taken: an existing file is never replaced.
pub(crate) fn link_unnamed(file: &File, path: &std::path::Path) -> io::Result<()> {
    #[cfg(all(any(target_os = "linux", target_os = "android"), not(npaa_portable)))]
    {
        linux::link_unnamed(file, path)
    }
    #[cfg(windows)]
    {
        windows::link_unnamed(file, path)
    }
    #[cfg(not(any(
        all(any(target_os = "linux", target_os = "android"), not(npaa_portable)),
        windows
    )))]
    {
        let _ = (file, path);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// Opens `path` for reading and writing, without updating its access time where the kernel
/// allows it (`O_NOATIME`: the file's owner or a privileged process; others fall back to a
/// plain open).
///
/// Opening a file to append to it reads its header; with `relatime`, the first read after a
/// modification updates the access time, an inode write that costs as much as the rest of an
/// open-append-close cycle. npaa reads only its own header, so that update is skipped.
pub(crate) fn open_rw(path: &std::path::Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true);
    #[cfg(all(any(target_os = "linux", target_os = "android"), not(npaa_portable)))]
    if let Some(result) = linux::open_noatime(&options, path) {
        return result;
    }
    options.open(path)
}

/// The length of `file` in bytes.
///
/// Asks with `lseek(SEEK_END)` rather than `fstat`: on Linux 6.13 and later, querying the
/// change time (as `fstat` does) makes the next write store a fine-grained timestamp, an extra
/// inode update per open-append-close cycle. Moves the file offset (npaa's I/O is positional);
/// falls back to `fstat` where seeking fails (pipes).
pub(crate) fn file_len(file: &File) -> io::Result<u64> {
    use std::io::{Seek, SeekFrom};
    let mut f = file;
    match f.seek(SeekFrom::End(0)) {
        Ok(len) => Ok(len),
        Err(_) => Ok(file.metadata()?.len()),
    }
}

/// True while `path` still names the open `file`: false once the file was deleted, or
/// replaced by renaming another file over its path, while open.
///
/// On Unix, the file's link count is 0 then. It is asked with nothing else (`statx` with
/// `STATX_NLINK` only): on Linux 6.13 and later, reading a file's change time (as `fstat`
/// does) makes its next write store a fine-grained timestamp, an extra inode update on the
/// next open-append-close cycle. On Windows, the link count of a file deleted while open does
/// not drop until its handles are closed: the file's identity (volume and file index) is
/// compared with that of the file at `path`, and a pending deletion counts as deleted (so a
/// file moved to another name counts as gone there too, where on Unix it still has a name).
pub(crate) fn still_named(file: &File, path: &Path) -> io::Result<bool> {
    #[cfg(unix)]
    {
        let _ = path;
        #[cfg(all(any(target_os = "linux", target_os = "android"), not(npaa_portable)))]
        if let Some(n) = linux::link_count(file) {
            return Ok(n > 0);
        }
        Ok(unix::link_count(file)? > 0)
    }
    #[cfg(windows)]
    {
        windows::still_named(file, path)
    }
}

/// True when the paths `a` and `b` name the same file: the same device and inode on Unix,
/// the same volume and file index on Windows. Fails if either cannot be opened or asked.
pub(crate) fn same_file(a: &Path, b: &Path) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let (a, b) = (std::fs::metadata(a)?, std::fs::metadata(b)?);
        Ok((a.dev(), a.ino()) == (b.dev(), b.ino()))
    }
    #[cfg(windows)]
    {
        windows::same_file(a, b)
    }
}

/// True when `error`, from an operation on `path`, says that `path` is a directory where a file
/// was expected: `EISDIR` on Unix; on Windows, which refuses to open a directory as a file with
/// "access denied", that error on a path that is a directory (asked only then).
pub(crate) fn is_directory_error(error: &io::Error, path: &Path) -> bool {
    error.kind() == io::ErrorKind::IsADirectory
        || (cfg!(windows) && error.kind() == io::ErrorKind::PermissionDenied && path.is_dir())
}

/// Positional I/O on a file (`pread`/`pwrite` on Unix, `ReadFile`/`WriteFile` at an offset on
/// Windows): the offset is named by every call; the file offset is never relied on (Windows
/// moves it, Unix does not).
pub(crate) trait PositionalIo {
    /// Fills `buf` from offset `offset`, or fails with `UnexpectedEof`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Writes all of `buf` at offset `offset`, extending the file if needed.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
}

impl PositionalIo for File {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        family::read_exact_at(self, buf, offset)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        family::write_all_at(self, buf, offset)
    }
}

/// Takes npaa's exclusive writer lock on `file` without waiting; `WouldBlock` while another
/// open file (any process, any handle) holds it. Readers are never kept out:
/// - on Unix, an advisory `flock` on the whole file (std's `File::try_lock`), which only other
///   lockers see;
/// - on Windows, a lock on one byte far past the end of the file: Windows byte-range locks
///   are mandatory, and one no reader ever reads stops nobody but other lockers (SQLite's
///   way). std's `File::try_lock` would lock the whole file there, and `np.load` in another
///   process would fail while a writer is open.
pub(crate) fn try_lock(file: &File) -> Result<(), TryLockError> {
    #[cfg(unix)]
    {
        file.try_lock()
    }
    #[cfg(windows)]
    {
        windows::try_lock(file)
    }
}

/// Takes the lock of [`try_lock`], waiting for it in the kernel (a blocking `flock`) where the
/// platform can: `None` where it cannot (Windows, whose lock is taken without waiting; the
/// caller polls [`try_lock`] there).
pub(crate) fn lock_blocking(file: &File) -> Option<io::Result<()>> {
    #[cfg(unix)]
    {
        Some(file.lock())
    }
    #[cfg(windows)]
    {
        let _ = file;
        None
    }
}

/// Releases the lock [`try_lock`] took.
pub(crate) fn unlock(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        file.unlock()
    }
    #[cfg(windows)]
    {
        windows::unlock(file)
    }
}

/// Deletes the file at `path`, which the caller holds open (and locked), so that a new file
/// can be created there at once while other handles keep the old one open. On Windows, where
/// a deletion without POSIX semantics keeps the name until the last handle is closed, the file
/// is renamed away first (see `windows::remove_open`).
pub(crate) fn remove_open(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::remove_file(path)
    }
    #[cfg(windows)]
    {
        windows::remove_open(path)
    }
}

/// Moves the file `from` to `to` in one step, replacing the file there, even one that npaa
/// or a reader holds open (`rename`). On Windows, std renames with POSIX semantics where the
/// file system has them; elsewhere there (FAT, older Windows, Wine) a file at `to` that is open
/// is first renamed away (see `windows::replace`), and readers may find no file at `to` for the
/// moment between the two renames.
pub(crate) fn replace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::rename(from, to)
    }
    #[cfg(windows)]
    {
        windows::replace(from, to)
    }
}

/// Makes the entries of the directory `dir` durable (`fsync` of the directory). File systems
/// that cannot sync a directory (`EINVAL`, `ENOTSUP`) are taken to need no such sync; so is
/// Windows, which cannot open a directory to flush it and makes a file's name durable with
/// the file system's own journal (NTFS logs every change of a directory).
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        match File::open(dir).and_then(|d| d.sync_all()) {
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
                ) =>
            {
                Ok(())
            }
            other => other,
        }
    }
    #[cfg(windows)]
    {
        let _ = dir;
        Ok(())
    }
}

/// A [`std::io::Read`] over positional reads of a file from offset 0: reading does not depend
/// on, or move, the file offset.
#[derive(Debug)]
pub(crate) struct ReadAt<'a> {
    file: &'a File,
    pos: u64,
}

impl<'a> ReadAt<'a> {
    /// Reads `file` from its first byte.
    pub(crate) fn new(file: &'a File) -> Self {
        ReadAt { file, pos: 0 }
    }
}

impl io::Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = family::read_at(self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Inserts `len` bytes of zeros at the front of `file`, shifting its content without copying
/// it (`fallocate(FALLOC_FL_INSERT_RANGE)`). `len` must be a multiple of the file system's
/// block size. Fails with `Unsupported`/`InvalidInput` where the file system cannot do it
/// (tmpfs, older kernels, unaligned length).
pub(crate) fn insert_front(file: &File, len: u64) -> io::Result<()> {
    #[cfg(all(any(target_os = "linux", target_os = "android"), not(npaa_portable)))]
    {
        linux::insert_front(file, len)
    }
    #[cfg(not(all(any(target_os = "linux", target_os = "android"), not(npaa_portable))))]
    {
        let _ = (file, len);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// The file system's preferred block size for `file` (the unit of [`insert_front`]). On
/// Windows, which has no [`insert_front`], 4096 (NTFS's usual cluster): only the size of a
/// request that then fails.
pub(crate) fn block_size(file: &File) -> io::Result<u64> {
    #[cfg(unix)]
    {
        Ok(unix::block_size(file)?.max(512))
    }
    #[cfg(windows)]
    {
        let _ = file;
        Ok(4096)
    }
}

/// Copies `len` bytes from `src` at `src_off` to `dst` at `dst_off` inside the kernel where the
/// platform allows it (`copy_file_range` on Linux and FreeBSD 13 and later), falling back to
/// buffered positional I/O. Calls `progress` with the bytes copied so far.
pub(crate) fn copy_range(
    src: &File,
    src_off: u64,
    dst: &File,
    dst_off: u64,
    len: u64,
    progress: &mut dyn FnMut(u64),
) -> io::Result<()> {
    #[cfg(all(any(target_os = "linux", target_os = "android"), not(npaa_portable)))]
    let done = kernel_copy(src_off, dst_off, len, progress, &mut |s, d, n| {
        linux::copy_file_range(src, s, dst, d, n)
    })?;
    #[cfg(all(target_os = "freebsd", not(npaa_portable)))]
    let done = kernel_copy(src_off, dst_off, len, progress, &mut |s, d, n| {
        freebsd::copy_file_range(src, s, dst, d, n)
    })?;
    #[cfg(not(all(
        any(target_os = "linux", target_os = "android", target_os = "freebsd"),
        not(npaa_portable)
    )))]
    let done = 0;
    if done == len {
        return Ok(());
    }
    copy_buffered(
        src,
        src_off + done,
        dst,
        dst_off + done,
        len - done,
        &mut |n| progress(done + n),
    )
}

/// Copies `len` bytes from `src_off` to `dst_off` by repeated calls of `copy_once` (one
/// `copy_file_range` of at most the given length from the two offsets, which it advances),
/// in steps of 64 MiB, calling `progress` with the bytes copied so far. Returns the bytes
/// copied: `len`, or 0 where the kernel or the file systems refuse to copy between these files
/// (`EXDEV`, `ENOSYS`, `EOPNOTSUPP`, `EINVAL` at the first call): the caller then copies them
/// itself.
#[cfg(all(
    any(target_os = "linux", target_os = "android", target_os = "freebsd"),
    not(npaa_portable)
))]
fn kernel_copy(
    src_off: u64,
    dst_off: u64,
    len: u64,
    progress: &mut dyn FnMut(u64),
    copy_once: &mut dyn FnMut(&mut u64, &mut u64, usize) -> io::Result<usize>,
) -> io::Result<u64> {
    use rustix::io::Errno;
    const STEP: u64 = 64 << 20;
    let mut done = 0u64;
    while done < len {
        let mut s = src_off + done;
        let mut d = dst_off + done;
        let want = usize::try_from((len - done).min(STEP)).unwrap_or(usize::MAX);
        match copy_once(&mut s, &mut d, want) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "source ended before the copy was complete",
                ));
            }
            Ok(n) => {
                done += n as u64;
                progress(done);
            }
            Err(e)
                if done == 0
                    && Errno::from_io_error(&e).is_some_and(|e| {
                        [Errno::XDEV, Errno::NOSYS, Errno::OPNOTSUPP, Errno::INVAL].contains(&e)
                    }) =>
            {
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Copies with positional reads and writes through one bounded buffer (8 MiB).
pub(crate) fn copy_buffered(
    src: &File,
    src_off: u64,
    dst: &File,
    dst_off: u64,
    len: u64,
    progress: &mut dyn FnMut(u64),
) -> io::Result<()> {
    const BUF: u64 = 8 << 20;
    let mut buf = vec![0u8; len.min(BUF) as usize];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(BUF) as usize;
        family::read_exact_at(src, &mut buf[..n], src_off + done)?;
        family::write_all_at(dst, &buf[..n], dst_off + done)?;
        done += n as u64;
        progress(done);
    }
    Ok(())
}

/// Moves `len` bytes inside one file from `from` to a higher offset `to`, starting at the end
/// so that nothing is overwritten before it was read.
pub(crate) fn move_up(
    file: &File,
    from: u64,
    to: u64,
    len: u64,
    progress: &mut dyn FnMut(u64),
) -> io::Result<()> {
    const BUF: u64 = 8 << 20;
    debug_assert!(to >= from);
    let mut buf = vec![0u8; len.min(BUF) as usize];
    let mut remaining = len;
    while remaining > 0 {
        let n = remaining.min(BUF);
        let start = remaining - n;
        let chunk = &mut buf[..n as usize];
        family::read_exact_at(file, chunk, from + start)?;
        family::write_all_at(file, chunk, to + start)?;
        remaining = start;
        progress(len - remaining);
    }
    Ok(())
}
