//! The region lock where the only byte-range locks are POSIX `fcntl` record locks (macOS,
//! FreeBSD, and Linux under `--cfg npaa_portable`). See [`super::RegionLock`].
//!
//! A POSIX record lock belongs to the process, not to the open file: threads of one process
//! never conflict with each other through it, and the process loses every lock it holds on a
//! file as soon as it closes *any* descriptor of that file. So, as SQLite's unix VFS does
//! (`unixInodeInfo`), this module keeps one entry per file (device and inode) for the whole
//! process:
//! - the entry owns the descriptor that takes the lock, and every descriptor it opened for a
//!   chunk writer, which write through it: none is closed while any thread holds the lock;
//! - it counts the holders and takes the `fcntl` lock when the first arrives, releases it when
//!   the last leaves;
//! - a reader-writer state inside it makes the process's own threads exclude each other (a
//!   driver thread waiting for exclusive access waits for the chunk-writer threads of its own
//!   process, which the `fcntl` lock alone would let through).
//!
//! Caveat: code of the user's that closes another descriptor of the same file (an `np.load`,
//! say) in a process while one of its threads writes a chunk drops that process's `fcntl` lock;
//! a driver elsewhere may then end the region write while the chunk is still being written.
//! npaa's own handles on the file are never closed during a chunk write.

#![expect(
    unsafe_code,
    reason = "a held lock gives its entry back to the registry from `drop` (ManuallyDrop::take)"
)]

use std::collections::HashMap;
use std::collections::hash_map::Entry as Slot;
use std::fs::File;
use std::io;
use std::mem::ManuallyDrop;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use super::super::unix::{self, Record};

/// A file's identity: its device and inode numbers.
type Key = (u64, u64);

/// The process's entries, one per file on which a thread holds or waits for the region lock,
/// each with its number of holders (and waiters).
static FILES: Mutex<Option<Registry>> = Mutex::new(None);

/// The map [`FILES`] holds once a thread first takes a region lock.
type Registry = HashMap<Key, (Arc<Locked>, usize)>;

/// One file's entry.
#[derive(Debug)]
struct Locked {
    /// The descriptor that takes the `fcntl` lock, open for reading and writing; chunk writers
    /// write through it.
    file: File,
    /// Other descriptors of the file opened meanwhile (a path found naming this file only
    /// after it was opened): kept open until the entry goes, for closing them would drop the
    /// lock.
    spare: Mutex<Vec<File>>,
    /// How this process's threads hold the lock.
    state: Mutex<State>,
    /// Signalled whenever `state` changes.
    changed: Condvar,
}

/// How this process's threads hold one file's region lock.
#[derive(Debug, Default)]
struct State {
    /// Threads holding it shared.
    readers: usize,
    /// Whether a thread holds it exclusively.
    writer: bool,
}

/// The region lock held by a thread of this process, released on drop.
#[derive(Debug)]
pub(super) struct Held {
    key: Key,
    /// The file's entry: given back by `drop` to [`leave`], which drops it under the registry's
    /// mutex.
    entry: ManuallyDrop<Arc<Locked>>,
    exclusive: bool,
}

/// Locks a mutex of this module, whose data stays consistent even if a holder panicked (every
/// critical section here changes it in one step).
fn guard<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Held {
    /// Takes the region lock shared on the file at `path`, for writing a chunk through
    /// [`file`](Self::file): the process's descriptor of that file when it has one, else a new
    /// one, which the entry keeps.
    pub(super) fn shared(path: &Path) -> io::Result<Held> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path)?;
        let known = (meta.dev(), meta.ino());
        let entry = {
            let mut files = guard(&FILES);
            match files.get_or_insert_default().get_mut(&known) {
                Some((entry, holders)) => {
                    *holders += 1;
                    Some((known, Arc::clone(entry)))
                }
                None => None,
            }
        };
        let (key, entry) = match entry {
            Some(found) => found,
            None => {
                let file = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(path)?;
                let key = identity(&file)?;
                enter(key, file)
            }
        };
        Self::take(key, entry, false)
    }

    /// Takes the region lock exclusively on the open `file` (a driver ending a region write, a
    /// writer cutting a killed one's reserved space).
    pub(super) fn exclusive(file: &File) -> io::Result<Held> {
        let key = identity(file)?;
        let (key, entry) = enter(key, file.try_clone()?);
        Self::take(key, entry, true)
    }

    /// Waits for this process's threads to allow the lock, then takes the `fcntl` lock if no
    /// other thread of the process holds it already.
    fn take(key: Key, entry: Arc<Locked>, exclusive: bool) -> io::Result<Held> {
        match entry.wait_and_lock(exclusive) {
            Ok(()) => Ok(Held {
                key,
                entry: ManuallyDrop::new(entry),
                exclusive,
            }),
            Err(e) => {
                leave(key, entry);
                Err(e)
            }
        }
    }

    /// The file, open for reading and writing: chunk writers write through it.
    pub(super) fn file(&self) -> &File {
        &self.entry.file
    }
}

impl Locked {
    /// Waits for this process's threads to allow the lock, then takes the `fcntl` lock if no
    /// other thread of the process holds it already (waiting for other processes while holding
    /// the state, so that this process's other threads wait with it).
    fn wait_and_lock(&self, exclusive: bool) -> io::Result<()> {
        let mut state = guard(&self.state);
        while state.writer || (exclusive && state.readers > 0) {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if state.readers == 0 {
            let kind = if exclusive {
                Record::Exclusive
            } else {
                Record::Shared
            };
            loop {
                match unix::record_lock(&self.file, libc::F_SETLKW, kind) {
                    Ok(()) => break,
                    // A signal, or the kernel's deadlock detection, which counts a wait by
                    // another thread of this process as this process's: try again.
                    Err(e)
                        if e.kind() == io::ErrorKind::Interrupted
                            || e.raw_os_error() == Some(libc::EDEADLK) =>
                    {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        if exclusive {
            state.writer = true;
        } else {
            state.readers += 1;
        }
        Ok(())
    }

    /// Gives back one thread's hold; the last one releases the `fcntl` lock.
    fn release(&self, exclusive: bool) {
        let mut state = guard(&self.state);
        if exclusive {
            state.writer = false;
        } else {
            state.readers -= 1;
        }
        if state.readers == 0 {
            // Best effort: closing the descriptor, when the last holder leaves, releases it
            // in any case.
            let _ = unix::record_lock(&self.file, libc::F_SETLK, Record::Unlock);
        }
        drop(state);
        self.changed.notify_all();
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.entry.release(self.exclusive);
        // SAFETY: `entry` is taken here only, once, and `self` is not used afterwards.
        let entry = unsafe { ManuallyDrop::take(&mut self.entry) };
        leave(self.key, entry);
    }
}

/// `file`'s device and inode numbers: what identifies a file on a Unix system.
fn identity(file: &File) -> io::Result<Key> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata()?;
    Ok((meta.dev(), meta.ino()))
}

/// Counts one more holder of the entry for `key`, made with `file` if there is none (a `file`
/// that is not needed is kept with the entry: closing it could drop the lock).
fn enter(key: Key, file: File) -> (Key, Arc<Locked>) {
    let mut files = guard(&FILES);
    match files.get_or_insert_default().entry(key) {
        Slot::Occupied(mut slot) => {
            let (entry, holders) = slot.get_mut();
            *holders += 1;
            guard(&entry.spare).push(file);
            (key, Arc::clone(entry))
        }
        Slot::Vacant(slot) => {
            let entry = Arc::new(Locked {
                file,
                spare: Mutex::new(Vec::new()),
                state: Mutex::new(State::default()),
                changed: Condvar::new(),
            });
            slot.insert((Arc::clone(&entry), 1));
            (key, entry)
        }
    }
}

/// Counts one holder less of the entry for `key`, dropping the holder's `entry`; the last one
/// removes it, closing its descriptors while no other thread can find it (no thread holds the
/// lock then, and none may open a new entry before these are closed: their closing would
/// drop its lock).
fn leave(key: Key, entry: Arc<Locked>) {
    let mut files = guard(&FILES);
    drop(entry);
    if let Some(map) = files.as_mut()
        && let Some((_, holders)) = map.get_mut(&key)
    {
        *holders -= 1;
        if *holders == 0 {
            map.remove(&key);
        }
    }
}
