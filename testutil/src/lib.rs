//! Test support shared by the npaa crates:
//! - the project's Python venv with real NumPy (and the reference `npy-append-array`), which
//!   `scripts/setup-venv` creates: tests that compare with NumPy call [`python`]; when the venv
//!   is missing they fail with instructions rather than skip, so a test run can never pass
//!   without checking against NumPy;
//! - [`child`]: the helper binary `npaa-test-child`, the processes that tests kill, trace,
//!   limit or run as another user;
//! - [`rows`]: rows whose bytes encode their index, and a small deterministic random generator;
//! - [`crash`]: the kill campaign shared by the crash tests of the Rust API and of the C ABI;
//! - [`fuzz`]: what the fuzz targets do, for libFuzzer (`fuzz/`) and the regression replay;
//! - [`mount`]: small file systems made for one test (root only);
//! - [`require`]: root and system tools, which a required test must have;
//! - [`shared`]: blocks that say who appended them, for many writers on one file.

pub mod child;
pub mod crash;
pub mod fuzz;
pub mod mount;
pub mod ragged;
pub mod require;
pub mod rows;
pub mod shared;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testutil lives inside the workspace")
        .to_path_buf()
}

/// The Python interpreter of the project's venv: `$NPAA_PYTHON`, else `.venv/bin/python` in
/// the workspace root.
///
/// # Panics
/// If neither exists: run `scripts/setup-venv` (the test command does).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("NPAA_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = workspace_root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python venv with NumPy at {}: run scripts/setup-venv (scripts/test does it)",
        venv.display()
    );
    venv
}

/// Runs `code` with the venv's Python, passing `args` as `sys.argv[1:]`, and returns its
/// standard output.
///
/// # Panics
/// If Python fails; the message holds its standard error.
pub fn run_python<S: AsRef<OsStr>>(code: &str, args: &[S]) -> String {
    let (status, stdout, stderr) = match std::env::var(PYTHON_BRIDGE_ENV) {
        Ok(address) => {
            let args: Vec<_> = args.iter().map(|a| python_arg(a.as_ref())).collect();
            python_bridge::run(&address, code, &args)
        }
        Err(_) => {
            let out = Command::new(python())
                .arg("-c")
                .arg(code)
                .args(args.iter().map(|a| python_arg(a.as_ref())))
                .output()
                .expect("starting python");
            let status = if out.status.success() {
                String::new()
            } else {
                out.status.to_string()
            };
            (status, out.stdout, out.stderr)
        }
    };
    assert!(
        status.is_empty(),
        "python failed ({status}):\n--- code ---\n{code}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&stderr)
    );
    String::from_utf8(stdout).expect("python printed UTF-8")
}

/// `path` as the venv's Python must be given it, in an argument or in a file it reads (a
/// manifest of files to check): as it is, except in a Windows test binary under Wine
/// (`scripts/wine-tests`), whose venv is the Linux one: a path on one of Wine's drives is then
/// the Linux path it is (`Z:` is `/`, `C:` is `$WINEPREFIX/drive_c`).
pub fn python_path(path: impl AsRef<Path>) -> String {
    let text = path.as_ref().to_string_lossy();
    wine_unix_path(&text).unwrap_or_else(|| text.into_owned())
}

/// An argument for the venv's Python: a path translated as [`python_path`] does, anything else
/// as it is.
fn python_arg(arg: &OsStr) -> std::ffi::OsString {
    arg.to_str()
        .and_then(wine_unix_path)
        .map_or_else(|| arg.to_owned(), Into::into)
}

/// The Linux path of `path` when it is a path on a drive of Wine (`X:\...`) and this is a
/// Windows program under Wine (which passes `WINEPREFIX` on to it); otherwise `None`.
fn wine_unix_path(path: &str) -> Option<String> {
    if !cfg!(windows) {
        return None;
    }
    let prefix = std::env::var("WINEPREFIX").ok()?;
    let drive = path.chars().next().filter(char::is_ascii_alphabetic)?;
    let rest = path.get(1..)?.strip_prefix(":\\")?.replace('\\', "/");
    Some(match drive.to_ascii_lowercase() {
        'z' => format!("/{rest}"),
        d => format!("{prefix}/drive_{d}/{rest}"),
    })
}

/// The environment variable naming the address (`127.0.0.1:PORT`) of a Python bridge
/// (`scripts/wine/python-bridge.py`) that runs [`run_python`]'s scripts. A Windows test binary
/// runs under Wine here (`scripts/wine-tests`), and the venv it checks against is the Linux
/// one: Wine starts a Linux program but gives the Windows program no handle to wait for it or
/// read its output, so the script's bridge runs it instead (paths translated by
/// [`python_path`]).
pub const PYTHON_BRIDGE_ENV: &str = "NPAA_PYTHON_BRIDGE";

/// The client of the Python bridge ([`PYTHON_BRIDGE_ENV`]).
mod python_bridge {
    use std::ffi::OsStr;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    /// Sends `code` and `args` to the bridge at `address`; returns how Python ended (empty
    /// for success, else its description), its standard output and its standard error.
    ///
    /// The protocol: the request is a sequence of strings (the code, then each argument), the
    /// answer three (the status, stdout, stderr), each as a little-endian u32 length and its
    /// bytes; the request ends when the client shuts down its side.
    pub(super) fn run<S: AsRef<OsStr>>(
        address: &str,
        code: &str,
        args: &[S],
    ) -> (String, Vec<u8>, Vec<u8>) {
        let mut stream = TcpStream::connect(address)
            .unwrap_or_else(|e| panic!("connecting to the Python bridge at {address}: {e}"));
        let mut request = Vec::new();
        let items = std::iter::once(code.as_bytes())
            .chain(args.iter().map(|a| a.as_ref().as_encoded_bytes()));
        for item in items {
            request.extend_from_slice(&(item.len() as u32).to_le_bytes());
            request.extend_from_slice(item);
        }
        stream
            .write_all(&request)
            .expect("sending to the Python bridge");
        stream
            .shutdown(std::net::Shutdown::Write)
            .expect("sending to the Python bridge");
        let mut answer = Vec::new();
        stream
            .read_to_end(&mut answer)
            .expect("reading the Python bridge's answer");
        let mut rest = &answer[..];
        let mut next = || {
            let (len, tail) = rest.split_at(4);
            let len = u32::from_le_bytes(len.try_into().unwrap()) as usize;
            let (item, tail) = tail.split_at(len);
            rest = tail;
            item.to_vec()
        };
        let status = String::from_utf8(next()).expect("a status in UTF-8");
        let stdout = next();
        let stderr = next();
        (status, stdout, stderr)
    }
}

/// Writes `expr` (a Python expression using `np`) to `path` with `np.save`.
pub fn np_save(path: &Path, expr: &str) {
    run_python(
        &format!("import sys, numpy as np\nnp.save(sys.argv[1], {expr})"),
        &[path],
    );
}

/// Checks that `path` holds exactly the bytes `np.save` writes for `expr` (a Python
/// expression using `np`), saved beside it as `<stem>.expected.npy`.
///
/// # Panics
/// If the bytes differ.
pub fn assert_same_as_np_save(path: &Path, expr: &str) {
    let expected = path.with_extension("expected.npy");
    np_save(&expected, expr);
    assert!(
        std::fs::read(path).unwrap() == std::fs::read(&expected).unwrap(),
        "{} differs from np.save({expr})",
        path.display()
    );
}

/// Checks with NumPy that `path` loads (with `mmap_mode="r"`) and equals `expr`, dtype and
/// memory order included.
///
/// # Panics
/// With NumPy's report if it does not.
pub fn assert_numpy_loads(path: &Path, expr: &str) {
    run_python(
        &format!(
            "import sys, numpy as np\n\
             a = np.load(sys.argv[1], mmap_mode='r')\n\
             e = {expr}\n\
             assert a.dtype == e.dtype, (a.dtype, e.dtype)\n\
             assert a.shape == e.shape, (a.shape, e.shape)\n\
             assert np.array_equal(a, e, equal_nan=e.dtype.kind in 'fc'), (a, e)\n"
        ),
        &[path],
    );
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("creating a temporary directory")
}

/// The names in a directory, sorted (to check that nothing was left behind).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("reading the directory")
        .map(|e| {
            e.expect("reading an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Python source of `legacy(path, array, align)`: writes `array` with a version 1.0 header
/// aligned to `align` bytes and no growth spare, as NumPy < 1.24 (64), NumPy < 1.14 and cnpy
/// (16) do. Prepend it to a script that calls it.
pub const PY_LEGACY_WRITER: &str = r#"
import numpy as np
def legacy(path, a, align):
    fo = bool(np.isfortran(a)) and a.ndim > 1
    text = "{'descr': %r, 'fortran_order': %r, 'shape': %r, }" % (a.dtype.str, fo, a.shape)
    hlen = len(text) + 1
    pad = (align - (10 + hlen) % align) % align
    hdr = b'\x93NUMPY\x01\x00' + (hlen + pad).to_bytes(2, 'little') + text.encode('latin1') + b' ' * pad + b'\n'
    with open(path, 'wb') as f:
        f.write(hdr); f.write(a.tobytes(order='F' if fo else 'C'))
"#;
