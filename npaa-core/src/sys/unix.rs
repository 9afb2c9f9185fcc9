//! POSIX facilities shared by Linux, macOS and FreeBSD: positional I/O and the file metadata
//! std exposes only through `std::os::unix`.

use std::fs::File;
use std::io;
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
