//! What `np.can_cast` answers ([`can_cast`]), and the casting names' parser.

use std::str::FromStr;

use crate::casting::Casting;
use crate::dtype::{ByteOrder, Dtype, Field, Kind, Record, Scalar, TimeUnit};
use crate::error::Error;

impl FromStr for Casting {
    type Err = Error;

    /// Parses NumPy's names: `no`, `equiv`, `safe`, `same_kind` (or `same-kind`), `unsafe`.
    ///
    /// # Errors
    /// [`Error::UnknownName`] for any other text.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "no" => Ok(Casting::No),
            "equiv" => Ok(Casting::Equiv),
            "safe" => Ok(Casting::Safe),
            "same_kind" | "same-kind" => Ok(Casting::SameKind),
            "unsafe" => Ok(Casting::Unsafe),
            _ => Err(Error::UnknownName {
                what: "casting rule",
                given: s.to_owned(),
                expected: "no, equiv, safe, same_kind or unsafe",
            }),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cast::testing::dt;

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
}
