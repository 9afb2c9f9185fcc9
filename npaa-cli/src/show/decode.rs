//! Decoding items: integers, floats (x87 long doubles included) and strings from their
//! bytes in either byte order.

use super::FloatTy;

pub(super) fn read_uint(bytes: &[u8], big: bool) -> u64 {
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

pub(super) fn read_int(bytes: &[u8], signed: bool, big: bool) -> i128 {
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

pub(super) fn read_float(bytes: &[u8], ty: FloatTy, big: bool) -> f64 {
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
pub(super) fn x87_to_f64(b: &[u8; 10]) -> f64 {
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

pub(super) fn strip_nuls(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &bytes[..end]
}

/// A `U` item: UCS-4 code units, trailing NULs removed.
pub(super) fn read_unicode(item: &[u8], big: bool) -> String {
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
