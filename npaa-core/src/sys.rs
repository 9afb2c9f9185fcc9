//! The few operating-system facilities npaa needs beyond `std`: shared memory maps of the header
//! (to update the shape without a system call) and of space reserved past the data (to append
//! without one), the extended attribute that marks such space, read-only maps of sources
//! converted to the other memory order, inserting blocks at the front of a file, kernel-side
//! copies, and the two facts about the process that tell whether closing a locked file must
//! release its lock explicitly ([`single_threaded`], [`fork_generation`]).
//! All `unsafe` of the crate lives here.

#![expect(
    unsafe_code,
    reason = "mapping a file needs memmap2's unsafe constructor; reading glibc's \
              single-thread flag and registering a fork handler are foreign calls"
)]

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicU8, Ordering, fence};

use memmap2::{Mmap, MmapMut, MmapOptions};

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
    pub(crate) fn new(file: &File, len: usize) -> io::Result<Self> {
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

    /// Stores `new` over the bytes at `offset`, from the last byte to the first, each with a
    /// release store.
    ///
    /// When `new` replaces a decimal number of the same width (a count that grows), the
    /// states in between have the old high digits and the new low ones: each is a valid
    /// number no larger than `new`, since the new number's leading digits are not smaller than
    /// the old ones. Why no state with a larger count can be seen:
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
    pub(crate) fn store_descending(&mut self, offset: usize, new: &[u8]) -> bool {
        let Some(dst) = offset
            .checked_add(new.len())
            .and_then(|end| self.map.get_mut(offset..end))
        else {
            return false;
        };
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
/// of order (converted to the other memory order). Its pages are clean page-cache pages, which
/// the kernel reclaims at will: reading a file larger than memory through it is fine.
#[derive(Debug)]
pub(crate) struct ReadMap {
    map: Mmap,
}

impl ReadMap {
    /// Maps `len` bytes of `file` (`len` must be at most the file's length and not 0).
    pub(crate) fn new(file: &File, len: usize) -> io::Result<Self> {
        // SAFETY: the mapping is private to this function's caller, read-only and within the
        // file's length. It is only read while the source is being appended; a process that
        // truncated the source meanwhile would make the reads fault (SIGBUS), the hazard of
        // every memory-mapped file, and one that rewrote it would change the values read (as
        // for `np.load(mmap_mode='r')`). Nothing in npaa writes to a source.
        let map = unsafe { MmapOptions::new().len(len).map(file)? };
        Ok(ReadMap { map })
    }

    /// The mapped bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.map
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

/// The extended attribute that marks reserved space: its value is the file length, in decimal,
/// that the reservation gave the file. See [`is_reserved`].
const RESERVED_XATTR: &str = "user.npaa.reserved";

/// Allocates the blocks of the `len` bytes at `offset` of `file` without changing its length
/// (`fallocate(FALLOC_FL_KEEP_SIZE)`), as `ndarray.tofile` does before a large write: the
/// write that follows then finds its blocks allocated instead of reserving and mapping them
/// page by page (ext4's delayed allocation). A hint: the caller ignores its failure.
pub(crate) fn preallocate(file: &File, offset: u64, len: u64) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        rustix::fs::fallocate(file, rustix::fs::FallocateFlags::KEEP_SIZE, offset, len)?;
        Ok(())
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (file, offset, len);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// Reserves space past the current end `from` of `file` up to `to`: allocates the blocks first
/// (so that stores through a mapping cannot fail for lack of space), then records `to` in the
/// file's `user.npaa.reserved` attribute, then sets the length to `to` in one step.
///
/// At every moment, a file whose length is larger than `from` carries the mark that says so.
/// Fails (leaving the length at `from`) where the file system cannot preallocate or store
/// user extended attributes.
pub(crate) fn reserve(file: &File, from: u64, to: u64) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::FallocateFlags;
        rustix::fs::fallocate(file, FallocateFlags::KEEP_SIZE, from, to - from)?;
        set_reserved_mark(file, to)?;
        file.set_len(to)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (file, from, to);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// Records `to` in `file`'s `user.npaa.reserved` mark without changing its length: the bytes
/// past the end of what the header counts, up to `to`, are then not data (see
/// [`is_reserved`]). [`reserve`] sets it for mapped mode; collective appends set it to the end
/// of a step before any writer writes it. Fails where the file system cannot store user
/// extended attributes.
pub(crate) fn set_reserved_mark(file: &File, to: u64) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let mut buf = [0u8; 20];
        let value = crate::fmt::digits(to, &mut buf);
        rustix::fs::fsetxattr(file, RESERVED_XATTR, value, rustix::fs::XattrFlags::empty())
            .map_err(io::Error::from)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (file, to);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// True when the bytes of `file` (`file_len` long) past `counted_end` (the end of what its
/// header counts) lie in space a mapped-mode writer reserved: zeros, or an append that never
/// completed, not data. That is when the file carries a mark and is no longer than the length
/// the mark records (a file cut after its writer was killed still qualifies; one that grew
/// past the reservation does not).
///
/// Asks the file system only when there are such bytes: no system call otherwise.
pub(crate) fn is_reserved(file: &File, counted_end: u64, file_len: u64) -> bool {
    file_len > counted_end && reserved_mark(file).is_some_and(|end| file_len <= end)
}

/// The length recorded by [`reserve`] in `file`'s mark, if it has one.
fn reserved_mark(file: &File) -> Option<u64> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let mut buf = [0u8; 24];
        let n = rustix::fs::fgetxattr(file, RESERVED_XATTR, &mut buf).ok()?;
        std::str::from_utf8(buf.get(..n)?).ok()?.parse().ok()
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = file;
        None
    }
}

/// Gives back reserved space: cuts `file` to `end` (the end of its data), then removes its
/// reservation mark, in that order, so that reserved bytes are never left unmarked. A writer
/// killed between the two leaves a stale mark on a file with no reserved bytes; see
/// [`clear_reserved_mark`].
pub(crate) fn unreserve(file: &File, end: u64) -> io::Result<()> {
    file.set_len(end)?;
    clear_reserved_mark(file)
}

/// Removes `file`'s reservation mark, if any: [`unreserve`] does, and so does opening a file
/// in a mode whose appended bytes may stay uncounted for a while, so that a stale mark can
/// never make them look reserved.
pub(crate) fn clear_reserved_mark(file: &File) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        match rustix::fs::fremovexattr(file, RESERVED_XATTR) {
            Err(e) if e == rustix::io::Errno::NODATA || e == rustix::io::Errno::NOTSUP => Ok(()),
            other => other.map_err(io::Error::from),
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = file;
        Ok(())
    }
}

/// An unnamed regular file in the directory `dir` (`O_TMPFILE`), readable and writable, that
/// [`link_unnamed`] gives a name once its content is complete. `None` where the kernel or the
/// file system cannot make one (the caller then creates a named file).
pub(crate) fn create_unnamed(dir: &std::path::Path) -> Option<File> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{CWD, Mode, OFlags};
        rustix::fs::openat(
            CWD,
            dir,
            OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o666),
        )
        .ok()
        .map(File::from)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = dir;
        None
    }
}

/// Gives a file made by [`create_unnamed`] the name `path` (`linkat` through
/// `/proc/self/fd`). Fails with `AlreadyExists` if the name is taken: an existing file is never
/// replaced.
pub(crate) fn link_unnamed(file: &File, path: &std::path::Path) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{AtFlags, CWD};
        use std::os::fd::AsRawFd;
        let fd_path = format!("/proc/self/fd/{}", file.as_raw_fd());
        rustix::fs::linkat(CWD, fd_path.as_str(), CWD, path, AtFlags::SYMLINK_FOLLOW)
            .map_err(io::Error::from)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
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
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let noatime = rustix::fs::OFlags::NOATIME.bits() as i32;
        match options.clone().custom_flags(noatime).open(path) {
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::PERM.raw_os_error()) => {}
            result => return result,
        }
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

/// How many names (hard links) the open `file` has: 0 once it was deleted, or replaced by
/// renaming another file over its path, while open.
///
/// Asks for nothing else (`statx` with `STATX_NLINK` only): on Linux 6.13 and later, reading a
/// file's change time (as `fstat` does) makes its next write store a fine-grained timestamp,
/// an extra inode update on the next open-append-close cycle.
pub(crate) fn link_count(file: &File) -> io::Result<u64> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{AtFlags, StatxFlags};
        if let Ok(st) = rustix::fs::statx(file, "", AtFlags::EMPTY_PATH, StatxFlags::NLINK) {
            return Ok(u64::from(st.stx_nlink));
        }
    }
    use std::os::unix::fs::MetadataExt;
    Ok(file.metadata()?.nlink())
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
        use std::os::unix::fs::FileExt;
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Inserts `len` bytes of zeros at the front of `file`, shifting its content without copying
/// it (`fallocate(FALLOC_FL_INSERT_RANGE)`). `len` must be a multiple of the file system's
/// block size. Fails with `Unsupported`/`InvalidInput` where the file system cannot do it
/// (tmpfs, older kernels, unaligned length).
pub(crate) fn insert_front(file: &File, len: u64) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        rustix::fs::fallocate(file, rustix::fs::FallocateFlags::INSERT_RANGE, 0, len)
            .map_err(io::Error::from)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (file, len);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// The file system's preferred block size for `file` (the unit of [`insert_front`]).
pub(crate) fn block_size(file: &File) -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(file.metadata()?.blksize().max(512))
}

/// Copies `len` bytes from `src` at `src_off` to `dst` at `dst_off` inside the kernel where the
/// platform allows it (`copy_file_range`), falling back to buffered positional I/O. Calls
/// `progress` with the bytes copied so far.
pub(crate) fn copy_range(
    src: &File,
    src_off: u64,
    dst: &File,
    dst_off: u64,
    len: u64,
    progress: &mut dyn FnMut(u64),
) -> io::Result<()> {
    const STEP: u64 = 64 << 20;
    let mut done = 0u64;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        while done < len {
            let mut s = src_off + done;
            let mut d = dst_off + done;
            let want = usize::try_from((len - done).min(STEP)).unwrap_or(usize::MAX);
            match rustix::fs::copy_file_range(src, Some(&mut s), dst, Some(&mut d), want) {
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
                Err(e) if done == 0 && is_copy_unsupported(e) => break,
                Err(e) => return Err(e.into()),
            }
        }
        if done == len {
            return Ok(());
        }
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

#[cfg(any(target_os = "linux", target_os = "android"))]
fn is_copy_unsupported(e: rustix::io::Errno) -> bool {
    use rustix::io::Errno;
    e == Errno::XDEV || e == Errno::NOSYS || e == Errno::OPNOTSUPP || e == Errno::INVAL
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
    use std::os::unix::fs::FileExt;
    const BUF: u64 = 8 << 20;
    let mut buf = vec![0u8; len.min(BUF) as usize];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(BUF) as usize;
        src.read_exact_at(&mut buf[..n], src_off + done)?;
        dst.write_all_at(&buf[..n], dst_off + done)?;
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
    use std::os::unix::fs::FileExt;
    const BUF: u64 = 8 << 20;
    debug_assert!(to >= from);
    let mut buf = vec![0u8; len.min(BUF) as usize];
    let mut remaining = len;
    while remaining > 0 {
        let n = remaining.min(BUF);
        let start = remaining - n;
        let chunk = &mut buf[..n as usize];
        file.read_exact_at(chunk, from + start)?;
        file.write_all_at(chunk, to + start)?;
        remaining = start;
        progress(len - remaining);
    }
    Ok(())
}

/// True when the process is known to have a single thread: glibc's `__libc_single_threaded`
/// flag (glibc 2.32 and later, `<sys/single_threaded.h>`) is set. False whenever that cannot be
/// known: the flag is missing (older glibc, a statically linked program where it cannot be
/// looked up), or the C library is not glibc or the system not Linux.
///
/// Closing a locked file uses it ([`crate::file::Locked`]): with one thread, no other
/// thread can be starting a child process (`fork`, `posix_spawn`) at the moment of closing, and
/// such a child is the only thing besides a fork of our own thread (see [`fork_generation`])
/// that can share the open file and keep its lock held after we close our descriptor. The
/// glibc manual documents the flag for exactly this kind of optimisation: doing less work
/// while the process is known to be single-threaded.
///
/// glibc sets the flag to false when the first thread is created (`pthread_create`, hence
/// every `std::thread::spawn`), and possibly on other occasions (the manual names `dlopen`);
/// glibc 2.36 never sets it back to true in a process that had threads, even after they all
/// exited. A future glibc that did so would still be right for this purpose: the flag would
/// say that no other thread exists now, which is what matters at the moment of closing.
///
/// Limits: a thread created by a raw `clone` system call that bypasses glibc does not clear
/// the flag, and is not seen.
///
/// The symbol's address is looked up at run time, once (`dlsym`), rather than linked: the
/// crate still links and runs against glibc older than 2.32, where this returns false.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn single_threaded() -> bool {
    use std::sync::OnceLock;
    /// The address of `__libc_single_threaded`, or 0 when the symbol does not exist.
    static FLAG: OnceLock<usize> = OnceLock::new();
    let address = *FLAG.get_or_init(|| {
        // SAFETY: `dlsym` is given the pseudo-handle `RTLD_DEFAULT` (search the global scope)
        // and a NUL-terminated C string literal that lives for the whole program; it returns
        // the symbol's address or null, and reads nothing else of ours. It only looks the
        // symbol up: nothing is dereferenced here.
        let symbol = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"__libc_single_threaded".as_ptr()) };
        symbol as usize
    });
    if address == 0 {
        return false;
    }
    // SAFETY: a non-null `address` is glibc's `char __libc_single_threaded`, a one-byte
    // variable in libc's data that exists for the whole life of the process, so the read is
    // in bounds and aligned. There is no data race in practice: glibc writes the byte only in
    // the thread that creates the first thread, before that thread exists (pthread_create
    // tests the flag and writes false only while it is still true), and glibc 2.36 never
    // writes it back; so while another thread exists that could read it concurrently, nobody
    // writes it. The read is volatile so that it is made each time and not folded with an
    // earlier one.
    let flag = unsafe { std::ptr::read_volatile(address as *const libc::c_char) };
    flag != 0
}

/// [`single_threaded`] where glibc's flag does not exist: never known.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn single_threaded() -> bool {
    false
}

/// How many times the process has forked through glibc's `fork` since npaa first asked, or
/// `None` when forks cannot be counted here (then a caller must assume one happened).
///
/// The first call registers a prepare handler with `pthread_atfork`, once for the process,
/// and reads the count after registering: every `fork` from then on, from any thread, runs the
/// handler before the child is created and increments the count, so that a value read before
/// a fork is always different from one read after it. A child made by `fork` without `exec`
/// (a worker process, say) shares every open file of its parent, and with it the parent's
/// `flock` locks, which belong to the open file: [`crate::file::Locked`] compares the count
/// at opening and at closing to know whether such a child may still hold its file.
///
/// Not counted, and not needed: `posix_spawn` and `vfork` (glibc's `system` and `popen`, and
/// `std::process::Command`, use them) run no fork handlers, but the thread that calls them is
/// suspended until the child executes its program or exits; the child then closes its copy
/// of npaa's files, which are opened close-on-exec, so it holds none afterwards. Where
/// `Command` falls back to `fork`, the handler counts it (a harmless over-count).
///
/// Limits: forks that bypass glibc's `fork` are not counted (a raw `clone` or `fork` system
/// call, glibc's `_Fork`), nor is a fork made by a signal handler that runs between a caller's
/// check and its `close`.
///
/// `None` where `pthread_atfork` failed (out of memory) or on other systems than Linux with
/// glibc.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn fork_generation() -> Option<u64> {
    use std::sync::OnceLock;
    use std::sync::atomic::AtomicU64;
    /// Forks counted since the handler was registered.
    static FORKS: AtomicU64 = AtomicU64::new(0);
    /// Whether the handler is registered (set once, by the first call).
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    /// The prepare handler: runs in the forking thread just before the child is created.
    extern "C" fn count_fork() {
        FORKS.fetch_add(1, Ordering::SeqCst);
    }
    let registered = *REGISTERED.get_or_init(|| {
        // SAFETY: `count_fork` is a function with the C ABI and no arguments, as
        // `pthread_atfork` expects, and it lives for the whole program (glibc's wrapper
        // unregisters it if this library is unloaded). It is registered once (`OnceLock`). It
        // only does an atomic add on a static, which is async-signal-safe, so it is sound
        // wherever glibc calls it: in any thread that forks, even from a signal handler, and
        // while other threads hold locks.
        unsafe { libc::pthread_atfork(Some(count_fork), None, None) == 0 }
    });
    registered.then(|| FORKS.load(Ordering::SeqCst))
}

/// [`fork_generation`] where forks cannot be counted: `None`, "assume a fork happened".
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn fork_generation() -> Option<u64> {
    None
}
