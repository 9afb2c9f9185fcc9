//! FreeBSD: allocation of reserved space with `posix_fallocate`, behind [`super::reserve`],
//! and the kernel-side copy with `copy_file_range` (FreeBSD 13 and later), behind
//! [`super::copy_range`].
//!
//! Unlike Linux's `fallocate(FALLOC_FL_KEEP_SIZE)`, `posix_fallocate` makes the file longer
//! when the range ends past it, so it is only used for space inside the file's length: the
//! mark is written first (see [`super::reserve`]). Not used for the large-block hint
//! ([`super::preallocate`]), which would lengthen the file before the data is there.
//!
//! Checked here by `cargo clippy --target x86_64-unknown-freebsd` only (scripts/cross-check):
//! not run on FreeBSD.

#![expect(
    unsafe_code,
    reason = "copy_file_range is looked up with dlsym and called through the pointer found; \
              posix_fallocate is a foreign call"
)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::OnceLock;

/// Allocates the blocks of the `len` bytes at `offset`, inside `file`'s length
/// (`posix_fallocate`). `None` where the file system cannot (ZFS answers `EINVAL`): the caller
/// then writes zeros.
pub(super) fn allocate(file: &File, offset: u64, len: u64) -> Option<io::Result<()>> {
    use rustix::io::Errno;
    match rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), offset, len) {
        Err(e) if e == Errno::INVAL || e == Errno::OPNOTSUPP => None,
        result => Some(result.map_err(io::Error::from)),
    }
}

/// The C signature of FreeBSD's `copy_file_range`.
type CopyFileRange = unsafe extern "C" fn(
    libc::c_int,
    *mut libc::off_t,
    libc::c_int,
    *mut libc::off_t,
    libc::size_t,
    libc::c_uint,
) -> libc::ssize_t;

/// libc's `copy_file_range`, looked up once at run time: FreeBSD 13 added it, and a program
/// that named it at link time would not start on FreeBSD 12 (rustix offers it on Linux only).
/// `None` where libc lacks it.
fn copy_file_range_fn() -> Option<CopyFileRange> {
    static FOUND: OnceLock<Option<CopyFileRange>> = OnceLock::new();
    *FOUND.get_or_init(|| {
        // SAFETY: `dlsym` with the pseudo-handle RTLD_DEFAULT and a NUL-terminated name only
        // searches the loaded objects' symbol tables.
        let symbol = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"copy_file_range".as_ptr()) };
        // SAFETY: a non-null result is the address of libc's `copy_file_range`, a function of
        // exactly this signature (copy_file_range(2), FreeBSD 13).
        (!symbol.is_null())
            .then(|| unsafe { std::mem::transmute::<*mut libc::c_void, CopyFileRange>(symbol) })
    })
}

/// One `copy_file_range` of up to `len` bytes from `src` at `*src_off` to `dst` at
/// `*dst_off`, advancing both offsets by the bytes copied, which it returns. `ENOSYS` where
/// libc has no such call (FreeBSD 12). See [`super::copy_range`].
pub(super) fn copy_file_range(
    src: &File,
    src_off: &mut u64,
    dst: &File,
    dst_off: &mut u64,
    len: usize,
) -> io::Result<usize> {
    let Some(call) = copy_file_range_fn() else {
        return Err(io::Error::from_raw_os_error(libc::ENOSYS));
    };
    let offset =
        |o: u64| libc::off_t::try_from(o).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG));
    let (mut s, mut d) = (offset(*src_off)?, offset(*dst_off)?);
    // SAFETY: two descriptors open for the duration of the call, two valid `off_t` the call
    // reads and advances and does not keep, no flags (the only value FreeBSD accepts).
    let n = unsafe { call(src.as_raw_fd(), &mut s, dst.as_raw_fd(), &mut d, len, 0) };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    *src_off += n as u64;
    *dst_off += n as u64;
    Ok(n)
}
