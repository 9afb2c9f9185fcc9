//! Mechanisms only Linux has, each behind a platform-neutral function of [`super`] that
//! dispatches here and holds the fallback other systems take: `fallocate` (preallocation,
//! inserting blocks at the front), `O_TMPFILE` + `linkat`, `O_NOATIME`, `statx`,
//! and `copy_file_range`.

use std::fs::File;
use std::io;

use super::unix::Record;

/// `fallocate(FALLOC_FL_KEEP_SIZE)`: allocates the blocks of the `len` bytes at `offset`
/// without changing the file's length. See [`super::preallocate`], [`super::reserve`].
pub(super) fn preallocate(file: &File, offset: u64, len: u64) -> io::Result<()> {
    rustix::fs::fallocate(file, rustix::fs::FallocateFlags::KEEP_SIZE, offset, len)?;
    Ok(())
}

/// `open(O_TMPFILE)` in `dir`. See [`super::create_unnamed`].
pub(super) fn create_unnamed(dir: &std::path::Path) -> Option<File> {
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

/// `linkat` of `/proc/self/fd/N` to `path`. See [`super::link_unnamed`].
pub(super) fn link_unnamed(file: &File, path: &std::path::Path) -> io::Result<()> {
    use rustix::fs::{AtFlags, CWD};
    use std::os::fd::AsRawFd;
    let fd_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    rustix::fs::linkat(CWD, fd_path.as_str(), CWD, path, AtFlags::SYMLINK_FOLLOW)
        .map_err(io::Error::from)
}

/// Opens `path` with `options` and `O_NOATIME`; `None` when the kernel refuses the flag to
/// this process (`EPERM`: not the file's owner), so that the caller opens it plainly. See
/// [`super::open_rw`].
pub(super) fn open_noatime(
    options: &std::fs::OpenOptions,
    path: &std::path::Path,
) -> Option<io::Result<File>> {
    use std::os::unix::fs::OpenOptionsExt;
    let noatime = rustix::fs::OFlags::NOATIME.bits() as i32;
    match options.clone().custom_flags(noatime).open(path) {
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::PERM.raw_os_error()) => None,
        result => Some(result),
    }
}

/// `file`'s link count from `statx(STATX_NLINK)`, or `None` where `statx` fails. See
/// [`super::still_named`].
pub(super) fn link_count(file: &File) -> Option<u64> {
    use rustix::fs::{AtFlags, StatxFlags};
    let st = rustix::fs::statx(file, "", AtFlags::EMPTY_PATH, StatxFlags::NLINK).ok()?;
    Some(u64::from(st.stx_nlink))
}

/// `fallocate(FALLOC_FL_INSERT_RANGE)` of `len` bytes at offset 0. See
/// [`super::insert_front`].
pub(super) fn insert_front(file: &File, len: u64) -> io::Result<()> {
    rustix::fs::fallocate(file, rustix::fs::FallocateFlags::INSERT_RANGE, 0, len)
        .map_err(io::Error::from)
}

/// One `copy_file_range` of up to `len` bytes from `src` at `*src_off` to `dst` at
/// `*dst_off`, advancing both offsets by the bytes copied, which it returns. See
/// [`super::copy_range`].
pub(super) fn copy_file_range(
    src: &File,
    src_off: &mut u64,
    dst: &File,
    dst_off: &mut u64,
    len: usize,
) -> io::Result<usize> {
    rustix::fs::copy_file_range(src, Some(src_off), dst, Some(dst_off), len).map_err(Into::into)
}

/// Takes the region lock on `file`, waiting for it: an open-file-description lock
/// (`F_OFD_SETLKW`) on one byte far past the end (see [`super::unix::record_lock`]), shared
/// or exclusive. It belongs to the open file (every descriptor duplicated from it), not to the
/// process: threads of one process that opened the file separately exclude each other like
/// processes do, and closing another descriptor of the file releases nothing. See
/// [`super::RegionLock`].
pub(super) fn lock_region(file: &File, exclusive: bool) -> io::Result<()> {
    let kind = if exclusive {
        Record::Exclusive
    } else {
        Record::Shared
    };
    loop {
        match super::unix::record_lock(file, libc::F_OFD_SETLKW, kind) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// Releases the lock [`lock_region`] took.
pub(super) fn unlock_region(file: &File) -> io::Result<()> {
    super::unix::record_lock(file, libc::F_OFD_SETLK, Record::Unlock)
}
