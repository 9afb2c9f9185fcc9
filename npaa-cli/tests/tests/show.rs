//! `npaa show` prints what NumPy's `print` prints (with `threshold=sys.maxsize`), checked
//! against the real NumPy for every dtype family it claims.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};

use crate::common::*;

/// Arrays to print, as Python expressions; the same names are used for the files.
const CASES: &str = r#"
cases = {
 'f8_2d': np.array([[1., 2.5], [3., 4.]]),
 'bool': np.array([True, False, True]),
 'maxprec': np.array([0.1 + 0.2, 1 / 3, 2 / 3]),
 'exp_small': np.array([1e-5, 1.]),
 'exp_big': np.array([1.5e10, 2.]),
 'nonfinite': np.array([np.nan, -np.inf]),
 'mixed_nonfinite': np.array([1.5, np.nan, np.inf, -2]),
 'all_nan': np.array([np.nan, np.nan]),
 'tie_to_even': np.array([0.001953125, 0.1]),
 'zeros_signed': np.array([0., -0.]),
 'huge_exponents': np.array([1e300, -1e-300]),
 'f2': np.array([0.1, 65504, -0.5], 'f2'),
 'f2_positional': np.array([0.1, 1.5, -0.5], 'f2'),
 'f4_exact_digits': np.array([2.1, 1.2345678e10], 'f4'),
 'f4_small_cutoff': np.array([0.0001, 1.0], 'f4'),
 'f4_big_endian': np.array([1.5, -2.25, 1e-3], '>f4'),
 'random_f8': np.random.default_rng(1).standard_normal((4, 7)),
 'random_f4': np.random.default_rng(2).standard_normal(20).astype('f4') * 1000,
 'long_double': np.array([1.5, 1 / 3, -2], 'g'),
 'complex128': np.array([1 + 2j, 3 - 4.5j]),
 'complex64': np.array([1 + 2j, 3 - 4.5j, np.nan + 1j, 1e-7j], 'c8'),
 'complex_inf': np.array([complex(np.inf, -np.inf), 1 + 1j]),
 'ints_wrap': np.arange(30),
 'ints_3d': np.arange(24, dtype='i1').reshape(2, 3, 4) - 12,
 'ints_signed': np.array([[-1, 200], [30000, -4]], 'i2'),
 'u8_max': np.array([2**64 - 1, 0], 'u8'),
 'i8_extremes': np.array([-2**63, 2**63 - 1], 'i8'),
 'floats_wrap': np.arange(30.).reshape(3, 10) / 7,
 'wide_rows': np.arange(100.).reshape(2, 50) * 1.5,
 'fortran_2d': np.asfortranarray(np.arange(12.).reshape(3, 4)),
 'fortran_3d': np.asfortranarray(np.arange(24).reshape(2, 3, 4)),
 'bytes': np.array([b'ab', b'c\x00', b"it's", b'\xff\\'], 'S5'),
 'str': np.array(['ab', "it's", 'a\n\t\u00e9\u2028\U0001F600', '', 'a"b', '\\']),
 'str_long': np.array(['x' * 30, 'y' * 50, 'z']),
 'void': np.zeros(2, 'V3'),
 'struct': np.array([(1, 2.5), (3, 4.)], dtype=[('a', 'i4'), ('b', 'f8')]),
 'struct_subarray': np.array([(1, [2.5, 3]), (-20, [1e-9, 0])], dtype=[('a', 'i4'), ('b', 'f8', (2,))]),
 'struct_nested': np.array([((1, b'x'), True, [[1, 2], [3, 4]])] * 3,
     dtype=[('p', [('q', '<i2'), ('r', 'S2')]), ('s', '?'), ('t', 'u1', (2, 2))]),
 'struct_one_field': np.array([(1,), (2,)], dtype=[('x', '>i2')]),
 'struct_float_columns': np.array([(1.0, 1e-7), (2.5, 3.0)], dtype=[('a', 'f8'), ('b', 'f4')]),
 'datetime_D': np.array(['2020-01-01', 'NaT', '1969-12-31'], 'M8[D]'),
 'datetime_ms': np.array(['2020-01-01T01:02:03.5', 'NaT'], 'M8[ms]'),
 'datetime_ns': np.array(['2262-04-11T23:47:16.854775807', '1677-09-21T00:12:43.145224193'], 'M8[ns]'),
 'datetime_25s': np.array([0, 1, 1000], 'M8[25s]'),
 'datetime_W': np.array([0, 1, 2], 'M8[W]'),
 'datetime_M': np.array([0, 1, 600, -1], 'M8[M]'),
 'datetime_h': np.array([0, 1, 49], 'M8[h]'),
 'timedelta': np.array([1, -20, 'NaT'], 'm8[s]'),
 'timedelta_all_nat': np.array(['NaT', 'NaT'], 'm8[ns]'),
 'empty': np.zeros((0, 3)),
 'scalar_float': np.array(1.5),
 'scalar_float_big': np.array(1e16),
 'scalar_float32': np.array(123456789., 'f4'),
 'scalar_bytes': np.array(b'x'),
 'scalar_str': np.array('x'),
 'scalar_complex': np.array(1 + 2j),
 'scalar_imaginary': np.array(2j),
 'scalar_bool': np.array(True),
 'scalar_int': np.array(-3, 'i2'),
 'scalar_timedelta': np.array(5, 'm8[25s]'),
 'scalar_datetime': np.array('2020-01-01', 'M8[D]'),
 'scalar_struct': np.array((True, 1.0, 2.5 + 1j), dtype=[('a', '?'), ('b', 'f4'), ('c', 'c16')]),
}
"#;

#[test]
fn show_prints_like_numpy() {
    let dir = tempdir();
    let d = dir.path();
    let expected = make(
        d,
        &format!(
            "{CASES}\nnp.set_printoptions(threshold=sys.maxsize)\n\
             for name, a in cases.items(): save(name + '.npy', a)\n\
             print(json.dumps({{name: str(a) for name, a in cases.items()}}))"
        ),
    );
    let expected: BTreeMap<String, String> = serde_json::from_str(&expected).unwrap();
    assert!(expected.len() > 60);
    let mut mismatches = Vec::new();
    for (name, numpy) in &expected {
        let out = npaa()
            .current_dir(d)
            .args(["show", &format!("{name}.npy")])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}: {out:?}");
        let printed = String::from_utf8(out.stdout).unwrap();
        if printed != format!("{numpy}\n") {
            mismatches.push(format!("{name}:\nnumpy:\n{numpy}\nnpaa:\n{printed}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn rows_select_like_a_python_slice() {
    let dir = tempdir();
    let d = dir.path();
    let expected = make(
        d,
        r#"
a = np.arange(60.).reshape(20, 3) ** 2
save('c.npy', a)
save('f.npy', np.asfortranarray(a))
slices = {':3': a[:3], '-2:': a[-2:], '5:7': a[5:7], '18:100': a[18:100], '7': a[7:8], '-1': a[-1:], '9:2': a[9:2]}
print(json.dumps({k: str(v) for k, v in slices.items()}))
"#,
    );
    let expected: BTreeMap<String, String> = serde_json::from_str(&expected).unwrap();
    for file in ["c.npy", "f.npy"] {
        for (rows, numpy) in &expected {
            npaa()
                .current_dir(d)
                .args(["show", file, "--rows", rows])
                .assert()
                .code(0)
                .stdout(format!("{numpy}\n"));
        }
    }
}

/// `npaa show big.npy | head -1`: the reader goes away early; npaa exits 0, silently.
#[test]
fn closed_pipe_is_not_an_error() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        "save('big.npy', np.arange(200_000, dtype='<i8').reshape(-1, 4))",
    );
    let mut child = Command::new(npaa_path())
        .current_dir(d)
        .args(["show", "big.npy"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).unwrap();
    assert!(first.starts_with(b"[[     0      1      2      3]\n"));
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn show_refuses_what_it_cannot_print() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        r#"
save('obj.npy', np.array([None], dtype=object), allow_pickle=True)
save('cut.npy', np.arange(10.)); cut('cut.npy', 8)
save('scalar.npy', np.array(1.5))
save('long.npy', np.arange(3.))
with open(p('long.npy'), 'ab') as f: f.write(b'extra')
"#,
    );
    let cases = [
        (
            "obj.npy",
            &[][..],
            "npaa: obj.npy: cannot show dtype |O: object arrays hold Python pickles",
        ),
        ("cut.npy", &[][..], "npaa: cut.npy: needs recovery: "),
        (
            "scalar.npy",
            &["--rows", ":1"][..],
            "npaa: scalar.npy: holds a 0-d array, which has no rows",
        ),
        ("missing.npy", &[][..], "npaa: missing.npy: opening: "),
    ];
    for (file, extra, message) in cases {
        let out = npaa()
            .current_dir(d)
            .arg("show")
            .arg(file)
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{file}");
        let line = one_error_line(&out.stderr);
        assert!(line.starts_with(message), "{file}: {line}");
    }
    // Bytes after the data are ignored, as by np.load.
    npaa()
        .current_dir(d)
        .args(["show", "long.npy"])
        .assert()
        .code(0)
        .stdout("[0. 1. 2.]\n");
}
