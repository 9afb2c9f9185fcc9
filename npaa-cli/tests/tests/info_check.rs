//! `npaa info` (text and JSON) and `npaa check` (exit codes 0, 1, 2) on real NumPy files.

use crate::common::*;
use serde_json::Value;

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn info_json_reports_every_field() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        r#"
save('c.npy', np.arange(12, dtype='<f8').reshape(4, 3))
save('f.npy', np.asfortranarray(np.arange(24, dtype='>i4').reshape(2, 3, 4)))
save('rec.npy', np.zeros(5, dtype=[('t', '<f8'), ('p', '<f4', (3,))]))
save('scalar.npy', np.array(1.5))
legacy('old.npy', np.arange(5, dtype='<i2'))
save('cut.npy', np.arange(10, dtype='<u2'))
cut('cut.npy', 3)
"#,
    );
    let names = [
        "c.npy",
        "f.npy",
        "rec.npy",
        "scalar.npy",
        "old.npy",
        "cut.npy",
    ];
    let out = npaa()
        .current_dir(d)
        .arg("info")
        .arg("--json")
        .args(names)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "no progress or noise on stderr: {out:?}"
    );
    let objs = json_lines(&out.stdout);
    assert_eq!(objs.len(), names.len());

    let c = &objs[0];
    assert_eq!(c["path"], "c.npy");
    assert_eq!(c["version"], "1.0");
    assert_eq!(c["header_len"], 128);
    assert_eq!(c["descr"], "<f8");
    assert_eq!(c["dtype"], "float64");
    assert_eq!(c["shape"], serde_json::json!([4, 3]));
    assert_eq!(c["order"], "C");
    assert_eq!(c["growth_axis"], 0);
    assert_eq!(c["itemsize"], 8);
    assert_eq!(c["data_bytes_present"], 96);
    assert_eq!(c["data_bytes_expected"], 96);
    assert_eq!(c["appendable"], true);
    assert_eq!(c["needs_recovery"], false);
    assert_eq!(c["placeholder"], false);
    assert_eq!(c["exceeds_numpy_header_limit"], false);
    // The spare bytes are the padding after the dict text: 128 - 10 - 1 - len(text).
    let text_len = "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), }".len() as u64;
    assert_eq!(c["spare"], 128 - 10 - 1 - text_len);

    let f = &objs[1];
    assert_eq!(f["order"], "F");
    assert_eq!(f["growth_axis"], 2);
    assert_eq!(f["descr"], ">i4");
    assert_eq!(f["shape"], serde_json::json!([2, 3, 4]));

    let rec = &objs[2];
    assert_eq!(rec["descr"], "[('t', '<f8'), ('p', '<f4', (3,))]");
    assert_eq!(rec["itemsize"], 20);

    let scalar = &objs[3];
    assert_eq!(scalar["shape"], serde_json::json!([]));
    assert_eq!(scalar["growth_axis"], Value::Null);
    assert_eq!(scalar["appendable"], false);

    let old = &objs[4];
    assert_eq!(old["header_len"], 80);
    assert_eq!(old["appendable"], false);
    assert_eq!(old["needs_recovery"], false);

    let cut = &objs[5];
    assert_eq!(cut["data_bytes_present"], 17);
    assert_eq!(cut["data_bytes_expected"], 20);
    assert_eq!(cut["needs_recovery"], true);
}

#[test]
fn info_text_is_readable() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        r#"
save('c.npy', np.arange(12, dtype='<f8').reshape(4, 3))
save('cut.npy', np.arange(10, dtype='<u2'))
cut('cut.npy', 3)
"#,
    );
    let out = npaa()
        .current_dir(d)
        .args(["info", "c.npy", "cut.npy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "c.npy\n",
        "  version:        1.0\n",
        "  dtype:          <f8 (float64)\n",
        "  shape:          (4, 3)\n",
        "  order:          C (grows along axis 0)\n",
        "  item size:      8 bytes\n",
        "  data:           96 bytes\n",
        "  appendable:     yes\n",
        "  needs recovery: no\n",
        "\ncut.npy\n",
        "  data:           17 bytes present, 20 expected\n",
        "run `npaa recover cut.npy`",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
}

#[test]
fn info_json_reports_unreadable_files_and_goes_on() {
    let dir = tempdir();
    let d = dir.path();
    make(d, "save('ok.npy', np.arange(3))");
    std::fs::write(d.join("text.npy"), "hello").unwrap();
    let out = npaa()
        .current_dir(d)
        .args(["info", "--json", "missing.npy", "text.npy", "ok.npy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let objs = json_lines(&out.stdout);
    assert_eq!(objs.len(), 3);
    assert_eq!(objs[0]["path"], "missing.npy");
    assert!(
        objs[0]["error"]
            .as_str()
            .unwrap()
            .contains(&not_found_text())
    );
    assert!(
        objs[1]["error"]
            .as_str()
            .unwrap()
            .contains("not a valid .npy file")
    );
    assert_eq!(objs[2]["shape"], serde_json::json!([3]));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("npaa: missing.npy: opening: "),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with("npaa: text.npy: not a valid .npy file"),
        "{stderr}"
    );
}

#[test]
fn check_exit_codes() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        r#"
save('ok.npy', np.arange(12.).reshape(4, 3))
save('ok2.npy', np.zeros(3, dtype='S4'))
save('cut.npy', np.arange(12.).reshape(4, 3))
cut('cut.npy', 5)
legacy('old.npy', np.arange(5, dtype='<i2'))
save('obj.npy', np.array([1, 'a'], dtype=object), allow_pickle=True)
save('scalar.npy', np.array(3))
"#,
    );
    std::fs::write(d.join("text.npy"), "hello").unwrap();
    let check = |files: &[&str]| {
        npaa()
            .current_dir(d)
            .arg("check")
            .args(files)
            .output()
            .unwrap()
    };

    let out = check(&["ok.npy", "ok2.npy"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "ok.npy: ok\nok2.npy: ok\n"
    );
    assert!(out.stderr.is_empty());

    let out = check(&["ok.npy", "cut.npy"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("cut.npy: needs recovery: 91 data bytes present, the header announces 96")
            && stdout.contains("run `npaa recover cut.npy`"),
        "{stdout}"
    );

    let out = check(&["old.npy"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("old.npy: not appendable: its 80-byte header has no spare room")
            && stdout.contains("run `npaa ensure-appendable old.npy`"),
        "{stdout}"
    );

    let out = check(&["obj.npy"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("Python objects")
    );

    let out = check(&["scalar.npy"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stdout).unwrap().contains("0-d"));

    // Errors win over problems: 2.
    let out = check(&["cut.npy", "missing.npy", "ok.npy"]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("cut.npy: needs recovery") && stdout.contains("ok.npy: ok"));
    one_error_line(&out.stderr);

    let out = check(&["text.npy"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out.stderr).starts_with("npaa: text.npy: not a valid .npy file"));

    // --quiet keeps the problems, drops the "ok" lines.
    let out = npaa()
        .current_dir(d)
        .args(["--quiet", "check", "ok.npy", "cut.npy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        !stdout.contains("ok.npy: ok") && stdout.starts_with("cut.npy:"),
        "{stdout}"
    );
}

#[test]
fn space_reserved_by_a_killed_mapped_writer_is_reported_and_recovered() {
    // What a writer in mapped mode leaves when killed: the counted rows, then reserved zeros
    // ended by the mark: b'\x93NPAA-reserved\0\n' and the file's length (little-endian u64).
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        r#"
save('r.npy', np.arange(12, dtype='<f8').reshape(4, 3))
with open(p('r.npy'), 'ab') as f:
    f.write(bytes(976))
    f.write(b'\x93NPAA-reserved\0\n' + (128 + 96 + 1000).to_bytes(8, 'little'))
"#,
    );
    let out = npaa()
        .current_dir(d)
        .args(["info", "--json", "r.npy"])
        .output()
        .unwrap();
    let info = &json_lines(&out.stdout)[0];
    assert_eq!(info["reserved_tail"], 1000);
    assert_eq!(info["needs_recovery"], true);

    let out = npaa()
        .current_dir(d)
        .args(["check", "r.npy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("1000 bytes past the data are space reserved by a writer in mapped mode")
            && text.contains("NumPy loads the 4 items")
            && text.contains("npaa recover r.npy"),
        "{text}"
    );

    let out = npaa()
        .current_dir(d)
        .args(["recover", "r.npy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = npaa()
        .current_dir(d)
        .args(["check", "r.npy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    run_python(
        "import sys, os, numpy as np\n\
         path = os.path.join(sys.argv[1], 'r.npy')\n\
         a = np.load(path)\n\
         assert (a == np.arange(12.).reshape(4, 3)).all() and os.path.getsize(path) == 128 + 96\n",
        &[d],
    );
}

/// The fields `npaa info --help` and the README document, in their order.
fn documented_fields() -> (Vec<String>, Vec<String>) {
    let help = npaa().args(["info", "--help"]).output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let in_help: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("JSON fields"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("reading README.md");
    let in_readme: Vec<String> = readme
        .lines()
        .skip_while(|l| !l.starts_with("`npaa info --json` prints one JSON object"))
        .skip_while(|l| !l.starts_with("| field | meaning |"))
        .skip(2)
        .take_while(|l| l.starts_with("| `"))
        .map(|l| l["| `".len()..].split('`').next().unwrap_or("").to_owned())
        .collect();
    (in_help, in_readme)
}

/// Every key `info --json` prints is documented in `--help` and in the README, in order, and
/// nothing documented is missing from the output.
#[test]
fn info_json_fields_are_the_documented_ones() {
    let (in_help, in_readme) = documented_fields();
    assert!(in_help.len() >= 17, "{in_help:?}");
    assert_eq!(
        in_help, in_readme,
        "--help and README.md list different fields"
    );
    let dir = tempdir();
    let d = dir.path();
    make(d, "save('a.npy', np.arange(6.).reshape(2, 3))");
    let out = npaa()
        .current_dir(d)
        .args(["info", "--json", "a.npy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let line = String::from_utf8(out.stdout).unwrap();
    let object = json_lines(line.as_bytes()).remove(0);
    let mut keys: Vec<&String> = object.as_object().unwrap().keys().collect();
    // serde_json's map is sorted: the printed order is checked on the line itself.
    keys.sort_by_key(|k| line.find(&format!("\"{k}\":")).unwrap());
    assert_eq!(keys, in_help.iter().collect::<Vec<_>>());
    // An unreadable file: `path` and `error` only.
    let out = npaa()
        .current_dir(d)
        .args(["info", "--json", "missing.npy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let object = json_lines(&out.stdout).remove(0);
    let keys: Vec<&String> = object.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["error", "path"]);
}
