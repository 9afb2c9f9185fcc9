//! Summarising: which items of a long axis are printed (NumPy's `threshold` and
//! `edgeitems`), as `numpy/_core/arrayprint.py` decides.

/// NumPy's default `threshold`: an array of more elements is summarised with `...`.
pub const THRESHOLD: u64 = 1000;

/// NumPy's default `edgeitems`: the items kept at each end of a summarised axis.
pub const EDGE_ITEMS: u64 = 3;

/// One axis of a printed array: its length and whether only its edge items are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Axis {
    /// The length of the axis.
    pub len: u64,
    /// Only `EDGE_ITEMS` at each end are printed, with `...` between them.
    pub summarised: bool,
}

impl Axis {
    /// An axis of `len` items in an array that is summarised (`summarise`) or not: NumPy
    /// summarises an axis only where it is longer than twice `EDGE_ITEMS`.
    pub fn new(len: u64, summarise: bool) -> Axis {
        Axis {
            len,
            summarised: summarise && len > 2 * EDGE_ITEMS,
        }
    }

    /// How many items of the axis are printed.
    pub fn count(self) -> u64 {
        if self.summarised {
            2 * EDGE_ITEMS
        } else {
            self.len
        }
    }

    /// The index in the axis of printed item number `i` (`i < count()`).
    pub fn index(self, i: u64) -> u64 {
        if self.summarised && i >= EDGE_ITEMS {
            self.len - 2 * EDGE_ITEMS + i
        } else {
            i
        }
    }
}
