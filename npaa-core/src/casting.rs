//! The casting rules' names and order ([`Casting`]): a leaf, so that [`crate::Error`] can carry
//! one without importing the rules (`cast/`, which reports errors). Parsing a name (`FromStr`)
//! returns the crate's error and lives with the rules, in `cast/rules.rs`.

use std::fmt;

/// NumPy's casting rules (`np.can_cast`), from strictest to loosest; the default is
/// [`Casting::SameKind`], as for NumPy's ufuncs.
///
/// Non-exhaustive: NumPy 2.4 has a sixth rule (`same_value`, for `astype`) that npaa may
/// adopt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Casting {
    /// Only identical dtypes.
    No,
    /// Identical dtypes up to byte order.
    Equiv,
    /// Only casts that preserve every value (`i4` to `i8` or `f8`, `f4` to `f8`, ...).
    Safe,
    /// Safe casts, plus casts within a kind (`f8` to `f4`, `i8` to `i2`, `u8` to `i1`).
    #[default]
    SameKind,
    /// Any conversion (`f8` to `i4` truncates).
    Unsafe,
}

impl Casting {
    /// All rules, strictest first.
    pub const ALL: [Casting; 5] = [
        Casting::No,
        Casting::Equiv,
        Casting::Safe,
        Casting::SameKind,
        Casting::Unsafe,
    ];

    /// The name NumPy uses: `no`, `equiv`, `safe`, `same_kind`, `unsafe`.
    pub fn as_str(self) -> &'static str {
        match self {
            Casting::No => "no",
            Casting::Equiv => "equiv",
            Casting::Safe => "safe",
            Casting::SameKind => "same_kind",
            Casting::Unsafe => "unsafe",
        }
    }

    /// 0 for `No` up to 4 for `Unsafe`.
    pub(crate) fn rank(self) -> u8 {
        match self {
            Casting::No => 0,
            Casting::Equiv => 1,
            Casting::Safe => 2,
            Casting::SameKind => 3,
            Casting::Unsafe => 4,
        }
    }

    /// The looser of two rules.
    pub(crate) fn max(self, other: Casting) -> Casting {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for Casting {
    /// Writes NumPy's name for the rule (`same_kind`, ...).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use crate::error::Error;

    use super::*;

    #[test]
    fn casting_names() {
        for c in Casting::ALL {
            assert_eq!(c.to_string().parse::<Casting>().ok(), Some(c));
            assert_eq!(c.as_str(), c.to_string());
        }
        assert_eq!(Casting::SameKind.to_string(), "same_kind");
        assert_eq!("same-kind".parse::<Casting>().ok(), Some(Casting::SameKind));
        assert_eq!(Casting::default(), Casting::SameKind);
        assert!(matches!(
            "Unsafe".parse::<Casting>(),
            Err(Error::UnknownName { .. })
        ));
    }
}
