//! The few operating-system facilities npaa needs beyond `std`: a shared memory map of the header
//! (to update the shape without a system call), inserting blocks at the front of a file, and
//! kernel-side copies. All `unsafe` of the crate lives here.

#![allow(
    unsafe_code,
    reason = "mapping a file needs memmap2's unsafe constructor"
)]

use std::fs::File;
use std::io;
use std::sync::atomic::{Ordering, compiler_fence};

use memmap2::{MmapMut, MmapOptions};

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

    /// Stores `new` over the bytes at `offset`, from the last byte to the first.
    ///
    /// When `new` replaces a decimal number of the same width, every intermediate state seen by
    /// a reader (or left behind if the process dies mid-way) is a valid number no larger than
    /// `new`: the high digits are still the old ones, which are not larger. Each byte store is
    /// kept in that order by a compiler fence; the CPU keeps program order for its own stores
    /// as observed after the process is killed.
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
                *d = s;
                compiler_fence(Ordering::SeqCst);
            }
        }
        true
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
