//! Windows: positional I/O, the writer lock, file identity and deleting an open file, with the
//! semantics Windows users expect of a file other programs (NumPy) read while npaa writes it.
//!
//! - The writer lock is a byte-range lock ([`LOCK_OFFSET`]) far past the end of any file,
//!   as SQLite's `os_win.c` locks bytes no reader ever reads: Windows byte-range locks are
//!   mandatory, so a lock on the whole file (std's `File::lock`) would make `np.load` in
//!   another process fail with a sharing violation while a writer is open.
//! - A deleted or replaced file is detected by comparing the open handle's file identity
//!   (volume serial number and file index) with the one at its path.
//! - Deleting an open file frees its name at once, as on Unix, whether or not the file system
//!   deletes with POSIX semantics: the file is renamed away first ([`remove_open`]).
//! - A read-only mapping ([`ReadView`]) is backed by a section exactly as long as the bytes it
//!   maps: Windows refuses to cut a file below the end of a live section, and a section as
//!   long as the whole file (memmap2's) would keep every writer from cutting what lies past
//!   the items a reader maps (a killed writer's block, reserved space).
//!
//! Paths and file handles come from std (`OpenOptions`, which opens files sharing read, write
//! and delete access, so that readers and renames are never refused by npaa's own handles).

#![expect(
    unsafe_code,
    reason = "the Win32 calls (LockFileEx, file identity, renames by handle, sections and \
              views) are foreign calls on the file's handle"
)]

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::os::windows::fs::{FileExt, OpenOptionsExt};
use std::os::windows::io::AsRawHandle;
use std::path::Path;

use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_LOCK_VIOLATION, ERROR_USER_MAPPED_FILE, GENERIC_READ, GENERIC_WRITE, HANDLE,
};
use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, DELETE, FILE_DISPOSITION_INFO, FILE_FLAG_BACKUP_SEMANTICS,
    FILE_READ_ATTRIBUTES, FILE_RENAME_INFO, FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE,
    FILE_STANDARD_INFO, FileDispositionInfo, FileRenameInfo, FileStandardInfo,
    GetFileInformationByHandle, GetFileInformationByHandleEx, LOCKFILE_EXCLUSIVE_LOCK,
    LOCKFILE_FAIL_IMMEDIATELY, LockFileEx, SetFileInformationByHandle, UnlockFileEx,
};
use windows_sys::Win32::System::IO::OVERLAPPED;
use windows_sys::Win32::System::Memory::{
    CreateFileMappingW, FILE_MAP_READ, MEMORY_MAPPED_VIEW_ADDRESS, MapViewOfFile, PAGE_READONLY,
    UnmapViewOfFile,
};

/// Reads into `buf` from `file` at `offset` (`ReadFile` at an offset); returns the bytes read.
/// Moves the file pointer, which npaa never uses (all its I/O names an offset).
pub(super) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    file.seek_read(buf, offset)
}

/// Fills `buf` from `file` at `offset`, or fails with `UnexpectedEof`.
pub(super) fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "failed to fill whole buffer",
                ));
            }
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes all of `buf` to `file` at `offset` (`WriteFile` at an offset, repeated). Writing
/// past the end extends the file, with zeros in between, as `pwrite` does.
pub(super) fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.seek_write(buf, offset) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The byte the writer lock locks: 2^62, far past the end of any file (NTFS files end below
/// 2^44), so that no reader's `ReadFile` or mapping ever touches it, and below 2^63, the
/// largest offset every file system accepts in a lock request.
const LOCK_OFFSET: u64 = 1 << 62;

/// An `OVERLAPPED` naming [`LOCK_OFFSET`], as `LockFileEx` and `UnlockFileEx` take it.
fn lock_position() -> OVERLAPPED {
    position_at(LOCK_OFFSET)
}

/// An `OVERLAPPED` naming the byte at `offset`.
fn position_at(offset: u64) -> OVERLAPPED {
    let mut position = OVERLAPPED::default();
    position.Anonymous.Anonymous.Offset = offset as u32;
    position.Anonymous.Anonymous.OffsetHigh = (offset >> 32) as u32;
    position
}

/// Takes npaa's exclusive writer lock on `file` without waiting: an exclusive lock on the
/// byte at [`LOCK_OFFSET`]. Another handle holding it, in any process or this one, gives
/// `WouldBlock`. Readers are not affected: nothing reads that byte.
pub(super) fn try_lock(file: &File) -> Result<(), TryLockError> {
    let mut position = lock_position();
    // SAFETY: the handle is `file`'s, open for the duration of the call; `position` is a valid
    // OVERLAPPED that lives across the call, and the handle is synchronous (std opens files
    // without FILE_FLAG_OVERLAPPED), so the call completes before returning and keeps no
    // pointer to it.
    let locked = unsafe {
        LockFileEx(
            handle(file),
            LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY,
            0,
            1,
            0,
            &mut position,
        )
    };
    if locked != 0 {
        return Ok(());
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() == Some(ERROR_LOCK_VIOLATION as i32) {
        Err(TryLockError::WouldBlock)
    } else {
        Err(TryLockError::Error(error))
    }
}

/// Releases the lock [`try_lock`] took. Windows releases a handle's locks when it is closed
/// too, but only "when resources allow", so npaa always unlocks first.
pub(super) fn unlock(file: &File) -> io::Result<()> {
    let mut position = lock_position();
    // SAFETY: as in `try_lock`: a live handle, and an OVERLAPPED that outlives the synchronous
    // call.
    let unlocked = unsafe { UnlockFileEx(handle(file), 0, 1, 0, &mut position) };
    if unlocked != 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The byte the region lock locks ([`super::RegionLock`]): the one after the writer lock's
/// ([`LOCK_OFFSET`]), so that the two never meet, and as far past the end of any file.
const REGION_LOCK_OFFSET: u64 = LOCK_OFFSET + 1;

/// Takes the region lock on `file`, waiting for it: a shared or exclusive lock on the byte at
/// [`REGION_LOCK_OFFSET`]. Windows locks belong to the handle, like Linux's open-file-description
/// locks: handles opened separately exclude each other, in one process or several.
pub(super) fn lock_region(file: &File, exclusive: bool) -> io::Result<()> {
    let mut position = position_at(REGION_LOCK_OFFSET);
    let flags = if exclusive {
        LOCKFILE_EXCLUSIVE_LOCK
    } else {
        0
    };
    // SAFETY: as in `try_lock`: a live, synchronous handle and an OVERLAPPED that outlives the
    // call (which waits for the lock before it returns).
    if unsafe { LockFileEx(handle(file), flags, 0, 1, 0, &mut position) } != 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Releases the lock [`lock_region`] took.
pub(super) fn unlock_region(file: &File) -> io::Result<()> {
    let mut position = position_at(REGION_LOCK_OFFSET);
    // SAFETY: as in `unlock`.
    if unsafe { UnlockFileEx(handle(file), 0, 1, 0, &mut position) } != 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A read-only view of the first `len` bytes of a file, in a section (file-mapping object)
/// of exactly `len` bytes, so that the file can still be cut down to `len` while it lives.
#[derive(Debug)]
pub(super) struct ReadView {
    ptr: *const u8,
    len: usize,
}

// SAFETY: the view is read-only memory owned by this value alone (unmapped on drop); reading
// it from any thread is as safe as from the one that mapped it.
unsafe impl Send for ReadView {}
// SAFETY: as above: shared references only read.
unsafe impl Sync for ReadView {}

impl ReadView {
    /// Maps the first `len` bytes of `file` (not 0, at most its length) read-only.
    pub(super) fn new(file: &File, len: usize) -> io::Result<Self> {
        let size = len as u64;
        // SAFETY: a live handle open for reading; no security attributes and no name (null
        // pointers are allowed for both); the section's maximum size is `len`, within the
        // file (the caller's contract), so the file is not extended.
        let section = unsafe {
            CreateFileMappingW(
                handle(file),
                std::ptr::null(),
                PAGE_READONLY,
                (size >> 32) as u32,
                size as u32,
                std::ptr::null(),
            )
        };
        if section.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a valid section handle made above, read access as it allows, the whole
        // section from offset 0.
        let view = unsafe { MapViewOfFile(section, FILE_MAP_READ, 0, 0, len) };
        let mapped = if view.Value.is_null() {
            Err(io::Error::last_os_error())
        } else {
            Ok(ReadView {
                ptr: view.Value.cast::<u8>().cast_const(),
                len,
            })
        };
        // SAFETY: the section handle made above, closed once; the view keeps the section alive
        // until it is unmapped.
        unsafe { CloseHandle(section) };
        mapped
    }

    /// The mapped bytes.
    pub(super) fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` is the start of a live read-only view of `len` bytes (unmapped only on
        // drop, which the borrow excludes). As for every mapping, another process that cuts
        // the file could make reads fault; Windows refuses such cuts while the section lives.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for ReadView {
    fn drop(&mut self) {
        let view = MEMORY_MAPPED_VIEW_ADDRESS {
            Value: self.ptr.cast_mut().cast(),
        };
        // SAFETY: the view `new` mapped, unmapped once; no borrow of it outlives `self`.
        // Nothing to do if it fails: the address space is given back at exit.
        unsafe { UnmapViewOfFile(view) };
    }
}

/// True when `error` says that a file cannot be cut because a mapping of it (in any process)
/// covers the bytes to cut (`ERROR_USER_MAPPED_FILE`).
pub(super) fn is_mapped_elsewhere(error: &io::Error) -> bool {
    error.raw_os_error() == Some(ERROR_USER_MAPPED_FILE as i32)
}

/// The raw handle of `file`, as windows-sys takes it.
fn handle(file: &File) -> HANDLE {
    file.as_raw_handle()
}

/// What identifies a file on Windows, and how many names it has.
struct Identity {
    /// The volume's serial number and the file's index on it: equal for two handles of one
    /// file, different for two files.
    id: (u32, u32, u32),
    links: u32,
}

/// `GetFileInformationByHandle` of an open file.
fn identity(file: &File) -> io::Result<Identity> {
    let mut info = BY_HANDLE_FILE_INFORMATION::default();
    // SAFETY: a live handle and a pointer to a writable BY_HANDLE_FILE_INFORMATION, which the
    // call fills and does not keep.
    if unsafe { GetFileInformationByHandle(handle(file), &mut info) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Identity {
        id: (
            info.dwVolumeSerialNumber,
            info.nFileIndexHigh,
            info.nFileIndexLow,
        ),
        links: info.nNumberOfLinks,
    })
}

/// Opens `path` only to ask about the file (no read or write access, every kind of sharing),
/// whatever it is, a directory included.
fn open_to_ask(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .access_mode(FILE_READ_ATTRIBUTES)
        .share_mode(SHARE_ALL)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
        .open(path)
}

/// True while `path` still names the open `file`: false once it was deleted (even if the
/// deletion waits for handles to close), or when another file was put at its path.
pub(super) fn still_named(file: &File, path: &Path) -> io::Result<bool> {
    if identity(file)?.links == 0 || delete_pending(file)? {
        return Ok(false);
    }
    let at_path = match open_to_ask(path) {
        Ok(at_path) => at_path,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    Ok(identity(&at_path)?.id == identity(file)?.id)
}

/// True when `file` is deleted but the deletion waits for its handles to close (the classic
/// delete); its name still exists meanwhile but cannot be opened.
fn delete_pending(file: &File) -> io::Result<bool> {
    let mut info = FILE_STANDARD_INFO::default();
    // SAFETY: a live handle, the FileStandardInfo class with a pointer to a writable
    // FILE_STANDARD_INFO and its exact size; the call fills it and does not keep it.
    let ok = unsafe {
        GetFileInformationByHandleEx(
            handle(file),
            FileStandardInfo,
            std::ptr::from_mut(&mut info).cast(),
            size_of::<FILE_STANDARD_INFO>() as u32,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(info.DeletePending)
}

/// True when the paths `a` and `b` name the same file (or directory).
pub(super) fn same_file(a: &Path, b: &Path) -> io::Result<bool> {
    Ok(identity(&open_to_ask(a)?)?.id == identity(&open_to_ask(b)?)?.id)
}

/// Deletes the file at `path`, which npaa holds open (and locked), so that its name is free at
/// once for the new file that takes its place, however many handles still have the old one
/// open: renames it away ([`rename_away`]), then deletes it under its hidden name. A Windows
/// deletion without POSIX semantics (FAT, network shares, Windows before 10 1709, Wine) leaves
/// the name taken until the last handle is closed, and the new file could not be created
/// meanwhile; the rename frees it everywhere.
pub(super) fn remove_open(path: &Path) -> io::Result<()> {
    std::fs::remove_file(rename_away(path)?)
}

/// Moves `from` to `to`, replacing the file there, which npaa may hold open (and locked):
/// `std::fs::rename`, which on Windows 10 1709 and later (NTFS) renames with POSIX semantics,
/// in one step, even over a file that is open. Where that is refused because the file at `to`
/// is open (no POSIX semantics: FAT, network shares, older Windows, Wine), the file at `to` is
/// renamed away first ([`rename_away`]), `from` takes its name, and the old file is deleted:
/// readers that open `to` in between find no file (for the microseconds between two renames),
/// and a process killed in between leaves the old file under its hidden name and the new one
/// under `from`, nothing lost. If `from` cannot take the name, the old file is put back.
pub(super) fn replace(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            let old = rename_away(to).map_err(|_| e)?;
            if let Err(e) = std::fs::rename(from, to) {
                // Best effort: if even this fails, the old file stays under its hidden name.
                let _ = std::fs::rename(&old, to);
                return Err(e);
            }
            // The new file is in place; an old file that cannot be deleted now goes when its
            // last handle is closed, or stays under its hidden name.
            let _ = std::fs::remove_file(&old);
            Ok(())
        }
        other => other,
    }
}

/// Renames the file at `path` to a hidden name in its directory, `.NAME.XXXXXX.old`, one not
/// in use when chosen, and returns that name. Renaming needs
/// every handle open on the file to share delete access: std's and npaa's do; a program that
/// opened it without makes this fail with "access denied", and nothing changes.
fn rename_away(path: &Path) -> io::Result<std::path::PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let hidden = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .suffix(".old")
        .make_in(dir, |candidate| {
            if std::fs::symlink_metadata(candidate).is_ok() {
                return Err(io::Error::from(io::ErrorKind::AlreadyExists));
            }
            std::fs::rename(path, candidate)
        })?;
    Ok(hidden.into_temp_path().keep()?)
}

/// `path` in the form `FileRenameInfo` takes it, which the system passes on unconverted: a
/// full path in the NT namespace, as UTF-16 (`\??\C:\dir\name`,
/// `\??\UNC\server\share\name`).
fn nt_path(path: &Path) -> io::Result<Vec<u16>> {
    use std::os::windows::ffi::OsStrExt;
    let full: Vec<u16> = std::path::absolute(path)?
        .as_os_str()
        .encode_wide()
        .collect();
    let wide = |s: &str| s.encode_utf16().collect::<Vec<u16>>();
    let mut nt = wide(r"\??\");
    if let Some(verbatim) = full.strip_prefix(wide(r"\\?\").as_slice()) {
        nt.extend_from_slice(verbatim);
    } else if let Some(share) = full.strip_prefix(wide(r"\\").as_slice()) {
        nt.extend(wide(r"UNC\"));
        nt.extend_from_slice(share);
    } else {
        nt.extend_from_slice(&full);
    }
    Ok(nt)
}

/// Every sharing mode: npaa's handles never keep other programs from reading, writing, renaming
/// or deleting the file (std opens files this way too).
const SHARE_ALL: u32 = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;

/// A new, empty file in `dir` under a hidden temporary name (`.npaa-XXXXXX.tmp`), open for
/// reading, writing and renaming, that [`link_unnamed`] gives its name once its content is
/// complete: Windows' way to what `O_TMPFILE` gives Linux, a file that appears at its name
/// complete or not at all. Unlike an unnamed file, a process killed before the rename leaves
/// the temporary name behind (hidden, never at the destination). `None` where it cannot be
/// created (the caller then creates the file at its name).
pub(super) fn create_unnamed(dir: &Path) -> Option<File> {
    let temp = tempfile::Builder::new()
        .prefix(".npaa-")
        .suffix(".tmp")
        .make_in(dir, |candidate| {
            // std wants `write` for creating; `access_mode` then sets the access rights.
            OpenOptions::new()
                .write(true)
                .access_mode(GENERIC_READ | GENERIC_WRITE | DELETE)
                .share_mode(SHARE_ALL)
                .create_new(true)
                .open(candidate)
        })
        .ok()?;
    temp.keep().ok().map(|(file, _)| file)
}

/// Gives a file made by [`create_unnamed`] the name `path` by renaming it through its handle
/// (`FileRenameInfo`, not replacing), so that it takes the name with the content and the lock
/// it has. Fails with `AlreadyExists` if the name is taken: an existing file is never replaced.
/// On failure, the file is marked for deletion: its temporary name goes when it is closed.
pub(super) fn link_unnamed(file: &File, path: &Path) -> io::Result<()> {
    let renamed = rename_by_handle(file, path);
    if renamed.is_err() {
        let info = FILE_DISPOSITION_INFO { DeleteFile: true };
        // SAFETY: a live handle opened with DELETE access, the FileDispositionInfo class with a
        // pointer to a FILE_DISPOSITION_INFO and its exact size, read during the call only.
        // Best effort: a file that cannot be marked stays under its hidden temporary name.
        let _ = unsafe {
            SetFileInformationByHandle(
                handle(file),
                FileDispositionInfo,
                std::ptr::from_ref(&info).cast(),
                size_of::<FILE_DISPOSITION_INFO>() as u32,
            )
        };
    }
    renamed
}

/// Renames the open `file` to `path` without replacing a file there.
fn rename_by_handle(file: &File, path: &Path) -> io::Result<()> {
    let name = nt_path(path)?;
    let name_bytes = name.len() * size_of::<u16>();
    let header = std::mem::offset_of!(FILE_RENAME_INFO, FileName);
    // The name is counted, not terminated; a terminating NUL follows it all the same, for
    // implementations that read up to one (Wine 8 does).
    let size = (header + name_bytes + size_of::<u16>()).max(size_of::<FILE_RENAME_INFO>());
    // A buffer of u64 is aligned for FILE_RENAME_INFO (8 bytes: it holds a HANDLE).
    let mut buffer = vec![0u64; size.div_ceil(size_of::<u64>())];
    let info = buffer.as_mut_ptr().cast::<FILE_RENAME_INFO>();
    // SAFETY: `buffer` is zeroed, aligned for FILE_RENAME_INFO and at least `size` bytes long:
    // the struct's fixed fields, then room for the whole name and a NUL from its `FileName`
    // field on.
    // Zero is a valid value of every field (ReplaceIfExists false, no root directory). The
    // writes stay inside the buffer, which lives until the end of the function.
    unsafe {
        (*info).FileNameLength = name_bytes as u32;
        std::ptr::copy_nonoverlapping(
            name.as_ptr(),
            std::ptr::addr_of_mut!((*info).FileName).cast::<u16>(),
            name.len(),
        );
    }
    // SAFETY: a live handle opened with DELETE access (see `create_unnamed`), the FileRenameInfo
    // class with a pointer to a valid FILE_RENAME_INFO and the size of the buffer holding it
    // with its name; the call reads it and does not keep it.
    let ok = unsafe {
        SetFileInformationByHandle(handle(file), FileRenameInfo, info.cast(), size as u32)
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
