//! Space reserved past the data and the mark that ends it ([`MARK_LEN`]): reserving,
//! marking, recognising and giving back such space, and allocating its blocks.

use std::fs::File;
use std::io;

#[cfg(all(target_os = "freebsd", not(npaa_portable)))]
use super::freebsd;
#[cfg(all(any(target_os = "linux", target_os = "android"), not(npaa_portable)))]
use super::linux;
#[cfg(all(target_vendor = "apple", not(npaa_portable)))]
use super::macos;
use super::{family, is_mapped_elsewhere};

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
pub(super) fn mark_at(to: u64) -> [u8; MARK_LEN as usize] {
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
