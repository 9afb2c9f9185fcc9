//! `npaa tail` (the last rows, then new rows as a writer appends them; Ctrl-C and a closed
//! pipe end it cleanly) and the ragged pair in `npaa ragged index`, `info`, `check` and
//! `recover`.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use npaa_core::AppendArray;

use crate::common::*;

/// Rows `start..start + n` of 3 `<i8` values: `10 * row + column`.
fn rows(start: i64, n: i64) -> Vec<i64> {
    (start..start + n)
        .flat_map(|r| (0..3).map(move |c| 10 * r + c))
        .collect()
}

/// What NumPy prints for rows `start..start + n` (as `print(a[start:start + n])`).
fn numpy_print(start: i64, n: i64) -> String {
    run_python(
        &format!(
            "import numpy as np\nprint(np.arange({start}, {}, dtype='<i8')[:, None] * 10 + \
             np.arange(3))",
            start + n
        ),
        &[] as &[&str],
    )
}

fn spawn_tail(dir: &std::path::Path, args: &[&str]) -> Child {
    Command::new(npaa_path())
        .current_dir(dir)
        .arg("tail")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// All that `child` wrote to stderr (it has ended).
fn stderr_of(child: &mut Child) -> String {
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    err
}

/// Reads from `out` until it has read `expected`'s length, and compares.
#[cfg(unix)]
fn read_exactly(out: &mut impl Read, expected: &str) {
    let mut got = vec![0u8; expected.len()];
    out.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8(got).unwrap(), expected);
}

#[test]
fn tail_prints_the_last_rows_as_numpy_does() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        "save('log.npy', np.arange(50, dtype='<i8')[:, None] * 10 + np.arange(3))\n\
         save('f.npy', np.asfortranarray(np.arange(12.).reshape(3, 4)))\n\
         save('empty.npy', np.zeros((0, 3)))",
    );
    let out = npaa()
        .current_dir(d)
        .args(["tail", "-n", "3", "log.npy"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), numpy_print(47, 3));
    let out = npaa()
        .current_dir(d)
        .args(["tail", "log.npy"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), numpy_print(40, 10));
    // A Fortran-order file grows along its last axis: its last columns.
    let out = npaa()
        .current_dir(d)
        .args(["tail", "-n", "2", "f.npy"])
        .output()
        .unwrap();
    let numpy = run_python(
        "import numpy as np\nprint(np.arange(12.).reshape(3, 4)[:, -2:])",
        &[] as &[&str],
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), numpy);
    let out = npaa()
        .current_dir(d)
        .args(["tail", "empty.npy"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "[]\n");
    let out = npaa()
        .current_dir(d)
        .args(["tail", "missing.npy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    one_error_line(&out.stderr);
}

#[cfg(unix)] // Ctrl-C is SIGINT, sent with kill(1)
#[test]
fn tail_follow_prints_new_rows_and_ends_cleanly_on_ctrl_c() {
    let dir = tempdir();
    let d = dir.path();
    let path = d.join("log.npy");
    let writer = AppendArray::open(&path).unwrap();
    writer.append(&rows(0, 5), &[5, 3]).unwrap();
    let mut tail = spawn_tail(d, &["-n", "2", "--follow", "--poll", "5", "log.npy"]);
    let mut out = BufReader::new(tail.stdout.take().unwrap());
    read_exactly(&mut out, &numpy_print(3, 2));
    // Each block appended is printed as NumPy prints it, in order.
    for (start, n) in [(5, 1), (6, 3), (9, 12)] {
        writer.append(&rows(start, n), &[n as u64, 3]).unwrap();
        read_exactly(&mut out, &numpy_print(start, n));
    }
    // Ctrl-C: the process ends at once, as `tail -f` does, with nothing on stderr.
    let killed = Command::new("kill")
        .args(["-INT", &tail.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tail.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(2), "{status:?}");
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "");
    assert_eq!(stderr_of(&mut tail), "");
    writer.close().unwrap();
}

#[test]
fn tail_follow_ends_quietly_when_the_pipe_closes() {
    let dir = tempdir();
    let d = dir.path();
    let path = d.join("log.npy");
    let writer = AppendArray::open(&path).unwrap();
    writer.append(&rows(0, 3), &[3, 3]).unwrap();
    let mut tail = spawn_tail(d, &["-n", "1", "-f", "--poll", "5", "log.npy"]);
    let mut out = BufReader::new(tail.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, numpy_print(2, 1));
    // `npaa tail -f log.npy | head -1`: the reader goes away; the next block ends npaa.
    drop(out);
    let mut start = 3;
    let status = loop {
        writer.append(&rows(start, 1), &[1, 3]).unwrap();
        start += 1;
        if let Some(status) = tail.try_wait().unwrap() {
            break status;
        }
        assert!(start < 10_000, "npaa tail did not notice the closed pipe");
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    assert_eq!(status.code(), Some(0));
    assert_eq!(stderr_of(&mut tail), "");
    writer.close().unwrap();
}

#[test]
fn tail_says_when_the_header_does_not_count_every_row() {
    let dir = tempdir();
    let d = dir.path();
    let path = d.join("log.npy");
    let writer = npaa_core::AppendOptions::new()
        .rewrite_header_on_append(false)
        .open(&path)
        .unwrap();
    writer.append(&rows(0, 2), &[2, 3]).unwrap();
    writer.update_header().unwrap();
    writer.append(&rows(2, 4), &[4, 3]).unwrap();
    let out = npaa()
        .current_dir(d)
        .args(["tail", "log.npy"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), numpy_print(0, 2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("4 more items are written but not yet counted"),
        "{err}"
    );
    writer.close().unwrap();
}

#[test]
fn ragged_pairs_in_index_info_check_and_recover() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        "save('feats.npy', np.arange(20, dtype='<f4').reshape(10, 2))\n\
         open(p('feats.len'), 'w').write('4\\n0\\n6\\n')\n\
         open(p('bad.len'), 'w').write('4\\n5\\n')",
    );
    let out = npaa()
        .current_dir(d)
        .args(["ragged", "index", "feats.npy", "--lengths", "bad.len"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out.stderr).contains("add up to 9"));
    npaa()
        .current_dir(d)
        .args(["ragged", "index", "feats.npy", "--lengths", "feats.len"])
        .assert()
        .success()
        .stdout("feats.npy: indexed 3 records in feats.idx.npy\n");
    assert_numpy_loads(
        &d.join("feats.idx.npy"),
        "np.array([4, 4, 10], dtype='<i8')",
    );
    let out = npaa()
        .current_dir(d)
        .args(["info", "--json", "feats.npy"])
        .output()
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["ragged_records"], 3);
    let out = npaa()
        .current_dir(d)
        .args(["info", "--json", "feats.idx.npy"])
        .output()
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["ragged_records"], serde_json::Value::Null);
    npaa()
        .current_dir(d)
        .args(["check", "feats.npy"])
        .assert()
        .success();

    // What a kill between the data and the index leaves: rows no entry names.
    let data = AppendArray::open(d.join("feats.npy")).unwrap();
    data.append(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    data.close().unwrap();
    let out = npaa()
        .current_dir(d)
        .args(["check", "feats.npy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "feats.npy: ragged pair: needs recovery: the data holds 2 items past its last indexed \
         record (a half-appended record): run `npaa recover feats.npy`\n"
    );
    npaa()
        .current_dir(d)
        .args(["recover", "feats.npy"])
        .assert()
        .success()
        .stdout(
            "feats.npy: recovered ragged pair: 3 records, 10 items, cut 2 items of a \
             half-appended record\n",
        );
    assert_numpy_loads(
        &d.join("feats.npy"),
        "np.arange(20, dtype='<f4').reshape(10, 2)",
    );
    npaa()
        .current_dir(d)
        .args(["check", "feats.npy"])
        .assert()
        .success();
}

/// `npaa check` on a pair broken in each way: the core's findings, with the command that
/// fixes each; exit 1.
#[test]
fn check_names_each_way_a_pair_is_broken() {
    let dir = tempdir();
    let d = dir.path();
    let check = |setup: &str| {
        make(
            d,
            &format!(
                "save('f.npy', np.arange(20, dtype='<f4').reshape(10, 2))\n\
                 save('f.idx.npy', np.array([4, 4, 10], dtype='<i8'))\n{setup}"
            ),
        );
        let out = npaa()
            .current_dir(d)
            .args(["check", "f.npy"])
            .output()
            .unwrap();
        let code = out.status.code();
        (code, String::from_utf8(out.stdout).unwrap())
    };
    assert_eq!(check(""), (Some(0), "f.npy: ok\n".to_owned()));
    let fix = ": run `npaa recover f.npy`\n";
    assert_eq!(
        check("save('f.idx.npy', np.array([4, 4, 10, 11], dtype='<i8'))"),
        (
            Some(1),
            format!(
                "f.npy: ragged pair: needs recovery: 1 index entries end past the 10 items the \
                 data holds{fix}"
            )
        )
    );
    assert_eq!(
        check("save('f.idx.npy', np.array([4, 3, 10, 11], dtype='<i8'))"),
        (
            Some(1),
            format!(
                "f.npy: ragged pair: index entry 1 (3) is smaller than the one before it (4): \
                 record ends never decrease\n\
                 f.npy: ragged pair: needs recovery: 1 index entries end past the 10 items \
                 the data holds{fix}"
            )
        )
    );
    // A dry run of recover says which findings it would repair and which not.
    npaa()
        .current_dir(d)
        .args(["recover", "--dry-run", "f.npy"])
        .assert()
        .success()
        .stdout(
            "f.npy: would not repair: index entry 1 (3) is smaller than the one before it (4): \
             record ends never decrease\n\
             f.npy: would repair (dry run): needs recovery: 1 index entries end past the 10 \
             items the data holds\n",
        );
    assert_eq!(
        check("cut('f.npy', 4)"),
        (
            Some(1),
            format!(
                "f.npy: ragged pair: the data file: needs recovery: 76 data bytes present, the \
                 header announces 80 (NumPy cannot load it){fix}"
            )
        )
    );
    assert_eq!(
        check("cut('f.idx.npy', 8)"),
        (
            Some(1),
            format!(
                "f.npy: ragged pair: the index: needs recovery: 16 data bytes present, the \
                 header announces 24 (NumPy cannot load it){fix}\
                 f.npy: ragged pair: needs recovery: the data holds 6 items past its last \
                 indexed record (a half-appended record){fix}"
            )
        )
    );
}
