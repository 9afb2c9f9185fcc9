//! `npaa._native`, the native half of the Python package `npaa`: a drop-in replacement for
//! npy-append-array's `NpyAppendArray` on npaa-core.
//!
//! The binding converts Python values (any array in: [`array`]), releases the GIL around
//! file operations (all but small appends, which cost less than giving it up: [`handle`])
//! and renders errors as Python exceptions ([`errors`]); every rule (headers, casting,
//! memory order, validation, locking, recovery) is npaa-core's. The public names are re-exported by
//! `python/npaa/__init__.py`.

mod array;
mod collective;
mod errors;
mod functions;
mod handle;
mod ragged;
mod reader;
mod region;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<handle::NpyAppendArray>()?;
    m.add_class::<functions::RecoverReport>()?;
    m.add_class::<region::RegionWrite>()?;
    m.add_class::<collective::Collective>()?;
    m.add_class::<region::RegionTarget>()?;
    m.add_class::<functions::EnsureReport>()?;
    m.add_class::<ragged::RaggedAppendArray>()?;
    m.add_class::<ragged::RaggedRecoverReport>()?;
    m.add_class::<reader::Reader>()?;
    m.add_class::<reader::RaggedReader>()?;
    m.add_function(wrap_pyfunction!(ragged::recover_ragged, m)?)?;
    m.add_function(wrap_pyfunction!(ragged::ragged_problems, m)?)?;
    m.add_function(wrap_pyfunction!(ragged::ragged_index_from_lengths, m)?)?;
    m.add_function(wrap_pyfunction!(functions::recover, m)?)?;
    m.add_function(wrap_pyfunction!(functions::ensure_appendable, m)?)?;
    m.add_function(wrap_pyfunction!(functions::is_appendable, m)?)?;
    m.add_function(wrap_pyfunction!(functions::needs_recovery, m)?)?;
    m.add_function(wrap_pyfunction!(functions::concatenate_files, m)?)?;
    m.add_function(wrap_pyfunction!(functions::problems, m)?)?;
    errors::register(m)?;
    Ok(())
}
