//! `npaa.RaggedAppendArray`, `npaa.recover_ragged` and `npaa.ragged_index_from_lengths`: the
//! ragged pair of npaa-core ([`npaa_core::RaggedAppendArray`]) for Python.

use std::fmt::Display;
use std::path::PathBuf;
use std::sync::{PoisonError, RwLock};

use npaa_core::{Dtype, Order};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::array::{self, Block};
use crate::{errors, functions, handle};

/// Append records of any length (0 included) along the growth axis of a .npy data file, with
/// their ends in an index beside it (`feats.npy` + `feats.idx.npy`, a 1-D `<i8` array of
/// record ends), committed data first, then index: a crash never leaves an index naming items
/// that are not there. Opening repairs what a crash left (a half-appended record is cut).
///
/// Arguments as `NpyAppendArray`'s: `filename`, `delete_if_exists` (deletes both files),
/// `rewrite_header_on_append`; keyword-only `casting`, `durability`, `buffer`, `mapped`,
/// `fortran_order`. A record that is not contiguous is copied (`np.ascontiguousarray`)
/// first.
#[pyclass(module = "npaa", name = "RaggedAppendArray", frozen, subclass)]
pub(crate) struct RaggedAppendArray {
    filename: Py<PyAny>,
    path: PathBuf,
    core: RwLock<Option<npaa_core::RaggedAppendArray>>,
}

#[pymethods]
impl RaggedAppendArray {
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
    ) -> errors::Result<Self> {
        let path: PathBuf = filename.extract()?;
        let options = handle::append_options(
            delete_if_exists,
            rewrite_header_on_append,
            casting,
            durability.as_ref(),
            buffer,
            mapped.as_ref(),
            fortran_order.map(Order::from_fortran),
        )?;
        let core = py.detach(|| options.open_ragged(&path))?;
        Ok(RaggedAppendArray {
            filename: filename.unbind(),
            path,
            core: RwLock::new(Some(core)),
        })
    }

    /// The data file's path, as given.
    #[getter]
    fn filename(&self, py: Python<'_>) -> Py<PyAny> {
        self.filename.clone_ref(py)
    }

    /// The index file's path (a `pathlib.Path`).
    #[getter]
    fn index_filename(&self) -> PathBuf {
        npaa_core::index_path(&self.path)
    }

    /// The data file's shape, `None` before the first record created it or after close.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> errors::Result<Option<Bound<'py, PyTuple>>> {
        let shape = self.read().as_ref().and_then(|c| c.shape());
        Ok(shape.map(|s| PyTuple::new(py, s)).transpose()?)
    }

    /// The data file's dtype, `None` before the first record created it or after close.
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> errors::Result<Option<Bound<'py, PyAny>>> {
        let dtype = self.read().as_ref().and_then(|c| c.dtype());
        Ok(dtype.map(|d| array::to_numpy_dtype(py, &d)).transpose()?)
    }

    /// Records appended (0 after close).
    fn __len__(&self) -> usize {
        self.read().as_ref().map_or(0, |c| c.len() as usize)
    }

    /// Appends one record: an array (or anything `np.asarray` takes) of any length along the
    /// growth axis, 0 included. Nothing is written if it is refused.
    fn append(&self, py: Python<'_>, record: &Bound<'_, PyAny>) -> errors::Result<()> {
        let block = read_record(record)?;
        let (shape, order, data) = record_parts(&block)?;
        let dtype = &block.dtype;
        self.with_core(py, |core| {
            core.append_raw_in_order(dtype, shape, order, data)
        })
    }

    /// Appends several records (an iterable of arrays) with one index update for all of them.
    /// A record that is refused stops the call; the records before it stay appended.
    fn extend(&self, py: Python<'_>, records: &Bound<'_, PyAny>) -> errors::Result<()> {
        let blocks: Vec<Block<'_>> = records
            .try_iter()?
            .map(|r| read_record(&r?))
            .collect::<errors::Result<_>>()?;
        let parts: Vec<(&Dtype, &[u64], Order, &[u8])> = blocks
            .iter()
            .map(|b| record_parts(b).map(|(s, o, d)| (&b.dtype, s, o, d)))
            .collect::<errors::Result<_>>()?;
        self.with_core(py, |core| core.extend_raw(parts))
    }

    /// Writes records held back (`buffer=`, an int `durability=`) and their index entries.
    fn flush(&self, py: Python<'_>) -> errors::Result<()> {
        self.with_core(py, npaa_core::RaggedAppendArray::flush)
    }

    /// Writes everything and forces it to stable storage, the data before the index.
    fn sync(&self, py: Python<'_>) -> errors::Result<()> {
        self.with_core(py, npaa_core::RaggedAppendArray::sync)
    }

    /// Closes the pair (the data, then the index). Closing twice is harmless; appending after
    /// closing raises `ClosedError`.
    fn close(&self, py: Python<'_>) -> errors::Result<()> {
        let core = self
            .core
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match core {
            Some(core) => Ok(py.detach(|| core.close())?),
            None => Ok(()),
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> errors::Result<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> errors::Result<String> {
        let filename = self.filename.bind(py).repr()?;
        Ok(format!(
            "RaggedAppendArray({filename}, records={})",
            self.__len__()
        ))
    }
}

/// A record read in place, made contiguous first (a copy) if it is not.
fn read_record<'py>(record: &Bound<'py, PyAny>) -> errors::Result<Block<'py>> {
    let block = Block::of(record)?;
    if block.bytes().is_some() {
        return Ok(block);
    }
    let py = record.py();
    let contiguous = py
        .import("numpy")?
        .getattr("ascontiguousarray")?
        .call1((record,))?;
    Block::of(&contiguous)
}

/// The shape, the layout and the bytes of a contiguous record.
fn record_parts<'a>(block: &'a Block<'_>) -> errors::Result<(&'a [u64], Order, &'a [u8])> {
    let data = block.bytes().ok_or_else(array::not_contiguous)?;
    Ok((&block.shape, block.layout.unwrap_or_default(), data))
}

impl RaggedAppendArray {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Option<npaa_core::RaggedAppendArray>> {
        self.core.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn with_core<T: Send>(
        &self,
        py: Python<'_>,
        op: impl FnOnce(&npaa_core::RaggedAppendArray) -> npaa_core::Result<T> + Send,
    ) -> errors::Result<T> {
        match py.detach(|| self.read().as_ref().map(op)) {
            Some(r) => Ok(r?),
            None => Err(errors::closed_as(py, &self.path, "RaggedAppendArray").into()),
        }
    }
}

/// What `npaa.recover_ragged` did (always true; `changed` says whether the pair needed it).
#[pyclass(module = "npaa", frozen, get_all)]
#[derive(Debug, Clone)]
pub(crate) struct RaggedRecoverReport {
    /// Records after the repair.
    records: u64,
    /// Items of the data (its length along the growth axis) after the repair.
    items: u64,
    /// Index entries cut (ends beyond the data: only a power loss leaves those).
    entries_cut: u64,
    /// Items cut from the data: a half-appended record.
    items_cut: u64,
    /// False when the pair needed no repair.
    changed: bool,
}

#[pymethods]
impl RaggedRecoverReport {
    fn __bool__(&self) -> bool {
        true
    }

    fn __repr__(&self) -> String {
        format!(
            "RaggedRecoverReport(records={}, items={}, entries_cut={}, items_cut={}, changed={})",
            self.records,
            self.items,
            self.entries_cut,
            self.items_cut,
            if self.changed { "True" } else { "False" }
        )
    }
}

/// Restores a consistent ragged pair after a crash, under its lock: every record that was
/// appended and indexed survives exactly; a half-appended record is cut.
#[pyfunction]
pub(crate) fn recover_ragged(
    py: Python<'_>,
    filename: PathBuf,
) -> errors::Result<RaggedRecoverReport> {
    let r = py.detach(|| npaa_core::recover_ragged(&filename))?;
    Ok(RaggedRecoverReport {
        records: r.records,
        items: r.items,
        entries_cut: r.entries_cut,
        items_cut: r.items_cut,
        changed: r.changed,
    })
}

/// What is wrong with the ragged pair of the data file `filename` (npaa-core's
/// `RaggedInfo::problems`): either file's own findings, then how the two are out of step, each
/// with the Python call that fixes it where one does; empty for a consistent pair. Reads the
/// whole index; changes nothing.
#[pyfunction]
pub(crate) fn ragged_problems(py: Python<'_>, filename: PathBuf) -> errors::Result<Vec<String>> {
    let info = py.detach(|| npaa_core::inspect_ragged(&filename))?;
    let problems = info.problems();
    Ok(functions::worded(
        py,
        problems
            .iter()
            .map(|p| (p as &dyn Display, p.remedy(), info.file_of(p))),
    ))
}

/// Builds the index of the existing data file `filename` from its records' lengths: a
/// sequence of ints, or the path of a fairseq-style lengths file (one length per line).
/// Returns the number of records.
#[pyfunction]
pub(crate) fn ragged_index_from_lengths(
    py: Python<'_>,
    filename: PathBuf,
    lengths: &Bound<'_, PyAny>,
) -> errors::Result<u64> {
    let lengths: Vec<u64> = match lengths.extract::<PathBuf>() {
        Ok(file) => py.detach(|| npaa_core::read_lengths(&file))?,
        Err(_) => lengths.extract()?,
    };
    Ok(py.detach(|| npaa_core::index_from_lengths(&filename, &lengths))?)
}
