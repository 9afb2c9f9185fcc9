//! [`CastPlan`]: a conversion chosen once per block (copy, byte swap or value conversion) and
//! applied to chunks of whole items.

use super::numeric::{Kernel, numeric_kernel};
use super::rules::can_cast;
use super::swap::{SwapOp, apply_swap, check_swap_ops, swap_copy, swap_ops};
use crate::casting::Casting;
use crate::dtype::Dtype;
use crate::error::Error;

/// A conversion from one dtype to another, prepared once and applied to whole items.
#[derive(Debug)]
pub(crate) struct CastPlan {
    src_itemsize: usize,
    dst_itemsize: usize,
    op: Op,
}

#[derive(Debug)]
enum Op {
    /// The bytes are copied as they are.
    Identity,
    /// Reverse every `width` bytes (scalars, `U` strings, complex numbers).
    SwapEvery(usize),
    /// Copy, then reverse these byte ranges inside each item (records).
    Swap(Vec<SwapOp>),
    /// Element-wise value conversion between numeric scalars.
    Convert(Kernel),
}

impl CastPlan {
    /// Prepares the conversion of items of dtype `from` into items of dtype `to`.
    ///
    /// # Errors
    /// - [`Error::ObjectDtype`] if either side holds Python objects;
    /// - [`Error::Cast`] when `casting` forbids the cast (as `np.can_cast` would);
    /// - [`Error::CastUnsupported`] when NumPy allows it but npaa does not implement it
    ///   (see the module docs for what is implemented);
    /// - [`Error::InvalidDtype`] for a hand-built record whose fields reach past its item
    ///   size.
    pub(crate) fn new(from: &Dtype, to: &Dtype, casting: Casting) -> Result<CastPlan, Error> {
        // The usual case, a block of the file's own dtype: every rule allows it, and the bytes
        // are copied as they are (what `derive` concludes, in fewer steps).
        if from == to && !from.has_object() {
            return Ok(CastPlan {
                src_itemsize: from.itemsize(),
                dst_itemsize: to.itemsize(),
                op: Op::Identity,
            });
        }
        Self::derive(from, to, casting)
    }

    /// [`new`](Self::new) worked out from the casting rules, for any pair of dtypes.
    fn derive(from: &Dtype, to: &Dtype, casting: Casting) -> Result<CastPlan, Error> {
        for d in [from, to] {
            if d.has_object() {
                return Err(Error::ObjectDtype {
                    descr: d.descr(),
                    path: None,
                });
            }
        }
        if !can_cast(from, to, casting) {
            return Err(Error::Cast {
                from: from.descr(),
                to: to.descr(),
                casting,
                path: None,
            });
        }
        let op = if let Some(ops) = swap_ops(from, to) {
            check_swap_ops(&ops, from.itemsize()).map_err(|reason| Error::InvalidDtype {
                descr: from.descr(),
                reason,
            })?;
            match ops.as_slice() {
                [] => Op::Identity,
                [
                    SwapOp::Run {
                        offset: 0,
                        width,
                        count,
                        stride,
                    },
                ] if width == stride && width.checked_mul(*count) == Some(from.itemsize()) => {
                    Op::SwapEvery(*width)
                }
                _ => Op::Swap(ops),
            }
        } else if let Some(kernel) = numeric_kernel(from, to) {
            Op::Convert(kernel)
        } else {
            return Err(Error::CastUnsupported {
                from: from.descr(),
                to: to.descr(),
                path: None,
            });
        };
        Ok(CastPlan {
            src_itemsize: from.itemsize(),
            dst_itemsize: to.itemsize(),
            op,
        })
    }

    /// True if the bytes can be copied as they are.
    pub(crate) fn is_identity(&self) -> bool {
        matches!(self.op, Op::Identity)
    }

    /// Item size of the source dtype, in bytes.
    pub(crate) fn src_itemsize(&self) -> usize {
        self.src_itemsize
    }

    /// Item size of the destination dtype, in bytes.
    pub(crate) fn dst_itemsize(&self) -> usize {
        self.dst_itemsize
    }

    /// Converts whole items: `src.len()` should be `n * src_itemsize` and `dst.len()`
    /// `n * dst_itemsize`. If they disagree, only the first `min` of the two item counts is
    /// converted (never a panic); the rest of `dst` is left as it is.
    pub(crate) fn convert(&self, src: &[u8], dst: &mut [u8]) {
        if self.src_itemsize == 0 || self.dst_itemsize == 0 {
            return;
        }
        let n = (src.len() / self.src_itemsize).min(dst.len() / self.dst_itemsize);
        let (Some(src), Some(dst)) = (
            src.get(..n * self.src_itemsize),
            dst.get_mut(..n * self.dst_itemsize),
        ) else {
            return;
        };
        match &self.op {
            Op::Identity => dst.copy_from_slice(src),
            Op::SwapEvery(width) => swap_copy(*width, src, dst),
            Op::Swap(ops) => {
                dst.copy_from_slice(src);
                for item in dst.chunks_exact_mut(self.dst_itemsize) {
                    apply_swap(ops, item);
                }
            }
            Op::Convert(k) => (k.run)(src, k.src_big, dst, k.dst_big),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cast::testing::{dt, plan};
    use crate::dtype::{ByteOrder, Field, Kind, Record, Scalar};

    #[test]
    fn identity_plans() {
        for d in [
            "<f8",
            ">i4",
            "|S5",
            "<U3",
            "|V7",
            "<M8[ns]",
            "<f16",
            "[('a', '<i4', (2,))]",
            "|S0",
        ] {
            let p = plan(d, d, Casting::No).unwrap();
            assert!(p.is_identity(), "{d}");
            assert_eq!(
                (p.src_itemsize(), p.dst_itemsize()),
                (dt(d).itemsize(), dt(d).itemsize())
            );
        }
        // Same layout, different titles: NumPy says safe; the bytes are copied as they are.
        let p = plan("[('a', '<i4')]", "[(('T', 'a'), '<i4')]", Casting::Safe).unwrap();
        assert!(p.is_identity());
        // `=` and `<` are the same dtype on little-endian machines.
        assert!(plan("=i2", "i2", Casting::No).unwrap().is_identity());
    }

    #[test]
    fn identical_dtypes_shortcut_agrees_with_the_rules() {
        let mut dtypes: Vec<Dtype> = [
            "<f8",
            ">f8",
            "=i2",
            "|b1",
            "|S0",
            "<U3",
            "|V7",
            "<M8[ns]",
            ">m8[25s]",
            "<M8",
            "<f16",
            "<c32",
            "O",
            "[('a', '<i4', (2,)), ('b', [('c', '>f8')])]",
            "[('a', 'O')]",
            "[(('T', 'a'), '<i4'), ('', '|V4'), ('b', '<U2', (2, 0))]",
        ]
        .iter()
        .map(|d| dt(d))
        .collect();
        // Hand-built: a field past the item size, and an unset byte order.
        dtypes.push(Dtype::Record(Record {
            fields: vec![Field {
                name: "x".into(),
                title: None,
                offset: 6,
                dtype: dt("<f8"),
                shape: vec![],
            }],
            itemsize: 4,
        }));
        dtypes.push(Dtype::Scalar(Scalar {
            kind: Kind::Int,
            size: 4,
            order: ByteOrder::NotApplicable,
        }));
        for d in &dtypes {
            for c in Casting::ALL {
                assert_eq!(
                    format!("{:?}", CastPlan::new(d, d, c)),
                    format!("{:?}", CastPlan::derive(d, d, c)),
                    "{d} under {c}"
                );
            }
        }
    }

    #[test]
    fn plan_errors() {
        assert!(matches!(
            plan("O", "O", Casting::No),
            Err(Error::ObjectDtype { descr, .. }) if descr == "|O"
        ));
        assert!(matches!(
            plan("<f8", "[('a', 'O')]", Casting::Unsafe),
            Err(Error::ObjectDtype { descr, .. }) if descr == "[('a', '|O')]"
        ));
        match plan("<f8", "<i4", Casting::SameKind) {
            Err(Error::Cast {
                from, to, casting, ..
            }) => {
                assert_eq!(
                    (from.as_str(), to.as_str(), casting),
                    ("<f8", "<i4", Casting::SameKind)
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            plan("<i4", ">i4", Casting::No),
            Err(Error::Cast { .. })
        ));
        assert!(plan("<i4", ">i4", Casting::Equiv).is_ok());
        assert!(matches!(
            plan("<f8", "<f4", Casting::Safe),
            Err(Error::Cast { .. })
        ));
        assert!(plan("<f8", "<f4", Casting::SameKind).is_ok());
        assert!(matches!(
            plan("<c16", "<f8", Casting::SameKind),
            Err(Error::Cast { .. })
        ));
        assert!(plan("<c16", "<f8", Casting::Unsafe).is_ok());
        // Allowed by NumPy, not implemented by npaa.
        for (from, to) in [
            ("S3", "S5"),
            ("<U3", "<U5"),
            ("V4", "V8"),
            ("<M8[s]", "<M8[ms]"),
            ("<m8[h]", "<m8[s]"),
            ("<i8", "<m8[s]"),
            ("<f8", "<f16"),
            ("<f16", "<f8"),
            ("<c32", "<c16"),
            ("<i4", "S20"),
            ("[('a', '<i4')]", "[('b', '<i4')]"),
            ("[('a', '<i4')]", "[('a', '<i8')]"),
            ("[('a', '<i4')]", "<i4"),
            ("<i4", "[('a', '<i4')]"),
        ] {
            assert!(
                matches!(
                    plan(from, to, Casting::Unsafe),
                    Err(Error::CastUnsupported { .. })
                ),
                "{from} -> {to}"
            );
        }
        // Impossible under any rule (NumPy refuses too).
        assert!(matches!(
            plan("[('a', '<i4'), ('b', '<i4')]", "<i4", Casting::Unsafe),
            Err(Error::Cast { .. })
        ));
    }

    #[test]
    fn hand_built_records_that_lie_are_refused() {
        let field = |offset| Field {
            name: "a".into(),
            title: None,
            offset,
            dtype: dt("<i4"),
            shape: vec![],
        };
        let lying = |offset| {
            Dtype::Record(Record {
                fields: vec![field(offset)],
                itemsize: 4,
            })
        };
        let swapped = Dtype::Record(Record {
            fields: vec![Field {
                dtype: dt(">i4"),
                ..field(2)
            }],
            itemsize: 4,
        });
        assert!(matches!(
            CastPlan::new(&lying(2), &swapped, Casting::Equiv),
            Err(Error::InvalidDtype { .. })
        ));
        let huge = Dtype::Record(Record {
            fields: vec![Field {
                dtype: dt(">i4"),
                ..field(usize::MAX)
            }],
            itemsize: 4,
        });
        assert!(CastPlan::new(&lying(usize::MAX), &huge, Casting::Equiv).is_err());
    }
}
