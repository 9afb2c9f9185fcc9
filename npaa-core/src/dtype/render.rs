//! Writing a dtype: NumPy's `dtype.str` (the typestr), the descr of a header
//! (`dtype_to_descr` followed by `repr`), and a readable name.

use std::fmt::Write as _;

use super::{ByteOrder, Dtype, Kind, NATIVE, Record, Scalar, TimeUnit};
use crate::fmt::{digits, fmt_shape, push_decimal, write_repr_str};

impl Dtype {
    /// Appends the Python repr NumPy writes for this dtype in a header (`dtype_to_descr`
    /// followed by `repr`): `'<f8'` (quoted) for a scalar, a list such as
    /// `[('a', '<i4'), ('', '|V4'), ('b', '<f8', (2, 3))]` for a record, with `('', '|Vn')`
    /// entries for gaps and trailing padding.
    pub fn write_header_repr(&self, out: &mut String) {
        match self {
            Dtype::Scalar(s) => {
                // A typestr is printable ASCII without quotes or backslashes (time units are
                // ASCII abbreviations), which `repr` only quotes: write it in place.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::Field;

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
}
