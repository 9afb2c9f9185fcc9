//! The .npy header codec: reading every header NumPy accepts, writing headers byte-identical to
//! `np.save` (NumPy >= 1.24), and rewriting a header in place at its existing size.

use std::borrow::Cow;
use std::io::Read;

use crate::dtype::Dtype;
use crate::error::FormatError;
use crate::fmt::{decimal_len, digits, fmt_shape, push_decimal};
use crate::layout::Order;
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
///
/// Non-exhaustive: a later NumPy may define another version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
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

/// A header as found in a file: what [`Header::read`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
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
    /// writer (npyz, npy); the shape then holds 0 there. [`Header::read`] refuses such
    /// headers, as NumPy does; [`inspect`](crate::inspect()) reports them with this set.
    pub placeholder: bool,
}

impl Header {
    /// The memory order `fortran_order` stands for.
    pub fn order(&self) -> Order {
        Order::from_fortran(self.fortran_order)
    }

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

    /// The dict text without the growth dimension's digits, and the byte offset in it where
    /// they go (the end for a 0-d array, which has none).
    fn text_parts(&self) -> (String, usize) {
        let mut text = String::with_capacity(96);
        text.push_str("{'descr': ");
        self.dtype.write_header_repr(&mut text);
        text.push_str(", 'fortran_order': ");
        text.push_str(if self.fortran_order { "True" } else { "False" });
        text.push_str(", 'shape': (");
        let axis = self.growth_axis();
        let mut split = None;
        for (i, &d) in self.shape.iter().enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            if Some(i) == axis {
                split = Some(text.len());
            } else {
                push_decimal(&mut text, d);
            }
        }
        if self.shape.len() == 1 {
            text.push(',');
        }
        text.push_str("), }");
        let split = split.unwrap_or(text.len());
        (text, split)
    }

    /// The dict text alone, as `np.save` writes it before padding.
    pub fn dict_text(&self) -> String {
        let (mut text, split) = self.text_parts();
        if self.growth_axis().is_some() {
            text.insert_str(split, &self.growth_len().to_string());
        }
        text
    }

    /// The template that renders this header's bytes for any growth length.
    pub(crate) fn template(&self) -> Template {
        let (text, split) = self.text_parts();
        Template {
            ascii: text.is_ascii(),
            text,
            split,
            grows: self.growth_axis().is_some(),
        }
    }

    /// The complete header bytes `np.save` writes for this array (NumPy >= 1.24), magic and
    /// padding included.
    pub fn to_npy_bytes(&self) -> Vec<u8> {
        self.template().render_fresh(self.growth_len())
    }
}

/// The text of a header without its growth dimension, so that the bytes for a new growth
/// length can be produced without formatting the whole dict again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Template {
    /// The dict text with the growth dimension's digits left out.
    text: String,
    /// Byte offset in `text` where the growth digits go.
    split: usize,
    /// False for a 0-d array: no digits go anywhere.
    grows: bool,
    /// True when `text` is ASCII (the usual case), which every version encodes byte for byte.
    ascii: bool,
}

/// Bytes `text` takes in `version`'s encoding (latin1 before 3.0, UTF-8 in 3.0), or `None` if
/// one of its characters has no latin1 code.
fn encoded_len(text: &str, ascii: bool, version: Version) -> Option<usize> {
    if ascii || version == Version::V3 {
        return Some(text.len());
    }
    text.chars()
        .all(|c| u32::from(c) <= 0xff)
        .then(|| text.chars().count())
}

/// Writes `text` in `version`'s encoding into `out` from `at`, returning the offset after it.
/// The caller checked with [`encoded_len`] that it can be encoded and fits.
fn encode_into(text: &str, ascii: bool, version: Version, out: &mut [u8], at: usize) -> usize {
    if ascii || version == Version::V3 {
        out[at..at + text.len()].copy_from_slice(text.as_bytes());
        return at + text.len();
    }
    let mut end = at;
    for (slot, c) in out[at..].iter_mut().zip(text.chars()) {
        // Latin1: the code point is the byte (`encoded_len` refused larger ones).
        *slot = u8::try_from(u32::from(c)).unwrap_or(b'?');
        end += 1;
    }
    end
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

    /// Bytes of the dict text for `growth` in `version`'s encoding, or `None` if it cannot be
    /// encoded in that version.
    fn text_len(&self, growth: u64, version: Version) -> Option<usize> {
        let n = if self.grows { decimal_len(growth) } else { 0 };
        encoded_len(&self.text, self.ascii, version).map(|len| len + n)
    }

    /// Byte offset, inside the header, of the growth digits.
    pub(crate) fn digits_offset(&self, version: Version) -> usize {
        let head = &self.text[..self.split];
        let head_bytes = if self.ascii || version == Version::V3 {
            head.len()
        } else {
            head.chars().count()
        };
        version.prefix_len() + head_bytes
    }

    /// Header bytes as `np.save` lays them out: 21-digit spare, 64-byte alignment, the smallest
    /// version that can hold the text.
    pub(crate) fn render_fresh(&self, growth: u64) -> Vec<u8> {
        let n = decimal_len(growth);
        let spare = if self.grows {
            GROWTH_AXIS_MAX_DIGITS.saturating_sub(n)
        } else {
            0
        };
        for version in [Version::V1, Version::V2, Version::V3] {
            let Some(len) = self.text_len(growth, version) else {
                continue;
            };
            let hlen = len + spare + 1;
            let prefix = version.prefix_len();
            let padlen = ARRAY_ALIGN - ((prefix + hlen) % ARRAY_ALIGN);
            let total = prefix + hlen + padlen;
            if ((total - prefix) as u64) > version.max_text_len() {
                continue;
            }
            return self.render(growth, version, total);
        }
        // A text over 4 GiB cannot be described by any version; the dtype parser bounds
        // headers far below that, so this is unreachable in practice. Render as v3 anyway.
        let len = self.text.len() + if self.grows { n } else { 0 };
        self.render(
            growth,
            Version::V3,
            Version::V3.prefix_len() + len + spare + 1,
        )
    }

    /// Header bytes of exactly `total` bytes in `version`, or `None` if the text does not fit.
    pub(crate) fn render_at(&self, growth: u64, version: Version, total: u64) -> Option<Vec<u8>> {
        if !self.fits(growth, version, total) {
            return None;
        }
        Some(self.render(growth, version, usize::try_from(total).ok()?))
    }

    /// [`render_at`](Self::render_at) into `out`, whose length is the header's: writes the
    /// header and returns true, or returns false, writing nothing, if the text does not fit.
    pub(crate) fn render_into(&self, growth: u64, version: Version, out: &mut [u8]) -> bool {
        let fits = self.fits(growth, version, out.len() as u64);
        if fits {
            self.write(growth, version, out);
        }
        fits
    }

    /// Whether a header of exactly `total` bytes in `version` can hold the text for `growth`.
    fn fits(&self, growth: u64, version: Version, total: u64) -> bool {
        let prefix = version.prefix_len() as u64;
        // The text, then at least the final newline.
        self.text_len(growth, version).is_some_and(|len| {
            total > prefix + len as u64 && total - prefix <= version.max_text_len()
        })
    }

    /// The header for `growth` as a new vector of `total` bytes, which must hold it.
    fn render(&self, growth: u64, version: Version, total: usize) -> Vec<u8> {
        let mut out = vec![0; total];
        self.write(growth, version, &mut out);
        out
    }

    /// Writes the whole header into `out` (the header's length): magic, version, length
    /// field, the text for `growth`, spaces, and the final newline. The caller checked that
    /// the text can be encoded in `version` and fits.
    fn write(&self, growth: u64, version: Version, out: &mut [u8]) {
        let prefix = version.prefix_len();
        let total = out.len();
        out[..MAGIC.len()].copy_from_slice(MAGIC);
        let (major, minor) = version.numbers();
        out[6] = major;
        out[7] = minor;
        let len = total - prefix;
        match version {
            Version::V1 => out[8..10].copy_from_slice(&(len as u16).to_le_bytes()),
            Version::V2 | Version::V3 => out[8..12].copy_from_slice(&(len as u32).to_le_bytes()),
        }
        let mut buf = [0; 20];
        let growth_digits = if self.grows {
            digits(growth, &mut buf)
        } else {
            &[]
        };
        let (head, tail) = self.text.split_at(self.split);
        let at = encode_into(head, self.ascii, version, out, prefix);
        let at_tail = at + growth_digits.len();
        out[at..at_tail].copy_from_slice(growth_digits);
        let end = encode_into(tail, self.ascii, version, out, at_tail);
        out[end..total - 1].fill(b' ');
        out[total - 1] = b'\n';
    }

    /// Bytes the header needs, in `version`, to hold any growth length (21 digits).
    pub(crate) fn appendable_len(&self, version: Version) -> u64 {
        // The text for growth 0: one digit, or none for a 0-d array.
        let zero = usize::from(self.grows);
        let bytes = encoded_len(&self.text, self.ascii, version).unwrap_or(self.text.len()) + zero;
        let spare = if self.grows {
            GROWTH_AXIS_MAX_DIGITS - 1
        } else {
            0
        };
        (version.prefix_len() + bytes + spare + 1) as u64
    }
}

/// How strictly [`read_header`] treats placeholder shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Leniency {
    /// As NumPy: a placeholder shape is an error.
    Strict,
    /// Accept a `****` placeholder for the growth dimension (for recover and inspect).
    AllowPlaceholder,
}

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
        fortran_order,
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
        fortran_order,
        shape,
    };
    Ok((header, placeholder))
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
            Ok((p, _)) => Ok(p),
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

    #[test]
    fn render_into_matches_render_at() {
        for hd in [
            h("<f8", false, &[3, 16]),
            h("|b1", false, &[]),
            h("<U3", true, &[2, 5]),
            // Latin1 field names (1.0 and 2.0 encode them), and beyond latin1 (3.0 only).
            h("[('\u{e9}t\u{e9}', '<i4')]", false, &[12]),
            h("[('\u{4e2d}', '<i4')]", false, &[12]),
        ] {
            let t = hd.template();
            for version in [Version::V1, Version::V2, Version::V3] {
                for growth in [0, 7, 123_456, u64::MAX] {
                    for total in [0, 11, 40, 64, 127, 128, 200, 512] {
                        let mut out = vec![0xaa; total];
                        let rendered = t.render_into(growth, version, &mut out);
                        let expected = t.render_at(growth, version, total as u64);
                        assert_eq!(rendered, expected.is_some(), "{hd:?} {version}");
                        match expected {
                            Some(bytes) => assert_eq!(out, bytes),
                            None => assert!(out.iter().all(|&b| b == 0xaa)),
                        }
                    }
                }
            }
            // What np.save writes reads back, in whichever version it picked.
            let bytes = hd.to_npy_bytes();
            assert_eq!(read(&bytes).unwrap().header, hd);
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
