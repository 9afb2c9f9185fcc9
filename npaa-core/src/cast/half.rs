//! Half precision follows NumPy's loops: to other types through `f32` (exact), from
//! integers through `f32` (`npy_float_to_half((float)x)`), from `f32` and `f64` with one
//! rounding to nearest even ([`f64_to_f16`]).

use half::f16;

use super::numeric::{CastTo, Complex};

/// `f64` to `f16` with a single rounding to nearest, ties to even: NumPy's
/// `npy_doublebits_to_halfbits`. (`half::f16::from_f64` may round twice, through `f32`,
/// when it uses the F16C instructions, and then differs from NumPy.) Also used for `f32`,
/// which widens to `f64` exactly.
pub(super) fn f64_to_f16(x: f64) -> f16 {
    const SIGN: u64 = 0x8000_0000_0000_0000;
    const EXP: u64 = 0x7ff0_0000_0000_0000;
    const FRAC: u64 = 0x000f_ffff_ffff_ffff;
    let d = x.to_bits();
    let sign = ((d & SIGN) >> 48) as u16;
    let d_exp = d & EXP;
    let d_sig = d & FRAC;
    // 2^16 and above (and inf, NaN): inf, or NaN keeping the top payload bits.
    if d_exp >= 0x40f0_0000_0000_0000 {
        if d_exp == EXP && d_sig != 0 {
            let nan = 0x7c00 | ((d_sig >> 42) as u16);
            return f16::from_bits(sign | if nan == 0x7c00 { 0x7c01 } else { nan });
        }
        return f16::from_bits(sign | 0x7c00);
    }
    // Below 2^-14: a subnormal half, or zero below 2^-25.
    if d_exp <= 0x3f00_0000_0000_0000 {
        if d_exp < 0x3e60_0000_0000_0000 {
            return f16::from_bits(sign);
        }
        let shift = (d_exp >> 52) - 998; // 0..=10
        let mut sig = (0x0010_0000_0000_0000 | d_sig) << shift;
        if sig & 0x003f_ffff_ffff_ffff != 0x0010_0000_0000_0000 {
            sig += 0x0010_0000_0000_0000;
        }
        // A carry into the exponent gives the smallest normal: correct.
        return f16::from_bits(sign | ((sig >> 53) as u16));
    }
    let h_exp = ((d_exp - 0x3f00_0000_0000_0000) >> 42) as u16;
    let mut sig = d_sig;
    if sig & 0x0000_07ff_ffff_ffff != 0x0000_0200_0000_0000 {
        sig += 0x0000_0200_0000_0000;
    }
    // A carry into the exponent is correct, up to inf (0x7c00).
    f16::from_bits(sign | (h_exp + (sig >> 42) as u16))
}

/// `f32` to `f64` exactly, keeping a signalling NaN signalling (as NumPy's bit-level
/// half conversions do; a hardware conversion would quiet it).
fn widen_f32(x: f32) -> f64 {
    if x.is_nan() {
        let b = u64::from(x.to_bits());
        f64::from_bits(
            ((b & 0x8000_0000) << 32) | 0x7ff0_0000_0000_0000 | ((b & 0x007f_ffff) << 29),
        )
    } else {
        f64::from(x)
    }
}

/// `f16` to `f32` exactly (NaN payloads copied bit for bit, as NumPy does).
fn half_to_f32(h: f16) -> f32 {
    if h.is_nan() {
        let b = u32::from(h.to_bits());
        f32::from_bits(((b & 0x8000) << 16) | 0x7f80_0000 | ((b & 0x03ff) << 13))
    } else {
        f32::from(h)
    }
}

/// `f16` to `f64` exactly (NaN payloads copied bit for bit, as NumPy does).
fn half_to_f64(h: f16) -> f64 {
    if h.is_nan() {
        let b = u64::from(h.to_bits());
        f64::from_bits(((b & 0x8000) << 48) | 0x7ff0_0000_0000_0000 | ((b & 0x03ff) << 42))
    } else {
        f64::from(h)
    }
}

macro_rules! impl_half_casts {
    ($($t:ty),*) => {$(
        impl CastTo<$t> for f16 {
            #[inline]
            fn cast_to(self) -> $t {
                half_to_f32(self) as $t
            }
        }
        impl CastTo<f16> for $t {
            #[inline]
            fn cast_to(self) -> f16 {
                f64_to_f16(f64::from(self as f32))
            }
        }
    )*};
}
impl_half_casts!(i8, i16, i32, i64, u8, u16, u32, u64);

impl CastTo<f32> for f16 {
    #[inline]
    fn cast_to(self) -> f32 {
        half_to_f32(self)
    }
}
impl CastTo<f64> for f16 {
    #[inline]
    fn cast_to(self) -> f64 {
        half_to_f64(self)
    }
}
impl CastTo<f16> for f32 {
    #[inline]
    fn cast_to(self) -> f16 {
        f64_to_f16(widen_f32(self))
    }
}
impl CastTo<f16> for f64 {
    #[inline]
    fn cast_to(self) -> f16 {
        f64_to_f16(self)
    }
}
impl CastTo<f16> for f16 {
    #[inline]
    fn cast_to(self) -> f16 {
        self
    }
}
impl CastTo<bool> for f16 {
    #[inline]
    fn cast_to(self) -> bool {
        self != f16::ZERO
    }
}
impl CastTo<f16> for bool {
    #[inline]
    fn cast_to(self) -> f16 {
        if self { f16::ONE } else { f16::ZERO }
    }
}
impl CastTo<Complex<f32>> for f16 {
    #[inline]
    fn cast_to(self) -> Complex<f32> {
        Complex {
            re: half_to_f32(self),
            im: 0.0,
        }
    }
}
impl CastTo<Complex<f64>> for f16 {
    #[inline]
    fn cast_to(self) -> Complex<f64> {
        Complex {
            re: half_to_f64(self),
            im: 0.0,
        }
    }
}
impl CastTo<f16> for Complex<f32> {
    #[inline]
    fn cast_to(self) -> f16 {
        f64_to_f16(widen_f32(self.re))
    }
}
impl CastTo<f16> for Complex<f64> {
    #[inline]
    fn cast_to(self) -> f16 {
        f64_to_f16(self.re)
    }
}
