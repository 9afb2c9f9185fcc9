//! Memory maps of a file: the header's ([`HeaderMap`], stored into to update the count
//! without a system call), a window of reserved space ([`DataMap`], appends without one), and
//! read-only views of what readers show ([`ReadMap`]).

#![expect(
    unsafe_code,
    reason = "mapping a file needs memmap2's unsafe constructor; a header digit is stored \
              through an atomic view of the mapped byte"
)]

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicU8, Ordering, fence};

#[cfg(unix)]
use memmap2::Mmap;
use memmap2::{MmapMut, MmapOptions};

#[cfg(windows)]
use super::windows;

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
    ///
    /// Fails with `Unsupported` on Windows, where the caller writes the header with positional
    /// writes instead: there, a mapping made by memmap2 is backed by a section as long as the
    /// whole file, and Windows refuses to cut a file below a live section (`SetEndOfFile`
    /// fails), which rollback and giving back reserved space need.
    pub(crate) fn new(file: &File, len: usize) -> io::Result<Self> {
        if cfg!(windows) {
            return Err(io::Error::from(io::ErrorKind::Unsupported));
        }
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

    /// Stores `new` over the bytes at `offset`: the bytes that change in one unaligned 8-byte
    /// store when they lie within 8 bytes (every count below 10^8, and most changes of any
    /// count), after a release fence; otherwise from the last byte to the first, each with a
    /// release store.
    ///
    /// The single store matters to readers while other writers append (shared mode: every
    /// count a reader can see must end a whole block): a store is one instruction, which a
    /// writer preempted or killed never leaves half done, where byte stores leave states in
    /// between for as long as the writer is off its CPU (1099 becoming 1103 passes through
    /// 1093, a count inside an earlier block).
    ///
    /// Byte by byte, when `new` replaces a decimal number of the same width (a count that
    /// grows), the states in between have the old high digits and the new low ones: each is a
    /// valid number no larger than `new`, since the new number's leading digits are not
    /// smaller than the old ones. Why no state with a larger count can be seen:
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
    pub(crate) fn store_digits(&mut self, offset: usize, new: &[u8]) -> bool {
        let Some(end) = offset
            .checked_add(new.len())
            .filter(|&end| end <= self.map.len())
        else {
            return false;
        };
        let changed = |i: &usize| self.map[offset + i] != new[*i];
        let first = (0..new.len()).find(changed);
        let last = (0..new.len()).rev().find(changed);
        let (Some(first), Some(last)) = (first, last) else {
            return true;
        };
        let (first, last) = (offset + first, offset + last);
        if last - first < 8 && self.map.len() >= 8 {
            let start = first.min(self.map.len() - 8);
            let mut word = [0u8; 8];
            word.copy_from_slice(&self.map[start..start + 8]);
            word[first - start..=last - start]
                .copy_from_slice(&new[first - offset..=last - offset]);
            fence(Ordering::Release);
            // SAFETY: `start..start + 8` lies within the mapping (checked above), which is
            // borrowed mutably from `self` for this call; an unaligned write is allowed for
            // any address. The bytes of the window outside `first..=last` are stored with the
            // values they hold (under the writer's lock, nobody else changes them).
            unsafe {
                self.map
                    .as_mut_ptr()
                    .add(start)
                    .cast::<u64>()
                    .write_unaligned(u64::from_ne_bytes(word));
            }
            return true;
        }
        let dst = &mut self.map[offset..end];
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
/// of order (converted to the other memory order), or the items a [`Reader`](crate::Reader)
/// shows. Its pages are clean page-cache pages, which the kernel reclaims at will: reading a
/// file larger than memory through it is fine. On Windows, its section is exactly as long as
/// the mapping (see `windows::ReadView`), so that writers can still cut what lies past it.
#[derive(Debug)]
pub(crate) struct ReadMap {
    #[cfg(unix)]
    map: Mmap,
    #[cfg(windows)]
    map: windows::ReadView,
}

impl ReadMap {
    /// Maps `len` bytes of `file` (`len` must be at most the file's length and not 0).
    pub(crate) fn new(file: &File, len: usize) -> io::Result<Self> {
        // SAFETY: the mapping is private to this function's caller, read-only and within the
        // file's length. It is only read while the source is being appended; a process that
        // truncated the source meanwhile would make the reads fault (SIGBUS), the hazard of
        // every memory-mapped file, and one that rewrote it would change the values read (as
        // for `np.load(mmap_mode='r')`). Nothing in npaa writes to a source.
        #[cfg(unix)]
        let map = unsafe { MmapOptions::new().len(len).map(file)? };
        #[cfg(windows)]
        let map = windows::ReadView::new(file, len)?;
        Ok(ReadMap { map })
    }

    /// The mapped bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        #[cfg(unix)]
        {
            &self.map
        }
        #[cfg(windows)]
        {
            self.map.bytes()
        }
    }
}

/// How many bytes of a file `len` bytes long a reader maps when it needs the first `needed`:
/// on Unix the whole file, so that items written later need no new mapping; on Windows only
/// `needed`, since a mapping there forbids cutting the file below its end, and the bytes past
/// the counted items are a writer's to cut (a killed writer's block in flight, reserved
/// space).
pub(crate) fn reader_map_len(needed: u64, len: u64) -> u64 {
    if cfg!(windows) { needed } else { len }
}

/// True when `error`, from cutting a file, says that a mapping in another process (or another
/// handle's) covers the bytes to cut: Windows refuses to shorten a file under a live mapping
/// (`ERROR_USER_MAPPED_FILE`); Unix never does.
pub(crate) fn is_mapped_elsewhere(error: &io::Error) -> bool {
    #[cfg(unix)]
    {
        let _ = error;
        false
    }
    #[cfg(windows)]
    {
        windows::is_mapped_elsewhere(error)
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
