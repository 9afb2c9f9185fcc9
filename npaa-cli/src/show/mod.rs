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

use npaa_core::Dtype;
use npaa_core::dtype::{ByteOrder, Field, Kind, Record, Scalar, TimeUnit};
use npaa_core::repr::{repr_bytes, repr_str};

/// Width of a printed line, NumPy's default `linewidth`.
const LINE_WIDTH: usize = 75;

/// Digits after the decimal point, NumPy's default `precision`.
const PRECISION: usize = 8;

mod datetime;
mod decode;
mod floats;
mod layout;
mod summary;

use datetime::{IntStats, TimeStats, datetime_str, unit_name};
use decode::{read_float, read_int, read_unicode, strip_nuls};
use floats::{FloatFormat, complex_str, float_str};
pub use layout::write_array;
pub use summary::{Axis, EDGE_ITEMS, THRESHOLD};

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
