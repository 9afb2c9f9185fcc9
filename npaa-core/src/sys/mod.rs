//! The few operating-system facilities npaa needs beyond `std`: shared memory maps of the header
//! (to update the shape without a system call) and of space reserved past the data (to append
//! without one) and the mark that ends such space, read-only maps of sources
//! converted to the other memory order, inserting blocks at the front of a file, and
//! kernel-side copies.
//! All `unsafe` of the crate lives here (`maps`, and the platform modules' foreign calls).
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

#[cfg(all(target_os = "freebsd", not(npaa_portable)))]
mod freebsd;
#[cfg(all(any(target_os = "linux", target_os = "android"), not(npaa_portable)))]
mod linux;
#[cfg(all(target_vendor = "apple", not(npaa_portable)))]
mod macos;
mod maps;
mod mark;
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

pub(crate) use maps::{DataMap, HeaderMap, ReadMap, is_mapped_elsewhere, reader_map_len};
use mark::mark_at;
pub(crate) use mark::{
    MARK_LEN, is_reserved, preallocate, reserve, set_reserved_mark, unreserve,
    unreserve_unless_mapped,
};

pub(crate) use region::{
    REGION_TOKEN_LEN, RegionLock, clear_region_token, cut_killed_reservation, has_region_token,
    path_bytes, path_from_bytes, region_lock_blocked, set_region_token,
};

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
