//! Formatting array items as NumPy 2 prints them (`numpy/_core/arrayprint.py`).
//!
//! NumPy formats an array in two steps: a first pass over all the values fixes per-column
//! parameters (integer widths, float padding and exponent format, ...), a second pass
//! formats each value with them and lays the array out in 75-column lines. [`Plan`] does the
//! same: [`Plan::observe`] every item, [`Plan::finish`], then [`Plan::format`] every item;
//! [`write_array`] does the layout, streaming, so memory use does not depend on the array
//! size.
//!
//! What is reproduced exactly (and tested against NumPy): `print(arr)` with NumPy's default
//! options (`threshold=1000`, `edgeitems=3`, `precision=8`, `floatmode='maxprec'`,
//! `linewidth=75`, `sign='-'`), or with `threshold=sys.maxsize` (no `...` summarisation; the
//! caller chooses through [`Axis`] and [`Plan::new`]), for bool, integer, float16/32/64,
//! complex64/128, `S`, `U`, `V`, datetime64, timedelta64 and structured dtypes. A summarised
//! array's formats come from its printed items only, as NumPy's do. Long doubles are read as
//! x87 extended precision and printed as the float64 they round to. `S`, `V` and `U` items
//! are shown with the core's Python `repr` ([`npaa_core::repr::repr_bytes`],
//! [`npaa_core::repr::repr_str`], whose one approximation is documented there).

use std::io::{self, Write};

use npaa_core::Dtype;
use npaa_core::dtype::{ByteOrder, DatetimeUnit, Field, Kind, Record, Scalar, TimeUnit};
use npaa_core::repr::{repr_bytes, repr_str};

/// Width of a printed line, NumPy's default `linewidth`.
const LINE_WIDTH: usize = 75;

/// Digits after the decimal point, NumPy's default `precision`.
const PRECISION: usize = 8;

/// NumPy's default `threshold`: an array of more elements is summarised with `...`.
pub const THRESHOLD: u64 = 1000;

/// NumPy's default `edgeitems`: the items kept at each end of a summarised axis.
pub const EDGE_ITEMS: u64 = 3;

/// One axis of a printed array: its length and whether only its edge items are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Axis {
    /// The length of the axis.
    pub len: u64,
    /// Only `EDGE_ITEMS` at each end are printed, with `...` between them.
    pub summarised: bool,
}

impl Axis {
    /// An axis of `len` items in an array that is summarised (`summarise`) or not: NumPy
    /// summarises an axis only where it is longer than twice `EDGE_ITEMS`.
    pub fn new(len: u64, summarise: bool) -> Axis {
        Axis {
            len,
            summarised: summarise && len > 2 * EDGE_ITEMS,
        }
    }

    /// How many items of the axis are printed.
    pub fn count(self) -> u64 {
        if self.summarised {
            2 * EDGE_ITEMS
        } else {
            self.len
        }
    }

    /// The index in the axis of printed item number `i` (`i < count()`).
    pub fn index(self, i: u64) -> u64 {
        if self.summarised && i >= EDGE_ITEMS {
            self.len - 2 * EDGE_ITEMS + i
        } else {
            i
        }
    }
}

/// How to format the items of one dtype, with the statistics of the values seen.
#[derive(Debug)]
pub struct Plan {
    root: Node,
}

#[derive(Debug)]
enum Node {
    Leaf(Box<Leaf>),
    Record(Vec<FieldPlan>),
}

#[derive(Debug)]
struct FieldPlan {
    offset: usize,
    /// Subarray shape; empty for a plain field.
    shape: Vec<u64>,
    /// Bytes of one element of the field.
    itemsize: usize,
    /// Whether the subarray is summarised (more than [`THRESHOLD`] elements, not `--full`).
    summarised: bool,
    node: Node,
}

/// Floating-point formats the values may come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FloatTy {
    F16,
    F32,
    F64,
    /// x87 extended precision in 10, 12 or 16 bytes, printed as float64.
    Long,
}

#[derive(Debug)]
enum Leaf {
    Bool,
    Int {
        signed: bool,
        size: usize,
        big: bool,
        stats: IntStats,
    },
    Float {
        ty: FloatTy,
        size: usize,
        big: bool,
        fmt: FloatFormat,
    },
    Complex {
        ty: FloatTy,
        size: usize,
        big: bool,
        re: FloatFormat,
        im: FloatFormat,
    },
    Bytes,
    Unicode {
        big: bool,
    },
    Void,
    Datetime {
        unit: TimeUnit,
        big: bool,
        stats: TimeStats,
    },
    Timedelta {
        unit: TimeUnit,
        big: bool,
        stats: TimeStats,
    },
}

impl Plan {
    /// A plan for items of `dtype`. `summarise`: subarray fields of more than [`THRESHOLD`]
    /// elements are summarised as NumPy does by default (false: `threshold=sys.maxsize`).
    ///
    /// # Errors
    /// For object dtypes (pickles), which cannot be read without Python.
    pub fn new(dtype: &Dtype, summarise: bool) -> Result<Plan, String> {
        Ok(Plan {
            root: node(dtype, summarise)?,
        })
    }

    /// Takes one item (its `itemsize` bytes) into account for the column widths.
    pub fn observe(&mut self, item: &[u8]) {
        self.root.observe(item);
    }

    /// Fixes the formats from the values observed.
    pub fn finish(&mut self) {
        self.root.finish();
    }

    /// Formats one item as an element of a printed array.
    pub fn format(&self, item: &[u8]) -> String {
        self.root.format(item, false)
    }

    /// Formats the item of a 0-d array as `print(arr)` does (like `str` of the scalar).
    pub fn format_scalar(&self, item: &[u8]) -> String {
        match &self.root {
            Node::Record(_) => self.root.format(item, true),
            Node::Leaf(leaf) => leaf.scalar_str(item),
        }
    }
}

fn node(dtype: &Dtype, summarise: bool) -> Result<Node, String> {
    match dtype {
        Dtype::Scalar(s) => leaf(s).map(|l| Node::Leaf(Box::new(l))),
        Dtype::Record(r) => record(r, summarise),
        Dtype::Subarray(_) => Err("a subarray is only valid as a field's dtype".to_owned()),
        other => Err(format!("dtype {other} is not supported")),
    }
}

fn record(r: &Record, summarise: bool) -> Result<Node, String> {
    let fields = r
        .fields()
        .iter()
        .map(|f: &Field| {
            // A subarray of subarrays prints as one array of the shapes joined, as NumPy does.
            let mut shape = f.shape().to_vec();
            let mut base = f.dtype();
            while let Dtype::Subarray(a) = base {
                shape.extend_from_slice(a.shape());
                base = a.base();
            }
            Ok(FieldPlan {
                offset: f.offset(),
                summarised: summarise && shape.iter().product::<u64>() > THRESHOLD,
                shape,
                itemsize: base.itemsize(),
                node: node(base, summarise)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Node::Record(fields))
}

fn leaf(s: &Scalar) -> Result<Leaf, String> {
    // No byte order given means native; multi-byte types in files always carry one.
    let big = match s.order() {
        ByteOrder::Big => true,
        ByteOrder::Little => false,
        ByteOrder::NotApplicable => cfg!(target_endian = "big"),
    };
    let float_ty = |size: usize| match size {
        2 => Some(FloatTy::F16),
        4 => Some(FloatTy::F32),
        8 => Some(FloatTy::F64),
        10 | 12 | 16 => Some(FloatTy::Long),
        _ => None,
    };
    let size = s.size();
    Ok(match s.kind() {
        Kind::Bool => Leaf::Bool,
        Kind::Int | Kind::Uint if matches!(size, 1 | 2 | 4 | 8) => Leaf::Int {
            signed: *s.kind() == Kind::Int,
            size,
            big,
            stats: IntStats::default(),
        },
        Kind::Float => match float_ty(size) {
            Some(ty) => Leaf::Float {
                ty,
                size,
                big,
                fmt: FloatFormat::new(ty, false),
            },
            None => return Err(format!("float of {size} bytes")),
        },
        Kind::Complex => match float_ty(size / 2) {
            Some(ty) if size.is_multiple_of(2) => Leaf::Complex {
                ty,
                size: size / 2,
                big,
                re: FloatFormat::new(ty, false),
                im: FloatFormat::new(ty, true),
            },
            _ => return Err(format!("complex of {size} bytes")),
        },
        Kind::Bytes => Leaf::Bytes,
        Kind::Unicode => Leaf::Unicode { big },
        Kind::Void => Leaf::Void,
        Kind::Datetime(unit) => Leaf::Datetime {
            unit: unit.clone(),
            big,
            stats: TimeStats::default(),
        },
        Kind::Timedelta(unit) => Leaf::Timedelta {
            unit: unit.clone(),
            big,
            stats: TimeStats::default(),
        },
        Kind::Object => {
            return Err("object arrays hold Python pickles, which npaa cannot read".to_owned());
        }
        Kind::Int | Kind::Uint => return Err(format!("integer of {size} bytes")),
        other => return Err(format!("scalar kind {other:?} is not supported")),
    })
}

impl Node {
    fn observe(&mut self, item: &[u8]) {
        match self {
            Node::Leaf(leaf) => leaf.observe(item),
            Node::Record(fields) => {
                for f in fields {
                    for element in elements(f.offset, f.itemsize, &f.shape, item) {
                        f.node.observe(element);
                    }
                }
            }
        }
    }

    fn finish(&mut self) {
        match self {
            Node::Leaf(leaf) => leaf.finish(),
            Node::Record(fields) => fields.iter_mut().for_each(|f| f.node.finish()),
        }
    }

    /// `scalar`: the record is the item of a 0-d array, whose floats NumPy prints with `str`.
    fn format(&self, item: &[u8], scalar: bool) -> String {
        match self {
            Node::Leaf(leaf) => {
                if scalar {
                    leaf.in_scalar_record(item)
                } else {
                    leaf.format(item)
                }
            }
            Node::Record(fields) => {
                let parts: Vec<String> = fields.iter().map(|f| f.format(item, scalar)).collect();
                match parts.as_slice() {
                    [one] => format!("({one},)"),
                    _ => format!("({})", parts.join(", ")),
                }
            }
        }
    }
}

/// The elements of a field (one for a plain field) in C order.
fn elements<'a>(
    offset: usize,
    itemsize: usize,
    shape: &[u64],
    item: &'a [u8],
) -> impl Iterator<Item = &'a [u8]> + 'a {
    let count: u64 = shape.iter().product();
    (0..count as usize).map(move |i| {
        let start = offset + i * itemsize;
        &item[start..start + itemsize]
    })
}

impl FieldPlan {
    fn format(&self, item: &[u8], scalar: bool) -> String {
        if self.shape.is_empty() {
            let bytes = &item[self.offset..self.offset + self.itemsize];
            return self.node.format(bytes, scalar);
        }
        // NumPy's SubArrayFormat: nested lists joined by ", ", with `...` past THRESHOLD.
        let axes: Vec<Axis> = self
            .shape
            .iter()
            .map(|&len| Axis::new(len, self.summarised))
            .collect();
        let mut out = String::new();
        self.nested_list(&axes, 0, item, scalar, &mut out);
        out
    }

    /// Appends the (sub)list of `axes` whose first element is element number `first`.
    fn nested_list(&self, axes: &[Axis], first: u64, item: &[u8], scalar: bool, out: &mut String) {
        match axes.split_first() {
            None => {
                let start = self.offset + first as usize * self.itemsize;
                let bytes = &item[start..start + self.itemsize];
                out.push_str(&self.node.format(bytes, scalar));
            }
            Some((axis, rest)) => {
                let inner: u64 = rest.iter().map(|a| a.len).product();
                out.push('[');
                for i in 0..axis.count() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    if axis.summarised && i == EDGE_ITEMS {
                        out.push_str("..., ");
                    }
                    self.nested_list(rest, first + axis.index(i) * inner, item, scalar, out);
                }
                out.push(']');
            }
        }
    }
}

impl Leaf {
    fn observe(&mut self, item: &[u8]) {
        match self {
            Leaf::Int {
                signed,
                size,
                big,
                stats,
            } => stats.observe(read_int(&item[..*size], *signed, *big)),
            Leaf::Float { ty, size, big, fmt } => {
                fmt.observe(read_float(&item[..*size], *ty, *big))
            }
            Leaf::Complex {
                ty,
                size,
                big,
                re,
                im,
            } => {
                re.observe(read_float(&item[..*size], *ty, *big));
                im.observe(read_float(&item[*size..2 * *size], *ty, *big));
            }
            Leaf::Datetime { big, stats, .. } | Leaf::Timedelta { big, stats, .. } => {
                stats.observe(read_int(&item[..8], true, *big) as i64);
            }
            Leaf::Bool | Leaf::Bytes | Leaf::Unicode { .. } | Leaf::Void => {}
        }
    }

    fn finish(&mut self) {
        match self {
            Leaf::Float { fmt, .. } => fmt.finish(),
            Leaf::Complex { re, im, .. } => {
                re.finish();
                im.finish();
            }
            Leaf::Datetime { unit, stats, .. } => {
                let unit = unit.clone();
                stats.finish(|v| format!("'{}'", datetime_str(v, &unit)));
            }
            Leaf::Timedelta { stats, .. } => stats.finish(|v| v.to_string()),
            _ => {}
        }
    }

    fn format(&self, item: &[u8]) -> String {
        match self {
            Leaf::Bool => if item[0] != 0 { " True" } else { "False" }.to_owned(),
            Leaf::Int {
                signed,
                size,
                big,
                stats,
            } => {
                let v = read_int(&item[..*size], *signed, *big);
                format!("{v:>w$}", w = stats.width())
            }
            Leaf::Float { ty, size, big, fmt } => fmt.format(read_float(&item[..*size], *ty, *big)),
            Leaf::Complex {
                ty,
                size,
                big,
                re,
                im,
            } => {
                let r = re.format(read_float(&item[..*size], *ty, *big));
                let i = im.format(read_float(&item[*size..2 * *size], *ty, *big));
                // The 'j' goes before the padding of the imaginary part.
                let trimmed = i.trim_end();
                format!("{r}{trimmed}j{}", &i[trimmed.len()..])
            }
            Leaf::Bytes => repr_bytes(strip_nuls(item)),
            Leaf::Unicode { big } => repr_str(&read_unicode(item, *big)),
            Leaf::Void => repr_bytes(item),
            Leaf::Datetime { unit, big, stats } => {
                let v = read_int(&item[..8], true, *big) as i64;
                let text = if v == i64::MIN {
                    "'NaT'".to_owned()
                } else {
                    format!("'{}'", datetime_str(v, unit))
                };
                format!("{text:>w$}", w = stats.width)
            }
            Leaf::Timedelta { big, stats, .. } => {
                let v = read_int(&item[..8], true, *big) as i64;
                let text = if v == i64::MIN {
                    "'NaT'".to_owned()
                } else {
                    v.to_string()
                };
                format!("{text:>w$}", w = stats.width)
            }
        }
    }

    /// A field of a 0-d structured array: floats as `str` gives them, bools without the
    /// alignment space, the rest as in arrays.
    fn in_scalar_record(&self, item: &[u8]) -> String {
        match self {
            Leaf::Bool => if item[0] != 0 { "True" } else { "False" }.to_owned(),
            Leaf::Float { ty, size, big, .. } => {
                float_str(read_float(&item[..*size], *ty, *big), *ty)
            }
            _ => self.format(item),
        }
    }

    /// `print` of a 0-d array of this type: the `str` of the scalar.
    fn scalar_str(&self, item: &[u8]) -> String {
        match self {
            Leaf::Bool => if item[0] != 0 { "True" } else { "False" }.to_owned(),
            Leaf::Int {
                signed, size, big, ..
            } => read_int(&item[..*size], *signed, *big).to_string(),
            Leaf::Float { ty, size, big, .. } => {
                float_str(read_float(&item[..*size], *ty, *big), *ty)
            }
            Leaf::Complex { ty, size, big, .. } => {
                let re = read_float(&item[..*size], *ty, *big);
                let im = read_float(&item[*size..2 * *size], *ty, *big);
                complex_str(re, im, *ty)
            }
            Leaf::Bytes => format!("np.bytes_({})", repr_bytes(strip_nuls(item))),
            Leaf::Unicode { big } => read_unicode(item, *big),
            Leaf::Void => repr_bytes(item),
            Leaf::Datetime { unit, big, .. } => {
                let v = read_int(&item[..8], true, *big) as i64;
                if v == i64::MIN {
                    "NaT".to_owned()
                } else {
                    datetime_str(v, unit)
                }
            }
            Leaf::Timedelta { unit, big, .. } => {
                let v = read_int(&item[..8], true, *big) as i64;
                if v == i64::MIN {
                    return "NaT".to_owned();
                }
                let total = i128::from(v) * i128::from(unit.count().max(1));
                match unit.unit() {
                    None => format!("{v} generic time units"),
                    Some(u) => format!("{total} {}", unit_name(u)),
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding

fn read_uint(bytes: &[u8], big: bool) -> u64 {
    let mut v = 0u64;
    if big {
        for &b in bytes {
            v = (v << 8) | u64::from(b);
        }
    } else {
        for &b in bytes.iter().rev() {
            v = (v << 8) | u64::from(b);
        }
    }
    v
}

fn read_int(bytes: &[u8], signed: bool, big: bool) -> i128 {
    let v = read_uint(bytes, big);
    let bits = bytes.len() * 8;
    if signed && bits < 64 && v >> (bits - 1) & 1 == 1 {
        i128::from(v) - (1i128 << bits)
    } else if signed && bits == 64 {
        i128::from(v as i64)
    } else {
        i128::from(v)
    }
}

fn read_float(bytes: &[u8], ty: FloatTy, big: bool) -> f64 {
    match ty {
        FloatTy::F16 => half::f16::from_bits(read_uint(bytes, big) as u16).to_f64(),
        FloatTy::F32 => f64::from(f32::from_bits(read_uint(bytes, big) as u32)),
        FloatTy::F64 => f64::from_bits(read_uint(bytes, big)),
        FloatTy::Long => {
            let mut le = [0u8; 10];
            if big {
                // Big-endian long doubles keep the 10 significant bytes at the end.
                for (i, b) in bytes[bytes.len() - 10..].iter().rev().enumerate() {
                    le[i] = *b;
                }
            } else {
                le.copy_from_slice(&bytes[..10]);
            }
            x87_to_f64(&le)
        }
    }
}

/// Converts an x87 80-bit extended float (little-endian bytes) to the nearest f64.
fn x87_to_f64(b: &[u8; 10]) -> f64 {
    let mantissa = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    let se = u16::from_le_bytes([b[8], b[9]]);
    let negative = se & 0x8000 != 0;
    let exp = i32::from(se & 0x7fff);
    let magnitude = if exp == 0x7fff {
        if mantissa << 1 == 0 {
            f64::INFINITY
        } else {
            f64::NAN
        }
    } else if mantissa == 0 {
        0.0
    } else {
        // value = mantissa × 2^(exp - 16383 - 63); scale in steps to avoid overflow in powi.
        let mut v = mantissa as f64;
        let mut e = exp.max(1) - 16383 - 63;
        while e > 0 {
            let step = e.min(1000);
            v *= 2f64.powi(step);
            e -= step;
        }
        while e < 0 {
            let step = e.max(-1000);
            v *= 2f64.powi(step);
            e -= step;
        }
        v
    };
    if negative { -magnitude } else { magnitude }
}

fn strip_nuls(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &bytes[..end]
}

/// A `U` item: UCS-4 code units, trailing NULs removed.
fn read_unicode(item: &[u8], big: bool) -> String {
    let units: Vec<u32> = item
        .chunks_exact(4)
        .map(|c| read_uint(c, big) as u32)
        .collect();
    let end = units.iter().rposition(|&u| u != 0).map_or(0, |i| i + 1);
    units[..end]
        .iter()
        .map(|&u| char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Integers and times

#[derive(Debug, Default)]
struct IntStats {
    range: Option<(i128, i128)>,
}

impl IntStats {
    fn observe(&mut self, v: i128) {
        self.range = Some(match self.range {
            None => (v, v),
            Some((lo, hi)) => (lo.min(v), hi.max(v)),
        });
    }

    /// NumPy's IntegerFormat: the longer of `str(max)` and `str(min)`.
    fn width(&self) -> usize {
        self.range
            .map_or(0, |(lo, hi)| lo.to_string().len().max(hi.to_string().len()))
    }
}

#[derive(Debug, Default)]
struct TimeStats {
    range: Option<(i64, i64)>,
    nat: bool,
    width: usize,
}

impl TimeStats {
    fn observe(&mut self, v: i64) {
        if v == i64::MIN {
            self.nat = true;
            return;
        }
        self.range = Some(match self.range {
            None => (v, v),
            Some((lo, hi)) => (lo.min(v), hi.max(v)),
        });
    }

    /// NumPy's _TimelikeFormat: the longer of the formatted max and min, at least 5 with NaT.
    fn finish(&mut self, fmt: impl Fn(i64) -> String) {
        let mut width = self.range.map_or(0, |(lo, hi)| {
            fmt(lo).chars().count().max(fmt(hi).chars().count())
        });
        if self.nat {
            width = width.max(5);
        }
        self.width = width;
    }
}

fn unit_name(unit: DatetimeUnit) -> &'static str {
    match unit {
        DatetimeUnit::Years => "years",
        DatetimeUnit::Months => "months",
        DatetimeUnit::Weeks => "weeks",
        DatetimeUnit::Days => "days",
        DatetimeUnit::Hours => "hours",
        DatetimeUnit::Minutes => "minutes",
        DatetimeUnit::Seconds => "seconds",
        DatetimeUnit::Milliseconds => "milliseconds",
        DatetimeUnit::Microseconds => "microseconds",
        DatetimeUnit::Nanoseconds => "nanoseconds",
        DatetimeUnit::Picoseconds => "picoseconds",
        DatetimeUnit::Femtoseconds => "femtoseconds",
        DatetimeUnit::Attoseconds => "attoseconds",
    }
}

/// `np.datetime_as_string` of a (non-NaT) value in its own unit: `2024-01-31`,
/// `2024-01-31T12:00:00.500`.
fn datetime_str(v: i64, unit: &TimeUnit) -> String {
    let Some(u) = unit.unit() else {
        // Generic datetimes hold only NaT in practice: show the raw value.
        return v.to_string();
    };
    let total = i128::from(v) * i128::from(unit.count().max(1));
    let (per_day, frac_digits): (i128, usize) = match u {
        DatetimeUnit::Years => return year_str(1970 + total),
        DatetimeUnit::Months => {
            let year = 1970 + total.div_euclid(12);
            return format!("{}-{:02}", year_str(year), total.rem_euclid(12) + 1);
        }
        DatetimeUnit::Weeks => return date_str(total * 7),
        DatetimeUnit::Days => return date_str(total),
        DatetimeUnit::Hours => (24, 0),
        DatetimeUnit::Minutes => (24 * 60, 0),
        DatetimeUnit::Seconds => (86_400, 0),
        DatetimeUnit::Milliseconds => (86_400_000, 3),
        DatetimeUnit::Microseconds => (86_400_000_000, 6),
        DatetimeUnit::Nanoseconds => (86_400_000_000_000, 9),
        DatetimeUnit::Picoseconds => (86_400_000_000_000_000, 12),
        DatetimeUnit::Femtoseconds => (86_400_000_000_000_000_000, 15),
        DatetimeUnit::Attoseconds => (86_400_000_000_000_000_000_000, 18),
    };
    let days = total.div_euclid(per_day);
    let in_day = total.rem_euclid(per_day);
    let mut out = date_str(days);
    match u {
        DatetimeUnit::Hours => out.push_str(&format!("T{in_day:02}")),
        DatetimeUnit::Minutes => {
            out.push_str(&format!("T{:02}:{:02}", in_day / 60, in_day % 60));
        }
        _ => {
            let per_second = per_day / 86_400;
            let secs = in_day / per_second;
            out.push_str(&format!(
                "T{:02}:{:02}:{:02}",
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            ));
            if frac_digits > 0 {
                out.push_str(&format!(".{:0w$}", in_day % per_second, w = frac_digits));
            }
        }
    }
    out
}

fn year_str(year: i128) -> String {
    if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        year.to_string()
    }
}

/// `YYYY-MM-DD` of a day count since 1970-01-01 (proleptic Gregorian; Howard Hinnant's
/// `civil_from_days`).
fn date_str(days: i128) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    format!("{}-{month:02}-{day:02}", year_str(year))
}

// ---------------------------------------------------------------------------------------------
// Floats: NumPy's FloatingFormat (floatmode 'maxprec', precision 8)

/// The decimal digits of a finite float: `digits[0].digits[1..] × 10^exp`.
#[derive(Debug, PartialEq)]
struct Decimal {
    negative: bool,
    digits: String,
    exp: i32,
}

/// Parses Rust's `{:e}` output (`-1.25e-7`).
fn parse_exp(s: &str) -> Decimal {
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (mantissa, exp) = s.split_once('e').unwrap_or((s, "0"));
    Decimal {
        negative,
        digits: mantissa.replace('.', ""),
        exp: exp.parse().unwrap_or(0),
    }
}

/// The shortest digits that read back as the same value of type `ty` (as Python's `repr`
/// and NumPy's Dragon4 in unique mode).
fn shortest(v: f64, ty: FloatTy) -> Decimal {
    match ty {
        FloatTy::F64 | FloatTy::Long => parse_exp(&format!("{v:e}")),
        FloatTy::F32 => parse_exp(&format!("{:e}", v as f32)),
        FloatTy::F16 => {
            let target = half::f16::from_f64(v);
            (0..17)
                .map(|p| format!("{v:.p$e}"))
                .find(|s| {
                    s.parse::<f64>()
                        .is_ok_and(|back| half::f16::from_f64(back) == target)
                })
                .map_or_else(|| parse_exp(&format!("{v:e}")), |s| parse_exp(&s))
        }
    }
}

/// `(integer part with sign, fraction digits)` of Dragon4 positional output, unique digits
/// capped at `PRECISION` fractional digits, trailing zeros trimmed (trim mode `.`).
fn positional(v: f64, ty: FloatTy, plus: bool) -> (String, String) {
    positional_from(&shortest(v, ty), v, plus)
}

/// [`positional`] from the shortest digits `d` of `v`.
fn positional_from(d: &Decimal, v: f64, plus: bool) -> (String, String) {
    let (mut int, mut frac) = if d.exp >= 0 {
        let int_len = (d.exp + 1) as usize;
        if d.digits.len() > int_len {
            (
                d.digits[..int_len].to_owned(),
                d.digits[int_len..].to_owned(),
            )
        } else {
            (
                format!("{}{}", d.digits, "0".repeat(int_len - d.digits.len())),
                String::new(),
            )
        }
    } else {
        (
            "0".to_owned(),
            format!("{}{}", "0".repeat((-d.exp - 1) as usize), d.digits),
        )
    };
    if frac.len() > PRECISION {
        // Too many digits: round the exact value (Rust formats exactly, ties to even, as
        // Dragon4 does).
        let s = format!("{:.p$}", v.abs(), p = PRECISION);
        let (i, f) = s.split_once('.').unwrap_or((&s, ""));
        int = i.to_owned();
        frac = f.to_owned();
    }
    let frac = frac.trim_end_matches('0').to_owned();
    let sign = if d.negative {
        "-"
    } else if plus {
        "+"
    } else {
        ""
    };
    (format!("{sign}{int}"), frac)
}

/// `(mantissa integer digit with sign, fraction digits, exponent)` of Dragon4 scientific
/// output in unique mode, capped at `PRECISION` fractional digits, zeros trimmed.
fn scientific_from(d: &Decimal, v: f64, plus: bool) -> (String, String, i32) {
    let capped;
    let d = if d.digits.len() > PRECISION + 1 {
        let mut c = parse_exp(&format!("{:.p$e}", v.abs(), p = PRECISION));
        c.negative = d.negative;
        capped = c;
        &capped
    } else {
        d
    };
    let sign = if d.negative {
        "-"
    } else if plus {
        "+"
    } else {
        ""
    };
    let frac = d.digits[1..].trim_end_matches('0').to_owned();
    (format!("{sign}{}", &d.digits[..1]), frac, d.exp)
}

/// Whether `|v|` is below 1e-4, compared in the array's own type as NumPy does.
fn below_small_cutoff(v: f64, ty: FloatTy) -> bool {
    match ty {
        FloatTy::F16 => v < half::f16::from_f64(1e-4).to_f64(),
        FloatTy::F32 => (v as f32) < 1e-4f32,
        FloatTy::F64 | FloatTy::Long => v < 1e-4,
    }
}

/// NumPy's FloatingFormat for one column of values.
#[derive(Debug)]
struct FloatFormat {
    ty: FloatTy,
    /// `sign='+'` (the imaginary part of complex numbers).
    plus: bool,
    // Statistics.
    finite: u64,
    nonfinite: bool,
    neg_inf: bool,
    abs_min: f64,
    abs_max: f64,
    nonzero: u64,
    pos_int: usize,
    pos_frac: usize,
    sci_int: usize,
    sci_frac: usize,
    sci_exp: usize,
    // Format, after `finish`.
    exp_format: bool,
    pad_left: usize,
    pad_right: usize,
    precision: usize,
    exp_size: usize,
}

impl FloatFormat {
    fn new(ty: FloatTy, plus: bool) -> Self {
        FloatFormat {
            ty,
            plus,
            finite: 0,
            nonfinite: false,
            neg_inf: false,
            abs_min: f64::INFINITY,
            abs_max: 0.0,
            nonzero: 0,
            pos_int: 0,
            pos_frac: 0,
            sci_int: 0,
            sci_frac: 0,
            sci_exp: 0,
            exp_format: false,
            pad_left: 0,
            pad_right: 0,
            precision: 0,
            exp_size: 0,
        }
    }

    fn observe(&mut self, v: f64) {
        if !v.is_finite() {
            self.nonfinite = true;
            self.neg_inf |= v == f64::NEG_INFINITY;
            return;
        }
        self.finite += 1;
        if v != 0.0 {
            self.nonzero += 1;
            self.abs_min = self.abs_min.min(v.abs());
            self.abs_max = self.abs_max.max(v.abs());
        }
        let d = shortest(v, self.ty);
        let (int, frac) = positional_from(&d, v, self.plus);
        self.pos_int = self.pos_int.max(int.len());
        self.pos_frac = self.pos_frac.max(frac.len());
        let (int, frac, exp) = scientific_from(&d, v, self.plus);
        self.sci_int = self.sci_int.max(int.len());
        self.sci_frac = self.sci_frac.max(frac.len());
        self.sci_exp = self
            .sci_exp
            .max(exp.unsigned_abs().to_string().len().max(2));
    }

    fn finish(&mut self) {
        if self.nonzero > 0 {
            let cutoff = match self.ty {
                FloatTy::F16 => 1e3,
                FloatTy::F32 => 1e6,
                FloatTy::F64 | FloatTy::Long => 1e8,
            };
            let ratio_big = match self.ty {
                FloatTy::F16 => {
                    half::f16::from_f32(self.abs_max as f32 / self.abs_min as f32).to_f32() > 1000.0
                }
                FloatTy::F32 => self.abs_max as f32 / self.abs_min as f32 > 1000.0,
                FloatTy::F64 | FloatTy::Long => self.abs_max / self.abs_min > 1000.0,
            };
            self.exp_format =
                self.abs_max >= cutoff || below_small_cutoff(self.abs_min, self.ty) || ratio_big;
        }
        if self.finite == 0 {
            self.pad_left = 0;
            self.pad_right = 0;
        } else if self.exp_format {
            self.precision = self.sci_frac;
            self.exp_size = self.sci_exp;
            self.pad_left = self.sci_int;
            self.pad_right = self.exp_size + 2 + self.precision;
        } else {
            self.pad_left = self.pos_int;
            self.pad_right = self.pos_frac;
        }
        if self.nonfinite {
            let neg_inf = usize::from(self.plus || self.neg_inf);
            let offset = self.pad_right + 1;
            self.pad_left = self
                .pad_left
                .max(3usize.saturating_sub(offset))
                .max((3 + neg_inf).saturating_sub(offset));
        }
    }

    fn format(&self, v: f64) -> String {
        if !v.is_finite() {
            let text = if v.is_nan() {
                if self.plus { "+nan" } else { "nan" }
            } else if v < 0.0 {
                "-inf"
            } else if self.plus {
                "+inf"
            } else {
                "inf"
            };
            return format!("{text:>w$}", w = self.pad_left + self.pad_right + 1);
        }
        if self.exp_format {
            // unique=True with min_digits=precision: exactly `precision` digits, the
            // extra ones being the value's own digits, rounded.
            let d = parse_exp(&format!("{:.p$e}", v.abs(), p = self.precision));
            let sign = if v.is_sign_negative() {
                "-"
            } else if self.plus {
                "+"
            } else {
                ""
            };
            let int = format!("{sign}{}", &d.digits[..1]);
            let exp_sign = if d.exp < 0 { '-' } else { '+' };
            format!(
                "{int:>pl$}.{}e{exp_sign}{:0ew$}",
                &d.digits[1..],
                d.exp.unsigned_abs(),
                pl = self.pad_left,
                ew = self.exp_size
            )
        } else {
            let (int, frac) = positional(v, self.ty, self.plus);
            format!(
                "{int:>pl$}.{frac:<pr$}",
                pl = self.pad_left,
                pr = self.pad_right
            )
        }
    }
}

/// `str` of a NumPy float scalar: Python's float repr style, with NumPy's per-type switch to
/// scientific notation (at 1e3 for float16, 1e6 for float32, 1e16 for float64).
fn float_str(v: f64, ty: FloatTy) -> String {
    if v.is_nan() {
        return "nan".to_owned();
    }
    if v.is_infinite() {
        return if v < 0.0 { "-inf" } else { "inf" }.to_owned();
    }
    let cutoff = match ty {
        FloatTy::F16 => 1e3,
        FloatTy::F32 => 1e6,
        FloatTy::F64 | FloatTy::Long => 1e16,
    };
    let a = v.abs();
    if a == 0.0 || (1e-4..cutoff).contains(&a) {
        let (int, frac) = positional_unbounded(v, ty);
        let frac = if frac.is_empty() {
            "0".to_owned()
        } else {
            frac
        };
        format!("{int}.{frac}")
    } else {
        let d = shortest(v, ty);
        let sign = if d.negative { "-" } else { "" };
        let frac = &d.digits[1..];
        let mantissa = if frac.is_empty() {
            d.digits[..1].to_owned()
        } else {
            format!("{}.{frac}", &d.digits[..1])
        };
        let exp_sign = if d.exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", d.exp.unsigned_abs())
    }
}

/// Positional digits of the shortest representation, without the precision cap.
fn positional_unbounded(v: f64, ty: FloatTy) -> (String, String) {
    let d = shortest(v, ty);
    let sign = if d.negative { "-" } else { "" };
    let (int, frac) = if d.exp >= 0 {
        let int_len = (d.exp + 1) as usize;
        if d.digits.len() > int_len {
            (
                d.digits[..int_len].to_owned(),
                d.digits[int_len..].to_owned(),
            )
        } else {
            let zeros = "0".repeat(int_len - d.digits.len());
            (format!("{}{zeros}", d.digits), String::new())
        }
    } else {
        let zeros = "0".repeat((-d.exp - 1) as usize);
        ("0".to_owned(), format!("{zeros}{}", d.digits))
    };
    (
        format!("{sign}{int}"),
        frac.trim_end_matches('0').to_owned(),
    )
}

/// `str` of a NumPy complex scalar: `(1.5-2j)`, `2j`, `(nan+infj)`.
fn complex_str(re: f64, im: f64, ty: FloatTy) -> String {
    // Python's complex repr: parts as float repr without a trailing ".0".
    let part = |v: f64| {
        let s = float_str(v, ty);
        s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
    };
    let imag = part(im);
    if re == 0.0 && re.is_sign_positive() {
        return format!("{imag}j");
    }
    let sign = if imag.starts_with('-') { "" } else { "+" };
    format!("({}{sign}{imag}j)", part(re))
}

// ---------------------------------------------------------------------------------------------
// Layout: NumPy's _formatArray, streaming

/// Writes an array whose printed items, in C order over `axes` (at least one, none of
/// length zero), `next` formats one by one, as `print` lays it out: `...` in place of the
/// middle of each summarised axis.
pub fn write_array(
    out: &mut dyn Write,
    axes: &[Axis],
    next: &mut dyn FnMut() -> io::Result<String>,
) -> io::Result<()> {
    recurse(out, axes, 1, LINE_WIDTH, next)?;
    writeln!(out)
}

fn recurse(
    out: &mut dyn Write,
    axes: &[Axis],
    hanging: usize,
    width: usize,
    next: &mut dyn FnMut() -> io::Result<String>,
) -> io::Result<()> {
    let Some((&axis, rest)) = axes.split_first() else {
        return Ok(());
    };
    let n = axis.count();
    out.write_all(b"[")?;
    if rest.is_empty() {
        // The last axis: words separated by ' ', wrapped before the closing bracket's column.
        let elem_width = width.saturating_sub(1);
        let indent = " ".repeat(hanging);
        let mut line = indent.clone();
        let mut line_chars = hanging;
        let mut first_line = true;
        let emit = |out: &mut dyn Write, line: &str, first: bool| -> io::Result<()> {
            // The first line's indentation is replaced by the brackets already written.
            let text = if first { &line[hanging..] } else { line };
            out.write_all(text.as_bytes())
        };
        let mut add = |out: &mut dyn Write, word: &str, last: bool| -> io::Result<()> {
            let word_chars = word.chars().count();
            if line_chars + word_chars > elem_width && line_chars > hanging {
                emit(out, line.trim_end(), first_line)?;
                out.write_all(b"\n")?;
                first_line = false;
                line.clone_from(&indent);
                line_chars = hanging;
            }
            line.push_str(word);
            line_chars += word_chars;
            if !last {
                line.push(' ');
                line_chars += 1;
            }
            Ok(())
        };
        for i in 0..n {
            if axis.summarised && i == EDGE_ITEMS {
                add(out, "...", false)?;
            }
            add(out, &next()?, i + 1 == n)?;
        }
        emit(out, &line, first_line)?;
    } else {
        let separator = "\n".repeat(rest.len());
        for i in 0..n {
            if i > 0 {
                out.write_all(" ".repeat(hanging).as_bytes())?;
            }
            if axis.summarised && i == EDGE_ITEMS {
                out.write_all(b"...")?;
                out.write_all(separator.as_bytes())?;
                out.write_all(" ".repeat(hanging).as_bytes())?;
            }
            recurse(out, rest, hanging + 1, width.saturating_sub(1), next)?;
            if i + 1 < n {
                out.write_all(separator.as_bytes())?;
            }
        }
    }
    out.write_all(b"]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floats(values: &[f64], ty: FloatTy) -> Vec<String> {
        let mut f = FloatFormat::new(ty, false);
        values.iter().for_each(|&v| f.observe(v));
        f.finish();
        values.iter().map(|&v| f.format(v)).collect()
    }

    #[test]
    fn float_columns_match_numpy() {
        assert_eq!(floats(&[1.0, 2.5], FloatTy::F64), ["1. ", "2.5"]);
        assert_eq!(
            floats(&[0.1 + 0.2, 1.0 / 3.0], FloatTy::F64),
            ["0.3       ", "0.33333333"]
        );
        assert_eq!(floats(&[1e-5, 1.0], FloatTy::F64), ["1.e-05", "1.e+00"]);
        assert_eq!(floats(&[1.5e10, 2.0], FloatTy::F64), ["1.5e+10", "2.0e+00"]);
        assert_eq!(
            floats(&[f64::NAN, f64::NEG_INFINITY], FloatTy::F64),
            [" nan", "-inf"]
        );
        assert_eq!(
            floats(
                &[f64::from(2.1f32), f64::from(1.2345678e10f32)],
                FloatTy::F32
            ),
            ["2.0999999e+00", "1.2345678e+10"]
        );
        assert_eq!(
            floats(&[0.001953125, 0.1], FloatTy::F64),
            ["0.00195312", "0.1       "]
        );
        assert_eq!(
            floats(&[65504.0, 0.0999755859375], FloatTy::F16),
            ["6.55e+04", "1.00e-01"]
        );
        assert_eq!(floats(&[0.0, -0.0], FloatTy::F64), [" 0.", "-0."]);
    }

    #[test]
    fn scalars_match_python() {
        assert_eq!(float_str(1.5, FloatTy::F64), "1.5");
        assert_eq!(float_str(1e16, FloatTy::F64), "1e+16");
        assert_eq!(float_str(1e-5, FloatTy::F64), "1e-05");
        assert_eq!(float_str(1e15, FloatTy::F64), "1000000000000000.0");
        assert_eq!(
            float_str(f64::from(123456789f32), FloatTy::F32),
            "1.2345679e+08"
        );
        assert_eq!(float_str(-0.0, FloatTy::F64), "-0.0");
        assert_eq!(complex_str(0.0, 2.0, FloatTy::F64), "2j");
        assert_eq!(complex_str(1.5, -2.0, FloatTy::F64), "(1.5-2j)");
        assert_eq!(
            complex_str(f64::NAN, f64::INFINITY, FloatTy::F64),
            "(nan+infj)"
        );
    }

    #[test]
    fn dates() {
        let unit = |u: &str| TimeUnit::new(u.parse().unwrap(), 1).unwrap();
        assert_eq!(datetime_str(18262, &unit("D")), "2020-01-01");
        assert_eq!(datetime_str(-1, &unit("D")), "1969-12-31");
        assert_eq!(
            datetime_str(1_577_840_523_500, &unit("ms")),
            "2020-01-01T01:02:03.500"
        );
        assert_eq!(datetime_str(600, &unit("M")), "2020-01");
        assert_eq!(datetime_str(50, &unit("Y")), "2020");
    }

    #[test]
    fn summarised_layout_keeps_three_items_at_each_end() {
        let axes = [Axis::new(4, true), Axis::new(2000, true)];
        assert_eq!(
            (0..axes[1].count())
                .map(|i| axes[1].index(i))
                .collect::<Vec<_>>(),
            [0, 1, 2, 1997, 1998, 1999]
        );
        let mut out = Vec::new();
        let mut i = 0;
        write_array(&mut out, &axes, &mut || {
            i += 1;
            Ok(format!("{}", i - 1))
        })
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[[0 1 2 ... 3 4 5]\n [6 7 8 ... 9 10 11]\n [12 13 14 ... 15 16 17]\n [18 19 20 ... 21 22 23]]\n"
        );
    }

    #[test]
    fn layout_wraps_like_numpy() {
        let mut out = Vec::new();
        let mut i = 0;
        write_array(&mut out, &[Axis::new(30, false)], &mut || {
            i += 1;
            Ok(format!("{:>2}", i - 1))
        })
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[ 0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16 17 18 19 20 21 22 23\n 24 25 26 27 28 29]\n"
        );
    }
}
