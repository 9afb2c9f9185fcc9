//! `npaa._native.Collective`: one writer's side of a collective append session
//! ([`npaa_core::Collective`]), for `npaa.mpi`, which makes the MPI calls and no decision.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

use npaa_core::{AppendOptions, Order};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::array::Block;
use crate::{errors, handle};

/// One writer's side of a collective append session: `root=True` on exactly one writer (MPI
/// rank 0), which opens the file, holds its lock, creates it, marks each step's extent and
/// writes the header; the others only validate and convert their blocks against the root's
/// layout. The methods are npaa-core's `Collective` steps (see `npaa.mpi` for their order).
#[pyclass(module = "npaa._native", name = "Collective", frozen)]
#[derive(Debug)]
pub(crate) struct Collective {
    path: PathBuf,
    /// `None` once closed.
    inner: Mutex<Option<npaa_core::Collective>>,
}

#[pymethods]
impl Collective {
    #[new]
    #[pyo3(signature = (
        filename, root, *, delete_if_exists=false, rewrite_header_on_append=true,
        casting="same_kind", durability=None, fortran_order=false
    ))]
    #[expect(clippy::too_many_arguments, reason = "the Python signature")]
    fn new(
        py: Python<'_>,
        filename: PathBuf,
        root: bool,
        delete_if_exists: bool,
        rewrite_header_on_append: bool,
        casting: &str,
        durability: Option<Bound<'_, PyAny>>,
        fortran_order: bool,
    ) -> errors::Result<Self> {
        let options = AppendOptions::new()
            .delete_if_exists(delete_if_exists)
            .rewrite_header_on_append(rewrite_header_on_append)
            .casting(casting.parse()?)
            .durability(handle::parse_durability(durability.as_ref())?)
            .order(Order::from_fortran(fortran_order));
        let inner = py
            .detach(|| {
                if root {
                    npaa_core::Collective::open_root(&filename, &options)
                } else {
                    npaa_core::Collective::open_peer(&filename, &options)
                }
            })
            .map_err(core_err)?;
        Ok(Collective {
            path: filename,
            inner: Mutex::new(Some(inner)),
        })
    }

    /// True once the file's dtype and shape are known.
    fn is_defined(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.open(py)?.as_ref().is_some_and(|c| c.is_defined()))
    }

    /// True if the (defined) file is in Fortran order: blocks are laid out so.
    fn fortran_order(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self
            .open(py)?
            .as_ref()
            .and_then(|c| c.order())
            .is_some_and(|o| o == Order::Fortran))
    }

    /// Defines a new file from the root's first block (`arr`'s dtype and shape).
    fn define(&self, py: Python<'_>, arr: &Bound<'_, PyAny>) -> errors::Result<()> {
        let block = Block::of(arr)?;
        Ok(self.with(py, |c| c.define(&block.dtype, &block.shape))?)
    }

    /// The root's layout, as bytes for the other writers' `set_layout`.
    fn layout<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.with(py, |c| Ok(c.layout()))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Adopts the root's layout.
    fn set_layout(&self, py: Python<'_>, layout: &[u8]) -> PyResult<()> {
        self.with(py, |c| c.set_layout(layout))
    }

    /// Validates this writer's block and converts it to the file's dtype and order, writing
    /// nothing. Returns `(data, rows)`: `data` is an object with the buffer protocol holding
    /// the bytes to write (the array itself, or a view of it, when it needs no conversion).
    fn prepare<'py>(
        &self,
        py: Python<'py>,
        arr: &Bound<'py, PyAny>,
    ) -> errors::Result<(Bound<'py, PyAny>, u64)> {
        let block = Block::of(arr)?;
        let order = if self.fortran_order(py)? {
            Order::Fortran
        } else {
            Order::C
        };
        let laid_out = block.layout == Some(order)
            || (block.layout.is_some() && npaa_core::same_bytes_in_both_orders(&block.shape));
        let converted;
        let source = if laid_out || block.shape.is_empty() {
            &block
        } else {
            let growth = order
                .growth_axis(block.shape.len())
                .map_or(0, |a| block.shape[a]);
            converted = block.slab(order, 0, growth)?;
            &converted
        };
        // A 0-d block has no layout: the core refuses it, with its own error.
        let data: &[u8] = source.bytes().unwrap_or(&[]);
        let (dtype, shape) = (&source.dtype, &source.shape);
        let mut guard = self.open(py)?;
        let core = guard
            .as_mut()
            .ok_or_else(|| errors::closed(py, &self.path))?;
        let (same, bytes, rows) = py.detach(|| {
            core.prepare(dtype, shape, data)
                .map(|(b, rows)| (b.as_ptr() == data.as_ptr() && laid_out, b, rows))
        })?;
        // The array itself when its own bytes go out unchanged, else a copy of the converted
        // bytes.
        let out = if same {
            arr.clone()
        } else {
            PyBytes::new(py, &bytes).into_any()
        };
        Ok((out, rows))
    }

    /// Where the next step's data starts (`None` before the file is defined).
    fn data_end(&self, py: Python<'_>) -> PyResult<Option<u64>> {
        self.with(py, |c| Ok(c.data_end()))
    }

    /// Whether the step of `total` bytes needs the root's `begin_step` before anyone writes.
    fn step_needs_mark(&self, py: Python<'_>, total: u64) -> PyResult<bool> {
        self.with(py, |c| Ok(c.step_needs_mark(total)))
    }

    /// Before anyone writes a step that needs a mark: the root creates the file if needed and
    /// marks the step's extent; the others call it after the root succeeded.
    fn begin_step(&self, py: Python<'_>, total: u64) -> PyResult<()> {
        self.with(py, |c| c.begin_step(total))
    }

    /// Whether this step's data must be synced before its header is written.
    fn sync_due(&self, py: Python<'_>, total: u64) -> PyResult<bool> {
        self.with(py, |c| Ok(c.sync_due(total)))
    }

    /// Whether the data must be synced before `close`.
    fn sync_due_at_close(&self, py: Python<'_>) -> PyResult<bool> {
        self.with(py, |c| Ok(c.sync_due_at_close()))
    }

    /// Counts a step every writer has written (`rows`, `total` bytes; `synced` as `sync_due`
    /// said); the root writes the header.
    fn commit(&self, py: Python<'_>, rows: u64, total: u64, synced: bool) -> PyResult<()> {
        self.with(py, |c| c.commit(rows, total, synced))
    }

    /// Ends the session (on the root: final header, mark removed, lock released). Closing
    /// twice is harmless.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let taken = lock(&self.inner).take();
        match taken {
            Some(c) => py.detach(|| c.close()).map_err(core_err),
            None => Ok(()),
        }
    }
}

impl Collective {
    /// The session's state (the methods are called by one thread at a time, as MPI
    /// collectives are: the lock is never contended).
    fn open(&self, py: Python<'_>) -> PyResult<MutexGuard<'_, Option<npaa_core::Collective>>> {
        let guard = lock(&self.inner);
        if guard.is_none() {
            return Err(errors::closed(py, &self.path));
        }
        Ok(guard)
    }

    /// Runs `op` on the open session without the GIL.
    fn with<T: Send>(
        &self,
        py: Python<'_>,
        op: impl FnOnce(&mut npaa_core::Collective) -> npaa_core::Result<T> + Send,
    ) -> PyResult<T> {
        let mut guard = self.open(py)?;
        let core = guard
            .as_mut()
            .ok_or_else(|| errors::closed(py, &self.path))?;
        py.detach(|| op(core)).map_err(core_err)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A core error as the Python exception the package maps it to.
fn core_err(err: npaa_core::Error) -> PyErr {
    errors::Error::from(err).into()
}
