//! Byte swaps: which byte ranges of an item reverse when only the byte order differs
//! (scalars, strings, records and their subarrays), and the copy loops that reverse them.

use crate::dtype::{Dtype, Kind, TimeUnit, count};

/// Byte ranges to reverse inside one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SwapOp {
    /// Reverse `count` ranges of `width` bytes, at `offset`, `offset + stride`, ...
    Run {
        offset: usize,
        width: usize,
        count: usize,
        stride: usize,
    },
    /// Apply `ops` to `count` sub-items at `offset`, `offset + stride`, ... (a subarray of
    /// records).
    Repeat {
        offset: usize,
        count: usize,
        stride: usize,
        ops: Vec<SwapOp>,
    },
}

/// Copies `src` to `dst` (same length) reversing every `width` bytes.
pub(super) fn swap_copy(width: usize, src: &[u8], dst: &mut [u8]) {
    match width {
        2 => swap_copy_n::<2>(src, dst),
        4 => swap_copy_n::<4>(src, dst),
        8 => swap_copy_n::<8>(src, dst),
        16 => swap_copy_n::<16>(src, dst),
        _ => {
            dst.copy_from_slice(src);
            if width > 1 {
                dst.chunks_exact_mut(width).for_each(<[u8]>::reverse);
            }
        }
    }
}

/// [`swap_copy`] for a width known at compile time, which the compiler vectorises.
fn swap_copy_n<const N: usize>(src: &[u8], dst: &mut [u8]) {
    let (src, _) = src.as_chunks::<N>();
    let (dst, _) = dst.as_chunks_mut::<N>();
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
        d.reverse();
    }
}

/// Applies `ops` to one item. Ranges were checked against the item size in
/// [`check_swap_ops`], so the arithmetic cannot overflow; a range that does not fit is
/// skipped all the same.
pub(super) fn apply_swap(ops: &[SwapOp], item: &mut [u8]) {
    for op in ops {
        match op {
            SwapOp::Run {
                offset,
                width,
                count,
                stride,
            } => {
                for k in 0..*count {
                    let start = offset + k * stride;
                    if let Some(range) = item.get_mut(start..start + width) {
                        range.reverse();
                    }
                }
            }
            SwapOp::Repeat {
                offset,
                count,
                stride,
                ops,
            } => {
                for k in 0..*count {
                    if let Some(sub) = item.get_mut(offset + k * stride..) {
                        apply_swap(ops, sub);
                    }
                }
            }
        }
    }
}

/// Checks that every range of `ops` lies within `size` bytes (hand-built records may lie).
pub(super) fn check_swap_ops(ops: &[SwapOp], size: usize) -> Result<(), String> {
    let past = || "a field reaches past the item size".to_owned();
    for op in ops {
        let (offset, count, stride, inner) = match op {
            SwapOp::Run {
                offset,
                width,
                count,
                stride,
            } => (*offset, *count, *stride, *width),
            SwapOp::Repeat {
                offset,
                count,
                stride,
                ops,
            } => {
                let inner = size.checked_sub(*offset).ok_or_else(past)?;
                check_swap_ops(ops, inner)?;
                (*offset, *count, *stride, 0)
            }
        };
        if count == 0 {
            continue;
        }
        let end = stride
            .checked_mul(count - 1)
            .and_then(|x| x.checked_add(offset))
            .and_then(|x| x.checked_add(inner))
            .ok_or_else(past)?;
        if end > size {
            return Err(past());
        }
    }
    Ok(())
}

/// The byte swaps that turn `from` items into `to` items, if the two dtypes hold the same
/// values in the same places and differ at most in byte order (`Some(vec![])`: identical).
pub(super) fn swap_ops(from: &Dtype, to: &Dtype) -> Option<Vec<SwapOp>> {
    let mut ops = Vec::new();
    push_swap_ops(from, to, 0, &mut ops)?;
    Some(ops)
}

fn push_swap_ops(from: &Dtype, to: &Dtype, base: usize, ops: &mut Vec<SwapOp>) -> Option<()> {
    match (from, to) {
        (Dtype::Scalar(a), Dtype::Scalar(b)) => {
            let same_values = match (&a.kind, &b.kind) {
                // `[1000ms]` and `[s]` hold the same numbers.
                (Kind::Datetime(x), Kind::Datetime(y))
                | (Kind::Timedelta(x), Kind::Timedelta(y)) => same_duration(x, y),
                (x, y) => x == y,
            };
            if !same_values || a.size != b.size {
                return None;
            }
            if a.effective_order() != b.effective_order() {
                let size = a.size;
                let (width, count) = match a.kind {
                    Kind::Complex => (size / 2, 2),
                    Kind::Unicode => (4, size / 4),
                    _ => (size, 1),
                };
                if width > 1 && count > 0 {
                    ops.push(SwapOp::Run {
                        offset: base,
                        width,
                        count,
                        stride: width,
                    });
                }
            }
            Some(())
        }
        (Dtype::Record(a), Dtype::Record(b)) => {
            if a.itemsize != b.itemsize || a.fields.len() != b.fields.len() {
                return None;
            }
            for (fa, fb) in a.fields.iter().zip(&b.fields) {
                if fa.name != fb.name || fa.offset != fb.offset || fa.shape != fb.shape {
                    return None;
                }
                push_repeated_swap_ops(
                    &fa.dtype,
                    &fb.dtype,
                    fa.count(),
                    base.checked_add(fa.offset)?,
                    ops,
                )?;
            }
            Some(())
        }
        (Dtype::Subarray(a), Dtype::Subarray(b)) if a.shape == b.shape => {
            push_repeated_swap_ops(&a.base, &b.base, count(&a.shape), base, ops)
        }
        _ => None,
    }
}

/// The swaps of `count` consecutive items of `from` at `offset` (a subarray), as few ops as
/// possible.
fn push_repeated_swap_ops(
    from: &Dtype,
    to: &Dtype,
    count: usize,
    offset: usize,
    ops: &mut Vec<SwapOp>,
) -> Option<()> {
    let mut inner = Vec::new();
    push_swap_ops(from, to, 0, &mut inner)?;
    let stride = from.itemsize();
    match inner.as_slice() {
        [] => {}
        _ if count == 1 => ops.extend(inner.into_iter().map(|op| shift(op, offset))),
        // A subarray of scalars: one longer run.
        [
            SwapOp::Run {
                offset: o,
                width,
                count: c,
                stride: s,
            },
        ] if s.checked_mul(*c) == Some(stride) => ops.push(SwapOp::Run {
            offset: offset.checked_add(*o)?,
            width: *width,
            count: c.checked_mul(count)?,
            stride: *s,
        }),
        _ => ops.push(SwapOp::Repeat {
            offset,
            count,
            stride,
            ops: inner,
        }),
    }
    Some(())
}

/// Whether one step of each unit is the same length of time (`[1000ms]` and `[s]`, `[60m]`
/// and `[h]`), so that the stored numbers need no conversion.
fn same_duration(a: &TimeUnit, b: &TimeUnit) -> bool {
    if a == b {
        return true;
    }
    // Years and months are calendar units, measured in months; the others in attoseconds.
    const PER_STEP: [u128; 13] = [
        12,
        1,
        604_800 * 1_000_000_000_000_000_000,
        86_400 * 1_000_000_000_000_000_000,
        3_600 * 1_000_000_000_000_000_000,
        60 * 1_000_000_000_000_000_000,
        1_000_000_000_000_000_000,
        1_000_000_000_000_000,
        1_000_000_000_000,
        1_000_000_000,
        1_000_000,
        1_000,
        1,
    ];
    const MONTH: usize = 1;
    let (Some(ra), Some(rb)) = (a.rank(), b.rank()) else {
        return false;
    };
    if (ra <= MONTH) != (rb <= MONTH) {
        return false;
    }
    let length = |rank: usize, count: u64| {
        PER_STEP
            .get(rank)
            .and_then(|&unit| u128::from(count).checked_mul(unit))
    };
    matches!((length(ra, a.count), length(rb, b.count)), (Some(x), Some(y)) if x == y && x != 0)
}

/// `op` moved `by` bytes further into the item.
fn shift(op: SwapOp, by: usize) -> SwapOp {
    match op {
        SwapOp::Run {
            offset,
            width,
            count,
            stride,
        } => SwapOp::Run {
            offset: offset.saturating_add(by),
            width,
            count,
            stride,
        },
        SwapOp::Repeat {
            offset,
            count,
            stride,
            ops,
        } => SwapOp::Repeat {
            offset: offset.saturating_add(by),
            count,
            stride,
            ops,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cast::Casting;
    use crate::cast::testing::{dt, plan};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// `np.frombuffer(bytes(range(n)), from).astype(to).tobytes()`, NumPy 2.4.
    #[test]
    fn byte_swaps_match_numpy() {
        let cases = [
            ("<U3", ">U3", "03020100070605040b0a0908"),
            ("<c16", ">c16", "07060504030201000f0e0d0c0b0a0908"),
            ("<f16", ">f16", "0f0e0d0c0b0a09080706050403020100"),
            (
                "<c32",
                ">c32",
                "0f0e0d0c0b0a090807060504030201001f1e1d1c1b1a19181716151413121110",
            ),
            ("<M8[ns]", ">M8[ns]", "0706050403020100"),
            (">i8", "<i8", "0706050403020100"),
            ("<m8[1000ms]", "<m8[s]", "0001020304050607"),
            (
                "[('a', '<i4', (2,)), ('b', [('x', '<u2'), ('y', '|S3'), ('z', '<c8')], (2,)), \
                 ('c', '<U2'), ('d', '<M8[s]'), ('e', '|b1'), ('f', '<f2')]",
                "[('a', '>i4', (2,)), ('b', [('x', '>u2'), ('y', '|S3'), ('z', '>c8')], (2,)), \
                 ('c', '>U2'), ('d', '>M8[s]'), ('e', '|b1'), ('f', '>f2')]",
                "030201000706050409080a0b0c100f0e0d1413121116151718191d1c1b1a21201f1e252423222928\
                 272631302f2e2d2c2b2a323433383736353c3b3a393e3d3f404145444342494847464b4a4c4d4e52\
                 51504f565554535a5958575e5d5c5b666564636261605f676968",
            ),
            (
                "[('a', '|u1'), ('b', '<i2')]",
                "[('a', '|u1'), ('b', '>i2')]",
                "000201030504",
            ),
        ];
        for (from, to, out) in cases {
            let expected = hex(out);
            let p = plan(from, to, Casting::Equiv).unwrap_or_else(|e| panic!("{from}: {e}"));
            assert!(!p.is_identity() || from.contains("1000ms"), "{from}");
            let src: Vec<u8> = (0..expected.len()).map(|i| i as u8).collect();
            let mut dst = vec![0; expected.len()];
            p.convert(&src, &mut dst);
            assert_eq!(dst, expected, "{from} -> {to}");
            // And back.
            let back = plan(to, from, Casting::Safe).unwrap();
            let mut round = vec![0; src.len()];
            back.convert(&dst, &mut round);
            assert_eq!(round, src, "{to} -> {from}");
        }
        // Padding is copied as it is (NumPy leaves it uninitialised); fields are swapped.
        let p = plan(
            "[('a', '|u1'), ('', '|V3'), ('b', '<i4'), ('', '|V4')]",
            "[('a', '|u1'), ('', '|V3'), ('b', '>i4'), ('', '|V4')]",
            Casting::Equiv,
        )
        .unwrap();
        let src: Vec<u8> = (0..24).collect();
        let mut dst = vec![0; 24];
        p.convert(&src, &mut dst);
        assert_eq!(dst, hex("000102030706050408090a0b0c0d0e0f1312111014151617"));
    }

    #[test]
    fn swap_ops_are_compact() {
        let ops = swap_ops(&dt("<U10"), &dt(">U10")).unwrap();
        assert_eq!(
            ops,
            vec![SwapOp::Run {
                offset: 0,
                width: 4,
                count: 10,
                stride: 4
            }]
        );
        let ops = swap_ops(
            &dt("[('a', 'u1'), ('b', '<i2', (1000, 1000))]"),
            &dt("[('a', 'u1'), ('b', '>i2', (1000, 1000))]"),
        )
        .unwrap();
        assert_eq!(
            ops,
            vec![SwapOp::Run {
                offset: 1,
                width: 2,
                count: 1_000_000,
                stride: 2
            }]
        );
        let ops = swap_ops(
            &dt("[('r', [('x', '<i2'), ('y', 'u1'), ('z', '<f4')], (100000,))]"),
            &dt("[('r', [('x', '>i2'), ('y', 'u1'), ('z', '>f4')], (100000,))]"),
        )
        .unwrap();
        assert_eq!(ops.len(), 1);
        assert!(
            matches!(&ops[0], SwapOp::Repeat { count: 100_000, stride: 7, ops, .. } if ops.len() == 2)
        );
    }
}
