//! `npaa_collective`: the MPI-free half of collective appends (many writers, one file), for
//! the MPI layer in `include/npaa_mpi.h`, which is compiled against the user's own MPI and
//! makes only MPI calls. Every format decision is npaa-core's ([`npaa_core::Collective`]).
//!
//! Unstable: these functions are declared in `include/npaa_collective.h` (generated from this
//! file alone by `npaa-capi/cbindgen-collective.toml`), not in the stable `npaa.h`; they
//! change together with `npaa_mpi.h`.

use std::ffi::c_char;
use std::panic::{AssertUnwindSafe, catch_unwind};

use npaa_core::Collective;

use crate::array::{block, block_len};
use crate::boundary::{self, Out, guard};
use crate::error::{self, Failure};
use crate::options::npaa_options;
use crate::status::{NPAA_OK, npaa_status};

/// One writer's side of a collective append session (opaque): used by include/npaa_mpi.h,
/// which gives one to every MPI rank. Most programs use npaa_mpi_open() and never see it.
///
/// Create it with npaa_collective_open(), release it with npaa_collective_close() (exactly
/// once). The root's handle (rank 0's) owns the file's exclusive lock until then.
///
/// Protocol of one step (what npaa_mpi_append() does): every writer calls
/// npaa_collective_prepare() on its block; if any writer failed, the step ends there on all.
/// Writer r writes its bytes at npaa_collective_data_end() plus the bytes of writers 0..r-1,
/// but only after npaa_collective_begin_step() returned on the root. After the writes (and a
/// data sync if npaa_collective_sync_due() said so), once every writer's data is written,
/// every writer calls npaa_collective_commit(). Messages of failures name the writer
/// ("rank 2: ...").
///
/// Thread-safety: a handle must not be used by two threads at once.
#[derive(Debug)]
pub struct npaa_collective {
    inner: Collective,
    rank: u32,
    layout: Vec<u8>,
}

/// Runs `body` on the handle `c`, naming the writer in the message of a failure.
///
/// # Safety
/// `c` must be NULL or a live handle from npaa_collective_open().
unsafe fn with<T>(
    c: *mut npaa_collective,
    body: impl FnOnce(&mut npaa_collective) -> Result<T, Failure>,
) -> Result<T, Failure> {
    // SAFETY: a live handle is a valid, aligned Box allocation per the contract, and the
    // caller does not use it from another thread meanwhile.
    let c = unsafe { c.as_mut() }.ok_or_else(|| {
        Failure::null(
            "collective",
            "the handle npaa_collective_open() returned (and that was not closed)",
        )
    })?;
    let rank = c.rank;
    body(c).map_err(|f| on_rank(rank, f))
}

/// Runs `body`, a getter that cannot fail, on the handle `c`: `none` for a NULL handle (or a
/// panic, which would be a bug: it never unwinds into C).
///
/// # Safety
/// `c` must be NULL or a live handle from npaa_collective_open().
unsafe fn getter<T>(
    c: *mut npaa_collective,
    none: T,
    body: impl FnOnce(&mut npaa_collective) -> T,
) -> T {
    // SAFETY: a live handle is a valid, aligned Box allocation per the contract, and the
    // caller does not use it from another thread meanwhile.
    match unsafe { c.as_mut() } {
        // AssertUnwindSafe: after a panic the handle's core state is behind npaa-core's own
        // checks; the caller gets `none` and the next fallible call reports any problem.
        Some(c) => catch_unwind(AssertUnwindSafe(|| body(c))).unwrap_or(none),
        None => none,
    }
}

/// `failure`, its message naming the writer: "rank 2: ...".
fn on_rank(rank: u32, failure: Failure) -> Failure {
    Failure::new(failure.status, format!("rank {rank}: {}", failure.message))
}

/// Opens one writer's side of a collective append session on `path`, for writer `rank` of the
/// group, and stores a new handle in `*out`.
///
/// Rank 0 is the root: it opens the file exactly as npaa_open() does (same checks and errors:
/// NPAA_LOCKED, NPAA_NEEDS_RECOVERY, NPAA_NOT_APPENDABLE, NPAA_FORMAT, ...; a file that does
/// not exist is created by the first step, from the root's block) and holds its lock. Other
/// ranks do not touch the file: their layout comes from the root through
/// npaa_collective_layout() and npaa_collective_set_layout(). `options` may be NULL for the
/// defaults; the root's options apply to the session, the others' are only checked.
/// mapped_window and buffer_capacity must be 0 (NPAA_INVALID_ARGUMENT otherwise). Any file
/// system will do: the reservation mark that keeps a crash from counting unwritten bytes is
/// 24 bytes ending the file, not an extended attribute.
///
/// Ownership: on NPAA_OK, `*out` receives a handle the caller must release with
/// npaa_collective_close(). On failure, `*out` is left unchanged.
///
/// Pointers: `path` must be NULL or a NUL-terminated string; `options` NULL or an initialized
/// npaa_options; `out` NULL or a writable npaa_collective pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_collective_open(
    path: *const c_char,
    options: *const npaa_options,
    rank: u32,
    out: *mut *mut npaa_collective,
) -> npaa_status {
    guard("npaa_mpi_open", || {
        let out = Out::new(out, "out")?;
        let named = |f: Failure| on_rank(rank, f);
        // SAFETY: forwarded contract.
        let path = unsafe { boundary::path(path, "path") }.map_err(named)?;
        // SAFETY: forwarded contract.
        let options = unsafe { npaa_options::read_or_default(options) }.map_err(named)?;
        let options = options.to_core().map_err(named)?;
        let inner = if rank == 0 {
            Collective::open_root(path, &options)
        } else {
            Collective::open_peer(path, &options)
        }
        .map_err(|e| named(e.into()))?;
        let handle = Box::into_raw(Box::new(npaa_collective {
            inner,
            rank,
            layout: Vec::new(),
        }));
        // SAFETY: writable per the contract; nothing can fail after this point.
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// Stores in `*bytes` and `*len` the handle's layout (the file's dtype, order, shape, where
/// its data ends, and the root's options), encoded for the MPI layer to broadcast from the
/// root to npaa_collective_set_layout() on the other ranks. The bytes belong to the handle
/// and stay valid until the next call on it.
///
/// Pointers: `collective` NULL or a live handle; `bytes` and `len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_collective_layout(
    collective: *mut npaa_collective,
    bytes: *mut *const u8,
    len: *mut usize,
) -> npaa_status {
    guard("npaa_mpi_open", || {
        let bytes = Out::new(bytes, "bytes")?;
        let len = Out::new(len, "len")?;
        // SAFETY: forwarded contract.
        let (ptr, n) = unsafe {
            with(collective, |c| {
                c.layout = c.inner.layout();
                Ok((c.layout.as_ptr(), c.layout.len()))
            })?
        };
        // SAFETY: writable per the contract.
        unsafe {
            bytes.write(ptr);
            len.write(n);
        }
        Ok(())
    })
}

/// Replaces the handle's layout with the `len` bytes at `bytes`, from the root's
/// npaa_collective_layout(). NPAA_INVALID_ARGUMENT if they are not a layout of this version
/// of npaa.
///
/// Pointers: `collective` NULL or a live handle; `bytes` NULL or `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_collective_set_layout(
    collective: *mut npaa_collective,
    bytes: *const u8,
    len: usize,
) -> npaa_status {
    guard("npaa_mpi_open", || {
        // SAFETY: forwarded contract.
        let bytes = unsafe { boundary::bytes(bytes, len, "bytes", "the root's layout bytes")? };
        // SAFETY: forwarded contract.
        unsafe { with(collective, |c| Ok(c.inner.set_layout(bytes)?)) }
    })
}

/// 1 if the file's dtype and shape are known (the file existed, or a block defined it), else
/// 0 (also for a NULL handle): the MPI layer then has the root npaa_collective_define() the
/// file from its first block and broadcasts the layout. Cannot fail.
///
/// Pointers: `collective` NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_collective_is_defined(collective: *mut npaa_collective) -> u32 {
    // SAFETY: forwarded contract.
    unsafe { getter(collective, 0, |c| u32::from(c.inner.is_defined())) }
}

/// Defines a file that does not exist yet from a block of dtype `descr` and shape
/// `shape[0..ndim]` (the root's first block): the file gets that dtype, those dimensions but
/// the growth axis, and the order of the root's options. Nothing is written. The other
/// writers' blocks are then checked against it like any append.
///
/// Pointers: `collective` NULL or a live handle; `descr` NULL or a NUL-terminated string; `shape` NULL
/// or `ndim` readable uint64_t.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_collective_define(
    collective: *mut npaa_collective,
    descr: *const c_char,
    ndim: usize,
    shape: *const u64,
) -> npaa_status {
    guard("npaa_mpi_append", || {
        // SAFETY: forwarded contract.
        unsafe {
            with(collective, |c| {
                let (dtype, shape) = block(descr, ndim, shape)?;
                Ok(c.inner.define(&dtype, shape)?)
            })
        }
    })
}

/// Validates this writer's block of the step (dtype `descr`, shape `shape[0..ndim]` in the
/// file's memory order, `data_len` bytes of items at `data`, as for npaa_append_sized(); a
/// `data_len` of SIZE_MAX means itemsize(descr) * product(shape), as for npaa_append()) and
/// converts it to the file's dtype, writing nothing. On NPAA_OK, `*out` and `*bytes` give the bytes to write (`data`
/// itself when no conversion is needed, otherwise a buffer of the handle valid until its next
/// call) and `*items` the block's length along the growth axis (0 is fine).
///
/// Errors: those of npaa_append_sized() for the block (NPAA_SHAPE_MISMATCH, NPAA_CAST,
/// NPAA_INVALID_DTYPE, NPAA_INVALID_ARGUMENT for a `data_len` that is not the block's size,
/// ...), with the message naming the rank.
///
/// Pointers: As npaa_append() for `descr`, `shape` and `data`; `collective` NULL or a live handle;
/// `out`, `bytes` and `items` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_collective_prepare(
    collective: *mut npaa_collective,
    data: *const std::ffi::c_void,
    data_len: usize,
    descr: *const c_char,
    ndim: usize,
    shape: *const u64,
    out: *mut *const std::ffi::c_void,
    bytes: *mut u64,
    items: *mut u64,
) -> npaa_status {
    guard("npaa_mpi_append", || {
        let out = Out::new(out, "out")?;
        let bytes = Out::new(bytes, "bytes")?;
        let items = Out::new(items, "items")?;
        // SAFETY: forwarded contract.
        let (ptr, n, r) = unsafe {
            with(collective, |c| {
                let (dtype, shape) = block(descr, ndim, shape)?;
                let len = match data_len {
                    usize::MAX => block_len(&dtype, shape)?,
                    // The caller's length: the core checks it against the block.
                    len => len,
                };
                let data = boundary::bytes(
                    data.cast::<u8>(),
                    len,
                    "data",
                    "a pointer to the block's items (NULL only for an empty block)",
                )?;
                let (converted, r) = c.inner.prepare(&dtype, shape, data)?;
                Ok((converted.as_ptr(), converted.len() as u64, r))
            })?
        };
        // SAFETY: writable per the contract.
        unsafe {
            out.write(ptr.cast());
            bytes.write(n);
            items.write(r);
        }
        Ok(())
    })
}

/// The file offset where the next step's data starts (the end of the committed data); 0
/// before the file is defined (and for a NULL handle). Cannot fail.
///
/// Pointers: `collective` NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_collective_data_end(collective: *mut npaa_collective) -> u64 {
    // SAFETY: forwarded contract.
    unsafe { getter(collective, 0, |c| c.inner.data_end().unwrap_or(0)) }
}

/// 1 if the step of `bytes` (all writers' together) ends past the extent the file's
/// reservation mark covers (always for the first step, and for a NULL handle), else 0: then
/// the root calls npaa_collective_begin_step() before any writer writes, and the others wait
/// for it and call it too. Every writer gets the same answer. Cannot fail.
///
/// Pointers: `collective` NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_collective_step_needs_mark(
    collective: *mut npaa_collective,
    bytes: u64,
) -> u32 {
    // SAFETY: forwarded contract.
    unsafe { getter(collective, 1, |c| u32::from(c.inner.step_needs_mark(bytes))) }
}

/// For a step that npaa_collective_step_needs_mark(), before any writer writes the step's
/// `bytes` (all writers' together). On the root: creates the file if it does not exist yet,
/// then marks past the step's end (a 24-byte mark ending the file, 16 MiB beyond it)
/// so that a crash during the writes leaves bytes that npaa_recover() and the next open cut
/// instead of counting. The other ranks call it once the root's call succeeded, to know the
/// mark. Errors: NPAA_IO, NPAA_LOCKED (another writer created the file first); nothing was
/// written.
///
/// Pointers: `collective` NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_collective_begin_step(
    collective: *mut npaa_collective,
    bytes: u64,
) -> npaa_status {
    guard("npaa_mpi_append", || {
        // SAFETY: forwarded contract.
        unsafe { with(collective, |c| Ok(c.inner.begin_step(bytes)?)) }
    })
}

/// 1 if this step's data (`bytes` in all) must be synced (MPI_File_sync) before its header
/// is written, as npaa_options.durability asks (the root's), else 0 (also for a NULL handle).
/// Every writer calls it once per step with the same `bytes` and gets the same answer. Cannot
/// fail.
///
/// Pointers: `collective` NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_collective_sync_due(
    collective: *mut npaa_collective,
    bytes: u64,
) -> u32 {
    // SAFETY: forwarded contract.
    unsafe { getter(collective, 0, |c| u32::from(c.inner.sync_due(bytes))) }
}

/// 1 if the data must be synced (MPI_File_sync) before npaa_collective_close() writes the
/// final header (any durability but NPAA_DURABILITY_NONE), else 0 (also for a NULL handle).
/// Cannot fail.
///
/// Pointers: `collective` NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_collective_sync_due_at_close(
    collective: *mut npaa_collective,
) -> u32 {
    // SAFETY: forwarded contract.
    unsafe { getter(collective, 0, |c| u32::from(c.inner.sync_due_at_close())) }
}

/// Counts a step whose data every writer has written (`items` along the growth axis and
/// `bytes` in all, summed over the writers; `synced` non-zero if the data was synced as
/// npaa_collective_sync_due() asked). Every writer calls it; on the root it rewrites the
/// header (NPAA_IO if that fails: the step is not counted and its bytes are cut by the next
/// open or npaa_recover()).
///
/// Pointers: `collective` NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_collective_commit(
    collective: *mut npaa_collective,
    items: u64,
    bytes: u64,
    synced: u32,
) -> npaa_status {
    guard("npaa_mpi_append", || {
        // SAFETY: forwarded contract.
        unsafe {
            with(collective, |c| {
                Ok(c.inner.commit(items, bytes, synced != 0)?)
            })
        }
    })
}

/// Ends this writer's session and frees the handle (even on error). On the root: writes the
/// final header (after the MPI layer synced the data if npaa_collective_sync_due_at_close()
/// said so), syncs it as the durability asks, cuts what a failed step left past the data,
/// removes the reservation mark and releases the lock. `collective` may be NULL (no-op).
///
/// Pointers: `collective` NULL or a live handle, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_collective_close(collective: *mut npaa_collective) -> npaa_status {
    guard("npaa_mpi_close", || {
        if collective.is_null() {
            return Ok(());
        }
        // SAFETY: a live handle is a Box from npaa_collective_open, and the caller gives up
        // its pointer.
        let c = unsafe { Box::from_raw(collective) };
        let rank = c.rank;
        c.inner.close().map_err(|e| on_rank(rank, e.into()))
    })
}

/// Makes `message` the calling thread's npaa_last_error_message() and returns `status`: the
/// MPI layer gives every rank the message of the rank whose failure ended a collective call.
/// A NULL `message` keeps an empty one; NPAA_OK clears it.
///
/// Pointers: `message` must be NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_collective_fail(
    status: npaa_status,
    message: *const c_char,
) -> npaa_status {
    if status == NPAA_OK {
        error::clear();
        return NPAA_OK;
    }
    let text = if message.is_null() {
        String::new()
    } else {
        // SAFETY: non-NULL and NUL-terminated per the contract.
        unsafe { std::ffi::CStr::from_ptr(message) }
            .to_string_lossy()
            .into_owned()
    };
    error::set(&text);
    status
}
