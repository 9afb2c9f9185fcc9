//! The .npy header codec: reading every header NumPy accepts, writing headers byte-identical to
//! `np.save` (NumPy >= 1.24), and rewriting a header in place at its existing size.

use std::io::Read;

use crate::dtype::Dtype;
use crate::error::{FormatError, fmt_shape};
use crate::literal::{self, Value};

/// The magic string every .npy file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// `np.save` pads the header so that the data starts at a multiple of this.
pub const ARRAY_ALIGN: usize = 64;

/// Digits reserved for the growth dimension (`len(str(8 * 2**64 - 1))`), as NumPy does.
pub const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// NumPy (>= 1.24) refuses to read headers longer than this many characters unless asked to.
pub const NUMPY_MAX_HEADER_SIZE: usize = 10_000;

/// The largest header npaa reads (a hostile length field must not make it allocate gigabytes).
pub const MAX_HEADER_LEN: u64 = 16 << 20;

/// A .npy format version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// 1.0: `u16` length field, latin1 text.
    V1,
    /// 2.0: `u32` length field, latin1 text.
    V2,
    /// 3.0: `u32` length field, UTF-8 text.
    V3,
}

impl Version {
    /// Bytes before the header text: magic, two version bytes, the length field.
    pub fn prefix_len(self) -> usize {
        match self {
            Version::V1 => 10,
            Version::V2 | Version::V3 => 12,
        }
    }

    /// `(major, minor)`.
    pub fn numbers(self) -> (u8, u8) {
        match self {
            Version::V1 => (1, 0),
            Version::V2 => (2, 0),
            Version::V3 => (3, 0),
        }
    }

    fn max_text_len(self) -> u64 {
        match self {
            Version::V1 => u64::from(u16::MAX),
            Version::V2 | Version::V3 => u64::from(u32::MAX),
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (major, minor) = self.numbers();
        write!(f, "{major}.{minor}")
    }
}

/// The array description a header carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Element type.
    pub dtype: Dtype,
    /// True when the data is stored in Fortran (column-major) order.
    pub fortran_order: bool,
    /// The array's shape.
    pub shape: Vec<u64>,
}

/// A header as found in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedHeader {
    /// What the header says.
    pub header: Header,
    /// The format version.
    pub version: Version,
    /// Total header size in bytes, magic included: the offset where the data starts.
    pub header_len: u64,
    /// Length in bytes of the dict text (without the padding and the final newline).
    pub text_len: u64,
    /// True when the growth dimension was a `****` placeholder of an unfinished streaming
    /// writer (npyz, npy); the shape then holds 0 there. Only the lenient reader returns this.
    pub placeholder: bool,
}

impl Header {
    /// The axis the array grows along: 0 for C order, the last for Fortran order; `None` for a
    /// 0-d array.
    pub fn growth_axis(&self) -> Option<usize> {
        match self.shape.len() {
            0 => None,
            n if self.fortran_order => Some(n - 1),
            _ => Some(0),
        }
    }

    /// Number of elements, or `None` on overflow.
    pub fn num_items(&self) -> Option<u64> {
        self.shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
    }

    /// Data bytes the shape needs.
    pub fn data_len(&self) -> Result<u64, FormatError> {
        self.num_items()
            .and_then(|n| n.checked_mul(self.dtype.itemsize() as u64))
            .ok_or_else(|| FormatError::Overflow {
                shape: self.shape.clone(),
                itemsize: self.dtype.itemsize(),
            })
    }

    /// Bytes of one step along the growth axis (itemsize × the other dimensions); `None` for
    /// 0-d arrays or on overflow.
    pub fn row_len(&self) -> Option<u64> {
        let axis = self.growth_axis()?;
        self.shape
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != axis)
            .try_fold(self.dtype.itemsize() as u64, |acc, (_, &d)| {
                acc.checked_mul(d)
            })
    }

    /// The growth dimension's current value (0 for a 0-d array).
    pub fn growth_len(&self) -> u64 {
        self.growth_axis().map_or(0, |a| self.shape[a])
    }

    /// Splits the dict text around the growth dimension: `head + digits + tail` is the text.
    fn text_parts(&self) -> (String, String) {
        let mut head = String::from("{'descr': ");
        self.dtype.write_header_repr(&mut head);
        head.push_str(", 'fortran_order': ");
        head.push_str(if self.fortran_order { "True" } else { "False" });
        head.push_str(", 'shape': (");
        let axis = self.growth_axis();
        let mut tail = String::new();
        let mut out = &mut head;
        for (i, d) in self.shape.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if Some(i) == axis {
                out = &mut tail;
            } else {
                out.push_str(&d.to_string());
            }
        }
        if self.shape.len() == 1 {
            out.push(',');
        }
        out.push_str("), }");
        if axis.is_none() {
            // 0-d: nothing grows; keep all the text in the head.
            head.push_str(&tail);
            tail.clear();
        }
        (head, tail)
    }

    /// The dict text alone, as `np.save` writes it before padding.
    pub fn dict_text(&self) -> String {
        let (head, tail) = self.text_parts();
        match self.growth_axis() {
            Some(_) => format!("{head}{}{tail}", self.growth_len()),
            None => head,
        }
    }

    /// The template that renders this header's bytes for any growth length.
    pub(crate) fn template(&self) -> Template {
        let (head, tail) = self.text_parts();
        Template {
            head,
            tail,
            grows: self.growth_axis().is_some(),
        }
    }

    /// The complete header bytes `np.save` writes for this array (NumPy >= 1.24), magic and
    /// padding included.
    pub fn to_npy_bytes(&self) -> Vec<u8> {
        self.template().render_fresh(self.growth_len())
    }
}

/// The text of a header split around its growth dimension, so that the bytes for a new growth
/// length can be produced without formatting the whole dict again.
#[derive(Clone, Debug)]
pub(crate) struct Template {
    head: String,
    tail: String,
    grows: bool,
}

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

fn encode(text: &str, version: Version) -> Option<Vec<u8>> {
    match version {
        Version::V3 => Some(text.as_bytes().to_vec()),
        Version::V1 | Version::V2 => text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).ok())
            .collect(),
    }
}

impl Template {
    /// The dict text for a growth length.
    fn text(&self, growth: u64) -> String {
        if self.grows {
            format!("{}{growth}{}", self.head, self.tail)
        } else {
            self.head.clone()
        }
    }

    /// Byte offset, inside the header, of the growth digits.
    pub(crate) fn digits_offset(&self, version: Version) -> usize {
        let head_bytes = match version {
            Version::V3 => self.head.len(),
            Version::V1 | Version::V2 => self.head.chars().count(),
        };
        version.prefix_len() + head_bytes
    }

    /// Header bytes as `np.save` lays them out: 21-digit spare, 64-byte alignment, the smallest
    /// version that can hold the text.
    pub(crate) fn render_fresh(&self, growth: u64) -> Vec<u8> {
        let mut text = self.text(growth);
        if self.grows {
            let n = growth.to_string().len();
            text.extend(std::iter::repeat_n(
                ' ',
                GROWTH_AXIS_MAX_DIGITS.saturating_sub(n),
            ));
        }
        for version in [Version::V1, Version::V2, Version::V3] {
            let Some(bytes) = encode(&text, version) else {
                continue;
            };
            let hlen = bytes.len() + 1;
            let prefix = version.prefix_len();
            let padlen = ARRAY_ALIGN - ((prefix + hlen) % ARRAY_ALIGN);
            let total = prefix + hlen + padlen;
            if ((total - prefix) as u64) > version.max_text_len() {
                continue;
            }
            return assemble(version, &bytes, total);
        }
        // A text over 4 GiB cannot be described by any version; the dtype parser bounds
        // headers far below that, so this is unreachable in practice. Render as v3 anyway.
        let bytes = text.into_bytes();
        let total = Version::V3.prefix_len() + bytes.len() + 1;
        assemble(Version::V3, &bytes, total)
    }

    /// Header bytes of exactly `total` bytes in `version`, or `None` if the text does not fit.
    pub(crate) fn render_at(&self, growth: u64, version: Version, total: u64) -> Option<Vec<u8>> {
        let bytes = encode(&self.text(growth), version)?;
        let prefix = version.prefix_len() as u64;
        let needed = prefix + bytes.len() as u64 + 1;
        if total < needed || total - prefix > version.max_text_len() {
            return None;
        }
        Some(assemble(version, &bytes, usize::try_from(total).ok()?))
    }

    /// Bytes the header needs, in `version`, to hold any growth length (21 digits).
    pub(crate) fn appendable_len(&self, version: Version) -> u64 {
        let text = self.text(0);
        let bytes = encode(&text, version).map_or(text.len(), |b| b.len());
        let spare = if self.grows {
            GROWTH_AXIS_MAX_DIGITS - 1
        } else {
            0
        };
        (version.prefix_len() + bytes + spare + 1) as u64
    }
}

fn assemble(version: Version, text: &[u8], total: usize) -> Vec<u8> {
    let prefix = version.prefix_len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    let (major, minor) = version.numbers();
    out.push(major);
    out.push(minor);
    let len = total - prefix;
    match version {
        Version::V1 => out.extend_from_slice(&(len as u16).to_le_bytes()),
        Version::V2 | Version::V3 => out.extend_from_slice(&(len as u32).to_le_bytes()),
    }
    out.extend_from_slice(text);
    out.resize(total - 1, b' ');
    out.push(b'\n');
    out
}

/// How strictly [`read_header`] treats placeholder shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Leniency {
    /// As NumPy: a placeholder shape is an error.
    Strict,
    /// Accept a `****` placeholder for the growth dimension (for recover and inspect).
    AllowPlaceholder,
}

/// Reads and validates a header from the start of `reader`, whose total size is `file_len`.
pub(crate) fn read_header(
    reader: &mut impl Read,
    file_len: u64,
    leniency: Leniency,
) -> Result<ParsedHeader, ReadError> {
    if file_len == 0 {
        return Err(FormatError::Empty.into());
    }
    let mut start = [0u8; 12];
    let head_len = file_len.min(12) as usize;
    reader.read_exact(&mut start[..head_len])?;
    let found = &start[..head_len];
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
    let mut raw = Vec::with_capacity(text_len as usize);
    raw.extend_from_slice(&found[prefix..]);
    let rest = text_len as usize - raw.len().min(text_len as usize);
    raw.truncate(text_len as usize);
    let before = raw.len();
    raw.resize(before + rest, 0);
    reader.read_exact(&mut raw[before..])?;
    let text: String = match version {
        Version::V3 => {
            String::from_utf8(raw).map_err(|_| FormatError::Encoding { encoding: "UTF-8" })?
        }
        Version::V1 | Version::V2 => raw.iter().map(|&b| char::from(b)).collect(),
    };
    let (header, placeholder) = parse_text(&text, version, leniency)?;
    let text_len = dict_text_len(&text, version);
    Ok(ParsedHeader {
        header,
        version,
        header_len,
        text_len,
        placeholder,
    })
}

/// Length in bytes of the text without trailing padding and newline.
fn dict_text_len(text: &str, version: Version) -> u64 {
    let trimmed = text.trim_end_matches([' ', '\n', '\t', '\r', '\0']);
    match version {
        Version::V3 => trimmed.len() as u64,
        Version::V1 | Version::V2 => trimmed.chars().count() as u64,
    }
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

fn parse_text(
    text: &str,
    version: Version,
    leniency: Leniency,
) -> Result<(Header, bool), FormatError> {
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
        fortran_order,
        shape,
    };
    header.data_len()?;
    if let Some(index) = placeholder
        && header.growth_axis() != Some(index)
    {
        // A placeholder stands for the dimension that grows; anywhere else it is a corrupt
        // header rather than a recoverable one.
        return Err(FormatError::BadShape(fmt_shape(&header.shape)));
    }
    Ok((header, placeholder.is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(descr: &str, fortran_order: bool, shape: &[u64]) -> Header {
        Header {
            dtype: Dtype::parse(descr).unwrap(),
            fortran_order,
            shape: shape.to_vec(),
        }
    }

    fn read(bytes: &[u8]) -> Result<ParsedHeader, FormatError> {
        match read_header(&mut &bytes[..], bytes.len() as u64, Leniency::Strict) {
            Ok(p) => Ok(p),
            Err(ReadError::Format(e)) => Err(e),
            Err(ReadError::Io(e)) => panic!("io: {e}"),
        }
    }

    #[test]
    fn renders_like_np_save() {
        // np.save(f, np.zeros((3, 4))) with NumPy 2.4.
        let bytes = h("<f8", false, &[3, 4]).to_npy_bytes();
        let mut expected =
            b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }"
                .to_vec();
        expected.resize(127, b' ');
        expected.push(b'\n');
        assert_eq!(bytes, expected);
        assert_eq!(
            h("<f8", false, &[]).dict_text(),
            "{'descr': '<f8', 'fortran_order': False, 'shape': (), }"
        );
        assert_eq!(
            h("|u1", true, &[5]).dict_text(),
            "{'descr': '|u1', 'fortran_order': True, 'shape': (5,), }"
        );
    }

    #[test]
    fn header_growth_thresholds_match_numpy() {
        // test_format.py::test_header_growth_axis, with a field named N spaces. NumPy's test
        // writes the dtype's repr (`dtype([...])`, 7 characters longer) where np.save writes
        // the descr list, so the thresholds here are 7 higher: values from NumPy 2.4's
        // write_array_header_1_0 with dtype_to_descr.
        for (n, fortran, expected) in [
            (29, false, 128),
            (30, false, 192),
            (30, true, 128),
            (31, true, 192),
        ] {
            let descr = format!("[('{}', '<i8')]", " ".repeat(n));
            // NumPy goes up to 10**20; u64 stops at 10**19.
            for p in 0..=19u32 {
                let size = 10u64.pow(p);
                let shape = if fortran {
                    vec![2, size]
                } else {
                    vec![size, 2]
                };
                assert_eq!(
                    h(&descr, fortran, &shape).to_npy_bytes().len(),
                    expected,
                    "n={n} p={p}"
                );
            }
        }
    }

    #[test]
    fn render_at_keeps_length_and_fixes_length_field() {
        let hd = h("<f8", false, &[3]);
        let t = hd.template();
        let bytes = t.render_at(12345, Version::V1, 200).unwrap();
        assert_eq!(bytes.len(), 200);
        assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), 190);
        let back = read(&bytes).unwrap();
        assert_eq!(back.header.shape, vec![12345]);
        assert!(t.render_at(1, Version::V1, 40).is_none());
    }

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
        .unwrap();
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

    #[test]
    fn digits_render() {
        let mut buf = [0u8; 20];
        assert_eq!(digits(0, &mut buf), b"0");
        assert_eq!(digits(u64::MAX, &mut buf), b"18446744073709551615");
    }
}
