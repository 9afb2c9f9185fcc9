//! `npaa_array`: the handle of a file open for appending, and everything done through it.

use std::ffi::c_char;
use std::rc::Rc;

use npaa_core::{AppendArray, Dtype, Order};

use crate::boundary::{self, Out, guard, handle};
use crate::dtype;
use crate::error::Failure;
use crate::options::npaa_options;
use crate::status::{NPAA_INVALID_ARGUMENT, NPAA_OVERFLOW, npaa_status};

/// NumPy's limit on the number of dimensions of an array: npaa_append() refuses larger ndim
/// values with NPAA_INVALID_ARGUMENT.
pub const NPAA_MAX_DIMS: usize = 64;

// The limit is the core's (`npaa_core::MAX_DIMS`); cbindgen needs the literal above.
const _: () = assert!(NPAA_MAX_DIMS == npaa_core::MAX_DIMS);

/// A .npy file open for appending (opaque).
///
/// Create it with npaa_open(), release it with npaa_close() (exactly once). The handle owns
/// an exclusive advisory lock on the file from the moment the file exists (opened or created
/// by the first append) until npaa_close(): another writer, in this process or another, gets
/// NPAA_LOCKED. Readers such as NumPy's np.load(..., mmap_mode="r") are not affected and see
/// every item whose npaa_append() has returned (with the default options).
///
/// Thread-safety: one handle may be used from many threads at once. npaa_append(),
/// npaa_check_append(), npaa_flush(), npaa_update_header(), npaa_sync() and the getters
/// (npaa_ndim(), npaa_shape(), npaa_descr(), npaa_is_fortran_order()) may be called
/// concurrently on the same handle: appends are serialized inside the library and each block
/// lands whole, in the order the calls took the handle's internal lock. npaa_close() must not
/// run concurrently with any other call on the same handle, nor be followed by one: join your
/// threads first.
#[derive(Debug)]
pub struct npaa_array {
    inner: AppendArray,
}

/// Opens the .npy file at `path` for appending and stores a new handle in `*out`.
///
/// If the file does not exist, nothing is created yet: the first npaa_append() creates it
/// with that block's dtype and shape (the directory must exist: NPAA_IO otherwise). An
/// existing file is checked at once: it must be a valid .npy file (NPAA_FORMAT) that is not
/// locked by another writer (NPAA_LOCKED), whose header has room to grow
/// (NPAA_NOT_APPENDABLE: run npaa_ensure_appendable()), whose data matches its header
/// (NPAA_NEEDS_RECOVERY: run npaa_recover()), and that is neither an object array
/// (NPAA_OBJECT_DTYPE) nor 0-dimensional (NPAA_SCALAR_FILE).
///
/// The file's lock is taken when the file is opened, or when the first append creates it: two
/// handles opened on a path that does not exist yet both succeed. The first to append creates
/// the file; an append through the other one then fails with NPAA_LOCKED while the first
/// handle is open, and appends to the file once it is closed. Open one handle per file and
/// share it between threads.
///
/// `path` is a NUL-terminated path (UTF-8 on Windows). `options` may be NULL for
/// the defaults (see npaa_options); npaa does not keep it.
///
/// Ownership: on NPAA_OK, `*out` receives a handle that the caller owns and must release with
/// npaa_close(). On failure, `*out` is left unchanged. Other errors: NPAA_NULL_ARGUMENT,
/// NPAA_INVALID_ARGUMENT (empty path, bad options), NPAA_IO. Thread-safe.
///
/// Pointers: `path` must be NULL or a NUL-terminated string; `options` must be NULL or point to an
/// npaa_options initialized by npaa_options_default() or NPAA_OPTIONS_INIT; `out` must be NULL or
/// point to a writable npaa_array pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_open(
    path: *const c_char,
    options: *const npaa_options,
    out: *mut *mut npaa_array,
) -> npaa_status {
    guard("npaa_open", || {
        let out = Out::new(out, "out")?;
        // SAFETY: forwarded contract.
        let path = unsafe { boundary::path(path, "path")? };
        // SAFETY: forwarded contract.
        let options = unsafe { npaa_options::read_or_default(options)? };
        // A missing directory fails here, not at the first append (the core's rule).
        let inner = options.to_core()?.open(path)?;
        let array = Box::into_raw(Box::new(npaa_array { inner }));
        // SAFETY: writable per the contract. Nothing can fail after this point, so the
        // handle cannot leak.
        unsafe { out.write(array) };
        Ok(())
    })
}

/// Appends a block of `ndim` dimensions, shape `shape[0..ndim]`, of dtype `descr`, read from
/// `data`.
///
/// `descr` is a NumPy descr: a typestr such as "<f8", "<i4", "|u1", "|b1", "<c16", "|S10",
/// `"<M8[ns]"`, or a structured dtype as a Python list literal, e.g.
/// "[('t', '<f8'), ('pos', '<f4', (3,))]". `data` holds product(shape) elements of that dtype,
/// packed, in the file's memory order: itemsize(descr) * product(shape) bytes are read (see
/// npaa_dtype_itemsize()). `data` may be NULL when that is 0 bytes.
///
/// `shape` is in the file's order: all dimensions must equal the file's except the growth
/// axis, which is the first for a C-order file and the last for a Fortran-order file. The
/// block's length along it is its number of items: one item (a row) of a 2-D C-order file of
/// shape (n, 3) is a block of shape {1, 3}; 100 items are {100, 3}. The first append to a new file fixes its dtype and the other dimensions.
///
/// The data is converted to the file's dtype if `descr` differs, under the casting rule of
/// the options (NumPy's "same_kind" by default). Everything is checked before a byte is
/// written: a failed append leaves the file as it was. With the default options the header
/// is updated before this returns, so NumPy sees the new items at once.
///
/// Errors: NPAA_NULL_ARGUMENT (`array`, `descr`, `shape` with ndim > 0, or `data` when the
/// block is not empty); NPAA_ZERO_DIMENSIONAL (ndim == 0); NPAA_INVALID_ARGUMENT
/// (ndim > NPAA_MAX_DIMS); NPAA_INVALID_DTYPE; NPAA_SHAPE_MISMATCH; NPAA_CAST and
/// NPAA_CAST_UNSUPPORTED (descr does not match the file's); NPAA_OBJECT_DTYPE;
/// NPAA_OVERFLOW; NPAA_IO (the first append creates the file; disk full, ...);
/// NPAA_LOCKED (another writer created the file first); NPAA_FILE_CHANGED.
///
/// Thread-safety: may be called from many threads at once on the same handle (see
/// npaa_array). The library does not keep `data`, `descr` or `shape` after returning.
///
/// Pointers: `array` must be NULL or a live handle from npaa_open(); `descr` NULL or a
/// NUL-terminated string; `shape` NULL or `ndim` readable uint64_t; `data` NULL or itemsize(descr)
/// * product(shape) readable bytes. None may be modified during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_append(
    array: *mut npaa_array,
    data: *const std::ffi::c_void,
    descr: *const c_char,
    ndim: usize,
    shape: *const u64,
) -> npaa_status {
    guard("npaa_append", || {
        // SAFETY: forwarded contract.
        let b = unsafe { appended(array, data, None, descr, ndim, shape)? };
        b.array
            .inner
            .append_raw(&b.block.dtype, b.block.shape, b.block.data)?;
        Ok(())
    })
}

/// npaa_append() with the length of `data` in bytes: the library checks that it is
/// itemsize(descr) * product(shape) (NPAA_INVALID_ARGUMENT otherwise, nothing written), so a
/// caller holding a buffer of known size (a C++ vector) need not check it itself.
///
/// Errors: those of npaa_append(), and NPAA_INVALID_ARGUMENT when `data_len` is not the
/// block's size. Thread-safety and lifetimes as npaa_append().
///
/// Pointers: as npaa_append(), with `data` NULL or `data_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_append_sized(
    array: *mut npaa_array,
    data: *const std::ffi::c_void,
    data_len: usize,
    descr: *const c_char,
    ndim: usize,
    shape: *const u64,
) -> npaa_status {
    guard("npaa_append_sized", || {
        // SAFETY: forwarded contract.
        let b = unsafe { appended(array, data, Some(data_len), descr, ndim, shape)? };
        b.array
            .inner
            .append_raw(&b.block.dtype, b.block.shape, b.block.data)?;
        Ok(())
    })
}

/// npaa_append_ordered(): the block is laid out in row-major (C) order.
pub const NPAA_ORDER_C: u32 = 0;
/// npaa_append_ordered(): the block is laid out in column-major (Fortran) order.
pub const NPAA_ORDER_F: u32 = 1;

/// npaa_append() for a block laid out in `order` (NPAA_ORDER_C or NPAA_ORDER_F), which may
/// differ from the file's: a C++ program holding a row-major buffer can feed a Fortran-order
/// file, and the reverse. `shape` is the block's shape, as for npaa_append() (its growth axis
/// is the file's); `data` holds its elements laid out in `order`.
///
/// The values are appended, as np.concatenate would append them, and written in the file's
/// order: a block whose bytes are the same in both orders (empty, or at most one dimension
/// longer than 1) is written as it is; any other block in the other order is rewritten in the
/// file's order (and cast) in pieces of at most 1 MiB, so memory use does not grow with the
/// block. A file created by this append takes its order from npaa_options.fortran_order, not
/// from `order`.
///
/// Errors: those of npaa_append(), and NPAA_INVALID_ARGUMENT for any other `order` value.
/// Thread-safety and lifetimes as npaa_append().
///
/// Pointers: as npaa_append().
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_append_ordered(
    array: *mut npaa_array,
    data: *const std::ffi::c_void,
    descr: *const c_char,
    ndim: usize,
    shape: *const u64,
    order: u32,
) -> npaa_status {
    guard("npaa_append_ordered", || {
        // SAFETY: forwarded contract.
        let b = unsafe { appended(array, data, None, descr, ndim, shape)? };
        b.append_in_order(order)
    })
}

/// npaa_append_ordered() with the length of `data` in bytes, checked by the library as
/// npaa_append_sized() does.
///
/// Errors: those of npaa_append_ordered(), and NPAA_INVALID_ARGUMENT when `data_len` is not
/// the block's size. Thread-safety and lifetimes as npaa_append().
///
/// Pointers: as npaa_append_sized().
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_append_ordered_sized(
    array: *mut npaa_array,
    data: *const std::ffi::c_void,
    data_len: usize,
    descr: *const c_char,
    ndim: usize,
    shape: *const u64,
    order: u32,
) -> npaa_status {
    guard("npaa_append_ordered_sized", || {
        // SAFETY: forwarded contract.
        let b = unsafe { appended(array, data, Some(data_len), descr, ndim, shape)? };
        b.append_in_order(order)
    })
}

/// The checked arguments of npaa_append() and npaa_append_ordered().
struct Appended<'a> {
    array: &'a npaa_array,
    block: Block<'a>,
}

/// A block's checked dtype, shape and bytes ([`block_data`]).
pub(crate) struct Block<'a> {
    pub(crate) dtype: Rc<Dtype>,
    pub(crate) shape: &'a [u64],
    pub(crate) data: &'a [u8],
}

impl Appended<'_> {
    /// Appends the block laid out in `order` (an NPAA_ORDER_* value).
    fn append_in_order(&self, order: u32) -> Result<(), Failure> {
        let order = match order {
            NPAA_ORDER_C => Order::C,
            NPAA_ORDER_F => Order::Fortran,
            other => {
                return Err(Failure::new(
                    NPAA_INVALID_ARGUMENT,
                    format!("order is {other}; use NPAA_ORDER_C (0) or NPAA_ORDER_F (1)"),
                ));
            }
        };
        self.array.inner.append_raw_in_order(
            &self.block.dtype,
            self.block.shape,
            order,
            self.block.data,
        )?;
        Ok(())
    }
}

/// Checks the arguments of the npaa_append*() functions. `data_len` is the caller's length of
/// `data` (the core checks it against the block), or `None` for the functions without one,
/// whose `data` holds the block's size by contract.
///
/// # Safety
/// As npaa_append() (npaa_append_sized() with a `data_len`).
unsafe fn appended<'a>(
    array: *mut npaa_array,
    data: *const std::ffi::c_void,
    data_len: Option<usize>,
    descr: *const c_char,
    ndim: usize,
    shape: *const u64,
) -> Result<Appended<'a>, Failure> {
    // SAFETY: forwarded contract.
    let array = unsafe { handle(array, "array")? };
    // SAFETY: forwarded contract.
    let block = unsafe { block_data(data, data_len, descr, ndim, shape, BLOCK_DATA)? };
    Ok(Appended { array, block })
}

/// What `data` must be for npaa_append() and its kin.
const BLOCK_DATA: &str = "a pointer to the block's elements (NULL only for an empty block)";

/// A block's dtype, shape and bytes, as npaa_append() (`data_len` `None`) and
/// npaa_append_sized() take them; `what` says what `data` must be, for the message of a NULL.
///
/// # Safety
/// As npaa_append() (npaa_append_sized() with a `data_len`), without the handle.
pub(crate) unsafe fn block_data<'a>(
    data: *const std::ffi::c_void,
    data_len: Option<usize>,
    descr: *const c_char,
    ndim: usize,
    shape: *const u64,
    what: &str,
) -> Result<Block<'a>, Failure> {
    // SAFETY: forwarded contract.
    let (dtype, shape) = unsafe { block(descr, ndim, shape)? };
    let len = match data_len {
        Some(len) => len,
        None => block_len(&dtype, shape)?,
    };
    // SAFETY: forwarded contract: `data` holds `len` bytes (the caller's length, or
    // itemsize × product(shape) by npaa_append()'s contract).
    let data = unsafe { boundary::bytes(data.cast::<u8>(), len, "data", what)? };
    Ok(Block { dtype, shape, data })
}

/// Checks that a block of dtype `descr` and shape `shape[0..ndim]` could be appended, without
/// writing anything: the same checks and statuses as npaa_append(), without `data`. Before
/// the first append created the file, only the block itself is checked.
///
/// Useful at start-up, to fail before hours of computation rather than at the first append.
/// Thread-safe (see npaa_array).
///
/// Pointers: as npaa_append(), without `data`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_check_append(
    array: *const npaa_array,
    descr: *const c_char,
    ndim: usize,
    shape: *const u64,
) -> npaa_status {
    guard("npaa_check_append", || {
        // SAFETY: forwarded contract.
        let array = unsafe { handle(array, "array")? };
        // SAFETY: forwarded contract.
        let (dtype, shape) = unsafe { block(descr, ndim, shape)? };
        block_len(&dtype, shape)?;
        array.inner.check_append(&dtype, shape)?;
        Ok(())
    })
}

/// Parses the descr and shape of a block.
///
/// # Safety
/// As npaa_check_append().
pub(crate) unsafe fn block<'a>(
    descr: *const c_char,
    ndim: usize,
    shape: *const u64,
) -> Result<(Rc<Dtype>, &'a [u64]), Failure> {
    // SAFETY: forwarded contract.
    let dtype = unsafe { dtype::parse(descr, "descr")? };
    // SAFETY: forwarded contract.
    let shape = unsafe { boundary::shape(shape, ndim, "shape")? };
    Ok((dtype, shape))
}

/// The block's size in bytes (the core's checks of a block: 0-d, dimensions, overflow...),
/// which must fit in memory.
pub(crate) fn block_len(dtype: &Dtype, shape: &[u64]) -> Result<usize, Failure> {
    let len = npaa_core::check_block(dtype, shape)?;
    match usize::try_from(len) {
        Ok(len) if len <= isize::MAX as usize => Ok(len),
        _ => Err(Failure::new(
            NPAA_OVERFLOW,
            format!("a block of {len} bytes does not fit in this process's address space"),
        )),
    }
}

/// Flushes buffered items and the header, syncs as npaa_options.durability asks, releases the
/// file's lock and frees the handle. `array` may be NULL: then it does nothing and returns
/// NPAA_OK.
///
/// Ownership: the handle is freed even when an error is returned; do not use it again in any
/// case. An error (NPAA_IO) means the last appends may not be counted in the header: the
/// file then loads as the items counted before, and npaa_recover() restores the rest.
///
/// Thread-safety: must not run concurrently with any other call on the same handle.
///
/// Pointers: `array` must be NULL or a live handle from npaa_open() that is not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_close(array: *mut npaa_array) -> npaa_status {
    guard("npaa_close", || {
        if array.is_null() {
            return Ok(());
        }
        // SAFETY: a live handle is a Box from npaa_open, and the caller gives up its
        // ownership here (it is not used again or concurrently, per the contract).
        let array = unsafe { Box::from_raw(array) };
        array.inner.close()?;
        Ok(())
    })
}

/// Writes items held in the buffer (npaa_options.buffer_capacity) to the file and, when the
/// header is rewritten on append (the default), updates the header. Does nothing without a
/// buffer. Errors: NPAA_NULL_ARGUMENT, NPAA_IO. Thread-safe (see npaa_array).
///
/// Pointers: `array` must be NULL or a live handle from npaa_open().
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_flush(array: *mut npaa_array) -> npaa_status {
    guard("npaa_flush", || {
        // SAFETY: forwarded contract.
        let array = unsafe { handle(array, "array")? };
        Ok(array.inner.flush()?)
    })
}

/// Writes buffered items and the header, so that NumPy sees everything appended so far, even
/// when npaa_options.rewrite_header_on_append is 0. Errors: NPAA_NULL_ARGUMENT, NPAA_IO.
/// Thread-safe (see npaa_array).
///
/// Pointers: `array` must be NULL or a live handle from npaa_open().
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_update_header(array: *mut npaa_array) -> npaa_status {
    guard("npaa_update_header", || {
        // SAFETY: forwarded contract.
        let array = unsafe { handle(array, "array")? };
        Ok(array.inner.update_header()?)
    })
}

/// Writes buffered items and the header, and forces both to stable storage (data first, then
/// the header that counts it): everything appended before this call survives a power loss.
/// Errors: NPAA_NULL_ARGUMENT, NPAA_IO. Thread-safe (see npaa_array).
///
/// Pointers: `array` must be NULL or a live handle from npaa_open().
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_sync(array: *mut npaa_array) -> npaa_status {
    guard("npaa_sync", || {
        // SAFETY: forwarded contract.
        let array = unsafe { handle(array, "array")? };
        Ok(array.inner.sync()?)
    })
}

/// Stores the number of dimensions of the array in `*ndim_out`; 0 until the first append
/// created the file (an appendable file always has at least one dimension).
/// Errors: NPAA_NULL_ARGUMENT. Thread-safe (see npaa_array).
///
/// Pointers: `array` must be NULL or a live handle from npaa_open(); `ndim_out` NULL or a writable
/// size_t.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_ndim(array: *const npaa_array, ndim_out: *mut usize) -> npaa_status {
    guard("npaa_ndim", || {
        let out = Out::new(ndim_out, "ndim_out")?;
        // SAFETY: forwarded contract.
        let array = unsafe { handle(array, "array")? };
        let ndim = array.inner.shape().map_or(0, |s| s.len());
        // SAFETY: writable per the contract.
        unsafe { out.write(ndim) };
        Ok(())
    })
}

/// Copies the array's current shape (items still in the buffer included) into
/// `shape_buf[0..min(capacity, ndim)]` and stores ndim in `*ndim_out`, like snprintf: if
/// `*ndim_out > capacity`, the shape was truncated; call again with a larger buffer
/// (NPAA_MAX_DIMS entries always suffice). Before the first append created the file, ndim is
/// 0 and nothing is copied.
///
/// `shape_buf` may be NULL when `capacity` is 0 (to ask for ndim only).
/// Errors: NPAA_NULL_ARGUMENT. Thread-safe (see npaa_array); with concurrent appends, the
/// shape is a snapshot.
///
/// Pointers: `array` must be NULL or a live handle from npaa_open(); `shape_buf` NULL or `capacity`
/// writable uint64_t; `ndim_out` NULL or a writable size_t.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_shape(
    array: *const npaa_array,
    shape_buf: *mut u64,
    capacity: usize,
    ndim_out: *mut usize,
) -> npaa_status {
    guard("npaa_shape", || {
        let out = Out::new(ndim_out, "ndim_out")?;
        if shape_buf.is_null() && capacity > 0 {
            return Err(Failure::null(
                "shape_buf",
                "an array of `capacity` uint64_t, or capacity 0",
            ));
        }
        // SAFETY: forwarded contract.
        let array = unsafe { handle(array, "array")? };
        let shape = array.inner.shape().unwrap_or_default();
        for (i, &d) in shape.iter().take(capacity).enumerate() {
            // SAFETY: i < capacity, and shape_buf holds `capacity` writable values per the
            // contract; write_unaligned tolerates a misaligned buffer.
            unsafe { shape_buf.add(i).write_unaligned(d) };
        }
        // SAFETY: writable per the contract.
        unsafe { out.write(shape.len()) };
        Ok(())
    })
}

/// Copies the file's descr (e.g. "<f8", or "[('t', '<f8'), ('pos', '<f4', (3,))]" for a
/// structured dtype), NUL-terminated, into `buf`, and stores its length (without the NUL) in
/// `*len_out`, like snprintf: at most `capacity - 1` bytes are copied, and if
/// `*len_out >= capacity` the text was truncated (possibly inside a multi-byte UTF-8
/// character of a field name); call again with `*len_out + 1` bytes. Before the first append
/// created the file, the descr is "" (length 0).
///
/// `buf` may be NULL when `capacity` is 0 (to ask for the length only).
/// Errors: NPAA_NULL_ARGUMENT. Thread-safe (see npaa_array).
///
/// Pointers: `array` must be NULL or a live handle from npaa_open(); `buf` NULL or `capacity`
/// writable bytes; `len_out` NULL or a writable size_t.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_descr(
    array: *const npaa_array,
    buf: *mut c_char,
    capacity: usize,
    len_out: *mut usize,
) -> npaa_status {
    guard("npaa_descr", || {
        let out = Out::new(len_out, "len_out")?;
        // SAFETY: forwarded contract.
        let array = unsafe { handle(array, "array")? };
        let descr = array.inner.dtype().map(|d| d.descr()).unwrap_or_default();
        // SAFETY: forwarded contract.
        unsafe { boundary::copy_text(&descr, buf, capacity, out) }
    })
}

/// Stores in `*fortran_out` whether the file is in Fortran (column-major) order, growing
/// along its last axis; false for C order and until the first append created the file.
/// Errors: NPAA_NULL_ARGUMENT. Thread-safe (see npaa_array).
///
/// Pointers: `array` must be NULL or a live handle from npaa_open(); `fortran_out` NULL or a
/// writable bool.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npaa_is_fortran_order(
    array: *const npaa_array,
    fortran_out: *mut bool,
) -> npaa_status {
    guard("npaa_is_fortran_order", || {
        let out = Out::new(fortran_out, "fortran_out")?;
        // SAFETY: forwarded contract.
        let array = unsafe { handle(array, "array")? };
        let fortran = array.inner.order() == Some(npaa_core::Order::Fortran);
        // SAFETY: writable per the contract.
        unsafe { out.write(fortran) };
        Ok(())
    })
}
