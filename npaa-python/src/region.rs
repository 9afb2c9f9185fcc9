//! `npaa._native.RegionWrite` and `RegionTarget`: a block written by many writers at once
//! (npaa.dask), on [`npaa_core::RegionWrite`] and [`npaa_core::RegionTarget`].

use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use npaa_core::{AppendOptions, Order};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PySlice, PySliceMethods, PyTuple};

use crate::array::{self, Block};
use crate::{errors, handle};

/// The driver's side of a region write: opens (or creates) the file under the writer lock and
/// reserves the block's extent; `target` goes to the chunk writers; `commit()` counts the
/// block once every chunk is written, `abort()` gives the file back as it was. Both wait for
/// every chunk being written and refuse later ones.
#[pyclass(module = "npaa._native", name = "RegionWrite", frozen)]
#[derive(Debug)]
pub(crate) struct RegionWrite {
    path: PathBuf,
    /// `None` once committed or aborted.
    inner: Mutex<Option<npaa_core::RegionWrite>>,
    target: Py<RegionTarget>,
}

#[pymethods]
impl RegionWrite {
    #[new]
    #[pyo3(signature = (
        filename, dtype, shape, *, new_file=false, fortran_order=None, casting="same_kind",
        durability=None
    ))]
    #[expect(clippy::too_many_arguments, reason = "the Python signature")]
    fn new(
        py: Python<'_>,
        filename: PathBuf,
        dtype: &Bound<'_, PyAny>,
        shape: Vec<u64>,
        new_file: bool,
        fortran_order: Option<bool>,
        casting: &str,
        durability: Option<Bound<'_, PyAny>>,
    ) -> errors::Result<Self> {
        let dtype = array::parse_dtype(dtype)?;
        let mut options = AppendOptions::new()
            .delete_if_exists(new_file)
            .casting(casting.parse()?)
            .durability(handle::parse_durability(durability.as_ref())?);
        if let Some(fortran) = fortran_order {
            options = options.order(Order::from_fortran(fortran));
        }
        let inner = py
            .detach(|| npaa_core::RegionWrite::begin(&filename, &options, &dtype, &shape))
            .map_err(core_err)?;
        let target = Py::new(
            py,
            RegionTarget {
                inner: inner.target().clone(),
            },
        )?;
        Ok(RegionWrite {
            path: filename,
            inner: Mutex::new(Some(inner)),
            target,
        })
    }

    /// Where the chunks go (picklable: send it to workers in other processes).
    #[getter]
    fn target(&self, py: Python<'_>) -> Py<RegionTarget> {
        self.target.clone_ref(py)
    }

    /// Waits for the chunks being written, then counts the block in the header.
    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        let inner = self.take(py)?;
        py.detach(|| inner.commit()).map_err(core_err)
    }

    /// Waits for the chunks being written, then gives the file back as it was (a file the
    /// region write created is deleted).
    fn abort(&self, py: Python<'_>) -> PyResult<()> {
        let inner = self.take(py)?;
        py.detach(|| inner.abort()).map_err(core_err)
    }
}

impl RegionWrite {
    fn take(&self, py: Python<'_>) -> PyResult<npaa_core::RegionWrite> {
        let taken = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        taken.ok_or_else(|| errors::closed(py, &self.path))
    }
}

/// Where the chunks of a region write go: `target[index] = chunk` writes a chunk (an array
/// whose shape is the index's) straight to its place, as `dask.array.store` does.
#[pyclass(module = "npaa._native", name = "RegionTarget", frozen)]
#[derive(Debug)]
pub(crate) struct RegionTarget {
    inner: npaa_core::RegionTarget,
}

#[pymethods]
impl RegionTarget {
    /// A target from its pickled state (the bytes `__reduce__` gives).
    #[new]
    fn new(state: &[u8]) -> errors::Result<Self> {
        let inner = npaa_core::RegionTarget::decode(state).map_err(core_err)?;
        Ok(RegionTarget { inner })
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let state = PyBytes::new(py, &slf.get().inner.encode());
        PyTuple::new(
            py,
            [
                slf.get_type().into_any(),
                PyTuple::new(py, [state])?.into_any(),
            ],
        )
    }

    /// The block's shape.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.shape())
    }

    /// True if the file is in Fortran order.
    #[getter]
    fn fortran_order(&self) -> bool {
        self.inner.order() == Order::Fortran
    }

    /// Writes `value` (an array of the index's shape, any dtype that casts to the file's) at
    /// `index` (a tuple of slices of step 1, one per axis, or a single slice).
    fn __setitem__(
        &self,
        py: Python<'_>,
        index: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> errors::Result<()> {
        let ranges = self.ranges(index)?;
        let block = Block::of(value)?;
        let lens: Vec<u64> = ranges.iter().map(|r| r.end - r.start).collect();
        if block.shape != lens {
            return Err(PyValueError::new_err(format!(
                "a chunk of shape {} cannot be written at an index of shape {}",
                npaa_core::repr::fmt_shape(&block.shape),
                npaa_core::repr::fmt_shape(&lens)
            ))
            .into());
        }
        let order = self.inner.order();
        let laid_out = block.layout == Some(order)
            || (block.layout.is_some() && npaa_core::same_bytes_in_both_orders(&block.shape));
        let converted;
        let source = if laid_out {
            &block
        } else {
            let growth = order.growth_axis(lens.len()).map_or(0, |axis| lens[axis]);
            converted = block.slab(order, 0, growth)?;
            &converted
        };
        let data = source.bytes().ok_or_else(array::not_contiguous)?;
        let dtype = &source.dtype;
        py.detach(|| self.inner.write(&ranges, dtype, data))?;
        Ok(())
    }
}

impl RegionTarget {
    /// The index ranges of `index`: a slice or a tuple of slices (what `dask.array.store`
    /// passes), missing trailing axes taken whole.
    fn ranges(&self, index: &Bound<'_, PyAny>) -> PyResult<Vec<Range<u64>>> {
        let shape = self.inner.shape();
        let items: Vec<Bound<'_, PyAny>> = match index.cast::<PyTuple>() {
            Ok(tuple) => tuple.iter().collect(),
            Err(_) => vec![index.clone()],
        };
        if items.len() > shape.len() {
            return Err(PyValueError::new_err(format!(
                "an index of {} axes for a block of {}",
                items.len(),
                shape.len()
            )));
        }
        let mut ranges = Vec::with_capacity(shape.len());
        for (i, &dim) in shape.iter().enumerate() {
            let Some(item) = items.get(i) else {
                ranges.push(0..dim);
                continue;
            };
            let slice = item.cast::<PySlice>().map_err(|_| {
                PyTypeError::new_err(
                    "a region target is indexed by slices (as dask.array.store does)",
                )
            })?;
            let length =
                isize::try_from(dim).map_err(|_| PyValueError::new_err("dimension too large"))?;
            let found = slice.indices(length)?;
            if found.step != 1 {
                return Err(PyValueError::new_err(
                    "a region target is indexed by slices of step 1",
                ));
            }
            let start = found.start.max(0) as u64;
            ranges.push(start..start.max(found.stop.max(0) as u64));
        }
        Ok(ranges)
    }
}

/// A core error as the Python exception the package maps it to.
fn core_err(err: npaa_core::Error) -> PyErr {
    errors::Error::from(err).into()
}
