//! NumPy's own arrays: every array and dtype of `numpy/lib/tests/test_format.py` (imported from
//! the installed NumPy, not copied) is split along its growth axis into chunks, which are
//! appended with `npaa append` and with the Rust API; the result must be byte-identical to
//! `np.save` of the whole. Chunks include empty and single-row ones, and chunks saved in the
//! other memory order (from `np.asfortranarray` / `np.ascontiguousarray` copies), which npaa
//! converts. 0-d and object arrays are refused with a typed error, leaving DEST as it was.

use std::path::{Path, PathBuf};

use crate::common::{bytes, npaa, one_error_line, run_python, tempdir};
use npaa_core::{AppendArray, AppendOptions, Error, inspect};

/// Writes the cases with NumPy and prints them as JSON: for each array, its chunk files (the
/// first one in the whole's own order and at least 2 long, so that `npaa append` creates DEST
/// in that order), the `np.save` of the whole, and the arrays npaa must refuse.
const MAKE_CASES: &str = r#"
import json, os, sys
import numpy as np
from numpy.lib.tests import test_format as tf

out = sys.argv[1]
rng = np.random.default_rng(11)

def filled(dt, shape):
    # Random bytes, field by field into zeros: padding bytes stay zero, and np.save of a copy
    # (asfortranarray, ascontiguousarray) is then defined byte for byte.
    dt = np.dtype(dt)
    n = int(np.prod(shape))
    src = np.frombuffer(rng.integers(0, 256, n * dt.itemsize, dtype=np.uint8).tobytes(), dt)
    if dt.names is None:
        return src.reshape(shape)
    a = np.zeros(n, dt)
    for name in dt.names:
        a[name] = src[name]
    return a.reshape(shape)

arrays = [('basic_arrays[%d]' % i, a) for i, a in enumerate(tf.basic_arrays)]
arrays += [('record_arrays[%d]' % i, a) for i, a in enumerate(tf.record_arrays)]
dtypes = [('dt%d' % i, getattr(tf, 'dt%d' % i)) for i in range(1, 7)]
dtypes += [('test_descr_to_dtype[%d]' % i, np.dtype(dt))
           for i, dt in enumerate(tf.test_descr_to_dtype.pytestmark[0].args[1])]
for name, dt in dtypes:
    # As test_load_padded_dtype and test_descr_to_dtype use them (1-D), and as 2-D arrays in
    # both orders.
    arrays.append((name + ' (9,)', filled(dt, (9,))))
    a = filled(dt, (9, 4))
    arrays.append((name + ' (9, 4) C', a))
    arrays.append((name + ' (4, 9) F', np.asfortranarray(a.T)))

cases, refused = [], []
for i, (name, a) in enumerate(arrays):
    if a.ndim == 0 or a.dtype.hasobject:
        p = os.path.join(out, 'refused%d.npy' % i)
        np.save(p, a)
        refused.append({'name': name, 'path': p, 'scalar': a.ndim == 0,
                        'object': bool(a.dtype.hasobject)})
        continue
    expected = os.path.join(out, 'expected%d.npy' % i)
    np.save(expected, a)
    fortran = a.flags.f_contiguous and not a.flags.c_contiguous
    axis = a.ndim - 1 if fortran else 0
    n = a.shape[axis]
    # Chunk lengths: a first chunk of 2 in the whole's order, then empty, single-row and
    # longer ones.
    lengths = [min(2, n), 0, 1 if n > 2 else 0]
    rest = n - sum(lengths)
    lengths += [rest // 2, 0, rest - rest // 2]
    chunks, start = [], 0
    for j, k in enumerate(lengths):
        c = a[(slice(None),) * axis + (slice(start, start + k),)]
        start += k
        if j >= 2 and j % 2 == 1:
            # The other order: the bytes differ unless at most one dimension is > 1. Copied
            # as whole items (a void view): NumPy's field-by-field copy of a record leaves
            # its padding bytes undefined.
            v = c.view(np.dtype((np.void, a.dtype.itemsize))) if a.dtype.itemsize else c
            v = np.ascontiguousarray(v) if fortran else np.asfortranarray(v)
            c = v.view(a.dtype) if a.dtype.itemsize else v
        p = os.path.join(out, 'chunk%d_%d.npy' % (i, j))
        np.save(p, c)
        chunks.append(p)
    assert start == n
    cases.append({'name': name, 'chunks': chunks, 'expected': expected,
                  'fortran': bool(fortran)})
print(json.dumps({'cases': cases, 'refused': refused}))
"#;

struct Case {
    name: String,
    chunks: Vec<PathBuf>,
    expected: PathBuf,
    fortran: bool,
}

struct Refused {
    name: String,
    path: PathBuf,
    /// An object array (0-d or not): refused for its dtype first.
    object: bool,
}

fn make_cases(dir: &Path) -> (Vec<Case>, Vec<Refused>) {
    let json = run_python(MAKE_CASES, &[dir]);
    let value: serde_json::Value = serde_json::from_str(&json).expect("case list");
    let path = |v: &serde_json::Value| PathBuf::from(v.as_str().expect("a path"));
    let cases = value["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().unwrap().to_owned(),
            chunks: c["chunks"].as_array().unwrap().iter().map(path).collect(),
            expected: path(&c["expected"]),
            fortran: c["fortran"].as_bool().unwrap(),
        })
        .collect();
    let refused = value["refused"]
        .as_array()
        .expect("refused")
        .iter()
        .map(|r| Refused {
            name: r["name"].as_str().unwrap().to_owned(),
            path: path(&r["path"]),
            object: r["object"].as_bool().unwrap(),
        })
        .collect();
    (cases, refused)
}

/// Appends a chunk through `append_raw_in_order`, in the chunk's own order.
fn append_raw_in_order(array: &AppendArray, chunk: &Path) {
    let info = inspect(chunk).unwrap();
    let file = bytes(chunk);
    let data = &file[info.header_len as usize..];
    let h = &info.header;
    array
        .append_raw_in_order(h.dtype(), h.shape(), h.order(), data)
        .unwrap_or_else(|e| panic!("{}: {e}", chunk.display()));
}

fn assert_same_file(got: &Path, want: &Path, what: &str) {
    let (got, want) = (bytes(got), bytes(want));
    if got != want {
        let head = |b: &[u8]| String::from_utf8_lossy(&b[..b.len().min(256)]).into_owned();
        panic!(
            "{what}: differs from np.save of the whole ({} vs {} bytes)\n got: {}\nwant: {}",
            got.len(),
            want.len(),
            head(&got),
            head(&want)
        );
    }
}

#[test]
fn numpy_test_format_arrays_append_byte_identical() {
    let dir = tempdir();
    let (cases, refused) = make_cases(dir.path());
    // 156 basic arrays, 5 record arrays and 11 dtypes in 3 shapes, less the 0-d and object
    // ones: if NumPy's lists shrink, the test must say so rather than check less.
    assert!(cases.len() >= 150, "only {} cases", cases.len());
    let mut other_order = 0;
    for (i, case) in cases.iter().enumerate() {
        // The CLI, creating DEST from the first chunk.
        let cli_out = dir.path().join(format!("cli{i}.npy"));
        let out = npaa()
            .arg("append")
            .arg(&cli_out)
            .args(&case.chunks)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {out:?}", case.name);
        assert_same_file(
            &cli_out,
            &case.expected,
            &format!("{} (npaa append)", case.name),
        );

        // The Rust API: append_npy_file and append_raw_in_order, alternately.
        let api_out = dir.path().join(format!("api{i}.npy"));
        let order = inspect(&case.expected).unwrap().header.order();
        assert_eq!(order == npaa_core::Order::Fortran, case.fortran);
        let array = AppendOptions::new().order(order).open(&api_out).unwrap();
        for (j, chunk) in case.chunks.iter().enumerate() {
            let chunk_order = inspect(chunk).unwrap().header.order();
            if chunk_order != order {
                other_order += 1;
            }
            if (i + j) % 2 == 0 {
                array.append_npy_file(chunk).unwrap();
            } else {
                append_raw_in_order(&array, chunk);
            }
        }
        array.close().unwrap();
        assert_same_file(
            &api_out,
            &case.expected,
            &format!("{} (Rust API)", case.name),
        );
    }
    assert!(
        other_order >= 40,
        "only {other_order} chunks arrived in the other order"
    );

    // 0-d and object arrays: refused with a typed error, DEST unchanged.
    assert!(refused.iter().any(|r| r.object) && refused.iter().any(|r| !r.object));
    let dest = &cases[0].expected;
    let before = bytes(dest);
    for r in &refused {
        let out = npaa()
            .arg("append")
            .arg(dest)
            .arg(&r.path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}: {out:?}", r.name);
        let line = one_error_line(&out.stderr);
        let want = if r.object {
            "holds Python objects"
        } else {
            "holds a 0-d (scalar) array"
        };
        assert!(line.contains(want), "{}: {line}", r.name);
        assert_eq!(bytes(dest), before, "{} changed DEST", r.name);

        let array = AppendArray::open(dest).unwrap();
        match array.append_npy_file(&r.path) {
            Err(Error::ObjectDtype { .. }) if r.object => {}
            Err(Error::ScalarFile { path, .. }) if !r.object && path == r.path => {}
            other => panic!("{}: expected a typed refusal, got {other:?}", r.name),
        }
        array.close().unwrap();
        assert_eq!(bytes(dest), before, "{} changed DEST", r.name);
    }
}
