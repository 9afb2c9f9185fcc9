//! `npaa.NpyAppendArray`: the reference's class on an [`npaa_core::AppendArray`].

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};

use npaa_core::{AppendArray, AppendOptions, Dtype, Durability, Order};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyTuple};

use crate::array::{self, ArrayView};
use crate::errors;

/// Blocks converted for an append not in the file's layout hold at most this many bytes (but
/// always at least one item along the growth axis).
const SLAB_BYTES: u64 = 4 << 20;

/// The window `mapped=True` stands for (good for rows of up to a few KiB).
const DEFAULT_MAPPED_WINDOW: usize = 1 << 20;

/// What the handle holds: the open core handle, or what it had when it was closed.
#[derive(Debug)]
enum Slot {
    Open(AppendArray),
    Closed {
        shape: Option<Vec<u64>>,
        order: Option<Order>,
        dtype: Option<Dtype>,
    },
}

/// The dtype of the last array appended, as NumPy's object and as npaa's parsed dtype: a run
/// of appends of one dtype parses it once.
#[derive(Debug)]
struct SourceDtype {
    object: Py<PyAny>,
    parsed: Arc<Dtype>,
}

/// Create and grow a .npy file by appending arrays along the growth axis (0 for C order, -1
/// for Fortran order), like `numpy.concatenate`; the file is byte-identical to `np.save` of
/// the concatenation.
///
/// `filename` (`str` or `os.PathLike`) is opened at once (an existing file is checked and
/// locked) or created by the first append. `delete_if_exists` starts a new file;
/// `rewrite_header_on_append=False` rewrites the header only in `update_header()`, `sync()`
/// and `close()`.
///
/// Keyword-only: `casting` ("no", "equiv", "safe", "same_kind", "unsafe"); `durability`
/// (None or "none", "close", "append", or an int N: sync every N bytes); `buffer` (bytes of
/// appends coalesced in memory, 0 = off); `mapped` (True or a window size in bytes: small
/// appends copied into mapped space); `fortran_order` (the order of a new file; by default
/// the first array's).
///
/// Raises `npaa.NpaaError` subclasses (ValueError) for files and blocks npaa refuses and
/// `OSError` for failed system calls.
#[pyclass(module = "npaa", name = "NpyAppendArray", frozen, subclass, weakref)]
#[derive(Debug)]
pub(crate) struct NpyAppendArray {
    filename: Py<PyAny>,
    path: PathBuf,
    /// The order of a new file chosen with `fortran_order=` (the core was opened with it).
    order_given: Option<Order>,
    /// As opened: whether appends rewrite the header.
    rewrite_header_on_append: bool,
    /// One operation (append, flush, close, ...) at a time; waited for without the GIL.
    turn: Turnstile,
    slot: RwLock<Slot>,
    source: Mutex<Option<SourceDtype>>,
    /// The file's memory order, once the file exists (it never changes).
    known_order: OnceLock<Order>,
    /// The file's dtype as a NumPy dtype, once asked for (it never changes).
    numpy_dtype: OnceLock<Py<PyAny>>,
}

#[pymethods]
impl NpyAppendArray {
    #[new]
    #[pyo3(signature = (
        filename, delete_if_exists=false, rewrite_header_on_append=true, *,
        casting="same_kind", durability=None, buffer=0, mapped=None, fortran_order=None
    ))]
    #[expect(clippy::too_many_arguments, reason = "the Python signature")]
    fn new(
        py: Python<'_>,
        filename: Bound<'_, PyAny>,
        delete_if_exists: bool,
        rewrite_header_on_append: bool,
        casting: &str,
        durability: Option<Bound<'_, PyAny>>,
        buffer: usize,
        mapped: Option<Bound<'_, PyAny>>,
        fortran_order: Option<bool>,
    ) -> PyResult<Self> {
        let path: PathBuf = filename.extract()?;
        let mut options = AppendOptions::new()
            .delete_if_exists(delete_if_exists)
            .rewrite_header_on_append(rewrite_header_on_append)
            .casting(casting.parse().map_err(|e| errors::to_py(py, e))?)
            .durability(parse_durability(durability.as_ref())?)
            .buffer_capacity(buffer)
            .mapped_window(parse_mapped(mapped.as_ref())?);
        let order_given = fortran_order.map(|f| if f { Order::Fortran } else { Order::C });
        if let Some(order) = order_given {
            options = options.order(order);
        }
        let core = py
            .detach(|| options.open(&path))
            .map_err(|e| errors::to_py(py, e))?;
        Ok(NpyAppendArray {
            filename: filename.unbind(),
            path,
            order_given,
            rewrite_header_on_append,
            turn: Turnstile::default(),
            slot: RwLock::new(Slot::Open(core)),
            source: Mutex::new(None),
            known_order: OnceLock::new(),
            numpy_dtype: OnceLock::new(),
        })
    }

    /// The path given when opening, as given (`str` or `os.PathLike`).
    #[getter]
    fn filename(&self, py: Python<'_>) -> Py<PyAny> {
        self.filename.clone_ref(py)
    }

    /// The file's shape (a tuple), `None` before the first append created the file.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let shape = py.detach(|| match &*self.read_slot() {
            Slot::Open(core) => core.shape(),
            Slot::Closed { shape, .. } => shape.clone(),
        });
        shape.map(|s| PyTuple::new(py, s)).transpose()
    }

    /// True for a Fortran-order file, `None` before the first append created the file.
    #[getter]
    fn fortran_order(&self, py: Python<'_>) -> Option<bool> {
        py.detach(|| self.order()).map(|o| o == Order::Fortran)
    }

    /// The file's dtype (a `numpy.dtype`), `None` before the first append created the file.
    #[getter]
    fn dtype(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        if let Some(d) = self.numpy_dtype.get() {
            return Ok(Some(d.clone_ref(py)));
        }
        let dtype = py.detach(|| match &*self.read_slot() {
            Slot::Open(core) => core.dtype(),
            Slot::Closed { dtype, .. } => dtype.clone(),
        });
        let Some(dtype) = dtype else {
            return Ok(None);
        };
        let object = array::to_numpy_dtype(py, &dtype)?.unbind();
        Ok(Some(self.numpy_dtype.get_or_init(|| object).clone_ref(py)))
    }

    /// Appends `arr` (an array, or anything `np.asarray` takes) along the growth axis. The
    /// first append creates the file with `arr`'s dtype, shape and memory order.
    ///
    /// Nothing is written if the block is refused (shape, dtype, casting rule). An array laid
    /// out as the file is (C-contiguous for a C-order file, Fortran-contiguous for a Fortran
    /// one) is written from its own memory; others are converted in slabs of at most 4 MiB.
    fn append(&self, py: Python<'_>, arr: &Bound<'_, PyAny>) -> PyResult<()> {
        let arr = array::as_ndarray(arr)?;
        let dtype = self.source_dtype(&arr)?;
        let view = ArrayView::read(&arr)?;
        let _turn = self.turn.enter(py);
        let (order, creates) = self.file_order(py, &view)?;
        self.write(py, &arr, &view, &dtype, order)?;
        if creates && !self.rewrite_header_on_append {
            // The reference creates the file with `np.save` of the first array, so its header
            // counts that array even when later appends do not rewrite it.
            self.with_core(py, AppendArray::update_header)?;
        }
        Ok(())
    }

    /// Writes buffered items and the header, so that NumPy sees everything appended so far
    /// (the way to publish progress with `rewrite_header_on_append=False`).
    fn update_header(&self, py: Python<'_>) -> PyResult<()> {
        let _turn = self.turn.enter(py);
        self.with_core(py, AppendArray::update_header)
    }

    /// Writes buffered items (`buffer=`) to the file, and the header if it is rewritten on
    /// append.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        let _turn = self.turn.enter(py);
        self.with_core(py, AppendArray::flush)
    }

    /// Writes buffered items and the header, and forces both to stable storage.
    fn sync(&self, py: Python<'_>) -> PyResult<()> {
        let _turn = self.turn.enter(py);
        self.with_core(py, AppendArray::sync)
    }

    /// Flushes, writes the final header, syncs as `durability` asks and releases the file.
    /// Closing twice is harmless; appending after closing raises `ClosedError`.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let _turn = self.turn.enter(py);
        let result = py.detach(|| {
            let mut slot = self.slot.write().unwrap_or_else(PoisonError::into_inner);
            let Slot::Open(core) = &*slot else {
                return Ok(());
            };
            let closed = Slot::Closed {
                shape: core.shape(),
                order: core.order(),
                dtype: core.dtype(),
            };
            let Slot::Open(core) = std::mem::replace(&mut *slot, closed) else {
                unreachable!("checked above");
            };
            core.close()
        });
        result.map_err(|e| errors::to_py(py, e))
    }

    /// Closes, ignoring errors (the reference's `__exit__` calls it; garbage collection closes
    /// the file too).
    fn __del__(&self, py: Python<'_>) {
        let _ = self.close(py);
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let filename = self.filename.bind(py).repr()?;
        let state = match self.shape(py)? {
            Some(shape) => format!(
                "shape={}, dtype={}",
                shape.repr()?,
                self.dtype(py)?.map_or_else(
                    || "None".to_owned(),
                    |d| d
                        .bind(py)
                        .str()
                        .map_or_else(|_| "?".to_owned(), |s| s.to_string()),
                )
            ),
            None => "not created yet".to_owned(),
        };
        Ok(format!("NpyAppendArray({filename}, {state})"))
    }
}

impl NpyAppendArray {
    /// Appends `arr` in `order`: from its own memory if it is laid out so, else converted a
    /// slab at a time. Called with the turn held.
    fn write(
        &self,
        py: Python<'_>,
        arr: &Bound<'_, PyAny>,
        view: &ArrayView<'_>,
        dtype: &Dtype,
        order: Order,
    ) -> PyResult<()> {
        // Contiguous in either order: from the array's own memory, the core converting a block
        // in the other order in bounded pieces.
        for layout in [order, order.other()] {
            if let Some(data) = view.bytes_in(layout) {
                let shape = &view.shape;
                return self.with_core(py, |core| {
                    core.append_raw_in_order(dtype, shape, layout, data)
                });
            }
        }
        // Not contiguous (a strided view): check the whole block first, so that a refused
        // append writes nothing, then gather and append it a slab at a time.
        let shape = &view.shape;
        self.with_core(py, |core| core.check_append(dtype, shape))?;
        let Some(axis) = order.growth_axis(view.shape.len()) else {
            return Ok(());
        };
        let items = view.shape[axis];
        let item_bytes = dtype.itemsize() as u64
            * view
                .shape
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != axis)
                .map(|(_, &d)| d)
                .product::<u64>();
        let step = (SLAB_BYTES / item_bytes.max(1)).max(1);
        let mut start = 0;
        while start < items {
            let end = (start + step).min(items);
            let part = array::slab(arr, order, start, end)?;
            let part_view = ArrayView::read(&part)?;
            let data = part_view
                .bytes_in(order)
                .ok_or_else(|| PyValueError::new_err("NumPy returned a non-contiguous slab"))?;
            let part_shape = &part_view.shape;
            self.with_core(py, |core| {
                core.append_raw_in_order(dtype, part_shape, order, data)
            })?;
            start = end;
        }
        Ok(())
    }

    fn read_slot(&self) -> std::sync::RwLockReadGuard<'_, Slot> {
        self.slot.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The file's memory order, `None` before it exists.
    fn order(&self) -> Option<Order> {
        match &*self.read_slot() {
            Slot::Open(core) => core.order(),
            Slot::Closed { order, .. } => *order,
        }
    }

    /// Runs `op` on the open core handle without the GIL.
    fn with_core<T: Send>(
        &self,
        py: Python<'_>,
        op: impl FnOnce(&AppendArray) -> npaa_core::Result<T> + Send,
    ) -> PyResult<T> {
        let result = py.detach(|| match &*self.read_slot() {
            Slot::Open(core) => Some(op(core)),
            Slot::Closed { .. } => None,
        });
        match result {
            Some(r) => r.map_err(|e| errors::to_py(py, e)),
            None => Err(errors::closed(py, &self.path)),
        }
    }

    /// npaa's dtype for `arr.dtype`, parsed once per run of appends of one dtype.
    fn source_dtype(&self, arr: &Bound<'_, PyAny>) -> PyResult<Arc<Dtype>> {
        let py = arr.py();
        let object = arr.getattr(pyo3::intern!(py, "dtype"))?;
        let mut cache = lock(&self.source);
        if let Some(c) = &*cache
            && c.object.bind(py).is(&object)
        {
            return Ok(Arc::clone(&c.parsed));
        }
        let parsed = Arc::new(array::parse_dtype(&object)?.map_err(|e| errors::to_py(py, e))?);
        *cache = Some(SourceDtype {
            object: object.unbind(),
            parsed: Arc::clone(&parsed),
        });
        Ok(parsed)
    }

    /// The memory order the append is written in, and whether the append creates the file:
    /// the file's order, or for the append that creates it, `fortran_order=` if given, else
    /// the array's own (as `np.save` decides it). Called with the turn held.
    fn file_order(&self, py: Python<'_>, view: &ArrayView<'_>) -> PyResult<(Order, bool)> {
        if let Some(&order) = self.known_order.get() {
            return Ok((order, false));
        }
        if let Some(order) = py.detach(|| self.order()) {
            // A file's order never changes: later appends skip asking the core.
            let _ = self.known_order.set(order);
            return Ok((order, false));
        }
        // The append creates the file: in `fortran_order=` if given, else in the array's own
        // order (the core creates a new file in the order of the block that creates it).
        Ok((
            self.order_given.unwrap_or_else(|| view.natural_order()),
            true,
        ))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `durability=`: `None`, a name the core reads (`"none"`, `"close"`, `"append"`,
/// `"every:BYTES"`), or a positive int N (sync every N bytes; the core refuses 0 at open).
fn parse_durability(value: Option<&Bound<'_, PyAny>>) -> PyResult<Durability> {
    let Some(value) = value else {
        return Ok(Durability::None);
    };
    if let Ok(name) = value.extract::<String>() {
        return name
            .parse::<Durability>()
            .map_err(|e| PyValueError::new_err(format!("durability={name:?}: {e}")));
    }
    if !value.is_instance_of::<PyBool>()
        && let Ok(bytes) = value.extract::<u64>()
    {
        return Ok(Durability::EveryBytes(bytes));
    }
    Err(PyTypeError::new_err(
        "durability must be None, \"none\", \"close\", \"append\" or a positive int (bytes)",
    ))
}

/// `mapped=`: `None`/`False`/0 (off), `True` (a 1 MiB window) or a window size in bytes.
fn parse_mapped(value: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
    let Some(value) = value else {
        return Ok(0);
    };
    if let Ok(flag) = value.cast::<PyBool>() {
        return Ok(if flag.is_true() {
            DEFAULT_MAPPED_WINDOW
        } else {
            0
        });
    }
    value.extract::<usize>().map_err(|_| {
        PyTypeError::new_err("mapped must be None, a bool or a window size in bytes (int)")
    })
}

/// A lock whose waiting happens without the GIL and whose holder may take and give back the
/// GIL while holding it (a `Mutex` guard cannot cross `Python::detach`).
#[derive(Debug, Default)]
struct Turnstile {
    state: Mutex<TurnState>,
    freed: Condvar,
}

#[derive(Debug, Default)]
struct TurnState {
    busy: bool,
    /// Threads waiting in `enter`: only then does giving the turn back wake one (a condvar
    /// notification is a system call even when nobody waits).
    waiting: usize,
}

/// The right to operate on the handle; given back on drop.
struct Turn<'a>(&'a Turnstile);

impl Turnstile {
    fn enter(&self, py: Python<'_>) -> Turn<'_> {
        if !self.try_enter() {
            py.detach(|| {
                let mut state = lock(&self.state);
                state.waiting += 1;
                while state.busy {
                    state = self
                        .freed
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                state.waiting -= 1;
                state.busy = true;
            });
        }
        Turn(self)
    }

    fn try_enter(&self) -> bool {
        let mut state = lock(&self.state);
        !std::mem::replace(&mut state.busy, true)
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.0.state);
        state.busy = false;
        if state.waiting > 0 {
            self.0.freed.notify_one();
        }
    }
}
