//! NumPy's casting rules, and the conversions npaa applies when a block's dtype differs from
//! the file's.
//!
//! [`can_cast`] answers what `np.can_cast(from, to, casting)` answers. The crate-internal
//! `CastPlan` is a conversion prepared once per block and applied to chunks of whole items: a
//! plain copy, a byte swap (any dtype whose bytes only differ in byte order, records
//! included), or a value conversion between the numeric types
//! `b1 i1 i2 i4 i8 u1 u2 u4 u8 f4 f8 c8 c16` (and `f2` with the `f16` feature). Every other
//! cast NumPy allows is refused with [`Error::CastUnsupported`].
//!
//! # Value semantics
//! For values the destination type can represent, conversions give NumPy's results:
//! integer to integer wraps (two's complement truncation), float to integer truncates toward
//! zero, integer to float and wider float to narrower float round to nearest (`i64`/`u64` to
//! `f32` directly, not through `f64`), bool to number gives 0 or 1, number to bool is
//! `!= 0` (a complex number is true when either part is non-zero), complex to real keeps the
//! real part, real to complex sets the imaginary part to 0.
//!
//! Float to integer for NaN or values outside the integer's range differs: NumPy's result is
//! whatever the C cast does on the machine (undefined behaviour in C; on x86-64, for example,
//! `int32` gets `-2147483648`, and `int8` gets the low byte of the `int32` result). npaa uses
//! Rust's `as`, which saturates: NaN becomes 0, too-large values the type's maximum,
//! too-small values its minimum.

use std::fmt;
use std::str::FromStr;

use crate::dtype::{ByteOrder, Dtype, Field, Kind, Record, Scalar, TimeUnit, count};
use crate::error::Error;

/// NumPy's casting rules (`np.can_cast`), from strictest to loosest; the default is
/// [`Casting::SameKind`], as for NumPy's ufuncs.
///
/// Non-exhaustive: NumPy 2.4 has a sixth rule (`same_value`, for `astype`) that npaa may
/// adopt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Casting {
    /// Only identical dtypes.
    No,
    /// Identical dtypes up to byte order.
    Equiv,
    /// Only casts that preserve every value (`i4` to `i8` or `f8`, `f4` to `f8`, ...).
    Safe,
    /// Safe casts, plus casts within a kind (`f8` to `f4`, `i8` to `i2`, `u8` to `i1`).
    #[default]
    SameKind,
    /// Any conversion (`f8` to `i4` truncates).
    Unsafe,
}

impl Casting {
    /// All rules, strictest first.
    pub const ALL: [Casting; 5] = [
        Casting::No,
        Casting::Equiv,
        Casting::Safe,
        Casting::SameKind,
        Casting::Unsafe,
    ];

    /// The name NumPy uses: `no`, `equiv`, `safe`, `same_kind`, `unsafe`.
    pub fn as_str(self) -> &'static str {
        match self {
            Casting::No => "no",
            Casting::Equiv => "equiv",
            Casting::Safe => "safe",
            Casting::SameKind => "same_kind",
            Casting::Unsafe => "unsafe",
        }
    }

    /// 0 for `No` up to 4 for `Unsafe`.
    fn rank(self) -> u8 {
        match self {
            Casting::No => 0,
            Casting::Equiv => 1,
            Casting::Safe => 2,
            Casting::SameKind => 3,
            Casting::Unsafe => 4,
        }
    }

    /// The looser of two rules.
    fn max(self, other: Casting) -> Casting {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for Casting {
    /// Writes NumPy's name for the rule (`same_kind`, ...).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Casting {
    type Err = Error;

    /// Parses NumPy's names: `no`, `equiv`, `safe`, `same_kind` (or `same-kind`), `unsafe`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for any other text.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "no" => Ok(Casting::No),
            "equiv" => Ok(Casting::Equiv),
            "safe" => Ok(Casting::Safe),
            "same_kind" | "same-kind" => Ok(Casting::SameKind),
            "unsafe" => Ok(Casting::Unsafe),
            _ => Err(Error::InvalidArgument(format!(
                "unknown casting rule {s:?} (expected no, equiv, safe, same_kind or unsafe)"
            ))),
        }
    }
}

/// What NumPy's `np.can_cast(from, to, casting)` answers.
///
/// Covers every dtype npaa models: numbers (long double included), bool, `S`, `U`, `V`,
/// `O`, `M8`/`m8` with NumPy's unit rules, and records (matched field by field in order, as
/// NumPy 2 does). One known difference: NumPy treats a zero-size `S0`/`U0`/`V0` target as
/// "any size" (so `np.can_cast('<i4', 'S0', 'safe')` is true); npaa treats it as a real
/// zero-byte type.
///
/// That NumPy allows a cast does not mean npaa implements it: see [`Error::CastUnsupported`].
pub fn can_cast(from: &Dtype, to: &Dtype, casting: Casting) -> bool {
    level(Ty::plain(from), Ty::plain(to)).is_some_and(|l| l.rank() <= casting.rank())
}

/// A dtype with an optional subarray shape: how a record field looks to NumPy's cast rules.
#[derive(Clone, Copy)]
struct Ty<'a> {
    dtype: &'a Dtype,
    shape: &'a [u64],
}

impl<'a> Ty<'a> {
    /// A dtype on its own; a [`Dtype::Subarray`] is its base with its shape.
    fn plain(dtype: &'a Dtype) -> Self {
        match dtype {
            Dtype::Subarray(a) => Ty {
                dtype: &a.base,
                shape: &a.shape,
            },
            _ => Ty { dtype, shape: &[] },
        }
    }

    fn field(f: &'a Field) -> Self {
        if f.shape.is_empty() {
            return Ty::plain(&f.dtype);
        }
        Ty {
            dtype: &f.dtype,
            shape: &f.shape,
        }
    }

    fn is_sub(&self) -> bool {
        !self.shape.is_empty()
    }

    /// The subarray's element type.
    fn base(&self) -> Ty<'a> {
        Ty::plain(self.dtype)
    }

    fn scalar(&self) -> Option<&'a Scalar> {
        match self.dtype {
            Dtype::Scalar(s) if !self.is_sub() => Some(s),
            _ => None,
        }
    }

    fn record(&self) -> Option<&'a Record> {
        match self.dtype {
            Dtype::Record(r) if !self.is_sub() => Some(r),
            _ => None,
        }
    }

    fn is_plain_kind(&self, pred: impl Fn(&Kind) -> bool) -> bool {
        self.scalar().is_some_and(|s| pred(&s.kind))
    }
}

/// The strictest rule under which NumPy allows the cast; `None` when no rule does (a record
/// with several fields to a scalar, records with different field counts).
///
/// This follows the resolvers of NumPy 2's `convert_datatype.c` (`void_to_void`,
/// `structured_to_nonstructured`, `nonstructured_to_structured`, `can_cast_fields_safety`,
/// `time_to_time`) and the legacy scalar tables. Recursion is bounded by record nesting.
fn level(from: Ty<'_>, to: Ty<'_>) -> Option<Casting> {
    if from.shape == to.shape && same_dtype(from.dtype, to.dtype) {
        return Some(Casting::No);
    }
    // Any dtype casts safely to object; object casts to anything else only unsafely.
    if to.is_plain_kind(|k| *k == Kind::Object) {
        return Some(Casting::Safe);
    }
    if from.is_plain_kind(|k| *k == Kind::Object) {
        return Some(Casting::Unsafe);
    }
    if let (Some(a), Some(b)) = (from.record(), to.record()) {
        return fields_level(a, b);
    }
    if let Some(a) = from.record() {
        // Structured to non-structured: only from a single field, always unsafe.
        return match a.fields.as_slice() {
            [only] => level(Ty::field(only), to).map(|_| Casting::Unsafe),
            _ => None,
        };
    }
    if let Some(b) = to.record() {
        // Non-structured to structured: each field must be reachable; always unsafe.
        for field in &b.fields {
            level(from, Ty::field(field))?;
        }
        return Some(Casting::Unsafe);
    }
    let from_void = from.is_plain_kind(|k| *k == Kind::Void);
    let to_void = to.is_plain_kind(|k| *k == Kind::Void);
    match (from.is_sub(), to.is_sub()) {
        (false, false) => match (from.scalar(), to.scalar()) {
            (Some(a), Some(b)) => Some(scalar_level(a, b)),
            _ => None,
        },
        (true, true) => {
            let base = level(from.base(), to.base())?;
            Some(if from.shape == to.shape {
                base
            } else {
                base.max(Casting::Unsafe)
            })
        }
        // Plain void to subarray: "at most unsafe".
        (false, true) if from_void => Some(level(from, to.base())?.max(Casting::Unsafe)),
        // Anything else to a subarray: "at most safe".
        (false, true) => Some(level(from, to.base())?.max(Casting::Safe)),
        // Subarray to plain void: "at most unsafe".
        (true, false) if to_void => Some(level(from.base(), to)?.max(Casting::Unsafe)),
        // Subarray to anything else: always unsafe.
        (true, false) => level(from.base(), to).map(|_| Casting::Unsafe),
    }
}

/// Record to record: NumPy's `can_cast_fields_safety` (fields matched by position).
fn fields_level(a: &Record, b: &Record) -> Option<Casting> {
    if a.fields.len() != b.fields.len() {
        return None;
    }
    let mut casting = Casting::No;
    let mut same_offsets = true;
    for (fa, fb) in a.fields.iter().zip(&b.fields) {
        if fa.name != fb.name {
            casting = casting.max(Casting::Safe);
        }
        // A field without a title compares its name in place of the title.
        let ta = fa.title.as_deref().unwrap_or(&fa.name);
        let tb = fb.title.as_deref().unwrap_or(&fb.name);
        if ta != tb {
            casting = casting.max(Casting::Safe);
        }
        casting = casting.max(level(Ty::field(fa), Ty::field(fb))?);
        same_offsets &= fa.offset == fb.offset;
    }
    if casting == Casting::No && (!same_offsets || a.itemsize != b.itemsize) {
        casting = Casting::Equiv;
    }
    Some(casting)
}

/// Structural equality with byte orders normalised (`=f8` equals `<f8` on little-endian).
fn same_dtype(a: &Dtype, b: &Dtype) -> bool {
    match (a, b) {
        (Dtype::Scalar(x), Dtype::Scalar(y)) => {
            x.kind == y.kind && x.size == y.size && x.effective_order() == y.effective_order()
        }
        (Dtype::Record(x), Dtype::Record(y)) => {
            x.itemsize == y.itemsize
                && x.fields.len() == y.fields.len()
                && x.fields.iter().zip(&y.fields).all(|(f, g)| {
                    f.name == g.name
                        && f.title == g.title
                        && f.offset == g.offset
                        && f.shape == g.shape
                        && same_dtype(&f.dtype, &g.dtype)
                })
        }
        (Dtype::Subarray(x), Dtype::Subarray(y)) => {
            x.shape == y.shape && same_dtype(&x.base, &y.base)
        }
        _ => false,
    }
}

/// Scalar to scalar, for two different dtypes (identity was handled by the caller).
fn scalar_level(a: &Scalar, b: &Scalar) -> Casting {
    use Kind::*;
    match (&a.kind, &b.kind) {
        (Object, _) | (_, Object) => Casting::Unsafe, // object targets are handled earlier
        (Void, Void) => {
            if a.size < b.size {
                Casting::Safe
            } else {
                Casting::SameKind
            }
        }
        (_, Void) => {
            if a.size <= b.size {
                Casting::Safe
            } else {
                Casting::Unsafe
            }
        }
        (Void, _) => Casting::Unsafe,
        (Bool | Int | Uint | Float | Complex, Bool | Int | Uint | Float | Complex) => {
            numeric_level(a, b)
        }
        (Bool | Int | Uint | Float | Complex, Bytes | Unicode) => {
            if chars(b) >= required_str_len(a) {
                Casting::Safe
            } else {
                Casting::SameKind
            }
        }
        (Bytes, Bytes | Unicode) => {
            if chars(b) >= a.size {
                Casting::Safe
            } else {
                Casting::SameKind
            }
        }
        (Unicode, Unicode) => {
            if a.size == b.size {
                Casting::Equiv
            } else if a.size < b.size {
                Casting::Safe
            } else {
                Casting::SameKind
            }
        }
        (Bool | Int | Uint, Timedelta(_)) => {
            let int64 = Scalar {
                kind: Int,
                size: 8,
                order: ByteOrder::NotApplicable,
            };
            if numeric_level(a, &int64).rank() <= Casting::Safe.rank() {
                Casting::Safe
            } else {
                Casting::SameKind
            }
        }
        (Datetime(x), Datetime(y)) => {
            time_level(x, y, false, a.effective_order() == b.effective_order())
        }
        (Timedelta(x), Timedelta(y)) => {
            time_level(x, y, true, a.effective_order() == b.effective_order())
        }
        _ => Casting::Unsafe,
    }
}

/// Characters a `S`/`U` dtype holds.
fn chars(s: &Scalar) -> usize {
    if s.kind == Kind::Unicode {
        s.size / 4
    } else {
        s.size
    }
}

/// Characters NumPy requires to cast a number safely to a string (`REQUIRED_STR_LEN`).
fn required_str_len(s: &Scalar) -> usize {
    let uint = |size: usize| match size {
        1 => 3,
        2 => 5,
        4 => 10,
        _ => 20,
    };
    let float = |size: usize| if size > 8 { 48 } else { 32 };
    match s.kind {
        Kind::Bool => 5,
        Kind::Uint => uint(s.size),
        Kind::Int => uint(s.size) + 1,
        Kind::Float => float(s.size),
        Kind::Complex => 2 * float(s.size / 2),
        _ => usize::MAX,
    }
}

/// Numeric kinds in NumPy's "same kind" order.
fn kind_rank(k: &Kind) -> u8 {
    match k {
        Kind::Bool => 0,
        Kind::Uint => 1,
        Kind::Int => 2,
        Kind::Float => 3,
        _ => 4,
    }
}

/// Bool/int/uint/float/complex to another of those (not identical).
fn numeric_level(a: &Scalar, b: &Scalar) -> Casting {
    use Kind::*;
    if a.kind == b.kind && a.size == b.size {
        return Casting::Equiv;
    }
    // The float size that holds every value of an integer of this size.
    let float_for_int = |size: usize| match size {
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let safe = match (&a.kind, &b.kind) {
        (Bool, _) => true,
        (_, Bool) => false,
        (Uint, Uint) | (Int, Int) | (Float, Float) | (Complex, Complex) => b.size >= a.size,
        (Uint, Int) => b.size > a.size,
        (Uint | Int, Float) => b.size >= float_for_int(a.size),
        (Uint | Int, Complex) => b.size >= 2 * float_for_int(a.size).max(4),
        (Float, Complex) => b.size >= a.size.saturating_mul(2),
        _ => false,
    };
    if safe {
        Casting::Safe
    } else if kind_rank(&a.kind) <= kind_rank(&b.kind) && !(a.kind == Int && b.kind == Uint) {
        Casting::SameKind
    } else {
        Casting::Unsafe
    }
}

/// `datetime64`/`timedelta64` to the same kind with another unit or byte order
/// (NumPy's `time_to_time_resolve_descriptors`).
fn time_level(a: &TimeUnit, b: &TimeUnit, timedelta: bool, same_order: bool) -> Casting {
    if (a.unit == b.unit && a.count == b.count) || metric_fold(a, b) {
        return if same_order {
            Casting::No
        } else {
            Casting::Equiv
        };
    }
    if a.unit.is_none() {
        return Casting::Safe;
    }
    if b.unit.is_none() {
        return Casting::Unsafe;
    }
    let (Some(ra), Some(rb)) = (a.rank(), b.rank()) else {
        return Casting::Unsafe;
    };
    // Years and months do not convert to the other units for timedelta.
    const MONTH: usize = 1;
    if timedelta && ((ra <= MONTH) != (rb <= MONTH)) {
        return Casting::Unsafe;
    }
    if ra <= rb {
        if time_divides(a.count, ra, b.count, rb, timedelta) {
            Casting::Safe
        } else {
            Casting::SameKind
        }
    } else {
        Casting::SameKind
    }
}

/// NumPy's shortcut for "common metric prefix conversions": `[1000ms]` to `[s]`,
/// `[2000000us]` to `[2s]`, ... (a coarser target unit of at least seconds, 1 to 3 steps of
/// 1000 away) count as a view. The multipliers are compared with C's integer division, as in
/// NumPy, so `[2001ms]` to `[2s]` passes too.
fn metric_fold(a: &TimeUnit, b: &TimeUnit) -> bool {
    const SECOND: usize = 6;
    let (Some(ra), Some(rb)) = (a.rank(), b.rank()) else {
        return false;
    };
    let Some(steps) = ra.checked_sub(rb).filter(|s| (1..=3).contains(s)) else {
        return false;
    };
    let Ok(steps) = u32::try_from(steps) else {
        return false;
    };
    rb >= SECOND && a.count.checked_div(b.count) == Some(1000u64.pow(steps))
}

/// NumPy's `datetime_metadata_divides`: whether one step of unit `a` is a whole number of
/// steps of unit `b`. Arithmetic wraps as NumPy's `npy_uint64` does.
fn time_divides(count_a: u64, ra: usize, count_b: u64, rb: usize, strict: bool) -> bool {
    const YEAR: usize = 0;
    const MONTH: usize = 1;
    const TOP_BYTE: u64 = 0xff00_0000_0000_0000;
    let mut num1 = count_a;
    let mut num2 = count_b;
    if ra != rb {
        if ra == YEAR {
            if rb == MONTH {
                num1 = num1.wrapping_mul(12);
            } else {
                return !strict;
            }
        } else if rb == YEAR {
            if ra == MONTH {
                num2 = num2.wrapping_mul(12);
            } else {
                return !strict;
            }
        } else if ra == MONTH || rb == MONTH {
            return !strict;
        }
        if ra > rb {
            match units_factor(rb, ra) {
                Some(f) => num2 = num2.wrapping_mul(f),
                None => return false,
            }
        } else {
            match units_factor(ra, rb) {
                Some(f) => num1 = num1.wrapping_mul(f),
                None => return false,
            }
        }
    }
    if num1 & TOP_BYTE != 0 || num2 & TOP_BYTE != 0 {
        return false;
    }
    // NumPy divides by zero here for a `[0s]` unit; npaa says "does not divide".
    num1.checked_rem(num2) == Some(0)
}

/// NumPy's `get_datetime_units_factor`: steps of unit `little` in one step of unit `big`;
/// `None` when the factor reaches the top byte of a u64.
fn units_factor(big: usize, little: usize) -> Option<u64> {
    // Y, M (not used), W -> D, D -> h, h -> m, m -> s, s -> ms, ..., fs -> as.
    const FACTORS: [u64; 13] = [1, 1, 7, 24, 60, 60, 1000, 1000, 1000, 1000, 1000, 1000, 1];
    let mut factor: u64 = 1;
    for unit in big..little {
        factor = factor.checked_mul(*FACTORS.get(unit)?)?;
        if factor & 0xff00_0000_0000_0000 != 0 {
            return None;
        }
    }
    Some(factor)
}

/// A conversion from one dtype to another, prepared once and applied to whole items.
#[derive(Debug)]
pub(crate) struct CastPlan {
    src_itemsize: usize,
    dst_itemsize: usize,
    op: Op,
}

#[derive(Debug)]
enum Op {
    /// The bytes are copied as they are.
    Identity,
    /// Reverse every `width` bytes (scalars, `U` strings, complex numbers).
    SwapEvery(usize),
    /// Copy, then reverse these byte ranges inside each item (records).
    Swap(Vec<SwapOp>),
    /// Element-wise value conversion between numeric scalars.
    Convert(Kernel),
}

/// Byte ranges to reverse inside one item.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SwapOp {
    /// Reverse `count` ranges of `width` bytes, at `offset`, `offset + stride`, ...
    Run {
        offset: usize,
        width: usize,
        count: usize,
        stride: usize,
    },
    /// Apply `ops` to `count` sub-items at `offset`, `offset + stride`, ... (a subarray of
    /// records).
    Repeat {
        offset: usize,
        count: usize,
        stride: usize,
        ops: Vec<SwapOp>,
    },
}

/// A monomorphised conversion loop and the byte orders of both sides.
#[derive(Debug)]
struct Kernel {
    run: KernelFn,
    src_big: bool,
    dst_big: bool,
}

/// Converts whole elements of `src` (big-endian if the flag says so) into `dst`.
type KernelFn = fn(&[u8], bool, &mut [u8], bool);

impl CastPlan {
    /// Prepares the conversion of items of dtype `from` into items of dtype `to`.
    ///
    /// # Errors
    /// - [`Error::ObjectDtype`] if either side holds Python objects;
    /// - [`Error::Cast`] when `casting` forbids the cast (as `np.can_cast` would);
    /// - [`Error::CastUnsupported`] when NumPy allows it but npaa does not implement it
    ///   (see the module docs for what is implemented);
    /// - [`Error::InvalidDtype`] for a hand-built record whose fields reach past its item
    ///   size.
    pub(crate) fn new(from: &Dtype, to: &Dtype, casting: Casting) -> Result<CastPlan, Error> {
        // The usual case, a block of the file's own dtype: every rule allows it, and the bytes
        // are copied as they are (what `derive` concludes, in fewer steps).
        if from == to && !from.has_object() {
            return Ok(CastPlan {
                src_itemsize: from.itemsize(),
                dst_itemsize: to.itemsize(),
                op: Op::Identity,
            });
        }
        Self::derive(from, to, casting)
    }

    /// [`new`](Self::new) worked out from the casting rules, for any pair of dtypes.
    fn derive(from: &Dtype, to: &Dtype, casting: Casting) -> Result<CastPlan, Error> {
        for d in [from, to] {
            if d.has_object() {
                return Err(Error::ObjectDtype {
                    descr: d.descr(),
                    path: None,
                });
            }
        }
        if !can_cast(from, to, casting) {
            return Err(Error::Cast {
                from: from.descr(),
                to: to.descr(),
                casting,
                path: None,
            });
        }
        let op = if let Some(ops) = swap_ops(from, to) {
            check_swap_ops(&ops, from.itemsize()).map_err(|reason| Error::InvalidDtype {
                descr: from.descr(),
                reason,
            })?;
            match ops.as_slice() {
                [] => Op::Identity,
                [
                    SwapOp::Run {
                        offset: 0,
                        width,
                        count,
                        stride,
                    },
                ] if width == stride && width.checked_mul(*count) == Some(from.itemsize()) => {
                    Op::SwapEvery(*width)
                }
                _ => Op::Swap(ops),
            }
        } else if let Some(kernel) = numeric_kernel(from, to) {
            Op::Convert(kernel)
        } else {
            return Err(Error::CastUnsupported {
                from: from.descr(),
                to: to.descr(),
                path: None,
            });
        };
        Ok(CastPlan {
            src_itemsize: from.itemsize(),
            dst_itemsize: to.itemsize(),
            op,
        })
    }

    /// True if the bytes can be copied as they are.
    pub(crate) fn is_identity(&self) -> bool {
        matches!(self.op, Op::Identity)
    }

    /// Item size of the source dtype, in bytes.
    pub(crate) fn src_itemsize(&self) -> usize {
        self.src_itemsize
    }

    /// Item size of the destination dtype, in bytes.
    pub(crate) fn dst_itemsize(&self) -> usize {
        self.dst_itemsize
    }

    /// Converts whole items: `src.len()` should be `n * src_itemsize` and `dst.len()`
    /// `n * dst_itemsize`. If they disagree, only the first `min` of the two item counts is
    /// converted (never a panic); the rest of `dst` is left as it is.
    pub(crate) fn convert(&self, src: &[u8], dst: &mut [u8]) {
        if self.src_itemsize == 0 || self.dst_itemsize == 0 {
            return;
        }
        let n = (src.len() / self.src_itemsize).min(dst.len() / self.dst_itemsize);
        let (Some(src), Some(dst)) = (
            src.get(..n * self.src_itemsize),
            dst.get_mut(..n * self.dst_itemsize),
        ) else {
            return;
        };
        match &self.op {
            Op::Identity => dst.copy_from_slice(src),
            Op::SwapEvery(width) => swap_copy(*width, src, dst),
            Op::Swap(ops) => {
                dst.copy_from_slice(src);
                for item in dst.chunks_exact_mut(self.dst_itemsize) {
                    apply_swap(ops, item);
                }
            }
            Op::Convert(k) => (k.run)(src, k.src_big, dst, k.dst_big),
        }
    }
}

/// Copies `src` to `dst` (same length) reversing every `width` bytes.
fn swap_copy(width: usize, src: &[u8], dst: &mut [u8]) {
    match width {
        2 => swap_copy_n::<2>(src, dst),
        4 => swap_copy_n::<4>(src, dst),
        8 => swap_copy_n::<8>(src, dst),
        16 => swap_copy_n::<16>(src, dst),
        _ => {
            dst.copy_from_slice(src);
            if width > 1 {
                dst.chunks_exact_mut(width).for_each(<[u8]>::reverse);
            }
        }
    }
}

/// [`swap_copy`] for a width known at compile time, which the compiler vectorises.
fn swap_copy_n<const N: usize>(src: &[u8], dst: &mut [u8]) {
    let (src, _) = src.as_chunks::<N>();
    let (dst, _) = dst.as_chunks_mut::<N>();
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
        d.reverse();
    }
}

/// Applies `ops` to one item. Ranges were checked against the item size in
/// [`check_swap_ops`], so the arithmetic cannot overflow; a range that does not fit is
/// skipped all the same.
fn apply_swap(ops: &[SwapOp], item: &mut [u8]) {
    for op in ops {
        match op {
            SwapOp::Run {
                offset,
                width,
                count,
                stride,
            } => {
                for k in 0..*count {
                    let start = offset + k * stride;
                    if let Some(range) = item.get_mut(start..start + width) {
                        range.reverse();
                    }
                }
            }
            SwapOp::Repeat {
                offset,
                count,
                stride,
                ops,
            } => {
                for k in 0..*count {
                    if let Some(sub) = item.get_mut(offset + k * stride..) {
                        apply_swap(ops, sub);
                    }
                }
            }
        }
    }
}

/// Checks that every range of `ops` lies within `size` bytes (hand-built records may lie).
fn check_swap_ops(ops: &[SwapOp], size: usize) -> Result<(), String> {
    let past = || "a field reaches past the item size".to_owned();
    for op in ops {
        let (offset, count, stride, inner) = match op {
            SwapOp::Run {
                offset,
                width,
                count,
                stride,
            } => (*offset, *count, *stride, *width),
            SwapOp::Repeat {
                offset,
                count,
                stride,
                ops,
            } => {
                let inner = size.checked_sub(*offset).ok_or_else(past)?;
                check_swap_ops(ops, inner)?;
                (*offset, *count, *stride, 0)
            }
        };
        if count == 0 {
            continue;
        }
        let end = stride
            .checked_mul(count - 1)
            .and_then(|x| x.checked_add(offset))
            .and_then(|x| x.checked_add(inner))
            .ok_or_else(past)?;
        if end > size {
            return Err(past());
        }
    }
    Ok(())
}

/// The byte swaps that turn `from` items into `to` items, if the two dtypes hold the same
/// values in the same places and differ at most in byte order (`Some(vec![])`: identical).
fn swap_ops(from: &Dtype, to: &Dtype) -> Option<Vec<SwapOp>> {
    let mut ops = Vec::new();
    push_swap_ops(from, to, 0, &mut ops)?;
    Some(ops)
}

fn push_swap_ops(from: &Dtype, to: &Dtype, base: usize, ops: &mut Vec<SwapOp>) -> Option<()> {
    match (from, to) {
        (Dtype::Scalar(a), Dtype::Scalar(b)) => {
            let same_values = match (&a.kind, &b.kind) {
                // `[1000ms]` and `[s]` hold the same numbers.
                (Kind::Datetime(x), Kind::Datetime(y))
                | (Kind::Timedelta(x), Kind::Timedelta(y)) => same_duration(x, y),
                (x, y) => x == y,
            };
            if !same_values || a.size != b.size {
                return None;
            }
            if a.effective_order() != b.effective_order() {
                let size = a.size;
                let (width, count) = match a.kind {
                    Kind::Complex => (size / 2, 2),
                    Kind::Unicode => (4, size / 4),
                    _ => (size, 1),
                };
                if width > 1 && count > 0 {
                    ops.push(SwapOp::Run {
                        offset: base,
                        width,
                        count,
                        stride: width,
                    });
                }
            }
            Some(())
        }
        (Dtype::Record(a), Dtype::Record(b)) => {
            if a.itemsize != b.itemsize || a.fields.len() != b.fields.len() {
                return None;
            }
            for (fa, fb) in a.fields.iter().zip(&b.fields) {
                if fa.name != fb.name || fa.offset != fb.offset || fa.shape != fb.shape {
                    return None;
                }
                push_repeated_swap_ops(
                    &fa.dtype,
                    &fb.dtype,
                    fa.count(),
                    base.checked_add(fa.offset)?,
                    ops,
                )?;
            }
            Some(())
        }
        (Dtype::Subarray(a), Dtype::Subarray(b)) if a.shape == b.shape => {
            push_repeated_swap_ops(&a.base, &b.base, count(&a.shape), base, ops)
        }
        _ => None,
    }
}

/// The swaps of `count` consecutive items of `from` at `offset` (a subarray), as few ops as
/// possible.
fn push_repeated_swap_ops(
    from: &Dtype,
    to: &Dtype,
    count: usize,
    offset: usize,
    ops: &mut Vec<SwapOp>,
) -> Option<()> {
    let mut inner = Vec::new();
    push_swap_ops(from, to, 0, &mut inner)?;
    let stride = from.itemsize();
    match inner.as_slice() {
        [] => {}
        _ if count == 1 => ops.extend(inner.into_iter().map(|op| shift(op, offset))),
        // A subarray of scalars: one longer run.
        [
            SwapOp::Run {
                offset: o,
                width,
                count: c,
                stride: s,
            },
        ] if s.checked_mul(*c) == Some(stride) => ops.push(SwapOp::Run {
            offset: offset.checked_add(*o)?,
            width: *width,
            count: c.checked_mul(count)?,
            stride: *s,
        }),
        _ => ops.push(SwapOp::Repeat {
            offset,
            count,
            stride,
            ops: inner,
        }),
    }
    Some(())
}

/// Whether one step of each unit is the same length of time (`[1000ms]` and `[s]`, `[60m]`
/// and `[h]`), so that the stored numbers need no conversion.
fn same_duration(a: &TimeUnit, b: &TimeUnit) -> bool {
    if a == b {
        return true;
    }
    // Years and months are calendar units, measured in months; the others in attoseconds.
    const PER_STEP: [u128; 13] = [
        12,
        1,
        604_800 * 1_000_000_000_000_000_000,
        86_400 * 1_000_000_000_000_000_000,
        3_600 * 1_000_000_000_000_000_000,
        60 * 1_000_000_000_000_000_000,
        1_000_000_000_000_000_000,
        1_000_000_000_000_000,
        1_000_000_000_000,
        1_000_000_000,
        1_000_000,
        1_000,
        1,
    ];
    const MONTH: usize = 1;
    let (Some(ra), Some(rb)) = (a.rank(), b.rank()) else {
        return false;
    };
    if (ra <= MONTH) != (rb <= MONTH) {
        return false;
    }
    let length = |rank: usize, count: u64| {
        PER_STEP
            .get(rank)
            .and_then(|&unit| u128::from(count).checked_mul(unit))
    };
    matches!((length(ra, a.count), length(rb, b.count)), (Some(x), Some(y)) if x == y && x != 0)
}

/// `op` moved `by` bytes further into the item.
fn shift(op: SwapOp, by: usize) -> SwapOp {
    match op {
        SwapOp::Run {
            offset,
            width,
            count,
            stride,
        } => SwapOp::Run {
            offset: offset.saturating_add(by),
            width,
            count,
            stride,
        },
        SwapOp::Repeat {
            offset,
            count,
            stride,
            ops,
        } => SwapOp::Repeat {
            offset: offset.saturating_add(by),
            count,
            stride,
            ops,
        },
    }
}

// ---------------------------------------------------------------------------------------
// Numeric value conversion kernels.

/// The numeric element types npaa converts between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Num {
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    #[cfg(feature = "f16")]
    F16,
    F32,
    F64,
    C64,
    C128,
}

fn num_type(s: &Scalar) -> Option<Num> {
    Some(match (&s.kind, s.size) {
        (Kind::Bool, 1) => Num::Bool,
        (Kind::Int, 1) => Num::I8,
        (Kind::Int, 2) => Num::I16,
        (Kind::Int, 4) => Num::I32,
        (Kind::Int, 8) => Num::I64,
        (Kind::Uint, 1) => Num::U8,
        (Kind::Uint, 2) => Num::U16,
        (Kind::Uint, 4) => Num::U32,
        (Kind::Uint, 8) => Num::U64,
        #[cfg(feature = "f16")]
        (Kind::Float, 2) => Num::F16,
        (Kind::Float, 4) => Num::F32,
        (Kind::Float, 8) => Num::F64,
        (Kind::Complex, 8) => Num::C64,
        (Kind::Complex, 16) => Num::C128,
        _ => return None,
    })
}

/// The value-converting kernel from `from` to `to`, if both are numeric scalars npaa
/// converts.
fn numeric_kernel(from: &Dtype, to: &Dtype) -> Option<Kernel> {
    let (Dtype::Scalar(a), Dtype::Scalar(b)) = (from, to) else {
        return None;
    };
    let run = select_kernel(num_type(a)?, num_type(b)?);
    Some(Kernel {
        run,
        src_big: a.effective_order() == ByteOrder::Big,
        dst_big: b.effective_order() == ByteOrder::Big,
    })
}

/// A complex number stored as two consecutive floats (real, imaginary).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Complex<F> {
    re: F,
    im: F,
}

/// An element type that can be read from and written to bytes in either byte order.
trait Elem: Copy {
    /// Bytes per element (never 0).
    const SIZE: usize;
    /// Reads the element at the start of `b` (zero if `b` is too short, which the kernel's
    /// exact chunks rule out).
    fn read(b: &[u8], big: bool) -> Self;
    /// Writes the element at the start of `b` (nothing if `b` is too short).
    fn write(self, b: &mut [u8], big: bool);
}

macro_rules! impl_elem_prim {
    ($($t:ty),*) => {$(
        impl Elem for $t {
            const SIZE: usize = size_of::<$t>();
            #[inline]
            fn read(b: &[u8], big: bool) -> Self {
                match b.first_chunk::<{ size_of::<$t>() }>() {
                    Some(a) if big => <$t>::from_be_bytes(*a),
                    Some(a) => <$t>::from_le_bytes(*a),
                    None => <$t>::default(),
                }
            }
            #[inline]
            fn write(self, b: &mut [u8], big: bool) {
                if let Some(a) = b.first_chunk_mut::<{ size_of::<$t>() }>() {
                    *a = if big { self.to_be_bytes() } else { self.to_le_bytes() };
                }
            }
        }
    )*};
}
impl_elem_prim!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

#[cfg(feature = "f16")]
impl Elem for half::f16 {
    const SIZE: usize = 2;
    #[inline]
    fn read(b: &[u8], big: bool) -> Self {
        half::f16::from_bits(u16::read(b, big))
    }
    #[inline]
    fn write(self, b: &mut [u8], big: bool) {
        self.to_bits().write(b, big);
    }
}

impl Elem for bool {
    const SIZE: usize = 1;
    /// NumPy reads any non-zero byte as true.
    #[inline]
    fn read(b: &[u8], _big: bool) -> Self {
        b.first().is_some_and(|&x| x != 0)
    }
    #[inline]
    fn write(self, b: &mut [u8], _big: bool) {
        if let Some(x) = b.first_mut() {
            *x = u8::from(self);
        }
    }
}

impl<F: Elem> Elem for Complex<F> {
    const SIZE: usize = 2 * F::SIZE;
    #[inline]
    fn read(b: &[u8], big: bool) -> Self {
        Complex {
            re: F::read(b, big),
            im: F::read(b.get(F::SIZE..).unwrap_or(&[]), big),
        }
    }
    #[inline]
    fn write(self, b: &mut [u8], big: bool) {
        self.re.write(b, big);
        if let Some(rest) = b.get_mut(F::SIZE..) {
            self.im.write(rest, big);
        }
    }
}

/// A conversion with NumPy's value semantics (see the module docs).
trait CastTo<D> {
    fn cast_to(self) -> D;
}

/// Primitive to primitive: Rust's `as` is NumPy's C cast for in-range values.
macro_rules! impl_as_casts {
    ($($s:ty),*; $d:tt) => { $( impl_as_casts!(@one $s; $d); )* };
    (@one $s:ty; [$($d:ty),*]) => {$(
        impl CastTo<$d> for $s {
            #[inline]
            #[allow(clippy::unnecessary_cast, reason = "generated for every pair, same type included")]
            fn cast_to(self) -> $d {
                self as $d
            }
        }
    )*};
}
impl_as_casts!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64;
    [i8, i16, i32, i64, u8, u16, u32, u64, f32, f64]);

/// Bool, complex and primitive conversions for one primitive type `$t`.
macro_rules! impl_mixed_casts {
    ($($t:ty),*) => {$(
        impl CastTo<bool> for $t {
            #[inline]
            #[allow(clippy::float_cmp, reason = "NumPy's bool cast is an exact comparison")]
            fn cast_to(self) -> bool {
                self != (0 as $t)
            }
        }
        impl CastTo<$t> for bool {
            #[inline]
            fn cast_to(self) -> $t {
                u8::from(self) as $t
            }
        }
        impl CastTo<Complex<f32>> for $t {
            #[inline]
            fn cast_to(self) -> Complex<f32> {
                Complex { re: self as f32, im: 0.0 }
            }
        }
        impl CastTo<Complex<f64>> for $t {
            #[inline]
            fn cast_to(self) -> Complex<f64> {
                Complex { re: self as f64, im: 0.0 }
            }
        }
        impl CastTo<$t> for Complex<f32> {
            #[inline]
            fn cast_to(self) -> $t {
                self.re as $t
            }
        }
        impl CastTo<$t> for Complex<f64> {
            #[inline]
            fn cast_to(self) -> $t {
                self.re as $t
            }
        }
    )*};
}
impl_mixed_casts!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

impl CastTo<bool> for bool {
    #[inline]
    fn cast_to(self) -> bool {
        self
    }
}

impl CastTo<Complex<f32>> for bool {
    #[inline]
    fn cast_to(self) -> Complex<f32> {
        Complex {
            re: f32::from(u8::from(self)),
            im: 0.0,
        }
    }
}

impl CastTo<Complex<f64>> for bool {
    #[inline]
    fn cast_to(self) -> Complex<f64> {
        Complex {
            re: f64::from(u8::from(self)),
            im: 0.0,
        }
    }
}

macro_rules! impl_complex_casts {
    ($($f:ty),*) => {$(
        impl CastTo<bool> for Complex<$f> {
            #[inline]
            fn cast_to(self) -> bool {
                self.re != 0.0 || self.im != 0.0
            }
        }
        impl CastTo<Complex<f32>> for Complex<$f> {
            #[inline]
            #[allow(clippy::unnecessary_cast, reason = "generated for both float widths")]
            fn cast_to(self) -> Complex<f32> {
                Complex { re: self.re as f32, im: self.im as f32 }
            }
        }
        impl CastTo<Complex<f64>> for Complex<$f> {
            #[inline]
            #[allow(clippy::unnecessary_cast, reason = "generated for both float widths")]
            fn cast_to(self) -> Complex<f64> {
                Complex { re: self.re as f64, im: self.im as f64 }
            }
        }
    )*};
}
impl_complex_casts!(f32, f64);

/// Half precision follows NumPy's loops: to other types through `f32` (exact), from
/// integers through `f32` (`npy_float_to_half((float)x)`), from `f32` and `f64` with one
/// rounding to nearest even ([`half_casts::f64_to_f16`]).
#[cfg(feature = "f16")]
mod half_casts {
    use half::f16;

    use super::{CastTo, Complex};

    /// `f64` to `f16` with a single rounding to nearest, ties to even: NumPy's
    /// `npy_doublebits_to_halfbits`. (`half::f16::from_f64` may round twice, through `f32`,
    /// when it uses the F16C instructions, and then differs from NumPy.) Also used for `f32`,
    /// which widens to `f64` exactly.
    pub(super) fn f64_to_f16(x: f64) -> f16 {
        const SIGN: u64 = 0x8000_0000_0000_0000;
        const EXP: u64 = 0x7ff0_0000_0000_0000;
        const FRAC: u64 = 0x000f_ffff_ffff_ffff;
        let d = x.to_bits();
        let sign = ((d & SIGN) >> 48) as u16;
        let d_exp = d & EXP;
        let d_sig = d & FRAC;
        // 2^16 and above (and inf, NaN): inf, or NaN keeping the top payload bits.
        if d_exp >= 0x40f0_0000_0000_0000 {
            if d_exp == EXP && d_sig != 0 {
                let nan = 0x7c00 | ((d_sig >> 42) as u16);
                return f16::from_bits(sign | if nan == 0x7c00 { 0x7c01 } else { nan });
            }
            return f16::from_bits(sign | 0x7c00);
        }
        // Below 2^-14: a subnormal half, or zero below 2^-25.
        if d_exp <= 0x3f00_0000_0000_0000 {
            if d_exp < 0x3e60_0000_0000_0000 {
                return f16::from_bits(sign);
            }
            let shift = (d_exp >> 52) - 998; // 0..=10
            let mut sig = (0x0010_0000_0000_0000 | d_sig) << shift;
            if sig & 0x003f_ffff_ffff_ffff != 0x0010_0000_0000_0000 {
                sig += 0x0010_0000_0000_0000;
            }
            // A carry into the exponent gives the smallest normal: correct.
            return f16::from_bits(sign | ((sig >> 53) as u16));
        }
        let h_exp = ((d_exp - 0x3f00_0000_0000_0000) >> 42) as u16;
        let mut sig = d_sig;
        if sig & 0x0000_07ff_ffff_ffff != 0x0000_0200_0000_0000 {
            sig += 0x0000_0200_0000_0000;
        }
        // A carry into the exponent is correct, up to inf (0x7c00).
        f16::from_bits(sign | (h_exp + (sig >> 42) as u16))
    }

    /// `f32` to `f64` exactly, keeping a signalling NaN signalling (as NumPy's bit-level
    /// half conversions do; a hardware conversion would quiet it).
    fn widen_f32(x: f32) -> f64 {
        if x.is_nan() {
            let b = u64::from(x.to_bits());
            f64::from_bits(
                ((b & 0x8000_0000) << 32) | 0x7ff0_0000_0000_0000 | ((b & 0x007f_ffff) << 29),
            )
        } else {
            f64::from(x)
        }
    }

    /// `f16` to `f32` exactly (NaN payloads copied bit for bit, as NumPy does).
    fn half_to_f32(h: f16) -> f32 {
        if h.is_nan() {
            let b = u32::from(h.to_bits());
            f32::from_bits(((b & 0x8000) << 16) | 0x7f80_0000 | ((b & 0x03ff) << 13))
        } else {
            f32::from(h)
        }
    }

    /// `f16` to `f64` exactly (NaN payloads copied bit for bit, as NumPy does).
    fn half_to_f64(h: f16) -> f64 {
        if h.is_nan() {
            let b = u64::from(h.to_bits());
            f64::from_bits(((b & 0x8000) << 48) | 0x7ff0_0000_0000_0000 | ((b & 0x03ff) << 42))
        } else {
            f64::from(h)
        }
    }

    macro_rules! impl_half_casts {
        ($($t:ty),*) => {$(
            impl CastTo<$t> for f16 {
                #[inline]
                fn cast_to(self) -> $t {
                    half_to_f32(self) as $t
                }
            }
            impl CastTo<f16> for $t {
                #[inline]
                fn cast_to(self) -> f16 {
                    f64_to_f16(f64::from(self as f32))
                }
            }
        )*};
    }
    impl_half_casts!(i8, i16, i32, i64, u8, u16, u32, u64);

    impl CastTo<f32> for f16 {
        #[inline]
        fn cast_to(self) -> f32 {
            half_to_f32(self)
        }
    }
    impl CastTo<f64> for f16 {
        #[inline]
        fn cast_to(self) -> f64 {
            half_to_f64(self)
        }
    }
    impl CastTo<f16> for f32 {
        #[inline]
        fn cast_to(self) -> f16 {
            f64_to_f16(widen_f32(self))
        }
    }
    impl CastTo<f16> for f64 {
        #[inline]
        fn cast_to(self) -> f16 {
            f64_to_f16(self)
        }
    }
    impl CastTo<f16> for f16 {
        #[inline]
        fn cast_to(self) -> f16 {
            self
        }
    }
    impl CastTo<bool> for f16 {
        #[inline]
        fn cast_to(self) -> bool {
            self != f16::ZERO
        }
    }
    impl CastTo<f16> for bool {
        #[inline]
        fn cast_to(self) -> f16 {
            if self { f16::ONE } else { f16::ZERO }
        }
    }
    impl CastTo<Complex<f32>> for f16 {
        #[inline]
        fn cast_to(self) -> Complex<f32> {
            Complex {
                re: half_to_f32(self),
                im: 0.0,
            }
        }
    }
    impl CastTo<Complex<f64>> for f16 {
        #[inline]
        fn cast_to(self) -> Complex<f64> {
            Complex {
                re: half_to_f64(self),
                im: 0.0,
            }
        }
    }
    impl CastTo<f16> for Complex<f32> {
        #[inline]
        fn cast_to(self) -> f16 {
            f64_to_f16(widen_f32(self.re))
        }
    }
    impl CastTo<f16> for Complex<f64> {
        #[inline]
        fn cast_to(self) -> f16 {
            f64_to_f16(self.re)
        }
    }
}

/// An element type convertible to every element type (so one generic function picks the
/// destination).
trait CastAll:
    Elem
    + CastTo<bool>
    + CastTo<i8>
    + CastTo<i16>
    + CastTo<i32>
    + CastTo<i64>
    + CastTo<u8>
    + CastTo<u16>
    + CastTo<u32>
    + CastTo<u64>
    + CastTo<f32>
    + CastTo<f64>
    + CastTo<Complex<f32>>
    + CastTo<Complex<f64>>
    + CastToHalf
{
}

/// `CastTo<half::f16>` where the `f16` feature provides it; nothing otherwise.
#[cfg(feature = "f16")]
trait CastToHalf: CastTo<half::f16> {}
#[cfg(feature = "f16")]
impl<T: CastTo<half::f16>> CastToHalf for T {}
#[cfg(not(feature = "f16"))]
trait CastToHalf {}
#[cfg(not(feature = "f16"))]
impl<T> CastToHalf for T {}

macro_rules! impl_cast_all {
    ($($t:ty),*) => { $( impl CastAll for $t {} )* };
}
impl_cast_all!(
    bool,
    i8,
    i16,
    i32,
    i64,
    u8,
    u16,
    u32,
    u64,
    f32,
    f64,
    Complex<f32>,
    Complex<f64>
);
#[cfg(feature = "f16")]
impl_cast_all!(half::f16);

/// The conversion loop: one monomorphised function per (source, destination) pair, chosen
/// once per plan, so the hot loop has no per-element dispatch.
fn kernel<S: Elem + CastTo<D>, D: Elem>(src: &[u8], src_big: bool, dst: &mut [u8], dst_big: bool) {
    for (s, d) in src.chunks_exact(S::SIZE).zip(dst.chunks_exact_mut(D::SIZE)) {
        S::read(s, src_big).cast_to().write(d, dst_big);
    }
}

fn kernel_to<S: CastAll>(to: Num) -> KernelFn {
    match to {
        Num::Bool => kernel::<S, bool>,
        Num::I8 => kernel::<S, i8>,
        Num::I16 => kernel::<S, i16>,
        Num::I32 => kernel::<S, i32>,
        Num::I64 => kernel::<S, i64>,
        Num::U8 => kernel::<S, u8>,
        Num::U16 => kernel::<S, u16>,
        Num::U32 => kernel::<S, u32>,
        Num::U64 => kernel::<S, u64>,
        #[cfg(feature = "f16")]
        Num::F16 => kernel::<S, half::f16>,
        Num::F32 => kernel::<S, f32>,
        Num::F64 => kernel::<S, f64>,
        Num::C64 => kernel::<S, Complex<f32>>,
        Num::C128 => kernel::<S, Complex<f64>>,
    }
}

fn select_kernel(from: Num, to: Num) -> KernelFn {
    match from {
        Num::Bool => kernel_to::<bool>(to),
        Num::I8 => kernel_to::<i8>(to),
        Num::I16 => kernel_to::<i16>(to),
        Num::I32 => kernel_to::<i32>(to),
        Num::I64 => kernel_to::<i64>(to),
        Num::U8 => kernel_to::<u8>(to),
        Num::U16 => kernel_to::<u16>(to),
        Num::U32 => kernel_to::<u32>(to),
        Num::U64 => kernel_to::<u64>(to),
        #[cfg(feature = "f16")]
        Num::F16 => kernel_to::<half::f16>(to),
        Num::F32 => kernel_to::<f32>(to),
        Num::F64 => kernel_to::<f64>(to),
        Num::C64 => kernel_to::<Complex<f32>>(to),
        Num::C128 => kernel_to::<Complex<f64>>(to),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(descr: &str) -> Dtype {
        Dtype::parse(descr).unwrap_or_else(|e| panic!("{descr}: {e}"))
    }

    /// The strictest rule under which `can_cast` allows the cast, as a digit (5 = never).
    fn level_digit(from: &Dtype, to: &Dtype) -> char {
        let pos = Casting::ALL
            .iter()
            .position(|&c| can_cast(from, to, c))
            .unwrap_or(5);
        // The rules are ordered: allowed under one rule means allowed under every looser one.
        for (i, &c) in Casting::ALL.iter().enumerate() {
            assert_eq!(can_cast(from, to, c), i >= pos, "{from} -> {to} under {c}");
        }
        char::from(b'0' + pos as u8)
    }

    fn check_table(columns: &[&str], rows: &[(&str, &str)]) {
        for (from, expected) in rows {
            let got: String = columns
                .iter()
                .map(|to| level_digit(&dt(from), &dt(to)))
                .collect();
            assert_eq!(&got, expected, "row {from} (columns {columns:?})");
        }
    }

    #[test]
    fn casting_names() {
        for c in Casting::ALL {
            assert_eq!(c.to_string().parse::<Casting>().ok(), Some(c));
            assert_eq!(c.as_str(), c.to_string());
        }
        assert_eq!(Casting::SameKind.to_string(), "same_kind");
        assert_eq!("same-kind".parse::<Casting>().ok(), Some(Casting::SameKind));
        assert_eq!(Casting::default(), Casting::SameKind);
        assert!(matches!(
            "Unsafe".parse::<Casting>(),
            Err(Error::InvalidArgument(_))
        ));
    }

    /// NumPy's `np.can_cast` answers: `cast_tables.txt`, which `scripts/gen-cast-tables.py`
    /// makes with the pinned NumPy (and `scripts/test` checks against it): every pair of the 14
    /// numeric types in both byte orders, datetime and timedelta units, strings, void, object
    /// and records.
    const NUMPY_CAN_CAST: &str =
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/src/cast_tables.txt"));

    #[test]
    fn can_cast_matches_numpy() {
        let mut tables = Vec::new();
        let mut columns: Vec<&str> = Vec::new();
        let mut casts = 0;
        let lines = NUMPY_CAN_CAST.lines();
        for line in lines.filter(|l| !l.is_empty() && !l.starts_with('#')) {
            match line.split('\t').collect::<Vec<_>>()[..] {
                ["table" | "pairs", name] => {
                    tables.push(name);
                    columns.clear();
                }
                ["columns", ref targets @ ..] => columns = targets.to_vec(),
                [from, digits] => {
                    assert_eq!(digits.len(), columns.len(), "{line}");
                    check_table(&columns, &[(from, digits)]);
                    casts += digits.len();
                }
                [from, to, digit] => {
                    let got = level_digit(&dt(from), &dt(to)).to_string();
                    assert_eq!(got, digit, "{from} -> {to}");
                    casts += 1;
                }
                _ => panic!("cast_tables.txt: unreadable line {line:?}"),
            }
        }
        assert_eq!(
            tables,
            [
                "numeric",
                "datetime",
                "timedelta",
                "time-other-kinds",
                "to-timedelta",
                "flexible",
                "records"
            ]
        );
        assert_eq!(casts, 28 * 28 + 2 * 19 * 19 + 5 * 8 + 6 * 3 + 15 * 16 + 30);
    }

    fn plan(from: &str, to: &str, casting: Casting) -> Result<CastPlan, Error> {
        CastPlan::new(&dt(from), &dt(to), casting)
    }

    /// A decoded element, for comparing with NumPy's output.
    #[derive(Debug, Clone, Copy)]
    enum V {
        I(i128),
        F(f64),
        C(f64, f64),
    }

    fn same_float(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
    }

    impl PartialEq for V {
        fn eq(&self, other: &V) -> bool {
            match (self, other) {
                (V::I(a), V::I(b)) => a == b,
                (V::F(a), V::F(b)) => same_float(*a, *b),
                (V::C(a, b), V::C(c, d)) => same_float(*a, *c) && same_float(*b, *d),
                _ => false,
            }
        }
    }

    fn scalar(d: &Dtype) -> &Scalar {
        match d {
            Dtype::Scalar(s) => s,
            Dtype::Record(_) | Dtype::Subarray(_) => panic!("not a scalar"),
        }
    }

    fn put(out: &mut Vec<u8>, le: &[u8], big: bool) {
        let start = out.len();
        out.extend_from_slice(le);
        if big {
            out[start..].reverse();
        }
    }

    fn encode_float(out: &mut Vec<u8>, size: usize, x: f64, big: bool) {
        match size {
            4 => put(out, &(x as f32).to_le_bytes(), big),
            8 => put(out, &x.to_le_bytes(), big),
            #[cfg(feature = "f16")]
            2 => put(out, &half::f16::from_f64(x).to_le_bytes(), big),
            _ => panic!("float size {size}"),
        }
    }

    fn decode_float(b: &[u8], big: bool) -> f64 {
        let mut le = b.to_vec();
        if big {
            le.reverse();
        }
        match le.len() {
            4 => f64::from(f32::from_le_bytes(le.try_into().unwrap())),
            8 => f64::from_le_bytes(le.try_into().unwrap()),
            #[cfg(feature = "f16")]
            2 => f64::from(half::f16::from_le_bytes(le.try_into().unwrap())),
            n => panic!("float size {n}"),
        }
    }

    /// Encodes NumPy-printed values (`1`, `-2.5`, `nan`, `1.5,2.0` for complex).
    fn encode(d: &Dtype, text: &str) -> Vec<u8> {
        let s = scalar(d);
        let big = s.effective_order() == ByteOrder::Big;
        let mut out = Vec::new();
        for token in text.split_whitespace() {
            match s.kind {
                Kind::Bool | Kind::Int | Kind::Uint => {
                    let v: i128 = token.parse().unwrap();
                    put(&mut out, &v.to_le_bytes()[..s.size], big);
                }
                Kind::Float => encode_float(&mut out, s.size, token.parse().unwrap(), big),
                Kind::Complex => {
                    let (re, im) = token.split_once(',').unwrap();
                    encode_float(&mut out, s.size / 2, re.parse().unwrap(), big);
                    encode_float(&mut out, s.size / 2, im.parse().unwrap(), big);
                }
                _ => panic!("not numeric"),
            }
        }
        out
    }

    fn decode(d: &Dtype, bytes: &[u8]) -> Vec<V> {
        let s = scalar(d);
        let big = s.effective_order() == ByteOrder::Big;
        bytes
            .chunks_exact(s.size)
            .map(|b| {
                let mut le = b.to_vec();
                if big {
                    le.reverse();
                }
                match s.kind {
                    Kind::Bool | Kind::Uint => {
                        let mut wide = [0u8; 16];
                        wide[..s.size].copy_from_slice(&le);
                        V::I(i128::from_le_bytes(wide))
                    }
                    Kind::Int => {
                        let fill = if le[s.size - 1] & 0x80 != 0 { 0xff } else { 0 };
                        let mut wide = [fill; 16];
                        wide[..s.size].copy_from_slice(&le);
                        V::I(i128::from_le_bytes(wide))
                    }
                    Kind::Float => V::F(decode_float(b, big)),
                    _ => {
                        let half = s.size / 2;
                        V::C(decode_float(&b[..half], big), decode_float(&b[half..], big))
                    }
                }
            })
            .collect()
    }

    fn expected(d: &Dtype, text: &str) -> Vec<V> {
        decode(d, &encode(d, text))
    }

    fn check_values(cases: &[(&str, &str, &str, &str)]) {
        for &(from, to, input, output) in cases {
            let (f, t) = (dt(from), dt(to));
            let p = CastPlan::new(&f, &t, Casting::Unsafe)
                .unwrap_or_else(|e| panic!("{from} -> {to}: {e}"));
            assert_eq!(p.is_identity(), f == t, "{from} -> {to}");
            let src = encode(&f, input);
            let n = src.len() / f.itemsize();
            let mut dst = vec![0xa5; n * t.itemsize()];
            p.convert(&src, &mut dst);
            assert_eq!(
                decode(&t, &dst),
                expected(&t, output),
                "{from} -> {to} of {input}"
            );
        }
    }

    /// `np.array(input, from).astype(to)` with NumPy 2.4; float to integer only for values
    /// in the integer's range (outside it NumPy's result is the C compiler's).
    #[rustfmt::skip]
    const VALUE_CASES: &[(&str, &str, &str, &str)] = &[
        ("<b1", "<b1", "0 1", "0 1"),
        ("<b1", "<i1", "0 1", "0 1"),
        ("<b1", "<i2", "0 1", "0 1"),
        ("<b1", "<i4", "0 1", "0 1"),
        ("<b1", "<i8", "0 1", "0 1"),
        ("<b1", "<u1", "0 1", "0 1"),
        ("<b1", "<u2", "0 1", "0 1"),
        ("<b1", "<u4", "0 1", "0 1"),
        ("<b1", "<u8", "0 1", "0 1"),
        ("<b1", "<f4", "0 1", "0.0 1.0"),
        ("<b1", "<f8", "0 1", "0.0 1.0"),
        ("<b1", "<c8", "0 1", "0.0,0.0 1.0,0.0"),
        ("<b1", "<c16", "0 1", "0.0,0.0 1.0,0.0"),
        ("<i1", "<b1", "0 1 -1 127 -128 100", "0 1 1 1 1 1"),
        ("<i1", "<i1", "0 1 -1 127 -128 100", "0 1 -1 127 -128 100"),
        ("<i1", "<i2", "0 1 -1 127 -128 100", "0 1 -1 127 -128 100"),
        ("<i1", "<i4", "0 1 -1 127 -128 100", "0 1 -1 127 -128 100"),
        ("<i1", "<i8", "0 1 -1 127 -128 100", "0 1 -1 127 -128 100"),
        ("<i1", "<u1", "0 1 -1 127 -128 100", "0 1 255 127 128 100"),
        ("<i1", "<u2", "0 1 -1 127 -128 100", "0 1 65535 127 65408 100"),
        ("<i1", "<u4", "0 1 -1 127 -128 100", "0 1 4294967295 127 4294967168 100"),
        ("<i1", "<u8", "0 1 -1 127 -128 100", "0 1 18446744073709551615 127 18446744073709551488 100"),
        ("<i1", "<f4", "0 1 -1 127 -128 100", "0.0 1.0 -1.0 127.0 -128.0 100.0"),
        ("<i1", "<f8", "0 1 -1 127 -128 100", "0.0 1.0 -1.0 127.0 -128.0 100.0"),
        ("<i1", "<c8", "0 1 -1 127 -128 100", "0.0,0.0 1.0,0.0 -1.0,0.0 127.0,0.0 -128.0,0.0 100.0,0.0"),
        ("<i1", "<c16", "0 1 -1 127 -128 100", "0.0,0.0 1.0,0.0 -1.0,0.0 127.0,0.0 -128.0,0.0 100.0,0.0"),
        ("<i2", "<b1", "0 -1 32767 -32768 1000 2049", "0 1 1 1 1 1"),
        ("<i2", "<i1", "0 -1 32767 -32768 1000 2049", "0 -1 -1 0 -24 1"),
        ("<i2", "<i2", "0 -1 32767 -32768 1000 2049", "0 -1 32767 -32768 1000 2049"),
        ("<i2", "<i4", "0 -1 32767 -32768 1000 2049", "0 -1 32767 -32768 1000 2049"),
        ("<i2", "<i8", "0 -1 32767 -32768 1000 2049", "0 -1 32767 -32768 1000 2049"),
        ("<i2", "<u1", "0 -1 32767 -32768 1000 2049", "0 255 255 0 232 1"),
        ("<i2", "<u2", "0 -1 32767 -32768 1000 2049", "0 65535 32767 32768 1000 2049"),
        ("<i2", "<u4", "0 -1 32767 -32768 1000 2049", "0 4294967295 32767 4294934528 1000 2049"),
        ("<i2", "<u8", "0 -1 32767 -32768 1000 2049", "0 18446744073709551615 32767 18446744073709518848 1000 2049"),
        ("<i2", "<f4", "0 -1 32767 -32768 1000 2049", "0.0 -1.0 32767.0 -32768.0 1000.0 2049.0"),
        ("<i2", "<f8", "0 -1 32767 -32768 1000 2049", "0.0 -1.0 32767.0 -32768.0 1000.0 2049.0"),
        ("<i2", "<c8", "0 -1 32767 -32768 1000 2049", "0.0,0.0 -1.0,0.0 32767.0,0.0 -32768.0,0.0 1000.0,0.0 2049.0,0.0"),
        ("<i2", "<c16", "0 -1 32767 -32768 1000 2049", "0.0,0.0 -1.0,0.0 32767.0,0.0 -32768.0,0.0 1000.0,0.0 2049.0,0.0"),
        ("<i4", "<b1", "0 -1 2147483647 -2147483648 16777217 123456789", "0 1 1 1 1 1"),
        ("<i4", "<i1", "0 -1 2147483647 -2147483648 16777217 123456789", "0 -1 -1 0 1 21"),
        ("<i4", "<i2", "0 -1 2147483647 -2147483648 16777217 123456789", "0 -1 -1 0 1 -13035"),
        ("<i4", "<i4", "0 -1 2147483647 -2147483648 16777217 123456789", "0 -1 2147483647 -2147483648 16777217 123456789"),
        ("<i4", "<i8", "0 -1 2147483647 -2147483648 16777217 123456789", "0 -1 2147483647 -2147483648 16777217 123456789"),
        ("<i4", "<u1", "0 -1 2147483647 -2147483648 16777217 123456789", "0 255 255 0 1 21"),
        ("<i4", "<u2", "0 -1 2147483647 -2147483648 16777217 123456789", "0 65535 65535 0 1 52501"),
        ("<i4", "<u4", "0 -1 2147483647 -2147483648 16777217 123456789", "0 4294967295 2147483647 2147483648 16777217 123456789"),
        ("<i4", "<u8", "0 -1 2147483647 -2147483648 16777217 123456789", "0 18446744073709551615 2147483647 18446744071562067968 16777217 123456789"),
        ("<i4", "<f4", "0 -1 2147483647 -2147483648 16777217 123456789", "0.0 -1.0 2147483648.0 -2147483648.0 16777216.0 123456792.0"),
        ("<i4", "<f8", "0 -1 2147483647 -2147483648 16777217 123456789", "0.0 -1.0 2147483647.0 -2147483648.0 16777217.0 123456789.0"),
        ("<i4", "<c8", "0 -1 2147483647 -2147483648 16777217 123456789", "0.0,0.0 -1.0,0.0 2147483648.0,0.0 -2147483648.0,0.0 16777216.0,0.0 123456792.0,0.0"),
        ("<i4", "<c16", "0 -1 2147483647 -2147483648 16777217 123456789", "0.0,0.0 -1.0,0.0 2147483647.0,0.0 -2147483648.0,0.0 16777217.0,0.0 123456789.0,0.0"),
        ("<i8", "<b1", "0 -1 9223372036854775807 -9223372036854775808 1152921573326323713 16777217", "0 1 1 1 1 1"),
        ("<i8", "<i1", "0 -1 9223372036854775807 -9223372036854775808 1152921573326323713 16777217", "0 -1 -1 0 1 1"),
        ("<i8", "<i2", "0 -1 9223372036854775807 -9223372036854775808 1152921573326323713 16777217", "0 -1 -1 0 1 1"),
        ("<i8", "<i4", "0 -1 9223372036854775807 -9223372036854775808 1152921573326323713 16777217", "0 -1 -1 0 1 16777217"),
        ("<i8", "<i8", "0 -1 9223372036854775807 -9223372036854775808 1152921573326323713 16777217", "0 -1 9223372036854775807 -9223372036854775808 1152921573326323713 16777217"),
        ("<i8", "<u1", "0 -1 9223372036854775807 -9223372036854775808 1152921573326323713 16777217", "0 255 255 0 1 1"),
        ("<i8", "<u2", "0 -1 9223372036854775807 -9223372036854775808 1152921573326323713 16777217", "0 65535 65535 0 1 1"),
        ("<i8", "<u4", "0 -1 9223372036854775807 -9223372036854775808 1152921573326323713 16777217", "0 4294967295 4294967295 0 1 16777217"),
        ("<i8", "<u8", "0 -1 9223372036854775807 -9223372036854775808 1152921573326323713 16777217", "0 18446744073709551615 9223372036854775807 9223372036854775808 1152921573326323713 16777217"),
        ("<i8", "<f4", "0 -1 9223372036854775807 -9223372036854775808 1152921573326323713 16777217", "0.0 -1.0 9.223372036854776e+18 -9.223372036854776e+18 1.1529216420458004e+18 16777216.0"),
        ("<i8", "<f8", "0 -1 9223372036854775807 -9223372036854775808 1152921573326323713 16777217", "0.0 -1.0 9.223372036854776e+18 -9.223372036854776e+18 1.1529215733263237e+18 16777217.0"),
        ("<i8", "<c8", "0 -1 9223372036854775807 -9223372036854775808 1152921573326323713 16777217", "0.0,0.0 -1.0,0.0 9.223372036854776e+18,0.0 -9.223372036854776e+18,0.0 1.1529216420458004e+18,0.0 16777216.0,0.0"),
        ("<i8", "<c16", "0 -1 9223372036854775807 -9223372036854775808 1152921573326323713 16777217", "0.0,0.0 -1.0,0.0 9.223372036854776e+18,0.0 -9.223372036854776e+18,0.0 1.1529215733263237e+18,0.0 16777217.0,0.0"),
        ("<u1", "<b1", "0 1 255 128", "0 1 1 1"),
        ("<u1", "<i1", "0 1 255 128", "0 1 -1 -128"),
        ("<u1", "<i2", "0 1 255 128", "0 1 255 128"),
        ("<u1", "<i4", "0 1 255 128", "0 1 255 128"),
        ("<u1", "<i8", "0 1 255 128", "0 1 255 128"),
        ("<u1", "<u1", "0 1 255 128", "0 1 255 128"),
        ("<u1", "<u2", "0 1 255 128", "0 1 255 128"),
        ("<u1", "<u4", "0 1 255 128", "0 1 255 128"),
        ("<u1", "<u8", "0 1 255 128", "0 1 255 128"),
        ("<u1", "<f4", "0 1 255 128", "0.0 1.0 255.0 128.0"),
        ("<u1", "<f8", "0 1 255 128", "0.0 1.0 255.0 128.0"),
        ("<u1", "<c8", "0 1 255 128", "0.0,0.0 1.0,0.0 255.0,0.0 128.0,0.0"),
        ("<u1", "<c16", "0 1 255 128", "0.0,0.0 1.0,0.0 255.0,0.0 128.0,0.0"),
        ("<u2", "<b1", "0 65535 32768 2049", "0 1 1 1"),
        ("<u2", "<i1", "0 65535 32768 2049", "0 -1 0 1"),
        ("<u2", "<i2", "0 65535 32768 2049", "0 -1 -32768 2049"),
        ("<u2", "<i4", "0 65535 32768 2049", "0 65535 32768 2049"),
        ("<u2", "<i8", "0 65535 32768 2049", "0 65535 32768 2049"),
        ("<u2", "<u1", "0 65535 32768 2049", "0 255 0 1"),
        ("<u2", "<u2", "0 65535 32768 2049", "0 65535 32768 2049"),
        ("<u2", "<u4", "0 65535 32768 2049", "0 65535 32768 2049"),
        ("<u2", "<u8", "0 65535 32768 2049", "0 65535 32768 2049"),
        ("<u2", "<f4", "0 65535 32768 2049", "0.0 65535.0 32768.0 2049.0"),
        ("<u2", "<f8", "0 65535 32768 2049", "0.0 65535.0 32768.0 2049.0"),
        ("<u2", "<c8", "0 65535 32768 2049", "0.0,0.0 65535.0,0.0 32768.0,0.0 2049.0,0.0"),
        ("<u2", "<c16", "0 65535 32768 2049", "0.0,0.0 65535.0,0.0 32768.0,0.0 2049.0,0.0"),
        ("<u4", "<b1", "0 4294967295 2147483648 16777217", "0 1 1 1"),
        ("<u4", "<i1", "0 4294967295 2147483648 16777217", "0 -1 0 1"),
        ("<u4", "<i2", "0 4294967295 2147483648 16777217", "0 -1 0 1"),
        ("<u4", "<i4", "0 4294967295 2147483648 16777217", "0 -1 -2147483648 16777217"),
        ("<u4", "<i8", "0 4294967295 2147483648 16777217", "0 4294967295 2147483648 16777217"),
        ("<u4", "<u1", "0 4294967295 2147483648 16777217", "0 255 0 1"),
        ("<u4", "<u2", "0 4294967295 2147483648 16777217", "0 65535 0 1"),
        ("<u4", "<u4", "0 4294967295 2147483648 16777217", "0 4294967295 2147483648 16777217"),
        ("<u4", "<u8", "0 4294967295 2147483648 16777217", "0 4294967295 2147483648 16777217"),
        ("<u4", "<f4", "0 4294967295 2147483648 16777217", "0.0 4294967296.0 2147483648.0 16777216.0"),
        ("<u4", "<f8", "0 4294967295 2147483648 16777217", "0.0 4294967295.0 2147483648.0 16777217.0"),
        ("<u4", "<c8", "0 4294967295 2147483648 16777217", "0.0,0.0 4294967296.0,0.0 2147483648.0,0.0 16777216.0,0.0"),
        ("<u4", "<c16", "0 4294967295 2147483648 16777217", "0.0,0.0 4294967295.0,0.0 2147483648.0,0.0 16777217.0,0.0"),
        ("<u8", "<b1", "0 18446744073709551615 9223372036854775808 1152921573326323713", "0 1 1 1"),
        ("<u8", "<i1", "0 18446744073709551615 9223372036854775808 1152921573326323713", "0 -1 0 1"),
        ("<u8", "<i2", "0 18446744073709551615 9223372036854775808 1152921573326323713", "0 -1 0 1"),
        ("<u8", "<i4", "0 18446744073709551615 9223372036854775808 1152921573326323713", "0 -1 0 1"),
        ("<u8", "<i8", "0 18446744073709551615 9223372036854775808 1152921573326323713", "0 -1 -9223372036854775808 1152921573326323713"),
        ("<u8", "<u1", "0 18446744073709551615 9223372036854775808 1152921573326323713", "0 255 0 1"),
        ("<u8", "<u2", "0 18446744073709551615 9223372036854775808 1152921573326323713", "0 65535 0 1"),
        ("<u8", "<u4", "0 18446744073709551615 9223372036854775808 1152921573326323713", "0 4294967295 0 1"),
        ("<u8", "<u8", "0 18446744073709551615 9223372036854775808 1152921573326323713", "0 18446744073709551615 9223372036854775808 1152921573326323713"),
        ("<u8", "<f4", "0 18446744073709551615 9223372036854775808 1152921573326323713", "0.0 1.8446744073709552e+19 9.223372036854776e+18 1.1529216420458004e+18"),
        ("<u8", "<f8", "0 18446744073709551615 9223372036854775808 1152921573326323713", "0.0 1.8446744073709552e+19 9.223372036854776e+18 1.1529215733263237e+18"),
        ("<u8", "<c8", "0 18446744073709551615 9223372036854775808 1152921573326323713", "0.0,0.0 1.8446744073709552e+19,0.0 9.223372036854776e+18,0.0 1.1529216420458004e+18,0.0"),
        ("<u8", "<c16", "0 18446744073709551615 9223372036854775808 1152921573326323713", "0.0,0.0 1.8446744073709552e+19,0.0 9.223372036854776e+18,0.0 1.1529215733263237e+18,0.0"),
        ("<f4", "<b1", "0.0 -0.0 1.5 -1.5 100.69999694824219 3.4028234663852886e+38 1.401298464324817e-45 inf nan 0.10000000149011612", "0 0 1 1 1 1 1 1 1 1"),
        ("<f4", "<i1", "0.0 -0.0 1.5 -1.5 100.69999694824219 1.401298464324817e-45 0.10000000149011612", "0 0 1 -1 100 0 0"),
        ("<f4", "<i2", "0.0 -0.0 1.5 -1.5 100.69999694824219 1.401298464324817e-45 0.10000000149011612", "0 0 1 -1 100 0 0"),
        ("<f4", "<i4", "0.0 -0.0 1.5 -1.5 100.69999694824219 1.401298464324817e-45 0.10000000149011612", "0 0 1 -1 100 0 0"),
        ("<f4", "<i8", "0.0 -0.0 1.5 -1.5 100.69999694824219 1.401298464324817e-45 0.10000000149011612", "0 0 1 -1 100 0 0"),
        ("<f4", "<u1", "0.0 -0.0 1.5 100.69999694824219 1.401298464324817e-45 0.10000000149011612", "0 0 1 100 0 0"),
        ("<f4", "<u2", "0.0 -0.0 1.5 100.69999694824219 1.401298464324817e-45 0.10000000149011612", "0 0 1 100 0 0"),
        ("<f4", "<u4", "0.0 -0.0 1.5 100.69999694824219 1.401298464324817e-45 0.10000000149011612", "0 0 1 100 0 0"),
        ("<f4", "<u8", "0.0 -0.0 1.5 100.69999694824219 1.401298464324817e-45 0.10000000149011612", "0 0 1 100 0 0"),
        ("<f4", "<f4", "0.0 -0.0 1.5 -1.5 100.69999694824219 3.4028234663852886e+38 1.401298464324817e-45 inf nan 0.10000000149011612", "0.0 -0.0 1.5 -1.5 100.69999694824219 3.4028234663852886e+38 1.401298464324817e-45 inf nan 0.10000000149011612"),
        ("<f4", "<f8", "0.0 -0.0 1.5 -1.5 100.69999694824219 3.4028234663852886e+38 1.401298464324817e-45 inf nan 0.10000000149011612", "0.0 -0.0 1.5 -1.5 100.69999694824219 3.4028234663852886e+38 1.401298464324817e-45 inf nan 0.10000000149011612"),
        ("<f4", "<c8", "0.0 -0.0 1.5 -1.5 100.69999694824219 3.4028234663852886e+38 1.401298464324817e-45 inf nan 0.10000000149011612", "0.0,0.0 -0.0,0.0 1.5,0.0 -1.5,0.0 100.69999694824219,0.0 3.4028234663852886e+38,0.0 1.401298464324817e-45,0.0 inf,0.0 nan,0.0 0.10000000149011612,0.0"),
        ("<f4", "<c16", "0.0 -0.0 1.5 -1.5 100.69999694824219 3.4028234663852886e+38 1.401298464324817e-45 inf nan 0.10000000149011612", "0.0,0.0 -0.0,0.0 1.5,0.0 -1.5,0.0 100.69999694824219,0.0 3.4028234663852886e+38,0.0 1.401298464324817e-45,0.0 inf,0.0 nan,0.0 0.10000000149011612,0.0"),
        ("<f8", "<b1", "0.0 -0.0 1.5 -2.5 100.7 1e+300 5e-324 -inf nan 0.1 16777217.0 1.0004882821813226 1e-08", "0 0 1 1 1 1 1 1 1 1 1 1 1"),
        ("<f8", "<i1", "0.0 -0.0 1.5 -2.5 100.7 5e-324 0.1 1.0004882821813226 1e-08", "0 0 1 -2 100 0 0 1 0"),
        ("<f8", "<i2", "0.0 -0.0 1.5 -2.5 100.7 5e-324 0.1 1.0004882821813226 1e-08", "0 0 1 -2 100 0 0 1 0"),
        ("<f8", "<i4", "0.0 -0.0 1.5 -2.5 100.7 5e-324 0.1 16777217.0 1.0004882821813226 1e-08", "0 0 1 -2 100 0 0 16777217 1 0"),
        ("<f8", "<i8", "0.0 -0.0 1.5 -2.5 100.7 5e-324 0.1 16777217.0 1.0004882821813226 1e-08", "0 0 1 -2 100 0 0 16777217 1 0"),
        ("<f8", "<u1", "0.0 -0.0 1.5 100.7 5e-324 0.1 1.0004882821813226 1e-08", "0 0 1 100 0 0 1 0"),
        ("<f8", "<u2", "0.0 -0.0 1.5 100.7 5e-324 0.1 1.0004882821813226 1e-08", "0 0 1 100 0 0 1 0"),
        ("<f8", "<u4", "0.0 -0.0 1.5 100.7 5e-324 0.1 16777217.0 1.0004882821813226 1e-08", "0 0 1 100 0 0 16777217 1 0"),
        ("<f8", "<u8", "0.0 -0.0 1.5 100.7 5e-324 0.1 16777217.0 1.0004882821813226 1e-08", "0 0 1 100 0 0 16777217 1 0"),
        ("<f8", "<f4", "0.0 -0.0 1.5 -2.5 100.7 1e+300 5e-324 -inf nan 0.1 16777217.0 1.0004882821813226 1e-08", "0.0 -0.0 1.5 -2.5 100.69999694824219 inf 0.0 -inf nan 0.10000000149011612 16777216.0 1.00048828125 9.99999993922529e-09"),
        ("<f8", "<f8", "0.0 -0.0 1.5 -2.5 100.7 1e+300 5e-324 -inf nan 0.1 16777217.0 1.0004882821813226 1e-08", "0.0 -0.0 1.5 -2.5 100.7 1e+300 5e-324 -inf nan 0.1 16777217.0 1.0004882821813226 1e-08"),
        ("<f8", "<c8", "0.0 -0.0 1.5 -2.5 100.7 1e+300 5e-324 -inf nan 0.1 16777217.0 1.0004882821813226 1e-08", "0.0,0.0 -0.0,0.0 1.5,0.0 -2.5,0.0 100.69999694824219,0.0 inf,0.0 0.0,0.0 -inf,0.0 nan,0.0 0.10000000149011612,0.0 16777216.0,0.0 1.00048828125,0.0 9.99999993922529e-09,0.0"),
        ("<f8", "<c16", "0.0 -0.0 1.5 -2.5 100.7 1e+300 5e-324 -inf nan 0.1 16777217.0 1.0004882821813226 1e-08", "0.0,0.0 -0.0,0.0 1.5,0.0 -2.5,0.0 100.7,0.0 1e+300,0.0 5e-324,0.0 -inf,0.0 nan,0.0 0.1,0.0 16777217.0,0.0 1.0004882821813226,0.0 1e-08,0.0"),
        ("<c8", "<b1", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 nan,0.0", "1 0 1 1 1"),
        ("<c8", "<i1", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0", "1 0 0 -2"),
        ("<c8", "<i2", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0", "1 0 0 -2"),
        ("<c8", "<i4", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0", "1 0 0 -2"),
        ("<c8", "<i8", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0", "1 0 0 -2"),
        ("<c8", "<u1", "1.5,2.0 0.0,0.0 0.0,-1.0", "1 0 0"),
        ("<c8", "<u2", "1.5,2.0 0.0,0.0 0.0,-1.0", "1 0 0"),
        ("<c8", "<u4", "1.5,2.0 0.0,0.0 0.0,-1.0", "1 0 0"),
        ("<c8", "<u8", "1.5,2.0 0.0,0.0 0.0,-1.0", "1 0 0"),
        ("<c8", "<f4", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 nan,0.0", "1.5 0.0 0.0 -2.5 nan"),
        ("<c8", "<f8", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 nan,0.0", "1.5 0.0 0.0 -2.5 nan"),
        ("<c8", "<c8", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 nan,0.0", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 nan,0.0"),
        ("<c8", "<c16", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 nan,0.0", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 nan,0.0"),
        ("<c16", "<b1", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 nan,0.0 1e+300,1e-300 100.7,3.0", "1 0 1 1 1 1 1"),
        ("<c16", "<i1", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 100.7,3.0", "1 0 0 -2 100"),
        ("<c16", "<i2", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 100.7,3.0", "1 0 0 -2 100"),
        ("<c16", "<i4", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 100.7,3.0", "1 0 0 -2 100"),
        ("<c16", "<i8", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 100.7,3.0", "1 0 0 -2 100"),
        ("<c16", "<u1", "1.5,2.0 0.0,0.0 0.0,-1.0 100.7,3.0", "1 0 0 100"),
        ("<c16", "<u2", "1.5,2.0 0.0,0.0 0.0,-1.0 100.7,3.0", "1 0 0 100"),
        ("<c16", "<u4", "1.5,2.0 0.0,0.0 0.0,-1.0 100.7,3.0", "1 0 0 100"),
        ("<c16", "<u8", "1.5,2.0 0.0,0.0 0.0,-1.0 100.7,3.0", "1 0 0 100"),
        ("<c16", "<f4", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 nan,0.0 1e+300,1e-300 100.7,3.0", "1.5 0.0 0.0 -2.5 nan inf 100.69999694824219"),
        ("<c16", "<f8", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 nan,0.0 1e+300,1e-300 100.7,3.0", "1.5 0.0 0.0 -2.5 nan 1e+300 100.7"),
        ("<c16", "<c8", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 nan,0.0 1e+300,1e-300 100.7,3.0", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 nan,0.0 inf,0.0 100.69999694824219,3.0"),
        ("<c16", "<c16", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 nan,0.0 1e+300,1e-300 100.7,3.0", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 nan,0.0 1e+300,1e-300 100.7,3.0"),
        (">i4", "<f8", "0 -1 2147483647 -2147483648 16777217 123456789", "0.0 -1.0 2147483647.0 -2147483648.0 16777217.0 123456789.0"),
        ("<f8", ">i2", "0.0 -0.0 1.5 -2.5 100.7 5e-324 0.1 1.0004882821813226 1e-08", "0 0 1 -2 100 0 0 1 0"),
        (">c16", ">c8", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 nan,0.0 1e+300,1e-300 100.7,3.0", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 nan,0.0 inf,0.0 100.69999694824219,3.0"),
        (">u2", ">f4", "0 65535 32768 2049", "0.0 65535.0 32768.0 2049.0"),
        (">i8", "<u8", "0 -1 9223372036854775807 -9223372036854775808 1152921573326323713 16777217", "0 18446744073709551615 9223372036854775807 9223372036854775808 1152921573326323713 16777217"),
        ("<c8", ">c16", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 nan,0.0", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 nan,0.0"),
        (">f4", ">b1", "0.0 -0.0 1.5 -1.5 100.69999694824219 3.4028234663852886e+38 1.401298464324817e-45 inf nan 0.10000000149011612", "0 0 1 1 1 1 1 1 1 1"),
        ("|b1", ">c16", "0 1", "0.0,0.0 1.0,0.0"),
        (">f8", "<f4", "0.0 -0.0 1.5 -2.5 100.7 1e+300 5e-324 -inf nan 0.1 16777217.0 1.0004882821813226 1e-08", "0.0 -0.0 1.5 -2.5 100.69999694824219 inf 0.0 -inf nan 0.10000000149011612 16777216.0 1.00048828125 9.99999993922529e-09"),
    ];

    #[test]
    fn value_conversions_match_numpy() {
        check_values(VALUE_CASES);
    }

    /// `<f2` value casts, NumPy 2.4 (rounding from f64 to f16 is direct, not through f32).
    #[cfg(feature = "f16")]
    #[rustfmt::skip]
    const HALF_CASES: &[(&str, &str, &str, &str)] = &[
        ("<f2", "<b1", "0.0 -0.0 1.5 -1.5 65504.0 0.0999755859375 inf nan", "0 0 1 1 1 1 1 1"),
        ("<b1", "<f2", "0 1", "0.0 1.0"),
        ("<f2", "<i1", "0.0 -0.0 1.5 -1.5 0.0999755859375", "0 0 1 -1 0"),
        ("<i1", "<f2", "0 1 -1 127 -128 100", "0.0 1.0 -1.0 127.0 -128.0 100.0"),
        ("<f2", "<i2", "0.0 -0.0 1.5 -1.5 0.0999755859375", "0 0 1 -1 0"),
        ("<i2", "<f2", "0 -1 32767 -32768 1000 2049", "0.0 -1.0 32768.0 -32768.0 1000.0 2048.0"),
        ("<f2", "<i4", "0.0 -0.0 1.5 -1.5 65504.0 0.0999755859375", "0 0 1 -1 65504 0"),
        ("<i4", "<f2", "0 -1 2147483647 -2147483648 16777217 123456789", "0.0 -1.0 inf -inf inf inf"),
        ("<f2", "<i8", "0.0 -0.0 1.5 -1.5 65504.0 0.0999755859375", "0 0 1 -1 65504 0"),
        ("<i8", "<f2", "0 -1 9223372036854775807 -9223372036854775808 1152921573326323713 16777217", "0.0 -1.0 inf -inf inf inf"),
        ("<f2", "<u1", "0.0 -0.0 1.5 0.0999755859375", "0 0 1 0"),
        ("<u1", "<f2", "0 1 255 128", "0.0 1.0 255.0 128.0"),
        ("<f2", "<u2", "0.0 -0.0 1.5 65504.0 0.0999755859375", "0 0 1 65504 0"),
        ("<u2", "<f2", "0 65535 32768 2049", "0.0 inf 32768.0 2048.0"),
        ("<f2", "<u4", "0.0 -0.0 1.5 65504.0 0.0999755859375", "0 0 1 65504 0"),
        ("<u4", "<f2", "0 4294967295 2147483648 16777217", "0.0 inf inf inf"),
        ("<f2", "<u8", "0.0 -0.0 1.5 65504.0 0.0999755859375", "0 0 1 65504 0"),
        ("<u8", "<f2", "0 18446744073709551615 9223372036854775808 1152921573326323713", "0.0 inf inf inf"),
        ("<f2", "<f4", "0.0 -0.0 1.5 -1.5 65504.0 0.0999755859375 inf nan", "0.0 -0.0 1.5 -1.5 65504.0 0.0999755859375 inf nan"),
        ("<f4", "<f2", "0.0 -0.0 1.5 -1.5 100.69999694824219 3.4028234663852886e+38 1.401298464324817e-45 inf nan 0.10000000149011612", "0.0 -0.0 1.5 -1.5 100.6875 inf 0.0 inf nan 0.0999755859375"),
        ("<f2", "<f8", "0.0 -0.0 1.5 -1.5 65504.0 0.0999755859375 inf nan", "0.0 -0.0 1.5 -1.5 65504.0 0.0999755859375 inf nan"),
        ("<f8", "<f2", "0.0 -0.0 1.5 -2.5 100.7 1e+300 5e-324 -inf nan 0.1 16777217.0 1.0004882821813226 1e-08", "0.0 -0.0 1.5 -2.5 100.6875 inf 0.0 -inf nan 0.0999755859375 inf 1.0009765625 0.0"),
        ("<f2", "<c8", "0.0 -0.0 1.5 -1.5 65504.0 0.0999755859375 inf nan", "0.0,0.0 -0.0,0.0 1.5,0.0 -1.5,0.0 65504.0,0.0 0.0999755859375,0.0 inf,0.0 nan,0.0"),
        ("<c8", "<f2", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 nan,0.0", "1.5 0.0 0.0 -2.5 nan"),
        ("<f2", "<c16", "0.0 -0.0 1.5 -1.5 65504.0 0.0999755859375 inf nan", "0.0,0.0 -0.0,0.0 1.5,0.0 -1.5,0.0 65504.0,0.0 0.0999755859375,0.0 inf,0.0 nan,0.0"),
        ("<c16", "<f2", "1.5,2.0 0.0,0.0 0.0,-1.0 -2.5,0.0 nan,0.0 1e+300,1e-300 100.7,3.0", "1.5 0.0 0.0 -2.5 nan inf 100.6875"),
        (">f2", "<f8", "0.0 -0.0 1.5 -1.5 65504.0 0.0999755859375 inf nan", "0.0 -0.0 1.5 -1.5 65504.0 0.0999755859375 inf nan"),
        ("<f8", ">f2", "0.0 -0.0 1.5 -2.5 100.7 1e+300 5e-324 -inf nan 0.1 16777217.0 1.0004882821813226 1e-08", "0.0 -0.0 1.5 -2.5 100.6875 inf 0.0 -inf nan 0.0999755859375 inf 1.0009765625 0.0"),
        ("<f2", "<f2", "0.0 -0.0 1.5 -1.5 65504.0 0.0999755859375 inf nan", "0.0 -0.0 1.5 -1.5 65504.0 0.0999755859375 inf nan"),
    ];

    #[test]
    #[cfg(feature = "f16")]
    fn half_conversions_match_numpy() {
        check_values(HALF_CASES);
    }

    /// Bit patterns from NumPy 2.4: ties to even, subnormals, overflow, NaN payloads
    /// (signalling NaNs stay signalling).
    #[test]
    #[cfg(feature = "f16")]
    fn half_bits_match_numpy() {
        let convert = |from: &str, to: &str, src: &[u8], dst: &mut [u8]| {
            plan(from, to, Casting::Unsafe).unwrap().convert(src, dst);
        };
        let from_f64: [(u64, u16); 14] = [
            (0x3ff0020000000000, 0x3c00),
            (0x3ff0060000000000, 0x3c02),
            (0x3ff0020000000001, 0x3c01),
            (0x40effc0000000000, 0x7bff),
            (0x40effbffffffffff, 0x7bff),
            (0x3e70000000000000, 0x0001),
            (0x3e6fffffffffffff, 0x0001),
            (0x3e80000000000001, 0x0002),
            (0x3f0ff80000000000, 0x03ff),
            (0x7ff4000000000001, 0x7d00),
            (0xfff8000000000000, 0xfe00),
            (0x3e60000000000000, 0x0000),
            (0x3e68000000000000, 0x0001),
            (0xc0f0000000000000, 0xfc00),
        ];
        for (bits, half) in from_f64 {
            let mut out = [0u8; 2];
            convert("<f8", "<f2", &bits.to_le_bytes(), &mut out);
            assert_eq!(u16::from_le_bytes(out), half, "{bits:#x}");
        }
        let from_f32: [(u32, u16); 5] = [
            (0x7fa00001, 0x7d00),
            (0xffb3c79a, 0xfd9e),
            (0x33800000, 0x0001),
            (0x477ff000, 0x7c00),
            (0x477fefff, 0x7bff),
        ];
        for (bits, half) in from_f32 {
            let mut out = [0u8; 2];
            convert("<f4", "<f2", &bits.to_le_bytes(), &mut out);
            assert_eq!(u16::from_le_bytes(out), half, "{bits:#x}");
        }
        let widen: [(u16, u32, u64); 6] = [
            (0x7c01, 0x7f802000, 0x7ff0040000000000),
            (0xfe00, 0xffc00000, 0xfff8000000000000),
            (0x0001, 0x33800000, 0x3e70000000000000),
            (0x8001, 0xb3800000, 0xbe70000000000000),
            (0x03ff, 0x387fc000, 0x3f0ff80000000000),
            (0x7bff, 0x477fe000, 0x40effc0000000000),
        ];
        for (half, f, d) in widen {
            let mut out4 = [0u8; 4];
            convert("<f2", "<f4", &half.to_le_bytes(), &mut out4);
            assert_eq!(u32::from_le_bytes(out4), f, "{half:#x}");
            let mut out8 = [0u8; 8];
            convert("<f2", "<f8", &half.to_le_bytes(), &mut out8);
            assert_eq!(u64::from_le_bytes(out8), d, "{half:#x}");
        }
    }

    #[test]
    #[cfg(not(feature = "f16"))]
    fn half_value_casts_need_the_feature() {
        for (from, to) in [
            ("<f2", "<f4"),
            ("<f8", "<f2"),
            ("<i1", "<f2"),
            ("<f2", "|b1"),
        ] {
            assert!(
                matches!(
                    plan(from, to, Casting::Unsafe),
                    Err(Error::CastUnsupported { .. })
                ),
                "{from} -> {to}"
            );
        }
        // Identity and byte swaps need no arithmetic.
        assert!(plan("<f2", "<f2", Casting::No).unwrap().is_identity());
        let p = plan("<f2", ">f2", Casting::Equiv).unwrap();
        let mut out = [0u8; 4];
        p.convert(&[1, 2, 3, 4], &mut out);
        assert_eq!(out, [2, 1, 4, 3]);
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// `np.frombuffer(bytes(range(n)), from).astype(to).tobytes()`, NumPy 2.4.
    #[test]
    fn byte_swaps_match_numpy() {
        let cases = [
            ("<U3", ">U3", "03020100070605040b0a0908"),
            ("<c16", ">c16", "07060504030201000f0e0d0c0b0a0908"),
            ("<f16", ">f16", "0f0e0d0c0b0a09080706050403020100"),
            (
                "<c32",
                ">c32",
                "0f0e0d0c0b0a090807060504030201001f1e1d1c1b1a19181716151413121110",
            ),
            ("<M8[ns]", ">M8[ns]", "0706050403020100"),
            (">i8", "<i8", "0706050403020100"),
            ("<m8[1000ms]", "<m8[s]", "0001020304050607"),
            (
                "[('a', '<i4', (2,)), ('b', [('x', '<u2'), ('y', '|S3'), ('z', '<c8')], (2,)), \
                 ('c', '<U2'), ('d', '<M8[s]'), ('e', '|b1'), ('f', '<f2')]",
                "[('a', '>i4', (2,)), ('b', [('x', '>u2'), ('y', '|S3'), ('z', '>c8')], (2,)), \
                 ('c', '>U2'), ('d', '>M8[s]'), ('e', '|b1'), ('f', '>f2')]",
                "030201000706050409080a0b0c100f0e0d1413121116151718191d1c1b1a21201f1e252423222928\
                 272631302f2e2d2c2b2a323433383736353c3b3a393e3d3f404145444342494847464b4a4c4d4e52\
                 51504f565554535a5958575e5d5c5b666564636261605f676968",
            ),
            (
                "[('a', '|u1'), ('b', '<i2')]",
                "[('a', '|u1'), ('b', '>i2')]",
                "000201030504",
            ),
        ];
        for (from, to, out) in cases {
            let expected = hex(out);
            let p = plan(from, to, Casting::Equiv).unwrap_or_else(|e| panic!("{from}: {e}"));
            assert!(!p.is_identity() || from.contains("1000ms"), "{from}");
            let src: Vec<u8> = (0..expected.len()).map(|i| i as u8).collect();
            let mut dst = vec![0; expected.len()];
            p.convert(&src, &mut dst);
            assert_eq!(dst, expected, "{from} -> {to}");
            // And back.
            let back = plan(to, from, Casting::Safe).unwrap();
            let mut round = vec![0; src.len()];
            back.convert(&dst, &mut round);
            assert_eq!(round, src, "{to} -> {from}");
        }
        // Padding is copied as it is (NumPy leaves it uninitialised); fields are swapped.
        let p = plan(
            "[('a', '|u1'), ('', '|V3'), ('b', '<i4'), ('', '|V4')]",
            "[('a', '|u1'), ('', '|V3'), ('b', '>i4'), ('', '|V4')]",
            Casting::Equiv,
        )
        .unwrap();
        let src: Vec<u8> = (0..24).collect();
        let mut dst = vec![0; 24];
        p.convert(&src, &mut dst);
        assert_eq!(dst, hex("000102030706050408090a0b0c0d0e0f1312111014151617"));
    }

    #[test]
    fn swap_ops_are_compact() {
        let ops = swap_ops(&dt("<U10"), &dt(">U10")).unwrap();
        assert_eq!(
            ops,
            vec![SwapOp::Run {
                offset: 0,
                width: 4,
                count: 10,
                stride: 4
            }]
        );
        let ops = swap_ops(
            &dt("[('a', 'u1'), ('b', '<i2', (1000, 1000))]"),
            &dt("[('a', 'u1'), ('b', '>i2', (1000, 1000))]"),
        )
        .unwrap();
        assert_eq!(
            ops,
            vec![SwapOp::Run {
                offset: 1,
                width: 2,
                count: 1_000_000,
                stride: 2
            }]
        );
        let ops = swap_ops(
            &dt("[('r', [('x', '<i2'), ('y', 'u1'), ('z', '<f4')], (100000,))]"),
            &dt("[('r', [('x', '>i2'), ('y', 'u1'), ('z', '>f4')], (100000,))]"),
        )
        .unwrap();
        assert_eq!(ops.len(), 1);
        assert!(
            matches!(&ops[0], SwapOp::Repeat { count: 100_000, stride: 7, ops, .. } if ops.len() == 2)
        );
    }

    #[test]
    fn identity_plans() {
        for d in [
            "<f8",
            ">i4",
            "|S5",
            "<U3",
            "|V7",
            "<M8[ns]",
            "<f16",
            "[('a', '<i4', (2,))]",
            "|S0",
        ] {
            let p = plan(d, d, Casting::No).unwrap();
            assert!(p.is_identity(), "{d}");
            assert_eq!(
                (p.src_itemsize(), p.dst_itemsize()),
                (dt(d).itemsize(), dt(d).itemsize())
            );
        }
        // Same layout, different titles: NumPy says safe; the bytes are copied as they are.
        let p = plan("[('a', '<i4')]", "[(('T', 'a'), '<i4')]", Casting::Safe).unwrap();
        assert!(p.is_identity());
        // `=` and `<` are the same dtype on little-endian machines.
        assert!(plan("=i2", "i2", Casting::No).unwrap().is_identity());
    }

    #[test]
    fn identical_dtypes_shortcut_agrees_with_the_rules() {
        let mut dtypes: Vec<Dtype> = [
            "<f8",
            ">f8",
            "=i2",
            "|b1",
            "|S0",
            "<U3",
            "|V7",
            "<M8[ns]",
            ">m8[25s]",
            "<M8",
            "<f16",
            "<c32",
            "O",
            "[('a', '<i4', (2,)), ('b', [('c', '>f8')])]",
            "[('a', 'O')]",
            "[(('T', 'a'), '<i4'), ('', '|V4'), ('b', '<U2', (2, 0))]",
        ]
        .iter()
        .map(|d| dt(d))
        .collect();
        // Hand-built: a field past the item size, and an unset byte order.
        dtypes.push(Dtype::Record(Record {
            fields: vec![Field {
                name: "x".into(),
                title: None,
                offset: 6,
                dtype: dt("<f8"),
                shape: vec![],
            }],
            itemsize: 4,
        }));
        dtypes.push(Dtype::Scalar(Scalar {
            kind: Kind::Int,
            size: 4,
            order: ByteOrder::NotApplicable,
        }));
        for d in &dtypes {
            for c in Casting::ALL {
                assert_eq!(
                    format!("{:?}", CastPlan::new(d, d, c)),
                    format!("{:?}", CastPlan::derive(d, d, c)),
                    "{d} under {c}"
                );
            }
        }
    }

    #[test]
    fn plan_errors() {
        assert!(matches!(
            plan("O", "O", Casting::No),
            Err(Error::ObjectDtype { descr, .. }) if descr == "|O"
        ));
        assert!(matches!(
            plan("<f8", "[('a', 'O')]", Casting::Unsafe),
            Err(Error::ObjectDtype { descr, .. }) if descr == "[('a', '|O')]"
        ));
        match plan("<f8", "<i4", Casting::SameKind) {
            Err(Error::Cast {
                from, to, casting, ..
            }) => {
                assert_eq!(
                    (from.as_str(), to.as_str(), casting),
                    ("<f8", "<i4", Casting::SameKind)
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            plan("<i4", ">i4", Casting::No),
            Err(Error::Cast { .. })
        ));
        assert!(plan("<i4", ">i4", Casting::Equiv).is_ok());
        assert!(matches!(
            plan("<f8", "<f4", Casting::Safe),
            Err(Error::Cast { .. })
        ));
        assert!(plan("<f8", "<f4", Casting::SameKind).is_ok());
        assert!(matches!(
            plan("<c16", "<f8", Casting::SameKind),
            Err(Error::Cast { .. })
        ));
        assert!(plan("<c16", "<f8", Casting::Unsafe).is_ok());
        // Allowed by NumPy, not implemented by npaa.
        for (from, to) in [
            ("S3", "S5"),
            ("<U3", "<U5"),
            ("V4", "V8"),
            ("<M8[s]", "<M8[ms]"),
            ("<m8[h]", "<m8[s]"),
            ("<i8", "<m8[s]"),
            ("<f8", "<f16"),
            ("<f16", "<f8"),
            ("<c32", "<c16"),
            ("<i4", "S20"),
            ("[('a', '<i4')]", "[('b', '<i4')]"),
            ("[('a', '<i4')]", "[('a', '<i8')]"),
            ("[('a', '<i4')]", "<i4"),
            ("<i4", "[('a', '<i4')]"),
        ] {
            assert!(
                matches!(
                    plan(from, to, Casting::Unsafe),
                    Err(Error::CastUnsupported { .. })
                ),
                "{from} -> {to}"
            );
        }
        // Impossible under any rule (NumPy refuses too).
        assert!(matches!(
            plan("[('a', '<i4'), ('b', '<i4')]", "<i4", Casting::Unsafe),
            Err(Error::Cast { .. })
        ));
    }

    #[test]
    fn convert_never_panics_on_bad_lengths() {
        let p = plan("<i4", "<f8", Casting::Safe).unwrap();
        let src = encode(&dt("<i4"), "1 2 3");
        // Room for two items only: two are converted, the rest of dst is untouched.
        let mut dst = vec![0xee; 20];
        p.convert(&src, &mut dst);
        assert_eq!(
            decode(&dt("<f8"), &dst[..16]),
            expected(&dt("<f8"), "1.0 2.0")
        );
        assert_eq!(&dst[16..], &[0xee; 4]);
        // A trailing partial item in src is ignored.
        let mut dst = vec![0; 24];
        p.convert(&src[..11], &mut dst);
        assert_eq!(
            decode(&dt("<f8"), &dst),
            expected(&dt("<f8"), "1.0 2.0 0.0")
        );
        p.convert(&[], &mut []);
        for d in ["|S0", "[]"] {
            let z = plan(d, d, Casting::No).unwrap();
            z.convert(&[1, 2, 3], &mut [0; 3]);
        }
        let s = plan(
            "[('a', '<i2', (3,))]",
            "[('a', '>i2', (3,))]",
            Casting::Equiv,
        )
        .unwrap();
        let mut out = [0u8; 7];
        s.convert(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13], &mut out);
        assert_eq!(out, [2, 1, 4, 3, 6, 5, 0]);
    }

    #[test]
    fn hand_built_records_that_lie_are_refused() {
        let field = |offset| Field {
            name: "a".into(),
            title: None,
            offset,
            dtype: dt("<i4"),
            shape: vec![],
        };
        let lying = |offset| {
            Dtype::Record(Record {
                fields: vec![field(offset)],
                itemsize: 4,
            })
        };
        let swapped = Dtype::Record(Record {
            fields: vec![Field {
                dtype: dt(">i4"),
                ..field(2)
            }],
            itemsize: 4,
        });
        assert!(matches!(
            CastPlan::new(&lying(2), &swapped, Casting::Equiv),
            Err(Error::InvalidDtype { .. })
        ));
        let huge = Dtype::Record(Record {
            fields: vec![Field {
                dtype: dt(">i4"),
                ..field(usize::MAX)
            }],
            itemsize: 4,
        });
        assert!(CastPlan::new(&lying(usize::MAX), &huge, Casting::Equiv).is_err());
    }
}
