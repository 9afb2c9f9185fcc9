//! The one owner of opening, locking, creating and replacing files:
//! - the exclusive advisory lock every writer takes ([`lock`], [`Locked`]; [`WriterLock`] for
//!   front ends that must hold it without appending);
//! - creating a file that appears complete or not at all ([`create_with_header`]);
//! - building a file beside its destination and moving it into place when complete
//!   ([`StagedFile`]: `ensure_appendable`'s copy, `append_files`' new destination);
//! - the directory a path is in ([`parent_dir`], [`sync_parent_dir`]);
//! - reading and validating the header of an open file ([`read_parsed`]), and what a file
//!   must be to grow or to be appended from ([`growth_axis_of`], [`SourceFile`]).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::header::{self, Header, Leniency, ParsedHeader, ReadError, Template};
use crate::sys::{self, PositionalIo};

/// Creates `path` holding `header` (an empty array), locked for writing.
///
/// The file appears complete or not at all: a process killed at any moment leaves either no
/// file or one NumPy loads, never an empty file (which NumPy, `open` and `recover` all refuse).
/// The header is written to an unnamed file (`O_TMPFILE`) that is then linked into place (on
/// Windows, a file under a hidden temporary name, renamed into place through its handle; a
/// crash before the rename leaves that hidden file, not one at `path`). Where the file system
/// cannot do that, the file is created and then written, and only a crash between the two
/// leaves an empty file.
///
/// `wait` bounds the wait for the lock of a file created the plain way ([`lock_waiting`]):
/// another writer may have opened it between its creation and the lock. If such a writer
/// wrote a header into it meanwhile (a shared-mode writer adopts an empty file it finds
/// under the lock), this fails with an [`Error::Io`] of kind `AlreadyExists`, as when the
/// file existed before, and the caller opens the existing file.
pub(crate) fn create_with_header(
    path: &Path,
    header: &[u8],
    wait: Option<Duration>,
) -> Result<Locked> {
    if let Some(file) = sys::create_unnamed(parent_dir(path)) {
        // Nobody else can open an unnamed file: this only takes the lock early.
        let file = lock(file, path)?;
        file.write_all_at(header, 0)
            .map_err(|e| Error::io(path, "writing the header", e))?;
        match sys::link_unnamed(&file, path) {
            Ok(()) => return Ok(file),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(Error::io(path, "creating", e));
            }
            // No /proc, or linking refused: create the file the plain way.
            Err(_) => {}
        }
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io(path, "creating", e))?;
    let file = lock_waiting(file, path, wait)?;
    if sys::file_len(&file).map_err(|e| Error::io(path, "reading file metadata", e))? != 0 {
        return Err(Error::io(
            path,
            "creating",
            io::Error::from(io::ErrorKind::AlreadyExists),
        ));
    }
    if let Err(e) = file.write_all_at(header, 0) {
        // Nothing of the user's is in the file yet: do not leave an empty file behind.
        let _ = std::fs::remove_file(path);
        return Err(Error::io(path, "writing the header", e));
    }
    Ok(file)
}

/// Takes the exclusive advisory lock on `file`, failing at once if another writer holds it.
pub(crate) fn lock(file: File, path: &Path) -> Result<Locked> {
    lock_waiting(file, path, NO_WAIT)
}

/// A wait for a lock ([`acquire`]) that fails at once if another writer holds it.
pub(crate) const NO_WAIT: Option<Duration> = Some(Duration::ZERO);

/// [`lock`], waiting for the lock as [`acquire`] does.
pub(crate) fn lock_waiting(file: File, path: &Path, wait: Option<Duration>) -> Result<Locked> {
    acquire(&file, path, wait)?;
    Ok(Locked { file })
}

/// The longest pause between two attempts of a bounded wait for a lock ([`acquire`]).
const MAX_PAUSE: Duration = Duration::from_millis(10);

/// Takes the exclusive advisory lock on `file`, waiting for it: forever when `wait` is
/// `None`, else at most that long ([`Error::Locked`] when it runs out; `Some(ZERO)` fails at
/// once if another writer holds it).
///
/// An unbounded wait sleeps in the kernel where the platform can ([`sys::lock_blocking`]: a
/// blocking `flock`), which wakes it when the lock is released: no polling. A bounded wait
/// cannot use it (a blocked `flock` can only be interrupted by a signal, which a library must
/// not send to its caller's threads), and neither can an unbounded one on Windows, so they
/// poll: an attempt, then a pause that starts at 50 µs and doubles up to 10 ms. That costs at
/// most about a hundred attempts a second, no busy spinning, and reacts within 10 ms to a lock
/// held long; a lock held for microseconds (an append) is usually free at the next try.
pub(crate) fn acquire(file: &File, path: &Path, wait: Option<Duration>) -> Result<()> {
    if wait.is_none() {
        loop {
            match sys::lock_blocking(file) {
                Some(Ok(())) => return Ok(()),
                Some(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Some(Err(e)) => return Err(Error::io(path, "locking", e)),
                None => break,
            }
        }
    }
    let start = Instant::now();
    let mut pause = Duration::from_micros(50);
    loop {
        match sys::try_lock(file) {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(path, "locking", e)),
        }
        let waited = start.elapsed();
        let sleep = match wait {
            Some(limit) if waited >= limit => {
                return Err(Error::Locked {
                    path: path.to_path_buf(),
                });
            }
            Some(limit) => pause.min(limit - waited),
            None => pause,
        };
        std::thread::sleep(sleep);
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// A file under npaa's exclusive advisory lock ([`lock`]).
///
/// Dropping it releases the lock explicitly (`flock(LOCK_UN)`), then closes the file. Closing
/// alone releases the lock only once no other reference to the open file remains: a child
/// process that another thread is starting at that moment shares the open file until it
/// executes its program, and a child forked without executing one shares it until it exits;
/// the lock, which belongs to the open file, would stay held through the child's copy for that
/// while, so that the next open failed with [`Error::Locked`]. The unlock costs one system call
/// per close, within the noise of an open-append-close cycle (measured in
/// `bench/RESULTS.md`, issue 21).
#[derive(Debug)]
pub(crate) struct Locked {
    file: File,
}

impl Locked {
    /// An open file that a shared-mode writer locks only for each of its operations
    /// ([`acquire`], [`Locked::release`]).
    pub(crate) fn unlocked(file: File) -> Self {
        Locked { file }
    }

    /// Releases the lock now (a shared-mode writer, between its operations).
    pub(crate) fn release(&self) -> io::Result<()> {
        sys::unlock(&self.file)
    }
}

impl std::ops::Deref for Locked {
    type Target = File;

    fn deref(&self) -> &File {
        &self.file
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        // Best effort: closing the file releases the lock too, once no child holds it.
        let _ = sys::unlock(&self.file);
    }
}

/// Reads and validates the header of an open file.
pub(crate) fn read_parsed(file: &File, path: &Path, leniency: Leniency) -> Result<ParsedHeader> {
    read_parsed_len(file, path, leniency).map(|(parsed, _)| parsed)
}

/// [`read_parsed`], also returning the file's length in bytes.
///
/// Costs two system calls for the usual header (up to 1 KiB): the length, then one positional
/// read. It leaves the file offset alone; all of npaa's I/O is positional.
pub(crate) fn read_parsed_len(
    file: &File,
    path: &Path,
    leniency: Leniency,
) -> Result<(ParsedHeader, u64)> {
    let len = sys::file_len(file).map_err(|e| Error::io(path, "reading file metadata", e))?;
    Ok((read_header_of(file, path, leniency, len)?.0, len))
}

/// Reads and validates the header of `file`, which is `len` bytes long, with one positional
/// read for the usual header (up to 1 KiB); with its template when the text is the one the
/// template renders ([`header::read_header`]).
///
/// A directory (which opens for reading, and whose length some file systems report as 0) is
/// [`Error::IsDirectory`], whatever reading it gave; asked only when reading failed.
pub(crate) fn read_header_of(
    file: &File,
    path: &Path,
    leniency: Leniency,
    len: u64,
) -> Result<(ParsedHeader, Option<Template>)> {
    header::read_header(&mut sys::ReadAt::new(file), len, leniency).map_err(|e| {
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Error::IsDirectory {
                path: path.to_path_buf(),
            };
        }
        match e {
            ReadError::Format(kind) => Error::format(path, kind),
            ReadError::Io(e) => Error::io(path, "reading the header", e),
        }
    })
}

/// A validated .npy file to read data from: one that can be appended from.
pub(crate) struct SourceFile {
    pub(crate) file: File,
    pub(crate) parsed: ParsedHeader,
    pub(crate) data_len: u64,
    /// The file's length in bytes.
    pub(crate) file_len: u64,
}

impl SourceFile {
    /// Opens a .npy file to append from: a valid header ([`Error::Format`], a placeholder
    /// shape included), not an object array ([`Error::ObjectDtype`]), not 0-d
    /// ([`Error::ScalarFile`]), and complete ([`Error::NeedsRecovery`]), checked in that
    /// order, each error naming the file.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, "opening", e))?;
        let (parsed, file_len) = read_parsed_len(&file, path, Leniency::Strict)?;
        let header = &parsed.header;
        growth_axis_of(path, header)?;
        let data_len = header
            .data_len()
            .map_err(|kind| Error::format(path, kind))?;
        let present = file_len - parsed.header_len;
        if present < data_len {
            return Err(Error::NeedsRecovery {
                path: path.to_path_buf(),
                expected: data_len,
                present,
            });
        }
        Ok(SourceFile {
            file,
            parsed,
            data_len,
            file_len,
        })
    }
}

/// Refuses the header of the file at `path` if it holds Python objects ([`Error::ObjectDtype`]),
/// which nothing can append to or from.
pub(crate) fn check_not_object(path: &Path, header: &Header) -> Result<()> {
    if header.dtype.has_object() {
        return Err(Error::ObjectDtype {
            descr: header.dtype.descr(),
            path: Some(path.to_path_buf()),
        });
    }
    Ok(())
}

/// The axis the array of the file at `path` grows along; refuses a file that can never grow
/// or be appended from: an object array ([`Error::ObjectDtype`]), then a 0-d array
/// ([`Error::ScalarFile`]).
pub(crate) fn growth_axis_of(path: &Path, header: &Header) -> Result<usize> {
    check_not_object(path, header)?;
    header.growth_axis().ok_or_else(|| Error::ScalarFile {
        path: path.to_path_buf(),
    })
}

/// The directory `path` is in: its parent, or `.` for a bare file name.
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes the directory entry of `path` durable (`fsync` of its directory; nothing on
/// Windows, see [`sys::sync_dir`]). File systems that cannot sync a directory are taken to
/// need no such sync.
pub(crate) fn sync_parent_dir(path: &Path) -> io::Result<()> {
    sys::sync_dir(parent_dir(path))
}

/// npaa's exclusive writer lock on an existing file, held without appending: while it is held,
/// every npaa writer (any process, any handle) fails to open the file with [`Error::Locked`].
/// Released when dropped.
///
/// For replacing a file while keeping writers out ([`append_files`](crate::append_files())
/// with `delete_if_exists` builds the new file with a [`StagedFile`] and holds the old one's
/// lock until it is renamed over it). Readers (NumPy) are not affected.
#[derive(Debug)]
pub(crate) struct WriterLock {
    _file: Locked,
}

impl WriterLock {
    /// Takes the lock on `path`, failing at once if another writer holds it.
    ///
    /// # Errors
    /// [`Error::Locked`] if another writer holds it; [`Error::IsDirectory`] or [`Error::Io`]
    /// if the file cannot be opened for reading.
    pub(crate) fn acquire(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::io(path, "opening", e))?;
        // A directory opens for reading, and can be locked: not a file npaa writes.
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(Error::IsDirectory {
                path: path.to_path_buf(),
            });
        }
        Ok(WriterLock {
            _file: lock(file, path)?,
        })
    }
}

/// A new file built under a temporary name in its destination's directory, that takes the
/// destination's name only when complete ([`persist`](Self::persist)): readers never see a
/// half-built file, and a failure leaves the destination as it was. Dropped without being
/// persisted, the temporary file is removed.
///
/// The temporary name is `.NAME.XXXXXX.tmp` (`NAME` the destination's file name, `XXXXXX`
/// random), one that was not in use when chosen. [`beside`](Self::beside) only chooses it;
/// the caller creates the file at [`path`](Self::path), e.g. with
/// [`AppendOptions::open`](crate::AppendOptions::open), whose first append creates it. The
/// random name makes it unlikely, not impossible, that another program creates a file of that
/// name in between; `AppendOptions::open` would then append to that file (npaa's own users
/// of the name create it with `create_new`, and fail instead).
#[derive(Debug)]
pub(crate) struct StagedFile {
    temp: tempfile::TempPath,
    dest: PathBuf,
}

impl StagedFile {
    /// Chooses a temporary name for a new version of `dest` in `dest`'s directory.
    ///
    /// # Errors
    /// [`Error::NotAFileName`] if `dest` has no file name (`/`, `..`); [`Error::Io`] if
    /// the directory cannot be read.
    pub(crate) fn beside(dest: impl AsRef<Path>) -> Result<Self> {
        let dest = dest.as_ref();
        let name = dest.file_name().ok_or_else(|| Error::NotAFileName {
            path: dest.to_path_buf(),
        })?;
        let unused = |candidate: &Path| match std::fs::symlink_metadata(candidate) {
            Ok(_) => Err(io::Error::from(io::ErrorKind::AlreadyExists)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        };
        let chosen = tempfile::Builder::new()
            .prefix(&format!(".{}.", name.to_string_lossy()))
            .suffix(".tmp")
            .make_in(parent_dir(dest), unused)
            .map_err(|e| Error::io(dest, "choosing a temporary name beside it", e))?;
        Ok(StagedFile {
            temp: chosen.into_temp_path(),
            dest: dest.to_path_buf(),
        })
    }

    /// The temporary name the file is built under.
    pub(crate) fn path(&self) -> &Path {
        &self.temp
    }

    /// Creates the file at the temporary name, empty, for reading and writing; fails if a
    /// file appeared there since the name was chosen.
    pub(crate) fn create(&self) -> Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(self.path())
            .map_err(|e| Error::io(&self.dest, "creating a temporary file beside it", e))
    }

    /// Moves the finished file to the destination in one step: replacing a file there if
    /// `replace` (`rename`), else only if the destination still does not exist (a hard link,
    /// then the temporary name is removed), so that a file that appeared there meanwhile is
    /// never overwritten.
    ///
    /// Does not sync the directory: a caller that needs the new name to survive a power loss
    /// syncs it.
    ///
    /// # Errors
    /// [`Error::Io`] (kind `AlreadyExists` when `replace` is false and the destination exists);
    /// the temporary file is removed then.
    pub(crate) fn persist(self, replace: bool) -> Result<()> {
        let placed = if replace {
            sys::replace(&self.temp, &self.dest)
        } else {
            std::fs::hard_link(&self.temp, &self.dest)
        };
        placed.map_err(|e| Error::io(&self.dest, "moving the new file into place", e))?;
        if replace {
            // The temporary name is gone: nothing to remove (and a file someone creates there
            // later is not ours).
            let _ = self.temp.keep();
        } else {
            // The file is in place under its name; a temporary name that cannot be removed
            // is only a leftover link to it.
            let _ = self.temp.close();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AppendArray;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn parent_dirs() {
        assert_eq!(parent_dir(Path::new("a.npy")), Path::new("."));
        assert_eq!(parent_dir(Path::new("d/a.npy")), Path::new("d"));
        assert_eq!(parent_dir(Path::new("/a.npy")), Path::new("/"));
    }

    #[test]
    fn a_staged_file_takes_its_name_only_when_persisted() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.npy");

        // Dropped: nothing is left, at the destination or beside it.
        let staged = StagedFile::beside(&dest).unwrap();
        let name = staged.path().file_name().unwrap().to_string_lossy();
        assert!(
            name.starts_with(".out.npy.") && name.ends_with(".tmp"),
            "{name}"
        );
        assert_eq!(staged.path().parent(), Some(dir.path()));
        staged.create().unwrap().write_all_at(b"draft", 0).unwrap();
        drop(staged);
        assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));

        // Persisted without replacing: takes the name while it is free...
        let staged = StagedFile::beside(&dest).unwrap();
        staged.create().unwrap().write_all_at(b"first", 0).unwrap();
        staged.persist(false).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"first");
        assert_eq!(names(dir.path()), ["out.npy"]);

        // ... and never overwrites a file that is there; the draft is removed.
        let staged = StagedFile::beside(&dest).unwrap();
        staged.create().unwrap().write_all_at(b"second", 0).unwrap();
        let err = staged.persist(false).unwrap_err();
        assert!(
            matches!(&err, Error::Io { source, .. } if source.kind() == io::ErrorKind::AlreadyExists),
            "{err:?}"
        );
        assert_eq!(std::fs::read(&dest).unwrap(), b"first");
        assert_eq!(names(dir.path()), ["out.npy"]);

        // Persisted replacing: one rename over the old file.
        let staged = StagedFile::beside(&dest).unwrap();
        staged.create().unwrap().write_all_at(b"third", 0).unwrap();
        staged.persist(true).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"third");
        assert_eq!(names(dir.path()), ["out.npy"]);

        assert!(matches!(
            StagedFile::beside("/"),
            Err(Error::NotAFileName { .. })
        ));
    }

    #[test]
    fn a_writer_lock_keeps_writers_out_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("held.npy");
        let array = AppendArray::open(&path).unwrap();
        array.append(&[1.0f64], &[1]).unwrap();
        array.close().unwrap();

        let held = WriterLock::acquire(&path).unwrap();
        match AppendArray::open(&path) {
            Err(Error::Locked { path: p }) => assert_eq!(p, path),
            other => panic!("expected Locked, got {other:?}"),
        }
        assert!(matches!(
            WriterLock::acquire(&path),
            Err(Error::Locked { .. })
        ));
        drop(held);
        AppendArray::open(&path).unwrap().close().unwrap();
        match WriterLock::acquire(dir.path()) {
            Err(Error::IsDirectory { path: p }) => assert_eq!(p, dir.path()),
            other => panic!("expected IsDirectory, got {other:?}"),
        }
    }
}
