//! NumPy's casting rules, and the conversions npaa applies when a block's dtype differs from
//! the file's.
//!
//! [`can_cast`] answers what `np.can_cast(from, to, casting)` answers. The crate-internal
//! `CastPlan` is a conversion prepared once per block and applied to chunks of whole items: a
//! plain copy, a byte swap (any dtype whose bytes only differ in byte order, records
//! included), or a value conversion between the numeric types
//! `b1 i1 i2 i4 i8 u1 u2 u4 u8 f4 f8 c8 c16` (and `f2` with the `f16` feature). Every other
//! cast NumPy allows is refused with [`Error::CastUnsupported`](crate::Error::CastUnsupported).
//!
//! # Value semantics
//! For values the destination type can represent, conversions give NumPy's results:
//! integer to integer wraps (two's complement truncation), float to integer truncates toward
//! zero, integer to float and wider float to narrower float round to nearest (`i64`/`u64` to
//! `f32` directly, not through `f64`), bool to number gives 0 or 1, number to bool is
//! `!= 0` (a complex number is true when either part is non-zero), complex to real keeps the
//! real part, real to complex sets the imaginary part to 0.
//!
//! Float to integer for NaN or values outside the integer's range differs: NumPy's result is
//! whatever the C cast does on the machine (undefined behaviour in C; on x86-64, for example,
//! `int32` gets `-2147483648`, and `int8` gets the low byte of the `int32` result). npaa uses
//! Rust's `as`, which saturates: NaN becomes 0, too-large values the type's maximum,
//! too-small values its minimum.
//!
//! # Where things are
//! - [`Casting`], the rules' names and order, is a leaf of its own (`src/casting.rs`), so that
//!   [`Error`](crate::Error) can hold one.
//! - `rules.rs`: [`can_cast`], NumPy's rules for every dtype npaa models.
//! - `plan.rs`: `CastPlan`, the conversion chosen once per block.
//! - `swap.rs`: byte swaps (a dtype whose bytes differ only in byte order).
//! - `numeric.rs`: the value conversion kernels; `half.rs`: `f16` rounding as NumPy does it.

#[cfg(feature = "f16")]
mod half;
mod numeric;
mod plan;
mod rules;
mod swap;

pub use crate::casting::Casting;
pub(crate) use plan::CastPlan;
pub use rules::can_cast;

/// Helpers shared by the unit tests of the cast modules.
#[cfg(test)]
mod testing {
    use super::{CastPlan, Casting};
    use crate::dtype::Dtype;
    use crate::error::Error;

    pub(super) fn dt(descr: &str) -> Dtype {
        Dtype::parse(descr).unwrap_or_else(|e| panic!("{descr}: {e}"))
    }

    pub(super) fn plan(from: &str, to: &str, casting: Casting) -> Result<CastPlan, Error> {
        CastPlan::new(&dt(from), &dt(to), casting)
    }
}
