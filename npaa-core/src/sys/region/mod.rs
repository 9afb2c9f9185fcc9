//! Region writes' share of the platform layer: the token that says a region write is open,
//! kept in the reserved tail with the mark ([`set_region_token`]), and the region lock
//! ([`RegionLock`]) under which chunk writers check it and write. Dispatches to `linux`
//! (open-file-description locks), `windows` (handle locks) and `posix_lock` (a process-wide
//! registry of POSIX record locks: macOS, FreeBSD, Linux under `npaa_portable`).

use std::fs::File;
use std::io;
use std::path::Path;

#[cfg(all(
    unix,
    any(npaa_portable, not(any(target_os = "linux", target_os = "android")))
))]
mod posix_lock;

#[cfg(unix)]
use super::unix;
use super::{
    MARK_LEN, family, file_len, is_mapped_elsewhere, mark_at, set_reserved_mark, unreserve,
};

/// The module whose `lock_region` and `unlock_region` lock a file's region lock per open file
/// (see [`RegionLock`]); elsewhere `posix_lock` keeps a process-wide registry instead.
#[cfg(all(any(target_os = "linux", target_os = "android"), not(npaa_portable)))]
use super::linux as handle_lock;
#[cfg(windows)]
use super::windows as handle_lock;

/// Cuts reserved space that a killed writer left (see [`unreserve`]): first takes the region
/// lock exclusively ([`RegionLock`]), so that the chunk writers of a region write whose driver
/// was killed, which may still run, finish their chunk first; they find no token afterwards
/// (it goes with the cut) and write nothing more. Without the lock, a chunk written after the
/// cut would extend the file with bytes no header counts and no mark covers, which a later
/// `recover` would take for items.
///
/// With `unless_mapped` (shared mode's cuts, which only tidy up), a cut that a mapping of the
/// file forbids now is left for later, as
/// [`unreserve_unless_mapped`](super::unreserve_unless_mapped) leaves it; the token of a
/// region write in that space, if any, is zeroed instead, so that its chunk writers stop all
/// the same.
pub(crate) fn cut_killed_reservation(file: &File, end: u64, unless_mapped: bool) -> io::Result<()> {
    let _lock = RegionLock::exclusive(file)?;
    match unreserve(file, end) {
        Err(e) if unless_mapped && is_mapped_elsewhere(&e) => {
            let len = file_len(file)?;
            match len.checked_sub(MARK_LEN + REGION_TOKEN_LEN) {
                Some(token_at) if token_at >= end => clear_region_token(file, token_at),
                _ => Ok(()),
            }
        }
        other => other,
    }
}

/// The bytes of a region write's token, which lies between the extent of its block and the
/// reservation mark ([`set_region_token`]).
pub(crate) const REGION_TOKEN_LEN: u64 = 8;

/// Opens a region write on `file`: marks the space past its data up to `block_end`, and the
/// token after it, as reserved ([`set_reserved_mark`] at `block_end + REGION_TOKEN_LEN`), then
/// writes `token` (not 0) at `block_end`. The file is then
/// `[header][data][block extent][token][mark]`: the token lies in the reserved tail, which
/// every cut of a killed writer's space removes with it. The token is written after the mark,
/// so that the file ends with a mark at every moment.
pub(crate) fn set_region_token(file: &File, block_end: u64, token: u64) -> io::Result<()> {
    set_reserved_mark(file, block_end + REGION_TOKEN_LEN)?;
    family::write_all_at(file, &token.to_le_bytes(), block_end)
}

/// True while `file` holds the region write `token` of [`set_region_token`] at `block_end`,
/// followed by its mark: the region write is open. One read of the token and mark; false if
/// the file is shorter, or holds anything else there (the region write ended, the file was
/// cut or replaced).
pub(crate) fn has_region_token(file: &File, block_end: u64, token: u64) -> bool {
    const LEN: usize = (REGION_TOKEN_LEN + MARK_LEN) as usize;
    let mut found = [0u8; LEN];
    family::read_exact_at(file, &mut found, block_end).is_ok()
        && found[..REGION_TOKEN_LEN as usize] == token.to_le_bytes()
        && found[REGION_TOKEN_LEN as usize..] == mark_at(block_end + REGION_TOKEN_LEN)
}

/// Ends the region write of [`set_region_token`] for its chunk writers: zeros over its token,
/// which no writer then matches. The space stays reserved (the mark stays) until the caller
/// cuts it.
pub(crate) fn clear_region_token(file: &File, block_end: u64) -> io::Result<()> {
    family::write_all_at(file, &[0; REGION_TOKEN_LEN as usize], block_end)
}

/// A file's region lock, held until dropped: shared by each writer of a chunk of a region
/// write for the duration of its write, exclusive by the driver before it ends the region write
/// and by whoever cuts a killed writer's reserved space ([`cut_killed_reservation`]), so that
/// they wait for every chunk being written. It excludes threads as well as processes, and
/// nothing else (readers and the writer lock never meet it):
/// - on Linux, an open-file-description lock (`F_OFD_SETLKW`) on one byte far past the end;
/// - on Windows, `LockFileEx` on the byte after the writer lock's (per handle, like Linux's);
/// - elsewhere (macOS, FreeBSD, Linux under `npaa_portable`), a POSIX `fcntl` record lock,
///   which belongs to the process: a process-wide registry holds it for the process's
///   threads (see `posix_lock`, and its caveat about closing other descriptors of the file).
#[derive(Debug)]
pub(crate) struct RegionLock<'a> {
    held: Held<'a>,
}

/// How a [`RegionLock`] is held.
#[derive(Debug)]
enum Held<'a> {
    /// On a file the lock opened (a chunk writer's).
    #[cfg(any(
        windows,
        all(any(target_os = "linux", target_os = "android"), not(npaa_portable))
    ))]
    Own(File),
    /// On the caller's file.
    #[cfg(any(
        windows,
        all(any(target_os = "linux", target_os = "android"), not(npaa_portable))
    ))]
    Borrowed(&'a File),
    /// By the process's registry.
    #[cfg(all(
        unix,
        any(npaa_portable, not(any(target_os = "linux", target_os = "android")))
    ))]
    Process(posix_lock::Held, std::marker::PhantomData<&'a File>),
}

impl RegionLock<'static> {
    /// Opens the file at `path` for reading and writing and takes its region lock shared,
    /// waiting for it: a chunk writer's lock, which it writes through ([`file`](Self::file)).
    pub(crate) fn shared(path: &Path) -> io::Result<Self> {
        #[cfg(any(
            windows,
            all(any(target_os = "linux", target_os = "android"), not(npaa_portable))
        ))]
        {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)?;
            handle_lock::lock_region(&file, false)?;
            Ok(RegionLock {
                held: Held::Own(file),
            })
        }
        #[cfg(all(
            unix,
            any(npaa_portable, not(any(target_os = "linux", target_os = "android")))
        ))]
        {
            Ok(RegionLock {
                held: Held::Process(posix_lock::Held::shared(path)?, std::marker::PhantomData),
            })
        }
    }
}

impl<'a> RegionLock<'a> {
    /// Takes the region lock of `file` (open for reading and writing) exclusively, waiting for
    /// every holder, in this process or another, to release it.
    pub(crate) fn exclusive(file: &'a File) -> io::Result<Self> {
        #[cfg(any(
            windows,
            all(any(target_os = "linux", target_os = "android"), not(npaa_portable))
        ))]
        {
            handle_lock::lock_region(file, true)?;
            Ok(RegionLock {
                held: Held::Borrowed(file),
            })
        }
        #[cfg(all(
            unix,
            any(npaa_portable, not(any(target_os = "linux", target_os = "android")))
        ))]
        {
            Ok(RegionLock {
                held: Held::Process(posix_lock::Held::exclusive(file)?, std::marker::PhantomData),
            })
        }
    }

    /// The locked file, open for reading and writing.
    pub(crate) fn file(&self) -> &File {
        match &self.held {
            #[cfg(any(
                windows,
                all(any(target_os = "linux", target_os = "android"), not(npaa_portable))
            ))]
            Held::Own(file) => file,
            #[cfg(any(
                windows,
                all(any(target_os = "linux", target_os = "android"), not(npaa_portable))
            ))]
            Held::Borrowed(file) => file,
            #[cfg(all(
                unix,
                any(npaa_portable, not(any(target_os = "linux", target_os = "android")))
            ))]
            Held::Process(held, _) => held.file(),
        }
    }
}

impl Drop for RegionLock<'_> {
    fn drop(&mut self) {
        // Best effort: closing the file (or the process's end) releases the lock in any case.
        #[cfg(any(
            windows,
            all(any(target_os = "linux", target_os = "android"), not(npaa_portable))
        ))]
        let _ = handle_lock::unlock_region(self.file());
    }
}

/// True when a chunk writer could not take `file`'s region lock now (shared): someone holds it
/// exclusively, or holds a lock that covers its byte. Asked by the driver of a region write
/// under its writer lock, before anything is written: where the writer lock (a `flock`) is
/// itself kept as a whole-file record lock, chunk writers would wait for the driver forever.
/// That is the case on macOS and FreeBSD, and on Linux NFS mounts (which emulate `flock`
/// with the server's record locks, unless mounted with `local_lock=flock`); never on Linux's
/// local file systems, nor on Windows, whose writer lock is one byte apart from the region
/// lock's.
pub(crate) fn region_lock_blocked(file: &File) -> io::Result<bool> {
    #[cfg(all(any(target_os = "linux", target_os = "android"), not(npaa_portable)))]
    {
        unix::record_lock_blocked(file, libc::F_OFD_GETLK, unix::Record::Shared)
    }
    #[cfg(all(
        unix,
        any(npaa_portable, not(any(target_os = "linux", target_os = "android")))
    ))]
    {
        unix::record_lock_blocked(file, libc::F_GETLK, unix::Record::Shared)
    }
    #[cfg(windows)]
    {
        let _ = file;
        Ok(false)
    }
}

/// A path from the bytes of [`path_bytes`], `None` if they cannot be one here.
pub(crate) fn path_from_bytes(bytes: &[u8]) -> Option<std::path::PathBuf> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Some(std::ffi::OsStr::from_bytes(bytes).into())
    }
    #[cfg(windows)]
    {
        std::str::from_utf8(bytes).ok().map(Into::into)
    }
}

/// The bytes of `path`, to send it to another process of the same system
/// ([`path_from_bytes`]): its bytes on Unix, UTF-8 on Windows (where a path that is not valid
/// Unicode is given as it is encoded internally, and refused by [`path_from_bytes`]).
pub(crate) fn path_bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_encoded_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::PositionalIo;
    use std::time::Duration;

    /// Threads of one process exclude each other through the region lock, as processes do
    /// (the point of the registry where locks belong to the process): an exclusive taker waits
    /// for every shared holder, and shared takers wait for an exclusive holder.
    #[test]
    fn region_locks_exclude_threads_of_one_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        let first = RegionLock::shared(&path).unwrap();
        let second = RegionLock::shared(&path).unwrap(); // shared holders do not wait
        std::thread::scope(|s| {
            let exclusive = s.spawn(|| drop(RegionLock::exclusive(&file).unwrap()));
            std::thread::sleep(Duration::from_millis(300));
            drop(first);
            std::thread::sleep(Duration::from_millis(300));
            assert!(
                !exclusive.is_finished(),
                "taken while a thread held it shared"
            );
            drop(second);
            exclusive.join().unwrap();
        });
        let held = RegionLock::exclusive(&file).unwrap();
        std::thread::scope(|s| {
            let shared = s.spawn(|| {
                let lock = RegionLock::shared(&path).unwrap();
                lock.file().write_all_at(b"x", 0).unwrap();
            });
            std::thread::sleep(Duration::from_millis(300));
            assert!(
                !shared.is_finished(),
                "taken while a thread held it exclusively"
            );
            drop(held);
            shared.join().unwrap();
        });
        assert_eq!(std::fs::read(&path).unwrap(), b"x");
    }
}
