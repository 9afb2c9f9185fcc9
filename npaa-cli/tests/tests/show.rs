//! `npaa show` prints what NumPy's `print` prints: by default as `print(np.load(f))`
//! (summarised past 1000 elements), with `--full` as with `threshold=sys.maxsize`, checked
//! against the real NumPy for every dtype family it claims, small and summarised.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

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
 # Past NumPy's threshold (1000 elements): summarised by default, whole with --full.
 'big_2d': np.arange(200000.).reshape(20000, 10) / 7,
 'big_1d_int': np.arange(5000),
 'big_3d': np.arange(24000).reshape(20, 30, 40) - 12000,
 'big_short_rows': np.arange(3000).reshape(3, 1000),
 'big_tall_narrow': np.arange(2002.).reshape(1001, 2) * 1.5,
 'big_bool': np.arange(1500) % 3 == 0,
 'big_str': np.array(['s%d' % i for i in range(1200)]),
 'big_bytes': np.array([b'b%d' % i for i in range(1200)]),
 'big_complex': np.arange(2000) + 1j * np.arange(2000)[::-1],
 'big_complex64': (np.arange(1200) / 3 - 1j * np.arange(1200)).astype('c8'),
 'big_datetime': np.arange(1500).astype('M8[D]'),
 'big_datetime_nat': np.concatenate([np.array(['NaT'], 'M8[s]'), np.arange(1500).astype('M8[s]')]),
 'big_timedelta': np.arange(1500).astype('m8[s]'),
 'big_struct': np.array([(i, i / 3) for i in range(1200)], dtype=[('a', 'i4'), ('b', 'f8')]),
 'big_subarray_field': np.arange(4000.).view([('x', 'f8', (2000,))]),
 'big_subarray_2d_field': np.arange(7200, dtype='i2').view([('m', 'i2', (40, 30))]),
 'big_fortran': np.asfortranarray(np.arange(5000.).reshape(50, 100)),
 'big_f2': np.linspace(0, 1, 1100).astype('f2'),
 'exactly_threshold': np.arange(1000),
 'one_past_threshold': np.arange(1001),
 'big_only_last_axis': np.arange(1002).reshape(2, 501),
 'big_4d': np.arange(7**4).reshape(7, 7, 7, 7) * 0.5,
 'big_long_double': (np.arange(1500) / 7).astype('g'),
 'big_nat_edges': np.array(['NaT'] * 3 + ['2020-01-01'] * 1000 + ['NaT'] * 3, 'M8[ms]'),
 'big_str_widths': np.array(['x' * (i % 40) for i in range(1100)]),
 'big_nested_struct': np.zeros(1200, dtype=[('p', [('q', '<i2'), ('r', 'S2')]), ('s', '?')]),
 'big_nonfinite': np.concatenate([[np.inf, -np.inf, np.nan], np.arange(2000.), [np.nan]]),
 'scalar_struct_big_subarray': np.zeros((), dtype=[('x', 'f8', (2000,))]),
 # The widths come from the printed items only: the hidden middle does not widen them.
 'big_hidden_middle': np.concatenate([np.ones(3), np.full(2000, 1e10), np.ones(3)]),
}
"#;

/// NumPy's `print(np.load(f))` of every case, by default and with `threshold=sys.maxsize`.
#[test]
fn show_prints_like_numpy() {
    let dir = tempdir();
    let d = dir.path();
    let expected = make(
        d,
        &format!(
            "{CASES}\nfor name, a in cases.items(): save(name + '.npy', a)\n\
             default = {{name: str(np.load(p(name + '.npy'))) for name in cases}}\n\
             np.set_printoptions(threshold=sys.maxsize)\n\
             full = {{name: str(np.load(p(name + '.npy'))) for name in cases}}\n\
             print(json.dumps([default, full]))"
        ),
    );
    let [default, full]: [BTreeMap<String, String>; 2] = serde_json::from_str(&expected).unwrap();
    assert!(default.len() > 80);
    let summarised = default.values().filter(|s| s.contains("...")).count();
    assert!(summarised >= 18, "{summarised} summarised cases");
    let mut mismatches = Vec::new();
    for (name, numpy, full) in default
        .iter()
        .map(|(n, v)| (n, v, false))
        .chain(full.iter().map(|(n, v)| (n, v, true)))
    {
        let mut cmd = npaa();
        cmd.current_dir(d).args(["show", &format!("{name}.npy")]);
        if full {
            cmd.arg("--full");
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}: {out:?}");
        let printed = String::from_utf8(out.stdout).unwrap();
        if printed != format!("{numpy}\n") {
            mismatches.push(format!(
                "{name} (--full: {full}):\nnumpy:\n{numpy}\nnpaa:\n{printed}"
            ));
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
b = np.arange(24000).reshape(400, 60)
save('c.npy', a)
save('f.npy', np.asfortranarray(a))
save('big.npy', b)
save('bigf.npy', np.asfortranarray(b))
save('one.npy', np.arange(5.) / 4)
save('rec.npy', np.array([(1, 2.5), (3, 4.)], dtype=[('a', 'i4'), ('b', 'f8')]))
small = {':3': a[:3], '-2:': a[-2:], '5:7': a[5:7], '18:100': a[18:100], '7': a[7],
         '-1': a[-1], '0': a[0], '-20': a[-20], '9:2': a[9:2]}
big = {':': b, '10:30': b[10:30], '-1': b[-1], '100': b[100], '3:5': b[3:5], ':17': b[:17]}
cube = np.arange(7**4).reshape(7, 7, 7, 7) * 0.5
save('cube.npy', cube)
one = {'2': np.load(p('one.npy'))[2], '-1': np.load(p('one.npy'))[-1], '1:3': np.load(p('one.npy'))[1:3]}
rec = {'1': np.load(p('rec.npy'))[1], '0:1': np.load(p('rec.npy'))[0:1]}
print(json.dumps({f: {k: str(v) for k, v in s.items()} for f, s in
    [('c.npy', small), ('f.npy', small), ('big.npy', big), ('bigf.npy', big), ('one.npy', one),
     ('rec.npy', rec), ('cube.npy', {'3': cube[3], '1:6': cube[1:6], '-2:': cube[-2:]})]}))
"#,
    );
    let expected: BTreeMap<String, BTreeMap<String, String>> =
        serde_json::from_str(&expected).unwrap();
    for (file, slices) in &expected {
        for (rows, numpy) in slices {
            npaa()
                .current_dir(d)
                .args(["show", file, "--rows", rows])
                .assert()
                .code(0)
                .stdout(format!("{numpy}\n"));
        }
    }
    for rows in ["20", "-21"] {
        let out = npaa()
            .current_dir(d)
            .args(["show", "c.npy", "--rows", rows])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(
            one_error_line(&out.stderr),
            format!("npaa: c.npy: --rows: row {rows} does not exist: the first axis has 20 rows")
        );
    }
}

/// A summarised print reads the printed items only: an 80 GB (sparse) file prints at once,
/// in C and in Fortran order.
#[test]
fn summarised_show_reads_only_the_printed_items() {
    let dir = tempdir();
    let d = dir.path();
    let numpy = make(
        d,
        r#"
out = []
for name, fortran in [('huge.npy', False), ('huge_f.npy', True)]:
    m = np.lib.format.open_memmap(p(name), mode='w+', dtype='<f8', shape=(10**9, 10),
                                  fortran_order=fortran)
    m[0, 0] = 1.5; m[-1, -1] = 2.25; m[1, 8] = -3; m[500_000_000, 3] = 7
    m.flush()
    out.append(str(np.load(p(name), mmap_mode='r')))
print(json.dumps(out))
"#,
    );
    let numpy: Vec<String> = serde_json::from_str(&numpy).unwrap();
    for (file, numpy) in ["huge.npy", "huge_f.npy"].iter().zip(&numpy) {
        let mut child = npaa_std()
            .current_dir(d)
            .args(["show", file])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > Duration::from_secs(60) {
                child.kill().unwrap();
                panic!("npaa show of a summarised 80 GB array ({file}) did not finish in 60 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{file}");
        assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{numpy}\n"));
    }
}

/// `npaa show --full big.npy | head -1`: the reader goes away early; npaa exits 0, silently.
#[test]
fn closed_pipe_is_not_an_error() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        "save('big.npy', np.arange(200_000, dtype='<i8').reshape(-1, 4))",
    );
    let mut child = npaa_std()
        .current_dir(d)
        .args(["show", "big.npy", "--full"])
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
