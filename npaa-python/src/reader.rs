//! `npaa.Reader` and the native half of `npaa.RaggedReader`: the items a writer has committed
//! so far, as read-only NumPy arrays over npaa-core's mappings (no copy).

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use npaa_core::{Items, Order};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple};

use crate::{array, errors};

/// Items mapped by npaa-core, seen by NumPy through the array interface: the arrays built on
/// it keep it (and so the mapping) alive, and are read-only.
#[pyclass(module = "npaa._native", frozen)]
struct Mapped {
    rows: Items,
}

#[pymethods]
impl Mapped {
    /// The bytes as a 1-D read-only `|u1` array interface.
    #[getter]
    fn __array_interface__<'py>(&self, py: Python<'py>) -> errors::Result<Bound<'py, PyDict>> {
        let bytes = self.rows.bytes();
        let d = PyDict::new(py);
        d.set_item("version", 3)?;
        d.set_item("shape", (bytes.len(),))?;
        d.set_item("typestr", "|u1")?;
        d.set_item("data", (bytes.as_ptr() as usize, true))?;
        Ok(d)
    }
}

static ASARRAY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `rows` (items of the file) as a read-only ndarray of `dtype` in its shape and order, over the
/// mapping.
pub(crate) fn to_ndarray<'py>(
    py: Python<'py>,
    rows: Items,
    dtype: &Bound<'py, PyAny>,
) -> errors::Result<Bound<'py, PyAny>> {
    let asarray = ASARRAY.get_or_try_init(py, || {
        py.import("numpy")?.getattr("asarray").map(Bound::unbind)
    })?;
    let shape = PyTuple::new(py, rows.shape())?;
    let order = match rows.order() {
        Order::C => "C",
        Order::Fortran => "F",
    };
    let raw = asarray
        .bind(py)
        .call1((Bound::new(py, Mapped { rows })?,))?;
    let typed = raw.call_method1("view", (dtype,))?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("order", order)?;
    Ok(typed.call_method("reshape", (shape,), Some(&kwargs))?)
}

/// Reads a .npy file while a writer grows it. `refresh()` returns the items committed so far
/// as a read-only array over a memory mapping (no copy): never a partial item, a shape that
/// never shrinks, remapped as the file grows. `next_block()` returns the items committed
/// since the last call, or None; `follow(poll=...)` yields them as they land.
///
/// A writer with `rewrite_header_on_append=False` counts items only when it updates its
/// header: the reader shows what is counted, and `uncounted_items` says how many whole items
/// lie past it.
#[pyclass(module = "npaa", name = "Reader", subclass, frozen)]
pub(crate) struct Reader {
    filename: Py<PyAny>,
    core: Mutex<npaa_core::Reader>,
    dtype: Py<PyAny>,
}

#[pymethods]
impl Reader {
    #[new]
    fn new(py: Python<'_>, filename: Bound<'_, PyAny>) -> errors::Result<Self> {
        let path: PathBuf = filename.extract()?;
        let core = py.detach(|| npaa_core::Reader::open(&path))?;
        let dtype = array::to_numpy_dtype(py, core.dtype())?.unbind();
        Ok(Reader {
            filename: filename.unbind(),
            core: Mutex::new(core),
            dtype,
        })
    }

    /// The path given, as given.
    #[getter]
    fn filename(&self, py: Python<'_>) -> Py<PyAny> {
        self.filename.clone_ref(py)
    }

    /// The file's dtype.
    #[getter]
    fn dtype(&self, py: Python<'_>) -> Py<PyAny> {
        self.dtype.clone_ref(py)
    }

    /// The shape at the last refresh.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> errors::Result<Bound<'py, PyTuple>> {
        Ok(PyTuple::new(py, self.lock().shape())?)
    }

    /// Whole items past the counted ones at the last refresh (a writer with the header
    /// rewrite off); they are shown once the header counts them.
    #[getter]
    fn uncounted_items(&self) -> u64 {
        self.lock().uncounted_items()
    }

    /// Every item committed so far, as a read-only array over the file's mapping; `next_block`
    /// and `follow` go on after them.
    fn refresh<'py>(&self, py: Python<'py>) -> errors::Result<Bound<'py, PyAny>> {
        let rows = py.detach(|| self.lock().refresh())?;
        to_ndarray(py, rows, self.dtype.bind(py))
    }

    /// The items committed since items were last returned (by this or `refresh`; all of them,
    /// the first time), or None.
    fn next_block<'py>(&self, py: Python<'py>) -> errors::Result<Option<Bound<'py, PyAny>>> {
        let rows = py.detach(|| self.lock().next_block())?;
        rows.map(|r| to_ndarray(py, r, self.dtype.bind(py)))
            .transpose()
    }
}

impl Reader {
    fn lock(&self) -> std::sync::MutexGuard<'_, npaa_core::Reader> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The native half of `npaa.RaggedReader`: `refresh()` returns `(data, ends)`, the items of the
/// complete records and their ends, both read-only arrays over the files' mappings.
#[pyclass(module = "npaa._native", name = "_RaggedReader", subclass, frozen)]
pub(crate) struct RaggedReader {
    filename: Py<PyAny>,
    core: Mutex<npaa_core::RaggedReader>,
    dtype: Py<PyAny>,
    ends_dtype: Py<PyAny>,
    fortran: bool,
}

#[pymethods]
impl RaggedReader {
    #[new]
    fn new(py: Python<'_>, filename: Bound<'_, PyAny>) -> errors::Result<Self> {
        let path: PathBuf = filename.extract()?;
        let core = py.detach(|| npaa_core::RaggedReader::open(&path))?;
        let dtype = array::to_numpy_dtype(py, core.data().dtype())?.unbind();
        let ends_dtype = array::to_numpy_dtype(py, &npaa_core::index_dtype())?.unbind();
        Ok(RaggedReader {
            filename: filename.unbind(),
            fortran: core.data().order() == Order::Fortran,
            core: Mutex::new(core),
            dtype,
            ends_dtype,
        })
    }

    /// The data file's path, as given.
    #[getter]
    fn filename(&self, py: Python<'_>) -> Py<PyAny> {
        self.filename.clone_ref(py)
    }

    /// True for a Fortran-order data file (records grow along the last axis).
    #[getter]
    fn fortran_order(&self) -> bool {
        self.fortran
    }

    /// `(data, ends)` of the complete records so far.
    fn _refresh<'py>(
        &self,
        py: Python<'py>,
    ) -> errors::Result<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let view = py.detach(|| self.lock().refresh())?;
        self.arrays(py, view)
    }

    /// `(first, stop, data, ends)`: the records `first..stop` completed since the last call,
    /// with the arrays of all complete records; or None.
    #[expect(clippy::type_complexity, reason = "a Python tuple")]
    fn _next_records<'py>(
        &self,
        py: Python<'py>,
    ) -> errors::Result<Option<(u64, u64, Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
        let next = py.detach(|| self.lock().next_records())?;
        let Some((new, view)) = next else {
            return Ok(None);
        };
        let (data, ends) = self.arrays(py, view)?;
        Ok(Some((new.start, new.end, data, ends)))
    }
}

impl RaggedReader {
    fn lock(&self) -> std::sync::MutexGuard<'_, npaa_core::RaggedReader> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn arrays<'py>(
        &self,
        py: Python<'py>,
        view: npaa_core::RaggedView,
    ) -> errors::Result<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let data = to_ndarray(py, view.data().clone(), self.dtype.bind(py))?;
        let ends = to_ndarray(py, view.index().clone(), self.ends_dtype.bind(py))?;
        Ok((data, ends))
    }
}
