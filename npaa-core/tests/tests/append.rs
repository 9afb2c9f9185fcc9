//! The appender's behaviour: options, casting, validation, threads, locking.

use std::fs;
use std::sync::Arc;

use npaa_core::{AppendArray, AppendOptions, Casting, Dtype, Durability, Error, Order, inspect};
use npaa_testutil::{assert_numpy_loads, run_python, tempdir};

#[test]
fn typed_appends_create_and_grow_the_file() {
    let dir = tempdir();
    let path = dir.path().join("a.npy");
    let array = AppendArray::open(&path).unwrap();
    assert!(!path.exists(), "the file is created by the first append");
    assert_eq!(array.shape(), None);
    array.append(&[1i32, 2, 3, 4, 5, 6], &[2, 3]).unwrap();
    array.append::<i32>(&[], &[0, 3]).unwrap();
    array.append(&[7i32, 8, 9], &[1, 3]).unwrap();
    assert_eq!(array.shape(), Some(vec![3, 3]));
    assert_eq!(array.dtype().unwrap().descr(), "<i4");
    array.close().unwrap();
    assert_numpy_loads(&path, "np.arange(1, 10, dtype='<i4').reshape(3, 3)");
}

#[test]
fn fortran_files_grow_along_the_last_axis() {
    let dir = tempdir();
    let path = dir.path().join("f.npy");
    let array = AppendOptions::new()
        .order(Order::Fortran)
        .open(&path)
        .unwrap();
    // Column-major blocks of shape (2, 1) and (2, 2).
    array.append(&[1.0f64, 2.0], &[2, 1]).unwrap();
    array.append(&[3.0f64, 4.0, 5.0, 6.0], &[2, 2]).unwrap();
    assert_eq!(array.order(), Some(Order::Fortran));
    let err = array.append(&[1.0f64, 2.0, 3.0], &[3, 1]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot append a block of shape (3, 1) to {}, an array of shape (2, 3): all \
             dimensions but the last (the growth axis of a Fortran-order file) must match",
            path.display()
        )
    );
    array.close().unwrap();
    assert_numpy_loads(
        &path,
        "np.asfortranarray(np.array([[1., 3., 5.], [2., 4., 6.]]))",
    );
}

#[test]
fn same_kind_casting_by_default_unsafe_on_request() {
    let dir = tempdir();
    let path = dir.path().join("c.npy");
    let array = AppendArray::open(&path).unwrap();
    array.append(&[1i64, 2], &[2]).unwrap();
    // int16 -> int64 is safe; float -> int is not same_kind (defect 4 of the reference).
    array.append(&[3i16], &[1]).unwrap();
    let before = fs::read(&path).unwrap();
    match array.append(&[4.5f64], &[1]) {
        Err(Error::Cast {
            from,
            to,
            casting,
            path: cast_path,
            ..
        }) => {
            assert_eq!(cast_path.as_deref(), Some(path.as_path()));
            assert_eq!((from.as_str(), to.as_str()), ("<f8", "<i8"));
            assert_eq!(casting, Casting::SameKind);
        }
        other => panic!("expected a cast error, got {other:?}"),
    }
    assert_eq!(
        fs::read(&path).unwrap(),
        before,
        "a refused append writes nothing"
    );
    array.close().unwrap();
    let array = AppendOptions::new()
        .casting(Casting::Unsafe)
        .open(&path)
        .unwrap();
    array.append(&[4.9f64, -2.5], &[2]).unwrap();
    array.close().unwrap();
    assert_numpy_loads(&path, "np.array([1, 2, 3, 4, -2], dtype='<i8')");
}

#[test]
fn other_byte_order_is_swapped() {
    let dir = tempdir();
    let path = dir.path().join("be.npy");
    let big = Dtype::parse(">u4").unwrap();
    let array = AppendArray::open(&path).unwrap();
    array
        .append_raw(&big, &[2], &[0, 0, 1, 0, 0, 0, 0, 7])
        .unwrap();
    array.append(&[5u32], &[1]).unwrap();
    array.close().unwrap();
    assert_numpy_loads(&path, "np.array([256, 7, 5], dtype='>u4')");
}

#[test]
fn bad_blocks_are_refused_before_any_byte_is_written() {
    let dir = tempdir();
    let path = dir.path().join("v.npy");
    let array = AppendArray::open(&path).unwrap();
    array.append(&[1.0f32, 2.0, 3.0], &[1, 3]).unwrap();
    let before = fs::read(&path).unwrap();
    let f4 = Dtype::parse("<f4").unwrap();
    let cases: Vec<(Error, &str)> = vec![
        (array.append(&[1.0f32], &[]).unwrap_err(), "0-d"),
        (
            array.append(&[1.0f32; 4], &[1, 4]).unwrap_err(),
            "shape (1, 4)",
        ),
        (
            array.append(&[1.0f32; 3], &[3]).unwrap_err(),
            "number of dimensions",
        ),
        (
            array.append_raw(&f4, &[1, 3], &[0; 11]).unwrap_err(),
            "needs 12 bytes, got 11",
        ),
        (
            array
                .append_raw(&Dtype::parse("|O").unwrap(), &[1, 3], &[0; 24])
                .unwrap_err(),
            "object",
        ),
        (
            array.append_raw(&f4, &[u64::MAX, 3], &[]).unwrap_err(),
            "too large",
        ),
    ];
    for (err, needle) in cases {
        assert!(
            err.to_string().contains(needle),
            "{err} should mention {needle}"
        );
    }
    assert_eq!(fs::read(&path).unwrap(), before);
    array.close().unwrap();
}

/// Defect 3 of the reference: a 0-d first append must not leave a broken file.
#[test]
fn zero_dimensional_first_append_creates_nothing() {
    let dir = tempdir();
    let path = dir.path().join("z.npy");
    let array = AppendArray::open(&path).unwrap();
    assert!(matches!(
        array.append(&[1u8], &[]),
        Err(Error::ZeroDimensional { .. })
    ));
    drop(array);
    assert!(!path.exists());
}

#[test]
fn header_rewrite_off_writes_the_header_on_close() {
    let dir = tempdir();
    let path = dir.path().join("r.npy");
    let array = AppendOptions::new()
        .rewrite_header_on_append(false)
        .open(&path)
        .unwrap();
    for i in 0..100u16 {
        array.append(&[i, i + 1], &[1, 2]).unwrap();
    }
    // Until the header is written NumPy sees the old shape; the data is all there.
    assert_eq!(inspect(&path).unwrap().header.shape(), vec![0, 2]);
    assert!(inspect(&path).unwrap().needs_recovery);
    array.update_header().unwrap();
    assert_eq!(inspect(&path).unwrap().header.shape(), vec![100, 2]);
    array.append(&[7u16, 8], &[1, 2]).unwrap();
    array.close().unwrap();
    assert_numpy_loads(
        &path,
        "np.concatenate([np.stack([np.arange(100), np.arange(1, 101)], 1), [[7, 8]]]).astype('<u2')",
    );
}

#[test]
fn buffered_appends_reach_the_file_on_flush_and_close() {
    let dir = tempdir();
    let path = dir.path().join("b.npy");
    let array = AppendOptions::new()
        .buffer_capacity(1 << 16)
        .open(&path)
        .unwrap();
    for i in 0..1000u64 {
        array.append(&[i as f64; 16], &[1, 16]).unwrap();
    }
    assert_eq!(array.shape(), Some(vec![1000, 16]));
    // 1000 rows of 128 bytes: some buffers were flushed, the rest is in memory.
    let on_disk = inspect(&path).unwrap().header.shape()[0];
    assert!(on_disk < 1000 && on_disk > 0, "{on_disk}");
    array.flush().unwrap();
    assert_eq!(inspect(&path).unwrap().header.shape()[0], 1000);
    // A block larger than the buffer bypasses it.
    array
        .append(&vec![-1.0f64; 16 * 1024], &[1024, 16])
        .unwrap();
    assert_eq!(inspect(&path).unwrap().header.shape()[0], 2024);
    array.append(&[5.0f64; 16], &[1, 16]).unwrap();
    array.close().unwrap();
    assert_numpy_loads(
        &path,
        "np.concatenate([np.repeat(np.arange(1000.), 16).reshape(1000, 16), np.full((1024, 16), -1.), np.full((1, 16), 5.)])",
    );
}

#[test]
fn durable_modes_produce_the_same_file() {
    let dir = tempdir();
    for (i, durability) in [
        Durability::None,
        Durability::OnClose,
        Durability::EveryAppend,
        Durability::EveryBytes(100),
    ]
    .into_iter()
    .enumerate()
    {
        let path = dir.path().join(format!("d{i}.npy"));
        let array = AppendOptions::new()
            .durability(durability)
            .open(&path)
            .unwrap();
        for i in 0..20u8 {
            array.append(&[i; 3], &[1, 3]).unwrap();
        }
        array.close().unwrap();
        assert_numpy_loads(
            &path,
            "np.repeat(np.arange(20, dtype='|u1'), 3).reshape(20, 3)",
        );
    }
    assert!(matches!(
        AppendOptions::new()
            .durability(Durability::EveryBytes(0))
            .open(dir.path().join("x.npy")),
        Err(Error::ZeroSyncInterval { .. })
    ));
}

#[test]
fn a_second_writer_is_refused() {
    let dir = tempdir();
    let path = dir.path().join("l.npy");
    let first = AppendArray::open(&path).unwrap();
    first.append(&[1u8], &[1]).unwrap();
    match AppendArray::open(&path) {
        Err(Error::Locked { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected Locked, got {other:?}"),
    }
    // delete_if_exists does not delete a file someone is writing.
    assert!(matches!(
        AppendOptions::new().delete_if_exists(true).open(&path),
        Err(Error::Locked { .. })
    ));
    first.close().unwrap();
    let second = AppendOptions::new()
        .delete_if_exists(true)
        .open(&path)
        .unwrap();
    assert!(!path.exists());
    second.append(&[9u8, 9], &[2]).unwrap();
    second.close().unwrap();
    assert_numpy_loads(&path, "np.array([9, 9], dtype='|u1')");
}

#[test]
fn handles_are_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<AppendArray>();
}

/// Many threads append to one handle: every row lands whole, none lost or interleaved.
#[test]
fn threads_share_one_handle() {
    const THREADS: u64 = 8;
    const ROWS: u64 = 2000;
    let dir = tempdir();
    let path = dir.path().join("t.npy");
    let array = Arc::new(AppendArray::open(&path).unwrap());
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let array = Arc::clone(&array);
            s.spawn(move || {
                for i in 0..ROWS {
                    // Row: thread, index, and a checksum, repeated to make tearing visible.
                    let row = [t, i, t * 1_000_003 + i, t, i, t * 1_000_003 + i];
                    array.append(&row, &[1, 6]).unwrap();
                }
            });
        }
    });
    Arc::into_inner(array).unwrap().close().unwrap();
    run_python(
        &format!(
            "import sys, numpy as np\n\
             a = np.load(sys.argv[1], mmap_mode='r')\n\
             assert a.shape == ({n}, 6), a.shape\n\
             assert (a[:, 2] == a[:, 0] * 1000003 + a[:, 1]).all()\n\
             assert (a[:, :3] == a[:, 3:]).all()\n\
             seen = set(zip(a[:, 0].tolist(), a[:, 1].tolist()))\n\
             assert len(seen) == {n}\n\
             for t in range({THREADS}): assert (np.diff(a[a[:, 0] == t, 1]) == 1).all(), t",
            n = THREADS * ROWS
        ),
        &[&path],
    );
}

#[test]
fn files_that_cannot_grow_are_refused_with_advice() {
    let dir = tempdir();
    let d = dir.path();
    run_python(
        "import sys, os, numpy as np\n\
         d = sys.argv[1]\n\
         np.save(os.path.join(d, 'scalar.npy'), np.float64(3))\n\
         np.save(os.path.join(d, 'obj.npy'), np.array([1, 'a'], dtype=object), allow_pickle=True)\n\
         np.save(os.path.join(d, 'ok.npy'), np.zeros((4, 2)))\n\
         b = open(os.path.join(d, 'ok.npy'), 'rb').read()\n\
         open(os.path.join(d, 'cut.npy'), 'wb').write(b[:-3])",
        &[d],
    );
    let msg = |name: &str| AppendArray::open(d.join(name)).unwrap_err().to_string();
    assert!(msg("scalar.npy").contains("0-d"), "{}", msg("scalar.npy"));
    assert!(msg("obj.npy").contains("object"), "{}", msg("obj.npy"));
    let cut = AppendArray::open(d.join("cut.npy")).unwrap_err();
    assert!(cut.to_string().contains("needs recovery"), "{cut}");
    assert_eq!(cut.remedy(), Some(npaa_core::Remedy::Recover));
    fs::write(d.join("text.npy"), b"hello").unwrap();
    assert_eq!(
        msg("text.npy"),
        format!(
            "{}: not a valid .npy file: it starts with b'hello' instead of b'\\x93NUMPY' (it \
             looks like a text file)",
            d.join("text.npy").display()
        )
    );
    assert_eq!(
        msg("."),
        format!("{}: is a directory, not a .npy file", d.join(".").display())
    );
}

/// ndarray views of any layout are written in the file's order.
#[cfg(feature = "ndarray")]
#[test]
fn ndarray_views_of_any_layout() {
    use ndarray::{Array2, s};
    let dir = tempdir();
    let base = Array2::from_shape_fn((6, 4), |(i, j)| (i * 10 + j) as i32);
    // C file from a non-contiguous view (every other row, reversed columns).
    let c = dir.path().join("c.npy");
    let array = AppendArray::open(&c).unwrap();
    array.append_array(&base.slice(s![..;2, ..;-1])).unwrap();
    array.append_array(&base.t().slice(s![..1, 1..5])).unwrap();
    array.close().unwrap();
    assert_numpy_loads(
        &c,
        "np.concatenate([(np.arange(6)[:, None] * 10 + np.arange(4))[::2, ::-1], \
         (np.arange(6)[:, None] * 10 + np.arange(4)).T[:1, 1:5]]).astype('<i4')",
    );
    // A Fortran-contiguous array makes a Fortran file; a C-layout array appends to it.
    let f = dir.path().join("f.npy");
    let array = AppendArray::open(&f).unwrap();
    let fortran = base.t().as_standard_layout().into_owned().reversed_axes(); // (6, 4), column-major
    assert!(!fortran.is_standard_layout());
    array.append_array(&fortran).unwrap();
    array.append_array(&base.slice(s![.., 1..3])).unwrap();
    assert_eq!(array.order(), Some(Order::Fortran));
    array.close().unwrap();
    assert_numpy_loads(
        &f,
        "np.asfortranarray(np.concatenate([np.arange(6)[:, None] * 10 + np.arange(4), \
         (np.arange(6)[:, None] * 10 + np.arange(4))[:, 1:3]], axis=1).astype('<i4'))",
    );
}

#[cfg(all(feature = "f16", feature = "complex"))]
#[test]
fn half_and_complex_elements() {
    use num_complex::Complex;
    let dir = tempdir();
    let h = dir.path().join("h.npy");
    let array = AppendArray::open(&h).unwrap();
    array
        .append(&[half::f16::from_f32(1.5), half::f16::from_f32(-2.0)], &[2])
        .unwrap();
    array.close().unwrap();
    assert_numpy_loads(&h, "np.array([1.5, -2.0], dtype='<f2')");
    let c = dir.path().join("c.npy");
    let array = AppendArray::open(&c).unwrap();
    array
        .append(&[Complex::new(1.0f64, -1.0), Complex::new(0.5, 2.0)], &[2])
        .unwrap();
    // A float appended to a complex file is safe: imaginary part 0.
    array.append(&[3.0f32], &[1]).unwrap();
    array.close().unwrap();
    assert_numpy_loads(&c, "np.array([1-1j, 0.5+2j, 3+0j], dtype='<c16')");
}

/// Two handles opened before the file exists: the first append creates it, the other handle
/// then finds it locked (and, once released, appends to it instead of failing to create it).
#[test]
fn handles_opened_before_the_file_exists() {
    let dir = tempdir();
    let path = dir.path().join("late.npy");
    let first = AppendArray::open(&path).unwrap();
    let second = AppendArray::open(&path).unwrap();
    first.append(&[1u32, 2], &[2]).unwrap();
    assert!(matches!(
        second.append(&[3u32], &[1]),
        Err(Error::Locked { .. })
    ));
    first.close().unwrap();
    second.append(&[3u32], &[1]).unwrap();
    second.close().unwrap();
    assert_numpy_loads(&path, "np.array([1, 2, 3], dtype='<u4')");
}

/// A group of appends is undone under the lock, buffered items included.
#[test]
fn rollback_to_a_savepoint() {
    let dir = tempdir();
    let path = dir.path().join("s.npy");
    let array = AppendOptions::new()
        .buffer_capacity(1 << 10)
        .open(&path)
        .unwrap();
    assert_eq!(array.savepoint().unwrap(), None);
    for i in 0..95u64 {
        array.append(&[i, i], &[1, 2]).unwrap();
    }
    let savepoint = array.savepoint().unwrap().unwrap();
    let before = fs::read(&path).unwrap();
    for i in 0..300u64 {
        array.append(&[i, i], &[1, 2]).unwrap();
    }
    array.flush().unwrap();
    assert_eq!(inspect(&path).unwrap().header.shape(), vec![395, 2]);
    array.append(&[7u64, 7], &[1, 2]).unwrap(); // still buffered
    array.rollback_to(savepoint).unwrap();
    assert_eq!(array.shape(), Some(vec![95, 2]));
    assert_eq!(fs::read(&path).unwrap(), before);
    array.append(&[1u64, 2], &[1, 2]).unwrap();
    array.close().unwrap();
    assert_numpy_loads(
        &path,
        "np.concatenate([np.repeat(np.arange(95), 2).reshape(95, 2), [[1, 2]]]).astype('<u8')",
    );
}

/// `order_for`: before the file exists, the order the first append will give it (the
/// options' if set, else the block's); then the file's, whatever the block's.
#[test]
fn order_for_tells_the_order_a_block_is_written_in() {
    let dir = tempdir();
    let path = dir.path().join("a.npy");
    let array = AppendOptions::new().open(&path).unwrap();
    assert_eq!(array.order_for(Order::Fortran), Order::Fortran);
    assert_eq!(array.order_for(Order::C), Order::C);
    array
        .append_raw_in_order(
            &Dtype::parse("<f8").unwrap(),
            &[2, 3],
            Order::Fortran,
            &[0u8; 48],
        )
        .unwrap();
    assert_eq!(array.order_for(Order::C), Order::Fortran);
    let other = dir.path().join("b.npy");
    let array = AppendOptions::new()
        .order(Order::Fortran)
        .open(&other)
        .unwrap();
    assert_eq!(array.order_for(Order::C), Order::Fortran);
}

/// Which modes make small appends memory copies: mapped mode in effect, or a write buffer,
/// without syncs.
#[test]
fn small_appends_in_memory_follows_the_mode() {
    let mapped = || AppendOptions::new().mapped_window(1 << 20);
    assert!(!AppendOptions::new().small_appends_in_memory());
    assert!(mapped().small_appends_in_memory());
    assert!(
        mapped()
            .durability(Durability::OnClose)
            .small_appends_in_memory()
    );
    assert!(
        !mapped()
            .rewrite_header_on_append(false)
            .small_appends_in_memory()
    );
    assert!(
        !mapped()
            .durability(Durability::EveryBytes(1 << 20))
            .small_appends_in_memory()
    );
    assert!(
        !mapped()
            .durability(Durability::EveryAppend)
            .small_appends_in_memory()
    );
    assert!(
        AppendOptions::new()
            .buffer_capacity(4096)
            .small_appends_in_memory()
    );
    let synced = AppendOptions::new()
        .buffer_capacity(4096)
        .durability(Durability::EveryAppend);
    assert!(!synced.small_appends_in_memory());
}
