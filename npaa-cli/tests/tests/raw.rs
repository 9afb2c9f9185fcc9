//! `npaa append DEST --raw FILE|-`: raw binary items from a file or a pipe.

use std::io::Write;
use std::process::Stdio;

use crate::common::*;

/// Little-endian f32 bytes of `0.0, 1.0, ... n-1`.
fn f32_bytes(n: usize) -> Vec<u8> {
    (0..n).flat_map(|i| (i as f32).to_le_bytes()).collect()
}

#[test]
fn raw_file_with_trailing_partial_item() {
    let dir = tempdir();
    let d = dir.path();
    let mut data = f32_bytes(12);
    data.extend_from_slice(&[1, 2, 3, 4, 5]); // 5 bytes: not a whole item of 3 × 4 bytes
    std::fs::write(d.join("in.bin"), &data).unwrap();
    let out = npaa()
        .current_dir(d)
        .args([
            "append",
            "log.npy",
            "--raw",
            "in.bin",
            "--dtype",
            "<f4",
            "--item-shape",
            "3",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "appended 4 items (48 bytes) from in.bin to log.npy: shape (4, 3)\n"
    );
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "npaa: warning: in.bin: ignored 5 trailing bytes: not a whole item of 12 bytes\n"
    );
    make(
        d,
        "save('exp.npy', np.arange(12, dtype='<f4').reshape(4, 3))",
    );
    assert_eq!(bytes(&at(d, "log.npy")), bytes(&at(d, "exp.npy")));
}

#[test]
fn raw_from_a_pipe_in_small_writes() {
    let dir = tempdir();
    let d = dir.path();
    // A writer that delivers the data in odd-sized pieces, splitting items across reads.
    let mut child = npaa_std()
        .current_dir(d)
        .args([
            "append",
            "log.npy",
            "--raw",
            "-",
            "--dtype",
            "float32",
            "--item-shape",
            "2,3",
        ])
        .args(["--buffer", "1K", "--durability", "every:4K"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let data = f32_bytes(6 * 1000);
    {
        let mut stdin = child.stdin.take().unwrap();
        for piece in data.chunks(1000) {
            stdin.write_all(piece).unwrap();
            stdin.flush().unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    make(
        d,
        "save('exp.npy', np.arange(6000, dtype='<f4').reshape(1000, 2, 3))",
    );
    assert_eq!(bytes(&at(d, "log.npy")), bytes(&at(d, "exp.npy")));

    // Appending more to the existing file, from stdin given all at once.
    npaa()
        .current_dir(d)
        .args([
            "append",
            "log.npy",
            "--raw",
            "-",
            "--dtype",
            "<f4",
            "--item-shape",
            "2,3",
        ])
        .write_stdin(f32_bytes(12))
        .assert()
        .code(0)
        .stdout("appended 2 items (48 bytes) from - to log.npy: shape (1002, 2, 3)\n");
    assert_numpy_loads(
        &at(d, "log.npy"),
        "np.concatenate([np.arange(6000, dtype='<f4'), np.arange(12, dtype='<f4')]).reshape(1002, 2, 3)",
    );
}

#[test]
fn raw_fortran_order_grows_along_the_last_axis() {
    let dir = tempdir();
    let d = dir.path();
    // Items of shape (2, 3) in Fortran order, one after the other: the file's data is the
    // column-major layout of an array of shape (2, 3, n).
    let data: Vec<u8> = (0..18i16).flat_map(|v| v.to_le_bytes()).collect();
    npaa()
        .current_dir(d)
        .args([
            "append",
            "f.npy",
            "--raw",
            "-",
            "--dtype",
            "<i2",
            "--item-shape",
            "2,3",
            "--fortran",
        ])
        .write_stdin(data)
        .assert()
        .code(0)
        .stdout("appended 3 items (36 bytes) from - to f.npy: shape (2, 3, 3)\n");
    make(
        d,
        "save('exp.npy', np.asfortranarray(np.arange(18, dtype='<i2').reshape(3, 3, 2).T))",
    );
    assert_eq!(bytes(&at(d, "f.npy")), bytes(&at(d, "exp.npy")));
}

#[test]
fn raw_into_existing_dest_must_match_and_may_cast() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        r#"
save('c.npy', np.zeros((2, 3), dtype='<f8'))
save('f.npy', np.asfortranarray(np.zeros((3, 2), dtype='<f8')))
"#,
    );
    let before = bytes(&at(d, "c.npy"));
    let run = |args: &[&str]| {
        npaa()
            .current_dir(d)
            .arg("append")
            .args(args)
            .write_stdin(f32_bytes(6))
            .output()
            .unwrap()
    };
    let missing = format!(
        "npaa: missing.bin: opening the raw input: {}",
        not_found_text()
    );
    let cases: &[(&[&str], &str)] = &[
        (
            &["c.npy", "--raw", "-", "--dtype", "<f4", "--item-shape", "2"],
            "npaa: c.npy: holds items of shape (3,) (array shape (2, 3)), but --item-shape is (2,)",
        ),
        (
            &[
                "c.npy",
                "--raw",
                "-",
                "--dtype",
                "<f4",
                "--item-shape",
                "3",
                "--fortran",
            ],
            "npaa: c.npy: is in C order: drop --fortran",
        ),
        (
            &[
                "c.npy",
                "--raw",
                "-",
                "--dtype",
                "<c8",
                "--item-shape",
                "3",
                "--casting",
                "safe",
            ],
            "npaa: c.npy: cannot cast <c8 to <f8, the dtype of c.npy, under the safe casting rule",
        ),
        (
            &[
                "c.npy",
                "--raw",
                "-",
                "--dtype",
                "nonsense",
                "--item-shape",
                "3",
            ],
            "npaa: invalid dtype \"nonsense\"",
        ),
        (
            &["c.npy", "--raw", "-", "--dtype", "O", "--item-shape", "3"],
            "npaa: dtype |O holds Python objects",
        ),
        (
            &[
                "c.npy",
                "--raw",
                "missing.bin",
                "--dtype",
                "<f4",
                "--item-shape",
                "3",
            ],
            &missing,
        ),
    ];
    for (args, message) in cases {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let line = one_error_line(&out.stderr);
        assert!(line.starts_with(message), "{args:?}: {line}");
        assert_eq!(bytes(&at(d, "c.npy")), before);
    }
    // A new DEST is not created when the input cannot be opened.
    let out = run(&["new.npy", "--raw", "missing.bin", "--dtype", "<f4"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!at(d, "new.npy").exists());

    // f4 -> f8 is a safe cast: accepted.
    let out = run(&["c.npy", "--raw", "-", "--dtype", "<f4", "--item-shape", "3"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_numpy_loads(
        &at(d, "c.npy"),
        "np.concatenate([np.zeros((2, 3)), np.arange(6.).reshape(2, 3)])",
    );
    // The Fortran file takes Fortran items.
    let out = run(&[
        "f.npy",
        "--raw",
        "-",
        "--dtype",
        "<f4",
        "--item-shape",
        "3",
        "--fortran",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_numpy_loads(
        &at(d, "f.npy"),
        "np.concatenate([np.zeros((3, 2)), np.arange(6.).reshape(2, 3).T], axis=1)",
    );
}

#[test]
fn raw_empty_input_creates_an_empty_dest() {
    let dir = tempdir();
    let d = dir.path();
    npaa()
        .current_dir(d)
        .args([
            "append",
            "e.npy",
            "--raw",
            "-",
            "--dtype",
            "<u2",
            "--item-shape",
            "4",
        ])
        .write_stdin(Vec::new())
        .assert()
        .code(0)
        .stdout("appended 0 items (0 bytes) from - to e.npy: shape (0, 4)\n");
    assert_numpy_loads(&at(d, "e.npy"), "np.zeros((0, 4), dtype='<u2')");
}

#[test]
fn raw_needs_a_dtype_and_no_sources() {
    let dir = tempdir();
    let d = dir.path();
    for args in [
        &["append", "x.npy", "--raw", "-"][..],
        &["append", "x.npy", "a.npy", "--raw", "-", "--dtype", "u1"][..],
        &["append", "x.npy", "--dtype", "u1"][..],
        &[
            "append",
            "x.npy",
            "--raw",
            "-",
            "--dtype",
            "u1",
            "--item-shape",
            "3,x",
        ][..],
    ] {
        let out = npaa().current_dir(d).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("error:"),
            "{args:?}"
        );
    }
    assert!(listing(d).is_empty());
}
