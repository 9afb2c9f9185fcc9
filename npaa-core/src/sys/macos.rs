//! macOS: preallocation with `fcntl(F_PREALLOCATE)`, behind [`super::preallocate`]. (macOS has
//! no `posix_fallocate`; `F_PREALLOCATE` allocates past the physical end of the file without
//! changing its length, which the write that follows then extends into.)
//!
//! Checked here by `cargo clippy --target x86_64-apple-darwin / aarch64-apple-darwin` only
//! (scripts/cross-check): not run on macOS.

#![expect(
    unsafe_code,
    reason = "fcntl(F_PREALLOCATE) is a foreign call that takes a pointer to an fstore_t"
)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Allocates `len` bytes past the physical end of `file` (`F_ALLOCATEALL`: all or nothing),
/// leaving its length unchanged. See [`super::preallocate`].
pub(super) fn preallocate(file: &File, len: u64) -> io::Result<()> {
    let length =
        libc::off_t::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut store = libc::fstore_t {
        fst_flags: libc::F_ALLOCATEALL,
        fst_posmode: libc::F_PEOFPOSMODE,
        fst_offset: 0,
        fst_length: length,
        fst_bytesalloc: 0,
    };
    // SAFETY: the descriptor is open for as long as `file` is borrowed, and `store` is a valid
    // `fstore_t` that lives across the call, which writes only its `fst_bytesalloc`.
    let status = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_PREALLOCATE, &mut store) };
    if status == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
