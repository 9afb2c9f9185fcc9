//! Interoperability with the real NumPy (from the project's venv): files npaa grows are
//! byte-identical to `np.save` of the concatenation and load with `mmap_mode="r"`; files NumPy
//! writes are read correctly.

use std::fs;
use std::path::{Path, PathBuf};

use npaa_core::{
    AppendArray, AppendOptions, EnsureOptions, Order, ensure_appendable_with, inspect,
};
use npaa_testutil::{PY_LEGACY_WRITER, run_python, tempdir};

/// Makes the case matrix with NumPy: every dtype × order × shape × chunk pattern, each chunk as
/// its own .npy file, and the expected `np.save` of the concatenation.
const MAKE_CASES: &str = r#"
import json, sys, os
import numpy as np
out = sys.argv[1]
rng = np.random.default_rng(1234)
dtypes = [
    # Every scalar type of test_format.py in both byte orders, plus f2 and long double.
    '|b1', '|i1', '|u1', '<i2', '>i2', '<u2', '>u2', '<i4', '>i4', '<u4', '>u4', '<i8', '>i8',
    '<u8', '>u8', '<f2', '>f2', '<f4', '>f4', '<f8', '>f8', '<c8', '>c8', '<c16', '>c16',
    '<g', '<G', '|S5', '<U3', '>U2', '|V4', '<M8[ns]', '<m8[25s]', '>M8[D]', '<M8',
    [('a', '<i4'), ('b', '<f8', (2, 3)), ('x', [('y', '>i2'), ('s', '|S3')])],
    np.dtype([('a', 'u1'), ('b', '<i4'), ('c', '<f2')], align=True),
    np.dtype({'names': ['a', 'b'], 'formats': ['<i4', '<f4'], 'titles': ['Alpha', 'Beta']}),
    np.dtype({'names': ['it\'s', 'é'], 'formats': ['<i2', '<u2'], 'offsets': [0, 4], 'itemsize': 8}),
    # test_format.py: a 3-level nested record with S2, U8, c16 and b1 fields.
    [('x', [('a', [('b', '|S2'), ('c', '<U8')]), ('d', '<c16')]), ('e', '|b1')],
    # test_format.py: a record with no fields and itemsize 8.
    np.dtype({'names': [], 'formats': [], 'itemsize': 8}),
]
def make(dt, shape):
    dt = np.dtype(dt)
    n = int(np.prod(shape))
    raw = rng.integers(0, 256, size=n * dt.itemsize, dtype=np.uint8)
    if dt.kind == 'b':
        raw = raw % 2
    if dt.kind in 'fc':
        vals = rng.standard_normal(n * (2 if dt.kind == 'c' else 1)) * 1000
        if dt.kind == 'c':
            a = (vals[:n] + 1j * vals[n:]).astype(dt)
        else:
            a = vals.astype(dt)
        return a.reshape(shape)
    if dt.kind in 'SU':
        words = ['', 'a', 'ab', 'xyz', 'q!', 'é' if dt.kind == 'U' else 'e']
        return np.array([words[i % len(words)] for i in range(n)], dtype=dt).reshape(shape)
    if dt.kind in 'Mm':
        return rng.integers(-10**6, 10**6, size=n).astype(dt.newbyteorder('=')).astype(dt).reshape(shape)
    if dt.names is not None:
        # Random bytes are fine for integer/bytes fields; keep float fields finite.
        # Copy field by field into zeros, so that padding bytes are zero (NumPy does not
        # define what concatenate leaves in them).
        src = np.frombuffer(raw.tobytes(), dtype=dt)
        a = np.zeros(n, dtype=dt)
        for name in dt.names:
            a[name] = src[name]
        def fix(arr):
            for name in arr.dtype.names:
                sub = arr[name]
                if sub.dtype.names is not None:
                    fix(sub)
                elif sub.dtype.kind == 'f':
                    arr[name] = rng.standard_normal(sub.shape)
        fix(a)
        return a.reshape(shape)
    return np.frombuffer(raw.tobytes(), dtype=dt).reshape(shape)

cases = []
patterns = [[4], [0, 3, 0, 2], [1, 1, 1], [5, 0]]
layouts = [((), False), ((3,), False), ((2, 3), False), ((3,), True), ((2, 3), True)]
i = 0
for di, dt in enumerate(dtypes):
    for li, (item, fortran) in enumerate(layouts):
        pattern = patterns[(di + li) % len(patterns)]
        if fortran and sum(pattern) < 2:
            pattern = [2, 1]
        chunks = []
        arrays = []
        for j, n in enumerate(pattern):
            shape = item + (n,) if fortran else (n,) + item
            a = make(dt, shape)
            if fortran:
                a = np.asfortranarray(a)
            p = os.path.join(out, f'c{i}_{j}.npy')
            np.save(p, a)
            chunks.append(p)
            arrays.append(a)
        # The expected array is built from the chunks' bytes (so that padding bytes, which
        # np.concatenate leaves undefined, are defined), and checked against np.concatenate.
        order = 'F' if fortran else 'C'
        dt0 = arrays[0].dtype
        shape = np.concatenate(arrays, axis=-1 if fortran else 0).shape
        full = np.frombuffer(b''.join(a.tobytes(order=order) for a in arrays), dtype=dt0)
        full = full.reshape(shape, order=order)
        concat = np.concatenate(arrays, axis=-1 if fortran else 0).astype(dt0)
        for name in (dt0.names if dt0.names is not None else [None]):
            x = concat if name is None else concat[name]
            y = full if name is None else full[name]
            assert x.tobytes() == y.tobytes(), (dt0, name)
        e = os.path.join(out, f'c{i}_expected.npy')
        np.save(e, full)
        cases.append({'chunks': chunks, 'expected': e, 'out': os.path.join(out, f'c{i}_out.npy'),
                      'fortran': fortran, 'dtype': str(np.dtype(dt))})
        i += 1
print(json.dumps(cases))
"#;

/// Checks every output with `np.load(mmap_mode='r')` against the expected array.
const CHECK_LOADS: &str = r#"
import json, sys
import numpy as np
def same(x, y):
    # Field by field: copies of structured arrays leave padding bytes undefined.
    if x.dtype.names is not None:
        return all(same(x[n], y[n]) for n in x.dtype.names)
    return x.tobytes() == y.tobytes()
cases = json.loads(open(sys.argv[1]).read())
for c in cases:
    a = np.load(c['out'], mmap_mode='r')
    e = np.load(c['expected'])
    assert a.dtype == e.dtype and a.shape == e.shape, (c, a.dtype, e.dtype, a.shape, e.shape)
    assert a.flags.f_contiguous == e.flags.f_contiguous, c
    assert same(a, e), c
print(len(cases))
"#;

struct Case {
    chunks: Vec<PathBuf>,
    expected: PathBuf,
    out: PathBuf,
    fortran: bool,
    dtype: String,
}

fn cases(dir: &Path) -> Vec<Case> {
    let json = run_python(MAKE_CASES, &[dir]);
    let value: serde_json::Value = serde_json::from_str(&json).expect("case list");
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|c| Case {
            chunks: c["chunks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| PathBuf::from(p.as_str().unwrap()))
                .collect(),
            expected: PathBuf::from(c["expected"].as_str().unwrap()),
            out: PathBuf::from(c["out"].as_str().unwrap()),
            fortran: c["fortran"].as_bool().unwrap(),
            dtype: c["dtype"].as_str().unwrap().to_owned(),
        })
        .collect()
}

/// Appends a chunk file through the raw-bytes API (the other path is `append_npy_file`).
fn append_raw_from(array: &AppendArray, chunk: &Path) {
    let info = inspect(chunk).unwrap();
    let bytes = fs::read(chunk).unwrap();
    let data = &bytes[info.header_len as usize..];
    array
        .append_raw(info.header.dtype(), info.header.shape(), data)
        .unwrap();
}

#[test]
fn appending_chunks_is_byte_identical_to_np_save_of_the_concatenation() {
    let dir = tempdir();
    let cases = cases(dir.path());
    assert!(
        cases.len() > 100,
        "the matrix should be large: {}",
        cases.len()
    );
    for (i, case) in cases.iter().enumerate() {
        let order = if case.fortran {
            Order::Fortran
        } else {
            Order::C
        };
        let array = AppendOptions::new().order(order).open(&case.out).unwrap();
        for (j, chunk) in case.chunks.iter().enumerate() {
            if (i + j) % 2 == 0 {
                array.append_npy_file(chunk).unwrap();
            } else {
                append_raw_from(&array, chunk);
            }
        }
        array.close().unwrap();
        let got = fs::read(&case.out).unwrap();
        let want = fs::read(&case.expected).unwrap();
        assert!(
            got == want,
            "case {i} ({}, fortran={}): bytes differ\n got: {:?}\nwant: {:?}",
            case.dtype,
            case.fortran,
            String::from_utf8_lossy(&got[..got.len().min(200)]),
            String::from_utf8_lossy(&want[..want.len().min(200)]),
        );
    }
    let manifest = dir.path().join("cases.json");
    let list: Vec<serde_json::Value> = cases
        .iter()
        .map(|c| serde_json::json!({"out": c.out, "expected": c.expected}))
        .collect();
    fs::write(&manifest, serde_json::to_string(&list).unwrap()).unwrap();
    let checked = run_python(CHECK_LOADS, &[&manifest]);
    assert_eq!(checked.trim(), cases.len().to_string());
}

#[test]
fn reopening_between_appends_gives_the_same_bytes() {
    let dir = tempdir();
    let out = dir.path().join("out.npy");
    let expected = dir.path().join("expected.npy");
    run_python(
        "import sys, numpy as np\n\
         a = np.arange(60, dtype='<f8').reshape(20, 3)\n\
         for i in range(4): np.save(sys.argv[1] + f'.{i}.npy', a[i*5:(i+1)*5])\n\
         np.save(sys.argv[2], a)",
        &[&out, &expected],
    );
    for i in 0..4 {
        let array = AppendArray::open(&out).unwrap();
        array
            .append_npy_file(format!("{}.{i}.npy", out.display()))
            .unwrap();
        array.close().unwrap();
    }
    assert_eq!(fs::read(&out).unwrap(), fs::read(&expected).unwrap());
}

/// Files as NumPy (and older writers) lay them out are read, appended to, and load again.
#[test]
fn files_numpy_writes_are_read_and_grown() {
    let dir = tempdir();
    let d = dir.path();
    let report = run_python(
        r#"
import sys, os, json
import numpy as np
d = sys.argv[1]
out = {}
def save(name, a):
    p = os.path.join(d, name); np.save(p, a); out[name] = [p, str(a.dtype.descr if a.dtype.names else a.dtype.str), list(a.shape), bool(np.isfortran(a))]
save('be.npy', np.arange(12, dtype='>i4').reshape(4, 3))
save('rec.npy', np.zeros(3, dtype=[('x', '<i4', (2,)), ('y', '<f8', (2, 2)), ('z', '|u1')]))
# Version 2.0: a header over 65535 bytes.
save('v2.npy', np.zeros(2, dtype=[(str(i) * 100, '<f4') for i in range(500)]))
# Version 3.0: a field name outside latin1.
save('v3.npy', np.zeros(2, dtype=[('\u6570', '<i8')]))
save('fortran.npy', np.asfortranarray(np.arange(12, dtype='<i2').reshape(3, 4)))
print(json.dumps(out))
"#,
        &[d],
    );
    let files: serde_json::Value = serde_json::from_str(&report).unwrap();
    let versions = [
        ("be.npy", 1u8),
        ("rec.npy", 1),
        ("v2.npy", 2),
        ("v3.npy", 3),
        ("fortran.npy", 1),
    ];
    for (name, version) in versions {
        let path = PathBuf::from(files[name][0].as_str().unwrap());
        let raw = fs::read(&path).unwrap();
        assert_eq!(raw[6], version, "{name}");
        let info = inspect(&path).unwrap();
        let shape: Vec<u64> = files[name][2]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(info.header.shape(), shape, "{name}");
        assert_eq!(
            info.header.order(),
            Order::from_fortran(files[name][3].as_bool().unwrap()),
            "{name}"
        );
        assert!(info.appendable && !info.needs_recovery, "{name}: {info:?}");
        assert_eq!(info.data_present, info.data_expected, "{name}");
        // Append the file to itself: the result is the concatenation of two copies.
        let copy = d.join(format!("grown-{name}"));
        fs::copy(&path, &copy).unwrap();
        let array = AppendArray::open(&copy).unwrap();
        array.append_npy_file(&path).unwrap();
        array.close().unwrap();
        run_python(
            "import sys, numpy as np\n\
             a = np.load(sys.argv[1], mmap_mode='r', max_header_size=10**6)\n\
             b = np.load(sys.argv[2], max_header_size=10**6)\n\
             ax = -1 if np.isfortran(b) else 0\n\
             e = np.concatenate([b, b], axis=ax).astype(b.dtype)\n\
             assert a.dtype == e.dtype and a.shape == e.shape and np.isfortran(a) == np.isfortran(b)\n\
             same = lambda x, y: all(same(x[n], y[n]) for n in x.dtype.names) if x.dtype.names else x.tobytes() == y.tobytes()\n\
             assert same(a, e), sys.argv[1]",
            &[&copy, &path],
        );
    }
}

/// Legacy headers (no growth spare; 16-byte alignment of NumPy < 1.14 and cnpy) are read, and
/// ensure_appendable makes them appendable in both modes, the data untouched.
#[test]
fn legacy_headers_become_appendable() {
    let dir = tempdir();
    let d = dir.path();
    run_python(
        &format!(
            "{PY_LEGACY_WRITER}{}",
            r#"
import sys, os
d = sys.argv[1]
legacy(os.path.join(d, 'cnpy.npy'), np.arange(30, dtype='<f8').reshape(10, 3), 16)
legacy(os.path.join(d, 'old64.npy'), np.arange(30, dtype='<i4').reshape(10, 3), 64)
legacy(os.path.join(d, 'empty.npy'), np.zeros((0, 3), dtype='<f8'), 16)
"#
        ),
        &[d],
    );
    for name in ["cnpy.npy", "old64.npy", "empty.npy"] {
        for in_place in [false, true] {
            let path = d.join(format!("{in_place}-{name}"));
            fs::copy(d.join(name), &path).unwrap();
            let before = inspect(&path).unwrap();
            let data_before = fs::read(&path).unwrap()[before.header_len as usize..].to_vec();
            if before.appendable {
                continue;
            }
            assert!(matches!(
                AppendArray::open(&path),
                Err(npaa_core::Error::NotAppendable { .. })
            ));
            let report =
                ensure_appendable_with(&path, EnsureOptions::new().in_place(in_place)).unwrap();
            let after = inspect(&path).unwrap();
            assert!(after.appendable, "{name} in_place={in_place}: {report:?}");
            assert_eq!(after.header, before.header);
            let bytes = fs::read(&path).unwrap();
            assert_eq!(&bytes[after.header_len as usize..], &data_before[..]);
            // Grows and loads in NumPy.
            let array = AppendArray::open(&path).unwrap();
            let row: Vec<u8> = vec![0; before.header.item_len().unwrap() as usize];
            array
                .append_raw(before.header.dtype(), &[1, 3], &row)
                .unwrap();
            array.close().unwrap();
            run_python(
                "import sys, numpy as np\n\
                 a = np.load(sys.argv[1], mmap_mode='r')\n\
                 assert a.shape[0] == int(sys.argv[2]) + 1, a.shape\n\
                 assert (np.asarray(a[-1]) == 0).all()",
                &[
                    path.as_os_str(),
                    before.header.shape()[0].to_string().as_ref(),
                ],
            );
        }
    }
}

/// A header NumPy only reads with `max_header_size` (defect 7 of the reference: such files
/// could not be appended to at all).
#[test]
fn huge_headers_are_appendable() {
    let dir = tempdir();
    let path = dir.path().join("huge.npy");
    run_python(
        "import sys, numpy as np\n\
         np.save(sys.argv[1], np.zeros(2, dtype=np.dtype('i,' * 10000 + 'i')))",
        &[&path],
    );
    let info = inspect(&path).unwrap();
    assert!(info.exceeds_numpy_header_limit);
    let array = AppendArray::open(&path).unwrap();
    let itemsize = info.itemsize();
    array
        .append_raw(info.header.dtype(), &[3], &vec![1u8; 3 * itemsize])
        .unwrap();
    array.close().unwrap();
    run_python(
        "import sys, numpy as np\n\
         a = np.load(sys.argv[1], max_header_size=10**6)\n\
         assert a.shape == (5,), a.shape",
        &[&path],
    );
}
