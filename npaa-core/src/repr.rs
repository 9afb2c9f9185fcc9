//! Python's `repr` of the values a .npy header holds: shapes as Python prints tuples
//! ([`fmt_shape`]), and `str` and `bytes` ([`repr_str`], [`repr_bytes`]).
//!
//! The headers, the dtypes' descrs and the error messages are written with these; they are
//! public so that a front end that shows values as Python does (the CLI's `npaa show`, a
//! binding's messages) uses the same rules instead of a copy.

pub use crate::fmt::{fmt_shape, repr_bytes, repr_str};
