//! The .npy header codec: reading every header NumPy accepts, writing headers byte-identical to
//! `np.save` (NumPy >= 1.24), and rewriting a header in place at its existing size.
//!
//! # Where things are
//! - this file: the header model ([`Header`], [`Version`], the format's constants);
//! - `read.rs`: reading and validating a header (a fast path for `np.save`'s own texts, the
//!   Python-literal parser for the rest);
//! - `write.rs`: writing one, byte-identical to `np.save`, and `Template`, the header text
//!   without its growth digits, for rewriting a header in place.

mod read;
mod write;

pub(crate) use read::{ReadError, read_header};
pub(crate) use write::Template;

use crate::dtype::Dtype;
use crate::error::{FormatError, Result};
use crate::layout::{Order, check_ndim};

#[cfg(doc)]
use crate::{Error, MAX_DIMS};

/// The magic string every .npy file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// `np.save` pads the header so that the data starts at a multiple of this.
pub const ARRAY_ALIGN: usize = 64;

/// Digits reserved for the growth dimension (`len(str(8 * 2**64 - 1))`), as NumPy does.
pub const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// NumPy (>= 1.24) refuses to read headers longer than this many characters unless asked to.
pub const NUMPY_MAX_HEADER_SIZE: usize = 10_000;

/// The largest header npaa reads (a hostile length field must not make it allocate gigabytes).
pub const MAX_HEADER_LEN: u64 = 16 << 20;

/// A .npy format version.
///
/// Non-exhaustive: a later NumPy may define another version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Version {
    /// 1.0: `u16` length field, latin1 text.
    V1,
    /// 2.0: `u32` length field, latin1 text.
    V2,
    /// 3.0: `u32` length field, UTF-8 text.
    V3,
}

impl Version {
    /// Bytes before the header text: magic, two version bytes, the length field.
    pub fn prefix_len(self) -> usize {
        match self {
            Version::V1 => 10,
            Version::V2 | Version::V3 => 12,
        }
    }

    /// `(major, minor)`.
    pub fn numbers(self) -> (u8, u8) {
        match self {
            Version::V1 => (1, 0),
            Version::V2 => (2, 0),
            Version::V3 => (3, 0),
        }
    }

    fn max_text_len(self) -> u64 {
        match self {
            Version::V1 => u64::from(u16::MAX),
            Version::V2 | Version::V3 => u64::from(u32::MAX),
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (major, minor) = self.numbers();
        write!(f, "{major}.{minor}")
    }
}

/// The array description a header carries: dtype, memory order and shape.
///
/// Built by [`Header::new`] (any header a file may hold) or [`Header::for_new_file`] (the
/// header a new file gets for its first block), read through accessors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub(crate) dtype: Dtype,
    pub(crate) order: Order,
    pub(crate) shape: Vec<u64>,
}

/// A header as found in a file: what [`Header::read`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParsedHeader {
    /// What the header says.
    pub header: Header,
    /// The format version.
    pub version: Version,
    /// Total header size in bytes, magic included: the offset where the data starts.
    pub header_len: u64,
    /// Length in bytes of the dict text (without the padding and the final newline).
    pub text_len: u64,
    /// True when the growth dimension was a `****` placeholder of an unfinished streaming
    /// writer (npyz, npy); the shape then holds 0 there. [`Header::read`] refuses such
    /// headers, as NumPy does; [`inspect`](crate::inspect()) reports them with this set.
    pub placeholder: bool,
}

impl Header {
    /// A header for an array of `dtype` and `shape`, stored in `order`.
    ///
    /// # Errors
    /// [`Error::TooManyDimensions`] for a shape of more than [`MAX_DIMS`] dimensions, which
    /// NumPy cannot load.
    pub fn new(dtype: Dtype, order: Order, shape: Vec<u64>) -> Result<Header> {
        check_ndim(shape.len())?;
        Ok(Header {
            dtype,
            order,
            shape,
        })
    }

    /// The header of a new file for blocks of `dtype` and `block_shape` laid out in `order`:
    /// the growth dimension 0, and the order as `np.save` writes it (Fortran order only
    /// for more than one dimension: a 1-D array is C order too).
    ///
    /// # Errors
    /// [`Error::TooManyDimensions`], as for [`Header::new`].
    pub fn for_new_file(dtype: Dtype, order: Order, block_shape: &[u64]) -> Result<Header> {
        let order = if block_shape.len() > 1 {
            order
        } else {
            Order::C
        };
        let mut header = Header::new(dtype, order, block_shape.to_vec())?;
        if let Some(axis) = header.growth_axis() {
            header.shape[axis] = 0;
        }
        Ok(header)
    }

    /// The element type.
    pub fn dtype(&self) -> &Dtype {
        &self.dtype
    }

    /// The memory order (the header's `fortran_order` flag).
    pub fn order(&self) -> Order {
        self.order
    }

    /// The array's shape.
    pub fn shape(&self) -> &[u64] {
        &self.shape
    }

    /// The axis the array grows along: 0 for C order, the last for Fortran order; `None` for a
    /// 0-d array.
    pub fn growth_axis(&self) -> Option<usize> {
        self.order.growth_axis(self.shape.len())
    }

    /// The shape of one item along the growth axis: the shape without its growth dimension
    /// (`(3, 4)` for a C-order `(n, 3, 4)` array or a Fortran-order `(3, 4, n)` one; `()` for
    /// a 1-D or a 0-d array). [`Order::block_shape`] is its inverse.
    pub fn item_shape(&self) -> Vec<u64> {
        self.order.item_shape(&self.shape)
    }

    /// Number of elements (the product of the shape), or `None` on overflow. (An *item* is
    /// one step along the growth axis: see [`item_shape`](Self::item_shape).)
    pub fn num_elements(&self) -> Option<u64> {
        self.shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
    }

    /// Data bytes the shape needs.
    pub fn data_len(&self) -> std::result::Result<u64, FormatError> {
        self.num_elements()
            .and_then(|n| n.checked_mul(self.dtype.itemsize() as u64))
            .ok_or_else(|| FormatError::Overflow {
                shape: self.shape.clone(),
                itemsize: self.dtype.itemsize(),
            })
    }

    /// Bytes of one item, one step along the growth axis (itemsize × the other dimensions);
    /// `None` for 0-d arrays or on overflow.
    pub fn item_len(&self) -> Option<u64> {
        let axis = self.growth_axis()?;
        self.shape
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != axis)
            .try_fold(self.dtype.itemsize() as u64, |acc, (_, &d)| {
                acc.checked_mul(d)
            })
    }

    /// The growth dimension's current value (0 for a 0-d array).
    pub fn growth_len(&self) -> u64 {
        self.growth_axis().map_or(0, |a| self.shape[a])
    }
}

/// How strictly [`read_header`] treats placeholder shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Leniency {
    /// As NumPy: a placeholder shape is an error.
    Strict,
    /// Accept a `****` placeholder for the growth dimension (for recover and inspect).
    AllowPlaceholder,
}

/// Helpers shared by the unit tests of the header modules.
#[cfg(test)]
mod testing {
    use super::*;

    pub(super) fn h(descr: &str, fortran_order: bool, shape: &[u64]) -> Header {
        Header {
            dtype: Dtype::parse(descr).unwrap(),
            order: Order::from_fortran(fortran_order),
            shape: shape.to_vec(),
        }
    }

    pub(super) fn read(bytes: &[u8]) -> Result<ParsedHeader, FormatError> {
        match read_header(&mut &bytes[..], bytes.len() as u64, Leniency::Strict) {
            Ok((p, _)) => Ok(p),
            Err(ReadError::Format(e)) => Err(e),
            Err(ReadError::Io(e)) => panic!("io: {e}"),
        }
    }
}
