//! Validation of a block before anything is written: what can be checked without the file
//! ([`check_block`]), and against it ([`BlockTarget`]), giving the [`Prepared`] plan.

use std::path::Path;

use crate::cast::{CastPlan, Casting};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::header::Header;
use crate::layout::check_ndim;

/// Checks what can be checked about a block of `dtype` and `shape` without the file, as every
/// append does first, and returns its length in bytes: a front end that reads blocks itself
/// (raw bytes from a pipe) learns the length of an item from a block of one.
///
/// # Errors
/// [`Error::ObjectDtype`], [`Error::ZeroDimensional`], [`Error::TooManyDimensions`],
/// [`Error::InvalidDtype`] for a top-level subarray dtype, [`Error::Overflow`].
pub fn check_block(dtype: &Dtype, shape: &[u64]) -> Result<u64> {
    if dtype.has_object() {
        return Err(Error::ObjectDtype {
            descr: dtype.descr(),
            path: None,
        });
    }
    if shape.is_empty() {
        return Err(Error::ZeroDimensional);
    }
    check_ndim(shape.len())?;
    if let Dtype::Subarray(a) = dtype {
        // NumPy folds a top-level subarray into the array's shape: a header saying
        // `('<f8', (5,))` would be read as another array.
        return Err(Error::InvalidDtype {
            descr: dtype.descr(),
            reason: format!(
                "a subarray is only valid as a field's dtype; append its base {} with the \
                 subarray's shape {} as the block's last dimensions",
                a.base.descr(),
                crate::fmt::fmt_shape(&a.shape)
            ),
        });
    }
    block_len(dtype, shape)
}

/// Checks a raw block ([`check_block`]) and that `data` holds exactly its bytes.
pub(super) fn check_data_len(dtype: &Dtype, shape: &[u64], data: &[u8]) -> Result<()> {
    let expected = check_block(dtype, shape)?;
    if data.len() as u64 != expected {
        return Err(Error::DataLength {
            shape: shape.to_vec(),
            itemsize: dtype.itemsize(),
            expected,
            got: data.len() as u64,
        });
    }
    Ok(())
}

/// Bytes of a block: itemsize × product(shape), checked.
pub(super) fn block_len(dtype: &Dtype, shape: &[u64]) -> Result<u64> {
    shape
        .iter()
        .try_fold(dtype.itemsize() as u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::Overflow {
            shape: shape.to_vec(),
            itemsize: dtype.itemsize(),
        })
}

/// What a block is validated against: the file's header and what is appended but not
/// counted in it yet.
pub(super) struct BlockTarget<'a> {
    /// The file's path, for errors.
    pub(super) path: &'a Path,
    pub(super) header: &'a Header,
    /// The growth axis of `header`.
    pub(super) axis: usize,
    pub(super) header_len: u64,
    /// Rows appended past the header's count (buffered ones).
    pub(super) pending_rows: u64,
}

impl BlockTarget<'_> {
    /// Validates a block of `dtype` and `shape` against the file and derives its conversion
    /// (reusing `cached`, the last one, when the block's dtype is the same).
    pub(super) fn prepare(
        &self,
        cached: Option<Box<(Dtype, CastPlan)>>,
        dtype: &Dtype,
        shape: &[u64],
        casting: Casting,
    ) -> Result<Prepared> {
        let file_shape = &self.header.shape;
        if shape.len() != file_shape.len() {
            return Err(Error::ShapeMismatch {
                path: self.path.to_path_buf(),
                file: file_shape.clone(),
                block: shape.to_vec(),
                reason: "the number of dimensions differs",
            });
        }
        let others_match = shape
            .iter()
            .zip(file_shape)
            .enumerate()
            .all(|(i, (a, b))| i == self.axis || a == b);
        if !others_match {
            return Err(Error::ShapeMismatch {
                path: self.path.to_path_buf(),
                file: file_shape.clone(),
                block: shape.to_vec(),
                reason: if self.header.order == crate::layout::Order::Fortran {
                    "all dimensions but the last (the growth axis of a Fortran-order file) must match"
                } else {
                    "all dimensions but the first (the growth axis of a C-order file) must match"
                },
            });
        }
        // `casting` and the file's dtype are fixed for the life of the handle, so the plan
        // depends on the block's dtype only.
        let cast = match cached {
            Some(cached) if cached.0 == *dtype => cached,
            _ => Box::new((
                dtype.clone(),
                CastPlan::new(dtype, &self.header.dtype, casting)
                    .map_err(|e| e.in_file(self.path))?,
            )),
        };
        let items = shape.iter().product::<u64>();
        let overflow = || Error::Overflow {
            shape: shape.to_vec(),
            itemsize: self.header.dtype.itemsize(),
        };
        let dst_len = items
            .checked_mul(cast.1.dst_itemsize() as u64)
            .ok_or_else(overflow)?;
        let grown = self.header.shape[self.axis]
            .checked_add(self.pending_rows)
            .and_then(|g| g.checked_add(shape[self.axis]))
            .ok_or_else(overflow)?;
        self.header
            .shape
            .iter()
            .enumerate()
            .try_fold(self.header.dtype.itemsize() as u64, |acc, (i, &d)| {
                acc.checked_mul(if i == self.axis { grown } else { d })
            })
            .and_then(|n| n.checked_add(self.header_len))
            .ok_or_else(overflow)?;
        Ok(Prepared { cast, dst_len })
    }
}

/// A block validated against the file: the conversion to apply and the bytes it will write.
pub(super) struct Prepared {
    /// The block's dtype and the conversion to the file's, kept for [`OpenFile::last_cast`].
    pub(super) cast: Box<(Dtype, CastPlan)>,
    pub(super) dst_len: u64,
}
