//! What `append` is given, as npaa-core takes it: a dtype, a shape, a memory order and bytes.
//!
//! A NumPy array (`ndarray` or a subclass), the common case, is read in place from its C
//! struct (`PyArrayObject_fields` in `numpy/ndarraytypes.h`, the layout NumPy keeps stable
//! for compiled extensions): no Python call, no copy. Anything else is made an `ndarray` by
//! NumPy first ([`as_ndarray`]): DLPack producers (PyTorch, JAX, CuPy, NumPy itself) through
//! `np.from_dlpack`, with a device array copied to host memory; objects with `__array__`,
//! the array interfaces or the buffer protocol, and nested lists, through `np.asarray`.

use std::ffi::c_int;

use npaa_core::dtype::{ByteOrder, Kind, Scalar};
use npaa_core::{Dtype, Order};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};

use crate::errors;

/// `NPY_ARRAY_C_CONTIGUOUS` and `NPY_ARRAY_F_CONTIGUOUS`: NumPy keeps these flags up to date
/// with its own contiguity rule (dimensions of length 1 take any stride; empty arrays are
/// both).
const C_CONTIGUOUS: c_int = 0x1;
const F_CONTIGUOUS: c_int = 0x2;

/// The leading fields of NumPy's `PyArrayObject_fields`, the same in NumPy 1.x and 2.x.
#[repr(C)]
struct ArrayFields {
    head: pyo3::ffi::PyObject,
    data: *const u8,
    nd: c_int,
    dimensions: *const isize,
    strides: *const isize,
    base: *mut pyo3::ffi::PyObject,
    descr: *const DescrFields,
    flags: c_int,
}

/// The leading fields of NumPy's `PyArray_Descr` shared by NumPy 1.x and 2.x; the item size
/// follows at a place that differs between them ([`NumpyApi::elsize`]).
#[repr(C)]
struct DescrFields {
    head: pyo3::ffi::PyObject,
    typeobj: *mut pyo3::ffi::PyTypeObject,
    // C `char`s, read as bytes: `u8` has their size and alignment on every target (`c_char`
    // is signed on x86-64 and unsigned on aarch64 Linux, which would make a cast to `u8` a
    // no-op there).
    kind: u8,
    type_char: u8,
    byteorder: u8,
    former_flags: u8,
    type_num: c_int,
}

/// NumPy 2.x's `PyArray_Descr` up to its item size (`npy_intp elsize` after 64-bit flags).
#[repr(C)]
struct DescrFields2 {
    shared: DescrFields,
    flags: u64,
    elsize: isize,
}

/// NumPy 1.x's `PyArray_Descr` up to its item size (`int elsize` right after `type_num`).
#[repr(C)]
struct DescrFields1 {
    shared: DescrFields,
    elsize: c_int,
}

/// A block to append: an `ndarray` (which this holds, and with it the data) read in place.
pub(crate) struct Block<'py> {
    array: Bound<'py, PyAny>,
    pub(crate) dtype: Dtype,
    pub(crate) shape: Vec<u64>,
    /// The order the bytes are laid out in: C when C-contiguous, else Fortran when
    /// Fortran-contiguous; `None` for a non-contiguous view.
    pub(crate) layout: Option<Order>,
    data: *const u8,
}

impl<'py> Block<'py> {
    /// The block of `obj`: an `ndarray` as it is, anything else made one by NumPy first
    /// ([`as_ndarray`]).
    pub(crate) fn of(obj: &Bound<'py, PyAny>) -> errors::Result<Self> {
        let py = obj.py();
        let np = numpy(py)?;
        let ndarray = np.ndarray.bind(py);
        let array = if obj.get_type().is(ndarray) || obj.is_instance(ndarray)? {
            obj.clone()
        } else {
            as_ndarray(obj)?
        };
        Self::read(array, np)
    }

    /// Reads `array`, an `ndarray`, in place.
    fn read(array: Bound<'py, PyAny>, np: &NumpyApi) -> errors::Result<Self> {
        // SAFETY: `array` is an instance of `numpy.ndarray` (checked by the caller), whose C
        // struct starts with `ArrayFields` in every NumPy this binding supports (1.x and 2.x
        // share it; compiled extensions depend on it). The reference `array` holds keeps it
        // alive, with its dimension, stride and descr pointers.
        let fields = unsafe { &*array.as_ptr().cast::<ArrayFields>() };
        let nd = usize::try_from(fields.nd).unwrap_or(0);
        let dims: &[isize] = if nd == 0 {
            &[]
        } else {
            // SAFETY: `dimensions` points to `nd` lengths (NumPy's array contract).
            unsafe { std::slice::from_raw_parts(fields.dimensions, nd) }
        };
        let shape: Vec<u64> = dims.iter().map(|&d| d.max(0) as u64).collect();
        let layout = if fields.flags & C_CONTIGUOUS != 0 {
            Some(Order::C)
        } else if fields.flags & F_CONTIGUOUS != 0 {
            Some(Order::Fortran)
        } else {
            None
        };
        let dtype = match np.builtin_dtype(fields.descr) {
            Some(dtype) => dtype,
            None => parse_dtype(&array.getattr(pyo3::intern!(array.py(), "dtype"))?)?,
        };
        Ok(Block {
            data: fields.data,
            array,
            dtype,
            shape,
            layout,
        })
    }

    /// The block's bytes, in [`layout`](Self::layout) order; `None` unless it is contiguous.
    pub(crate) fn bytes(&self) -> Option<&[u8]> {
        self.layout?;
        // Checked by npaa-core against the dtype and shape again; an array whose size
        // overflows cannot exist.
        let len = self
            .shape
            .iter()
            .try_fold(self.dtype.itemsize(), |n, &d| n.checked_mul(d as usize))?;
        if len == 0 {
            return Some(&[]);
        }
        // SAFETY: a contiguous array's data is `len` bytes at `data`, kept alive by the array
        // this block holds. NumPy does not move or free it while the array is referenced
        // (resizing refuses referenced arrays). Another thread may write the same elements
        // concurrently, as it may during any of NumPy's own GIL-free copies; the bytes
        // appended are then whatever was there.
        Some(unsafe { std::slice::from_raw_parts(self.data, len) })
    }

    /// The part `[start, end)` along the growth axis of `order`, as a new block laid out in
    /// `order` (`np.ascontiguousarray` / `np.asfortranarray` of the slice).
    pub(crate) fn slab(&self, order: Order, start: u64, end: u64) -> errors::Result<Block<'py>> {
        let py = self.array.py();
        let np = numpy(py)?;
        let range = pyo3::types::PySlice::new(py, start as isize, end as isize, 1);
        let part = match order {
            Order::C => {
                let part = self.array.get_item(PyTuple::new(py, [range])?)?;
                np.ascontiguousarray.bind(py).call1((part,))?
            }
            Order::Fortran => {
                let ellipsis = py.Ellipsis().into_bound(py);
                let part = self
                    .array
                    .get_item(PyTuple::new(py, [ellipsis, range.into_any()])?)?;
                np.asfortranarray.bind(py).call1((part,))?
            }
        };
        Self::read(part, np)
    }
}

/// NumPy functions and types the binding calls, looked up once.
#[derive(Debug)]
struct NumpyApi {
    ndarray: Py<PyType>,
    asarray: Py<PyAny>,
    from_dlpack: Py<PyAny>,
    ascontiguousarray: Py<PyAny>,
    asfortranarray: Py<PyAny>,
    dtype_to_descr: Py<PyAny>,
    descr_to_dtype: Py<PyAny>,
    literal_eval: Py<PyAny>,
    /// NumPy 2.x (its `PyArray_Descr` layout), else 1.x.
    numpy2: bool,
    /// `np.from_dlpack` takes `device=` and `copy=` (NumPy 2.1 and later).
    dlpack_copies: bool,
}

static NUMPY: PyOnceLock<NumpyApi> = PyOnceLock::new();

fn numpy(py: Python<'_>) -> PyResult<&NumpyApi> {
    NUMPY.get_or_try_init(py, || {
        let np = py.import("numpy")?;
        let format = py.import("numpy.lib.format")?;
        let version: String = np.getattr("__version__")?.extract()?;
        let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        Ok(NumpyApi {
            ndarray: np.getattr("ndarray")?.cast_into::<PyType>()?.unbind(),
            asarray: np.getattr("asarray")?.unbind(),
            from_dlpack: np.getattr("from_dlpack")?.unbind(),
            ascontiguousarray: np.getattr("ascontiguousarray")?.unbind(),
            asfortranarray: np.getattr("asfortranarray")?.unbind(),
            dtype_to_descr: format.getattr("dtype_to_descr")?.unbind(),
            descr_to_dtype: format.getattr("descr_to_dtype")?.unbind(),
            literal_eval: py.import("ast")?.getattr("literal_eval")?.unbind(),
            numpy2: major >= 2,
            dlpack_copies: (major, minor) >= (2, 1),
        })
    })
}

impl NumpyApi {
    /// The dtype `descr` stands for when it is a plain number, bool, bytes or str type, read
    /// from its C struct; `None` for the others (datetimes, whose unit is not there;
    /// structured and void; objects; user dtypes), which take NumPy's `dtype_to_descr`.
    fn builtin_dtype(&self, descr: *const DescrFields) -> Option<Dtype> {
        if descr.is_null() {
            return None;
        }
        // SAFETY: an array's `descr` points to its live `PyArray_Descr`, whose leading fields
        // are `DescrFields` in NumPy 1.x and 2.x.
        let shared = unsafe { &*descr };
        let kind = match shared.kind {
            b'b' => Kind::Bool,
            b'i' => Kind::Int,
            b'u' => Kind::Uint,
            b'f' => Kind::Float,
            b'c' => Kind::Complex,
            b'S' => Kind::Bytes,
            b'U' => Kind::Unicode,
            _ => return None,
        };
        let elsize = if self.numpy2 {
            // SAFETY: NumPy 2.x's `PyArray_Descr` starts with `DescrFields2` for every dtype.
            unsafe { (*descr.cast::<DescrFields2>()).elsize }
        } else {
            // SAFETY: NumPy 1.x's `PyArray_Descr` starts with `DescrFields1`.
            unsafe { (*descr.cast::<DescrFields1>()).elsize as isize }
        };
        let order = match shared.byteorder {
            b'<' => ByteOrder::Little,
            b'>' => ByteOrder::Big,
            // '=' (native) and '|': npaa-core normalises NotApplicable as NumPy's dtype.str
            // does (the machine's order for multi-byte types).
            _ => ByteOrder::NotApplicable,
        };
        let size = usize::try_from(elsize).ok()?;
        Scalar::new(kind, size, order).ok().map(Dtype::Scalar)
    }
}

/// `obj` as an `ndarray`, for anything that is not one.
///
/// - A DLPack producer (`__dlpack__`: PyTorch, JAX, CuPy, ...) through `np.from_dlpack`, no
///   copy for host memory. A PyTorch tensor that requires grad is read through its
///   `detach()` (the same memory). An array on a device (a GPU) is copied to host memory:
///   by the producer (`np.from_dlpack(x, device="cpu", copy=True)`, NumPy 2.1 and later), or
///   else through its `__array__`; if neither can, the error says how to copy it.
/// - Anything else through `np.asarray`: `__array__`, `__array_interface__`,
///   `__array_struct__`, the buffer protocol, nested lists and scalars.
pub(crate) fn as_ndarray<'py>(obj: &Bound<'py, PyAny>) -> errors::Result<Bound<'py, PyAny>> {
    let py = obj.py();
    let np = numpy(py)?;
    if !obj.hasattr(pyo3::intern!(py, "__dlpack__"))? {
        return Ok(np.asarray.bind(py).call1((obj,))?);
    }
    let obj = detached(obj)?;
    let device = dlpack_device(&obj)?;
    let result = if device.is_none_or(is_host) {
        np.from_dlpack.bind(py).call1((&obj,))
    } else if np.dlpack_copies {
        let kwargs = PyDict::new(py);
        kwargs.set_item("device", "cpu")?;
        kwargs.set_item("copy", true)?;
        np.from_dlpack.bind(py).call((&obj,), Some(&kwargs))
    } else {
        Err(PyTypeError::new_err(
            "NumPy before 2.1 cannot ask a DLPack producer for a copy in host memory",
        ))
    };
    let failed = match result {
        Ok(array) => return Ok(array),
        Err(e) => e,
    };
    // `__array__` next (JAX copies a device array to the host there); then the fix.
    if obj.hasattr(pyo3::intern!(py, "__array__"))?
        && let Ok(array) = np.asarray.bind(py).call1((&obj,))
    {
        return Ok(array);
    }
    let err = match device.filter(|&d| !is_host(d)) {
        Some((kind, id)) => PyTypeError::new_err(format!(
            "the array is in device memory (DLPack device type {kind}, id {id}) and could not be \
             copied to host memory by DLPack or __array__: copy it to the host first, e.g. \
             tensor.cpu() (PyTorch), array.get() (CuPy) or jax.device_get(array) (JAX)"
        )),
        None => PyTypeError::new_err(format!(
            "np.from_dlpack could not read the {} object, and it has no usable __array__: \
             convert it to a NumPy array first",
            obj.get_type().name()?
        )),
    };
    err.set_cause(py, Some(failed));
    Err(err.into())
}

/// A PyTorch tensor that requires grad, detached (DLPack and `__array__` refuse it as it is;
/// `detach()` shares its memory); anything else as it is.
fn detached<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    if let Ok(flag) = obj.getattr(pyo3::intern!(py, "requires_grad"))
        && flag.is_truthy()?
        && let Ok(detach) = obj.getattr(pyo3::intern!(py, "detach"))
    {
        return detach.call0();
    }
    Ok(obj.clone())
}

/// `obj.__dlpack_device__()` as (device type, device id); `None` if it has none.
fn dlpack_device(obj: &Bound<'_, PyAny>) -> PyResult<Option<(i64, i64)>> {
    let py = obj.py();
    let Ok(method) = obj.getattr(pyo3::intern!(py, "__dlpack_device__")) else {
        return Ok(None);
    };
    let device = method.call0()?;
    let (kind, id): (Bound<'_, PyAny>, Bound<'_, PyAny>) = device.extract()?;
    Ok(Some((kind.extract()?, id.extract()?)))
}

/// DLPack device types whose memory the CPU reads: `kDLCPU`, `kDLCUDAHost`, `kDLROCMHost`
/// and `kDLCUDAManaged` (the ones `np.from_dlpack` accepts).
fn is_host((kind, _): (i64, i64)) -> bool {
    matches!(kind, 1 | 3 | 11 | 13)
}

/// The npaa dtype of a NumPy dtype, from the descr `np.save` writes for it
/// (`numpy.lib.format.dtype_to_descr`); npaa-core parses it.
pub(crate) fn parse_dtype(dtype: &Bound<'_, PyAny>) -> errors::Result<Dtype> {
    let py = dtype.py();
    let descr = numpy(py)?.dtype_to_descr.bind(py).call1((dtype,))?;
    let text = match descr.cast::<PyString>() {
        Ok(s) => s.to_cow()?.into_owned(),
        Err(_) => descr.repr()?.to_cow()?.into_owned(),
    };
    Ok(Dtype::parse(&text)?)
}

/// The NumPy dtype of an npaa dtype (`numpy.lib.format.descr_to_dtype` of its header descr).
pub(crate) fn to_numpy_dtype<'py>(py: Python<'py>, dtype: &Dtype) -> PyResult<Bound<'py, PyAny>> {
    let np = numpy(py)?;
    let mut repr = String::new();
    dtype.write_header_repr(&mut repr);
    let descr = np.literal_eval.bind(py).call1((repr,))?;
    np.descr_to_dtype.bind(py).call1((descr,))
}

/// The error for a slab NumPy did not lay out as asked (it always does).
pub(crate) fn not_contiguous() -> PyErr {
    PyValueError::new_err("NumPy returned a non-contiguous slab")
}
