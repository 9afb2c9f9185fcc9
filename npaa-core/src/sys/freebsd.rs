//! FreeBSD: allocation of reserved space with `posix_fallocate`, behind [`super::reserve`].
//! Unlike Linux's `fallocate(FALLOC_FL_KEEP_SIZE)`, `posix_fallocate` makes the file longer
//! when the range ends past it, so it is only used for space inside the file's length: the
//! mark is written first (see [`super::reserve`]). Not used for the large-block hint
//! ([`super::preallocate`]), which would lengthen the file before the data is there.
//!
//! Checked here by `cargo clippy --target x86_64-unknown-freebsd` only (scripts/cross-check):
//! not run on FreeBSD.

use std::fs::File;
use std::io;

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
