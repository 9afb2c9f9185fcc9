//! `npaa recover` and `npaa ensure-appendable` on damaged and legacy files, checked with
//! NumPy.

use crate::common::*;

fn damaged(d: &std::path::Path) {
    make(
        d,
        r#"
a = np.arange(40, dtype='<f8').reshape(10, 4)
save('cut.npy', a); cut('cut.npy', 8 * 4 * 3 + 5)          # 3 items and 5 bytes missing
save('zero.npy', a); cut('zero.npy', 5)                      # last item incomplete
save('long.npy', a[:7])                                      # header counts 7, data holds 10
with open(p('long.npy'), 'ab') as f: f.write(a[7:].tobytes())
save('ok.npy', a)
"#,
    );
}

#[test]
fn recover_cuts_and_reports() {
    let dir = tempdir();
    let d = dir.path();
    damaged(d);
    let cut_before = bytes(&at(d, "cut.npy"));

    // A dry run reports, and changes nothing.
    npaa()
        .current_dir(d)
        .args(["recover", "--dry-run", "cut.npy", "ok.npy"])
        .assert()
        .code(0)
        .stdout(
            "cut.npy: would recover (dry run): 10 -> 6 items, would cut 27 bytes\n\
             ok.npy: nothing to do: 10 items, the data matches the header\n",
        );
    assert_eq!(bytes(&at(d, "cut.npy")), cut_before);

    let ok_before = bytes(&at(d, "ok.npy"));
    npaa()
        .current_dir(d)
        .args(["recover", "cut.npy", "long.npy", "ok.npy"])
        .assert()
        .code(0)
        .stdout(
            "cut.npy: recovered: 10 -> 6 items, cut 27 bytes\n\
             long.npy: recovered: 7 -> 10 items, no bytes cut or added\n\
             ok.npy: nothing to do: 10 items, the data matches the header\n",
        );
    assert_eq!(bytes(&at(d, "ok.npy")), ok_before);
    assert_numpy_loads(
        &at(d, "cut.npy"),
        "np.arange(24, dtype='<f8').reshape(6, 4)",
    );
    assert_numpy_loads(
        &at(d, "long.npy"),
        "np.arange(40, dtype='<f8').reshape(10, 4)",
    );
    npaa()
        .current_dir(d)
        .args(["check", "cut.npy", "long.npy"])
        .assert()
        .code(0);
}

#[test]
fn recover_zerofills_the_incomplete_item() {
    let dir = tempdir();
    let d = dir.path();
    damaged(d);
    npaa()
        .current_dir(d)
        .args(["recover", "--zerofill-incomplete", "zero.npy"])
        .assert()
        .code(0)
        .stdout("zero.npy: recovered: 10 -> 10 items, zero-filled 5 bytes\n");
    // The last float lost its 5 high bytes: 39.0 = 0x4043800000000000 keeps its 3 low bytes.
    assert_numpy_loads(
        &at(d, "zero.npy"),
        "np.concatenate([np.arange(39, dtype='<f8'), np.zeros(1)]).reshape(10, 4)",
    );
}

#[test]
fn recover_refuses_what_it_cannot_repair() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        r#"
# A header with no padding at all, counting 5 items; the data holds 15: "(15,)" does not fit.
legacy('old.npy', np.arange(5, dtype='<i2'), pad=0)
with open(p('old.npy'), 'ab') as f: f.write(np.arange(5, 15, dtype='<i2').tobytes())
save('obj.npy', np.array([None], dtype=object), allow_pickle=True)
"#,
    );
    std::fs::write(d.join("text.npy"), "hello").unwrap();
    let not_found = not_found_text();
    for (file, message) in [
        ("old.npy", "run `npaa ensure-appendable old.npy` first"),
        ("obj.npy", "object arrays cannot be appended to"),
        ("text.npy", "not a valid .npy file"),
        ("missing.npy", not_found.as_str()),
    ] {
        let path = at(d, file);
        let before = path.exists().then(|| bytes(&path));
        let out = npaa()
            .current_dir(d)
            .args(["recover", file])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{file}: {out:?}");
        let line = one_error_line(&out.stderr);
        assert!(line.starts_with(&format!("npaa: {file}: ")), "{line}");
        assert!(line.contains(message), "{file}: {line}");
        assert_eq!(path.exists().then(|| bytes(&path)), before);
    }
    // The hint works: ensure-appendable, then recover.
    npaa()
        .current_dir(d)
        .args(["ensure-appendable", "old.npy"])
        .assert()
        .code(0);
    npaa()
        .current_dir(d)
        .args(["recover", "old.npy"])
        .assert()
        .code(0);
    assert_numpy_loads(&at(d, "old.npy"), "np.arange(15, dtype='<i2')");
}

#[test]
fn ensure_appendable_copy_and_in_place() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        r#"
a = np.arange(600, dtype='<i4').reshape(200, 3)
legacy('copy.npy', a)
legacy('inplace.npy', a)
legacy('fortran.npy', np.asfortranarray(a.reshape(3, 200)))
save('new.npy', a)
"#,
    );
    let out = npaa()
        .current_dir(d)
        .args(["ensure-appendable", "copy.npy", "new.npy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout,
        "copy.npy: header grown from 80 to 128 bytes; 2400 data bytes copied to a new file \
         renamed over the old one\n\
         new.npy: already appendable (header 128 bytes), nothing changed\n"
    );
    // Now byte-identical to what np.save writes.
    assert_eq!(bytes(&at(d, "copy.npy")), bytes(&at(d, "new.npy")));

    let out = npaa()
        .current_dir(d)
        .args([
            "ensure-appendable",
            "--in-place",
            "inplace.npy",
            "fortran.npy",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("inplace.npy: header grown from 80 to ")
            && stdout.contains("fortran.npy: header grown from 80 to "),
        "{stdout}"
    );
    assert_numpy_loads(
        &at(d, "inplace.npy"),
        "np.arange(600, dtype='<i4').reshape(200, 3)",
    );
    assert_numpy_loads(
        &at(d, "fortran.npy"),
        "np.asfortranarray(np.arange(600, dtype='<i4').reshape(200, 3).reshape(3, 200))",
    );
    // And appendable.
    make(d, "save('more.npy', np.ones((2, 3), dtype='<i4'))");
    npaa()
        .current_dir(d)
        .args(["append", "inplace.npy", "more.npy"])
        .assert()
        .code(0);
    assert_numpy_loads(
        &at(d, "inplace.npy"),
        "np.concatenate([np.arange(600, dtype='<i4').reshape(200, 3), np.ones((2, 3), dtype='<i4')])",
    );
}

#[test]
fn ensure_appendable_warns_when_recovery_is_still_needed() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        "legacy('old.npy', np.arange(10, dtype='<f8')); cut('old.npy', 4)",
    );
    let out = npaa()
        .current_dir(d)
        .args(["ensure-appendable", "old.npy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "npaa: warning: old.npy: the file still needs recovery (its data does not match its \
         header): run `npaa recover old.npy`\n"
    );
}

/// A file left by a streaming writer (npyz, npy) that never finished: `****` in the shape.
#[test]
fn placeholder_shapes_are_reported_and_recovered() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        r#"
text = "{'descr': '<f8', 'fortran_order': False, 'shape': (********************, 3), }"
pad = -(10 + len(text) + 1) % 64
h = (text + ' ' * pad + '\n').encode('latin1')
with open(p('stars.npy'), 'wb') as f:
    f.write(b'\x93NUMPY\x01\x00' + len(h).to_bytes(2, 'little') + h)
    f.write(np.arange(15.).tobytes() + b'\x01\x02')
"#,
    );
    let out = npaa()
        .current_dir(d)
        .args(["info", "--json", "stars.npy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["placeholder"], true);
    assert_eq!(info["needs_recovery"], true);
    let text = npaa()
        .current_dir(d)
        .args(["info", "stars.npy"])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("  shape:          (?, 3) (placeholder of an unfinished writer)\n"),
        "{text}"
    );

    let out = npaa()
        .current_dir(d)
        .args(["check", "stars.npy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("placeholder")
    );

    npaa()
        .current_dir(d)
        .args(["recover", "stars.npy"])
        .assert()
        .code(0)
        .stdout("stars.npy: recovered: ? (placeholder) -> 5 items, cut 2 bytes\n");
    assert_numpy_loads(&at(d, "stars.npy"), "np.arange(15.).reshape(5, 3)");
}
