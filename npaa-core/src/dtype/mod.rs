//! The dtype model: every fixed-size dtype NumPy writes, parsed from and rendered to the `descr`
//! of a .npy header exactly as NumPy does (`dtype_to_descr` / `descr_to_dtype`).
//!
//! The parts of a dtype ([`Scalar`], [`TimeUnit`], [`Field`], [`Record`], [`Subarray`]) are
//! read through accessor methods and built through constructors that check what NumPy checks,
//! so that every value renders to a descr NumPy reads back as the same dtype (the same bytes
//! as `np.save` writes):
//!
//! ```
//! use npaa_core::Dtype;
//! use npaa_core::dtype::{ByteOrder, Field, Kind, Record, Scalar};
//!
//! let f8 = Dtype::Scalar(Scalar::new(Kind::Float, 8, ByteOrder::Little)?);
//! let i4 = Dtype::Scalar(Scalar::new(Kind::Int, 4, ByteOrder::Little)?);
//! let record = Record::new(
//!     vec![
//!         Field::new("t", f8, vec![], 0)?,
//!         Field::new("pos", i4, vec![3], 8)?,
//!     ],
//!     24,
//! )?;
//! let dtype = Dtype::Record(record);
//! assert_eq!(dtype.descr(), "[('t', '<f8'), ('pos', '<i4', (3,)), ('', '|V4')]");
//! assert_eq!(Dtype::parse(&dtype.descr())?, dtype);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Where things are
//! - this file: the model (the types, and what they answer: item size, byte order, ...);
//! - `constructors.rs`: the validated constructors and accessors, and [`DtypeError`];
//! - `parse.rs`: reading a descr ([`Dtype::parse`], NumPy's `descr_to_dtype`);
//! - `render.rs`: writing one (`dtype.str`, the header's descr, [`Dtype::readable`]).

mod constructors;
mod parse;
mod render;

pub use constructors::DtypeError;

/// Byte order of a scalar dtype.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// `<`
    Little,
    /// `>`
    Big,
    /// `|`: single-byte types, strings and void, where order does not apply.
    NotApplicable,
}

/// A unit of `datetime64` / `timedelta64`, with its multiplier (`<M8[25s]`).
///
/// Built by [`TimeUnit::new`] or [`TimeUnit::generic`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TimeUnit {
    /// `None` for the generic unit.
    pub(crate) unit: Option<DatetimeUnit>,
    /// The multiplier.
    pub(crate) count: u64,
}

/// The kind of a scalar dtype (the letter of its typestr).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// `b`: bool (size 1).
    Bool,
    /// `i`: signed integer.
    Int,
    /// `u`: unsigned integer.
    Uint,
    /// `f`: floating point (2, 4, 8, or 16 = long double kept as raw bytes).
    Float,
    /// `c`: complex (8, 16, or 32 = complex long double kept as raw bytes).
    Complex,
    /// `S`: fixed-length bytes.
    Bytes,
    /// `U`: fixed-length UCS-4 string (size counts bytes: 4 per character).
    Unicode,
    /// `V`: raw void bytes.
    Void,
    /// `M`: datetime64.
    Datetime(TimeUnit),
    /// `m`: timedelta64.
    Timedelta(TimeUnit),
    /// `O`: Python object (pickles): parsed, never appendable.
    Object,
}

/// A non-structured dtype: kind, item size in bytes, byte order.
///
/// Built by [`Scalar::new`] or [`Dtype::parse`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Scalar {
    /// What the bytes mean.
    pub(crate) kind: Kind,
    /// Item size in bytes (for `U`, 4 × the number of characters).
    pub(crate) size: usize,
    /// Byte order, normalised as NumPy's `dtype.str` does (see [`Scalar::new`]).
    pub(crate) order: ByteOrder,
}

/// One named field of a structured dtype.
///
/// Built by [`Field::new`] (and [`Field::with_title`]); a [`Record`] checks its fields against
/// each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    /// Field name.
    pub(crate) name: String,
    /// Optional title.
    pub(crate) title: Option<String>,
    /// Byte offset inside the record.
    pub(crate) offset: usize,
    /// The field's element dtype.
    pub(crate) dtype: Dtype,
    /// Subarray shape; empty for a plain field.
    pub(crate) shape: Vec<u64>,
}

/// A structured (record) dtype.
///
/// Built by [`Record::new`] or [`Dtype::parse`]: its fields are in offset order without
/// overlaps and inside the item, as NumPy needs to save it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    /// Named fields in offset order (padding entries are not fields: they show as gaps).
    pub(crate) fields: Vec<Field>,
    /// Total item size in bytes, trailing padding included.
    pub(crate) itemsize: usize,
}

/// A subarray type: `shape` elements of `base`, as `('<f8', (5,))` in a descr.
///
/// It appears only as the dtype of a record field that is itself a subarray of subarrays:
/// `[('c', ('<f8', (5,)), (2,))]` is a field of 2 subarrays of 5 `<f8` (NumPy keeps the
/// nesting, and so does npaa). A plain subarray field keeps its shape in [`Field::shape`].
///
/// Built by [`Subarray::new`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Subarray {
    /// The element type (a scalar, a record, or another subarray).
    pub(crate) base: Box<Dtype>,
    /// The subarray's shape; never empty (NumPy folds `(descr, ())` into `descr`).
    pub(crate) shape: Vec<u64>,
}

/// A NumPy dtype, as stored in a .npy header.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dtype {
    /// A scalar type such as `<f8`, `|S5` or `<M8[ns]`.
    Scalar(Scalar),
    /// A structured type such as `[('t', '<f8'), ('pos', '<f4', (3,))]`.
    Record(Record),
    /// A subarray, only as the dtype of a field (see [`Subarray`]): a header's top-level descr
    /// is never one.
    Subarray(Subarray),
}

/// The byte order of the machine, which NumPy calls native (`=`).
const NATIVE: ByteOrder = if cfg!(target_endian = "little") {
    ByteOrder::Little
} else {
    ByteOrder::Big
};

/// The largest item size NumPy accepts (it must fit a C `int`).
const MAX_ITEMSIZE: u64 = i32::MAX as u64;

/// A base unit of `datetime64` / `timedelta64` (NumPy's `NPY_DATETIMEUNIT`, without the
/// generic unit, which [`TimeUnit::unit`] gives as `None`). Ordered coarsest first, as NumPy
/// orders them; [`FromStr`](std::str::FromStr) and [`Display`](std::fmt::Display) use
/// NumPy's abbreviations (`Y`, `M`, `W`, `D`, `h`, `m`, `s`, `ms`, `us`, `ns`, `ps`, `fs`,
/// `as`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DatetimeUnit {
    /// `Y`
    Years,
    /// `M`
    Months,
    /// `W`
    Weeks,
    /// `D`
    Days,
    /// `h`
    Hours,
    /// `m`
    Minutes,
    /// `s`
    Seconds,
    /// `ms`
    Milliseconds,
    /// `us`
    Microseconds,
    /// `ns`
    Nanoseconds,
    /// `ps`
    Picoseconds,
    /// `fs`
    Femtoseconds,
    /// `as`
    Attoseconds,
}

impl DatetimeUnit {
    /// Every unit, coarsest first.
    pub const ALL: [DatetimeUnit; 13] = [
        DatetimeUnit::Years,
        DatetimeUnit::Months,
        DatetimeUnit::Weeks,
        DatetimeUnit::Days,
        DatetimeUnit::Hours,
        DatetimeUnit::Minutes,
        DatetimeUnit::Seconds,
        DatetimeUnit::Milliseconds,
        DatetimeUnit::Microseconds,
        DatetimeUnit::Nanoseconds,
        DatetimeUnit::Picoseconds,
        DatetimeUnit::Femtoseconds,
        DatetimeUnit::Attoseconds,
    ];

    /// NumPy's abbreviation: `"Y"`, ..., `"as"`.
    pub fn abbreviation(self) -> &'static str {
        match self {
            DatetimeUnit::Years => "Y",
            DatetimeUnit::Months => "M",
            DatetimeUnit::Weeks => "W",
            DatetimeUnit::Days => "D",
            DatetimeUnit::Hours => "h",
            DatetimeUnit::Minutes => "m",
            DatetimeUnit::Seconds => "s",
            DatetimeUnit::Milliseconds => "ms",
            DatetimeUnit::Microseconds => "us",
            DatetimeUnit::Nanoseconds => "ns",
            DatetimeUnit::Picoseconds => "ps",
            DatetimeUnit::Femtoseconds => "fs",
            DatetimeUnit::Attoseconds => "as",
        }
    }

    /// The unit's rank, coarsest first (0 = years).
    pub(crate) fn rank(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for DatetimeUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.abbreviation())
    }
}

impl std::str::FromStr for DatetimeUnit {
    type Err = DtypeError;

    /// Parses NumPy's abbreviations (`"s"`, `"us"`; also `"\u{3bc}s"` for microseconds, as
    /// NumPy accepts).
    ///
    /// # Errors
    /// [`DtypeError::UnknownTimeUnit`] for any other text.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = if s == "\u{3bc}s" { "us" } else { s };
        DatetimeUnit::ALL
            .into_iter()
            .find(|u| u.abbreviation() == s)
            .ok_or_else(|| DtypeError::UnknownTimeUnit(s.to_owned()))
    }
}

impl Dtype {
    /// Item size in bytes (for a record, trailing padding included).
    pub fn itemsize(&self) -> usize {
        match self {
            Dtype::Scalar(s) => s.size,
            Dtype::Record(r) => r.itemsize,
            Dtype::Subarray(a) => a.base.itemsize().saturating_mul(count(&a.shape)),
        }
    }

    /// True if the dtype is `O` (Python objects) or a record with an `O` part.
    pub fn has_object(&self) -> bool {
        match self {
            Dtype::Scalar(s) => s.kind == Kind::Object,
            Dtype::Record(r) => r.fields.iter().any(|f| f.dtype.has_object()),
            Dtype::Subarray(a) => a.base.has_object(),
        }
    }
}

impl Scalar {
    /// The byte order as NumPy normalises it: `NotApplicable` for bool, single-byte
    /// integers, `S`, `V` and `O`; little or big (native when none was given) otherwise.
    pub(crate) fn effective_order(&self) -> ByteOrder {
        if !self.has_byte_order() {
            ByteOrder::NotApplicable
        } else if self.order == ByteOrder::NotApplicable {
            NATIVE
        } else {
            self.order
        }
    }

    /// Whether byte order matters for this type.
    fn has_byte_order(&self) -> bool {
        match self.kind {
            Kind::Bool | Kind::Bytes | Kind::Void | Kind::Object => false,
            Kind::Int | Kind::Uint => self.size > 1,
            Kind::Float
            | Kind::Complex
            | Kind::Unicode
            | Kind::Datetime(_)
            | Kind::Timedelta(_) => true,
        }
    }
}

impl TimeUnit {
    /// The unit's rank, coarsest first (0 = years); `None` for the generic unit.
    pub(crate) fn rank(&self) -> Option<usize> {
        self.unit.map(DatetimeUnit::rank)
    }
}

impl Field {
    /// Bytes the field occupies: the element size times the subarray's element count
    /// (saturating, for hand-built fields; parsed fields are checked).
    pub(crate) fn size(&self) -> usize {
        self.shape.iter().fold(self.dtype.itemsize(), |acc, &d| {
            acc.saturating_mul(usize::try_from(d).unwrap_or(usize::MAX))
        })
    }

    /// Number of elements in the subarray (1 for a plain field), saturating.
    pub(crate) fn count(&self) -> usize {
        count(&self.shape)
    }
}

/// Number of elements of a subarray shape (1 for `()`), saturating.
pub(crate) fn count(shape: &[u64]) -> usize {
    shape.iter().fold(1usize, |acc, &d| {
        acc.saturating_mul(usize::try_from(d).unwrap_or(usize::MAX))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_object_looks_inside_records() {
        assert!(Dtype::parse("O").unwrap().has_object());
        assert!(
            Dtype::parse("[('a', '<i4'), ('b', [('c', '|O')], (2,))]")
                .unwrap()
                .has_object()
        );
        assert!(
            !Dtype::parse("[('a', '<i4'), ('b', 'S3')]")
                .unwrap()
                .has_object()
        );
        assert!(!Dtype::parse("<f8").unwrap().has_object());
    }
}
