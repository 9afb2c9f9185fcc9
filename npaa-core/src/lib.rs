//! Grow NumPy `.npy` files out of core.
//!
//! `.npy` files hold one array: a short text header (dtype, memory order, shape) and the raw
//! data. NumPy can memory-map them, but not grow them. npaa-core appends blocks along the
//! growth axis (axis 0 for C order, the last axis for Fortran order), as
//! `numpy.concatenate` would, rewriting the header in place: the result is byte-identical to
//! `np.save` of the concatenation.
//!
//! ```
//! use npaa_core::{AppendArray, AppendOptions, inspect, recover};
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("states.npy");
//! // Append rows of 3 f64 to a new file.
//! let array = AppendOptions::new().delete_if_exists(true).open(&path)?;
//! for step in 0..10 {
//!     let row = [step as f64, 0.5, -1.0];
//!     array.append(&row, &[1, 3])?;
//! }
//! array.close()?;
//!
//! let info = inspect(&path)?;
//! assert_eq!(info.header.shape(), [10, 3]);
//! assert!(info.appendable && !info.needs_recovery);
//!
//! // A file cut short (a crash, a broken download) is repaired in constant time.
//! let file = std::fs::OpenOptions::new().write(true).open(&path)?;
//! file.set_len(info.header_len + 8 * 3 * 7 + 5)?;
//! let report = recover(&path)?;
//! assert_eq!((report.items_after, report.bytes_cut), (7, 5));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Modules
//! - [`header`]: reading and writing headers ([`header::Header`], versions 1.0 to 3.0;
//!   [`Header::read`] reads one from a file).
//! - [`dtype`]: the dtype model ([`Dtype`]), every fixed-size dtype NumPy writes, parsed
//!   ([`Dtype::parse`]) or built from parts checked as NumPy checks them
//!   ([`dtype::Record::new`], ...).
//! - [`AppendArray`]: the appender; [`AppendOptions`] configures it.
//! - [`Order`], [`relayout`], [`same_bytes_in_both_orders`]: memory order, and what a block in
//!   the other order takes ([`AppendArray::append_raw_in_order`] converts it).
//! - [`Collective`]: many writers (MPI ranks) appending to one file in steps.
//! - [`RegionWrite`], [`RegionTarget`]: one block written by many writers at once, each chunk
//!   straight to its place (Dask), counted by the header last.
//! - [`recover()`], [`ensure_appendable()`], [`inspect()`]: repair, conversion, inspection.
//! - [`ragged`]: records of any length with an index beside the data, committed together
//!   ([`RaggedAppendArray`], [`RaggedReader`], [`recover_ragged`]).
//! - [`Reader`]: the items committed so far of a file a writer is growing, mapped read-only.
//! - [`append_files()`]: appending whole .npy files to another as one transaction (every
//!   source checked first, a new destination built beside it, a failed write undone).
//! - [`Error`] and its [`Remedy`]: what went wrong, and which call fixes it;
//!   [`FileInfo::problems`] lists a file's [`Problem`]s the same way, and
//!   [`RaggedInfo::problems`] a ragged pair's [`RaggedProblem`]s.
//! - [`repr`]: Python's `repr` of shapes, `str` and `bytes`, as headers and messages write
//!   them, for front ends that show values as Python does.
//! - Rules a front end asks instead of restating: [`Durability`]'s names (`FromStr`),
//!   [`parse_byte_count`], [`MAX_DIMS`] and [`check_ndim`], [`check_block`] (a block's
//!   checks and length), [`Header::item_shape`] and [`Order::block_shape`].
//!
//! # Words
//! One word for each meaning, in this crate, the C header, the Python package, the CLI's
//! output and the README:
//! - **element**: one value of the dtype. [`Header::num_elements`] counts them (NumPy's
//!   `size`). NumPy's own names keep their words: `itemsize`
//!   ([`Dtype::itemsize`]) is the size in bytes of one element, as in NumPy.
//! - **item**: one step along the growth axis: a row of a C-order 2-D array, a column of a
//!   Fortran-order one, a value of a 1-D one. Its shape is [`Header::item_shape`], its size in
//!   bytes [`Header::item_len`]. Every length along the growth axis is a count of items:
//!   [`Header::growth_len`], [`RecoverReport::items_after`], [`AppendFilesReport::items`],
//!   [`RaggedInfo::items`], [`RaggedRecoverReport::items`], [`Items::count`] (what a
//!   [`Reader`] maps). "Row" is only the word for an item where it is one, as in a 2-D
//!   example, and for NumPy's rows in `npaa show --rows` (the first axis, as NumPy prints it).
//! - **block**: what one append passes: items of one dtype and shape
//!   ([`AppendArray::append`], [`check_block`]).
//! - **record**: one block of a ragged pair, of any number of items
//!   ([`RaggedAppendArray`]); **entry**: one record end in its index.
//! - **step**: one round of a [`Collective`] append, in which every writer (MPI rank) appends
//!   its block; not a length.
//!
//! # Options
//! An operation with options has a plain call that uses the defaults and a `_with` call that
//! takes a builder: [`AppendArray::open`] / [`AppendArray::open_with`] ([`AppendOptions`]),
//! [`recover()`] / [`recover_with`] ([`RecoverOptions`]), [`ensure_appendable()`] /
//! [`ensure_appendable_with`] ([`EnsureOptions`]), [`AppendArray::append_npy_file`] /
//! [`AppendArray::append_npy_file_with`] ([`AppendFileOptions`]). Each builder starts from
//! `new()` (the defaults) and chains setters that take and return it; progress, where an
//! operation copies data, is one of the options (a closure called with bytes done and total).
//!
//! Reports ([`FileInfo`], [`RecoverReport`], [`EnsureReport`]) and the enums that may grow
//! ([`Dtype`], [`dtype::Kind`], [`EnsureMethod`], [`Durability`], [`Casting`], [`Version`],
//! [`Error`]) are `#[non_exhaustive]`: match them with a `_` arm.
//!
//! # Features
//! - `f16`: `half::f16` elements and value casts to and from `<f2`.
//! - `complex`: `num_complex::Complex<f32>` and `Complex<f64>` elements.
//! - `ndarray`: [`AppendArray::append_array`] for any `ndarray` array or view.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod appender;
pub mod cast;
mod casting;
mod concat;
pub mod dtype;
mod element;
mod ensure;
mod error;
mod file;
mod fmt;
pub mod header;
mod inspect;
mod layout;
mod literal;
mod progress;
pub mod ragged;
mod reader;
mod recover;
pub mod repr;
mod sys;

pub use appender::{
    AppendArray, AppendFileOptions, AppendOptions, Collective, Durability, RegionTarget,
    RegionWrite, Savepoint, check_block, parse_byte_count,
};
pub use cast::{Casting, can_cast};
pub use concat::{AppendFilesOptions, AppendFilesReport, append_files};
pub use dtype::Dtype;
pub use element::Element;
pub use ensure::{
    EnsureMethod, EnsureOptions, EnsureReport, ensure_appendable, ensure_appendable_with,
};
pub use error::{CollectiveError, Error, FormatError, RegionError, Remedy, Result};
pub use header::{Header, Version};
pub use inspect::{FileInfo, Problem, inspect, inspect_source, is_appendable, needs_recovery};
pub use layout::{MAX_DIMS, Order, Relayout, check_ndim, relayout, same_bytes_in_both_orders};
pub use ragged::{
    INDEX_SUFFIX, RaggedAppendArray, RaggedInfo, RaggedProblem, RaggedReader, RaggedRecoverReport,
    RaggedView, index_dtype, index_from_lengths, index_path, inspect_ragged, read_lengths,
    recover_ragged,
};
pub use reader::{Follow, Items, Reader};
pub use recover::{RecoverOptions, RecoverReport, recover, recover_with};
