//! Mechanisms only Linux has, each behind a platform-neutral function of [`super`] that
//! dispatches here and holds the fallback other systems take: `fallocate` (preallocation,
//! inserting blocks at the front), `O_TMPFILE` + `linkat`, `O_NOATIME`, `statx`,
//! `copy_file_range`, and glibc's single-thread flag and fork handlers.

use std::fs::File;
use std::io;
#[cfg(target_env = "gnu")]
use std::sync::atomic::Ordering;

/// `fallocate(FALLOC_FL_KEEP_SIZE)`: allocates the blocks of the `len` bytes at `offset`
/// without changing the file's length. See [`super::preallocate`], [`super::reserve`].
pub(super) fn preallocate(file: &File, offset: u64, len: u64) -> io::Result<()> {
    rustix::fs::fallocate(file, rustix::fs::FallocateFlags::KEEP_SIZE, offset, len)?;
    Ok(())
}

/// `open(O_TMPFILE)` in `dir`. See [`super::create_unnamed`].
pub(super) fn create_unnamed(dir: &std::path::Path) -> Option<File> {
    use rustix::fs::{CWD, Mode, OFlags};
    rustix::fs::openat(
        CWD,
        dir,
        OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o666),
    )
    .ok()
    .map(File::from)
}

/// `linkat` of `/proc/self/fd/N` to `path`. See [`super::link_unnamed`].
pub(super) fn link_unnamed(file: &File, path: &std::path::Path) -> io::Result<()> {
    use rustix::fs::{AtFlags, CWD};
    use std::os::fd::AsRawFd;
    let fd_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    rustix::fs::linkat(CWD, fd_path.as_str(), CWD, path, AtFlags::SYMLINK_FOLLOW)
        .map_err(io::Error::from)
}

/// Opens `path` with `options` and `O_NOATIME`; `None` when the kernel refuses the flag to
/// this process (`EPERM`: not the file's owner), so that the caller opens it plainly. See
/// [`super::open_rw`].
pub(super) fn open_noatime(
    options: &std::fs::OpenOptions,
    path: &std::path::Path,
) -> Option<io::Result<File>> {
    use std::os::unix::fs::OpenOptionsExt;
    let noatime = rustix::fs::OFlags::NOATIME.bits() as i32;
    match options.clone().custom_flags(noatime).open(path) {
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::PERM.raw_os_error()) => None,
        result => Some(result),
    }
}

/// `file`'s link count from `statx(STATX_NLINK)`, or `None` where `statx` fails. See
/// [`super::link_count`].
pub(super) fn link_count(file: &File) -> Option<u64> {
    use rustix::fs::{AtFlags, StatxFlags};
    let st = rustix::fs::statx(file, "", AtFlags::EMPTY_PATH, StatxFlags::NLINK).ok()?;
    Some(u64::from(st.stx_nlink))
}

/// `fallocate(FALLOC_FL_INSERT_RANGE)` of `len` bytes at offset 0. See
/// [`super::insert_front`].
pub(super) fn insert_front(file: &File, len: u64) -> io::Result<()> {
    rustix::fs::fallocate(file, rustix::fs::FallocateFlags::INSERT_RANGE, 0, len)
        .map_err(io::Error::from)
}

/// Copies `len` bytes from `src` at `src_off` to `dst` at `dst_off` with `copy_file_range`,
/// calling `progress` with the bytes copied so far. Returns the bytes copied: `len`, or 0
/// where the kernel or the file systems cannot copy this way (the caller then copies them
/// itself). See [`super::copy_range`].
pub(super) fn copy_file_range(
    src: &File,
    src_off: u64,
    dst: &File,
    dst_off: u64,
    len: u64,
    progress: &mut dyn FnMut(u64),
) -> io::Result<u64> {
    const STEP: u64 = 64 << 20;
    let mut done = 0u64;
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
    Ok(done)
}

/// True for the errors with which `copy_file_range` says it cannot copy between these files.
fn is_copy_unsupported(e: rustix::io::Errno) -> bool {
    use rustix::io::Errno;
    e == Errno::XDEV || e == Errno::NOSYS || e == Errno::OPNOTSUPP || e == Errno::INVAL
}

/// True when the process is known to have a single thread: glibc's `__libc_single_threaded`
/// flag (glibc 2.32 and later, `<sys/single_threaded.h>`) is set. False whenever that cannot be
/// known: the flag is missing (older glibc, a statically linked program where it cannot be
/// looked up), or the C library is not glibc or the system not Linux.
///
/// Closing a locked file uses it ([`crate::file::Locked`]): with one thread, no other
/// thread can be starting a child process (`fork`, `posix_spawn`) at the moment of closing, and
/// such a child is the only thing besides a fork of our own thread (see [`fork_generation`])
/// that can share the open file and keep its lock held after we close our descriptor. The
/// glibc manual documents the flag for exactly this kind of optimisation: doing less work
/// while the process is known to be single-threaded.
///
/// glibc sets the flag to false when the first thread is created (`pthread_create`, hence
/// every `std::thread::spawn`), and possibly on other occasions (the manual names `dlopen`);
/// glibc 2.36 never sets it back to true in a process that had threads, even after they all
/// exited. A future glibc that did so would still be right for this purpose: the flag would
/// say that no other thread exists now, which is what matters at the moment of closing.
///
/// Limits: a thread created by a raw `clone` system call that bypasses glibc does not clear
/// the flag, and is not seen.
///
/// The symbol's address is looked up at run time, once (`dlsym`), rather than linked: the
/// crate still links and runs against glibc older than 2.32, where this returns false.
#[cfg(target_env = "gnu")]
#[expect(
    unsafe_code,
    reason = "reading glibc's single-thread flag is a foreign call"
)]
pub(crate) fn single_threaded() -> bool {
    use std::sync::OnceLock;
    /// The address of `__libc_single_threaded`, or 0 when the symbol does not exist.
    static FLAG: OnceLock<usize> = OnceLock::new();
    let address = *FLAG.get_or_init(|| {
        // SAFETY: `dlsym` is given the pseudo-handle `RTLD_DEFAULT` (search the global scope)
        // and a NUL-terminated C string literal that lives for the whole program; it returns
        // the symbol's address or null, and reads nothing else of ours. It only looks the
        // symbol up: nothing is dereferenced here.
        let symbol = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"__libc_single_threaded".as_ptr()) };
        symbol as usize
    });
    if address == 0 {
        return false;
    }
    // SAFETY: a non-null `address` is glibc's `char __libc_single_threaded`, a one-byte
    // variable in libc's data that exists for the whole life of the process, so the read is
    // in bounds and aligned. There is no data race in practice: glibc writes the byte only in
    // the thread that creates the first thread, before that thread exists (pthread_create
    // tests the flag and writes false only while it is still true), and glibc 2.36 never
    // writes it back; so while another thread exists that could read it concurrently, nobody
    // writes it. The read is volatile so that it is made each time and not folded with an
    // earlier one.
    let flag = unsafe { std::ptr::read_volatile(address as *const libc::c_char) };
    flag != 0
}

/// How many times the process has forked through glibc's `fork` since npaa first asked, or
/// `None` when forks cannot be counted here (then a caller must assume one happened).
///
/// The first call registers a prepare handler with `pthread_atfork`, once for the process,
/// and reads the count after registering: every `fork` from then on, from any thread, runs the
/// handler before the child is created and increments the count, so that a value read before
/// a fork is always different from one read after it. A child made by `fork` without `exec`
/// (a worker process, say) shares every open file of its parent, and with it the parent's
/// `flock` locks, which belong to the open file: [`crate::file::Locked`] compares the count
/// at opening and at closing to know whether such a child may still hold its file.
///
/// Not counted, and not needed: `posix_spawn` and `vfork` (glibc's `system` and `popen`, and
/// `std::process::Command`, use them) run no fork handlers, but the thread that calls them is
/// suspended until the child executes its program or exits; the child then closes its copy
/// of npaa's files, which are opened close-on-exec, so it holds none afterwards. Where
/// `Command` falls back to `fork`, the handler counts it (a harmless over-count).
///
/// Limits: forks that bypass glibc's `fork` are not counted (a raw `clone` or `fork` system
/// call, glibc's `_Fork`), nor is a fork made by a signal handler that runs between a caller's
/// check and its `close`.
///
/// `None` where `pthread_atfork` failed (out of memory) or on other systems than Linux with
/// glibc.
#[cfg(target_env = "gnu")]
#[expect(unsafe_code, reason = "registering a fork handler is a foreign call")]
pub(crate) fn fork_generation() -> Option<u64> {
    use std::sync::OnceLock;
    use std::sync::atomic::AtomicU64;
    /// Forks counted since the handler was registered.
    static FORKS: AtomicU64 = AtomicU64::new(0);
    /// Whether the handler is registered (set once, by the first call).
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    /// The prepare handler: runs in the forking thread just before the child is created.
    extern "C" fn count_fork() {
        FORKS.fetch_add(1, Ordering::SeqCst);
    }
    let registered = *REGISTERED.get_or_init(|| {
        // SAFETY: `count_fork` is a function with the C ABI and no arguments, as
        // `pthread_atfork` expects, and it lives for the whole program (glibc's wrapper
        // unregisters it if this library is unloaded). It is registered once (`OnceLock`). It
        // only does an atomic add on a static, which is async-signal-safe, so it is sound
        // wherever glibc calls it: in any thread that forks, even from a signal handler, and
        // while other threads hold locks.
        unsafe { libc::pthread_atfork(Some(count_fork), None, None) == 0 }
    });
    registered.then(|| FORKS.load(Ordering::SeqCst))
}
