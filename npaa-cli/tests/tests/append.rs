//! `npaa append DEST SRC.npy...`: results byte-identical to `np.save` of the concatenation,
//! and a DEST that stays exactly as it was (or absent) whenever a source is bad.

use crate::common::*;

#[test]
fn new_and_existing_dest_are_byte_identical_to_np_save() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        r#"
a = np.arange(6, dtype='<f8').reshape(2, 3) / 7
b = np.arange(9, dtype='<i4').reshape(3, 3)        # cast to <f8 (safe)
c = np.arange(3, dtype='>f8').reshape(1, 3)        # byte order differs
e = np.zeros((0, 3), dtype='<f8')                  # empty source
x = np.arange(30, dtype='<f4').reshape(10, 3)      # same_kind cast f4 -> f8
for n, v in dict(a=a, b=b, c=c, e=e, x=x).items():
    save(n + '.npy', v)
save('expected1.npy', np.concatenate([a, b, c, e]).astype('<f8'))
save('expected2.npy', np.concatenate([a, b, c, e, x, a]).astype('<f8'))
"#,
    );
    let out = npaa()
        .current_dir(d)
        .args(["append", "out.npy", "a.npy", "b.npy", "c.npy", "e.npy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "appended 4 sources (6 items) to out.npy: shape (6, 3)\n"
    );
    assert!(out.stderr.is_empty());
    assert_eq!(bytes(&at(d, "out.npy")), bytes(&at(d, "expected1.npy")));

    // Appending to the existing file continues the same array.
    npaa()
        .current_dir(d)
        .args(["append", "out.npy", "x.npy", "a.npy"])
        .assert()
        .code(0);
    assert_eq!(bytes(&at(d, "out.npy")), bytes(&at(d, "expected2.npy")));
    // Nothing left behind (the new DEST is built under a temporary name).
    assert_eq!(
        listing(d),
        [
            "a.npy",
            "b.npy",
            "c.npy",
            "e.npy",
            "expected1.npy",
            "expected2.npy",
            "out.npy",
            "x.npy"
        ]
    );
}

#[test]
fn fortran_structured_and_string_arrays() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        r#"
f1 = np.asfortranarray(np.arange(12, dtype='<i8').reshape(3, 4))
f2 = np.asfortranarray(np.arange(6, dtype='<i8').reshape(3, 2))
save('f1.npy', f1); save('f2.npy', f2)
save('fexp.npy', np.asfortranarray(np.concatenate([f1, f2, f1], axis=1)))
dt = [('t', '<f8'), ('name', 'S4'), ('v', '<u2', (2,)), ('u', '<U3')]
r1 = np.array([(1.5, b'ab', [1, 2], 'x'), (2.5, b'cd', [3, 4], 'yz')], dtype=dt)
r2 = np.array([(3.5, b'efgh', [5, 6], 'abc')], dtype=dt)
save('r1.npy', r1); save('r2.npy', r2)
save('rexp.npy', np.concatenate([r1, r2, r2]))
"#,
    );
    npaa()
        .current_dir(d)
        .args(["append", "f.npy", "f1.npy", "f2.npy", "f1.npy"])
        .assert()
        .code(0)
        .stdout("appended 3 sources (10 items) to f.npy: shape (3, 10)\n");
    assert_eq!(bytes(&at(d, "f.npy")), bytes(&at(d, "fexp.npy")));

    npaa()
        .current_dir(d)
        .args(["-q", "append", "r.npy", "r1.npy", "r2.npy", "r2.npy"])
        .assert()
        .code(0)
        .stdout("");
    assert_eq!(bytes(&at(d, "r.npy")), bytes(&at(d, "rexp.npy")));
}

#[test]
fn delete_if_exists_replaces_dest() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        r#"
save('dest.npy', np.arange(100, dtype='<i2'))
save('a.npy', np.arange(5, dtype='<f4'))
save('exp.npy', np.concatenate([np.arange(5, dtype='<f4')] * 2))
"#,
    );
    npaa()
        .current_dir(d)
        .args(["append", "--delete-if-exists", "dest.npy", "a.npy", "a.npy"])
        .assert()
        .code(0);
    assert_eq!(bytes(&at(d, "dest.npy")), bytes(&at(d, "exp.npy")));
    assert_eq!(listing(d), ["a.npy", "dest.npy", "exp.npy"]);
}

#[test]
fn casting_rule_is_enforced_and_can_be_relaxed() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        r#"
save('ints.npy', np.arange(4, dtype='<i4'))
save('floats.npy', np.array([1.7, -2.2]))
save('exp.npy', np.array([0, 1, 2, 3, 1, -2], dtype='<i4'))
"#,
    );
    let before = bytes(&at(d, "ints.npy"));
    let out = npaa()
        .current_dir(d)
        .args(["append", "ints.npy", "floats.npy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        one_error_line(&out.stderr),
        "npaa: floats.npy: cannot cast <f8 to <i4, the dtype of ints.npy, under the same_kind \
         casting rule; pass `--casting unsafe` to force it"
    );
    assert_eq!(bytes(&at(d, "ints.npy")), before);

    npaa()
        .current_dir(d)
        .args(["append", "--casting", "unsafe", "ints.npy", "floats.npy"])
        .assert()
        .code(0);
    assert_eq!(bytes(&at(d, "ints.npy")), bytes(&at(d, "exp.npy")));

    // `safe` refuses what `same_kind` allows (f8 -> f4), for a new DEST too.
    make(
        d,
        "save('f4.npy', np.zeros(2, 'f4')); save('f8.npy', np.zeros(2, 'f8'))",
    );
    let out = npaa()
        .current_dir(d)
        .args(["append", "--casting", "safe", "new.npy", "f4.npy", "f8.npy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out.stderr).starts_with("npaa: f8.npy: cannot cast <f8 to <f4"));
    assert!(!at(d, "new.npy").exists());
}

/// Every bad source: exit 2, one line naming it, DEST byte for byte as it was (or absent),
/// no temporary file left behind.
#[test]
fn one_bad_source_leaves_dest_untouched() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        r#"
save('dest.npy', np.arange(12, dtype='<f8').reshape(4, 3))
save('good.npy', np.ones((2, 3)))
save('shape.npy', np.ones((2, 4)))
save('ndim.npy', np.ones(3))
save('obj.npy', np.array([None, 1], dtype=object), allow_pickle=True)
save('scalar.npy', np.array(1.0))
save('cut.npy', np.ones((5, 3)))
cut('cut.npy', 9)
save('strs.npy', np.array([['a', 'b', 'c']]))
os.mkdir(p('adir'))
open(p('text.npy'), 'w').write('not numpy')
"#,
    );
    let missing = format!("npaa: missing.npy: opening: {}", not_found_text());
    let cases: &[(&str, &str)] = &[
        ("missing.npy", &missing),
        ("adir", "npaa: adir: "),
        (
            "text.npy",
            "npaa: text.npy: not a valid .npy file: it starts with b'not nu' instead of \
             b'\\x93NUMPY' (it looks like a text file)",
        ),
        (
            "shape.npy",
            // The file appended to is named as the user knows it, never by a temporary name.
            "npaa: shape.npy: cannot append a block of shape (2, 4) to DEST, an array of shape (",
        ),
        (
            "ndim.npy",
            "npaa: ndim.npy: cannot append a block of shape (3,)",
        ),
        ("obj.npy", "npaa: obj.npy: dtype |O holds Python objects"),
        ("scalar.npy", "npaa: scalar.npy: holds a 0-d (scalar) array"),
        ("cut.npy", "npaa: cut.npy: needs recovery: "),
        ("strs.npy", "npaa: strs.npy: cannot cast <U1 to <f8"),
        ("dest.npy", "npaa: dest.npy: is the destination itself"),
    ];
    let before = bytes(&at(d, "dest.npy"));
    let files_before = listing(d);
    for (bad, message) in cases {
        for dest in ["dest.npy", "new.npy"] {
            if *bad == "dest.npy" && dest == "new.npy" {
                continue;
            }
            for extra in [&[][..], &["--delete-if-exists"][..]] {
                let out = npaa()
                    .current_dir(d)
                    .arg("append")
                    .args(extra)
                    .args([dest, "good.npy", bad, "good.npy"])
                    .output()
                    .unwrap();
                assert_eq!(out.status.code(), Some(2), "{bad} -> {dest}: {out:?}");
                let line = one_error_line(&out.stderr);
                let message = message.replace("DEST,", &format!("{dest},"));
                assert!(line.starts_with(&message), "{bad} -> {dest}: {line}");
                assert!(out.stdout.is_empty());
                assert_eq!(bytes(&at(d, "dest.npy")), before, "{bad} changed dest.npy");
                assert_eq!(
                    listing(d),
                    files_before,
                    "{bad} -> {dest} left files behind"
                );
            }
        }
    }
    // The cut source names the command that repairs it.
    let out = npaa()
        .current_dir(d)
        .args(["append", "dest.npy", "cut.npy"])
        .output()
        .unwrap();
    assert!(one_error_line(&out.stderr).ends_with("run `npaa recover cut.npy` first"));
}

#[test]
fn dest_that_cannot_be_appended_to_is_refused_untouched() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        r#"
save('good.npy', np.arange(5, dtype='<i2'))
legacy('old.npy', np.arange(5, dtype='<i2'))
save('cut.npy', np.arange(5, dtype='<i2'))
cut('cut.npy', 1)
save('obj.npy', np.array([None], dtype=object), allow_pickle=True)
os.mkdir(p('adir'))
"#,
    );
    let cases = [
        ("old.npy", "run `npaa ensure-appendable old.npy` first"),
        ("cut.npy", "run `npaa recover cut.npy` first"),
        ("obj.npy", "object arrays cannot be appended to"),
        ("adir", "npaa: adir: is a directory"),
    ];
    for (dest, message) in cases {
        let path = at(d, dest);
        let before = if path.is_file() {
            bytes(&path)
        } else {
            Vec::new()
        };
        let out = npaa()
            .current_dir(d)
            .args(["append", dest, "good.npy"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{dest}: {out:?}");
        let line = one_error_line(&out.stderr);
        assert!(line.contains(message), "{dest}: {line}");
        if path.is_file() {
            assert_eq!(bytes(&path), before, "{dest} changed");
        }
    }
}

#[test]
fn append_options_are_accepted_and_validated() {
    let dir = tempdir();
    let d = dir.path();
    make(d, "save('a.npy', np.arange(10.))");
    for args in [
        &["--buffer", "64K", "--durability", "close"][..],
        &["--durability", "every:1M"][..],
        &["--durability", "append"][..],
    ] {
        npaa()
            .current_dir(d)
            .args(["append", "out.npy", "a.npy"])
            .args(args)
            .assert()
            .code(0);
    }
    assert_numpy_loads(&at(d, "out.npy"), "np.concatenate([np.arange(10.)] * 3)");
    // Invalid values are usage errors: exit 2, nothing created.
    for args in [
        &["--durability", "sometimes"][..],
        &["--durability", "every:0"][..],
        &["--buffer", "lots"][..],
        &["--casting", "careless"][..],
    ] {
        npaa()
            .current_dir(d)
            .args(["append", "other.npy", "a.npy"])
            .args(args)
            .assert()
            .code(2);
    }
    assert!(!at(d, "other.npy").exists());
}

/// A write that fails half-way (here: the file-size limit, `ulimit -f`, standing in for a
/// full disk) is undone: an existing DEST is cut back to what it was, a new one is not
/// created. Unix only (file-size limits).
#[cfg(unix)]
#[test]
fn a_failed_write_is_undone() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        r#"
save('dest.npy', np.zeros((10, 100)))
save('small.npy', np.ones((2, 100)))
save('big.npy', np.ones((50, 100)))
"#,
    );
    let before = bytes(&at(d, "dest.npy"));
    let files_before = listing(d);
    for dest in ["dest.npy", "new.npy"] {
        // Ignore SIGXFSZ so that writing past the limit fails with EFBIG instead of killing.
        let script = format!(
            "trap '' XFSZ; ulimit -f 20; exec {} '{}' append {dest} small.npy big.npy",
            npaa_testutil::child::runner().join(" "),
            npaa_path().display()
        );
        let out = std::process::Command::new("bash")
            .current_dir(d)
            .args(["-c", &script])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{dest}: {out:?}");
        let line = one_error_line(&out.stderr);
        assert!(line.starts_with(&format!("npaa: {dest}: ")), "{line}");
        assert!(line.contains("File too large"), "{line}");
        if dest == "dest.npy" {
            assert!(
                line.ends_with("the append was undone: dest.npy is as it was"),
                "{line}"
            );
        }
        assert_eq!(bytes(&at(d, "dest.npy")), before);
        assert_eq!(listing(d), files_before);
    }
}
