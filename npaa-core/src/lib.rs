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
//! assert_eq!(info.header.shape, vec![10, 3]);
//! assert!(info.appendable && !info.needs_recovery);
//!
//! // A file cut short (a crash, a broken download) is repaired in constant time.
//! let file = std::fs::OpenOptions::new().write(true).open(&path)?;
//! file.set_len(info.header_len + 8 * 3 * 7 + 5)?;
//! let report = recover(&path, false)?;
//! assert_eq!((report.items_after, report.bytes_cut), (7, 5));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Modules
//! - [`header`]: reading and writing headers ([`header::Header`], versions 1.0 to 3.0).
//! - [`dtype`]: the dtype model ([`Dtype`]), every fixed-size dtype NumPy writes.
//! - [`AppendArray`]: the appender; [`AppendOptions`] configures it.
//! - [`Collective`]: many writers (MPI ranks) appending to one file in steps.
//! - [`recover()`], [`ensure_appendable()`], [`inspect()`]: repair, conversion, inspection.
//!
//! # Features
//! - `f16`: `half::f16` elements and value casts to and from `<f2`.
//! - `complex`: `num_complex::Complex<f32>` and `Complex<f64>` elements.
//! - `ndarray`: [`AppendArray::append_array`] for any `ndarray` array or view.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod appender;
pub mod cast;
pub mod dtype;
mod element;
mod ensure;
mod error;
pub mod header;
mod inspect;
mod literal;
mod recover;
mod sys;

pub use appender::{AppendArray, AppendOptions, Collective, Durability, Order, Savepoint};
pub use cast::{Casting, can_cast};
pub use dtype::Dtype;
pub use element::Element;
pub use ensure::{EnsureMethod, EnsureReport, ensure_appendable, ensure_appendable_with_progress};
pub use error::{Error, FormatError, Result, fmt_shape};
pub use header::{Header, Version};
pub use inspect::{FileInfo, inspect, is_appendable, needs_recovery};
pub use recover::{RecoverOptions, RecoverReport, recover, recover_with};
