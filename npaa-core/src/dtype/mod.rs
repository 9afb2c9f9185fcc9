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

use std::collections::HashSet;
use std::fmt::Write as _;

use crate::error::{Error, FormatError, fmt_shape};
use crate::header::{digits, push_decimal};
use crate::literal::{self, Value, write_repr_str};

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
    /// `None` for the generic unit; otherwise one of [`TIME_UNITS`].
    pub(crate) unit: Option<String>,
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

/// The most dimensions a subarray shape may have (NumPy's `NPY_MAXDIMS`).
const MAX_SUBARRAY_DIMS: usize = 64;

/// The datetime units NumPy knows, coarsest first.
pub const TIME_UNITS: [&str; 13] = [
    "Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as",
];

/// Why the parts given to a dtype constructor ([`Scalar::new`], [`TimeUnit::new`],
/// [`Field::new`], [`Record::new`], [`Subarray::new`]) do not make a dtype NumPy can save.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DtypeError {
    /// The kind does not come in this size (`i3`, `f5`, `U` of 6 bytes, `M8` of 4 bytes).
    #[error("NumPy has no {kind} type of {size} bytes (sizes: {allowed})")]
    InvalidSize {
        /// The kind, as its typestr letter (`i`, `f`, `U`, ...).
        kind: char,
        /// The size asked for, in bytes.
        size: usize,
        /// The sizes that exist.
        allowed: &'static str,
    },
    /// More bytes than NumPy allows in one item (a C `int`).
    #[error("it is larger than {MAX_ITEMSIZE} bytes")]
    TooLarge,
    /// A datetime unit NumPy does not know.
    #[error("unknown datetime unit {0:?} (one of Y M W D h m s ms us ns ps fs as)")]
    UnknownTimeUnit(String),
    /// A subarray of shape `()`: NumPy folds it into its base dtype.
    #[error("a subarray needs a non-empty shape: a subarray of shape () is its base dtype")]
    EmptySubarrayShape,
    /// A subarray shape with more dimensions than NumPy allows (`NPY_MAXDIMS`).
    #[error("subarray shape {} has more than {MAX_SUBARRAY_DIMS} dimensions", fmt_shape(.0))]
    TooManyDimensions(Vec<u64>),
    /// A subarray of a zero-size `S`, `U` or `V` type, which NumPy refuses.
    #[error("a subarray of a zero-size {0} type is invalid")]
    ZeroSizeSubarray(String),
    /// Two fields with the same name, or a name equal to a title.
    #[error("field name {} is used twice (as a name or a title)", repr(.0))]
    DuplicateName(String),
    /// A title already used as a name or a title.
    #[error("field title {} is already used as a name or a title", repr(.0))]
    DuplicateTitle(String),
    /// A field that starts before the previous one ends: NumPy's `dtype.descr`, and so
    /// `np.save`, refuses records with overlapping or out-of-order fields.
    #[error(
        "field {} at offset {offset} starts before the field before it ends (at {previous_end}): \
         NumPy saves only records whose fields are in offset order without overlaps",
        repr(.name)
    )]
    Overlap {
        /// The field.
        name: String,
        /// Its offset.
        offset: usize,
        /// Where the field before it ends.
        previous_end: usize,
    },
    /// A field that ends past the record's item size.
    #[error("field {} ends at byte {end}, past the record's item size {itemsize}", repr(.name))]
    PastItemsize {
        /// The field.
        name: String,
        /// Where it ends.
        end: usize,
        /// The record's item size.
        itemsize: usize,
    },
    /// A field named `''` whose type is plain void or a subarray: a descr says padding that
    /// way, so it would not read back as a field.
    #[error("a field named '' of type {0} reads back as padding, not as a field: name it")]
    UnnamedPadding(String),
}

/// `text` as Python's `repr` writes it.
fn repr(text: &str) -> String {
    let mut out = String::new();
    write_repr_str(text, &mut out);
    out
}

impl Dtype {
    /// Parses a dtype the user wrote.
    ///
    /// Accepted forms:
    /// - a NumPy typestr: `"<f8"`, `"|u1"`, `"i4"`, `"=i2"`, `">M8[ns]"`, `"<m8[25s]"`, `"M8"`,
    ///   `"S5"`, `"|V7"`, `"<U10"`, `"b1"`, `"?"`, `"O"`, and NumPy's one-letter codes
    ///   (`"d"`, `"f"`, `"B"`, ...); no prefix, `=` or `|` mean native byte order, as in NumPy;
    /// - a NumPy type name: `"float64"`, `"int32"`, `"uint8"`, `"bool"`, `"complex128"`,
    ///   `"float16"`, `"float"`, `"int"`, `"double"`, `"datetime64[ns]"`, ...;
    /// - a structured descr written as a Python list literal:
    ///   `"[('t', '<f8'), ('pos', '<f4', (3,))]"`.
    ///
    /// Surrounding whitespace is ignored. Not accepted (unlike NumPy): comma-separated
    /// strings such as `"f8,i4"`, the platform-dependent long double codes `g`, `G`,
    /// `longdouble` and `clongdouble` (write `f16` / `c32`), and datetime forms such as
    /// `M8[s/4]`.
    ///
    /// # Errors
    /// [`Error::InvalidDtype`] saying why the text was refused.
    pub fn parse(descr: &str) -> Result<Dtype, Error> {
        let invalid = |reason: String| Error::InvalidDtype {
            descr: descr.to_owned(),
            reason,
        };
        let text = descr.trim();
        if text.starts_with(['[', '(', '\'', '"']) {
            let value = literal::parse(text, false).map_err(|e| invalid(e.to_string()))?;
            dtype_from_value(&value, 0).map_err(invalid)
        } else {
            parse_scalar(text).map(Dtype::Scalar).map_err(invalid)
        }
    }

    /// Builds the dtype from the `descr` value of a header dict, following NumPy's
    /// `descr_to_dtype`: a string is a scalar dtype, a list is a structured dtype whose
    /// offsets accumulate in order and whose `('', '|Vn')` entries are padding.
    ///
    /// # Errors
    /// [`FormatError::BadDescr`] with the descr's repr and the reason. A top-level tuple
    /// (subarray) descr is refused: NumPy never writes one in a header.
    pub(crate) fn from_value(v: &Value) -> Result<Dtype, FormatError> {
        dtype_from_value(v, 0).map_err(|reason| FormatError::BadDescr {
            descr: v.repr(),
            reason,
        })
    }

    /// The dtype a header's descr stands for when it is a string (`'<f8'`, also `'f8'` or
    /// `'float64'`), as [`Dtype::from_value`] reads it; `Err` holds the reason it is refused.
    pub(crate) fn from_scalar_descr(descr: &str) -> Result<Dtype, String> {
        parse_scalar(descr).map(Dtype::Scalar)
    }

    /// Appends the Python repr NumPy writes for this dtype in a header (`dtype_to_descr`
    /// followed by `repr`): `'<f8'` (quoted) for a scalar, a list such as
    /// `[('a', '<i4'), ('', '|V4'), ('b', '<f8', (2, 3))]` for a record, with `('', '|Vn')`
    /// entries for gaps and trailing padding.
    pub fn write_header_repr(&self, out: &mut String) {
        match self {
            Dtype::Scalar(s) => {
                // A typestr is printable ASCII without quotes or backslashes (time units are
                // among TIME_UNITS), which `repr` only quotes: write it in place.
                out.push('\'');
                s.write_typestr(out);
                out.push('\'');
            }
            Dtype::Record(r) => r.write_repr(out),
            Dtype::Subarray(a) => {
                out.push('(');
                a.base.write_header_repr(out);
                out.push_str(", ");
                out.push_str(&fmt_shape(&a.shape));
                out.push(')');
            }
        }
    }

    /// The descr as a user writes it: `<f8` (no quotes) for a scalar, the list literal for a
    /// record. [`Dtype::parse`] reads it back.
    pub fn descr(&self) -> String {
        match self {
            Dtype::Scalar(s) => s.typestr(),
            Dtype::Record(_) | Dtype::Subarray(_) => {
                let mut out = String::new();
                self.write_header_repr(&mut out);
                out
            }
        }
    }

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

    /// A readable name: `float64`, `int32 (big-endian)`, `bool`, `bytes (5)`,
    /// `str (10 chars)`, `datetime64[ns]`, `timedelta64[25s]`, `void (7 bytes)`,
    /// `long double (16 bytes)`, `struct { t: float64, pos: float32 (3,) }`.
    ///
    /// The byte order is mentioned only when it is not the machine's.
    pub fn readable(&self) -> String {
        match self {
            Dtype::Scalar(s) => s.readable(),
            Dtype::Record(r) => r.readable(),
            Dtype::Subarray(a) => format!("{} {}", a.base.readable(), fmt_shape(&a.shape)),
        }
    }
}

impl std::fmt::Display for Dtype {
    /// Writes [`Dtype::descr`].
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.descr())
    }
}

impl Scalar {
    /// A scalar dtype: `size` bytes of `kind` (for [`Kind::Unicode`], 4 bytes per character)
    /// in byte order `order`.
    ///
    /// The order is normalised as NumPy's `dtype.str` does, and [`order`](Self::order)
    /// returns it so: [`ByteOrder::NotApplicable`] for bool, one-byte integers, `S`, `V` and
    /// `O` whatever was asked; the machine's order when `NotApplicable` is asked for the
    /// others.
    ///
    /// # Errors
    /// [`DtypeError::InvalidSize`] for a size the kind does not come in (bool: 1; integers:
    /// 1, 2, 4, 8; floats: 2, 4, 8, 16; complex: 8, 16, 32; `U`: a multiple of 4; datetimes:
    /// 8; objects: the pointer size); [`DtypeError::TooLarge`] past 2147483647 bytes.
    pub fn new(kind: Kind, size: usize, order: ByteOrder) -> Result<Scalar, DtypeError> {
        let (code, fits, allowed) = match &kind {
            Kind::Bool => ('b', size == 1, "1"),
            Kind::Int => ('i', matches!(size, 1 | 2 | 4 | 8), "1, 2, 4, 8"),
            Kind::Uint => ('u', matches!(size, 1 | 2 | 4 | 8), "1, 2, 4, 8"),
            Kind::Float => ('f', matches!(size, 2 | 4 | 8 | 16), "2, 4, 8, 16"),
            Kind::Complex => ('c', matches!(size, 8 | 16 | 32), "8, 16, 32"),
            Kind::Bytes => ('S', true, "any"),
            Kind::Unicode => ('U', size.is_multiple_of(4), "a multiple of 4"),
            Kind::Void => ('V', true, "any"),
            Kind::Datetime(_) => ('M', size == 8, "8"),
            Kind::Timedelta(_) => ('m', size == 8, "8"),
            Kind::Object => ('O', size == size_of::<usize>(), "the size of a pointer"),
        };
        if !fits {
            return Err(DtypeError::InvalidSize {
                kind: code,
                size,
                allowed,
            });
        }
        if size as u64 > MAX_ITEMSIZE {
            return Err(DtypeError::TooLarge);
        }
        Ok(make(kind, size, order))
    }

    /// What the bytes mean.
    pub fn kind(&self) -> &Kind {
        &self.kind
    }

    /// Item size in bytes (for `U`, 4 × the number of characters).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Byte order, normalised as NumPy's `dtype.str` does (see [`Scalar::new`]).
    pub fn order(&self) -> ByteOrder {
        self.order
    }
}

impl TimeUnit {
    /// `count` times the unit `unit`, one of [`TIME_UNITS`] (`"s"` and 25 make `[25s]`).
    ///
    /// # Errors
    /// [`DtypeError::UnknownTimeUnit`] for another unit; [`DtypeError::TooLarge`] for a
    /// count past 2147483647.
    pub fn new(unit: &str, count: u64) -> Result<TimeUnit, DtypeError> {
        if !TIME_UNITS.contains(&unit) {
            return Err(DtypeError::UnknownTimeUnit(unit.to_owned()));
        }
        if count > MAX_ITEMSIZE {
            return Err(DtypeError::TooLarge);
        }
        Ok(TimeUnit {
            unit: Some(unit.to_owned()),
            count,
        })
    }

    /// The generic unit (`<M8`, `<m8`).
    pub fn generic() -> TimeUnit {
        TimeUnit {
            unit: None,
            count: 1,
        }
    }

    /// `None` for the generic unit; otherwise one of [`TIME_UNITS`].
    pub fn unit(&self) -> Option<&str> {
        self.unit.as_deref()
    }

    /// The multiplier (1 unless written, e.g. 25 in `[25s]`; 1 for the generic unit).
    pub fn count(&self) -> u64 {
        self.count
    }
}

impl Field {
    /// A field called `name` at byte `offset` of its record, holding `shape` elements of
    /// `dtype` (one when `shape` is empty). A [`Dtype::Subarray`] with an empty `shape` is
    /// unfolded into the field's shape, as NumPy does: the field's dtype is then the
    /// subarray's base.
    ///
    /// # Errors
    /// [`DtypeError::TooManyDimensions`] for more than 64 dimensions,
    /// [`DtypeError::ZeroSizeSubarray`] for a shaped field of a zero-size `S`, `U` or `V`
    /// type, [`DtypeError::TooLarge`] for a field past 2147483647 bytes.
    pub fn new(
        name: impl Into<String>,
        dtype: Dtype,
        shape: Vec<u64>,
        offset: usize,
    ) -> Result<Field, DtypeError> {
        let (dtype, shape) = match (dtype, shape.is_empty()) {
            (Dtype::Subarray(a), true) => (*a.base, a.shape),
            (dtype, _) => (dtype, shape),
        };
        subarray_size(&dtype, &shape)?;
        Ok(Field {
            name: name.into(),
            title: None,
            offset,
            dtype,
            shape,
        })
    }

    /// The field with a title (`(('title', 'name'), '<i4')` in a descr).
    pub fn with_title(mut self, title: impl Into<String>) -> Field {
        self.title = Some(title.into());
        self
    }

    /// Field name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The title, if the field has one.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// Byte offset inside the record.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The field's element dtype (a [`Dtype::Subarray`] only for a subarray of subarrays).
    pub fn dtype(&self) -> &Dtype {
        &self.dtype
    }

    /// Subarray shape; empty for a plain field.
    pub fn shape(&self) -> &[u64] {
        &self.shape
    }
}

impl Record {
    /// A record of `itemsize` bytes holding `fields`.
    ///
    /// NumPy's `np.dtype` accepts fields at any offsets, but `np.save` (`dtype.descr`)
    /// refuses records whose fields overlap or are out of offset order: so does this. Gaps
    /// between fields, and after the last one, become `('', '|Vn')` padding in the descr.
    ///
    /// # Errors
    /// [`DtypeError::Overlap`] for a field starting before the one before it ends (a
    /// zero-size field may share the offset where the one before it ends);
    /// [`DtypeError::PastItemsize`] for a field ending past `itemsize`;
    /// [`DtypeError::DuplicateName`] / [`DtypeError::DuplicateTitle`] for a name or title used
    /// twice (names and titles share one namespace, as in NumPy);
    /// [`DtypeError::UnnamedPadding`] for an untitled field named `''` of a plain void or
    /// subarray type (a descr says padding that way); [`DtypeError::TooLarge`] for an
    /// `itemsize` past 2147483647.
    pub fn new(fields: Vec<Field>, itemsize: usize) -> Result<Record, DtypeError> {
        if itemsize as u64 > MAX_ITEMSIZE {
            return Err(DtypeError::TooLarge);
        }
        let mut used: HashSet<&str> = HashSet::new();
        let mut end = 0usize;
        for field in &fields {
            if field.name.is_empty()
                && field.title.is_none()
                && is_padding(&field.dtype, &field.shape)
            {
                let mut entry = String::new();
                field.dtype.write_header_repr(&mut entry);
                return Err(DtypeError::UnnamedPadding(entry));
            }
            if !used.insert(&field.name) {
                return Err(DtypeError::DuplicateName(field.name.clone()));
            }
            if let Some(title) = &field.title
                && !used.insert(title)
            {
                return Err(DtypeError::DuplicateTitle(title.clone()));
            }
            if field.offset < end {
                return Err(DtypeError::Overlap {
                    name: field.name.clone(),
                    offset: field.offset,
                    previous_end: end,
                });
            }
            end = field.offset.saturating_add(field.size());
            if end > itemsize {
                return Err(DtypeError::PastItemsize {
                    name: field.name.clone(),
                    end,
                    itemsize,
                });
            }
        }
        Ok(Record { fields, itemsize })
    }

    /// Named fields in offset order (padding entries are not fields: they show as gaps).
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Total item size in bytes, trailing padding included.
    pub fn itemsize(&self) -> usize {
        self.itemsize
    }
}

impl Subarray {
    /// `shape` elements of `base`, as the dtype of a field of subarrays of subarrays (see
    /// [`Subarray`]).
    ///
    /// # Errors
    /// [`DtypeError::EmptySubarrayShape`] for shape `()`, and the errors of [`Field::new`]
    /// for the shape and the size.
    pub fn new(base: Dtype, shape: Vec<u64>) -> Result<Subarray, DtypeError> {
        if shape.is_empty() {
            return Err(DtypeError::EmptySubarrayShape);
        }
        subarray_size(&base, &shape)?;
        Ok(Subarray {
            base: Box::new(base),
            shape,
        })
    }

    /// The element type (a scalar, a record, or another subarray).
    pub fn base(&self) -> &Dtype {
        &self.base
    }

    /// The subarray's shape; never empty.
    pub fn shape(&self) -> &[u64] {
        &self.shape
    }
}

/// Whether an entry of this dtype and shape named `''` is padding in a descr, as NumPy's
/// `descr_to_dtype` decides: a plain void type or any subarray.
fn is_padding(dtype: &Dtype, shape: &[u64]) -> bool {
    !shape.is_empty()
        || matches!(
            dtype,
            Dtype::Subarray(_)
                | Dtype::Scalar(Scalar {
                    kind: Kind::Void,
                    ..
                })
        )
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

    /// NumPy's `dtype.str`: `<f8`, `|u1`, `<U10`, `>M8[25s]`.
    pub(crate) fn typestr(&self) -> String {
        let mut out = String::new();
        self.write_typestr(&mut out);
        out
    }

    /// Whether `text` is this type's [`typestr`](Self::typestr), compared without building it
    /// (the header reader's fast path asks on every open).
    pub(crate) fn is_typestr(&self, text: &str) -> bool {
        let (order, code, number) = self.typestr_head();
        let mut digits_buf = [0u8; 20];
        let digits = number.map_or(&b""[..], |n| digits(n as u64, &mut digits_buf));
        let Some(rest) = text
            .as_bytes()
            .strip_prefix(&[order as u8, code as u8][..])
            .and_then(|rest| rest.strip_prefix(digits))
        else {
            return false;
        };
        match &self.kind {
            Kind::Datetime(unit) | Kind::Timedelta(unit) => rest == unit.suffix().as_bytes(),
            _ => rest.is_empty(),
        }
    }

    /// Appends [`typestr`](Self::typestr) to `out`.
    fn write_typestr(&self, out: &mut String) {
        let (order, code, number) = self.typestr_head();
        out.push(order);
        out.push(code);
        if let Some(n) = number {
            push_decimal(out, n as u64);
        }
        if let Kind::Datetime(unit) | Kind::Timedelta(unit) = &self.kind {
            out.push_str(&unit.suffix());
        }
    }

    /// The typestr's byte-order character, type code and number (a size, or a length for
    /// `U`); a time unit follows them for datetimes and timedeltas.
    fn typestr_head(&self) -> (char, char, Option<usize>) {
        let order = match self.effective_order() {
            ByteOrder::Little => '<',
            ByteOrder::Big => '>',
            ByteOrder::NotApplicable => '|',
        };
        let size = self.size;
        let (code, number) = match &self.kind {
            Kind::Bool => ('b', Some(1)),
            Kind::Int => ('i', Some(size)),
            Kind::Uint => ('u', Some(size)),
            Kind::Float => ('f', Some(size)),
            Kind::Complex => ('c', Some(size)),
            Kind::Bytes => ('S', Some(size)),
            Kind::Unicode => ('U', Some(size / 4)),
            Kind::Void => ('V', Some(size)),
            Kind::Object => ('O', None),
            Kind::Datetime(_) => ('M', Some(8)),
            Kind::Timedelta(_) => ('m', Some(8)),
        };
        (order, code, number)
    }

    fn readable(&self) -> String {
        let size = self.size;
        let bits = size.saturating_mul(8);
        let (base, detail) = match &self.kind {
            Kind::Bool => ("bool".to_owned(), None),
            Kind::Int => (format!("int{bits}"), None),
            Kind::Uint => (format!("uint{bits}"), None),
            Kind::Float if matches!(size, 2 | 4 | 8) => (format!("float{bits}"), None),
            Kind::Float => ("long double".to_owned(), Some(format!("{size} bytes"))),
            Kind::Complex if matches!(size, 8 | 16) => (format!("complex{bits}"), None),
            Kind::Complex => (
                "complex long double".to_owned(),
                Some(format!("{size} bytes")),
            ),
            Kind::Bytes => ("bytes".to_owned(), Some(format!("{size}"))),
            Kind::Unicode => ("str".to_owned(), Some(format!("{} chars", size / 4))),
            Kind::Void => ("void".to_owned(), Some(format!("{size} bytes"))),
            Kind::Object => ("object".to_owned(), None),
            Kind::Datetime(u) => (format!("datetime64{}", u.suffix()), None),
            Kind::Timedelta(u) => (format!("timedelta64{}", u.suffix()), None),
        };
        let order = match self.effective_order() {
            o if o == NATIVE || o == ByteOrder::NotApplicable => None,
            ByteOrder::Big => Some("big-endian".to_owned()),
            _ => Some("little-endian".to_owned()),
        };
        let notes: Vec<String> = detail.into_iter().chain(order).collect();
        if notes.is_empty() {
            base
        } else {
            format!("{base} ({})", notes.join(", "))
        }
    }
}

impl TimeUnit {
    /// The bracketed suffix of a typestr: `""` (generic), `"[s]"`, `"[25s]"`.
    fn suffix(&self) -> String {
        match &self.unit {
            None => String::new(),
            Some(u) if self.count == 1 => format!("[{u}]"),
            Some(u) => format!("[{}{u}]", self.count),
        }
    }

    /// The unit's rank in [`TIME_UNITS`] (0 = years); `None` for generic or unknown units.
    pub(crate) fn rank(&self) -> Option<usize> {
        let unit = self.unit.as_deref()?;
        TIME_UNITS.iter().position(|u| *u == unit)
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

impl Record {
    fn write_repr(&self, out: &mut String) {
        fn sep(out: &mut String, first: &mut bool) {
            if !*first {
                out.push_str(", ");
            }
            *first = false;
        }
        out.push('[');
        let mut first = true;
        let mut offset = 0usize;
        for field in &self.fields {
            if field.offset > offset {
                sep(out, &mut first);
                let _ = write!(out, "('', '|V{}')", field.offset - offset);
                offset = field.offset;
            }
            sep(out, &mut first);
            out.push('(');
            match &field.title {
                Some(title) => {
                    out.push('(');
                    write_repr_str(title, out);
                    out.push_str(", ");
                    write_repr_str(&field.name, out);
                    out.push(')');
                }
                None => write_repr_str(&field.name, out),
            }
            out.push_str(", ");
            field.dtype.write_header_repr(out);
            if !field.shape.is_empty() {
                out.push_str(", ");
                out.push_str(&fmt_shape(&field.shape));
            }
            out.push(')');
            offset = offset.max(field.offset.saturating_add(field.size()));
        }
        if self.itemsize > offset {
            sep(out, &mut first);
            let _ = write!(out, "('', '|V{}')", self.itemsize - offset);
        }
        out.push(']');
    }

    fn readable(&self) -> String {
        let mut out = String::from("struct {");
        let mut packed = 0usize;
        for (i, field) in self.fields.iter().enumerate() {
            out.push_str(if i == 0 { " " } else { ", " });
            let simple = !field.name.is_empty()
                && field.name.chars().all(|c| c.is_alphanumeric() || c == '_');
            if simple {
                out.push_str(&field.name);
            } else {
                write_repr_str(&field.name, &mut out);
            }
            out.push_str(": ");
            out.push_str(&field.dtype.readable());
            if !field.shape.is_empty() {
                out.push(' ');
                out.push_str(&fmt_shape(&field.shape));
            }
            packed = packed.saturating_add(field.size());
        }
        out.push_str(if self.fields.is_empty() { "}" } else { " }" });
        if packed != self.itemsize {
            let _ = write!(out, " ({} bytes)", self.itemsize);
        }
        out
    }
}

/// Builds a dtype from a descr value; `depth` counts enclosing records.
fn dtype_from_value(v: &Value, depth: usize) -> Result<Dtype, String> {
    match v {
        Value::Str(s) => Dtype::from_scalar_descr(s),
        Value::List(entries) => record_from_list(entries, depth).map(Dtype::Record),
        Value::Tuple(_) => Err(
            "a tuple (subarray) descr is not valid at the top level: NumPy \
                                never writes one in a header, it folds the subarray shape into \
                                the array's shape"
                .to_owned(),
        ),
        _ => Err("a descr must be a string or a list of fields".to_owned()),
    }
}

/// Builds a record from the list form of a descr, as NumPy's `descr_to_dtype` does.
fn record_from_list(entries: &[Value], depth: usize) -> Result<Record, String> {
    if depth >= literal::MAX_DEPTH {
        return Err(format!(
            "records nest deeper than {} levels",
            literal::MAX_DEPTH
        ));
    }
    let mut fields: Vec<Field> = Vec::with_capacity(entries.len());
    let mut offset: u64 = 0;
    for entry in entries {
        let parts = match entry {
            Value::Tuple(p) | Value::List(p) => p.as_slice(),
            other => {
                return Err(format!(
                    "field entry {} is not a (name, descr) or (name, descr, shape) tuple",
                    other.repr()
                ));
            }
        };
        let (raw_name, descr, shape) = match parts {
            [name, descr] => match descr {
                // `(name, (descr, shape))` is the same as `(name, descr, shape)`.
                Value::Tuple(sub) => match sub.as_slice() {
                    [inner, shape] => (name, inner, Some(shape)),
                    _ => {
                        return Err(format!(
                            "field entry {}: a tuple descr must be (descr, shape)",
                            entry.repr()
                        ));
                    }
                },
                _ => (name, descr, None),
            },
            [name, descr, shape] => (name, descr, Some(shape)),
            _ => {
                return Err(format!(
                    "field entry {} must have 2 or 3 items: (name, descr) or (name, descr, shape)",
                    entry.repr()
                ));
            }
        };
        let (title, name) = field_name(raw_name)?;
        let dtype = match descr {
            Value::Str(_) | Value::List(_) => dtype_from_value(descr, depth + 1)?,
            Value::Tuple(sub) => subarray_from_tuple(sub, depth + 1)
                .map_err(|e| format!("field {}: {e}", raw_name.repr()))?,
            other => {
                return Err(format!(
                    "field {}: descr {} is not a string or a list of fields",
                    raw_name.repr(),
                    other.repr()
                ));
            }
        };
        let shape = match shape {
            Some(s) => parse_shape(s).map_err(|e| format!("field {}: {e}", raw_name.repr()))?,
            None => Vec::new(),
        };
        let in_field = |e: DtypeError| format!("field {}: {e}", raw_name.repr());
        let size = subarray_size(&dtype, &shape).map_err(in_field)?;
        // NumPy: `name == ''` and a void, non-structured dtype (a plain V or any subarray)
        // is padding: not a field, but it advances the offset.
        if !(matches!(raw_name, Value::Str(s) if s.is_empty()) && is_padding(&dtype, &shape)) {
            // Bounded by MAX_ITEMSIZE, which fits in usize on every supported target.
            let at = usize::try_from(offset).map_err(|_| too_large())?;
            let field = Field::new(name, dtype, shape, at).map_err(in_field)?;
            fields.push(match title {
                Some(title) => field.with_title(title),
                None => field,
            });
        }
        offset = offset
            .checked_add(size)
            .filter(|&o| o <= MAX_ITEMSIZE)
            .ok_or_else(too_large)?;
    }
    let itemsize = usize::try_from(offset).map_err(|_| too_large())?;
    // The fields follow each other: only a name or title used twice can be refused here.
    Record::new(fields, itemsize).map_err(|e| e.to_string())
}

/// The dtype of a `(descr, shape)` tuple inside a field: a [`Subarray`], or the descr itself
/// when the shape is `()`, as NumPy folds it. `depth` counts enclosing records and subarrays.
fn subarray_from_tuple(parts: &[Value], depth: usize) -> Result<Dtype, String> {
    let [inner, shape] = parts else {
        return Err("a tuple descr must be (descr, shape)".to_owned());
    };
    if depth >= literal::MAX_DEPTH {
        return Err(format!(
            "subarrays nest deeper than {} levels",
            literal::MAX_DEPTH
        ));
    }
    let base = match inner {
        Value::Str(_) | Value::List(_) => dtype_from_value(inner, depth)?,
        Value::Tuple(sub) => subarray_from_tuple(sub, depth + 1)?,
        other => {
            return Err(format!(
                "descr {} is not a string, a list of fields or a (descr, shape) tuple",
                other.repr()
            ));
        }
    };
    let shape = parse_shape(shape)?;
    if shape.is_empty() {
        subarray_size(&base, &shape).map_err(|e| e.to_string())?;
        return Ok(base);
    }
    Subarray::new(base, shape)
        .map(Dtype::Subarray)
        .map_err(|e| e.to_string())
}

/// Bytes of `shape` elements of `dtype`, refusing what NumPy refuses: more than 64
/// dimensions, a subarray of a zero-size string or void type, and items larger than a C `int`.
fn subarray_size(dtype: &Dtype, shape: &[u64]) -> Result<u64, DtypeError> {
    if shape.len() > MAX_SUBARRAY_DIMS {
        return Err(DtypeError::TooManyDimensions(shape.to_vec()));
    }
    if !shape.is_empty()
        && dtype.itemsize() == 0
        && matches!(
            dtype,
            Dtype::Scalar(Scalar {
                kind: Kind::Bytes | Kind::Unicode | Kind::Void,
                ..
            })
        )
    {
        return Err(DtypeError::ZeroSizeSubarray(dtype.descr()));
    }
    shape
        .iter()
        .try_fold(dtype.itemsize() as u64, |acc, &d| acc.checked_mul(d))
        .filter(|&s| s <= MAX_ITEMSIZE)
        .ok_or(DtypeError::TooLarge)
}

fn too_large() -> String {
    format!("the record is larger than {MAX_ITEMSIZE} bytes")
}

/// A field's name: `'name'` or `('title', 'name')` (a `None` title means no title).
fn field_name(v: &Value) -> Result<(Option<String>, String), String> {
    match v {
        Value::Str(name) => Ok((None, name.clone())),
        Value::Tuple(pair) => match pair.as_slice() {
            [title, Value::Str(name)] => match title {
                Value::Str(t) => Ok((Some(t.clone()), name.clone())),
                Value::None => Ok((None, name.clone())),
                other => Err(format!(
                    "field {}: titles other than strings ({}) are not supported",
                    v.repr(),
                    other.repr()
                )),
            },
            [_, _] => Err(format!("field {}: field names must be strings", v.repr())),
            _ => Err(format!(
                "field {}: a titled name must be a (title, name) pair",
                v.repr()
            )),
        },
        other => Err(format!(
            "field {}: field names must be strings",
            other.repr()
        )),
    }
}

/// A subarray shape: an int `n` (meaning `(n,)`) or a tuple or list of ints.
fn parse_shape(v: &Value) -> Result<Vec<u64>, String> {
    let dims: &[Value] = match v {
        Value::Int(_) => std::slice::from_ref(v),
        Value::Tuple(d) | Value::List(d) => d,
        other => return Err(format!("invalid subarray shape {}", other.repr())),
    };
    if dims.len() > MAX_SUBARRAY_DIMS {
        return Err(format!(
            "subarray shape {} has more than {MAX_SUBARRAY_DIMS} dimensions",
            v.repr()
        ));
    }
    dims.iter()
        .map(|d| match d {
            Value::Int(n) if *n < 0 => Err(format!("subarray dimension {n} is negative")),
            Value::Int(n) => u64::try_from(*n)
                .ok()
                .filter(|&n| n <= MAX_ITEMSIZE)
                .ok_or_else(|| format!("subarray dimension {n} does not fit a C int")),
            other => Err(format!(
                "invalid subarray shape {} (at {})",
                v.repr(),
                other.repr()
            )),
        })
        .collect()
}

/// Parses a scalar dtype string: a typestr, a one-letter code or a type name.
fn parse_scalar(text: &str) -> Result<Scalar, String> {
    if text.is_empty() {
        return Err("empty dtype".to_owned());
    }
    if text.contains(',') {
        return Err(
            "comma-separated dtype strings are not supported; write a list of fields \
                    such as [('f0', '<f8'), ('f1', '<i4')]"
                .to_owned(),
        );
    }
    if let Some(scalar) = parse_name(text)? {
        return Ok(scalar);
    }
    let (prefix, rest) = match text.as_bytes().first() {
        Some(b'<' | b'>' | b'=' | b'|') => (text.get(..1), text.get(1..).unwrap_or("")),
        _ => (None, text),
    };
    let requested = match prefix {
        Some("<") => ByteOrder::Little,
        Some(">") => ByteOrder::Big,
        _ => NATIVE,
    };
    // Datetime names take a byte order prefix in NumPy (`>datetime64[ns]`).
    if prefix.is_some()
        && let Some(kind) = parse_time_name(rest)?
    {
        return Ok(make(kind, 8, requested));
    }
    let not_understood = || format!("data type {text:?} not understood");
    let mut chars = rest.chars();
    let Some(code) = chars.next() else {
        return Err(not_understood());
    };
    let tail = chars.as_str();
    let (digits, suffix) = tail.split_at(
        tail.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(tail.len()),
    );
    let number: Option<u64> = if digits.is_empty() {
        None
    } else {
        Some(digits.parse::<u64>().map_err(|_| not_understood())?)
    };
    if !suffix.is_empty() && !matches!(code, 'M' | 'm') {
        return Err(not_understood());
    }
    let ptr = size_of::<usize>();
    let kind_size: (Kind, usize) = match (code, number) {
        ('?', None) | ('b', Some(1)) => (Kind::Bool, 1),
        ('b', None) => (Kind::Int, 1),
        ('B', None) => (Kind::Uint, 1),
        ('h', None) => (Kind::Int, 2),
        ('H', None) => (Kind::Uint, 2),
        ('i', None) => (Kind::Int, 4),
        ('I', None) => (Kind::Uint, 4),
        ('l', None) => (Kind::Int, size_of::<std::ffi::c_long>()),
        ('L', None) => (Kind::Uint, size_of::<std::ffi::c_long>()),
        ('q', None) => (Kind::Int, 8),
        ('Q', None) => (Kind::Uint, 8),
        ('p', None) => (Kind::Int, ptr),
        ('P', None) => (Kind::Uint, ptr),
        ('e', None) => (Kind::Float, 2),
        ('f', None) => (Kind::Float, 4),
        ('d', None) => (Kind::Float, 8),
        ('F', None) => (Kind::Complex, 8),
        ('D', None) => (Kind::Complex, 16),
        ('g' | 'G', None) => {
            return Err(format!(
                "{text:?} is the platform's long double, whose size varies: write \
                 'f16' or 'c32' (x86-64 Linux), or 'f8' / 'c16'"
            ));
        }
        ('c', None) => (Kind::Bytes, 1),
        // Scalar::new knows the sizes these kinds come in.
        ('i' | 'u' | 'f' | 'c', Some(n)) => {
            let kind = match code {
                'i' => Kind::Int,
                'u' => Kind::Uint,
                'f' => Kind::Float,
                _ => Kind::Complex,
            };
            let size = usize::try_from(n).map_err(|_| not_understood())?;
            return Scalar::new(kind, size, requested).map_err(|_| not_understood());
        }
        ('S', n) => (Kind::Bytes, flexible_size(n.unwrap_or(0), 1, text)?),
        ('U', n) => (Kind::Unicode, flexible_size(n.unwrap_or(0), 4, text)?),
        ('V', n) => (Kind::Void, flexible_size(n.unwrap_or(0), 1, text)?),
        ('O', None | Some(8)) if ptr == 8 => (Kind::Object, ptr),
        ('O', None | Some(4)) if ptr == 4 => (Kind::Object, ptr),
        ('M' | 'm', None | Some(8)) => {
            let unit = parse_time_unit(suffix, text)?;
            let kind = if code == 'M' {
                Kind::Datetime(unit)
            } else {
                Kind::Timedelta(unit)
            };
            (kind, 8)
        }
        _ => return Err(not_understood()),
    };
    let (kind, size) = kind_size;
    Ok(make(kind, size, requested))
}

/// A scalar with its byte order normalised as NumPy's `dtype.str` does.
fn make(kind: Kind, size: usize, requested: ByteOrder) -> Scalar {
    let mut scalar = Scalar {
        kind,
        size,
        order: requested,
    };
    scalar.order = scalar.effective_order();
    scalar
}

/// The byte size of `S`/`U`/`V` with `count` units of `unit` bytes, within NumPy's limit.
fn flexible_size(count: u64, unit: u64, text: &str) -> Result<usize, String> {
    count
        .checked_mul(unit)
        .filter(|&s| s <= MAX_ITEMSIZE)
        .and_then(|s| usize::try_from(s).ok())
        .ok_or_else(|| format!("{text:?} is larger than {MAX_ITEMSIZE} bytes"))
}

/// Parses the `[unit]` suffix of a datetime typestr (`""` means generic).
fn parse_time_unit(suffix: &str, text: &str) -> Result<TimeUnit, String> {
    if suffix.is_empty() {
        return Ok(TimeUnit::generic());
    }
    let bad = || format!("invalid datetime unit in {text:?} (expected e.g. [ns] or [25s])");
    let inner = suffix
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or_else(bad)?;
    if inner == "generic" {
        return Ok(TimeUnit::generic());
    }
    let (digits, unit) = inner.split_at(
        inner
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(inner.len()),
    );
    let count = if digits.is_empty() {
        1
    } else {
        digits.parse::<u64>().map_err(|_| bad())?
    };
    let unit = if unit == "\u{3bc}s" { "us" } else { unit };
    TimeUnit::new(unit, count).map_err(|_| bad())
}

/// `datetime64[...]` / `timedelta64[...]`, if `text` is one of those names.
fn parse_time_name(text: &str) -> Result<Option<Kind>, String> {
    for (name, is_datetime) in [("datetime64", true), ("timedelta64", false)] {
        if let Some(suffix) = text.strip_prefix(name) {
            let unit = parse_time_unit(suffix, text)?;
            let kind = if is_datetime {
                Kind::Datetime(unit)
            } else {
                Kind::Timedelta(unit)
            };
            return Ok(Some(kind));
        }
    }
    Ok(None)
}

/// NumPy's type names (`float64`, `int`, `bool`, ...), if `text` is one.
fn parse_name(text: &str) -> Result<Option<Scalar>, String> {
    if let Some(kind) = parse_time_name(text)? {
        return Ok(Some(make(kind, 8, NATIVE)));
    }
    let long = size_of::<std::ffi::c_long>();
    let ptr = size_of::<usize>();
    let (kind, size) = match text {
        "bool" | "bool_" => (Kind::Bool, 1),
        "int8" | "byte" => (Kind::Int, 1),
        "int16" | "short" => (Kind::Int, 2),
        "int32" | "intc" => (Kind::Int, 4),
        "int64" | "longlong" => (Kind::Int, 8),
        "long" => (Kind::Int, long),
        "int" | "int_" | "intp" => (Kind::Int, ptr),
        "uint8" | "ubyte" => (Kind::Uint, 1),
        "uint16" | "ushort" => (Kind::Uint, 2),
        "uint32" | "uintc" => (Kind::Uint, 4),
        "uint64" | "ulonglong" => (Kind::Uint, 8),
        "ulong" => (Kind::Uint, long),
        "uint" | "uintp" => (Kind::Uint, ptr),
        "float16" | "half" => (Kind::Float, 2),
        "float32" | "single" => (Kind::Float, 4),
        "float64" | "double" | "float" => (Kind::Float, 8),
        "float128" => (Kind::Float, 16),
        "complex64" | "csingle" => (Kind::Complex, 8),
        "complex128" | "cdouble" | "complex" => (Kind::Complex, 16),
        "complex256" => (Kind::Complex, 32),
        "object" | "object_" => (Kind::Object, ptr),
        "bytes" | "bytes_" => (Kind::Bytes, 0),
        "str" | "str_" | "unicode" => (Kind::Unicode, 0),
        "void" => (Kind::Void, 0),
        "longdouble" | "clongdouble" => {
            return Err(format!(
                "{text:?} is the platform's long double, whose size varies: write \
                 'f16' or 'c32' (x86-64 Linux), or 'f8' / 'c16'"
            ));
        }
        _ => return Ok(None),
    };
    Ok(Some(make(kind, size, NATIVE)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_repr(d: &Dtype) -> String {
        let mut out = String::new();
        d.write_header_repr(&mut out);
        out
    }

    fn from_text(text: &str) -> Result<Dtype, FormatError> {
        let value = literal::parse(text, false).expect("test input is a literal");
        Dtype::from_value(&value)
    }

    /// (input, NumPy's `dtype_to_descr(np.dtype(input))`, itemsize), from NumPy 2.4 on
    /// x86-64 Linux.
    #[test]
    #[cfg(all(target_endian = "little", target_pointer_width = "64"))]
    fn scalar_typestrs_and_names_match_numpy() {
        let cases = [
            ("<f8", "<f8", 8),
            ("|f8", "<f8", 8),
            ("|i4", "<i4", 4),
            ("|u1", "|u1", 1),
            ("<u1", "|u1", 1),
            (">u1", "|u1", 1),
            ("=i2", "<i2", 2),
            ("i4", "<i4", 4),
            (">M8[ns]", ">M8[ns]", 8),
            ("<m8[25s]", "<m8[25s]", 8),
            ("M8", "<M8", 8),
            ("M", "<M8", 8),
            ("m", "<m8", 8),
            (">M", ">M8", 8),
            ("S5", "|S5", 5),
            ("|V7", "|V7", 7),
            ("<U10", "<U10", 40),
            (">U10", ">U10", 40),
            ("|U10", "<U10", 40),
            ("U0", "<U0", 0),
            ("S0", "|S0", 0),
            ("V0", "|V0", 0),
            ("b1", "|b1", 1),
            ("<b1", "|b1", 1),
            ("?", "|b1", 1),
            ("O", "|O", 8),
            ("S", "|S0", 0),
            ("U", "<U0", 0),
            ("V", "|V0", 0),
            ("f16", "<f16", 16),
            ("<c32", "<c32", 32),
            (">f16", ">f16", 16),
            (">c32", ">c32", 32),
            ("<f", "<f4", 4),
            ("i", "<i4", 4),
            ("b", "|i1", 1),
            ("B", "|u1", 1),
            ("h", "<i2", 2),
            ("H", "<u2", 2),
            ("I", "<u4", 4),
            ("q", "<i8", 8),
            ("Q", "<u8", 8),
            ("e", "<f2", 2),
            ("f", "<f4", 4),
            ("d", "<f8", 8),
            ("F", "<c8", 8),
            ("D", "<c16", 16),
            ("c", "|S1", 1),
            ("p", "<i8", 8),
            ("P", "<u8", 8),
            ("float64", "<f8", 8),
            ("int32", "<i4", 4),
            ("int", "<i8", 8),
            ("uint", "<u8", 8),
            ("float", "<f8", 8),
            ("complex", "<c16", 16),
            ("bool", "|b1", 1),
            ("bool_", "|b1", 1),
            ("double", "<f8", 8),
            ("half", "<f2", 2),
            ("single", "<f4", 4),
            ("float16", "<f2", 2),
            ("float32", "<f4", 4),
            ("complex64", "<c8", 8),
            ("complex128", "<c16", 16),
            ("int8", "|i1", 1),
            ("int16", "<i2", 2),
            ("int64", "<i8", 8),
            ("uint8", "|u1", 1),
            ("uint16", "<u2", 2),
            ("uint32", "<u4", 4),
            ("uint64", "<u8", 8),
            ("byte", "|i1", 1),
            ("ubyte", "|u1", 1),
            ("short", "<i2", 2),
            ("ushort", "<u2", 2),
            ("intc", "<i4", 4),
            ("uintc", "<u4", 4),
            ("longlong", "<i8", 8),
            ("ulonglong", "<u8", 8),
            ("intp", "<i8", 8),
            ("uintp", "<u8", 8),
            ("cdouble", "<c16", 16),
            ("csingle", "<c8", 8),
            ("float128", "<f16", 16),
            ("complex256", "<c32", 32),
            ("object", "|O", 8),
            ("str", "<U0", 0),
            ("bytes", "|S0", 0),
            ("void", "|V0", 0),
            ("datetime64", "<M8", 8),
            ("datetime64[ns]", "<M8[ns]", 8),
            ("timedelta64[25s]", "<m8[25s]", 8),
            (">datetime64[us]", ">M8[us]", 8),
            ("M8[0s]", "<M8[0s]", 8),
            ("M8[2147483647s]", "<M8[2147483647s]", 8),
            ("M8[1s]", "<M8[s]", 8),
            ("M8[01s]", "<M8[s]", 8),
            ("M8[\u{3bc}s]", "<M8[us]", 8),
            ("M8[Y]", "<M8[Y]", 8),
            ("m8[as]", "<m8[as]", 8),
            ("m8[generic]", "<m8", 8),
            ("S2147483647", "|S2147483647", 2147483647),
            ("U536870911", "<U536870911", 2147483644),
            ("V2147483647", "|V2147483647", 2147483647),
            ("S05", "|S5", 5),
            ("i04", "<i4", 4),
            ("U01", "<U1", 4),
            (">c16", ">c16", 16),
            (">f2", ">f2", 2),
            ("<i8", "<i8", 8),
            (">i8", ">i8", 8),
            (">u2", ">u2", 2),
            (">U1", ">U1", 4),
            (">m8", ">m8", 8),
            ("<c8", "<c8", 8),
        ];
        for (input, descr, itemsize) in cases {
            let d = Dtype::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(d.descr(), descr, "descr of {input}");
            assert_eq!(d.itemsize(), itemsize, "itemsize of {input}");
            assert_eq!(d.to_string(), descr);
            assert_eq!(header_repr(&d), format!("'{descr}'"));
            // The rendered descr reads back as the same dtype.
            assert_eq!(Dtype::parse(descr).ok(), Some(d.clone()), "{descr}");
            // `is_typestr` accepts the descr NumPy writes, and no other spelling.
            let Dtype::Scalar(scalar) = &d else {
                panic!("{input}: not a scalar")
            };
            assert!(scalar.is_typestr(descr), "{descr}");
            assert_eq!(scalar.is_typestr(input), input == descr, "{input}");
            for near in [&descr[1..], &descr[..descr.len() - 1], &format!("{descr}0")] {
                assert!(!scalar.is_typestr(near), "{descr} vs {near}");
            }
            assert_eq!(
                from_text(&format!("'{input}'")),
                Ok(d),
                "from_value {input}"
            );
        }
        let long = size_of::<std::ffi::c_long>();
        assert_eq!(Dtype::parse("l").map(|d| d.itemsize()).ok(), Some(long));
        assert_eq!(Dtype::parse("ulong").map(|d| d.itemsize()).ok(), Some(long));
    }

    /// Strings NumPy refuses too.
    #[test]
    fn refuses_what_numpy_refuses() {
        let bad = [
            "f12",
            "i3",
            "f1",
            "u",
            "b2",
            "c4",
            "M16",
            "M8[2147483648s]",
            "M8[-1s]",
            "M8[ s]",
            "M8[B]",
            "M8[]",
            "M8[2]",
            "M8[ns]x",
            "S2147483648",
            "U536870912",
            "V2147483648",
            "S99999999999999999999",
            "S-1",
            "i8[ns]",
            ">float64",
            "Float64",
            "float_",
            "int0",
            "u0",
            "i16",
            "c64",
            "O16",
            "e2",
            "H2",
            "i 4x",
            "",
            "<",
        ];
        for input in bad {
            match Dtype::parse(input) {
                Err(Error::InvalidDtype { descr, reason }) => {
                    assert_eq!(descr, input);
                    assert!(!reason.is_empty());
                }
                other => panic!("{input:?}: expected InvalidDtype, got {other:?}"),
            }
        }
        // Deliberately refused although NumPy accepts them.
        for input in ["f8,i4", "g", "G", "longdouble", "clongdouble", "M8[s/4]"] {
            assert!(Dtype::parse(input).is_err(), "{input}");
        }
        // NumPy does not strip spaces in a header's descr; Dtype::parse does for users.
        assert!(from_text("'<f8 '").is_err());
        assert_eq!(
            Dtype::parse("  <f8 ").map(|d| d.descr()).ok(),
            Some("<f8".to_owned())
        );
    }

    /// `repr(dtype_to_descr(dt))` from NumPy, and `dt.itemsize`.
    #[test]
    fn record_descrs_round_trip_like_numpy() {
        let cases = [
            (
                "[('x', '<i4', (2,)), ('y', '<f8', (2, 2)), ('z', '|u1')]",
                41,
            ),
            (
                "[('a', [('b', [('c', '|S2'), ('d', '<U8')]), ('e', '<c16')]), ('f', '|b1'), ('g', '>i8', (3,))]",
                75,
            ),
            (
                "[('a', '|u1'), ('', '|V3'), ('b', '<i4'), ('c', '|u1'), ('', '|V3')]",
                12,
            ),
            (
                "[('', '|V4'), ('a', '|u1'), ('', '|V3'), ('b', '<i4'), ('', '|V4')]",
                16,
            ),
            ("[(('T', 'a'), '<i4'), ('b', '<f8')]", 12),
            ("[('', '|V8')]", 8),
            ("[]", 0),
            (
                "[(\"it's\", '<i4'), ('a\"b', '|u1'), ('\u{e9}\\n', '|u1'), ('\u{4e2d}', '>f4')]",
                10,
            ),
            ("[('t', '<f8'), ('pos', '<f4', (3,))]", 20),
            (
                "[('a', '<M8[ns]'), ('b', '>m8[25s]'), ('c', '|V3'), ('d', '<f16'), ('e', '>c32')]",
                67,
            ),
            (
                "[('a', [('x', '<i2'), ('y', '|u1')], (2, 3)), ('b', '|u1')]",
                19,
            ),
            ("[('a', '<i4', (1,)), ('b', '|S0'), ('c', '<U0')]", 4),
            ("[('f0', '<i4'), ('b', '|u1')]", 5),
        ];
        for (descr, itemsize) in cases {
            let d = from_text(descr).unwrap_or_else(|e| panic!("{descr}: {e}"));
            assert_eq!(header_repr(&d), descr);
            assert_eq!(d.descr(), descr);
            assert_eq!(d.itemsize(), itemsize, "{descr}");
            assert_eq!(Dtype::parse(descr).ok(), Some(d));
        }
    }

    /// Hand-written descrs and what NumPy's `descr_to_dtype` makes of them.
    #[test]
    fn hand_written_descrs_normalise_like_numpy() {
        let cases = [
            (
                "[('a', '<i4', 3), ('b', 'f8', ()), ('c', 'u1', [2, 3])]",
                "[('a', '<i4', (3,)), ('b', '<f8'), ('c', '|u1', (2, 3))]",
                26,
            ),
            (
                "[('a', '<i4'), ('', '<i4', (3,)), ('b', 'u1')]",
                "[('a', '<i4'), ('', '|V12'), ('b', '|u1')]",
                17,
            ),
            (
                "[('a', 'u1'), ('', '|V2', (2,)), ('w', '<u1')]",
                "[('a', '|u1'), ('', '|V4'), ('w', '|u1')]",
                6,
            ),
            (
                "[('x', [('y', '<i2'), ('', '|V2')]), ('', '|V3'), ('w', '<u1')]",
                "[('x', [('y', '<i2'), ('', '|V2')]), ('', '|V3'), ('w', '|u1')]",
                8,
            ),
            (
                "[('', [('y', '<i2')]), ('w', '<u1')]",
                "[('', [('y', '<i2')]), ('w', '|u1')]",
                3,
            ),
            ("[((None, 'a'), '<i4')]", "[('a', '<i4')]", 4),
            ("[(('', 'a'), '<i4')]", "[(('', 'a'), '<i4')]", 4),
            ("[['a', '<i4']]", "[('a', '<i4')]", 4),
            ("[('a', ('<i4', (2,)))]", "[('a', '<i4', (2,))]", 8),
            ("[('a', ('<i4', ()))]", "[('a', '<i4')]", 4),
            (
                "[('a', 'float64'), ('b', '|f8'), ('c', '=i2'), ('d', '>u1')]",
                "[('a', '<f8'), ('b', '<f8'), ('c', '<i2'), ('d', '|u1')]",
                19,
            ),
            (
                "[('a', '<i4', (0,)), ('b', 'u1')]",
                "[('a', '<i4', (0,)), ('b', '|u1')]",
                1,
            ),
            ("[('a', '<i4'), ('', '<i4', (0,))]", "[('a', '<i4')]", 4),
            ("[('', '|V0')]", "[]", 0),
            ("[('a', '<i4', 1)]", "[('a', '<i4', (1,))]", 4),
            ("[('a', '<i4', (1, 1, 1))]", "[('a', '<i4', (1, 1, 1))]", 4),
            (
                "[('a', 'i4'), ('b', 'f8')]",
                "[('a', '<i4'), ('b', '<f8')]",
                12,
            ),
            ("[(u'a', u'<i4')]", "[('a', '<i4')]", 4),
            (
                "[('', '<i4'), ('b', 'u1')]",
                "[('', '<i4'), ('b', '|u1')]",
                5,
            ),
        ];
        for (input, descr, itemsize) in cases {
            let d = from_text(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(header_repr(&d), descr, "{input}");
            assert_eq!(d.itemsize(), itemsize, "{input}");
        }
    }

    #[test]
    fn record_fields_offsets_titles_and_shapes() {
        let d = from_text(
            "[('a', 'u1'), ('', '|V3'), (('T', 'b'), '<i4', (2, 3)), ('c', [('x', '>f8')])]",
        )
        .unwrap();
        let Dtype::Record(r) = &d else {
            panic!("not a record")
        };
        assert_eq!(r.itemsize, 1 + 3 + 24 + 8);
        let summary: Vec<(&str, Option<&str>, usize, &[u64])> = r
            .fields
            .iter()
            .map(|f| {
                (
                    f.name.as_str(),
                    f.title.as_deref(),
                    f.offset,
                    f.shape.as_slice(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("a", None, 0, &[][..]),
                ("b", Some("T"), 4, &[2, 3][..]),
                ("c", None, 28, &[][..]),
            ]
        );
        assert_eq!(
            r.fields.get(2).map(|f| f.dtype.descr()),
            Some("[('x', '>f8')]".to_owned())
        );
    }

    /// Descrs NumPy's `descr_to_dtype` refuses (its message in the comment).
    #[test]
    fn bad_descrs_are_refused() {
        let deep_shape = format!("[('a', '<i4', ({}))]", "1, ".repeat(65));
        let bad = [
            "[('a', '<i4'), ('a', '<f8')]", // name already used as a name or title
            "[(('a', 'a'), '<i4')]",        // title already used as a name or title.
            "[(('b', 'a'), '<i4'), ('b', '<f8')]", // name already used as a name or title
            "[(('t', 'a'), '<i4'), (('t', 'b'), '<i4')]", // title already used as a name or title.
            "[('', '<i4'), ('', '<f8')]",   // name already used as a name or title
            "[(1, '<i4')]",                 // field names must be strings
            "[(b'a', '<i4')]",              // field names must be strings
            "[(('t', 1), '<i4')]",          // field names must be strings
            "[(('t', 'a', 'x'), '<i4')]",   // too many values to unpack
            "[('a',)]",                     // not enough values to unpack
            "[('a', '<i4', (2,), 1)]",      // too many values to unpack
            "[('a', '<i4', (-1,))]",        // dimension smaller then zero.
            "[('a', '<i4', -1)]",           // dimension smaller then zero.
            "[('a', '<i4', (2147483648,))]", // dimension does not fit into a C int.
            "[('a', '<i4', (536870912,))]", // dtype size in bytes must fit into a C int.
            "[('a', '<i4', True)]",         // invalid shape in fixed-type tuple.
            "[('a', '<i4', (True,))]",      // invalid shape in fixed-type tuple.
            "[('a', '<i4', ((2,),))]",      // invalid shape in fixed-type tuple.
            "[('a', '<i4', '2')]",          // invalid shape in fixed-type tuple.
            &deep_shape,                    // invalid shape in fixed-type tuple.
            "[('a', 'V0', (2,))]",          // invalid itemsize in generic type tuple
            "[('a', 'S0', (2,))]",          // invalid itemsize in generic type tuple
            "[('a', 'S2147483647'), ('b', 'S1')]", // integer won't fit into a C int
            "[('a', 5)]",                   // 'int' object is not iterable
            "[('a', {'x': 1})]",            // not enough values to unpack
            "[5]",                          // object of type 'int' has no len()
            "5",                            // 'int' object is not iterable
            "'<f8 '",                       // data type '<f8 ' not understood
            "'xyz'",                        // data type 'xyz' not understood
            "[('a', 'uint8 ')]",            // data type 'uint8 ' not understood
            // Refused by npaa although NumPy accepts them:
            "('<f8', (2,))",       // a top-level subarray
            "[('a', 'f8,i4')]",    // comma strings
            "[((1, 'a'), '<i4')]", // non-string titles
        ];
        for input in bad {
            match from_text(input) {
                Err(FormatError::BadDescr { descr, reason }) => {
                    let value = literal::parse(input, false).unwrap();
                    assert_eq!(descr, value.repr());
                    assert!(!reason.is_empty());
                }
                other => panic!("{input}: expected BadDescr, got {other:?}"),
            }
            assert!(Dtype::parse(input).is_err(), "{input}");
        }
        let Err(FormatError::BadDescr { reason, .. }) = from_text("('<f8', (2,))") else {
            panic!("top-level tuple accepted");
        };
        assert!(reason.contains("top level"), "{reason}");
        let Err(FormatError::BadDescr { reason, .. }) = from_text("[('a', '<i4'), ('a', '<f8')]")
        else {
            panic!("duplicate accepted");
        };
        assert!(reason.contains("'a'"), "{reason}");
    }

    #[test]
    fn nesting_is_bounded() {
        // 31 nested records inside the top-level one parse (the literal allows 32 levels).
        let mut text = String::from("'<i4'");
        for _ in 0..15 {
            text = format!("[('a', {text})]");
        }
        let d = from_text(&text).unwrap();
        assert_eq!(d.itemsize(), 4);
        assert_eq!(d.descr(), text);
        // Deeper values are refused by the literal parser before they reach from_value.
        let mut deep = String::from("'<i4'");
        for _ in 0..40 {
            deep = format!("[('a', {deep})]");
        }
        assert!(matches!(
            Dtype::parse(&deep),
            Err(Error::InvalidDtype { .. })
        ));
    }

    #[test]
    fn readable_names() {
        let cases = [
            ("<f8", "float64"),
            (">i4", "int32 (big-endian)"),
            ("?", "bool"),
            ("|u1", "uint8"),
            ("S5", "bytes (5)"),
            ("<U10", "str (10 chars)"),
            (">U10", "str (10 chars, big-endian)"),
            ("<M8[ns]", "datetime64[ns]"),
            ("<m8[25s]", "timedelta64[25s]"),
            ("<M8", "datetime64"),
            ("|V7", "void (7 bytes)"),
            ("<f16", "long double (16 bytes)"),
            ("<c32", "complex long double (32 bytes)"),
            ("<c16", "complex128"),
            ("<f2", "float16"),
            ("O", "object"),
            (
                "[('t', '<f8'), ('pos', '<f4', (3,))]",
                "struct { t: float64, pos: float32 (3,) }",
            ),
            (
                "[('a', [('y', '>i2')]), ('', '|V2'), ('my field', 'S3')]",
                "struct { a: struct { y: int16 (big-endian) }, 'my field': bytes (3) } (7 bytes)",
            ),
            ("[('', '|V8')]", "struct {} (8 bytes)"),
            ("[]", "struct {}"),
        ];
        for (descr, readable) in cases {
            let d = Dtype::parse(descr).unwrap();
            if cfg!(target_endian = "little") {
                assert_eq!(d.readable(), readable, "{descr}");
            }
        }
    }

    #[test]
    fn never_panics_on_random_descrs() {
        let tokens = [
            "[",
            "]",
            "(",
            ")",
            ", ",
            "'a'",
            "'b'",
            "''",
            "'<f8'",
            "'|V3'",
            "'>U2'",
            "'S0'",
            "'M8[25s]'",
            "(('t', 'a')",
            "(2,)",
            "(0,)",
            "2147483647",
            "-1",
            "(3, 4)",
            "'O'",
            "'<i4'",
            "[('x', '<i2')]",
            "None",
            "'f16'",
            "'c'",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            let mut text = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for _ in 0..(state % 16) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(tokens[(state % tokens.len() as u64) as usize]);
            }
            if let Ok(d) = Dtype::parse(&text) {
                let _ = d.readable();
                // What parses renders to a descr that parses to the same dtype.
                assert_eq!(Dtype::parse(&d.descr()).ok(), Some(d), "{text:?}");
            }
        }
    }

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

    #[test]
    fn hand_built_dtypes_render_without_panicking() {
        // Out-of-order, overlapping and oversized fields: not valid descrs, but no panic.
        let d = Dtype::Record(Record {
            fields: vec![
                Field {
                    name: "b".into(),
                    title: None,
                    offset: usize::MAX,
                    dtype: Dtype::parse("<f8").unwrap(),
                    shape: vec![u64::MAX, u64::MAX],
                },
                Field {
                    name: "a".into(),
                    title: None,
                    offset: 0,
                    dtype: Dtype::Scalar(Scalar {
                        kind: Kind::Unicode,
                        size: 5,
                        order: ByteOrder::NotApplicable,
                    }),
                    shape: vec![],
                },
            ],
            itemsize: 3,
        });
        let _ = d.descr();
        let _ = d.readable();
        assert_eq!(d.itemsize(), 3);
        // A multi-byte scalar built with `NotApplicable` renders in native order.
        let f = Dtype::Scalar(Scalar {
            kind: Kind::Float,
            size: 8,
            order: ByteOrder::NotApplicable,
        });
        assert_eq!(
            f.descr(),
            if cfg!(target_endian = "little") {
                "<f8"
            } else {
                ">f8"
            }
        );
    }

    /// Subarrays of subarrays, the `test_descr_to_dtype` cases of NumPy's test_format.py:
    /// (descr, itemsize, the field's outer shape), as NumPy 2.4's `dtype.descr` writes them.
    #[test]
    fn nested_subarrays_round_trip() {
        let cases = [
            ("[('x', ('<f8', (5,)), (2,))]", 80, vec![2]),
            (
                "[('x', ([('a', '|i1'), ('', '|V3'), ('b', '|i1'), ('', '|V3')], (3,)), (4,))]",
                96,
                vec![4],
            ),
            (
                "[('a', (([('a', '<i8'), ('b', [('a', '|i1'), ('', '|V3'), ('b', '|i1'), \
                 ('', '|V3')])], (3,)), (4,)), (5,))]",
                960,
                vec![5],
            ),
        ];
        for (descr, itemsize, outer) in cases {
            let d = from_text(descr).unwrap_or_else(|e| panic!("{descr}: {e}"));
            assert_eq!(d.itemsize(), itemsize, "{descr}");
            assert_eq!(d.descr(), descr);
            assert_eq!(Dtype::parse(descr).ok(), Some(d.clone()));
            let Dtype::Record(r) = &d else {
                panic!("{descr}: not a record");
            };
            assert_eq!(r.fields[0].shape, outer, "{descr}");
            assert!(matches!(r.fields[0].dtype, Dtype::Subarray(_)), "{descr}");
        }
        // `(descr, ())` is the descr itself, as NumPy folds it.
        let folded = from_text("[('x', ('<f8', ()), (2,))]").unwrap();
        assert_eq!(folded.descr(), "[('x', '<f8', (2,))]");
        // Unnamed subarrays of subarrays are padding.
        let padded = from_text("[('', ('|V1', (2,)), (3,)), ('a', '<i4')]").unwrap();
        assert_eq!(padded.descr(), "[('', '|V6'), ('a', '<i4')]");
        assert_eq!(padded.itemsize(), 10);
        for bad in [
            "[('x', ('S0', (2,)), (3,))]",
            "[('x', ('<f8', (2,), 1), (3,))]",
            "[('x', (5, (2,)), (3,))]",
        ] {
            assert!(from_text(bad).is_err(), "{bad}");
        }
    }
}
