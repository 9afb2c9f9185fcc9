//! Reading and validating a header: every header NumPy accepts, through a fast path for the
//! texts `np.save` writes and the Python-literal parser for the rest.

use std::borrow::Cow;
use std::io::Read;

use super::{Header, Leniency, MAGIC, MAX_HEADER_LEN, ParsedHeader, Template, Version};
use crate::dtype::Dtype;
use crate::error::FormatError;
use crate::fmt::fmt_shape;
use crate::layout::{MAX_DIMS, Order};
use crate::literal::{self, Value};

/// Bytes [`read_header`] asks for in its first read: the whole header of almost every file
/// (`np.save` writes 128 bytes for most arrays, and a few hundred for records of many fields),
/// read into a buffer on the stack. Larger first reads cost time on every open for nothing:
/// 4 KiB made an open-append-close cycle about 0.1 µs slower.
const FIRST_READ: usize = 1024;

/// Reads and validates a header from the start of `reader`, whose total size is `file_len`.
/// Also returns the header's [`Template`] when the text is exactly the one the template
/// renders (as `np.save` and npaa write it, padding aside): the header on disk can then be
/// updated by rewriting the growth digits alone, in place. `None` for other texts.
///
/// The first read asks for up to 1 KiB; only a longer header is read further (into the heap).
pub(crate) fn read_header(
    reader: &mut impl Read,
    file_len: u64,
    leniency: Leniency,
) -> Result<(ParsedHeader, Option<Template>), ReadError> {
    if file_len == 0 {
        return Err(FormatError::Empty.into());
    }
    let mut first = [0u8; FIRST_READ];
    let wanted = file_len.min(FIRST_READ as u64) as usize;
    let mut got = read_up_to(reader, &mut first[..wanted])?;
    let head_len = file_len.min(12) as usize;
    if got < head_len {
        // The file shrank since its length was taken: fail as reading exactly this does.
        reader.read_exact(&mut first[got..head_len])?;
        got = head_len;
    }
    let found = &first[..head_len];
    if found.len() < 6 || &found[..6] != MAGIC {
        if found.len() < 6 && MAGIC.starts_with(found) {
            return Err(FormatError::Truncated {
                what: "the magic string",
                needed: 8,
                got: file_len,
            }
            .into());
        }
        return Err(FormatError::BadMagic {
            found: found[..found.len().min(6)].to_vec(),
        }
        .into());
    }
    if found.len() < 8 {
        return Err(FormatError::Truncated {
            what: "the magic string",
            needed: 8,
            got: file_len,
        }
        .into());
    }
    let version = match (found[6], found[7]) {
        (1, 0) => Version::V1,
        (2, 0) => Version::V2,
        (3, 0) => Version::V3,
        (major, minor) => return Err(FormatError::UnsupportedVersion { major, minor }.into()),
    };
    let prefix = version.prefix_len();
    if found.len() < prefix {
        return Err(FormatError::Truncated {
            what: "the header length field",
            needed: prefix as u64,
            got: file_len,
        }
        .into());
    }
    let text_len = match version {
        Version::V1 => u64::from(u16::from_le_bytes([found[8], found[9]])),
        Version::V2 | Version::V3 => u64::from(u32::from_le_bytes([
            found[8], found[9], found[10], found[11],
        ])),
    };
    if text_len > MAX_HEADER_LEN {
        return Err(FormatError::HeaderTooLarge {
            len: text_len,
            limit: MAX_HEADER_LEN,
        }
        .into());
    }
    let header_len = prefix as u64 + text_len;
    if header_len > file_len {
        return Err(FormatError::Truncated {
            what: "the header",
            needed: header_len,
            got: file_len,
        }
        .into());
    }
    // Bounded by MAX_HEADER_LEN above.
    let end = prefix + text_len as usize;
    let raw: Cow<'_, [u8]> = if end <= got {
        Cow::Borrowed(&first[prefix..end])
    } else {
        let mut raw = Vec::with_capacity(text_len as usize);
        raw.extend_from_slice(&first[prefix..got]);
        raw.resize(text_len as usize, 0);
        reader.read_exact(&mut raw[got - prefix..])?;
        Cow::Owned(raw)
    };
    let (header, placeholder, text_len, template) = match parse_canonical(&raw) {
        Some(canonical) => {
            let template = Template::from_canonical(&raw, &canonical);
            (canonical.header, None, canonical.dict_len, template)
        }
        None => {
            let (header, placeholder) = parse_literal(&decode(&raw, version)?, version, leniency)?;
            (header, placeholder, dict_text_len(&raw), None)
        }
    };
    check_shape(&header, placeholder)?;
    let parsed = ParsedHeader {
        header,
        version,
        header_len,
        text_len: text_len as u64,
        placeholder: placeholder.is_some(),
    };
    Ok((parsed, template))
}

/// Fills `buf` from `reader` as far as it goes: stops early only at the end of the input.
/// Returns the number of bytes read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The header text as characters: UTF-8 in version 3.0, latin1 before (borrowed when it is
/// ASCII, which reads the same in both).
fn decode(raw: &[u8], version: Version) -> Result<Cow<'_, str>, FormatError> {
    match (version, std::str::from_utf8(raw)) {
        (Version::V3, Ok(text)) => Ok(Cow::Borrowed(text)),
        (Version::V3, Err(_)) => Err(FormatError::Encoding { encoding: "UTF-8" }),
        (Version::V1 | Version::V2, Ok(text)) if text.is_ascii() => Ok(Cow::Borrowed(text)),
        (Version::V1 | Version::V2, _) => {
            Ok(Cow::Owned(raw.iter().map(|&b| char::from(b)).collect()))
        }
    }
}

/// Length in bytes of the header text `raw` without trailing padding and newline.
///
/// The padding characters are ASCII, which no byte of a multi-byte UTF-8 character is, and
/// latin1 has one byte per character: trimming bytes trims the same characters in every
/// version.
fn dict_text_len(raw: &[u8]) -> usize {
    raw.len() - trailing_run(raw, |b| matches!(b, b' ' | b'\n' | b'\t' | b'\r' | b'\0'))
}

/// Padding that the literal parser skips and [`dict_text_len`] trims alike (the parser also
/// skips form feeds, which `dict_text_len` keeps, and `dict_text_len` trims NULs, which the
/// parser refuses).
fn is_plain_padding(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Length of the run of bytes at the end of `bytes` that `pad` accepts (`pad` must accept
/// spaces). Header padding is mostly spaces, compared 16 at a time.
fn trailing_run(bytes: &[u8], pad: fn(u8) -> bool) -> usize {
    let mut chunks = bytes.rchunks_exact(16);
    let mut run = 0;
    for chunk in chunks.by_ref() {
        if chunk == [b' '; 16] {
            run += 16;
            continue;
        }
        let n = chunk.iter().rev().take_while(|&&b| pad(b)).count();
        run += n;
        if n < chunk.len() {
            return run;
        }
    }
    run + chunks
        .remainder()
        .iter()
        .rev()
        .take_while(|&&b| pad(b))
        .count()
}

/// Why [`read_header`] failed: the header is bad, or the file could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    Format(FormatError),
    Io(std::io::Error),
}

impl From<FormatError> for ReadError {
    fn from(e: FormatError) -> Self {
        ReadError::Format(e)
    }
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// Replaces a `****` placeholder in the shape with `0`. Returns the new text and the index of
/// the dimension the placeholder stood for: npyz writes `(****,)` and `(****, 3)` (C order) or
/// `(3, ****)` (Fortran order), npy 0.4 writes `(****,)`.
fn replace_placeholder(text: &str) -> Option<(String, usize)> {
    let key = text.find("shape")?;
    let star = key + text[key..].find('*')?;
    let run = text[star..].bytes().take_while(|&b| b == b'*').count();
    let between = &text[key + "shape".len()..star];
    let (before_tuple, in_tuple) = match between.find('(') {
        Some(p) => (&between[..p], Some(&between[p + 1..])),
        None => (between, None),
    };
    // Only quote, colon and whitespace may stand before the tuple, and only the integers
    // before the placeholder inside it.
    if !before_tuple
        .chars()
        .all(|c| matches!(c, '\'' | '"' | ':' | ' ' | '\t'))
    {
        return None;
    }
    let (replacement, index) = match in_tuple {
        None => ("(0,)", 0),
        Some(dims) => {
            if !dims
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ',' | ' ' | '\t'))
            {
                return None;
            }
            ("0", dims.matches(',').count())
        }
    };
    Some((
        format!("{}{replacement}{}", &text[..star], &text[star + run..]),
        index,
    ))
}

/// Checks a header read from a file: its data length must be representable, and a
/// placeholder (lenient reading only; its index) must stand for the growth dimension.
fn check_shape(header: &Header, placeholder: Option<usize>) -> Result<(), FormatError> {
    if header.shape.len() > MAX_DIMS {
        return Err(FormatError::TooManyDimensions {
            ndim: header.shape.len(),
            limit: MAX_DIMS,
        });
    }
    header.data_len()?;
    if let Some(index) = placeholder
        && header.growth_axis() != Some(index)
    {
        // A placeholder stands for the dimension that grows; anywhere else it is a corrupt
        // header rather than a recoverable one.
        return Err(FormatError::BadShape(fmt_shape(&header.shape)));
    }
    Ok(())
}

impl Template {
    /// The template of a text [`parse_canonical`] read: that text without its growth digits,
    /// without rendering the header again. `None` if the text is not ASCII (which
    /// `parse_canonical` does not accept).
    fn from_canonical(raw: &[u8], canonical: &Canonical) -> Option<Template> {
        let dict = &raw[..canonical.dict_len];
        let (text, split) = match &canonical.growth_digits {
            Some(digits) => {
                let mut text = Vec::with_capacity(dict.len() - digits.len());
                text.extend_from_slice(&dict[..digits.start]);
                text.extend_from_slice(&dict[digits.end..]);
                (text, digits.start)
            }
            None => (dict.to_vec(), dict.len()),
        };
        let text = String::from_utf8(text).ok().filter(|t| t.is_ascii())?;
        Some(Template {
            text,
            split,
            grows: canonical.growth_digits.is_some(),
            ascii: true,
        })
    }
}

/// What [`parse_canonical`] read: the header, and where its text holds the growth digits.
struct Canonical {
    header: Header,
    /// Byte range of the growth dimension's digits in the text; `None` for a 0-d array.
    growth_digits: Option<std::ops::Range<usize>>,
    /// Length of the dict text: the padding starts there.
    dict_len: usize,
}

/// The header `np.save` writes, read straight from its bytes without building a literal
/// tree: `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }` exactly so (`()` and
/// `(3,)` for 0-d and 1-d arrays, and the descr spelled as [`Header::template`] writes it),
/// then only spaces, tabs and line ends.
///
/// `None` for any other text, which [`parse_literal`] then reads: other spellings (of the
/// descr too: `'f8'`, `'float64'`), key orders, quotes or spacing, escapes or non-ASCII
/// characters in the descr, integers with leading zeros or beyond `u64`, descrs the dtype
/// parser refuses, and other padding characters. What it accepts is ASCII, so it decodes alike
/// in every version, it reads it exactly as [`parse_literal`] would, and the dict text is the
/// one [`Header::template`] renders for what it read (the tests check both).
fn parse_canonical(raw: &[u8]) -> Option<Canonical> {
    let rest = raw.strip_prefix(b"{'descr': '")?;
    let quote = rest.iter().position(|&b| b == b'\'')?;
    let (descr, rest) = rest.split_at(quote);
    if !descr
        .iter()
        .all(|&b| b.is_ascii() && !matches!(b, b'\\' | b'\n' | b'\r'))
    {
        return None;
    }
    let rest = rest.strip_prefix(b"', 'fortran_order': ")?;
    let (fortran_order, rest) = match rest.strip_prefix(b"False") {
        Some(rest) => (false, rest),
        None => (true, rest.strip_prefix(b"True")?),
    };
    let mut rest = rest.strip_prefix(b", 'shape': (")?;
    let mut shape = Vec::with_capacity(4);
    // Where the first and the last dimension's digits lie in `raw`.
    let mut first_dim = 0..0;
    let mut last_dim = 0..0;
    if let Some(after) = rest.strip_prefix(b")") {
        rest = after;
    } else {
        loop {
            let len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            let (dim, after) = rest.split_at(len);
            if dim.is_empty() || (dim.len() > 1 && dim[0] == b'0') {
                return None;
            }
            shape.push(dim.iter().try_fold(0u64, |acc, &d| {
                acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            })?);
            let start = raw.len() - rest.len();
            last_dim = start..start + len;
            if shape.len() == 1 {
                first_dim = last_dim.clone();
            }
            if let Some(next) = after.strip_prefix(b", ") {
                rest = next;
                continue;
            }
            // One dimension is written `(3,)`, more without a trailing comma.
            rest = after.strip_prefix(if shape.len() == 1 { &b",)"[..] } else { b")" })?;
            break;
        }
    }
    let rest = rest.strip_prefix(b", }")?;
    if trailing_run(rest, is_plain_padding) != rest.len() {
        return None;
    }
    let descr = std::str::from_utf8(descr).ok()?;
    let dtype = Dtype::from_scalar_descr(descr).ok()?;
    // Only the spelling the template writes (`<f8`, not `f8` or `float64`).
    if !matches!(&dtype, Dtype::Scalar(s) if s.is_typestr(descr)) {
        return None;
    }
    let header = Header {
        dtype,
        order: Order::from_fortran(fortran_order),
        shape,
    };
    let growth_digits = header.growth_axis().map(|axis| {
        if axis == 0 {
            first_dim.clone()
        } else {
            last_dim.clone()
        }
    });
    Some(Canonical {
        header,
        growth_digits,
        dict_len: raw.len() - rest.len(),
    })
}

/// Reads the dict text with the literal parser, whatever its spelling; with
/// [`Leniency::AllowPlaceholder`], also a `****` growth dimension, whose index it returns.
/// The caller checks the shape against the dtype, and the placeholder's position.
fn parse_literal(
    text: &str,
    version: Version,
    leniency: Leniency,
) -> Result<(Header, Option<usize>), FormatError> {
    let allow_long = version != Version::V3;
    let parsed = literal::parse(text, allow_long);
    let (value, placeholder) = match parsed {
        Ok(v) => (v, None),
        Err(err) => match replace_placeholder(text) {
            Some((fixed, index)) => match literal::parse(&fixed, allow_long) {
                Ok(v) if leniency == Leniency::AllowPlaceholder => (v, Some(index)),
                Ok(_) => return Err(FormatError::PlaceholderShape),
                Err(_) => return Err(err),
            },
            None => return Err(err),
        },
    };
    let Value::Dict(entries) = value else {
        return Err(FormatError::NotADict);
    };
    let mut descr = None;
    let mut fortran = None;
    let mut shape = None;
    for (key, value) in &entries {
        match key {
            Value::Str(k) if k == "descr" => descr = Some(value),
            Value::Str(k) if k == "fortran_order" => fortran = Some(value),
            Value::Str(k) if k == "shape" => shape = Some(value),
            other => {
                let name = match other {
                    Value::Str(s) => s.clone(),
                    v => v.repr(),
                };
                return Err(FormatError::ExtraKey(name));
            }
        }
    }
    let descr = descr.ok_or(FormatError::MissingKey("descr"))?;
    let fortran = fortran.ok_or(FormatError::MissingKey("fortran_order"))?;
    let shape = shape.ok_or(FormatError::MissingKey("shape"))?;
    let fortran_order = match fortran {
        Value::Bool(b) => *b,
        v => return Err(FormatError::BadFortranOrder(v.repr())),
    };
    let Value::Tuple(dims) = shape else {
        return Err(FormatError::BadShape(shape.repr()));
    };
    let shape: Vec<u64> = dims
        .iter()
        .map(|d| match d {
            Value::Int(i) => u64::try_from(*i).ok(),
            // Python's bool is an int: NumPy accepts True/False as 1/0.
            Value::Bool(b) => Some(u64::from(*b)),
            _ => None,
        })
        .collect::<Option<_>>()
        .ok_or_else(|| FormatError::BadShape(Value::Tuple(dims.clone()).repr()))?;
    let dtype = Dtype::from_value(descr)?;
    let header = Header {
        dtype,
        order: Order::from_fortran(fortran_order),
        shape,
    };
    Ok((header, placeholder))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::testing::{h, read};

    #[test]
    fn reads_back_what_it_writes() {
        for hd in [
            h("<f8", false, &[3, 4]),
            h(">i4", true, &[2, 3, 4]),
            h("|b1", false, &[]),
            h("<U3", false, &[0]),
        ] {
            let bytes = hd.to_npy_bytes();
            let parsed = read(&bytes).unwrap();
            assert_eq!(parsed.header, hd);
            assert_eq!(parsed.header_len, bytes.len() as u64);
            assert_eq!(parsed.version, Version::V1);
        }
    }

    #[test]
    fn rejects_what_numpy_rejects() {
        assert_eq!(read(b""), Err(FormatError::Empty));
        assert!(matches!(
            read(b"\x92NUMPY\x01\x00"),
            Err(FormatError::BadMagic { .. })
        ));
        assert!(matches!(
            read(b"\x93numpy\x01\x00"),
            Err(FormatError::BadMagic { .. })
        ));
        assert!(matches!(
            read(b"\x93NUMPY\x01"),
            Err(FormatError::Truncated { .. })
        ));
        for (major, minor) in [(1, 1), (0, 0), (0, 1), (2, 2), (255, 255)] {
            let mut bytes = h("<f8", false, &[1]).to_npy_bytes();
            bytes[6] = major;
            bytes[7] = minor;
            assert_eq!(
                read(&bytes),
                Err(FormatError::UnsupportedVersion { major, minor })
            );
        }
        let mut long = h("<f8", false, &[1]).to_npy_bytes();
        long[8] = 0xff;
        assert!(matches!(
            read(&long),
            Err(FormatError::Truncated {
                what: "the header",
                ..
            })
        ));
    }

    /// Wraps a header text into a file prefix of the given version.
    fn with_text(text: &str, major: u8) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[major, 0]);
        let len = text.len() + 1;
        if major == 1 {
            out.extend_from_slice(&(len as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(len as u32).to_le_bytes());
        }
        out.extend_from_slice(text.as_bytes());
        out.push(b'\n');
        out
    }

    #[test]
    fn accepts_every_spelling_numpy_accepts() {
        let expected = h("<i8", false, &[3, 2]);
        for text in [
            "{'descr': '<i8', 'fortran_order': False, 'shape': (3, 2), }",
            "{\"shape\": (3, 2), \"descr\": \"<i8\", \"fortran_order\": False}",
            "{'fortran_order':False,'shape':(3,2),'descr':'<i8'}",
            "  {'descr': '<i8', 'fortran_order': False, 'shape': (3L, 2L)}",
            "{'descr': '<i8',\n 'fortran_order': False,\n 'shape': (3, 2)}",
        ] {
            let parsed = read(&with_text(text, 1)).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(parsed.header, expected, "{text}");
        }
        // Python-2 long suffixes are accepted in 1.0 and 2.0 only.
        let long = "{'descr': '<i8', 'fortran_order': False, 'shape': (3L, 2L)}";
        assert!(read(&with_text(long, 2)).is_ok());
        assert!(matches!(
            read(&with_text(long, 3)),
            Err(FormatError::Syntax { .. })
        ));
        // A 0-d array.
        assert_eq!(
            read(&with_text(
                "{'descr': '|b1', 'fortran_order': False, 'shape': ()}",
                1
            ))
            .unwrap()
            .header
            .shape,
            Vec::<u64>::new()
        );
    }

    #[test]
    fn rejects_bad_dicts_with_the_reason() {
        type Check = fn(&FormatError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("", |e| matches!(e, FormatError::Syntax { .. })),
            ("1", |e| matches!(e, FormatError::NotADict)),
            ("[1, 2]", |e| matches!(e, FormatError::NotADict)),
            ("{'descr': '<f8', 'fortran_order': False}", |e| {
                matches!(e, FormatError::MissingKey("shape"))
            }),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}",
                |e| matches!(e, FormatError::ExtraKey(k) if k == "x"),
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': [1]}",
                |e| matches!(e, FormatError::BadShape(_)),
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (1.5,)}",
                |e| matches!(e, FormatError::Syntax { .. }),
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}",
                |e| matches!(e, FormatError::BadShape(_)),
            ),
            ("{'descr': '<f8', 'fortran_order': 0, 'shape': (1,)}", |e| {
                matches!(e, FormatError::BadFortranOrder(_))
            }),
            (
                "{'descr': 'not a dtype', 'fortran_order': False, 'shape': (1,)}",
                |e| matches!(e, FormatError::BadDescr { .. }),
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
                |e| matches!(e, FormatError::Overflow { .. }),
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (1,)} junk",
                |e| matches!(e, FormatError::Syntax { .. }),
            ),
        ];
        for (text, check) in cases {
            let err = read(&with_text(text, 1)).unwrap_err();
            assert!(check(&err), "{text:?} gave {err:?}");
            assert!(!err.to_string().is_empty());
        }
        // Deep nesting is refused, not a stack overflow.
        let deep = format!(
            "{{'descr': {}'<f8'{}, 'fortran_order': False, 'shape': (1,)}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(matches!(
            read(&with_text(&deep, 2)),
            Err(FormatError::TooDeep { .. })
        ));
        // A length field past the end of the file, and one over the limit.
        let mut huge = with_text("{}", 2);
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            read(&huge),
            Err(FormatError::HeaderTooLarge { .. })
        ));
    }

    #[test]
    fn placeholder_is_an_error_unless_lenient() {
        let mut bytes = b"\x93NUMPY\x01\x00\x76\x00{'descr': '<f8', 'fortran_order': False, 'shape': (********************,), }".to_vec();
        bytes.resize(127, b' ');
        bytes.push(b'\n');
        assert_eq!(read(&bytes), Err(FormatError::PlaceholderShape));
        let lenient = read_header(
            &mut &bytes[..],
            bytes.len() as u64,
            Leniency::AllowPlaceholder,
        )
        .unwrap()
        .0;
        assert!(lenient.placeholder);
        assert_eq!(lenient.header.shape, vec![0]);
    }

    #[test]
    fn placeholder_must_stand_for_the_growth_dimension() {
        let lenient = |text: &str| {
            let mut bytes = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
            bytes.extend_from_slice(text.as_bytes());
            bytes.resize(127, b' ');
            bytes.push(b'\n');
            read_header(
                &mut &bytes[..],
                bytes.len() as u64,
                Leniency::AllowPlaceholder,
            )
            .map(|(parsed, _)| parsed)
            .map_err(|e| match e {
                ReadError::Format(f) => f,
                ReadError::Io(e) => panic!("io: {e}"),
            })
        };
        // npyz begin_2d: C order grows the first dimension, Fortran order the last.
        let c = "{'descr': '<i4', 'fortran_order': False, 'shape': (********************, 3), }";
        let f = "{'descr': '<i4', 'fortran_order': True, 'shape': (3, ********************), }";
        assert_eq!(lenient(c).unwrap().header.shape, vec![0, 3]);
        let parsed = lenient(f).unwrap();
        assert!(parsed.placeholder);
        assert_eq!(parsed.header.shape, vec![3, 0]);
        for wrong in [
            "{'descr': '<i4', 'fortran_order': True, 'shape': (********************, 3), }",
            "{'descr': '<i4', 'fortran_order': False, 'shape': (3, ********************), }",
            "{'descr': '<i4', 'fortran_order': False, 'shape': (2, ****, 3), }",
        ] {
            assert!(
                matches!(lenient(wrong), Err(FormatError::BadShape(_))),
                "{wrong}"
            );
        }
    }

    /// Header texts the fast path must read: what `np.save` writes, padding included, for
    /// many dtypes, orders and shapes.
    fn canonical_texts() -> Vec<Vec<u8>> {
        let mut texts = Vec::new();
        for descr in [
            "<f8", ">i4", "|b1", "|u1", "<U3", "|S0", "|V7", "<M8[ns]", ">m8[25s]", "<c16", "|O",
        ] {
            for shape in [
                &[][..],
                &[0],
                &[7],
                &[3, 16],
                &[2, 3, 4],
                &[u64::MAX, 1],
                &[4_294_967_296, 4_294_967_296],
            ] {
                for fortran in [false, true] {
                    let bytes = h(descr, fortran, shape).to_npy_bytes();
                    texts.push(bytes[10..].to_vec());
                }
            }
        }
        texts
    }

    /// If the fast path reads `text`, the literal parser reads the same header from it, in
    /// every version and leniency (and the fast path can only accept text it can decode), and
    /// the text is the one the header's template renders: the template made from the text is
    /// that template, and the dict text ends where [`dict_text_len`] says.
    fn assert_fast_path_agrees(text: &[u8]) -> bool {
        let Some(canonical) = parse_canonical(text) else {
            return false;
        };
        let header = &canonical.header;
        let shown = || String::from_utf8_lossy(text).into_owned();
        assert_eq!(
            Template::from_canonical(text, &canonical),
            Some(header.template()),
            "{:?}",
            shown()
        );
        assert_eq!(canonical.dict_len, dict_text_len(text), "{:?}", shown());
        for version in [Version::V1, Version::V2, Version::V3] {
            let decoded = decode(text, version).expect("the fast path accepts ASCII only");
            for leniency in [Leniency::Strict, Leniency::AllowPlaceholder] {
                assert_eq!(
                    parse_literal(&decoded, version, leniency),
                    Ok((header.clone(), None)),
                    "{:?}",
                    shown()
                );
            }
        }
        true
    }

    /// Characters that turn a canonical header into a near miss.
    const NEAR_MISSES: &[&str] = &[
        " ", ",", "0", "1", "9", "'", "\"", "\\", "L", "l", "\n", "\r", "\t", "\x0c", "\0", "(",
        ")", "[", "{", "}", ":", "*", "-", "+", "_", ".", "x", "e", "\u{e9}", "\u{4e2d}", "True",
        "None", "u",
    ];

    #[test]
    fn fast_path_reads_what_the_literal_parser_reads() {
        for text in canonical_texts() {
            assert!(
                assert_fast_path_agrees(&text),
                "the fast path refused {:?}",
                String::from_utf8_lossy(&text)
            );
            // Every one-character deletion, insertion and replacement.
            for i in 0..=text.len() {
                if i < text.len() {
                    let mut t = text.clone();
                    t.remove(i);
                    assert_fast_path_agrees(&t);
                }
                for m in NEAR_MISSES {
                    let mut t = text.clone();
                    t.splice(i..i, m.bytes());
                    assert_fast_path_agrees(&t);
                    if i < text.len() {
                        let mut t = text.clone();
                        t.splice(i..=i, m.bytes());
                        assert_fast_path_agrees(&t);
                    }
                }
            }
        }
        // Near misses the fast path leaves to the literal parser, which reads them all: other
        // spellings of the descr, of the shape, padding with form feeds or NULs, ...
        for descr in [
            "f8",
            "float64",
            "i",
            "=i2",
            "?",
            "<datetime64[s]",
            "<i1",
            "<b1",
        ] {
            let text = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (3,), }}");
            assert!(parse_canonical(text.as_bytes()).is_none(), "{text}");
            let parsed = parse_literal(&text, Version::V1, Leniency::Strict)
                .unwrap()
                .0;
            assert_eq!(parsed.shape, vec![3], "{text}");
        }
        for text in [
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3L, 4), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (03, 4), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (00, 4), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551616,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\0",
            "{'descr': u'<f8', 'fortran_order': False, 'shape': (3,), }",
            "{\"descr\": '<f8', 'fortran_order': False, 'shape': (3,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}",
            " {'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
            "{'descr': 'not a dtype', 'fortran_order': False, 'shape': (3,), }",
            "{'descr': '\\x3cf8', 'fortran_order': False, 'shape': (3,), }",
            "{'descr': '<f8', 'fortran_order': 0, 'shape': (3,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (****,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), } \x0c\n",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), } \0\n",
        ] {
            assert!(parse_canonical(text.as_bytes()).is_none(), "{text}");
        }
    }

    proptest::proptest! {
        /// Several edits at once: whatever the fast path still reads, the literal parser
        /// reads the same way.
        #[test]
        fn fast_path_agrees_after_random_edits(
            base in proptest::sample::select(canonical_texts()),
            edits in proptest::collection::vec(
                (
                    proptest::arbitrary::any::<proptest::sample::Index>(),
                    0..3u8,
                    proptest::sample::select(NEAR_MISSES),
                ),
                1..5,
            ),
        ) {
            let mut text = base;
            for (at, kind, m) in edits {
                let i = at.index(text.len() + 1);
                match kind {
                    0 if i < text.len() => {
                        text.remove(i);
                    }
                    1 if i < text.len() => {
                        text.splice(i..=i, m.bytes());
                    }
                    _ => {
                        text.splice(i..i, m.bytes());
                    }
                }
            }
            assert_fast_path_agrees(&text);
        }
    }

    /// A reader that hands out at most 7 bytes per call, to exercise reads that come short.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(7).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn headers_around_the_first_read_size() {
        let text = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }";
        for header_len in [FIRST_READ - 1, FIRST_READ, FIRST_READ + 1, 3 * FIRST_READ] {
            let mut bytes = with_text(text, 2);
            bytes.pop();
            bytes.resize(header_len - 1, b' ');
            bytes.push(b'\n');
            bytes[8..12].copy_from_slice(&((header_len - 12) as u32).to_le_bytes());
            let with_data = [&bytes[..], &[0u8; 96][..]].concat();
            for file in [&bytes, &with_data] {
                let len = file.len() as u64;
                let parsed = match read_header(&mut Trickle(file), len, Leniency::Strict) {
                    Ok((p, _)) => p,
                    Err(e) => panic!("{header_len}: {e:?}"),
                };
                assert_eq!(parsed.header, h("<f8", false, &[3, 4]));
                assert_eq!(parsed.header_len, header_len as u64);
                assert_eq!(parsed.text_len, text.len() as u64);
            }
            // A file shorter than its length says fails as a short read, not a bad header.
            let short = &with_data[..header_len - 1];
            let result = read_header(&mut &short[..], with_data.len() as u64, Leniency::Strict);
            assert!(
                matches!(&result, Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof),
                "{header_len}: {result:?}"
            );
        }
    }

    #[test]
    fn text_len_trims_padding_in_every_encoding() {
        for (text, major, expected) in [
            ("{}  \t\r\0 ", 1, 2),
            ("{'a\u{e9}': 1}   ", 1, 9),
            ("{'a\u{e9}': 1}   ", 3, 10),
            ("{}\x0c  ", 2, 3),
            ("{}", 2, 2),
            (&format!("{{}}{}", " ".repeat(40)), 1, 2),
            (
                &format!("{{'a': 1}}{}\t{}", " ".repeat(33), " ".repeat(17)),
                1,
                8,
            ),
        ] {
            let raw = if major == 3 {
                text.as_bytes().to_vec()
            } else {
                text.chars().map(|c| c as u8).collect()
            };
            assert_eq!(dict_text_len(&raw), expected, "{text:?}");
        }
    }
}
