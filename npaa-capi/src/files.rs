//! Operations on files by path: npaa_recover(), npaa_ensure_appendable(),
//! npaa_is_appendable(), npaa_needs_recovery(), npaa_append_files().

use std::ffi::c_char;
use std::fmt::Display;
use std::path::Path;

use npaa_core::{AppendFilesOptions, EnsureMethod, EnsureOptions, RecoverOptions, Remedy};

use crate::boundary::{self, Out, guard};
use crate::error::{self, Failure};
use crate::options::npaa_options;
use crate::status::npaa_status;

/// Copies what keeps the file at `path` from loading in NumPy or from being appended to
/// (npaa-core's FileInfo::problems: needs recovery, not appendable, a header longer than
/// NumPy reads by default), one per line, each with the C function that fixes it where one
/// does, NUL-terminated, into `buf`, like npaa_descr(): `*len_out` receives the full length
/// (call again with `*len_out + 1` bytes if it is >= capacity), `*count_out` the number of
/// problems (0: the file is fine, and the text is ""). `buf` may be NULL when `capacity` is 0.
///
/// Errors: NPAA_NULL_ARGUMENT; those of npaa_is_appendable() for a file that cannot be read
/// (NPAA_IO, NPAA_FORMAT). Thread-safe.
///
/// Pointers: `path` NULL or a NUL-terminated string; `buf` NULL or `capacity` writable bytes;
/// `len_out` and `count_out` NULL or writable size_t.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_problems(
    path: *const c_char,
    buf: *mut c_char,
    capacity: usize,
    len_out: *mut usize,
    count_out: *mut usize,
) -> npaa_status {
    guard("npaa_problems", || {
        // SAFETY: forwarded contract.
        unsafe {
            copy_problems(path, buf, capacity, len_out, count_out, |path| {
                let problems = npaa_core::inspect(path)?.problems();
                Ok(worded(
                    problems.iter().map(|p| (p as &dyn Display, p.remedy())),
                ))
            })
        }
    })
}

/// What npaa_problems() and npaa_ragged_problems() do with the findings `find` gives for
/// `path`: copied into `buf`, one per line, with `*len_out` and `*count_out`.
///
/// # Safety
/// As npaa_problems().
pub(crate) unsafe fn copy_problems(
    path: *const c_char,
    buf: *mut c_char,
    capacity: usize,
    len_out: *mut usize,
    count_out: *mut usize,
    find: impl FnOnce(&Path) -> npaa_core::Result<Vec<String>>,
) -> Result<(), Failure> {
    let len_out = Out::new(len_out, "len_out")?;
    let count_out = Out::new(count_out, "count_out")?;
    // SAFETY: forwarded contract.
    let path = unsafe { boundary::path(path, "path")? };
    let text = find(path)?;
    // SAFETY: forwarded contract.
    unsafe { boundary::copy_text(&text.join("\n"), buf, capacity, len_out)? };
    // SAFETY: writable per the contract.
    unsafe { count_out.write(text.len()) };
    Ok(())
}

/// Findings in C terms: each with the C function that fixes it where one does.
pub(crate) fn worded<'a>(
    problems: impl Iterator<Item = (&'a dyn Display, Option<Remedy>)>,
) -> Vec<String> {
    problems
        .map(|(p, remedy)| match remedy {
            Some(r) => format!("{p}: {}", error::remedy(r)),
            None => p.to_string(),
        })
        .collect()
}

/// What npaa_append_files() did. Plain data, filled by the library.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct npaa_append_files_report {
    /// Items appended along the growth axis, all sources together.
    pub items: u64,
    /// Data bytes of the sources.
    pub bytes: u64,
    /// True when `dest` was created (or replaced, with options->delete_if_exists) rather
    /// than appended to.
    pub created: bool,
}

/// Appends the arrays of the .npy files `sources[0..n_sources]`, in order, to the .npy file
/// `dest`, as one transaction, as `npaa append DEST SRC...` does: every source is checked
/// (complete, appendable, a shape and dtype `dest` takes) before `dest` is touched; a new
/// `dest` is built under a temporary name beside it and renamed into place when complete; a
/// write that fails half-way into an existing `dest` is undone. On any error `dest` is as it
/// was (except NPAA_NEEDS_RECOVERY after an undo that failed too: run npaa_recover()).
///
/// A missing `dest` is created from the first source's dtype, item shape and memory order.
/// `options` may be NULL (the defaults); its casting, durability and buffer settings apply,
/// and delete_if_exists replaces `dest` with the sources only. `report` may be NULL;
/// otherwise it receives what was done, on success only. (NULL, 0) is a valid empty list of
/// sources (nothing to do for an existing `dest`; NPAA_INVALID_ARGUMENT for a missing one).
///
/// Errors: NPAA_NULL_ARGUMENT; NPAA_INVALID_ARGUMENT (a source that is `dest` itself, bad
/// options); for a source: NPAA_IO, NPAA_FORMAT, NPAA_NEEDS_RECOVERY, NPAA_OBJECT_DTYPE,
/// NPAA_SCALAR_FILE, NPAA_SHAPE_MISMATCH, NPAA_CAST; for `dest`: those of npaa_open(). The
/// message (npaa_last_error_message()) names the file concerned. Thread-safe.
///
/// Pointers: `dest` must be NULL or a NUL-terminated string; `sources` NULL (with n_sources
/// 0) or an array of n_sources NUL-terminated strings; `options` NULL or an npaa_options
/// initialized by npaa_options_default() or NPAA_OPTIONS_INIT; `report` NULL or a writable
/// npaa_append_files_report.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_append_files(
    dest: *const c_char,
    sources: *const *const c_char,
    n_sources: usize,
    options: *const npaa_options,
    report: *mut npaa_append_files_report,
) -> npaa_status {
    guard("npaa_append_files", || {
        let out = Out::optional(report);
        // SAFETY: forwarded contract.
        let dest = unsafe { boundary::path(dest, "dest")? };
        // SAFETY: forwarded contract.
        let sources = unsafe { boundary::paths(sources, n_sources, "sources")? };
        // SAFETY: forwarded contract.
        let options = unsafe { npaa_options::read_or_default(options)? }.to_core()?;
        let done = npaa_core::append_files(
            dest,
            &sources,
            AppendFilesOptions::new().append_options(options),
        )?;
        if let Some(out) = out {
            let value = npaa_append_files_report {
                items: done.items,
                bytes: done.bytes,
                created: done.created,
            };
            // SAFETY: writable per the contract.
            unsafe { out.write(value) };
        }
        Ok(())
    })
}

/// npaa_recover() flag: complete an incomplete last item with zeros instead of cutting it off.
pub const NPAA_RECOVER_ZEROFILL_INCOMPLETE: u32 = 1;
/// npaa_recover() flag: only report what would be done; change nothing.
pub const NPAA_RECOVER_DRY_RUN: u32 = 2;

/// npaa_ensure_appendable() flag: change the file in place (inserting file-system blocks at
/// the front where the file system supports it, moving the data otherwise) instead of
/// writing a new file beside it and renaming it over the old one.
pub const NPAA_ENSURE_IN_PLACE: u32 = 1;

/// npaa_ensure_report.method: the header already had room; nothing was changed.
pub const NPAA_ENSURE_ALREADY_APPENDABLE: u32 = 0;
/// npaa_ensure_report.method: file-system blocks were inserted at the front; no data moved.
pub const NPAA_ENSURE_INSERTED_BLOCKS: u32 = 1;
/// npaa_ensure_report.method: the data was moved towards the end of the same file.
pub const NPAA_ENSURE_MOVED_IN_PLACE: u32 = 2;
/// npaa_ensure_report.method: a new file was written and renamed over the old one.
pub const NPAA_ENSURE_COPIED: u32 = 3;
/// npaa_ensure_report.method: a method this version of the C API does not name.
pub const NPAA_ENSURE_OTHER: u32 = 255;

/// What npaa_recover() did (or, with NPAA_RECOVER_DRY_RUN, would do). Plain data, filled by
/// the library.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct npaa_recover_report {
    /// Length of the growth axis the header announced (0 when `placeholder` is true).
    pub items_before: u64,
    /// Length of the growth axis after recovery.
    pub items_after: u64,
    /// Bytes cut from the end of the file (an incomplete last item).
    pub bytes_cut: u64,
    /// Zero bytes added to complete the last item (NPAA_RECOVER_ZEROFILL_INCOMPLETE).
    pub bytes_zero_filled: u64,
    /// True when the header's shape was a placeholder left by an unfinished streaming writer.
    pub placeholder: bool,
    /// False when the file did not need recovery (nothing was changed).
    pub changed: bool,
}

/// What npaa_ensure_appendable() did. Plain data, filled by the library.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct npaa_ensure_report {
    /// How room was made: one of the NPAA_ENSURE_* method constants.
    pub method: u32,
    /// Always 0 (alignment).
    pub reserved: u32,
    /// Header size before, in bytes (the offset where the data started).
    pub header_len_before: u64,
    /// Header size after, in bytes.
    pub header_len_after: u64,
    /// Bytes of data after the header, carried over unchanged.
    pub data_len: u64,
}

/// Makes a file whose data does not match its header loadable and appendable again: a file
/// cut short mid-item (a crash, a full disk, a broken copy), or one with items its header
/// does not count yet. The number of items is inferred from the file size; an incomplete last
/// item is cut off (or, with NPAA_RECOVER_ZEROFILL_INCOMPLETE, completed with zeros). Costs
/// one header rewrite, whatever the file size. A file that does not need recovery is left as it is
/// (report->changed is false).
///
/// `flags`: 0 or a bitwise OR of NPAA_RECOVER_ZEROFILL_INCOMPLETE and NPAA_RECOVER_DRY_RUN;
/// unknown bits give NPAA_INVALID_ARGUMENT. `report` may be NULL; otherwise it receives what
/// was done, on success only.
///
/// Errors: NPAA_NULL_ARGUMENT (`path`), NPAA_INVALID_ARGUMENT, NPAA_IO (missing file, ...),
/// NPAA_FORMAT, NPAA_LOCKED (a writer has it open: close it first), NPAA_NOT_APPENDABLE (the
/// new shape does not fit a legacy header: run npaa_ensure_appendable() first),
/// NPAA_OBJECT_DTYPE, NPAA_SCALAR_FILE. Thread-safe.
///
/// Pointers: `path` must be NULL or a NUL-terminated string; `report` NULL or a writable
/// npaa_recover_report.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_recover(
    path: *const c_char,
    flags: u32,
    report: *mut npaa_recover_report,
) -> npaa_status {
    guard("npaa_recover", || {
        let out = Out::optional(report);
        // SAFETY: forwarded contract.
        let path = unsafe { boundary::path(path, "path")? };
        check_flags(
            flags,
            NPAA_RECOVER_ZEROFILL_INCOMPLETE | NPAA_RECOVER_DRY_RUN,
            "NPAA_RECOVER_*",
        )?;
        let options = RecoverOptions::new()
            .zerofill_incomplete(flags & NPAA_RECOVER_ZEROFILL_INCOMPLETE != 0)
            .dry_run(flags & NPAA_RECOVER_DRY_RUN != 0);
        let done = npaa_core::recover_with(path, options)?;
        if let Some(out) = out {
            let value = npaa_recover_report {
                items_before: done.items_before.unwrap_or(0),
                items_after: done.items_after,
                bytes_cut: done.bytes_cut,
                bytes_zero_filled: done.bytes_zero_filled,
                placeholder: done.items_before.is_none(),
                changed: done.changed,
            };
            // SAFETY: writable per the contract.
            unsafe { out.write(value) };
        }
        Ok(())
    })
}

/// Gives the header of a file written by an old NumPy (< 1.24) or another library the spare
/// room appends need, as np.save of NumPy >= 1.24 writes it. The data is carried over byte
/// for byte (a file that needs recovery still does afterwards: run npaa_recover() next).
///
/// By default a new file is written beside the old one and renamed over it: atomic, but it
/// needs room for a second copy. With NPAA_ENSURE_IN_PLACE the file itself is changed: fast
/// and without a copy, but a crash in the middle may leave it damaged.
///
/// `flags`: 0 or NPAA_ENSURE_IN_PLACE; unknown bits give NPAA_INVALID_ARGUMENT. `report` may
/// be NULL; otherwise it receives what was done, on success only.
///
/// Errors: NPAA_NULL_ARGUMENT (`path`), NPAA_INVALID_ARGUMENT, NPAA_IO, NPAA_FORMAT,
/// NPAA_LOCKED, NPAA_OBJECT_DTYPE, NPAA_SCALAR_FILE. Thread-safe.
///
/// Pointers: `path` must be NULL or a NUL-terminated string; `report` NULL or a writable
/// npaa_ensure_report.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_ensure_appendable(
    path: *const c_char,
    flags: u32,
    report: *mut npaa_ensure_report,
) -> npaa_status {
    guard("npaa_ensure_appendable", || {
        let out = Out::optional(report);
        // SAFETY: forwarded contract.
        let path = unsafe { boundary::path(path, "path")? };
        check_flags(flags, NPAA_ENSURE_IN_PLACE, "NPAA_ENSURE_IN_PLACE")?;
        let options = EnsureOptions::new().in_place(flags & NPAA_ENSURE_IN_PLACE != 0);
        let done = npaa_core::ensure_appendable_with(path, options)?;
        if let Some(out) = out {
            // EnsureMethod is non-exhaustive: a method added later is NPAA_ENSURE_OTHER.
            let method = match done.method {
                EnsureMethod::AlreadyAppendable => NPAA_ENSURE_ALREADY_APPENDABLE,
                EnsureMethod::InsertedBlocks => NPAA_ENSURE_INSERTED_BLOCKS,
                EnsureMethod::MovedInPlace => NPAA_ENSURE_MOVED_IN_PLACE,
                EnsureMethod::Copied => NPAA_ENSURE_COPIED,
                _ => NPAA_ENSURE_OTHER,
            };
            let value = npaa_ensure_report {
                method,
                reserved: 0,
                header_len_before: done.header_len_before,
                header_len_after: done.header_len_after,
                data_len: done.data_len,
            };
            // SAFETY: writable per the contract.
            unsafe { out.write(value) };
        }
        Ok(())
    })
}

/// Stores in `*appendable_out` whether the header of the .npy file at `path` has room for a
/// growth dimension of any length (false: run npaa_ensure_appendable() before appending). A
/// file can be appended to when this is true and npaa_needs_recovery() is false. Reads the
/// header only; works on locked files.
///
/// Errors: NPAA_NULL_ARGUMENT, NPAA_IO (missing file, ...), NPAA_FORMAT. Thread-safe.
///
/// Pointers: `path` must be NULL or a NUL-terminated string; `appendable_out` NULL or a writable
/// bool.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_is_appendable(
    path: *const c_char,
    appendable_out: *mut bool,
) -> npaa_status {
    guard("npaa_is_appendable", || {
        let out = Out::new(appendable_out, "appendable_out")?;
        // SAFETY: forwarded contract.
        let path = unsafe { boundary::path(path, "path")? };
        let yes = npaa_core::is_appendable(path)?;
        // SAFETY: writable per the contract.
        unsafe { out.write(yes) };
        Ok(())
    })
}

/// Stores in `*needs_recovery_out` whether the data of the .npy file at `path` does not match
/// its header (an interrupted write or download, a placeholder shape): npaa_recover() repairs
/// it. Reads the header and the file size only.
///
/// Errors: NPAA_NULL_ARGUMENT, NPAA_IO (missing file, ...), NPAA_FORMAT. Thread-safe.
///
/// Pointers: `path` must be NULL or a NUL-terminated string; `needs_recovery_out` NULL or a
/// writable bool.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_needs_recovery(
    path: *const c_char,
    needs_recovery_out: *mut bool,
) -> npaa_status {
    guard("npaa_needs_recovery", || {
        let out = Out::new(needs_recovery_out, "needs_recovery_out")?;
        // SAFETY: forwarded contract.
        let path = unsafe { boundary::path(path, "path")? };
        let yes = npaa_core::needs_recovery(path)?;
        // SAFETY: writable per the contract.
        unsafe { out.write(yes) };
        Ok(())
    })
}

fn check_flags(flags: u32, known: u32, names: &str) -> Result<(), Failure> {
    if flags & !known != 0 {
        return Err(Failure::invalid(format!(
            "flags is {flags:#x}: bits {:#x} are unknown; use 0 or {names}",
            flags & !known
        )));
    }
    Ok(())
}
