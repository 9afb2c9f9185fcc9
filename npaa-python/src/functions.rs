//! The reference's module functions: `recover`, `ensure_appendable`, `is_appendable`,
//! `needs_recovery`, and the reports the first two return; npaa's own `concatenate_files`.

use std::fmt::Display;
use std::path::{Path, PathBuf};

use npaa_core::{AppendFilesOptions, AppendOptions, EnsureOptions, RecoverOptions, Remedy};
use pyo3::prelude::*;

use crate::errors;

/// What `npaa.recover` did. Always true (the reference returns `True`); `changed` says whether
/// the file needed recovery.
#[pyclass(module = "npaa", frozen, get_all)]
#[derive(Debug, Clone)]
pub(crate) struct RecoverReport {
    /// Length of the growth axis the header announced (`None` for a placeholder shape).
    items_before: Option<u64>,
    /// Length of the growth axis after recovery.
    items_after: u64,
    /// Bytes cut from the end (an incomplete last item).
    bytes_cut: u64,
    /// Zero bytes added to complete the last item (`zerofill_incomplete=True`).
    bytes_zero_filled: u64,
    /// False when the file did not need recovery.
    changed: bool,
}

impl From<&npaa_core::RecoverReport> for RecoverReport {
    fn from(r: &npaa_core::RecoverReport) -> Self {
        RecoverReport {
            items_before: r.items_before,
            items_after: r.items_after,
            bytes_cut: r.bytes_cut,
            bytes_zero_filled: r.bytes_zero_filled,
            changed: r.changed,
        }
    }
}

#[pymethods]
impl RecoverReport {
    fn __bool__(&self) -> bool {
        true
    }

    fn __repr__(&self) -> String {
        let before = self
            .items_before
            .map_or_else(|| "None".to_owned(), |n| n.to_string());
        format!(
            "RecoverReport(items_before={before}, items_after={}, bytes_cut={}, \
             bytes_zero_filled={}, changed={})",
            self.items_after,
            self.bytes_cut,
            self.bytes_zero_filled,
            if self.changed { "True" } else { "False" }
        )
    }
}

/// What `npaa.ensure_appendable` did. Always true (the reference returns `True`); `changed`
/// says whether the header had to be enlarged.
#[pyclass(module = "npaa", frozen, get_all)]
#[derive(Debug, Clone)]
pub(crate) struct EnsureReport {
    /// How: "already_appendable", "inserted_blocks" (no data moved), "moved_in_place" or
    /// "copied" (a new file renamed over the old one).
    method: &'static str,
    /// Header size before, in bytes.
    header_len_before: u64,
    /// Header size after, in bytes.
    header_len_after: u64,
    /// Bytes after the header, carried over unchanged.
    data_len: u64,
}

#[pymethods]
impl EnsureReport {
    /// False when the header already had room (nothing was changed).
    #[getter]
    fn changed(&self) -> bool {
        self.method != "already_appendable"
    }

    fn __bool__(&self) -> bool {
        true
    }

    fn __repr__(&self) -> String {
        format!(
            "EnsureReport(method={:?}, header_len_before={}, header_len_after={}, data_len={})",
            self.method, self.header_len_before, self.header_len_after, self.data_len
        )
    }
}

/// Makes an incomplete file loadable again (header rewritten from the file's size).
#[pyfunction]
#[pyo3(signature = (filename, zerofill_incomplete=false))]
pub(crate) fn recover(
    py: Python<'_>,
    filename: PathBuf,
    zerofill_incomplete: bool,
) -> errors::Result<RecoverReport> {
    let report = py.detach(|| {
        npaa_core::recover_with(
            &filename,
            RecoverOptions::new().zerofill_incomplete(zerofill_incomplete),
        )
    })?;
    Ok(RecoverReport::from(&report))
}

/// Gives a file's header the spare room appends need (atomic copy, or `inplace=True`).
#[pyfunction]
#[pyo3(signature = (filename, inplace=false))]
pub(crate) fn ensure_appendable(
    py: Python<'_>,
    filename: PathBuf,
    inplace: bool,
) -> errors::Result<EnsureReport> {
    let r = py.detach(|| {
        npaa_core::ensure_appendable_with(&filename, EnsureOptions::new().in_place(inplace))
    })?;
    Ok(EnsureReport {
        method: r.method.name(),
        header_len_before: r.header_len_before,
        header_len_after: r.header_len_after,
        data_len: r.data_len,
    })
}

/// True if appends can go to the file as it is (its header has room to grow).
#[pyfunction]
pub(crate) fn is_appendable(py: Python<'_>, filename: PathBuf) -> errors::Result<bool> {
    Ok(py.detach(|| npaa_core::is_appendable(&filename))?)
}

/// True if the file's data does not match its header (`recover` repairs it).
#[pyfunction]
pub(crate) fn needs_recovery(py: Python<'_>, filename: PathBuf) -> errors::Result<bool> {
    Ok(py.detach(|| npaa_core::needs_recovery(&filename))?)
}

/// Appends the arrays of the .npy files `sources`, in order, to the .npy file `dest`, as one
/// transaction (npaa-core's `append_files`): every source is checked before `dest` is
/// touched, a new `dest` is built beside it and renamed into place, a failed write is undone.
/// Returns the number of items appended along the growth axis.
#[pyfunction]
#[pyo3(signature = (dest, sources, *, casting="same_kind", delete_if_exists=false))]
pub(crate) fn concatenate_files(
    py: Python<'_>,
    dest: PathBuf,
    sources: Vec<PathBuf>,
    casting: &str,
    delete_if_exists: bool,
) -> errors::Result<u64> {
    let options = AppendOptions::new()
        .casting(casting.parse()?)
        .delete_if_exists(delete_if_exists);
    let report = py.detach(|| {
        let options = AppendFilesOptions::new().append_options(options);
        npaa_core::append_files(&dest, &sources, options)
    })?;
    Ok(report.items)
}

/// What keeps the file from loading in NumPy or from being appended to (npaa-core's
/// `FileInfo::problems`), each with the Python call that fixes it where one does; empty when
/// the file is fine.
#[pyfunction]
pub(crate) fn problems(py: Python<'_>, filename: PathBuf) -> errors::Result<Vec<String>> {
    let info = py.detach(|| npaa_core::inspect(&filename))?;
    let problems = info.problems();
    Ok(worded(
        py,
        problems
            .iter()
            .map(|p| (p as &dyn Display, p.remedy(), filename.as_path())),
    ))
}

/// Findings as `problems` and `ragged_problems` return them: each with the Python call that
/// fixes it (given the path beside it) where one does.
pub(crate) fn worded<'a>(
    py: Python<'_>,
    problems: impl Iterator<Item = (&'a dyn Display, Option<Remedy>, &'a Path)>,
) -> Vec<String> {
    problems
        .map(|(problem, remedy, path)| match remedy {
            Some(r) => format!("{problem}{}", errors::remedy_text(py, r, Some(path))),
            None => problem.to_string(),
        })
        .collect()
}
