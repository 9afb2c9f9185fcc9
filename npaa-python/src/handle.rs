//! `npaa.NpyAppendArray`: the reference's class on an [`npaa_core::AppendArray`].

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError, TryLockError};

use npaa_core::{AppendArray, AppendOptions, Dtype, Durability, Order};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyTuple};

use crate::array::{self, Block};
use crate::errors;
use crate::functions::RecoverReport;

/// Blocks converted for an append not in the file's layout hold at most this many bytes (but
/// always at least one item along the growth axis).
const SLAB_BYTES: u64 = 4 << 20;

/// The window `mapped=True` stands for (good for items of up to a few KiB).
const DEFAULT_MAPPED_WINDOW: usize = 1 << 20;

/// Appends of fewer bytes keep the GIL when they are copies into memory (mapped mode, or a
/// write buffer: [`AppendOptions::small_appends_in_memory`]): giving it up and taking it back
/// costs more than the copy, and other threads wait no longer than a copy of this size takes
/// (a few microseconds). Every other append is made without it, so threads appending to
/// different files run in parallel: larger blocks, appends that make a system call (`pwrite`,
/// syncs), and those of a handle that buffers more than [`BUFFER_UNDER_GIL`] (an append may
/// write out the whole buffer).
const KEEP_GIL_BELOW: usize = 64 << 10;

/// The largest `buffer=` whose flushes may be written with the GIL held (about a
/// millisecond of copying into the page cache, a fifth of Python's switch interval).
const BUFFER_UNDER_GIL: usize = 4 << 20;

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
/// the first array's); `recover` (repair what a crash left, under the lock, before
/// appending: `recovered` tells what was repaired); `shared` (many processes append to the
/// file at once, each append taking the file's lock for its own duration and landing whole
/// after the others'; not with `delete_if_exists`, `rewrite_header_on_append=False`,
/// `buffer` or `mapped`); `timeout` (seconds to wait for the file's lock before raising
/// `LockedError`; None: the mode's default, forever in shared mode and not at all
/// otherwise; `math.inf`: forever).
///
/// Raises `npaa.NpaaError` subclasses (ValueError) for files and blocks npaa refuses and
/// `OSError` for failed system calls.
#[pyclass(module = "npaa", name = "NpyAppendArray", frozen, subclass, weakref)]
#[derive(Debug)]
pub(crate) struct NpyAppendArray {
    filename: Py<PyAny>,
    path: PathBuf,
    /// As opened: whether appends rewrite the header.
    rewrite_header_on_append: bool,
    /// As opened: whether a small append is a copy into memory (no system call, no large
    /// buffer to write out), so that it may keep the GIL ([`KEEP_GIL_BELOW`]).
    quick_appends: bool,
    /// The handle's lock: one operation (append, flush, close, ...) at a time, taken without
    /// the GIL when it has to be waited for ([`Self::slot`]).
    slot: Mutex<Slot>,
    /// What `recover=True` repaired when the file was opened.
    recovered: Option<Py<RecoverReport>>,
    /// As opened: shared mode (a block must reach the core as one append).
    shared: bool,
    /// The file's dtype as a NumPy dtype, once asked for (it never changes).
    numpy_dtype: OnceLock<Py<PyAny>>,
}

#[pymethods]
impl NpyAppendArray {
    #[new]
    #[pyo3(signature = (
        filename, delete_if_exists=false, rewrite_header_on_append=true, *,
        casting="same_kind", durability=None, buffer=0, mapped=None, fortran_order=None,
        recover=false, shared=false, timeout=None
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
        recover: bool,
        shared: bool,
        timeout: Option<f64>,
    ) -> errors::Result<Self> {
        let path: PathBuf = filename.extract()?;
        let mut options = append_options(
            delete_if_exists,
            rewrite_header_on_append,
            casting,
            durability.as_ref(),
            buffer,
            mapped.as_ref(),
            fortran_order.map(Order::from_fortran),
        )?
        .recover(recover)
        .shared(shared);
        if let Some(seconds) = timeout {
            options = options.lock_timeout(parse_timeout(seconds)?);
        }
        let quick_appends = options.small_appends_in_memory() && buffer <= BUFFER_UNDER_GIL;
        let core = py.detach(|| options.open(&path))?;
        let recovered = core
            .recovered()
            .map(|report| Py::new(py, RecoverReport::from(report)))
            .transpose()?;
        Ok(NpyAppendArray {
            filename: filename.unbind(),
            path,
            rewrite_header_on_append,
            quick_appends,
            slot: Mutex::new(Slot::Open(core)),
            recovered,
            shared,
            numpy_dtype: OnceLock::new(),
        })
    }

    /// The path given when opening, as given (`str` or `os.PathLike`).
    #[getter]
    fn filename(&self, py: Python<'_>) -> Py<PyAny> {
        self.filename.clone_ref(py)
    }

    /// What `recover=True` repaired when the file was opened (a `RecoverReport`, whose
    /// `changed` is False when nothing needed repair); `None` without `recover=True` or when
    /// there was no file to open.
    #[getter]
    fn recovered(&self, py: Python<'_>) -> Option<Py<RecoverReport>> {
        self.recovered.as_ref().map(|r| r.clone_ref(py))
    }

    /// The file's shape (a tuple), `None` before the first append created the file.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let shape = match &*self.slot(py) {
            Slot::Open(core) => core.shape(),
            Slot::Closed { shape, .. } => shape.clone(),
        };
        shape.map(|s| PyTuple::new(py, s)).transpose()
    }

    /// True for a Fortran-order file, `None` before the first append created the file.
    #[getter]
    fn fortran_order(&self, py: Python<'_>) -> Option<bool> {
        let order = match &*self.slot(py) {
            Slot::Open(core) => core.order(),
            Slot::Closed { order, .. } => *order,
        };
        order.map(|o| o == Order::Fortran)
    }

    /// The file's dtype (a `numpy.dtype`), `None` before the first append created the file.
    #[getter]
    fn dtype(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        if let Some(d) = self.numpy_dtype.get() {
            return Ok(Some(d.clone_ref(py)));
        }
        let dtype = match &*self.slot(py) {
            Slot::Open(core) => core.dtype(),
            Slot::Closed { dtype, .. } => dtype.clone(),
        };
        let Some(dtype) = dtype else {
            return Ok(None);
        };
        let object = array::to_numpy_dtype(py, &dtype)?.unbind();
        Ok(Some(self.numpy_dtype.get_or_init(|| object).clone_ref(py)))
    }

    /// Appends `arr` along the growth axis: a NumPy array, or any array in (a PyTorch
    /// tensor, a JAX or CuPy array, anything with `__dlpack__`, `__array__` or the buffer
    /// protocol, nested lists); a device array is copied to host memory first. The first
    /// append creates the file with `arr`'s dtype, shape and memory order.
    ///
    /// Nothing is written if the block is refused (shape, dtype, casting rule). An array laid
    /// out contiguously in either order is written from its own memory; others are converted
    /// in slabs of at most 4 MiB.
    fn append(&self, py: Python<'_>, arr: &Bound<'_, PyAny>) -> errors::Result<()> {
        let block = Block::of(arr)?;
        let slot = self.slot(py);
        let Slot::Open(core) = &*slot else {
            return Err(errors::closed(py, &self.path).into());
        };
        // The reference creates the file with `np.save` of the first array, so its header
        // counts that array even when later appends do not rewrite it.
        let creates = !self.rewrite_header_on_append && core.order().is_none();
        match block.bytes() {
            Some(data) => {
                let (dtype, shape) = (&block.dtype, &block.shape);
                let layout = block.layout.unwrap_or_default();
                let append = || core.append_raw_in_order(dtype, shape, layout, data);
                if data.len() < KEEP_GIL_BELOW && self.quick_appends {
                    append()?;
                } else {
                    py.detach(append)?;
                }
            }
            None => self.append_slabs(py, core, &block)?,
        }
        if creates {
            py.detach(|| core.update_header())?;
        }
        Ok(())
    }

    /// Writes buffered items and the header, so that NumPy sees everything appended so far
    /// (the way to publish progress with `rewrite_header_on_append=False`).
    fn update_header(&self, py: Python<'_>) -> errors::Result<()> {
        self.with_core(py, AppendArray::update_header)
    }

    /// Writes buffered items (`buffer=`) to the file, and the header if it is rewritten on
    /// append.
    fn flush(&self, py: Python<'_>) -> errors::Result<()> {
        self.with_core(py, AppendArray::flush)
    }

    /// Writes buffered items and the header, and forces both to stable storage.
    fn sync(&self, py: Python<'_>) -> errors::Result<()> {
        self.with_core(py, AppendArray::sync)
    }

    /// Flushes, writes the final header, syncs as `durability` asks and releases the file.
    /// Closing twice is harmless; appending after closing raises `ClosedError`.
    fn close(&self, py: Python<'_>) -> errors::Result<()> {
        let mut slot = self.slot(py);
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
        Ok(py.detach(|| core.close())?)
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
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> errors::Result<bool> {
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
    /// The handle's lock, taken at once when it is free; otherwise waited for without the
    /// GIL (the holder may need the GIL to finish), then tried again with it.
    fn slot(&self, py: Python<'_>) -> MutexGuard<'_, Slot> {
        loop {
            match self.slot.try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => py.detach(|| {
                    drop(self.slot.lock().unwrap_or_else(PoisonError::into_inner));
                }),
            }
        }
    }

    /// Appends a non-contiguous block (a strided view): checked whole first, so that a
    /// refused append writes nothing, then gathered and appended a slab at a time along the
    /// axis the file grows. Called with the handle's lock held.
    fn append_slabs(
        &self,
        py: Python<'_>,
        core: &AppendArray,
        block: &Block<'_>,
    ) -> errors::Result<()> {
        let (dtype, shape) = (&block.dtype, &block.shape);
        py.detach(|| core.check_append(dtype, shape))?;
        // A strided view has no layout of its own: as for `np.save`, C order unless the file
        // (or `fortran_order=`) has one.
        let order = core.order_for(Order::C);
        let Some(axis) = order.growth_axis(shape.len()) else {
            return Ok(());
        };
        let item_bytes = dtype.itemsize() as u64
            * shape
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != axis)
                .map(|(_, &d)| d)
                .product::<u64>();
        // In shared mode a block lands whole only as one append: one slab.
        let step = if self.shared {
            shape[axis].max(1)
        } else {
            (SLAB_BYTES / item_bytes.max(1)).max(1)
        };
        let mut start = 0;
        while start < shape[axis] {
            let end = (start + step).min(shape[axis]);
            let part = block.slab(order, start, end)?;
            let data = part.bytes().ok_or_else(array::not_contiguous)?;
            let part_shape = &part.shape;
            py.detach(|| core.append_raw_in_order(dtype, part_shape, order, data))?;
            start = end;
        }
        Ok(())
    }

    /// Runs `op` on the open core handle without the GIL.
    fn with_core<T: Send>(
        &self,
        py: Python<'_>,
        op: impl FnOnce(&AppendArray) -> npaa_core::Result<T> + Send,
    ) -> errors::Result<T> {
        let slot = self.slot(py);
        match &*slot {
            Slot::Open(core) => Ok(py.detach(|| op(core))?),
            Slot::Closed { .. } => Err(errors::closed(py, &self.path).into()),
        }
    }
}

/// The core's options from the keyword arguments `NpyAppendArray` and `RaggedAppendArray`
/// share.
pub(crate) fn append_options(
    delete_if_exists: bool,
    rewrite_header_on_append: bool,
    casting: &str,
    durability: Option<&Bound<'_, PyAny>>,
    buffer: usize,
    mapped: Option<&Bound<'_, PyAny>>,
    order: Option<Order>,
) -> errors::Result<AppendOptions> {
    let options = AppendOptions::new()
        .delete_if_exists(delete_if_exists)
        .rewrite_header_on_append(rewrite_header_on_append)
        .casting(casting.parse()?)
        .durability(parse_durability(durability)?)
        .buffer_capacity(buffer)
        .mapped_window(parse_mapped(mapped)?);
    Ok(match order {
        Some(order) => options.order(order),
        None => options,
    })
}

/// `durability=`: `None`, a name the core reads (`"none"`, `"close"`, `"append"`,
/// `"every:BYTES"`), or a positive int N (sync every N bytes; the core refuses 0 at open).
pub(crate) fn parse_durability(value: Option<&Bound<'_, PyAny>>) -> PyResult<Durability> {
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

/// `timeout=` seconds: `math.inf` waits forever (`None`), else at most that long.
fn parse_timeout(seconds: f64) -> PyResult<Option<std::time::Duration>> {
    if seconds == f64::INFINITY {
        return Ok(None);
    }
    std::time::Duration::try_from_secs_f64(seconds)
        .map(Some)
        .map_err(|_| {
            PyValueError::new_err(format!(
                "timeout={seconds}: expected None, a number of seconds >= 0, or math.inf"
            ))
        })
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
