//! Writing headers as `np.save` does, and the [`Template`] that rewrites one in place.

use super::{ARRAY_ALIGN, GROWTH_AXIS_MAX_DIGITS, Header, MAGIC, Version};
use crate::fmt::{decimal_len, digits, push_decimal};
use crate::layout::Order;

impl Header {
    /// The dict text without the growth dimension's digits, and the byte offset in it where
    /// they go (the end for a 0-d array, which has none).
    fn text_parts(&self) -> (String, usize) {
        let mut text = String::with_capacity(96);
        text.push_str("{'descr': ");
        self.dtype.write_header_repr(&mut text);
        text.push_str(", 'fortran_order': ");
        text.push_str(match self.order {
            Order::C => "False",
            Order::Fortran => "True",
        });
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
    pub(super) text: String,
    /// Byte offset in `text` where the growth digits go.
    pub(super) split: usize,
    /// False for a 0-d array: no digits go anywhere.
    pub(super) grows: bool,
    /// True when `text` is ASCII (the usual case), which every version encodes byte for byte.
    pub(super) ascii: bool,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::testing::{h, read};

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
}
