//! Reading a dtype from a descr, as NumPy's `descr_to_dtype` does, and from the forms a user
//! writes (typestrs, one-letter codes, type names).

use super::constructors::{is_padding, make, subarray_size};
use super::{
    ByteOrder, Dtype, DtypeError, Field, Kind, MAX_ITEMSIZE, NATIVE, Record, Scalar, Subarray,
    TimeUnit,
};
use crate::error::{Error, FormatError};
use crate::layout::MAX_DIMS;
use crate::literal::{self, Value};

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
    if dims.len() > MAX_DIMS {
        return Err(format!(
            "subarray shape {} has more than {MAX_DIMS} dimensions",
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
    let unit = unit.parse().map_err(|_| bad())?;
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
