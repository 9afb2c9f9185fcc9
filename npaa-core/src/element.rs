//! Rust element types that map to a NumPy dtype, for the typed append API.

use crate::dtype::{ByteOrder, Dtype, Kind, Scalar};

mod sealed {
    pub trait Sealed {}
}

/// A Rust type whose values are stored as one NumPy scalar of a fixed dtype, in native byte
/// order: `bool` (`|b1`), `i8`..`i64`, `u8`..`u64`, `f32`, `f64`; `half::f16` (`<f2`) with
/// the `f16` feature; `num_complex::Complex<f32|f64>` (`<c8`, `<c16`) with the `complex`
/// feature. Sealed: the set matches what the casting kernels understand.
pub trait Element: bytemuck::NoUninit + sealed::Sealed {
    /// The NumPy dtype of this type.
    fn dtype() -> Dtype;
}

const NATIVE: ByteOrder = if cfg!(target_endian = "little") {
    ByteOrder::Little
} else {
    ByteOrder::Big
};

fn scalar(kind: Kind, size: usize) -> Dtype {
    let order = if size == 1 {
        ByteOrder::NotApplicable
    } else {
        NATIVE
    };
    Dtype::Scalar(Scalar { kind, size, order })
}

macro_rules! element {
    ($($t:ty => $kind:expr),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            fn dtype() -> Dtype {
                scalar($kind, std::mem::size_of::<$t>())
            }
        }
    )*};
}

element! {
    bool => Kind::Bool,
    i8 => Kind::Int, i16 => Kind::Int, i32 => Kind::Int, i64 => Kind::Int,
    u8 => Kind::Uint, u16 => Kind::Uint, u32 => Kind::Uint, u64 => Kind::Uint,
    f32 => Kind::Float, f64 => Kind::Float,
}

#[cfg(feature = "f16")]
element! { half::f16 => Kind::Float }

#[cfg(feature = "complex")]
element! {
    num_complex::Complex<f32> => Kind::Complex,
    num_complex::Complex<f64> => Kind::Complex,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descrs_match_numpy() {
        assert_eq!(bool::dtype().descr(), "|b1");
        assert_eq!(i8::dtype().descr(), "|i1");
        assert_eq!(u8::dtype().descr(), "|u1");
        assert_eq!(i16::dtype().descr(), "<i2");
        assert_eq!(u64::dtype().descr(), "<u8");
        assert_eq!(f32::dtype().descr(), "<f4");
        assert_eq!(f64::dtype().descr(), "<f8");
    }
}
