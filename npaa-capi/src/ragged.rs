//! `npaa_ragged`: a ragged pair (records of any length with an index of their ends) open for
//! appending, and its repair.

use std::ffi::c_char;
use std::fmt::Display;

use npaa_core::RaggedAppendArray;

use crate::array::block_data;
use crate::boundary::{self, Out, guard, handle};
use crate::error::Failure;
use crate::files::{copy_problems, worded};
use crate::options::npaa_options;
use crate::status::npaa_status;

/// A ragged pair open for appending (opaque): records of any length (0 included) along the
/// growth axis of a .npy data file, with their ends in an index beside it.
///
/// The index of "feats.npy" is "feats.idx.npy" (a path not ending in ".npy" gets ".idx.npy"
/// added): a 1-D "<i8" .npy file of record ends, so that record i is items
/// `ends[i-1]..ends[i]` of the data (`0..ends[0]` for the first). NumPy loads both files.
///
/// Each record is appended to the data first (written, then counted by its header), then its
/// end to the index: a process killed at any moment never leaves an index that names items the
/// data does not hold; at most a half-appended record, which npaa_ragged_open() and
/// npaa_ragged_recover() cut. The pair's lock is the index's: a second writer gets
/// NPAA_LOCKED.
///
/// Create it with npaa_ragged_open(), release it with npaa_ragged_close() (exactly once).
/// Thread-safety as npaa_array: every call but npaa_ragged_close() may run concurrently on
/// one handle; each record lands whole, with its index entry.
#[derive(Debug)]
pub struct npaa_ragged {
    inner: RaggedAppendArray,
}

/// Opens the ragged pair whose data file is `path` for appending and stores a new handle in
/// `*out`. A pair a crash left is repaired first (a half-appended record is cut); a new pair
/// gets its (empty) index at once, its data file with the first record.
///
/// `options` as for npaa_open() (NULL for the defaults); delete_if_exists deletes both files.
///
/// Ownership: on NPAA_OK, `*out` receives a handle that the caller owns and must release with
/// npaa_ragged_close(). On failure, `*out` is left unchanged. Errors: those of npaa_open()
/// for either file, and NPAA_FORMAT when the index is not a ragged index (a 1-D "<i8" array)
/// or is missing beside a data file that holds items. Thread-safe.
///
/// Pointers: `path` must be NULL or a NUL-terminated string; `options` NULL or an initialized
/// npaa_options; `out` NULL or a writable npaa_ragged pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_ragged_open(
    path: *const c_char,
    options: *const npaa_options,
    out: *mut *mut npaa_ragged,
) -> npaa_status {
    guard("npaa_ragged_open", || {
        let out = Out::new(out, "out")?;
        // SAFETY: forwarded contract.
        let path = unsafe { boundary::path(path, "path")? };
        let options = if options.is_null() {
            npaa_options::DEFAULT
        } else {
            // SAFETY: non-NULL, and an initialized npaa_options per the contract.
            unsafe { npaa_options::read(options)? }
        };
        let inner = options.to_core()?.open_ragged(path)?;
        let ragged = Box::into_raw(Box::new(npaa_ragged { inner }));
        // SAFETY: writable per the contract; nothing can fail after this point.
        unsafe { out.write(ragged) };
        Ok(())
    })
}

/// Appends one record: a block of `ndim` dimensions, shape `shape[0..ndim]`, of dtype
/// `descr`, read from `data`, exactly as npaa_append() takes a block; its length along the
/// growth axis may be anything, 0 included. The record and its index entry are both written
/// before this returns (unless npaa_options.buffer_capacity or a durability of N bytes holds
/// them back until npaa_ragged_flush(), npaa_ragged_sync() or npaa_ragged_close()).
///
/// A refused record writes nothing. Errors: those of npaa_append(). Thread-safe.
///
/// Pointers: `ragged` must be NULL or a live handle from npaa_ragged_open(); the others as
/// npaa_append().
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_ragged_append(
    ragged: *mut npaa_ragged,
    data: *const std::ffi::c_void,
    descr: *const c_char,
    ndim: usize,
    shape: *const u64,
) -> npaa_status {
    guard("npaa_ragged_append", || {
        // SAFETY: forwarded contract.
        unsafe { append_record(ragged, data, None, descr, ndim, shape) }
    })
}

/// npaa_ragged_append() with the length of `data` in bytes, as npaa_append_sized(): the
/// library checks that it is itemsize(descr) * product(shape) (NPAA_INVALID_ARGUMENT
/// otherwise, nothing written), so a caller holding a buffer of known size (a C++ vector)
/// need not check it itself.
///
/// Errors: those of npaa_ragged_append(), and NPAA_INVALID_ARGUMENT when `data_len` is not
/// the record's size. Thread-safe.
///
/// Pointers: as npaa_ragged_append(), with `data` NULL or `data_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_ragged_append_sized(
    ragged: *mut npaa_ragged,
    data: *const std::ffi::c_void,
    data_len: usize,
    descr: *const c_char,
    ndim: usize,
    shape: *const u64,
) -> npaa_status {
    guard("npaa_ragged_append_sized", || {
        // SAFETY: forwarded contract.
        unsafe { append_record(ragged, data, Some(data_len), descr, ndim, shape) }
    })
}

/// Appends a record as npaa_ragged_append() (`data_len` `None`) and
/// npaa_ragged_append_sized() do.
///
/// # Safety
/// As npaa_ragged_append() (npaa_ragged_append_sized() with a `data_len`).
unsafe fn append_record(
    ragged: *mut npaa_ragged,
    data: *const std::ffi::c_void,
    data_len: Option<usize>,
    descr: *const c_char,
    ndim: usize,
    shape: *const u64,
) -> Result<(), Failure> {
    // SAFETY: forwarded contract.
    let ragged = unsafe { handle(ragged, "ragged")? };
    // SAFETY: forwarded contract.
    let record = unsafe { block_data(data, data_len, descr, ndim, shape, RECORD_DATA)? };
    ragged
        .inner
        .append_raw(&record.dtype, record.shape, record.data)?;
    Ok(())
}

/// What `data` must be for npaa_ragged_append() and npaa_ragged_append_sized().
const RECORD_DATA: &str = "a pointer to the record's elements (NULL only for an empty record)";

/// Stores the number of records appended so far in `*records_out`. Errors:
/// NPAA_NULL_ARGUMENT. Thread-safe.
///
/// Pointers: `ragged` must be NULL or a live handle from npaa_ragged_open(); `records_out`
/// NULL or a writable uint64_t.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_ragged_len(
    ragged: *const npaa_ragged,
    records_out: *mut u64,
) -> npaa_status {
    guard("npaa_ragged_len", || {
        let out = Out::new(records_out, "records_out")?;
        // SAFETY: forwarded contract.
        let ragged = unsafe { handle(ragged, "ragged")? };
        // SAFETY: writable per the contract.
        unsafe { out.write(ragged.inner.len()) };
        Ok(())
    })
}

/// Writes records held back (a buffer, a durability of N bytes) and then their index
/// entries. Errors: NPAA_NULL_ARGUMENT, NPAA_IO. Thread-safe.
///
/// Pointers: `ragged` must be NULL or a live handle from npaa_ragged_open().
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_ragged_flush(ragged: *mut npaa_ragged) -> npaa_status {
    guard("npaa_ragged_flush", || {
        // SAFETY: forwarded contract.
        let ragged = unsafe { handle(ragged, "ragged")? };
        Ok(ragged.inner.flush()?)
    })
}

/// Writes everything and forces it to stable storage, the data before the index: every record
/// appended before this call survives a power loss. Errors: NPAA_NULL_ARGUMENT, NPAA_IO.
/// Thread-safe.
///
/// Pointers: `ragged` must be NULL or a live handle from npaa_ragged_open().
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_ragged_sync(ragged: *mut npaa_ragged) -> npaa_status {
    guard("npaa_ragged_sync", || {
        // SAFETY: forwarded contract.
        let ragged = unsafe { handle(ragged, "ragged")? };
        Ok(ragged.inner.sync()?)
    })
}

/// Closes the pair (the data, then the index), releases its lock and frees the handle.
/// `ragged` may be NULL: then it does nothing and returns NPAA_OK.
///
/// Ownership: the handle is freed even when an error is returned; do not use it again. An
/// error (NPAA_IO) means the last records may not be indexed: the next npaa_ragged_open()
/// cuts what is not.
///
/// Pointers: `ragged` must be NULL or a live handle from npaa_ragged_open() that is not used
/// again (nor concurrently).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_ragged_close(ragged: *mut npaa_ragged) -> npaa_status {
    guard("npaa_ragged_close", || {
        if ragged.is_null() {
            return Ok(());
        }
        // SAFETY: a live handle is a Box from npaa_ragged_open, whose ownership the caller
        // gives up here (per the contract).
        let ragged = unsafe { Box::from_raw(ragged) };
        ragged.inner.close()?;
        Ok(())
    })
}

/// Restores a consistent ragged pair after a crash, under its lock: every record that was
/// appended and indexed survives exactly, a half-appended record is cut. `records_out` may be
/// NULL; otherwise it receives the number of records after the repair.
///
/// Errors: NPAA_NULL_ARGUMENT (`path`), NPAA_IO (neither file exists, ...), NPAA_LOCKED (a
/// writer has the pair open), NPAA_FORMAT (not a ragged index), and those of npaa_recover().
/// Thread-safe.
///
/// Pointers: `path` must be NULL or a NUL-terminated string; `records_out` NULL or a writable
/// uint64_t.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_ragged_recover(
    path: *const c_char,
    records_out: *mut u64,
) -> npaa_status {
    guard("npaa_ragged_recover", || {
        let out = Out::optional(records_out);
        // SAFETY: forwarded contract.
        let path = unsafe { boundary::path(path, "path")? };
        let report = npaa_core::recover_ragged(path)?;
        if let Some(out) = out {
            // SAFETY: writable per the contract.
            unsafe { out.write(report.records) };
        }
        Ok(())
    })
}

/// Copies what is wrong with the ragged pair whose data file is `path` (npaa-core's
/// RaggedInfo::problems: either file's own findings, as npaa_problems() words them, then an
/// index entry smaller than the one before it, index entries past the data, or items of the
/// data past its last indexed record), one per line, each with the C function that fixes it
/// where one does, NUL-terminated, into `buf`, like npaa_problems(): `*len_out` receives the
/// full length (call again with `*len_out + 1` bytes if it is >= capacity), `*count_out` the
/// number of problems (0: the pair is consistent, and the text is ""). `buf` may be NULL when
/// `capacity` is 0. Reads the whole index; changes nothing.
///
/// Errors: NPAA_NULL_ARGUMENT; NPAA_IO (no index, ...), NPAA_FORMAT (a file that is not a .npy
/// file, an index that is not a 1-D "<i8" array). Thread-safe.
///
/// Pointers: `path` NULL or a NUL-terminated string; `buf` NULL or `capacity` writable bytes;
/// `len_out` and `count_out` NULL or writable size_t.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_ragged_problems(
    path: *const c_char,
    buf: *mut c_char,
    capacity: usize,
    len_out: *mut usize,
    count_out: *mut usize,
) -> npaa_status {
    guard("npaa_ragged_problems", || {
        // SAFETY: forwarded contract.
        unsafe {
            copy_problems(path, buf, capacity, len_out, count_out, |path| {
                let problems = npaa_core::inspect_ragged(path)?.problems();
                Ok(worded(
                    problems.iter().map(|p| (p as &dyn Display, p.remedy())),
                ))
            })
        }
    })
}
