//! Memory order: C (row-major) and Fortran (column-major) layouts of a block, when the two
//! differ, and the conversion from one to the other.
//!
//! Arrays are values: appending a block in the other order appends the same values, laid out
//! in the file's order, exactly as `np.concatenate` followed by `np.save` would lay them out.

use crate::error::{Error, Result};

/// The most dimensions an array may have: NumPy's `NPY_MAXDIMS` (64 since NumPy 2.0). NumPy
/// cannot load a file of more, so npaa neither writes nor reads one; subarray shapes in a
/// dtype have the same limit.
pub const MAX_DIMS: usize = 64;

/// The one check of the dimension limit: fails with [`Error::TooManyDimensions`] for more
/// than [`MAX_DIMS`] dimensions. Every append and header makes it; a front end that reads a
/// shape of `ndim` dimensions from a caller makes it before reading.
///
/// # Errors
/// [`Error::TooManyDimensions`].
pub fn check_ndim(ndim: usize) -> Result<()> {
    if ndim > MAX_DIMS {
        return Err(Error::TooManyDimensions {
            ndim,
            limit: MAX_DIMS,
        });
    }
    Ok(())
}

/// Memory order of the data in a file or a block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Order {
    /// Row-major: grows along axis 0.
    #[default]
    C,
    /// Column-major: grows along the last axis.
    Fortran,
}

impl Order {
    /// The order a header's `fortran_order` flag stands for.
    pub fn from_fortran(fortran_order: bool) -> Order {
        if fortran_order {
            Order::Fortran
        } else {
            Order::C
        }
    }

    /// The other memory order.
    pub fn other(self) -> Order {
        match self {
            Order::C => Order::Fortran,
            Order::Fortran => Order::C,
        }
    }

    /// The axis an `ndim`-dimensional array in this order grows along: 0 for C order, the
    /// last for Fortran order; `None` for a 0-d array, which cannot grow.
    pub fn growth_axis(self, ndim: usize) -> Option<usize> {
        match (self, ndim) {
            (_, 0) => None,
            (Order::C, _) => Some(0),
            (Order::Fortran, n) => Some(n - 1),
        }
    }

    /// The shape of a block of `n` items of `item_shape` in this order: `(n, *item_shape)` in
    /// C order, `(*item_shape, n)` in Fortran order (the growth axis first or last). The
    /// inverse of [`item_shape`](Self::item_shape).
    pub fn block_shape(self, n: u64, item_shape: &[u64]) -> Vec<u64> {
        let mut shape = Vec::with_capacity(item_shape.len() + 1);
        if self == Order::Fortran {
            shape.extend_from_slice(item_shape);
            shape.push(n);
        } else {
            shape.push(n);
            shape.extend_from_slice(item_shape);
        }
        shape
    }

    /// The shape of one item of an array of `shape` in this order: `shape` without its growth
    /// dimension (see [`growth_axis`](Self::growth_axis)); `()` for a 0-d array.
    pub fn item_shape(self, shape: &[u64]) -> Vec<u64> {
        let mut item = shape.to_vec();
        if let Some(axis) = self.growth_axis(shape.len()) {
            item.remove(axis);
        }
        item
    }

    /// The order's name: `"C"` or `"Fortran"`.
    pub fn name(self) -> &'static str {
        match self {
            Order::C => "C",
            Order::Fortran => "Fortran",
        }
    }
}

/// True when a block of `shape` has the same bytes in C and in Fortran order: it is empty,
/// or at most one of its dimensions is longer than 1.
///
/// NumPy saves such arrays as C order even when they come from a Fortran array (they are both
/// C- and F-contiguous), so chunks of a Fortran array routinely arrive as "C-order" files.
pub fn same_bytes_in_both_orders(shape: &[u64]) -> bool {
    shape.contains(&0) || shape.iter().filter(|&&d| d > 1).count() <= 1
}

/// What it takes to append a block laid out in one order to a file in another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relayout {
    /// The block's bytes are already in the file's order: copy them as they are.
    AsIs,
    /// The block must be rewritten in the file's order (its axes reversed in memory).
    ReverseAxes,
}

/// The one rule for a block of `shape` laid out in `from` order appended to a file in `to`
/// order: [`Relayout::AsIs`] when the orders agree or the bytes are the same in both
/// ([`same_bytes_in_both_orders`]), else [`Relayout::ReverseAxes`].
pub fn relayout(shape: &[u64], from: Order, to: Order) -> Relayout {
    if from == to || same_bytes_in_both_orders(shape) {
        Relayout::AsIs
    } else {
        Relayout::ReverseAxes
    }
}

/// How many bytes [`reverse_axes`] hands to `emit` at a time (at most; at least one item).
pub(crate) const REVERSE_CHUNK_BYTES: usize = 1 << 20;

/// The physical (C-order) shape of a block of logical `shape` laid out in `order`: the shape
/// itself for C order, reversed for Fortran order.
pub(crate) fn physical_shape(shape: &[u64], order: Order) -> Vec<u64> {
    let mut physical = shape.to_vec();
    if order == Order::Fortran {
        physical.reverse();
    }
    physical
}

/// Streams the items of `src`, a C-contiguous array of shape `physical` with items of
/// `itemsize` bytes, with its axes reversed: the C-contiguous bytes of its full transpose,
/// which are the block's bytes in the other memory order. `emit` receives consecutive pieces
/// of at most [`REVERSE_CHUNK_BYTES`] (whole items); `progress` the source bytes visited so
/// far. Memory use is one piece, whatever the size of `src`.
///
/// `src` must hold exactly `itemsize × product(physical)` bytes (the caller checked it).
pub(crate) fn reverse_axes(
    src: &[u8],
    physical: &[u64],
    itemsize: usize,
    emit: &mut dyn FnMut(&[u8]) -> Result<()>,
    progress: &mut dyn FnMut(u64),
) -> Result<()> {
    // Axes of length 1 move no bytes; the rest fit in usize because `src` holds them all.
    let dims: Vec<usize> = physical
        .iter()
        .filter(|&&d| d != 1)
        .map(|&d| d as usize)
        .collect();
    if itemsize == 0 || src.is_empty() || dims.contains(&0) {
        return Ok(());
    }
    let n = dims.len();
    if n < 2 {
        progress(src.len() as u64);
        return emit(src);
    }
    // Byte strides of the source's axes.
    let mut strides = vec![0usize; n];
    let mut stride = itemsize;
    for k in (0..n).rev() {
        strides[k] = stride;
        stride *= dims[k];
    }
    // The output's innermost axis is the source's axis 0 (its largest stride); its outer
    // axes, slowest first, are the source's axes n-1 down to 1, walked by an odometer over
    // `index` (source axis 1 turns fastest).
    let items_per_piece = (REVERSE_CHUNK_BYTES / itemsize).max(1);
    let mut piece: Vec<u8> =
        Vec::with_capacity(items_per_piece.min(src.len() / itemsize) * itemsize);
    let mut index = vec![0usize; n];
    let mut visited = 0u64;
    let (inner_len, inner_stride) = (dims[0], strides[0]);
    loop {
        let base: usize = (1..n).map(|k| index[k] * strides[k]).sum();
        for j in 0..inner_len {
            let at = base + j * inner_stride;
            piece.extend_from_slice(&src[at..at + itemsize]);
            if piece.len() >= items_per_piece * itemsize {
                emit(&piece)?;
                visited += piece.len() as u64;
                progress(visited);
                piece.clear();
            }
        }
        let mut k = 1;
        loop {
            index[k] += 1;
            if index[k] < dims[k] {
                break;
            }
            index[k] = 0;
            k += 1;
            if k == n {
                if !piece.is_empty() {
                    emit(&piece)?;
                    visited += piece.len() as u64;
                    progress(visited);
                }
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_axes_and_the_other_order() {
        assert_eq!(Order::C.growth_axis(0), None);
        assert_eq!(Order::Fortran.growth_axis(0), None);
        assert_eq!(Order::C.growth_axis(3), Some(0));
        assert_eq!(Order::Fortran.growth_axis(3), Some(2));
        assert_eq!(Order::Fortran.growth_axis(1), Some(0));
        assert_eq!(
            (Order::C.other(), Order::Fortran.other()),
            (Order::Fortran, Order::C)
        );
    }

    #[test]
    fn block_and_item_shapes_are_inverse() {
        assert_eq!(Order::C.block_shape(7, &[3, 4]), [7, 3, 4]);
        assert_eq!(Order::Fortran.block_shape(7, &[3, 4]), [3, 4, 7]);
        assert_eq!(Order::Fortran.block_shape(7, &[]), [7]);
        for order in [Order::C, Order::Fortran] {
            for item in [&[][..], &[2], &[2, 5]] {
                assert_eq!(order.item_shape(&order.block_shape(9, item)), item);
            }
        }
        assert!(Order::C.item_shape(&[]).is_empty());
        assert!(check_ndim(MAX_DIMS).is_ok());
        let err = check_ndim(MAX_DIMS + 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a shape of 65 dimensions has more than the 64 NumPy can load"
        );
    }

    #[test]
    fn the_rule() {
        for shape in [
            &[][..],
            &[5],
            &[5, 1],
            &[1, 5],
            &[1, 5, 1],
            &[0, 3],
            &[3, 0, 2],
        ] {
            assert!(same_bytes_in_both_orders(shape), "{shape:?}");
            assert_eq!(relayout(shape, Order::C, Order::Fortran), Relayout::AsIs);
        }
        for shape in [&[2, 3][..], &[2, 1, 3], &[2, 2, 2]] {
            assert!(!same_bytes_in_both_orders(shape), "{shape:?}");
            assert_eq!(
                relayout(shape, Order::Fortran, Order::C),
                Relayout::ReverseAxes
            );
            assert_eq!(relayout(shape, Order::C, Order::C), Relayout::AsIs);
        }
    }

    /// The transpose, item by item, of arrays with many small pieces (one-byte items and
    /// pieces forced by large ones).
    #[test]
    fn reverses_axes() {
        // Source C shape (2, 3, 4) of u8: item (a, b, c) = 12a + 4b + c. Reversed shape
        // (4, 3, 2): item (c, b, a) in C order.
        let src: Vec<u8> = (0..24).collect();
        let mut out = Vec::new();
        let mut seen = 0;
        reverse_axes(
            &src,
            &[2, 1, 3, 4],
            1,
            &mut |p| {
                out.extend_from_slice(p);
                Ok(())
            },
            &mut |v| seen = v,
        )
        .unwrap();
        let expected: Vec<u8> = (0..4)
            .flat_map(|c| (0..3).flat_map(move |b| (0..2).map(move |a| 12 * a + 4 * b + c)))
            .collect();
        assert_eq!(out, expected);
        assert_eq!(seen, 24);
        // Items larger than a piece: one item per piece, still in order.
        let big = REVERSE_CHUNK_BYTES + 3;
        let src: Vec<u8> = (0..6 * big).map(|i| (i / big) as u8).collect();
        let mut order = Vec::new();
        reverse_axes(
            &src,
            &[2, 3],
            big,
            &mut |p| {
                assert_eq!(p.len(), big);
                order.push(p[0]);
                Ok(())
            },
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(order, [0, 3, 1, 4, 2, 5]);
    }
}
