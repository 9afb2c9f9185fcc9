//! The validated constructors and the accessors of the dtype's parts, and [`DtypeError`]:
//! what NumPy refuses to save.

use std::collections::HashSet;

use super::{
    ByteOrder, DatetimeUnit, Dtype, Field, Kind, MAX_ITEMSIZE, Record, Scalar, Subarray, TimeUnit,
};
use crate::fmt::{fmt_shape, write_repr_str};
use crate::layout::MAX_DIMS;

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
    #[error("subarray shape {} has more than {MAX_DIMS} dimensions", fmt_shape(.0))]
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
    /// `count` times `unit` ([`DatetimeUnit::Seconds`] and 25 make `[25s]`).
    ///
    /// # Errors
    /// [`DtypeError::TooLarge`] for a count past 2147483647.
    pub fn new(unit: DatetimeUnit, count: u64) -> Result<TimeUnit, DtypeError> {
        if count > MAX_ITEMSIZE {
            return Err(DtypeError::TooLarge);
        }
        Ok(TimeUnit {
            unit: Some(unit),
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

    /// `None` for the generic unit.
    pub fn unit(&self) -> Option<DatetimeUnit> {
        self.unit
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
pub(super) fn is_padding(dtype: &Dtype, shape: &[u64]) -> bool {
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

/// A scalar with its byte order normalised as NumPy's `dtype.str` does.
pub(super) fn make(kind: Kind, size: usize, requested: ByteOrder) -> Scalar {
    let mut scalar = Scalar {
        kind,
        size,
        order: requested,
    };
    scalar.order = scalar.effective_order();
    scalar
}

/// Bytes of `shape` elements of `dtype`, refusing what NumPy refuses: more than 64
/// dimensions, a subarray of a zero-size string or void type, and items larger than a C `int`.
pub(super) fn subarray_size(dtype: &Dtype, shape: &[u64]) -> Result<u64, DtypeError> {
    if shape.len() > MAX_DIMS {
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
