//! Text formatting shared by the headers, the dtypes and the error messages: decimal digits,
//! shapes as Python prints tuples, and Python's `repr` of `str` and `bytes` (the last three
//! public through [`crate::repr`]).
//!
//! A leaf: it imports nothing from the crate, so every other module may use it.

use std::fmt::Write as _;

/// Writes the decimal digits of `n` into `buf`, returning the used suffix.
pub(crate) fn digits(n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Number of decimal digits of `n`.
pub(crate) fn decimal_len(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

/// Appends the decimal digits of `n` to `out`.
pub(crate) fn push_decimal(out: &mut String, n: u64) {
    out.extend(digits(n, &mut [0; 20]).iter().map(|&b| char::from(b)));
}

/// Formats a shape the way Python prints a tuple: `()`, `(5,)`, `(3, 4)`.
pub fn fmt_shape(shape: &[u64]) -> String {
    match shape {
        [] => "()".to_owned(),
        [one] => format!("({one},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(u64::to_string).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// Python's `repr()` of a `str`: `'ab'`, `"it's"`, `'a\n'`.
///
/// Exact for ASCII and Latin-1. Above U+00FF, the separators, format characters, surrogates,
/// private-use ranges and noncharacters are escaped (`\u2028`); unassigned code points,
/// which Python also escapes, are kept as they are (the Unicode database is not carried).
///
/// ```
/// assert_eq!(npaa_core::repr::repr_str("it's\n"), r#""it's\n""#);
/// assert_eq!(npaa_core::repr::repr_str("\u{2028}é"), r"'\u2028é'");
/// ```
pub fn repr_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_repr_str(s, &mut out);
    out
}

/// Python's `repr()` of a `bytes` object: `b'ab'`, `b"it's"`, `b'\x00'`.
///
/// ```
/// assert_eq!(npaa_core::repr::repr_bytes(b"\x93NUMPY"), r"b'\x93NUMPY'");
/// ```
pub fn repr_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 3);
    write_repr_bytes(b, &mut out);
    out
}

/// Appends Python's `repr()` of the string `s` to `out`.
///
/// Quote choice and escapes follow CPython's `unicode_repr` exactly for ASCII and Latin-1.
/// Python also escapes non-printable code points above U+00FF (as `\uXXXX` or `\UXXXXXXXX`)
/// according to the full Unicode database; that table is not reproduced here. Only the
/// separators, format characters, private-use ranges and noncharacters listed in
/// [`is_printable_above_latin1`] are escaped, so an unassigned code point is written as-is
/// where Python would escape it.
pub(crate) fn write_repr_str(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => push_hex_escape(out, c as u32),
            c if (c as u32) < 0x7f => out.push(c),
            // Latin-1 supplement: C1 controls, NO-BREAK SPACE and SOFT HYPHEN are not printable.
            c if (c as u32) <= 0xa0 || c as u32 == 0xad => push_hex_escape(out, c as u32),
            c if (c as u32) <= 0xff => out.push(c),
            c if is_printable_above_latin1(c) => out.push(c),
            c if (c as u32) <= 0xffff => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push(quote);
}

/// Appends Python's `repr()` of a `bytes` value to `out` ([`repr_bytes`]).
pub(crate) fn write_repr_bytes(b: &[u8], out: &mut String) {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    out.push('b');
    out.push(char::from(quote));
    for &byte in b {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(char::from(c));
            }
            c if !(0x20..0x7f).contains(&c) => push_hex_escape(out, u32::from(c)),
            c => out.push(char::from(c)),
        }
    }
    out.push(char::from(quote));
}

fn push_hex_escape(out: &mut String, value: u32) {
    let _ = write!(out, "\\x{value:02x}");
}

/// An approximation of Python's `str.isprintable()` for one code point above U+00FF.
///
/// Python calls a character printable unless its general category is Cc, Cf, Cs, Co, Cn, Zl,
/// Zp or Zs (other than the ASCII space). This function knows the Zs, Zl, Zp and Cf code
/// points, the private-use planes and the noncharacters; it does not carry the table of
/// unassigned (Cn) code points, which it treats as printable.
fn is_printable_above_latin1(c: char) -> bool {
    const NOT_PRINTABLE: &[(u32, u32)] = &[
        (0x0600, 0x0605),
        (0x061c, 0x061c),
        (0x06dd, 0x06dd),
        (0x070f, 0x070f),
        (0x0890, 0x0891),
        (0x08e2, 0x08e2),
        (0x1680, 0x1680),
        (0x180e, 0x180e),
        (0x2000, 0x200f),
        (0x2028, 0x202f),
        (0x205f, 0x2064),
        (0x2066, 0x206f),
        (0x3000, 0x3000),
        (0xd800, 0xf8ff),
        (0xfdd0, 0xfdef),
        (0xfeff, 0xfeff),
        (0xfff9, 0xfffb),
        (0x110bd, 0x110bd),
        (0x110cd, 0x110cd),
        (0x13430, 0x1343f),
        (0x1bca0, 0x1bca3),
        (0x1d173, 0x1d17a),
        (0xe0001, 0xe0001),
        (0xe0020, 0xe007f),
        (0xf0000, 0x10ffff),
    ];
    let cp = c as u32;
    // U+xxFFFE and U+xxFFFF are noncharacters in every plane.
    if cp & 0xfffe == 0xfffe {
        return false;
    }
    !NOT_PRINTABLE
        .iter()
        .any(|&(lo, hi)| (lo..=hi).contains(&cp))
}

#[cfg(test)]
mod tests {
    use super::*;
    // The tests read the reprs back with the header's literal parser, as Python would.
    use crate::literal::{Value, parse};

    #[test]
    fn digits_render() {
        let mut buf = [0u8; 20];
        assert_eq!(digits(0, &mut buf), b"0");
        assert_eq!(digits(u64::MAX, &mut buf), b"18446744073709551615");
        for n in [0, 9, 10, 99, 100, 12345, u64::MAX / 10, u64::MAX] {
            assert_eq!(decimal_len(n), digits(n, &mut buf).len(), "{n}");
        }
    }

    #[test]
    fn shapes_print_like_python_tuples() {
        assert_eq!(fmt_shape(&[]), "()");
        assert_eq!(fmt_shape(&[5]), "(5,)");
        assert_eq!(fmt_shape(&[3, 4]), "(3, 4)");
    }

    /// Expected values from CPython 3.11's `repr()`.
    #[test]
    fn repr_str_matches_python() {
        let cases = [
            ("a", "'a'"),
            ("it's", "\"it's\""),
            ("a\"b", "'a\"b'"),
            ("both ' and \"", "'both \\' and \"'"),
            ("tab\u{9}here", "'tab\\there'"),
            ("nl\u{a}", "'nl\\n'"),
            ("cr\u{d}", "'cr\\r'"),
            ("\u{0}", "'\\x00'"),
            ("\u{1f}", "'\\x1f'"),
            ("\u{7f}", "'\\x7f'"),
            ("\u{80}", "'\\x80'"),
            ("\u{9f}", "'\\x9f'"),
            ("\u{a0}", "'\\xa0'"),
            ("\u{a1}", "'\u{a1}'"),
            ("\u{e9}", "'\u{e9}'"),
            ("\u{fc}", "'\u{fc}'"),
            ("\u{ad}", "'\\xad'"),
            ("\u{ff}", "'\u{ff}'"),
            ("\u{4e2d}\u{6587}", "'\u{4e2d}\u{6587}'"),
            ("\u{2028}", "'\\u2028'"),
            ("\u{2029}", "'\\u2029'"),
            ("\u{feff}", "'\\ufeff'"),
            ("\u{200b}", "'\\u200b'"),
            ("\u{1f600}", "'\u{1f600}'"),
            ("\u{e000}", "'\\ue000'"),
            ("back\\slash", "'back\\\\slash'"),
            ("\u{e0001}", "'\\U000e0001'"),
            ("\u{fffe}", "'\\ufffe'"),
            ("\u{10ffff}", "'\\U0010ffff'"),
            ("", "''"),
            ("\u{61c}", "'\\u061c'"),
            ("\u{f0000}", "'\\U000f0000'"),
        ];
        for (input, expected) in cases {
            let mut out = String::new();
            write_repr_str(input, &mut out);
            assert_eq!(out, expected, "repr of {input:?}");
            // And it parses back.
            assert_eq!(parse(&out, false), Ok(Value::Str(input.to_owned())));
        }
    }

    #[test]
    fn repr_bytes_matches_python() {
        let cases: [(&[u8], &str); 5] = [
            (b"a", "b'a'"),
            (b"it's", "b\"it's\""),
            (b"a\"b", "b'a\"b'"),
            (b"\x00\xff\x7f\t\n\r\\", "b'\\x00\\xff\\x7f\\t\\n\\r\\\\'"),
            (b"both ' and \"", "b'both \\' and \"'"),
        ];
        for (input, expected) in cases {
            assert_eq!(Value::Bytes(input.to_vec()).repr(), expected);
            assert_eq!(parse(expected, false), Ok(Value::Bytes(input.to_vec())));
        }
    }
}
