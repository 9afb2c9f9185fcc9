//! POSIX facilities shared by Linux, macOS and FreeBSD: positional I/O, the file metadata
//! std exposes only through `std::os::unix`, and `fcntl` record locks (the region lock).

#![expect(
    unsafe_code,
    reason = "fcntl record locks are a foreign call that takes a pointer to a struct flock"
)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt};

/// Reads into `buf` from `file` at `offset` (`pread`); returns the bytes read.
pub(super) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    file.read_at(buf, offset)
}

/// Fills `buf` from `file` at `offset`, or fails with `UnexpectedEof`.
pub(super) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    file.read_exact_at(buf, offset)
}

/// Writes all of `buf` to `file` at `offset` (`pwrite`, repeated).
pub(super) fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    file.write_all_at(buf, offset)
}

/// `file`'s link count from `fstat`. See [`super::still_named`].
pub(super) fn link_count(file: &File) -> io::Result<u64> {
    Ok(file.metadata()?.nlink())
}

/// `file`'s preferred I/O block size from `fstat` (`st_blksize`). See [`super::block_size`].
pub(super) fn block_size(file: &File) -> io::Result<u64> {
    Ok(file.metadata()?.blksize())
}

/// The byte a region lock locks on Unix ([`super::RegionLock`]): far past any data, so that it
/// never meets the bytes of a file, nor a writer's other locks where those are byte-range
/// locks too.
const REGION_LOCK_BYTE: u64 = i64::MAX as u64 - 1;

/// What a [`record_lock`] request asks for.
#[derive(Clone, Copy, Debug)]
pub(super) enum Record {
    /// A shared lock (`F_RDLCK`).
    Shared,
    /// An exclusive lock (`F_WRLCK`).
    Exclusive,
    /// Releasing the lock held (`F_UNLCK`).
    Unlock,
}

/// One `fcntl` record-lock request on the byte [`REGION_LOCK_BYTE`] of `file`:
/// `command` is `F_SETLK`, `F_SETLKW` or (Linux) their `F_OFD_` forms. A shared lock needs
/// `file` open for reading, an exclusive one for writing.
pub(super) fn record_lock(file: &File, command: libc::c_int, kind: Record) -> io::Result<()> {
    let lock = region_byte(kind);
    // SAFETY: the descriptor is open for as long as `file` is borrowed, and `lock` is a valid
    // `flock` that lives across the call, which reads it and writes no memory of ours.
    if unsafe { libc::fcntl(file.as_raw_fd(), command, &lock) } == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// True when a `kind` lock on the byte [`REGION_LOCK_BYTE`] of `file` would wait now
/// for a lock someone else holds: asked with `command`, `F_GETLK` or (Linux) `F_OFD_GETLK`,
/// which take nothing.
pub(super) fn record_lock_blocked(
    file: &File,
    command: libc::c_int,
    kind: Record,
) -> io::Result<bool> {
    let mut lock = region_byte(kind);
    // SAFETY: as in `record_lock`; the call writes the lock that blocks, if any, into `lock`,
    // which is valid for writes.
    if unsafe { libc::fcntl(file.as_raw_fd(), command, &mut lock) } == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(lock.l_type != libc::F_UNLCK as libc::c_short)
    }
}

/// A `struct flock` for a `kind` lock on the byte [`REGION_LOCK_BYTE`].
fn region_byte(kind: Record) -> libc::flock {
    // SAFETY: `flock` is a plain C struct for which all zeros is a valid value (and the value
    // F_OFD_ commands require of `l_pid`).
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    // The constants are c_int on Linux, c_short on macOS and FreeBSD; all are tiny.
    lock.l_type = match kind {
        Record::Shared => libc::F_RDLCK,
        Record::Exclusive => libc::F_WRLCK,
        Record::Unlock => libc::F_UNLCK,
    } as libc::c_short;
    lock.l_whence = libc::SEEK_SET as libc::c_short;
    lock.l_start = REGION_LOCK_BYTE as libc::off_t;
    lock.l_len = 1;
    lock
}
