//! Reading NumPy arrays without copying them: dtype, shape, layout and the data's bytes.
//!
//! The data pointer comes from `__array_struct__`, NumPy's C-level array interface: a capsule
//! holding a `PyArrayInterface`, in the limited API on every CPython (the buffer protocol is
//! only there from 3.11) and about 15 times cheaper than `__array_interface__`, which builds a
//! dict per call.

use std::ffi::{c_char, c_int, c_void};

use npaa_core::{Dtype, Order};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyCapsule, PyCapsuleMethods, PyString, PyTuple, PyType};

/// NumPy's `PyArrayInterface` (array interface version 3), the content of the capsule
/// `ndarray.__array_struct__` returns.
#[repr(C)]
struct ArrayInterface {
    /// Always 2 (a sanity check).
    two: c_int,
    nd: c_int,
    typekind: c_char,
    itemsize: c_int,
    flags: c_int,
    shape: *const isize,
    strides: *const isize,
    data: *const c_void,
    descr: *const c_void,
}

/// True if `(dimension, stride)` pairs, fastest-varying first, describe items packed without
/// gaps, NumPy's contiguity rule (dimensions of length 1 may have any stride).
fn is_dense<'a>(axes: impl Iterator<Item = (&'a isize, &'a isize)>, itemsize: isize) -> bool {
    let mut expected = itemsize;
    for (&dim, &stride) in axes {
        if dim != 1 && stride != expected {
            return false;
        }
        expected = expected.saturating_mul(dim);
    }
    true
}

/// A NumPy array being appended: its shape, layout and (when contiguous) its bytes.
#[derive(Debug)]
pub(crate) struct ArrayView<'py> {
    /// Holds the array, and with it the data, alive.
    _capsule: Bound<'py, PyCapsule>,
    pub(crate) shape: Vec<u64>,
    c_contiguous: bool,
    f_contiguous: bool,
    data: *const u8,
    len: usize,
}

impl<'py> ArrayView<'py> {
    /// Reads `array` (an `ndarray`, or a subclass) through its array interface.
    pub(crate) fn read(array: &Bound<'py, PyAny>) -> PyResult<Self> {
        let py = array.py();
        let capsule = array
            .getattr(pyo3::intern!(py, "__array_struct__"))?
            .cast_into::<PyCapsule>()
            .map_err(|_| PyTypeError::new_err("__array_struct__ is not a capsule"))?;
        let pointer = capsule.pointer_checked(None)?;
        // SAFETY: NumPy's `__array_struct__` capsule points to a `PyArrayInterface`, which
        // `ArrayInterface` mirrors field for field (`numpy/ndarraytypes.h`); it lives as long
        // as the capsule, which `Self` keeps.
        let interface = unsafe { &*pointer.as_ptr().cast::<ArrayInterface>() };
        if interface.two != 2 || interface.nd < 0 || interface.itemsize < 0 {
            return Err(PyTypeError::new_err(
                "__array_struct__ does not hold a NumPy array interface",
            ));
        }
        let nd = interface.nd as usize;
        let dims: &[isize] = if nd == 0 {
            &[]
        } else {
            // SAFETY: `shape` points to `nd` dimensions (array interface contract).
            unsafe { std::slice::from_raw_parts(interface.shape, nd) }
        };
        let shape: Vec<u64> = dims.iter().map(|&d| d.max(0) as u64).collect();
        // NumPy leaves `flags` 0 for structured dtypes: the layout is read from the strides
        // (null strides mean C-contiguous, by the interface's definition).
        let strides: Option<&[isize]> = if nd == 0 || interface.strides.is_null() {
            None
        } else {
            // SAFETY: non-null `strides` points to `nd` strides (array interface contract).
            Some(unsafe { std::slice::from_raw_parts(interface.strides, nd) })
        };
        let itemsize = interface.itemsize as isize;
        let empty = shape.contains(&0);
        let (c_contiguous, f_contiguous) = match strides {
            None => (true, empty || shape.iter().filter(|&&d| d > 1).count() <= 1),
            Some(strides) => (
                empty || is_dense(dims.iter().zip(strides).rev(), itemsize),
                empty || is_dense(dims.iter().zip(strides), itemsize),
            ),
        };
        let items = shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d as usize));
        let len = items
            .and_then(|n| n.checked_mul(interface.itemsize as usize))
            .ok_or_else(|| PyTypeError::new_err("array too large"))?;
        Ok(ArrayView {
            _capsule: capsule,
            shape,
            c_contiguous,
            f_contiguous,
            data: interface.data.cast(),
            len,
        })
    }

    /// The memory order `np.save` would give this array: Fortran if it is Fortran-contiguous
    /// and not C-contiguous.
    pub(crate) fn natural_order(&self) -> Order {
        if self.f_contiguous && !self.c_contiguous {
            Order::Fortran
        } else {
            Order::C
        }
    }

    /// The array's bytes if they are laid out in `order` (contiguous in it), else `None`.
    pub(crate) fn bytes_in(&self, order: Order) -> Option<&[u8]> {
        let contiguous = match order {
            Order::C => self.c_contiguous,
            Order::Fortran => self.f_contiguous,
        };
        if !contiguous {
            None
        } else if self.len == 0 {
            Some(&[])
        } else {
            // SAFETY: a contiguous array's data is `len` bytes at `data`, kept alive by the
            // capsule this view holds. NumPy does not move or free it while the array is
            // referenced (resizing refuses referenced arrays). Another thread may write the
            // same elements concurrently, as it may during any of NumPy's own GIL-free copies;
            // the bytes appended are then whatever was there.
            Some(unsafe { std::slice::from_raw_parts(self.data, self.len) })
        }
    }
}

/// NumPy functions and types the binding calls, looked up once.
#[derive(Debug)]
struct NumpyApi {
    ndarray: Py<PyType>,
    asarray: Py<PyAny>,
    ascontiguousarray: Py<PyAny>,
    asfortranarray: Py<PyAny>,
    dtype_to_descr: Py<PyAny>,
    descr_to_dtype: Py<PyAny>,
    literal_eval: Py<PyAny>,
}

static NUMPY: PyOnceLock<NumpyApi> = PyOnceLock::new();

fn numpy(py: Python<'_>) -> PyResult<&NumpyApi> {
    NUMPY.get_or_try_init(py, || {
        let np = py.import("numpy")?;
        let format = py.import("numpy.lib.format")?;
        Ok(NumpyApi {
            ndarray: np.getattr("ndarray")?.cast_into::<PyType>()?.unbind(),
            asarray: np.getattr("asarray")?.unbind(),
            ascontiguousarray: np.getattr("ascontiguousarray")?.unbind(),
            asfortranarray: np.getattr("asfortranarray")?.unbind(),
            dtype_to_descr: format.getattr("dtype_to_descr")?.unbind(),
            descr_to_dtype: format.getattr("descr_to_dtype")?.unbind(),
            literal_eval: py.import("ast")?.getattr("literal_eval")?.unbind(),
        })
    })
}

/// `arr` itself if it is an `ndarray` (or a subclass), else `np.asarray(arr)` (lists of rows,
/// anything with `__array__` or the buffer protocol).
pub(crate) fn as_ndarray<'py>(arr: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = arr.py();
    let np = numpy(py)?;
    let ndarray = np.ndarray.bind(py);
    if arr.get_type().is(ndarray) || arr.is_instance(ndarray)? {
        Ok(arr.clone())
    } else {
        np.asarray.bind(py).call1((arr,))
    }
}

/// The npaa dtype of a NumPy dtype, from the descr `np.save` writes for it
/// (`numpy.lib.format.dtype_to_descr`); npaa-core parses it.
pub(crate) fn parse_dtype(dtype: &Bound<'_, PyAny>) -> PyResult<Result<Dtype, npaa_core::Error>> {
    let py = dtype.py();
    let descr = numpy(py)?.dtype_to_descr.bind(py).call1((dtype,))?;
    let text = match descr.cast::<PyString>() {
        Ok(s) => s.to_cow()?.into_owned(),
        Err(_) => descr.repr()?.to_cow()?.into_owned(),
    };
    Ok(Dtype::parse(&text))
}

/// The NumPy dtype of an npaa dtype (`numpy.lib.format.descr_to_dtype` of its header descr).
pub(crate) fn to_numpy_dtype<'py>(py: Python<'py>, dtype: &Dtype) -> PyResult<Bound<'py, PyAny>> {
    let np = numpy(py)?;
    let mut repr = String::new();
    dtype.write_header_repr(&mut repr);
    let descr = np.literal_eval.bind(py).call1((repr,))?;
    np.descr_to_dtype.bind(py).call1((descr,))
}

/// The part `[start, end)` of `array` along the growth axis of `order`, as a new array laid
/// out in `order` (`np.ascontiguousarray` / `np.asfortranarray` of the slice).
pub(crate) fn slab<'py>(
    array: &Bound<'py, PyAny>,
    order: Order,
    start: u64,
    end: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let py = array.py();
    let np = numpy(py)?;
    let range = pyo3::types::PySlice::new(py, start as isize, end as isize, 1);
    match order {
        Order::C => {
            let part = array.get_item(PyTuple::new(py, [range])?)?;
            np.ascontiguousarray.bind(py).call1((part,))
        }
        Order::Fortran => {
            let ellipsis = py.Ellipsis();
            let part = array.get_item(PyTuple::new(
                py,
                [ellipsis.into_bound(py), range.into_any()],
            )?)?;
            np.asfortranarray.bind(py).call1((part,))
        }
    }
}
