//! Files left by crashed streaming writers of other libraries: npyz and npy 0.4 write a
//! placeholder (`********************`, 20 stars; 19 for npy 0.4) where the length goes, and
//! fill it in when the writer finishes. A writer that dies leaves the stars, which NumPy cannot
//! parse. `inspect` reports them, `recover` repairs them.
//!
//! The files are made by the real crates in a child process (the helper binary's
//! `placeholder-writer`, see `npaa_testutil::child`) that is killed with SIGKILL while its writer is open, so no
//! destructor runs: exactly what a crash leaves.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use npaa_core::{
    AppendArray, EnsureOptions, Error, Header, RecoverOptions, ensure_appendable_with, inspect,
    recover, recover_with,
};
use npaa_testutil::child::{self, describe};
use npaa_testutil::{python_path, run_python, tempdir};

/// What the crashed writers write (the child's writers, by these names:
/// `testutil/src/bin/npaa-test-child/foreign.rs`).
#[derive(Clone, Copy, Debug)]
enum Writer {
    /// npyz `begin_1d`, f64 0, 1, ..., 6.
    Npyz1d,
    /// npyz `begin_2d(3)`, C order, i32 0..14: four whole rows and two items of a fifth.
    Npyz2dC,
    /// The same in Fortran order: the placeholder is the last dimension, `(3, ****)`.
    Npyz2dF,
    /// npy 0.4 `OutFile`, f64 0..3000 through its 8 KiB `BufWriter`: what reached the file is
    /// a prefix, cut where the buffer was last flushed.
    Npy04,
}

const WRITERS: [Writer; 4] = [
    Writer::Npyz1d,
    Writer::Npyz2dC,
    Writer::Npyz2dF,
    Writer::Npy04,
];

impl Writer {
    fn name(self) -> &'static str {
        match self {
            Writer::Npyz1d => "npyz-1d",
            Writer::Npyz2dC => "npyz-2d-c",
            Writer::Npyz2dF => "npyz-2d-f",
            Writer::Npy04 => "npy-0.4",
        }
    }

    fn stars(self) -> usize {
        match self {
            Writer::Npy04 => 19,
            _ => 20,
        }
    }
}

/// Runs a writer in a child process and kills it with SIGKILL while the writer is open.
fn crashed_file(dir: &Path, writer: Writer) -> PathBuf {
    let path = dir.join(format!("{}.npy", writer.name()));
    let mut child = child::command("placeholder-writer")
        .env("NPAA_PLACEHOLDER_WRITER", writer.name())
        .env("NPAA_PLACEHOLDER_PATH", &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while line.trim() != "READY" {
        line.clear();
        assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "the child died");
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(describe(status), child::KILLED);
    path
}

/// The longest run of `*` in the file.
fn star_run(bytes: &[u8]) -> usize {
    bytes
        .split(|&b| b != b'*')
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0)
}

#[test]
fn crashed_npyz_and_npy_files_are_recovered() {
    let dir = tempdir();
    // Lines for one Python call: `path|expression`; the expression FAIL means NumPy must
    // refuse the file.
    let mut manifest = String::new();
    for writer in WRITERS {
        let path = crashed_file(dir.path(), writer);
        let what = writer.name();
        let bytes = fs::read(&path).unwrap();
        assert_eq!(star_run(&bytes), writer.stars(), "{what}: the placeholder");
        let raw = path.with_extension("raw.npy");
        fs::copy(&path, &raw).unwrap();
        manifest.push_str(&format!("{}|FAIL\n", python_path(&raw)));

        let info = inspect(&path).unwrap_or_else(|e| panic!("{what}: inspect: {e}"));
        assert!(info.placeholder && info.needs_recovery, "{what}: {info:?}");
        assert!(!info.appendable, "{what}: {info:?}");
        let err = AppendArray::open(&path).unwrap_err();
        assert!(err.to_string().contains("placeholder"), "{what}: {err}");
        assert_eq!(
            err.remedy(),
            Some(npaa_core::Remedy::Recover),
            "{what}: {err}"
        );
        // The public header reader refuses it, as np.load does.
        let err = Header::read(&path).unwrap_err();
        assert!(
            matches!(err, Error::Format { .. }) && err.to_string().contains("placeholder"),
            "{what}: {err}"
        );
        assert_eq!(
            fs::read(&path).unwrap(),
            bytes,
            "{what}: a refused open wrote"
        );

        let zf = path.with_extension("zf.npy");
        fs::copy(&path, &zf).unwrap();
        let report = recover(&path).unwrap_or_else(|e| panic!("{what}: recover: {e}"));
        assert_eq!(report.items_before, None, "{what}: {report:?}");
        let zreport = recover_with(&zf, RecoverOptions::new().zerofill_incomplete(true))
            .unwrap_or_else(|e| panic!("{what}: recover: {e}"));
        let after = inspect(&path).unwrap();
        assert!(
            !after.needs_recovery && !after.placeholder,
            "{what}: {after:?}"
        );
        match writer {
            Writer::Npyz1d => {
                assert_eq!((report.items_after, report.bytes_cut), (7, 0));
                assert_eq!(zreport, report);
                manifest.push_str(&format!("{}|np.arange(7.0)\n", python_path(&path)));
                manifest.push_str(&format!("{}|np.arange(7.0)\n", python_path(&zf)));
                // A normal file now: make (a copy of) it appendable, append, NumPy sees it all.
                let grown = path.with_extension("grown.npy");
                fs::copy(&path, &grown).unwrap();
                ensure_appendable_with(&grown, EnsureOptions::new().in_place(true)).unwrap();
                let array = AppendArray::open(&grown).unwrap();
                array.append(&[7.0f64, 8.0], &[2]).unwrap();
                array.close().unwrap();
                manifest.push_str(&format!("{}|np.arange(9.0)\n", python_path(&grown)));
            }
            Writer::Npyz2dC | Writer::Npyz2dF => {
                // 14 items: 4 whole rows of 3, and 2 items (8 bytes) of a fifth.
                assert_eq!((report.items_after, report.bytes_cut), (4, 8), "{what}");
                assert_eq!(
                    (zreport.items_after, zreport.bytes_zero_filled),
                    (5, 4),
                    "{what}"
                );
                let t = if matches!(writer, Writer::Npyz2dF) {
                    ".T"
                } else {
                    ""
                };
                manifest.push_str(&format!(
                    "{}|np.arange(12, dtype='<i4').reshape(4, 3){t}\n",
                    python_path(&path)
                ));
                manifest.push_str(&format!(
                    "{}|np.array(list(range(14)) + [0], dtype='<i4').reshape(5, 3){t}\n",
                    python_path(&zf)
                ));
            }
            Writer::Npy04 => {
                // Whatever the BufWriter had flushed: a prefix, whole items only.
                let n = report.items_after;
                assert!(n > 0 && n < 3000 && report.bytes_cut == 0, "{report:?}");
                assert_eq!(n, info.data_present / 8);
                manifest.push_str(&format!("{}|np.arange({n}.0)\n", python_path(&path)));
            }
        }
    }
    let manifest_path = dir.path().join("manifest.txt");
    fs::write(&manifest_path, manifest).unwrap();
    run_python(
        "import sys, numpy as np\n\
         for line in open(sys.argv[1]):\n\
         \x20   path, expr = line.rstrip('\\n').split('|')\n\
         \x20   if expr == 'FAIL':\n\
         \x20       try:\n\
         \x20           np.load(path)\n\
         \x20       except ValueError:\n\
         \x20           continue\n\
         \x20       raise AssertionError(path + ': NumPy loaded a placeholder header')\n\
         \x20   a = np.load(path, mmap_mode='r')\n\
         \x20   e = eval(expr)\n\
         \x20   assert a.dtype == e.dtype and a.shape == e.shape, (path, a.dtype, a.shape, e.shape)\n\
         \x20   assert (a == e).all(), (path, a, e)\n\
         \x20   assert a.flags.c_contiguous == e.flags.c_contiguous, (path, 'memory order')\n",
        &[&manifest_path],
    );
}
