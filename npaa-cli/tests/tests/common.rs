//! Helpers shared by the end-to-end tests of the `npaa` binary.

#![allow(
    dead_code,
    unused_imports,
    reason = "each test file uses a different subset of the helpers"
)]

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub use npaa_testutil::{assert_numpy_loads, run_python, tempdir};

/// The path of the `npaa` binary Cargo built for these tests.
pub fn npaa_path() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_npaa"))
}

/// The `npaa` binary as a std command (through the target's runner when the tests are
/// cross-built), for tests that talk to it through pipes.
pub fn npaa_std() -> std::process::Command {
    npaa_testutil::child::target_command(npaa_path())
}

/// The `npaa` binary (through the target's runner when the tests are cross-built: qemu). Its
/// stderr is a pipe, so it never draws a progress bar.
pub fn npaa() -> Command {
    Command::from_std(npaa_testutil::child::target_command(npaa_path()))
}

/// Runs Python code with `np`, `os` and `d` (the directory, `sys.argv[1]`) defined, plus
/// `save(name, array)`, `cut(name, nbytes)` and `legacy(name, array, pad=None)`: the latter
/// writes a header without spare room, 16-byte aligned (or followed by exactly `pad` spaces),
/// as NumPy < 1.14 and cnpy do.
pub fn make(dir: &Path, code: &str) -> String {
    let prelude = r#"
import sys, os, json
import numpy as np
d = sys.argv[1]
def p(name):
    return os.path.join(d, name)
def save(name, a, **kw):
    np.save(p(name), a, **kw)
def legacy(name, a, pad=None):
    text = "{'descr': %r, 'fortran_order': %s, 'shape': %r, }" % (
        np.lib.format.dtype_to_descr(a.dtype), a.flags.f_contiguous and not a.flags.c_contiguous, a.shape)
    if pad is None:
        pad = -(10 + len(text) + 1) % 16
    header = (text + ' ' * pad + '\n').encode('latin1')
    with open(p(name), 'wb') as f:
        f.write(b'\x93NUMPY\x01\x00' + len(header).to_bytes(2, 'little') + header)
        f.write(a.tobytes(order='A'))
def cut(name, drop):
    b = open(p(name), 'rb').read()
    open(p(name), 'wb').write(b[:len(b) - drop])
"#;
    run_python(&format!("{prelude}\n{code}"), &[dir])
}

/// How the system words "no such file" (`ENOENT`; `ERROR_FILE_NOT_FOUND` on Windows, also 2) in
/// the messages npaa passes on: "No such file or directory" on Linux, the system's own text
/// elsewhere (Windows, Wine), as std renders the error, without its "(os error 2)".
pub fn not_found_text() -> String {
    let text = std::io::Error::from_raw_os_error(2).to_string();
    text.strip_suffix(" (os error 2)")
        .unwrap_or(&text)
        .to_owned()
}

/// The bytes of a file, for checking that a failed command changed nothing.
pub fn bytes(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Asserts that stderr is exactly one line `npaa: <...>` and returns it.
pub fn one_error_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got: {text:?}");
    assert!(
        lines[0].starts_with("npaa: "),
        "not an npaa error: {text:?}"
    );
    assert!(!text.contains("panicked"), "{text}");
    lines[0].to_owned()
}

pub use npaa_testutil::listing;

/// `dir/name`.
pub fn at(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}
