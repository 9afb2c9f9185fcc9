//! Blocks in the other memory order: npaa appends their values in the file's order, as
//! `np.concatenate` + `np.save` would, whatever the sink (plain writes, buffered, mapped) and
//! with casting. Checked byte for byte against NumPy.

use std::fs;
use std::path::{Path, PathBuf};

use npaa_core::{AppendArray, AppendFileOptions, AppendOptions, Dtype, Order, inspect};
use npaa_testutil::{run_python, tempdir};

/// Writes blocks of shape (n, 3, 4) (C file) or (3, 4, n) (Fortran file), each as raw bytes
/// in both orders, and the expected `np.save` of their concatenation in the file's order, cast
/// to the first block's `<f8`. Prints one line per block: n, dtype, path of C bytes, path of
/// F bytes.
const MAKE_BLOCKS: &str = r#"
import sys, os
import numpy as np
out, order = sys.argv[1], sys.argv[2]
fortran = order == 'F'
rng = np.random.default_rng(5)
blocks = []
for k, (n, dt) in enumerate([(2, '<f8'), (0, '>i2'), (1, '>i2'), (5, '<i4'), (3, '<f8')]):
    shape = (3, 4, n) if fortran else (n, 3, 4)
    a = rng.integers(-1000, 1000, size=shape).astype(dt)
    c, f = (os.path.join(out, 'b%d.%s' % (k, o)) for o in 'CF')
    open(c, 'wb').write(a.tobytes(order='C'))
    open(f, 'wb').write(a.tobytes(order='F'))
    blocks.append(a)
    print(n, dt, c, f)
whole = np.concatenate([b.astype('<f8') for b in blocks], axis=-1 if fortran else 0)
np.save(os.path.join(out, 'expected.npy'), np.asfortranarray(whole) if fortran else whole)
"#;

#[test]
fn raw_blocks_in_either_order_are_appended_as_values() {
    for file_order in [Order::C, Order::Fortran] {
        let letter = if file_order == Order::C { "C" } else { "F" };
        let dir = tempdir();
        let listing = run_python(MAKE_BLOCKS, &[dir.path().as_os_str(), letter.as_ref()]);
        // Plain writes, a buffer larger than every block, mapped mode.
        let options = [
            AppendOptions::new(),
            AppendOptions::new().buffer_capacity(1 << 16),
            AppendOptions::new().mapped_window(1 << 16),
        ];
        for (o, options) in options.into_iter().enumerate() {
            let out = dir.path().join(format!("out{o}.npy"));
            let array = options.order(file_order).open(&out).unwrap();
            for (k, line) in listing.lines().enumerate() {
                let [n, dt, c, f] = line.split(' ').collect::<Vec<_>>()[..] else {
                    panic!("bad line {line}");
                };
                let n: u64 = n.parse().unwrap();
                let shape = match file_order {
                    Order::C => vec![n, 3, 4],
                    Order::Fortran => vec![3, 4, n],
                };
                // Alternate the order the block is given in, starting with the other one.
                let (order, path) = if k % 2 == 0 {
                    (
                        other(file_order),
                        if file_order == Order::C { f } else { c },
                    )
                } else {
                    (file_order, if file_order == Order::C { c } else { f })
                };
                let data = fs::read(path).unwrap();
                array
                    .append_raw_in_order(&Dtype::parse(dt).unwrap(), &shape, order, &data)
                    .unwrap();
            }
            array.close().unwrap();
            assert_same(&out, &dir.path().join("expected.npy"), letter);
        }
    }
}

fn other(order: Order) -> Order {
    match order {
        Order::C => Order::Fortran,
        Order::Fortran => Order::C,
    }
}

fn assert_same(got: &Path, want: &Path, what: &str) {
    let (g, w) = (fs::read(got).unwrap(), fs::read(want).unwrap());
    assert!(
        g == w,
        "{what}: {} differs from np.save ({} vs {} bytes)",
        got.display(),
        g.len(),
        w.len()
    );
}

/// Sources larger than a conversion piece (1 MiB), in the other order, some cast: appended
/// with `append_npy_file` to files of either order, byte-identical to `np.save`.
#[test]
fn large_sources_in_the_other_order_are_converted_in_pieces() {
    let dir = tempdir();
    let d = dir.path();
    run_python(
        r#"
import sys, os
import numpy as np
d = sys.argv[1]
a = np.arange(300 * 700, dtype='<f8').reshape(300, 700) * 0.5
b = (np.arange(250 * 700, dtype='<i4').reshape(250, 700) * 7 - 3).astype('>f4')
np.save(os.path.join(d, 'c_first.npy'), a[:2])
np.save(os.path.join(d, 'f_big.npy'), np.asfortranarray(a[2:]))
np.save(os.path.join(d, 'f_cast.npy'), np.asfortranarray(b))
np.save(os.path.join(d, 'c_expected.npy'), np.concatenate([a, b.astype('<f8')]))
t = np.ascontiguousarray(a.T)
np.save(os.path.join(d, 'f_first.npy'), np.asfortranarray(t[:, :2]))
np.save(os.path.join(d, 'c_big.npy'), np.ascontiguousarray(t[:, 2:]))
np.save(os.path.join(d, 'f_expected.npy'), np.asfortranarray(t))
"#,
        &[d],
    );
    let p = |name: &str| -> PathBuf { d.join(name) };
    for (out, sources, expected) in [
        (
            "c.npy",
            &["c_first.npy", "f_big.npy", "f_cast.npy"][..],
            "c_expected.npy",
        ),
        ("f.npy", &["f_first.npy", "c_big.npy"][..], "f_expected.npy"),
    ] {
        let array = AppendArray::open(p(out)).unwrap();
        for src in sources {
            let total = inspect(p(src)).unwrap().data_expected;
            let mut last = (0, 0);
            let options = AppendFileOptions::new().progress(|done, of| last = (done, of));
            let before = array.header().map_or(0, |h| h.growth_len());
            let rows = array.append_npy_file_with(p(src), options).unwrap();
            // Items along the file's growth axis (a Fortran source adds rows to a C file).
            let after = array.header().unwrap().growth_len();
            assert_eq!(rows, after - before, "{src}");
            assert_eq!(last, (total, total), "{src}: progress");
        }
        array.close().unwrap();
        assert_same(&p(out), &p(expected), out);
    }
}

/// A contiguous ndarray in the other order goes through the same conversion.
#[cfg(feature = "ndarray")]
#[test]
fn contiguous_ndarrays_in_the_other_order() {
    use ndarray::{Array3, ShapeBuilder};
    let dir = tempdir();
    let c = dir.path().join("c.npy");
    let f = dir.path().join("f.npy");
    run_python(
        r#"
import sys
import numpy as np
a = (np.arange(4 * 3 * 5).reshape(4, 3, 5) * 3).astype('<i8')
np.save(sys.argv[1], np.concatenate([a, a]))
np.save(sys.argv[2], np.asfortranarray(np.concatenate([a, a], axis=2)))
"#,
        &[dir.path().join("ce.npy"), dir.path().join("fe.npy")],
    );
    let value = |(i, j, k): (usize, usize, usize)| ((i * 15 + j * 5 + k) * 3) as i64;
    let c_layout = Array3::from_shape_fn((4, 3, 5), value);
    let f_layout = Array3::from_shape_fn((4, 3, 5).f(), value);
    assert!(!f_layout.is_standard_layout());
    let array = AppendOptions::new().order(Order::C).open(&c).unwrap();
    array.append_array(&f_layout).unwrap();
    array.append_array(&c_layout).unwrap();
    array.close().unwrap();
    assert_same(&c, &dir.path().join("ce.npy"), "C file");
    let array = AppendArray::open(&f).unwrap();
    array.append_array(&f_layout).unwrap();
    assert_eq!(array.order(), Some(Order::Fortran));
    array.append_array(&c_layout).unwrap();
    array.close().unwrap();
    assert_same(&f, &dir.path().join("fe.npy"), "Fortran file");
}

/// A subarray dtype is only valid inside a record: a block of one is refused, and nothing is
/// created (NumPy would read a header saying `('<f8', (5,))` as another array).
#[test]
fn a_top_level_subarray_block_is_refused() {
    let dir = tempdir();
    let path = dir.path().join("sub.npy");
    let Dtype::Record(record) = Dtype::parse("[('x', ('<f8', (5,)), (2,))]").unwrap() else {
        panic!("not a record");
    };
    let sub = record.fields()[0].dtype().clone();
    assert!(matches!(sub, Dtype::Subarray(_)));
    let array = AppendArray::open(&path).unwrap();
    for result in [
        array.append_raw(&sub, &[1], &[0; 40]),
        array.append_raw_in_order(&sub, &[1, 1], Order::Fortran, &[0; 40]),
        array.check_append(&sub, &[1]),
    ] {
        match result {
            Err(npaa_core::Error::InvalidDtype { descr, reason, .. }) => {
                assert_eq!(descr, "('<f8', (5,))");
                assert!(reason.contains("(5,)"), "{reason}");
            }
            other => panic!("expected InvalidDtype, got {other:?}"),
        }
    }
    array.close().unwrap();
    assert!(!path.exists());
}

/// A file created by `append_raw_in_order` takes the block's order, unless the options set one.
#[test]
fn a_new_file_takes_the_order_of_the_block_that_creates_it() {
    let dir = tempdir();
    let f8 = Dtype::parse("<f8").unwrap();
    let data: Vec<u8> = (0..6u32).flat_map(|v| f64::from(v).to_le_bytes()).collect();
    for (options, block, expected) in [
        (AppendOptions::new(), Order::Fortran, Order::Fortran),
        (AppendOptions::new(), Order::C, Order::C),
        (
            AppendOptions::new().order(Order::C),
            Order::Fortran,
            Order::C,
        ),
        (
            AppendOptions::new().order(Order::Fortran),
            Order::C,
            Order::Fortran,
        ),
    ] {
        let path = dir.path().join(format!("{block:?}-{expected:?}.npy"));
        let array = options.open(&path).unwrap();
        array
            .append_raw_in_order(&f8, &[2, 3], block, &data)
            .unwrap();
        array.close().unwrap();
        let header = inspect(&path).unwrap().header;
        assert_eq!(
            (header.order(), header.shape()),
            (expected, &[2, 3][..]),
            "{path:?}"
        );
    }
}
