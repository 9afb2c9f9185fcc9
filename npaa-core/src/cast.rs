//! NumPy's casting rules, and the conversions npaa applies when a block's dtype differs from
//! the file's.
//!
//! [`can_cast`] answers what `np.can_cast(from, to, casting)` answers. [`CastPlan`] is a
//! conversion prepared once per block and applied to chunks of whole items: a plain copy, a
//! byte swap (any dtype whose bytes only differ in byte order, records included), or a value
//! conversion between the numeric types `b1 i1 i2 i4 i8 u1 u2 u4 u8 f4 f8 c8 c16` (and `f2`
//! with the `f16` feature). Every other cast NumPy allows is refused with
//! [`Error::CastUnsupported`].
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

use crate::dtype::{ByteOrder, Dtype, Field, Kind, Record, Scalar, TimeUnit};
use crate::error::Error;

/// NumPy's casting rules (`np.can_cast`), from strictest to loosest; the default is
/// [`Casting::SameKind`], as for NumPy's ufuncs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
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
    fn plain(dtype: &'a Dtype) -> Self {
        Ty { dtype, shape: &[] }
    }

    fn field(f: &'a Field) -> Self {
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
    /// Copy, then reverse these byte ranges inside each item.
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
        for d in [from, to] {
            if d.has_object() {
                return Err(Error::ObjectDtype { descr: d.descr() });
            }
        }
        if !can_cast(from, to, casting) {
            return Err(Error::Cast {
                from: from.descr(),
                to: to.descr(),
                casting,
            });
        }
        let op = if let Some(ops) = swap_ops(from, to) {
            check_swap_ops(&ops, from.itemsize()).map_err(|reason| Error::InvalidDtype {
                descr: from.descr(),
                reason,
            })?;
            if ops.is_empty() {
                Op::Identity
            } else {
                Op::Swap(ops)
            }
        } else if let Some(kernel) = numeric_kernel(from, to) {
            Op::Convert(kernel)
        } else {
            return Err(Error::CastUnsupported {
                from: from.descr(),
                to: to.descr(),
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
            Op::Swap(ops) => {
                dst.copy_from_slice(src);
                swap_items(ops, dst, self.dst_itemsize);
            }
            Op::Convert(k) => (k.run)(src, k.src_big, dst, k.dst_big),
        }
    }
}

/// Reverses the byte ranges of `ops` in every item of `buf`.
fn swap_items(ops: &[SwapOp], buf: &mut [u8], itemsize: usize) {
    if let [
        SwapOp::Run {
            offset: 0,
            width,
            count,
            stride,
        },
    ] = ops
        && width == stride
        && width.checked_mul(*count) == Some(itemsize)
    {
        // Scalars, U strings, complex numbers: every `width` bytes of the buffer.
        buf.chunks_exact_mut(*width).for_each(<[u8]>::reverse);
        return;
    }
    for item in buf.chunks_exact_mut(itemsize) {
        apply_swap(ops, item);
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
            if a.kind != b.kind || a.size != b.size {
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
                let offset = base.checked_add(fa.offset)?;
                let mut inner = Vec::new();
                push_swap_ops(&fa.dtype, &fb.dtype, 0, &mut inner)?;
                let count = fa.count();
                let stride = fa.dtype.itemsize();
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
            }
            Some(())
        }
        _ => None,
    }
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
/// integers through `f32` (`npy_float_to_half((float)x)`), from `f64` directly.
#[cfg(feature = "f16")]
mod half_casts {
    use half::f16;

    use super::{CastTo, Complex};

    macro_rules! impl_half_casts {
        ($($t:ty),*) => {$(
            impl CastTo<$t> for f16 {
                #[inline]
                fn cast_to(self) -> $t {
                    f32::from(self) as $t
                }
            }
            impl CastTo<f16> for $t {
                #[inline]
                fn cast_to(self) -> f16 {
                    f16::from_f32(self as f32)
                }
            }
        )*};
    }
    impl_half_casts!(i8, i16, i32, i64, u8, u16, u32, u64);

    impl CastTo<f32> for f16 {
        #[inline]
        fn cast_to(self) -> f32 {
            f32::from(self)
        }
    }
    impl CastTo<f64> for f16 {
        #[inline]
        fn cast_to(self) -> f64 {
            f64::from(self)
        }
    }
    impl CastTo<f16> for f32 {
        #[inline]
        fn cast_to(self) -> f16 {
            f16::from_f32(self)
        }
    }
    impl CastTo<f16> for f64 {
        #[inline]
        fn cast_to(self) -> f16 {
            f16::from_f64(self)
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
                re: f32::from(self),
                im: 0.0,
            }
        }
    }
    impl CastTo<Complex<f64>> for f16 {
        #[inline]
        fn cast_to(self) -> Complex<f64> {
            Complex {
                re: f64::from(self),
                im: 0.0,
            }
        }
    }
    impl CastTo<f16> for Complex<f32> {
        #[inline]
        fn cast_to(self) -> f16 {
            f16::from_f32(self.re)
        }
    }
    impl CastTo<f16> for Complex<f64> {
        #[inline]
        fn cast_to(self) -> f16 {
            f16::from_f64(self.re)
        }
    }
}

/// An element type convertible to every element type (so one generic function picks the
/// destination).
#[cfg(not(feature = "f16"))]
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
{
}

/// An element type convertible to every element type (so one generic function picks the
/// destination).
#[cfg(feature = "f16")]
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
    + CastTo<half::f16>
{
}

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
